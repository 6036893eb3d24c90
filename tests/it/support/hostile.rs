//! The hostile-input suite's harness (`tests/it/hostile_*.rs`): the real binary with every door
//! on, a table of cases per door, and a runner that checks, for each case, an answer within its
//! deadline of the expected class (never a 5xx unless the case names a documented 503), the
//! process still alive, nothing written by a refused request, and all the while `/healthz`
//! answering in under 100 ms (polled concurrently).
//!
//! A case that waits for a fix on another branch carries `waits_for`; the door's ordinary test
//! skips it, and a second, `#[ignore]`d test runs exactly those (`cargo test --test it hostile_
//! -- --ignored`), so they can be switched on once the fix is merged.
#![allow(dead_code)]

use super::process::{binary, free_port, wait_ready};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const ADMIN: &str = "hostile-admin";
/// The bot every ingest case aims at; its records are counted around each refused request.
pub const BOT: &str = "hb";
pub const AUTH_TOKEN: &str = "hb-auth-token-0123456789";
pub const BOT_TOKEN: &str = "123456:hb-bot-token-0123456789";
pub const LOG_USER: &str = "hostile-user";
pub const LOG_PASSWORD: &str = "hostile-password";
pub const HUB: &str = "loggerbot";
pub const ACCESS_KEY: &str = "hostile-access-key";
pub const VK_CONFIRMATION: &str = "vk-handshake";
pub const VK_SECRET: &str = "vk-secret";
/// The largest request body the gateway takes (its default `[limits] body_bytes`).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// `/healthz` must answer within this, all the time.
pub const HEALTH_BUDGET: Duration = Duration::from_millis(100);

/// The status a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this status.
    Status(u16),
    /// Any 2xx.
    Success,
    /// Any 4xx.
    ClientError,
    /// Any status below 500: the request may be taken or refused, but not crash anything.
    NotServerError,
    /// A 4xx, or the server closing the connection without an answer (a request too broken
    /// for HTTP, cut off at the limit).
    RefusedOrClosed,
}

/// What a case sends.
#[derive(Debug, Clone)]
pub enum Request {
    /// An HTTP/1.1 request through reqwest.
    Http {
        method: &'static str,
        path: String,
        headers: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
    },
    /// Bytes written as they are on a fresh connection (`Connection: close` requests); the
    /// status is read from the first line of the answer.
    Raw(Vec<u8>),
}

/// One line of a door's table.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub request: Request,
    pub expect: Expect,
    /// Text the answer's body must contain (an error code, the field named).
    pub body_has: Option<&'static str>,
    pub deadline: Duration,
    /// The branch and finding this case waits for; `None` when it must pass today.
    pub waits_for: Option<&'static str>,
    /// Whether the request may write (set by [`Case::writes`]); otherwise the record, bot and
    /// subscription counts must be the same before and after.
    pub may_write: bool,
}

/// A case: `case(name, request, expect)` then `.has(..)`, `.within(..)`, `.waits(..)`.
pub fn case(name: impl Into<String>, request: Request, expect: Expect) -> Case {
    Case {
        name: name.into(),
        request,
        expect,
        body_has: None,
        deadline: Duration::from_secs(20),
        waits_for: None,
        may_write: false,
    }
}

impl Case {
    pub fn has(mut self, text: &'static str) -> Self {
        self.body_has = Some(text);
        self
    }

    pub fn within(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn waits(mut self, why: &'static str) -> Self {
        self.waits_for = Some(why);
        self
    }

    /// The request may store something (a case that is accepted); without this the counts
    /// before and after must be equal.
    pub fn writes(mut self) -> Self {
        self.may_write = true;
        self
    }
}

// ------------------------------------------------------------- requests ----

/// POST `body` to `path` with `Content-Type: application/json`.
pub fn post_json(path: &str, body: impl Into<Vec<u8>>) -> Request {
    post(path, &[("content-type", "application/json")], body)
}

/// POST a JSON value to `path`.
pub fn post_value(path: &str, body: &Value) -> Request {
    post_json(path, body.to_string())
}

/// POST with these headers.
pub fn post(path: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Request {
    http("POST", path, headers, body)
}

fn http(
    method: &'static str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> Request {
    Request::Http {
        method,
        path: path.to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
            .collect(),
        body: body.into(),
    }
}

/// GET `path_and_query`.
pub fn get(path_and_query: &str, headers: &[(&str, &str)]) -> Request {
    http("GET", path_and_query, headers, Vec::new())
}

/// Any method.
pub fn method(method: &'static str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    http(method, path, headers, body)
}

/// A GraphQL POST to `/graphql`.
pub fn graphql(query: &str) -> Request {
    post_value("/graphql", &json!({ "query": query }))
}

/// A GraphQL POST with variables.
pub fn graphql_vars(query: &str, variables: Value) -> Request {
    post_value(
        "/graphql",
        &json!({ "query": query, "variables": variables }),
    )
}

/// A request line and headers written by hand, then `body`.
pub fn raw(head: &str, body: &[u8]) -> Request {
    let mut bytes = head.replace('\n', "\r\n").into_bytes();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    Request::Raw(bytes)
}

/// A raw POST of `body` (any bytes) with a correct Content-Length.
pub fn raw_post(path: &str, content_type: &str, body: &[u8]) -> Request {
    raw(
        &format!(
            "POST {path} HTTP/1.1\nHost: 127.0.0.1\nConnection: close\nContent-Type: {content_type}\nContent-Length: {}\n",
            body.len()
        ),
        body,
    )
}

/// `depth` nested JSON arrays around `inner`.
pub fn nested_json(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `depth` nested GraphQL list literals.
pub fn nested_list(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// Fragments that fan out: `F0` spreads `F1` `fan` times, ..., `F{levels}` selects a field.
pub fn fragment_bomb(levels: usize, fan: usize, on: &str, leaf: &str) -> String {
    let mut document = String::from("query { ...F0 }\n");
    for level in 0..levels {
        let spreads = format!("...F{} ", level + 1).repeat(fan);
        document.push_str(&format!("fragment F{level} on {on} {{ {spreads}}}\n"));
    }
    document.push_str(&format!("fragment F{levels} on {on} {{ {leaf} }}\n"));
    document
}

/// A Web PubSub `ce-signature` for `connection_id` with the configured key.
pub fn ce_signature(connection_id: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(ACCESS_KEY.as_bytes()).unwrap();
    mac.update(connection_id.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The CloudEvents headers of a user event, correctly signed.
pub fn ce_headers(ce_type: &str, user_id: &str) -> Vec<(String, String)> {
    let event = ce_type.rsplit('.').next().unwrap_or_default();
    [
        ("ce-awpsversion", "1.0".to_owned()),
        ("ce-specversion", "1.0".to_owned()),
        ("ce-type", ce_type.to_owned()),
        ("ce-eventName", event.to_owned()),
        ("ce-connectionId", "hostile-conn".to_owned()),
        ("ce-hub", HUB.to_owned()),
        ("ce-userId", user_id.to_owned()),
        ("ce-signature", ce_signature("hostile-conn")),
        ("ce-id", "1".to_owned()),
        (
            "ce-source",
            "/hubs/loggerbot/client/hostile-conn".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// A CloudEvents POST: the signed headers of `ce_type`, changed by `edit`, and this body.
pub fn cloud_event(
    ce_type: &str,
    content_type: &str,
    edit: impl FnOnce(&mut Vec<(String, String)>),
    body: impl Into<Vec<u8>>,
) -> Request {
    let mut headers = ce_headers(ce_type, "hostile-user-1");
    headers.push(("content-type".to_owned(), content_type.to_owned()));
    edit(&mut headers);
    Request::Http {
        method: "POST",
        path: "/eventhandler".to_owned(),
        headers: headers
            .into_iter()
            .map(|(name, value)| (name, value.into_bytes()))
            .collect(),
        body: body.into(),
    }
}

/// `X-User-Token` of the suite's `/send_logs` user.
pub fn user_token() -> String {
    logbot_gateway::domain::secrets::user_token(LOG_USER, LOG_PASSWORD)
}

/// A `/send_logs` POST as the suite's user.
pub fn send_logs(body: impl Into<Vec<u8>>) -> Request {
    let token = user_token();
    post(
        "/send_logs",
        &[
            ("content-type", "application/json"),
            ("x-user-token", &token),
        ],
        body,
    )
}

// --------------------------------------------------------------- target ----

/// The binary under attack: `logbot-gateway serve` with the embedded DataSpace and every door
/// configured (or the standalone `logbot-gateway dataspace`), on a free loopback port, with an
/// idle twin of the same build that `/healthz` answers are compared with; killed when dropped.
pub struct Target {
    child: Child,
    pub base: String,
    pub addr: String,
    pub http: reqwest::Client,
    /// What the health watch asks for (`/healthz`; the DataSpace has no such route: `/sdl`).
    pub health_path: &'static str,
    /// The SQLite file the snapshots count rows in.
    db: PathBuf,
    log: PathBuf,
    /// The same binary, started the same way and left alone.
    control: Option<Box<Target>>,
    _dir: tempfile::TempDir,
}

/// The gateway's environment: embedded DataSpace in `data`, every door on, no delivery.
fn gateway_command(data: &std::path::Path, port: u16) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .env_remove("PORT")
        .env_remove("DATASPACE_URL")
        .env_remove("APP_KEY")
        .env_remove("APP_SECRET")
        .env("LOGBOT_CONFIG", "")
        .env("NO_COLOR", "1")
        .env("LOGBOT__SERVER__HOST", "127.0.0.1")
        .env("LOGBOT__SERVER__PORT", port.to_string())
        .env("LOGBOT__DATASPACE__DATA_DIR", data)
        .env("LOGBOT__BOTS__ADMINS", ADMIN)
        .env("LOGBOT__AUTH__APP_KEYS", "")
        .env("LOGBOT__BUS__REDIS_URL", "")
        .env("LOGBOT__DELIVERY__WORKER", "false")
        .env("LOGBOT__WEBPUBSUB__HUB", HUB)
        .env("LOGBOT__WEBPUBSUB__ACCESS_KEYS", ACCESS_KEY)
        .env(
            "LOGBOT__WEBPUBSUB__ALLOWED_ORIGINS",
            "https://hostile.webpubsub.azure.com",
        )
        .env("LOGBOT__VK__CONFIRMATION", VK_CONFIRMATION)
        .env("LOGBOT__VK__SECRET", VK_SECRET)
        .env("LOGBOT__FUNCTION__TRIGGER.STORAGE.UPLOADS.CREATE", BOT)
        .env("LOGBOT__LOG__LEVEL", "warn");
    command
}

/// `logbot-gateway dataspace` over `db`, signing key [`super::dataspace::KEY`].
fn dataspace_command(db: &std::path::Path, port: u16) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["dataspace", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--key",
            super::dataspace::KEY,
            "--secret",
            super::dataspace::SECRET,
        ])
        .arg("--db")
        .arg(db)
        .env_remove("APP_KEY")
        .env_remove("APP_SECRET")
        .env("NO_COLOR", "1");
    command
}

impl Target {
    /// The gateway, ready, with the suite's bot, subscription and user created.
    pub async fn start(extra_env: &[(&str, &str)]) -> Self {
        let mut target = Self::spawn_gateway(extra_env).await;
        target.control = Some(Box::new(Self::spawn_gateway(extra_env).await));
        target.prepare().await;
        target
    }

    /// The standalone DataSpace, ready.
    pub async fn dataspace() -> Self {
        let mut target = Self::spawn_dataspace().await;
        target.control = Some(Box::new(Self::spawn_dataspace().await));
        target
    }

    async fn spawn_gateway(extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = free_port();
        let mut command = gateway_command(&data, port);
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let mut target = Self::spawn(
            command,
            dir,
            port,
            data.join("dataspace.sqlite"),
            "/healthz",
        );
        let base = target.base.clone();
        let ready = tokio::time::timeout(
            Duration::from_secs(60),
            wait_ready(&base, Duration::from_secs(60), "the gateway under attack"),
        )
        .await;
        assert!(ready.is_ok(), "not ready: {}", target.log_tail());
        assert!(target.alive(), "exited: {}", target.log_tail());
        target
    }

    async fn spawn_dataspace() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ds.sqlite");
        let port = free_port();
        let command = dataspace_command(&db, port);
        let mut target = Self::spawn(command, dir, port, db, "/sdl");
        let started = Instant::now();
        while !probe(&target.addr, "/sdl") {
            assert!(target.alive(), "exited: {}", target.log_tail());
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the standalone DataSpace did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        target
    }

    fn spawn(
        mut command: Command,
        dir: tempfile::TempDir,
        port: u16,
        db: PathBuf,
        health_path: &'static str,
    ) -> Self {
        let log = dir.path().join("process.log");
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the logbot-gateway binary starts");
        let addr = format!("127.0.0.1:{port}");
        Self {
            child,
            base: format!("http://{addr}"),
            addr,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            health_path,
            db,
            log,
            control: None,
            _dir: dir,
        }
    }

    async fn prepare(&self) {
        let body = self
            .graphql_json(
                "mutation($i: RegisterBotInput!, $s: SubscribeChatInput!) {
                    registerBot(input: $i) { name }
                    subscribeChat(input: $s) { chatId } }",
                json!({
                    "i": {"adminUid": ADMIN, "name": BOT, "botToken": BOT_TOKEN, "authToken": AUTH_TOKEN},
                    "s": {"authToken": AUTH_TOKEN, "chatId": "-100500"},
                }),
            )
            .await;
        assert_eq!(body["data"]["registerBot"]["name"], BOT, "{body}");
        let body = self
            .graphql_json(
                "mutation($u: String!, $p: String!, $b: String) {
                    createLogUser(username: $u, password: $p, bot: $b) { username } }",
                json!({"u": LOG_USER, "p": LOG_PASSWORD, "b": BOT}),
            )
            .await;
        assert_eq!(
            body["data"]["createLogUser"]["username"], LOG_USER,
            "{body}"
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A GraphQL request that must be answered (setup and snapshots).
    pub async fn graphql_json(&self, query: &str, variables: Value) -> Value {
        let response = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|error| panic!("{error}: {}", self.log_tail()));
        response.json().await.unwrap()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The end of the gateway's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// What is stored: the number of rows of every class a refused request could write to,
    /// read from the embedded DataSpace's SQLite file directly (read-only, so that taking it
    /// adds no load to the gateway under test). Audit events are left out: refused
    /// registrations and subscriptions are recorded by design.
    pub async fn snapshot(&self) -> Value {
        let path = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let db = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            db.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut counts = serde_json::Map::new();
            for class in [
                "Bot",
                "ChatSubscription",
                "LogRecord",
                "LogUser",
                "Delivery",
            ] {
                let count: i64 = db
                    .query_row(&format!("SELECT count(*) FROM \"{class}\""), [], |row| {
                        row.get(0)
                    })
                    .unwrap();
                counts.insert(class.to_owned(), json!(count));
            }
            Value::Object(counts)
        })
        .await
        .unwrap()
    }

    /// How many records the suite's bot has.
    pub async fn record_count(&self) -> u64 {
        self.snapshot().await["LogRecord"].as_u64().unwrap()
    }

    /// Sends a case's request: the status (None when the connection closed without one) and
    /// the body, or `Err` when the deadline passed.
    pub async fn send(&self, request: &Request, deadline: Duration) -> Result<Answer, String> {
        let sent = async {
            match request {
                Request::Http {
                    method,
                    path,
                    headers,
                    body,
                } => {
                    let mut builder = self.http.request(
                        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                        self.url(path),
                    );
                    for (name, value) in headers {
                        builder = builder.header(
                            name.as_str(),
                            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                        );
                    }
                    match builder.body(body.clone()).send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let body = response.bytes().await.unwrap_or_default();
                            Answer {
                                status: Some(status),
                                body: String::from_utf8_lossy(&body).into_owned(),
                            }
                        }
                        // The server may close a connection whose request it refuses before
                        // reading it all (a body over the limit).
                        Err(_) => Answer {
                            status: None,
                            body: String::new(),
                        },
                    }
                }
                Request::Raw(bytes) => raw_exchange(&self.addr, bytes).await,
            }
        };
        tokio::time::timeout(deadline, sent)
            .await
            .map_err(|_| format!("no answer within {deadline:?}"))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: Option<u16>,
    pub body: String,
}

/// Writes `bytes` on a new connection and reads until the server closes it.
pub async fn raw_exchange(addr: &str, bytes: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before it has read everything.
    let _ = stream.write_all(bytes).await;
    let mut received = Vec::new();
    let _ = read_to_end_lenient(&mut stream, &mut received).await;
    let mut text = String::from_utf8_lossy(&received).into_owned();
    // An interim answer (`100 Continue`) is not the answer: the final one follows it.
    while text.starts_with("HTTP/1.1 1")
        && let Some((_, rest)) = text.split_once("\r\n\r\n")
    {
        text = rest.to_owned();
    }
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Answer { status, body }
}

/// Reads until EOF or a reset (a reset after a complete answer is still an answer).
async fn read_to_end_lenient(stream: &mut TcpStream, into: &mut Vec<u8>) -> std::io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) => return Ok(()),
            Ok(n) => into.extend_from_slice(&buffer[..n]),
            Err(error) => return Err(error),
        }
    }
}

// ------------------------------------------------------------- /healthz ----

/// Polls `/healthz` every 50 ms until stopped, from a thread of its own (so that the suite's
/// own work, building a 10 MiB body, cannot delay a probe), each probe on a new connection as a
/// liveness probe makes it.
///
/// The machine is shared (tests and builds in parallel on 2 cores), so a probe can be slow only
/// because the process did not get the CPU. Each probe therefore goes at the same moment to an
/// idle twin of the target (same binary, same settings, nothing sent to it), and what counts is
/// how much slower the target was: more than [`HEALTH_BUDGET`] for [`SUSTAINED`] probes in a
/// row is a miss (fewer is a scheduler spike: a process that just used the CPU waits behind one
/// that slept, which on a machine loaded 8 runnable threads per core costs 100-300 ms; those
/// are counted as excused, as is a probe over budget while the twin was just as slow). On an
/// idle machine the twin answers in well under a millisecond, so this is the 100 ms rule held
/// for 150 ms. A probe that fails (no answer within 5 s) is a miss whatever the load.
pub struct HealthWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    report: Arc<Mutex<HealthReport>>,
}

/// How many probes in a row (50 ms apart) must be over budget to count as a miss.
pub const SUSTAINED: usize = 3;

#[derive(Debug, Default, Clone)]
pub struct HealthReport {
    pub probes: u64,
    pub slowest: Duration,
    /// Probes over budget put down to the machine (the twin as slow, or a single spike).
    pub excused: u64,
    pub misses: Vec<String>,
}

/// What the runner is doing, for the health report.
pub type Activity = Arc<Mutex<String>>;

/// One `GET path`: whether it answered 200, within 5 s.
pub fn probe(addr: &str, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200")
}

fn timed(addr: &str, path: &str) -> (bool, Duration) {
    let started = Instant::now();
    let ok = probe(addr, path);
    (ok, started.elapsed())
}

impl HealthWatch {
    pub fn start(target: &Target, activity: Activity) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(HealthReport::default()));
        let path = target.health_path;
        let addr = target.addr.clone();
        let control = target.control.as_ref().map(|control| control.addr.clone());
        let thread = std::thread::spawn({
            let (stop, report) = (stop.clone(), report.clone());
            move || {
                let mut run_over: Vec<String> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let ((ok, took), control_took) = std::thread::scope(|scope| {
                        let twin = control
                            .as_deref()
                            .map(|control| scope.spawn(move || timed(control, path).1));
                        let probed = timed(&addr, path);
                        (probed, twin.map(|twin| twin.join().unwrap()))
                    });
                    let control_took = control_took.unwrap_or_default();
                    let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
                    report.probes += 1;
                    report.slowest = report.slowest.max(took);
                    // Slower than the twin by more than the budget: the attack's doing, unless
                    // it is a spike of the scheduler (the next probes decide).
                    let excess = took.saturating_sub(control_took);
                    let over = excess > HEALTH_BUDGET;
                    if took > HEALTH_BUDGET && !over {
                        report.excused += 1;
                    }
                    let doing = activity
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone();
                    let line = format!(
                        "{path} {} after {took:?} (idle twin {control_took:?}) during {doing}",
                        if ok { "answered" } else { "failed" }
                    );
                    if !ok {
                        report.misses.push(line);
                    } else if over {
                        run_over.push(line);
                        if run_over.len() == SUSTAINED {
                            report.misses.push(run_over.join(", then "));
                            run_over.clear();
                        }
                    } else if !run_over.is_empty() {
                        report.excused += run_over.len() as u64;
                        run_over.clear();
                    }
                    drop(report);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        });
        Self {
            stop,
            thread,
            report,
        }
    }

    pub fn finish(self) -> HealthReport {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

// --------------------------------------------------------------- runner ----

/// Which cases of a table to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Those that must pass today.
    Ready,
    /// Those that wait for another branch's fix.
    Waiting,
}

fn status_ok(expect: Expect, status: Option<u16>) -> bool {
    match (expect, status) {
        (Expect::Status(want), Some(got)) => want == got,
        (Expect::Success, Some(got)) => (200..300).contains(&got),
        (Expect::ClientError, Some(got)) => (400..500).contains(&got),
        (Expect::NotServerError, Some(got)) => got < 500,
        (Expect::RefusedOrClosed, Some(got)) => (400..500).contains(&got),
        (Expect::RefusedOrClosed, None) => true,
        _ => false,
    }
}

/// Runs the selected cases one after another against `target` while `/healthz` is watched,
/// and panics with every failure at the end.
pub async fn run(target: &mut Target, cases: Vec<Case>, selection: Selection) {
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|case| case.waits_for.is_some() == (selection == Selection::Waiting))
        .collect();
    assert!(!cases.is_empty(), "no cases selected");
    let activity: Activity = Arc::new(Mutex::new("start".to_owned()));
    let watch = HealthWatch::start(target, activity.clone());
    let mut failures = Vec::new();
    for case in &cases {
        *activity.lock().unwrap_or_else(PoisonError::into_inner) = case.name.clone();
        let before = if case.may_write {
            None
        } else {
            Some(target.snapshot().await)
        };
        let started = Instant::now();
        let outcome = target.send(&case.request, case.deadline).await;
        let took = started.elapsed();
        let mut problems = Vec::new();
        match &outcome {
            Err(timeout) => problems.push(timeout.clone()),
            Ok(answer) => {
                if !status_ok(case.expect, answer.status) {
                    problems.push(format!(
                        "expected {:?}, got {:?}: {}",
                        case.expect,
                        answer.status,
                        answer.body.chars().take(300).collect::<String>()
                    ));
                }
                if let Some(text) = case.body_has
                    && !answer.body.contains(text)
                {
                    problems.push(format!(
                        "the answer does not contain {text:?}: {}",
                        answer.body.chars().take(300).collect::<String>()
                    ));
                }
            }
        }
        if !target.alive() {
            failures.push(format!(
                "{}: the process died\n{}",
                case.name,
                target.log_tail()
            ));
            break;
        }
        if let Some(before) = before {
            let after = target.snapshot().await;
            if after != before {
                problems.push(format!("it wrote something: {before} -> {after}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{} ({took:?}): {}", case.name, problems.join("; ")));
        }
    }
    *activity.lock().unwrap_or_else(PoisonError::into_inner) = "end".to_owned();
    let health = watch.finish();
    failures.extend(health.misses.iter().cloned());
    assert!(
        target.alive(),
        "the process died at the end\n{}",
        target.log_tail()
    );
    eprintln!(
        "hostile: {} cases; /healthz {} probes, slowest {:?}, {} over budget on a loaded machine (excused)",
        cases.len(),
        health.probes,
        health.slowest,
        health.excused
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
