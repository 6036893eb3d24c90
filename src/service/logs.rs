//! Log records: store a batch the doors built (checked by [`NewLogRecord::builder`]) in one
//! DataSpace packet (idempotent by key), announce what was committed, and read records back
//! in pages.

use super::{LogbotService, ServiceError};
use crate::dataspace::operations::{
    self as rows, Bot, ChatSubscription, LogRecord, LogRecordFilter, LogUser, NewDelivery,
    format_datetime,
};
use crate::domain::level::LogLevel;
use crate::domain::record::{LogSource, NewLogRecord};
use chrono::{NaiveDateTime, Utc};
use std::sync::Arc;

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
    fn new(id: String, bot: &str, bot_id: String, record: rows::NewLogRecord) -> Self {
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
    /// Whether the caller reads `total_count`: after a cursor it costs a second search.
    pub want_total: bool,
}

/// One page of records, newest first.
#[derive(Debug, Clone)]
pub struct LogPage {
    pub records: Vec<StoredRecord>,
    pub has_next_page: bool,
    /// 0 when the query did not want it.
    pub total_count: i64,
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

/// A platform event whose id keys the batch it is stored as, so that a redelivered event is
/// stored once. Its key is `trigger:<event id>` or `signal:<message id>`; a caller's own keys
/// may not start with those prefixes, so a caller can neither replay nor pre-empt an event.
#[derive(Debug, Clone, Copy)]
pub enum PlatformEvent<'a> {
    /// A storage trigger's `event_id`.
    Trigger(&'a str),
    /// A queue signal's `message_id`.
    Signal(&'a str),
}

impl PlatformEvent<'_> {
    const PREFIXES: [&'static str; 2] = ["trigger:", "signal:"];

    fn key(self) -> String {
        match self {
            Self::Trigger(id) => format!("{}{id}", Self::PREFIXES[0]),
            Self::Signal(id) => format!("{}{id}", Self::PREFIXES[1]),
        }
    }
}

/// A caller's key: 1 to 200 characters, outside the platform's namespace.
fn check_caller_key(key: &str) -> Result<(), ServiceError> {
    if key.is_empty() || key.len() > 200 {
        return Err(ServiceError::invalid(
            "idempotencyKey",
            "must be 1 to 200 characters",
        ));
    }
    if let Some(prefix) = PlatformEvent::PREFIXES
        .iter()
        .find(|prefix| key.starts_with(*prefix))
    {
        return Err(ServiceError::invalid(
            "idempotencyKey",
            format!("must not start with {prefix:?}: that prefix keys the platform's own events"),
        ));
    }
    Ok(())
}

impl LogbotService {
    /// Stores a batch of checked records for a bot, in one packet: all or none. The same
    /// `idempotency_key` twice stores the records once and answers with the same ids.
    pub async fn ingest(
        &self,
        bot_name: &str,
        records: Vec<NewLogRecord>,
        idempotency_key: Option<&str>,
    ) -> Result<Ingested, ServiceError> {
        if let Some(key) = idempotency_key {
            check_caller_key(key)?;
        }
        self.check_batch_size(&records)?;
        let bot = self.require_serving_bot(bot_name).await?;
        self.store_batch(&bot, records, idempotency_key.map(str::to_owned))
            .await
    }

    /// [`ingest`](Self::ingest) for a `/send_logs` user: into the bot the user is bound to
    /// (looked up by id), else into `default_bot` (`[send_logs] default_bot`).
    pub async fn ingest_for_log_user(
        &self,
        user: &LogUser,
        default_bot: Option<&str>,
        records: Vec<NewLogRecord>,
        idempotency_key: &str,
    ) -> Result<Ingested, ServiceError> {
        check_caller_key(idempotency_key)?;
        self.check_batch_size(&records)?;
        let bot = match (&user.bot, default_bot) {
            (Some(id), _) => match self.require_serving_bot_by_id(id).await {
                Err(ServiceError::NotFound { .. }) => {
                    return Err(ServiceError::Forbidden(
                        "the bot this user sends to no longer exists".into(),
                    ));
                }
                found => found?,
            },
            (None, Some(name)) => self.require_serving_bot(name).await?,
            (None, None) => {
                return Err(ServiceError::Forbidden(
                    "this user is bound to no bot and [send_logs] default_bot is not set".into(),
                ));
            }
        };
        self.store_batch(&bot, records, Some(idempotency_key.to_owned()))
            .await
    }

    /// [`ingest`](Self::ingest) of the batch a platform event carries, keyed by the event.
    pub async fn ingest_platform_event(
        &self,
        bot_name: &str,
        records: Vec<NewLogRecord>,
        event: PlatformEvent<'_>,
    ) -> Result<Ingested, ServiceError> {
        self.check_batch_size(&records)?;
        let bot = self.require_serving_bot(bot_name).await?;
        self.store_batch(&bot, records, Some(event.key())).await
    }

    /// A batch holds 1 to `[limits] max_records_per_batch` records.
    fn check_batch_size(&self, inputs: &[NewLogRecord]) -> Result<(), ServiceError> {
        if inputs.is_empty() {
            return Err(ServiceError::invalid("records", "the batch is empty"));
        }
        if inputs.len() > self.limits.max_records_per_batch {
            return Err(ServiceError::invalid(
                "records",
                format!(
                    "{} records in one batch, at most {} allowed",
                    inputs.len(),
                    self.limits.max_records_per_batch
                ),
            ));
        }
        Ok(())
    }

    async fn store_batch(
        &self,
        bot: &Bot,
        inputs: Vec<NewLogRecord>,
        idempotency_key: Option<String>,
    ) -> Result<Ingested, ServiceError> {
        let received_at = format_datetime(Utc::now());
        let levels: Vec<LogLevel> = inputs.iter().map(NewLogRecord::level).collect();
        let records: Vec<rows::NewLogRecord> = inputs
            .iter()
            .map(|record| super::rows::log_record(record, &received_at))
            .collect();
        // Scoped by bot so two bots' senders cannot collide on a key.
        let key = idempotency_key.map(|key| format!("sendLogs:{}:{key}", bot.id));
        // The chats each record goes to are queued in the packet that stores the records, so
        // a record is never committed without its deliveries (see the README, "Delivery to chats").
        let subscriptions = self.client.cached_active_subscriptions(&bot.id).await?;
        let by_level = deliveries_by_level(&subscriptions);
        let deliveries: Vec<&[NewDelivery]> = levels
            .iter()
            .map(|level| by_level[*level as usize].as_slice())
            .collect();
        // Refused before anything is written: one packet holds the records and all their
        // deliveries, and past this it outgrows what DataSpace takes in one packet.
        let queued: usize = deliveries.iter().map(|chats| chats.len()).sum();
        if queued > self.limits.deliveries_per_batch {
            return Err(ServiceError::LimitReached(format!(
                "this batch would queue {queued} deliveries ({} records to {} subscribed chats), \
                 at most {} allowed ([limits] deliveries_per_batch): send smaller batches",
                deliveries.len(),
                subscriptions.len(),
                self.limits.deliveries_per_batch
            )));
        }
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
            // After a cursor the page's count is not the total: that is a search of its own.
            with_count: query.want_total && query.before_id.is_none(),
        };
        let page = self.client.search_log_records(&filter).await?;
        let total_count = if !query.want_total {
            0
        } else if query.before_id.is_some() {
            filter.before = None;
            filter.limit = 1;
            filter.with_count = true;
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
