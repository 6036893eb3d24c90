//! Live fan-out of messages (committed records, normalized chat events) to whoever listens in
//! this process. In-process by default; with Redis configured, messages published on any
//! replica reach the listeners of every replica.
//!
//! Listeners get a bounded `broadcast` receiver: a listener that falls behind loses the oldest
//! messages and is told so (`RecvError::Lagged`), so a slow consumer cannot grow memory.

mod claims;
mod local;
mod redis_bus;

use crate::config::BusSettings;
pub use claims::Claim;
use claims::LocalClaims;
pub use local::BotRecords;
use local::LocalChannels;
pub use redis_bus::Reconnect;
use redis_bus::RedisBus;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The channel committed log records are published on (JSON of `service::StoredRecord`).
pub const RECORDS_CHANNEL: &str = "records";

/// The channel a newly registered bot's name is published on, so that every replica's chat
/// doors (Telegram polling) look at the bots again at once.
pub const BOTS_CHANNEL: &str = "events.bot_registered";

/// The channel a read cache's name is published on when a write changed what it holds, so
/// that every replica clears it (see `service::cache_sync`).
pub const CACHE_CHANNEL: &str = "cache.changed";

/// Messages each listener may fall behind before it starts losing them.
pub const LISTENER_BUFFER: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    #[error("{0} is held by someone else; try again")]
    Busy(String),
}

/// The Redis channel prefix when `[bus] channel_prefix` is not set: none, so channels are
/// named as PROTOCOLS.md says (`records`, `events.<type>`) for other services to read.
pub const DEFAULT_CHANNEL_PREFIX: &str = "";

/// A message bus handle; cheap to clone.
#[derive(Clone, Default)]
pub struct Bus {
    local: Arc<LocalChannels>,
    local_claims: Arc<LocalClaims>,
    redis: Option<Arc<RedisBus>>,
}

/// A claim held as a lock: released when dropped, even when the holder's future is cancelled.
pub struct Lock {
    bus: Bus,
    claim: Option<Claim>,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let Some(claim) = self.claim.take() else {
            return;
        };
        if self.bus.redis.is_none() {
            self.bus.local_claims.release(&claim);
            return;
        }
        let bus = self.bus.clone();
        // With no runtime left (shutting down) the claim lapses on its own.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { bus.release(claim).await });
        }
    }
}

impl Bus {
    /// A bus that reaches listeners in this process only.
    pub fn in_process() -> Self {
        Self::default()
    }

    /// The bus `[bus]` configures: Redis when `redis_url` is set, else in-process.
    pub async fn from_settings(settings: &BusSettings) -> Result<Self, BusError> {
        match &settings.redis_url {
            Some(url) => {
                let prefix = settings
                    .channel_prefix
                    .as_deref()
                    .unwrap_or(DEFAULT_CHANNEL_PREFIX);
                Self::redis_with(url, prefix, Reconnect::from_settings(settings)).await
            }
            None => Ok(Self::in_process()),
        }
    }

    /// A bus over Redis pub/sub, channels named `prefix + channel`, reconnecting as
    /// [`Reconnect::default`] says.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, BusError> {
        Self::redis_with(url, prefix, Reconnect::default()).await
    }

    /// A bus over Redis pub/sub. Waits until the subscription is in place, so nothing
    /// published after this returns is missed.
    pub async fn redis_with(
        url: &str,
        prefix: &str,
        reconnect: Reconnect,
    ) -> Result<Self, BusError> {
        let local = Arc::new(LocalChannels::default());
        let redis = RedisBus::connect(url, prefix, reconnect, &local).await?;
        Ok(Self {
            local,
            local_claims: Arc::default(),
            redis: Some(Arc::new(redis)),
        })
    }

    /// Whether the bus works right now (for `/readyz`): the in-process bus always does; the
    /// Redis one while its subscription is in place and Redis answers a PING.
    pub async fn health(&self) -> Result<(), BusError> {
        match &self.redis {
            None => Ok(()),
            Some(redis) => redis.health().await,
        }
    }

    /// Publishes a message on a channel. With no listener it is dropped, by design: the bus is
    /// for live fan-out, not storage. When Redis cannot take it, this replica's listeners
    /// still get it and the error says the others did not.
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), BusError> {
        let Some(redis) = &self.redis else {
            self.local.deliver(channel, Arc::from(message));
            return Ok(());
        };
        if let Err(lost) = redis.subscription_in_place() {
            self.local.deliver(channel, Arc::from(message));
            return Err(lost);
        }
        match redis.publish(channel, message).await {
            Ok(()) => Ok(()),
            Err(error) => {
                self.local.deliver(channel, Arc::from(message));
                Err(BusError::Unavailable(format!(
                    "Redis publish failed, delivered on this replica only: {error}"
                )))
            }
        }
    }

    /// Publishes messages on one channel, in order, as [`Bus::publish`] does each of them but
    /// in one Redis round trip (a pipeline) instead of one per message.
    pub async fn publish_many(&self, channel: &str, messages: &[String]) -> Result<(), BusError> {
        if messages.is_empty() {
            return Ok(());
        }
        let Some(redis) = &self.redis else {
            self.local.deliver_all(channel, shared(messages));
            return Ok(());
        };
        if let Err(lost) = redis.subscription_in_place() {
            self.local.deliver_all(channel, shared(messages));
            return Err(lost);
        }
        match redis.publish_many(channel, messages).await {
            Ok(()) => Ok(()),
            Err(error) => {
                self.local.deliver_all(channel, shared(messages));
                Err(BusError::Unavailable(format!(
                    "Redis publish failed, delivered on this replica only: {error}"
                )))
            }
        }
    }

    /// Listens on a channel from now on.
    pub fn subscribe(&self, channel: &str) -> broadcast::Receiver<Arc<str>> {
        self.local.sender(channel).subscribe()
    }

    /// Listens to the records of one bot on [`RECORDS_CHANNEL`] from now on, a batch at a time
    /// ([`BotRecords`]). The bus reads each record's bot once and wakes only that bot's
    /// listeners, each of which may fall [`LISTENER_BUFFER`] batches behind. (With one channel
    /// for all, each listener woke and decoded every record: 10,000 subscribers of 100 bots
    /// cost a million wake-ups and decodes for 100 records.)
    pub fn subscribe_records(&self, bot: &str) -> broadcast::Receiver<BotRecords> {
        self.local.bot_records(bot)
    }

    /// Claims `key` for `ttl`: the claim if nobody holds one, `None` while an earlier claim
    /// lasts (for doing something once, such as handling a redelivered event). With Redis the
    /// claim holds across replicas (`SET NX PX`); without Redis, or when it fails, within this
    /// process.
    pub async fn claim(&self, key: &str, ttl: Duration) -> Option<Claim> {
        if let Some(redis) = &self.redis {
            let claim = Claim::new(key);
            match redis.claim(&claim, ttl).await {
                Ok(true) => return Some(claim),
                Ok(false) => return None,
                Err(error) => {
                    tracing::warn!(%error, "Redis claim failed, claiming on this replica only")
                }
            }
        }
        self.local_claims.claim(key, ttl)
    }

    /// Waits up to `wait` for the claim on `key` (a lock across replicas with Redis, within
    /// the process without), released when the returned guard is dropped. The claim lapses
    /// after `ttl` even if never released, so a holder that dies does not block the key for good.
    pub async fn lock(&self, key: &str, ttl: Duration, wait: Duration) -> Result<Lock, BusError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(claim) = self.claim(key, ttl).await {
                return Ok(Lock {
                    bus: self.clone(),
                    claim: Some(claim),
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(BusError::Busy(key.to_owned()));
            }
            // Jittered, so that waiters do not retry in step.
            let pause = Duration::from_millis(10 + rand::random::<u64>() % 30);
            tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + pause)).await;
        }
    }

    /// Extends a held claim to `ttl` from now; false when it lapsed and someone else took it
    /// (a lease holder then stops). A Redis failure keeps the claim: while Redis is down nobody
    /// can take it over, and once it answers again the claim is renewed or found lost.
    pub async fn renew(&self, claim: &Claim, ttl: Duration) -> bool {
        if let Some(redis) = &self.redis {
            match redis.renew(claim, ttl).await {
                Ok(held) => return held,
                Err(error) => {
                    tracing::warn!(%error, "Redis could not renew a claim; keeping it for now")
                }
            }
            // A claim taken locally while Redis failed is renewed locally.
            if !self.local_claims.holds(claim) {
                return true;
            }
        }
        self.local_claims.renew(claim, ttl)
    }

    /// Gives a claim up, so that the next [`Bus::claim`] of its key succeeds. A claim that has
    /// lapsed and been taken by someone else is left to them.
    pub async fn release(&self, claim: Claim) {
        if let Some(redis) = &self.redis
            && let Err(error) = redis.release(&claim).await
        {
            tracing::warn!(%error, "Redis could not release a claim; it lapses on its own");
        }
        self.local_claims.release(&claim);
    }

    /// Whether messages go through Redis.
    pub fn is_redis(&self) -> bool {
        self.redis.is_some()
    }
}

/// Messages as the local channels hold them.
fn shared(messages: &[String]) -> impl Iterator<Item = Arc<str>> + '_ {
    messages.iter().map(|message| Arc::from(message.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn listeners_get_what_is_published_after_they_subscribe() {
        let bus = Bus::in_process();
        bus.publish("c", "before").await.unwrap();
        let mut listener = bus.subscribe("c");
        bus.publish("c", "after").await.unwrap();
        bus.publish("other", "elsewhere").await.unwrap();
        assert_eq!(&*listener.recv().await.unwrap(), "after");
        assert!(listener.try_recv().is_err());
    }

    fn record(bot: &str, message: &str) -> String {
        json!({"bot": bot, "level": "INFO", "message": message}).to_string()
    }

    #[tokio::test]
    async fn a_bot_listener_gets_its_bots_records_only() {
        let bus = Bus::in_process();
        let mut payments = bus.subscribe_records("payments");
        let mut everything = bus.subscribe(RECORDS_CHANNEL);
        let batch = [record("payments", "one"), record("billing", "two")];
        bus.publish_many(RECORDS_CHANNEL, &batch).await.unwrap();
        bus.publish(RECORDS_CHANNEL, &record("payments", "three"))
            .await
            .unwrap();
        bus.publish("other", &record("payments", "elsewhere"))
            .await
            .unwrap();
        // One item per bot per publish.
        for want in [&batch[0], &record("payments", "three")] {
            let records = payments.recv().await.unwrap();
            assert_eq!(records.len(), 1);
            assert_eq!(&*records[0], want.as_str());
        }
        assert!(payments.try_recv().is_err());
        for want in [&batch[0], &batch[1], &record("payments", "three")] {
            assert_eq!(&*everything.recv().await.unwrap(), want.as_str());
        }
    }

    #[tokio::test]
    async fn a_batch_is_published_in_order() {
        let bus = Bus::in_process();
        let mut listener = bus.subscribe("c");
        let batch = ["one".to_owned(), "two".to_owned(), "three".to_owned()];
        bus.publish_many("c", &batch).await.unwrap();
        for want in &batch {
            assert_eq!(&*listener.recv().await.unwrap(), want.as_str());
        }
        assert!(listener.try_recv().is_err());
    }
}
