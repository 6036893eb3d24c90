//! Limits a caller reaches through the doors: subscriptions per bot, deliveries per batch,
//! password length, trigger batches, and `/send_logs` storing a request all or nothing.

use crate::support::common::error_code;
use crate::support::doors::{App, start};
use logbot_gateway::dataspace::operations::NewChatSubscription;
use serde_json::{Value, json};

const AUTH: &str = "limits-auth-token-1";

async fn subscribe(app: &App, chat: &str) -> Value {
    app.graphql(
        "mutation($s: SubscribeChatInput!) { subscribeChat(input: $s) { chatId } }",
        json!({"s": {"authToken": AUTH, "chatId": chat}}),
    )
    .await
}

async fn send_logs(app: &App, count: usize) -> Value {
    let records: Vec<Value> = (0..count)
        .map(|i| json!({"level": "ERROR", "message": format!("m{i}")}))
        .collect();
    app.graphql(
        "mutation($r: [LogRecordInput!]!) { sendLogs(bot: \"limited\", records: $r) { accepted } }",
        json!({"r": records}),
    )
    .await
}

#[tokio::test]
async fn a_bot_has_at_most_its_subscriptions_and_a_batch_at_most_its_deliveries() {
    let app = start(|s| {
        s.limits.subscriptions_per_bot = 2;
        s.limits.deliveries_per_batch = 5;
    })
    .await;
    app.register_bot_with_auth("limited", AUTH).await;
    for chat in ["101", "102"] {
        let answer = subscribe(&app, chat).await;
        assert_eq!(answer["data"]["subscribeChat"]["chatId"], chat, "{answer}");
    }
    let third = subscribe(&app, "103").await;
    assert_eq!(error_code(&third), "LIMIT_REACHED", "{third}");
    assert!(
        third.to_string().contains("subscriptions_per_bot"),
        "{third}"
    );
    // A chat already subscribed may subscribe again (it adds nothing).
    let again = subscribe(&app, "101").await;
    assert_eq!(again["data"]["subscribeChat"]["chatId"], "101", "{again}");

    // 3 records to 2 chats are 6 deliveries, over 5: refused before anything is written.
    let over = send_logs(&app, 3).await;
    assert_eq!(error_code(&over), "LIMIT_REACHED", "{over}");
    assert!(over.to_string().contains("deliveries_per_batch"), "{over}");
    assert!(app.logs("limited").await.is_empty());
    let within = send_logs(&app, 2).await;
    assert_eq!(within["data"]["sendLogs"]["accepted"], 2, "{within}");
}

/// The finding at full scale, with the default limits: 1,000 subscribed chats (the most a bot
/// may have) and 100 records, which was one 100,000-delivery packet, an
/// `INTERNAL_SERVER_ERROR` and 455 MiB; and the largest batch the defaults let through (10
/// records to 1,000 chats, 10,000 deliveries), which the embedded DataSpace must take whole.
/// The request and DataSpace deadlines are raised: this debug build on a shared machine needs
/// about 1 ms per delivery (the release build far less, see the README); speed is the
/// benchmarks' business.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_chats_times_a_hundred_records_is_refused_and_the_largest_allowed_batch_is_stored()
 {
    let app = start(|s| {
        s.limits.request_timeout = std::time::Duration::from_secs(300);
        s.dataspace.timeout = std::time::Duration::from_secs(120);
    })
    .await;
    app.register_bot_with_auth("limited", AUTH).await;
    let first = subscribe(&app, "-1000").await;
    assert_eq!(first["data"]["subscribeChat"]["chatId"], "-1000", "{first}");
    // 998 more written straight through the DataSpace client, as the service writes one (each
    // subscribeChat checks the auth token's slow hash, a third of a second here).
    let database = rusqlite::Connection::open(app.data_dir().join("dataspace.sqlite")).unwrap();
    let (bot, created_at): (String, String) = database
        .query_row(
            "SELECT CAST(bot AS TEXT), createdAt FROM ChatSubscription",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let more: Vec<NewChatSubscription> = (1..999)
        .map(|chat| NewChatSubscription {
            bot: bot.clone(),
            chat_id: format!("-100{chat}"),
            min_level: "INFO".into(),
            active: true,
            created_at: created_at.clone(),
            ..Default::default()
        })
        .collect();
    app.running
        .state
        .service
        .client()
        .create_subscriptions(more, None)
        .await
        .unwrap();
    let last = subscribe(&app, "-100999").await;
    assert_eq!(last["data"]["subscribeChat"]["chatId"], "-100999", "{last}");
    let over_cap = subscribe(&app, "-1001000").await;
    assert_eq!(error_code(&over_cap), "LIMIT_REACHED", "{over_cap}");

    let flood = send_logs(&app, 100).await;
    assert_eq!(error_code(&flood), "LIMIT_REACHED", "{flood}");
    let text = flood.to_string();
    assert!(
        text.contains("queue 100000 deliveries"),
        "names the deliveries: {text}"
    );
    assert!(app.logs("limited").await.is_empty(), "nothing written");

    let largest = send_logs(&app, 10).await;
    assert_eq!(largest["data"]["sendLogs"]["accepted"], 10, "{largest}");
    assert_eq!(app.logs("limited").await.len(), 10);
    let queued: i64 = database
        .query_row("SELECT COUNT(*) FROM Delivery", [], |row| row.get(0))
        .unwrap();
    assert_eq!(queued, 10_000, "every record queued to every chat, once");
}

#[tokio::test]
async fn a_password_longer_than_the_limit_is_refused() {
    let app = start(|s| s.limits.password_chars = 20).await;
    let answer = app
        .graphql(
            "mutation($p: String!) { createLogUser(username: \"long\", password: $p) { username } }",
            json!({"p": "p".repeat(21)}),
        )
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(answer.to_string().contains("password_chars"), "{answer}");
    let answer = app
        .graphql(
            "mutation($p: String!) { createLogUser(username: \"long\", password: $p) { username } }",
            json!({"p": "p".repeat(20)}),
        )
        .await;
    assert_eq!(
        answer["data"]["createLogUser"]["username"], "long",
        "{answer}"
    );
}

#[tokio::test]
async fn a_trigger_batch_over_the_limit_is_refused_whole() {
    let app = start(|s| s.limits.messages_per_batch = 3).await;
    let messages = |n: usize| json!({"messages": vec![json!({}); n]});
    let (status, body) = app.post_json("/", &messages(4)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.to_string().contains("messages_per_batch"), "{body}");
    let (status, body) = app.post_json("/", &messages(3)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn send_logs_stores_a_request_all_or_nothing_and_a_retry_once() {
    let app = start(|s| s.limits.max_records_per_batch = 5).await;
    app.register_bot_with_auth("limited", AUTH).await;
    let created = app
        .graphql(
            "mutation { createLogUser(username: \"sender\", password: \"sender-password\", bot: \"limited\") { username } }",
            json!({}),
        )
        .await;
    assert_eq!(
        created["data"]["createLogUser"]["username"], "sender",
        "{created}"
    );
    let token = logbot_gateway::domain::secrets::user_token("sender", "sender-password");
    let post = |count: usize| {
        let logs: Vec<Value> = (0..count)
            .map(|i| json!({"level": 40, "message": format!("m{i}"), "event_at": "2026-12-01T10:00:00"}))
            .collect();
        app.http
            .post(app.url("/send_logs"))
            .header("x-user-token", &token)
            .json(&json!({"data": {"user": "sender", "logs": logs}}))
            .send()
    };
    // Over the batch limit: refused whole, where it used to be split and stored in parts.
    let over = post(7).await.unwrap();
    assert_eq!(over.status(), 400);
    assert!(app.logs("limited").await.is_empty());
    // The same request twice (a retry after a lost answer) is stored once.
    for _ in 0..2 {
        assert_eq!(post(3).await.unwrap().status(), 200);
    }
    assert_eq!(app.logs("limited").await.len(), 3);
}

#[tokio::test]
async fn refused_subscriptions_write_a_bounded_number_of_audit_events() {
    let app = start(|s| s.limits.audit_refusals_per_minute = 2).await;
    for _ in 0..6 {
        let answer = app
            .graphql(
                "mutation { subscribeChat(input: {authToken: \"no-such-token-1\", chatId: \"5550\"}) { chatId } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
    }
    let audit = app
        .running
        .state
        .service
        .client()
        .find_audit_events_by_actor("5550", 100, 0)
        .await
        .unwrap();
    assert_eq!(audit.count, 2, "{:?}", audit.elems);
}
