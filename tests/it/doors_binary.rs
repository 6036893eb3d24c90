//! The doors through the running binary (`logbot-gateway serve`, configured by the environment
//! only): the shared Web PubSub cases replayed by `tests/fixtures/cases/run_cases.py`, the VK
//! handshake, a LoggerBot request refused for an unknown user, and the request id from the
//! edge to the embedded DataSpace's log (and the ids of background work there).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Served {
    child: Child,
    base: String,
    /// Every line it has logged so far.
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

/// Starts the binary on a free loopback port and reads the address from its log.
async fn serve() -> Served {
    serve_logging("info").await
}

/// [`serve`], logging at `filter` (`RUST_LOG`).
async fn serve_logging(filter: &str) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_logbot-gateway"))
        .arg("serve")
        .env("RUST_LOG", filter)
        .env_remove("PORT")
        .env_remove("DATASPACE_URL")
        .env_remove("APP_KEY")
        .env_remove("APP_SECRET")
        .env("LOGBOT_CONFIG", "")
        .env("NO_COLOR", "1")
        .env("LOGBOT__SERVER__HOST", "127.0.0.1")
        .env("LOGBOT__SERVER__PORT", "0")
        .env("LOGBOT__DATASPACE__DATA_DIR", dir.path())
        .env("LOGBOT__WEBPUBSUB__HUB", "loggerbot")
        .env("LOGBOT__WEBPUBSUB__ACCESS_KEYS", "research-access-key")
        .env(
            "LOGBOT__WEBPUBSUB__ALLOWED_ORIGINS",
            "https://loggerbot-test.webpubsub.azure.com",
        )
        .env("LOGBOT__VK__CONFIRMATION", "handshake-code")
        .env("LOGBOT__VK__SECRET", "vk-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the logbot-gateway binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(start) = line.find("serving GraphQL on http://") {
                let rest = &line[start + "serving GraphQL on ".len()..];
                let url = rest.split_whitespace().next().unwrap_or_default();
                return url.trim_end_matches("/graphql").to_owned();
            }
        }
        panic!("logbot-gateway exited before serving");
    })
    .await
    .expect("logbot-gateway serves within 30 s");
    // Keep draining its log so it never blocks on a full pipe.
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            kept.lock().unwrap().push(line);
        }
    });
    Served {
        child,
        base,
        log,
        _dir: dir,
    }
}

#[tokio::test]
async fn the_running_binary_serves_every_door() {
    let mut served = serve().await;
    let cases = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cases");
    let output = Command::new("python3")
        .arg(format!("{cases}/run_cases.py"))
        .arg(&served.base)
        .arg(format!("{cases}/cloudevents.json"))
        .output()
        .await
        .expect("python3 runs tests/fixtures/cases/run_cases.py");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");

    let http = reqwest::Client::new();
    let confirmation = http
        .post(format!("{}/events/vk", served.base))
        .body(r#"{"type": "confirmation", "group_id": 1, "secret": "vk-secret"}"#)
        .send()
        .await
        .unwrap();
    let status = confirmation.status().as_u16();
    let text = confirmation.text().await.unwrap();
    assert_eq!((status, text.as_str()), (200, "handshake-code"));

    let refused = http
        .post(format!("{}//send_logs", served.base))
        .header("Content-Type", "application/json")
        .header("X-User-Token", "0123456789abcdef0123456789abcdef")
        .body(r#"{"data": {"user": "nobody'OR'1'='1'#", "logs": [{"level": 40, "msg": "x"}]}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);

    let unknown = http
        .post(format!("{}/", served.base))
        .body(r#"{"parameters": {}, "context": {"package": "logbot", "function": "nope"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 400);
    let _ = served.child.kill().await;
}

/// The `x-request-id` a query through the binary is answered with.
async fn answered_id(base: &str, sent: Option<&str>) -> String {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("Content-Type", "application/json")
        .body(r#"{"query": "{ logs(filter: {bot: \"nobody\"}) { totalCount } }"}"#);
    if let Some(id) = sent {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // Answered after looking the bot up in DataSpace.
    let body = response.text().await.unwrap();
    assert!(body.contains("does not exist"), "{body}");
    id
}

#[tokio::test]
async fn the_request_id_goes_from_the_caller_to_the_embedded_dataspace_s_log() {
    let mut served = serve_logging("info,logbot_gateway=debug").await;
    assert_eq!(answered_id(&served.base, Some("abc-123")).await, "abc-123");
    let names_it = |log: &Vec<String>| {
        log.iter()
            .any(|line| line.contains("DataSpace request") && line.contains("request_id=abc-123"))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !names_it(&served.log.lock().unwrap()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no DataSpace log line names abc-123:\n{}",
            served.log.lock().unwrap().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Without an id, or with one that is not 1 to 128 visible ASCII characters: a fresh UUID.
    let too_long = "x".repeat(129);
    for sent in [None, Some("two words"), Some(too_long.as_str())] {
        let fresh = answered_id(&served.base, sent).await;
        assert!(uuid::Uuid::parse_str(&fresh).is_ok(), "{sent:?} -> {fresh}");
    }
    assert_ne!(
        answered_id(&served.base, None).await,
        answered_id(&served.base, None).await
    );
    let _ = served.child.kill().await;
}

#[tokio::test]
async fn background_work_sends_an_id_of_its_own_to_the_embedded_dataspace() {
    let mut served = serve_logging("info,logbot_gateway=debug").await;
    // The delivery worker polls at start, the Telegram supervisor lists the bots at start.
    let named = |log: &Vec<String>, prefix: &str| {
        log.iter().any(|line| {
            line.contains("DataSpace request") && line.contains(&format!("request_id={prefix}"))
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for prefix in ["delivery-", "telegram-scan-"] {
        while !named(&served.log.lock().unwrap(), prefix) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no DataSpace log line names a {prefix}... id:\n{}",
                served.log.lock().unwrap().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let _ = served.child.kill().await;
}
