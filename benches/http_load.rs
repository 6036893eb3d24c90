//! HTTP load (issue 12): the release gateway binary (embedded DataSpace in a temp dir, loopback
//! only) driven by `wrk -t2 -c50` on each door, next to two ceilings measured in the same run:
//! - the HTTP ceiling: a bare axum handler that parses the same `/send_logs` body into a
//!   `serde_json::Value` and answers 200, in a process of its own (this executable, re-run with
//!   `HTTP_LOAD_ROLE=http-ceiling`), under the same wrk command;
//! - the storage ceiling: raw rusqlite inserts of the same 10-record batches into a WAL file with
//!   `synchronous=NORMAL`, one transaction per batch, and one per 50 batches (group commit).
//!
//! Per door: req/s, p50/p99 (wrk `--latency`, read by a Lua `done`), DataSpace calls per request
//! (`logbot_dataspace_calls_total` from `/metrics` before and after, over wrk's request count),
//! peak RSS of the gateway (VmRSS every 100 ms), and the ratios to the ceilings.
//!
//! Run: `cargo bench --bench http_load` (needs `apt-get install -y wrk`; `.ci/run` does not run
//! it). Settings by environment: `HTTP_LOAD_SECS` (per door, 10), `HTTP_LOAD_SEED` (records
//! stored before the doors run, 100,000), `HTTP_LOAD_BIN` (the gateway binary; default the one
//! Cargo built). The ingest doors run three times, on three gateways: as configured by default,
//! with group commit off (`[dataspace] group_commit_packets = 1`, its baseline) and with
//! `[dataspace] durability = full`. `HTTP_LOAD_SCALE=0,1000000,10000000` runs the scaling curve
//! instead: one gateway grown to each record count in turn, every door at each, then reopened
//! with `contains_index = trigram` for the `contains` doors. Quick:
//! `HTTP_LOAD_SECS=2 HTTP_LOAD_SEED=1000 cargo bench --bench http_load`.

#[path = "support/loopback.rs"]
mod loopback;

use loopback::{Process, free_port, graphql, setting};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BOT: &str = "load";
const USER: &str = "load-user";
const PASSWORD: &str = "load-password";
const THREADS: u32 = 2;
const CONNECTIONS: u32 = 50;
const RECORDS_PER_REQUEST: usize = 10;
/// The environment variable that turns this executable into the HTTP ceiling's server.
const ROLE: &str = "HTTP_LOAD_ROLE";

/// The gateway, with `settings` (environment variables) on top of the loopback ones.
async fn start_gateway(settings: &[(&str, &str)]) -> Process {
    loopback::start_gateway(
        "HTTP_LOAD_BIN",
        "load-admin",
        Duration::from_secs(30),
        |command| {
            command.envs(settings.iter().copied());
        },
    )
    .await
}

/// This executable again, as the HTTP ceiling's server.
async fn start_http_ceiling() -> Process {
    let port = free_port();
    let child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "http-ceiling")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let ceiling = Process::new(child, format!("http://127.0.0.1:{port}"), None);
    loopback::wait_ready(&ceiling.base, Duration::from_secs(30)).await;
    ceiling
}

/// The HTTP ceiling: the same body parsed, nothing else done. Two worker threads, as the
/// gateway's runtime has on this 2-core machine.
fn serve_http_ceiling() {
    use axum::routing::{get, post};
    let port = setting("PORT", 0);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let app = axum::Router::new()
                .route("/readyz", get(|| async { "ok" }))
                .route(
                    "/send_logs",
                    post(|body: axum::body::Bytes| async move {
                        match serde_json::from_slice::<Value>(&body) {
                            Ok(value) if value["data"]["logs"].is_array() => (
                                http::StatusCode::OK,
                                r#"{"code": 200, "message": "Logs added successfully"}"#,
                            ),
                            _ => (http::StatusCode::BAD_REQUEST, r#"{"code": 400}"#),
                        }
                    }),
                );
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16))
                .await
                .unwrap();
            axum::serve(listener, app).await.unwrap();
        });
}

async fn stored(http: &reqwest::Client, base: &str) -> u64 {
    let answer = graphql(
        http,
        base,
        "{ logs(filter: {bot: \"load\"}, first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    answer["data"]["logs"]["totalCount"]
        .as_u64()
        .unwrap_or_else(|| panic!("{answer}"))
}

/// Stores seed records `from..to` (record `n` says `seed record {n} of the http load bench`,
/// request id `SEED{n}`, one in ten at ERROR) in 1,000-record batches from 4 concurrent clients.
async fn seed(base: &str, from: u64, to: u64) {
    const BATCH: u64 = 1000;
    let next = Arc::new(AtomicU64::new(from));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (base, next) = (base.to_owned(), next.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let first = next.fetch_add(BATCH, Ordering::Relaxed);
                if first >= to {
                    break;
                }
                let batch: Vec<Value> = (first..to.min(first + BATCH))
                    .map(|n| json!({"level": if n % 10 == 0 { "ERROR" } else { "INFO" },
                        "message": format!("seed record {n} of the http load bench"),
                        "requestId": format!("SEED{n}"),
                        "eventAt": seed_event_at(n)}))
                    .collect();
                let answer = graphql(&http, &base,
                    "mutation($r: [LogRecordInput!]!) { sendLogs(bot: \"load\", records: $r) { accepted } }",
                    json!({"r": batch})).await;
                assert!(answer["errors"].is_null(), "seeding failed: {answer}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Seed record `n` happened `n` seconds after 2026-01-01T00:00:00 UTC, so that a time window
/// selects a known share of the records (an hour: 3,600 of them).
fn seed_event_at(n: u64) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (start + chrono::Duration::seconds(n as i64))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The sum of `logbot_dataspace_calls_total` over its labels.
async fn dataspace_calls(http: &reqwest::Client, base: &str) -> f64 {
    http.get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("logbot_dataspace_calls_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A Lua expression for one log line of wrk run `run`, request `n` (a per-thread counter),
/// record `i`: every request differs, also from a door run again on the same gateway, since
/// `/send_logs` takes the body as its idempotency key and would replay a repeated one without
/// writing it. About 150 bytes each: a 1.5 KB body.
const LUA_LOG: &str = r#"string.format('{"level":40,"msg":"http load run %d thread %d request %d record %d: payment gateway timeout after 3 retries, order queued","event_at":"2026-12-02T08:00:00"}', run, id, n, i)"#;
const LUA_RECORD: &str = r#"string.format('{"level":"ERROR","message":"http load run %d thread %d request %d record %d: payment gateway timeout after 3 retries, order queued"}', run, id, n, i)"#;
/// wrk runs so far in this process, for [`LUA_LOG`]'s `run`.
static WRK_RUNS: AtomicU64 = AtomicU64::new(0);

/// The wrk script of a door: `setup` numbers the threads, `request` builds the body (or a fixed
/// one), `response` counts answers that are not a success (HTTP errors, GraphQL `errors`), and
/// `done` prints one JSON line.
fn lua_script(door: &Door) -> String {
    let run = WRK_RUNS.fetch_add(1, Ordering::Relaxed);
    let request = match door.kind {
        Kind::SendLogs => format!(
            r#"function request()
  n = n + 1
  local logs = {{}}
  for i = 1, {RECORDS_PER_REQUEST} do logs[i] = {LUA_LOG} end
  local body = '{{"data":{{"user":"{USER}","pid":1,"p_name":"http_load","logs":[' .. table.concat(logs, ",") .. ']}}}}'
  return wrk.format("POST", "/send_logs", headers, body)
end"#
        ),
        Kind::SendLogsGraphql => format!(
            r#"function request()
  n = n + 1
  local records = {{}}
  for i = 1, {RECORDS_PER_REQUEST} do records[i] = {LUA_RECORD} end
  local body = '{{"query":"mutation($r: [LogRecordInput!]!) {{ sendLogs(bot: \\"{BOT}\\", records: $r) {{ accepted }} }}","variables":{{"r":[' .. table.concat(records, ",") .. ']}}}}'
  return wrk.format("POST", "/graphql", headers, body)
end"#
        ),
        Kind::Logs(filter) => format!(
            r#"local body = '{{"query":"{{ logs(filter: {{bot: \\"{BOT}\\"{filter}}}, first: 50) {{ edges {{ node {{ id level message eventAt requestId }} }} }} }}"}}'
function request()
  return wrk.format("POST", "/graphql", headers, body)
end"#
        ),
    };
    let token = logbot_gateway::domain::secrets::user_token(USER, PASSWORD);
    format!(
        r#"local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
n = 0
run = {run}
bad = 0
headers = {{["Content-Type"] = "application/json", ["X-User-Token"] = "{token}"}}
{request}
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  io.write(string.format('HTTP_LOAD {{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"failed":%d,"socket_errors":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"#
    )
}

#[derive(Clone, Copy)]
enum Kind {
    SendLogs,
    SendLogsGraphql,
    /// `logs(filter: {bot, ...}, first: 50)`, the text the filter has after `bot` (GraphQL, its
    /// quotes escaped for the Lua string that holds the JSON body: `\\"`).
    Logs(&'static str),
}

struct Door {
    name: &'static str,
    kind: Kind,
    /// wrk's connections: [`CONNECTIONS`], or 1 for the latency of one search at a time.
    connections: u32,
}

impl Door {
    const fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            connections: CONNECTIONS,
        }
    }

    const fn one_at_a_time(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            connections: 1,
        }
    }

    fn is_ingest(&self) -> bool {
        !matches!(self.kind, Kind::Logs(_))
    }
}

const SEND_LOGS: Door = Door::new("`/send_logs` (10 records)", Kind::SendLogs);
const SEND_LOGS_GRAPHQL: Door = Door::new("GraphQL `sendLogs` (10 records)", Kind::SendLogsGraphql);
const LOGS: Door = Door::new("`logs(filter: {bot}, first: 50)`", Kind::Logs(""));
/// The filters served by indexes other than the bot's.
const FILTERED_LOGS: [Door; 3] = [
    Door::new("`logs`, `minLevel: ERROR`", Kind::Logs(", minLevel: ERROR")),
    Door::new(
        "`logs`, `requestId` (one record)",
        Kind::Logs(r#", requestId: \\"SEED4242\\""#),
    ),
    Door::new(
        "`logs`, `from`/`to` (an hour: 3,600 seed records)",
        Kind::Logs(r#", from: \\"2026-01-01T01:00:00\\", to: \\"2026-01-01T02:00:00\\""#),
    ),
];
/// A `contains` filter for a text in one seed record (4242's).
const RARE_TEXT: &str = r#", contains: \\"seed record 4242 of\\""#;
/// `contains`, for the gateway with the trigram index: a text in one seed record, one in every
/// seed record, and one in none.
const CONTAINS: [Door; 4] = [
    Door::one_at_a_time(
        "`logs`, `contains` a rare text (1 record), one at a time",
        Kind::Logs(RARE_TEXT),
    ),
    Door::one_at_a_time(
        "`logs`, `contains` a common text (every seed record), one at a time",
        Kind::Logs(r#", contains: \\"of the http load bench\\""#),
    ),
    Door::one_at_a_time(
        "`logs`, `contains` an absent text, one at a time",
        Kind::Logs(r#", contains: \\"no record has this text\\""#),
    ),
    Door::new(
        "`logs`, `contains` a rare text (1 record)",
        Kind::Logs(RARE_TEXT),
    ),
];

struct Load {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failed: u64,
    socket_errors: u64,
}

/// `wrk -t2 -c50 -d<secs>s --latency` (or the door's connections) with its script against `base`.
fn wrk(base: &str, door: &Door, secs: u64) -> Load {
    let threads = THREADS.min(door.connections);
    let mut script = tempfile::Builder::new().suffix(".lua").tempfile().unwrap();
    std::io::Write::write_all(&mut script, lua_script(door).as_bytes()).unwrap();
    let output = Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{}", door.connections),
            format!("-d{secs}s"),
            "--timeout".into(),
            "10s".into(),
            "--latency".into(),
            "-s".into(),
            script.path().display().to_string(),
            base.to_owned(),
        ])
        .output()
        .expect("wrk runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("HTTP_LOAD "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no summary: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let summary: Value = serde_json::from_str(line).unwrap();
    let number = |key: &str| summary[key].as_u64().unwrap();
    let requests = number("requests");
    Load {
        requests,
        per_second: requests as f64 / (number("duration_us") as f64 / 1e6),
        p50_ms: number("p50_us") as f64 / 1e3,
        p99_ms: number("p99_us") as f64 / 1e3,
        failed: number("failed"),
        socket_errors: number("socket_errors"),
    }
}

/// Samples VmRSS of `pid` every 100 ms until `stop`; the peak in KiB.
fn peak_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(rss_kib(pid));
            std::thread::sleep(Duration::from_millis(100));
        }
        peak.max(rss_kib(pid))
    })
}

/// The storage ceiling: `batches` 10-record batches inserted with rusqlite into a fresh WAL
/// database (`synchronous=NORMAL`), `per_transaction` batches a transaction; records/s.
fn storage_ceiling(batches: u64, per_transaction: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut db = rusqlite::Connection::open(dir.path().join("ceiling.sqlite")).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE log_record (id INTEGER PRIMARY KEY, bot TEXT NOT NULL, level TEXT NOT NULL,
           message TEXT NOT NULL, event_at TEXT NOT NULL, received_at TEXT NOT NULL,
           request_id TEXT, source TEXT);
         CREATE INDEX log_record_bot ON log_record (bot, id);",
    )
    .unwrap();
    let started = Instant::now();
    for first in (0..batches).step_by(per_transaction as usize) {
        let transaction = db.transaction().unwrap();
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO log_record (bot, level, message, event_at, received_at, request_id, source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .unwrap();
            for n in first..batches.min(first + per_transaction) {
                for i in 0..RECORDS_PER_REQUEST {
                    insert
                        .execute(rusqlite::params![
                            BOT,
                            "ERROR",
                            format!("http load thread 1 request {n} record {i}: payment gateway timeout after 3 retries, order queued for the next run"),
                            "2026-12-02T08:00:00.000",
                            "2026-12-02T08:00:00.000",
                            Option::<String>::None,
                            r#"{"user":"load-user","pid":1,"p_name":"http_load"}"#,
                        ])
                        .unwrap();
                }
            }
        }
        transaction.commit().unwrap();
    }
    (batches * RECORDS_PER_REQUEST as u64) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("http-ceiling") {
        serve_http_ceiling();
        return;
    }
    if Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("wrk not found; install it with: apt-get install -y wrk");
        std::process::exit(1);
    }
    let secs = setting("HTTP_LOAD_SECS", 10);
    let seed_records = setting("HTTP_LOAD_SEED", 100_000);
    let scale: Vec<u64> = std::env::var("HTTP_LOAD_SCALE")
        .unwrap_or_default()
        .split(',')
        .filter(|step| !step.trim().is_empty())
        .map(|step| {
            step.trim()
                .parse()
                .unwrap_or_else(|_| panic!("HTTP_LOAD_SCALE: {step:?} is not a record count"))
        })
        .collect();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let ceilings = Ceilings::measure(secs).await;
            let rows = if scale.is_empty() {
                doors(secs, seed_records).await
            } else {
                scaling(secs, &scale).await
            };
            ceilings.print_table(&rows);
        });
}

/// The baselines, measured first, on an idle machine, as the doors will have it.
struct Ceilings {
    http: Load,
    /// Records/s with one transaction per 10-record batch.
    per_batch: f64,
    /// Records/s with one transaction per 50 batches.
    grouped: f64,
}

impl Ceilings {
    async fn measure(secs: u64) -> Self {
        let wrk_line = format!("wrk -t{THREADS} -c{CONNECTIONS} -d{secs}s --latency");
        println!("http_load: {wrk_line} per door (-c1 where a door says one at a time)");
        let ceiling = start_http_ceiling().await;
        let http = tokio::task::block_in_place(|| wrk(&ceiling.base, &SEND_LOGS, secs));
        drop(ceiling);
        assert_eq!(http.failed + http.socket_errors, 0);
        let batches = 20_000;
        let (per_batch, grouped) = tokio::task::block_in_place(|| {
            (storage_ceiling(batches, 1), storage_ceiling(batches, 50))
        });
        Self {
            http,
            per_batch,
            grouped,
        }
    }

    fn print_table(&self, rows: &[Row]) {
        let (http, per_batch, grouped) = (&self.http, self.per_batch, self.grouped);
        println!();
        println!(
            "| door | records stored | req/s | p50 ms | p99 ms | failed | DataSpace calls/req | peak RSS MiB | req/s / HTTP ceiling | records/s / storage ceiling (1 tx per batch; per 50 batches) |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| HTTP ceiling: bare axum, parses the `/send_logs` body | — | {:.0} | {:.2} | {:.2} | {} | — | — | 1.00 | — |",
            http.per_second, http.p50_ms, http.p99_ms, http.failed
        );
        println!(
            "| storage ceiling: rusqlite WAL, `synchronous=NORMAL`, 1 tx per 10-record batch | — | {:.0} batches/s | | | | | | | {per_batch:.0} records/s |",
            per_batch / RECORDS_PER_REQUEST as f64,
        );
        println!(
            "| group-commit ceiling: 1 tx per 50 batches | — | {:.0} batches/s | | | | | | | {grouped:.0} records/s |",
            grouped / RECORDS_PER_REQUEST as f64,
        );
        for row in rows {
            let load = &row.load;
            let storage = if row.ingest {
                let records = load.per_second * RECORDS_PER_REQUEST as f64;
                format!("{:.3}; {:.3}", records / per_batch, records / grouped)
            } else {
                "—".to_owned()
            };
            println!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.1} | {:.3} | {storage} |",
                row.name,
                row.stored,
                load.per_second,
                load.p50_ms,
                load.p99_ms,
                load.failed + load.socket_errors,
                row.calls / load.requests.max(1) as f64,
                row.peak as f64 / 1024.0,
                load.per_second / http.per_second,
            );
        }
    }
}

/// The default run: every door on a gateway with `seed_records` stored; the ingest doors again
/// with group commit off (its baseline) and with `durability = full`.
async fn doors(secs: u64, seed_records: u64) -> Vec<Row> {
    println!("seed {seed_records} records on each gateway");
    let ingest = [&SEND_LOGS, &SEND_LOGS_GRAPHQL];
    let searches = [&LOGS].into_iter().chain(&FILTERED_LOGS);
    let every_door: Vec<&Door> = ingest.into_iter().chain(searches).collect();
    let mut rows = Vec::new();
    for (settings, label, doors) in [
        (&[][..], "", &every_door[..]),
        (
            &[("LOGBOT__DATASPACE__GROUP_COMMIT_PACKETS", "1")][..],
            ", group commit off",
            &ingest[..],
        ),
        (
            &[("LOGBOT__DATASPACE__DURABILITY", "full")][..],
            ", `durability = full`",
            &ingest[..],
        ),
    ] {
        let gateway = start_gateway(settings).await;
        register(&gateway.base).await;
        seed_timed(&gateway, 0, seed_records).await;
        rows.extend(measure(&gateway, label, doors, secs).await);
    }
    rows
}

/// The scaling curve: one gateway, its store grown to each of `steps` records in turn, every
/// ingest and search door measured at each; then the same data directory reopened with the
/// trigram index (built at start-up) for the `contains` doors, and the ingest doors with it.
async fn scaling(secs: u64, steps: &[u64]) -> Vec<Row> {
    println!("scaling: records stored {steps:?}");
    let data = tempfile::tempdir().unwrap();
    let gateway = start_gateway_in(data.path(), &[], Duration::from_secs(30)).await;
    register(&gateway.base).await;
    let every_door: Vec<&Door> = [&SEND_LOGS, &SEND_LOGS_GRAPHQL, &LOGS]
        .into_iter()
        .chain(&FILTERED_LOGS)
        .collect();
    let mut rows = Vec::new();
    // Seed records up to each step; the ingest doors add theirs on top (the stored column).
    let mut seeded = 0;
    for &step in steps {
        seed_timed(&gateway, seeded, step.max(seeded)).await;
        seeded = step.max(seeded);
        rows.extend(measure(&gateway, "", &every_door, secs).await);
    }
    drop(gateway);

    let opening = Instant::now();
    let trigram = [("LOGBOT__DATASPACE__CONTAINS_INDEX", "trigram")];
    let gateway = start_gateway_in(data.path(), &trigram, Duration::from_secs(4 * 3600)).await;
    println!(
        "reopened with the trigram index (built at start-up) in {:.1} s",
        opening.elapsed().as_secs_f64()
    );
    let trigram_doors: Vec<&Door> = CONTAINS
        .iter()
        .chain([&SEND_LOGS, &SEND_LOGS_GRAPHQL])
        .collect();
    rows.extend(measure(&gateway, ", trigram index", &trigram_doors, secs).await);
    rows
}

/// The gateway on `data_dir` with `settings` (environment variables) on top of the loopback
/// ones, ready within `patience`.
async fn start_gateway_in(
    data_dir: &std::path::Path,
    settings: &[(&str, &str)],
    patience: Duration,
) -> Process {
    loopback::start_gateway_in(
        "HTTP_LOAD_BIN",
        data_dir,
        "load-admin",
        patience,
        |command| {
            command.envs(settings.iter().copied());
        },
    )
    .await
}

/// Registers the bot and the `/send_logs` user.
async fn register(base: &str) {
    let http = reqwest::Client::new();
    let registered = graphql(&http, base,
        "mutation { registerBot(input: {adminUid: \"load-admin\", name: \"load\", botToken: \"1:load\", authToken: \"load-auth-token\"}) { name } }",
        json!({})).await;
    assert_eq!(
        registered["data"]["registerBot"]["name"], BOT,
        "{registered}"
    );
    let user = graphql(&http, base,
        "mutation($u: String!, $p: String!) { createLogUser(username: $u, password: $p, bot: \"load\") { username } }",
        json!({"u": USER, "p": PASSWORD})).await;
    assert_eq!(user["data"]["createLogUser"]["username"], USER, "{user}");
}

/// [`seed`], saying how long it took.
async fn seed_timed(gateway: &Process, from: u64, to: u64) {
    let seeding = Instant::now();
    seed(&gateway.base, from, to).await;
    println!(
        "seeded {} records in {:.1} s ({:.0} records/s); gateway RSS after seeding {:.1} MiB",
        to - from,
        seeding.elapsed().as_secs_f64(),
        (to - from) as f64 / seeding.elapsed().as_secs_f64().max(1e-9),
        rss_kib(gateway.pid()) as f64 / 1024.0
    );
}

/// One door's figures.
struct Row {
    name: String,
    ingest: bool,
    load: Load,
    calls: f64,
    peak: u64,
    /// Records stored when the door started.
    stored: u64,
}

/// Runs wrk on each door in turn; `label` is added to each name. After an ingest door, checks
/// that every acknowledged request was stored with its records.
async fn measure(gateway: &Process, label: &str, doors: &[&Door], secs: u64) -> Vec<Row> {
    let (base, pid) = (&gateway.base, gateway.pid());
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    for &door in doors {
        let records_before = stored(&http, base).await;
        let calls_before = dataspace_calls(&http, base).await;
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = peak_rss(pid, stop.clone());
        let load = tokio::task::block_in_place(|| wrk(base, door, secs));
        stop.store(true, Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        // wrk's count leaves out requests in flight when it stops; let them finish.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let calls = dataspace_calls(&http, base).await - calls_before;
        let records_after = stored(&http, base).await;
        if door.is_ingest() {
            // Every answered request was stored, with its 10 records (the in-flight ones on top).
            let expected = (load.requests - load.failed) * RECORDS_PER_REQUEST as u64;
            assert!(
                records_after - records_before >= expected,
                "{}: {} records stored for {expected} acknowledged",
                door.name,
                records_after - records_before
            );
        }
        rows.push(Row {
            name: format!("{}{label}", door.name),
            ingest: door.is_ingest(),
            load,
            calls,
            peak,
            stored: records_before,
        });
    }
    rows
}
