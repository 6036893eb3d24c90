//! Hostile HTTP below the doors: malformed requests written by hand (giant headers, too many
//! headers, bad framing, NUL bytes), many idle connections, and slowloris-like clients that send
//! headers or bodies a byte at a time, while `/healthz` is watched (see `support::hostile`).

use crate::support::hostile::{
    Activity, Case, Expect::*, HealthWatch, Selection, Target, case, raw, run,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HARD_DOORS_TIMEOUTS: &str =
    "hard-doors: header and body read timeouts (a slow client holds its connection forever)";

fn cases() -> Vec<Case> {
    let get = |extra: &str| {
        raw(
            &format!("GET /healthz HTTP/1.1\nHost: x\nConnection: close\n{extra}"),
            b"",
        )
    };
    let post = |extra: &str, body: &[u8]| {
        raw(
            &format!(
                "POST /graphql HTTP/1.1\nHost: x\nConnection: close\nContent-Type: application/json\n{extra}"
            ),
            body,
        )
    };
    let many_headers: String = (0..500).map(|i| format!("X-H{i}: v\n")).collect();
    vec![
        case(
            "a 64 KB header",
            get(&format!("X-Big: {}\n", "a".repeat(64 * 1024))),
            NotServerError,
        ),
        case(
            "a 1 MB header",
            get(&format!("X-Big: {}\n", "a".repeat(1024 * 1024))),
            RefusedOrClosed,
        ),
        case("500 headers", get(&many_headers), RefusedOrClosed),
        case(
            "a 100 KB URI",
            raw(
                &format!(
                    "GET /graphql?query={} HTTP/1.1\nHost: x\nConnection: close\n",
                    "a".repeat(100 * 1024)
                ),
                b"",
            ),
            RefusedOrClosed,
        ),
        case("not HTTP", raw("HELLO\n", b""), RefusedOrClosed),
        case("HTTP/0.9", raw("GET /healthz", b""), RefusedOrClosed),
        case(
            "HTTP/2 preface, then nothing",
            raw("PRI * HTTP/2.0\n\nSM\n", b""),
            RefusedOrClosed,
        )
        .within(Duration::from_secs(30))
        .waits(HARD_DOORS_TIMEOUTS),
        case(
            "NUL in a header value",
            get("X-Nul: a\0b\n"),
            RefusedOrClosed,
        ),
        case("NUL in a header name", get("X-N\0ul: a\n"), RefusedOrClosed),
        case(
            "a header without a colon",
            get("X-Broken\n"),
            RefusedOrClosed,
        ),
        case(
            "a method of 10 KB",
            raw(
                &format!(
                    "{} / HTTP/1.1\nHost: x\nConnection: close\n",
                    "G".repeat(10_000)
                ),
                b"",
            ),
            RefusedOrClosed,
        ),
        case(
            "Content-Length not a number",
            post("Content-Length: ten\n", b"{}"),
            RefusedOrClosed,
        ),
        case(
            "Content-Length negative",
            post("Content-Length: -1\n", b"{}"),
            RefusedOrClosed,
        ),
        case(
            "two different Content-Lengths",
            post("Content-Length: 2\nContent-Length: 3\n", b"{}"),
            RefusedOrClosed,
        ),
        case(
            "Content-Length and chunked",
            post(
                "Content-Length: 2\nTransfer-Encoding: chunked\n",
                b"0\r\n\r\n",
            ),
            RefusedOrClosed,
        ),
        case(
            "a bad chunk size",
            post("Transfer-Encoding: chunked\n", b"zz\r\n{}\r\n0\r\n\r\n"),
            RefusedOrClosed,
        ),
        case(
            "a chunk over the body limit",
            post(
                "Transfer-Encoding: chunked\n",
                format!(
                    "{:x}\r\n{}\r\n0\r\n\r\n",
                    2 * 1024 * 1024,
                    "x".repeat(2 * 1024 * 1024)
                )
                .as_bytes(),
            ),
            RefusedOrClosed,
        ),
        case(
            "a body shorter than its Content-Length",
            post(
                "Content-Length: 100\n",
                b"{\"query\": \"{ bots { totalCount } }\"}",
            ),
            RefusedOrClosed,
        )
        .within(Duration::from_secs(30))
        .waits(HARD_DOORS_TIMEOUTS),
        case(
            "Expect: 100-continue, no body",
            post("Content-Length: 10\nExpect: 100-continue\n", b""),
            RefusedOrClosed,
        )
        .within(Duration::from_secs(30))
        .waits(HARD_DOORS_TIMEOUTS),
        case(
            "invalid UTF-8 in the path",
            raw(
                "GET /\u{ff}\u{fe} HTTP/1.1\nHost: x\nConnection: close\n",
                b"",
            ),
            RefusedOrClosed,
        ),
        case(
            "an absolute URI for another host",
            raw(
                "GET http://evil.example.com/healthz HTTP/1.1\nHost: evil.example.com\nConnection: close\n",
                b"",
            ),
            NotServerError,
        ),
        case(
            "a Host of 10 KB",
            raw(
                &format!(
                    "GET /healthz HTTP/1.1\nHost: {}\nConnection: close\n",
                    "h".repeat(10_000)
                ),
                b"",
            ),
            NotServerError,
        ),
        case(
            "100 pipelined requests",
            raw(
                "GET /healthz HTTP/1.1\nHost: x\n\n"
                    .repeat(99)
                    .replace('\n', "\r\n")
                    .trim_end_matches(['\r', '\n']),
                b"",
            ),
            NotServerError,
        )
        .within(Duration::from_secs(30)),
    ]
}

#[tokio::test]
async fn hostile_raw_http() {
    let mut target = Target::start(&[]).await;
    run(&mut target, cases(), Selection::Ready).await;
}

#[tokio::test]
#[ignore = "waits for hard-doors: header and body read timeouts"]
async fn hostile_raw_http_waiting() {
    let mut target = Target::start(&[]).await;
    run(&mut target, cases(), Selection::Waiting).await;
}

/// Holds `count` connections open doing `behaviour` for `hold`, while `/healthz` is watched;
/// returns the health misses and how many connections the server closed by itself.
async fn hold_connections(
    target: &Target,
    count: usize,
    hold: Duration,
    what: &str,
    behaviour: fn(usize) -> &'static [u8],
) -> (Vec<String>, usize) {
    let activity: Activity = Arc::new(Mutex::new(what.to_owned()));
    let watch = HealthWatch::start(target, activity);
    let mut tasks = Vec::new();
    for index in 0..count {
        let addr = target.addr.clone();
        let bytes = behaviour(index);
        tasks.push(tokio::spawn(async move {
            let Ok(mut stream) = TcpStream::connect(&addr).await else {
                return true;
            };
            let started = Instant::now();
            // One byte every 500 ms, bounded by `hold`: a slowloris client.
            for byte in bytes {
                if started.elapsed() > hold {
                    break;
                }
                if stream.write_all(&[*byte]).await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let rest = hold.saturating_sub(started.elapsed());
            let mut buffer = [0u8; 1024];
            // Closed by the server (or answered and closed) before we give up?
            matches!(
                tokio::time::timeout(rest, stream.read(&mut buffer)).await,
                Ok(Ok(0) | Err(_))
            )
        }));
    }
    let mut closed_by_server = 0;
    for task in tasks {
        if task.await.unwrap_or(false) {
            closed_by_server += 1;
        }
    }
    (watch.finish().misses, closed_by_server)
}

const SLOW_HEADERS: &[u8] = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SLOW_BODY: &[u8] = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"query\": \"{ bots { totalCount } }\"                                                          ";

#[tokio::test]
async fn hostile_many_idle_and_slow_connections() {
    let mut target = Target::start(&[]).await;
    // Idle connections, slowloris headers and slow bodies: the server keeps answering others.
    let (idle, _) = hold_connections(
        &target,
        300,
        Duration::from_secs(5),
        "300 idle connections",
        |_| b"",
    )
    .await;
    let (headers, _) = hold_connections(
        &target,
        100,
        Duration::from_secs(8),
        "100 slowloris headers",
        |_| SLOW_HEADERS,
    )
    .await;
    let (bodies, _) = hold_connections(
        &target,
        100,
        Duration::from_secs(8),
        "100 slow bodies",
        |_| SLOW_BODY,
    )
    .await;
    assert!(target.alive(), "{}", target.log_tail());
    let misses: Vec<String> = idle.into_iter().chain(headers).chain(bodies).collect();
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[tokio::test]
#[ignore = "waits for hard-doors: header and body read timeouts close slow clients"]
async fn hostile_slow_clients_are_cut_off() {
    let target = Target::start(&[]).await;
    // Header and body timeouts of hard-doors' server hardening are expected well under 30 s.
    let (_, closed) = hold_connections(
        &target,
        20,
        Duration::from_secs(40),
        "20 slowloris headers",
        |_| SLOW_HEADERS,
    )
    .await;
    assert_eq!(
        closed, 20,
        "the server let slow header senders hold their connections"
    );
    let (_, closed) = hold_connections(
        &target,
        20,
        Duration::from_secs(40),
        "20 slow bodies",
        |_| SLOW_BODY,
    )
    .await;
    assert_eq!(
        closed, 20,
        "the server let slow body senders hold their connections"
    );
}
