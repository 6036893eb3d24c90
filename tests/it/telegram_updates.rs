//! Telegram updates in, through the real binary against the loopback Bot API: long polling of
//! the home bot and of bots registered while running, the Telegram command forms, durable
//! offsets (`kill -9` then restart), the webhook door, and one poller per bot across replicas.

use crate::support::delivery::{FakeTelegram, GatewayProcess, Received, database};
use crate::support::process::StandaloneDataSpace;
use crate::support::telegram_updates::username;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const HOME: &str = "100:HOME-TOKEN";
const ADMIN: i64 = 555;

/// Settings for fast tests: short polls, leases and scans.
fn fast<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut settings = vec![
        ("LOGBOT__TELEGRAM__POLL_TIMEOUT_S", "1"),
        ("LOGBOT__TELEGRAM__LEASE_MS", "1500"),
        ("LOGBOT__TELEGRAM__RESCAN_MS", "500"),
        ("LOGBOT__BOTS__ADMINS", "admin1,555"),
    ];
    settings.extend_from_slice(extra);
    settings
}

fn replies_to(fake: &FakeTelegram, message_id: i64) -> Vec<Received> {
    fake.accepted()
        .into_iter()
        .filter(|r| r.reply_to == Some(message_id))
        .collect()
}

async fn wait_reply(fake: &FakeTelegram, message_id: i64, what: &str) -> Received {
    fake.wait_until(Duration::from_secs(15), what, |received| {
        received
            .iter()
            .any(|r| r.reply_to == Some(message_id) && r.status == 200)
    })
    .await;
    replies_to(fake, message_id).remove(0)
}

async fn wait_for(limit: Duration, what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_the_whole_story_from_register_to_a_record_in_the_group() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    // A long rescan: the new bot must be picked up through the bus, not the periodic scan.
    let settings = fast(&[
        ("LOGBOT__TELEGRAM__HOME_BOT_TOKEN", HOME),
        ("LOGBOT__TELEGRAM__RESCAN_MS", "600000"),
    ]);
    let gateway = GatewayProcess::start(dir.path(), &api, &settings).await;
    let updates = &fake.updates;
    wait_for(Duration::from_secs(10), "the home bot polled", || {
        !updates.calls_by(HOME, "getUpdates").is_empty()
    })
    .await;
    assert_eq!(updates.calls_by(HOME, "setMyCommands").len(), 1);

    // 1. The admin registers a bot, writing to the home bot in private.
    let new_bot = "200:NEW-BOT-TOKEN";
    let register = updates.message(
        HOME,
        ADMIN,
        "private",
        ADMIN,
        &format!("/register 555 | billing | {new_bot} | billing-auth-token"),
    );
    let reply = wait_reply(&fake, register, "the register reply").await;
    assert!(reply.text.contains("billing"), "{}", reply.text);
    assert!(
        reply.text.contains("I deleted the message"),
        "{}",
        reply.text
    );
    assert_eq!(reply.token, HOME);
    let deleted = updates.calls_by(HOME, "deleteMessage");
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].body["message_id"], json!(register));

    // 2. The new bot is polled at once.
    wait_for(Duration::from_secs(5), "the new bot polled", || {
        !updates.calls_by(new_bot, "getUpdates").is_empty()
    })
    .await;

    // 3. A group subscribes; a command to another bot and chatter in between are ignored.
    let group = -700;
    let other = updates.message(new_bot, group, "group", 9, "/help@SomeOtherBot");
    let chatter = updates.message(new_bot, group, "group", 9, "billing-auth-token | status");
    updates
        .cannot_delete_in
        .lock()
        .unwrap()
        .insert(group.to_string());
    let subscribe = updates.message(
        new_bot,
        group,
        "group",
        9,
        &format!("/subscription@{} billing-auth-token", username(new_bot)),
    );
    let reply = wait_reply(&fake, subscribe, "the subscription reply").await;
    assert!(
        reply.text.to_lowercase().contains("subscribed"),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("could not delete"), "{}", reply.text);
    assert_eq!(reply.chat_id, group.to_string());
    assert!(
        replies_to(&fake, other).is_empty(),
        "a command to another bot was answered"
    );
    assert!(
        replies_to(&fake, chatter).is_empty(),
        "group chatter was answered"
    );

    // 4. A record sent over GraphQL appears in that group.
    gateway
        .send_logs("billing", &[("ERROR", "payment gateway down")])
        .await;
    fake.wait_until(
        Duration::from_secs(10),
        "the record in the group",
        |received| {
            received.iter().any(|r| {
                r.chat_id == group.to_string()
                    && r.token == new_bot
                    && r.text.contains("payment gateway down")
            })
        },
    )
    .await;

    // 5. `/level ERROR` filters.
    let in_group = |r: &Received| r.chat_id == group.to_string() && r.token == new_bot;
    let level = updates.message(
        new_bot,
        group,
        "group",
        9,
        &format!("/level@{} ERROR", username(new_bot)),
    );
    wait_reply(&fake, level, "the /level reply").await;
    gateway
        .send_logs(
            "billing",
            &[("WARNING", "only a warning"), ("ERROR", "after the level")],
        )
        .await;
    fake.wait_until(Duration::from_secs(10), "the ERROR record", |received| {
        received
            .iter()
            .any(|r| in_group(r) && r.text.contains("after the level"))
    })
    .await;
    assert!(
        !fake
            .accepted()
            .iter()
            .any(|r| in_group(r) && r.text.contains("only a warning")),
        "a WARNING reached a chat at ERROR"
    );

    // 6. `/mute` then `/unmute` gives one summary.
    let mute = updates.message(new_bot, group, "group", 9, "/mute 1h");
    wait_reply(&fake, mute, "the /mute reply").await;
    gateway
        .send_logs("billing", &[("ERROR", "muted one"), ("ERROR", "muted two")])
        .await;
    let sent_before_unmute = fake.accepted().len();
    let unmute = updates.message(new_bot, group, "group", 9, "/unmute");
    wait_reply(&fake, unmute, "the /unmute reply").await;
    fake.wait_until(Duration::from_secs(10), "the summary", |received| {
        received
            .iter()
            .any(|r| in_group(r) && r.text.starts_with("While this chat was muted: 2"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after: Vec<Received> = fake.accepted()[sent_before_unmute..]
        .iter()
        .filter(|r| in_group(r) && r.reply_to.is_none())
        .cloned()
        .collect();
    assert_eq!(after.len(), 1, "one summary and nothing else: {after:#?}");

    // A subscription made in a forum topic is the topic's, and is answered there.
    let forum = -1_000_800;
    let topic_message = 4242;
    updates.push(
        new_bot,
        json!({"message": {"message_id": topic_message, "date": 0, "is_topic_message": true,
            "message_thread_id": 77, "chat": {"id": forum, "type": "supergroup", "is_forum": true},
            "from": {"id": 9}, "text": "/subscription billing-auth-token"}}),
    );
    let reply = wait_reply(&fake, topic_message, "the topic's subscription reply").await;
    assert_eq!(reply.thread_id, Some(77));
    let db = database(dir.path());
    let thread: Option<String> = db
        .query_row(
            "SELECT threadId FROM ChatSubscription WHERE chatId = '-1000800'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(thread.as_deref(), Some("77"));

    // 7. Removing the bot from the group ends the subscription, with an AuditEvent.
    updates.push(
        new_bot,
        json!({"my_chat_member": {"chat": {"id": group, "type": "group"}, "from": {"id": 9},
            "date": 0, "old_chat_member": {"status": "member"},
            "new_chat_member": {"status": "kicked", "user": {"id": 200}}}}),
    );
    let audit = || -> Option<String> {
        db.query_row(
            "SELECT details FROM AuditEvent WHERE action = 'unsubscribe_chat' AND target = 'billing'",
            [],
            |row| row.get(0),
        )
        .ok()
    };
    wait_for(
        Duration::from_secs(10),
        "the AuditEvent of the bot kicked",
        || audit().is_some(),
    )
    .await;
    let active: i64 = db
        .query_row(
            "SELECT active FROM ChatSubscription WHERE chatId = '-700'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        active, 0,
        "the subscription of the group the bot was kicked from"
    );
    let audit = audit().unwrap();
    assert!(audit.contains("kicked"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_a_redelivered_update_id_runs_once() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let _gateway = GatewayProcess::start(
        dir.path(),
        &api,
        &fast(&[("LOGBOT__TELEGRAM__HOME_BOT_TOKEN", HOME)]),
    )
    .await;
    let update = json!({"update_id": 7001, "message": {"message_id": 51, "text": "/help",
        "date": 0, "chat": {"id": 42, "type": "private"}, "from": {"id": 42}}});
    // The reply is answered 429 first: it is sent again after retry_after.
    fake.behaviour
        .lock()
        .unwrap()
        .rate_limit_once
        .insert("42".into(), 1);
    // The same update twice in one batch, and once more after it was handled.
    fake.updates.push_raw(HOME, update.clone());
    fake.updates.push_raw(HOME, update.clone());
    let reply = wait_reply(&fake, 51, "the help reply").await;
    assert!(reply.text.contains("subscription"), "{}", reply.text);
    assert!(
        reply.text.contains("Your Telegram user id is 42"),
        "{}",
        reply.text
    );
    let later = fake.updates.message(HOME, 42, "private", 42, "/help");
    wait_reply(&fake, later, "the second help").await;
    fake.updates.push_raw(HOME, update);
    let last = fake.updates.message(HOME, 42, "private", 42, "/start");
    wait_reply(&fake, last, "the third help").await;
    assert_eq!(
        replies_to(&fake, 51).len(),
        1,
        "update 7001 was run more than once"
    );
    let limited = fake.all().into_iter().filter(|r| r.status == 429).count();
    assert_eq!(limited, 1, "the first reply was rate limited once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_an_api_that_hangs_then_returns_leaves_the_gateway_healthy_and_runs_the_command_once()
 {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    // Every getUpdates is held unanswered, the connection open, until the API "returns".
    *fake.updates.hold_polls_past.lock().unwrap() = Some(-1);
    let gateway = GatewayProcess::start(
        dir.path(),
        &api,
        &fast(&[
            ("LOGBOT__TELEGRAM__HOME_BOT_TOKEN", HOME),
            // A call waits this long beyond its long-poll timeout before the gateway gives up.
            ("LOGBOT__DELIVERY__SEND_TIMEOUT_MS", "1000"),
        ]),
    )
    .await;
    wait_for(Duration::from_secs(10), "a held poll", || {
        fake.updates.held_polls.load(Ordering::SeqCst) > 0
    })
    .await;
    let message_id = fake.updates.message(HOME, 43, "private", 43, "/help");
    // While the API hangs (several of the gateway's timeouts and retries), the gateway answers.
    let hang_started = Instant::now();
    let mut slowest = Duration::ZERO;
    while hang_started.elapsed() < Duration::from_secs(6) {
        let asked = Instant::now();
        let health = gateway
            .http
            .get(format!("{}/healthz", gateway.base_url))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .expect("/healthz answers while the Telegram API hangs");
        assert_eq!(health.status(), 200);
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        slowest < Duration::from_millis(500),
        "/healthz took {slowest:?} while the API hung"
    );
    assert!(
        replies_to(&fake, message_id).is_empty(),
        "nothing can be read while the API hangs"
    );
    *fake.updates.hold_polls_past.lock().unwrap() = None;
    // Polling resumes by itself (within the poller's backoff) and the command runs once.
    fake.wait_until(
        Duration::from_secs(40),
        "the reply after the API returned",
        |received| {
            received
                .iter()
                .any(|r| r.reply_to == Some(message_id) && r.status == 200)
        },
    )
    .await;
    let later = fake.updates.message(HOME, 43, "private", 43, "/start");
    wait_reply(&fake, later, "a reply to the next command").await;
    assert_eq!(
        replies_to(&fake, message_id).len(),
        1,
        "the command queued during the hang ran more than once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_a_bot_disabled_while_running_is_no_longer_polled() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(dir.path(), &api, &fast(&[])).await;
    let token = "400:SOON-DISABLED";
    gateway
        .register_bot("soon-disabled", token, "disabled-auth-token")
        .await;
    let polls = || fake.updates.calls_by(token, "getUpdates").len();
    wait_for(Duration::from_secs(5), "the bot polled", || polls() > 0).await;
    database(dir.path())
        .execute(
            "UPDATE Bot SET status = 'DISABLED' WHERE name = 'soon-disabled'",
            [],
        )
        .unwrap();
    // The next scan (0.5 s) stops it; a poll in flight (at most 1 s) may still end.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after_stop = polls();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(polls(), after_stop, "a disabled bot is still polled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_kill_9_while_polling_then_restart_loses_and_repeats_nothing() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = fast(&[("LOGBOT__TELEGRAM__HOME_BOT_TOKEN", HOME)]);
    let updates = &fake.updates;
    // A 429 on the first poll: the poller waits and asks again.
    updates
        .rate_limit_poll_once
        .lock()
        .unwrap()
        .insert(HOME.to_owned());
    let gateway = GatewayProcess::start(dir.path(), &api, &settings).await;
    let before: Vec<i64> = (0..3)
        .map(|n| updates.message(HOME, 42, "private", 42, &format!("/help {n}")))
        .collect();
    // The poll after these updates never reaches Telegram: only the stored offset says they
    // were handled.
    *updates.hold_polls_past.lock().unwrap() = Some(updates.last_update_id());
    for message in &before {
        wait_reply(&fake, *message, "a reply before the kill").await;
    }
    wait_for(Duration::from_secs(5), "the next poll held", || {
        updates.held_polls.load(Ordering::SeqCst) == 1
    })
    .await;
    gateway.kill();
    *updates.hold_polls_past.lock().unwrap() = None;
    // Written while the gateway is down: must be run after the restart, once.
    let during: Vec<i64> = (0..2)
        .map(|n| updates.message(HOME, 42, "private", 42, &format!("/help later {n}")))
        .collect();
    let _gateway = GatewayProcess::start(dir.path(), &api, &settings).await;
    for message in &during {
        wait_reply(&fake, *message, "a reply after the restart").await;
    }
    let extra = updates.message(HOME, 42, "private", 42, "/help last");
    wait_reply(&fake, extra, "the last reply").await;
    for message in before.iter().chain(&during) {
        assert_eq!(replies_to(&fake, *message).len(), 1, "message {message}");
    }
    assert_eq!(
        updates
            .calls_by(HOME, "getUpdates")
            .iter()
            .filter(|call| call.status == 429)
            .count(),
        1
    );
    let stored: i64 = database(dir.path())
        .query_row(
            "SELECT \"offset\" FROM TelegramOffset WHERE botId = '100'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(stored > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_webhook_checks_the_secret_token() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(
        dir.path(),
        &api,
        &fast(&[
            ("LOGBOT__TELEGRAM__HOME_BOT_TOKEN", HOME),
            ("LOGBOT__TELEGRAM__UPDATES", "webhook"),
            ("LOGBOT__TELEGRAM__PUBLIC_URL", "https://logbot.example/"),
            ("LOGBOT__TELEGRAM__WEBHOOK_SECRET", "server-secret"),
            ("LOGBOT__TELEGRAM__MAX_UPDATE_BYTES", "4096"),
        ]),
    )
    .await;
    let updates = &fake.updates;
    wait_for(Duration::from_secs(10), "setWebhook", || {
        !updates.calls_by(HOME, "setWebhook").is_empty()
    })
    .await;
    let set = updates.calls_by(HOME, "setWebhook").remove(0);
    assert_eq!(
        set.body["url"],
        "https://logbot.example/events/telegram/~home"
    );
    let secret = set.body["secret_token"].as_str().unwrap().to_owned();
    assert!(!secret.contains("HOME-TOKEN"));
    assert!(
        updates.calls_by(HOME, "getUpdates").is_empty(),
        "a webhook bot is not polled"
    );

    let url = format!("{}/events/telegram/~home", gateway.base_url);
    let post = |secret: &str, body: String| {
        gateway
            .http
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let update = json!({"update_id": 9001, "message": {"message_id": 77, "text": "/help",
        "date": 0, "chat": {"id": 43, "type": "private"}, "from": {"id": 43}}})
    .to_string();
    let wrong = post("not-the-secret", update.clone()).await.unwrap();
    assert_eq!(wrong.status(), 403);
    assert!(wrong.text().await.unwrap().contains("Secret-Token"));
    let garbled = post(&secret, "{not json".into()).await.unwrap();
    assert_eq!(garbled.status(), 400);
    let huge = post(
        &secret,
        format!("{{\"update_id\": 1, \"x\": \"{}\"}}", "a".repeat(8000)),
    )
    .await
    .unwrap();
    assert_eq!(huge.status(), 413);
    let unknown = gateway
        .http
        .post(format!("{}/events/telegram/nobody", gateway.base_url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let accepted = post(&secret, update.clone()).await.unwrap();
    assert_eq!(accepted.status(), 200);
    wait_reply(&fake, 77, "the webhook command's reply").await;
    // Telegram redelivers until it gets a 2xx: a repeat is answered, not run.
    let again = post(&secret, update).await.unwrap();
    assert_eq!(again.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(replies_to(&fake, 77).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_two_replicas_poll_each_bot_once_and_take_over_a_dead_ones_bots() {
    let Some(redis) = crate::support::redis::url_or_skip() else {
        return;
    };
    let prefix = crate::support::redis::unique_prefix();
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let dataspace = StandaloneDataSpace::start(&dir.path().join("shared.sqlite")).await;
    let url = dataspace.url.clone();
    let mut settings = fast(&[
        ("DATASPACE_URL", url.as_str()),
        ("APP_KEY", "k"),
        ("APP_SECRET", "s"),
        ("LOGBOT__BUS__REDIS_URL", redis.as_str()),
        ("LOGBOT__BUS__CHANNEL_PREFIX", prefix.as_str()),
    ]);
    settings.push(("LOGBOT__TELEGRAM__LEASE_MS", "2000"));
    let first_dir = dir.path().join("first");
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&first_dir).unwrap();
    std::fs::create_dir_all(&second_dir).unwrap();
    let first = GatewayProcess::start(&first_dir, &api, &settings).await;
    let second = GatewayProcess::start(&second_dir, &api, &settings).await;
    let bots = ["301:AAA", "302:BBB"];
    for (n, token) in bots.iter().enumerate() {
        first
            .register_bot(&format!("replica{n}"), token, &format!("replica-auth-{n}"))
            .await;
    }
    let updates = &fake.updates;
    // Both replicas run for several leases: a second poller of a bot would get 409s.
    for token in bots {
        for n in 0..3 {
            let message = updates.message(token, 50, "private", 50, &format!("/help {n}"));
            wait_reply(&fake, message, "a reply with both replicas up").await;
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }
    let conflicts = |token: &str| {
        updates
            .calls_by(token, "getUpdates")
            .iter()
            .filter(|call| call.status == 409)
            .count()
    };
    for token in bots {
        assert_eq!(conflicts(token), 0, "{token} was polled by both replicas");
    }
    let log = |dir: &std::path::Path| -> String {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name()?.to_str()?.to_owned();
                name.starts_with("gateway-")
                    .then(|| std::fs::read_to_string(&path).unwrap())
            })
            .collect()
    };
    let polled_by = |log: &str| log.matches("Telegram: polling this bot").count();
    let (by_first, by_second) = (polled_by(&log(&first_dir)), polled_by(&log(&second_dir)));
    assert_eq!(
        by_first + by_second,
        2,
        "each bot claimed once: {by_first} + {by_second}"
    );
    eprintln!("bots polled by the first replica: {by_first}, by the second: {by_second}");

    // The replica polling the first bot dies: the other takes its bots over within seconds.
    let (dead, alive) = if polled_by(&log(&first_dir)) > 0 {
        (first, second)
    } else {
        (second, first)
    };
    dead.kill();
    let killed = Instant::now();
    for token in bots {
        let message = updates.message(token, 50, "private", 50, "/help after the kill");
        wait_reply(&fake, message, "a reply after the kill").await;
    }
    let took = killed.elapsed();
    eprintln!("taken over within {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    drop(alive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_a_group_that_became_a_supergroup_moves_its_subscription() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(dir.path(), &api, &fast(&[])).await;
    let token = "500:MIGRATING";
    gateway
        .register_bot("migrating", token, "migrating-auth-token")
        .await;
    gateway
        .subscribe("migrating-auth-token", "-800", "INFO")
        .await;
    fake.updates.push(
        token,
        json!({"message": {"message_id": 3, "date": 0, "chat": {"id": -800, "type": "group"},
            "from": {"id": 9}, "migrate_to_chat_id": -100_800}}),
    );
    let db = database(dir.path());
    wait_for(Duration::from_secs(10), "the subscription moved", || {
        db.query_row(
            "SELECT count(*) FROM ChatSubscription WHERE chatId = '-100800' AND active = 1",
            [],
            |row| row.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    })
    .await;
    let audit: i64 = db
        .query_row(
            "SELECT count(*) FROM AuditEvent WHERE action = 'migrate_chat' AND actorUid = 'telegram'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(audit, 1);
    gateway
        .send_logs("migrating", &[("ERROR", "after the upgrade")])
        .await;
    fake.wait_until(
        Duration::from_secs(10),
        "the record in the supergroup",
        |received| {
            received
                .iter()
                .any(|r| r.chat_id == "-100800" && r.text.contains("after the upgrade"))
        },
    )
    .await;
    assert!(fake.accepted_in("-800").is_empty());
}
