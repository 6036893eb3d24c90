//! Storage triggers and queue signals (PROTOCOLS §6): `{"messages": [...]}`.
//!
//! - A message whose `event_type`'s fourth dot-separated part is `storage` is an object event;
//!   `storage.<bucket>.<create|delete|update>` is mapped to a bot by `[function]
//!   trigger.storage.<bucket>.<event>` and recorded there as one log record, keyed by the
//!   event id so a redelivered event is stored once.
//! - A message with `details.queue_id` is a signal; a `details.message.body` that is JSON
//!   records (`{"bot", "records": [...]}` or one record with its `bot`) is ingested, keyed by
//!   the message id; anything else is acknowledged and logged.
//!
//! The platform redelivers a batch that is not answered 2xx, so only an outage (DataSpace
//! unavailable) fails the batch; a message that can never succeed (an unmapped bucket, bad
//! records) is acknowledged and reported in the result, instead of coming back forever.

use super::direct::{fail, ok, service_failure};
use super::{FunctionContext, FunctionResponse};
use crate::domain::event_time::parse_event_time;
use crate::domain::level::LogLevel;
use crate::domain::record::{MAX_MESSAGE_CHARS, NewLogRecord, truncate_message};
use crate::json::records;
use crate::service::{PlatformEvent, ServiceError};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// One message's outcome, reported in the result.
fn outcome(index: usize, what: &str, detail: impl Into<String>) -> Value {
    json!({"index": index, "outcome": what, "detail": detail.into()})
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |value, name| value.get(name))
        .and_then(Value::as_str)
}

pub async fn handle(context: &FunctionContext<'_>, body: &Value) -> FunctionResponse {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "messages must be an array of {event_metadata, details}",
        );
    };
    let limit = context.settings.limits.messages_per_batch;
    if messages.len() > limit {
        return fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} messages in one batch, at most {limit} allowed ([limits] messages_per_batch; \
                 set the trigger's batch size at most that)",
                messages.len()
            ),
        );
    }
    let mut results = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let result = if message.is_object() {
            one(context, index, message).await
        } else {
            Ok(outcome(index, "ignored", "not an object"))
        };
        // Most messages are settled without any I/O, so without this a large batch would hold
        // a runtime worker until its end (two of them: both workers of a 2-core container, and
        // /healthz stops answering).
        tokio::task::yield_now().await;
        match result {
            Ok(result) => results.push(result),
            // An outage: fail the batch so the platform redelivers it (the keys make the
            // messages already stored idempotent).
            Err(error) => return service_failure(error),
        }
    }
    ok(json!({"processed": messages.len(), "messages": results}))
}

async fn one(
    context: &FunctionContext<'_>,
    index: usize,
    message: &Value,
) -> Result<Value, ServiceError> {
    let event_type = text(message, &["event_metadata", "event_type"]).unwrap_or_default();
    if event_type.split('.').nth(3) == Some("storage") {
        return storage(context, index, message, event_type).await;
    }
    if message
        .get("details")
        .and_then(|details| details.get("queue_id"))
        .is_some()
    {
        return signal(context, index, message).await;
    }
    tracing::info!(
        index,
        event_type,
        "trigger message ignored: neither storage nor queue"
    );
    Ok(outcome(
        index,
        "ignored",
        format!("event type {event_type:?} is neither a storage event nor a queue signal"),
    ))
}

/// What the service said about one message: stored, or an outage, or a refusal to report.
fn settle(index: usize, result: Result<Vec<String>, ServiceError>) -> Result<Value, ServiceError> {
    match result {
        Ok(ids) => Ok(json!({"index": index, "outcome": "stored", "ids": ids})),
        Err(error @ (ServiceError::Unavailable | ServiceError::Internal(_))) => Err(error),
        Err(refused) => {
            tracing::warn!(index, error = %refused, "trigger message refused");
            Ok(outcome(index, "rejected", refused.to_string()))
        }
    }
}

async fn storage(
    context: &FunctionContext<'_>,
    index: usize,
    message: &Value,
    event_type: &str,
) -> Result<Value, ServiceError> {
    let name = event_type.rsplit('.').next().unwrap_or_default();
    let event = match name {
        "ObjectCreate" => "create",
        "ObjectDelete" => "delete",
        "ObjectUpdate" => "update",
        other => {
            return Ok(outcome(
                index,
                "ignored",
                format!(
                    "storage event {other:?} is not ObjectCreate, ObjectDelete or ObjectUpdate"
                ),
            ));
        }
    };
    let bucket = text(message, &["details", "bucket_id"]).unwrap_or_default();
    let object = text(message, &["details", "object_id"]).unwrap_or_default();
    let Some(bot) = context.settings.function.trigger_bot(bucket, event) else {
        tracing::warn!(
            bucket,
            event,
            "storage event for a bucket with no trigger configured"
        );
        return Ok(outcome(
            index,
            "skipped",
            format!(
                "no bot for storage.{bucket}.{event}; set [function] trigger.storage.{bucket}.{event}"
            ),
        ));
    };
    let event_id = text(message, &["event_metadata", "event_id"]);
    let trace_id = text(message, &["event_metadata", "tracing_context", "trace_id"]);
    let mut attributes = Map::new();
    for (key, value) in [
        ("event_type", Some(event_type)),
        ("event_id", event_id),
        ("bucket_id", Some(bucket)),
        ("object_id", Some(object)),
        ("trace_id", trace_id),
    ] {
        if let Some(value) = value {
            attributes.insert(key.into(), Value::String(value.into()));
        }
    }
    // The object's name is the caller's: a long one is cut rather than refused.
    let record = NewLogRecord::builder(
        LogLevel::Info,
        truncate_message(
            &format!("storage {event}: {bucket}/{object}"),
            MAX_MESSAGE_CHARS,
        ),
    )
    .maybe_event_at(
        text(message, &["event_metadata", "created_at"]).and_then(|at| parse_event_time(at).ok()),
    )
    .maybe_request_id(trace_id.or(event_id).map(str::to_owned))
    .attributes(attributes)
    .build();
    let record = match record {
        Ok(record) => record,
        Err(error) => return settle(index, Err(error.within("records[0]").into())),
    };
    let service = context.service;
    let result = match event_id {
        Some(id) => {
            service
                .ingest_platform_event(bot, vec![record], PlatformEvent::Trigger(id))
                .await
        }
        None => service.ingest(bot, vec![record], None).await,
    }
    .map(|ingested| ingested.ids);
    settle(index, result)
}

async fn signal(
    context: &FunctionContext<'_>,
    index: usize,
    message: &Value,
) -> Result<Value, ServiceError> {
    let queue = text(message, &["details", "queue_id"]).unwrap_or_default();
    let Some(body) = text(message, &["details", "message", "body"]) else {
        tracing::info!(index, queue, "signal without a body acknowledged");
        return Ok(outcome(index, "acknowledged", "the signal has no body"));
    };
    let batch = match serde_json::from_str::<Value>(body) {
        Ok(value @ Value::Object(_))
            if value.get("records").is_some() || value.get("message").is_some() =>
        {
            records::batch(&value)
        }
        _ => {
            tracing::info!(
                index,
                queue,
                bytes = body.len(),
                "signal acknowledged (no log records)"
            );
            return Ok(outcome(
                index,
                "acknowledged",
                "the body carries no log records",
            ));
        }
    };
    let batch = match batch {
        Ok(batch) => batch,
        Err(problem) => {
            tracing::warn!(index, queue, %problem, "signal with malformed records");
            return Ok(outcome(index, "rejected", format!("body: {problem}")));
        }
    };
    // The batch's own key if it has one, else the message's id.
    let message_id = text(message, &["details", "message", "message_id"]);
    let result = match (&batch.idempotency_key, message_id) {
        (None, Some(id)) => {
            context
                .service
                .ingest_platform_event(&batch.bot, batch.records, PlatformEvent::Signal(id))
                .await
        }
        _ => batch.ingest(context.service).await,
    }
    .map(|ingested| ingested.ids);
    settle(index, result)
}
