//! Spawns the real gateway (embedded DataSpace, temp data dir) on a loopback port, with a
//! GraphQL-over-HTTP client and a graphql-transport-ws client for the transport tests.
#![allow(dead_code)]

pub use super::common::TestGateway;
use super::common::serve;
use futures_util::{SinkExt, StreamExt};
use logbot_gateway::config::Settings;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const ADMIN: &str = "test-admin";

pub fn settings(data_dir: &Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert(
        "LOGBOT__DATASPACE__DATA_DIR".into(),
        data_dir.display().to_string(),
    );
    env.insert("LOGBOT__BOTS__ADMINS".into(), ADMIN.into());
    // No chat delivery: tests reach nothing beyond loopback (tests/delivery_* cover it).
    env.insert("LOGBOT__DELIVERY__WORKER".into(), "false".into());
    for (key, value) in extra {
        env.insert((*key).into(), (*value).into());
    }
    Settings::load_with_default_path(None, &env, Path::new("/nonexistent/properties.ini"))
        .expect("test settings")
}

/// The gateway with settings loaded as from the environment (`LOGBOT__...` pairs in `extra`).
pub async fn start(extra: &[(&str, &str)]) -> TestGateway {
    let data = tempfile::tempdir().unwrap();
    let settings = settings(data.path(), extra);
    serve(&settings, data).await
}

impl TestGateway {
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.running.base_url)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.running.addr)
    }

    /// POSTs a JSON body to /graphql with `application/graphql-response+json`.
    pub async fn post(&self, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.graphql_url())
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn query(&self, query: &str) -> (u16, Value) {
        self.post(json!({ "query": query })).await
    }

    /// Registers `name` for [`ADMIN`] with tokens derived from the name.
    pub async fn register_bot(&self, name: &str) {
        let (status, body) = self
            .post(json!({
                "query": "mutation($input: RegisterBotInput!) { registerBot(input: $input) { name } }",
                "variables": {"input": {
                    "adminUid": ADMIN,
                    "name": name,
                    "botToken": format!("123456:{name}-bot-token-0123456789"),
                    "authToken": format!("{name}-auth-token-0123456789"),
                }},
            }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["registerBot"]["name"], name, "{body}");
    }

    pub async fn send_log(&self, bot: &str, level: &str, message: &str) {
        let (status, body) = self
            .post(json!({
                "query": "mutation($input: LogInput!) { sendLog(input: $input) { id } }",
                "variables": {"input": {"bot": bot, "level": level, "message": message}},
            }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["sendLog"]["id"].is_string(), "{body}");
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket with the given subprotocol.
pub async fn connect(url: &str, protocol: &str) -> Socket {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(protocol).unwrap(),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(protocol)
    );
    socket
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// What the server sent next: a JSON message, or the close frame.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    Closed(Option<(u16, String)>),
}

pub async fn receive(socket: &mut Socket, within: Duration) -> Received {
    loop {
        let next = tokio::time::timeout(within, socket.next())
            .await
            .expect("a message in time");
        match next {
            Some(Ok(Message::Text(text))) => {
                return Received::Json(serde_json::from_str(text.as_str()).unwrap());
            }
            Some(Ok(Message::Close(frame))) => {
                return Received::Closed(frame.map(|CloseFrame { code, reason }| {
                    (u16::from(code), reason.as_str().to_owned())
                }));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Binary(bytes))) => panic!("unexpected binary message {bytes:?}"),
            Some(Err(_)) | None => return Received::Closed(None),
        }
    }
}

/// The next JSON message (keep-alive pings skipped).
pub async fn receive_json(socket: &mut Socket) -> Value {
    loop {
        match receive(socket, Duration::from_secs(10)).await {
            Received::Json(value) if value["type"] == "ping" || value["type"] == "ka" => continue,
            Received::Json(value) => return value,
            Received::Closed(frame) => panic!("closed: {frame:?}"),
        }
    }
}

/// Connects with graphql-transport-ws and completes the handshake.
pub async fn connect_initialised(url: &str) -> Socket {
    let mut socket = connect(url, "graphql-transport-ws").await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(receive_json(&mut socket).await["type"], "connection_ack");
    socket
}

/// Whether `socket`'s next message, within `wait`, is a `next` (for waiting until a
/// subscription listens).
pub async fn got_next(socket: &mut Socket, wait: Duration) -> bool {
    matches!(
        tokio::time::timeout(wait, receive(socket, Duration::from_secs(1))).await,
        Ok(Received::Json(message)) if message["type"] == "next"
    )
}

/// A committed record of `bot` as the bus carries it (JSON of `StoredRecord`).
pub fn bus_record(bot: &str, index: usize, message: &str) -> String {
    serde_json::to_string(&logbot_gateway::service::StoredRecord {
        id: index.to_string(),
        bot: bot.to_owned(),
        bot_id: "1".into(),
        level: "INFO".into(),
        message: message.to_owned(),
        event_at: "2026-11-22T08:00:00.000Z".into(),
        received_at: "2026-11-22T08:00:00.000Z".into(),
        request_id: None,
        status_code: None,
        source: logbot_gateway::domain::record::LogSource::default(),
        attributes: None,
    })
    .unwrap()
}
