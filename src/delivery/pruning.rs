//! Pruning: `SENT` and `DEAD` deliveries (the delivery history) are deleted once they are
//! older than `[delivery] keep_done_hours`, so the queue's table does not grow for ever.
//!
//! A round every few minutes deletes them in batches, oldest first; with nothing to delete it
//! costs one indexed search. Pending deliveries, leased or not, are never deleted, and a
//! replayed ingest cannot bring pruned ones back: see
//! [`DataSpaceClient::prune_done_deliveries`].

use super::metrics::DeliveryMetrics;
use crate::dataspace::DataSpaceClient;
use crate::dataspace::operations::format_datetime;
use chrono::Utc;
use std::time::Duration;
use tokio::sync::watch;

/// Deliveries deleted per packet.
const BATCH: i64 = 500;
/// Packets per round at most, so that a large first backlog is worked off over several
/// rounds instead of holding the DataSpace for one long stretch.
const MAX_BATCHES_PER_ROUND: usize = 20;
/// The pause between rounds.
const EVERY: Duration = Duration::from_secs(5 * 60);

/// How long finished deliveries are kept, and how often they are looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruning {
    /// Finished deliveries created longer ago than this are deleted.
    pub keep: Duration,
    /// The pause between rounds (each replica's first round comes after a random part of it).
    pub every: Duration,
    /// Deliveries deleted per packet.
    pub batch: i64,
}

impl Pruning {
    /// `[delivery] keep_done_hours`: 0 keeps finished deliveries for good.
    pub fn after_hours(hours: u64) -> Option<Self> {
        (hours > 0).then(|| Self {
            keep: Duration::from_secs(hours * 3600),
            every: EVERY,
            batch: BATCH,
        })
    }
}

/// Prunes every `pruning.every` until `stop` turns true.
pub(super) async fn run(
    client: DataSpaceClient,
    pruning: Pruning,
    metrics: DeliveryMetrics,
    mut stop: watch::Receiver<bool>,
) {
    // Replicas started together do not all prune at the same moment (two deleting the same
    // rows would make one packet fail, harmlessly, until the next round).
    let mut pause = pruning.every.mul_f64(rand::random_range(0.1..=1.0));
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = pruning.every;
        let keep = chrono::TimeDelta::from_std(pruning.keep).unwrap_or(chrono::TimeDelta::MAX);
        let Some(before) = Utc::now().checked_sub_signed(keep) else {
            continue;
        };
        let before = format_datetime(before);
        let mut pruned = 0;
        let round = crate::request_id::background("delivery-prune");
        for _ in 0..MAX_BATCHES_PER_ROUND {
            if *stop.borrow() {
                break;
            }
            let batch = client.prune_done_deliveries(&before, pruning.batch);
            match crate::request_id::within(round.clone(), batch).await {
                Ok(count) => {
                    pruned += count;
                    if (count as i64) < pruning.batch {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot prune finished deliveries; trying again next round");
                    break;
                }
            }
        }
        if pruned > 0 {
            metrics.pruned(pruned);
            tracing::info!(pruned, before = %before, "finished deliveries pruned");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_hours_keeps_finished_deliveries_for_good() {
        assert_eq!(Pruning::after_hours(0), None);
        let week = Pruning::after_hours(168).unwrap();
        assert_eq!(week.keep, Duration::from_secs(7 * 24 * 3600));
        assert!(week.every < week.keep && week.batch > 0);
    }
}
