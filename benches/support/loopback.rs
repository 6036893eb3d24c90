//! What the load benches share: a free loopback port, the gateway binary set up so that
//! nothing leaves the machine, and the small helpers every bench needs around it.
// Each bench includes this file as a module of its own and uses only some of it.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A bench's setting from the environment variable `name`, else `default`.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The gateway binary (the one named by the environment variable `binary_var`, else the one
/// Cargo built) serving on `127.0.0.1:port` with the embedded DataSpace in `data_dir` and
/// `admin` as its admin: no delivery, no Telegram polling, messenger calls to a closed loopback
/// port, warnings only, output discarded. Returns the binary's path with the command.
pub fn gateway(binary_var: &str, port: u16, data_dir: &Path, admin: &str) -> (String, Command) {
    let binary = std::env::var(binary_var)
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_logbot-gateway").to_owned());
    let mut command = Command::new(&binary);
    command
        .env_remove("LOGBOT_CONFIG")
        .env_remove("DATASPACE_URL")
        .env("PORT", port.to_string())
        .env("LOGBOT__SERVER__HOST", "127.0.0.1")
        .env("LOGBOT__DATASPACE__DATA_DIR", data_dir)
        .env("LOGBOT__BOTS__ADMINS", admin)
        .env("LOGBOT__DELIVERY__WORKER", "false")
        .env("LOGBOT__TELEGRAM__UPDATES", "off")
        // Should anything still call out, it reaches a closed loopback port, not the Internet.
        .env("LOGBOT__DELIVERY__TELEGRAM_API_BASE", "http://127.0.0.1:9/")
        .env("LOGBOT__DELIVERY__VK_API_BASE", "http://127.0.0.1:9/")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (binary, command)
}

/// A child process serving on `base`, killed when dropped, with the temporary directory it
/// keeps its data in (removed after it).
pub struct Process {
    pub child: Child,
    pub base: String,
    _data: Option<tempfile::TempDir>,
}

impl Process {
    pub fn new(child: Child, base: String, data: Option<tempfile::TempDir>) -> Self {
        Self {
            child,
            base,
            _data: data,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gateway ([`gateway`]) in a fresh temporary data directory, `configure` adding its own
/// settings, once `/readyz` answers (within `patience`).
pub async fn start_gateway(
    binary_var: &str,
    admin: &str,
    patience: Duration,
    configure: impl FnOnce(&mut Command),
) -> Process {
    let data = tempfile::tempdir().unwrap();
    let mut gateway = start_gateway_in(binary_var, data.path(), admin, patience, configure).await;
    gateway._data = Some(data);
    gateway
}

/// [`start_gateway`] on the data directory `data_dir`, which stays when the gateway stops.
pub async fn start_gateway_in(
    binary_var: &str,
    data_dir: &Path,
    admin: &str,
    patience: Duration,
    configure: impl FnOnce(&mut Command),
) -> Process {
    let port = free_port();
    let (binary, mut command) = gateway(binary_var, port, data_dir, admin);
    configure(&mut command);
    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("{binary}: {error}"));
    let gateway = Process::new(child, format!("http://127.0.0.1:{port}"), None);
    wait_ready(&gateway.base, patience).await;
    gateway
}

/// Waits until `{base}/readyz` answers 200, for at most `patience`.
pub async fn wait_ready(base: &str, patience: Duration) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|response| response.status() == 200)
    {
        assert!(started.elapsed() < patience, "{base}: not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A GraphQL POST to `{base}/graphql`, its answer as JSON.
pub async fn graphql(http: &reqwest::Client, base: &str, query: &str, variables: Value) -> Value {
    http.post(format!("{base}/graphql"))
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
