//! Delivery to VK through the running binary: `messages.send` on a loopback VK API gets the
//! community token, the peer, plain text and a `random_id` that stays the same on a retry (VK
//! drops a repeat), and "too many requests" (error 6) is retried.

use crate::support::delivery as delivery_support;

use axum::extract::State;
use axum::routing::post;
use delivery_support::{FakeTelegram, GatewayProcess};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One `messages.send`: its form fields and when it came.
type Call = (HashMap<String, String>, Instant);

#[derive(Clone, Default)]
struct FakeVk {
    calls: Arc<Mutex<Vec<Call>>>,
}

async fn messages_send(State(fake): State<FakeVk>, body: String) -> axum::Json<Value> {
    let url = reqwest::Url::parse(&format!("http://form.invalid/?{body}")).unwrap();
    let form: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let mut calls = fake.calls.lock().unwrap();
    calls.push((form, Instant::now()));
    if calls.len() == 1 {
        axum::Json(json!({"error": {"error_code": 6, "error_msg": "Too many requests per second"}}))
    } else {
        axum::Json(json!({"response": calls.len()}))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vk_gets_plain_text_with_a_stable_random_id() {
    let fake = FakeVk::default();
    let app = axum::Router::new()
        .route("/method/messages.send", post(messages_send))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vk_api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let telegram = FakeTelegram::default();
    let telegram_api = telegram.start().await;

    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(
        dir.path(),
        &telegram_api,
        &[
            ("LOGBOT__DELIVERY__VK_API_BASE", vk_api.as_str()),
            ("LOGBOT__DELIVERY__VK_BOT_RATE", "1000"),
            ("LOGBOT__DELIVERY__VK_CHAT_RATE", "1000"),
        ],
    )
    .await;
    gateway
        .register_bot_on("VK", "vkbot", "vk1.a.community-token", "vk-auth-token")
        .await;
    gateway
        .subscribe("vk-auth-token", "2000000001", "INFO")
        .await;
    gateway.send_logs("vkbot", &[("ERROR", "a < b & c")]).await;

    let started = Instant::now();
    while fake.calls.lock().unwrap().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "VK got {:?}",
            fake.calls.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one refused, one accepted: {calls:?}");
    let (first, first_at) = &calls[0];
    let (second, second_at) = &calls[1];
    assert!(
        *second_at - *first_at >= Duration::from_secs(1),
        "error 6 waits a second"
    );
    assert_eq!(
        first["random_id"], second["random_id"],
        "the retry keeps its random_id"
    );
    assert_eq!(second["peer_id"], "2000000001");
    assert_eq!(second["access_token"], "vk1.a.community-token");
    assert_eq!(second["v"], "5.199");
    let message = &second["message"];
    assert!(message.starts_with("🔴 ERROR · vkbot\n"), "{message}");
    assert!(
        message.ends_with("\n\na < b & c"),
        "plain text, not escaped: {message}"
    );
    assert!(telegram.all().is_empty());
}
