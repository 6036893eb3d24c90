//! The in-process fan-out: one bounded `broadcast` channel per channel name.

use super::LISTENER_BUFFER;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

#[derive(Default)]
pub(super) struct LocalChannels {
    senders: Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>,
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

    pub(super) fn deliver(&self, channel: &str, message: Arc<str>) {
        let _ = self.sender(channel).send(message);
    }

    /// Delivers messages on one channel, in order.
    pub(super) fn deliver_all(&self, channel: &str, messages: &[String]) {
        let sender = self.sender(channel);
        for message in messages {
            let _ = sender.send(Arc::from(message.as_str()));
        }
    }
}
