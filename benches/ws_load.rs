//! Live subscribers (issue 12): the gateway binary (embedded DataSpace in a fresh temp dir,
//! loopback only, no delivery worker) holding many graphql-transport-ws connections, each
//! subscribed to `logAdded`, in two parts, each with a gateway of its own:
//!
//! 1. idle: `WS_LOAD_IDLE` connections (`connection_init`, wait for `connection_ack`,
//!    `subscribe`), opened `WS_LOAD_OPEN` at a time, the `n`th to bot `n % WS_LOAD_IDLE_BOTS`
//!    (so subscribers of a bot share one feed, `src/api/feeds.rs`). The gateway's VmRSS with none open (the
//!    baseline), once all are subscribed, and after one record reached every one of them (which
//!    shows each subscription is live); VmHWM for the peak; KiB per connection.
//! 2. fan-out: `WS_LOAD_BOTS` bots with `WS_LOAD_PER_BOT` subscribers each; every bot sends one
//!    record a second for `WS_LOAD_SECS` seconds, the bots spread evenly over the second. Each
//!    record carries its send time; a subscriber takes the time its frame arrives less that:
//!    latency from send, an upper bound of commit-to-frame (the gateway publishes a record
//!    after the commit and before it answers the ingest, so the ingest's own answer time cannot
//!    serve as "commit": frames often arrive first). The ingest round trip (send to answer) of
//!    the same requests is the baseline: the part of the latency that is the commit.
//!
//! Run (release): `cargo bench --bench ws_load`. Settings by environment: `WS_LOAD_IDLE`
//! (10,000; 0 skips part 1), `WS_LOAD_IDLE_BOTS` (1), `WS_LOAD_BOTS` (100; 0 skips part 2), `WS_LOAD_PER_BOT` (100),
//! `WS_LOAD_SECS` (20), `WS_LOAD_OPEN` (connections opening at once, 100), `WS_LOAD_BIN` (the
//! gateway binary; default the one Cargo built). A quick check against the debug build:
//! `WS_LOAD_IDLE=500 WS_LOAD_BOTS=5 WS_LOAD_PER_BOT=10 WS_LOAD_SECS=3 cargo test --bench ws_load`.

#[path = "support/loopback.rs"]
mod loopback;

use futures_util::{SinkExt, StreamExt};
use loopback::{Process, graphql, setting};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const ADMIN: &str = "ws-admin";
/// WebSocket connections the gateway may hold beyond the bench's subscribers.
const SPARE_CONNECTIONS: u64 = 64;
/// File descriptors this process needs besides one per connection.
const SPARE_FDS: u64 = 256;
/// The client's WebSocket buffers, as small as the gateway's: tungstenite's default, 128 KiB
/// each allocated up front, would make the bench the larger process by far.
const CLIENT_BUFFER_BYTES: usize = 4096;
/// How long opening a connection, or a frame the bench waits for, may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// Lets this process (and so the gateway it starts) open `needed` files: the soft limit goes
/// up to the hard one, as far as needed.
fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur >= needed {
            return;
        }
        assert!(
            limit.rlim_max >= needed,
            "{needed} open files needed, the hard limit is {} (raise it: ulimit -Hn)",
            limit.rlim_max
        );
        limit.rlim_cur = needed;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// The gateway with room for `connections` WebSocket connections and `bots` bots.
async fn start_gateway(connections: u64, bots: u64) -> Process {
    // `[server] max_connections` keeps its default: a WebSocket leaves that count once
    // upgraded, so only the upgrades in flight count there.
    loopback::start_gateway("WS_LOAD_BIN", ADMIN, PATIENCE, |command| {
        command
            .env(
                "LOGBOT__LIMITS__WS_CONNECTIONS",
                (connections + SPARE_CONNECTIONS).to_string(),
            )
            .env("LOGBOT__BOTS__MAX_BOTS_PER_ADMIN", bots.max(1).to_string());
    })
    .await
}

async fn register_bot(http: &reqwest::Client, base: &str, name: &str) {
    let answer = graphql(http, base,
        "mutation($n: String!, $t: String!, $a: String!) { registerBot(input: {adminUid: \"ws-admin\", name: $n, botToken: $t, authToken: $a}) { name } }",
        json!({"n": name, "t": format!("1:{name}"), "a": format!("{name}-auth-token")})).await;
    assert_eq!(answer["data"]["registerBot"]["name"], name, "{answer}");
}

/// Stores one record with `message` for `bot`; false if it was not stored.
async fn send_record(http: &reqwest::Client, base: &str, bot: &str, message: &str) -> bool {
    let answer = http.post(format!("{base}/graphql"))
        .json(&json!({
            "query": "mutation($b: String!, $m: String!) { sendLogs(bot: $b, records: [{level: \"INFO\", message: $m}]) { accepted } }",
            "variables": {"b": bot, "m": message}}))
        .send()
        .await;
    match answer {
        Ok(answer) => answer
            .json::<Value>()
            .await
            .is_ok_and(|body| body["data"]["sendLogs"]["accepted"] == 1),
        Err(_) => false,
    }
}

/// A graphql-transport-ws connection, acknowledged, with `logAdded(bot)` subscribed.
async fn subscribe(base: &str, bot: &str) -> Result<Socket, String> {
    let mut request = format!("{}/graphql", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(CLIENT_BUFFER_BYTES)
        .write_buffer_size(CLIENT_BUFFER_BYTES);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let send = |message: Value| Message::Text(message.to_string().into());
    socket
        .send(send(json!({"type": "connection_init"})))
        .await
        .map_err(|error| format!("connection_init: {error}"))?;
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) if text.contains("\"connection_ack\"") => break,
            Ok(Some(Ok(_))) => {}
            Ok(other) => return Err(format!("no connection_ack: {other:?}")),
            Err(_) => return Err("no connection_ack in time".into()),
        }
    }
    socket
        .send(send(json!({"id": "live", "type": "subscribe", "payload": {
            "query": "subscription($b: String!) { logAdded(bot: $b) { message } }",
            "variables": {"b": bot}}})))
        .await
        .map_err(|error| format!("subscribe: {error}"))?;
    Ok(socket)
}

/// Opens `count` subscribers, `at_once` at a time, the `n`th to `bot(n)`; panics naming the
/// first failure, if any.
async fn open_all(
    base: &str,
    count: u64,
    at_once: u64,
    bot: impl Fn(u64) -> String,
) -> Vec<Socket> {
    let opened: Vec<Result<Socket, String>> = futures_util::stream::iter(0..count)
        .map(|n| {
            let bot = bot(n);
            async move { subscribe(base, &bot).await }
        })
        .buffer_unordered(at_once.max(1) as usize)
        .collect()
        .await;
    let failed = opened.iter().filter(|socket| socket.is_err()).count();
    if let Some(Err(first)) = opened.iter().find(|socket| socket.is_err()) {
        panic!("{failed} of {count} connections failed; the first: {first}");
    }
    opened.into_iter().map(Result::unwrap).collect()
}

/// The `logAdded.message` of a `next` frame.
fn next_message(text: &str) -> Option<String> {
    let frame: Value = serde_json::from_str(text).ok()?;
    if frame["type"] != "next" {
        return None;
    }
    let message = frame["payload"]["data"]["logAdded"]["message"].as_str()?;
    Some(message.to_owned())
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`).
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// User plus system CPU time of `pid` so far, in seconds (`/proc/<pid>/stat`, clock ticks of
/// 1/100 s, the Linux default).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |index: usize| fields.get(index).and_then(|v| v.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    ticks(11).unwrap_or(0.0) / 100.0 + ticks(12).unwrap_or(0.0) / 100.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Part 1: `count` idle subscribers, spread over `bots` bots.
async fn idle(count: u64, at_once: u64, bots: u64) {
    raise_fd_limit(count + SPARE_FDS);
    let gateway = start_gateway(count, bots).await;
    let (base, pid) = (gateway.base.clone(), gateway.pid());
    let http = reqwest::Client::new();
    let names: Vec<String> = (0..bots).map(|n| format!("idle{n}")).collect();
    for name in &names {
        register_bot(&http, &base, name).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = status_kib(pid, "VmRSS:");
    println!(
        "idle: gateway pid {pid}, RSS with no connection (baseline) {:.1} MiB, {} fds",
        mib(before),
        open_fds(pid)
    );

    let opening = Instant::now();
    let sockets = open_all(&base, count, at_once, |n| {
        names[(n % bots) as usize].clone()
    })
    .await;
    let opened_in = opening.elapsed().as_secs_f64();
    // Each subscriber then reads (answering pings) and counts the records it gets.
    let (stop, stopped) = watch::channel(false);
    let received = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let (received, mut stopped) = (received.clone(), stopped.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stopped.wait_for(|stop| *stop) => break,
                        frame = socket.next() => match frame {
                            Some(Ok(Message::Text(text))) => {
                                if next_message(&text).is_some() {
                                    received.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            Some(Ok(_)) => {}
                            _ => break,
                        },
                    }
                }
            })
        })
        .collect();
    drop(stopped);
    // Let the last subscriptions start and the gateway settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let subscribed = status_kib(pid, "VmRSS:");
    let fds = open_fds(pid);

    for name in &names {
        assert!(send_record(&http, &base, name, "one record to every idle subscriber").await);
    }
    let waiting = Instant::now();
    while received.load(Ordering::Relaxed) < count && waiting.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered_in = waiting.elapsed().as_secs_f64();
    let live = received.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    let per_connection = |rss: u64| rss.saturating_sub(before) as f64 / count.max(1) as f64;
    println!(
        "idle: {count} connections acknowledged and subscribed in {opened_in:.1} s ({:.0}/s, {at_once} at a time); gateway fds {fds}",
        count as f64 / opened_in
    );
    println!("idle: one record reached {live} of {count} subscribers in {delivered_in:.2} s");
    println!("| gateway | RSS MiB | KiB per connection over the baseline |");
    println!("|---|---:|---:|");
    println!("| no connection (baseline) | {:.1} | — |", mib(before));
    println!(
        "| {count} subscribed, over {bots} bots | {:.1} | {:.1} |",
        mib(subscribed),
        per_connection(subscribed)
    );
    println!(
        "| after one record to each | {:.1} | {:.1} |",
        mib(after),
        per_connection(after)
    );
    println!(
        "| peak (VmHWM) | {:.1} | {:.1} |",
        mib(peak),
        per_connection(peak)
    );
    let _ = stop.send(true);
    for reader in readers {
        let _ = reader.await;
    }
    assert_eq!(live, count, "some subscriptions were not live");
}

/// Part 2: `bots` bots x `per_bot` subscribers, one record a second per bot for `secs` s.
async fn fan_out(bots: u64, per_bot: u64, secs: u64, at_once: u64) {
    let count = bots * per_bot;
    raise_fd_limit(count + SPARE_FDS);
    let gateway = start_gateway(count, bots).await;
    let (base, pid) = (gateway.base.clone(), gateway.pid());
    let http = reqwest::Client::new();
    let names: Vec<String> = (0..bots).map(|n| format!("fan{n}")).collect();
    for name in &names {
        register_bot(&http, &base, name).await;
    }
    let sockets = open_all(&base, count, at_once, |n| {
        names[(n / per_bot) as usize].clone()
    })
    .await;
    let epoch = Instant::now();
    let now_us = move || epoch.elapsed().as_micros() as u64;

    // Every subscriber reads until it has its bot's warm-up record and `secs` measured ones,
    // or until the deadline (set once the sending is over).
    let warmed = Arc::new(AtomicU64::new(0));
    let (deadline_tx, deadline_rx) = watch::channel(None::<tokio::time::Instant>);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let (warmed, mut deadline) = (warmed.clone(), deadline_rx.clone());
            tokio::spawn(async move {
                // Latency from send of each measured record, in microseconds.
                let mut latencies_us = Vec::with_capacity(secs as usize);
                let mut warm = false;
                while !warm || (latencies_us.len() as u64) < secs {
                    let until = *deadline.borrow_and_update();
                    let frame = tokio::select! {
                        frame = socket.next() => frame,
                        _ = deadline.changed() => continue,
                        () = async {
                            match until {
                                Some(until) => tokio::time::sleep_until(until).await,
                                None => std::future::pending().await,
                            }
                        } => break,
                    };
                    let arrived = now_us();
                    let text = match frame {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(_)) => continue,
                        _ => break,
                    };
                    let Some(message) = next_message(&text) else {
                        continue;
                    };
                    if message.starts_with("warm-up") {
                        warm = true;
                        warmed.fetch_add(1, Ordering::Relaxed);
                    } else if let Some(sent) = message
                        .rsplit_once("sent_us=")
                        .and_then(|(_, sent)| sent.parse::<u64>().ok())
                    {
                        latencies_us.push(arrived.saturating_sub(sent));
                    }
                }
                latencies_us
            })
        })
        .collect();

    // Warm-up: one record per bot, until every subscription has shown it is live.
    for name in &names {
        assert!(send_record(&http, &base, name, "warm-up").await);
    }
    let waiting = Instant::now();
    while warmed.load(Ordering::Relaxed) < count && waiting.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let live = warmed.load(Ordering::Relaxed);
    assert_eq!(
        live, count,
        "{live} of {count} subscriptions live after the warm-up"
    );
    println!(
        "fan-out: gateway pid {pid}; {bots} bots x {per_bot} subscribers, all live; {secs} s at 1 record/s per bot"
    );

    let cpu_before = cpu_seconds(pid);
    let started = tokio::time::Instant::now();
    let senders: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let (http, base, name) = (http.clone(), base.clone(), name.clone());
            // Bot i sends at i/bots of each second.
            let offset = Duration::from_secs(1).mul_f64(index as f64 / bots as f64);
            tokio::spawn(async move {
                let mut round_trips_us = Vec::with_capacity(secs as usize);
                let mut failed = 0u64;
                for n in 0..secs {
                    tokio::time::sleep_until(started + Duration::from_secs(n) + offset).await;
                    let sent = now_us();
                    let message = format!("ws_load {name} record {n} sent_us={sent}");
                    if send_record(&http, &base, &name, &message).await {
                        round_trips_us.push(now_us() - sent);
                    } else {
                        failed += 1;
                    }
                }
                (round_trips_us, failed)
            })
        })
        .collect();
    let mut round_trips_us = Vec::new();
    let mut failed = 0;
    for sender in senders {
        let (trips, not_stored) = sender.await.unwrap();
        round_trips_us.extend(trips);
        failed += not_stored;
    }
    let sending = started.elapsed().as_secs_f64();
    // Frames still on their way get a few seconds more.
    let _ = deadline_tx.send(Some(tokio::time::Instant::now() + Duration::from_secs(5)));
    let mut latencies_us = Vec::with_capacity((count * secs) as usize);
    let mut short = 0;
    for reader in readers {
        let seen = reader.await.unwrap();
        if (seen.len() as u64) < secs {
            short += 1;
        }
        latencies_us.extend(seen);
    }
    let busy = cpu_seconds(pid) - cpu_before;
    let stored = round_trips_us.len() as u64;
    let expected = stored * per_bot;
    let frames = latencies_us.len() as u64;
    println!(
        "fan-out: {stored} records stored ({failed} failed) in {sending:.1} s; {frames} of {expected} frames ({short} subscribers short), {:.0} frames/s; gateway CPU {:.2} s per s",
        frames as f64 / secs as f64,
        busy / sending
    );
    println!("| measure | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (name, values) in [
        (
            "frame latency from send (upper bound of commit to frame)",
            &mut latencies_us,
        ),
        (
            "ingest round trip, send to answer (the baseline)",
            &mut round_trips_us,
        ),
    ] {
        values.sort_unstable();
        let at = |quantile: f64| {
            let index = ((values.len() as f64 * quantile).ceil() as usize).clamp(1, values.len());
            values[index - 1] as f64 / 1000.0
        };
        if values.is_empty() {
            println!("| {name} | — | — | — |");
        } else {
            println!(
                "| {name} | {:.2} | {:.2} | {:.2} |",
                at(0.50),
                at(0.99),
                at(1.0)
            );
        }
    }
    assert_eq!(failed, 0, "records not stored");
}

fn main() {
    let idle_count = setting("WS_LOAD_IDLE", 10_000);
    let idle_bots = setting("WS_LOAD_IDLE_BOTS", 1).max(1);
    let bots = setting("WS_LOAD_BOTS", 100);
    let per_bot = setting("WS_LOAD_PER_BOT", 100);
    let secs = setting("WS_LOAD_SECS", 20);
    let at_once = setting("WS_LOAD_OPEN", 100);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            if idle_count > 0 {
                idle(idle_count, at_once, idle_bots).await;
            }
            if bots > 0 && per_bot > 0 {
                fan_out(bots, per_bot, secs, at_once).await;
            }
        });
}
