//! The one bot cache: bots are read on every ingest, command and delivery and change rarely,
//! so a found bot is reused for a few seconds, by id and by name. It lives in the client, so
//! the service and the delivery worker (which get clones of one client) share it.

use super::operations::Bot;
use super::{DataSpaceClient, DataSpaceError};
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

// Kept as long as the other cached reads: a changed status or token is seen soon.
use super::read_cache::{CAPACITY, TTL};

/// Found bots only, so a new bot is seen at once.
#[derive(Debug, Default)]
pub struct BotCache {
    by_id: Mutex<HashMap<String, (Instant, Bot)>>,
    /// Name to id; the bot itself is the `by_id` entry.
    ids_by_name: Mutex<HashMap<String, String>>,
}

impl BotCache {
    fn by_id(&self, id: &str) -> Option<Bot> {
        lock(&self.by_id)
            .get(id)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, bot)| bot.clone())
    }

    fn by_name(&self, name: &str) -> Option<Bot> {
        let id = lock(&self.ids_by_name).get(name).cloned()?;
        self.by_id(&id).filter(|bot| bot.name == name)
    }

    fn put(&self, bot: &Bot) {
        let mut by_id = lock(&self.by_id);
        let mut ids_by_name = lock(&self.ids_by_name);
        if by_id.len() >= CAPACITY {
            by_id.retain(|_, (at, _)| at.elapsed() < TTL);
            if by_id.len() >= CAPACITY {
                by_id.clear();
            }
            ids_by_name.retain(|_, id| by_id.contains_key(id));
        }
        by_id.insert(bot.id.clone(), (Instant::now(), bot.clone()));
        ids_by_name.insert(bot.name.clone(), bot.id.clone());
    }
}

impl DataSpaceClient {
    /// The bot of this id, from the cache while it is fresh.
    pub async fn cached_bot(&self, id: &str) -> Result<Option<Bot>, DataSpaceError> {
        if let Some(bot) = self.bots.by_id(id) {
            return Ok(Some(bot));
        }
        let found = self.get_bot(id).await?;
        if let Some(bot) = &found {
            self.bots.put(bot);
        }
        Ok(found)
    }

    /// The bot of this name, from the cache while it is fresh.
    pub async fn cached_bot_by_name(&self, name: &str) -> Result<Option<Bot>, DataSpaceError> {
        if let Some(bot) = self.bots.by_name(name) {
            return Ok(Some(bot));
        }
        let found = self.find_bot_by_name(name).await?;
        if let Some(bot) = &found {
            self.bots.put(bot);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(id: &str, name: &str) -> Bot {
        Bot {
            id: id.into(),
            agg_version: 1,
            name: name.into(),
            owner_uid: "1".into(),
            messenger: "TELEGRAM".into(),
            bot_token: "1:t".into(),
            auth_token_hash: "h".into(),
            created_at: "2026-12-01T00:00:00.000".into(),
            status: "ACTIVE".into(),
        }
    }

    #[test]
    fn a_bot_is_found_by_id_and_by_name() {
        let cache = BotCache::default();
        assert!(cache.by_id("1").is_none());
        cache.put(&bot("1", "df"));
        assert_eq!(cache.by_id("1").unwrap().name, "df");
        assert_eq!(cache.by_name("df").unwrap().id, "1");
        assert!(cache.by_name("other").is_none());
        // Renamed: the old name no longer finds it.
        cache.put(&bot("1", "renamed"));
        assert!(cache.by_name("df").is_none());
        assert_eq!(cache.by_name("renamed").unwrap().id, "1");
    }
}
