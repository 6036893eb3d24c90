//! The Redis side of the bus: the shared publishing connection, claims as `SET NX PX` keys,
//! and the listener task that hands every Redis message to the local fan-out, reconnecting
//! when its connection is lost.

use super::claims::Claim;
use super::local::LocalChannels;
use super::{BusError, CACHE_CHANNEL, RECORDS_CHANNEL};
use crate::config::BusSettings;
use futures_util::{FutureExt, StreamExt};
use redis::aio::PubSub;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The channel patterns this service uses: records, and normalized chat events.
const CHANNEL_PATTERNS: [&str; 3] = [RECORDS_CHANNEL, CACHE_CHANNEL, "events.*"];

/// How long start-up waits for Redis before refusing to start.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Redis pub/sub: publishing goes to Redis only, and one subscriber connection per process
/// (`PSUBSCRIBE prefix*`) hands every message, this replica's own included, to the local
/// listeners. So each message reaches each listener once, on every replica.
pub(super) struct RedisBus {
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

/// The most Redis messages handed to the local channels together.
const MESSAGES_DELIVERED_TOGETHER: usize = 4096;

/// Hands messages that arrived together to the local channels: each run of messages on one
/// channel in one call, in order.
fn deliver_arrived(local: &LocalChannels, prefix: &str, arrived: Vec<redis::Msg>) {
    let mut run: Vec<Arc<str>> = Vec::new();
    let mut run_channel = String::new();
    for message in arrived {
        let channel = message.get_channel_name();
        let Some(channel) = channel.strip_prefix(prefix) else {
            continue;
        };
        let payload = match message.get_payload::<String>() {
            Ok(payload) => Arc::from(payload),
            Err(error) => {
                tracing::warn!(%error, "Redis bus: undecodable message");
                continue;
            }
        };
        if channel != run_channel {
            local.deliver_all(&run_channel, std::mem::take(&mut run));
            run_channel = channel.to_owned();
        }
        run.push(payload);
    }
    local.deliver_all(&run_channel, run);
}

/// The first pause before reconnecting to Redis; doubled up to [`Reconnect::max_pause`].
const FIRST_RECONNECT_PAUSE: Duration = Duration::from_millis(50);

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl RedisBus {
    /// Connects to Redis at `url` and subscribes; the listener task hands every message on
    /// `prefix*` to `local` from then on.
    pub(super) async fn connect(
        url: &str,
        prefix: &str,
        reconnect: Reconnect,
        local: &Arc<LocalChannels>,
    ) -> Result<Self, BusError> {
        let unavailable = |error: &dyn std::fmt::Display| {
            BusError::Unavailable(format!("Redis ([bus] redis_url): {error}"))
        };
        let client = redis::Client::open(url).map_err(|error| unavailable(&error))?;
        let pubsub = tokio::time::timeout(REDIS_CONNECT_TIMEOUT, subscribe_all(&client, prefix))
            .await
            .map_err(|_| unavailable(&"no answer within 5 s"))?
            .map_err(|error| unavailable(&error))?;
        let subscribed = Arc::new(AtomicBool::new(true));
        let listener = tokio::spawn(listen(
            Listener {
                client: client.clone(),
                prefix: prefix.to_owned(),
                local: Arc::downgrade(local),
                subscribed: subscribed.clone(),
                reconnect,
            },
            pubsub,
        ));
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            publisher: tokio::sync::Mutex::new(None),
            subscribed,
            ping_timeout: reconnect.ping_interval,
            listener,
        })
    }

    /// Fails while the listener has lost its subscription (its PING went unanswered or its
    /// connection closed). Publishing then skips Redis at once: a frozen Redis would otherwise
    /// hold every ingest for the client's response and connect timeouts (about 1 s) before its
    /// live fan-out failed anyway; the listener's reconnection says when Redis is back.
    pub(super) fn subscription_in_place(&self) -> Result<(), BusError> {
        if self.subscribed.load(Ordering::Acquire) {
            return Ok(());
        }
        Err(BusError::Unavailable(
            "Redis subscription lost, reconnecting; delivered on this replica only".into(),
        ))
    }

    pub(super) async fn health(&self) -> Result<(), BusError> {
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

    pub(super) async fn publish(&self, channel: &str, message: &str) -> redis::RedisResult<()> {
        let mut command = redis::cmd("PUBLISH");
        command
            .arg(format!("{}{channel}", self.prefix))
            .arg(message);
        self.query::<i64>(&command).await.map(|_| ())
    }

    pub(super) async fn publish_many(
        &self,
        channel: &str,
        messages: &[String],
    ) -> redis::RedisResult<()> {
        let channel = format!("{}{channel}", self.prefix);
        let mut pipeline = redis::pipe();
        for message in messages {
            pipeline.cmd("PUBLISH").arg(&channel).arg(message).ignore();
        }
        self.query_pipeline(&pipeline).await
    }

    pub(super) async fn claim(&self, claim: &Claim, ttl: Duration) -> redis::RedisResult<bool> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.claim_key(&claim.key))
            .arg(claim.token_text())
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        // `OK` when set, nil when the key was already there.
        Ok(self.query::<Option<String>>(&command).await?.is_some())
    }

    pub(super) async fn release(&self, claim: &Claim) -> redis::RedisResult<()> {
        // Deletes the key only while it still holds this claim's token, in one step.
        let mut command = redis::cmd("EVAL");
        command
            .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
            .arg(1)
            .arg(self.claim_key(&claim.key))
            .arg(claim.token_text());
        self.query::<i64>(&command).await.map(|_| ())
    }

    pub(super) async fn renew(&self, claim: &Claim, ttl: Duration) -> redis::RedisResult<bool> {
        // Extends the key only while it still holds this claim's token, in one step.
        let mut command = redis::cmd("EVAL");
        command
            .arg("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end")
            .arg(1)
            .arg(self.claim_key(&claim.key))
            .arg(claim.token_text())
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
                    // The messages already here go together, so that another replica's batch
                    // of records reaches each bot's listeners as one item (see
                    // `local::BotRecords`), as it does on the replica that stored it.
                    let mut arrived = vec![message];
                    while arrived.len() < MESSAGES_DELIVERED_TOGETHER {
                        match messages.next().now_or_never() {
                            Some(Some(message)) => arrived.push(message),
                            _ => break,
                        }
                    }
                    deliver_arrived(&local, &prefix, arrived);
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
    use super::super::{Bus, RECORDS_CHANNEL};

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
