//! SQLite storage of the local DataSpace: one table per class, packets as transactions,
//! idempotent replay, aggregate versions, and the classified errors DataSpace reports.
//! Packets are written in `packet`, searches and object reads in `reads`.

mod packet;
mod reads;
#[cfg(test)]
mod search_plans;
mod session;
mod text_index;

use super::cond::SqlFragment;
use super::model::{ClassMeta, IndexedColumns};
use super::readers::{self, Cancel, CancelOnDrop, ReadLimits, ReadPool};
use packet::{PacketState, run_operation};
use reads::search_on;
use rusqlite::{Connection, ErrorCode, OptionalExtension};
use serde_json::{Map, Value};
pub use session::WriteSession;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// DataSpace's error classes (`extensions.classification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    ObjectNotFound,
    AggregateVersion,
    UniqueViolation,
    Validation,
    Internal,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ObjectNotFound => "OBJECT_NOT_FOUND",
            Self::AggregateVersion => "AGGREGATE_VERSION_EXCEPTION",
            Self::UniqueViolation => "UNIQUE_VIOLATION",
            Self::Validation => "VALIDATION",
            Self::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub classification: Classification,
    pub message: String,
}

impl StoreError {
    pub fn new(classification: Classification, message: impl Into<String>) -> Self {
        Self {
            classification,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> Self {
        Self::new(Classification::Validation, message)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(failure, _) = &error
            && failure.code == ErrorCode::OperationInterrupted
        {
            // A read stopped by its cancel (see `readers`), not a storage failure.
            return Self::new(Classification::Internal, "the read was interrupted");
        }
        if let rusqlite::Error::SqliteFailure(failure, Some(message)) = &error
            && failure.code == ErrorCode::ConstraintViolation
            && let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ")
        {
            return Self::new(
                Classification::UniqueViolation,
                format!(
                    "unique constraint violated: an object with the same {columns} already exists"
                ),
            );
        }
        tracing::error!(%error, "local DataSpace storage error");
        Self::new(Classification::Internal, "internal storage error")
    }
}

/// A field's value in a packet's input, as its GraphQL type gave it: `String`, `ID` and
/// `_DateTime` as text, `Int` and `Long` as integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

/// An object's fields by name, as a create or an update gives them: a field left out is null
/// (create) or unchanged (update).
pub type Fields = Vec<(&'static str, FieldValue)>;

/// One operation of a packet.
#[derive(Debug, Clone)]
pub enum Operation {
    Create {
        class: &'static ClassMeta,
        input: Fields,
    },
    CreateMany {
        class: &'static ClassMeta,
        inputs: Vec<Fields>,
    },
    Update {
        class: &'static ClassMeta,
        id: String,
        changes: Fields,
    },
    Delete {
        class: &'static ClassMeta,
        id: String,
    },
    Get {
        class: &'static ClassMeta,
        id: String,
        fail_on_empty: bool,
    },
}

#[derive(Debug, Clone)]
pub struct PacketRequest {
    /// Operations in field order, each with its response key (alias or field name).
    pub operations: Vec<(String, Operation)>,
    pub aggregate_version: Option<i64>,
    pub idempotence_id: Option<String>,
}

/// What a packet produced, by response key; stored for idempotent replay.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PacketOutcome {
    pub results: HashMap<String, Value>,
    pub agg_version: Option<i64>,
    #[serde(skip)]
    pub is_idempotence_response: bool,
}

/// A search: condition already translated to SQL, sort columns, paging.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub filter: Option<SqlFragment>,
    /// (column sql, descending, nulls last)
    pub sort: Vec<(String, bool, Option<bool>)>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub want_elems: bool,
    pub want_count: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    pub elems: Vec<Map<String, Value>>,
    pub count: Option<i64>,
}

/// The SQLite database behind the local DataSpace. One writing connection behind a mutex
/// (SQLite serializes writers anyway) and a pool of readers (none for an in-memory database,
/// which is private to its connection: reads then take the writer); callers reach it through
/// `spawn_blocking`.
pub struct Store {
    connection: Mutex<Connection>,
    readers: Option<ReadPool>,
    /// One permit per connection a search can read on (see [`Store::read_turn`]).
    read_turns: Arc<tokio::sync::Semaphore>,
    /// One permit: the writer's (see [`Store::write_turn`]).
    write_turn: Arc<tokio::sync::Semaphore>,
    read_timeout: std::time::Duration,
    contains_index: ContainsIndex,
}

/// `[dataspace] durability`: the writer's `PRAGMA synchronous` in WAL mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// `NORMAL`: survives a process crash; a power loss may lose the last commits.
    #[default]
    Normal,
    /// `FULL`: every commit is synced to disk before it is acknowledged; survives power loss.
    Full,
}

/// `[dataspace] contains_index`: how `contains` searches of log messages are served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContainsIndex {
    /// `none`: a LIKE over the bot's records (no cost on ingest).
    #[default]
    None,
    /// `trigram`: an FTS5 trigram index finds the candidates (ingest at 10M: 836 req/s with it,
    /// 2,366 without; `README.md`, HTTP load bench).
    Trigram,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        }
    }
}

impl Store {
    pub fn open(path: &Path, reads: &ReadLimits) -> Result<Self, StoreError> {
        Self::open_with(path, reads, Durability::default(), ContainsIndex::default())
    }

    pub fn open_with(
        path: &Path,
        reads: &ReadLimits,
        durability: Durability,
        contains_index: ContainsIndex,
    ) -> Result<Self, StoreError> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::new(
                    Classification::Internal,
                    format!("cannot create {}: {error}", parent.display()),
                )
            })?;
        }
        let mut connection = Connection::open(path)?;
        connection.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA case_sensitive_like = ON; PRAGMA busy_timeout = 5000;",
        )?;
        connection.pragma_update(None, "synchronous", durability.pragma())?;
        readers::limit_cache(&connection, reads.cache_kib)?;
        super::migrations::migrate(&mut connection)?;
        super::migrations::set_trigram_index(
            &mut connection,
            contains_index == ContainsIndex::Trigram,
        )?;
        if contains_index == ContainsIndex::Trigram {
            connection.execute_batch(text_index::NOTE_NEW_RECORDS)?;
        }
        let in_memory = path.as_os_str().is_empty() || path == Path::new(":memory:");
        let readers = match in_memory {
            true => None,
            false => Some(ReadPool::open(path, reads)?),
        };
        let read_turns = readers.as_ref().map_or(1, ReadPool::size);
        Ok(Self {
            connection: Mutex::new(connection),
            readers,
            read_turns: Arc::new(tokio::sync::Semaphore::new(read_turns)),
            write_turn: Arc::new(tokio::sync::Semaphore::new(1)),
            read_timeout: reads.timeout,
            contains_index,
        })
    }

    /// What a search's condition on `class` may use: its columns, and the trigram index when
    /// this store keeps one.
    pub fn columns<'a>(&self, class: &'a ClassMeta) -> IndexedColumns<'a> {
        IndexedColumns {
            class,
            trigram: self.contains_index == ContainsIndex::Trigram,
        }
    }

    /// The cancel of a read for a caller holding the guard, with this store's deadline.
    pub fn read_cancel(&self) -> (Cancel, CancelOnDrop) {
        Cancel::new(self.read_timeout)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-applied (rusqlite
        // rolls back on drop), so the connection stays usable.
        crate::sync::lock(&self.connection)
    }

    /// Waits, without holding a thread, until a search may run: at most one per reader runs
    /// at once, so the others wait here (and stop waiting when their caller goes) rather than
    /// each in a blocking thread of its own: the HTTP load bench's gateway held up to 43
    /// threads so, 15 since (its peak RSS did not change: `README.md`, peak RSS). Held across
    /// the search's `spawn_blocking`. `None` past the read timeout.
    pub async fn read_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let turn = self.read_turns.clone().acquire_owned();
        tokio::time::timeout(self.read_timeout, turn)
            .await
            .ok()?
            .ok()
    }

    /// Waits, without holding a thread, for the writer: a packet or a write session takes it
    /// before its `spawn_blocking` and holds it until it ends, so the ones waiting for the
    /// writer's mutex do not each hold a blocking thread (see [`Store::read_turn`]). Waiting
    /// ends when the caller gives up.
    pub async fn write_turn(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.write_turn
            .clone()
            .acquire_owned()
            .await
            .expect("the store never closes its semaphore")
    }

    /// Runs a search on a reader, stopped by `cancel`.
    pub fn search(
        &self,
        class: &ClassMeta,
        request: &SearchRequest,
        cancel: &Cancel,
    ) -> Result<SearchResult, StoreError> {
        let search = |connection: &Connection| search_on(connection, class, request);
        match &self.readers {
            Some(pool) => pool.read(cancel, search),
            None => readers::guarded(&mut self.lock(), cancel, search),
        }
    }

    /// Runs a packet as one transaction, or replays the stored outcome of an earlier packet
    /// with the same idempotence id without writing anything.
    pub fn execute_packet(&self, packet: &PacketRequest) -> Result<PacketOutcome, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        let outcome = run_packet(&transaction, packet)?;
        self.commit(transaction)?;
        Ok(outcome)
    }

    /// Commits the writer's transaction, with its new records in the trigram index first when
    /// the store keeps one (see `text_index`).
    fn commit(&self, transaction: rusqlite::Transaction<'_>) -> Result<(), StoreError> {
        if self.contains_index == ContainsIndex::Trigram {
            text_index::index_new_records(&transaction)?;
        }
        transaction.commit()?;
        Ok(())
    }
}

/// A packet's operations on `connection`, inside a transaction or savepoint the caller opened
/// and ends; or the stored outcome of an earlier packet with the same idempotence id, with
/// nothing written.
fn run_packet(
    connection: &Connection,
    packet: &PacketRequest,
) -> Result<PacketOutcome, StoreError> {
    if let Some(id) = &packet.idempotence_id {
        let stored: Option<String> = connection
            .prepare_cached("SELECT \"outcome\" FROM \"_Packet\" WHERE \"idempotenceId\" = ?")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        if let Some(stored) = stored {
            let mut outcome: PacketOutcome = serde_json::from_str(&stored).map_err(|_| {
                StoreError::new(
                    Classification::Internal,
                    "stored packet outcome is unreadable",
                )
            })?;
            outcome.is_idempotence_response = true;
            return Ok(outcome);
        }
    }
    let mut outcome = PacketOutcome::default();
    let mut state = PacketState::default();
    for (key, operation) in &packet.operations {
        let result = run_operation(
            connection,
            operation,
            packet.aggregate_version,
            &mut state,
            &mut outcome,
        )?;
        if let (Operation::Create { .. }, Some(id)) =
            (operation, result.get("id").and_then(Value::as_str))
        {
            state.created.insert(key.clone(), id.to_owned());
        }
        outcome.results.insert(key.clone(), result);
    }
    if let Some(id) = &packet.idempotence_id {
        let text = serde_json::to_string(&outcome).map_err(|_| {
            StoreError::new(Classification::Internal, "cannot store packet outcome")
        })?;
        connection
            .prepare_cached(
                "INSERT INTO \"_Packet\" (\"idempotenceId\", \"outcome\") VALUES (?, ?)",
            )?
            .execute([id, &text])?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded_dataspace::model::BOT;
    use std::sync::{Arc, mpsc};
    use std::time::{Duration, Instant};

    fn count_bots() -> SearchRequest {
        SearchRequest {
            want_count: true,
            ..SearchRequest::default()
        }
    }

    #[test]
    fn a_read_does_not_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("db.sqlite"), &ReadLimits::default()).unwrap());
        let writer = store.lock();
        let (done, finished) = mpsc::channel();
        let reader = store.clone();
        std::thread::spawn(move || {
            let (cancel, _guard) = reader.read_cancel();
            let _ = done.send(reader.search(&BOT, &count_bots(), &cancel));
        });
        let result = finished.recv_timeout(Duration::from_secs(5));
        drop(writer);
        assert_eq!(
            result
                .expect("the read waited for the writer")
                .unwrap()
                .count,
            Some(0)
        );
    }

    #[test]
    fn the_writer_syncs_as_the_durability_setting_says() {
        let dir = tempfile::tempdir().unwrap();
        let synchronous = |durability| -> i64 {
            let store = Store::open_with(
                &dir.path().join("db.sqlite"),
                &ReadLimits::default(),
                durability,
                ContainsIndex::None,
            )
            .unwrap();
            store
                .lock()
                .query_row("PRAGMA synchronous", [], |row| row.get(0))
                .unwrap()
        };
        // SQLite's numbers: 1 = NORMAL, 2 = FULL.
        assert_eq!(synchronous(Durability::Normal), 1);
        assert_eq!(synchronous(Durability::Full), 2);
        assert_eq!(synchronous(Durability::default()), 1);
    }

    #[test]
    fn every_connection_caches_at_most_the_configured_kib() {
        let dir = tempfile::tempdir().unwrap();
        let limits = ReadLimits {
            cache_kib: 100,
            ..ReadLimits::default()
        };
        let store = Store::open(&dir.path().join("db.sqlite"), &limits).unwrap();
        let cache_size = |connection: &Connection| -> i64 {
            connection
                .query_row("PRAGMA cache_size", [], |row| row.get(0))
                .unwrap()
        };
        assert_eq!(cache_size(&store.lock()), -100, "the writer");
        let (cancel, _guard) = store.read_cancel();
        let readers = store.readers.as_ref().unwrap();
        let read = readers.read(&cancel, |connection| Ok(cache_size(connection)));
        assert_eq!(read.unwrap(), -100, "a reader");
    }

    #[tokio::test]
    async fn searches_take_turns_one_per_reader_and_writes_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let limits = ReadLimits {
            readers: 2,
            timeout: Duration::from_millis(100),
            ..ReadLimits::default()
        };
        let store = Store::open(&dir.path().join("db.sqlite"), &limits).unwrap();
        let first = store.read_turn().await.expect("a free reader");
        let second = store.read_turn().await.expect("another free reader");
        let waited = Instant::now();
        assert!(
            store.read_turn().await.is_none(),
            "a third with two readers"
        );
        assert!(waited.elapsed() >= Duration::from_millis(100));
        drop(first);
        assert!(store.read_turn().await.is_some(), "a turn given back");
        drop(second);

        let writing = store.write_turn().await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), store.write_turn());
        assert!(waiting.await.is_err(), "one writer at a time");
        drop(writing);
        drop(store.write_turn().await);
    }

    #[test]
    fn a_read_past_its_deadline_or_without_its_caller_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), &ReadLimits::default()).unwrap();
        let (cancel, guard) = store.read_cancel();
        drop(guard);
        let refused = store.search(&BOT, &count_bots(), &cancel).unwrap_err();
        assert!(refused.message.contains("stopped"), "{refused:?}");
        // A read that would never end, stopped by the progress handler at its deadline.
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let mut connection = store.lock();
            let (cancel, _guard) =
                Cancel::with_deadline(Instant::now() + Duration::from_millis(200));
            let endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
                           SELECT count(*) FROM n";
            let result = readers::guarded(&mut connection, &cancel, |connection| {
                Ok(connection.query_row(endless, [], |row| row.get::<_, i64>(0))?)
            });
            let _ = done.send(result);
        });
        let result = finished
            .recv_timeout(Duration::from_secs(5))
            .expect("the read ran on past its deadline");
        assert!(result.unwrap_err().message.contains("stopped"));
    }
}
