//! Two gateway processes sharing the real Redis (127.0.0.1:6379, or `LOGBOT_TEST_REDIS_URL`):
//! a `sendLog` on one reaches a `logAdded` subscription held by the other.
//!
//! Without a reachable Redis the test is skipped (the Docker build has none), unless
//! `LOGBOT_TEST_REQUIRE_REDIS=1` (set by `.ci/run`), which makes it fail instead.

use crate::support::{gateway, process, redis};

use gateway::{Received, connect_initialised, receive, send};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Replica {
    child: Child,
    base: String,
    port: u16,
    _data: tempfile::TempDir,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn_replica(redis_url: &str, prefix: &str) -> Replica {
    let data = tempfile::tempdir().unwrap();
    let port = process::free_port();
    let child = Command::new(process::binary())
        .arg("serve")
        .env("PORT", port.to_string())
        .env("LOGBOT__SERVER__HOST", "127.0.0.1")
        .env("LOGBOT__DATASPACE__DATA_DIR", data.path())
        .env("LOGBOT__BOTS__ADMINS", gateway::ADMIN)
        .env("LOGBOT__BUS__REDIS_URL", redis_url)
        .env("LOGBOT__BUS__CHANNEL_PREFIX", prefix)
        .env_remove("LOGBOT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the gateway binary starts");
    let replica = Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
        port,
        _data: data,
    };
    let what = format!("the replica on port {port}");
    process::wait_ready(&replica.base, Duration::from_secs(30), &what).await;
    replica
}

async fn post(base: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_record_sent_to_one_replica_reaches_a_subscriber_on_another() {
    let Some(redis_url) = redis::url_or_skip() else {
        return;
    };
    let prefix = redis::unique_prefix();
    let (a, b) = tokio::join!(
        spawn_replica(&redis_url, &prefix),
        spawn_replica(&redis_url, &prefix)
    );
    let registered = post(
        &a.base,
        json!({"query": format!(
            "mutation {{ registerBot(input: {{adminUid: \"{}\", name: \"shared\", botToken: \"123456:shared-bot-token-0123456789\", authToken: \"shared-auth-token-0123456789\"}}) {{ name }} }}",
            gateway::ADMIN
        )}),
    )
    .await;
    assert_eq!(
        registered["data"]["registerBot"]["name"], "shared",
        "{registered}"
    );

    let mut on_b = connect_initialised(&format!("ws://127.0.0.1:{}/graphql", b.port)).await;
    let mut on_a = connect_initialised(&format!("ws://127.0.0.1:{}/graphql", a.port)).await;
    let subscribe = json!({"id": "live", "type": "subscribe", "payload": {
        "query": "subscription { logAdded(bot: \"shared\") { bot message } }"
    }});
    send(&mut on_b, subscribe.clone()).await;
    send(&mut on_a, subscribe).await;

    let send_log = json!({"query": "mutation { sendLog(input: {bot: \"shared\", level: INFO, message: \"across replicas\"}) { id } }"});
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got_b = None;
    let mut got_a = None;
    while got_a.is_none() || got_b.is_none() {
        let sent = post(&a.base, send_log.clone()).await;
        assert!(sent["data"]["sendLog"]["id"].is_string(), "{sent}");
        for (socket, got) in [(&mut on_b, &mut got_b), (&mut on_a, &mut got_a)] {
            if got.is_some() {
                continue;
            }
            if let Ok(Received::Json(message)) = tokio::time::timeout(
                Duration::from_millis(300),
                receive(socket, Duration::from_secs(1)),
            )
            .await
                && message["type"] == "next"
            {
                *got = Some(message);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no record crossed: on B {got_b:?}, on A {got_a:?}"
        );
    }
    for message in [got_a.unwrap(), got_b.unwrap()] {
        assert_eq!(
            message["payload"]["data"]["logAdded"],
            json!({"bot": "shared", "message": "across replicas"}),
            "{message}"
        );
    }

    // The largest batch (1000 records, far more than a subscriber may fall behind) reaches
    // both whole: on B it comes through Redis as 1000 messages, delivered together.
    let records: Vec<Value> = (0..1000)
        .map(|n| json!({"level": "INFO", "message": format!("r{n}")}))
        .collect();
    let sent = post(
        &a.base,
        json!({
            "query": "mutation($r: [LogRecordInput!]!) { sendLogs(bot: \"shared\", records: $r) { accepted } }",
            "variables": {"r": records},
        }),
    )
    .await;
    assert_eq!(sent["data"]["sendLogs"]["accepted"], 1000, "{sent}");
    for socket in [&mut on_b, &mut on_a] {
        let mut messages = Vec::new();
        while messages.len() < 1000 {
            match receive(socket, Duration::from_secs(10)).await {
                Received::Json(message) if message["type"] == "next" => {
                    let text = message["payload"]["data"]["logAdded"]["message"].clone();
                    if text != "across replicas" {
                        messages.push(text);
                    }
                }
                Received::Json(_) => {}
                Received::Closed(frame) => panic!("closed after {}: {frame:?}", messages.len()),
            }
        }
        let expected: Vec<Value> = (0..1000).map(|n| json!(format!("r{n}"))).collect();
        assert_eq!(messages, expected);
    }
}
