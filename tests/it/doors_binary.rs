//! The doors through the running binary (`logbot-gateway serve`, configured by the environment
//! only): the shared Web PubSub cases replayed by `tests/fixtures/cases/run_cases.py`, the VK
//! handshake, and a LoggerBot request refused for an unknown user.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Served {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

/// Starts the binary on a free loopback port and reads the address from its log.
async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_logbot-gateway"))
        .arg("serve")
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
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Served {
        child,
        base,
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
