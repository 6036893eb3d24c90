//! VK chat events (PROTOCOLS §9): the Callback API door `POST /events/vk` and the optional Bots
//! Long Poll loop, both feeding [`handle_event`].
//!
//! A raw event is normalized into a [`ChatEvent`] (`message`, `command`, `button` or
//! `reaction`; other types are dropped), published as JSON on the bus channel
//! `events.<type>`, and a command is executed with the VK user id as `fromUid` and the peer id
//! as the chat. With `[vk] access_token` set, the command's reply is sent back to the peer with
//! `messages.send`.
//!
//! The events and their normalization are in `event`, the Bots Long Poll loop in `long_poll`.

mod event;
mod long_poll;

use crate::app_state::AppState;
use crate::domain::command::{self, Command};
use crate::domain::messenger::Messenger;
use crate::request_id::plain_text as plain;
use crate::service::ServiceError;
use crate::vk_api::VkApi;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
pub use event::{ChatEvent, EventType, MessagePart, Peer, User, normalize};
pub use long_poll::{LongPoll, spawn_long_poll};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;
use subtle::ConstantTimeEq;

pub const PATH: &str = "/events/vk";
/// Peer ids above this are group chats (`cid = peer_id - PEER_CHAT_BASE`).
pub const PEER_CHAT_BASE: i64 = 2_000_000_000;
/// The bus channel of a normalized event type.
pub fn channel(event_type: EventType) -> String {
    format!("events.{}", event_type.as_str())
}

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, post(callback))
}

/// How long an event id is remembered. VK redelivers a Callback API event that was not
/// answered `ok` in time, with the same `event_id`, over the following minutes.
const EVENT_ID_MEMORY: Duration = Duration::from_secs(3600);

/// Publishes a normalized event and runs it if it is a command, once per `event_id` (across
/// replicas with the Redis bus). Returns the event, or `None` when it was dropped or a repeat.
pub async fn handle_event(
    state: &AppState,
    raw: &Value,
) -> Result<Option<ChatEvent>, ServiceError> {
    let Some(event) = normalize(raw) else {
        return Ok(None);
    };
    let Some(claim) = &event.event_id else {
        return handle_new_event(state, event).await.map(Some);
    };
    let key = format!("vk.event.{}.{claim}", event.group_id.unwrap_or_default());
    let bus = state.service.bus();
    let Some(claim) = bus.claim(&key, EVENT_ID_MEMORY).await else {
        tracing::info!(key = %key, "repeated VK event ignored");
        return Ok(None);
    };
    let handled = handle_new_event(state, event).await;
    if handled.is_err() {
        // Not done: VK's redelivery must be handled, not ignored as a repeat.
        bus.release(claim).await;
    }
    handled.map(Some)
}

/// The event as published: a command's text may carry bot and auth tokens, and everyone on
/// the bus (Redis included) would read them, so it goes out redacted.
fn for_bus(event: &ChatEvent) -> ChatEvent {
    let mut published = event.clone();
    if let Some(message) = &mut published.message
        && (event.event_type == EventType::Command || Command::parse(&message.text).is_ok())
    {
        message.text = command::redacted(&message.text);
    }
    published
}

async fn handle_new_event(state: &AppState, event: ChatEvent) -> Result<ChatEvent, ServiceError> {
    match serde_json::to_string(&for_bus(&event)) {
        Ok(json) => {
            if let Err(error) = state
                .service
                .bus()
                .publish(&channel(event.event_type), &json)
                .await
            {
                tracing::warn!(%error, "could not publish a VK event");
            }
        }
        Err(error) => tracing::error!(%error, "could not encode a VK event"),
    }
    // A command runs as its sender; one with no sender (VK always names it) is not run, since
    // an empty `fromUid` would skip the check that `register` names the sender's own id.
    if event.event_type == EventType::Command
        && let Some(message) = &event.message
        && let Some(from) = event.user.uuid
    {
        let chat = event.peer.bpid.to_string();
        let from = from.to_string();
        let outcome = state
            .service
            .execute_command_via(Messenger::Vk, &message.text, &chat, &from)
            .await?;
        tracing::info!(ok = outcome.ok, chat = %chat, "VK command");
        if state.settings.vk.access_token.is_some() {
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(error) = send_message(&state, event.peer.bpid, &outcome.reply).await {
                    tracing::warn!(%error, "could not send a command reply to VK");
                }
            });
        }
    }
    Ok(event)
}

/// `POST /events/vk`: the Callback API. Off (404) until `[vk] confirmation` is set.
async fn callback(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return crate::request_id::body_rejection(&rejection, &crate::request_id::for_errors());
        }
    };
    let settings = &state.settings.vk;
    let Some(confirmation) = settings.confirmation.as_deref() else {
        return plain(
            StatusCode::NOT_FOUND,
            "the VK Callback API door is off: [vk] confirmation is not set",
        );
    };
    let raw: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(object)) => Value::Object(object),
        Ok(_) => return plain(StatusCode::BAD_REQUEST, "the event must be a JSON object"),
        Err(error) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("the event is not JSON: {error}"),
            );
        }
    };
    let Some(event_type) = raw.get("type").and_then(Value::as_str) else {
        return plain(StatusCode::BAD_REQUEST, "the event has no type");
    };
    if let Some(secret) = &settings.secret {
        let given = raw.get("secret").and_then(Value::as_str);
        let matches: bool = given
            .unwrap_or_default()
            .as_bytes()
            .ct_eq(secret.expose_secret().as_bytes())
            .into();
        // Whether VK signs the handshake itself is not documented: a confirmation without a
        // secret is answered (the code is no secret: VK shows it to the community's admins),
        // one with a wrong secret is not.
        let unsigned_handshake = event_type == "confirmation" && given.is_none();
        if !matches && !unsigned_handshake {
            return plain(StatusCode::FORBIDDEN, "wrong or missing secret");
        }
    }
    if let Some(group) = settings.group_id {
        let given = raw.get("group_id").and_then(Value::as_u64);
        if given != Some(group) {
            return plain(
                StatusCode::FORBIDDEN,
                "group_id is not this gateway's community ([vk] group_id)",
            );
        }
    }
    if event_type == "confirmation" {
        return plain(StatusCode::OK, confirmation);
    }
    match handle_event(&state, &raw).await {
        Ok(_) => plain(StatusCode::OK, "ok"),
        // VK retries an event that is not answered `ok`: right when DataSpace is down.
        Err(ServiceError::Unavailable) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "DataSpace is unavailable, try again later",
        ),
        Err(error) => {
            tracing::error!(%error, "VK event failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The HTTP client of every VK call this door makes (command replies, long poll), built
/// once for the process.
fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(40))
            .build()
            .unwrap_or_default()
    })
}

/// Calls the VK API `method` with `pairs` and `[vk] access_token` (see [`crate::vk_api`]).
async fn vk_call(state: &AppState, method: &str, pairs: &[(&str, &str)]) -> anyhow::Result<Value> {
    let token = state
        .settings
        .vk
        .access_token
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("[vk] access_token is not set"))?;
    let api = VkApi::new(
        http_client().clone(),
        state.settings.delivery.vk_api_base.clone(),
    );
    Ok(api.call(token.expose_secret(), method, pairs).await?)
}

/// `messages.send` of a text to a peer.
async fn send_message(state: &AppState, peer_id: i64, text: &str) -> anyhow::Result<()> {
    let random_id = rand::random::<u32>().to_string();
    let peer = peer_id.to_string();
    vk_call(
        state,
        "messages.send",
        &[
            ("peer_id", peer.as_str()),
            ("message", text),
            ("random_id", random_id.as_str()),
        ],
    )
    .await?;
    Ok(())
}
