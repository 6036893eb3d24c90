//! The real app on a loopback port with the embedded DataSpace in a temp dir, for the door
//! tests (`tests/it/doors_*.rs`).
#![allow(dead_code)]

use super::common::{TestGateway, start_gateway};
use logbot_gateway::config::Settings;
use serde_json::{Value, json};

pub const ADMIN: &str = "1001";

/// The door tests' name for the gateway under test.
pub type App = TestGateway;

/// The gateway with [`ADMIN`] as its one admin, and `tweak` applied.
pub async fn start(tweak: impl FnOnce(&mut Settings)) -> App {
    start_gateway(|settings| {
        settings.bots.admins = vec![ADMIN.to_owned()];
        tweak(settings);
    })
    .await
}

impl TestGateway {
    /// Registers a bot owned by [`ADMIN`] with this auth token.
    pub async fn register_bot_with_auth(&self, name: &str, auth_token: &str) {
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
}
