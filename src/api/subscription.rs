//! `Subscription`: live records, fed from the bus after each commit (so a record sent to any
//! replica reaches subscribers on every replica when the bus is Redis).
//!
//! Each subscriber reads a bounded bus receiver. A subscriber that falls more than
//! [`crate::bus::LISTENER_BUFFER`] records behind is not buffered further: it gets one error
//! (`extensions.code = SUBSCRIBER_LAGGED`) and its stream ends, and the WebSocket transport
//! then closes the connection (code 1013) so the client reconnects.

use super::error::bad_input;
use super::types::{LogLevel, LogRecord};
use crate::bus::RECORDS_CHANNEL;
use crate::domain::level::LogLevel as DomainLevel;
use crate::domain::names::BotName;
use crate::service::{LogbotService, StoredRecord};
use async_graphql::{Context, ErrorExtensions, Subscription as SubscriptionObject};
use futures_util::Stream;
use std::borrow::Cow;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// `extensions.code` of the error a lagging subscriber gets before it is closed.
pub const SUBSCRIBER_LAGGED: &str = "SUBSCRIBER_LAGGED";

/// The fields of a [`StoredRecord`] on the bus that decide who gets it, borrowed from the
/// message: every subscriber sees every record, and most are for other bots.
#[derive(serde::Deserialize)]
struct RecordHead<'a> {
    #[serde(borrow)]
    bot: Cow<'a, str>,
    #[serde(borrow)]
    level: Cow<'a, str>,
}

impl RecordHead<'_> {
    /// As [`StoredRecord::level`] reads the level (an unknown name is INFO).
    fn matches(&self, bot: &str, min_level: DomainLevel) -> bool {
        self.bot == bot
            && DomainLevel::parse_name(&self.level).unwrap_or(DomainLevel::Info) >= min_level
    }
}

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
        let receiver = service.bus().subscribe(RECORDS_CHANNEL);
        Ok(futures_util::stream::unfold(
            Some(receiver),
            move |receiver| {
                let bot = bot.clone();
                async move {
                    let mut receiver = receiver?;
                    loop {
                        match receiver.recv().await {
                            Ok(message) => {
                                let Ok(head) = serde_json::from_str::<RecordHead>(&message) else {
                                    tracing::warn!("undecodable record on the bus");
                                    continue;
                                };
                                if !head.matches(&bot, min_level) {
                                    continue;
                                }
                                let Ok(record) = serde_json::from_str::<StoredRecord>(&message)
                                else {
                                    tracing::warn!("undecodable record on the bus");
                                    continue;
                                };
                                return Some((Ok(LogRecord::from(record)), Some(receiver)));
                            }
                            Err(RecvError::Lagged(missed)) => {
                                let error = async_graphql::Error::new(format!(
                                    "this subscriber fell {missed} records behind and is \
                                     closed; subscribe again (records are stored: query \
                                     `logs` for the ones missed)"
                                ))
                                .extend_with(|_, extensions| {
                                    extensions.set("code", SUBSCRIBER_LAGGED);
                                    extensions.set("missed", missed);
                                });
                                return Some((Err(error), None));
                            }
                            Err(RecvError::Closed) => return None,
                        }
                    }
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::LogSource;

    #[test]
    fn the_head_reads_bot_and_level_of_a_stored_record() {
        let record = StoredRecord {
            id: "1".into(),
            bot: "b".into(),
            bot_id: "7".into(),
            level: "WARNING".into(),
            message: "m".into(),
            event_at: "2026-11-22T08:00:00Z".into(),
            received_at: "2026-11-22T08:00:00Z".into(),
            request_id: None,
            status_code: None,
            source: LogSource::default(),
            attributes: None,
        };
        let message = serde_json::to_string(&record).unwrap();
        let head = serde_json::from_str::<RecordHead>(&message).unwrap();
        assert!(head.matches("b", DomainLevel::Warning));
        assert!(!head.matches("b", DomainLevel::Error));
        assert!(!head.matches("c", DomainLevel::Debug));
        assert_eq!(
            head.matches("b", DomainLevel::Error),
            record.bot == "b" && record.level() >= DomainLevel::Error
        );
    }
}
