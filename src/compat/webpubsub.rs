//! `/eventhandler`: the Web PubSub CloudEvents upstream (PROTOCOLS §8).
//!
//! Off (404) until `[webpubsub] hub` is set. Checks, in this order: the abuse-protection
//! preflight (`OPTIONS`), the required `ce-*` headers (400 naming the missing ones), the hub
//! (400), the signature over the connection id with any configured access key (401). Then:
//! `sys.connect` answers the user id and a subprotocol; `sys.connected` and `sys.disconnected`
//! are acknowledged; a user `message` in text is a chat command (its reply in text/plain, the
//! chat being the Web PubSub user); a user `sendlog` event in JSON ingests a record or a batch.

use crate::app_state::AppState;
use crate::json::records;
use crate::request_id::plain_text as text;
use crate::service::ServiceError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const PATH: &str = "/eventhandler";

const REQUEST_ORIGIN: &str = "webhook-request-origin";
const ALLOWED_ORIGIN: &str = "webhook-allowed-origin";

/// Headers every event carries; `ce-signature` is checked separately (a 401, not a 400).
const REQUIRED: [&str; 6] = [
    "ce-awpsversion",
    "ce-type",
    "ce-eventName",
    "ce-connectionId",
    "ce-hub",
    "ce-userId",
];

const SYS_PREFIX: &str = "azure.webpubsub.sys.";
const USER_PREFIX: &str = "azure.webpubsub.user.";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, post(event).options(preflight))
}

fn endpoint_off() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "the Web PubSub event handler is off: [webpubsub] hub is not set",
    )
}

/// The abuse-protection handshake: echo an allowed origin, or `*` when any is allowed.
async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.settings.webpubsub.hub.is_none() {
        return endpoint_off();
    }
    let Some(origin) = header_text(&headers, REQUEST_ORIGIN).filter(|o| !o.is_empty()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "WebHook-Request-Origin header is required",
        );
    };
    let allowed = &state.settings.webpubsub.allowed_origins;
    let answer = if allowed.iter().any(|entry| entry == "*") {
        Some("*".to_owned())
    } else {
        origin
            .split(',')
            .map(str::trim)
            .find(|asked| allowed.iter().any(|entry| same_origin(entry, asked)))
            .map(str::to_owned)
    };
    match answer.and_then(|value| HeaderValue::from_str(&value).ok()) {
        Some(value) => {
            let mut response = StatusCode::OK.into_response();
            response.headers_mut().insert(ALLOWED_ORIGIN, value);
            response
        }
        None => text(
            StatusCode::BAD_REQUEST,
            "WebHook-Request-Origin is not in [webpubsub] allowed_origins",
        ),
    }
}

/// A configured origin (`https://host[:port]`) against what the service sends (a bare host,
/// or an origin): equal ignoring case, the scheme compared only when both have one.
fn same_origin(configured: &str, asked: &str) -> bool {
    let strip = |text: &str| -> String {
        let lower = text.trim().trim_end_matches('/').to_ascii_lowercase();
        match lower.split_once("://") {
            Some((_, rest)) => rest.to_owned(),
            None => lower,
        }
    };
    let both_have_scheme = configured.contains("://") && asked.contains("://");
    if both_have_scheme {
        configured
            .trim_end_matches('/')
            .eq_ignore_ascii_case(asked.trim_end_matches('/'))
    } else {
        strip(configured) == strip(asked)
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// Whether any `sha256=<hex>` entry of `ce-signature` is the HMAC of the connection id under
/// one of the keys. Hex is compared case-insensitively, in constant time.
pub fn signature_matches(signature: &str, connection_id: &str, keys: &[&str]) -> bool {
    let expected: Vec<String> = keys
        .iter()
        .map(|key| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
            mac.update(connection_id.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        })
        .collect();
    let mut matched = false;
    for entry in signature.split(',') {
        let entry = entry.trim();
        let Some(hex_part) = entry
            .get(..7)
            .filter(|prefix| prefix.eq_ignore_ascii_case("sha256="))
            .map(|_| &entry[7..])
        else {
            continue;
        };
        let given = hex_part.to_ascii_lowercase();
        for want in &expected {
            matched |= bool::from(want.as_bytes().ct_eq(given.as_bytes()));
        }
    }
    matched
}

/// Why an event was refused before its type was looked at: a status and a plain-text reason.
/// (Not a `Response`: that is too large to travel in the `Err` of every check.)
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self { status, message }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        text(self.status, self.message)
    }
}

/// The checks every event goes through before its type is looked at: the required `ce-*`
/// headers (400 naming the missing ones), the hub (400), the signature (401). Returns the
/// event's `ce-type`. Public (hidden) for the fuzz target `cloudevents_headers`.
#[doc(hidden)]
pub fn check_event<'h>(
    headers: &'h HeaderMap,
    hub: &str,
    keys: &[&str],
) -> Result<&'h str, Refusal> {
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|name| header_text(headers, name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("missing CloudEvents header(s): {}", missing.join(", ")),
        ));
    }
    let value = |name: &str| header_text(headers, name).unwrap_or_default();
    if !value("ce-hub").eq_ignore_ascii_case(hub) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("ce-hub {:?} is not this endpoint's hub", value("ce-hub")),
        ));
    }
    let signature = value("ce-signature");
    if signature.is_empty() || !signature_matches(signature, value("ce-connectionId"), keys) {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "ce-signature does not match any configured access key",
        ));
    }
    Ok(value("ce-type"))
}

async fn event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return crate::request_id::body_rejection(&rejection, &crate::request_id::for_errors());
        }
    };
    let settings = &state.settings.webpubsub;
    let Some(hub) = settings.hub.as_deref() else {
        return endpoint_off();
    };
    let keys: Vec<&str> = settings
        .access_keys
        .iter()
        .map(|key| key.expose_secret())
        .collect();
    let event_type = match check_event(&headers, hub, &keys) {
        Ok(event_type) => event_type,
        Err(refusal) => return refusal.into_response(),
    };
    if let Some(system) = event_type.strip_prefix(SYS_PREFIX) {
        return match system {
            "connect" => connect(&headers, &body),
            "connected" | "disconnected" => StatusCode::NO_CONTENT.into_response(),
            other => text(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown system event {other:?}; supported: connect, connected, disconnected"
                ),
            ),
        };
    }
    if let Some(user_event) = event_type.strip_prefix(USER_PREFIX) {
        return user(&state, &headers, user_event, &body).await;
    }
    text(
        StatusCode::BAD_REQUEST,
        format!(
            "unknown ce-type {event_type:?}; expected {SYS_PREFIX}<connect|connected|disconnected> or {USER_PREFIX}<event>"
        ),
    )
}

/// `sys.connect`: checks the body's shape and accepts the user, choosing the first subprotocol
/// the client offers. Public (hidden) for the fuzz target `cloudevents_headers`.
#[doc(hidden)]
pub fn connect(headers: &HeaderMap, body: &[u8]) -> Response {
    let body: Value = match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Value::Object(object),
        Ok(other) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!(
                    "the connect body must be a JSON object, got {}",
                    crate::json::kind(&other)
                ),
            );
        }
        Err(error) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("the connect body is not JSON: {error}"),
            );
        }
    };
    for (name, object) in [
        ("claims", true),
        ("query", true),
        ("headers", true),
        ("subprotocols", false),
        ("clientCertificates", false),
    ] {
        match body.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Object(_)) if object => {}
            Some(Value::Array(_)) if !object => {}
            Some(other) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "connect body: {name} must be {}, got {}",
                        if object { "an object" } else { "an array" },
                        crate::json::kind(other)
                    ),
                );
            }
        }
    }
    let subprotocol = match body.get("subprotocols").and_then(Value::as_array) {
        Some(list) if list.iter().any(|item| !item.is_string()) => {
            return text(
                StatusCode::BAD_REQUEST,
                "connect body: subprotocols must be strings",
            );
        }
        Some(list) => list.first().and_then(Value::as_str).map(str::to_owned),
        None => None,
    };
    let user_id = header_text(headers, "ce-userId").unwrap_or_default();
    let mut answer = json!({});
    if !user_id.is_empty() {
        answer["userId"] = json!(user_id);
    }
    if let Some(subprotocol) = subprotocol {
        answer["subprotocol"] = json!(subprotocol);
    }
    if answer.as_object().is_some_and(|object| object.is_empty()) {
        return StatusCode::NO_CONTENT.into_response();
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

#[doc(hidden)]
#[derive(Debug, PartialEq)]
pub enum BodyKind {
    Text,
    Json,
    Binary,
}

/// The kind of a user event's body, or why its type is refused. Public (hidden) for the fuzz
/// target `cloudevents_headers`.
#[doc(hidden)]
pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, String> {
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/plain" => Ok(BodyKind::Text),
        "application/json" => Ok(BodyKind::Json),
        "application/octet-stream" => Ok(BodyKind::Binary),
        _ => Err(format!(
            "user events must be text/plain, application/json or application/octet-stream, got {content_type:?}"
        )),
    }
}

async fn user(state: &AppState, headers: &HeaderMap, event: &str, body: &[u8]) -> Response {
    let kind = match body_kind(headers) {
        Ok(kind) => kind,
        Err(problem) => return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, problem),
    };
    match event {
        "message" => {
            let command = match kind {
                BodyKind::Json => match serde_json::from_slice::<Value>(body) {
                    Ok(Value::String(command)) => command,
                    _ => {
                        return text(
                            StatusCode::BAD_REQUEST,
                            "a message event carries a chat command as text (or a JSON string)",
                        );
                    }
                },
                BodyKind::Text | BodyKind::Binary => match std::str::from_utf8(body) {
                    Ok(command) => command.to_owned(),
                    Err(_) => {
                        return text(StatusCode::BAD_REQUEST, "the message is not UTF-8 text");
                    }
                },
            };
            // The chat is the Web PubSub user, and the command runs as that user; an anonymous
            // connection has neither (and an empty `fromUid` would skip the check that
            // `register` names the sender's own id).
            let user_id = header_text(headers, "ce-userId").unwrap_or_default();
            if user_id.is_empty() {
                return text(
                    StatusCode::FORBIDDEN,
                    "chat commands need an authenticated Web PubSub user (ce-userId is empty)",
                );
            }
            match state
                .service
                .execute_command(&command, user_id, user_id)
                .await
            {
                Ok(outcome) => text(StatusCode::OK, outcome.reply),
                Err(error) => service_failure(error),
            }
        }
        "sendlog" => {
            if kind != BodyKind::Json {
                return text(
                    StatusCode::BAD_REQUEST,
                    "a sendlog event must be application/json",
                );
            }
            let value: Value = match serde_json::from_slice(body) {
                Ok(value) => value,
                Err(error) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        format!("the sendlog body is not JSON: {error}"),
                    );
                }
            };
            let batch = match records::batch(&value) {
                Ok(batch) => batch,
                Err(problem) => {
                    return text(StatusCode::BAD_REQUEST, format!("sendlog: {problem}"));
                }
            };
            match batch.ingest(&state.service).await {
                Ok(ingested) => {
                    (StatusCode::OK, axum::Json(records::accepted(&ingested))).into_response()
                }
                Err(error) => service_failure(error),
            }
        }
        other => text(
            StatusCode::BAD_REQUEST,
            format!("unknown user event {other:?}; supported: message, sendlog"),
        ),
    }
}

fn service_failure(error: ServiceError) -> Response {
    if let ServiceError::Internal(message) = &error {
        tracing::error!(%message, "Web PubSub event failed");
    }
    let status = error.http_status();
    text(status, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_of_the_shared_cases() {
        let good = "sha256=952143b8788bf51c58decbe3109ec3bc8503ce4b3fa369b707a7d2a2170fe617";
        assert!(signature_matches(good, "conn-1", &["research-access-key"]));
        assert!(signature_matches(
            &format!(
                "sha256=00, {}",
                good.to_ascii_uppercase().replace("SHA256", "sha256")
            ),
            "conn-1",
            &["other", "research-access-key"]
        ));
        assert!(!signature_matches(good, "conn-2", &["research-access-key"]));
        assert!(!signature_matches(good, "conn-1", &[]));
        assert!(!signature_matches("", "conn-1", &["research-access-key"]));
    }

    #[test]
    fn origins() {
        assert!(same_origin("https://a.example.com", "a.example.com"));
        assert!(same_origin(
            "https://A.example.com",
            "https://a.example.com/"
        ));
        assert!(!same_origin(
            "https://a.example.com",
            "http://a.example.com"
        ));
        assert!(!same_origin("https://a.example.com", "b.example.com"));
    }
}
