//! Floods and chat controls through the binary against the loopback Telegram API: a burst to a
//! group is coalesced and digested at the group's rate (scaled), with every record in a message
//! or counted in a digest and none twice, while another bot's record is not held up; `/level`,
//! `/mute`, `/unmute` (one summary), `/status` and `/unsubscribe` in a forum topic; a chat that
//! removed the bot ends its subscription; a huge `retry_after` does not silence a chat.

use crate::support::delivery::{FakeTelegram, GatewayProcess, Received, database};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Telegram's group rate is 20 messages a minute; the test runs this many times faster.
const SPEED_UP: f64 = 30.0;
const GROUP: &str = "-1001";
const BURST: usize = 1000;

fn scaled_settings() -> Vec<(&'static str, String)> {
    vec![
        ("LOGBOT__DELIVERY__COALESCE", "true".into()),
        ("LOGBOT__DELIVERY__DIGEST_AFTER", "20".into()),
        // 2 minutes, scaled.
        (
            "LOGBOT__DELIVERY__DIGEST_AFTER_WAIT_MS",
            ((120_000.0 / SPEED_UP) as u64).to_string(),
        ),
        // 1 message/s per chat, a group a third of it: 20 a minute, scaled.
        ("LOGBOT__DELIVERY__TELEGRAM_CHAT_RATE", SPEED_UP.to_string()),
        (
            "LOGBOT__DELIVERY__TELEGRAM_BOT_RATE",
            (30.0 * SPEED_UP).to_string(),
        ),
    ]
}

async fn start(
    fake: &FakeTelegram,
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> GatewayProcess {
    let api = fake.start().await;
    let scaled = scaled_settings();
    let mut settings: Vec<(&str, &str)> = scaled.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.extend_from_slice(extra);
    GatewayProcess::start(dir, &api, &settings).await
}

async fn command(gateway: &GatewayProcess, text: &str, chat: &str, thread: Option<&str>) -> Value {
    let data = gateway
        .graphql(
            "mutation($text: String!, $chat: String!, $thread: String) { executeCommand(text: $text, chatId: $chat, fromUid: \"7\", threadId: $thread) { ok reply } }",
            json!({"text": text, "chat": chat, "thread": thread}),
        )
        .await;
    data["executeCommand"].clone()
}

/// The record numbers a message lists one by one (`burst N`), and the count a digest gives.
fn accounting(message: &Received) -> (Vec<usize>, usize) {
    if message.text.contains("See: ") {
        let head = message.text.split(" ERROR").next().unwrap();
        let count = head.rsplit(' ').next().unwrap().replace(',', "");
        return (Vec::new(), count.parse().unwrap());
    }
    let listed = message
        .text
        .match_indices("burst ")
        .map(|(at, _)| {
            let digits: String = message.text[at + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap()
        })
        .collect();
    (listed, 0)
}

fn pending(dir: &std::path::Path, chat: &str) -> i64 {
    database(dir)
        .query_row(
            "SELECT COUNT(*) FROM Delivery WHERE status = 'PENDING' AND chatId = ?",
            [chat],
            |row| row.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_a_group_drains_in_few_messages_and_another_bot_is_not_held_up() {
    let fake = FakeTelegram::default();
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&fake, dir.path(), &[]).await;
    gateway
        .register_bot("billing", "111:BURST", "billing-auth-token")
        .await;
    gateway
        .register_bot("shop", "222:QUIET", "shop-auth-token")
        .await;
    gateway.subscribe("billing-auth-token", GROUP, "INFO").await;
    gateway.subscribe("shop-auth-token", "555", "INFO").await;

    let started = Instant::now();
    let mut quiet_sent = None;
    for batch in 0..BURST / 100 {
        let messages: Vec<String> = (0..100)
            .map(|i| format!("burst {}", batch * 100 + i))
            .collect();
        let records: Vec<(&str, &str)> = messages.iter().map(|m| ("ERROR", m.as_str())).collect();
        gateway.send_logs("billing", &records).await;
        if batch == 1 {
            gateway
                .send_logs("shop", &[("ERROR", "the other bot")])
                .await;
            quiet_sent = Some(Instant::now());
        }
    }
    let posted = started.elapsed();
    fake.wait_until(
        Duration::from_secs(10),
        "the other bot's record",
        |received| {
            received
                .iter()
                .any(|r| r.chat_id == "555" && r.status == 200)
        },
    )
    .await;
    let quiet = fake.accepted_in("555")[0].at - quiet_sent.unwrap();
    assert!(
        quiet < Duration::from_secs(5),
        "the other bot waited {quiet:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    while pending(dir.path(), GROUP) > 0 {
        assert!(Instant::now() < deadline, "the burst did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = started.elapsed();
    let messages = fake.accepted_in(GROUP);
    let mut listed = Vec::new();
    let mut digested = 0;
    let mut digests = 0;
    for message in &messages {
        assert!(message.text.encode_utf16().count() <= 4096);
        let (numbers, counted) = accounting(message);
        listed.extend(numbers);
        if counted > 0 {
            digests += 1;
            digested += counted;
        }
    }
    let unique: HashSet<usize> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "a record listed twice");
    assert_eq!(
        listed.len() + digested,
        BURST,
        "every record once, in a message or a digest"
    );
    let dead: i64 = database(dir.path())
        .query_row(
            "SELECT COUNT(*) FROM Delivery WHERE status != 'SENT'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(dead, 0);
    // At the real group rate every message costs 3 s.
    let real_rate = Duration::from_secs(3 * messages.len() as u64);
    println!(
        "burst: {BURST} records posted in {posted:?}, drained in {drained:?} at {SPEED_UP}x the group rate; \
         {} messages ({digests} digests counting {digested}, {} records listed); \
         real-rate equivalent {:?} (paced) / {:?} (after the last post, scaled); other bot's record after {quiet:?}",
        messages.len(),
        listed.len(),
        real_rate,
        (drained - posted).mul_f64(SPEED_UP),
    );
    assert!(
        real_rate < Duration::from_secs(180),
        "{} messages",
        messages.len()
    );
    // Posting is not scaled; what follows the last post is.
    let after_posting = (drained - posted).mul_f64(SPEED_UP);
    assert!(after_posting < Duration::from_secs(180), "{drained:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_records_share_one_message_in_order() {
    let fake = FakeTelegram::default();
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&fake, dir.path(), &[]).await;
    gateway
        .register_bot("few", "555:FEW", "few-auth-token")
        .await;
    gateway.subscribe("few-auth-token", "600", "INFO").await;
    let messages: Vec<String> = (0..10).map(|i| format!("burst {i}")).collect();
    let records: Vec<(&str, &str)> = messages.iter().map(|m| ("ERROR", m.as_str())).collect();
    gateway.send_logs("few", &records).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while pending(dir.path(), "600") > 0 {
        assert!(Instant::now() < deadline, "not drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = fake.accepted_in("600");
    let listed: Vec<usize> = received.iter().flat_map(|m| accounting(m).0).collect();
    assert_eq!(listed, (0..10).collect::<Vec<_>>(), "each once, in order");
    assert!(
        received.len() <= 2,
        "{} messages for 10 records",
        received.len()
    );
    assert!(
        received[0].text.starts_with("<b>few</b> · "),
        "{}",
        received[0].text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_controls_set_the_level_mute_with_one_summary_and_unsubscribe() {
    let fake = FakeTelegram::default();
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&fake, dir.path(), &[]).await;
    gateway
        .register_bot("ctl", "333:CTL", "ctl-auth-token")
        .await;
    let chat = "-2001";
    let bad_topic = command(
        &gateway,
        "ctl-auth-token | subscription",
        chat,
        Some("topic"),
    )
    .await;
    assert_eq!(bad_topic["ok"], false, "{bad_topic}");
    assert!(
        bad_topic["reply"].as_str().unwrap().contains("threadId"),
        "{bad_topic}"
    );
    let subscribed = command(&gateway, "ctl-auth-token | subscription", chat, Some("42")).await;
    assert_eq!(subscribed["ok"], true, "{subscribed}");
    let status = command(&gateway, "/status", chat, Some("42")).await;
    assert!(
        status["reply"]
            .as_str()
            .unwrap()
            .contains("ctl: INFO and above, 0 waiting"),
        "{status}"
    );

    let level = command(&gateway, "/level ERROR", chat, None).await;
    assert!(
        level["reply"]
            .as_str()
            .unwrap()
            .contains("level ERROR and above"),
        "{level}"
    );
    gateway
        .send_logs("ctl", &[("WARNING", "below the level")])
        .await;
    gateway.send_logs("ctl", &[("ERROR", "first error")]).await;
    fake.wait_until(Duration::from_secs(10), "the error", |r| {
        r.iter().any(|r| r.chat_id == chat)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = fake.accepted_in(chat);
    assert_eq!(received.len(), 1, "{received:#?}");
    assert!(received[0].text.ends_with("first error"));
    assert_eq!(
        received[0].thread_id,
        Some(42),
        "delivered to the forum topic"
    );

    let muted = command(&gateway, "/mute 1h", chat, None).await;
    assert!(
        muted["reply"].as_str().unwrap().contains("muted until"),
        "{muted}"
    );
    for text in ["muted one", "muted two", "muted three"] {
        gateway.send_logs("ctl", &[("ERROR", text)]).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        fake.accepted_in(chat).len(),
        1,
        "nothing is sent while muted"
    );
    let status = command(&gateway, "/status", chat, None).await;
    let reply = status["reply"].as_str().unwrap();
    assert!(
        reply.contains("muted until") && reply.contains("3 waiting"),
        "{reply}"
    );

    let unmuted = command(&gateway, "/unmute", chat, None).await;
    assert_eq!(unmuted["ok"], true, "{unmuted}");
    fake.wait_until(Duration::from_secs(10), "the summary", |r| {
        r.iter().filter(|r| r.chat_id == chat).count() >= 2
    })
    .await;
    gateway
        .send_logs("ctl", &[("ERROR", "after the mute")])
        .await;
    fake.wait_until(Duration::from_secs(10), "the next record", |r| {
        r.iter().filter(|r| r.chat_id == chat).count() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = fake.accepted_in(chat);
    assert_eq!(
        received.len(),
        3,
        "one summary, then the next record: {received:#?}"
    );
    let summary = &received[1].text;
    assert!(
        summary.starts_with("While this chat was muted: 3 ERROR records from <b>ctl</b>"),
        "{summary}"
    );
    assert!(
        summary.contains("First: 🔴 <b>ERROR</b>") && summary.contains("muted one"),
        "{summary}"
    );
    assert!(
        summary.contains("Last: ") && summary.contains("muted three"),
        "{summary}"
    );
    assert!(
        summary.contains("logs(filter: {bot: &quot;ctl&quot;")
            || summary.contains("logs(filter: {bot: \"ctl\""),
        "{summary}"
    );
    assert!(received[2].text.ends_with("after the mute"));

    let gone = command(&gateway, "/unsubscribe", chat, None).await;
    assert!(
        gone["reply"]
            .as_str()
            .unwrap()
            .contains("unsubscribed from: ctl"),
        "{gone}"
    );
    let left = gateway
        .graphql("{ subscriptions(bot: \"ctl\") { chatId } }", json!({}))
        .await;
    assert_eq!(left["subscriptions"], json!([]));
    let nothing = command(&gateway, "/status", chat, None).await;
    assert!(
        nothing["reply"]
            .as_str()
            .unwrap()
            .contains("not subscribed to any bot"),
        "{nothing}"
    );

    let mut actions: Vec<String> = database(dir.path())
        .prepare("SELECT action || ':' || outcome FROM AuditEvent WHERE action IN ('chat_status', 'change_level', 'mute_chat', 'unmute_chat', 'unsubscribe_chat') ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    actions.dedup();
    assert_eq!(
        actions,
        [
            "chat_status:accepted",
            "change_level:accepted",
            "mute_chat:accepted",
            "chat_status:accepted",
            "unmute_chat:accepted",
            "unsubscribe_chat:accepted",
            "chat_status:refused:not_subscribed",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mute_that_expires_without_unmute_gives_one_summary() {
    let fake = FakeTelegram::default();
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&fake, dir.path(), &[]).await;
    gateway
        .register_bot("lapse", "336:LAPSE", "lapse-auth-token")
        .await;
    let chat = "-2101";
    let subscribed = command(&gateway, "lapse-auth-token | subscription", chat, None).await;
    assert_eq!(subscribed["ok"], true, "{subscribed}");
    let muted = command(&gateway, "/mute 1m", chat, None).await;
    assert!(
        muted["reply"].as_str().unwrap().contains("muted until"),
        "{muted}"
    );
    for text in ["lapsed one", "lapsed two"] {
        gateway.send_logs("lapse", &[("ERROR", text)]).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        fake.accepted_in(chat).len(),
        0,
        "nothing is sent while muted"
    );
    // The shortest mute is a minute; rather than wait it out, the stored end of the mute is
    // moved to two seconds from now, as if the minute had passed. Nobody writes /unmute.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string();
    let changed = database(dir.path())
        .execute(
            "UPDATE ChatSubscription SET mutedUntil = ?1 WHERE chatId = ?2",
            [soon.as_str(), chat],
        )
        .unwrap();
    assert_eq!(changed, 1);
    fake.wait_until(Duration::from_secs(15), "the summary at expiry", |r| {
        r.iter().any(|r| r.chat_id == chat)
    })
    .await;
    gateway
        .send_logs("lapse", &[("ERROR", "after the lapse")])
        .await;
    fake.wait_until(Duration::from_secs(10), "the next record", |r| {
        r.iter().filter(|r| r.chat_id == chat).count() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let received = fake.accepted_in(chat);
    assert_eq!(
        received.len(),
        2,
        "one summary, then the next record: {received:#?}"
    );
    let summary = &received[0].text;
    assert!(
        summary.starts_with("While this chat was muted: 2 ERROR records from <b>lapse</b>"),
        "{summary}"
    );
    assert!(
        summary.contains("lapsed one") && summary.contains("lapsed two"),
        "{summary}"
    );
    assert!(received[1].text.ends_with("after the lapse"));
    let status = command(&gateway, "/status", chat, None).await;
    let reply = status["reply"].as_str().unwrap();
    assert!(
        !reply.contains("muted until") && reply.contains("0 waiting"),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_bot_ends_the_subscription_and_a_huge_retry_after_is_cut() {
    let fake = FakeTelegram::default();
    fake.behaviour.lock().unwrap().gone.insert("-3001".into());
    fake.behaviour
        .lock()
        .unwrap()
        .rate_limit_once
        .insert("-3002".into(), u64::MAX / 2);
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(
        &fake,
        dir.path(),
        &[("LOGBOT__DELIVERY__MAX_RETRY_AFTER_MS", "300")],
    )
    .await;
    gateway
        .register_bot("gone", "444:GONE", "gone-auth-token")
        .await;
    gateway.subscribe("gone-auth-token", "-3001", "INFO").await;
    gateway.subscribe("gone-auth-token", "-3002", "INFO").await;
    gateway
        .send_logs("gone", &[("ERROR", "one"), ("ERROR", "two")])
        .await;
    fake.wait_until(
        Duration::from_secs(10),
        "both records in the rate-limited chat",
        |r| {
            r.iter()
                .filter(|r| r.chat_id == "-3002" && r.status == 200)
                .count()
                >= 1
        },
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = gateway
            .graphql("{ subscriptions(bot: \"gone\") { chatId } }", json!({}))
            .await;
        if left["subscriptions"] == json!([{"chatId": "-3002"}]) {
            break;
        }
        assert!(Instant::now() < deadline, "{left}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended: i64 = database(dir.path())
        .query_row(
            "SELECT COUNT(*) FROM AuditEvent WHERE action = 'end_subscription' AND outcome = 'ended' AND target = 'chat:-3001'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(pending(dir.path(), "-3001"), 0, "nothing left to retry");
    gateway.send_logs("gone", &[("ERROR", "three")]).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let tries = fake.all().iter().filter(|r| r.chat_id == "-3001").count();
    assert_eq!(tries, 1, "the gone chat is tried once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_behind_a_held_backlog_larger_than_one_scan_is_still_served() {
    let fake = FakeTelegram::default();
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&fake, dir.path(), &[]).await;
    gateway
        .register_bot("held", "666:HELD", "held-auth-token")
        .await;
    gateway
        .register_bot("fresh", "777:FRESH", "fresh-auth-token")
        .await;
    gateway.subscribe("held-auth-token", "-4001", "INFO").await;
    gateway.subscribe("fresh-auth-token", "4002", "INFO").await;
    let muted = command(&gateway, "/mute 1h", "-4001", None).await;
    assert_eq!(muted["ok"], true, "{muted}");
    // More held deliveries than the poll's oldest-first scan (1000) holds.
    for batch in 0..11 {
        let messages: Vec<String> = (0..100).map(|i| format!("held {batch}-{i}")).collect();
        let records: Vec<(&str, &str)> = messages.iter().map(|m| ("ERROR", m.as_str())).collect();
        gateway.send_logs("held", &records).await;
    }
    assert_eq!(pending(dir.path(), "-4001"), 1100);
    let sent = Instant::now();
    gateway
        .send_logs("fresh", &[("ERROR", "behind the backlog")])
        .await;
    fake.wait_until(
        Duration::from_secs(5),
        "the fresh bot's record",
        |received| {
            received
                .iter()
                .any(|r| r.chat_id == "4002" && r.status == 200)
        },
    )
    .await;
    println!(
        "fairness: a record behind 1,100 held deliveries arrived after {:?}",
        sent.elapsed()
    );
    assert!(
        fake.accepted_in("-4001").is_empty(),
        "the muted chat still waits"
    );
}
