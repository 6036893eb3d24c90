//! Direct calls (PROTOCOLS §6): `{"parameters": ..., "context": {"headers", "package",
//! "function"}}`, answered in the envelope `{"status": "ok", "code": 200, "timestamp",
//! "result"}`; a failure is `{"status": "fail", "code", "timestamp", "alert": {"message"}}`
//! with the same HTTP status, its message naming what was wrong and what is available.

use super::{FunctionContext, FunctionResponse};
use crate::domain::event_time::parse_event_time;
use crate::domain::level::LogLevel;
use crate::domain::messenger::Messenger;
use crate::json::records;
use crate::service::{LogQuery, RegisterBot, ServiceError, SubscribeChat};
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

/// The parameters, each looked up under its names: the camelCase one, then its snake_case
/// alias (`&["chatId", "chat_id"]`). Errors name the first.
struct Params<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    fn get(&self, names: &[&str]) -> Option<&'a Value> {
        records::field(self.object, names)
    }

    /// A string; a number is taken as its text.
    fn text(&self, names: &[&str]) -> Result<Option<String>, String> {
        records::text_or_number(self.object, names, "parameters.")
    }

    fn required(&self, names: &[&str]) -> Result<String, String> {
        self.text(names)?
            .ok_or_else(|| format!("parameters.{}: is required", names[0]))
    }

    fn time(&self, names: &[&str]) -> Result<Option<chrono::NaiveDateTime>, String> {
        match self.text(names)? {
            Some(text) => parse_event_time(&text)
                .map(Some)
                .map_err(|error| format!("parameters.{}: {}", names[0], error.problem())),
            None => Ok(None),
        }
    }

    fn level(&self, names: &[&str]) -> Result<Option<LogLevel>, String> {
        self.get(names)
            .map(|value| records::level(Some(value), &format!("parameters.{}", names[0])))
            .transpose()
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
            if function == "send-logs" && params.get(&["records"]).is_none() {
                return Err("parameters.records: is required".into());
            }
            let batch = records::batch(raw).map_err(|problem| format!("parameters.{problem}"))?;
            batch
                .ingest(service)
                .await
                .map(|ingested| records::accepted(&ingested))
        }
        "register-bot" => {
            let messenger = match params.text(&["messenger"])? {
                Some(text) => Messenger::parse(&text)
                    .map_err(|e| format!("parameters.messenger: {}", e.problem()))?,
                None => Messenger::Telegram,
            };
            let request = RegisterBot {
                admin_uid: params.required(&["adminUid", "admin_uid"])?,
                name: params.required(&["name"])?,
                bot_token: params.required(&["botToken", "bot_token"])?,
                auth_token: params.required(&["authToken", "auth_token"])?,
                messenger,
            };
            service.register_bot(request).await.map(|bot| {
                json!({"name": bot.name, "ownerUid": bot.owner_uid, "messenger": bot.messenger,
                    "status": bot.status, "createdAt": bot.created_at})
            })
        }
        "subscribe-chat" => {
            let request = SubscribeChat {
                auth_token: params.required(&["authToken", "auth_token"])?,
                chat_id: params.required(&["chatId", "chat_id"])?,
                subscriber_uid: params.text(&["subscriberUid", "subscriber_uid"])?,
                min_level: params
                    .level(&["minLevel", "min_level"])?
                    .unwrap_or(LogLevel::Info),
                thread_id: params.text(&["threadId", "thread_id"])?,
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
            .unsubscribe_chat(
                &params.required(&["authToken", "auth_token"])?,
                &params.required(&["chatId", "chat_id"])?,
            )
            .await
            .map(|done| json!({"unsubscribed": done})),
        "search-logs" => {
            let first = match params.get(&["first"]) {
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
                bot: params.required(&["bot"])?,
                min_level: params.level(&["minLevel", "min_level"])?,
                from: params.time(&["from"])?,
                to: params.time(&["to"])?,
                request_id: params.text(&["requestId", "request_id"])?,
                contains: params.text(&["contains"])?,
                before_id: None,
                first: first as usize,
                want_total: true,
            };
            service.logs(query).await.map(|page| {
                json!({"records": page.records, "hasNextPage": page.has_next_page,
                    "totalCount": page.total_count})
            })
        }
        "execute-command" => service
            .execute_command(
                &params.required(&["text"])?,
                &params.required(&["chatId", "chat_id"])?,
                &params.text(&["fromUid", "from_uid"])?.unwrap_or_default(),
            )
            .await
            .map(|outcome| json!({"ok": outcome.ok, "reply": outcome.reply})),
        "create-log-user" => service
            .create_log_user(
                &params.required(&["username"])?,
                &params.required(&["password"])?,
                params.text(&["bot"])?.as_deref(),
            )
            .await
            .map(|user| json!({"username": user.username, "createdAt": user.created_at})),
        other => return Err(format!("function {other:?} has no implementation")),
    })
}
