//! `Bot`: the generated operations of `queries/bot.graphql` and the client's bot methods.

use super::{_DateTime, Long, Page, Redacted, idempotency_key, required};
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::error::DataSpaceError;
use graphql_client::GraphQLQuery;

// Bot responses carry botToken, so they derive no Debug; the domain struct redacts it.
macro_rules! bot_operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "queries/bot.graphql",
            response_derives = "Clone, PartialEq",
            skip_serializing_none
        )]
        pub struct $name;
    };
}

bot_operation!(SearchBot);
bot_operation!(SearchBotByName);
bot_operation!(SearchBotByAuthTokenHash);
bot_operation!(SearchBotsByOwner);
bot_operation!(SearchBotsAfter);
bot_operation!(SearchBotsOfOwnerAfter);
bot_operation!(GetBot);
bot_operation!(CreateBot);
bot_operation!(UpdateBot);
bot_operation!(DeleteBot);
bot_operation!(CreateManyBot);

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema.graphql",
    query_path = "queries/bot.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct Ping;

/// A chat bot as stored. Debug output hides the bot token and the auth token hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Bot {
    pub id: String,
    pub agg_version: i64,
    pub name: String,
    pub owner_uid: String,
    pub messenger: String,
    pub bot_token: String,
    pub auth_token_hash: String,
    pub created_at: String,
    pub status: String,
}

/// A bot to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewBot {
    pub name: String,
    pub owner_uid: String,
    pub messenger: String,
    pub bot_token: String,
    pub auth_token_hash: String,
    pub created_at: String,
    pub status: String,
}

/// The fields of a bot to change; `None` leaves a field as it is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BotUpdate {
    pub id: String,
    pub name: Option<String>,
    pub owner_uid: Option<String>,
    pub messenger: Option<String>,
    pub bot_token: Option<String>,
    pub auth_token_hash: Option<String>,
    pub created_at: Option<String>,
    pub status: Option<String>,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("id", &self.id)
            .field("agg_version", &self.agg_version)
            .field("name", &self.name)
            .field("owner_uid", &self.owner_uid)
            .field("messenger", &self.messenger)
            .field("bot_token", &Redacted)
            .field("auth_token_hash", &Redacted)
            .field("created_at", &self.created_at)
            .field("status", &self.status)
            .finish()
    }
}

impl std::fmt::Debug for NewBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewBot")
            .field("name", &self.name)
            .field("owner_uid", &self.owner_uid)
            .field("messenger", &self.messenger)
            .field("bot_token", &Redacted)
            .field("auth_token_hash", &Redacted)
            .field("created_at", &self.created_at)
            .field("status", &self.status)
            .finish()
    }
}

impl std::fmt::Debug for BotUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |value: &Option<String>| value.as_ref().map(|_| Redacted);
        f.debug_struct("BotUpdate")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("owner_uid", &self.owner_uid)
            .field("messenger", &self.messenger)
            .field("bot_token", &secret(&self.bot_token))
            .field("auth_token_hash", &secret(&self.auth_token_hash))
            .field("created_at", &self.created_at)
            .field("status", &self.status)
            .finish()
    }
}

convert_fields!(
    Bot, { id, agg_version, name, owner_uid, messenger, bot_token, auth_token_hash, created_at, status }
    from search_bot::BotFields,
    search_bot_by_name::BotFields,
    search_bot_by_auth_token_hash::BotFields,
    search_bots_by_owner::BotFields,
    search_bots_after::BotFields,
    search_bots_of_owner_after::BotFields,
    get_bot::BotFields,
    create_bot::BotFields,
    update_bot::BotFields,
);
convert_fields!(
    create_bot::_CreateBotInput, { name, owner_uid, messenger, bot_token, auth_token_hash, created_at, status }
    from NewBot
);
convert_fields!(
    create_many_bot::_CreateBotInput, { name, owner_uid, messenger, bot_token, auth_token_hash, created_at, status }
    from NewBot
);
convert_fields!(
    update_bot::_UpdateBotInput, { id, name, owner_uid, messenger, bot_token, auth_token_hash, created_at, status }
    from BotUpdate
);
sort_input!(search_bot);

impl DataSpaceClient {
    /// Readiness: one unretried read that proves DataSpace answers and accepts the signature.
    pub async fn ping(&self) -> Result<(), DataSpaceError> {
        self.run::<Ping>(ping::Variables, Retry::Never).await?;
        Ok(())
    }

    /// The bot with this name (names are unique), if any.
    pub async fn find_bot_by_name(&self, name: &str) -> Result<Option<Bot>, DataSpaceError> {
        let variables = search_bot_by_name::Variables {
            name: name.to_owned(),
        };
        let found = self.run::<SearchBotByName>(variables, Retry::Safe).await?;
        Ok(found.search_bot.elems.into_iter().next().map(Bot::from))
    }

    /// The bot whose `authTokenHash` is exactly `hash`, if any. The caller hashes the token it
    /// was given; the lookup cannot match anything but that value.
    pub async fn find_bot_by_auth_token_hash(
        &self,
        hash: &str,
    ) -> Result<Option<Bot>, DataSpaceError> {
        let variables = search_bot_by_auth_token_hash::Variables {
            hash: hash.to_owned(),
        };
        let found = self
            .run::<SearchBotByAuthTokenHash>(variables, Retry::Safe)
            .await?;
        Ok(found.search_bot.elems.into_iter().next().map(Bot::from))
    }

    /// Up to `limit` bots registered after the bot with id `after` (0 = from the start),
    /// optionally only one owner's, in registration order. `count` is how many follow `after`.
    pub async fn find_bots_page(
        &self,
        owner_uid: Option<&str>,
        limit: i64,
        after: Option<i64>,
    ) -> Result<Page<Bot>, DataSpaceError> {
        let after = after.unwrap_or(0);
        let found = match owner_uid {
            Some(owner_uid) => {
                let variables = search_bots_of_owner_after::Variables {
                    owner_uid: owner_uid.to_owned(),
                    after,
                    limit,
                };
                let found = self
                    .run::<SearchBotsOfOwnerAfter>(variables, Retry::Safe)
                    .await?
                    .search_bot;
                Page::convert(found.elems, found.count)
            }
            None => {
                let variables = search_bots_after::Variables { after, limit };
                let found = self
                    .run::<SearchBotsAfter>(variables, Retry::Safe)
                    .await?
                    .search_bot;
                Page::convert(found.elems, found.count)
            }
        };
        Ok(found)
    }

    /// How many bots there are, or how many one owner has.
    pub async fn count_bots(&self, owner_uid: Option<&str>) -> Result<i64, DataSpaceError> {
        Ok(self.find_bots_page(owner_uid, 0, None).await?.count)
    }

    /// The bot with this id, if any.
    pub async fn get_bot(&self, id: &str) -> Result<Option<Bot>, DataSpaceError> {
        let variables = get_bot::Variables {
            id: id.to_owned(),
            fail_on_empty: false,
        };
        let data = self.run::<GetBot>(variables, Retry::Safe).await?;
        Ok(data.packet.and_then(|packet| packet.get_bot).map(Bot::from))
    }

    /// Creates a bot; a taken name is [`DataSpaceError::UniqueViolation`].
    pub async fn create_bot(&self, bot: NewBot, key: Option<&str>) -> Result<Bot, DataSpaceError> {
        let variables = create_bot::Variables {
            key: idempotency_key(key),
            input: bot.into(),
        };
        let data = self.run::<CreateBot>(variables, Retry::Safe).await?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.create_bot, "created bot")?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_tokens() {
        let bot = Bot {
            id: "1".into(),
            agg_version: 1,
            name: "df".into(),
            owner_uid: "u1".into(),
            messenger: "telegram".into(),
            bot_token: "123456:SECRET-BOT-TOKEN".into(),
            auth_token_hash: "HASH-VALUE".into(),
            created_at: "2024-01-01T00:00:00.000".into(),
            status: "active".into(),
        };
        let text = format!("{bot:?}");
        assert!(
            !text.contains("SECRET-BOT-TOKEN") && !text.contains("HASH-VALUE"),
            "{text}"
        );
        assert!(text.contains("df"));
        let update = BotUpdate {
            id: "1".into(),
            bot_token: Some("SECRET-BOT-TOKEN".into()),
            ..Default::default()
        };
        let text = format!("{update:?}");
        assert!(
            !text.contains("SECRET-BOT-TOKEN") && text.contains("redacted"),
            "{text}"
        );
    }
}
