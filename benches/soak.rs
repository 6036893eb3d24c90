//! Load and soak: mixed traffic for N minutes against the gateway binary (embedded DataSpace,
//! loopback only, no delivery worker), sampling the gateway's RSS and open file descriptors
//! every 10 s and printing the curve as a table. Memory should be flat after the warm-up.
//!
//! Traffic, each from its own sequential client so the load is bounded: `sendLogs` batches on
//! `/graphql`, LOGGER_INFO and a direct `send-log` on `POST /`, `/send_logs`, a Web PubSub
//! `sendlog` on `/eventhandler`, VK `message_new` on `/events/vk`, `logs` searches (a filter,
//! `contains`, a second page), 200 WebSocket subscribers of `logAdded` that read everything,
//! and one subscriber that reads nothing.
//!
//! Run (release): `cargo bench --bench soak`; settings by environment: `SOAK_MINUTES`
//! (default 10), `SOAK_SUBSCRIBERS` (200), `SOAK_SAMPLE_SECS` (10), `SOAK_PAUSE_MS` (pause
//! between one client's requests, 5), `SOAK_SEED_RECORDS` (records stored before the clock
//! starts, 100,000: a database past SQLite's page caches, so that they fill in the warm-up
//! as they would in service, and do not pass for growth), `SOAK_BIN` (the binary; default the
//! one Cargo built).
//! A quick check against the debug build: `SOAK_MINUTES=1 cargo test --bench soak`.

use futures_util::{SinkExt, StreamExt};
#[path = "support/loopback.rs"]
mod loopback;

use loopback::{Process, graphql, setting};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const HUB: &str = "soak";
const WPS_KEY: &str = "soak-access-key";
const VK_SECRET: &str = "soak-vk-secret";
const BOT: &str = "soak";
const USER: &str = "soak-user";
const PASSWORD: &str = "soak-password";

/// Requests answered, by outcome, over the whole run.
#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    received: AtomicU64,
}

async fn start_gateway() -> Process {
    loopback::start_gateway(
        "SOAK_BIN",
        "soak-admin",
        Duration::from_secs(30),
        |command| {
            command
                .env("LOGBOT__WEBPUBSUB__HUB", HUB)
                .env("LOGBOT__WEBPUBSUB__ACCESS_KEYS", WPS_KEY)
                .env("LOGBOT__VK__CONFIRMATION", "soak-confirm")
                .env("LOGBOT__VK__SECRET", VK_SECRET)
                .env("LOGBOT__VK__GROUP_ID", "77")
                .env("LOGBOT__SEND_LOGS__DEFAULT_BOT", BOT);
        },
    )
    .await
}

fn wps_signature(connection: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WPS_KEY.as_bytes()).unwrap();
    mac.update(connection.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The request door `door` sends as its `n`th.
fn request(http: &reqwest::Client, base: &str, door: usize, n: u64) -> reqwest::RequestBuilder {
    let message = format!("soak {door} {n}");
    match door {
        0 => http.post(format!("{base}/graphql")).json(&json!({
            "query": "mutation($r: [LogRecordInput!]!) { sendLogs(bot: \"soak\", records: $r) { accepted } }",
            "variables": {"r": (0..10).map(|i| json!({"level": "INFO", "message": format!("{message}.{i}")})).collect::<Vec<_>>()}})),
        1 => http.post(format!("{base}/")).json(&json!({"MESSAGE_NAME": "LOGGER_INFO",
            "DATA": {"log_info": format!("RP{n}| 14.08.2022 15:00| 500"), "bot_type": BOT}})),
        2 => http.post(format!("{base}/")).json(&json!({"parameters": {"bot": BOT, "message": message, "level": 40},
            "context": {"headers": {}, "package": "logbot", "function": "send-log"}})),
        3 => http
            .post(format!("{base}/send_logs"))
            .header("x-user-token", logbot_gateway::domain::secrets::user_token(USER, PASSWORD))
            .json(&json!({"data": {"user": USER, "pid": 1, "p_name": "soak",
                "logs": [{"level": 40, "msg": message, "event_at": "2026-11-22T08:00:00"}]}})),
        4 => http
            .post(format!("{base}/eventhandler"))
            .header("content-type", "application/json")
            .header("ce-specversion", "1.0")
            .header("ce-awpsversion", "1.0")
            .header("ce-type", "azure.webpubsub.user.sendlog")
            .header("ce-eventName", "sendlog")
            .header("ce-connectionId", "soak-conn")
            .header("ce-hub", HUB)
            .header("ce-userId", "soak-user")
            .header("ce-signature", wps_signature("soak-conn"))
            .body(json!({"bot": BOT, "records": [{"level": 30, "message": message}]}).to_string()),
        5 => http.post(format!("{base}/events/vk")).json(&json!({"type": "message_new",
            "event_id": format!("soak-{n}"), "v": "5.199", "group_id": 77, "secret": VK_SECRET,
            "object": {"message": {"date": 1_700_000_000, "from_id": 5, "id": 0, "out": 0,
                "peer_id": 5, "text": message, "conversation_message_id": n}}})),
        _ => {
            let contains = format!("soak {} ", n % 5);
            http.post(format!("{base}/graphql")).json(&json!({
                "query": "query($c: String) { first: logs(filter: {bot: \"soak\", minLevel: INFO}, first: 10) { totalCount pageInfo { endCursor } edges { node { id message } } } found: logs(filter: {bot: \"soak\", contains: $c}, first: 5) { edges { node { id } } } }",
                "variables": {"c": contains}}))
        }
    }
}

/// Sends door `door`'s requests one after another until `stop`.
async fn client(
    base: String,
    door: usize,
    pause: Duration,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let answered = request(&http, &base, door, n).send().await;
        let ok = match answered {
            Ok(response) => {
                let ok = response.status().is_success();
                let body = response.text().await.unwrap_or_default();
                ok && !body.contains("\"errors\"")
            }
            Err(_) => false,
        };
        let counter = if ok { &counters.ok } else { &counters.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        n += 1;
        tokio::time::sleep(pause).await;
    }
}

async fn subscribe(
    base: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("{}/graphql", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    for message in [
        json!({"type": "connection_init"}),
        json!({"id": "live", "type": "subscribe", "payload": {"query": "subscription { logAdded(bot: \"soak\") { id level message } }"}}),
    ] {
        socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }
    socket
}

/// A subscriber that reads everything it is sent, counting `next` messages.
async fn reader(base: String, counters: Arc<Counters>, stop: Arc<AtomicBool>) {
    let mut socket = subscribe(&base).await;
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) if text.contains("\"next\"") => {
                counters.received.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(Ok(_))) | Err(_) => {}
            // Closed (the gateway's slow-client rule, say): come back, as a client would.
            Ok(_) => socket = subscribe(&base).await,
        }
    }
}

/// One sample of the gateway process: RSS and its anonymous part (heap and stacks; the rest is
/// mapped files such as the binary and SQLite's WAL index) in KiB, and open file descriptors
/// (Linux `/proc`).
fn sample(pid: u32) -> (u64, u64, usize) {
    let kib = |file: &str, key: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count());
    (
        kib("status", "VmRSS:"),
        kib("smaps_rollup", "Anonymous:"),
        fds,
    )
}

/// SQLite's own heap in the gateway (its page caches fill as the database grows), from
/// `/metrics`; in KiB.
async fn sqlite_kib(http: &reqwest::Client, base: &str) -> u64 {
    let Ok(answer) = http.get(format!("{base}/metrics")).send().await else {
        return 0;
    };
    answer
        .text()
        .await
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("logbot_sqlite_memory_bytes "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |bytes| (bytes / 1024.0) as u64)
}

/// Stores `records` records in the soak bot, in batches of 500, before the measured run.
async fn seed(http: &reqwest::Client, base: &str, records: u64) {
    const BATCH: u64 = 500;
    for first in (0..records).step_by(BATCH as usize) {
        let batch: Vec<Value> = (first..records.min(first + BATCH))
            .map(|n| json!({"level": "INFO", "message": format!("seed record {n} of the soak's warm database")}))
            .collect();
        let answer = graphql(http, base,
            "mutation($r: [LogRecordInput!]!) { sendLogs(bot: \"soak\", records: $r) { accepted } }",
            json!({"r": batch})).await;
        assert!(answer["errors"].is_null(), "seeding failed: {answer}");
    }
}

fn main() {
    let minutes = setting("SOAK_MINUTES", 10);
    let subscribers = setting("SOAK_SUBSCRIBERS", 200) as usize;
    let every = Duration::from_secs(setting("SOAK_SAMPLE_SECS", 10).max(1));
    let pause = Duration::from_millis(setting("SOAK_PAUSE_MS", 5));
    let seed_records = setting("SOAK_SEED_RECORDS", 100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let gateway = start_gateway().await;
        let base = gateway.base.clone();
        let http = reqwest::Client::new();
        let registered = graphql(&http, &base,
            "mutation { registerBot(input: {adminUid: \"soak-admin\", name: \"soak\", botToken: \"1:soak\", authToken: \"soak-auth-token\"}) { name } }",
            json!({})).await;
        assert_eq!(registered["data"]["registerBot"]["name"], BOT, "{registered}");
        let user = graphql(&http, &base,
            "mutation($u: String!, $p: String!) { createLogUser(username: $u, password: $p, bot: \"soak\") { username } }",
            json!({"u": USER, "p": PASSWORD})).await;
        assert_eq!(user["data"]["createLogUser"]["username"], USER, "{user}");
        let seeding = Instant::now();
        seed(&http, &base, seed_records).await;
        println!("seeded {seed_records} records in {:.1} s", seeding.elapsed().as_secs_f64());

        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for _ in 0..subscribers {
            tasks.push(tokio::spawn(reader(base.clone(), counters.clone(), stop.clone())));
        }
        // Subscribes, then reads nothing: the gateway must not buffer for it without bound.
        let slow = subscribe(&base).await;
        for door in 0..7 {
            tasks.push(tokio::spawn(client(base.clone(), door, pause, counters.clone(), stop.clone())));
        }

        let pid = gateway.pid();
        let started = Instant::now();
        let run_for = Duration::from_secs(minutes * 60);
        println!("soak: {minutes} min, {subscribers} subscribers + 1 slow, gateway pid {pid}");
        println!("| t (s) | RSS (MiB) | anonymous | SQLite heap | open fds | requests ok | failed | WS messages |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut curve = Vec::new();
        let mib = |kib: u64| kib as f64 / 1024.0;
        loop {
            let (rss, anonymous, fds) = sample(pid);
            let sqlite = sqlite_kib(&http, &base).await;
            let row = (
                started.elapsed().as_secs(),
                mib(rss),
                fds,
                counters.ok.load(Ordering::Relaxed),
                counters.failed.load(Ordering::Relaxed),
                counters.received.load(Ordering::Relaxed),
                mib(anonymous),
                mib(sqlite),
            );
            println!(
                "| {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
                row.0, row.1, row.6, row.7, row.2, row.3, row.4, row.5
            );
            curve.push(row);
            if started.elapsed() >= run_for {
                break;
            }
            tokio::time::sleep(every.min(run_for.saturating_sub(started.elapsed()))).await;
        }
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        drop(slow);
        // After a warm-up of a fifth of the run: how far memory moved from there to the end.
        let warm = &curve[(curve.len() / 5).min(curve.len() - 1)];
        let last = curve.last().unwrap();
        println!(
            "RSS after warm-up {:.1} MiB -> end {:.1} MiB ({:+.1} MiB; anonymous {:+.1}, SQLite heap {:+.1}, outside SQLite {:+.1}); fds {} -> {}; {} requests ok, {} failed, {} WS messages",
            warm.1, last.1, last.1 - warm.1, last.6 - warm.6, last.7 - warm.7,
            (last.1 - last.7) - (warm.1 - warm.7), warm.2, last.2, last.3, last.4, last.5
        );
    });
}
