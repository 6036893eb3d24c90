//! The real app on a loopback port with the embedded DataSpace in a temp dir, for the door
//! tests (`tests/it/doors_*.rs`).
#![allow(dead_code)]

use logbot_gateway::config::Settings;
use logbot_gateway::server::{Gateway, RunningGateway};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const ADMIN: &str = "1001";

pub struct App {
    pub running: RunningGateway,
    pub base: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub async fn start(tweak: impl FnOnce(&mut Settings)) -> App {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.dataspace.data_dir = dir.path().to_path_buf();
    settings.bots.admins = vec![ADMIN.to_owned()];
    // No chat delivery: tests reach nothing beyond loopback (tests/delivery_* cover it).
    settings.delivery.worker = false;
    tweak(&mut settings);
    let gateway = Gateway::build(&settings).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = RunningGateway::serve(gateway, listener).unwrap();
    App {
        base: running.base_url.clone(),
        running,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs a GraphQL operation; panics on transport errors, returns the whole response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Registers a bot owned by [`ADMIN`] with this auth token.
    pub async fn register_bot(&self, name: &str, auth_token: &str) {
        let answer = self
            .graphql(
                "mutation($i: RegisterBotInput!) { registerBot(input: $i) { name } }",
                json!({"i": {"adminUid": ADMIN, "name": name, "botToken": "123456:ABCdef-token",
                    "authToken": auth_token}}),
            )
            .await;
        assert_eq!(answer["data"]["registerBot"]["name"], name, "{answer}");
    }

    /// A bot's records, newest first, as GraphQL answers them.
    pub async fn logs(&self, bot: &str) -> Vec<Value> {
        let answer = self
            .graphql(
                "query($b: String!) { logs(filter: {bot: $b}, first: 100) { totalCount edges { node {
                    level message eventAt requestId statusCode attributes
                    source { userName pid processName processDescription } } } } }",
                json!({"b": bot}),
            )
            .await;
        answer["data"]["logs"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{answer}"))
            .iter()
            .map(|edge| edge["node"].clone())
            .collect()
    }

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
}
