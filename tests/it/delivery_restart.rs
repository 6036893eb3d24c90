//! The gateway killed (SIGKILL) in the middle of delivering, then started again on the same
//! data directory, still delivers every record exactly once to every chat, in order.

use crate::support::delivery as delivery_support;

use delivery_support::{FakeTelegram, GatewayProcess};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

const CHATS: [&str; 3] = ["501", "502", "503"];
const RECORDS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_delivery_and_restarted_delivers_each_record_once_per_chat() {
    let fake = FakeTelegram::default();
    fake.behaviour.lock().unwrap().delay = Duration::from_millis(100);
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    // A short lease, so the deliveries the dead process had claimed come back soon.
    let settings = [("LOGBOT__DELIVERY__LEASE_MS", "2000")];
    let gateway = GatewayProcess::start(dir.path(), &api, &settings).await;
    gateway
        .register_bot("omega", "555:EEE", "omega-auth-token")
        .await;
    for chat in CHATS {
        gateway.subscribe("omega-auth-token", chat, "INFO").await;
    }
    let mut messages = Vec::new();
    for index in 0..RECORDS {
        messages.push(format!("record number {index}"));
    }
    for message in &messages {
        gateway.send_logs("omega", &[("ERROR", message)]).await;
    }

    // Part of the way through: stop answering (what is sent from now on is never accepted),
    // give the accepted ones time to be recorded, then kill the process mid-send.
    fake.wait_until(
        Duration::from_secs(20),
        "a third of the messages",
        |received| received.iter().filter(|r| r.status == 200).count() >= RECORDS,
    )
    .await;
    fake.frozen.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = fake.accepted().len();
    assert!(
        before < RECORDS * CHATS.len(),
        "killed too late to test anything"
    );
    gateway.kill();
    let leased: i64 = delivery_support::database(dir.path())
        .query_row(
            "SELECT COUNT(*) FROM Delivery WHERE status = 'PENDING' AND leaseOwner IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(leased >= 1, "the dead process held no claimed delivery");

    fake.frozen.store(false, Ordering::SeqCst);
    let gateway = GatewayProcess::start(dir.path(), &api, &settings).await;
    fake.wait_until(
        Duration::from_secs(30),
        "every record in every chat",
        |received| received.iter().filter(|r| r.status == 200).count() >= RECORDS * CHATS.len(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut per_chat: HashMap<String, Vec<String>> = HashMap::new();
    for received in fake.accepted() {
        let body = received.text.rsplit("\n\n").next().unwrap().to_owned();
        per_chat.entry(received.chat_id).or_default().push(body);
    }
    for chat in CHATS {
        assert_eq!(
            per_chat.get(chat),
            Some(&messages),
            "chat {chat}: each record once, in order"
        );
    }
    drop(gateway);
}
