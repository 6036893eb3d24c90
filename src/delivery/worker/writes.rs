//! The worker's writes of single deliveries (claims, sent parts, outcomes: sent, released,
//! dead), gathered across its chats and sent together: one DataSpace call carries every write
//! the chats' tasks asked for while the calls in flight ran (a group commit; at most
//! [`CALLS_IN_FLIGHT`] at once), up to [`WRITES_PER_CALL`]. Each write is still its own packet, at the version its task read and
//! under its own idempotence key, so a claim that lost the race to another replica
//! (`AGGREGATE_VERSION_EXCEPTION`) fails alone and the others stand; each task waits for its
//! own write's answer before it goes on, as it did when the write was a call of its own, so
//! the lease and the order per chat are what they were: a claim is still made after the
//! pacing wait and before the send, and the send is recorded before the chat's next one goes.
//!
//! No time window is waited for, only the calls in flight (and one yield to the tasks ready
//! at the same moment): with one chat busy, each write goes at once, alone; with many, they
//! share calls, and the DataSpace calls per delivery fall.

use crate::dataspace::operations::Delivery;
use crate::dataspace::operations::delivery::{DeliveryWrite, WRITES_PER_CALL};
use crate::dataspace::{DataSpaceClient, DataSpaceError};
use crate::request_id;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

type Answer = Result<Delivery, DataSpaceError>;

/// A write waiting for the next call, and where its answer goes.
struct Waiting {
    write: DeliveryWrite,
    answer: oneshot::Sender<Answer>,
}

/// The queue of writes; the task sending them ends when the last handle is dropped.
pub(super) struct Writes {
    queue: mpsc::UnboundedSender<Waiting>,
}

impl Writes {
    /// Starts the task that sends the queued writes through `client`.
    pub(super) fn start(client: DataSpaceClient) -> Self {
        // Unbounded, yet never long: each chat's task waits for its write's answer, so at
        // most `concurrency` writes are queued.
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(send_all(client, waiting));
        Self { queue }
    }

    /// Writes one delivery with the next call, and returns its own answer. A write whose
    /// answer never comes (the call failed for the whole lease, the worker stopped) was
    /// written at most once: a claim not written was not made, and an outcome not written
    /// leaves the claim to expire and the delivery to be sent again (at least once, as when
    /// each write was its own call).
    pub(super) async fn write(&self, write: DeliveryWrite) -> Answer {
        let (answer, answered) = oneshot::channel();
        let stopped = || DataSpaceError::unavailable("the delivery worker's writer stopped", false);
        self.queue
            .send(Waiting { write, answer })
            .map_err(|_| stopped())?;
        answered.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// Calls in flight at once. The store runs packets one at a time whatever the number of
/// calls, but the rest of a call (building, signing and reading the document on both sides,
/// answering) can overlap another call's; more than two only split the waiting writes into
/// smaller calls (`cargo bench --bench delivery`, 2026-12-02: 1, 2, 8 and 32 in flight gave
/// 785, 1040, 1000 and 1027 deliveries/s, with 49, 17, 9 and 9 writes per call).
const CALLS_IN_FLIGHT: usize = 2;

/// Sends what waits: a call takes every write queued while the calls in flight ran (the
/// bound keeps a call's size, and the wait for its answer, in check).
async fn send_all(client: DataSpaceClient, mut waiting: mpsc::UnboundedReceiver<Waiting>) {
    let calls = Arc::new(Semaphore::new(CALLS_IN_FLIGHT));
    loop {
        let Ok(call) = calls.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(WRITES_PER_CALL);
        if waiting.recv_many(&mut batch, WRITES_PER_CALL).await == 0 {
            return;
        }
        // The tasks that were ready along with the first write (the chats a pass has just
        // started) queue theirs before the call goes, not for the next one.
        tokio::task::yield_now().await;
        while batch.len() < WRITES_PER_CALL
            && let Ok(write) = waiting.try_recv()
        {
            batch.push(write);
        }
        let client = client.clone();
        tokio::spawn(async move {
            let (writes, answers): (Vec<DeliveryWrite>, Vec<oneshot::Sender<Answer>>) = batch
                .into_iter()
                .map(|waiting| (waiting.write, waiting.answer))
                .unzip();
            // The writes of several passes share the call: it has an id of its own.
            let id = request_id::background("delivery-writes");
            let written = request_id::within(id, client.write_deliveries(&writes)).await;
            for (answer, written) in answers.into_iter().zip(written) {
                // A task that stopped waiting (aborted at shutdown) leaves its write to its
                // lease.
                let _ = answer.send(written);
            }
            drop(call);
        });
    }
}
