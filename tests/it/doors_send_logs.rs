//! `/send_logs` through the real app: the LoggerBot client's exact request, credentials, the
//! user-to-bot mapping, malformed and oversized input, and `add-user` through the binary.

use crate::support::doors;

use doors::{App, start};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "correct horse battery";

fn md5_token(username: &str, password: &str) -> String {
    logbot_gateway::domain::secrets::user_token(username, password)
}

async fn create_user(app: &App, username: &str, bot: Option<&str>) {
    let answer = app
        .graphql(
            "mutation($u: String!, $p: String!, $b: String) {
                createLogUser(username: $u, password: $p, bot: $b) { username } }",
            json!({"u": username, "p": PASSWORD, "b": bot}),
        )
        .await;
    assert_eq!(
        answer["data"]["createLogUser"]["username"], username,
        "{answer}"
    );
}

/// The bytes `requests.post(url + "/send_logs", data=json.dumps(body), headers=...)` puts on
/// the wire when `url` ends in `/`: a double slash, python-requests' headers, `json.dumps`
/// separators. Returns the status and the body.
async fn raw_client_post(app: &App, body: &Value, token: &str) -> (u16, String) {
    // json.dumps uses ", " and ": "; serde_json's compact output, respaced outside strings.
    let mut python = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in body.to_string().chars() {
        python.push(c);
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' || c == ':' {
            python.push(' ');
        }
    }
    let request = format!(
        "POST //send_logs HTTP/1.1\r\nHost: {host}\r\nUser-Agent: python-requests/2.28.1\r\n\
         Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: close\r\n\
         Content-Type: application/json\r\nX-User-Token: {token}\r\nContent-Length: {len}\r\n\r\n{python}",
        host = app.running.addr,
        len = python.len(),
    );
    let mut stream = tokio::net::TcpStream::connect(app.running.addr)
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let status: u16 = answer[9..12].parse().unwrap();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

fn client_body(user: &str, logs: Value) -> Value {
    json!({"data": {"user": user, "pid": 4242, "p_name": "billing-worker",
        "post_time": "2026-11-22T08:00:01.654321", "logs": logs}})
}

#[tokio::test]
async fn the_loggerbot_clients_request_is_stored_and_queryable() {
    let app = start(|_| {}).await;
    app.register_bot_with_auth("billing", "billing-auth-token")
        .await;
    create_user(&app, "alice", Some("billing")).await;
    let body = client_body(
        "alice",
        json!([
            {"level": 30, "msg": "disk almost full", "event_at": "2026-11-22T07:59:58.123456", "p_description": "nightly job"},
            {"level": 40, "msg": "payment failed", "event_at": "2026-11-22T07:59:59"},
            {"level": 50, "msg": "worker crashed", "event_at": "2026-11-22T08:00:00.5"}
        ]),
    );
    let (status, answer) = raw_client_post(&app, &body, &md5_token("alice", PASSWORD)).await;
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer,
        json!({"code": 200, "message": "Logs added successfully"})
    );

    let logs = app.logs("billing").await;
    assert_eq!(logs.len(), 3);
    // Newest first.
    assert_eq!(logs[0]["level"], "CRITICAL");
    assert_eq!(logs[1]["level"], "ERROR");
    assert_eq!(logs[2]["level"], "WARNING");
    assert_eq!(logs[2]["message"], "disk almost full");
    assert_eq!(logs[2]["eventAt"], "2026-11-22T07:59:58.123Z");
    assert_eq!(
        logs[2]["source"],
        json!({"userName": "alice", "pid": 4242, "processName": "billing-worker",
            "processDescription": "nightly job"})
    );
    app.stop().await;
}

#[tokio::test]
async fn credentials_are_checked_and_no_input_widens_the_lookup() {
    let app = start(|_| {}).await;
    app.register_bot_with_auth("billing", "billing-auth-token")
        .await;
    create_user(&app, "alice", Some("billing")).await;
    let logs = json!([{"level": 40, "msg": "x", "event_at": "2026-11-22T07:59:59"}]);
    for (user, token) in [
        ("nobody'OR'1'='1'#", md5_token("alice", PASSWORD)),
        (
            "nobody'OR'1'='1'#",
            md5_token("nobody'OR'1'='1'#", PASSWORD),
        ),
        ("alice", md5_token("alice", "wrong password")),
        ("alice", "not-a-token".to_owned()),
        ("alice", String::new()),
        ("ALICE", md5_token("ALICE", PASSWORD)),
        ("%", md5_token("%", PASSWORD)),
        ("a\"||true||\"", md5_token("alice", PASSWORD)),
        ("back\\slash'", md5_token("alice", PASSWORD)),
        ("${alice}", md5_token("alice", PASSWORD)),
        ("alice ", md5_token("alice", PASSWORD)),
    ] {
        let (status, body) = raw_client_post(&app, &client_body(user, logs.clone()), &token).await;
        assert_eq!(status, 403, "{user:?}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], 403);
        assert_eq!(body["message"], "Forbidden");
    }
    assert!(app.logs("billing").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn malformed_input_is_a_400_naming_the_problem_and_long_messages_are_cut() {
    let app = start(|settings| settings.send_logs.max_message_chars = 100).await;
    app.register_bot_with_auth("billing", "billing-auth-token")
        .await;
    create_user(&app, "alice", Some("billing")).await;
    let token = md5_token("alice", PASSWORD);
    let post = |body: Vec<u8>, content_type: &'static str| {
        let request = app
            .http
            .post(app.url("/send_logs"))
            .header("Content-Type", content_type)
            .header("X-User-Token", token.clone())
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let cases: [(Vec<u8>, &str, u16, &str); 6] = [
        (b"{not json".to_vec(), "application/json", 400, "not JSON"),
        (b"[]".to_vec(), "application/json", 400, "data"),
        (
            client_body("alice", json!({"level": 40}))
                .to_string()
                .into_bytes(),
            "application/json",
            400,
            "data.logs",
        ),
        (
            client_body("alice", json!([{"level": "loud", "msg": "x"}]))
                .to_string()
                .into_bytes(),
            "application/json",
            400,
            "data.logs[0].level",
        ),
        (
            client_body(
                "alice",
                json!([{"level": 40, "msg": "x", "event_at": "yesterday"}]),
            )
            .to_string()
            .into_bytes(),
            "application/json",
            400,
            "data.logs[0].event_at",
        ),
        (
            b"user=alice".to_vec(),
            "application/x-www-form-urlencoded",
            415,
            "Content-Type",
        ),
    ];
    for (body, content_type, status, named) in cases {
        let (got, answer) = post(body, content_type).await;
        assert_eq!(got, status, "{answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains(named),
            "{answer}"
        );
    }

    let long = "é".repeat(20_000);
    let (status, answer) = post(
        client_body(
            "alice",
            json!([{"level": 20, "msg": long, "event_at": "2026-11-22T07:59:59"}]),
        )
        .to_string()
        .into_bytes(),
        "application/json; charset=utf-8",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let logs = app.logs("billing").await;
    assert_eq!(logs[0]["message"].as_str().unwrap().chars().count(), 100);
    assert!(logs[0]["message"].as_str().unwrap().ends_with('…'));
    app.stop().await;
}

#[tokio::test]
async fn a_user_without_a_bot_uses_the_default_bot_or_is_refused() {
    let app = start(|settings| settings.send_logs.default_bot = Some("fallback".into())).await;
    app.register_bot_with_auth("fallback", "fallback-auth-token")
        .await;
    create_user(&app, "bob", None).await;
    let body = client_body("bob", json!([{"level": 30, "msg": "to the default bot"}]));
    let (status, answer) = raw_client_post(&app, &body, &md5_token("bob", PASSWORD)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        app.logs("fallback").await[0]["message"],
        "to the default bot"
    );
    app.stop().await;

    let app = start(|_| {}).await;
    create_user(&app, "bob", None).await;
    let (status, answer) = raw_client_post(&app, &body, &md5_token("bob", PASSWORD)).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("default_bot"), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn add_user_creates_a_user_the_client_can_send_as() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("properties.ini");
    std::fs::write(
        &config,
        format!(
            "[dataspace]\ndata_dir = {}\n[send_logs]\ndefault_bot = ops\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let add_user = |username: &str, password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_logbot-gateway"))
            .args(["--config", config.to_str().unwrap(), "add-user", username])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let output = add_user("carol", PASSWORD);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("carol"));
    let again = add_user("carol", PASSWORD);
    assert_eq!(
        again.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = add_user("dave", "short");
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));

    // The gateway on the same data dir accepts carol's client.
    let data_dir = dir.path().to_path_buf();
    let app = start(move |settings| {
        settings.dataspace.data_dir = data_dir;
        settings.send_logs.default_bot = Some("ops".into());
    })
    .await;
    app.register_bot_with_auth("ops", "ops-auth-token").await;
    let body = client_body("carol", json!([{"level": 40, "msg": "from carol"}]));
    let (status, answer) = raw_client_post(&app, &body, &md5_token("carol", PASSWORD)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(app.logs("ops").await[0]["message"], "from carol");
    app.stop().await;
}
