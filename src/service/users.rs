//! Users of the `/send_logs` door: created with a password, stored as a hash of the token
//! their client sends, checked in constant time.

use super::{LogbotService, ServiceError};
use crate::dataspace::DataSpaceError;
use crate::dataspace::operations::LogUser;
use crate::domain::{NewLogUser, UserToken, secrets};

const MIN_PASSWORD_CHARS: usize = 8;

impl LogbotService {
    /// Creates a user whose LoggerBot client will send `md5(username + password)`.
    pub async fn create_log_user(
        &self,
        username: &str,
        password: &str,
        bot: Option<&str>,
    ) -> Result<LogUser, ServiceError> {
        let username = NewLogUser::check_username(username)?;
        let max = self.limits.password_chars;
        // Counted on bytes first, so a huge password is refused without walking it.
        if password.len() < MIN_PASSWORD_CHARS
            || password.len() > 4 * max
            || !(MIN_PASSWORD_CHARS..=max).contains(&password.chars().count())
        {
            return Err(ServiceError::invalid(
                "password",
                format!(
                    "must be {MIN_PASSWORD_CHARS} to {max} characters ([limits] password_chars)"
                ),
            ));
        }
        let bot_id = match bot {
            Some(name) => Some(self.require_bot(name).await?.id),
            None => None,
        };
        let token = UserToken::parse(&secrets::user_token(username, password))?;
        let user = NewLogUser::new(username, &token)?;
        self.client
            .create_log_user(super::rows::log_user(&user, bot_id), None)
            .await
            .map_err(|error| match error {
                DataSpaceError::UniqueViolation(_) => ServiceError::AlreadyExists {
                    field: "username".into(),
                    message: format!("a user named {username:?} already exists"),
                },
                other => other.into(),
            })
    }

    /// The user whose client sent this token, or None; the lookup is by exact username (a
    /// bound value) and the token is compared against the stored hash in constant time.
    pub async fn authenticate_log_user(
        &self,
        username: &str,
        token: &str,
    ) -> Result<Option<LogUser>, ServiceError> {
        // A name no user can have is looked up no further.
        if NewLogUser::check_username(username) != Ok(username) {
            return Ok(None);
        }
        let Some(user) = self.client.cached_log_user_by_username(username).await? else {
            return Ok(None);
        };
        Ok(secrets::user_token_matches(token, &user.token_hash).then_some(user))
    }
}
