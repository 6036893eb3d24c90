//! Faults under load, through the binaries: a gateway on a standalone `logbot-gateway
//! dataspace` takes steady ingest from several clients while the DataSpace process is killed
//! (SIGKILL) and started again, then stopped (SIGSTOP) and continued. Every request answered
//! 200 is stored exactly once, every other answer is a 503 with `Retry-After` within the
//! DataSpace deadline, `/readyz` names DataSpace while it is down, and the gateway recovers
//! within 2 s of its return without a restart.

use crate::support::delivery::GatewayProcess;
use crate::support::process::{StandaloneDataSpace, free_port, signal};

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const BOT: &str = "faulty";
/// `[dataspace] timeout_ms` and `retries` of the gateway: a call gives up within ~2.2 s.
const DS_TIMEOUT_MS: &str = "1000";
const DS_RETRIES: &str = "1";
/// The longest any answer may take: the DataSpace deadline plus slack for a busy machine.
const ANSWER_DEADLINE: Duration = Duration::from_secs(6);
const RECOVERY: Duration = Duration::from_secs(2);

/// What the clients saw, per idempotency key: the statuses in order.
#[derive(Default)]
struct Seen {
    answers: Mutex<HashMap<String, Vec<u16>>>,
    problems: Mutex<Vec<String>>,
}

/// One client: batches of two records keyed `c<client>-<n>`, each sent until it is answered
/// 200 (a 503 is retried with the same key, as a client honouring `Retry-After` would, sooner).
async fn client(base: String, index: usize, seen: Arc<Seen>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder()
        .timeout(ANSWER_DEADLINE * 2)
        .build()
        .unwrap();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("c{index}-{n}");
        let body = json!({"query": "mutation($k: String!, $r: [LogRecordInput!]!) { sendLogs(bot: \"faulty\", idempotencyKey: $k, records: $r) { ids } }",
            "variables": {"k": key, "r": [{"level": "INFO", "message": format!("{key}/a")}, {"level": "INFO", "message": format!("{key}/b")}]}});
        let started = Instant::now();
        let outcome = http
            .post(format!("{base}/graphql"))
            .json(&body)
            .send()
            .await;
        let took = started.elapsed();
        let status = match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let text = response.text().await.unwrap_or_default();
                let fine = match status {
                    200 => text.contains("\"ids\"") && !text.contains("errors"),
                    503 => retry_after && text.contains("DATASPACE_UNAVAILABLE"),
                    _ => false,
                };
                if !fine {
                    seen.problems.lock().unwrap().push(format!(
                        "{key}: {status} (Retry-After: {retry_after}) {text}"
                    ));
                }
                status
            }
            Err(error) => {
                seen.problems
                    .lock()
                    .unwrap()
                    .push(format!("{key}: {error}"));
                0
            }
        };
        if took > ANSWER_DEADLINE {
            seen.problems
                .lock()
                .unwrap()
                .push(format!("{key}: answered {status} after {took:?}"));
        }
        seen.answers
            .lock()
            .unwrap()
            .entry(key)
            .or_default()
            .push(status);
        if status == 200 {
            n += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `/readyz`: its status and JSON report.
async fn readyz(http: &reqwest::Client, base: &str) -> (u16, Value) {
    match http
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(3))
        .send()
        .await
    {
        Ok(response) => (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        ),
        Err(error) => (0, json!(error.to_string())),
    }
}

/// Waits until `/readyz` answers `status`; how long that took.
async fn until_ready_is(
    http: &reqwest::Client,
    base: &str,
    status: u16,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let (got, report) = readyz(http, base).await;
        if got == status {
            if status == 503 {
                assert_eq!(report["bus"], "ok", "{report}");
                assert!(
                    report["dataspace"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("unavailable"),
                    "/readyz does not name DataSpace: {report}"
                );
            }
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "/readyz still {got} after {within:?}: {report}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Successful answers so far.
fn successes(seen: &Seen) -> usize {
    let answers = seen.answers.lock().unwrap();
    answers
        .values()
        .filter(|statuses| statuses.contains(&200))
        .count()
}

async fn until_a_success_after(seen: &Seen, before: usize, within: Duration) -> Duration {
    let started = Instant::now();
    while successes(seen) <= before {
        assert!(
            started.elapsed() < within,
            "no request stored within {within:?} of DataSpace's return"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// Every message of the bot's records, paging through `logs`.
async fn stored_messages(http: &reqwest::Client, base: &str) -> Vec<String> {
    let mut messages = Vec::new();
    let mut after = Value::Null;
    loop {
        let page: Value = http
            .post(format!("{base}/graphql"))
            .json(&json!({"query": "query($a: String) { logs(filter: {bot: \"faulty\"}, first: 100, after: $a) { edges { node { message } } pageInfo { hasNextPage endCursor } } }",
                "variables": {"a": after}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let logs = &page["data"]["logs"];
        for edge in logs["edges"].as_array().unwrap_or_else(|| panic!("{page}")) {
            messages.push(edge["node"]["message"].as_str().unwrap().to_owned());
        }
        if logs["pageInfo"]["hasNextPage"] != true {
            return messages;
        }
        after = logs["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataspace_killed_and_stopped_under_load_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("faults.sqlite");
    let port = free_port();
    let dataspace = StandaloneDataSpace::start_on(&db, port).await;
    let url = dataspace.url.clone();
    let gateway_dir = dir.path().join("gateway");
    std::fs::create_dir_all(&gateway_dir).unwrap();
    let gateway = GatewayProcess::start(
        &gateway_dir,
        "http://127.0.0.1:9/",
        &[
            ("DATASPACE_URL", url.as_str()),
            ("APP_KEY", "k"),
            ("APP_SECRET", "s"),
            ("LOGBOT__DATASPACE__TIMEOUT_MS", DS_TIMEOUT_MS),
            ("LOGBOT__DATASPACE__RETRIES", DS_RETRIES),
            ("LOGBOT__DELIVERY__WORKER", "false"),
        ],
    )
    .await;
    gateway
        .register_bot(BOT, "1:faulty", "faulty-auth-token")
        .await;
    let base = gateway.base_url.clone();
    let http = reqwest::Client::new();

    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| tokio::spawn(client(base.clone(), index, seen.clone(), stop.clone())))
        .collect();
    // Steady ingest first (on a loaded machine the first answers can take a while).
    until_a_success_after(&seen, 0, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // SIGKILL mid-ingest, down for a while, then back on the same port and file.
    dataspace.kill();
    until_ready_is(&http, &base, 503, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = successes(&seen);
    let dataspace = StandaloneDataSpace::start_on(&db, port).await;
    let ready_after_kill = until_ready_is(&http, &base, 200, RECOVERY).await;
    let stored_after_kill = until_a_success_after(&seen, before, RECOVERY).await;

    // SIGSTOP: connections are accepted by the kernel and never answered.
    signal(dataspace.pid(), Signal::SIGSTOP);
    until_ready_is(&http, &base, 503, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let before = successes(&seen);
    signal(dataspace.pid(), Signal::SIGCONT);
    let ready_after_stop = until_ready_is(&http, &base, 200, RECOVERY).await;
    let stored_after_stop = until_a_success_after(&seen, before, RECOVERY).await;

    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let problems = seen.problems.lock().unwrap().clone();
    assert!(problems.is_empty(), "{problems:#?}");

    let messages = stored_messages(&http, &base).await;
    let mut count: HashMap<&str, usize> = HashMap::new();
    for message in &messages {
        *count.entry(message.as_str()).or_default() += 1;
    }
    let duplicated: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "stored more than once: {duplicated:?}"
    );
    let stored = successes(&seen);
    let answers = seen.answers.lock().unwrap();
    let mut unavailable = 0;
    for (key, statuses) in answers.iter() {
        unavailable += statuses.iter().filter(|status| **status == 503).count();
        if statuses.contains(&200) {
            for part in ["a", "b"] {
                let message = format!("{key}/{part}");
                assert_eq!(
                    count.get(message.as_str()),
                    Some(&1),
                    "{message}: {statuses:?}"
                );
            }
        }
    }
    assert!(unavailable > 0, "no request met the outage");
    eprintln!(
        "{stored} batches stored, {unavailable} answers 503; after SIGKILL ready in {ready_after_kill:?}, \
         storing in {stored_after_kill:?}; after SIGSTOP ready in {ready_after_stop:?}, storing in {stored_after_stop:?}"
    );
}
