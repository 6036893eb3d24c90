//! Bots, users and audit events as they are about to be stored.
//!
//! Each is built from already-parsed parts, so the storing side only maps fields. Creation
//! times come from the storing side's clock, not from here.

use crate::domain::names::{AuthToken, BotName, BotToken, Uid};
use crate::domain::registration::{AuditAction, AuditOutcome};
use crate::domain::secrets::{hash_auth_token, hash_user_token};
use crate::domain::{FieldError, Messenger, UserToken};
use std::fmt;

/// Longest audit `details`, in characters; longer text is cut.
pub const MAX_AUDIT_TEXT_CHARS: usize = 1024;
/// Longest audit `target`, in characters; longer text is cut.
pub const MAX_AUDIT_TARGET_CHARS: usize = 256;
/// Longest audit `actorUid`, in characters; longer text is cut.
pub const MAX_AUDIT_ACTOR_CHARS: usize = 128;
/// The actor of an attempt nobody can be named for.
pub const UNKNOWN_ACTOR: &str = "unknown";
/// Longest username of a `/send_logs` user, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

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

impl BotStatus {
    /// Whether a stored `Bot.status` lets the bot take records and commands and be polled:
    /// exactly `ACTIVE`, what registration writes. Anything else (`DISABLED`, or a status
    /// that cannot be read) does not, and such a bot is refused as an unknown one.
    pub fn serves(stored: &str) -> bool {
        stored == BotStatus::Active.as_str()
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

/// A `/send_logs` user about to be stored: the name and the hash of its user token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogUser {
    username: String,
    token_hash: String,
}

impl NewLogUser {
    /// From a username and the user token the client will send (`md5(username + password)`).
    pub fn new(username: &str, token: &UserToken) -> Result<Self, FieldError> {
        let username = Self::check_username(username)?;
        Ok(Self {
            username: username.to_owned(),
            token_hash: hash_user_token(token.expose_secret()),
        })
    }

    /// A username as it is stored (trimmed), or what is wrong with it: 1 to
    /// [`MAX_USERNAME_CHARS`] characters, none of them control characters.
    pub fn check_username(username: &str) -> Result<&str, FieldError> {
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
        Ok(username)
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
    /// An event; texts are trimmed, control characters made spaces, empty ones dropped, long
    /// ones cut ([`MAX_AUDIT_ACTOR_CHARS`], [`MAX_AUDIT_TARGET_CHARS`],
    /// [`MAX_AUDIT_TEXT_CHARS`]). The actor is kept even when it is not a valid [`Uid`]: a
    /// refused attempt is worth recording whoever made it; no actor is [`UNKNOWN_ACTOR`].
    pub fn new(
        actor_uid: &str,
        action: AuditAction,
        target: Option<&str>,
        outcome: AuditOutcome,
        details: Option<&str>,
    ) -> Self {
        let clean = |text: &str, max: usize| {
            let text: String = text
                .trim()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            crate::domain::record::truncate_message(&text, max)
        };
        let optional =
            |text: Option<&str>, max| text.map(|text| clean(text, max)).filter(|t| !t.is_empty());
        Self {
            actor_uid: optional(Some(actor_uid), MAX_AUDIT_ACTOR_CHARS)
                .unwrap_or_else(|| UNKNOWN_ACTOR.to_owned()),
            action,
            target: optional(target, MAX_AUDIT_TARGET_CHARS),
            outcome,
            details: optional(details, MAX_AUDIT_TEXT_CHARS),
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
        assert!(NewLogUser::new(&"u".repeat(64), &token).is_ok());
        assert_eq!(
            NewLogUser::new(&"u".repeat(65), &token)
                .unwrap_err()
                .to_string(),
            "username: must be at most 64 characters, got 65"
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

        let clipped = NewAuditEvent::new(
            &"a".repeat(500),
            AuditAction::RegisterBot,
            Some(&"t".repeat(500)),
            AuditOutcome::Accepted,
            None,
        );
        assert_eq!(clipped.actor_uid.chars().count(), MAX_AUDIT_ACTOR_CHARS);
        assert_eq!(
            clipped.target.unwrap().chars().count(),
            MAX_AUDIT_TARGET_CHARS
        );
        let nobody = NewAuditEvent::new(
            " ",
            AuditAction::SubscribeChat,
            None,
            AuditOutcome::Accepted,
            None,
        );
        assert_eq!(nobody.actor_uid, UNKNOWN_ACTOR);
    }

    #[test]
    fn only_an_active_bot_serves() {
        assert!(BotStatus::serves("ACTIVE"));
        for other in ["DISABLED", "active", " ACTIVE", "", "GONE"] {
            assert!(!BotStatus::serves(other), "{other:?}");
        }
    }
}
