//! GraphQL over WebSocket on the real app: live `logAdded`, the slow-subscriber guard, the
//! legacy `graphql-ws` subprotocol, limits and the cross-origin guard.

use crate::support::gateway;

use gateway::{
    Received, bus_record, connect, connect_initialised, got_next, receive, receive_json, send,
    start,
};
use logbot_gateway::bus::RECORDS_CHANNEL;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn log_added_streams_committed_records_at_the_level_asked() {
    let gateway = start(&[]).await;
    gateway.register_bot("live").await;
    let mut socket = connect_initialised(&gateway.ws_url()).await;
    send(
        &mut socket,
        json!({"id": "s1", "type": "subscribe", "payload": {
            "query": "subscription($bot: String!) { logAdded(bot: $bot, minLevel: WARNING) { bot level message } }",
            "variables": {"bot": "live"},
        }}),
    )
    .await;
    // The subscription starts listening shortly after the message is read: send until it
    // gets one; the INFO records are below its level and never arrive.
    let deadline = Instant::now() + Duration::from_secs(15);
    let next = loop {
        gateway.send_log("live", "INFO", "too low").await;
        gateway.send_log("live", "ERROR", "boom").await;
        if let Ok(Received::Json(message)) = tokio::time::timeout(
            Duration::from_millis(300),
            receive(&mut socket, Duration::from_secs(1)),
        )
        .await
            && message["type"] != "ping"
        {
            break message;
        }
        assert!(Instant::now() < deadline, "no record arrived");
    };
    assert_eq!(next["id"], "s1", "{next}");
    assert_eq!(next["type"], "next");
    assert_eq!(
        next["payload"]["data"]["logAdded"],
        json!({"bot": "live", "level": "ERROR", "message": "boom"})
    );

    // Unsubscribing, then the id may be used again.
    send(&mut socket, json!({"id": "s1", "type": "complete"})).await;
    send(
        &mut socket,
        json!({"id": "s1", "type": "subscribe", "payload": {"query": "{ __typename }"}}),
    )
    .await;
    assert_eq!(receive_json(&mut socket).await["type"], "next");
    assert_eq!(receive_json(&mut socket).await["type"], "complete");
    gateway.stop().await;
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test]
async fn a_slow_subscriber_is_closed_and_memory_stays_flat() {
    let gateway = start(&[]).await;
    let bus = gateway.running.state.service.bus().clone();
    let mut socket = connect_initialised(&gateway.ws_url()).await;
    send(
        &mut socket,
        json!({"id": "slow", "type": "subscribe", "payload": {
            "query": "subscription { logAdded(bot: \"slow\") { message } }",
        }}),
    )
    .await;
    // Wait until the subscription receives.
    let small = bus_record("slow", 0, "first");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        bus.publish(RECORDS_CHANNEL, &small).await.unwrap();
        if got_next(&mut socket, Duration::from_millis(200)).await {
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never started");
    }

    // The client stops reading; 128 MiB of records are published for it.
    let big = "x".repeat(16 * 1024);
    let before = rss_bytes();
    let mut peak = before;
    for index in 0..8192 {
        bus.publish(RECORDS_CHANNEL, &bus_record("slow", index, &big))
            .await
            .unwrap();
        if index % 256 == 0 {
            tokio::task::yield_now().await;
            peak = peak.max(rss_bytes());
        }
    }
    // Past the slow-client limit (5 s), the server gives up on it.
    tokio::time::sleep(Duration::from_secs(7)).await;
    peak = peak.max(rss_bytes());
    let growth = peak.saturating_sub(before);
    eprintln!(
        "memory growth while the subscriber did not read: {} KiB",
        growth / 1024
    );
    assert!(
        growth < 48 * 1024 * 1024,
        "memory grew by {} MiB while a subscriber did not read",
        growth / (1024 * 1024)
    );

    // Reading again, the client gets what was in flight, then the close with the reason.
    let deadline = Instant::now() + Duration::from_secs(30);
    let close = loop {
        match receive(&mut socket, Duration::from_secs(30)).await {
            Received::Json(_) => {}
            Received::Closed(frame) => break frame,
        }
        assert!(
            Instant::now() < deadline,
            "the slow subscriber was not closed"
        );
    };
    let (code, reason) = close.expect("a close frame");
    eprintln!("closed with {code}: {reason}");
    assert_eq!(code, 1013, "{reason}");
    assert!(
        reason.contains("does not read") || reason.contains("lagged"),
        "{reason}"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn the_legacy_graphql_ws_subprotocol_works() {
    let gateway = start(&[]).await;
    let mut socket = connect(&gateway.ws_url(), "graphql-ws").await;
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {}}),
    )
    .await;
    assert_eq!(receive_json(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({"id": "1", "type": "start", "payload": {"query": "{ __typename }"}}),
    )
    .await;
    let data = receive_json(&mut socket).await;
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(data["payload"]["data"]["__typename"], "Query");
    assert_eq!(receive_json(&mut socket).await["type"], "complete");
    send(
        &mut socket,
        json!({"id": "2", "type": "start", "payload": {"query": "{ nope }"}}),
    )
    .await;
    let error = receive_json(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    assert!(error["payload"]["message"].is_string(), "{error}");
    send(&mut socket, json!({"type": "connection_terminate"})).await;
    assert!(matches!(
        receive(&mut socket, Duration::from_secs(5)).await,
        Received::Closed(_)
    ));
    gateway.stop().await;
}

#[tokio::test]
async fn websocket_limits_and_the_origin_guard() {
    let gateway = start(&[
        ("LOGBOT__LIMITS__WS_CONNECTIONS", "1"),
        ("LOGBOT__LIMITS__WS_SUBSCRIPTIONS_PER_CONNECTION", "1"),
    ])
    .await;
    let mut socket = connect_initialised(&gateway.ws_url()).await;
    let subscription = json!({"query": "subscription { logAdded(bot: \"b\") { message } }"});
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": subscription}),
    )
    .await;
    send(
        &mut socket,
        json!({"id": "2", "type": "subscribe", "payload": subscription}),
    )
    .await;
    let refused = receive_json(&mut socket).await;
    assert_eq!(refused["id"], "2");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED"
    );
    assert!(
        refused["payload"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limit"),
        "{refused}"
    );

    // A second connection is over the limit of 1.
    let mut request = gateway.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503)
        }
        other => panic!("expected 503, got {other:?}"),
    }
    socket.close(None).await.unwrap();
    drop(socket);

    // A page of another site may not open one (the count is free again once closed).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut request = gateway.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let socket = connect_initialised(&gateway.ws_url()).await;
    drop(socket);
    gateway.stop().await;
}

#[tokio::test]
async fn shutting_down_closes_websockets_with_1001_and_mutations_run_over_them() {
    let gateway = start(&[]).await;
    gateway.register_bot("ws").await;
    let mut socket = connect_initialised(&gateway.ws_url()).await;
    send(
        &mut socket,
        json!({"id": "m", "type": "subscribe", "payload": {
            "query": "mutation { sendLog(input: {bot: \"ws\", level: INFO, message: \"over ws\"}) { message } }",
        }}),
    )
    .await;
    let next = receive_json(&mut socket).await;
    assert_eq!(
        next["payload"]["data"]["sendLog"]["message"], "over ws",
        "{next}"
    );
    assert_eq!(receive_json(&mut socket).await["type"], "complete");
    let stopping = tokio::spawn(gateway.stop());
    match receive(&mut socket, Duration::from_secs(10)).await {
        Received::Closed(Some((code, _))) => assert_eq!(code, 1001),
        other => panic!("expected a 1001 close, got {other:?}"),
    }
    stopping.await.unwrap();
}
