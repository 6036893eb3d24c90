//! What the load benches share: a free loopback port, and the gateway binary set up so that
//! nothing leaves the machine.

use std::path::Path;
use std::process::{Command, Stdio};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
