//! The short texts a chat gets back for each command outcome.
//!
//! One enum, so every outcome has exactly one wording and the doors (GraphQL `executeCommand`,
//! VK events, Web PubSub messages) answer alike. None of them ever contains a token.

use crate::domain::LogLevel;
use crate::domain::command::CommandError;
use crate::domain::names::BotName;
use crate::domain::registration::RegistrationRefused;
use std::fmt;

/// The command list sent for `help` (and after a command that was not understood).
pub const HELP_TEXT: &str = "Commands (fields separated by |, the command last):\n\
<auth token> | subscription - send this bot's logs to this chat\n\
<auth token> | unsubscribe - stop sending them\n\
<auth token> | status - is this chat subscribed, and from which level\n\
<auth_uid> | <bot name> | <bot token> | <auth token> | register - register a bot (admins only)\n\
help - this list\n\
Controls of this chat (any member; every bot it is subscribed to):\n\
/status - bots, level, mute, records waiting\n\
/level WARNING - only records of this level and above\n\
/mute 1h - hold records (counted, not sent) for 1h; /unmute - end it, with one summary\n\
/unsubscribe - stop receiving records";

/// One bot's delivery to this chat, as the chat controls report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatState {
    pub bot: BotName,
    pub min_level: LogLevel,
    /// Stored time (UTC) the mute ends, while muted.
    pub muted_until: Option<String>,
    /// Records queued for this chat and not yet sent.
    pub waiting: i64,
    pub active: bool,
}

impl fmt::Display for ChatState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} and above", self.bot, self.min_level.as_str())?;
        if let Some(until) = &self.muted_until {
            let until = until.get(..16).unwrap_or(until).replace('T', " ");
            write!(f, ", muted until {until} UTC")?;
        }
        write!(f, ", {} waiting", self.waiting)
    }
}

fn lines(f: &mut fmt::Formatter<'_>, states: &[ChatState]) -> fmt::Result {
    for state in states {
        write!(f, "\n{state}")?;
    }
    Ok(())
}

/// What to answer a chat command with. Display gives the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Registered {
        bot: BotName,
    },
    BotNameTaken {
        bot: BotName,
    },
    Subscribed {
        bot: BotName,
    },
    AlreadySubscribed {
        bot: BotName,
    },
    Unsubscribed {
        bot: BotName,
    },
    NotSubscribed {
        bot: BotName,
    },
    /// `min_level` is `None` when the chat is not subscribed.
    Status {
        bot: BotName,
        min_level: Option<LogLevel>,
    },
    /// A chat control in a chat subscribed to nothing.
    NoSubscriptions,
    ChatStatus(Vec<ChatState>),
    ChatUnsubscribed(Vec<ChatState>),
    LevelChanged {
        level: LogLevel,
        states: Vec<ChatState>,
    },
    Muted(Vec<ChatState>),
    Unmuted(Vec<ChatState>),
    UnknownToken,
    NotAnAdmin,
    LimitReached {
        limit: u32,
    },
    Invalid(CommandError),
    Help,
    /// The command was fine but could not be carried out now (storage unavailable).
    TryLater,
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Registered { bot } => write!(
                f,
                "Bot {bot} registered. Chats subscribe with: <auth token> | subscription"
            ),
            Reply::BotNameTaken { bot } => {
                write!(f, "A bot named {bot} already exists; choose another name.")
            }
            Reply::Subscribed { bot } => write!(f, "This chat is now subscribed to {bot}."),
            Reply::AlreadySubscribed { bot } => {
                write!(f, "This chat is already subscribed to {bot}.")
            }
            Reply::Unsubscribed { bot } => {
                write!(f, "This chat is unsubscribed from {bot}.")
            }
            Reply::NotSubscribed { bot } => {
                write!(f, "This chat is not subscribed to {bot}.")
            }
            Reply::Status {
                bot,
                min_level: Some(level),
            } => write!(
                f,
                "Bot {bot}: this chat is subscribed and gets records of level {level} and above."
            ),
            Reply::Status {
                bot,
                min_level: None,
            } => write!(
                f,
                "Bot {bot}: this chat is not subscribed. Subscribe with: <auth token> | subscription"
            ),
            Reply::NoSubscriptions => f.write_str(
                "This chat is not subscribed to any bot. Subscribe with: <auth token> | subscription",
            ),
            Reply::ChatStatus(states) => {
                f.write_str("This chat receives records from:")?;
                lines(f, states)
            }
            Reply::ChatUnsubscribed(states) => {
                f.write_str("This chat is unsubscribed from:")?;
                for state in states {
                    write!(f, " {}", state.bot)?;
                }
                f.write_str(". Subscribe again with: <auth token> | subscription")
            }
            Reply::LevelChanged { level, states } => {
                write!(f, "This chat now gets records of level {} and above:", level.as_str())?;
                lines(f, states)
            }
            Reply::Muted(states) => {
                f.write_str("Muted: records are counted, not sent, until the time below; then (or at /unmute) one summary says how many arrived.")?;
                lines(f, states)
            }
            Reply::Unmuted(states) => {
                f.write_str("Unmuted. What arrived while muted comes as one summary.")?;
                lines(f, states)
            }
            Reply::UnknownToken => f.write_str("Unknown auth token."),
            Reply::NotAnAdmin => f.write_str("Only admins can register bots."),
            Reply::LimitReached { limit } => write!(
                f,
                "Registration refused: limit reached ({limit} {} per admin).",
                if *limit == 1 { "bot" } else { "bots" }
            ),
            Reply::Invalid(error) => write!(f, "{error}"),
            Reply::Help => f.write_str(HELP_TEXT),
            Reply::TryLater => f.write_str("Could not do that right now; please try again later."),
        }
    }
}

impl From<RegistrationRefused> for Reply {
    fn from(refused: RegistrationRefused) -> Self {
        match refused {
            RegistrationRefused::NotAnAdmin => Reply::NotAnAdmin,
            RegistrationRefused::LimitReached { limit } => Reply::LimitReached { limit },
        }
    }
}

impl From<CommandError> for Reply {
    fn from(error: CommandError) -> Self {
        Reply::Invalid(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::{Command, CommandAction};

    fn df() -> BotName {
        BotName::parse("df").unwrap()
    }

    #[test]
    fn texts() {
        let table = [
            (
                Reply::Registered { bot: df() },
                "Bot df registered. Chats subscribe with: <auth token> | subscription",
            ),
            (
                Reply::BotNameTaken { bot: df() },
                "A bot named df already exists; choose another name.",
            ),
            (
                Reply::Subscribed { bot: df() },
                "This chat is now subscribed to df.",
            ),
            (
                Reply::AlreadySubscribed { bot: df() },
                "This chat is already subscribed to df.",
            ),
            (
                Reply::Unsubscribed { bot: df() },
                "This chat is unsubscribed from df.",
            ),
            (
                Reply::NotSubscribed { bot: df() },
                "This chat is not subscribed to df.",
            ),
            (
                Reply::Status {
                    bot: df(),
                    min_level: Some(LogLevel::Warning),
                },
                "Bot df: this chat is subscribed and gets records of level WARNING and above.",
            ),
            (
                Reply::Status {
                    bot: df(),
                    min_level: None,
                },
                "Bot df: this chat is not subscribed. Subscribe with: <auth token> | subscription",
            ),
            (Reply::UnknownToken, "Unknown auth token."),
            (Reply::NotAnAdmin, "Only admins can register bots."),
            (
                Reply::LimitReached { limit: 3 },
                "Registration refused: limit reached (3 bots per admin).",
            ),
            (
                Reply::LimitReached { limit: 1 },
                "Registration refused: limit reached (1 bot per admin).",
            ),
            (
                Reply::TryLater,
                "Could not do that right now; please try again later.",
            ),
        ];
        for (reply, text) in table {
            assert_eq!(reply.to_string(), text);
        }
    }

    #[test]
    fn help_lists_every_command() {
        let help = Reply::Help.to_string();
        assert_eq!(help, HELP_TEXT);
        for action in CommandAction::ALL {
            assert!(help.contains(action.as_str()), "{action}");
        }
        // The help text's own example lines parse with the grammar they describe.
        assert!(Command::parse("my-auth-token | subscription").is_ok());
    }

    #[test]
    fn conversions() {
        assert_eq!(
            Reply::from(RegistrationRefused::NotAnAdmin),
            Reply::NotAnAdmin
        );
        assert_eq!(
            Reply::from(RegistrationRefused::LimitReached { limit: 2 }),
            Reply::LimitReached { limit: 2 }
        );
        let err = Command::parse("x | y | register").unwrap_err();
        assert_eq!(Reply::from(err.clone()).to_string(), err.to_string());
    }

    #[test]
    fn replies_stay_short() {
        for reply in [
            Reply::Status {
                bot: BotName::parse(&"b".repeat(64)).unwrap(),
                min_level: Some(LogLevel::Critical),
            },
            Reply::Invalid(Command::parse("a | register").unwrap_err()),
        ] {
            assert!(reply.to_string().len() < 200, "{reply}");
        }
        assert!(HELP_TEXT.len() < 1000);
    }
}
