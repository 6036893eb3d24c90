//! VK chat events through the real app: the Callback API handshake and secret, each event type
//! normalized and published on the bus (a private dialog and a group chat), `/`-commands
//! registering and subscribing, and Bots Long Poll against a fake VK API that also receives
//! the command replies (`messages.send`).
//!
//! The bus here is the in-process one (what this branch has); with `[bus] redis_url` set the
//! same `publish` calls go to the Redis channels `events.<type>`.

use crate::support::doors;
use crate::support::redis as support_redis;

use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use doors::{ADMIN, App, start};
use logbot_gateway::config::Settings;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, broadcast};

const CONFIRMATION: &str = "a1b2c3d4";
const SECRET: &str = "callback-secret";
const GROUP: u64 = 77;

fn vk_settings(settings: &mut Settings) {
    settings.vk.confirmation = Some(CONFIRMATION.into());
    settings.vk.secret = Some(SECRET.into());
    settings.vk.group_id = Some(GROUP);
}

async fn callback(app: &App, event: &Value) -> (u16, String) {
    let response = app
        .http
        .post(app.url("/events/vk"))
        .json(event)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// An event as VK sends it, with a fresh `event_id` (VK's ids are unique per event; a repeated
/// one is a redelivery and is ignored).
fn raw(kind: &str, object: Value) -> Value {
    let event_id = format!("ev-{kind}-{:016x}", rand::random::<u64>());
    json!({"type": kind, "event_id": event_id, "v": "5.199", "group_id": GROUP,
        "secret": SECRET, "object": object})
}

fn message_new(peer: i64, from: i64, text: &str, cmid: i64) -> Value {
    raw(
        "message_new",
        json!({"message": {"date": 1_700_000_000, "from_id": from, "id": 0, "out": 0, "peer_id": peer,
            "text": text, "conversation_message_id": cmid, "fwd_messages": [], "attachments": [],
            "important": false, "is_hidden": false},
            "client_info": {"button_actions": ["text"], "keyboard": true, "lang_id": 0}}),
    )
}

async fn next(listener: &mut broadcast::Receiver<Arc<str>>) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("an event within 10 s")
        .unwrap();
    serde_json::from_str(&message).unwrap()
}

#[tokio::test]
async fn confirmation_secret_and_group_are_checked() {
    let app = start(vk_settings).await;
    let confirm = json!({"type": "confirmation", "group_id": GROUP, "secret": SECRET});
    assert_eq!(
        callback(&app, &confirm).await,
        (200, CONFIRMATION.to_owned())
    );

    let unsigned = json!({"type": "confirmation", "group_id": GROUP});
    assert_eq!(
        callback(&app, &unsigned).await,
        (200, CONFIRMATION.to_owned())
    );
    let mut wrong = confirm.clone();
    wrong["secret"] = json!("guess");
    assert_eq!(callback(&app, &wrong).await.0, 403);
    let mut missing = message_new(5, 5, "hi", 1);
    missing.as_object_mut().unwrap().remove("secret");
    assert_eq!(callback(&app, &missing).await.0, 403);
    let mut other_group = message_new(5, 5, "hi", 1);
    other_group["group_id"] = json!(78);
    assert_eq!(callback(&app, &other_group).await.0, 403);
    let (status, answer) = callback(&app, &json!(["not", "an", "event"])).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = callback(&app, &json!({"group_id": GROUP, "secret": SECRET})).await;
    assert_eq!(status, 400, "{answer}");
    app.stop().await;

    let off = start(|_| {}).await;
    assert_eq!(callback(&off, &confirm).await.0, 404);
    off.stop().await;
}

#[tokio::test]
async fn each_event_type_is_normalized_and_published() {
    let app = start(vk_settings).await;
    let bus = app.running.state.service.bus().clone();
    let mut messages = bus.subscribe("events.message");
    let mut buttons = bus.subscribe("events.button");
    let mut reactions = bus.subscribe("events.reaction");
    let mut commands = bus.subscribe("events.command");

    // A private dialog: the peer is the user, no chat number.
    assert_eq!(
        callback(&app, &message_new(1234, 1234, "hello", 10)).await,
        (200, "ok".into())
    );
    let event = next(&mut messages).await;
    assert_eq!(event["type"], "message");
    assert_eq!(event["peer"], json!({"bpid": 1234}));
    assert_eq!(event["user"], json!({"uuid": 1234}));
    assert_eq!(event["message"]["text"], "hello");
    assert_eq!(event["message"]["cmid"], 10);

    // A group chat message with a photo, a location, a reply and a forward.
    let mut group = message_new(2_000_000_005, 2002, "look", 11);
    group["object"]["message"]["attachments"] = json!([{"type": "photo", "photo": {}}]);
    group["object"]["message"]["geo"] = json!({"type": "point", "coordinates": {}});
    group["object"]["message"]["reply_message"] =
        json!({"from_id": 3003, "text": "earlier", "conversation_message_id": 9});
    group["object"]["message"]["fwd_messages"] =
        json!([{"from_id": 4004, "text": "forwarded", "conversation_message_id": 2}]);
    assert_eq!(callback(&app, &group).await.0, 200);
    let event = next(&mut messages).await;
    assert_eq!(event["peer"], json!({"bpid": 2_000_000_005i64, "cid": 5}));
    assert_eq!(event["user"]["uuid"], 2002);
    assert_eq!(
        event["message"]["attachments"],
        json!(["photo", "geo", "reply", "forward"])
    );
    assert_eq!(event["message"]["reply"]["text"], "earlier");
    assert_eq!(event["message"]["forward"][0]["cmid"], 2);

    let button = raw(
        "message_event",
        json!({"user_id": 2002, "peer_id": 2_000_000_005i64, "event_id": "btn-1",
            "payload": {"action": "mute"}, "conversation_message_id": 11}),
    );
    assert_eq!(callback(&app, &button).await.0, 200);
    let event = next(&mut buttons).await;
    assert_eq!(event["type"], "button");
    assert_eq!(
        (&event["cmid"], &event["beid"], &event["payload"]),
        (&json!(11), &json!("btn-1"), &json!({"action": "mute"}))
    );
    assert_eq!(event["peer"]["cid"], 5);

    let reaction = raw(
        "message_reaction_event",
        json!({"reacted_id": 1234, "peer_id": 1234, "cmid": 10, "reaction_id": 3}),
    );
    assert_eq!(callback(&app, &reaction).await.0, 200);
    let event = next(&mut reactions).await;
    assert_eq!(event["type"], "reaction");
    assert_eq!((&event["cmid"], &event["rid"]), (&json!(10), &json!(3)));
    assert_eq!(event["user"]["uuid"], 1234);

    // Other types are answered ok and dropped.
    let wall = raw("wall_post_new", json!({"id": 1, "owner_id": -77}));
    assert_eq!(callback(&app, &wall).await, (200, "ok".into()));
    assert!(messages.try_recv().is_err());
    assert!(commands.try_recv().is_err());
    app.stop().await;
}

#[tokio::test]
async fn slash_commands_register_a_bot_and_subscribe_a_group_chat() {
    let app = start(vk_settings).await;
    let mut commands = app.running.state.service.bus().subscribe("events.command");
    let admin: i64 = ADMIN.parse().unwrap();
    let register = format!("/{ADMIN} | vk-bot | 123:abc-token | vk-auth-token | register");
    assert_eq!(
        callback(&app, &message_new(admin, admin, &register, 1)).await,
        (200, "ok".into())
    );
    // Published with its tokens redacted: everyone on the bus reads it.
    let published = next(&mut commands).await;
    assert_eq!(published["type"], "command");
    assert_eq!(
        published["message"]["text"],
        format!("/{ADMIN} | vk-bot | *** | *** | register")
    );
    assert!(!published.to_string().contains("abc-token"), "{published}");
    let bot = app
        .graphql("{ bot(name: \"vk-bot\") { name ownerUid } }", json!({}))
        .await;
    assert_eq!(
        bot["data"]["bot"],
        json!({"name": "vk-bot", "ownerUid": ADMIN}),
        "{bot}"
    );

    // Someone else cannot register in the admin's name.
    let forged = format!("/{ADMIN} | other-bot | 123:abc-token | other-auth-token | register");
    callback(&app, &message_new(555, 555, &forged, 2)).await;
    let other = app
        .graphql("{ bot(name: \"other-bot\") { name } }", json!({}))
        .await;
    assert_eq!(other["data"]["bot"], Value::Null, "{other}");

    let subscribe = "!vk-auth-token | subscription";
    callback(&app, &message_new(2_000_000_009, 2002, subscribe, 3)).await;
    let subscriptions = app
        .graphql(
            "{ subscriptions(bot: \"vk-bot\") { chatId subscriberUid active } }",
            json!({}),
        )
        .await;
    assert_eq!(
        subscriptions["data"]["subscriptions"],
        json!([{"chatId": "2000000009", "subscriberUid": "2002", "active": true}]),
        "{subscriptions}"
    );
    app.stop().await;
}

/// VK redelivers an event it got no `ok` for, with the same `event_id`: the command runs once.
#[tokio::test]
async fn a_redelivered_event_is_handled_once() {
    let app = start(vk_settings).await;
    let mut commands = app.running.state.service.bus().subscribe("events.command");
    let admin: i64 = ADMIN.parse().unwrap();
    let register = format!("/{ADMIN} | once-bot | 123:abc-token | once-auth-token | register");
    let event = message_new(admin, admin, &register, 1);
    for _ in 0..3 {
        assert_eq!(callback(&app, &event).await, (200, "ok".into()));
    }
    // A different event with the same text is a new one.
    let again = message_new(admin, admin, &register, 2);
    assert_eq!(callback(&app, &again).await, (200, "ok".into()));
    assert_eq!(next(&mut commands).await["event_id"], event["event_id"]);
    assert_eq!(next(&mut commands).await["event_id"], again["event_id"]);
    assert!(
        commands.try_recv().is_err(),
        "the redeliveries were published again"
    );
    // One registration and one refusal (the name is taken), each with its AuditEvent.
    let audit = app
        .running
        .state
        .service
        .client()
        .find_audit_events_by_actor(ADMIN, 100, 0)
        .await
        .unwrap();
    let outcomes: Vec<&str> = audit
        .elems
        .iter()
        .map(|event| event.outcome.as_str())
        .collect();
    assert_eq!(audit.count, 2, "{outcomes:?}");
    app.stop().await;
}

/// A fake VK API: a long-poll server that hands out one command, then nothing; and
/// `messages.send`, whose form bodies are recorded.
#[derive(Clone, Default)]
struct FakeVk {
    base: Arc<Mutex<String>>,
    polls: Arc<Mutex<u32>>,
    sent: Arc<Mutex<Vec<String>>>,
}

async fn fake_vk() -> (FakeVk, String) {
    let fake = FakeVk::default();
    let router = axum::Router::new()
        .route(
            "/method/groups.getLongPollServer",
            post(|State(fake): State<FakeVk>, body: String| async move {
                assert!(body.contains("group_id=77"), "{body}");
                assert!(body.contains("access_token=community-token"), "{body}");
                let server = format!("{}lp", fake.base.lock().await);
                axum::Json(json!({"response": {"key": "k1", "server": server, "ts": "10"}}))
            }),
        )
        .route(
            "/lp",
            get(
                |State(fake): State<FakeVk>, RawQuery(query): RawQuery| async move {
                    let query = query.unwrap_or_default();
                    assert!(
                        query.contains("act=a_check") && query.contains("key=k1"),
                        "{query}"
                    );
                    let mut polls = fake.polls.lock().await;
                    *polls += 1;
                    let answer = if query.contains("ts=10") {
                        json!({"failed": 1, "ts": "11"})
                    } else if query.contains("ts=11") {
                        json!({"ts": "12", "updates": [{"type": "message_new", "event_id": "lp-1",
                        "group_id": 77, "v": "5.199", "object": {"message": {"from_id": 42,
                        "peer_id": 42, "text": "/help", "conversation_message_id": 1}}}]})
                    } else {
                        drop(polls);
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        json!({"ts": "12", "updates": []})
                    };
                    axum::Json(answer)
                },
            ),
        )
        .route(
            "/method/messages.send",
            post(|State(fake): State<FakeVk>, body: String| async move {
                fake.sent.lock().await.push(body);
                axum::Json(json!({"response": 1}))
            }),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    *fake.base.lock().await = base.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, base)
}

#[tokio::test]
async fn long_poll_delivers_events_and_command_replies_are_sent() {
    let (fake, base) = fake_vk().await;
    let app = start(|settings| {
        settings.vk.long_poll = true;
        settings.vk.access_token = Some("community-token".into());
        settings.vk.group_id = Some(GROUP);
        settings.delivery.vk_api_base = base.parse().unwrap();
    })
    .await;
    let mut commands = app.running.state.service.bus().subscribe("events.command");
    let poller =
        logbot_gateway::compat::vk::spawn_long_poll(&app.running.state).expect("long_poll is on");
    let event = next(&mut commands).await;
    assert_eq!(event["event_id"], "lp-1");
    assert_eq!(event["message"]["text"], "/help");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(body) = fake.sent.lock().await.first() {
            assert!(body.contains("peer_id=42"), "{body}");
            assert!(body.contains("access_token=community-token"), "{body}");
            assert!(body.contains("register"), "the help text: {body}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no messages.send");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(poller);
    app.stop().await;
}

/// The Redis URL and a pub/sub connection to it; `None` when the test is skipped.
async fn redis_pubsub() -> Option<(String, redis::aio::PubSub)> {
    let url = support_redis::url_or_skip()?;
    let client = redis::Client::open(url.as_str()).unwrap();
    Some((url, client.get_async_pubsub().await.unwrap()))
}

/// With the Redis bus, a redelivery that reaches another replica is recognized there too.
#[tokio::test]
async fn a_redelivery_to_another_replica_is_ignored_with_redis() {
    use futures_util::StreamExt;
    let Some((redis_url, mut pubsub)) = redis_pubsub().await else {
        return;
    };
    pubsub.subscribe("events.message").await.unwrap();
    let with_redis = |settings: &mut Settings| {
        vk_settings(settings);
        settings.bus.redis_url = Some(redis_url.clone());
    };
    let (first, second) = (start(with_redis).await, start(with_redis).await);
    let event = message_new(2_000_000_100, 2002, "said once", 6);
    assert_eq!(callback(&first, &event).await, (200, "ok".into()));
    assert_eq!(callback(&second, &event).await, (200, "ok".into()));
    let mut messages = pubsub.into_on_message();
    let mut published = 0;
    // Both callbacks have returned, so whatever they published is on its way: give it time.
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(1500), messages.next()).await
    {
        let seen: Value = serde_json::from_str(&message.get_payload::<String>().unwrap()).unwrap();
        if seen["event_id"] == event["event_id"] {
            published += 1;
        }
    }
    assert_eq!(published, 1, "the event was handled by both replicas");
    first.stop().await;
    second.stop().await;
}

/// Normalized events reach other services through the real Redis (127.0.0.1:6379) on the
/// channel `events.<type>` (no prefix by default). Skipped without Redis unless
/// `LOGBOT_TEST_REQUIRE_REDIS=1` (set by `.ci/run`).
#[tokio::test]
async fn events_are_seen_on_the_real_redis() {
    use futures_util::StreamExt;
    let Some((redis_url, mut pubsub)) = redis_pubsub().await else {
        return;
    };
    pubsub.subscribe("events.message").await.unwrap();
    let app = start(|settings| {
        vk_settings(settings);
        settings.bus.redis_url = Some(redis_url.clone());
    })
    .await;
    let peer = 2_000_000_000 + i64::from(rand::random::<u16>());
    assert_eq!(
        callback(&app, &message_new(peer, 2002, "over redis", 5)).await,
        (200, "ok".into())
    );
    let mut messages = pubsub.into_on_message();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout_at(deadline, messages.next())
            .await
            .expect("the event on Redis within 10 s")
            .unwrap();
        let event: Value = serde_json::from_str(&message.get_payload::<String>().unwrap()).unwrap();
        if event["peer"]["bpid"] == peer {
            assert_eq!(message.get_channel_name(), "events.message");
            assert_eq!(event["message"]["text"], "over redis");
            break;
        }
    }
    app.stop().await;
}

/// The Long Poll URL carries the server's `key`; a failed poll is logged without it.
#[tokio::test]
async fn a_failed_long_poll_is_logged_without_its_key() {
    let closed = crate::support::process::free_port();
    let router = axum::Router::new().route(
        "/method/groups.getLongPollServer",
        post(move || async move {
            let server = format!("http://127.0.0.1:{closed}/lp");
            axum::Json(json!({"response": {"key": "lp-secret-key", "server": server, "ts": "1"}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("stderr.log");
    let mut child = tokio::process::Command::new(crate::support::process::binary())
        .env("PORT", crate::support::process::free_port().to_string())
        .env("LOGBOT__SERVER__HOST", "127.0.0.1")
        .env("LOGBOT__DATASPACE__DATA_DIR", data.path().join("data"))
        .env("LOGBOT__DELIVERY__WORKER", "false")
        .env("LOGBOT__DELIVERY__VK_API_BASE", &base)
        .env("LOGBOT__VK__LONG_POLL", "true")
        .env("LOGBOT__VK__ACCESS_TOKEN", "community-token")
        .env("LOGBOT__VK__GROUP_ID", GROUP.to_string())
        .env("NO_COLOR", "1")
        .env_remove("DATASPACE_URL")
        .env_remove("LOGBOT_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("VK long poll: request failed") {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed poll logged: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill().await;
    assert!(!text.contains("lp-secret-key"), "{text}");
}
