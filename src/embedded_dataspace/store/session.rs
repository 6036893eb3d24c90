//! The writes of one request: every packet of a mutation runs in one SQLite transaction, each
//! in a savepoint of its own, and the transaction commits once, when the mutation is done and
//! before it is answered. So a group of packets (the gateway's group commit) costs one commit,
//! one WAL append and, with `durability = full`, one fsync, while each packet still stands or
//! falls alone: a failing one is rolled back to its savepoint and the others stay.
//!
//! The writer connection is held for the session by one blocking thread, which the packets are
//! handed to in turn (a mutation's fields resolve one after another); a session dropped
//! without its commit (the request was cancelled) rolls back.

use super::{PacketOutcome, PacketRequest, Store, StoreError, run_packet};
use std::sync::{Arc, mpsc};
use tokio::sync::{Mutex, oneshot};

enum Job {
    Packet(
        PacketRequest,
        oneshot::Sender<Result<PacketOutcome, StoreError>>,
    ),
    Commit(oneshot::Sender<Result<(), StoreError>>),
}

/// A request's writes, started by its first packet. Shared with the resolvers through the
/// request's data.
#[derive(Default)]
pub struct WriteSession {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

fn interrupted() -> StoreError {
    StoreError::new(
        super::Classification::Internal,
        "the write session was interrupted",
    )
}

impl WriteSession {
    /// Runs `packet` in the session's transaction (opened on the first), in a savepoint:
    /// its outcome is final once [`WriteSession::commit`] succeeds.
    pub async fn packet(
        &self,
        store: &Arc<Store>,
        packet: PacketRequest,
    ) -> Result<PacketOutcome, StoreError> {
        let (answer, answered) = oneshot::channel();
        {
            let mut jobs = self.jobs.lock().await;
            if jobs.is_none() {
                let (sender, receiver) = mpsc::channel();
                let store = store.clone();
                let turn = store.write_turn().await;
                tokio::task::spawn_blocking(move || {
                    let _turn = turn;
                    store.serve_session(receiver)
                });
                *jobs = Some(sender);
            }
            let Some(sender) = jobs.as_ref() else {
                return Err(interrupted());
            };
            sender
                .send(Job::Packet(packet, answer))
                .map_err(|_| interrupted())?;
        }
        answered.await.map_err(|_| interrupted())?
    }

    /// Commits what the session's packets wrote; nothing to do when none ran.
    pub async fn commit(&self) -> Result<(), StoreError> {
        let Some(sender) = self.jobs.lock().await.take() else {
            return Ok(());
        };
        let (answer, answered) = oneshot::channel();
        sender
            .send(Job::Commit(answer))
            .map_err(|_| interrupted())?;
        answered.await.map_err(|_| interrupted())?
    }
}

/// Runs `packet` in a savepoint of `transaction`: a failing packet is undone alone (the inner
/// `Err`). The outer `Err` says the savepoint itself could not be opened, released or undone:
/// the transaction then holds what it should not, and must not be committed.
///
/// The savepoint statements are prepared once and kept (rusqlite's `Savepoint` prepares them
/// anew each time; callgrind counts that as about 1,000 instructions a packet, so this is for
/// the error handling above more than for speed).
fn in_savepoint(
    transaction: &rusqlite::Transaction<'_>,
    packet: &PacketRequest,
) -> Result<Result<PacketOutcome, StoreError>, StoreError> {
    let run = |statement: &str| transaction.prepare_cached(statement)?.execute([]);
    run("SAVEPOINT packet")?;
    match run_packet(transaction, packet) {
        Ok(outcome) => {
            run("RELEASE packet")?;
            Ok(Ok(outcome))
        }
        Err(error) => {
            run("ROLLBACK TO packet")?;
            run("RELEASE packet")?;
            Ok(Err(error))
        }
    }
}

impl Store {
    /// A whole session at once, on the calling (blocking) thread: every packet in a savepoint
    /// of one transaction, committed once. `Err` when the transaction could not begin or
    /// commit (nothing was written); otherwise each packet's own outcome.
    pub fn execute_packets(
        &self,
        packets: &[PacketRequest],
    ) -> Result<Vec<Result<PacketOutcome, StoreError>>, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        let mut outcomes = Vec::with_capacity(packets.len());
        for packet in packets {
            // A savepoint that failed: the transaction is dropped, so rolled back whole.
            outcomes.push(in_savepoint(&transaction, packet)?);
        }
        self.commit(transaction)?;
        Ok(outcomes)
    }

    /// The session's thread: holds the writer, runs each packet in a savepoint of one
    /// transaction, and commits when asked; rolls back when the session goes away first.
    fn serve_session(&self, jobs: mpsc::Receiver<Job>) {
        let mut connection = self.lock();
        let transaction = match connection.transaction() {
            Ok(transaction) => transaction,
            Err(error) => {
                let error = StoreError::from(error);
                for job in jobs {
                    match job {
                        Job::Packet(_, answer) => drop(answer.send(Err(error.clone()))),
                        Job::Commit(answer) => drop(answer.send(Err(error.clone()))),
                    }
                }
                return;
            }
        };
        // Dropping the transaction unanswered (the channel closed) rolls it back; so does a
        // savepoint that failed, and every later packet and the commit get its error.
        let mut broken: Option<StoreError> = None;
        for job in jobs {
            match job {
                Job::Packet(packet, answer) => {
                    let outcome = match &broken {
                        Some(error) => Err(error.clone()),
                        None => in_savepoint(&transaction, &packet).unwrap_or_else(|error| {
                            broken = Some(error.clone());
                            Err(error)
                        }),
                    };
                    let _ = answer.send(outcome);
                }
                Job::Commit(answer) => {
                    let committed = match broken {
                        Some(error) => Err(error),
                        None => self.commit(transaction),
                    };
                    let _ = answer.send(committed);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded_dataspace::model::TELEGRAM_OFFSET;
    use crate::embedded_dataspace::readers::ReadLimits;
    use crate::embedded_dataspace::store::{FieldValue, Operation, SearchRequest};

    /// A packet creating the offset of bot `bot`; the same `bot` twice breaks the unique key.
    fn offset_of(bot: &str) -> PacketRequest {
        let input = vec![
            ("botId", FieldValue::Text(bot.into())),
            ("offset", FieldValue::Integer(1)),
            (
                "updatedAt",
                FieldValue::Text("2026-01-01T00:00:00.000".into()),
            ),
        ];
        PacketRequest {
            operations: vec![(
                "createTelegramOffset".into(),
                Operation::Create {
                    class: &TELEGRAM_OFFSET,
                    input,
                },
            )],
            aggregate_version: None,
            idempotence_id: None,
        }
    }

    /// The offsets committed, as a reader sees them.
    fn committed(store: &Store) -> Option<i64> {
        let request = SearchRequest {
            want_count: true,
            ..SearchRequest::default()
        };
        let (cancel, _guard) = store.read_cancel();
        store
            .search(&TELEGRAM_OFFSET, &request, &cancel)
            .unwrap()
            .count
    }

    fn open(dir: &tempfile::TempDir) -> Arc<Store> {
        let path = dir.path().join("db.sqlite");
        Arc::new(Store::open(&path, &ReadLimits::default()).unwrap())
    }

    #[tokio::test]
    async fn a_sessions_packets_commit_together_and_a_failing_one_alone_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let session = WriteSession::default();
        session.packet(&store, offset_of("1")).await.unwrap();
        let twice = session.packet(&store, offset_of("1")).await.unwrap_err();
        assert_eq!(
            twice.classification,
            super::super::Classification::UniqueViolation
        );
        session.packet(&store, offset_of("2")).await.unwrap();
        assert_eq!(
            committed(&store),
            Some(0),
            "nothing is visible before the commit"
        );
        session.commit().await.unwrap();
        assert_eq!(committed(&store), Some(2), "both good packets, one commit");
    }

    #[tokio::test]
    async fn a_session_dropped_before_its_commit_writes_nothing_and_frees_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let session = WriteSession::default();
        session.packet(&store, offset_of("1")).await.unwrap();
        drop(session);
        let writer = store.clone();
        let after = tokio::task::spawn_blocking(move || writer.execute_packet(&offset_of("2")));
        after.await.unwrap().unwrap();
        assert_eq!(
            committed(&store),
            Some(1),
            "only the packet after the session"
        );
    }
}
