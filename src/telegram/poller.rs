//! Updates by long polling, and which bots this replica reads.
//!
//! A supervisor lists the bots to serve every `[telegram] rescan_ms`, and at once when a bot is
//! registered (announced on the bus). In polling mode it claims a lease per bot on the bus
//! (`SET NX PX` on Redis, in-process without), so that exactly one replica polls each bot
//! (Telegram answers 409 to a second poller); the holder renews it every third of
//! `lease_ms` and stops polling the moment a renewal finds it lost. The bots of a replica that
//! died are claimed by another at its next scan after their leases lapse. In webhook mode it
//! sets each new bot's webhook instead.

use super::door::{Door, ServedBot};
use super::webhook;
use crate::bus::{BOTS_CHANNEL, Claim};
use crate::config::TelegramUpdates;
use crate::request_id;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Updates asked for per `getUpdates`.
const UPDATES_PER_POLL: usize = 100;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A bot this replica polls.
struct Polling {
    token: String,
    stop: Arc<watch::Sender<bool>>,
    task: JoinHandle<()>,
}

/// The running supervisor; [`Supervisor::stop`] ends it and its pollers, giving their leases up.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    pub fn start(door: Arc<Door>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(supervise(door, stopped));
        Self { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        // A poller finishes the update in hand; bounded, since shutdown must not hang.
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

async fn supervise(door: Arc<Door>, mut stopped: watch::Receiver<bool>) {
    let mut announced = door.service.bus().subscribe(BOTS_CHANNEL);
    let mut polling: HashMap<String, Polling> = HashMap::new();
    let mut webhooks: HashSet<(String, String)> = HashSet::new();
    loop {
        let scan = request_id::background("telegram-scan");
        match request_id::within(scan, door.served_bots()).await {
            Ok(bots) => match door.settings.updates {
                TelegramUpdates::Polling => rescan(&door, &mut polling, bots).await,
                TelegramUpdates::Webhook => set_webhooks(&door, &mut webhooks, bots).await,
                TelegramUpdates::Off => return,
            },
            Err(error) => {
                tracing::warn!(%error, "Telegram: cannot list the bots; keeping the ones served")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(door.settings.rescan) => {}
            // A registration anywhere (or a lagged listener: rescan anyway).
            _ = announced.recv() => {}
            _ = stopped.changed() => break,
        }
    }
    for (_, bot) in polling.drain() {
        let _ = bot.stop.send(true);
        let _ = bot.task.await;
    }
}

/// Stops polling the bots gone (or whose token changed), forgets pollers that ended, and
/// claims the leases of the bots nobody polls.
async fn rescan(door: &Arc<Door>, polling: &mut HashMap<String, Polling>, bots: Vec<ServedBot>) {
    let wanted: HashMap<&str, &ServedBot> =
        bots.iter().map(|bot| (bot.key.as_str(), bot)).collect();
    let gone: Vec<String> = polling
        .iter()
        .filter(|(key, running)| {
            running.task.is_finished()
                || wanted
                    .get(key.as_str())
                    .is_none_or(|bot| bot.token != running.token)
        })
        .map(|(key, _)| key.clone())
        .collect();
    for key in gone {
        if let Some(running) = polling.remove(&key) {
            let _ = running.stop.send(true);
            let _ = running.task.await;
        }
    }
    for bot in bots {
        if polling.contains_key(&bot.key) {
            continue;
        }
        let lease = door.settings.lease;
        let Some(claim) = door
            .service
            .bus()
            .claim(&format!("telegram.poll.{}", bot.key), lease)
            .await
        else {
            continue; // another replica polls it
        };
        tracing::info!(bot = %bot.path, "Telegram: polling this bot");
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let token = bot.token.clone();
        let key = bot.key.clone();
        let task = tokio::spawn(leased(door.clone(), bot, claim, stop.clone(), stopped));
        polling.insert(key, Polling { token, stop, task });
    }
}

async fn set_webhooks(door: &Door, set: &mut HashSet<(String, String)>, bots: Vec<ServedBot>) {
    for bot in bots {
        let id = (bot.key.clone(), bot.token.clone());
        if set.contains(&id) {
            continue;
        }
        match webhook::set(door, &bot).await {
            Ok(()) => {
                tracing::info!(bot = %bot.path, "Telegram: webhook set");
                set.insert(id);
            }
            Err(error) => {
                tracing::warn!(%error, bot = %bot.path, "Telegram: cannot set the webhook; retrying at the next scan")
            }
        }
    }
}

/// Polls `bot` while the lease holds and nobody stops it, then gives the lease up.
async fn leased(
    door: Arc<Door>,
    bot: ServedBot,
    claim: Claim,
    stop: Arc<watch::Sender<bool>>,
    stopped: watch::Receiver<bool>,
) {
    let bus = door.service.bus().clone();
    let lease = door.settings.lease;
    let renew = async {
        loop {
            tokio::time::sleep(lease / 3).await;
            if !bus.renew(&claim, lease).await {
                tracing::warn!(bot = %bot.path, "Telegram: lost the polling lease; another replica polls this bot now");
                let _ = stop.send(true);
                return;
            }
        }
    };
    let poll = poll(&door, &bot, stopped);
    tokio::pin!(poll);
    tokio::select! {
        _ = &mut poll => {}
        // Lost: the poller sees the stop and ends after the update in hand.
        _ = renew => poll.await,
    }
    bus.release(claim).await;
}

/// Long polling of one bot until `stopped`: updates are handled in order, each committed.
async fn poll(door: &Door, bot: &ServedBot, mut stopped: watch::Receiver<bool>) {
    let mut backoff = Duration::from_secs(1);
    let pause = |backoff: &mut Duration| {
        let now = *backoff;
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        now
    };
    let me = loop {
        match door.me(bot).await {
            Ok(me) => break me,
            Err(error) if error.bad_token() => {
                tracing::error!(%error, bot = %bot.path, "Telegram: the bot token is refused; not polling it");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, bot = %bot.path, "Telegram: getMe failed; retrying");
                if wait(&mut stopped, error.pause(pause(&mut backoff))).await {
                    return;
                }
            }
        }
    };
    if let Err(error) = door.api.delete_webhook(&bot.token).await {
        tracing::warn!(%error, bot = %bot.path, "Telegram: deleteWebhook failed");
    }
    if let Err(error) = door.api.set_my_commands(&bot.token).await {
        tracing::warn!(%error, bot = %bot.path, "Telegram: setMyCommands failed");
    }
    let mut offset = loop {
        let start = request_id::background("telegram-poll");
        let stored = door.service.client().telegram_offset(&bot.key);
        match request_id::within(start, stored).await {
            Ok(offset) => break offset.unwrap_or(0),
            Err(error) => {
                tracing::warn!(%error, bot = %bot.path, "Telegram: cannot read the stored offset; retrying");
                if wait(&mut stopped, pause(&mut backoff)).await {
                    return;
                }
            }
        }
    };
    backoff = Duration::from_secs(1);
    while !*stopped.borrow() {
        let updates = tokio::select! {
            updates = door.api.get_updates(&bot.token, offset, door.settings.poll_timeout, UPDATES_PER_POLL) => updates,
            _ = stopped.changed() => return,
        };
        let updates = match updates {
            Ok(updates) => updates,
            Err(error) => {
                tracing::warn!(%error, bot = %bot.path, "Telegram: getUpdates failed");
                if error.bad_token() || wait(&mut stopped, error.pause(pause(&mut backoff))).await {
                    return;
                }
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        for update in &updates {
            // One id per update (its retries too): its DataSpace calls send it.
            let handled = handle_in_order(door, bot, &me, update, offset, &mut stopped);
            match request_id::within(request_id::background("telegram-update"), handled).await {
                Some(next) => offset = offset.max(next),
                None => return,
            }
        }
    }
}

/// Handles one update, retrying while DataSpace is unavailable; the offset after it, or
/// `None` when stopped first (the update stays unconfirmed, for the next poller).
async fn handle_in_order(
    door: &Door,
    bot: &ServedBot,
    me: &super::update::Me,
    update: &Value,
    offset: i64,
    stopped: &mut watch::Receiver<bool>,
) -> Option<i64> {
    let Some(id) = super::update::update_id(update) else {
        return Some(offset);
    };
    if id < offset {
        return Some(offset); // already handled: the stored offset is past it
    }
    let mut backoff = Duration::from_secs(1);
    loop {
        if *stopped.borrow() {
            return None;
        }
        match door.handle(bot, me, update).await {
            Ok(()) => return Some(id + 1),
            Err(error) => {
                tracing::warn!(%error, bot = %bot.path, update_id = id, "Telegram: update not handled; retrying");
                if wait(stopped, backoff).await {
                    return None;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Sleeps `pause`; true when stopped meanwhile.
async fn wait(stopped: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => *stopped.borrow(),
        _ = stopped.changed() => true,
    }
}
