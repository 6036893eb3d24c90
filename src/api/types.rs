//! The public GraphQL types. Names are part of the contract with clients: do not rename.

use crate::dataspace::operations::{
    Bot as BotRow, ChatSubscription as SubscriptionRow, parse_datetime,
};
use crate::service::StoredRecord;
use async_graphql::{
    Enum, InputObject, InputValueError, InputValueResult, Json, Scalar, ScalarType, SimpleObject,
    Value,
};
use chrono::{NaiveDateTime, SecondsFormat, Utc};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::level::LogLevel")]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::messenger::Messenger")]
pub enum Messenger {
    Telegram,
    Vk,
}

/// A point in time. Output is RFC 3339 in UTC (`2026-11-22T08:00:00.000Z`); input may be any
/// ISO 8601 date-time, and one without a zone is taken as UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub NaiveDateTime);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => crate::domain::event_time::parse_event_time(text)
                .map(DateTime)
                .map_err(|error| InputValueError::custom(error.to_string())),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(
            self.0
                .and_utc()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        )
    }
}

impl DateTime {
    /// From DataSpace's `_DateTime` text.
    pub fn from_stored(text: &str) -> Self {
        Self(parse_datetime(text).unwrap_or_else(Utc::now).naive_utc())
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Bot {
    pub name: String,
    pub owner_uid: String,
    pub messenger: Messenger,
    /// ACTIVE or BLOCKED.
    pub status: String,
    pub created_at: DateTime,
}

impl From<BotRow> for Bot {
    fn from(row: BotRow) -> Self {
        let messenger = crate::domain::messenger::Messenger::parse(&row.messenger)
            .unwrap_or(crate::domain::messenger::Messenger::Telegram);
        Self {
            name: row.name,
            owner_uid: row.owner_uid,
            messenger: messenger.into(),
            status: row.status,
            created_at: DateTime::from_stored(&row.created_at),
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ChatSubscription {
    pub id: async_graphql::ID,
    pub bot: String,
    pub chat_id: String,
    pub subscriber_uid: Option<String>,
    pub min_level: LogLevel,
    pub active: bool,
    pub created_at: DateTime,
    /// The forum topic records go to (Telegram `message_thread_id`).
    pub thread_id: Option<String>,
    /// Records wait until then (`/mute`); past or null: not muted.
    pub muted_until: Option<DateTime>,
}

impl ChatSubscription {
    pub fn from_row(bot: &str, row: SubscriptionRow) -> Self {
        let level = crate::domain::level::LogLevel::parse_name(&row.min_level)
            .unwrap_or(crate::domain::level::LogLevel::Info);
        Self {
            id: row.id.into(),
            bot: bot.to_owned(),
            chat_id: row.chat_id,
            subscriber_uid: row.subscriber_uid,
            min_level: level.into(),
            active: row.active,
            created_at: DateTime::from_stored(&row.created_at),
            thread_id: row.thread_id,
            muted_until: row.muted_until.as_deref().map(DateTime::from_stored),
        }
    }
}

#[derive(SimpleObject, Clone, Debug, Default)]
pub struct LogSource {
    pub user_name: Option<String>,
    pub pid: Option<i64>,
    pub process_name: Option<String>,
    pub process_description: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct LogRecord {
    pub id: async_graphql::ID,
    pub bot: String,
    pub level: LogLevel,
    pub message: String,
    pub event_at: DateTime,
    pub received_at: DateTime,
    pub request_id: Option<String>,
    pub status_code: Option<i32>,
    pub source: LogSource,
    pub attributes: Option<Json<serde_json::Value>>,
}

impl From<StoredRecord> for LogRecord {
    fn from(record: StoredRecord) -> Self {
        Self {
            level: record.level().into(),
            event_at: DateTime::from_stored(&record.event_at),
            received_at: DateTime::from_stored(&record.received_at),
            status_code: record.status_code.and_then(|code| i32::try_from(code).ok()),
            attributes: record
                .attributes
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .map(Json),
            id: record.id.into(),
            bot: record.bot,
            message: record.message,
            request_id: record.request_id,
            source: LogSource {
                user_name: record.source.user_name,
                pid: record.source.pid,
                process_name: record.source.process_name,
                process_description: record.source.process_description,
            },
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct LogUser {
    pub username: String,
    pub created_at: DateTime,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct SendLogsResult {
    /// How many records the batch stored.
    pub accepted: i32,
    /// Their ids, in input order.
    pub ids: Vec<async_graphql::ID>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CommandResult {
    pub ok: bool,
    pub reply: String,
}

/// `totalCount` on connections.
#[derive(SimpleObject, Clone, Debug)]
pub struct TotalCount {
    pub total_count: i64,
}

#[derive(InputObject, Clone, Debug)]
pub struct LogSourceInput {
    pub user_name: Option<String>,
    pub pid: Option<i64>,
    pub process_name: Option<String>,
    pub process_description: Option<String>,
}

#[derive(InputObject, Clone)]
pub struct RegisterBotInput {
    pub admin_uid: String,
    pub name: String,
    pub bot_token: String,
    pub auth_token: String,
    #[graphql(default_with = "Messenger::Telegram")]
    pub messenger: Messenger,
}

#[derive(InputObject, Clone)]
pub struct SubscribeChatInput {
    pub auth_token: String,
    pub chat_id: String,
    pub subscriber_uid: Option<String>,
    #[graphql(default_with = "LogLevel::Info")]
    pub min_level: LogLevel,
    /// The forum topic to deliver to (Telegram `message_thread_id`).
    pub thread_id: Option<String>,
}

#[derive(InputObject, Clone)]
pub struct UnsubscribeChatInput {
    pub auth_token: String,
    pub chat_id: String,
}

/// One record of a `sendLogs` batch.
#[derive(InputObject, Clone, Debug)]
pub struct LogRecordInput {
    pub level: LogLevel,
    pub message: String,
    /// When it happened; the time it arrived when absent.
    pub event_at: Option<DateTime>,
    pub request_id: Option<String>,
    pub status_code: Option<i32>,
    pub source: Option<LogSourceInput>,
    pub attributes: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

/// A single record for a bot.
#[derive(InputObject, Clone, Debug)]
pub struct LogInput {
    pub bot: String,
    #[graphql(flatten)]
    pub record: LogRecordInput,
}

#[derive(InputObject, Clone, Debug)]
pub struct LogFilter {
    pub bot: String,
    /// Only records at this level or above.
    pub min_level: Option<LogLevel>,
    /// Only records that happened at or after this time.
    pub from: Option<DateTime>,
    /// Only records that happened before this time.
    pub to: Option<DateTime>,
    pub request_id: Option<String>,
    /// Only records whose message contains this text.
    pub contains: Option<String>,
}
