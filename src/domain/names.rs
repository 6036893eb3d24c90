//! Names and identifiers: bot names, chat ids, user ids, and the tokens.
//!
//! Each type can only be built by its `parse`, so holding one means the text is valid. Every
//! parser trims surrounding white space first (values come from chat text and form fields).
//! The token types keep their value out of Debug output and have no Display, so a token cannot
//! reach a log line by accident; [`AuthToken::expose_secret`] is the one, greppable, way out.

use crate::domain::FieldError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use subtle::ConstantTimeEq;

/// Longest bot name, in characters.
pub const MAX_BOT_NAME_CHARS: usize = 64;
/// Longest chat id, in characters.
pub const MAX_CHAT_ID_CHARS: usize = 64;
/// Longest user id, in characters.
pub const MAX_UID_CHARS: usize = 128;
/// Shortest auth token, in characters.
pub const MIN_AUTH_TOKEN_CHARS: usize = 8;
/// Longest auth token or bot token, in characters.
pub const MAX_TOKEN_CHARS: usize = 256;
/// Length of a user token (md5 hex).
pub const USER_TOKEN_CHARS: usize = 32;

/// Plain words for a length: "1 character", "5 characters".
fn chars_word(n: usize) -> String {
    if n == 1 {
        "1 character".to_owned()
    } else {
        format!("{n} characters")
    }
}

fn check_length(field: &'static str, text: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let count = text.chars().count();
    if count == 0 {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if count < min {
        return Err(FieldError::new(
            field,
            format!(
                "must be at least {}, got {}",
                chars_word(min),
                chars_word(count)
            ),
        ));
    }
    if count > max {
        return Err(FieldError::new(
            field,
            format!(
                "must be at most {}, got {}",
                chars_word(max),
                chars_word(count)
            ),
        ));
    }
    Ok(())
}

macro_rules! string_newtype_common {
    ($ty:ident) => {
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = FieldError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A bot's name: 1 to 64 characters of `A-Z a-z 0-9 _ . -`. Unique among bots; it is what
/// LOGGER_INFO calls `bot_type` and what the chat commands name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BotName(String);

impl BotName {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "bot_name";
        let name = text.trim();
        check_length(FIELD, name, 1, MAX_BOT_NAME_CHARS)?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(FieldError::new(
                FIELD,
                "may only contain letters A-Z and a-z, digits, '_', '.' and '-'",
            ));
        }
        Ok(Self(name.to_owned()))
    }
}

string_newtype_common!(BotName);

/// A chat's id on its messenger (a Telegram chat id such as `-1001234567890`, a VK peer id):
/// 1 to 64 characters, no white space or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(String);

impl ChatId {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "chat_id";
        let id = text.trim();
        check_length(FIELD, id, 1, MAX_CHAT_ID_CHARS)?;
        if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(
                FIELD,
                "must not contain white space or control characters",
            ));
        }
        Ok(Self(id.to_owned()))
    }
}

string_newtype_common!(ChatId);

/// A forum topic within a chat (Telegram `message_thread_id`): a positive integer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(String);

impl ThreadId {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "thread_id";
        let id = text.trim();
        match id.parse::<i64>() {
            Ok(number) if number > 0 => Ok(Self(number.to_string())),
            _ => Err(FieldError::new(FIELD, "must be a positive integer")),
        }
    }
}

string_newtype_common!(ThreadId);

/// A user's id (a messenger user id, an admin id from the configuration): 1 to 128
/// characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(String);

impl Uid {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "uid";
        let uid = text.trim();
        check_length(FIELD, uid, 1, MAX_UID_CHARS)?;
        if uid.chars().any(char::is_control) {
            return Err(FieldError::new(
                FIELD,
                "must not contain control characters",
            ));
        }
        Ok(Self(uid.to_owned()))
    }
}

string_newtype_common!(Uid);

fn check_token(field: &'static str, token: &str, min: usize) -> Result<(), FieldError> {
    check_length(field, token, min, MAX_TOKEN_CHARS)?;
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain white space or control characters",
        ));
    }
    Ok(())
}

/// Compares secrets in time that does not depend on where they differ.
fn ct_str_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

macro_rules! secret_newtype_common {
    ($ty:ident) => {
        impl $ty {
            /// The token itself. Only for hashing it or handing it to the messenger API.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<redacted>)"))
            }
        }

        /// Constant time, so that comparing tokens does not leak a matching prefix.
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                ct_str_eq(&self.0, &other.0)
            }
        }

        impl Eq for $ty {}

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The secret a chat presents to subscribe to a bot: 8 to 256 characters, no white space.
/// Stored only as a hash ([`crate::domain::secrets::hash_auth_token`]).
#[derive(Clone)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let token = text.trim();
        check_token("auth_token", token, MIN_AUTH_TOKEN_CHARS)?;
        Ok(Self(token.to_owned()))
    }
}

secret_newtype_common!(AuthToken);

/// A messenger bot's API token (e.g. Telegram's `123456:ABC-DEF...`): 1 to 256 characters,
/// no white space.
#[derive(Clone)]
pub struct BotToken(String);

impl BotToken {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let token = text.trim();
        check_token("bot_token", token, 1)?;
        Ok(Self(token.to_owned()))
    }
}

secret_newtype_common!(BotToken);

/// The LoggerBot client's `X-User-Token`: md5 hex of `username + password`, 32 hex digits,
/// kept in lower case.
#[derive(Clone)]
pub struct UserToken(String);

impl UserToken {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "user_token";
        let token = text.trim();
        if token.is_empty() {
            return Err(FieldError::new(FIELD, "must not be empty"));
        }
        if token.len() != USER_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(FieldError::new(
                FIELD,
                "must be 32 hexadecimal digits (md5 of username and password)",
            ));
        }
        Ok(Self(token.to_ascii_lowercase()))
    }
}

secret_newtype_common!(UserToken);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_name_accepts_allowed_characters() {
        for ok in ["df", "a", "my_bot", "bot-1.prod", "A.B-C_D", "0", "..."] {
            assert_eq!(BotName::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(BotName::parse("  df \t").unwrap().as_str(), "df");
    }

    #[test]
    fn bot_name_length_boundaries() {
        let max = "b".repeat(64);
        assert_eq!(BotName::parse(&max).unwrap().as_str(), max);
        let err = BotName::parse(&"b".repeat(65)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bot_name: must be at most 64 characters, got 65 characters"
        );
        assert_eq!(
            BotName::parse("").unwrap_err().to_string(),
            "bot_name: must not be empty"
        );
        assert_eq!(
            BotName::parse("   ").unwrap_err().to_string(),
            "bot_name: must not be empty"
        );
    }

    #[test]
    fn bot_name_refuses_other_characters() {
        for bad in [
            "my bot",
            "bot!",
            "бот",
            "bot/1",
            "a|b",
            "naïve",
            "bot\n1",
            "emoji😀",
        ] {
            let err = BotName::parse(bad).unwrap_err();
            assert_eq!(err.field(), "bot_name");
            assert!(err.problem().contains("may only contain"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn chat_id_rules() {
        for ok in ["12345", "-1001234567890", "@channel", "2000000001", "чат"] {
            assert_eq!(ChatId::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(ChatId::parse(" 42 ").unwrap().as_str(), "42");
        assert_eq!(ChatId::parse(&"9".repeat(64)).unwrap().as_str().len(), 64);
        assert!(ChatId::parse(&"9".repeat(65)).is_err());
        // 64 multi-byte characters are still 64 characters.
        assert!(ChatId::parse(&"ж".repeat(64)).is_ok());
        for bad in ["", "1 2", "1\t2", "a\u{0}b", "x\u{7f}"] {
            let err = ChatId::parse(bad).unwrap_err();
            assert_eq!(err.field(), "chat_id", "{bad:?}");
        }
    }

    #[test]
    fn uid_rules() {
        for ok in ["42", "alice", "Иван Петров", "id:7"] {
            assert_eq!(Uid::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Uid::parse("\t7 ").unwrap().as_str(), "7");
        assert!(Uid::parse(&"u".repeat(128)).is_ok());
        assert_eq!(
            Uid::parse(&"u".repeat(129)).unwrap_err().to_string(),
            "uid: must be at most 128 characters, got 129 characters"
        );
        assert_eq!(
            Uid::parse("").unwrap_err().to_string(),
            "uid: must not be empty"
        );
        assert_eq!(
            Uid::parse("a\u{1b}[31mb").unwrap_err().to_string(),
            "uid: must not contain control characters"
        );
    }

    #[test]
    fn auth_token_length_boundaries() {
        assert!(AuthToken::parse("12345678").is_ok());
        assert_eq!(
            AuthToken::parse("1234567").unwrap_err().to_string(),
            "auth_token: must be at least 8 characters, got 7 characters"
        );
        assert!(AuthToken::parse(&"t".repeat(256)).is_ok());
        assert_eq!(
            AuthToken::parse(&"t".repeat(257)).unwrap_err().to_string(),
            "auth_token: must be at most 256 characters, got 257 characters"
        );
        assert_eq!(
            AuthToken::parse("").unwrap_err().to_string(),
            "auth_token: must not be empty"
        );
        // Characters, not bytes: 8 Cyrillic letters are 16 bytes.
        assert!(AuthToken::parse("секретик").is_ok());
        assert!(AuthToken::parse("секрет").is_err());
    }

    #[test]
    fn auth_token_refuses_inner_white_space() {
        for bad in [
            "secret token",
            "secret\ttoken",
            "secret\u{a0}token",
            "secret\ntoken",
        ] {
            let err = AuthToken::parse(bad).unwrap_err();
            assert!(err.problem().contains("white space"), "{bad:?}: {err}");
        }
        assert_eq!(
            AuthToken::parse("  s3cr3t-token \n")
                .unwrap()
                .expose_secret(),
            "s3cr3t-token"
        );
    }

    #[test]
    fn bot_token_rules() {
        let telegram = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        assert_eq!(BotToken::parse(telegram).unwrap().expose_secret(), telegram);
        assert!(BotToken::parse("x").is_ok());
        assert!(BotToken::parse(&"x".repeat(256)).is_ok());
        assert!(BotToken::parse(&"x".repeat(257)).is_err());
        assert_eq!(
            BotToken::parse(" ").unwrap_err().to_string(),
            "bot_token: must not be empty"
        );
        assert!(BotToken::parse("a b").is_err());
    }

    #[test]
    fn token_errors_never_repeat_the_value() {
        for bad in ["short", "has white space inside", &"z".repeat(300)] {
            let a = AuthToken::parse(bad).unwrap_err().to_string();
            assert!(!a.contains(bad), "{a}");
            assert!(!a.contains("white space inside"), "{a}");
        }
        let b = BotToken::parse("bot token").unwrap_err().to_string();
        assert!(!b.contains("bot token"), "{b}");
    }

    #[test]
    fn debug_hides_tokens() {
        let auth = AuthToken::parse("very-secret-auth").unwrap();
        let bot = BotToken::parse("123:very-secret-bot").unwrap();
        let user = UserToken::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(format!("{auth:?}"), "AuthToken(<redacted>)");
        assert_eq!(format!("{bot:?}"), "BotToken(<redacted>)");
        assert_eq!(format!("{user:?}"), "UserToken(<redacted>)");
        let pretty = format!("{:#?}", (Some(&auth), vec![&bot]));
        assert!(!pretty.contains("very-secret"), "{pretty}");
    }

    #[test]
    fn tokens_compare_by_value() {
        let a = AuthToken::parse("same-token").unwrap();
        assert_eq!(a, AuthToken::parse(" same-token ").unwrap());
        assert_ne!(a, AuthToken::parse("same-tokeN").unwrap());
        assert_ne!(a, AuthToken::parse("same-token-longer").unwrap());
    }

    #[test]
    fn user_token_is_32_hex_digits() {
        let t = UserToken::parse("0123456789ABCDEF0123456789abcdef").unwrap();
        assert_eq!(t.expose_secret(), "0123456789abcdef0123456789abcdef");
        for bad in [
            "",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef 123456789abcdef",
            "ж123456789abcdef0123456789abcde",
        ] {
            let err = UserToken::parse(bad).unwrap_err();
            assert_eq!(err.field(), "user_token", "{bad:?}");
        }
    }

    #[test]
    fn serde_parses_on_the_way_in() {
        let name: BotName = serde_json::from_str("\" df \"").unwrap();
        assert_eq!(name.as_str(), "df");
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"df\"");
        let err = serde_json::from_str::<BotName>("\"a b\"").unwrap_err();
        assert!(err.to_string().contains("bot_name"), "{err}");
        assert!(serde_json::from_str::<ChatId>("\"\"").is_err());
        assert!(serde_json::from_str::<Uid>("\"7\"").is_ok());
        let token: AuthToken = serde_json::from_str("\"abcdefgh\"").unwrap();
        assert_eq!(token.expose_secret(), "abcdefgh");
        assert!(serde_json::from_str::<AuthToken>("\"abc\"").is_err());
    }

    #[test]
    fn display_and_from_str() {
        let name: BotName = "df".parse().unwrap();
        assert_eq!(name.to_string(), "df");
        assert_eq!(name.clone().into_inner(), "df");
        let chat: ChatId = "-100".parse().unwrap();
        assert_eq!(format!("{chat}"), "-100");
        assert!("".parse::<Uid>().is_err());
    }
}
