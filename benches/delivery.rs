//! Deliveries per second from commit to the messenger, with 100 subscribed chats: the gateway
//! in-process on the embedded DataSpace (temp dir), a fake Telegram Bot API on loopback, rate
//! limits set high so the pipeline (queue poll, claim, send, mark sent) is what is measured.
//! Baseline in the same run: the same number of `sendMessage` posts straight to the fake with
//! the same concurrency, i.e. what the messenger side alone allows. Also: the ingest rate of the
//! batches themselves (records stored with their deliveries in one packet), and the DataSpace
//! calls the delivery took, from the gateway's metrics (claims and outcomes share calls).
//! Run: `cargo bench --bench delivery`; `DELIVERY_RECORDS` (default 60, a multiple of 10) sets
//! the records, each to every chat: a default run is over in about a second, and on a noisy
//! machine 300 or more give steadier figures.

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use logbot_gateway::config::Settings;
use logbot_gateway::domain::level::LogLevel;
use logbot_gateway::domain::messenger::Messenger;
use logbot_gateway::domain::record::NewLogRecord;
use logbot_gateway::server::{Gateway, RunningGateway};
use logbot_gateway::service::{RegisterBot, SubscribeChat};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CHATS: usize = 100;
const DEFAULT_RECORDS: usize = 60;
const BATCH: usize = 10;
const CONCURRENCY: usize = 128;

#[derive(Clone, Default)]
struct Fake {
    received: Arc<AtomicUsize>,
}

async fn send_message(State(fake): State<Fake>, Json(_body): Json<Value>) -> Json<Value> {
    fake.received.fetch_add(1, Ordering::SeqCst);
    Json(json!({"ok": true, "result": {"message_id": 1}}))
}

async fn start_fake() -> (Fake, String) {
    let fake = Fake::default();
    let app = axum::Router::new()
        .route("/{bot}/sendMessage", post(send_message))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}/"))
}

/// `logbot_dataspace_calls_total` by operation, from the gateway's metrics.
fn dataspace_calls(metrics: &logbot_gateway::metrics::Metrics) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for line in metrics.render().lines() {
        let Some(labels) = line.strip_prefix("logbot_dataspace_calls_total{") else {
            continue;
        };
        let operation = labels
            .split("operation=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default();
        let count: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        *calls.entry(operation.to_owned()).or_default() += count;
    }
    calls
}

/// The summed duration and the count of `operation`'s DataSpace calls.
fn call_seconds(metrics: &logbot_gateway::metrics::Metrics, operation: &str) -> (f64, u64) {
    let label = format!("{{operation=\"{operation}\"}} ");
    let value = |name: &str| -> Option<String> {
        let prefix = format!("logbot_dataspace_call_duration_seconds_{name}{label}");
        metrics
            .render()
            .lines()
            .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
    };
    (
        value("sum").map_or(0.0, |sum| sum.parse().unwrap()),
        value("count").map_or(0, |count| count.parse().unwrap()),
    )
}

async fn wait_for(fake: &Fake, count: usize, limit: Duration) -> Duration {
    let started = Instant::now();
    while fake.received.load(Ordering::SeqCst) < count {
        assert!(
            started.elapsed() < limit,
            "timed out: {} of {count}",
            fake.received.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

/// `total` posts straight to the fake, `CONCURRENCY` at a time.
async fn baseline(api: &str, fake: &Fake, total: usize) -> f64 {
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let url = format!("{api}bot1:A/sendMessage");
    let next = Arc::new(AtomicUsize::new(0));
    let before = fake.received.load(Ordering::SeqCst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY.min(CHATS) {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < total {
                let body = json!({"chat_id": "1", "text": "x".repeat(200), "parse_mode": "HTML"});
                http.post(&url).json(&body).send().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(fake.received.load(Ordering::SeqCst) >= before + total);
    total as f64 / started.elapsed().as_secs_f64()
}

/// The service's allocator and its settings (`src/main.rs`), so the gateway in process
/// allocates as the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    logbot_gateway::allocator::tune();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let (fake, api) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.dataspace.data_dir = dir.path().to_path_buf();
    settings.bots.admins = vec!["admin".into()];
    settings.delivery.telegram_api_base = api.parse().unwrap();
    settings.delivery.telegram_bot_rate = 1e6;
    settings.delivery.telegram_chat_rate = 1e6;
    settings.delivery.concurrency = CONCURRENCY;
    settings.delivery.poll_interval = Duration::from_millis(50);
    // The benchmark counts messages, one per delivery (floods handling would merge them).
    settings.delivery.coalesce = false;
    settings.delivery.digest_after = usize::MAX;
    let gateway = Gateway::build(&settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = RunningGateway::serve(gateway, listener).unwrap();
    let service = running.state.service.clone();
    service
        .register_bot(RegisterBot {
            admin_uid: "admin".into(),
            name: "bench".into(),
            bot_token: "1:A".into(),
            auth_token: "bench-auth-token".into(),
            messenger: Messenger::Telegram,
        })
        .await
        .unwrap();
    for chat in 0..CHATS {
        service
            .subscribe_chat(SubscribeChat {
                auth_token: "bench-auth-token".into(),
                chat_id: (1000 + chat).to_string(),
                subscriber_uid: None,
                min_level: LogLevel::Info,
                thread_id: None,
            })
            .await
            .unwrap();
    }
    let records = records_setting();
    let total = records * CHATS;
    let calls_before = dataspace_calls(&running.state.metrics);
    let started = Instant::now();
    for batch in 0..records / BATCH {
        let inputs = (0..BATCH)
            .map(|n| {
                NewLogRecord::builder(
                    LogLevel::Error,
                    format!("bench record {} {}", batch * BATCH + n, "x".repeat(150)),
                )
                .request_id(format!("RP{batch}-{n}"))
                .status_code(500)
                .build()
                .unwrap()
            })
            .collect();
        service.ingest("bench", inputs, None).await.unwrap();
    }
    let ingested = started.elapsed();
    wait_for(&fake, total, Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    let rate = total as f64 / elapsed.as_secs_f64();
    // Accepted comes before recorded: the calls are counted once every send is recorded.
    let recorded = |metrics: &logbot_gateway::metrics::Metrics| -> usize {
        metrics
            .render()
            .lines()
            .filter(|line| line.starts_with("logbot_deliveries_sent_total{"))
            .map(|line| line.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
            .sum()
    };
    while recorded(&running.state.metrics) < total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut calls = dataspace_calls(&running.state.metrics);
    for (operation, before) in calls_before {
        *calls.entry(operation).or_default() -= before;
    }
    calls.retain(|_, count| *count > 0);
    let writes_latency = call_seconds(&running.state.metrics, "DeliveryWrites");
    running.stop().await;

    let direct = baseline(&api, &fake, total).await;
    println!(
        "delivery: {total} deliveries ({records} records x {CHATS} chats) committed in {:.0} ms \
         ({:.0} records/s with their deliveries), all accepted by the messenger after {:.0} ms",
        ingested.as_secs_f64() * 1000.0,
        records as f64 / ingested.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0
    );
    println!("delivery: {rate:.0} deliveries/s from commit to the messenger");
    let all: u64 = calls.values().sum();
    println!(
        "dataspace: {all} calls for {total} deliveries ({:.3} per delivery): {}",
        all as f64 / total as f64,
        calls
            .iter()
            .map(|(operation, count)| format!("{operation} {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(&calls) = calls.get("DeliveryWrites") {
        // A claim and a mark per delivery (nothing fails here).
        let writes = 2 * total;
        let (seconds, timed) = writes_latency;
        println!(
            "dataspace: {calls} DeliveryWrites calls carried {writes} claims and marks \
             ({:.1} each), {:.1} ms per call on average",
            writes as f64 / calls as f64,
            seconds * 1000.0 / timed.max(1) as f64
        );
    }
    println!("baseline: {direct:.0} sendMessage/s posted straight to the fake messenger");
    println!(
        "ratio: the delivery pipeline runs at {:.1}% of the messenger-only ceiling",
        100.0 * rate / direct
    );
}

/// `DELIVERY_RECORDS`, or [`DEFAULT_RECORDS`]; refused unless a positive multiple of [`BATCH`].
fn records_setting() -> usize {
    let Ok(text) = std::env::var("DELIVERY_RECORDS") else {
        return DEFAULT_RECORDS;
    };
    match text.parse::<usize>() {
        Ok(records) if records > 0 && records % BATCH == 0 => records,
        _ => panic!("DELIVERY_RECORDS: {text:?} is not a positive multiple of {BATCH}"),
    }
}
