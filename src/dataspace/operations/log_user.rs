//! `LogUser`: the generated operations of `queries/log_user.graphql` and the client's methods
//! for the users of `/send_logs`.

use super::{_DateTime, Long, Redacted, idempotency_key, required};
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::error::DataSpaceError;
use graphql_client::GraphQLQuery;

// Responses carry tokenHash, so they derive no Debug; the domain struct redacts it.
macro_rules! log_user_operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "queries/log_user.graphql",
            response_derives = "Clone, PartialEq",
            skip_serializing_none
        )]
        pub struct $name;
    };
}

log_user_operation!(SearchLogUser);
log_user_operation!(SearchLogUserByUsername);
log_user_operation!(GetLogUser);
log_user_operation!(CreateLogUser);
log_user_operation!(UpdateLogUser);
log_user_operation!(DeleteLogUser);
log_user_operation!(CreateManyLogUser);

/// A user of `/send_logs`. Debug output hides the token hash.
#[derive(Clone, PartialEq, Eq)]
pub struct LogUser {
    pub id: String,
    pub agg_version: i64,
    pub username: String,
    pub token_hash: String,
    pub telegram_id: Option<String>,
    /// The bot the user's records go to, if bound to one.
    pub bot: Option<String>,
    pub created_at: String,
}

/// A user to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewLogUser {
    pub username: String,
    pub token_hash: String,
    pub telegram_id: Option<String>,
    pub bot: Option<String>,
    pub created_at: String,
}

/// The fields of a user to change; `None` leaves a field as it is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LogUserUpdate {
    pub id: String,
    pub username: Option<String>,
    pub token_hash: Option<String>,
    pub telegram_id: Option<String>,
    pub bot: Option<String>,
    pub created_at: Option<String>,
}

impl std::fmt::Debug for LogUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogUser")
            .field("id", &self.id)
            .field("agg_version", &self.agg_version)
            .field("username", &self.username)
            .field("token_hash", &Redacted)
            .field("telegram_id", &self.telegram_id)
            .field("bot", &self.bot)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl std::fmt::Debug for NewLogUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLogUser")
            .field("username", &self.username)
            .field("token_hash", &Redacted)
            .field("telegram_id", &self.telegram_id)
            .field("bot", &self.bot)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl std::fmt::Debug for LogUserUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogUserUpdate")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("token_hash", &self.token_hash.as_ref().map(|_| Redacted))
            .field("telegram_id", &self.telegram_id)
            .field("bot", &self.bot)
            .field("created_at", &self.created_at)
            .finish()
    }
}

convert_fields!(
    LogUser, { id, agg_version, username, token_hash, telegram_id, bot, created_at }
    from search_log_user::LogUserFields,
    search_log_user_by_username::LogUserFields,
    get_log_user::LogUserFields,
    create_log_user::LogUserFields,
    update_log_user::LogUserFields,
);
convert_fields!(
    create_log_user::_CreateLogUserInput, { username, token_hash, telegram_id, bot, created_at }
    from NewLogUser
);
convert_fields!(
    create_many_log_user::_CreateLogUserInput, { username, token_hash, telegram_id, bot, created_at }
    from NewLogUser
);
convert_fields!(
    update_log_user::_UpdateLogUserInput, { id, username, token_hash, telegram_id, bot, created_at }
    from LogUserUpdate
);
sort_input!(search_log_user);

impl DataSpaceClient {
    /// The user with this username (usernames are unique), if any.
    pub async fn find_log_user_by_username(
        &self,
        username: &str,
    ) -> Result<Option<LogUser>, DataSpaceError> {
        let variables = search_log_user_by_username::Variables {
            username: username.to_owned(),
        };
        let found = self
            .run::<SearchLogUserByUsername>(variables, Retry::Safe)
            .await?;
        Ok(found
            .search_log_user
            .elems
            .into_iter()
            .next()
            .map(LogUser::from))
    }

    /// The user with this id, if any.
    pub async fn get_log_user(&self, id: &str) -> Result<Option<LogUser>, DataSpaceError> {
        let variables = get_log_user::Variables {
            id: id.to_owned(),
            fail_on_empty: false,
        };
        let data = self.run::<GetLogUser>(variables, Retry::Safe).await?;
        Ok(data
            .packet
            .and_then(|packet| packet.get_log_user)
            .map(LogUser::from))
    }

    /// Creates a user; a taken username is [`DataSpaceError::UniqueViolation`].
    pub async fn create_log_user(
        &self,
        user: NewLogUser,
        key: Option<&str>,
    ) -> Result<LogUser, DataSpaceError> {
        let variables = create_log_user::Variables {
            key: idempotency_key(key),
            input: user.into(),
        };
        let data = self.run::<CreateLogUser>(variables, Retry::Safe).await?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.create_log_user, "created user")?.into())
    }
}
