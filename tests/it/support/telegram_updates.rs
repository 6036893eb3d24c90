//! The updates side of the loopback Telegram Bot API (see `support::delivery::FakeTelegram`):
//! `getMe`, `getUpdates` (long polling with offsets, 409 to a second poller of a bot as
//! Telegram does, a 429 on demand), `setWebhook`, `deleteWebhook`, `setMyCommands`,
//! `deleteMessage` and `getChatMember`, each call recorded.

#![allow(dead_code)]

use super::delivery::FakeTelegram;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One call other than `sendMessage`, as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub token: String,
    pub method: String,
    pub body: Value,
    pub at: Instant,
    pub status: u16,
}

#[derive(Default)]
pub struct Updates {
    /// Per token: the updates not yet confirmed by an offset past them.
    queued: Mutex<HashMap<String, Vec<Value>>>,
    next_id: Mutex<i64>,
    calls: Mutex<Vec<Call>>,
    /// Tokens with a `getUpdates` in progress (a second one gets 409).
    polling: Mutex<HashSet<String>>,
    /// Tokens whose next `getUpdates` is answered 429 (`retry_after` 1).
    pub rate_limit_poll_once: Mutex<HashSet<String>>,
    /// While set, a `getUpdates` with an offset past this update id is held unanswered and
    /// its offset not applied (as if the gateway died before that poll reached Telegram);
    /// once cleared, the held request is answered 502, still without applying it.
    pub hold_polls_past: Mutex<Option<i64>>,
    /// How many `getUpdates` are held by `hold_polls_past` now.
    pub held_polls: AtomicUsize,
    /// Chats where `deleteMessage` is refused (the bot is no admin there).
    pub cannot_delete_in: Mutex<HashSet<String>>,
}

impl Updates {
    /// Queues an update for the bot `token`; gives its `update_id`.
    pub fn push(&self, token: &str, mut update: Value) -> i64 {
        let id = {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            *next
        };
        update["update_id"] = json!(id);
        self.push_raw(token, update);
        id
    }

    /// Queues an update as given (a redelivery keeps its `update_id`); later ones follow it.
    pub fn push_raw(&self, token: &str, update: Value) {
        if let Some(id) = update["update_id"].as_i64() {
            let mut next = self.next_id.lock().unwrap();
            *next = (*next).max(id);
        }
        self.queued
            .lock()
            .unwrap()
            .entry(token.to_owned())
            .or_default()
            .push(update);
    }

    /// A text message from user `from` in chat `chat` (`private`, `group` or `supergroup`).
    pub fn message(&self, token: &str, chat: i64, chat_type: &str, from: i64, text: &str) -> i64 {
        let message_id = 1000 + *self.next_id.lock().unwrap();
        self.push(
            token,
            json!({"message": {"message_id": message_id, "text": text, "date": 0,
                "chat": {"id": chat, "type": chat_type}, "from": {"id": from, "is_bot": false}}}),
        );
        message_id
    }

    /// The `update_id` of the last update queued.
    pub fn last_update_id(&self) -> i64 {
        *self.next_id.lock().unwrap()
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    pub fn calls_by(&self, token: &str, method: &str) -> Vec<Call> {
        self.calls(method)
            .into_iter()
            .filter(|call| call.token == token)
            .collect()
    }

    fn record(&self, token: &str, method: &str, body: &Value, status: u16) {
        self.calls.lock().unwrap().push(Call {
            token: token.to_owned(),
            method: method.to_owned(),
            body: body.clone(),
            at: Instant::now(),
            status,
        });
    }
}

pub fn routes() -> axum::Router<FakeTelegram> {
    axum::Router::new()
        .route("/{bot}/getUpdates", post(get_updates))
        .route("/{bot}/getMe", post(get_me))
        .route("/{bot}/setWebhook", post(simple("setWebhook")))
        .route("/{bot}/deleteWebhook", post(simple("deleteWebhook")))
        .route("/{bot}/setMyCommands", post(simple("setMyCommands")))
        .route("/{bot}/deleteMessage", post(delete_message))
        .route("/{bot}/getChatMember", post(get_chat_member))
}

fn token_of(bot: &str) -> String {
    bot.strip_prefix("bot").unwrap_or(bot).to_owned()
}

/// The bot's username in `getMe`: `bot<id>`, the id being the token's part before the colon.
pub fn username(token: &str) -> String {
    format!("bot{}", token.split(':').next().unwrap())
}

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn refused(status: u16, description: &str, parameters: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(
            json!({"ok": false, "error_code": status, "description": description,
            "parameters": parameters}),
        ),
    )
        .into_response()
}

async fn get_me(State(fake): State<FakeTelegram>, Path(bot): Path<String>) -> Response {
    let token = token_of(&bot);
    fake.updates.record(&token, "getMe", &json!({}), 200);
    let id: i64 = token.split(':').next().unwrap().parse().unwrap_or(0);
    ok(json!({"id": id, "is_bot": true, "first_name": "Bot", "username": username(&token)}))
}

fn simple(
    method: &'static str,
) -> impl Fn(State<FakeTelegram>, Path<String>, Json<Value>) -> std::future::Ready<Response>
+ Clone
+ Send
+ 'static {
    move |State(fake): State<FakeTelegram>, Path(bot): Path<String>, Json(body): Json<Value>| {
        fake.updates.record(&token_of(&bot), method, &body, 200);
        std::future::ready(ok(json!(true)))
    }
}

async fn delete_message(
    State(fake): State<FakeTelegram>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let chat = match &body["chat_id"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let refuse = fake
        .updates
        .cannot_delete_in
        .lock()
        .unwrap()
        .contains(&chat);
    let status = if refuse { 400 } else { 200 };
    fake.updates
        .record(&token_of(&bot), "deleteMessage", &body, status);
    if refuse {
        refused(400, "Bad Request: message can't be deleted", json!({}))
    } else {
        ok(json!(true))
    }
}

async fn get_chat_member(
    State(fake): State<FakeTelegram>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    fake.updates
        .record(&token_of(&bot), "getChatMember", &body, 200);
    ok(json!({"status": "member", "user": {"id": body["user_id"]}}))
}

/// Removes the token from the pollers when the request ends, however it ends.
struct Polling<'a>(&'a Updates, String);

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.polling.lock().unwrap().remove(&self.1);
    }
}

async fn get_updates(
    State(fake): State<FakeTelegram>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let token = token_of(&bot);
    let updates = &fake.updates;
    if updates.rate_limit_poll_once.lock().unwrap().remove(&token) {
        updates.record(&token, "getUpdates", &body, 429);
        return refused(
            429,
            "Too Many Requests: retry after 1",
            json!({"retry_after": 1}),
        );
    }
    let offset = body["offset"].as_i64().unwrap_or(0);
    let hold = || {
        updates
            .hold_polls_past
            .lock()
            .unwrap()
            .is_some_and(|past| offset > past)
    };
    if hold() {
        updates.held_polls.fetch_add(1, Ordering::SeqCst);
        while hold() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        updates.held_polls.fetch_sub(1, Ordering::SeqCst);
        updates.record(&token, "getUpdates", &body, 502);
        return refused(502, "Bad Gateway", json!({}));
    }
    if !updates.polling.lock().unwrap().insert(token.clone()) {
        updates.record(&token, "getUpdates", &body, 409);
        return refused(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            json!({}),
        );
    }
    let _polling = Polling(updates, token.clone());
    updates.record(&token, "getUpdates", &body, 200);
    let limit = body["limit"].as_u64().unwrap_or(100) as usize;
    // Held at most a second, whatever the timeout: tests poll with short timeouts anyway.
    let wait =
        Duration::from_secs(body["timeout"].as_u64().unwrap_or(0)).min(Duration::from_secs(1));
    let started = Instant::now();
    loop {
        let pending: Vec<Value> = {
            let mut queued = updates.queued.lock().unwrap();
            let queue = queued.entry(token.clone()).or_default();
            // An offset confirms every update before it, for good.
            queue.retain(|update| update["update_id"].as_i64().unwrap_or(0) >= offset);
            queue.iter().take(limit).cloned().collect()
        };
        if !pending.is_empty() || started.elapsed() >= wait {
            return ok(Value::Array(pending));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
