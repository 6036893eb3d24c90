//! Live fan-out of messages (committed records, normalized chat events) to whoever listens in
//! this process. In-process by default; with Redis configured, messages published on any
//! replica reach the listeners of every replica.
//!
//! Listeners get a bounded `broadcast` receiver: a listener that falls behind loses the oldest
//! messages and is told so (`RecvError::Lagged`), so a slow consumer cannot grow memory.

mod claims;

use crate::config::BusSettings;
use crate::sync::lock;
pub use claims::Claim;
use claims::LocalClaims;
use futures_util::StreamExt;
use redis::aio::PubSub;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// The channel committed log records are published on (JSON of `service::StoredRecord`).
pub const RECORDS_CHANNEL: &str = "records";

/// The channel a newly registered bot's name is published on, so that every replica's chat
/// doors (Telegram polling) look at the bots again at once.
pub const BOTS_CHANNEL: &str = "events.bot_registered";

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

/// The channel patterns this service uses: records, and normalized chat events.
const CHANNEL_PATTERNS: [&str; 2] = [RECORDS_CHANNEL, "events.*"];

/// How long start-up waits for Redis before refusing to start.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A message bus handle; cheap to clone.
#[derive(Clone, Default)]
pub struct Bus {
    local: Arc<LocalChannels>,
    local_claims: Arc<LocalClaims>,
    redis: Option<Arc<RedisBus>>,
}

#[derive(Default)]
struct LocalChannels {
    senders: Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>,
}

impl LocalChannels {
    fn sender(&self, channel: &str) -> broadcast::Sender<Arc<str>> {
        let mut senders = lock(&self.senders);
        // Looked up first: the channel name is copied only the first time it is used.
        if let Some(sender) = senders.get(channel) {
            return sender.clone();
        }
        senders
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(LISTENER_BUFFER).0)
            .clone()
    }

    fn deliver(&self, channel: &str, message: Arc<str>) {
        let _ = self.sender(channel).send(message);
    }

    /// Delivers messages on one channel, in order.
    fn deliver_all(&self, channel: &str, messages: &[String]) {
        let sender = self.sender(channel);
        for message in messages {
            let _ = sender.send(Arc::from(message.as_str()));
        }
    }
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

/// Redis pub/sub: publishing goes to Redis only, and one subscriber connection per process
/// (`PSUBSCRIBE prefix*`) hands every message, this replica's own included, to the local
/// listeners. So each message reaches each listener once, on every replica.
struct RedisBus {
    client: redis::Client,
    prefix: String,
    publisher: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// True while the listener's subscription is in place (false from a lost connection until
    /// it is subscribed again).
    subscribed: Arc<AtomicBool>,
    /// How long a health PING may take.
    ping_timeout: Duration,
    listener: tokio::task::JoinHandle<()>,
}

/// How the Redis bus notices a lost connection and gets it back (`[bus] reconnect_max_ms`,
/// `ping_interval_ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reconnect {
    /// The longest pause between reconnection attempts (they double from 50 ms).
    pub max_pause: Duration,
    /// How often the subscriber connection is PINGed; one unanswered for this long is lost.
    pub ping_interval: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            max_pause: Duration::from_secs(1),
            ping_interval: Duration::from_secs(1),
        }
    }
}

impl Reconnect {
    pub fn from_settings(settings: &BusSettings) -> Self {
        Self {
            max_pause: settings.reconnect_max,
            ping_interval: settings.ping_interval,
        }
    }
}

/// The first pause before reconnecting to Redis; doubled up to [`Reconnect::max_pause`].
const FIRST_RECONNECT_PAUSE: Duration = Duration::from_millis(50);

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.listener.abort();
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
        let unavailable = |error: &dyn std::fmt::Display| {
            BusError::Unavailable(format!("Redis ([bus] redis_url): {error}"))
        };
        let client = redis::Client::open(url).map_err(|error| unavailable(&error))?;
        let local = Arc::new(LocalChannels::default());
        let pubsub = tokio::time::timeout(REDIS_CONNECT_TIMEOUT, subscribe_all(&client, prefix))
            .await
            .map_err(|_| unavailable(&"no answer within 5 s"))?
            .map_err(|error| unavailable(&error))?;
        let subscribed = Arc::new(AtomicBool::new(true));
        let listener = tokio::spawn(listen(
            Listener {
                client: client.clone(),
                prefix: prefix.to_owned(),
                local: Arc::downgrade(&local),
                subscribed: subscribed.clone(),
                reconnect,
            },
            pubsub,
        ));
        Ok(Self {
            local,
            local_claims: Arc::default(),
            redis: Some(Arc::new(RedisBus {
                client,
                prefix: prefix.to_owned(),
                publisher: tokio::sync::Mutex::new(None),
                subscribed,
                ping_timeout: reconnect.ping_interval,
                listener,
            })),
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
            self.local.deliver_all(channel, messages);
            return Ok(());
        };
        if let Err(lost) = redis.subscription_in_place() {
            self.local.deliver_all(channel, messages);
            return Err(lost);
        }
        match redis.publish_many(channel, messages).await {
            Ok(()) => Ok(()),
            Err(error) => {
                self.local.deliver_all(channel, messages);
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

impl RedisBus {
    /// Fails while the listener has lost its subscription (its PING went unanswered or its
    /// connection closed). Publishing then skips Redis at once: a frozen Redis would otherwise
    /// hold every ingest for the client's response and connect timeouts (about 1 s) before its
    /// live fan-out failed anyway; the listener's reconnection says when Redis is back.
    fn subscription_in_place(&self) -> Result<(), BusError> {
        if self.subscribed.load(Ordering::Acquire) {
            return Ok(());
        }
        Err(BusError::Unavailable(
            "Redis subscription lost, reconnecting; delivered on this replica only".into(),
        ))
    }

    async fn health(&self) -> Result<(), BusError> {
        self.subscription_in_place()?;
        // Twice: the first PING after Redis came back may meet the connection it dropped
        // (that failure resets it).
        let mut outcome = Ok(());
        for _ in 0..2 {
            outcome = match tokio::time::timeout(
                self.ping_timeout,
                self.query::<String>(&redis::cmd("PING")),
            )
            .await
            {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(error)) => Err(BusError::Unavailable(format!("Redis PING: {error}"))),
                Err(_) => {
                    *self.publisher.lock().await = None;
                    Err(BusError::Unavailable(format!(
                        "Redis PING unanswered within {} ms",
                        self.ping_timeout.as_millis()
                    )))
                }
            };
        }
        outcome
    }

    async fn publish(&self, channel: &str, message: &str) -> redis::RedisResult<()> {
        let mut command = redis::cmd("PUBLISH");
        command
            .arg(format!("{}{channel}", self.prefix))
            .arg(message);
        self.query::<i64>(&command).await.map(|_| ())
    }

    async fn publish_many(&self, channel: &str, messages: &[String]) -> redis::RedisResult<()> {
        let channel = format!("{}{channel}", self.prefix);
        let mut pipeline = redis::pipe();
        for message in messages {
            pipeline.cmd("PUBLISH").arg(&channel).arg(message).ignore();
        }
        self.query_pipeline(&pipeline).await
    }

    async fn claim(&self, claim: &Claim, ttl: Duration) -> redis::RedisResult<bool> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.claim_key(&claim.key))
            .arg(&claim.token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        // `OK` when set, nil when the key was already there.
        Ok(self.query::<Option<String>>(&command).await?.is_some())
    }

    async fn release(&self, claim: &Claim) -> redis::RedisResult<()> {
        // Deletes the key only while it still holds this claim's token, in one step.
        let mut command = redis::cmd("EVAL");
        command
            .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
            .arg(1)
            .arg(self.claim_key(&claim.key))
            .arg(&claim.token);
        self.query::<i64>(&command).await.map(|_| ())
    }

    async fn renew(&self, claim: &Claim, ttl: Duration) -> redis::RedisResult<bool> {
        // Extends the key only while it still holds this claim's token, in one step.
        let mut command = redis::cmd("EVAL");
        command
            .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end")
            .arg(1)
            .arg(self.claim_key(&claim.key))
            .arg(&claim.token)
            .arg(ttl.as_millis().max(1) as u64);
        Ok(self.query::<i64>(&command).await? == 1)
    }

    fn claim_key(&self, key: &str) -> String {
        format!("{}claims.{key}", self.prefix)
    }

    /// Runs a command on the shared connection, reconnecting on the next call after a failure.
    async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> redis::RedisResult<T> {
        let mut connection = self.connection().await?;
        let result = command.query_async(&mut connection).await;
        if result.is_err() {
            *self.publisher.lock().await = None;
        }
        result
    }

    /// [`RedisBus::query`] for a pipeline whose answers are all ignored.
    async fn query_pipeline(&self, pipeline: &redis::Pipeline) -> redis::RedisResult<()> {
        let mut connection = self.connection().await?;
        let result = pipeline.query_async::<()>(&mut connection).await;
        if result.is_err() {
            *self.publisher.lock().await = None;
        }
        result
    }

    /// The shared connection, opened on first use (and again after a failure).
    async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        // A multiplexed connection serves concurrent commands: hold the lock only to get it.
        let mut publisher = self.publisher.lock().await;
        match publisher.as_ref() {
            Some(connection) => Ok(connection.clone()),
            None => {
                let connection = self.client.get_multiplexed_async_connection().await?;
                *publisher = Some(connection.clone());
                Ok(connection)
            }
        }
    }
}

async fn subscribe_all(client: &redis::Client, prefix: &str) -> redis::RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    // Only our channels: with no prefix, `*` would hand us every message on a shared Redis.
    for pattern in CHANNEL_PATTERNS {
        pubsub.psubscribe(format!("{prefix}{pattern}")).await?;
    }
    Ok(pubsub)
}

/// What the listener task needs besides its first subscription.
struct Listener {
    client: redis::Client,
    prefix: String,
    local: std::sync::Weak<LocalChannels>,
    subscribed: Arc<AtomicBool>,
    reconnect: Reconnect,
}

/// Hands Redis messages to the local listeners until the bus is dropped. Reconnects (pauses
/// doubling up to `reconnect.max_pause`) when the connection closes or a PING goes
/// unanswered, so listeners resume without knowing (missing what was published meanwhile).
async fn listen(listener: Listener, pubsub: PubSub) {
    let Listener {
        client,
        prefix,
        local,
        subscribed,
        reconnect,
    } = listener;
    let mut pubsub = Some(pubsub);
    let mut pause = FIRST_RECONNECT_PAUSE;
    loop {
        let connection = match pubsub.take() {
            Some(connection) => connection,
            None => {
                match tokio::time::timeout(REDIS_CONNECT_TIMEOUT, subscribe_all(&client, &prefix))
                    .await
                {
                    Ok(Ok(connection)) => {
                        tracing::info!("Redis bus subscription restored");
                        pause = FIRST_RECONNECT_PAUSE;
                        connection
                    }
                    outcome => {
                        let error = match outcome {
                            Ok(Err(error)) => error.to_string(),
                            _ => "no answer".to_owned(),
                        };
                        tracing::warn!(%error, ?pause, "Redis bus: cannot subscribe, retrying");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(reconnect.max_pause.max(FIRST_RECONNECT_PAUSE));
                        if local.strong_count() == 0 {
                            return;
                        }
                        continue;
                    }
                }
            }
        };
        subscribed.store(true, Ordering::Release);
        let (mut sink, mut messages) = connection.split();
        let mut ping =
            tokio::time::interval(reconnect.ping_interval.max(Duration::from_millis(10)));
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let lost = loop {
            tokio::select! {
                message = messages.next() => {
                    let Some(message) = message else { break "connection closed" };
                    let Some(local) = local.upgrade() else { return };
                    let channel = message.get_channel_name();
                    let Some(channel) = channel.strip_prefix(prefix.as_str()) else {
                        continue;
                    };
                    match message.get_payload::<String>() {
                        Ok(payload) => local.deliver(channel, Arc::from(payload)),
                        Err(error) => tracing::warn!(%error, "Redis bus: undecodable message"),
                    }
                }
                _ = ping.tick() => {
                    if local.strong_count() == 0 {
                        return;
                    }
                    let answered = tokio::time::timeout(
                        reconnect.ping_interval,
                        sink.ping::<redis::Value>(),
                    )
                    .await;
                    if !matches!(answered, Ok(Ok(_))) {
                        break "PING unanswered";
                    }
                }
            }
        };
        subscribed.store(false, Ordering::Release);
        if local.strong_count() == 0 {
            return;
        }
        tracing::warn!(
            reason = lost,
            "Redis bus connection lost; reconnecting (messages published meanwhile are not delivered here)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Needs the Redis of the test environment (127.0.0.1:6379); skipped without it.
    #[tokio::test]
    async fn a_batch_goes_through_redis_once_and_in_order() {
        let url = "redis://127.0.0.1:6379";
        let prefix = format!("logbot-unit-{}:", uuid::Uuid::new_v4());
        let Ok(one) = Bus::redis(url, &prefix).await else {
            eprintln!("skipped: no Redis at {url}");
            return;
        };
        let two = Bus::redis(url, &prefix).await.unwrap();
        let mut on_one = one.subscribe(RECORDS_CHANNEL);
        let mut on_two = two.subscribe(RECORDS_CHANNEL);
        let batch: Vec<String> = (0..50).map(|n| format!("record {n}")).collect();
        one.publish_many(RECORDS_CHANNEL, &batch).await.unwrap();
        let wait = std::time::Duration::from_secs(5);
        for listener in [&mut on_one, &mut on_two] {
            for want in &batch {
                let got = tokio::time::timeout(wait, listener.recv()).await.unwrap();
                assert_eq!(&*got.unwrap(), want.as_str());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(on_one.try_recv().is_err(), "delivered twice");
    }

    /// Needs the Redis of the test environment (127.0.0.1:6379); skipped without it.
    #[tokio::test]
    async fn redis_buses_sharing_a_prefix_reach_each_other_once() {
        let url = "redis://127.0.0.1:6379";
        let prefix = format!("logbot-unit-{}:", uuid::Uuid::new_v4());
        let Ok(one) = Bus::redis(url, &prefix).await else {
            eprintln!("skipped: no Redis at {url}");
            return;
        };
        let two = Bus::redis(url, &prefix).await.unwrap();
        let other = Bus::redis(url, "logbot-unit-elsewhere:").await.unwrap();
        let mut on_one = one.subscribe(RECORDS_CHANNEL);
        let mut on_two = two.subscribe(RECORDS_CHANNEL);
        let mut on_other = other.subscribe(RECORDS_CHANNEL);
        one.publish(RECORDS_CHANNEL, "hello").await.unwrap();
        let wait = std::time::Duration::from_secs(5);
        for listener in [&mut on_one, &mut on_two] {
            let got = tokio::time::timeout(wait, listener.recv()).await.unwrap();
            assert_eq!(&*got.unwrap(), "hello");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(on_one.try_recv().is_err(), "delivered twice");
        assert!(on_other.try_recv().is_err(), "crossed prefixes");
    }
}
