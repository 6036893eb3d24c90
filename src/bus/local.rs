//! The in-process fan-out: one bounded `broadcast` channel per channel name, and on the records
//! channel one more per bot, so that a record wakes only the subscribers of its bot.

use super::{LISTENER_BUFFER, RECORDS_CHANNEL};
use crate::sync::lock;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Bots' channels kept before those nobody listens to any more are dropped (at least; then
/// whenever the map has doubled since).
const BOT_CHANNELS_BEFORE_PRUNING: usize = 64;

#[derive(Default)]
pub(super) struct LocalChannels {
    senders: Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>,
    bots: Mutex<BotChannels>,
}

/// The records channel split by bot.
#[derive(Default)]
struct BotChannels {
    senders: HashMap<String, broadcast::Sender<Arc<str>>>,
    /// The size at which the map is next pruned.
    prune_at: usize,
}

/// What routes a record (JSON of `service::StoredRecord`) to its bot's channel.
#[derive(serde::Deserialize)]
struct RecordBot<'a> {
    #[serde(borrow)]
    bot: Cow<'a, str>,
}

impl LocalChannels {
    pub(super) fn sender(&self, channel: &str) -> broadcast::Sender<Arc<str>> {
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

    /// Listens to the records of `bot` from now on.
    pub(super) fn bot_records(&self, bot: &str) -> broadcast::Receiver<Arc<str>> {
        let mut bots = lock(&self.bots);
        if let Some(sender) = bots.senders.get(bot) {
            return sender.subscribe();
        }
        if bots.senders.len() >= bots.prune_at {
            bots.senders.retain(|_, sender| sender.receiver_count() > 0);
            bots.prune_at = (bots.senders.len() * 2).max(BOT_CHANNELS_BEFORE_PRUNING);
        }
        let sender = broadcast::channel(LISTENER_BUFFER).0;
        let receiver = sender.subscribe();
        bots.senders.insert(bot.to_owned(), sender);
        receiver
    }

    pub(super) fn deliver(&self, channel: &str, message: Arc<str>) {
        if channel == RECORDS_CHANNEL {
            self.deliver_to_bot(&message);
        }
        let _ = self.sender(channel).send(message);
    }

    /// Delivers messages on one channel, in order.
    pub(super) fn deliver_all(&self, channel: &str, messages: &[String]) {
        let sender = self.sender(channel);
        for message in messages {
            let message = Arc::<str>::from(message.as_str());
            if channel == RECORDS_CHANNEL {
                self.deliver_to_bot(&message);
            }
            let _ = sender.send(message);
        }
    }

    /// The record's bot is read here once, rather than by every subscriber of every bot.
    fn deliver_to_bot(&self, message: &Arc<str>) {
        let Ok(record) = serde_json::from_str::<RecordBot>(message) else {
            return;
        };
        let sender = lock(&self.bots).senders.get(&*record.bot).cloned();
        if let Some(sender) = sender {
            let _ = sender.send(message.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_of_bots_nobody_listens_to_are_dropped() {
        let channels = LocalChannels::default();
        let mut kept = channels.bot_records("kept");
        for n in 0..10 * BOT_CHANNELS_BEFORE_PRUNING {
            drop(channels.bot_records(&format!("gone{n}")));
        }
        let held = lock(&channels.bots).senders.len();
        assert!(
            held <= 2 * BOT_CHANNELS_BEFORE_PRUNING,
            "{held} channels held"
        );
        channels.deliver(RECORDS_CHANNEL, Arc::from(r#"{"bot": "kept"}"#));
        assert_eq!(&*kept.try_recv().unwrap(), r#"{"bot": "kept"}"#);
    }
}
