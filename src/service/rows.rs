//! The boundary between the domain and DataSpace: each checked domain value into the row that
//! stores it. Creation times are taken here, from the storing side's clock.

use crate::dataspace::operations::{self as rows, format_datetime, now};
use crate::domain::{NewAuditEvent, NewBot, NewLogRecord, NewLogUser};

impl From<&NewBot> for rows::NewBot {
    fn from(bot: &NewBot) -> Self {
        Self {
            name: bot.name().as_str().to_owned(),
            owner_uid: bot.owner_uid().as_str().to_owned(),
            messenger: bot.messenger().as_str().to_owned(),
            bot_token: bot.bot_token().expose_secret().to_owned(),
            auth_token_hash: bot.auth_token_hash().to_owned(),
            created_at: now(),
            status: bot.status().as_str().to_owned(),
        }
    }
}

impl From<NewAuditEvent> for rows::NewAuditEvent {
    fn from(event: NewAuditEvent) -> Self {
        Self {
            actor_uid: event.actor_uid,
            action: event.action.as_str().to_owned(),
            target: event.target,
            outcome: event.outcome.as_str().to_owned(),
            at: now(),
            details: event.details,
        }
    }
}

/// A `/send_logs` user's row, bound to the bot of id `bot` when given.
pub(super) fn log_user(user: &NewLogUser, bot: Option<String>) -> rows::NewLogUser {
    rows::NewLogUser {
        username: user.username().to_owned(),
        token_hash: user.token_hash().to_owned(),
        telegram_id: None,
        bot,
        created_at: now(),
    }
}

/// The row a checked record is stored as: an absent event time is the time it was received,
/// and no attributes are stored as none.
pub(super) fn log_record(record: &NewLogRecord, received_at: &str) -> rows::NewLogRecord {
    let source = record.source();
    let attributes = record.attributes();
    rows::NewLogRecord {
        level: record.level().as_str().to_owned(),
        message: record.message().to_owned(),
        event_at: record.event_at().map_or_else(
            || received_at.to_owned(),
            |at| format_datetime(at.and_utc()),
        ),
        received_at: received_at.to_owned(),
        request_id: record.request_id().map(str::to_owned),
        status_code: record.status_code().map(i64::from),
        source_user_name: source.user_name.clone(),
        source_pid: source.pid,
        source_process_name: source.process_name.clone(),
        source_process_description: source.process_description.clone(),
        // A Map of Values always serializes.
        attributes: (!attributes.is_empty())
            .then(|| serde_json::Value::Object(attributes.clone()).to_string()),
    }
}
