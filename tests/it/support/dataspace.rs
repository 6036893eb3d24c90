//! The real local DataSpace on a loopback port over a temp SQLite file, and a typed client
//! signing with its key, for the tests that talk to DataSpace directly.

use logbot_gateway::apig::{AppCredentials, KeyRing};
use logbot_gateway::dataspace::local::{LocalDataSpace, LocalOptions, RunningDataSpace};
use logbot_gateway::dataspace::{ClientSettings, DataSpaceClient};
use std::time::Duration;

/// The App key and secret the local DataSpace accepts.
pub const KEY: &str = "k";
pub const SECRET: &str = "s";

/// A running local DataSpace; its database goes away with it.
pub struct LocalDs {
    pub running: RunningDataSpace,
    _dir: tempfile::TempDir,
}

pub async fn start() -> LocalDs {
    let dir = tempfile::tempdir().unwrap();
    let running = LocalDataSpace::start(LocalOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        db_path: dir.path().join("ds.sqlite"),
        keys: KeyRing::new().with(KEY, SECRET),
    })
    .await
    .unwrap();
    LocalDs { running, _dir: dir }
}

/// A typed client for `url` signing with [`KEY`] and `secret`.
pub fn client_for(url: &str, secret: &str, timeout: Duration, retries: u32) -> DataSpaceClient {
    DataSpaceClient::new(ClientSettings {
        url: url.to_owned(),
        credentials: AppCredentials::new(KEY, secret),
        timeout,
        retries,
    })
    .unwrap()
}

impl LocalDs {
    /// A client with the right secret, a 5 s timeout and 2 retries.
    pub fn client(&self) -> DataSpaceClient {
        client_for(&self.running.url, SECRET, Duration::from_secs(5), 2)
    }
}
