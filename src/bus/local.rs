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

/// The records of one bot from one announcement (an ingest's commit, or the messages that
/// came from Redis together), in order. They are one item on the bot's channel, so that a
/// batch of any size takes one place in a listener's buffer: as one item per record, a batch
/// of more than [`LISTENER_BUFFER`] records closed every live subscriber of its bot at once.
pub type BotRecords = Arc<[Arc<str>]>;

/// The records channel split by bot.
#[derive(Default)]
struct BotChannels {
    senders: HashMap<String, broadcast::Sender<BotRecords>>,
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
    pub(super) fn bot_records(&self, bot: &str) -> broadcast::Receiver<BotRecords> {
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
        self.deliver_all(channel, [message]);
    }

    /// Delivers messages on one channel, in order; records also on their bots' channels, one
    /// item per bot.
    pub(super) fn deliver_all(&self, channel: &str, messages: impl IntoIterator<Item = Arc<str>>) {
        let mut messages = messages.into_iter().peekable();
        if messages.peek().is_none() {
            return;
        }
        let sender = self.sender(channel);
        let mut by_bot: HashMap<String, Vec<Arc<str>>> = HashMap::new();
        for message in messages {
            if channel == RECORDS_CHANNEL {
                // The record's bot is read here once, rather than by every subscriber of
                // every bot.
                if let Ok(record) = serde_json::from_str::<RecordBot>(&message) {
                    by_bot
                        .entry(record.bot.into_owned())
                        .or_default()
                        .push(message.clone());
                }
            }
            let _ = sender.send(message);
        }
        if by_bot.is_empty() {
            return;
        }
        let bots = lock(&self.bots);
        for (bot, records) in by_bot {
            if let Some(sender) = bots.senders.get(&bot) {
                let _ = sender.send(records.into());
            }
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
        let records = kept.try_recv().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(&*records[0], r#"{"bot": "kept"}"#);
    }

    #[test]
    fn a_batch_is_one_item_per_bot_in_order() {
        let channels = LocalChannels::default();
        let (mut a, mut b) = (channels.bot_records("a"), channels.bot_records("b"));
        let records: Vec<Arc<str>> = (0..2 * LISTENER_BUFFER)
            .map(|n| {
                let bot = if n % 2 == 0 { "a" } else { "b" };
                Arc::from(format!(r#"{{"bot": "{bot}", "n": {n}}}"#))
            })
            .collect();
        channels.deliver_all(RECORDS_CHANNEL, records.clone());
        for (receiver, parity) in [(&mut a, 0), (&mut b, 1)] {
            let batch = receiver.try_recv().unwrap();
            let expected: Vec<&Arc<str>> = records.iter().skip(parity).step_by(2).collect();
            assert_eq!(batch.iter().collect::<Vec<_>>(), expected);
            assert!(receiver.try_recv().is_err(), "one item per bot");
        }
    }
}
