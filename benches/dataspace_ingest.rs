//! Ingest through the typed DataSpace client against the local DataSpace, in-process on a temp
//! dir: records/second for batches of 1, 10 and 100 (one packet per batch), p50/p99 of a search
//! by name, and as a baseline the batch-1 call as a raw signed reqwest POST, so the client's
//! overhead shows as a ratio. Run: `cargo bench --bench dataspace_ingest`.

use logbot_gateway::apig::{AppCredentials, KeyRing, SigningMiddleware};
use logbot_gateway::dataspace::operations::{NewBot, NewLogRecord};
use logbot_gateway::dataspace::{ClientSettings, DataSpaceClient};
use logbot_gateway::embedded_dataspace::{LocalDataSpace, LocalOptions};
use std::time::{Duration, Instant};

/// How long each measurement runs.
const RUN_FOR: Duration = Duration::from_millis(2500);

const RAW_INSERT: &str = "mutation($key: String!, $input: [_CreateLogRecordInput!]!) { \
     packet(idempotencePacketId: $key) { createManyLogRecord(input: $input) } }";

fn record(n: usize) -> NewLogRecord {
    NewLogRecord {
        level: "info".into(),
        message: format!("bench message {n}"),
        event_at: "2026-11-22T08:00:00.000".into(),
        received_at: "2026-11-22T08:00:00.000".into(),
        request_id: Some(format!("RP{n}")),
        status_code: Some(200),
        ..Default::default()
    }
}

/// The client-vs-raw comparison alternates this many rounds of `RUN_FOR / ROUNDS` each, so
/// neither side gets the emptier database or the quieter machine.
const ROUNDS: u32 = 5;

/// Calls `call` repeatedly for `run_for`, numbering calls from `first`; returns (calls, elapsed).
async fn repeat<F, Fut>(run_for: Duration, first: usize, mut call: F) -> (usize, Duration)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < run_for {
        call(first + calls).await;
        calls += 1;
    }
    (calls, started.elapsed())
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let running = LocalDataSpace::start(LocalOptions {
        listen: "127.0.0.1:0".parse()?,
        db_path: dir.path().join("ds.sqlite"),
        keys: KeyRing::new().with("bench", "bench-secret"),
        reads: Default::default(),
        durability: Default::default(),
        contains_index: Default::default(),
    })
    .await?;
    let client = DataSpaceClient::new(ClientSettings {
        url: running.url.clone(),
        credentials: AppCredentials::new("bench", "bench-secret"),
        timeout: Duration::from_secs(10),
        retries: 0,
    })?;
    let raw = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(SigningMiddleware::new(AppCredentials::new(
            "bench",
            "bench-secret",
        )))
        .build();

    let bots = (0..100)
        .map(|n| NewBot {
            name: format!("bench-bot-{n}"),
            owner_uid: "bench".into(),
            messenger: "TELEGRAM".into(),
            bot_token: "t".into(),
            auth_token_hash: "h".into(),
            created_at: "2026-11-22T08:00:00.000".into(),
            status: "ACTIVE".into(),
        })
        .collect();
    let bot_ids = client.create_bots(bots, None).await?;
    let bot = bot_ids[0].clone();

    println!("DataSpace ingest through the typed client (local DataSpace, SQLite, loopback)");
    println!(
        "{:<34} {:>8} {:>10} {:>12} {:>12}",
        "measurement", "calls", "records", "records/s", "ms/call"
    );
    let row = |name: &str, calls: usize, records: usize, elapsed: Duration| {
        let seconds = elapsed.as_secs_f64();
        println!(
            "{name:<34} {calls:>8} {records:>10} {:>12.0} {:>12.3}",
            records as f64 / seconds,
            seconds * 1000.0 / calls as f64
        );
        seconds / calls as f64
    };

    let insert = |batch: usize, call: usize| {
        let client = &client;
        let bot = &bot;
        async move {
            let records = (0..batch).map(|n| record(call * batch + n)).collect();
            let ids = client.create_log_records(bot, records, None).await.unwrap();
            assert_eq!(ids.len(), batch);
        }
    };
    // Baseline: the same batch-1 packet, hand-written JSON over the same signing middleware.
    let raw_insert = |call: usize| {
        let raw = &raw;
        let url = &running.url;
        let bot = &bot;
        async move {
            let body = serde_json::json!({
                "query": RAW_INSERT,
                "variables": {
                    "key": uuid::Uuid::new_v4().to_string(),
                    "input": [{
                        "bot": bot,
                        "level": "info",
                        "message": format!("bench message {call}"),
                        "eventAt": "2026-11-22T08:00:00.000",
                        "receivedAt": "2026-11-22T08:00:00.000",
                        "requestId": format!("RP{call}"),
                        "statusCode": 200,
                    }],
                },
            });
            let response = raw.post(url).json(&body).send().await.unwrap();
            let answer: serde_json::Value = response.json().await.unwrap();
            assert!(answer["errors"].is_null(), "{answer}");
        }
    };

    let (mut client_calls, mut client_time) = (0, Duration::ZERO);
    let (mut raw_calls, mut raw_time) = (0, Duration::ZERO);
    for _ in 0..ROUNDS {
        let (calls, elapsed) = repeat(RUN_FOR / ROUNDS, client_calls, |call| insert(1, call)).await;
        client_calls += calls;
        client_time += elapsed;
        let (calls, elapsed) = repeat(RUN_FOR / ROUNDS, raw_calls, raw_insert).await;
        raw_calls += calls;
        raw_time += elapsed;
    }
    let client_batch1 = row(
        "client, batch of 1",
        client_calls,
        client_calls,
        client_time,
    );
    let raw_batch1 = row(
        "raw signed POST, batch of 1",
        raw_calls,
        raw_calls,
        raw_time,
    );
    for batch in [10usize, 100] {
        let (calls, elapsed) = repeat(RUN_FOR, 0, |call| insert(batch, call)).await;
        row(
            &format!("client, batch of {batch}"),
            calls,
            calls * batch,
            elapsed,
        );
    }
    println!(
        "client overhead, batch of 1: {:.2}x the raw POST's time per call",
        client_batch1 / raw_batch1
    );

    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < RUN_FOR {
        let name = format!("bench-bot-{}", latencies.len() % 100);
        let call = Instant::now();
        let found = client.find_bot_by_name(&name).await?;
        latencies.push(call.elapsed());
        assert!(found.is_some());
    }
    latencies.sort();
    println!(
        "search by name (100 bots): {} calls, p50 {:.3} ms, p99 {:.3} ms",
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    running.stop().await;
    Ok(())
}
