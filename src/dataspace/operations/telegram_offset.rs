//! `TelegramOffset`: the generated operations of `queries/telegram_offset.graphql` and the
//! client's methods for the durable `getUpdates` offset of each Telegram bot.

use super::{_DateTime, Long, idempotency_key, now, required};
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::error::DataSpaceError;
use graphql_client::GraphQLQuery;

macro_rules! telegram_offset_operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "queries/telegram_offset.graphql",
            response_derives = "Debug, Clone, PartialEq",
            skip_serializing_none
        )]
        pub struct $name;
    };
}

telegram_offset_operation!(SearchTelegramOffsetByBotId);
telegram_offset_operation!(CreateTelegramOffset);
telegram_offset_operation!(UpdateTelegramOffset);

impl DataSpaceClient {
    /// The stored offset of a Telegram bot (its id, the token's part before the colon) and
    /// the row's id, if one was ever committed.
    async fn telegram_offset_row(
        &self,
        bot_id: &str,
    ) -> Result<Option<(String, i64)>, DataSpaceError> {
        let variables = search_telegram_offset_by_bot_id::Variables {
            bot_id: bot_id.to_owned(),
        };
        let found = self
            .run::<SearchTelegramOffsetByBotId>(variables, Retry::Safe)
            .await?;
        Ok(found
            .search_telegram_offset
            .elems
            .into_iter()
            .next()
            .map(|row| (row.id, row.offset)))
    }

    /// The next `getUpdates` offset of a Telegram bot: every update below it was handled.
    pub async fn telegram_offset(&self, bot_id: &str) -> Result<Option<i64>, DataSpaceError> {
        Ok(self
            .telegram_offset_row(bot_id)
            .await?
            .map(|(_, offset)| offset))
    }

    /// Records that every update of `bot_id` below `offset` was handled. An offset never moves
    /// back: committing a lower one than stored leaves the stored one.
    pub async fn commit_telegram_offset(
        &self,
        bot_id: &str,
        offset: i64,
    ) -> Result<(), DataSpaceError> {
        // Two tries: a first commit racing another replica's first commit loses the unique
        // botId to it, and then updates the row that replica created.
        for _ in 0..2 {
            match self.telegram_offset_row(bot_id).await? {
                Some((_, stored)) if stored >= offset => return Ok(()),
                Some((id, _)) => {
                    let variables = update_telegram_offset::Variables {
                        key: idempotency_key(None),
                        input: update_telegram_offset::_UpdateTelegramOffsetInput {
                            id,
                            bot_id: None,
                            offset: Some(offset),
                            updated_at: Some(now()),
                        },
                    };
                    let data = self
                        .run::<UpdateTelegramOffset>(variables, Retry::Safe)
                        .await?;
                    required(
                        required(data.packet, "packet")?.update_telegram_offset,
                        "updated offset",
                    )?;
                    return Ok(());
                }
                None => {
                    let variables = create_telegram_offset::Variables {
                        key: idempotency_key(None),
                        input: create_telegram_offset::_CreateTelegramOffsetInput {
                            bot_id: bot_id.to_owned(),
                            offset,
                            updated_at: now(),
                        },
                    };
                    match self
                        .run::<CreateTelegramOffset>(variables, Retry::Safe)
                        .await
                    {
                        Ok(data) => {
                            required(
                                required(data.packet, "packet")?.create_telegram_offset,
                                "created offset",
                            )?;
                            return Ok(());
                        }
                        Err(DataSpaceError::UniqueViolation(_)) => continue,
                        Err(other) => return Err(other),
                    }
                }
            }
        }
        Err(DataSpaceError::Invalid(format!(
            "the offset of Telegram bot {bot_id} could not be committed"
        )))
    }
}
