//! Reads of the local DataSpace: a small pool of read-only connections beside the one writer
//! (WAL lets readers run while a packet writes, so a slow `contains` scan holds no one else
//! up), and cancellation: every read runs under SQLite's progress handler, which stops it once
//! its caller is gone (the request future dropped) or it has run past its deadline
//! ([`ReadLimits::timeout`]).

use super::store::{Classification, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How reads run and how much they may cache (`[limits] dataspace_readers`,
/// `dataspace_read_timeout_ms`, `dataspace_cache_kib`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Read connections per database.
    pub readers: usize,
    /// Longest a read may run (longer than any caller waits: the gateway's default DataSpace
    /// timeout is 5 s).
    pub timeout: Duration,
    /// Page cache of each connection, the writer's and every reader's, in KiB. SQLite fills it
    /// as the file grows and keeps it, so this bounds SQLite's heap at (readers + 1) x this.
    pub cache_kib: u32,
}

/// Caps `connection`'s page cache at `kib` (a negative `cache_size` counts KiB, not pages).
pub(super) fn limit_cache(connection: &Connection, kib: u32) -> Result<(), StoreError> {
    connection.pragma_update(None, "cache_size", -i64::from(kib))?;
    Ok(())
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            readers: 4,
            timeout: Duration::from_secs(10),
            // SQLite's own default (`cache_size = -2000`).
            cache_kib: 2000,
        }
    }
}
/// SQLite virtual-machine steps between two looks at the cancel flag.
const PROGRESS_STEPS: i32 = 10_000;

/// Stops a read: set when its caller drops the [`CancelOnDrop`], or past its deadline.
#[derive(Clone)]
pub struct Cancel {
    gone: Arc<AtomicBool>,
    deadline: Instant,
}

impl Cancel {
    /// A read for a caller holding the returned guard, stopped after `timeout` at the latest.
    pub fn new(timeout: Duration) -> (Self, CancelOnDrop) {
        Self::with_deadline(Instant::now() + timeout)
    }

    pub fn with_deadline(deadline: Instant) -> (Self, CancelOnDrop) {
        let gone = Arc::new(AtomicBool::new(false));
        (
            Self {
                gone: gone.clone(),
                deadline,
            },
            CancelOnDrop(gone),
        )
    }

    fn stopped(&self) -> bool {
        self.gone.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    fn error(&self) -> StoreError {
        StoreError::new(
            Classification::Internal,
            "the read was stopped: its caller is gone or it ran past its deadline",
        )
    }
}

/// Held by the caller (across the `spawn_blocking`); dropping it stops the read.
pub struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `read` on `connection` under the progress handler of `cancel`; an interrupted read
/// answers the cancel error.
pub fn guarded<T>(
    connection: &mut Connection,
    cancel: &Cancel,
    read: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if cancel.stopped() {
        return Err(cancel.error());
    }
    let watched = cancel.clone();
    connection.progress_handler(PROGRESS_STEPS, Some(move || watched.stopped()))?;
    let result = read(connection);
    connection.progress_handler(0, None::<fn() -> bool>)?;
    result.map_err(|error| {
        if cancel.stopped() {
            cancel.error()
        } else {
            error
        }
    })
}

/// The read-only connections, checked out one per read.
pub struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
    size: usize,
}

impl ReadPool {
    /// `size` read-only connections to the database at `path` (which must exist).
    pub fn open(path: &Path, limits: &ReadLimits) -> Result<Self, StoreError> {
        let connections = (0..limits.readers.max(1))
            .map(|_| {
                let connection = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                // Per connection: `$like` is case-sensitive as on the writer.
                connection.execute_batch(
                    "PRAGMA case_sensitive_like = ON; PRAGMA busy_timeout = 5000;",
                )?;
                limit_cache(&connection, limits.cache_kib)?;
                Ok(connection)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self {
            size: connections.len(),
            idle: Mutex::new(connections),
            returned: Condvar::new(),
        })
    }

    /// How many connections the pool reads on.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `read` on an idle connection, waiting for one until `cancel` stops.
    pub fn read<T>(
        &self,
        cancel: &Cancel,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.checkout(cancel)?;
        let result = guarded(&mut connection, cancel, read);
        crate::sync::lock(&self.idle).push(connection);
        self.returned.notify_one();
        result
    }

    fn checkout(&self, cancel: &Cancel) -> Result<Connection, StoreError> {
        let mut idle = crate::sync::lock(&self.idle);
        loop {
            if let Some(connection) = idle.pop() {
                return Ok(connection);
            }
            if cancel.stopped() {
                return Err(cancel.error());
            }
            // Wakes at least every 100 ms to notice a caller that has gone.
            idle = self
                .returned
                .wait_timeout(idle, Duration::from_millis(100))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}
