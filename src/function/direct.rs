//! Direct calls (PROTOCOLS §6): `{"parameters": ..., "context": {"headers", "package",
//! "function"}}`, answered in the envelope `{"status": "ok", "code": 200, "timestamp",
//! "result"}`; a failure is `{"status": "fail", "code", "timestamp", "alert": {"message"}}`
//! with the same HTTP status, its message naming what was wrong and what is available.

use super::{FunctionContext, FunctionResponse};
use crate::compat::records;
use crate::domain::level::LogLevel;
use crate::domain::messenger::Messenger;
use crate::domain::record::parse_event_time;
use crate::service::{LogQuery, Oversize, RegisterBot, ServiceError, SubscribeChat};
use axum::http::StatusCode;
use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// The functions of the package, with the parameters each takes (shown in errors).
pub const FUNCTIONS: [(&str, &str); 8] = [
    (
        "send-log",
        "{bot, message, level?, eventAt?, requestId?, statusCode?, source?, attributes?}",
    ),
    ("send-logs", "{bot, records: [record...], idempotencyKey?}"),
    (
        "register-bot",
        "{adminUid, name, botToken, authToken, messenger?}",
    ),
    (
        "subscribe-chat",
        "{authToken, chatId, subscriberUid?, minLevel?}",
    ),
    ("unsubscribe-chat", "{authToken, chatId}"),
    (
        "search-logs",
        "{bot, minLevel?, from?, to?, requestId?, contains?, first?}",
    ),
    ("execute-command", "{text, chatId, fromUid?}"),
    ("create-log-user", "{username, password, bot?}"),
];

/// Most records `search-logs` answers at once.
const MAX_PAGE: u64 = 100;

fn timestamp() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn ok(result: Value) -> FunctionResponse {
    FunctionResponse::json(
        StatusCode::OK,
        &json!({"status": "ok", "code": 200, "timestamp": timestamp(), "result": result}),
    )
}

pub fn fail(status: StatusCode, message: impl Into<String>) -> FunctionResponse {
    FunctionResponse::json(
        status,
        &json!({"status": "fail", "code": status.as_u16(), "timestamp": timestamp(),
            "alert": {"message": message.into()}}),
    )
}

fn available() -> String {
    FUNCTIONS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn service_failure(error: ServiceError) -> FunctionResponse {
    if let ServiceError::Internal(message) = &error {
        tracing::error!(%message, "direct call failed");
    }
    let status = error.http_status();
    let message = match &error {
        ServiceError::InvalidInput { field, message } => format!("parameters.{field}: {message}"),
        other => other.to_string(),
    };
    fail(status, message)
}

/// A parameter by its camelCase name or its snake_case alias.
struct Params<'a> {
    object: &'a Map<String, Value>,
}

impl Params<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let snake: String = name
            .chars()
            .flat_map(|c| {
                if c.is_ascii_uppercase() {
                    vec!['_', c.to_ascii_lowercase()]
                } else {
                    vec![c]
                }
            })
            .collect();
        self.object
            .get(name)
            .or_else(|| self.object.get(&snake))
            .filter(|value| !value.is_null())
    }

    fn text(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(other) => Err(format!(
                "parameters.{name}: must be a string, got {}",
                crate::json::kind(other)
            )),
        }
    }

    fn required(&self, name: &str) -> Result<String, String> {
        self.text(name)?
            .ok_or_else(|| format!("parameters.{name}: is required"))
    }

    fn time(&self, name: &str) -> Result<Option<chrono::NaiveDateTime>, String> {
        match self.text(name)? {
            Some(text) => parse_event_time(&text)
                .map(Some)
                .map_err(|error| format!("parameters.{name}: {}", error.problem())),
            None => Ok(None),
        }
    }

    fn level(&self, name: &str) -> Result<Option<LogLevel>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => records::level(Some(value), "parameters.")
                .map(Some)
                .map_err(|error| {
                    error.replacen("parameters.level", &format!("parameters.{name}"), 1)
                }),
        }
    }
}

pub async fn handle(context: &FunctionContext<'_>, body: &Value) -> FunctionResponse {
    let Some(call) = body.get("context").and_then(Value::as_object) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "context must be an object {headers, package, function}",
        );
    };
    let package = &context.settings.function.package;
    match call.get("package").and_then(Value::as_str) {
        Some(name) if name == package => {}
        Some(name) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("unknown package {name:?}; available: {package}"),
            );
        }
        None => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("context.package is required; available: {package}"),
            );
        }
    }
    let Some(function) = call.get("function").and_then(Value::as_str) else {
        return fail(
            StatusCode::BAD_REQUEST,
            format!(
                "context.function is required; available in {package}: {}",
                available()
            ),
        );
    };
    let Some((_, shape)) = FUNCTIONS.iter().find(|(name, _)| *name == function) else {
        return fail(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown function {function:?} in package {package}; available: {}",
                available()
            ),
        );
    };
    let parameters = body.get("parameters").unwrap_or(&Value::Null);
    let Some(object) = parameters.as_object() else {
        return fail(
            StatusCode::BAD_REQUEST,
            format!(
                "parameters of {function} must be an object {shape}, got {}",
                crate::json::kind(parameters)
            ),
        );
    };
    let params = Params { object };
    match call_function(context, function, &params, parameters).await {
        Ok(Ok(result)) => ok(result),
        Ok(Err(error)) => service_failure(error),
        Err(problem) => fail(
            StatusCode::BAD_REQUEST,
            format!("{problem}; {function} takes {shape}"),
        ),
    }
}

/// The outer error is a malformed parameter; the inner one what the service said.
async fn call_function(
    context: &FunctionContext<'_>,
    function: &str,
    params: &Params<'_>,
    raw: &Value,
) -> Result<Result<Value, ServiceError>, String> {
    let service = context.service;
    Ok(match function {
        "send-log" | "send-logs" => {
            if function == "send-logs" && params.get("records").is_none() {
                return Err("parameters.records: is required".into());
            }
            let batch = records::batch(raw).map_err(|problem| format!("parameters.{problem}"))?;
            service
                .ingest(
                    &batch.bot,
                    batch.records,
                    batch.idempotency_key.as_deref(),
                    Oversize::Reject,
                )
                .await
                .map(|ingested| json!({"accepted": ingested.ids.len(), "ids": ingested.ids}))
        }
        "register-bot" => {
            let messenger = match params.text("messenger")? {
                Some(text) => Messenger::parse(&text)
                    .map_err(|e| format!("parameters.messenger: {}", e.problem()))?,
                None => Messenger::Telegram,
            };
            let request = RegisterBot {
                admin_uid: params.required("adminUid")?,
                name: params.required("name")?,
                bot_token: params.required("botToken")?,
                auth_token: params.required("authToken")?,
                messenger,
            };
            service.register_bot(request).await.map(|bot| {
                json!({"name": bot.name, "ownerUid": bot.owner_uid, "messenger": bot.messenger,
                    "status": bot.status, "createdAt": bot.created_at})
            })
        }
        "subscribe-chat" => {
            let request = SubscribeChat {
                auth_token: params.required("authToken")?,
                chat_id: params.required("chatId")?,
                subscriber_uid: params.text("subscriberUid")?,
                min_level: params.level("minLevel")?.unwrap_or(LogLevel::Info),
            };
            service
                .subscribe_chat(request)
                .await
                .map(|(bot, subscription)| {
                    json!({"bot": bot.name, "chatId": subscription.chat_id,
                    "minLevel": subscription.min_level, "active": subscription.active})
                })
        }
        "unsubscribe-chat" => service
            .unsubscribe_chat(&params.required("authToken")?, &params.required("chatId")?)
            .await
            .map(|done| json!({"unsubscribed": done})),
        "search-logs" => {
            let first = match params.get("first") {
                None => 20,
                Some(value) => match value.as_u64() {
                    Some(first) if (1..=MAX_PAGE).contains(&first) => first,
                    _ => {
                        return Err(format!(
                            "parameters.first: must be an integer from 1 to {MAX_PAGE}"
                        ));
                    }
                },
            };
            let query = LogQuery {
                bot: params.required("bot")?,
                min_level: params.level("minLevel")?,
                from: params.time("from")?,
                to: params.time("to")?,
                request_id: params.text("requestId")?,
                contains: params.text("contains")?,
                before_id: None,
                first: first as usize,
            };
            service.logs(query).await.map(|page| {
                json!({"records": page.records, "hasNextPage": page.has_next_page,
                    "totalCount": page.total_count})
            })
        }
        "execute-command" => service
            .execute_command(
                &params.required("text")?,
                &params.required("chatId")?,
                &params.text("fromUid")?.unwrap_or_default(),
            )
            .await
            .map(|outcome| json!({"ok": outcome.ok, "reply": outcome.reply})),
        "create-log-user" => service
            .create_log_user(
                &params.required("username")?,
                &params.required("password")?,
                params.text("bot")?.as_deref(),
            )
            .await
            .map(|user| json!({"username": user.username, "createdAt": user.created_at})),
        other => return Err(format!("function {other:?} has no implementation")),
    })
}
