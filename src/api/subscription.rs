//! `Subscription`: live records, fed from the bus after each commit (so a record sent to any
//! replica reaches subscribers on every replica when the bus is Redis).
//!
//! Each subscriber reads a bounded bus receiver of its bot's records. A subscriber that falls
//! more than [`crate::bus::LISTENER_BUFFER`] of them behind is not buffered further: it gets
//! one error (`extensions.code = SUBSCRIBER_LAGGED`) and its stream ends, and the WebSocket
//! transport then closes the connection (code 1013) so the client reconnects.

use super::error::bad_input;
use super::types::{LogLevel, LogRecord};
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
        let receiver = service.bus().subscribe_records(&bot);
        Ok(futures_util::stream::unfold(
            Some(receiver),
            move |receiver| async move {
                let mut receiver = receiver?;
                loop {
                    match receiver.recv().await {
                        Ok(message) => {
                            let Ok(record) = serde_json::from_str::<StoredRecord>(&message) else {
                                tracing::warn!("undecodable record on the bus");
                                continue;
                            };
                            if record.level() < min_level {
                                continue;
                            }
                            return Some((Ok(LogRecord::from(record)), Some(receiver)));
                        }
                        Err(RecvError::Lagged(missed)) => {
                            return Some((Err(lagged(missed)), None));
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}

/// The error a subscriber gets when it fell `missed` records behind and is closed.
pub fn lagged(missed: u64) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "this subscriber fell {missed} records behind and is closed; subscribe again (records \
         are stored: query `logs` for the ones missed)"
    ))
    .extend_with(|_, extensions| {
        extensions.set("code", SUBSCRIBER_LAGGED);
        extensions.set("missed", missed);
    })
}
