//! The real local DataSpace on a loopback port over a temp SQLite file, and a typed client
//! signing with its key, for the tests that talk to DataSpace directly.

use logbot_gateway::apig::{AppCredentials, KeyRing};
use logbot_gateway::dataspace::operations::NewBot;
use logbot_gateway::dataspace::{ClientSettings, DataSpaceClient};
use logbot_gateway::embedded_dataspace::{
    ContainsIndex, LocalDataSpace, LocalOptions, RunningDataSpace,
};
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
    start_with_index(Default::default()).await
}

/// [`start`], with `[dataspace] contains_index` as given.
pub async fn start_with_index(contains_index: ContainsIndex) -> LocalDs {
    let dir = tempfile::tempdir().unwrap();
    let running = LocalDataSpace::start(LocalOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        db_path: dir.path().join("ds.sqlite"),
        keys: KeyRing::new().with(KEY, SECRET),
        reads: Default::default(),
        durability: Default::default(),
        contains_index,
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

    /// [`LocalDs::client`], whose `logs` searches and packet groups take the DataSpace's
    /// direct calls, as the gateway's own client does with its embedded DataSpace.
    pub fn direct_client(&self) -> DataSpaceClient {
        self.client()
            .with_direct(std::sync::Arc::new(self.running.direct.clone()))
    }

    /// The client that reaches this DataSpace as `calls` says.
    pub fn client_calling(&self, calls: Calls) -> DataSpaceClient {
        match calls {
            Calls::Signed => self.client(),
            Calls::Direct => self.direct_client(),
        }
    }
}

/// How a test's client reaches the local DataSpace: over signed HTTP (a remote DataSpace's
/// way), or by its direct calls (the gateway's way with the DataSpace in its process).
#[derive(Clone, Copy, Debug)]
pub enum Calls {
    Signed,
    Direct,
}

/// Runs each test `$name(calls: Calls)` once per [`Calls`], as `$name::signed` and
/// `$name::direct`.
macro_rules! both_ways {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[tokio::test]
            async fn signed() {
                super::$name($crate::support::dataspace::Calls::Signed).await
            }

            #[tokio::test]
            async fn direct() {
                super::$name($crate::support::dataspace::Calls::Direct).await
            }
        })+
    };
}
pub(crate) use both_ways;

/// An active Telegram bot `name` of `owner`, with tokens derived from the name and a fixed
/// creation time (tests compare it).
pub fn new_bot(name: &str, owner: &str) -> NewBot {
    NewBot {
        name: name.to_owned(),
        owner_uid: owner.to_owned(),
        messenger: "TELEGRAM".into(),
        bot_token: format!("token-of-{name}"),
        auth_token_hash: format!("hash-of-{name}"),
        created_at: "2026-11-22T08:00:00.000".into(),
        status: "ACTIVE".into(),
    }
}
