//! Delivery through the running binary to a loopback Telegram Bot API: fan-out to the matching
//! subscriptions only, 429 `retry_after` honoured, dead letters recorded as AuditEvents.

use crate::support::delivery as delivery_support;

use delivery_support::{FakeTelegram, GatewayProcess, database};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_reaches_every_matching_subscription_and_no_other() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(dir.path(), &api, &[]).await;
    gateway
        .register_bot("alpha", "111:AAA", "alpha-auth-token")
        .await;
    gateway
        .register_bot("beta", "222:BBB", "beta-auth-token")
        .await;
    gateway.subscribe("alpha-auth-token", "100", "INFO").await;
    gateway.subscribe("alpha-auth-token", "101", "ERROR").await;
    gateway.subscribe("alpha-auth-token", "102", "DEBUG").await;
    gateway.unsubscribe("alpha-auth-token", "102").await;
    gateway.subscribe("beta-auth-token", "200", "DEBUG").await;

    let ids = gateway
        .send_logs(
            "alpha",
            &[("DEBUG", "d0"), ("WARNING", "w1"), ("ERROR", "e<1> & done")],
        )
        .await;
    assert_eq!(ids.len(), 3);

    fake.wait_until(Duration::from_secs(15), "three messages", |received| {
        received.len() >= 3
    })
    .await;
    // Time for anything that should not come to come anyway.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let received = fake.all();
    assert_eq!(received.len(), 3, "{received:#?}");
    assert!(
        received
            .iter()
            .all(|r| r.token == "111:AAA" && r.status == 200)
    );
    assert!(
        received
            .iter()
            .all(|r| r.parse_mode.as_deref() == Some("HTML"))
    );

    let chat_100: Vec<String> = fake
        .accepted_in("100")
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(chat_100.len(), 2, "{chat_100:#?}");
    assert!(
        chat_100[0].contains("WARNING") && chat_100[0].ends_with("\n\nw1"),
        "{}",
        chat_100[0]
    );
    assert!(
        chat_100[1].contains("<b>ERROR</b> · <b>alpha</b>"),
        "{}",
        chat_100[1]
    );
    assert!(chat_100[1].contains("request <code>RP1</code> · status <code>502</code>"));
    assert!(
        chat_100[1].ends_with("\n\ne&lt;1&gt; &amp; done"),
        "{}",
        chat_100[1]
    );

    let chat_101 = fake.accepted_in("101");
    assert_eq!(chat_101.len(), 1);
    assert!(chat_101[0].text.ends_with("e&lt;1&gt; &amp; done"));
    assert!(
        fake.accepted_in("102").is_empty(),
        "an ended subscription gets nothing"
    );
    assert!(
        fake.accepted_in("200").is_empty(),
        "another bot's chat gets nothing"
    );

    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("logbot_deliveries_sent_total{messenger=\"telegram\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("logbot_delivery_queue_depth"), "{metrics}");
    assert!(metrics.contains("logbot_delivery_latency_seconds_count{messenger=\"telegram\"} 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_retry_after_is_honoured() {
    let fake = FakeTelegram::default();
    fake.behaviour
        .lock()
        .unwrap()
        .rate_limit_once
        .insert("300".into(), 2);
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(dir.path(), &api, &[]).await;
    gateway
        .register_bot("gamma", "333:CCC", "gamma-auth-token")
        .await;
    gateway.subscribe("gamma-auth-token", "300", "INFO").await;
    gateway
        .send_logs("gamma", &[("ERROR", "first"), ("ERROR", "second")])
        .await;

    fake.wait_until(
        Duration::from_secs(15),
        "both records accepted",
        |received| received.iter().filter(|r| r.status == 200).count() >= 2,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = fake.all();
    assert_eq!(
        received.len(),
        3,
        "one 429, then the two records: {received:#?}"
    );
    assert_eq!(received[0].status, 429);
    assert!(received[0].text.ends_with("first"));
    let waited = received[1].at - received[0].at;
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    assert!(received[1].text.ends_with("first") && received[2].text.ends_with("second"));

    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "logbot_delivery_failures_total{kind=\"rate_limited\",messenger=\"telegram\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("logbot_delivery_retries_total{messenger=\"telegram\"} 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_always_fails_ends_in_a_dead_letter_with_an_audit_event() {
    let fake = FakeTelegram::default();
    fake.behaviour
        .lock()
        .unwrap()
        .always_fail
        .insert("400".into());
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway =
        GatewayProcess::start(dir.path(), &api, &[("LOGBOT__DELIVERY__MAX_ATTEMPTS", "3")]).await;
    gateway
        .register_bot("delta", "444:DDD", "delta-auth-token")
        .await;
    gateway.subscribe("delta-auth-token", "400", "INFO").await;
    gateway.subscribe("delta-auth-token", "401", "INFO").await;
    let ids = gateway.send_logs("delta", &[("ERROR", "doomed")]).await;

    fake.wait_until(
        Duration::from_secs(15),
        "three failed attempts",
        |received| received.iter().filter(|r| r.chat_id == "400").count() >= 3,
    )
    .await;
    let db = database(dir.path());
    let started = std::time::Instant::now();
    let (status, attempts, last_error) = loop {
        let row: (String, i64, Option<String>) = db
            .query_row(
                "SELECT status, attempts, lastError FROM Delivery WHERE chatId = '400'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        if row.0 != "PENDING" || started.elapsed() > Duration::from_secs(10) {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, "DEAD");
    assert_eq!(attempts, 3);
    assert!(last_error.unwrap().contains("HTTP 500"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fake.all().iter().filter(|r| r.chat_id == "400").count(),
        3,
        "no attempt after the dead letter"
    );
    assert_eq!(fake.accepted_in("401").len(), 1, "the other chat is served");

    let (actor, action, target, outcome, details): (String, String, String, String, String) = db
        .query_row(
            "SELECT actorUid, action, target, outcome, details FROM AuditEvent WHERE outcome = 'dead_letter'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (
            actor.as_str(),
            action.as_str(),
            target.as_str(),
            outcome.as_str()
        ),
        (
            "delivery-worker",
            "deliver_record",
            "chat:400",
            "dead_letter"
        )
    );
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["record"], ids[0].as_str());
    assert_eq!(details["attempts"], 3);
    assert!(
        !details.to_string().contains("444:DDD"),
        "no token in the audit"
    );

    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("logbot_deliveries_dead_lettered_total{messenger=\"telegram\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("logbot_delivery_retries_total{messenger=\"telegram\"} 2"));
}
