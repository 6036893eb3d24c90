//! Redis restarted under two gateway replicas serving live WebSocket subscribers: `/readyz`
//! names the bus while Redis is gone, both replicas are ready again within 2 s of its return
//! without a restart, and the open subscriptions (on both replicas) resume receiving records.
//! Runs its own `redis-server` on a free port (never the shared one on 6379).

use crate::support::delivery::GatewayProcess;
use crate::support::gateway::{Received, Socket, connect_initialised, receive, send};
use crate::support::process::{StandaloneDataSpace, free_port, signal};

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RECOVERY: Duration = Duration::from_secs(2);

/// A `redis-server` of the test's own, without persistence; killed when dropped.
struct OwnRedis {
    child: Child,
}

impl OwnRedis {
    /// Starts it on `port` and waits until it answers.
    async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is on PATH");
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        let started = Instant::now();
        while client
            .get_connection_with_timeout(Duration::from_millis(200))
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { child }
    }

    fn kill(&mut self) {
        signal(self.child.id(), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn readyz(base: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Waits until every replica's `/readyz` answers `status`; how long that took.
async fn until_ready_is(bases: &[&str], status: u16, within: Duration) -> Duration {
    let started = Instant::now();
    for base in bases {
        loop {
            let (got, report) = readyz(base).await;
            if got == status {
                if status == 503 {
                    assert_eq!(report["dataspace"], "ok", "{report}");
                    assert!(
                        report["bus"]
                            .as_str()
                            .unwrap_or_default()
                            .contains("unavailable"),
                        "/readyz does not name the bus: {report}"
                    );
                }
                break;
            }
            assert!(
                started.elapsed() < within,
                "{base}/readyz still {got} after {within:?}: {report}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    started.elapsed()
}

async fn subscribe(base: &str) -> Socket {
    let mut socket =
        connect_initialised(&format!("{}/graphql", base.replace("http://", "ws://"))).await;
    send(
        &mut socket,
        json!({"id": "live", "type": "subscribe", "payload": {
            "query": "subscription { logAdded(bot: \"shared\") { message } }"}}),
    )
    .await;
    socket
}

/// Sends records `<tag> <n>` on `sender` until every socket has received one of them; how
/// long that took. Panics after `within`, or if a subscription ends.
async fn until_all_receive(
    sender: &GatewayProcess,
    sockets: &mut [Socket],
    tag: &str,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    let mut received = vec![false; sockets.len()];
    let mut n = 0;
    while received.contains(&false) {
        assert!(
            started.elapsed() < within,
            "{tag}: records reached subscribers {received:?} within {within:?}"
        );
        sender
            .send_logs("shared", &[("INFO", &format!("{tag} {n}"))])
            .await;
        n += 1;
        for (socket, got) in sockets.iter_mut().zip(received.iter_mut()) {
            while let Ok(message) =
                tokio::time::timeout(Duration::from_millis(50), receive(socket, RECOVERY)).await
            {
                match message {
                    Received::Json(message) if message["type"] == "next" => {
                        let text = message["payload"]["data"]["logAdded"]["message"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        *got |= text.starts_with(tag);
                    }
                    Received::Json(message) if message["type"] == "ping" => {}
                    other => panic!("{tag}: the subscription ended: {other:?}"),
                }
            }
        }
    }
    started.elapsed()
}

/// What both tests stand on: a Redis of their own, a standalone DataSpace shared by two
/// gateway replicas on that Redis (no delivery worker), the bot `shared`, and a live subscriber
/// on each replica that has received a record. Fields drop in order: subscribers, replicas,
/// DataSpace, files, Redis.
struct TwoReplicas {
    sockets: Vec<Socket>,
    second: GatewayProcess,
    first: GatewayProcess,
    _dataspace: StandaloneDataSpace,
    _dir: tempfile::TempDir,
    redis: OwnRedis,
    redis_port: u16,
}

impl TwoReplicas {
    async fn start() -> Self {
        let redis_port = free_port();
        let redis = OwnRedis::start(redis_port).await;
        let redis_url = format!("redis://127.0.0.1:{redis_port}");
        let dir = tempfile::tempdir().unwrap();
        let dataspace = StandaloneDataSpace::start(&dir.path().join("shared.sqlite")).await;
        let shared = [
            ("DATASPACE_URL", dataspace.url.as_str()),
            ("APP_KEY", "k"),
            ("APP_SECRET", "s"),
            ("LOGBOT__BUS__REDIS_URL", redis_url.as_str()),
            ("LOGBOT__DELIVERY__WORKER", "false"),
        ];
        let (first_dir, second_dir) = (dir.path().join("first"), dir.path().join("second"));
        std::fs::create_dir_all(&first_dir).unwrap();
        std::fs::create_dir_all(&second_dir).unwrap();
        let first = GatewayProcess::start(&first_dir, "http://127.0.0.1:9/", &shared).await;
        let second = GatewayProcess::start(&second_dir, "http://127.0.0.1:9/", &shared).await;
        first
            .register_bot("shared", "1:shared", "shared-auth-token")
            .await;
        let mut sockets = vec![
            subscribe(&first.base_url).await,
            subscribe(&second.base_url).await,
        ];
        until_all_receive(&first, &mut sockets, "before", Duration::from_secs(10)).await;
        Self {
            sockets,
            second,
            first,
            _dataspace: dataspace,
            _dir: dir,
            redis,
            redis_port,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_under_two_replicas_and_their_subscribers_resume() {
    let mut setup = TwoReplicas::start().await;
    let TwoReplicas {
        sockets,
        second,
        first,
        redis,
        redis_port,
        ..
    } = &mut setup;
    let bases = [first.base_url.as_str(), second.base_url.as_str()];

    redis.kill();
    until_ready_is(&bases, 503, Duration::from_secs(5)).await;
    // Ingest goes on: the record is stored (200); only its live fan-out is lost.
    second
        .send_logs("shared", &[("INFO", "during the outage")])
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let _redis = OwnRedis::start(*redis_port).await;
    let ready = until_ready_is(&bases, 200, RECOVERY).await;
    let resumed = until_all_receive(second, sockets, "after", RECOVERY).await;
    eprintln!("Redis back: both replicas ready in {ready:?}, subscribers receiving in {resumed:?}");
}

/// Redis frozen (`SIGSTOP`: its connections stay open and nothing answers, as with a hung host
/// rather than a dead one) under two replicas: ingest keeps answering 200 in bounded time
/// (the record is stored; only its live fan-out waits on the bus), `/healthz` stays fast,
/// `/readyz` names the bus, and after `SIGCONT` both replicas and their subscribers recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_under_two_replicas_stalls_nothing_and_recovers() {
    let mut setup = TwoReplicas::start().await;
    let TwoReplicas {
        sockets,
        second,
        first,
        redis,
        ..
    } = &mut setup;
    let bases = [first.base_url.as_str(), second.base_url.as_str()];

    signal(redis.child.id(), Signal::SIGSTOP);
    until_ready_is(&bases, 503, Duration::from_secs(5)).await;
    // Once the listeners' PINGs have gone unanswered (ping_interval_ms, 1 s), publishing skips
    // Redis instead of waiting on it.
    for base in bases {
        let started = Instant::now();
        while !readyz(base).await.1["bus"]
            .as_str()
            .unwrap_or_default()
            .contains("subscription lost")
        {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{base}: subscription not lost"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let http = reqwest::Client::new();
    for (n, base) in bases.iter().enumerate() {
        let asked = Instant::now();
        let answer = http
            .post(format!("{base}/graphql"))
            .json(&json!({"query": "mutation($m: String!) { sendLog(input: {bot: \"shared\", level: INFO, message: $m}) { id } }",
                "variables": {"m": format!("while frozen {n}")}}))
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .expect("ingest answers while Redis is frozen");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["sendLog"]["id"].is_string(), "{body}");
        let took = asked.elapsed();
        eprintln!("ingest on replica {n} with Redis frozen: {took:?}");
        // Waiting on the frozen Redis would take its client's timeouts: 500 ms for the answer,
        // then 1 s to reconnect.
        assert!(
            took < Duration::from_millis(500),
            "ingest waited {took:?} on a frozen Redis"
        );
        let asked = Instant::now();
        let health = http
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .expect("/healthz answers while Redis is frozen");
        assert_eq!(health.status(), 200);
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "/healthz took {:?}",
            asked.elapsed()
        );
    }
    let stored = first
        .graphql(
            "{ logs(filter: {bot: \"shared\", contains: \"while frozen\"}, first: 10) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(stored["logs"]["totalCount"], 2, "{stored}");

    signal(redis.child.id(), Signal::SIGCONT);
    let ready = until_ready_is(&bases, 200, Duration::from_secs(5)).await;
    let resumed = until_all_receive(second, sockets, "thawed", Duration::from_secs(5)).await;
    eprintln!(
        "Redis thawed: both replicas ready in {ready:?}, subscribers receiving in {resumed:?}"
    );
}
