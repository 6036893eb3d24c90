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
mod tests {
    use super::*;

    const TOKEN: &str = "sub-token-123";

    fn token(text: &str) -> AuthToken {
        AuthToken::parse(text).unwrap()
    }

    #[test]
    fn parses_register() {
        let cmd = Command::parse("42 | df | 123456:ABC-def | new-auth-token | register").unwrap();
        assert_eq!(
            cmd,
            Command::Register {
                auth_uid: Uid::parse("42").unwrap(),
                bot_name: BotName::parse("df").unwrap(),
                bot_token: BotToken::parse("123456:ABC-def").unwrap(),
                auth_token: token("new-auth-token"),
            }
        );
        assert_eq!(cmd.action(), CommandAction::Register);
        assert_eq!(cmd.auth_token(), Some(&token("new-auth-token")));
    }

    #[test]
    fn parses_token_commands() {
        let table = [
            ("sub-token-123 | subscription", CommandAction::Subscribe),
            ("sub-token-123|subscribe", CommandAction::Subscribe),
            ("sub-token-123 | SUBSCRIPTION", CommandAction::Subscribe),
            ("sub-token-123 | unsubscribe", CommandAction::Unsubscribe),
            ("sub-token-123 | Status", CommandAction::Status),
        ];
        for (text, action) in table {
            let cmd = Command::parse(text).unwrap();
            assert_eq!(cmd.action(), action, "{text}");
            assert_eq!(cmd.auth_token(), Some(&token(TOKEN)), "{text}");
        }
        assert_eq!(
            Command::parse("sub-token-123 | status").unwrap(),
            Command::Status {
                auth_token: token(TOKEN)
            }
        );
    }

    #[test]
    fn parses_help() {
        for text in [
            "help",
            "HELP",
            " Help ",
            "/help",
            "!help",
            "/start",
            "/help@LoggerBot",
            "help |",
        ] {
            assert_eq!(Command::parse(text), Ok(Command::Help), "{text:?}");
        }
        assert_eq!(Command::Help.auth_token(), None);
    }

    #[test]
    fn tolerates_white_space_case_and_prefixes() {
        let want = Command::Subscribe {
            auth_token: token(TOKEN),
        };
        for text in [
            "sub-token-123|subscription",
            "   sub-token-123   |   subscription   ",
            "\tsub-token-123\t|\tSubScription\n",
            "/sub-token-123 | subscription",
            "!sub-token-123 | subscription",
            "/ sub-token-123 | subscription",
            "sub-token-123 | subscription@LoggerBot",
            "sub-token-123 | subscription |",
            "sub-token-123 | subscription | | ",
            "[club123|@loggerbot] sub-token-123 | subscription",
            "[club123|Logger Bot], sub-token-123 | subscription",
            "[public7|bot] /sub-token-123 | subscribe",
        ] {
            assert_eq!(Command::parse(text), Ok(want.clone()), "{text:?}");
        }
    }

    #[test]
    fn only_one_leading_prefix_is_removed() {
        // A token may itself start with `/` or `!` after the first is stripped.
        assert_eq!(
            Command::parse("//tokentoken | status").unwrap(),
            Command::Status {
                auth_token: token("/tokentoken")
            }
        );
    }

    #[test]
    fn unicode_fields() {
        let cmd = Command::parse("Иван | my_bot | 1:ключ | секретный-токен | register").unwrap();
        match cmd {
            Command::Register {
                auth_uid,
                auth_token,
                bot_token,
                ..
            } => {
                assert_eq!(auth_uid.as_str(), "Иван");
                assert_eq!(auth_token.expose_secret(), "секретный-токен");
                assert_eq!(bot_token.expose_secret(), "1:ключ");
            }
            other => panic!("{other:?}"),
        }
        // Unicode bot names are refused with the field named as in the usage.
        let err = Command::parse("1 | бот | t | secret-token | register").unwrap_err();
        assert!(err.to_string().starts_with("bot name: "), "{err}");
    }

    #[test]
    fn empty_commands() {
        for text in ["", "   ", "/", "!", " / ", "|", " | | ", "[club1|bot]"] {
            assert_eq!(Command::parse(text), Err(CommandError::Empty), "{text:?}");
        }
        assert_eq!(
            CommandError::Empty.to_string(),
            "empty command; send help to see the commands"
        );
    }

    #[test]
    fn unknown_actions() {
        for text in [
            "subscriptions",
            "token | subscrption",
            "token | register | extra",
            "hello there",
            "sub-token-123",
            "help me",
            "| token",
        ] {
            assert_eq!(
                Command::parse(text),
                Err(CommandError::UnknownAction),
                "{text:?}"
            );
        }
    }

    #[test]
    fn unknown_action_does_not_echo_the_text() {
        // Someone sending their token alone must not see it (or log it) again.
        let err = Command::parse("my-precious-token").unwrap_err();
        assert!(!err.to_string().contains("precious"));
        assert!(!format!("{err:?}").contains("precious"));
    }

    #[test]
    fn wrong_field_counts() {
        let err = Command::parse("df | token | register").unwrap_err();
        assert_eq!(
            err,
            CommandError::WrongFieldCount {
                action: CommandAction::Register,
                got: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "register needs 5 fields: auth_uid | bot name | bot token | auth token | register"
        );
        assert!(matches!(
            Command::parse("a | b | c | d | e | register"),
            Err(CommandError::WrongFieldCount { got: 6, .. })
        ));
        assert_eq!(
            Command::parse("subscription").unwrap_err().to_string(),
            "subscription needs 2 fields: auth token | subscription"
        );
        assert_eq!(
            Command::parse("a | b | subscribe").unwrap_err().to_string(),
            "subscription needs 2 fields: auth token | subscription"
        );
        assert_eq!(
            Command::parse("x | y | unsubscribe")
                .unwrap_err()
                .to_string(),
            "unsubscribe needs 2 fields: auth token | unsubscribe"
        );
        assert_eq!(
            Command::parse("x | y | status").unwrap_err().to_string(),
            "status needs 2 fields: auth token | status"
        );
        assert_eq!(
            Command::parse("sub-token-123 | help")
                .unwrap_err()
                .to_string(),
            "help takes no fields: just send help"
        );
    }

    #[test]
    fn invalid_fields_name_the_field() {
        let table = [
            ("| subscription", "auth token: must not be empty"),
            (
                "short | subscription",
                "auth token: must be at least 8 characters, got 5 characters",
            ),
            (
                "two words-token | status",
                "auth token: must not contain white space or control characters",
            ),
            (
                " | df | t | secret-token | register",
                "auth_uid: must not be empty",
            ),
            (
                "1 | my bot | t | secret-token | register",
                "bot name: may only contain letters A-Z and a-z, digits, '_', '.' and '-'",
            ),
            (
                "1 | df |  | secret-token | register",
                "bot token: must not be empty",
            ),
            (
                "1 | df | t | short | register",
                "auth token: must be at least 8 characters, got 5 characters",
            ),
        ];
        for (text, reply) in table {
            let err = Command::parse(text).unwrap_err();
            assert!(matches!(err, CommandError::InvalidField { .. }), "{text:?}");
            assert_eq!(err.to_string(), reply, "{text:?}");
        }
        let long_name = "b".repeat(65);
        let err =
            Command::parse(&format!("1 | {long_name} | t | secret-token | register")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bot name: must be at most 64 characters, got 65 characters"
        );
    }

    #[test]
    fn debug_never_shows_tokens() {
        let cmd = Command::parse("42 | df | 999:bot-secret-value | auth-secret-value | register")
            .unwrap();
        let debug = format!("{cmd:?} {cmd:#?}");
        assert!(!debug.contains("bot-secret-value"), "{debug}");
        assert!(!debug.contains("auth-secret-value"), "{debug}");
        assert!(debug.contains("df") && debug.contains("42"), "{debug}");

        let sub = Command::parse("auth-secret-value | subscription").unwrap();
        assert!(!format!("{sub:?}").contains("auth-secret-value"));

        // Errors about a token's shape do not repeat it either.
        let err = Command::parse("secret with spaces | status").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("secret with"), "{err:?}");
        let err =
            Command::parse("42 | df | bot secret | auth-secret-value | register").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("bot secret"), "{err:?}");
    }

    #[test]
    fn action_words() {
        for action in CommandAction::ALL {
            assert_eq!(CommandAction::parse(action.as_str()), Some(action));
            if action.usage().starts_with('/') {
                // A chat control: words, not `|` fields.
                assert!(action.usage().contains(action.as_str()));
                continue;
            }
            assert!(action.usage().ends_with(action.as_str()));
            assert_eq!(action.usage().split('|').count(), action.field_count());
        }
        assert_eq!(
            CommandAction::parse("Subscribe"),
            Some(CommandAction::Subscribe)
        );
        assert_eq!(
            CommandAction::parse("status@bot"),
            Some(CommandAction::Status)
        );
        assert_eq!(CommandAction::parse("stat"), None);
        assert_eq!(CommandAction::parse(""), None);
    }

    #[test]
    fn vk_mention_detection() {
        assert_eq!(strip_vk_mention("[club1|x] rest"), Some(" rest"));
        assert_eq!(strip_vk_mention("[id42|Ivan]help"), Some("help"));
        assert_eq!(strip_vk_mention("[club|x] rest"), None);
        assert_eq!(strip_vk_mention("[clubx1|x] rest"), None);
        assert_eq!(strip_vk_mention("[token] | status"), None);
        assert_eq!(strip_vk_mention("club1|x] rest"), None);
    }

    #[test]
    fn parses_chat_controls() {
        let control = |text: &str| match Command::parse(text) {
            Ok(Command::Control(control)) => control,
            other => panic!("{text:?}: {other:?}"),
        };
        assert_eq!(control("/unsubscribe"), ChatControl::Unsubscribe);
        assert_eq!(control("/unsubscribe@LoggerBot"), ChatControl::Unsubscribe);
        assert_eq!(control("/status"), ChatControl::Status);
        assert_eq!(
            control("/level WARNING"),
            ChatControl::Level(LogLevel::Warning)
        );
        assert_eq!(
            control("/level@bot error"),
            ChatControl::Level(LogLevel::Error)
        );
        assert_eq!(
            control("/mute 1h"),
            ChatControl::Mute(Duration::from_secs(3600))
        );
        assert_eq!(
            control("/mute 30m"),
            ChatControl::Mute(Duration::from_secs(1800))
        );
        assert_eq!(
            control("/mute 2d"),
            ChatControl::Mute(Duration::from_secs(2 * 86_400))
        );
        assert_eq!(control("/unmute"), ChatControl::Unmute);
        let loud = Command::parse("/level LOUD").unwrap_err().to_string();
        assert!(loud.starts_with("level: unknown level"), "{loud}");
        for text in ["/mute", "/mute 1h 2h", "/level", "/unmute now"] {
            assert!(
                matches!(
                    Command::parse(text),
                    Err(CommandError::WrongFieldCount { .. })
                ),
                "{text}"
            );
        }
        for text in [
            "/mute 10s",
            "/mute 31d",
            "/mute soon",
            "/mute 99999999999999999999d",
        ] {
            assert!(
                matches!(Command::parse(text), Err(CommandError::InvalidField { .. })),
                "{text}"
            );
        }
        // The token grammar is unchanged.
        assert!(matches!(
            Command::parse("tok-en-123 | status"),
            Ok(Command::Status { .. })
        ));
    }
}
