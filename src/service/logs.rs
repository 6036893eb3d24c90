//! Log records: validate a whole batch before anything is written, store it in one DataSpace
//! packet (idempotent by key), announce what was committed, and read records back in pages.

use super::{LogbotService, ServiceError};
use crate::dataspace::operations::{
    ChatSubscription, LogRecord, LogRecordFilter, NewDelivery, NewLogRecord, format_datetime,
};
use crate::domain::level::LogLevel;
use crate::domain::record::{self, MAX_MESSAGE_CHARS};
use chrono::{NaiveDateTime, Utc};
use std::sync::Arc;

/// Where a record came from (process metadata some senders attach).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogSource {
    pub user_name: Option<String>,
    pub pid: Option<i64>,
    pub process_name: Option<String>,
    pub process_description: Option<String>,
}

/// One record as a door hands it over; checked by [`LogbotService::ingest`].
#[derive(Debug, Clone)]
pub struct RecordInput {
    pub level: LogLevel,
    pub message: String,
    /// When it happened (UTC); now when absent.
    pub event_at: Option<NaiveDateTime>,
    pub request_id: Option<String>,
    pub status_code: Option<i64>,
    pub source: LogSource,
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What to do with a message longer than the store allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    Reject,
    /// Cut it (the `/send_logs` client cannot handle a refusal).
    Truncate,
}

/// A committed record, as readers and subscribers see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRecord {
    pub id: String,
    pub bot: String,
    pub bot_id: String,
    pub level: String,
    pub message: String,
    pub event_at: String,
    pub received_at: String,
    pub request_id: Option<String>,
    pub status_code: Option<i64>,
    pub source: LogSource,
    pub attributes: Option<String>,
}

impl StoredRecord {
    /// A record as committed: its id, its bot's name and id, and what was stored.
    fn new(id: String, bot: &str, bot_id: String, record: NewLogRecord) -> Self {
        Self {
            id,
            bot: bot.to_owned(),
            bot_id,
            level: record.level,
            message: record.message,
            event_at: record.event_at,
            received_at: record.received_at,
            request_id: record.request_id,
            status_code: record.status_code,
            source: LogSource {
                user_name: record.source_user_name,
                pid: record.source_pid,
                process_name: record.source_process_name,
                process_description: record.source_process_description,
            },
            attributes: record.attributes,
        }
    }

    fn from_row(bot: &str, row: LogRecord) -> Self {
        let (id, bot_id, record) = row.into_parts();
        Self::new(id, bot, bot_id, record)
    }

    pub fn level(&self) -> LogLevel {
        LogLevel::parse_name(&self.level).unwrap_or(LogLevel::Info)
    }
}

/// The result of an ingest.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub ids: Vec<String>,
    pub records: Vec<Arc<StoredRecord>>,
}

/// Which records to read.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub bot: String,
    pub min_level: Option<LogLevel>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub request_id: Option<String>,
    pub contains: Option<String>,
    /// Records older than this id (the cursor).
    pub before_id: Option<i64>,
    pub first: usize,
}

/// One page of records, newest first.
#[derive(Debug, Clone)]
pub struct LogPage {
    pub records: Vec<StoredRecord>,
    pub has_next_page: bool,
    pub total_count: i64,
}

const MAX_REQUEST_ID_CHARS: usize = 128;
const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

fn check_record(
    index: usize,
    input: RecordInput,
    oversize: Oversize,
    received_at: &str,
) -> Result<NewLogRecord, ServiceError> {
    let field = |name: &str| format!("records[{index}].{name}");
    let mut message = input.message;
    if message.trim().is_empty() {
        return Err(ServiceError::invalid(field("message"), "must not be empty"));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        match oversize {
            Oversize::Reject => {
                return Err(ServiceError::invalid(
                    field("message"),
                    format!("is longer than {MAX_MESSAGE_CHARS} characters"),
                ));
            }
            Oversize::Truncate => message = record::truncate_message(&message, MAX_MESSAGE_CHARS),
        }
    }
    if let Some(request_id) = &input.request_id
        && request_id.chars().count() > MAX_REQUEST_ID_CHARS
    {
        return Err(ServiceError::invalid(
            field("requestId"),
            format!("is longer than {MAX_REQUEST_ID_CHARS} characters"),
        ));
    }
    if let Some(code) = input.status_code
        && !(100..=599).contains(&code)
    {
        return Err(ServiceError::invalid(
            field("statusCode"),
            format!("{code} is not an HTTP status code (100-599)"),
        ));
    }
    let attributes = match input.attributes {
        Some(map) => {
            let text = serde_json::Value::Object(map).to_string();
            if text.len() > MAX_ATTRIBUTES_BYTES {
                return Err(ServiceError::invalid(
                    field("attributes"),
                    format!("are larger than {MAX_ATTRIBUTES_BYTES} bytes"),
                ));
            }
            Some(text)
        }
        None => None,
    };
    let event_at = input
        .event_at
        .map(|at| format_datetime(at.and_utc()))
        .unwrap_or_else(|| received_at.to_owned());
    Ok(NewLogRecord {
        level: input.level.as_str().to_owned(),
        message,
        event_at,
        received_at: received_at.to_owned(),
        request_id: input.request_id.filter(|id| !id.is_empty()),
        status_code: input.status_code,
        source_user_name: input.source.user_name,
        source_pid: input.source.pid,
        source_process_name: input.source.process_name,
        source_process_description: input.source.process_description,
        attributes,
    })
}

/// The chats a batch's records go to, worked out once per batch for each level (indexed by
/// `level as usize`): every active subscription whose `minLevel` the level meets. A
/// subscription whose level cannot be read gets everything rather than nothing. A chat with
/// two subscriptions to the bot (a migrated group that had its own) is queued once per
/// record, for the oldest of them.
fn deliveries_by_level(subscriptions: &[ChatSubscription]) -> [Vec<NewDelivery>; 5] {
    let mut chats = std::collections::HashSet::new();
    let targets: Vec<(Option<LogLevel>, NewDelivery)> = subscriptions
        .iter()
        .filter(|subscription| subscription.active)
        .filter(|subscription| chats.insert(subscription.chat_id.clone()))
        .map(|subscription| {
            let min_level = LogLevel::parse_name(&subscription.min_level).ok();
            let delivery = NewDelivery {
                subscription: subscription.id.clone(),
                chat_id: subscription.chat_id.clone(),
                thread_id: subscription.thread_id.clone(),
            };
            (min_level, delivery)
        })
        .collect();
    LogLevel::ALL.map(|level| {
        targets
            .iter()
            .filter(|(min_level, _)| min_level.is_none_or(|min_level| level.meets(min_level)))
            .map(|(_, delivery)| delivery.clone())
            .collect()
    })
}

impl LogbotService {
    /// Stores a batch for a bot: all records are checked first (one bad record refuses the
    /// batch, naming it), then written in one packet. The same `idempotency_key` twice stores
    /// the records once and answers with the same ids.
    pub async fn ingest(
        &self,
        bot_name: &str,
        inputs: Vec<RecordInput>,
        idempotency_key: Option<&str>,
        oversize: Oversize,
    ) -> Result<Ingested, ServiceError> {
        if inputs.is_empty() {
            return Err(ServiceError::invalid("records", "the batch is empty"));
        }
        if inputs.len() > self.max_records_per_batch {
            return Err(ServiceError::invalid(
                "records",
                format!(
                    "{} records in one batch, at most {} allowed",
                    inputs.len(),
                    self.max_records_per_batch
                ),
            ));
        }
        if let Some(key) = idempotency_key
            && (key.is_empty() || key.len() > 200)
        {
            return Err(ServiceError::invalid(
                "idempotencyKey",
                "must be 1 to 200 characters",
            ));
        }
        let bot = self.require_bot(bot_name).await?;
        let received_at = format_datetime(Utc::now());
        let levels: Vec<LogLevel> = inputs.iter().map(|input| input.level).collect();
        let records = inputs
            .into_iter()
            .enumerate()
            .map(|(index, input)| check_record(index, input, oversize, &received_at))
            .collect::<Result<Vec<_>, _>>()?;
        // Scoped by bot so two bots' senders cannot collide on a key.
        let key = idempotency_key.map(|key| format!("sendLogs:{}:{key}", bot.id));
        // The chats each record goes to are queued in the packet that stores the records, so
        // a record is never committed without its deliveries (see the README, "Delivery to chats").
        let subscriptions = self.client.find_active_subscriptions(&bot.id).await?;
        let by_level = deliveries_by_level(&subscriptions);
        let deliveries: Vec<&[NewDelivery]> = levels
            .iter()
            .map(|level| by_level[*level as usize].as_slice())
            .collect();
        let batch = self
            .client
            .store_log_records_with_deliveries(
                &bot.id,
                &records,
                &deliveries,
                key.as_deref(),
                &received_at,
            )
            .await?;
        let ids = batch.ids;
        let stored: Vec<Arc<StoredRecord>> = ids
            .iter()
            .zip(records)
            .map(|(id, record)| {
                Arc::new(StoredRecord::new(
                    id.clone(),
                    &bot.name,
                    bot.id.clone(),
                    record,
                ))
            })
            .collect();
        // A replayed batch was announced when it was first stored.
        if !batch.replayed {
            if !subscriptions.is_empty() {
                self.delivery_wake.notify_one();
            }
            self.announce(&stored).await;
        }
        Ok(Ingested {
            ids,
            records: stored,
        })
    }

    /// A page of a bot's records, newest first. Paging is by id, so records inserted while a
    /// client pages never shift or repeat the pages it has not read yet.
    pub async fn logs(&self, query: LogQuery) -> Result<LogPage, ServiceError> {
        let bot = self.require_bot(&query.bot).await?;
        if let Some(contains) = &query.contains
            && contains.chars().count() > 256
        {
            return Err(ServiceError::invalid(
                "filter.contains",
                "is longer than 256 characters",
            ));
        }
        let levels = match query.min_level {
            Some(min) => LogLevel::ALL
                .iter()
                .filter(|level| level.meets(min))
                .map(|level| level.as_str().to_owned())
                .collect(),
            None => Vec::new(),
        };
        let mut filter = LogRecordFilter {
            bot: bot.id.clone(),
            levels,
            from: query.from.map(|at| format_datetime(at.and_utc())),
            to: query.to.map(|at| format_datetime(at.and_utc())),
            request_id: query.request_id.clone(),
            contains: query.contains.clone().filter(|text| !text.is_empty()),
            before: query.before_id.map(|id| id.to_string()),
            limit: query.first.max(1) as i64,
        };
        let page = self.client.search_log_records(&filter).await?;
        let total_count = if query.before_id.is_some() {
            filter.before = None;
            filter.limit = 1;
            self.client.search_log_records(&filter).await?.count
        } else {
            page.count
        };
        let records: Vec<StoredRecord> = page
            .records
            .into_iter()
            .map(|row| StoredRecord::from_row(&bot.name, row))
            .collect();
        Ok(LogPage {
            has_next_page: page.next_cursor.is_some(),
            records,
            total_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(id: &str, chat: &str, level: &str) -> ChatSubscription {
        ChatSubscription {
            id: id.into(),
            agg_version: 1,
            bot: "1".into(),
            chat_id: chat.into(),
            subscriber_uid: None,
            min_level: level.into(),
            active: true,
            created_at: "2026-11-22T08:00:00.000".into(),
            thread_id: None,
            muted_until: None,
            muted_since: None,
        }
    }

    #[test]
    fn a_record_is_queued_once_per_chat() {
        let subscriptions = [
            subscription("1", "-100", "INFO"),
            subscription("2", "-100", "DEBUG"),
            subscription("3", "7", "ERROR"),
        ];
        let by_level = deliveries_by_level(&subscriptions);
        let error: Vec<(&str, &str)> = by_level[LogLevel::Error as usize]
            .iter()
            .map(|delivery| (delivery.subscription.as_str(), delivery.chat_id.as_str()))
            .collect();
        assert_eq!(error, [("1", "-100"), ("3", "7")]);
        assert!(by_level[LogLevel::Debug as usize].is_empty());
    }
}
