//! Group commit of ingest packets: batches stored at the same time go to DataSpace as aliased
//! packets of one mutation (`p0: packet(...) {...} p1: packet(...) {...}`). PROTOCOLS §2 makes
//! those independent transactions, so each keeps its own idempotence key and its own outcome,
//! while one HTTP call (one signature, one GraphQL parse, one answer) carries them all.
//!
//! Nothing waits on a timer. At most `in_flight` calls are out at once; a batch that finds
//! one free goes at once, alone, and the batches that arrive while all are out go together in
//! the next call that frees. So a group grows with the load, not with the latency. No task
//! runs in the background: whichever waiting caller gets a free call takes the queue's head
//! and sends it from a spawned task, so that a caller that goes away (its client hung up)
//! cancels nothing that others wait on.

use super::client::DataSpaceClient;
use super::error::DataSpaceError;
use super::operations::ingest::{IngestPacket, StoredBatch};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// How large a group may grow and how many may be out (`[dataspace] group_commit_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitSettings {
    /// The most packets in one call; 1 sends every batch on its own.
    pub packets: usize,
    /// The most bytes of variables in one call; a larger packet still goes, alone.
    pub bytes: usize,
    /// The most calls out at once.
    pub in_flight: usize,
}

impl Default for GroupCommitSettings {
    fn default() -> Self {
        Self {
            packets: 64,
            bytes: 1024 * 1024,
            in_flight: 4,
        }
    }
}

/// What a waiting batch is answered: its stored ids, `None` for a replay of the other shape.
type Answer = Result<Option<StoredBatch>, DataSpaceError>;

struct Waiting {
    id: u64,
    packet: IngestPacket,
    answer: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    next_id: u64,
}

/// The queue of batches waiting for a call, shared by every clone of a client.
pub(crate) struct GroupCommit {
    settings: GroupCommitSettings,
    queue: Mutex<Queue>,
    calls: Arc<Semaphore>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("settings", &self.settings)
            .field("waiting", &crate::sync::lock(&self.queue).waiting.len())
            .finish()
    }
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self::new(GroupCommitSettings::default())
    }
}

/// Takes a batch out of the queue if it is still there when its caller goes away: a request
/// nobody waits for any more is not sent later on someone else's call.
struct Withdraw<'a> {
    queue: &'a Mutex<Queue>,
    id: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        let mut queue = crate::sync::lock(self.queue);
        queue.waiting.retain(|waiting| waiting.id != self.id);
    }
}

impl GroupCommit {
    pub(crate) fn new(settings: GroupCommitSettings) -> Self {
        let settings = GroupCommitSettings {
            packets: settings.packets.max(1),
            bytes: settings.bytes.max(1),
            in_flight: settings.in_flight.max(1),
        };
        Self {
            settings,
            queue: Mutex::default(),
            calls: Arc::new(Semaphore::new(settings.in_flight)),
        }
    }

    /// Stores `packet` in the next call with room, and answers what DataSpace answered for it.
    pub(crate) async fn submit(&self, client: &DataSpaceClient, packet: IngestPacket) -> Answer {
        let (answer, mut answered) = oneshot::channel();
        let id = {
            let mut queue = crate::sync::lock(&self.queue);
            let id = queue.next_id;
            queue.next_id += 1;
            queue.waiting.push_back(Waiting { id, packet, answer });
            id
        };
        let _withdraw = Withdraw {
            queue: &self.queue,
            id,
        };
        loop {
            let permit = tokio::select! {
                biased;
                answer = &mut answered => return answer.unwrap_or_else(|_| Err(gone())),
                permit = self.calls.clone().acquire_owned() => {
                    permit.expect("the group commit's semaphore is never closed")
                }
            };
            let (group, still_queued) = self.take_group(id);
            if !group.is_empty() {
                tokio::spawn(send_group(client.clone(), group, permit));
            }
            if !still_queued {
                break;
            }
        }
        answered.await.unwrap_or_else(|_| Err(gone()))
    }

    /// The queue's head, up to the caps (at least one batch), and whether batch `id` is
    /// still waiting after it.
    fn take_group(&self, id: u64) -> (Vec<Waiting>, bool) {
        let mut queue = crate::sync::lock(&self.queue);
        let mut group = Vec::new();
        let mut bytes = 0;
        while let Some(next) = queue.waiting.front() {
            let size = next.packet.bytes();
            let full = group.len() >= self.settings.packets
                || (!group.is_empty() && bytes + size > self.settings.bytes);
            if full {
                break;
            }
            bytes += size;
            group.extend(queue.waiting.pop_front());
        }
        let still_queued = queue.waiting.iter().any(|waiting| waiting.id == id);
        (group, still_queued)
    }
}

/// The answer when a group's call ended without answering (its task panicked).
fn gone() -> DataSpaceError {
    DataSpaceError::unavailable("the call storing this batch ended without an answer", true)
}

/// Sends one group in one call and answers each batch from its packet's part; the permit
/// is given back when the answers are out.
async fn send_group(client: DataSpaceClient, group: Vec<Waiting>, _permit: OwnedSemaphorePermit) {
    let packets: Vec<&IngestPacket> = group.iter().map(|waiting| &waiting.packet).collect();
    let answers = client.store_packets(&packets).await;
    for (index, waiting) in group.into_iter().enumerate() {
        let outcome = match &answers {
            Ok(answers) => match answers.get(index) {
                Some(Ok(packet)) => waiting.packet.outcome(packet),
                Some(Err(error)) => Err(error.clone()),
                None => Err(DataSpaceError::Invalid(format!(
                    "the call answered {} packets of {}",
                    answers.len(),
                    index + 1
                ))),
            },
            Err(error) => Err(error.clone()),
        };
        // The caller may have gone away; its batch's fate is then its retry's to learn.
        let _ = waiting.answer.send(outcome);
    }
}
