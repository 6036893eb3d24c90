//! `Subscription`: live records, fed from the bus after each commit (so a record sent to any
//! replica reaches subscribers on every replica when the bus is Redis).
//!
//! Each execution reads a bounded bus receiver of its bot's records, a batch per commit
//! ([`crate::bus::BotRecords`]). One that falls more than [`crate::bus::LISTENER_BUFFER`]
//! batches behind is not buffered further: it gets one error
//! (`extensions.code = SUBSCRIBER_LAGGED`) and its stream ends, and the WebSocket transport
//! then closes the connection (code 1013) so the client reconnects.

use super::error::bad_input;
use super::types::{LogLevel, LogRecord};
use crate::bus::BotRecords;
use crate::domain::level::LogLevel as DomainLevel;
use crate::domain::names::BotName;
use crate::service::{LogbotService, StoredRecord};
use async_graphql::{Context, ErrorExtensions, Subscription as SubscriptionObject};
use futures_util::Stream;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// `extensions.code` of the error a lagging subscriber gets before it is closed.
pub const SUBSCRIBER_LAGGED: &str = "SUBSCRIBER_LAGGED";

/// WebSocket subscribers of the same document and variables share one execution
/// (`super::feeds`): a field here must yield the same for every caller, reading nothing of the
/// connection or the request beyond its arguments.
#[derive(Default)]
pub struct Subscription;

#[SubscriptionObject]
impl Subscription {
    /// Every record committed for `bot` from now on (at `minLevel` or above, default all).
    async fn log_added(
        &self,
        ctx: &Context<'_>,
        bot: String,
        min_level: Option<LogLevel>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<LogRecord>> + use<>> {
        let bot = BotName::parse(&bot)
            .map_err(|error| bad_input("bot", error))?
            .to_string();
        let min_level: DomainLevel = min_level.map(Into::into).unwrap_or(DomainLevel::Debug);
        let service = ctx.data::<Arc<LogbotService>>()?;
        let listener = Listener {
            receiver: service.bus().subscribe_records(&bot),
            batch: Arc::new([]),
            next: 0,
        };
        Ok(futures_util::stream::unfold(
            Some(listener),
            move |listener| async move {
                let mut listener = listener?;
                loop {
                    while let Some(message) = listener.batch.get(listener.next).cloned() {
                        listener.next += 1;
                        let Ok(record) = serde_json::from_str::<StoredRecord>(&message) else {
                            tracing::warn!("undecodable record on the bus");
                            continue;
                        };
                        if record.level() >= min_level {
                            return Some((Ok(LogRecord::from(record)), Some(listener)));
                        }
                    }
                    match listener.receiver.recv().await {
                        Ok(batch) => (listener.batch, listener.next) = (batch, 0),
                        Err(RecvError::Lagged(missed)) => return Some((Err(lagged(missed)), None)),
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}

/// A subscriber's place in its bot's records: the batch it is in, and the next record of it.
struct Listener {
    receiver: tokio::sync::broadcast::Receiver<BotRecords>,
    batch: BotRecords,
    next: usize,
}

/// The error a subscriber gets when it fell `missed` batches of records behind and is closed.
pub fn lagged(missed: u64) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "this subscriber fell {missed} batches of records behind and is closed; subscribe \
         again (records are stored: query `logs` for the ones missed)"
    ))
    .extend_with(|_, extensions| {
        extensions.set("code", SUBSCRIBER_LAGGED);
        extensions.set("missed", missed);
    })
}
