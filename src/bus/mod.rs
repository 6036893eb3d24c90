//! Live fan-out of messages (committed records, normalized chat events) to whoever listens in
//! this process. In-process by default; with Redis configured, messages published on any
//! replica reach the listeners of every replica.
//!
//! Listeners get a bounded `broadcast` receiver: a listener that falls behind loses the oldest
//! messages and is told so (`RecvError::Lagged`), so a slow consumer cannot grow memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// The channel committed log records are published on (JSON of `service::StoredRecord`).
pub const RECORDS_CHANNEL: &str = "records";

/// Messages each listener may fall behind before it starts losing them.
pub const LISTENER_BUFFER: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// A message bus handle; cheap to clone.
#[derive(Clone, Default)]
pub struct Bus {
    local: Arc<LocalChannels>,
}

#[derive(Default)]
struct LocalChannels {
    senders: Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>,
}

impl LocalChannels {
    fn sender(&self, channel: &str) -> broadcast::Sender<Arc<str>> {
        let mut senders = self
            .senders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        senders
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(LISTENER_BUFFER).0)
            .clone()
    }
}

impl Bus {
    /// A bus that reaches listeners in this process only.
    pub fn in_process() -> Self {
        Self::default()
    }

    /// Publishes a message on a channel. With no listener it is dropped, by design: the bus is
    /// for live fan-out, not storage.
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), BusError> {
        let _ = self.local.sender(channel).send(Arc::from(message));
        Ok(())
    }

    /// Listens on a channel from now on.
    pub fn subscribe(&self, channel: &str) -> broadcast::Receiver<Arc<str>> {
        self.local.sender(channel).subscribe()
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
}
