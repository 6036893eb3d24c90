//! HTTP load (issue 12): the release gateway binary (embedded DataSpace in a fresh temp dir,
//! loopback only) driven by `wrk -t2 -c50` on three doors, next to two ceilings measured in the
//! same run:
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
//! stored before the doors run, 100,000; 1,000,000 for the issue's search target),
//! `HTTP_LOAD_BIN` (the gateway binary; default the one Cargo built). The ingest doors run
//! twice, on two gateways: as configured by default, and with group commit off
//! (`[dataspace] group_commit_packets = 1`), its baseline. Quick:
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

/// Stores `records` records in 1,000-record batches from 4 concurrent clients.
async fn seed(base: &str, records: u64) {
    const BATCH: u64 = 1000;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (base, next) = (base.to_owned(), next.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let first = next.fetch_add(BATCH, Ordering::Relaxed);
                if first >= records {
                    break;
                }
                let batch: Vec<Value> = (first..records.min(first + BATCH))
                    .map(|n| json!({"level": if n % 10 == 0 { "ERROR" } else { "INFO" },
                        "message": format!("seed record {n} of the http load bench"),
                        "requestId": format!("SEED{n}")}))
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

/// A Lua expression for one log line of request `n` (a per-thread counter), record `i`: every
/// request differs, since `/send_logs` takes the body as its idempotency key and would replay a
/// repeated one without writing it. About 150 bytes each: a 1.5 KB body.
const LUA_LOG: &str = r#"string.format('{"level":40,"msg":"http load thread %d request %d record %d: payment gateway timeout after 3 retries, order queued for the next run","event_at":"2026-12-02T08:00:00"}', id, n, i)"#;
const LUA_RECORD: &str = r#"string.format('{"level":"ERROR","message":"http load thread %d request %d record %d: payment gateway timeout after 3 retries, order queued for the next run"}', id, n, i)"#;

/// The wrk script of a door: `setup` numbers the threads, `request` builds the body (or a fixed
/// one), `response` counts answers that are not a success (HTTP errors, GraphQL `errors`), and
/// `done` prints one JSON line.
fn lua_script(door: &Door) -> String {
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
        Kind::Logs => format!(
            r#"local body = '{{"query":"{{ logs(filter: {{bot: \\"{BOT}\\"}}, first: 50) {{ edges {{ node {{ id level message eventAt requestId }} }} }} }}"}}'
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

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    SendLogs,
    SendLogsGraphql,
    Logs,
}

struct Door {
    name: &'static str,
    kind: Kind,
}

struct Load {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failed: u64,
    socket_errors: u64,
}

/// `wrk -t2 -c50 -d<secs>s --latency` with the door's script against `base`.
fn wrk(base: &str, door: &Door, secs: u64) -> Load {
    let mut script = tempfile::Builder::new().suffix(".lua").tempfile().unwrap();
    std::io::Write::write_all(&mut script, lua_script(door).as_bytes()).unwrap();
    let output = Command::new("wrk")
        .args([
            format!("-t{THREADS}"),
            format!("-c{CONNECTIONS}"),
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
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(secs, seed_records));
}

async fn run(secs: u64, seed_records: u64) {
    let wrk_line = format!("wrk -t{THREADS} -c{CONNECTIONS} -d{secs}s --latency");
    println!("http_load: {wrk_line} per door; seed {seed_records} records");

    // Ceilings first, on an idle machine, as the doors will have it.
    let ceiling = start_http_ceiling().await;
    let send_logs = Door {
        name: "`/send_logs` (10 records)",
        kind: Kind::SendLogs,
    };
    let http_ceiling = tokio::task::block_in_place(|| wrk(&ceiling.base, &send_logs, secs));
    drop(ceiling);
    assert_eq!(http_ceiling.failed + http_ceiling.socket_errors, 0);
    let batches = 20_000;
    let (per_batch, grouped) =
        tokio::task::block_in_place(|| (storage_ceiling(batches, 1), storage_ceiling(batches, 50)));

    let ingest_doors = [
        send_logs,
        Door {
            name: "GraphQL `sendLogs` (10 records)",
            kind: Kind::SendLogsGraphql,
        },
    ];
    let logs = Door {
        name: "`logs(filter: {bot}, first: 50)`",
        kind: Kind::Logs,
    };
    let doors: Vec<&Door> = ingest_doors.iter().chain([&logs]).collect();
    let mut rows = load_gateway(&[], "", &doors, secs, seed_records).await;
    // The baseline of group commit, in the same run: every batch in a call of its own.
    let alone = [("LOGBOT__DATASPACE__GROUP_COMMIT_PACKETS", "1")];
    let ingest: Vec<&Door> = ingest_doors.iter().collect();
    rows.extend(load_gateway(&alone, ", group commit off", &ingest, secs, seed_records).await);

    let ceiling_rps = http_ceiling.per_second;
    println!();
    println!(
        "| door | req/s | p50 ms | p99 ms | failed | DataSpace calls/req | peak RSS MiB | req/s / HTTP ceiling | records/s / storage ceiling (1 tx per batch; per 50 batches) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| HTTP ceiling: bare axum, parses the `/send_logs` body | {:.0} | {:.2} | {:.2} | {} | — | — | 1.00 | — |",
        ceiling_rps, http_ceiling.p50_ms, http_ceiling.p99_ms, http_ceiling.failed
    );
    println!(
        "| storage ceiling: rusqlite WAL, `synchronous=NORMAL`, 1 tx per 10-record batch | {:.0} batches/s | | | | | | | {:.0} records/s |",
        per_batch / RECORDS_PER_REQUEST as f64,
        per_batch
    );
    println!(
        "| group-commit ceiling: 1 tx per 50 batches | {:.0} batches/s | | | | | | | {:.0} records/s |",
        grouped / RECORDS_PER_REQUEST as f64,
        grouped
    );
    for Row {
        name,
        kind,
        load,
        calls,
        peak,
        stored,
    } in &rows
    {
        let storage = if *kind == Kind::Logs {
            format!("— ({stored} records stored)")
        } else {
            let records = load.per_second * RECORDS_PER_REQUEST as f64;
            format!("{:.3}; {:.3}", records / per_batch, records / grouped)
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.1} | {:.3} | {} |",
            name,
            load.per_second,
            load.p50_ms,
            load.p99_ms,
            load.failed + load.socket_errors,
            calls / load.requests.max(1) as f64,
            *peak as f64 / 1024.0,
            load.per_second / ceiling_rps,
            storage
        );
    }
}

/// One door's figures.
struct Row {
    name: String,
    kind: Kind,
    load: Load,
    calls: f64,
    peak: u64,
    stored: u64,
}

/// Starts a gateway with `settings`, registers the bot and the `/send_logs` user, seeds
/// `seed_records` records and runs wrk on each door in turn; `label` is added to each name.
async fn load_gateway(
    settings: &[(&str, &str)],
    label: &str,
    doors: &[&Door],
    secs: u64,
    seed_records: u64,
) -> Vec<Row> {
    let gateway = start_gateway(settings).await;
    let base = gateway.base.clone();
    let pid = gateway.pid();
    let http = reqwest::Client::new();
    let registered = graphql(&http, &base,
        "mutation { registerBot(input: {adminUid: \"load-admin\", name: \"load\", botToken: \"1:load\", authToken: \"load-auth-token\"}) { name } }",
        json!({})).await;
    assert_eq!(
        registered["data"]["registerBot"]["name"], BOT,
        "{registered}"
    );
    let user = graphql(&http, &base,
        "mutation($u: String!, $p: String!) { createLogUser(username: $u, password: $p, bot: \"load\") { username } }",
        json!({"u": USER, "p": PASSWORD})).await;
    assert_eq!(user["data"]["createLogUser"]["username"], USER, "{user}");
    let seeding = Instant::now();
    seed(&base, seed_records).await;
    println!(
        "seeded {seed_records} records in {:.1} s; gateway RSS after seeding {:.1} MiB",
        seeding.elapsed().as_secs_f64(),
        rss_kib(pid) as f64 / 1024.0
    );

    let mut rows = Vec::new();
    for &door in doors {
        let records_before = stored(&http, &base).await;
        let calls_before = dataspace_calls(&http, &base).await;
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = peak_rss(pid, stop.clone());
        let load = tokio::task::block_in_place(|| wrk(&base, door, secs));
        stop.store(true, Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        // wrk's count leaves out requests in flight when it stops; let them finish.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let calls = dataspace_calls(&http, &base).await - calls_before;
        let records_after = stored(&http, &base).await;
        if door.kind != Kind::Logs {
            // Every answered request was stored, with its 10 records (the in-flight ones on top).
            let expected = (load.requests - load.failed) * RECORDS_PER_REQUEST as u64;
            assert!(
                records_after - records_before >= expected,
                "{}: {} records stored for {expected} acknowledged",
                door.name,
                records_after - records_before
            );
        }
        let name = format!("{}{label}", door.name);
        rows.push(Row {
            name,
            kind: door.kind,
            load,
            calls,
            peak,
            stored: records_after,
        });
    }
    drop(gateway);
    rows
}
