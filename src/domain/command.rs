//! The chat command grammar: fields separated by `|`, trimmed, the action last.
//!
//! ```text
//! <auth_uid> | <bot name> | <bot token> | <new auth token> | register
//! <auth token> | subscription        (or: subscribe)
//! <auth token> | unsubscribe
//! <auth token> | status
//! help                               (or: start, as Telegram sends on first contact)
//! ```
//!
//! Chat controls act on the chat they are written in, on every bot it is subscribed to, and
//! take words separated by white space (no token: the chat is already subscribed):
//!
//! ```text
//! /unsubscribe        /status        /level WARNING        /mute 1h        /unmute
//! ```
//!
//! Actions are case-insensitive. Chat networks decorate commands, so a leading `/` or `!`, a
//! Telegram `@botname` suffix on the action and a leading VK mention (`[club1|@bot]`) are
//! ignored, as are trailing `|` separators.
//!
//! Commands carry tokens, so neither a [`Command`]'s Debug nor a [`CommandError`]'s text ever
//! contains one: an unrecognised action is not echoed back, since it may be a token sent alone.

use crate::domain::FieldError;
use crate::domain::level::LogLevel;
use crate::domain::names::{AuthToken, BotName, BotToken, Uid};
use std::fmt;
use std::time::Duration;

/// What a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandAction {
    Register,
    Subscribe,
    Unsubscribe,
    Status,
    Help,
    Level,
    Mute,
    Unmute,
}

impl CommandAction {
    pub const ALL: [CommandAction; 8] = [
        CommandAction::Register,
        CommandAction::Subscribe,
        CommandAction::Unsubscribe,
        CommandAction::Status,
        CommandAction::Help,
        CommandAction::Level,
        CommandAction::Mute,
        CommandAction::Unmute,
    ];

    /// The action word, case-insensitive, with a Telegram `@botname` suffix ignored.
    pub fn parse(word: &str) -> Option<Self> {
        let word = word.trim();
        let word = word
            .split_once('@')
            .map_or(word, |(head, _)| head)
            .trim_end();
        let action = match word.to_ascii_lowercase().as_str() {
            "register" => CommandAction::Register,
            "subscription" | "subscribe" => CommandAction::Subscribe,
            "unsubscribe" => CommandAction::Unsubscribe,
            "status" => CommandAction::Status,
            "help" | "start" => CommandAction::Help,
            "level" => CommandAction::Level,
            "mute" => CommandAction::Mute,
            "unmute" => CommandAction::Unmute,
            _ => return None,
        };
        Some(action)
    }

    /// The action's canonical word, as written in the usage texts.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandAction::Register => "register",
            CommandAction::Subscribe => "subscription",
            CommandAction::Unsubscribe => "unsubscribe",
            CommandAction::Status => "status",
            CommandAction::Help => "help",
            CommandAction::Level => "level",
            CommandAction::Mute => "mute",
            CommandAction::Unmute => "unmute",
        }
    }

    /// How many `|`-separated fields the command has, the action included.
    pub fn field_count(self) -> usize {
        match self {
            CommandAction::Register => 5,
            CommandAction::Subscribe | CommandAction::Unsubscribe | CommandAction::Status => 2,
            CommandAction::Help | CommandAction::Unmute => 1,
            CommandAction::Level | CommandAction::Mute => 2,
        }
    }

    /// The command's shape, e.g. `auth token | subscription`.
    pub fn usage(self) -> &'static str {
        match self {
            CommandAction::Register => "auth_uid | bot name | bot token | auth token | register",
            CommandAction::Subscribe => "auth token | subscription",
            CommandAction::Unsubscribe => "auth token | unsubscribe",
            CommandAction::Status => "auth token | status",
            CommandAction::Help => "help",
            CommandAction::Level => "/level WARNING",
            CommandAction::Mute => "/mute 1h",
            CommandAction::Unmute => "/unmute",
        }
    }
}

impl fmt::Display for CommandAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A well-formed chat command. Debug shows the action and names, never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Register a bot owned by `auth_uid`; chats subscribe to it with `auth_token`.
    Register {
        auth_uid: Uid,
        bot_name: BotName,
        bot_token: BotToken,
        auth_token: AuthToken,
    },
    /// Subscribe the chat the command came from to the bot whose auth token this is.
    Subscribe { auth_token: AuthToken },
    /// Stop delivering that bot's records to this chat.
    Unsubscribe { auth_token: AuthToken },
    /// Tell this chat whether it is subscribed to that bot, and at what level.
    Status { auth_token: AuthToken },
    /// List the commands.
    Help,
    /// A control of the chat it is written in, for every bot the chat is subscribed to.
    Control(ChatControl),
}

/// What a chat may change about its own subscriptions without presenting a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatControl {
    /// End every subscription of this chat.
    Unsubscribe,
    /// Which bots this chat receives from, at what level, muted until when, what is waiting.
    Status,
    /// Change this chat's minimum level.
    Level(LogLevel),
    /// Hold records (counted, not sent) for this long.
    Mute(Duration),
    /// End a mute now; what arrived meanwhile comes as one summary.
    Unmute,
}

impl ChatControl {
    pub fn action(self) -> CommandAction {
        match self {
            ChatControl::Unsubscribe => CommandAction::Unsubscribe,
            ChatControl::Status => CommandAction::Status,
            ChatControl::Level(_) => CommandAction::Level,
            ChatControl::Mute(_) => CommandAction::Mute,
            ChatControl::Unmute => CommandAction::Unmute,
        }
    }
}

/// The longest `/mute`: a chat muted for longer should unsubscribe instead.
pub const MAX_MUTE: Duration = Duration::from_secs(30 * 24 * 3600);

/// `30m`, `1h`, `2d`, `90s` (or a bare number of minutes), from one minute to [`MAX_MUTE`].
pub fn parse_mute_duration(text: &str) -> Result<Duration, FieldError> {
    const FIELD: &str = "duration";
    let text = text.trim().to_ascii_lowercase();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "s" | "sec" => 1,
        "" | "m" | "min" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => {
            return Err(FieldError::new(
                FIELD,
                "use a number with s, m, h or d, as in 1h",
            ));
        }
    };
    let seconds = digits
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(seconds_per_unit))
        .ok_or_else(|| FieldError::new(FIELD, "use a number with s, m, h or d, as in 1h"))?;
    let duration = Duration::from_secs(seconds);
    if duration < Duration::from_secs(60) || duration > MAX_MUTE {
        return Err(FieldError::new(FIELD, "must be from 1m to 30d"));
    }
    Ok(duration)
}

/// Why a text is not a command. Displays as the reply to send back to the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// Nothing but white space and decoration.
    Empty,
    /// The last field is not an action we know.
    UnknownAction,
    /// The action is known but the number of fields is wrong.
    WrongFieldCount { action: CommandAction, got: usize },
    /// A field is malformed; its name is the one in the usage text (`bot name`, `auth token`).
    InvalidField {
        action: CommandAction,
        error: FieldError,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Empty => f.write_str("empty command; send help to see the commands"),
            CommandError::UnknownAction => f.write_str(
                "unknown command; the command goes last, as in: auth token | subscription. \
                 Send help to see the commands",
            ),
            CommandError::WrongFieldCount {
                action: CommandAction::Help,
                ..
            } => f.write_str("help takes no fields: just send help"),
            CommandError::WrongFieldCount { action, .. } => write!(
                f,
                "{action} needs {} fields: {}",
                action.field_count(),
                action.usage()
            ),
            CommandError::InvalidField { error, .. } => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// Parses a chat message into a command; the error is the reply to send back.
    pub fn parse(text: &str) -> Result<Command, CommandError> {
        let text = strip_decoration(text);
        if text.is_empty() {
            return Err(CommandError::Empty);
        }
        if !text.contains('|')
            && let Some(control) = Self::parse_control(text)
        {
            return control;
        }
        let fields: Vec<&str> = text.split('|').map(str::trim).collect();
        let (&last, args) = fields.split_last().ok_or(CommandError::Empty)?;
        let action = CommandAction::parse(last).ok_or(CommandError::UnknownAction)?;
        if fields.len() != action.field_count() {
            return Err(CommandError::WrongFieldCount {
                action,
                got: fields.len(),
            });
        }
        let invalid = |error: FieldError, label: &'static str| CommandError::InvalidField {
            action,
            error: error.with_field(label),
        };
        let auth_token = |text: &str| AuthToken::parse(text).map_err(|e| invalid(e, "auth token"));

        let command = match (action, args) {
            (CommandAction::Register, &[uid, name, bot_token, token]) => Command::Register {
                auth_uid: Uid::parse(uid).map_err(|e| invalid(e, "auth_uid"))?,
                bot_name: BotName::parse(name).map_err(|e| invalid(e, "bot name"))?,
                bot_token: BotToken::parse(bot_token).map_err(|e| invalid(e, "bot token"))?,
                auth_token: auth_token(token)?,
            },
            (CommandAction::Subscribe, &[token]) => Command::Subscribe {
                auth_token: auth_token(token)?,
            },
            (CommandAction::Unsubscribe, &[token]) => Command::Unsubscribe {
                auth_token: auth_token(token)?,
            },
            (CommandAction::Status, &[token]) => Command::Status {
                auth_token: auth_token(token)?,
            },
            (CommandAction::Help, &[]) => Command::Help,
            // Counts were checked above.
            (action, _) => {
                return Err(CommandError::WrongFieldCount {
                    action,
                    got: fields.len(),
                });
            }
        };
        Ok(command)
    }

    /// A chat control (`/level WARNING`: words, no `|`), or `None` for any other text.
    fn parse_control(text: &str) -> Option<Result<Command, CommandError>> {
        let mut words = text.split_whitespace();
        let action = CommandAction::parse(words.next()?)?;
        let args: Vec<&str> = words.collect();
        let invalid = |error: FieldError| Err(CommandError::InvalidField { action, error });
        let wrong = || {
            Err(CommandError::WrongFieldCount {
                action,
                got: args.len() + 1,
            })
        };
        let control = match (action, args.as_slice()) {
            (CommandAction::Unsubscribe, []) => ChatControl::Unsubscribe,
            (CommandAction::Status, []) => ChatControl::Status,
            (CommandAction::Unmute, []) => ChatControl::Unmute,
            (CommandAction::Level, [level]) => match LogLevel::parse_name(level) {
                Ok(level) => ChatControl::Level(level),
                Err(error) => return Some(invalid(error.with_field("level"))),
            },
            (CommandAction::Mute, [duration]) => match parse_mute_duration(duration) {
                Ok(duration) => ChatControl::Mute(duration),
                Err(error) => return Some(invalid(error)),
            },
            (CommandAction::Level | CommandAction::Mute | CommandAction::Unmute, _) => {
                return Some(wrong());
            }
            // Everything else is the `|` grammar (`help`, or a command missing its fields).
            _ => return None,
        };
        Some(Ok(Command::Control(control)))
    }

    pub fn action(&self) -> CommandAction {
        match self {
            Command::Control(control) => control.action(),
            Command::Register { .. } => CommandAction::Register,
            Command::Subscribe { .. } => CommandAction::Subscribe,
            Command::Unsubscribe { .. } => CommandAction::Unsubscribe,
            Command::Status { .. } => CommandAction::Status,
            Command::Help => CommandAction::Help,
        }
    }

    /// The auth token the command presents, if any.
    pub fn auth_token(&self) -> Option<&AuthToken> {
        match self {
            Command::Register { auth_token, .. }
            | Command::Subscribe { auth_token }
            | Command::Unsubscribe { auth_token }
            | Command::Status { auth_token } => Some(auth_token),
            Command::Help | Command::Control(_) => None,
        }
    }
}

/// A command text as others may see it (published on the bus): every field but the action
/// word shown as `***`, since any of them may be a token, except a well-formed `register`'s
/// auth_uid and bot name. A leading `/` is kept, so the text still reads as a command.
pub fn redacted(text: &str) -> String {
    let fields: Vec<&str> = strip_decoration(text).split('|').map(str::trim).collect();
    let shown = match Command::parse(text) {
        Ok(Command::Register { .. }) => 2,
        _ => 0,
    };
    let last = fields.len() - 1;
    let parts: Vec<&str> = fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let action = index == last && CommandAction::parse(field).is_some();
            if index < shown || action {
                field
            } else {
                "***"
            }
        })
        .collect();
    format!("/{}", parts.join(" | "))
}

/// Removes what chat networks add around a command: a leading VK mention `[club1|name]`
/// (whose `|` would otherwise split a field), a leading `/` or `!`, trailing `|` separators.
fn strip_decoration(text: &str) -> &str {
    let mut text = text.trim();
    if let Some(rest) = strip_vk_mention(text) {
        text = rest.trim_start_matches(|c: char| c == ',' || c == ':' || c.is_whitespace());
    }
    if let Some(rest) = text.strip_prefix(['/', '!']) {
        text = rest.trim_start();
    }
    text.trim_end_matches(|c: char| c == '|' || c.is_whitespace())
}

/// `[club123|...]`, `[public123|...]` or `[id123|...]` at the start: the text after it.
fn strip_vk_mention(text: &str) -> Option<&str> {
    let inner_and_rest = text.strip_prefix('[')?;
    let (inner, rest) = inner_and_rest.split_once(']')?;
    let (target, _label) = inner.split_once('|')?;
    let digits = ["club", "public", "id"]
        .iter()
        .find_map(|prefix| target.strip_prefix(prefix))?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(rest)
}

#[cfg(test)]
mod tests;
