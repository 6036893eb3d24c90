//! The delivery worker: polls the queue, serves each chat's deliveries one by one in order,
//! claims each with an optimistic lease before sending, and records the outcome.

use super::floods::{self, DigestKind};
use super::message;
use super::messenger::{Messengers, SendOutcome};
use super::metrics::DeliveryMetrics;
use super::pacing::{Pacing, interval};
use super::pruning::{self, Pruning};
use crate::config::DeliverySettings;
use crate::dataspace::operations::delivery::{DEAD, SENT};
use crate::dataspace::operations::{
    ChatMigration, ChatSubscription, Delivery, DeliveryUpdate, LogRecord, NewAuditEvent,
    format_datetime, parse_datetime,
};
use crate::dataspace::{Backoff, DataSpaceClient, DataSpaceError};
use crate::domain::messenger::Messenger;
use crate::domain::registration::{AuditAction, AuditOutcome};
use crate::metrics::Metrics;
use crate::sync::lock;
use chrono::Utc;
use std::collections::{HashMap, HashSet};
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
    rendered: Mutex<HashMap<String, Rendered>>,
    busy_chats: Mutex<HashSet<ChatKey>>,
    permits: Arc<Semaphore>,
}

/// A record rendered for one bot: its messenger and name are part of the text, so the parts
/// are reused only while both are the same.
struct Rendered {
    messenger: Messenger,
    bot_name: String,
    parts: Arc<[String]>,
}

/// Whether a chat's task goes on to the chat's next delivery.
#[derive(PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
}

/// How a chat's waiting deliveries go out this time.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// In order, several to a message when they fit (coalescing), else one by one.
    InOrder,
    /// One digest for the chat's backlog; with `before`, of what was queued before a mute
    /// ended (the mute's summary).
    Digest {
        kind: DigestKind,
        before: Option<String>,
    },
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
        client,
        messengers,
        metrics: DeliveryMetrics::register(metrics),
        pacing: Pacing::default(),
        owner: uuid::Uuid::new_v4().to_string(),
        rendered: Mutex::default(),
        busy_chats: Mutex::default(),
        permits: Arc::new(Semaphore::new(options.concurrency.max(1))),
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
        match inner.poll(&mut tasks, &stop).await {
            Ok(()) => failed_polls = 0,
            Err(error) => {
                // DataSpace unreachable: back off (up to the retry cap) rather than log and
                // ask again every poll interval.
                failed_polls = failed_polls.saturating_add(1);
                tracing::warn!(%error, failed_polls, "delivery poll failed");
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

/// What a chat gets this time; `None` while it is muted (its records wait, counted).
fn plan(
    options: &WorkerOptions,
    list: &[Delivery],
    subscription: Option<&ChatSubscription>,
    now: chrono::DateTime<Utc>,
) -> Option<Plan> {
    let head = &list[0];
    if let Some(subscription) = subscription {
        if subscription.is_muted(now) {
            return None;
        }
        // Queued before the mute ended: the mute's summary is owed.
        if let Some(until) = subscription
            .muted_until
            .as_deref()
            .filter(|until| head.created_at.as_str() < *until)
        {
            return Some(Plan::Digest {
                kind: DigestKind::MuteSummary,
                before: Some(until.to_owned()),
            });
        }
    }
    let waited = parse_datetime(&head.created_at)
        .and_then(|created| (now - created).to_std().ok())
        .unwrap_or_default();
    if list.len() > options.digest_after || waited > options.digest_after_wait {
        return Some(Plan::Digest {
            kind: DigestKind::Backlog,
            before: None,
        });
    }
    Some(Plan::InOrder)
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
        if page.count > scanned as i64 {
            let newest = self
                .client
                .newest_pending_deliveries((self.options.scan_limit / 4).max(1))
                .await?;
            let known: HashSet<ChatKey> = order.iter().cloned().collect();
            for delivery in newest.into_iter().rev() {
                if oldest_ids.contains(&delivery.id) {
                    continue;
                }
                let key = (delivery.bot.clone(), delivery.chat_id.clone());
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
            let inner = self.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                inner.serve_chat(list, plan, stop).await;
                lock(&inner.busy_chats).remove(&key);
                drop(permit);
            });
        }
        Ok(())
    }

    async fn serve_chat(
        &self,
        deliveries: Vec<Delivery>,
        plan: Plan,
        mut stop: watch::Receiver<bool>,
    ) {
        if let Plan::Digest { kind, before } = plan {
            self.send_digest(&deliveries[0], kind, before.as_deref(), &mut stop)
                .await;
            return;
        }
        let mut index = 0;
        while index < deliveries.len() {
            let now = Utc::now();
            if *stop.borrow() || !is_ready(&deliveries[index], now) {
                break;
            }
            let ready: Vec<&Delivery> = deliveries[index..]
                .iter()
                .take_while(|delivery| is_ready(delivery, now))
                .take(COALESCE_SCAN)
                .collect();
            if self.options.coalesce && ready.len() >= 2 {
                match self.send_coalesced(&ready, &mut stop).await {
                    Some(0) => {}
                    Some(carried) => {
                        index += carried;
                        continue;
                    }
                    None => break,
                }
            }
            match self.deliver(deliveries[index].clone(), &mut stop).await {
                Flow::Next => index += 1,
                Flow::Stop => break,
            }
        }
    }

    /// Several waiting deliveries of a chat in one message, as many as fit. Returns how many
    /// it carried (0: not worth it, send the first alone), `None` to stop serving the chat.
    async fn send_coalesced(
        &self,
        ready: &[&Delivery],
        stop: &mut watch::Receiver<bool>,
    ) -> Option<usize> {
        let bot = match self.bot(&ready[0].bot).await {
            Ok(Some(bot)) => bot,
            _ => return Some(0),
        };
        let ids: Vec<String> = ready
            .iter()
            .map(|delivery| delivery.record.clone())
            .collect();
        let records = match self.client.log_records_by_ids(&ids).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "cannot read records to coalesce");
                return None;
            }
        };
        let by_id: HashMap<&str, &LogRecord> = records
            .iter()
            .map(|record| (record.id.as_str(), record))
            .collect();
        // Up to the first record that is gone: the one-by-one path dead-letters it.
        let lines: Vec<String> = ready
            .iter()
            .map_while(|delivery| by_id.get(delivery.record.as_str()))
            .map(|record| floods::compact_line(bot.messenger, record))
            .collect();
        if lines.len() < 2 {
            return Some(0);
        }
        let count = floods::coalesce_count(bot.messenger, &bot.name, &lines);
        if count < 2 {
            return Some(0);
        }
        let text = floods::coalesced(bot.messenger, &bot.name, &lines[..count]);
        let carried: Vec<Delivery> = ready[..count].iter().map(|d| (*d).clone()).collect();
        match self.send_group(&carried, &text, &bot, stop).await {
            Flow::Next => Some(count),
            Flow::Stop => None,
        }
    }

    /// One digest in place of the chat's backlog (at most one scan of it; the rest gets the
    /// next one), or the summary of a mute (what was queued `before` it ended).
    async fn send_digest(
        &self,
        head: &Delivery,
        kind: DigestKind,
        before: Option<&str>,
        stop: &mut watch::Receiver<bool>,
    ) {
        let bot = match self.bot(&head.bot).await {
            Ok(Some(bot)) => bot,
            // The one-by-one path dead-letters deliveries of a bot that is gone.
            Ok(None) => {
                self.deliver(head.clone(), stop).await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %head.id, "cannot read the delivery's bot");
                return;
            }
        };
        let limit = usize::try_from(self.options.scan_limit).unwrap_or(1000);
        let waiting = match self
            .client
            .pending_deliveries_of_chat(&head.bot, &head.chat_id, Some(limit))
            .await
        {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::warn!(%error, chat = %head.chat_id, "cannot read a chat's backlog");
                return;
            }
        };
        let waiting: Vec<Delivery> = waiting
            .into_iter()
            .filter(|delivery| before.is_none_or(|before| delivery.created_at.as_str() < before))
            .collect();
        if waiting.first().is_none_or(|first| first.id != head.id) {
            // Someone else served the chat meanwhile; the next poll sees what is left.
            return;
        }
        let ids: Vec<String> = waiting
            .iter()
            .map(|delivery| delivery.record.clone())
            .collect();
        let records = match self.client.log_records_by_ids(&ids).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "cannot read records for a digest");
                return;
            }
        };
        let found: HashSet<&str> = records.iter().map(|record| record.id.as_str()).collect();
        // A delivery whose record is gone is not counted here; the one-by-one path
        // dead-letters it.
        let covered: Vec<Delivery> = waiting
            .iter()
            .filter(|delivery| found.contains(delivery.record.as_str()))
            .cloned()
            .collect();
        if covered.first().is_none_or(|first| first.id != head.id) {
            self.deliver(head.clone(), stop).await;
            return;
        }
        let text = floods::digest(bot.messenger, &bot.name, &records, kind);
        if self.send_group(&covered, &text, &bot, stop).await == Flow::Next {
            self.metrics.digest(label(bot.messenger));
            tracing::info!(chat = %head.chat_id, bot = %bot.name, records = covered.len(), ?kind, "digest sent");
        }
    }

    /// Sends one message standing for all of `carried` (the chat's oldest first), holding
    /// the chat through the lease of the first, and marks them all sent together.
    async fn send_group(
        &self,
        carried: &[Delivery],
        text: &str,
        bot: &SendingBot,
        stop: &mut watch::Receiver<bool>,
    ) -> Flow {
        let head = &carried[0];
        let messenger = label(bot.messenger);
        let (bot_interval, chat_interval) = self.rates(bot.messenger, &head.chat_id);
        tokio::select! {
            _ = self.pacing.wait(&head.bot, &head.chat_id, bot_interval, chat_interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => return Flow::Stop,
        }
        let Some(current) = self.claim(head).await else {
            return Flow::Stop;
        };
        let lease_ends = Instant::now() + self.options.lease;
        let token = secrecy::ExposeSecret::expose_secret(&bot.token);
        let dedupe = current.id.parse::<i64>().unwrap_or(0).wrapping_mul(64);
        let outcome = self
            .messengers
            .send(
                bot.messenger,
                token,
                &current.chat_id,
                current.thread_id.as_deref(),
                text,
                dedupe,
            )
            .await;
        match outcome {
            SendOutcome::Accepted => {
                let ids: Vec<String> = carried.iter().map(|delivery| delivery.id.clone()).collect();
                let key = self.key(&current, "sent-together");
                let mut retry = 0;
                loop {
                    match self.client.finish_deliveries(&ids, SENT, &key).await {
                        Ok(()) => break,
                        Err(error) => {
                            let pause = Backoff::default().delay(retry);
                            if Instant::now() + pause + Duration::from_secs(1) >= lease_ends {
                                tracing::error!(%error, delivery = %current.id, "cannot record a sent message before its lease ends; the chat may get these records twice");
                                return Flow::Stop;
                            }
                            tokio::time::sleep(pause).await;
                            retry += 1;
                        }
                    }
                }
                for delivery in carried {
                    let latency = parse_datetime(&delivery.created_at)
                        .and_then(|created| (Utc::now() - created).to_std().ok())
                        .unwrap_or_default();
                    self.metrics.sent(messenger, latency);
                }
                Flow::Next
            }
            SendOutcome::Migrated { to, .. } => {
                // The one-by-one path carries on in the new chat from here.
                if let Some(moved) = self.migrate(&current, &to, messenger).await {
                    self.release(&moved, Duration::ZERO, "the chat migrated", true)
                        .await;
                }
                Flow::Stop
            }
            other => {
                self.failed(&current, other, messenger).await;
                Flow::Stop
            }
        }
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

    /// Records a failed send of the claimed `current`: a pause the messenger asked for, a
    /// retry with backoff, a dead letter, or the end of a chat that is gone.
    async fn failed(&self, current: &Delivery, outcome: SendOutcome, messenger: &str) {
        match outcome {
            SendOutcome::RetryAfter(pause, error) => {
                self.metrics.failed(messenger, "rate_limited");
                self.metrics.retried(messenger);
                let pause = pause.min(self.options.max_retry_after);
                self.pacing.hold_chat(&current.bot, &current.chat_id, pause);
                // A rate limit is the messenger's pace, not the chat's fault: the attempt
                // is given back.
                self.release(current, pause, &error, true).await;
            }
            SendOutcome::Transient(error) => {
                self.metrics.failed(messenger, "transient");
                if current.attempts >= i64::from(self.options.max_attempts) {
                    self.dead_letter(current, &error, messenger).await;
                } else {
                    self.metrics.retried(messenger);
                    let retry = u32::try_from(current.attempts - 1).unwrap_or(0);
                    let pause = self.options.backoff.delay(retry);
                    self.release(current, pause, &error, false).await;
                }
            }
            SendOutcome::Gone(error) => {
                self.metrics.failed(messenger, "permanent");
                self.end_chat(current, &error, messenger).await;
            }
            SendOutcome::Permanent(error) | SendOutcome::Migrated { message: error, .. } => {
                self.metrics.failed(messenger, "permanent");
                self.dead_letter(current, &error, messenger).await;
            }
            SendOutcome::Accepted => {}
        }
    }

    /// The bot was blocked or removed, or the chat does not exist: the delivery is a dead
    /// letter, the subscription ends with an AuditEvent, and the chat's other waiting
    /// deliveries of this bot are given up too (no more tries at a chat that is gone).
    async fn end_chat(&self, current: &Delivery, error: &str, messenger: &str) {
        self.dead_letter(current, error, messenger).await;
        let key = self.key(current, "end-subscription");
        let ended = self
            .client
            .deactivate_subscription(&current.subscription, Some(&key))
            .await;
        let details = serde_json::json!({
            "bot": current.bot,
            "subscription": current.subscription,
            "chatId": current.chat_id,
            "lastError": error,
        });
        let audit = NewAuditEvent {
            actor_uid: "delivery-worker".into(),
            action: AuditAction::EndSubscription.as_str().into(),
            target: Some(format!("chat:{}", current.chat_id)),
            outcome: if ended.is_ok() {
                AuditOutcome::Ended
            } else {
                AuditOutcome::Failed
            }
            .as_str()
            .into(),
            at: format_datetime(Utc::now()),
            details: Some(details.to_string()),
        };
        if let Err(error) = self
            .client
            .create_audit_event(audit, Some(&format!("{key}:audit")))
            .await
        {
            tracing::warn!(%error, "cannot write the AuditEvent of an ended subscription");
        }
        let rest = match self
            .client
            .pending_deliveries_of_chat(&current.bot, &current.chat_id, None)
            .await
        {
            Ok(rest) => rest,
            Err(error) => {
                tracing::warn!(%error, chat = %current.chat_id, "cannot read a gone chat's queue; each is given up when tried");
                return;
            }
        };
        let ids: Vec<String> = rest
            .into_iter()
            .map(|delivery| delivery.id)
            .filter(|id| *id != current.id)
            .collect();
        if let Err(error) = self
            .client
            .finish_deliveries(&ids, DEAD, &format!("{key}:rest"))
            .await
        {
            tracing::warn!(%error, chat = %current.chat_id, "cannot give up a gone chat's queue; each is given up when tried");
        }
        tracing::warn!(chat = %current.chat_id, bot = %current.bot, %error, given_up = ids.len() + 1, "the chat is gone for this bot; its subscription ended");
    }

    fn key(&self, delivery: &Delivery, what: &str) -> String {
        format!(
            "delivery:{}:v{}:{what}:{}",
            delivery.id, delivery.agg_version, self.owner
        )
    }

    /// Writes `update` to `delivery` at the version read, under this worker's idempotence
    /// key for `what`.
    async fn update(
        &self,
        delivery: &Delivery,
        what: &str,
        update: DeliveryUpdate,
    ) -> Result<Delivery, DataSpaceError> {
        let update = DeliveryUpdate {
            id: delivery.id.clone(),
            ..update
        };
        let key = self.key(delivery, what);
        self.client
            .update_delivery(update, delivery.agg_version, Some(&key))
            .await
    }

    /// The bot a delivery goes out through, from the client's bot cache; `None` when it is
    /// gone or its messenger cannot be read.
    async fn bot(&self, id: &str) -> Result<Option<SendingBot>, DataSpaceError> {
        Ok(self.client.cached_bot(id).await?.and_then(|bot| {
            let messenger = Messenger::parse(&bot.messenger).ok()?;
            Some(SendingBot {
                name: bot.name,
                messenger,
                token: bot.bot_token.into(),
            })
        }))
    }

    /// The parts to send for a record, rendered for `bot`; `None` when the record is gone.
    async fn parts(
        &self,
        id: &str,
        bot: &SendingBot,
    ) -> Result<Option<Arc<[String]>>, DataSpaceError> {
        if let Some(rendered) = lock(&self.rendered).get(id)
            && rendered.messenger == bot.messenger
            && rendered.bot_name == bot.name
        {
            return Ok(Some(rendered.parts.clone()));
        }
        let Some(record) = self.client.get_log_record(id).await? else {
            return Ok(None);
        };
        let parts: Arc<[String]> = message::render(bot.messenger, &bot.name, &record).into();
        let mut rendered = lock(&self.rendered);
        if rendered.len() >= RECORD_CACHE_LIMIT {
            rendered.clear();
        }
        rendered.insert(
            id.to_owned(),
            Rendered {
                messenger: bot.messenger,
                bot_name: bot.name.clone(),
                parts: parts.clone(),
            },
        );
        Ok(Some(parts))
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

    /// Sends one delivery: claim, send each part not yet accepted, record the outcome.
    async fn deliver(&self, delivery: Delivery, stop: &mut watch::Receiver<bool>) -> Flow {
        let bot = match self.bot(&delivery.bot).await {
            Ok(Some(bot)) => bot,
            Ok(None) => {
                self.dead_letter(
                    &delivery,
                    "the bot no longer exists or has no known messenger",
                    "unknown",
                )
                .await;
                return Flow::Next;
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %delivery.id, "cannot read the delivery's bot");
                return Flow::Stop;
            }
        };
        let messenger = label(bot.messenger);
        let parts = match self.parts(&delivery.record, &bot).await {
            Ok(Some(parts)) => parts,
            Ok(None) => {
                self.dead_letter(&delivery, "the record no longer exists", messenger)
                    .await;
                return Flow::Next;
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %delivery.id, "cannot read the delivery's record");
                return Flow::Stop;
            }
        };
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

    /// Moves the chat of `current` (claimed by this worker) to `to`, after Telegram said the
    /// group became a supergroup. Returns `current` re-targeted at its new version when this
    /// worker should send it to `to` now; `None` when it should not (the lease was lost, or
    /// DataSpace failed, or an older delivery to `to` must go first), having released it
    /// where it could.
    ///
    /// Order of writes, for order per chat: `current` is re-targeted first, at its claimed
    /// version and still leased, so it heads the new chat's queue and holds it; only then
    /// do the subscriptions and the chat's other pending deliveries follow (one packet, with
    /// the AuditEvent), queueing behind it.
    async fn migrate(&self, current: &Delivery, to: &str, messenger: &str) -> Option<Delivery> {
        let from = current.chat_id.clone();
        let retarget = DeliveryUpdate {
            chat_id: Some(to.to_owned()),
            lease_until: Some(after(self.options.lease)),
            ..Default::default()
        };
        let moved = match self.update(current, "migrate", retarget).await {
            Ok(moved) => moved,
            Err(error) => {
                tracing::warn!(%error, delivery = %current.id, "cannot move a delivery to its migrated chat; it is retried when its lease ends");
                return None;
            }
        };
        let audit = |migration: &ChatMigration| {
            // A straggler queued for the old chat after the move writes no second event.
            if migration.moved.is_empty() && migration.ended.is_empty() {
                return None;
            }
            let details = serde_json::json!({
                "bot": current.bot,
                "fromChatId": from,
                "toChatId": to,
                "subscriptionsMoved": migration.moved,
                "subscriptionsEnded": migration.ended,
                "deliveriesMoved": migration.deliveries + 1,
                "delivery": current.id,
            });
            Some(NewAuditEvent {
                actor_uid: "delivery-worker".into(),
                action: AuditAction::MigrateChat.as_str().into(),
                target: Some(format!("chat:{from}")),
                outcome: AuditOutcome::Migrated.as_str().into(),
                at: format_datetime(Utc::now()),
                details: Some(details.to_string()),
            })
        };
        let key = self.key(current, "migrate-chat");
        match self
            .client
            .migrate_chat(&current.bot, &from, to, &current.id, audit, &key)
            .await
        {
            Ok(migration) => {
                // Counted once per chat, like the AuditEvent; not for stragglers.
                if !(migration.moved.is_empty() && migration.ended.is_empty()) {
                    self.metrics.migrated(messenger);
                }
                tracing::info!(
                    bot = %current.bot,
                    from = %from,
                    to = %to,
                    subscriptions_moved = ?migration.moved,
                    subscriptions_ended = ?migration.ended,
                    deliveries_moved = migration.deliveries + 1,
                    "chat migrated (group upgraded to a supergroup); its subscriptions and queue now use the new chat id"
                );
            }
            Err(error) => {
                // `current` already goes to the new chat; what stayed behind is answered with
                // the migration again when its turn comes, and moved then.
                tracing::warn!(%error, bot = %current.bot, from = %from, to = %to, "cannot move a migrated chat's subscriptions and queue yet");
            }
        }
        // Another worker may have moved older deliveries of the old chat before this one
        // (two workers migrating the same chat at once): the oldest goes first.
        match self
            .client
            .pending_deliveries_of_chat(&moved.bot, to, Some(1))
            .await
        {
            Ok(oldest) if oldest.first().is_none_or(|oldest| oldest.id == moved.id) => Some(moved),
            Ok(_) => {
                self.release(
                    &moved,
                    Duration::ZERO,
                    "the chat migrated; an older delivery goes first",
                    true,
                )
                .await;
                None
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %moved.id, "cannot check the migrated chat's queue; the delivery is retried");
                self.release(&moved, Duration::ZERO, "the chat migrated", true)
                    .await;
                None
            }
        }
    }

    /// Records that the messenger accepted every part. Retried while the lease lasts: until
    /// this is written the delivery is still PENDING, and once the lease has expired another
    /// worker would send it again.
    async fn mark_sent(&self, current: &Delivery, parts: usize, lease_ends: Instant) -> bool {
        let mut retry = 0;
        loop {
            // The lease ends when the send is recorded.
            let now = after(Duration::ZERO);
            let done = DeliveryUpdate {
                status: Some(SENT.into()),
                parts_sent: Some(parts as i64),
                lease_until: Some(now.clone()),
                sent_at: Some(now),
                ..Default::default()
            };
            match self.update(current, "sent", done).await {
                Ok(_) => return true,
                Err(DataSpaceError::VersionConflict(error)) => {
                    tracing::error!(%error, delivery = %current.id, "the lease was lost before the send was recorded; the chat may get this record twice");
                    return false;
                }
                Err(error) => {
                    let pause = Backoff::default().delay(retry);
                    if Instant::now() + pause + Duration::from_secs(1) >= lease_ends {
                        tracing::error!(%error, delivery = %current.id, "cannot record a sent delivery before its lease ends; the chat may get this record twice");
                        return false;
                    }
                    tracing::warn!(%error, delivery = %current.id, "cannot record a sent delivery yet; retrying");
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
            }
        }
    }

    /// Gives the delivery back to the queue, due again after `pause`.
    async fn release(&self, current: &Delivery, pause: Duration, error: &str, refund: bool) {
        let update = DeliveryUpdate {
            attempts: refund.then(|| (current.attempts - 1).max(0)),
            next_attempt_at: Some(after(pause)),
            lease_until: Some(after(Duration::ZERO)),
            last_error: Some(error.to_owned()),
            ..Default::default()
        };
        if let Err(error) = self.update(current, "release", update).await {
            tracing::warn!(%error, delivery = %current.id, "cannot release a delivery; it is retried when its lease ends");
        }
    }

    /// Gives the delivery up and records an AuditEvent, in one packet.
    async fn dead_letter(&self, current: &Delivery, error: &str, messenger: &str) {
        let now = after(Duration::ZERO);
        let update = DeliveryUpdate {
            id: current.id.clone(),
            status: Some(DEAD.into()),
            lease_until: Some(now.clone()),
            last_error: Some(error.to_owned()),
            ..Default::default()
        };
        let details = serde_json::json!({
            "delivery": current.id,
            "record": current.record,
            "bot": current.bot,
            "subscription": current.subscription,
            "chatId": current.chat_id,
            "attempts": current.attempts,
            "lastError": error,
        });
        let audit = NewAuditEvent {
            actor_uid: "delivery-worker".into(),
            action: AuditAction::DeliverRecord.as_str().into(),
            target: Some(format!("chat:{}", current.chat_id)),
            outcome: AuditOutcome::DeadLetter.as_str().into(),
            at: now,
            details: Some(details.to_string()),
        };
        let key = self.key(current, "dead");
        match self
            .client
            .dead_letter_delivery(update, current.agg_version, audit, Some(&key))
            .await
        {
            Ok(_) => {
                self.metrics.dead_lettered(messenger);
                tracing::warn!(delivery = %current.id, chat = %current.chat_id, %error, "delivery given up (dead letter)");
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %current.id, "cannot record a dead letter; it is retried when its lease ends");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn waiting(created: chrono::DateTime<Utc>, count: usize) -> Vec<Delivery> {
        (0..count)
            .map(|index| Delivery {
                id: index.to_string(),
                agg_version: 1,
                record: index.to_string(),
                bot: "1".into(),
                subscription: "9".into(),
                chat_id: "-1".into(),
                status: "PENDING".into(),
                attempts: 0,
                parts_sent: 0,
                next_attempt_at: format_datetime(created),
                lease_owner: None,
                lease_until: None,
                last_error: None,
                created_at: format_datetime(created),
                sent_at: None,
                thread_id: None,
            })
            .collect()
    }

    fn muted(since: chrono::DateTime<Utc>, until: chrono::DateTime<Utc>) -> ChatSubscription {
        ChatSubscription {
            id: "9".into(),
            agg_version: 2,
            bot: "1".into(),
            chat_id: "-1".into(),
            subscriber_uid: None,
            min_level: "INFO".into(),
            active: true,
            created_at: format_datetime(since),
            thread_id: None,
            muted_until: Some(format_datetime(until)),
            muted_since: Some(format_datetime(since)),
        }
    }

    #[test]
    fn a_chat_gets_in_order_a_digest_or_its_mute_summary() {
        let options = WorkerOptions::from_settings(&Settings::default().delivery);
        let now = Utc::now();
        let minute = chrono::TimeDelta::minutes(1);
        assert_eq!(
            plan(&options, &waiting(now, 3), None, now),
            Some(Plan::InOrder)
        );
        let backlog = Some(Plan::Digest {
            kind: DigestKind::Backlog,
            before: None,
        });
        assert_eq!(
            plan(&options, &waiting(now, 21), None, now),
            backlog,
            "over digest_after"
        );
        assert_eq!(
            plan(&options, &waiting(now - minute * 3, 1), None, now),
            backlog,
            "waited over digest_after_wait"
        );
        let held = muted(now - minute * 10, now + minute * 50);
        assert_eq!(
            plan(&options, &waiting(now - minute, 500), Some(&held), now),
            None,
            "muted"
        );
        // Expired (or /unmute): what was queued before the end gets the summary.
        let ended = muted(now - minute * 60, now - minute);
        assert_eq!(
            plan(&options, &waiting(now - minute * 2, 2), Some(&ended), now),
            Some(Plan::Digest {
                kind: DigestKind::MuteSummary,
                before: ended.muted_until.clone(),
            })
        );
        // Queued after it ended: business as usual.
        assert_eq!(
            plan(&options, &waiting(now, 2), Some(&ended), now),
            Some(Plan::InOrder)
        );
    }
}
