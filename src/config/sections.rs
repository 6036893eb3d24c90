//! Reads each section from the layered text, then the checks that span keys. The defaults live
//! here, next to the key they belong to.

use super::layers::{Layers, Reader, ValueOrigins, setting_error};
use super::values::{self, positive};
use super::*;
use crate::dataspace::GroupCommitSettings;
use crate::embedded_dataspace::{ContainsIndex, Durability, ReadLimits};
use crate::graphql_document::DocumentCaps;

pub(super) fn read_settings(layers: &Layers) -> Result<Settings, ConfigError> {
    let mut reader = Reader::new(layers);
    let settings = Settings {
        config_file: None,
        server: read_server(&mut reader)?,
        dataspace: read_dataspace(&mut reader)?,
        auth: read_auth(&mut reader)?,
        bots: read_bots(&mut reader)?,
        function: read_function(&mut reader)?,
        webpubsub: read_webpubsub(&mut reader)?,
        vk: read_vk(&mut reader)?,
        bus: read_bus(&mut reader)?,
        delivery: read_delivery(&mut reader)?,
        telegram: read_telegram(&mut reader)?,
        send_logs: read_send_logs(&mut reader)?,
        limits: read_limits(&mut reader)?,
        graphql: read_graphql(&mut reader)?,
        log: read_log(&mut reader)?,
        origins: reader.origins(),
    };
    // Unknown keys before cross-key checks: a misspelt `app_secret` should be reported as the
    // typo it is, not as a missing secret.
    reader.reject_unknown()?;
    check_dataspace_credentials(&settings.dataspace, &settings.origins)?;
    check_long_poll(&settings.vk, &settings.origins)?;
    check_callback_secret(&settings.vk, &settings.origins)?;
    check_webhook(&settings.telegram, &settings.origins)?;
    Ok(settings)
}

fn read_server(r: &mut Reader) -> Result<ServerSettings, ConfigError> {
    const S: &str = "server";
    let seconds = |n| Duration::from_secs(n);
    Ok(ServerSettings {
        host: r.or_default(S, "host", [0, 0, 0, 0].into(), values::ip_address)?,
        port: r.or_default(S, "port", 8080, values::port)?,
        max_connections: r.or_default(S, "max_connections", 1024, positive)?,
        header_read_timeout: r.or_default(
            S,
            "header_read_timeout_ms",
            seconds(10),
            values::millis,
        )?,
        body_read_timeout: r.or_default(S, "body_read_timeout_ms", seconds(20), values::millis)?,
        max_requests_per_connection: r.or_default(
            S,
            "max_requests_per_connection",
            1000,
            positive,
        )?,
        max_streams_per_connection: r.or_default(S, "max_streams_per_connection", 100, positive)?,
        shutdown_grace: r.or_default(S, "shutdown_grace_ms", seconds(10), values::millis)?,
        heap_trim_every: r.or_default(S, "heap_trim_ms", seconds(60), values::millis)?,
    })
}

fn read_dataspace(r: &mut Reader) -> Result<DataSpaceSettings, ConfigError> {
    const S: &str = "dataspace";
    Ok(DataSpaceSettings {
        url: r.optional(S, "url", values::http_url)?,
        app_key: r.optional(S, "app_key", values::text)?,
        app_secret: r.optional(S, "app_secret", values::secret)?,
        timeout: r.or_default(S, "timeout_ms", Duration::from_secs(5), values::millis)?,
        retries: r.or_default(S, "retries", 2, values::number_in(0, 100))?,
        data_dir: r.or_default(S, "data_dir", PathBuf::from("./data"), |text| {
            Ok(PathBuf::from(text))
        })?,
        durability: r.or_default(S, "durability", Durability::Normal, |text| match text {
            "normal" => Ok(Durability::Normal),
            "full" => Ok(Durability::Full),
            _ => Err("normal or full".to_owned()),
        })?,
        contains_index: r.or_default(
            S,
            "contains_index",
            ContainsIndex::None,
            |text| match text {
                "none" => Ok(ContainsIndex::None),
                "trigram" => Ok(ContainsIndex::Trigram),
                _ => Err("none or trigram".to_owned()),
            },
        )?,
        group_commit: GroupCommitSettings {
            packets: r.or_default(S, "group_commit_packets", 64, values::number_in(1, 1000))?,
            bytes: r.or_default(
                S,
                "group_commit_bytes",
                1024 * 1024,
                values::number_in(1024, 8 * 1024 * 1024),
            )?,
            in_flight: r.or_default(S, "group_commit_in_flight", 4, values::number_in(1, 64))?,
        },
    })
}

fn read_auth(r: &mut Reader) -> Result<AuthSettings, ConfigError> {
    let pairs = r.optional("auth", "app_keys", |text| {
        let ids = key_ids(text)?;
        let ring = KeyRing::parse(text)?;
        Ok((ring, ids))
    })?;
    Ok(match pairs {
        Some((ring, ids)) => AuthSettings {
            app_keys: Some(ring),
            app_key_ids: ids,
        },
        None => AuthSettings::default(),
    })
}

/// The keys of `key:secret,key2:secret2`, checked here rather than left to `KeyRing::parse`
/// so that a problem never quotes an entry (a lone entry may well be a secret) and a key given
/// twice is reported instead of the later secret silently replacing the earlier.
fn key_ids(pairs: &str) -> Result<Vec<String>, String> {
    let mut ids: Vec<String> = Vec::new();
    for (index, pair) in values::list(pairs).iter().enumerate() {
        let id = match pair.split_once(':') {
            Some((id, secret)) if !id.trim().is_empty() && !secret.trim().is_empty() => id.trim(),
            _ => {
                return Err(format!(
                    "entry {} is not key:secret (pairs are separated by commas)",
                    index + 1
                ));
            }
        };
        if ids.iter().any(|known| known == id) {
            return Err(format!("key {id:?} is given twice"));
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

fn read_bots(r: &mut Reader) -> Result<BotSettings, ConfigError> {
    Ok(BotSettings {
        admins: r.or_default("bots", "admins", Vec::new(), |text| Ok(values::list(text)))?,
        max_bots_per_admin: r.or_default(
            "bots",
            "max_bots_per_admin",
            3,
            values::number_in(0, 1000),
        )?,
    })
}

/// What follows `trigger.` in a trigger key.
const TRIGGER_PREFIX: &str = "trigger.";
const TRIGGER_PATTERN: &str = "trigger.storage.<bucket>.<create|delete|update>";

fn read_function(r: &mut Reader) -> Result<FunctionSettings, ConfigError> {
    let package = r.or_default("function", "package", "logbot".into(), values::package_name)?;
    let mut triggers = BTreeMap::new();
    for (key, raw) in r.with_prefix("function", TRIGGER_PREFIX, TRIGGER_PATTERN) {
        let event_key = trigger_event_key(key)
            .map_err(|problem| setting_error("function", key, raw, problem))?;
        // An empty value unsets the trigger, as an empty value restores a default elsewhere.
        if !raw.text.is_empty() {
            triggers.insert(event_key, raw.text.clone());
        }
    }
    Ok(FunctionSettings { package, triggers })
}

/// `trigger.storage.<bucket>.<event>` -> `storage.<bucket>.<event>`. The bucket is the middle,
/// not a dot-separated part, because bucket names may contain dots.
fn trigger_event_key(key: &str) -> Result<String, String> {
    let rest = key.strip_prefix(TRIGGER_PREFIX).unwrap_or(key);
    let bucket_and_event = rest.strip_prefix("storage.");
    let bucket = bucket_and_event.and_then(|tail| {
        [".create", ".delete", ".update"]
            .iter()
            .find_map(|event| tail.strip_suffix(event))
    });
    match bucket {
        Some(bucket) if !bucket.is_empty() => Ok(rest.to_string()),
        _ => Err(format!(
            "not a trigger key; expected {TRIGGER_PATTERN}, e.g. trigger.storage.logs-bucket.create"
        )),
    }
}

fn read_webpubsub(r: &mut Reader) -> Result<WebPubSubSettings, ConfigError> {
    const S: &str = "webpubsub";
    Ok(WebPubSubSettings {
        hub: r.optional(S, "hub", values::text)?,
        access_keys: r.or_default(S, "access_keys", Vec::new(), |text| {
            Ok(values::secret_list(text))
        })?,
        allowed_origins: r.or_default(S, "allowed_origins", Vec::new(), values::origins)?,
    })
}

fn read_vk(r: &mut Reader) -> Result<VkSettings, ConfigError> {
    const S: &str = "vk";
    Ok(VkSettings {
        confirmation: r.optional(S, "confirmation", values::text)?,
        secret: r.optional(S, "secret", values::secret)?,
        access_token: r.optional(S, "access_token", values::secret)?,
        group_id: r.optional(S, "group_id", positive::<u64>)?,
        long_poll: r.or_default(S, "long_poll", false, values::boolean)?,
        allow_unsigned_events: r.or_default(S, "allow_unsigned_events", false, values::boolean)?,
    })
}

fn read_bus(r: &mut Reader) -> Result<BusSettings, ConfigError> {
    Ok(BusSettings {
        redis_url: r.optional("bus", "redis_url", values::redis_url)?,
        channel_prefix: r.optional("bus", "channel_prefix", values::text)?,
        reconnect_max: r.or_default(
            "bus",
            "reconnect_max_ms",
            Duration::from_secs(1),
            values::millis,
        )?,
        ping_interval: r.or_default(
            "bus",
            "ping_interval_ms",
            Duration::from_secs(1),
            values::millis,
        )?,
    })
}

fn read_delivery(r: &mut Reader) -> Result<DeliverySettings, ConfigError> {
    const S: &str = "delivery";
    let public_api = |url: &str| Url::parse(url).expect("a valid default URL");
    Ok(DeliverySettings {
        telegram_api_base: r.or_default(
            S,
            "telegram_api_base",
            public_api("https://api.telegram.org"),
            values::base_url,
        )?,
        vk_api_base: r.or_default(
            S,
            "vk_api_base",
            public_api("https://api.vk.com"),
            values::base_url,
        )?,
        max_attempts: r.or_default(S, "max_attempts", 8, positive::<u32>)?,
        // At most about ten years: enough for "keep", and far from overflowing a duration.
        keep_done_hours: r.or_default(S, "keep_done_hours", 168, values::number_in(0, 87_600))?,
        worker: r.or_default(S, "worker", true, values::boolean)?,
        poll_interval: r.or_default(
            S,
            "poll_interval_ms",
            Duration::from_millis(250),
            values::millis,
        )?,
        lease: r.or_default(S, "lease_ms", Duration::from_secs(60), values::millis)?,
        send_timeout: r.or_default(
            S,
            "send_timeout_ms",
            Duration::from_secs(10),
            values::millis,
        )?,
        backoff_base: r.or_default(S, "backoff_base_ms", Duration::from_secs(1), values::millis)?,
        backoff_cap: r.or_default(
            S,
            "backoff_cap_ms",
            Duration::from_secs(300),
            values::millis,
        )?,
        concurrency: r.or_default(S, "concurrency", 32, positive)?,
        telegram_bot_rate: r.or_default(S, "telegram_bot_rate", 30.0, values::rate)?,
        telegram_chat_rate: r.or_default(S, "telegram_chat_rate", 1.0, values::rate)?,
        vk_bot_rate: r.or_default(S, "vk_bot_rate", 20.0, values::rate)?,
        vk_chat_rate: r.or_default(S, "vk_chat_rate", 1.0, values::rate)?,
        coalesce: r.or_default(S, "coalesce", true, values::boolean)?,
        digest_after: r.or_default(S, "digest_after", 20, positive)?,
        digest_after_wait: r.or_default(
            S,
            "digest_after_wait_ms",
            Duration::from_secs(120),
            values::millis,
        )?,
        max_retry_after: r.or_default(
            S,
            "max_retry_after_ms",
            Duration::from_secs(3600),
            values::millis,
        )?,
    })
}

fn read_telegram(r: &mut Reader) -> Result<TelegramSettings, ConfigError> {
    const S: &str = "telegram";
    Ok(TelegramSettings {
        updates: r.or_default(S, "updates", TelegramUpdates::Polling, str::parse)?,
        public_url: r.optional(S, "public_url", values::http_url)?,
        webhook_secret: r.optional(S, "webhook_secret", values::secret)?,
        home_bot_token: r.optional(S, "home_bot_token", values::secret)?,
        // Telegram's own bound on the long poll is 50 s.
        poll_timeout: r.or_default(S, "poll_timeout_s", Duration::from_secs(25), |text| {
            values::number_in(0, 50)(text).map(Duration::from_secs)
        })?,
        lease: r.or_default(S, "lease_ms", Duration::from_secs(10), values::millis)?,
        rescan: r.or_default(S, "rescan_ms", Duration::from_secs(5), values::millis)?,
        max_update_bytes: r.or_default(S, "max_update_bytes", 256 * 1024, positive)?,
    })
}

fn read_send_logs(r: &mut Reader) -> Result<SendLogsSettings, ConfigError> {
    Ok(SendLogsSettings {
        default_bot: r.optional("send_logs", "default_bot", values::text)?,
        max_message_chars: r.or_default("send_logs", "max_message_chars", 4000, positive)?,
    })
}

fn read_limits(r: &mut Reader) -> Result<LimitSettings, ConfigError> {
    const S: &str = "limits";
    Ok(LimitSettings {
        body_bytes: r.or_default(S, "body_bytes", 1024 * 1024, positive)?,
        query_depth: r.or_default(S, "query_depth", 12, positive)?,
        complexity: r.or_default(S, "complexity", 12_000, positive)?,
        aliases: r.or_default(S, "aliases", 30, positive)?,
        root_fields: r.or_default(S, "root_fields", 20, positive)?,
        batch_size: r.or_default(S, "batch_size", 10, positive)?,
        request_timeout: r.or_default(
            S,
            "request_timeout_ms",
            Duration::from_secs(15),
            values::millis,
        )?,
        ws_connections: r.or_default(S, "ws_connections", 10_000, positive)?,
        ws_subscriptions_per_connection: r.or_default(
            S,
            "ws_subscriptions_per_connection",
            20,
            positive,
        )?,
        ws_feeds: r.or_default(S, "ws_feeds", 5000, positive)?,
        max_records_per_batch: r.or_default(S, "max_records_per_batch", 1000, positive)?,
        messages_per_batch: r.or_default(S, "messages_per_batch", 1000, positive)?,
        password_chars: r.or_default(S, "password_chars", 256, positive)?,
        subscriptions_per_bot: r.or_default(S, "subscriptions_per_bot", 1000, positive)?,
        deliveries_per_batch: r.or_default(S, "deliveries_per_batch", 10_000, positive)?,
        audit_refusals_per_minute: r.or_default(S, "audit_refusals_per_minute", 60, positive)?,
        document: DocumentCaps {
            nesting: r.or_default(S, "document_nesting", 64, positive)?,
            tokens: r.or_default(S, "document_tokens", 20_000, positive)?,
            operations: r.or_default(S, "document_operations", 50, positive)?,
            fragments: r.or_default(S, "document_fragments", 200, positive)?,
            variables: r.or_default(S, "document_variables", 100, positive)?,
            selections: r.or_default(S, "document_selections", 2000, positive)?,
        },
        records_per_request: r.or_default(S, "records_per_request", 2000, positive)?,
        response_bytes: r.or_default(S, "response_bytes", 4 * 1024 * 1024, positive)?,
        apq_bytes: r.or_default(S, "apq_bytes", 8 * 1024 * 1024, positive)?,
        parsed_documents_bytes: r.or_default(
            S,
            "parsed_documents_bytes",
            4 * 1024 * 1024,
            positive,
        )?,
        dataspace_reads: ReadLimits {
            readers: r.or_default(
                S,
                "dataspace_readers",
                ReadLimits::default().readers,
                positive,
            )?,
            timeout: r.or_default(
                S,
                "dataspace_read_timeout_ms",
                ReadLimits::default().timeout,
                values::millis,
            )?,
            cache_kib: r.or_default(
                S,
                "dataspace_cache_kib",
                ReadLimits::default().cache_kib,
                values::number_in(64, 1024 * 1024),
            )?,
        },
        retry_after: r.or_default(S, "retry_after_s", Duration::from_secs(2), |text| {
            values::number_in(1u64, 3600)(text).map(Duration::from_secs)
        })?,
    })
}

fn read_graphql(r: &mut Reader) -> Result<GraphqlSettings, ConfigError> {
    Ok(GraphqlSettings {
        introspection: r.optional("graphql", "introspection", values::boolean)?,
        graphiql: r.or_default("graphql", "graphiql", true, values::boolean)?,
        graphiql_assets_url: r.or_default(
            "graphql",
            "graphiql_assets_url",
            Url::parse("https://unpkg.com/").expect("a valid default URL"),
            values::base_url,
        )?,
    })
}

fn read_log(r: &mut Reader) -> Result<LogSettings, ConfigError> {
    Ok(LogSettings {
        format: r.or_default("log", "format", LogFormat::Text, str::parse)?,
        level: r.or_default("log", "level", "info".into(), values::log_level)?,
    })
}

/// A deployed DataSpace only answers signed calls, so a URL without credentials could never
/// work; and a key without its secret (or the reverse) is always a mistake.
fn check_dataspace_credentials(
    dataspace: &DataSpaceSettings,
    origins: &ValueOrigins,
) -> Result<(), ConfigError> {
    let (has_key, has_secret) = (dataspace.app_key.is_some(), dataspace.app_secret.is_some());
    let missing = match (has_key, has_secret) {
        (true, true) => return Ok(()),
        (false, false) => {
            "dataspace.app_key and dataspace.app_secret are not (set APP_KEY and APP_SECRET)"
        }
        (true, false) => "dataspace.app_secret is not (set APP_SECRET)",
        (false, true) => "dataspace.app_key is not (set APP_KEY)",
    };
    let (key, why) = match (dataspace.url.is_some(), has_key, has_secret) {
        (true, _, _) => (
            "url",
            "a deployed DataSpace only answers calls signed with them",
        ),
        (false, true, _) => ("app_key", "the key and its secret go together"),
        (false, _, true) => ("app_secret", "the key and its secret go together"),
        // Neither, and no URL: the embedded DataSpace, which makes its own pair.
        (false, false, false) => return Ok(()),
    };
    let key = format!("dataspace.{key}");
    Err(ConfigError::new(
        &key,
        origins.of(&key).error_source(),
        format!("is set but {missing}; {why}"),
    ))
}

/// Bots Long Poll starts with `groups.getLongPollServer`, which needs both.
fn check_long_poll(vk: &VkSettings, origins: &ValueOrigins) -> Result<(), ConfigError> {
    let missing = match (vk.access_token.is_some(), vk.group_id.is_some()) {
        _ if !vk.long_poll => return Ok(()),
        (true, true) => return Ok(()),
        (false, false) => "vk.access_token and vk.group_id are not",
        (false, true) => "vk.access_token is not",
        (true, false) => "vk.group_id is not",
    };
    Err(ConfigError::new(
        "vk.long_poll",
        origins.of("vk.long_poll").error_source(),
        format!("is on but {missing} set; Bots Long Poll needs the community token and id"),
    ))
}

/// Without a `secret` the Callback API cannot tell VK's events from anyone's, so serving it
/// so takes an explicit opt-out.
fn check_callback_secret(vk: &VkSettings, origins: &ValueOrigins) -> Result<(), ConfigError> {
    use secrecy::ExposeSecret;
    let has_secret = vk
        .secret
        .as_ref()
        .is_some_and(|secret| !secret.expose_secret().is_empty());
    if vk.confirmation.is_none() || has_secret || vk.allow_unsigned_events {
        return Ok(());
    }
    Err(ConfigError::new(
        "vk.secret",
        origins.of("vk.confirmation").error_source(),
        "is not set but vk.confirmation is: /events/vk would accept anyone's events; set the \
         Callback API secret, or vk.allow_unsigned_events = true to accept them anyway",
    ))
}

/// A webhook is set to an address Telegram can reach, with a secret to check it by.
fn check_webhook(telegram: &TelegramSettings, origins: &ValueOrigins) -> Result<(), ConfigError> {
    let missing = match (
        telegram.public_url.is_some(),
        telegram.webhook_secret.is_some(),
    ) {
        _ if telegram.updates != TelegramUpdates::Webhook => return Ok(()),
        (true, true) => return Ok(()),
        (false, false) => "telegram.public_url and telegram.webhook_secret are not",
        (false, true) => "telegram.public_url is not",
        (true, false) => "telegram.webhook_secret is not",
    };
    Err(ConfigError::new(
        "telegram.updates",
        origins.of("telegram.updates").error_source(),
        format!("is webhook but {missing} set; Telegram needs an address and a secret to send to"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_keys() {
        assert_eq!(
            trigger_event_key("trigger.storage.logs.bucket.create"),
            Ok("storage.logs.bucket.create".into())
        );
        for bad in [
            "trigger.storage.b.created",
            "trigger.storage..create",
            "trigger.queue.q.create",
            "trigger.storage.create",
        ] {
            assert!(trigger_event_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_ids_in_order() {
        assert_eq!(key_ids(" b:1, a:2 ,"), Ok(vec!["b".into(), "a".into()]));
        assert!(key_ids("a:1,hunter2").unwrap_err().contains("entry 2"));
        assert!(!key_ids("a:1,hunter2").unwrap_err().contains("hunter2"));
        assert!(key_ids("a:1,a:2").unwrap_err().contains("twice"));
        assert!(key_ids("a:").is_err());
    }
}
