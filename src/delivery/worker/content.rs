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
    pub(super) async fn parts(
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
