//! A Telegram group upgraded to a supergroup, through the running binary and the loopback
//! Telegram: the subscription and the queue move to the new chat id, and every record reaches
//! the new chat once, in order, without a failed attempt.

use crate::support::delivery as delivery_support;

use delivery_support::{FakeTelegram, GatewayProcess, database};
use serde_json::json;
use std::time::Duration;

const GROUP: &str = "-123";
const SUPERGROUP: &str = "-100123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_upgraded_to_a_supergroup_takes_its_subscription_and_queue_along() {
    let fake = FakeTelegram::default();
    fake.behaviour
        .lock()
        .unwrap()
        .migrated
        .insert(GROUP.into(), -100123);
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(dir.path(), &api, &[]).await;
    gateway
        .register_bot("epsilon", "555:EEE", "epsilon-auth-token")
        .await;
    gateway.subscribe("epsilon-auth-token", GROUP, "INFO").await;
    gateway.subscribe("epsilon-auth-token", "500", "INFO").await;

    // Queued while the subscription still names the group: the first is answered with the
    // migration, the other two move along with it.
    gateway
        .send_logs(
            "epsilon",
            &[
                ("ERROR", "before 1"),
                ("ERROR", "before 2"),
                ("ERROR", "before 3"),
            ],
        )
        .await;
    fake.wait_until(
        Duration::from_secs(15),
        "three in the supergroup",
        |received| {
            received
                .iter()
                .filter(|r| r.chat_id == SUPERGROUP && r.status == 200)
                .count()
                >= 3
        },
    )
    .await;
    let subscriptions = gateway
        .graphql(
            "query($bot: String!) { subscriptions(bot: $bot) { chatId active } }",
            json!({"bot": "epsilon"}),
        )
        .await;
    let mut chats: Vec<String> = subscriptions["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["chatId"].as_str().unwrap().to_owned())
        .collect();
    chats.sort();
    assert_eq!(chats, vec![SUPERGROUP.to_owned(), "500".to_owned()]);

    // Queued after the move: straight to the supergroup.
    gateway
        .send_logs("epsilon", &[("ERROR", "after 1"), ("ERROR", "after 2")])
        .await;
    fake.wait_until(
        Duration::from_secs(15),
        "five in the supergroup",
        |received| {
            received
                .iter()
                .filter(|r| r.chat_id == SUPERGROUP && r.status == 200)
                .count()
                >= 5
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    let texts: Vec<String> = fake
        .accepted_in(SUPERGROUP)
        .into_iter()
        .map(|r| r.text)
        .collect();
    let endings = ["before 1", "before 2", "before 3", "after 1", "after 2"];
    assert_eq!(texts.len(), endings.len(), "{texts:#?}");
    for (text, ending) in texts.iter().zip(endings) {
        assert!(text.ends_with(ending), "{texts:#?}");
    }
    let to_group = fake
        .all()
        .into_iter()
        .filter(|r| r.chat_id == GROUP)
        .collect::<Vec<_>>();
    assert_eq!(
        to_group.len(),
        1,
        "only the first delivery meets the old group; the rest moved before their turn: {to_group:#?}"
    );
    assert_eq!(to_group[0].status, 400);
    assert_eq!(
        fake.accepted_in("500").len(),
        5,
        "the other chat is untouched"
    );

    let db = database(dir.path());
    let rows: Vec<(String, String, i64)> = db
        .prepare("SELECT chatId, status, attempts FROM Delivery WHERE chatId != '500' ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 5);
    for (chat, status, attempts) in &rows {
        assert_eq!(
            (chat.as_str(), status.as_str(), *attempts),
            (SUPERGROUP, "SENT", 1),
            "{rows:?}"
        );
    }
    let (actor, action, target, outcome, details): (String, String, String, String, String) = db
        .query_row(
            "SELECT actorUid, action, target, outcome, details FROM AuditEvent WHERE action = 'migrate_chat'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (actor.as_str(), target.as_str(), outcome.as_str()),
        ("delivery-worker", "chat:-123", "migrated")
    );
    assert_eq!(action, "migrate_chat");
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["fromChatId"], GROUP);
    assert_eq!(details["toChatId"], SUPERGROUP);
    assert_eq!(details["deliveriesMoved"], 3);
    assert_eq!(details["subscriptionsMoved"].as_array().unwrap().len(), 1);

    let log = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.to_string_lossy().ends_with(".log"))
        .map(|path| std::fs::read_to_string(path).unwrap())
        .unwrap();
    let line = log
        .lines()
        .find(|line| line.contains("chat migrated"))
        .unwrap_or_else(|| panic!("no log line for the migration:\n{log}"));
    assert!(
        line.contains("-100123") && !line.contains("555:EEE"),
        "{line}"
    );

    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("logbot_delivery_chat_migrations_total{messenger=\"telegram\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("logbot_delivery_failures_total{"),
        "a migration is not a failed attempt: {metrics}"
    );
    assert!(!metrics.contains("logbot_deliveries_dead_lettered_total{"));
    assert!(metrics.contains("logbot_deliveries_sent_total{messenger=\"telegram\"} 10"));
}
