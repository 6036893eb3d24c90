//! Two gateway replicas sharing one DataSpace (the standalone `logbot-gateway dataspace`) both
//! run the delivery worker: every record reaches every chat exactly once, in order.

use crate::support::delivery as delivery_support;

use crate::support::process::StandaloneDataSpace;
use delivery_support::{FakeTelegram, GatewayProcess};
use std::collections::HashMap;
use std::time::Duration;

const CHATS: [&str; 4] = ["601", "602", "603", "604"];
const RECORDS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_never_send_the_same_delivery() {
    let fake = FakeTelegram::default();
    fake.behaviour.lock().unwrap().delay = Duration::from_millis(15);
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let dataspace = StandaloneDataSpace::start(&dir.path().join("shared.sqlite")).await;
    let url = dataspace.url.clone();
    let shared = [
        ("DATASPACE_URL", url.as_str()),
        ("APP_KEY", "k"),
        ("APP_SECRET", "s"),
    ];
    let first_dir = dir.path().join("first");
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&first_dir).unwrap();
    std::fs::create_dir_all(&second_dir).unwrap();
    let first = GatewayProcess::start(&first_dir, &api, &shared).await;
    let second = GatewayProcess::start(&second_dir, &api, &shared).await;
    first
        .register_bot("shared", "777:GGG", "shared-auth-token")
        .await;
    for chat in CHATS {
        first.subscribe("shared-auth-token", chat, "INFO").await;
    }
    let messages: Vec<String> = (0..RECORDS).map(|n| format!("record {n}")).collect();
    for (index, message) in messages.iter().enumerate() {
        let replica = if index % 2 == 0 { &first } else { &second };
        replica.send_logs("shared", &[("ERROR", message)]).await;
    }
    fake.wait_until(
        Duration::from_secs(30),
        "every record in every chat",
        |received| received.iter().filter(|r| r.status == 200).count() >= RECORDS * CHATS.len(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut per_chat: HashMap<String, Vec<String>> = HashMap::new();
    for received in fake.accepted() {
        let body = received.text.rsplit("\n\n").next().unwrap().to_owned();
        per_chat.entry(received.chat_id).or_default().push(body);
    }
    for chat in CHATS {
        assert_eq!(per_chat.get(chat), Some(&messages), "chat {chat}");
    }
    let sent = |metrics: &str| -> u64 {
        metrics
            .lines()
            .find(|line| line.starts_with("logbot_deliveries_sent_total{messenger=\"telegram\"}"))
            .and_then(|line| line.rsplit(' ').next())
            .map_or(0, |count| count.parse().unwrap())
    };
    let (by_first, by_second) = (sent(&first.metrics().await), sent(&second.metrics().await));
    assert_eq!(by_first + by_second, (RECORDS * CHATS.len()) as u64);
    eprintln!("sent by the first replica: {by_first}, by the second: {by_second}");
}
