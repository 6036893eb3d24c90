//! Reads every ingest makes and that change rarely, kept for a few seconds so that an ingest
//! costs one DataSpace round trip (the write): a bot's active subscriptions and `/send_logs`
//! users by username. Every write through this client that could change them clears the
//! cache at once and says so on [`DataSpaceClient::cache_changes`], which the service relays to
//! the other replicas over the bus (see `service::cache_sync`); the expiry bounds how stale
//! a replica can be when that message is lost (Redis down).

use super::operations::{ChatSubscription, LogUser};
use super::{DataSpaceClient, DataSpaceError};
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How long a read is reused: short enough that a change made behind the gateway's back
/// (or whose bus message was lost) is seen soon.
pub(super) const TTL: Duration = Duration::from_secs(5);
/// Bound on entries per cache, so a caller cycling through keys cannot grow memory.
pub(super) const CAPACITY: usize = 4096;

/// What a write changed: the cache to clear, by the name it travels under on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    Subscriptions,
    LogUsers,
}

impl Cached {
    pub const ALL: [Cached; 2] = [Cached::Subscriptions, Cached::LogUsers];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscriptions => "subscriptions",
            Self::LogUsers => "log_users",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|cached| cached.as_str() == name)
    }
}

/// Entries that expire after [`TTL`], found values only (a miss is asked again, so something
/// new is seen at once). The generation makes a clear win over a read in flight: a value read
/// before a clear is not stored after it.
#[derive(Debug)]
pub(super) struct Expiring<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
    generation: AtomicU64,
}

impl<V> Default for Expiring<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }
}

impl<V: Clone> Expiring<V> {
    pub(super) fn get(&self, key: &str) -> Option<V> {
        lock(&self.entries)
            .get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, value)| value.clone())
    }

    /// The generation to hand back to [`put`](Self::put) with the value read after it.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores a value read since `generation`, unless the cache was cleared meanwhile.
    pub(super) fn put(&self, key: &str, value: V, generation: u64) {
        let mut entries = lock(&self.entries);
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), (Instant::now(), value));
    }

    pub(super) fn clear(&self) {
        let mut entries = lock(&self.entries);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// The caches one client and all its clones share.
#[derive(Debug)]
pub(super) struct ReadCache {
    subscriptions: Expiring<Arc<[ChatSubscription]>>,
    log_users: Expiring<LogUser>,
    changes: broadcast::Sender<Cached>,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self {
            subscriptions: Expiring::default(),
            log_users: Expiring::default(),
            // Changes are rare; a relay that falls behind clears everything (see cache_sync).
            changes: broadcast::channel(64).0,
        }
    }
}

impl DataSpaceClient {
    /// A bot's active subscriptions, from the cache while fresh.
    pub async fn cached_active_subscriptions(
        &self,
        bot_id: &str,
    ) -> Result<Arc<[ChatSubscription]>, DataSpaceError> {
        let cache = &self.read_cache.subscriptions;
        if let Some(found) = cache.get(bot_id) {
            return Ok(found);
        }
        let generation = cache.generation();
        let found: Arc<[ChatSubscription]> = self.find_active_subscriptions(bot_id).await?.into();
        cache.put(bot_id, found.clone(), generation);
        Ok(found)
    }

    /// The `/send_logs` user of this name, from the cache while fresh.
    pub async fn cached_log_user_by_username(
        &self,
        username: &str,
    ) -> Result<Option<LogUser>, DataSpaceError> {
        let cache = &self.read_cache.log_users;
        if let Some(found) = cache.get(username) {
            return Ok(Some(found));
        }
        let generation = cache.generation();
        let found = self.find_log_user_by_username(username).await?;
        if let Some(user) = &found {
            cache.put(username, user.clone(), generation);
        }
        Ok(found)
    }

    /// Clears a cache after a write through this client, whatever its outcome (a failed write
    /// may still have been applied), and tells [`cache_changes`](Self::cache_changes).
    pub(super) fn changed(&self, cached: Cached) {
        self.forget(cached);
        // No receiver (no relay running) is fine: this process is already up to date.
        let _ = self.read_cache.changes.send(cached);
    }

    /// Clears a cache because another replica changed what it holds.
    pub fn forget(&self, cached: Cached) {
        match cached {
            Cached::Subscriptions => self.read_cache.subscriptions.clear(),
            Cached::LogUsers => self.read_cache.log_users.clear(),
        }
    }

    /// The caches this client's writes cleared, as they clear them.
    pub fn cache_changes(&self) -> broadcast::Receiver<Cached> {
        self.read_cache.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_until_cleared() {
        let cache = Expiring::<u32>::default();
        assert_eq!(cache.get("a"), None);
        cache.put("a", 1, cache.generation());
        assert_eq!(cache.get("a"), Some(1));
        cache.clear();
        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn a_read_from_before_a_clear_is_not_stored() {
        let cache = Expiring::<u32>::default();
        let before = cache.generation();
        cache.clear();
        cache.put("a", 1, before);
        assert_eq!(cache.get("a"), None);
        cache.put("a", 2, cache.generation());
        assert_eq!(cache.get("a"), Some(2));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = Expiring::<usize>::default();
        for n in 0..CAPACITY + 10 {
            cache.put(&n.to_string(), n, cache.generation());
        }
        assert!(lock(&cache.entries).len() <= CAPACITY);
        assert_eq!(cache.get(&(CAPACITY + 9).to_string()), Some(CAPACITY + 9));
    }

    #[test]
    fn cache_names_round_trip() {
        for cached in Cached::ALL {
            assert_eq!(Cached::parse(cached.as_str()), Some(cached));
        }
        assert_eq!(Cached::parse("bots"), None);
    }
}
