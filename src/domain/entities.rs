//! Bots, subscriptions, users and audit events as they are about to be stored.
//!
//! Each is built from already-parsed parts, so the storing side only maps fields. Creation
//! times come from the storing side's clock, not from here.

use crate::domain::names::{AuthToken, BotName, BotToken, ChatId, Uid};
use crate::domain::registration::{AuditAction, AuditOutcome};
use crate::domain::secrets::{hash_auth_token, hash_user_token};
use crate::domain::{FieldError, LogLevel, Messenger, UserToken};
use std::fmt;

/// Longest audit `details` or `target`, in characters; longer text is cut.
pub const MAX_AUDIT_TEXT_CHARS: usize = 1024;
/// Longest username of a `/send_logs` user, in characters.
pub const MAX_USERNAME_CHARS: usize = 128;

/// Whether a bot delivers (`Bot.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BotStatus {
    Active,
    Disabled,
}

impl BotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BotStatus::Active => "ACTIVE",
            BotStatus::Disabled => "DISABLED",
        }
    }

    /// `ACTIVE` or `DISABLED`, case-insensitive.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("ACTIVE") {
            Ok(BotStatus::Active)
        } else if text.eq_ignore_ascii_case("DISABLED") {
            Ok(BotStatus::Disabled)
        } else {
            Err(FieldError::new("status", "expected ACTIVE or DISABLED"))
        }
    }
}

impl fmt::Display for BotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bot about to be registered. Holds the hash of its auth token, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBot {
    name: BotName,
    owner_uid: Uid,
    messenger: Messenger,
    bot_token: BotToken,
    auth_token_hash: String,
    status: BotStatus,
}

impl NewBot {
    /// An active bot; the auth token is hashed here so the raw token goes no further.
    pub fn new(
        name: BotName,
        owner_uid: Uid,
        messenger: Messenger,
        bot_token: BotToken,
        auth_token: &AuthToken,
    ) -> Self {
        Self {
            name,
            owner_uid,
            messenger,
            bot_token,
            auth_token_hash: hash_auth_token(auth_token),
            status: BotStatus::Active,
        }
    }

    pub fn name(&self) -> &BotName {
        &self.name
    }

    pub fn owner_uid(&self) -> &Uid {
        &self.owner_uid
    }

    pub fn messenger(&self) -> Messenger {
        self.messenger
    }

    /// The messenger API token, needed to deliver; stored as is.
    pub fn bot_token(&self) -> &BotToken {
        &self.bot_token
    }

    pub fn auth_token_hash(&self) -> &str {
        &self.auth_token_hash
    }

    pub fn status(&self) -> BotStatus {
        self.status
    }
}

/// A chat's subscription to a bot, about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub bot: BotName,
    pub chat_id: ChatId,
    pub subscriber_uid: Option<Uid>,
    pub min_level: LogLevel,
}

impl NewSubscription {
    /// The level a new subscription starts with: everything but DEBUG.
    pub const DEFAULT_MIN_LEVEL: LogLevel = LogLevel::Info;

    pub fn new(bot: BotName, chat_id: ChatId, subscriber_uid: Option<Uid>) -> Self {
        Self {
            bot,
            chat_id,
            subscriber_uid,
            min_level: Self::DEFAULT_MIN_LEVEL,
        }
    }

    /// Whether a record of `level` is delivered to this chat.
    pub fn wants(&self, level: LogLevel) -> bool {
        level.meets(self.min_level)
    }
}

/// A `/send_logs` user about to be stored: the name and the hash of its user token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogUser {
    username: String,
    token_hash: String,
}

impl NewLogUser {
    /// From a username and the user token the client will send (`md5(username + password)`).
    pub fn new(username: &str, token: &UserToken) -> Result<Self, FieldError> {
        let username = username.trim();
        let count = username.chars().count();
        if count == 0 {
            return Err(FieldError::new("username", "must not be empty"));
        }
        if count > MAX_USERNAME_CHARS {
            return Err(FieldError::new(
                "username",
                format!("must be at most {MAX_USERNAME_CHARS} characters, got {count}"),
            ));
        }
        if username.chars().any(char::is_control) {
            return Err(FieldError::new(
                "username",
                "must not contain control characters",
            ));
        }
        Ok(Self {
            username: username.to_owned(),
            token_hash: hash_user_token(token.expose_secret()),
        })
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }
}

/// One audited attempt. Details are free text for people and must not carry tokens: build
/// them from names and reasons only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    pub actor_uid: String,
    pub action: AuditAction,
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    pub details: Option<String>,
}

impl NewAuditEvent {
    /// An event; texts are trimmed, empty ones dropped, long ones cut to
    /// [`MAX_AUDIT_TEXT_CHARS`]. The actor is kept even when it is not a valid [`Uid`]: a
    /// refused attempt is worth recording whoever made it.
    pub fn new(
        actor_uid: &str,
        action: AuditAction,
        target: Option<&str>,
        outcome: AuditOutcome,
        details: Option<&str>,
    ) -> Self {
        let clean = |text: &str| {
            let text: String = text
                .trim()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            crate::domain::record::truncate_message(&text, MAX_AUDIT_TEXT_CHARS)
        };
        let optional = |text: Option<&str>| text.map(clean).filter(|t| !t.is_empty());
        Self {
            actor_uid: clean(actor_uid),
            action,
            target: optional(target),
            outcome,
            details: optional(details),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::registration::RefusalReason;
    use crate::domain::secrets::{auth_token_matches, user_token, user_token_matches};

    #[test]
    fn new_bot_keeps_only_the_hash() {
        let token = AuthToken::parse("auth-secret-value").unwrap();
        let bot = NewBot::new(
            BotName::parse("df").unwrap(),
            Uid::parse("42").unwrap(),
            Messenger::Telegram,
            BotToken::parse("1:bot-secret-value").unwrap(),
            &token,
        );
        assert_eq!(bot.name().as_str(), "df");
        assert_eq!(bot.owner_uid().as_str(), "42");
        assert_eq!(bot.messenger(), Messenger::Telegram);
        assert_eq!(bot.status(), BotStatus::Active);
        assert_eq!(bot.bot_token().expose_secret(), "1:bot-secret-value");
        assert!(auth_token_matches(&token, bot.auth_token_hash()));
        let debug = format!("{bot:?}");
        assert!(!debug.contains("secret-value"), "{debug}");
    }

    #[test]
    fn bot_status_words() {
        assert_eq!(BotStatus::parse("active"), Ok(BotStatus::Active));
        assert_eq!(BotStatus::parse(" DISABLED "), Ok(BotStatus::Disabled));
        assert_eq!(
            BotStatus::parse("gone").unwrap_err().to_string(),
            "status: expected ACTIVE or DISABLED"
        );
        assert_eq!(BotStatus::Active.to_string(), "ACTIVE");
    }

    #[test]
    fn subscription_defaults_and_filter() {
        let sub = NewSubscription::new(
            BotName::parse("df").unwrap(),
            ChatId::parse("-100").unwrap(),
            None,
        );
        assert_eq!(sub.min_level, LogLevel::Info);
        assert!(!sub.wants(LogLevel::Debug));
        assert!(sub.wants(LogLevel::Info));
        assert!(sub.wants(LogLevel::Critical));
    }

    #[test]
    fn log_user_stores_the_token_hash() {
        let header = user_token("alice", "secret");
        let token = UserToken::parse(&header).unwrap();
        let user = NewLogUser::new(" alice ", &token).unwrap();
        assert_eq!(user.username(), "alice");
        assert!(user_token_matches(&header, user.token_hash()));
        assert_eq!(
            NewLogUser::new(" ", &token).unwrap_err().to_string(),
            "username: must not be empty"
        );
        assert!(NewLogUser::new(&"u".repeat(129), &token).is_err());
        assert!(NewLogUser::new("a\u{0}", &token).is_err());
        assert!(!format!("{token:?}").contains(&header));
    }

    #[test]
    fn audit_event_cleans_text() {
        let event = NewAuditEvent::new(
            " 42 ",
            AuditAction::RegisterBot,
            Some("df"),
            AuditOutcome::Refused(RefusalReason::NotAnAdmin),
            Some("  "),
        );
        assert_eq!(event.actor_uid, "42");
        assert_eq!(event.target.as_deref(), Some("df"));
        assert_eq!(event.details, None);
        assert_eq!(event.outcome.as_str(), "refused:not_an_admin");

        let long = NewAuditEvent::new(
            "x\ny",
            AuditAction::SubscribeChat,
            None,
            AuditOutcome::Accepted,
            Some(&"d".repeat(5000)),
        );
        assert_eq!(long.actor_uid, "x y");
        assert_eq!(long.details.unwrap().chars().count(), MAX_AUDIT_TEXT_CHARS);
    }
}
