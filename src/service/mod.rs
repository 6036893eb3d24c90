//! The use cases of the logger bot: register bots, subscribe chats, ingest and read records,
//! run chat commands, create `/send_logs` users. Every door (GraphQL, LOGGER_INFO, `/send_logs`,
//! chat events) goes through here, so the rules are applied once. Persistence is DataSpace's.

mod bots;
mod error;
mod logs;
mod users;

pub use bots::{CommandOutcome, RegisterBot, SubscribeChat};
pub use error::ServiceError;
pub use logs::{Ingested, LogPage, LogQuery, LogSource, Oversize, RecordInput, StoredRecord};

use crate::dataspace::DataSpaceClient;
use crate::domain::registration::RegistrationPolicy;
use crate::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Where a committed record goes next (live subscriptions, chat delivery).
pub type RecordSender = broadcast::Sender<Arc<StoredRecord>>;

/// The rules plus the DataSpace client they act through.
pub struct LogbotService {
    client: DataSpaceClient,
    registration: RegistrationPolicy,
    max_records_per_batch: usize,
    metrics: Metrics,
    committed: RecordSender,
}

impl LogbotService {
    pub fn new(
        client: DataSpaceClient,
        registration: RegistrationPolicy,
        max_records_per_batch: usize,
        metrics: Metrics,
    ) -> Self {
        let (committed, _) = broadcast::channel(1024);
        Self {
            client,
            registration,
            max_records_per_batch,
            metrics,
            committed,
        }
    }

    pub fn client(&self) -> &DataSpaceClient {
        &self.client
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Committed records, for live subscribers and delivery.
    pub fn committed_records(&self) -> broadcast::Receiver<Arc<StoredRecord>> {
        self.committed.subscribe()
    }

    /// True while DataSpace answers a trivial signed query.
    pub async fn dataspace_ready(&self) -> bool {
        self.client.ping().await.is_ok()
    }
}
