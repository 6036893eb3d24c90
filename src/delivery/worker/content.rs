//! What a delivery sends: the bot it goes out through (from the client's bot cache) and its
//! record, rendered once for that bot.

// The worker's types, imports and helpers: this is its own code, in a file of its own.
use super::*;

impl Inner {
    /// The bot a delivery goes out through, from the client's bot cache; `None` when it is
    /// gone or its messenger cannot be read.
    pub(super) async fn bot(&self, id: &str) -> Result<Option<SendingBot>, DataSpaceError> {
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
    /// The chats a record goes to ask for it at once: the first reads and renders it, the
    /// others wait for its parts (one read per record, not one per chat).
    pub(super) async fn parts(
        &self,
        id: &str,
        bot: &SendingBot,
    ) -> Result<Option<Arc<[String]>>, DataSpaceError> {
        let cell = {
            let mut rendered = lock(&self.rendered);
            match rendered.get(id) {
                Some(cell) if cell.get().is_none_or(|found| found.is_for(bot)) => cell.clone(),
                _ => {
                    if rendered.len() >= RECORD_CACHE_LIMIT {
                        rendered.clear();
                    }
                    let cell = Arc::new(RenderedCell::new());
                    rendered.insert(id.to_owned(), cell.clone());
                    cell
                }
            }
        };
        let read = cell
            .get_or_try_init(|| async {
                match self.client.get_log_record(id).await {
                    Ok(Some(record)) => Ok(Rendered {
                        messenger: bot.messenger,
                        bot_name: bot.name.clone(),
                        parts: message::render(bot.messenger, &bot.name, &record).into(),
                    }),
                    // Not kept: the cell stays empty, and the next chat reads again.
                    Ok(None) => Err(None),
                    Err(error) => Err(Some(error)),
                }
            })
            .await;
        match read {
            // Rendered for another name or messenger while this one waited (a bot renamed
            // between two chats' sends): render it once more, for this bot, uncached.
            Ok(found) if !found.is_for(bot) => Ok(self
                .client
                .get_log_record(id)
                .await?
                .map(|record| message::render(bot.messenger, &bot.name, &record).into())),
            Ok(found) => Ok(Some(found.parts.clone())),
            Err(None) => Ok(None),
            Err(Some(error)) => Err(error),
        }
    }

    /// Sends one delivery: claim, send each part not yet accepted, record the outcome.
    /// The bot a delivery goes out through and the parts of its record; a delivery whose bot
    /// or record is gone is a dead letter (`Err(Flow::Next)`), and a DataSpace failure stops
    /// this chat for now (`Err(Flow::Stop)`).
    pub(super) async fn what_to_send(
        &self,
        delivery: &Delivery,
    ) -> Result<(SendingBot, Arc<[String]>), Flow> {
        let bot = match self.bot(&delivery.bot).await {
            Ok(Some(bot)) => bot,
            Ok(None) => {
                self.dead_letter(
                    delivery,
                    "the bot no longer exists or has no known messenger",
                    "unknown",
                )
                .await;
                return Err(Flow::Next);
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %delivery.id, "cannot read the delivery's bot");
                return Err(Flow::Stop);
            }
        };
        let messenger = label(bot.messenger);
        let parts = match self.parts(&delivery.record, &bot).await {
            Ok(Some(parts)) => parts,
            Ok(None) => {
                self.dead_letter(delivery, "the record no longer exists", messenger)
                    .await;
                return Err(Flow::Next);
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %delivery.id, "cannot read the delivery's record");
                return Err(Flow::Stop);
            }
        };
        Ok((bot, parts))
    }
}
