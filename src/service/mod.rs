//! The use cases of the logger bot: register bots, subscribe chats, ingest and read records,
//! run chat commands, create `/send_logs` users. Every door (GraphQL, LOGGER_INFO, `/send_logs`,
//! chat events) goes through here, so the rules are applied once. Persistence is DataSpace's.

mod bots;
pub mod cache_sync;
mod commands;
mod controls;
mod error;
mod logs;
mod refusals;
mod rows;
mod users;

pub use bots::{RegisterBot, SubscribeChat};
pub use commands::{CommandOrigin, CommandOutcome};
pub use error::{ServiceError, UNAVAILABLE_CODE};
pub use logs::{Ingested, LogPage, LogQuery, PlatformEvent, StoredRecord};

use crate::bus::{Bus, RECORDS_CHANNEL};
use crate::dataspace::DataSpaceClient;
use crate::domain::registration::RegistrationPolicy;
use crate::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::Notify;

/// The rules plus the DataSpace client they act through.
/// What one caller may ask of the use cases; from `[limits]`.
#[derive(Debug, Clone)]
pub struct ServiceLimits {
    pub max_records_per_batch: usize,
    pub password_chars: usize,
    pub subscriptions_per_bot: usize,
    pub deliveries_per_batch: usize,
    pub audit_refusals_per_minute: u32,
}

impl ServiceLimits {
    pub fn from_settings(limits: &crate::config::LimitSettings) -> Self {
        Self {
            max_records_per_batch: limits.max_records_per_batch,
            password_chars: limits.password_chars,
            subscriptions_per_bot: limits.subscriptions_per_bot,
            deliveries_per_batch: limits.deliveries_per_batch,
            audit_refusals_per_minute: limits.audit_refusals_per_minute,
        }
    }
}

pub struct LogbotService {
    client: DataSpaceClient,
    registration: RegistrationPolicy,
    limits: ServiceLimits,
    /// Bounds the AuditEvents of refusals (see [`refusals`]).
    refusals: refusals::RefusalBudget,
    metrics: Metrics,
    bus: Bus,
    /// Notified when a batch that may have queued deliveries is stored: wakes this process's
    /// delivery worker (see [`LogbotService::delivery_wake`]).
    delivery_wake: Arc<Notify>,
}

impl LogbotService {
    pub fn new(
        client: DataSpaceClient,
        registration: RegistrationPolicy,
        limits: ServiceLimits,
        metrics: Metrics,
        bus: Bus,
    ) -> Self {
        Self {
            client,
            registration,
            refusals: refusals::RefusalBudget::new(limits.audit_refusals_per_minute),
            limits,
            metrics,
            bus,
            delivery_wake: Arc::default(),
        }
    }

    pub fn client(&self) -> &DataSpaceClient {
        &self.client
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// What this process's delivery worker waits on between polls: notified when this
    /// service stores records that may have queued deliveries, so they go out at once rather
    /// than at the next poll. Other processes' commits do not wake it.
    pub fn delivery_wake(&self) -> Arc<Notify> {
        self.delivery_wake.clone()
    }

    /// Announces committed records on the bus (live subscriptions), in order, in one publish.
    /// Losing an announcement loses no data: the records are stored, and delivery to chats
    /// does not depend on it.
    async fn announce(&self, records: &[Arc<StoredRecord>]) {
        let mut messages = Vec::with_capacity(records.len());
        for record in records {
            match serde_json::to_string(&**record) {
                Ok(json) => messages.push(json),
                Err(error) => tracing::error!(%error, "could not encode a committed record"),
            }
        }
        if let Err(error) = self.bus.publish_many(RECORDS_CHANNEL, &messages).await {
            tracing::warn!(%error, "could not announce committed records");
        }
    }
}
