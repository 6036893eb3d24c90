//! The real binary as a separate process: free ports, waiting for readiness, and the standalone
//! DataSpace (`logbot-gateway dataspace`) that several gateway processes can share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port nobody is listening on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary under test: `LOGBOT_TEST_BIN` when set (a copy taken right after building, for a
/// target directory that other checkouts build into too), else the one Cargo built.
pub fn binary() -> PathBuf {
    std::env::var_os("LOGBOT_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_logbot-gateway")))
}

/// Waits until `GET {base}/readyz` answers 200; panics with `what` after `within`.
pub async fn wait_ready(base: &str, within: Duration, what: &str) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ready = http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|response| response.status() == 200);
        if ready {
            return;
        }
        assert!(started.elapsed() < within, "{what} did not get ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `logbot-gateway dataspace` on a free port over `db`, signed with key `k` and secret `s`
/// (see `super::dataspace`); killed when dropped.
pub struct StandaloneDataSpace {
    child: Child,
    /// Its GraphQL endpoint.
    pub url: String,
}

/// Sends `signal` to process `pid` (the tests' SIGKILL, SIGSTOP, SIGCONT and SIGTERM).
pub fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid fits an i32"));
    nix::sys::signal::kill(pid, signal).expect("the signal is delivered");
}

impl StandaloneDataSpace {
    /// Starts it on a free port and waits until it accepts connections.
    pub async fn start(db: &Path) -> Self {
        Self::start_on(db, free_port()).await
    }

    /// Starts it on `port` (again, after a kill) and waits until it accepts connections.
    pub async fn start_on(db: &Path, port: u16) -> Self {
        let child = Command::new(binary())
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the standalone DataSpace did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/graphql"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, whatever was in flight is cut off.
    pub fn kill(mut self) {
        signal(self.child.id(), nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for StandaloneDataSpace {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
