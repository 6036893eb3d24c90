//! WebSocket subscribers of the same subscription share one execution of it (a feed,
//! `src/api/feeds.rs`), on the real app: each still gets every record at its own level, one
//! leaving does not stop the others, a slow one is closed alone, and a feed stops with its
//! last subscriber.

use crate::support::gateway;

use gateway::{
    Received, Socket, TestGateway, bus_record, connect_initialised, got_next, receive, send, start,
};
use logbot_gateway::bus::RECORDS_CHANNEL;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LOG_ADDED: &str = "subscription($bot: String!, $level: LogLevel) { logAdded(bot: $bot, minLevel: $level) { level message } }";

async fn subscribe(socket: &mut Socket, id: &str, variables: Value) {
    send(
        socket,
        json!({"id": id, "type": "subscribe", "payload": {"query": LOG_ADDED, "variables": variables}}),
    )
    .await;
}

/// Waits until `count` feeds run.
async fn wait_for_feeds(gateway: &TestGateway, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while gateway.running.state.schema.running_feeds() != count {
        assert!(
            Instant::now() < deadline,
            "{} feeds run, not {count}",
            gateway.running.state.schema.running_feeds()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next `next` message's `(level, message)`, keep-alives skipped.
async fn next_record(socket: &mut Socket) -> (String, String) {
    loop {
        match receive(socket, Duration::from_secs(10)).await {
            Received::Json(message) if message["type"] == "ping" => continue,
            Received::Json(message) => {
                assert_eq!(message["type"], "next", "{message}");
                let record = &message["payload"]["data"]["logAdded"];
                return (
                    record["level"].as_str().unwrap().to_owned(),
                    record["message"].as_str().unwrap().to_owned(),
                );
            }
            Received::Closed(frame) => panic!("closed: {frame:?}"),
        }
    }
}

/// The messages a socket gets up to and including `last`, after the warm-up records.
async fn messages_until(socket: &mut Socket, last: &str) -> Vec<String> {
    let mut messages = Vec::new();
    loop {
        let (_, message) = next_record(socket).await;
        if message.starts_with("warm") {
            continue;
        }
        let done = message == last;
        messages.push(message);
        if done {
            return messages;
        }
    }
}

#[tokio::test]
async fn subscribers_of_one_subscription_share_a_feed_and_each_gets_every_record() {
    let gateway = start(&[]).await;
    gateway.register_bot("shared").await;
    let url = gateway.ws_url();
    let (mut first, mut second, mut errors_only) = (
        connect_initialised(&url).await,
        connect_initialised(&url).await,
        connect_initialised(&url).await,
    );
    subscribe(&mut first, "a", json!({"bot": "shared"})).await;
    subscribe(&mut second, "b", json!({"bot": "shared"})).await;
    subscribe(
        &mut errors_only,
        "c",
        json!({"bot": "shared", "level": "ERROR"}),
    )
    .await;
    // Same document and variables: one feed; other variables: another.
    wait_for_feeds(&gateway, 2).await;

    // Warm up until each feed listens (it starts shortly after it is made).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut warm = 0;
    for socket in [&mut first, &mut second, &mut errors_only] {
        loop {
            warm += 1;
            gateway
                .send_log("shared", "ERROR", &format!("warm {warm}"))
                .await;
            if got_next(socket, Duration::from_millis(300)).await {
                break;
            }
            assert!(Instant::now() < deadline, "a subscription never started");
        }
    }

    gateway.send_log("shared", "INFO", "one").await;
    gateway.send_log("shared", "ERROR", "two").await;
    gateway.send_log("shared", "WARNING", "three").await;
    gateway.send_log("shared", "ERROR", "four").await;
    assert_eq!(
        messages_until(&mut first, "four").await,
        ["one", "two", "three", "four"]
    );
    assert_eq!(
        messages_until(&mut second, "four").await,
        ["one", "two", "three", "four"]
    );
    assert_eq!(
        messages_until(&mut errors_only, "four").await,
        ["two", "four"]
    );

    // One subscriber leaves: the other still gets records from the same feed.
    send(&mut second, json!({"id": "b", "type": "complete"})).await;
    gateway.send_log("shared", "INFO", "five").await;
    assert_eq!(messages_until(&mut first, "five").await, ["five"]);
    assert_eq!(gateway.running.state.schema.running_feeds(), 2);

    // The feed stops with its last subscriber; the other feed goes on.
    drop(first);
    wait_for_feeds(&gateway, 1).await;
    gateway.send_log("shared", "ERROR", "six").await;
    assert_eq!(messages_until(&mut errors_only, "six").await, ["six"]);
    send(&mut errors_only, json!({"id": "c", "type": "complete"})).await;
    wait_for_feeds(&gateway, 0).await;

    // Subscribing again starts a new feed.
    subscribe(&mut second, "b", json!({"bot": "shared"})).await;
    wait_for_feeds(&gateway, 1).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_slow_subscriber_of_a_shared_feed_is_closed_alone() {
    let gateway = start(&[]).await;
    let bus = gateway.running.state.service.bus().clone();
    let url = gateway.ws_url();
    let (mut reader, mut sleeper) = (
        connect_initialised(&url).await,
        connect_initialised(&url).await,
    );
    subscribe(&mut reader, "r", json!({"bot": "crowd"})).await;
    subscribe(&mut sleeper, "s", json!({"bot": "crowd"})).await;
    wait_for_feeds(&gateway, 1).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        bus.publish(RECORDS_CHANNEL, &bus_record("crowd", 0, "warm"))
            .await
            .unwrap();
        if got_next(&mut reader, Duration::from_millis(200)).await {
            break;
        }
        assert!(Instant::now() < deadline, "the feed never started");
    }

    // `reader` reads everything while `sleeper` reads nothing. The records are published at
    // the reader's pace (at most 64 ahead of it), far past what the sleeper may fall behind,
    // and large enough (24 MiB in all) that the socket buffers do not hold them.
    const RECORDS: usize = 1500;
    let padding = "x".repeat(16 * 1024);
    let read = Arc::new(AtomicUsize::new(0));
    let reading = tokio::spawn({
        let read = read.clone();
        async move {
            for index in 1..=RECORDS {
                loop {
                    let (_, message) = next_record(&mut reader).await;
                    if message != "warm" {
                        let number = message.split(' ').next().unwrap_or_default();
                        assert_eq!(number, format!("{index:05}"), "in order, none missed");
                        break;
                    }
                }
                read.store(index, Ordering::Release);
            }
            reader
        }
    });
    for index in 1..=RECORDS {
        while index > read.load(Ordering::Acquire) + 64 {
            assert!(!reading.is_finished(), "the reader stopped at {index}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        bus.publish(
            RECORDS_CHANNEL,
            &bus_record("crowd", index, &format!("{index:05} {padding}")),
        )
        .await
        .unwrap();
    }
    let mut reader = tokio::time::timeout(Duration::from_secs(30), reading)
        .await
        .expect("the reader got every record")
        .unwrap();

    // The sleeper, reading at last, gets what was in flight and then the close.
    let deadline = Instant::now() + Duration::from_secs(30);
    let close = loop {
        match receive(&mut sleeper, Duration::from_secs(30)).await {
            Received::Json(_) => {}
            Received::Closed(frame) => break frame,
        }
        assert!(Instant::now() < deadline, "the sleeper was not closed");
    };
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, 1013, "{reason}");
    assert!(
        reason.contains("lagged") || reason.contains("does not read"),
        "{reason}"
    );
    // The reader's subscription is still live.
    bus.publish(RECORDS_CHANNEL, &bus_record("crowd", RECORDS + 1, "after"))
        .await
        .unwrap();
    assert_eq!(next_record(&mut reader).await.1, "after");
    assert_eq!(gateway.running.state.schema.running_feeds(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn subscribers_of_a_document_that_fails_validation_each_get_the_error() {
    let gateway = start(&[]).await;
    let url = gateway.ws_url();
    let query = "subscription { logAdded(bot: \"x\") { noSuchField } }";
    // Both subscribe before either reads: they may share the feed that fails.
    let mut sockets = Vec::new();
    for id in ["one", "two"] {
        let mut socket = connect_initialised(&url).await;
        send(
            &mut socket,
            json!({"id": id, "type": "subscribe", "payload": {"query": query}}),
        )
        .await;
        sockets.push((id, socket));
    }
    for (id, mut socket) in sockets {
        let Received::Json(message) = receive(&mut socket, Duration::from_secs(10)).await else {
            panic!("closed");
        };
        assert_eq!(message["type"], "error", "{message}");
        assert_eq!(message["id"], id, "{message}");
        let error = &message["payload"][0];
        assert!(
            error["message"].as_str().unwrap().contains("noSuchField"),
            "{message}"
        );
        assert_eq!(
            error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{message}"
        );
        assert!(error["extensions"]["requestId"].is_string(), "{message}");
    }
    wait_for_feeds(&gateway, 0).await;
    gateway.stop().await;
}

#[tokio::test]
async fn distinct_subscriptions_past_ws_feeds_are_refused_and_the_same_one_still_joins() {
    let gateway = start(&[("LOGBOT__LIMITS__WS_FEEDS", "1")]).await;
    let url = gateway.ws_url();
    let (mut first, mut second, mut other) = (
        connect_initialised(&url).await,
        connect_initialised(&url).await,
        connect_initialised(&url).await,
    );
    subscribe(&mut first, "a", json!({"bot": "one"})).await;
    wait_for_feeds(&gateway, 1).await;
    // The same subscription joins the running feed; another is refused.
    subscribe(&mut second, "b", json!({"bot": "one"})).await;
    subscribe(&mut other, "c", json!({"bot": "two"})).await;
    let Received::Json(refusal) = receive(&mut other, Duration::from_secs(10)).await else {
        panic!("closed");
    };
    assert_eq!(refusal["type"], "error", "{refusal}");
    assert_eq!(refusal["id"], "c", "{refusal}");
    assert_eq!(
        refusal["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{refusal}"
    );
    let message = refusal["payload"][0]["message"].as_str().unwrap();
    assert!(message.contains("ws_feeds"), "{message}");
    assert_eq!(gateway.running.state.schema.running_feeds(), 1);

    // Both subscribers of the running feed get its records: the join was not refused.
    gateway.register_bot("one").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    for socket in [&mut first, &mut second] {
        loop {
            gateway.send_log("one", "INFO", "warm").await;
            if got_next(socket, Duration::from_millis(300)).await {
                break;
            }
            assert!(Instant::now() < deadline, "a subscriber got no record");
        }
    }

    // Once that feed stops, the other subscription may start.
    drop((first, second));
    wait_for_feeds(&gateway, 0).await;
    subscribe(&mut other, "c", json!({"bot": "two"})).await;
    wait_for_feeds(&gateway, 1).await;
    gateway.stop().await;
}

/// Subscribes `socket` to `bot` and waits until records reach it.
async fn subscribe_live(gateway: &TestGateway, socket: &mut Socket, bot: &str) {
    subscribe(socket, "live", json!({"bot": bot})).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        gateway.send_log(bot, "INFO", "warm").await;
        if got_next(socket, Duration::from_millis(300)).await {
            return;
        }
        assert!(Instant::now() < deadline, "the subscription never started");
    }
}

#[tokio::test]
async fn a_subscriber_that_reads_gets_every_record_of_the_largest_batch() {
    let gateway = start(&[]).await;
    gateway.register_bot("burst").await;
    let url = gateway.ws_url();
    let (mut first, mut second) = (
        connect_initialised(&url).await,
        connect_initialised(&url).await,
    );
    subscribe_live(&gateway, &mut first, "burst").await;
    subscribe_live(&gateway, &mut second, "burst").await;
    // `[limits] max_records_per_batch` (1000) records in one commit: far more than a
    // subscriber may fall behind (256), yet each is one announcement.
    let records: Vec<Value> = (0..1000)
        .map(|n| json!({"level": "INFO", "message": format!("r{n}")}))
        .collect();
    let (status, body) = gateway
        .post(json!({
            "query": "mutation($r: [LogRecordInput!]!) { sendLogs(bot: \"burst\", records: $r) { accepted } }",
            "variables": {"r": records},
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["sendLogs"]["accepted"], 1000, "{body}");
    let expected: Vec<String> = (0..1000).map(|n| format!("r{n}")).collect();
    for socket in [&mut first, &mut second] {
        assert_eq!(messages_until(socket, "r999").await, expected);
    }
    gateway.stop().await;
}

#[tokio::test]
async fn subscribers_coming_and_going_at_once_leave_no_feed_behind() {
    let gateway = start(&[]).await;
    let bus = gateway.running.state.service.bus().clone();
    let url = gateway.ws_url();
    let publishing = tokio::spawn(async move {
        for index in 0..2000 {
            bus.publish(RECORDS_CHANNEL, &bus_record("crowd", index, "churn"))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    // Twenty clients subscribe to the same subscription and leave again, fifty times each,
    // so that feeds are joined while their last subscriber is leaving.
    let clients: Vec<_> = (0..20)
        .map(|client| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut socket = connect_initialised(&url).await;
                for round in 0..50 {
                    let id = format!("s{round}");
                    subscribe(&mut socket, &id, json!({"bot": "crowd"})).await;
                    if (client + round) % 3 == 0 {
                        tokio::task::yield_now().await;
                    }
                    send(&mut socket, json!({"id": id, "type": "complete"})).await;
                }
                socket
            })
        })
        .collect();
    let mut sockets = Vec::new();
    for client in clients {
        sockets.push(client.await.unwrap());
    }
    wait_for_feeds(&gateway, 0).await;

    // The next subscriber still gets records.
    let mut last = connect_initialised(&url).await;
    subscribe(&mut last, "last", json!({"bot": "crowd"})).await;
    wait_for_feeds(&gateway, 1).await;
    let (_, message) = next_record(&mut last).await;
    assert_eq!(message, "churn");
    publishing.abort();
    drop(sockets);
    gateway.stop().await;
}
