//! The domain: bots, subscriptions, log records, users and audit, with the rules that govern
//! them (registration limit, token hashing, the chat command grammar).
//!
//! Everything here is pure: no I/O, no async, no DataSpace. A value of a domain type is known
//! to be valid, and a rejection is a [`FieldError`] whose text names the field and the problem
//! in plain words, ready to be shown to the caller. Every door builds its log records here
//! ([`NewLogRecord::builder`]) and chat text is read by [`Command::parse`]; the other
//! requests (register, subscribe, users) reach the service as text, and the service parses
//! them into these types before it acts.
//!
//! - [`level`]: log severity, from names, Python logging numbers or HTTP status codes.
//! - [`messenger`]: which chat network a bot lives on.
//! - [`names`]: bot names, chat ids, user ids and the two kinds of token (secrets in Debug).
//! - [`secrets`]: hashing and constant-time matching of auth tokens and user tokens.
//! - [`record`]: a new log record, as every door builds it.
//! - [`event_time`]: the event-time parser every door shares.
//! - [`logger_info`]: the `log_info` text of the LOGGER_INFO message.
//! - [`command`]: the `... | action` chat command grammar.
//! - [`registration`]: who may register bots and how many; audit actions and outcomes.
//! - [`entities`]: new bots, `/send_logs` users and audit events as they are about to be
//!   stored, and a bot's status.
//! - [`replies`]: the short texts a chat gets back.

pub mod command;
pub mod entities;
mod error;
pub mod event_time;
pub mod level;
pub mod logger_info;
pub mod messenger;
pub mod names;
pub mod record;
pub mod registration;
pub mod replies;
pub mod secrets;

pub use command::{Command, CommandAction, CommandError};
pub use entities::{BotStatus, NewAuditEvent, NewBot, NewLogUser};
pub use error::FieldError;
pub use event_time::parse_event_time;
pub use level::LogLevel;
pub use logger_info::LoggerInfo;
pub use messenger::Messenger;
pub use names::{AuthToken, BotName, BotToken, ChatId, Uid, UserToken};
pub use record::{LogSource, NewLogRecord, NewLogRecordBuilder, truncate_message};
pub use registration::{
    AuditAction, AuditOutcome, RefusalReason, RegistrationPolicy, RegistrationRefused,
};
pub use replies::Reply;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parser answers every input with a value or an error, never a panic: inputs are
    /// built from fragments that stress byte/char boundaries, separators and white space.
    #[test]
    fn parsers_never_panic() {
        let fragments = [
            "",
            " ",
            "|",
            "/",
            "!",
            "@",
            "[",
            "]",
            "[club1|x]",
            "T",
            "t",
            "Z",
            "+03:00",
            "-",
            ".",
            ":",
            "2022-08-14",
            "14.08.2022",
            "15:00",
            "200",
            "ж",
            "😀",
            "\u{0}",
            "\n",
            "\u{a0}",
            "２",
            "register",
            "subscription",
            "help",
            "token-123",
        ];
        let mut inputs = Vec::new();
        for a in fragments {
            for b in fragments {
                for c in ["", " ", "|", "T", "😀", "15:00:00.5"] {
                    inputs.push(format!("{a}{c}{b}"));
                    inputs.push(format!("{a}|{b}|{c}"));
                }
            }
        }
        for input in &inputs {
            let _ = LogLevel::parse_name(input);
            let _ = Messenger::parse(input);
            let _ = BotName::parse(input);
            let _ = ChatId::parse(input);
            let _ = Uid::parse(input);
            let _ = AuthToken::parse(input);
            let _ = BotToken::parse(input);
            let _ = UserToken::parse(input);
            let _ = secrets::user_token_matches(input, input);
            let _ = parse_event_time(input);
            let _ = LoggerInfo::parse(input);
            if let Err(e) = Command::parse(input) {
                let _ = e.to_string();
            }
            for max in [0, 1, 2, 5] {
                assert!(truncate_message(input, max).chars().count() <= max);
            }
        }
    }
}
