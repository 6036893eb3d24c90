//! The HTTP server's own limits (`[server]`): connections, header and body read deadlines,
//! keep-alive, and a shutdown that does not wait for stuck requests. Raw TCP, so that the
//! client can be as slow or as silent as an attacker.

use crate::support::gateway::start;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Everything the server sends until it closes the connection, or `None` if it is still open
/// after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

async fn connect(addr: std::net::SocketAddr, sent: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(sent.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_read() {
    let gateway = start(&[]).await;
    let started = Instant::now();
    let mut stream = connect(
        gateway.running.addr,
        &format!(
            "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            100 * 1024 * 1024
        ),
    )
    .await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered and closed at once");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("LIMIT_EXCEEDED"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_cut_off() {
    let gateway = start(&[("LOGBOT__SERVER__BODY_READ_TIMEOUT_MS", "500")]).await;
    for path in ["/graphql", "/", "/send_logs"] {
        let mut stream = connect(
            gateway.running.addr,
            &format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"query\""),
        )
        .await;
        let answer = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{path}: a late body held its connection"));
        // Answered 4xx (naming the setting where the door reports body errors) or closed.
        if !answer.is_empty() {
            assert!(answer.starts_with("HTTP/1.1 4"), "{path}: {answer}");
            assert!(answer.contains("body_read_timeout_ms"), "{path}: {answer}");
        }
    }
}

#[tokio::test]
async fn slow_headers_and_a_silent_http2_preface_are_cut_off() {
    let gateway = start(&[("LOGBOT__SERVER__HEADER_READ_TIMEOUT_MS", "500")]).await;
    for (what, sent) in [
        (
            "half a header",
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaa",
        ),
        ("an HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("nothing", ""),
    ] {
        let started = Instant::now();
        let mut stream = connect(gateway.running.addr, sent).await;
        assert!(
            read_until_closed(&mut stream, Duration::from_secs(5))
                .await
                .is_some(),
            "{what}: the connection was held"
        );
        assert!(started.elapsed() >= Duration::from_millis(400), "{what}");
    }
    // A kept-alive connection idle after its answer is closed by the same limit.
    let mut stream = connect(
        gateway.running.addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("an idle kept-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn connections_over_the_limit_are_answered_503_and_closed() {
    let gateway = start(&[("LOGBOT__SERVER__MAX_CONNECTIONS", "3")]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(gateway.running.addr, "").await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = connect(
        gateway.running.addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    let answer = read_until_closed(&mut over, Duration::from_secs(5))
        .await
        .expect("closed at once");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("max_connections"), "{answer}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = gateway
        .http
        .get(gateway.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_its_request_limit() {
    let gateway = start(&[("LOGBOT__SERVER__MAX_REQUESTS_PER_CONNECTION", "2")]).await;
    let mut stream = connect(
        gateway.running.addr,
        &"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3),
    )
    .await;
    let answers = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("closed after the second answer");
    assert_eq!(answers.matches("HTTP/1.1 200").count(), 2, "{answers}");
    assert!(
        answers.to_ascii_lowercase().contains("connection: close"),
        "{answers}"
    );
}

#[tokio::test]
async fn sigterm_exits_within_the_grace_while_a_request_is_stuck() {
    let data = tempfile::tempdir().unwrap();
    let port = crate::support::process::free_port();
    let mut child = tokio::process::Command::new(crate::support::process::binary())
        .env("PORT", port.to_string())
        .env("LOGBOT__SERVER__HOST", "127.0.0.1")
        .env("LOGBOT__SERVER__SHUTDOWN_GRACE_MS", "500")
        .env("LOGBOT__SERVER__BODY_READ_TIMEOUT_MS", "600000")
        .env("LOGBOT__DATASPACE__DATA_DIR", data.path())
        .env("LOGBOT__DELIVERY__WORKER", "false")
        .env_remove("DATASPACE_URL")
        .env_remove("LOGBOT_CONFIG")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    crate::support::process::wait_ready(&base, Duration::from_secs(30), "the binary").await;
    // A request whose body never completes: its handler waits as long as the client wants.
    let _stuck = connect(
        ([127, 0, 0, 1], port).into(),
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after SIGTERM although a request is stuck")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served() {
    let gateway = start(&[]).await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(gateway.url("/healthz")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
}
