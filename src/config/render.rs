//! `Settings::redacted`: the effective configuration as INI text, for `check-config`.
//! Rendered from the typed values (so it shows what the gateway will use, normalized), with
//! each key's origin as a trailing comment and every secret as `***`.

use super::Settings;
use reqwest::Url;
use std::fmt::Write;
use std::time::Duration;

const SECRET: &str = "***";

pub(super) fn render(settings: &Settings) -> String {
    let mut out =
        String::from("# logbot-gateway: effective configuration; secrets are shown as ***\n");
    let file = settings
        .config_file
        .as_ref()
        .map_or("none (defaults and environment only)".into(), |path| {
            path.display().to_string()
        });
    let _ = writeln!(out, "# config file: {file}");
    for (section, entries) in sections(settings) {
        let _ = writeln!(out, "\n[{section}]");
        for (key, value) in entries {
            let origin = settings.origins.of(&format!("{section}.{key}"));
            out.push_str(&entry_line(&key, &value, &origin.to_string()));
        }
    }
    out
}

fn entry_line(key: &str, value: &str, origin: &str) -> String {
    if value.is_empty() {
        format!("{key} =  # {origin}\n")
    } else {
        format!("{key} = {value}  # {origin}\n")
    }
}

type Entries = Vec<(String, String)>;

/// Every section's keys and displayed values, in the order of the example `properties.ini`.
fn sections(s: &Settings) -> Vec<(&'static str, Entries)> {
    vec![
        (
            "server",
            entries([
                ("host", s.server.host.to_string()),
                ("port", s.server.port.to_string()),
                ("max_connections", s.server.max_connections.to_string()),
                (
                    "header_read_timeout_ms",
                    millis(s.server.header_read_timeout),
                ),
                ("body_read_timeout_ms", millis(s.server.body_read_timeout)),
                (
                    "max_requests_per_connection",
                    s.server.max_requests_per_connection.to_string(),
                ),
                (
                    "max_streams_per_connection",
                    s.server.max_streams_per_connection.to_string(),
                ),
                ("shutdown_grace_ms", millis(s.server.shutdown_grace)),
                ("heap_trim_ms", millis(s.server.heap_trim_every)),
            ]),
        ),
        (
            "dataspace",
            entries([
                (
                    "url",
                    s.dataspace
                        .url
                        .as_ref()
                        .map(Url::to_string)
                        .unwrap_or_default(),
                ),
                ("app_key", s.dataspace.app_key.clone().unwrap_or_default()),
                ("app_secret", masked(s.dataspace.app_secret.is_some())),
                ("timeout_ms", millis(s.dataspace.timeout)),
                ("retries", s.dataspace.retries.to_string()),
                ("data_dir", s.dataspace.data_dir.display().to_string()),
                (
                    "durability",
                    match s.dataspace.durability {
                        crate::embedded_dataspace::Durability::Normal => "normal",
                        crate::embedded_dataspace::Durability::Full => "full",
                    }
                    .to_owned(),
                ),
                (
                    "contains_index",
                    match s.dataspace.contains_index {
                        crate::embedded_dataspace::ContainsIndex::None => "none",
                        crate::embedded_dataspace::ContainsIndex::Trigram => "trigram",
                    }
                    .to_owned(),
                ),
                (
                    "group_commit_packets",
                    s.dataspace.group_commit.packets.to_string(),
                ),
                (
                    "group_commit_bytes",
                    s.dataspace.group_commit.bytes.to_string(),
                ),
                (
                    "group_commit_in_flight",
                    s.dataspace.group_commit.in_flight.to_string(),
                ),
            ]),
        ),
        (
            "auth",
            entries([("app_keys", app_keys(&s.auth.app_key_ids))]),
        ),
        (
            "bots",
            entries([
                ("admins", s.bots.admins.join(",")),
                ("max_bots_per_admin", s.bots.max_bots_per_admin.to_string()),
            ]),
        ),
        ("function", function_entries(s)),
        (
            "webpubsub",
            entries([
                ("hub", s.webpubsub.hub.clone().unwrap_or_default()),
                (
                    "access_keys",
                    vec![SECRET; s.webpubsub.access_keys.len()].join(","),
                ),
                ("allowed_origins", s.webpubsub.allowed_origins.join(",")),
            ]),
        ),
        (
            "vk",
            entries([
                (
                    "confirmation",
                    s.vk.confirmation.clone().unwrap_or_default(),
                ),
                ("secret", masked(s.vk.secret.is_some())),
                ("access_token", masked(s.vk.access_token.is_some())),
                (
                    "group_id",
                    s.vk.group_id.map(|id| id.to_string()).unwrap_or_default(),
                ),
                ("long_poll", s.vk.long_poll.to_string()),
                (
                    "allow_unsigned_events",
                    s.vk.allow_unsigned_events.to_string(),
                ),
            ]),
        ),
        (
            "bus",
            entries([
                (
                    "redis_url",
                    s.bus
                        .redis_url
                        .as_deref()
                        .map(redact_url_password)
                        .unwrap_or_default(),
                ),
                (
                    "channel_prefix",
                    s.bus.channel_prefix.clone().unwrap_or_default(),
                ),
                ("reconnect_max_ms", millis(s.bus.reconnect_max)),
                ("ping_interval_ms", millis(s.bus.ping_interval)),
            ]),
        ),
        (
            "delivery",
            entries([
                (
                    "telegram_api_base",
                    s.delivery.telegram_api_base.to_string(),
                ),
                ("vk_api_base", s.delivery.vk_api_base.to_string()),
                ("max_attempts", s.delivery.max_attempts.to_string()),
                ("keep_done_hours", s.delivery.keep_done_hours.to_string()),
                ("worker", s.delivery.worker.to_string()),
                ("poll_interval_ms", millis(s.delivery.poll_interval)),
                ("lease_ms", millis(s.delivery.lease)),
                ("send_timeout_ms", millis(s.delivery.send_timeout)),
                ("backoff_base_ms", millis(s.delivery.backoff_base)),
                ("backoff_cap_ms", millis(s.delivery.backoff_cap)),
                ("concurrency", s.delivery.concurrency.to_string()),
                (
                    "telegram_bot_rate",
                    s.delivery.telegram_bot_rate.to_string(),
                ),
                (
                    "telegram_chat_rate",
                    s.delivery.telegram_chat_rate.to_string(),
                ),
                ("vk_bot_rate", s.delivery.vk_bot_rate.to_string()),
                ("vk_chat_rate", s.delivery.vk_chat_rate.to_string()),
                ("coalesce", s.delivery.coalesce.to_string()),
                ("digest_after", s.delivery.digest_after.to_string()),
                ("digest_after_wait_ms", millis(s.delivery.digest_after_wait)),
                ("max_retry_after_ms", millis(s.delivery.max_retry_after)),
            ]),
        ),
        (
            "telegram",
            entries([
                ("updates", s.telegram.updates.to_string()),
                (
                    "public_url",
                    s.telegram
                        .public_url
                        .as_ref()
                        .map(Url::to_string)
                        .unwrap_or_default(),
                ),
                (
                    "webhook_secret",
                    masked(s.telegram.webhook_secret.is_some()),
                ),
                (
                    "home_bot_token",
                    masked(s.telegram.home_bot_token.is_some()),
                ),
                (
                    "poll_timeout_s",
                    s.telegram.poll_timeout.as_secs().to_string(),
                ),
                ("lease_ms", millis(s.telegram.lease)),
                ("rescan_ms", millis(s.telegram.rescan)),
                ("max_update_bytes", s.telegram.max_update_bytes.to_string()),
            ]),
        ),
        (
            "send_logs",
            entries([
                (
                    "default_bot",
                    s.send_logs.default_bot.clone().unwrap_or_default(),
                ),
                (
                    "max_message_chars",
                    s.send_logs.max_message_chars.to_string(),
                ),
            ]),
        ),
        ("limits", limit_entries(s)),
        (
            "graphql",
            entries([
                (
                    "introspection",
                    s.graphql
                        .introspection
                        .map(|on| on.to_string())
                        .unwrap_or_default(),
                ),
                ("graphiql", s.graphql.graphiql.to_string()),
                (
                    "graphiql_assets_url",
                    s.graphql.graphiql_assets_url.to_string(),
                ),
            ]),
        ),
        (
            "log",
            entries([
                ("format", s.log.format.to_string()),
                ("level", s.log.level.clone()),
            ]),
        ),
    ]
}

fn function_entries(s: &Settings) -> Entries {
    let mut list = entries([("package", s.function.package.clone())]);
    list.extend(
        s.function
            .triggers
            .iter()
            .map(|(event, bot)| (format!("trigger.{event}"), bot.clone())),
    );
    list
}

fn limit_entries(s: &Settings) -> Entries {
    let l = &s.limits;
    entries([
        ("body_bytes", l.body_bytes.to_string()),
        ("query_depth", l.query_depth.to_string()),
        ("complexity", l.complexity.to_string()),
        ("aliases", l.aliases.to_string()),
        ("root_fields", l.root_fields.to_string()),
        ("batch_size", l.batch_size.to_string()),
        ("request_timeout_ms", millis(l.request_timeout)),
        ("ws_connections", l.ws_connections.to_string()),
        (
            "ws_subscriptions_per_connection",
            l.ws_subscriptions_per_connection.to_string(),
        ),
        ("ws_feeds", l.ws_feeds.to_string()),
        ("max_records_per_batch", l.max_records_per_batch.to_string()),
        ("messages_per_batch", l.messages_per_batch.to_string()),
        ("password_chars", l.password_chars.to_string()),
        ("subscriptions_per_bot", l.subscriptions_per_bot.to_string()),
        ("deliveries_per_batch", l.deliveries_per_batch.to_string()),
        (
            "audit_refusals_per_minute",
            l.audit_refusals_per_minute.to_string(),
        ),
        ("document_nesting", l.document.nesting.to_string()),
        ("document_tokens", l.document.tokens.to_string()),
        ("document_operations", l.document.operations.to_string()),
        ("document_fragments", l.document.fragments.to_string()),
        ("document_variables", l.document.variables.to_string()),
        ("document_selections", l.document.selections.to_string()),
        ("records_per_request", l.records_per_request.to_string()),
        ("response_bytes", l.response_bytes.to_string()),
        ("apq_bytes", l.apq_bytes.to_string()),
        (
            "parsed_documents_bytes",
            l.parsed_documents_bytes.to_string(),
        ),
        ("dataspace_readers", l.dataspace_reads.readers.to_string()),
        (
            "dataspace_read_timeout_ms",
            millis(l.dataspace_reads.timeout),
        ),
        (
            "dataspace_cache_kib",
            l.dataspace_reads.cache_kib.to_string(),
        ),
        ("retry_after_s", l.retry_after.as_secs().to_string()),
    ])
}

fn entries<const N: usize>(list: [(&str, String); N]) -> Entries {
    list.into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

fn masked(is_set: bool) -> String {
    if is_set { SECRET.into() } else { String::new() }
}

fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

/// `key:***` per inbound key: which keys are accepted is useful to know, their secrets are not.
fn app_keys(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("{id}:{SECRET}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `redis://user:***@host/0`; the URL is unchanged when it has no password.
pub(super) fn redact_url_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(SECRET));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Validated at load, so only a hand-built value gets here; show nothing of it.
        Err(_) => SECRET.into(),
    }
}
