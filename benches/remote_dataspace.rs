//! Remote DataSpace (issue 12): one `/send_logs` client at a time against the release gateway
//! whose DataSpace is a standalone `logbot-gateway dataspace` process behind a loopback proxy
//! that holds every chunk `REMOTE_DELAY_MS` (2) in each direction, as one network hop would.
//! The target: p50 of a steady-state `/send_logs` (10 records) at most one RTT + 1 ms.
//!
//! Baseline in the same run: the RTT itself, as the p50 of a signed one-row DataSpace search
//! through the same proxy (the smallest call there is: the proxy's two delays, TCP, the
//! signature check and one SQLite read). Both are measured sequentially, `REMOTE_REQUESTS`
//! (300) times after 20 warm-up requests that fill the gateway's caches.
//!
//! Run: `cargo bench --bench remote_dataspace`. Quick: `REMOTE_REQUESTS=20 cargo test --bench
//! remote_dataspace`. `REMOTE_BIN` runs another gateway binary.

#[path = "support/loopback.rs"]
mod loopback;

use logbot_gateway::apig::AppCredentials;
use logbot_gateway::dataspace::operations::Search;
use logbot_gateway::dataspace::{ClientSettings, DataSpaceClient};
use loopback::{Process, free_port, graphql, setting};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "remote-key";
const SECRET: &str = "remote-secret";
const BOT: &str = "remote";
const USER: &str = "remote-user";
const PASSWORD: &str = "remote-password";
const RECORDS_PER_REQUEST: usize = 10;
const WARM_UP: usize = 20;

async fn until_listening(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "port {port} never opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Copies `from` to `to`, each chunk sent `delay` after it was read; reading goes on
/// meanwhile, so the delay adds latency, not a limit on throughput.
async fn delayed_pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (chunks, mut queued) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = queued.recv().await {
            tokio::time::sleep_until(due.into()).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buffer = vec![0; 64 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0
            || chunks
                .send((Instant::now() + delay, buffer[..read].to_vec()))
                .is_err()
        {
            break;
        }
    }
    drop(chunks);
    let _ = writer.await;
}

/// A loopback proxy to `upstream` delaying both directions by `delay`; returns its port.
async fn start_proxy(upstream: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::join!(
                    delayed_pump(client_read, server_write, delay),
                    delayed_pump(server_read, client_write, delay),
                );
            });
        }
    });
    port
}

fn percentile(sorted: &[Duration], percent: usize) -> f64 {
    let index = (sorted.len() * percent / 100).min(sorted.len() - 1);
    sorted[index].as_secs_f64() * 1000.0
}

/// p50 and p99 in milliseconds of `count` sequential runs of `call`.
async fn timed<F, Fut>(count: usize, mut call: F) -> (f64, f64)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut took = Vec::with_capacity(count);
    for n in 0..count {
        let started = Instant::now();
        call(n).await;
        took.push(started.elapsed());
    }
    took.sort();
    (percentile(&took, 50), percentile(&took, 99))
}

async fn send_logs(http: &reqwest::Client, base: &str, token: &str, n: usize) {
    let logs: Vec<Value> = (0..RECORDS_PER_REQUEST)
        .map(|i| json!({"level": 40, "msg": format!("remote request {n} record {i}: payment gateway timeout"),
            "event_at": "2026-12-02T08:00:00"}))
        .collect();
    let answer = http
        .post(format!("{base}/send_logs"))
        .header("X-User-Token", token)
        .json(&json!({"data": {"user": USER, "pid": 1, "p_name": "remote", "logs": logs}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}

async fn run(requests: usize, delay: Duration) {
    let data = tempfile::tempdir().unwrap();
    let binary = std::env::var("REMOTE_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_logbot-gateway").to_owned());
    let dataspace_port = free_port();
    let dataspace = Command::new(&binary)
        .args([
            "dataspace",
            "--listen",
            &format!("127.0.0.1:{dataspace_port}"),
        ])
        .args(["--key", KEY, "--secret", SECRET, "--db"])
        .arg(data.path().join("remote.sqlite"))
        .env_remove("APP_KEY")
        .env_remove("APP_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("{binary}: {error}"));
    let _dataspace = Process::new(
        dataspace,
        format!("http://127.0.0.1:{dataspace_port}"),
        None,
    );
    until_listening(dataspace_port).await;
    let proxy = start_proxy(dataspace_port, delay).await;
    let dataspace_url = format!("http://127.0.0.1:{proxy}/graphql");

    let gateway_dir = data.path().join("gateway");
    let gateway = loopback::start_gateway_in(
        "REMOTE_BIN",
        &gateway_dir,
        "remote-admin",
        Duration::from_secs(30),
        |command| {
            command
                .env("DATASPACE_URL", &dataspace_url)
                .env("APP_KEY", KEY)
                .env("APP_SECRET", SECRET);
        },
    )
    .await;
    let base = gateway.base.clone();
    let http = reqwest::Client::new();
    let registered = graphql(&http, &base,
        "mutation { registerBot(input: {adminUid: \"remote-admin\", name: \"remote\", botToken: \"1:remote\", authToken: \"remote-auth-token\"}) { name } }",
        json!({})).await;
    assert_eq!(
        registered["data"]["registerBot"]["name"], BOT,
        "{registered}"
    );
    let user = graphql(&http, &base,
        "mutation($u: String!, $p: String!) { createLogUser(username: $u, password: $p, bot: \"remote\") { username } }",
        json!({"u": USER, "p": PASSWORD})).await;
    assert_eq!(user["data"]["createLogUser"]["username"], USER, "{user}");
    let token = logbot_gateway::domain::secrets::user_token(USER, PASSWORD);

    let client = DataSpaceClient::new(ClientSettings {
        url: dataspace_url,
        credentials: AppCredentials::new(KEY, SECRET),
        timeout: Duration::from_secs(5),
        retries: 0,
    })
    .unwrap();
    let one_row = || Search {
        limit: Some(1),
        ..Default::default()
    };
    for n in 0..WARM_UP {
        send_logs(&http, &base, &token, n).await;
        client.search_log_records_by(one_row()).await.unwrap();
    }
    let client = &client;
    let (rtt_p50, rtt_p99) = timed(requests, |_| async move {
        client.search_log_records_by(one_row()).await.unwrap();
    })
    .await;
    let (http, base, token) = (&http, &base, &token);
    let (p50, p99) = timed(requests, move |n| send_logs(http, base, token, WARM_UP + n)).await;

    let delay_ms = delay.as_secs_f64() * 1000.0;
    println!();
    println!(
        "| call ({requests} sequential, proxy delay {delay_ms:.0} ms each way) | p50 ms | p99 ms |"
    );
    println!("|---|---:|---:|");
    println!(
        "| RTT: signed one-row DataSpace search through the proxy | {rtt_p50:.2} | {rtt_p99:.2} |"
    );
    println!("| `/send_logs` (10 records) through the gateway | {p50:.2} | {p99:.2} |");
    println!(
        "`/send_logs` p50 - RTT p50 = {:.2} ms (target: at most 1 ms)",
        p50 - rtt_p50
    );
}

fn main() {
    let requests = setting("REMOTE_REQUESTS", 300) as usize;
    let delay = Duration::from_millis(setting("REMOTE_DELAY_MS", 2));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(requests, delay));
}
