//! Typed settings: the INI file (`/app/config/properties.ini`, `--config` or `LOGBOT_CONFIG`)
//! layered under environment overrides, validated as a whole, with secrets redacted.
//!
//! Everything is checked at start-up so that a typo stops the gateway with one line naming the
//! key, where the value came from and what is wrong ([`ConfigError`]), rather than surfacing
//! later as a 401 or a silently ignored option. The keys are documented in the example
//! `properties.ini` at the repository root (PROTOCOLS.md §10 fixes their names).
//!
//! ```no_run
//! # use logbot_gateway::config::Settings;
//! let settings = Settings::from_process_env(None)?;
//! println!("{}", settings.redacted()); // what `check-config` prints
//! # Ok::<(), logbot_gateway::config::ConfigError>(())
//! ```

mod error;
mod ini;
mod layers;
mod render;
mod sections;
mod values;

pub use error::ConfigError;
pub use layers::{ValueOrigin, ValueOrigins};

use crate::apig::KeyRing;
use reqwest::Url;
use secrecy::SecretString;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a deployed function finds its ConfigMap.
pub const DEFAULT_CONFIG_PATH: &str = "/app/config/properties.ini";

/// The variable naming the config file when `--config` is not given.
pub const CONFIG_PATH_VAR: &str = "LOGBOT_CONFIG";

/// The effective configuration. Build it with [`Settings::load`] or
/// [`Settings::from_process_env`]; [`Settings::default`] is what loading nothing gives.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file actually read, if any.
    pub config_file: Option<PathBuf>,
    pub server: ServerSettings,
    pub dataspace: DataSpaceSettings,
    pub auth: AuthSettings,
    pub bots: BotSettings,
    pub function: FunctionSettings,
    pub webpubsub: WebPubSubSettings,
    pub vk: VkSettings,
    pub bus: BusSettings,
    pub delivery: DeliverySettings,
    pub telegram: TelegramSettings,
    pub send_logs: SendLogsSettings,
    pub limits: LimitSettings,
    pub graphql: GraphqlSettings,
    pub log: LogSettings,
    /// Where each value came from (file, environment), for [`Settings::redacted`].
    pub origins: ValueOrigins,
}

/// `[server]`: where the HTTP server binds, and what one connection may hold of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Default 0.0.0.0.
    pub host: IpAddr,
    /// Default 8080; the `PORT` variable (set by the function platform) wins.
    pub port: u16,
    /// Open connections; one more is answered 503 and closed. Default 1024.
    pub max_connections: usize,
    /// `header_read_timeout_ms`: time to send a request's headers, and to start the next one
    /// on a kept-alive connection (the idle limit); default 10 s.
    pub header_read_timeout: Duration,
    /// `body_read_timeout_ms`: time to send a whole request body, from its headers; default 20 s.
    pub body_read_timeout: Duration,
    /// Requests on one HTTP/1 connection before it is closed, default 1000.
    pub max_requests_per_connection: usize,
    /// Concurrent HTTP/2 streams on one connection, default 100.
    pub max_streams_per_connection: u32,
    /// `shutdown_grace_ms`: how long a shutdown lets requests in flight finish, default 10 s.
    pub shutdown_grace: Duration,
    /// `heap_trim_ms`: how often freed heap is handed back to the system (glibc only), default
    /// 60 s; 0 never.
    pub heap_trim_every: Duration,
}

/// `[dataspace]`: the backend. No `url` means the embedded local DataSpace.
#[derive(Debug, Clone)]
pub struct DataSpaceSettings {
    /// `DATASPACE_URL`; the GraphQL endpoint of a deployed DataSpace.
    pub url: Option<Url>,
    /// `APP_KEY`: the APIG App key outgoing calls are signed with.
    pub app_key: Option<String>,
    /// `APP_SECRET`.
    pub app_secret: Option<SecretString>,
    /// `timeout_ms`: per call, default 5 s.
    pub timeout: Duration,
    /// Retries after a failed call that is safe to repeat, default 2.
    pub retries: u32,
    /// Where the embedded DataSpace keeps its SQLite file, default `./data`.
    pub data_dir: PathBuf,
    /// `durability`: the embedded DataSpace's commit sync, default `normal`.
    pub durability: crate::embedded_dataspace::Durability,
    /// `contains_index`: `none` (default) or `trigram` for the embedded DataSpace's `contains`.
    pub contains_index: crate::embedded_dataspace::ContainsIndex,
    /// `group_commit_packets` (64), `group_commit_bytes` (1 MiB), `group_commit_in_flight`
    /// (4): how concurrent ingests share calls.
    pub group_commit: crate::dataspace::GroupCommitSettings,
}

/// `[auth]`: inbound APIG App authentication of our own API.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// `app_keys = key:secret,key2:secret2`; `None` leaves the API open.
    pub app_keys: Option<KeyRing>,
    /// The access keys of `app_keys`, in the order given (not secret; for reports and logs).
    pub app_key_ids: Vec<String>,
}

/// `[bots]`: who may register bots, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSettings {
    /// User ids allowed to register bots; empty entries dropped. Empty: nobody may.
    pub admins: Vec<String>,
    /// 0..=1000, default 3.
    pub max_bots_per_admin: u32,
}

/// `[function]`: direct calls and storage triggers (PROTOCOLS §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSettings {
    /// The package name direct calls must carry, default `logbot`.
    pub package: String,
    /// `storage.<bucket>.<create|delete|update>` -> bot name, from the keys
    /// `trigger.storage.<bucket>.<event> = <bot>`. Look up with [`FunctionSettings::trigger_bot`].
    pub triggers: BTreeMap<String, String>,
}

impl FunctionSettings {
    /// The bot that records `event` (`create`, `delete` or `update`) on `bucket`, if configured.
    pub fn trigger_bot(&self, bucket: &str, event: &str) -> Option<&str> {
        self.triggers
            .get(&format!("storage.{bucket}.{event}"))
            .map(String::as_str)
    }
}

/// `[webpubsub]`: the CloudEvents upstream (`/eventhandler`, PROTOCOLS §8).
#[derive(Debug, Clone, Default)]
pub struct WebPubSubSettings {
    /// The hub events must name; `None` turns the endpoint off.
    pub hub: Option<String>,
    /// Keys for `ce-signature`; a request signed with any of them is accepted.
    pub access_keys: Vec<SecretString>,
    /// Origins a preflight may name (`*` allows any).
    pub allowed_origins: Vec<String>,
}

/// `[vk]`: VK chat events (PROTOCOLS §9).
#[derive(Debug, Clone, Default)]
pub struct VkSettings {
    /// The code answering the Callback API `confirmation` event.
    pub confirmation: Option<String>,
    /// The Callback API `secret` every event must carry.
    pub secret: Option<SecretString>,
    /// The community token for sending messages and Bots Long Poll.
    pub access_token: Option<SecretString>,
    /// The community id, needed to open Bots Long Poll.
    pub group_id: Option<u64>,
    /// Also pull events by Bots Long Poll, default false (needs `access_token` and `group_id`).
    pub long_poll: bool,
    /// `allow_unsigned_events`: serve the Callback API with `confirmation` but no `secret`
    /// (every event accepted, whoever sends it); default false, which refuses to start so.
    pub allow_unsigned_events: bool,
}

/// `[bus]`: live fan-out across replicas.
#[derive(Clone, PartialEq, Eq)]
pub struct BusSettings {
    /// `redis://` or `rediss://`; `None` is the in-process bus (one replica).
    pub redis_url: Option<String>,
    /// Prefix of the Redis channel names; `None` (or empty) is no prefix
    /// ([`crate::bus::DEFAULT_CHANNEL_PREFIX`]), so channels are named as PROTOCOLS.md says
    /// (`records`, `events.<type>`). Replicas that share a Redis must share it; deployments (or
    /// test runs) sharing one Redis keep apart with their own.
    pub channel_prefix: Option<String>,
    /// `reconnect_max_ms`: the longest pause between attempts to reconnect to Redis after the
    /// connection is lost (the pauses double from 50 ms up to it), default 1 s.
    pub reconnect_max: Duration,
    /// `ping_interval_ms`: how often the subscriber connection is checked with a PING (a Redis
    /// that stops answering without closing the socket is noticed within two of these),
    /// default 1 s.
    pub ping_interval: Duration,
}

/// By hand, because a Redis URL may carry a password.
impl fmt::Debug for BusSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusSettings")
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(render::redact_url_password),
            )
            .field("channel_prefix", &self.channel_prefix)
            .field("reconnect_max", &self.reconnect_max)
            .field("ping_interval", &self.ping_interval)
            .finish()
    }
}

/// `[delivery]`: sending records to chats. The API bases always end in `/`, so
/// `base.join("bot<token>/sendMessage")` appends to them.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// Default `https://api.telegram.org`.
    pub telegram_api_base: Url,
    /// Default `https://api.vk.com`.
    pub vk_api_base: Url,
    /// Attempts per message before it is given up, default 8.
    pub max_attempts: u32,
    /// Finished (sent or dead) deliveries older than this many hours are pruned by the worker,
    /// default 168 (7 days); 0 keeps them for good.
    pub keep_done_hours: u64,
    /// Run the delivery worker in this process, default true (a replica that only ingests
    /// can turn it off; any number of replicas may run it).
    pub worker: bool,
    /// How often the worker looks for due deliveries, default 250 ms (a record committed by
    /// this process wakes it at once).
    pub poll_interval: Duration,
    /// How long a claimed delivery stays reserved for its worker, default 60 s.
    pub lease: Duration,
    /// Time limit of one messenger call, default 10 s.
    pub send_timeout: Duration,
    /// Retry pauses: exponential from `backoff_base` up to `backoff_cap`, full jitter;
    /// defaults 1 s and 5 min.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Chats served at once by this process, default 32.
    pub concurrency: usize,
    /// Messages per second per Telegram bot (default 30) and per chat (default 1; group
    /// chats get a third of it, Telegram's 20 a minute).
    pub telegram_bot_rate: f64,
    pub telegram_chat_rate: f64,
    /// Messages per second per VK community (default 20) and per conversation (default 1).
    pub vk_bot_rate: f64,
    pub vk_chat_rate: f64,
    /// Several waiting records of a chat share one message, default true.
    pub coalesce: bool,
    /// A chat with more records waiting than this (default 20) gets one digest in their place.
    pub digest_after: usize,
    /// So does a chat whose oldest waiting record has waited longer than this, default 2 min.
    pub digest_after_wait: Duration,
    /// The longest pause a messenger may ask for (Telegram `retry_after`), default 1 h.
    pub max_retry_after: Duration,
}

/// `[telegram]`: how Telegram updates (the commands chats write to the bots) come in.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    /// `polling` (default: works behind NAT), `webhook` (needs `public_url` and
    /// `webhook_secret`) or `off` (a replica that only ingests and delivers).
    pub updates: TelegramUpdates,
    /// The gateway's public base URL; webhooks are set to `<public_url>/events/telegram/<bot id>`.
    pub public_url: Option<Url>,
    /// The server secret each bot's webhook `secret_token` is derived from (HMAC of the bot
    /// token), so the token itself never travels in a header.
    pub webhook_secret: Option<SecretString>,
    /// A bot served from the configuration rather than DataSpace, so that the first admin has a
    /// bot to write `register` to.
    pub home_bot_token: Option<SecretString>,
    /// `poll_timeout_s`: how long one `getUpdates` long poll waits, default 25 s.
    pub poll_timeout: Duration,
    /// `lease_ms`: how long a replica's claim to poll a bot lasts unrenewed, default 10 s (it
    /// renews every third of it; a dead replica's bots are taken over within about this long).
    pub lease: Duration,
    /// `rescan_ms`: how often the registered bots are listed again, default 5 s (a bot
    /// registered on this replica or announced on the bus is seen at once).
    pub rescan: Duration,
    /// `max_update_bytes`: body limit of a webhook update, default 256 KiB.
    pub max_update_bytes: usize,
}

/// `[telegram] updates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramUpdates {
    Polling,
    Webhook,
    Off,
}

impl fmt::Display for TelegramUpdates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Polling => "polling",
            Self::Webhook => "webhook",
            Self::Off => "off",
        })
    }
}

impl std::str::FromStr for TelegramUpdates {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "polling" => Ok(Self::Polling),
            "webhook" => Ok(Self::Webhook),
            "off" => Ok(Self::Off),
            _ => Err(format!("{text:?} is not polling, webhook or off")),
        }
    }
}

/// `[send_logs]`: the LoggerBot wire format (PROTOCOLS §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendLogsSettings {
    /// The bot records go to when their LogUser names none.
    pub default_bot: Option<String>,
    /// Longer messages are cut to this many characters, default 4000.
    pub max_message_chars: usize,
}

/// `[limits]`: what one client may ask of the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// Request body size, default 1 MiB.
    pub body_bytes: usize,
    /// GraphQL query depth, default 12.
    pub query_depth: usize,
    /// GraphQL query complexity (a list field's `first` multiplies its selection's), default
    /// 5000.
    pub complexity: usize,
    /// Aliases per query, default 30.
    pub aliases: usize,
    /// Root fields per operation, default 20.
    pub root_fields: usize,
    /// Operations per batched request, default 10.
    pub batch_size: usize,
    /// `request_timeout_ms`, default 15 s.
    pub request_timeout: Duration,
    /// Open WebSocket connections, default 10,000.
    pub ws_connections: usize,
    /// Subscriptions per WebSocket connection, default 20.
    pub ws_subscriptions_per_connection: usize,
    /// Distinct subscriptions (document and variables) running at once, default 5,000.
    pub ws_feeds: usize,
    /// Log records per ingested batch, default 1000.
    pub max_records_per_batch: usize,
    /// Messages in one storage-trigger or queue-signal batch on `POST /`, default 1000.
    pub messages_per_batch: usize,
    /// Characters of a `createLogUser` password, default 256.
    pub password_chars: usize,
    /// Active chat subscriptions of one bot, default 1000.
    pub subscriptions_per_bot: usize,
    /// Deliveries (records x the chats they go to) one batch may queue, default 10000.
    pub deliveries_per_batch: usize,
    /// Refused registrations and subscriptions written as AuditEvents per minute (the rest
    /// are counted into the next one written), default 60.
    pub audit_refusals_per_minute: u32,
    /// The raw GraphQL document's size and shape (`document_*`), checked before parsing.
    pub document: crate::graphql_document::DocumentCaps,
    /// Records (bots, log records) one HTTP request may return, batch included, default 2000.
    pub records_per_request: usize,
    /// Bytes of one HTTP response body, batch included, default 4 MiB.
    pub response_bytes: usize,
    /// Bytes of persisted (APQ) query text kept per process, default 8 MiB.
    pub apq_bytes: usize,
    /// Bytes of parsed documents kept per process (their text and about 400 bytes per token),
    /// default 4 MiB.
    pub parsed_documents_bytes: usize,
    /// The embedded DataSpace's reads: `dataspace_readers` (default 4),
    /// `dataspace_read_timeout_ms` (default 10 s) and `dataspace_cache_kib` (default 2000).
    pub dataspace_reads: crate::embedded_dataspace::ReadLimits,
    /// `retry_after_s`: the `Retry-After` of every 503 (DataSpace or the bus unavailable, a
    /// limit that clears with time), in seconds, default 2.
    pub retry_after: Duration,
}

/// `[graphql]`: developer conveniences of our API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphqlSettings {
    /// `None`: on with the embedded DataSpace, off when deployed (the caller decides).
    pub introspection: Option<bool>,
    /// The GraphiQL page for a browser's GET on `/graphql`, default true.
    pub graphiql: bool,
    /// Where the page loads GraphiQL's files from (npm `name@version/file` layout, ends in `/`).
    pub graphiql_assets_url: Url,
}

/// `[log]`: the gateway's own logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `info,logbot_gateway=debug`; default `info`.
    pub level: String,
}

/// `json` in containers (one object per line for the log collector), `text` on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    Json,
    #[default]
    Text,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Text => "text",
        })
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            _ => Err(format!("{text:?} is not a log format (json or text)")),
        }
    }
}

impl Settings {
    /// Loads the config file and applies `env` over it.
    ///
    /// The file: `explicit` (from `--config`), else `LOGBOT_CONFIG`, else
    /// `/app/config/properties.ini` if it exists, else none (defaults and environment only).
    /// A path given by `--config` or `LOGBOT_CONFIG` that does not exist is an error.
    pub fn load(
        explicit: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        Self::load_with_default_path(explicit, env, Path::new(DEFAULT_CONFIG_PATH))
    }

    /// [`Settings::load`] with another fallback than `/app/config/properties.ini`, so tests do
    /// not depend on what the machine has there.
    pub fn load_with_default_path(
        explicit: Option<&Path>,
        env: &HashMap<String, String>,
        default_path: &Path,
    ) -> Result<Self, ConfigError> {
        let mut layers = layers::Layers::default();
        let config_file = choose_config_file(explicit, env, default_path)?;
        if let Some(path) = &config_file {
            layers.add_file(path, read_config_file(path)?);
        }
        layers.add_env(env)?;
        let mut settings = sections::read_settings(&layers)?;
        settings.config_file = config_file;
        Ok(settings)
    }

    /// [`Settings::load`] with the process environment.
    pub fn from_process_env(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        // `vars_os`, because `vars` panics on a variable that is not UTF-8 (any variable, even
        // one that is none of ours).
        let env: HashMap<String, String> = std::env::vars_os()
            .map(|(name, value)| {
                (
                    name.to_string_lossy().into_owned(),
                    value.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Self::load(explicit, &env)
    }

    /// True when no DataSpace URL is configured: the gateway runs its own local DataSpace.
    pub fn embedded_dataspace(&self) -> bool {
        self.dataspace.url.is_none()
    }

    /// The effective configuration as INI text: every key with its value and, as a trailing
    /// comment, where it came from; secrets as `***`. What `check-config` prints.
    pub fn redacted(&self) -> String {
        render::render(self)
    }
}

/// What loading no file and no environment gives.
impl Default for Settings {
    fn default() -> Self {
        sections::read_settings(&layers::Layers::default()).expect("the defaults are valid")
    }
}

/// Picks the file to read; see [`Settings::load`].
fn choose_config_file(
    explicit: Option<&Path>,
    env: &HashMap<String, String>,
    default_path: &Path,
) -> Result<Option<PathBuf>, ConfigError> {
    let named = explicit
        .map(|path| (path.to_path_buf(), "--config".to_string()))
        .or_else(|| {
            env.get(CONFIG_PATH_VAR)
                .filter(|path| !path.trim().is_empty())
                .map(|path| {
                    (
                        PathBuf::from(path.trim()),
                        format!("environment variable {CONFIG_PATH_VAR}"),
                    )
                })
        });
    match named {
        Some((path, _)) if path.is_file() => Ok(Some(path)),
        Some((path, named_by)) => Err(ConfigError::new(
            "config file",
            named_by,
            format!("{} does not exist or is not a file", path.display()),
        )),
        None if default_path.is_file() => Ok(Some(default_path.to_path_buf())),
        None => Ok(None),
    }
}

fn read_config_file(path: &Path) -> Result<Vec<ini::IniEntry>, ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigError::new("config file", &source, format!("cannot be read: {error}"))
    })?;
    ini::parse(&text).map_err(|error| ConfigError::new(error.key, source, error.problem))
}
