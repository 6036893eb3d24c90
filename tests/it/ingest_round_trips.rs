//! What an ingest costs in DataSpace round trips: in steady state a `/send_logs` request or a
//! `sendLogs` makes one (the write), because log users, bots and subscriptions are read from
//! the client's caches; and a change to the subscriptions is seen by the next ingest at once,
//! on this replica and, through the Redis bus, on the others.

use crate::support::common::{TestGateway, start_gateway};
use logbot_gateway::dataspace::operations::Search;
use serde_json::json;
use std::time::{Duration, Instant};

const ADMIN: &str = "rt-admin";
const AUTH: &str = "round-trip-auth-token";
const PASSWORD: &str = "round trip password";

/// Nothing in the background calls DataSpace, so every call counted is a request's.
fn quiet(settings: &mut logbot_gateway::config::Settings) {
    settings.bots.admins = vec![ADMIN.into()];
    settings.delivery.worker = false;
    settings.telegram.updates = logbot_gateway::config::TelegramUpdates::Off;
}

/// Every DataSpace call this gateway made so far, from its `/metrics`.
async fn dataspace_calls(gw: &TestGateway) -> u64 {
    let text = reqwest::get(gw.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("logbot_dataspace_calls_total{"))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

async fn subscribe(gw: &TestGateway, chat: &str) {
    let answer = gw
        .data(
            "mutation($s: SubscribeChatInput!) { subscribeChat(input: $s) { chatId } }",
            json!({"s": {"authToken": AUTH, "chatId": chat}}),
        )
        .await;
    assert_eq!(answer["subscribeChat"]["chatId"], chat, "{answer}");
}

async fn send_logs(gw: &TestGateway, message: &str) {
    let answer = gw
        .data(
            "mutation($m: String!) { sendLogs(bot: \"rt\", records: [{level: ERROR, message: $m}]) { accepted } }",
            json!({"m": message}),
        )
        .await;
    assert_eq!(answer["sendLogs"]["accepted"], 1, "{answer}");
}

async fn deliveries_to(gw: &TestGateway, chat: &str) -> usize {
    let search = Search {
        cond: Some(format!("it.chatId == '{chat}'")),
        limit: Some(1000),
        ..Default::default()
    };
    let client = gw.running.state.service.client();
    client.search_deliveries(search).await.unwrap().elems.len()
}

#[tokio::test]
async fn an_ingest_costs_one_dataspace_round_trip_in_steady_state() {
    let gw = start_gateway(quiet).await;
    gw.register(ADMIN, "rt", AUTH).await;
    subscribe(&gw, "501").await;
    let created = gw
        .data(
            "mutation($p: String!) { createLogUser(username: \"rt-user\", password: $p, bot: \"rt\") { username } }",
            json!({"p": PASSWORD}),
        )
        .await;
    assert_eq!(created["createLogUser"]["username"], "rt-user", "{created}");
    let token = logbot_gateway::domain::secrets::user_token("rt-user", PASSWORD);
    let http = reqwest::Client::new();
    let send = |n: usize| {
        let body = json!({"data": {"user": "rt-user", "pid": 1, "p_name": "rt",
            "post_time": "2026-12-02T10:00:00", "logs": (0..10).map(|i| json!({
                "level": 40, "msg": format!("r{n}-{i}"), "event_at": "2026-12-02T10:00:00"}))
                .collect::<Vec<_>>()}});
        http.post(gw.url("/send_logs"))
            .header("x-user-token", token.clone())
            .json(&body)
            .send()
    };
    // The first request fills the caches.
    assert_eq!(send(0).await.unwrap().status(), 200);
    send_logs(&gw, "warm").await;

    let requests = 20;
    let (before, started) = (dataspace_calls(&gw).await, Instant::now());
    for n in 1..=requests {
        assert_eq!(send(n).await.unwrap().status(), 200);
        send_logs(&gw, &format!("g{n}")).await;
    }
    let calls = dataspace_calls(&gw).await - before;
    // One write per request; a cache entry that expired during a slow run costs one more read.
    let expiries = (started.elapsed().as_secs() / 5 + 1) * 3;
    assert!(
        calls >= 2 * requests as u64 && calls <= 2 * requests as u64 + expiries,
        "{calls} DataSpace calls for {} ingests",
        2 * requests
    );
    // Every record still reached its subscribed chat.
    assert_eq!(deliveries_to(&gw, "501").await, (requests + 1) * 11);
    gw.stop().await;
}

#[tokio::test]
async fn a_new_or_ended_subscription_applies_to_the_next_ingest() {
    let gw = start_gateway(quiet).await;
    gw.register(ADMIN, "rt", AUTH).await;
    send_logs(&gw, "before anyone listens").await;
    subscribe(&gw, "601").await;
    send_logs(&gw, "first for 601").await;
    assert_eq!(deliveries_to(&gw, "601").await, 1);
    let answer = gw
        .data(
            "mutation($s: UnsubscribeChatInput!) { unsubscribeChat(input: $s) }",
            json!({"s": {"authToken": AUTH, "chatId": "601"}}),
        )
        .await;
    assert_eq!(answer["unsubscribeChat"], true, "{answer}");
    send_logs(&gw, "after 601 left").await;
    assert_eq!(deliveries_to(&gw, "601").await, 1);
    gw.stop().await;
}

/// Two replicas on one DataSpace and the real Redis: a chat subscribed through one is queued
/// by the other's next ingest well before that replica's cache entry would have expired.
#[tokio::test]
async fn a_subscription_made_on_one_replica_is_seen_by_the_other_at_once() {
    let Some(redis_url) = crate::support::redis::url_or_skip() else {
        return;
    };
    let dataspace = crate::support::dataspace::start().await;
    let prefix = crate::support::redis::unique_prefix();
    let replica = || {
        start_gateway(|s| {
            quiet(s);
            s.dataspace.url = Some(dataspace.running.url.parse().unwrap());
            s.dataspace.app_key = Some(crate::support::dataspace::KEY.into());
            s.dataspace.app_secret = Some(crate::support::dataspace::SECRET.into());
            s.bus.redis_url = Some(redis_url.clone());
            s.bus.channel_prefix = Some(prefix.clone());
        })
    };
    let (first, second) = (replica().await, replica().await);
    first.register(ADMIN, "rt", AUTH).await;
    // The second replica caches "no subscriptions" for the bot.
    send_logs(&second, "cached empty").await;
    subscribe(&first, "701").await;
    let started = Instant::now();
    let mut sent = 0;
    while deliveries_to(&second, "701").await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the second replica still queued nothing for the new chat after {sent} ingests"
        );
        send_logs(&second, "for 701").await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.stop().await;
    second.stop().await;
}
