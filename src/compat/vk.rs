//! VK chat events (PROTOCOLS §9): the Callback API door `POST /events/vk` and the optional Bots
//! Long Poll loop, both feeding [`handle_event`].
//!
//! A raw event is normalized into a [`ChatEvent`] (`message`, `command`, `button` or
//! `reaction`; other types are dropped), published as JSON on the bus channel
//! `events.<type>`, and a command is executed with the VK user id as `fromUid` and the peer id
//! as the chat. With `[vk] access_token` set, the command's reply is sent back to the peer with
//! `messages.send`.

use crate::app_state::AppState;
use crate::domain::command::{self, Command};
use crate::domain::messenger::Messenger;
use crate::service::ServiceError;
use crate::vk_api::VkApi;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Map, Value};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Message,
    Command,
    Button,
    Reaction,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Command => "command",
            Self::Button => "button",
            Self::Reaction => "reaction",
        }
    }
}

/// Where an event happened: `bpid` the VK peer id, `cid` the chat number in a group chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    pub bpid: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub uuid: Option<i64>,
}

/// A message as other services see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessagePart {
    pub cmid: Option<i64>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<Box<MessagePart>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forward: Vec<MessagePart>,
    /// Attachment types, plus `geo`, `reply` and `forward` when present.
    pub attachments: Vec<String>,
}

/// A normalized chat event, published as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub platform: &'static str,
    pub event_id: Option<String>,
    pub group_id: Option<i64>,
    pub peer: Peer,
    pub user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessagePart>,
    /// conversation_message_id (buttons, reactions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmid: Option<i64>,
    /// The button event id, for `messages.sendMessageEventAnswer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The reaction id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rid: Option<i64>,
}

fn int(object: &Map<String, Value>, name: &str) -> Option<i64> {
    let value = object.get(name)?;
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
}

fn message_part(message: &Map<String, Value>) -> MessagePart {
    let mut attachments: Vec<String> = message
        .get("attachments")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|item| item.get("type").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let reply = message
        .get("reply_message")
        .and_then(Value::as_object)
        .map(|reply| Box::new(message_part(reply)));
    let forward: Vec<MessagePart> = message
        .get("fwd_messages")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(message_part)
                .collect()
        })
        .unwrap_or_default();
    if message.get("geo").is_some_and(|geo| !geo.is_null()) {
        attachments.push("geo".into());
    }
    if reply.is_some() {
        attachments.push("reply".into());
    }
    if !forward.is_empty() {
        attachments.push("forward".into());
    }
    MessagePart {
        cmid: int(message, "conversation_message_id"),
        text: message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        reply,
        forward,
        attachments,
    }
}

fn peer(peer_id: i64) -> Peer {
    Peer {
        bpid: peer_id,
        cid: (peer_id > PEER_CHAT_BASE).then(|| peer_id - PEER_CHAT_BASE),
    }
}

/// The first of `user_id`, `from_id`, `reacted_id` present in any of the objects.
fn user_of(objects: &[&Map<String, Value>]) -> User {
    let uuid = ["user_id", "from_id", "reacted_id"]
        .iter()
        .find_map(|name| objects.iter().find_map(|object| int(object, name)));
    User { uuid }
}

/// Normalizes a raw VK event; `None` for the types other services do not get.
pub fn normalize(raw: &Value) -> Option<ChatEvent> {
    let event_type = raw.get("type")?.as_str()?;
    let object = raw.get("object")?.as_object()?;
    let event_id = raw
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let group_id = raw.get("group_id").and_then(Value::as_i64);
    let base = |kind: EventType, peer_id: i64, user: User| ChatEvent {
        event_type: kind,
        platform: "vk",
        event_id: event_id.clone(),
        group_id,
        peer: peer(peer_id),
        user,
        message: None,
        cmid: None,
        beid: None,
        payload: None,
        rid: None,
    };
    match event_type {
        "message_new" => {
            // API 5.199 wraps the message as object.message; older versions sent it bare.
            let message = object
                .get("message")
                .and_then(Value::as_object)
                .unwrap_or(object);
            let part = message_part(message);
            let kind = if part.text.trim_start().starts_with(['/', '!']) {
                EventType::Command
            } else {
                EventType::Message
            };
            let mut event = base(kind, int(message, "peer_id")?, user_of(&[message, object]));
            event.message = Some(part);
            Some(event)
        }
        "message_event" => {
            let mut event = base(
                EventType::Button,
                int(object, "peer_id")?,
                user_of(&[object]),
            );
            event.cmid = int(object, "conversation_message_id");
            event.beid = object
                .get("event_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            event.payload = object.get("payload").cloned();
            Some(event)
        }
        "message_reaction_event" => {
            let mut event = base(
                EventType::Reaction,
                int(object, "peer_id")?,
                user_of(&[object]),
            );
            event.cmid = int(object, "cmid").or_else(|| int(object, "conversation_message_id"));
            event.rid = int(object, "reaction_id");
            Some(event)
        }
        _ => None,
    }
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

fn plain(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// `POST /events/vk`: the Callback API. Off (404) until `[vk] confirmation` is set.
async fn callback(State(state): State<AppState>, body: Bytes) -> Response {
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

/// The HTTP client of every VK call this module makes (command replies, long poll), built
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

/// The running Bots Long Poll loop; stopped when dropped.
pub struct LongPoll {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LongPoll {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts Bots Long Poll when `[vk] long_poll` is on (the configuration already checked that
/// `access_token` and `group_id` are set). Keep the handle for as long as it should run.
pub fn spawn_long_poll(state: &AppState) -> Option<LongPoll> {
    let settings = &state.settings.vk;
    if !settings.long_poll {
        return None;
    }
    let state = state.clone();
    Some(LongPoll {
        task: tokio::spawn(async move { long_poll(state).await }),
    })
}

struct PollServer {
    server: String,
    key: String,
    ts: String,
}

async fn poll_server(state: &AppState) -> anyhow::Result<PollServer> {
    let group = state
        .settings
        .vk
        .group_id
        .ok_or_else(|| anyhow::anyhow!("[vk] group_id is not set"))?
        .to_string();
    let answer = vk_call(
        state,
        "groups.getLongPollServer",
        &[("group_id", group.as_str())],
    )
    .await?;
    let response = answer
        .get("response")
        .ok_or_else(|| anyhow::anyhow!("groups.getLongPollServer: no response"))?;
    let field = |name: &str| -> anyhow::Result<String> {
        match response.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            _ => anyhow::bail!("groups.getLongPollServer: no {name}"),
        }
    };
    Ok(PollServer {
        server: field("server")?,
        key: field("key")?,
        ts: field("ts")?,
    })
}

/// Pulls events forever: re-opens the server on `failed: 2|3`, takes the new `ts` on
/// `failed: 1`, and backs off (1 s doubling to 60 s) while VK or the network fails.
async fn long_poll(state: AppState) {
    const MAX_BACKOFF: Duration = Duration::from_secs(60);
    let client = http_client();
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut server = match poll_server(&state).await {
            Ok(server) => server,
            Err(error) => {
                tracing::warn!(%error, "VK long poll: cannot open the server; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        tracing::info!("VK long poll: listening");
        loop {
            let url = match reqwest::Url::parse(&server.server) {
                Ok(mut url) => {
                    url.query_pairs_mut().extend_pairs([
                        ("act", "a_check"),
                        ("key", server.key.as_str()),
                        ("ts", server.ts.as_str()),
                        ("wait", "25"),
                    ]);
                    url
                }
                Err(error) => {
                    tracing::warn!(%error, "VK long poll: the server is not a URL");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    break;
                }
            };
            // reqwest's errors show their URL, and this one carries the Long Poll `key`.
            let answer = client
                .get(url)
                .send()
                .await
                .map_err(reqwest::Error::without_url);
            let answer: Value = match answer {
                Ok(response) => match response.json().await.map_err(reqwest::Error::without_url) {
                    Ok(answer) => answer,
                    Err(error) => {
                        tracing::warn!(%error, "VK long poll: unreadable answer");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "VK long poll: request failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            let ts = match answer.get("ts") {
                Some(Value::String(ts)) => Some(ts.clone()),
                Some(Value::Number(ts)) => Some(ts.to_string()),
                _ => None,
            };
            match answer.get("failed").and_then(Value::as_i64) {
                None => {}
                Some(1) => {
                    if let Some(ts) = ts {
                        server.ts = ts;
                    }
                    continue;
                }
                Some(_) => break,
            }
            backoff = Duration::from_secs(1);
            if let Some(ts) = ts {
                server.ts = ts;
            }
            for update in answer
                .get("updates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Err(error) = handle_event(&state, update).await {
                    tracing::warn!(%error, "VK long poll: event not handled");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn group_chat_message_with_everything() {
        let raw = json!({"type": "message_new", "event_id": "e1", "group_id": 7, "v": "5.199",
            "object": {"message": {"date": 1, "from_id": 11, "id": 0, "peer_id": 2000000005,
                "text": "hello", "conversation_message_id": 99,
                "attachments": [{"type": "photo"}, {"type": "doc"}],
                "geo": {"type": "point"},
                "reply_message": {"from_id": 12, "text": "earlier", "conversation_message_id": 98},
                "fwd_messages": [{"from_id": 13, "text": "fwd", "conversation_message_id": 3}]},
                "client_info": {}}});
        let event = normalize(&raw).unwrap();
        assert_eq!(event.event_type, EventType::Message);
        assert_eq!(
            event.peer,
            Peer {
                bpid: 2000000005,
                cid: Some(5)
            }
        );
        assert_eq!(event.user.uuid, Some(11));
        let message = event.message.unwrap();
        assert_eq!(message.cmid, Some(99));
        assert_eq!(
            message.attachments,
            ["photo", "doc", "geo", "reply", "forward"]
        );
        assert_eq!(message.reply.unwrap().text, "earlier");
        assert_eq!(message.forward[0].cmid, Some(3));
    }

    #[test]
    fn private_command_button_reaction_and_dropped() {
        let command = normalize(&json!({"type": "message_new", "object": {"message":
            {"from_id": 5, "peer_id": 5, "text": "!status"}}}))
        .unwrap();
        assert_eq!(command.event_type, EventType::Command);
        assert_eq!(command.peer.cid, None);
        let button = normalize(&json!({"type": "message_event", "object": {"user_id": 5,
            "peer_id": 5, "event_id": "b1", "payload": {"a": 1}, "conversation_message_id": 4}}))
        .unwrap();
        assert_eq!(
            (button.event_type, button.cmid, button.beid.as_deref()),
            (EventType::Button, Some(4), Some("b1"))
        );
        let reaction = normalize(&json!({"type": "message_reaction_event", "object": {
            "reacted_id": 6, "peer_id": 2000000001, "cmid": 8, "reaction_id": 2}}))
        .unwrap();
        assert_eq!(
            (
                reaction.event_type,
                reaction.user.uuid,
                reaction.rid,
                reaction.peer.cid
            ),
            (EventType::Reaction, Some(6), Some(2), Some(1))
        );
        assert!(normalize(&json!({"type": "wall_post_new", "object": {}})).is_none());
        assert!(normalize(&json!({"type": "message_new", "object": {"message": {}}})).is_none());
    }
}
