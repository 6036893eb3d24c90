//! Shared by the delivery tests: a loopback server speaking the Telegram Bot API that records
//! what it receives, and the real `logbot-gateway` binary started against it.

#![allow(dead_code)]

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One `sendMessage` call as the fake saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub token: String,
    pub chat_id: String,
    pub text: String,
    pub parse_mode: Option<String>,
    /// The forum topic (`message_thread_id`), if one was named.
    pub thread_id: Option<i64>,
    pub at: Instant,
    /// The HTTP status it answered.
    pub status: u16,
    /// `reply_parameters.message_id`: the message this one answers.
    pub reply_to: Option<i64>,
}

#[derive(Default)]
pub struct Behaviour {
    /// Chats answered 500 every time.
    pub always_fail: HashSet<String>,
    /// Chats answered 429 with this `retry_after` (seconds) once.
    pub rate_limit_once: HashMap<String, u64>,
    /// Chats that became supergroups: answered 400 with `migrate_to_chat_id` = the new id,
    /// every time (the old group takes no more messages).
    pub migrated: HashMap<String, i64>,
    /// Time taken to answer each message.
    pub delay: Duration,
    /// Chats that blocked or removed the bot: answered 403 every time.
    pub gone: HashSet<String>,
}

#[derive(Clone, Default)]
pub struct FakeTelegram {
    pub received: Arc<Mutex<Vec<Received>>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    /// While set, messages are held unanswered (and not counted) for good.
    pub frozen: Arc<AtomicBool>,
    /// The updates side (`getUpdates`, `setWebhook`, ...): see `support::telegram_updates`.
    pub updates: Arc<super::telegram_updates::Updates>,
}

impl FakeTelegram {
    /// Serves on a loopback port; returns the API base to configure.
    pub async fn start(&self) -> String {
        let app = axum::Router::new()
            .route("/{bot}/sendMessage", post(send_message))
            .merge(super::telegram_updates::routes())
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        format!("http://{addr}")
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The messages accepted (200), in arrival order.
    pub fn accepted(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.status == 200).collect()
    }

    pub fn accepted_in(&self, chat: &str) -> Vec<Received> {
        self.accepted()
            .into_iter()
            .filter(|r| r.chat_id == chat)
            .collect()
    }

    /// Waits until `done` holds for what was received, or panics after `limit`.
    pub async fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) {
        let started = Instant::now();
        loop {
            if done(&self.all()) {
                return;
            }
            if started.elapsed() > limit {
                panic!("timed out waiting for {what}; received: {:#?}", self.all());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn send_message(
    State(fake): State<FakeTelegram>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or(&bot).to_owned();
    let chat_id = match &body["chat_id"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let delay = fake.behaviour.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if fake.frozen.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let (status, answer) = {
        let mut behaviour = fake.behaviour.lock().unwrap();
        if behaviour.gone.contains(&chat_id) {
            (
                403,
                json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was kicked from the group chat"}),
            )
        } else if behaviour.always_fail.contains(&chat_id) {
            (
                500,
                json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}),
            )
        } else if let Some(to) = behaviour.migrated.get(&chat_id) {
            (
                400,
                json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": to}}),
            )
        } else if let Some(seconds) = behaviour.rate_limit_once.remove(&chat_id) {
            (
                429,
                json!({"ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {seconds}"), "parameters": {"retry_after": seconds}}),
            )
        } else {
            (
                200,
                json!({"ok": true, "result": {"message_id": 1, "chat": {"id": chat_id}, "text": body["text"]}}),
            )
        }
    };
    fake.received.lock().unwrap().push(Received {
        token,
        chat_id,
        text: body["text"].as_str().unwrap_or_default().to_owned(),
        parse_mode: body["parse_mode"].as_str().map(str::to_owned),
        thread_id: body["message_thread_id"].as_i64(),
        at: Instant::now(),
        status,
        reply_to: body["reply_parameters"]["message_id"].as_i64(),
    });
    (StatusCode::from_u16(status).unwrap(), Json(answer)).into_response()
}

/// The binary under test: `LOGBOT_TEST_BIN` when set (a copy taken right after building, for a
/// target directory that other checkouts build into too), else the one Cargo built.
fn binary() -> PathBuf {
    let path = super::process::binary();
    let keys = Command::new(&path)
        .arg("check-config")
        .env_remove("LOGBOT_CONFIG")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&keys.stdout).contains("telegram_chat_rate"),
        "{} is not a build with the delivery worker",
        path.display()
    );
    path
}

/// The real binary, serving with the embedded DataSpace in `data_dir`.
pub struct GatewayProcess {
    pub child: Child,
    pub base_url: String,
    pub http: reqwest::Client,
}

impl GatewayProcess {
    pub async fn start(data_dir: &FsPath, telegram_api_base: &str, extra: &[(&str, &str)]) -> Self {
        let port = super::process::free_port();
        let log = data_dir.join(format!("gateway-{port}.log"));
        let mut command = Command::new(binary());
        command
            .env_remove("LOGBOT_CONFIG")
            .env_remove("DATASPACE_URL")
            .env_remove("APP_KEY")
            .env_remove("APP_SECRET")
            .env("PORT", port.to_string())
            .env("LOGBOT__SERVER__HOST", "127.0.0.1")
            .env("LOGBOT__DATASPACE__DATA_DIR", data_dir)
            .env("LOGBOT__BOTS__ADMINS", "admin1")
            .env("LOGBOT__DELIVERY__TELEGRAM_API_BASE", telegram_api_base)
            .env("LOGBOT__DELIVERY__TELEGRAM_BOT_RATE", "1000")
            .env("LOGBOT__DELIVERY__TELEGRAM_CHAT_RATE", "1000")
            .env("LOGBOT__DELIVERY__POLL_INTERVAL_MS", "100")
            .env("LOGBOT__DELIVERY__BACKOFF_BASE_MS", "100")
            .env("LOGBOT__DELIVERY__BACKOFF_CAP_MS", "300")
            // One message per record, as these tests count them; delivery_floods turns
            // coalescing and digests on.
            .env("LOGBOT__DELIVERY__COALESCE", "false")
            .env("LOGBOT__DELIVERY__DIGEST_AFTER", "1000000")
            // A hundred years: the upgrade fixture's deliveries, queued on the day it was
            // made, must not count as a backlog however long ago that was (a day broke it).
            .env("LOGBOT__DELIVERY__DIGEST_AFTER_WAIT_MS", "3153600000000")
            .env("RUST_LOG", "info,logbot_gateway=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, value) in extra {
            command.env(name, value);
        }
        let child = command.spawn().unwrap();
        let gateway = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let what = format!("the gateway (log: {})", log.display());
        super::process::wait_ready(&gateway.base_url, Duration::from_secs(20), &what).await;
        gateway
    }

    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let answer: Value = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(answer["errors"].is_null(), "{answer}");
        answer["data"].clone()
    }

    pub async fn register_bot(&self, name: &str, token: &str, auth_token: &str) {
        self.register_bot_on("TELEGRAM", name, token, auth_token)
            .await;
    }

    pub async fn register_bot_on(
        &self,
        messenger: &str,
        name: &str,
        token: &str,
        auth_token: &str,
    ) {
        self.graphql(
            "mutation($input: RegisterBotInput!) { registerBot(input: $input) { name } }",
            json!({"input": {"adminUid": "admin1", "name": name, "botToken": token, "authToken": auth_token, "messenger": messenger}}),
        )
        .await;
    }

    pub async fn subscribe(&self, auth_token: &str, chat: &str, min_level: &str) {
        self.graphql(
            "mutation($input: SubscribeChatInput!) { subscribeChat(input: $input) { id } }",
            json!({"input": {"authToken": auth_token, "chatId": chat, "minLevel": min_level}}),
        )
        .await;
    }

    pub async fn unsubscribe(&self, auth_token: &str, chat: &str) {
        self.graphql(
            "mutation($input: UnsubscribeChatInput!) { unsubscribeChat(input: $input) }",
            json!({"input": {"authToken": auth_token, "chatId": chat}}),
        )
        .await;
    }

    /// Sends a batch; `records` are (level, message) pairs. Returns the record ids.
    pub async fn send_logs(&self, bot: &str, records: &[(&str, &str)]) -> Vec<String> {
        let records: Vec<Value> = records
            .iter()
            .map(|(level, message)| json!({"level": level, "message": message, "requestId": "RP1", "statusCode": 502}))
            .collect();
        let data = self
            .graphql(
                "mutation($bot: String!, $records: [LogRecordInput!]!) { sendLogs(bot: $bot, records: $records) { ids } }",
                json!({"bot": bot, "records": records}),
            )
            .await;
        data["sendLogs"]["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base_url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// SIGKILL: no shutdown, no chance to record anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The embedded DataSpace's SQLite file, read directly (it is in WAL mode, so reading beside
/// the running gateway is safe).
pub fn database(data_dir: &FsPath) -> rusqlite::Connection {
    let path: PathBuf = data_dir.join("dataspace.sqlite");
    rusqlite::Connection::open(path).unwrap()
}
