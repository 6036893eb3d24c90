//! The chat command grammar (`src/domain/command.rs`), on any text.
//!
//! Beyond "no panic": a parsed command's Debug, and an error's reply text, do not depend on the
//! tokens it carries (so they cannot contain them); a command written back in its canonical
//! form parses to the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logbot_gateway::domain::command::ChatControl;
use logbot_gateway::domain::{AuthToken, BotToken, Command, CommandAction};

/// The decoration the grammar ignores (`/`, `!`, trailing `|`), enough to find the fields.
fn strip(text: &str) -> &str {
    let text = text.trim();
    let text = text.strip_prefix(['/', '!']).unwrap_or(text);
    text.trim_end_matches(|c: char| c == '|' || c.is_whitespace())
}

/// Valid tokens that differ from anything the input can make the Debug output contain.
fn other_auth() -> AuthToken {
    AuthToken::parse("fuzz-other-auth-token").unwrap()
}

fn other_bot_token() -> BotToken {
    BotToken::parse("fuzz-other-bot-token").unwrap()
}

/// The same command with every token replaced.
fn with_other_tokens(command: &Command) -> Command {
    match command {
        Command::Register {
            auth_uid, bot_name, ..
        } => Command::Register {
            auth_uid: auth_uid.clone(),
            bot_name: bot_name.clone(),
            bot_token: other_bot_token(),
            auth_token: other_auth(),
        },
        Command::Subscribe { .. } => Command::Subscribe {
            auth_token: other_auth(),
        },
        Command::Unsubscribe { .. } => Command::Unsubscribe {
            auth_token: other_auth(),
        },
        Command::Status { .. } => Command::Status {
            auth_token: other_auth(),
        },
        Command::Help => Command::Help,
        // A chat control carries no token.
        Command::Control(control) => Command::Control(*control),
    }
}

/// The command as Telegram sends it: a leading `/` (so that a field that itself starts with
/// `/` or `!` is not taken for decoration), fields separated by ` | `.
fn canonical_text(command: &Command) -> String {
    let action = command.action().as_str();
    let text = match command {
        Command::Register {
            auth_uid,
            bot_name,
            bot_token,
            auth_token,
        } => format!(
            "{} | {} | {} | {} | {action}",
            auth_uid.as_str(),
            bot_name.as_str(),
            bot_token.expose_secret(),
            auth_token.expose_secret()
        ),
        Command::Subscribe { auth_token }
        | Command::Unsubscribe { auth_token }
        | Command::Status { auth_token } => format!("{} | {action}", auth_token.expose_secret()),
        Command::Help => action.to_owned(),
        // Controls are words without `|`, as typed in a chat.
        Command::Control(ChatControl::Level(level)) => format!("{action} {}", level.as_str()),
        Command::Control(ChatControl::Mute(duration)) => {
            format!("{action} {}s", duration.as_secs())
        }
        Command::Control(_) => action.to_owned(),
    };
    format!("/{text}")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Command::parse(text) {
        Ok(command) => {
            assert_eq!(
                format!("{command:?}"),
                format!("{:?}", with_other_tokens(&command)),
                "a command's Debug depends on its tokens"
            );
            let again = Command::parse(&canonical_text(&command))
                .unwrap_or_else(|error| panic!("canonical form refused: {error}"));
            assert_eq!(again, command, "the canonical form parses differently");
        }
        Err(error) => {
            // An error never echoes a token: when the reply contains a token field's text,
            // the same text with that field replaced (same length, still a valid token) must
            // contain it too, i.e. it is part of the fixed wording, not the echo of the field.
            let reply = error.to_string();
            let fields: Vec<&str> = strip(text).split('|').map(str::trim).collect();
            let Some(action) = fields.last().and_then(|last| CommandAction::parse(last)) else {
                return;
            };
            // With the wrong number of fields, no field is in a token's place.
            if fields.len() != action.field_count() {
                return;
            }
            let token_positions: &[usize] = match action {
                CommandAction::Register => &[2, 3],
                CommandAction::Subscribe | CommandAction::Unsubscribe | CommandAction::Status => {
                    &[0]
                }
                CommandAction::Help
                | CommandAction::Level
                | CommandAction::Mute
                | CommandAction::Unmute => &[],
            };
            for &position in token_positions {
                let Some(field) = fields.get(position).filter(|field| field.len() >= 8) else {
                    continue;
                };
                if !reply.contains(field) {
                    continue;
                }
                let mut replaced = fields.clone();
                // Letters and digits replaced, the rest kept: the stand-in breaks the same
                // rule as the field (white space, control characters, length), so the same
                // fixed wording comes back unless the field itself was echoed.
                let stand_in: String = field
                    .chars()
                    .map(|c| if c.is_alphanumeric() { 'Z' } else { c })
                    .collect();
                replaced[position] = &stand_in;
                let other = Command::parse(&replaced.join(" | "))
                    .err()
                    .map(|error| error.to_string())
                    .unwrap_or_default();
                assert!(
                    other.contains(field),
                    "the reply {reply:?} echoes the token field {field:?}"
                );
            }
        }
    }
});
