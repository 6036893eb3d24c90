//! The delivery worker: polls the queue, serves each chat's deliveries one by one in order,
//! claims each with an optimistic lease before sending, and records the outcome. The claims
//! and outcomes of all the chats being served share DataSpace calls ([`writes`]).

use super::floods::{self, DigestKind};
use super::message;
use super::messenger::{Messengers, SendOutcome};
use super::metrics::DeliveryMetrics;
use super::pacing::{Pacing, interval};
use super::pruning::{self, Pruning};
use crate::config::DeliverySettings;
use crate::dataspace::operations::delivery::{DEAD, DeliveryWrite, SENT};
use crate::dataspace::operations::{
    ChatMigration, ChatSubscription, Delivery, DeliveryUpdate, LogRecord, NewAuditEvent,
    format_datetime, parse_datetime,
};
use crate::dataspace::{Backoff, DataSpaceClient, DataSpaceError};
use crate::domain::messenger::Messenger;
use crate::domain::registration::{AuditAction, AuditOutcome};
use crate::metrics::Metrics;
use crate::request_id;
use crate::sync::lock;
use chrono::Utc;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// How the worker behaves; [`WorkerOptions::from_settings`] reads `[delivery]`.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub max_attempts: u32,
    pub poll_interval: Duration,
    pub lease: Duration,
    pub backoff: Backoff,
    pub concurrency: usize,
    pub telegram_bot_rate: f64,
    pub telegram_chat_rate: f64,
    pub vk_bot_rate: f64,
    pub vk_chat_rate: f64,
    /// Pending deliveries read per poll, oldest first.
    pub scan_limit: i64,
    /// Deleting finished deliveries; `None` keeps them for good.
    pub pruning: Option<Pruning>,
    /// Several waiting deliveries of a chat in one message (`[delivery] coalesce`).
    pub coalesce: bool,
    /// A chat with more deliveries waiting gets a digest instead (`[delivery] digest_after`).
    pub digest_after: usize,
    /// So does one whose oldest delivery has waited longer (`digest_after_wait_ms`).
    pub digest_after_wait: Duration,
    /// The longest pause a messenger may impose (`max_retry_after_ms`).
    pub max_retry_after: Duration,
}

impl WorkerOptions {
    pub fn from_settings(settings: &DeliverySettings) -> Self {
        Self {
            max_attempts: settings.max_attempts,
            poll_interval: settings.poll_interval,
            lease: settings.lease,
            backoff: Backoff {
                base: settings.backoff_base,
                cap: settings.backoff_cap.max(settings.backoff_base),
            },
            concurrency: settings.concurrency,
            telegram_bot_rate: settings.telegram_bot_rate,
            telegram_chat_rate: settings.telegram_chat_rate,
            vk_bot_rate: settings.vk_bot_rate,
            vk_chat_rate: settings.vk_chat_rate,
            scan_limit: 1000,
            pruning: Pruning::after_hours(settings.keep_done_hours),
            coalesce: settings.coalesce,
            digest_after: settings.digest_after,
            digest_after_wait: settings.digest_after_wait,
            max_retry_after: settings.max_retry_after,
        }
    }
}

/// A running worker; [`DeliveryHandle::stop`] ends it gracefully.
pub struct DeliveryHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DeliveryHandle {
    /// Stops claiming, lets the sends in progress finish and record their outcome (for at most
    /// one lease), then returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

mod chats;
mod content;
mod outcomes;
mod planning;
mod writes;

use planning::{Plan, plan};
use writes::Writes;

#[derive(Clone)]
struct SendingBot {
    name: String,
    messenger: Messenger,
    token: secrecy::SecretString,
}

/// Rendered records kept at most; beyond, the cache starts again empty.
const RECORD_CACHE_LIMIT: usize = 4096;
/// The shortest pause between two polls, so a burst of commits does not turn into a burst of
/// queue scans.
const MIN_POLL_GAP: Duration = Duration::from_millis(20);
/// The longest extra pause after failed polls.
const MAX_POLL_PAUSE: Duration = Duration::from_secs(30);

type ChatKey = (String, String);

struct Inner {
    client: DataSpaceClient,
    messengers: Messengers,
    options: WorkerOptions,
    metrics: DeliveryMetrics,
    pacing: Pacing,
    /// Names this process in `leaseOwner`.
    owner: String,
    /// Records as sent, by record id: a record goes to each of its chats rendered once.
    rendered: Mutex<HashMap<String, Arc<RenderedCell>>>,
    busy_chats: Mutex<HashSet<ChatKey>>,
    permits: Arc<Semaphore>,
    /// Claims and outcomes, sent together.
    writes: Writes,
    /// Wakes the poll when the last chat a pass started is done while more waited than its
    /// scan held: the chats' next deliveries are then read at once, not at the next poll
    /// interval (which would leave every chat idle in between).
    pass_done: Notify,
}

/// A record rendered for one bot: its messenger and name are part of the text, so the parts
/// are reused only while both are the same.
struct Rendered {
    messenger: Messenger,
    bot_name: String,
    parts: Arc<[String]>,
}

/// A record's parts, or the read of them in progress.
type RenderedCell = tokio::sync::OnceCell<Rendered>;

impl Rendered {
    fn is_for(&self, bot: &SendingBot) -> bool {
        self.messenger == bot.messenger && self.bot_name == bot.name
    }
}

/// Whether a chat's task goes on to the chat's next delivery.
#[derive(PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
}

/// Deliveries looked at for one coalesced message: far more than fit in 4096 characters.
const COALESCE_SCAN: usize = 64;
/// Chats first seen in the poll's newest window whose head is checked per poll.
const HEAD_CHECKS: usize = 32;

/// Starts the worker. `wake` (notified by the service when this process stores records with
/// deliveries) makes it poll at once, instead of at the next poll interval.
pub fn start(
    client: DataSpaceClient,
    settings: &DeliverySettings,
    metrics: &Metrics,
    wake: Option<Arc<Notify>>,
) -> anyhow::Result<DeliveryHandle> {
    let messengers = Messengers::new(
        settings.telegram_api_base.clone(),
        settings.vk_api_base.clone(),
        settings.send_timeout,
    )?;
    start_with(
        client,
        messengers,
        WorkerOptions::from_settings(settings),
        metrics,
        wake,
    )
}

/// [`start`] with explicit options.
pub fn start_with(
    client: DataSpaceClient,
    messengers: Messengers,
    options: WorkerOptions,
    metrics: &Metrics,
    wake: Option<Arc<Notify>>,
) -> anyhow::Result<DeliveryHandle> {
    let inner = Arc::new(Inner {
        client: client.clone(),
        messengers,
        metrics: DeliveryMetrics::register(metrics),
        pacing: Pacing::default(),
        owner: uuid::Uuid::new_v4().to_string(),
        rendered: Mutex::default(),
        busy_chats: Mutex::default(),
        permits: Arc::new(Semaphore::new(options.concurrency.max(1))),
        writes: Writes::start(client.clone()),
        pass_done: Notify::new(),
        options,
    });
    let (stop, stopped) = watch::channel(false);
    tracing::info!(owner = %inner.owner, "delivery worker started");
    let task = tokio::spawn(run(inner, stopped, wake));
    Ok(DeliveryHandle { stop, task })
}

async fn woken(wake: Option<&Notify>) {
    match wake {
        // Notifications while the worker polls leave one permit: one poll serves every
        // record committed so far.
        Some(wake) => wake.notified().await,
        None => std::future::pending::<()>().await,
    }
}

async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>, wake: Option<Arc<Notify>>) {
    let pruner = inner.options.pruning.clone().map(|pruning| {
        tokio::spawn(pruning::run(
            inner.client.clone(),
            pruning,
            inner.metrics.clone(),
            stop.clone(),
        ))
    });
    let mut tasks = JoinSet::new();
    let mut failed_polls = 0u32;
    loop {
        if *stop.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        // One id per pass: its DataSpace calls, and those of the chats it starts, send it.
        let pass = request_id::background("delivery");
        match request_id::within(pass.clone(), inner.poll(&mut tasks, &stop)).await {
            Ok(()) => failed_polls = 0,
            Err(error) => {
                // DataSpace unreachable: back off (up to the retry cap) rather than log and
                // ask again every poll interval.
                failed_polls = failed_polls.saturating_add(1);
                tracing::warn!(%error, failed_polls, request_id = %pass, "delivery poll failed");
                let pause = inner
                    .options
                    .backoff
                    .ceiling(failed_polls - 1)
                    .min(MAX_POLL_PAUSE);
                tokio::select! {
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
        tokio::time::sleep(MIN_POLL_GAP).await;
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep(inner.options.poll_interval) => {}
            _ = woken(wake.as_deref()) => {}
            _ = inner.pass_done.notified() => {}
        }
    }
    let drained = tokio::time::timeout(inner.options.lease, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("delivery worker stopped with sends in progress; their leases will expire");
        tasks.abort_all();
    }
    if let Some(pruner) = pruner {
        let _ = pruner.await;
    }
    tracing::info!("delivery worker stopped");
}

fn is_ready(delivery: &Delivery, now: chrono::DateTime<Utc>) -> bool {
    let due = parse_datetime(&delivery.next_attempt_at).is_none_or(|at| at <= now);
    let free = delivery
        .lease_until
        .as_deref()
        .and_then(parse_datetime)
        .is_none_or(|until| until <= now);
    due && free
}

/// The time `pause` from now, as DataSpace stores it (`after(Duration::ZERO)` is now).
fn after(pause: Duration) -> String {
    let pause = chrono::TimeDelta::from_std(pause).unwrap_or(chrono::TimeDelta::MAX);
    format_datetime(
        Utc::now()
            .checked_add_signed(pause)
            .unwrap_or_else(Utc::now),
    )
}

fn label(messenger: Messenger) -> &'static str {
    match messenger {
        Messenger::Telegram => "telegram",
        Messenger::Vk => "vk",
    }
}

impl Inner {
    /// Reads the oldest pending deliveries and starts a task for each chat whose oldest one
    /// is due and not leased, handing it that chat's deliveries in order.
    async fn poll(
        self: &Arc<Self>,
        tasks: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), DataSpaceError> {
        let page = self
            .client
            .pending_deliveries(self.options.scan_limit)
            .await?;
        self.metrics.queue_depth(page.count);
        let mut order: Vec<ChatKey> = Vec::new();
        let mut by_chat: HashMap<ChatKey, Vec<Delivery>> = HashMap::new();
        let scanned = page.elems.len();
        let more_waiting = page.count > scanned as i64;
        let mut group = |delivery: Delivery, order: &mut Vec<ChatKey>| {
            let key = (delivery.bot.clone(), delivery.chat_id.clone());
            let list = by_chat.entry(key.clone()).or_default();
            if list.is_empty() {
                order.push(key);
            }
            list.push(delivery);
        };
        let oldest_ids: HashSet<String> = page.elems.iter().map(|d| d.id.clone()).collect();
        for delivery in page.elems {
            group(delivery, &mut order);
        }
        // Fairness: with more waiting than one scan holds (a flooded or muted chat's
        // backlog), the newest deliveries are looked at too, so another chat's fresh record
        // is not stuck behind it.
        let mut unsure_heads = HashSet::new();
        if more_waiting {
            let newest = self
                .client
                .newest_pending_deliveries((self.options.scan_limit / 4).max(1))
                .await?;
            let known: HashSet<ChatKey> = order.iter().cloned().collect();
            // Windows that overlap hold the whole queue; apart, a chat seen in the oldest
            // one may have deliveries between the two, so its newest wait for a later pass
            // (listing them now would send them before those).
            let gap = !newest
                .iter()
                .any(|delivery| oldest_ids.contains(&delivery.id));
            for delivery in newest.into_iter().rev() {
                let key = (delivery.bot.clone(), delivery.chat_id.clone());
                if oldest_ids.contains(&delivery.id) || (gap && known.contains(&key)) {
                    continue;
                }
                if !known.contains(&key) {
                    unsure_heads.insert(key);
                }
                group(delivery, &mut order);
            }
        }
        let muted: HashMap<String, ChatSubscription> = self
            .client
            .muted_subscriptions(self.options.scan_limit)
            .await?
            .into_iter()
            .map(|subscription| (subscription.id.clone(), subscription))
            .collect();
        let now = Utc::now();
        let mut head_checks = 0;
        // The chats this pass started that are still being served.
        let serving = Arc::new(AtomicUsize::new(0));
        for key in order {
            let Some(list) = by_chat.remove(&key) else {
                continue;
            };
            if !is_ready(&list[0], now) || lock(&self.busy_chats).contains(&key) {
                continue;
            }
            if unsure_heads.contains(&key) {
                // Seen only in the newest window: it goes only if nothing older waits.
                head_checks += 1;
                if head_checks > HEAD_CHECKS {
                    continue;
                }
                let oldest = self
                    .client
                    .pending_deliveries_of_chat(&key.0, &key.1, Some(1))
                    .await?;
                if oldest.first().is_none_or(|oldest| oldest.id != list[0].id) {
                    continue;
                }
            }
            let Some(plan) = plan(&self.options, &list, muted.get(&list[0].subscription), now)
            else {
                continue;
            };
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                break;
            };
            lock(&self.busy_chats).insert(key.clone());
            serving.fetch_add(1, Ordering::AcqRel);
            let serving = serving.clone();
            let inner = self.clone();
            let stop = stop.clone();
            // A spawned task does not inherit the pass's id: it is given it.
            let pass = request_id::current().unwrap_or_default();
            tasks.spawn(request_id::within(pass, async move {
                inner.serve_chat(list, plan, stop).await;
                lock(&inner.busy_chats).remove(&key);
                drop(permit);
                if serving.fetch_sub(1, Ordering::AcqRel) == 1 && more_waiting {
                    inner.pass_done.notify_one();
                }
            }));
        }
        Ok(())
    }

    /// Claims a delivery for this worker; `None` when another has it or DataSpace failed.
    async fn claim(&self, delivery: &Delivery) -> Option<Delivery> {
        let claim = DeliveryUpdate {
            attempts: Some(delivery.attempts + 1),
            lease_owner: Some(self.owner.clone()),
            lease_until: Some(after(self.options.lease)),
            ..Default::default()
        };
        match self.update(delivery, "claim", claim).await {
            Ok(claimed) => Some(claimed),
            Err(DataSpaceError::VersionConflict(_)) => {
                tracing::debug!(delivery = %delivery.id, "another worker has this delivery");
                None
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %delivery.id, "cannot claim a delivery");
                None
            }
        }
    }

    fn rates(&self, messenger: Messenger, chat_id: &str) -> (Duration, Duration) {
        let options = &self.options;
        match messenger {
            Messenger::Telegram => {
                // Telegram: about 30 messages a second per bot, 1 a second per chat, and at
                // most 20 a minute in a group (group chat ids are negative).
                let chat_rate = if chat_id.starts_with('-') {
                    options.telegram_chat_rate / 3.0
                } else {
                    options.telegram_chat_rate
                };
                (interval(options.telegram_bot_rate), interval(chat_rate))
            }
            Messenger::Vk => (
                interval(options.vk_bot_rate),
                interval(options.vk_chat_rate),
            ),
        }
    }

    async fn deliver(&self, delivery: Delivery, stop: &mut watch::Receiver<bool>) -> Flow {
        let (bot, parts) = match self.what_to_send(&delivery).await {
            Ok(found) => found,
            Err(flow) => return flow,
        };
        let messenger = label(bot.messenger);
        let (bot_interval, mut chat_interval) = self.rates(bot.messenger, &delivery.chat_id);
        // Paced before the claim, so that the lease covers the send and not the wait.
        tokio::select! {
            _ = self.pacing.wait(&delivery.bot, &delivery.chat_id, bot_interval, chat_interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => return Flow::Stop,
        }
        let Some(mut current) = self.claim(&delivery).await else {
            return Flow::Stop;
        };
        let mut lease_ends = Instant::now() + self.options.lease;
        let first_part = usize::try_from(current.parts_sent).unwrap_or(0);
        let dedupe_base = current.id.parse::<i64>().unwrap_or(0).wrapping_mul(64);
        let mut migrated = false;
        let mut index = first_part;
        while index < parts.len() {
            let part = &parts[index];
            if index > first_part {
                self.pacing
                    .wait(&current.bot, &current.chat_id, bot_interval, chat_interval)
                    .await;
            }
            let token = secrecy::ExposeSecret::expose_secret(&bot.token);
            let outcome = self
                .messengers
                .send(
                    bot.messenger,
                    token,
                    &current.chat_id,
                    current.thread_id.as_deref(),
                    part,
                    dedupe_base.wrapping_add(index as i64),
                )
                .await;
            match outcome {
                SendOutcome::Accepted if index + 1 < parts.len() => {
                    // Progress also renews the lease: a long message paced at one part per
                    // second per chat may take longer than one lease.
                    let progress = DeliveryUpdate {
                        parts_sent: Some(index as i64 + 1),
                        lease_until: Some(after(self.options.lease)),
                        ..Default::default()
                    };
                    match self.update(&current, "part", progress).await {
                        Ok(updated) => {
                            current = updated;
                            lease_ends = Instant::now() + self.options.lease;
                        }
                        Err(error) => {
                            tracing::warn!(%error, delivery = %current.id, "cannot record a sent part; the lease will expire and the rest be sent later");
                            return Flow::Stop;
                        }
                    }
                }
                SendOutcome::Accepted => {}
                // A chat migrates once (group to supergroup); a second answer would be a loop.
                SendOutcome::Migrated { to, .. } if !migrated => {
                    migrated = true;
                    match self.migrate(&current, &to, messenger).await {
                        Some(moved) => {
                            current = moved;
                            lease_ends = Instant::now() + self.options.lease;
                            // The same part again, now to the new chat, in the same attempt:
                            // the old chat refusing it was not a failure of this delivery.
                            chat_interval = self.rates(bot.messenger, &current.chat_id).1;
                            self.pacing
                                .wait(&current.bot, &current.chat_id, bot_interval, chat_interval)
                                .await;
                            continue;
                        }
                        None => return Flow::Stop,
                    }
                }
                outcome @ (SendOutcome::Permanent(_) | SendOutcome::Migrated { .. }) => {
                    self.failed(&current, outcome, messenger).await;
                    // A dead letter ends this delivery; the chat's next one may go.
                    return Flow::Next;
                }
                outcome => {
                    self.failed(&current, outcome, messenger).await;
                    return Flow::Stop;
                }
            }
            index += 1;
        }
        if self.mark_sent(&current, parts.len(), lease_ends).await {
            let latency = parse_datetime(&current.created_at)
                .and_then(|created| (Utc::now() - created).to_std().ok())
                .unwrap_or_default();
            self.metrics.sent(messenger, latency);
            // After a migration the rest of this task's list names the old chat at versions
            // that have changed: the next poll serves the new chat in order.
            if migrated { Flow::Stop } else { Flow::Next }
        } else {
            Flow::Stop
        }
    }
}
