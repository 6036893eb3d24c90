//! Configuration loading through the public API: `Settings::load` with a temporary file and an
//! environment map (the process environment is never touched, so tests can run in parallel).

use logbot_gateway::config::{ConfigError, LogFormat, Settings, ValueOrigin};
use logbot_gateway::embedded_dataspace::{ContainsIndex, Durability};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fallback path that never exists, so no test depends on the machine's /app/config.
const NO_DEFAULT_FILE: &str = "/nonexistent/logbot-gateway/properties.ini";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("properties.ini")
}

/// A config file holding `text`; deleted when dropped.
fn ini_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".ini").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn load(file: Option<&Path>, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load_with_default_path(file, &env(vars), Path::new(NO_DEFAULT_FILE))
}

fn load_ini(text: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let file = ini_file(text);
    load(Some(file.path()), vars)
}

/// The error of loading `text` with `vars`, checked to be one line of `key in source: problem`.
fn error_of(text: &str, vars: &[(&str, &str)]) -> (ConfigError, String) {
    let file = ini_file(text);
    let error = load(Some(file.path()), vars).expect_err("the configuration is invalid");
    let line = error.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert_eq!(
        line,
        format!("{} in {}: {}", error.key, error.source, error.problem)
    );
    let path = file.path().display().to_string();
    (error, path)
}

/// `redacted()` without comments: `section.key = value` lines, to compare values only.
fn values_of(redacted: &str) -> Vec<String> {
    let mut section = String::new();
    let mut lines = Vec::new();
    for line in redacted.lines().filter(|line| !line.starts_with('#')) {
        if let Some(name) = line.strip_prefix('[') {
            section = name.trim_end_matches(']').to_string();
        } else if let Some((entry, _origin)) = line.split_once("  # ") {
            lines.push(format!("{section}.{}", entry.trim_end()));
        }
    }
    lines
}

/// The `section.key` names set (uncommented) in an INI text.
fn keys_in_ini(text: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            section = name.trim_end_matches(']').to_string();
        } else if let Some((key, _)) = line.split_once('=') {
            keys.insert(format!("{section}.{}", key.trim()));
        }
    }
    keys
}

#[test]
fn defaults_without_a_file() {
    let settings = load(None, &[]).unwrap();
    assert_eq!(settings.config_file, None);
    assert_eq!(settings.server.host, "0.0.0.0".parse::<IpAddr>().unwrap());
    assert_eq!(settings.server.port, 8080);
    assert!(settings.embedded_dataspace());
    assert_eq!(settings.dataspace.app_key, None);
    assert!(settings.dataspace.app_secret.is_none());
    assert_eq!(settings.dataspace.timeout, Duration::from_millis(5000));
    assert_eq!(settings.dataspace.retries, 2);
    assert_eq!(settings.dataspace.data_dir, PathBuf::from("./data"));
    assert_eq!(settings.dataspace.durability, Durability::Normal);
    assert_eq!(settings.dataspace.contains_index, ContainsIndex::None);
    assert_eq!(
        settings.dataspace.group_commit,
        logbot_gateway::dataspace::GroupCommitSettings::default()
    );
    assert!(settings.auth.app_keys.is_none());
    assert!(settings.bots.admins.is_empty());
    assert_eq!(settings.bots.max_bots_per_admin, 3);
    assert_eq!(settings.function.package, "logbot");
    assert!(settings.function.triggers.is_empty());
    assert_eq!(settings.webpubsub.hub, None);
    assert!(settings.webpubsub.access_keys.is_empty());
    assert!(settings.webpubsub.allowed_origins.is_empty());
    assert_eq!(settings.vk.confirmation, None);
    assert!(!settings.vk.long_poll);
    assert_eq!(settings.bus.redis_url, None);
    assert_eq!(
        settings.delivery.telegram_api_base.as_str(),
        "https://api.telegram.org/"
    );
    assert_eq!(
        settings.delivery.vk_api_base.as_str(),
        "https://api.vk.com/"
    );
    assert_eq!(settings.delivery.max_attempts, 8);
    assert_eq!(settings.delivery.keep_done_hours, 168);
    assert_eq!(settings.send_logs.default_bot, None);
    assert_eq!(settings.send_logs.max_message_chars, 4000);
    let limits = &settings.limits;
    assert_eq!(limits.body_bytes, 1024 * 1024);
    assert_eq!(
        [
            limits.query_depth,
            limits.complexity,
            limits.aliases,
            limits.root_fields,
            limits.batch_size
        ],
        [12, 12_000, 30, 20, 10]
    );
    assert_eq!(limits.request_timeout, Duration::from_millis(15000));
    assert_eq!(limits.ws_connections, 10_000);
    assert_eq!(limits.ws_subscriptions_per_connection, 20);
    assert_eq!(limits.ws_feeds, 5000);
    assert_eq!(limits.max_records_per_batch, 1000);
    assert_eq!(settings.graphql.introspection, None);
    assert!(settings.graphql.graphiql);
    assert_eq!(settings.log.format, LogFormat::Text);
    assert_eq!(settings.log.level, "info");
    assert_eq!(settings.origins.of("server.port"), ValueOrigin::Default);

    assert_eq!(Settings::default().redacted(), settings.redacted());
}

#[test]
fn the_example_properties_ini_loads_and_gives_the_defaults() {
    let example = example_path();
    let settings = load(Some(&example), &[]).unwrap();
    assert_eq!(settings.config_file.as_deref(), Some(example.as_path()));
    assert_eq!(
        values_of(&settings.redacted()),
        values_of(&Settings::default().redacted())
    );
}

#[test]
fn the_example_properties_ini_sets_every_key() {
    let example = std::fs::read_to_string(example_path()).unwrap();
    let redacted = Settings::default().redacted();
    let every_key: BTreeSet<String> = keys_in_ini(&redacted);
    assert_eq!(keys_in_ini(&example), every_key);
    assert!(every_key.len() >= 40, "{every_key:?}");
}

#[test]
fn the_default_path_is_read_when_it_exists_and_nothing_else_is_named() {
    let fallback = ini_file("[server]\nport = 9001\n");
    let settings = Settings::load_with_default_path(None, &env(&[]), fallback.path()).unwrap();
    assert_eq!(settings.server.port, 9001);
    assert_eq!(settings.config_file.as_deref(), Some(fallback.path()));

    let named = ini_file("[server]\nport = 9002\n");
    let by_var = env(&[("LOGBOT_CONFIG", &named.path().display().to_string())]);
    let settings = Settings::load_with_default_path(None, &by_var, fallback.path()).unwrap();
    assert_eq!(settings.server.port, 9002);

    let explicit = ini_file("[server]\nport = 9003\n");
    let settings =
        Settings::load_with_default_path(Some(explicit.path()), &by_var, fallback.path()).unwrap();
    assert_eq!(settings.server.port, 9003);
    assert_eq!(settings.config_file.as_deref(), Some(explicit.path()));
}

#[test]
fn a_named_config_file_that_does_not_exist_is_an_error() {
    let missing = Path::new("/nonexistent/logbot/custom.ini");
    let error = load(Some(missing), &[]).unwrap_err();
    assert_eq!(error.key, "config file");
    assert_eq!(error.source, "--config");
    assert!(error.problem.contains("/nonexistent/logbot/custom.ini"));
    assert!(error.problem.contains("does not exist"));

    let error = load(None, &[("LOGBOT_CONFIG", "/nonexistent/logbot/custom.ini")]).unwrap_err();
    assert_eq!(error.source, "environment variable LOGBOT_CONFIG");
    assert_eq!(
        error.to_string(),
        "config file in environment variable LOGBOT_CONFIG: \
         /nonexistent/logbot/custom.ini does not exist or is not a file"
    );
}

const FILE_VALUES: &str = "\
[Server]
HOST = 127.0.0.1
port = 9000   # a trailing comment

[dataspace]
url = https://smapi.example.com/ds-123/graphql
app_key = file-key
app_secret = file-secret
timeout_ms = 2500
retries = 0
data_dir = /var/lib/logbot
durability = full
contains_index = trigram
group_commit_packets = 8
group_commit_bytes = 65536
group_commit_in_flight = 1

[auth]
app_keys = team-a:secret-a, team-b:secret-b

[bots]
admins = 111, ,222,
max_bots_per_admin = 0

[function]
package = logbot-prod
trigger.storage.logs-bucket.create = df
trigger.storage.my.dotted.bucket.delete = audit

[webpubsub]
hub = Chat
access_keys = key-one,key-two
allowed_origins = https://a.webpubsub.azure.com, *

[vk]
confirmation = c0nf1rm
secret = vk-secret
access_token = vk-token
group_id = 42
long_poll = yes

[bus]
redis_url = rediss://:redis-pass@cache.internal:6380/1

[delivery]
telegram_api_base = http://127.0.0.1:8081/tg
vk_api_base = https://api.vk.com
max_attempts = 3
keep_done_hours = 0

[send_logs]
default_bot = df
max_message_chars = 1000

[limits]
body_bytes = 2048
request_timeout_ms = 1000
max_records_per_batch = 5

[graphql]
introspection = off
graphiql = 0

[log]
format = JSON
level = info,logbot_gateway=debug
";

#[test]
fn file_values_are_read_and_normalized() {
    let settings = load_ini(FILE_VALUES, &[]).unwrap();
    assert_eq!(settings.server.host, "127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(settings.server.port, 9000);
    assert!(!settings.embedded_dataspace());
    assert_eq!(
        settings.dataspace.url.as_ref().unwrap().as_str(),
        "https://smapi.example.com/ds-123/graphql"
    );
    assert_eq!(settings.dataspace.app_key.as_deref(), Some("file-key"));
    assert_eq!(settings.dataspace.timeout, Duration::from_millis(2500));
    assert_eq!(settings.dataspace.retries, 0);
    assert_eq!(
        settings.dataspace.data_dir,
        PathBuf::from("/var/lib/logbot")
    );
    assert_eq!(settings.dataspace.durability, Durability::Full);
    assert_eq!(settings.dataspace.contains_index, ContainsIndex::Trigram);
    assert_eq!(
        settings.dataspace.group_commit,
        logbot_gateway::dataspace::GroupCommitSettings {
            packets: 8,
            bytes: 65536,
            in_flight: 1
        }
    );
    assert!(settings.auth.app_keys.is_some());
    assert_eq!(settings.auth.app_key_ids, ["team-a", "team-b"]);
    assert_eq!(settings.bots.admins, ["111", "222"]);
    assert_eq!(settings.bots.max_bots_per_admin, 0);
    assert_eq!(settings.function.package, "logbot-prod");
    assert_eq!(
        settings.function.triggers,
        BTreeMap::from([
            ("storage.logs-bucket.create".to_string(), "df".to_string()),
            (
                "storage.my.dotted.bucket.delete".to_string(),
                "audit".to_string()
            ),
        ])
    );
    assert_eq!(
        settings.function.trigger_bot("logs-bucket", "create"),
        Some("df")
    );
    assert_eq!(
        settings.function.trigger_bot("my.dotted.bucket", "delete"),
        Some("audit")
    );
    assert_eq!(settings.function.trigger_bot("logs-bucket", "delete"), None);
    assert_eq!(settings.webpubsub.hub.as_deref(), Some("Chat"));
    assert_eq!(settings.webpubsub.access_keys.len(), 2);
    assert_eq!(
        settings.webpubsub.allowed_origins,
        ["https://a.webpubsub.azure.com", "*"]
    );
    assert_eq!(settings.vk.confirmation.as_deref(), Some("c0nf1rm"));
    assert_eq!(settings.vk.group_id, Some(42));
    assert!(settings.vk.long_poll);
    assert_eq!(
        settings.bus.redis_url.as_deref(),
        Some("rediss://:redis-pass@cache.internal:6380/1")
    );
    // API bases end in `/` so that `join` appends to a proxy's path prefix.
    assert_eq!(
        settings.delivery.telegram_api_base.as_str(),
        "http://127.0.0.1:8081/tg/"
    );
    assert_eq!(settings.delivery.max_attempts, 3);
    assert_eq!(
        settings.delivery.keep_done_hours, 0,
        "0 keeps them for good"
    );
    assert_eq!(settings.send_logs.default_bot.as_deref(), Some("df"));
    assert_eq!(settings.send_logs.max_message_chars, 1000);
    assert_eq!(settings.limits.body_bytes, 2048);
    assert_eq!(
        settings.limits.query_depth, 12,
        "unset keys keep their default"
    );
    assert_eq!(settings.limits.request_timeout, Duration::from_secs(1));
    assert_eq!(settings.limits.max_records_per_batch, 5);
    assert_eq!(settings.graphql.introspection, Some(false));
    assert!(!settings.graphql.graphiql);
    assert_eq!(settings.log.format, LogFormat::Json);
    assert_eq!(settings.log.level, "info,logbot_gateway=debug");

    let path = settings.config_file.clone().unwrap();
    assert_eq!(
        settings.origins.of("server.port"),
        ValueOrigin::File { path, line: 3 }
    );
    let redacted = settings.redacted();
    assert!(
        redacted.contains("\nport = 9000  # file, line 3\n"),
        "{redacted}"
    );
    assert!(redacted.contains("\ntrigger.storage.logs-bucket.create = df  # file, line 27\n"));
    assert!(redacted.contains("\nquery_depth = 12  # default\n"));
}

#[test]
fn environment_overrides_win_and_are_reported_with_their_source() {
    let settings = load_ini(
        "[server]\nport = 9000\n[bots]\nadmins = 1\n[graphql]\ngraphiql = false\n",
        &[
            ("LOGBOT__SERVER__PORT", "9100"),
            ("LOGBOT__BOTS__ADMINS", " 7, 8 "),
            ("logbot__bots__max_bots_per_admin", "9"), // not our prefix: ignored
            ("LOGBOT__Bots__Max_Bots_Per_Admin", "5"),
            ("LOGBOT__FUNCTION__TRIGGER.STORAGE.LOGS.CREATE", "df"),
            ("LOGBOT__GRAPHQL__GRAPHIQL", ""), // empty: back to the default
            ("UNRELATED", "whatever"),
        ],
    )
    .unwrap();
    assert_eq!(settings.server.port, 9100);
    assert_eq!(settings.bots.admins, ["7", "8"]);
    assert_eq!(settings.bots.max_bots_per_admin, 5);
    assert_eq!(settings.function.trigger_bot("logs", "create"), Some("df"));
    assert!(settings.graphql.graphiql);

    assert_eq!(
        settings.origins.of("server.port"),
        ValueOrigin::Env {
            var: "LOGBOT__SERVER__PORT".into()
        }
    );
    let redacted = settings.redacted();
    for line in [
        "port = 9100  # env LOGBOT__SERVER__PORT",
        "admins = 7,8  # env LOGBOT__BOTS__ADMINS",
        "max_bots_per_admin = 5  # env LOGBOT__Bots__Max_Bots_Per_Admin",
        "trigger.storage.logs.create = df  # env LOGBOT__FUNCTION__TRIGGER.STORAGE.LOGS.CREATE",
        "graphiql = true  # env LOGBOT__GRAPHQL__GRAPHIQL",
        "host = 0.0.0.0  # default",
    ] {
        assert!(redacted.lines().any(|l| l == line), "{line}\n{redacted}");
    }
}

#[test]
fn plain_platform_variables_win_over_everything() {
    let settings = load_ini(
        "[server]\nport = 9000\n[dataspace]\nurl = http://file.example/graphql\n",
        &[
            ("LOGBOT__SERVER__PORT", "9100"),
            ("PORT", "9200"),
            ("DATASPACE_URL", "https://env.example/ds/graphql"),
            ("APP_KEY", " env-key "),
            ("APP_SECRET", "env-secret\n"),
        ],
    )
    .unwrap();
    assert_eq!(settings.server.port, 9200);
    assert!(!settings.embedded_dataspace());
    assert_eq!(
        settings.dataspace.url.as_ref().unwrap().as_str(),
        "https://env.example/ds/graphql"
    );
    // Trimmed: a secret mounted from a file often ends in a newline.
    assert_eq!(settings.dataspace.app_key.as_deref(), Some("env-key"));
    use secrecy::ExposeSecret;
    assert_eq!(
        settings
            .dataspace
            .app_secret
            .as_ref()
            .unwrap()
            .expose_secret(),
        "env-secret"
    );
    let redacted = settings.redacted();
    assert!(
        redacted.contains("\nport = 9200  # env PORT\n"),
        "{redacted}"
    );
    assert!(redacted.contains("\nurl = https://env.example/ds/graphql  # env DATASPACE_URL\n"));
    assert!(redacted.contains("\napp_key = env-key  # env APP_KEY\n"));
    assert!(redacted.contains("\napp_secret = ***  # env APP_SECRET\n"));
}

/// (file text, environment, key, source, what the problem says); source "file" is the file.
type ErrorCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
    &'static str,
);

#[test]
fn every_validation_error_names_key_source_and_problem_in_one_line() {
    #[rustfmt::skip]
    let cases: &[ErrorCase] = &[
        ("[server]\nport = 80a\n", &[], "server.port", "file", "\"80a\" is not a port number"),
        ("[server]\nport = 65536\n", &[], "server.port", "file", "not a port number"),
        ("", &[("LOGBOT__SERVER__PORT", "-1")], "server.port", "environment variable LOGBOT__SERVER__PORT", "not a port number"),
        ("", &[("PORT", "http")], "server.port", "environment variable PORT", "not a port number"),
        ("[server]\nhost = localhost\n", &[], "server.host", "file", "not an IP address"),
        ("[dataspace]\nurl = ftp://ds.example\n", &[], "dataspace.url", "file", "not an http:// or https:// URL"),
        ("", &[("DATASPACE_URL", "not a url")], "dataspace.url", "environment variable DATASPACE_URL", "not a URL"),
        ("[dataspace]\nurl = https://user:pw@ds.example/graphql\n", &[], "dataspace.url", "file", "must not contain credentials"),
        ("", &[("DATASPACE_URL", "https://ds.example/graphql")], "dataspace.url", "environment variable DATASPACE_URL", "set APP_KEY and APP_SECRET"),
        ("", &[("DATASPACE_URL", "https://ds.example/graphql"), ("APP_KEY", "k")], "dataspace.url", "environment variable DATASPACE_URL", "dataspace.app_secret is not"),
        ("", &[("APP_KEY", "k")], "dataspace.app_key", "environment variable APP_KEY", "go together"),
        ("[dataspace]\napp_secret = s\n", &[], "dataspace.app_secret", "file", "dataspace.app_key is not"),
        ("[dataspace]\ntimeout_ms = 0\n", &[], "dataspace.timeout_ms", "file", "at least 1"),
        ("[dataspace]\nretries = many\n", &[], "dataspace.retries", "file", "not a whole number"),
        ("[dataspace]\ngroup_commit_packets = 0\n", &[], "dataspace.group_commit_packets", "file", "out of range (1-1000)"),
        ("[dataspace]\ngroup_commit_in_flight = 65\n", &[], "dataspace.group_commit_in_flight", "file", "out of range (1-64)"),
        ("[auth]\napp_keys = just-a-key\n", &[], "auth.app_keys", "file", "entry 1 is not key:secret"),
        ("[auth]\napp_keys = a:1, a:2\n", &[], "auth.app_keys", "file", "\"a\" is given twice"),
        ("[bots]\nmax_bots_per_admin = 1001\n", &[], "bots.max_bots_per_admin", "file", "out of range (0-1000)"),
        ("[function]\npackage = Log Bot\n", &[], "function.package", "file", "not a package name"),
        ("[function]\ntrigger.storage.b.created = df\n", &[], "function.trigger.storage.b.created", "file", "trigger.storage.<bucket>.<create|delete|update>"),
        ("[webpubsub]\nallowed_origins = a.example\n", &[], "webpubsub.allowed_origins", "file", "not a URL"),
        ("[vk]\nlong_poll = maybe\n", &[], "vk.long_poll", "file", "not a boolean"),
        ("[vk]\nlong_poll = on\n", &[], "vk.long_poll", "file", "vk.access_token and vk.group_id are not set"),
        ("[vk]\ngroup_id = 0\n", &[], "vk.group_id", "file", "at least 1"),
        ("[bus]\nredis_url = http://cache:6379\n", &[], "bus.redis_url", "file", "redis:// or rediss://"),
        ("[delivery]\ntelegram_api_base = api.telegram.org\n", &[], "delivery.telegram_api_base", "file", "not a URL"),
        ("[delivery]\nvk_api_base = ws://api.vk.com\n", &[], "delivery.vk_api_base", "file", "http:// or https://"),
        ("[delivery]\nmax_attempts = 0\n", &[], "delivery.max_attempts", "file", "at least 1"),
        ("[delivery]\nkeep_done_hours = 100000\n", &[], "delivery.keep_done_hours", "file", "out of range (0-87600)"),
        ("[send_logs]\nmax_message_chars = 0\n", &[], "send_logs.max_message_chars", "file", "at least 1"),
        ("[limits]\nbody_bytes = 1MiB\n", &[], "limits.body_bytes", "file", "not a whole number"),
        ("[limits]\nws_connections = 0\n", &[], "limits.ws_connections", "file", "at least 1"),
        ("[graphql]\nintrospection = sure\n", &[], "graphql.introspection", "file", "not a boolean"),
        ("[log]\nformat = xml\n", &[], "log.format", "file", "json or text"),
        ("[log]\nlevel = inof\n", &[], "log.level", "file", "not a log level"),
        ("[server]\nport 8080\n", &[], "line 2", "file", "expected `key = value`"),
        ("port = 8080\n", &[], "port", "file", "outside any [section]"),
        ("[server]\nport = 1\nport = 2\n", &[], "server.port", "file", "set twice (lines 2 and 3)"),
        ("", &[("LOGBOT__SERVERPORT", "1")], "LOGBOT__SERVERPORT", "environment variable LOGBOT__SERVERPORT", "LOGBOT__SECTION__KEY"),
    ];
    for &(text, vars, key, source, problem) in cases {
        let (error, path) = error_of(text, vars);
        let source = if source == "file" {
            path.as_str()
        } else {
            source
        };
        assert_eq!(
            (error.key.as_str(), error.source.as_str()),
            (key, source),
            "{error}"
        );
        assert!(error.problem.contains(problem), "{error}");
    }
}

#[test]
fn the_example_error_line() {
    let (error, path) = error_of("[server]\nport = 80a\n", &[]);
    assert_eq!(
        error.to_string(),
        format!("server.port in {path}: \"80a\" is not a port number (0-65535, 0 = any free port)")
    );
}

#[test]
fn unknown_keys_and_sections_are_errors() {
    let (error, path) = error_of("[server]\nhost = 0.0.0.0\nprot = 8080\n", &[]);
    assert_eq!(
        (error.key.as_str(), error.source.as_str()),
        ("server.prot", path.as_str())
    );
    assert_eq!(
        error.problem,
        "unknown key in [server]; its keys are body_read_timeout_ms, header_read_timeout_ms, \
         heap_trim_ms, host, max_connections, max_requests_per_connection, \
         max_streams_per_connection, port, shutdown_grace_ms"
    );

    let (error, _) = error_of("", &[("LOGBOT__DATASPACE__APP_SECERT", "x")]);
    assert_eq!(error.key, "dataspace.app_secert");
    assert_eq!(
        error.source,
        "environment variable LOGBOT__DATASPACE__APP_SECERT"
    );

    let (error, path) = error_of("[vkk]\nsecret = x\n", &[]);
    assert_eq!(
        (error.key.as_str(), error.source.as_str()),
        ("vkk.secret", path.as_str())
    );
    assert!(
        error
            .problem
            .starts_with("unknown section [vkk]; the sections are "),
        "{error}"
    );
    assert!(error.problem.contains("vk"));

    let (error, _) = error_of("[function]\npackages = x\n", &[]);
    assert!(
        error
            .problem
            .contains("package, trigger.storage.<bucket>.<create|delete|update>"),
        "{error}"
    );
}

const SECRETS: [&str; 8] = [
    "ds-secret-1",
    "inbound-secret-2",
    "inbound-secret-3",
    "pubsub-key-4",
    "pubsub-key-5",
    "vk-secret-6",
    "vk-token-7",
    "redis-pass-8",
];

#[test]
fn secrets_are_redacted_in_debug_and_in_redacted() {
    let settings = load_ini(
        "[auth]\napp_keys = team-a:inbound-secret-2,team-b:inbound-secret-3\n\
         [webpubsub]\nhub = chat\naccess_keys = pubsub-key-4,pubsub-key-5\n\
         [vk]\nsecret = vk-secret-6\naccess_token = vk-token-7\n\
         [bus]\nredis_url = redis://default:redis-pass-8@cache:6379/0\n",
        &[
            ("DATASPACE_URL", "https://ds.example/graphql"),
            ("APP_KEY", "ds-key"),
            ("APP_SECRET", "ds-secret-1"),
        ],
    )
    .unwrap();
    let debug = format!("{settings:?}");
    let redacted = settings.redacted();
    for secret in SECRETS {
        assert!(!debug.contains(secret), "Debug shows {secret}: {debug}");
        assert!(
            !redacted.contains(secret),
            "redacted() shows {secret}: {redacted}"
        );
    }
    for line in [
        "app_secret = ***  # env APP_SECRET",
        "app_keys = team-a:***,team-b:***  # file, line 2",
        "access_keys = ***,***  # file, line 5",
        "secret = ***  # file, line 7",
        "access_token = ***  # file, line 8",
        "redis_url = redis://default:***@cache:6379/0  # file, line 10",
    ] {
        assert!(redacted.lines().any(|l| l == line), "{line}\n{redacted}");
    }
    // Non-secrets stay visible, so the report is useful.
    assert!(
        debug.contains("team-a") && debug.contains("ds-key"),
        "{debug}"
    );
}

#[test]
fn errors_never_echo_a_secret() {
    let (error, _) = error_of("[auth]\napp_keys = team-a:inbound-secret-2,broken\n", &[]);
    assert_eq!(error.key, "auth.app_keys");
    let (redis, _) = error_of("[bus]\nredis_url = http://:redis-pass-8@cache\n", &[]);
    let (syntax, _) = error_of("[dataspace]\napp_secret: ds-secret-1\n", &[]);
    for error in [error, redis, syntax] {
        for secret in SECRETS {
            assert!(!error.to_string().contains(secret), "{error}");
        }
    }
}

#[test]
fn a_vk_callback_without_a_secret_is_refused_unless_allowed() {
    let error = load(None, &[("LOGBOT__VK__CONFIRMATION", "c0nf1rm")]).unwrap_err();
    let line = error.to_string();
    assert!(
        line.contains("vk.secret") && line.contains("allow_unsigned_events"),
        "{line}"
    );
    assert!(!line.contains('\n'), "{line}");
    let error = load(
        None,
        &[
            ("LOGBOT__VK__CONFIRMATION", "c0nf1rm"),
            ("LOGBOT__VK__SECRET", ""),
        ],
    )
    .unwrap_err();
    assert!(error.to_string().contains("vk.secret"), "{error}");
    let allowed = load(
        None,
        &[
            ("LOGBOT__VK__CONFIRMATION", "c0nf1rm"),
            ("LOGBOT__VK__ALLOW_UNSIGNED_EVENTS", "true"),
        ],
    )
    .unwrap();
    assert!(allowed.vk.allow_unsigned_events);
    let signed = load(
        None,
        &[
            ("LOGBOT__VK__CONFIRMATION", "c0nf1rm"),
            ("LOGBOT__VK__SECRET", "s"),
        ],
    )
    .unwrap();
    assert!(!signed.vk.allow_unsigned_events);
}

#[test]
fn the_server_limits_have_their_defaults() {
    let server = Settings::default().server;
    assert_eq!(server.max_connections, 1024);
    assert_eq!(server.header_read_timeout, Duration::from_secs(10));
    assert_eq!(server.body_read_timeout, Duration::from_secs(20));
    assert_eq!(server.max_requests_per_connection, 1000);
    assert_eq!(server.max_streams_per_connection, 100);
    assert_eq!(server.shutdown_grace, Duration::from_secs(10));
    assert_eq!(server.heap_trim_every, Duration::from_secs(60));
}
