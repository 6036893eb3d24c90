//! Rate limits per bot and per chat: each key has the next instant a message may go out, and
//! taking a slot moves it one interval on (a virtual-time scheduler, GCRA without burst). Waits
//! are spread evenly instead of bursting then stalling, which is what the messengers' flood
//! control wants to see.
//!
//! The limits hold per process. Several replicas share a bot's budget only loosely; the per-chat
//! limit also holds across replicas in practice, because a chat is served by one worker at a
//! time (only its oldest pending delivery can be claimed).

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Above this many remembered chats, the ones whose slot is in the past are forgotten.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct Pacing {
    bots: Mutex<HashMap<String, Instant>>,
    chats: Mutex<HashMap<(String, String), Instant>>,
}

fn take_slot<K: std::hash::Hash + Eq>(
    slots: &Mutex<HashMap<K, Instant>>,
    key: K,
    interval: Duration,
) -> Instant {
    let mut slots = lock(slots);
    let now = Instant::now();
    if slots.len() > PRUNE_ABOVE {
        slots.retain(|_, next| *next > now);
    }
    let slot = slots.get(&key).copied().map_or(now, |next| next.max(now));
    slots.insert(key, slot + interval);
    slot
}

/// The pause between two messages at `rate` per second.
pub fn interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate)
}

impl Pacing {
    /// Waits for the chat's next slot, then the bot's.
    pub async fn wait(
        &self,
        bot: &str,
        chat: &str,
        bot_interval: Duration,
        chat_interval: Duration,
    ) {
        let chat_slot = take_slot(
            &self.chats,
            (bot.to_owned(), chat.to_owned()),
            chat_interval,
        );
        tokio::time::sleep_until(chat_slot).await;
        let bot_slot = take_slot(&self.bots, bot.to_owned(), bot_interval);
        tokio::time::sleep_until(bot_slot).await;
    }

    /// Keeps the chat quiet for `pause` (a messenger asked for it).
    pub fn hold_chat(&self, bot: &str, chat: &str, pause: Duration) {
        let mut chats = lock(&self.chats);
        // A pause too long for the clock (a bogus `retry_after`) is cut, not an overflow.
        let now = Instant::now();
        let until = now
            .checked_add(pause)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
        let next = chats
            .entry((bot.to_owned(), chat.to_owned()))
            .or_insert(until);
        *next = (*next).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_spaced_per_chat_and_per_bot() {
        let pacing = Pacing::default();
        let start = Instant::now();
        let chat = Duration::from_millis(300);
        let bot = Duration::from_millis(60);
        let near = |elapsed: Duration, want: u64| {
            let want = Duration::from_millis(want);
            elapsed >= want && elapsed < want + Duration::from_millis(50)
        };
        pacing.wait("b", "c1", bot, chat).await;
        pacing.wait("b", "c2", bot, chat).await;
        assert!(
            near(start.elapsed(), 60),
            "another chat waits only for the bot"
        );
        pacing.wait("b", "c1", bot, chat).await;
        assert!(
            near(start.elapsed(), 300),
            "the same chat waits a whole interval"
        );
        pacing.hold_chat("b", "c2", Duration::from_millis(500));
        pacing.wait("b", "c2", bot, chat).await;
        assert!(near(start.elapsed(), 800), "{:?}", start.elapsed());
        assert_eq!(interval(30.0), Duration::from_secs_f64(1.0 / 30.0));
    }
}
