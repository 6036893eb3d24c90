//! The real gateway on a loopback port with the embedded DataSpace in a temp dir, and the HTTP
//! calls every test makes. `doors` and `gateway` add what their tests need to [`TestGateway`].
#![allow(dead_code)]

use logbot_gateway::config::Settings;
use logbot_gateway::server::{Gateway, RunningGateway};
use serde_json::{Value, json};

pub struct TestGateway {
    pub running: RunningGateway,
    pub http: reqwest::Client,
    _data: tempfile::TempDir,
}

/// Starts the gateway with default settings, a fresh data dir, and `configure` applied.
pub async fn start_gateway(configure: impl FnOnce(&mut Settings)) -> TestGateway {
    let data = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.dataspace.data_dir = data.path().to_path_buf();
    // No chat delivery: tests reach nothing beyond loopback (tests/it/delivery_* cover it).
    settings.delivery.worker = false;
    settings.telegram.updates = logbot_gateway::config::TelegramUpdates::Off;
    configure(&mut settings);
    serve(&settings, data).await
}

/// Serves `settings` on a loopback port; `data` (the data dir) lives as long as the gateway.
pub async fn serve(settings: &Settings, data: tempfile::TempDir) -> TestGateway {
    let gateway = Gateway::build(settings).await.expect("the gateway builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = RunningGateway::serve(gateway, listener).unwrap();
    TestGateway {
        running,
        http: reqwest::Client::new(),
        _data: data,
    }
}

impl TestGateway {
    /// The data directory (the embedded DataSpace's SQLite file is in it).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    /// POSTs a GraphQL request to /graphql and returns the JSON body (any status).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// Like [`graphql`](Self::graphql) but asserts there were no errors and returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(
            body.get("errors").is_none_or(Value::is_null),
            "unexpected errors: {body}"
        );
        body["data"].clone()
    }

    /// POSTs JSON to `path`: the status and the body (JSON, or the text as a JSON string).
    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
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

    pub async fn stop(self) {
        self.running.stop().await;
    }

    /// Registers a bot `name` as `admin` with auth token `token`.
    pub async fn register(&self, admin: &str, name: &str, token: &str) -> Value {
        self.graphql(
            "mutation($input: RegisterBotInput!) { registerBot(input: $input) { name ownerUid messenger status } }",
            json!({"input": {"adminUid": admin, "name": name, "botToken": "123456:telegram-token", "authToken": token}}),
        )
        .await
    }
}

/// The first error's `extensions.code`.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}
