//! The gateway's overhead: `sendLogs` batches of 10 and a `logs` query sent to the running
//! gateway (embedded DataSpace, signed loopback calls), next to the same operations sent
//! straight to the local DataSpace with the typed client, in the same run and on the same
//! database. Reports requests/second and p50/p99 latency, and the ratio gateway / direct.
//! Run: `cargo bench --bench gateway`.

use logbot_gateway::config::Settings;
use logbot_gateway::dataspace::operations::{LogRecordFilter, NewLogRecord};
use logbot_gateway::server::{Gateway, RunningGateway};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long each measurement runs (split into alternating rounds).
const RUN_FOR: Duration = Duration::from_secs(3);
const ROUNDS: u32 = 3;

struct Stats {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Stats {
    fn new() -> Self {
        Self {
            latencies: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, fraction: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name:<34} | {:>9.0} | {:>8.3} | {:>8.3} |",
            self.per_second(),
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3
        )
    }
}

async fn measure<F, Fut>(stats: &mut Stats, run_for: Duration, mut call: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    let mut n = stats.latencies.len();
    while started.elapsed() < run_for {
        let call_started = Instant::now();
        call(n).await;
        stats.latencies.push(call_started.elapsed());
        n += 1;
    }
    stats.elapsed += started.elapsed();
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut settings = Settings::default();
    settings.dataspace.data_dir = data.path().to_path_buf();
    settings.bots.admins = vec!["bench".into()];
    // Loopback only: no Telegram polling, and any messenger call reaches a closed local port.
    settings.telegram.updates = logbot_gateway::config::TelegramUpdates::Off;
    let closed_port = reqwest::Url::parse("http://127.0.0.1:9/")?;
    settings.delivery.telegram_api_base = closed_port.clone();
    settings.delivery.vk_api_base = closed_port;
    let gateway = Gateway::build(&settings).await?;
    let running =
        RunningGateway::serve(gateway, tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
    let url = format!("{}/graphql", running.base_url);
    let http = reqwest::Client::new();
    let register = json!({"query": "mutation { registerBot(input: {adminUid: \"bench\", name: \"bench\", botToken: \"1:t\", authToken: \"bench-token\"}) { name } }"});
    http.post(&url)
        .json(&register)
        .send()
        .await?
        .error_for_status()?;
    let service = running.state.service.clone();
    let client = service.client().clone();
    let bot_id = client
        .find_bot_by_name("bench")
        .await?
        .expect("registered")
        .id;

    let batch: Vec<_> = (0..10).map(|i| json!({"level": "INFO", "message": format!("bench message {i}"), "requestId": format!("RP{i}")})).collect();
    let send_logs = json!({"query": "mutation($records: [LogRecordInput!]!) { sendLogs(bot: \"bench\", records: $records) { accepted } }", "variables": {"records": batch}});
    let logs_query = json!({"query": "{ logs(filter: {bot: \"bench\"}, first: 50) { totalCount edges { node { id level message eventAt requestId } } } }"});
    let direct_batch = |n: usize| -> Vec<NewLogRecord> {
        (0..10)
            .map(|i| NewLogRecord {
                level: "INFO".into(),
                message: format!("bench message {i}"),
                event_at: "2026-11-22T08:00:00.000".into(),
                received_at: "2026-11-22T08:00:00.000".into(),
                request_id: Some(format!("RP{n}-{i}")),
                ..Default::default()
            })
            .collect()
    };
    let filter = LogRecordFilter {
        bot: bot_id.clone(),
        limit: 50,
        ..Default::default()
    };

    let round = RUN_FOR / ROUNDS;
    let (mut gw_send, mut ds_send, mut gw_logs, mut ds_logs) =
        (Stats::new(), Stats::new(), Stats::new(), Stats::new());
    for _ in 0..ROUNDS {
        measure(&mut gw_send, round, |_| {
            let request = http.post(&url).json(&send_logs).send();
            async move {
                let body: serde_json::Value = request.await.unwrap().json().await.unwrap();
                assert_eq!(body["data"]["sendLogs"]["accepted"], 10, "{body}");
            }
        })
        .await;
        measure(&mut ds_send, round, |n| {
            let (client, bot_id, records) = (client.clone(), bot_id.clone(), direct_batch(n));
            async move {
                client
                    .create_log_records(&bot_id, records, None)
                    .await
                    .unwrap();
            }
        })
        .await;
    }
    for _ in 0..ROUNDS {
        measure(&mut gw_logs, round, |_| {
            let request = http.post(&url).json(&logs_query).send();
            async move {
                let body: serde_json::Value = request.await.unwrap().json().await.unwrap();
                assert!(
                    body["data"]["logs"]["totalCount"].as_i64().unwrap() > 0,
                    "{body}"
                );
            }
        })
        .await;
        measure(&mut ds_logs, round, |_| {
            let (client, filter) = (client.clone(), filter.clone());
            async move {
                client.search_log_records(&filter).await.unwrap();
            }
        })
        .await;
    }
    println!("| operation                          |   req/s   | p50 ms   | p99 ms   |");
    println!("|------------------------------------|-----------|----------|----------|");
    println!("{}", gw_send.row("gateway sendLogs (batch of 10)"));
    println!("{}", ds_send.row("direct createManyLogRecord (10)"));
    println!("{}", gw_logs.row("gateway logs (first 50)"));
    println!("{}", ds_logs.row("direct searchLogRecord (50)"));
    println!(
        "gateway/direct p50 latency: sendLogs {:.2}x, logs {:.2}x",
        gw_send.percentile(0.5).as_secs_f64() / ds_send.percentile(0.5).as_secs_f64(),
        gw_logs.percentile(0.5).as_secs_f64() / ds_logs.percentile(0.5).as_secs_f64()
    );
    running.stop().await;
    Ok(())
}
