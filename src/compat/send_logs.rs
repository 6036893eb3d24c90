//! `POST /send_logs` (and `//send_logs`, which the LoggerBot Python client sends): its wire
//! format, unchanged (PROTOCOLS §7).
//!
//! The client kills its sender thread on a 400, so a 400 means the body really cannot be read
//! (not JSON, no `data` object, no `logs` array, a field of the wrong type, an unreadable time).
//! Credentials are checked before the records are looked at: the user named by `data.user` is
//! looked up by exact name and `X-User-Token` compared with its stored hash in constant time.
//!
//! Which bot the records go to: the bot the user was created with (`add-user --bot`, the
//! `createLogUser` mutation's `bot`), else `[send_logs] default_bot`; a user with neither gets
//! a 403 naming the problem.

use crate::app_state::AppState;
use crate::domain::event_time::parse_event_time;
use crate::domain::record::{LogSource, MAX_MESSAGE_CHARS, NewLogRecord, truncate_message};
use crate::json::records::{self, refused_at};
use crate::service::ServiceError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

/// The header carrying md5 hex of `username + password`.
pub const USER_TOKEN_HEADER: &str = "x-user-token";

/// Stored instead of an empty message (the store refuses empty ones, the client sends them).
const EMPTY_MESSAGE: &str = "(empty message)";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/send_logs", post(send_logs))
        .route("//send_logs", post(send_logs))
}

/// The answer the client understands (`code` and `message`), plus `detail` saying why and,
/// when it is an error, the request id (`requestId`).
fn answer(status: StatusCode, detail: Option<String>) -> Response {
    let message = match status {
        StatusCode::OK => "Logs added successfully",
        StatusCode::BAD_REQUEST => "BadRequest",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailable",
        _ => "InternalServerError",
    };
    let mut body = json!({"code": status.as_u16(), "message": message});
    if let Some(detail) = detail {
        body["detail"] = Value::String(detail);
    }
    if status != StatusCode::OK {
        crate::request_id::name_in_json(&mut body, &crate::request_id::for_errors());
    }
    (status, axum::Json(body)).into_response()
}

fn bad_request(detail: impl Into<String>) -> Response {
    answer(StatusCode::BAD_REQUEST, Some(detail.into()))
}

fn forbidden(detail: impl Into<String>) -> Response {
    answer(StatusCode::FORBIDDEN, Some(detail.into()))
}

/// `application/json`, with or without parameters; a missing type is taken as JSON too.
fn is_json(headers: &HeaderMap) -> Result<(), String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or_default();
    let media = text.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(format!(
            "Content-Type must be application/json, got {:?}",
            text.chars().take(64).collect::<String>()
        ))
    }
}

async fn send_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let raw = match raw {
        Ok(raw) => raw,
        Err(rejection) => {
            return crate::request_id::body_rejection(&rejection, &crate::request_id::for_errors());
        }
    };
    if let Err(detail) = is_json(&headers) {
        return answer(StatusCode::UNSUPPORTED_MEDIA_TYPE, Some(detail));
    }
    let body: Value = match serde_json::from_slice(&raw) {
        Ok(body) => body,
        Err(error) => return bad_request(format!("the body is not JSON: {error}")),
    };
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return bad_request("the body must be {\"data\": {\"user\", \"logs\": [...]}}");
    };
    let username = match data.get("user") {
        None | Some(Value::Null) => return forbidden("data.user is missing"),
        Some(Value::String(user)) => user.as_str(),
        Some(other) => {
            return bad_request(format!(
                "data.user: must be a string, got {}",
                crate::json::kind(other)
            ));
        }
    };
    let token = headers
        .get(USER_TOKEN_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let user = match state.service.authenticate_log_user(username, token).await {
        Ok(Some(user)) => user,
        Ok(None) => return forbidden("unknown user or wrong X-User-Token"),
        Err(error) => return failure(error),
    };
    let inputs = match parse_logs(data, state.settings.send_logs.max_message_chars) {
        Ok(inputs) => inputs,
        Err(detail) => return bad_request(detail),
    };
    if inputs.is_empty() {
        return answer(StatusCode::OK, None);
    }
    // One request, one batch: all stored or none. The client sends no key, so the body is
    // the key: its retry after a lost answer is the same bytes and is stored once.
    let key = request_key(username, &raw);
    let default_bot = state.settings.send_logs.default_bot.as_deref();
    match state
        .service
        .ingest_for_log_user(&user, default_bot, inputs, &key)
        .await
    {
        Ok(_) => answer(StatusCode::OK, None),
        Err(error) => failure(error),
    }
}

/// `send_logs:<user>:<sha256 of the body>`, within the 200 characters of a key.
fn request_key(username: &str, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let user: String = username.chars().take(64).collect();
    format!("send_logs:{user}:{}", hex::encode(Sha256::digest(body)))
}

fn failure(error: ServiceError) -> Response {
    match error {
        ServiceError::InvalidInput { .. } => bad_request(error.to_string()),
        ServiceError::NotFound { .. }
        | ServiceError::LimitReached(_)
        | ServiceError::Forbidden(_)
        | ServiceError::NotAnAdmin(_) => forbidden(error.to_string()),
        // Not a 500: nothing is wrong with the request, and the client retries on any non-400.
        ServiceError::Unavailable => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("DataSpace is unavailable, try again later".into()),
        ),
        other => {
            tracing::error!(error = %other, "/send_logs failed");
            answer(StatusCode::INTERNAL_SERVER_ERROR, None)
        }
    }
}

/// `data.logs` as records, with the process metadata of `data` as their source. A message
/// longer than `max_chars` is cut (the client cannot handle a refusal), an empty one is
/// [`EMPTY_MESSAGE`]. Public (hidden) for the fuzz target `send_logs_body`.
#[doc(hidden)]
pub fn parse_logs(
    data: &Map<String, Value>,
    max_chars: usize,
) -> Result<Vec<NewLogRecord>, String> {
    let logs = match data.get("logs") {
        Some(Value::Array(logs)) => logs,
        Some(other) => {
            return Err(format!(
                "data.logs: must be an array, got {}",
                crate::json::kind(other)
            ));
        }
        None => return Err("data.logs: is required".into()),
    };
    let source = LogSource {
        user_name: records::text(data, &["user"], "data.")?,
        pid: records::integer(data, &["pid"], "data.")?,
        process_name: records::text(data, &["p_name"], "data.")?,
        process_description: None,
    };
    // The time the client posted the batch: the event time of a log that has none.
    let post_time =
        records::text(data, &["post_time"], "data.")?.and_then(|text| parse_event_time(&text).ok());
    let max_chars = max_chars.min(MAX_MESSAGE_CHARS);
    logs.iter()
        .enumerate()
        .map(|(index, log)| {
            let path = format!("data.logs[{index}].");
            let Value::Object(log) = log else {
                return Err(format!(
                    "data.logs[{index}]: must be an object, got {}",
                    crate::json::kind(log)
                ));
            };
            let level = records::level(log.get("level"), &format!("{path}level"))?;
            let message = records::text(log, &["msg", "message"], &path)?.unwrap_or_default();
            let message = if message.trim().is_empty() {
                EMPTY_MESSAGE.to_owned()
            } else {
                truncate_message(&message, max_chars)
            };
            // An empty time is no time, as the client sends it.
            let event_at = match records::text(log, &["event_at"], &path)?
                .filter(|text| !text.trim().is_empty())
            {
                Some(text) => Some(
                    parse_event_time(&text)
                        .map_err(|error| format!("{path}event_at: {}", error.problem()))?,
                ),
                None => post_time,
            };
            let mut source = source.clone();
            source.process_description = records::text(log, &["p_description"], &path)?;
            NewLogRecord::builder(level, message)
                .maybe_event_at(event_at)
                .source(source)
                .build()
                .map_err(|error| refused_at(&path, error))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::level::LogLevel;

    fn data(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn parses_what_the_client_sends() {
        let logs = parse_logs(
            &data(json!({"user": "alice", "pid": 42, "p_name": "worker", "post_time": "2024-05-01T10:00:00",
                "logs": [
                    {"level": 30, "msg": "careful", "event_at": "2024-05-01T09:59:58.123456", "p_description": "d"},
                    {"level": 50, "msg": "", "event_at": null},
                ]})),
            4000,
        )
        .unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].level(), LogLevel::Warning);
        assert_eq!(logs[0].source().pid, Some(42));
        assert_eq!(logs[0].source().process_description.as_deref(), Some("d"));
        assert_eq!(logs[1].level(), LogLevel::Critical);
        assert_eq!(logs[1].message(), EMPTY_MESSAGE);
        assert_eq!(
            logs[1].event_at().unwrap().to_string(),
            "2024-05-01 10:00:00"
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(5000);
        let logs = parse_logs(&data(json!({"logs": [{"level": 40, "msg": long}]})), 100).unwrap();
        assert_eq!(logs[0].message().chars().count(), 100);
        // Never past what any record may hold, whatever the setting.
        let longer = "x".repeat(MAX_MESSAGE_CHARS + 1);
        let logs = parse_logs(
            &data(json!({"logs": [{"level": 40, "msg": longer}]})),
            usize::MAX,
        )
        .unwrap();
        assert_eq!(logs[0].message().chars().count(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn malformed_parts_are_named() {
        for (body, field) in [
            (json!({"logs": {}}), "data.logs:"),
            (json!({"logs": [1]}), "data.logs[0]:"),
            (
                json!({"logs": [{"level": "loud", "msg": "a"}]}),
                "data.logs[0].level",
            ),
            (json!({"logs": [{"msg": 5}]}), "data.logs[0].msg"),
            (
                json!({"logs": [{"msg": "a", "event_at": "yesterday"}]}),
                "data.logs[0].event_at",
            ),
            (json!({"pid": "x", "logs": []}), "data.pid"),
            (
                json!({"pid": -3, "logs": [{"msg": "a"}]}),
                "data.logs[0].source.pid",
            ),
        ] {
            let error = parse_logs(&data(body), 10).err().unwrap();
            assert!(error.starts_with(field), "{error}");
        }
    }
}
