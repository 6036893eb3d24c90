//! Reading a Telegram update the Telegram way: what it asks of the bot, if anything.
//!
//! - `/command@thisbot` in groups; a command addressed to another bot is not ours;
//! - privacy mode: in groups the bot answers commands, replies to its messages and mentions of
//!   it, not the chatter (which a bot without privacy mode also receives);
//! - the Telegram command form `/subscription <token>` is put into the grammar's field order
//!   (`<token> | subscription`), so both forms work;
//! - `my_chat_member` (the bot left, was kicked or blocked) and `migrate_to_chat_id`.

use crate::domain::command::{Command, CommandAction};
use serde_json::Value;

/// The bot reading the update, as `getMe` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub id: i64,
    /// Without the `@`.
    pub username: String,
}

/// A message the bot should run as a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMessage {
    pub chat_id: String,
    pub from_id: String,
    pub message_id: i64,
    /// The forum topic the message was written in.
    pub thread_id: Option<i64>,
    /// The text in the command grammar's form.
    pub text: String,
    /// Whether the text carries a token (any command with fields before its action).
    pub carries_secret: bool,
}

/// What an update asks of the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Command(CommandMessage),
    /// The bot is gone from a chat (removed from a group, or blocked by the user).
    Left {
        chat_id: String,
        status: String,
    },
    /// A group became a supergroup with a new chat id.
    Migrated {
        from: String,
        to: String,
    },
    /// Nothing for the bot; the reason is for the debug log.
    Ignored(&'static str),
}

/// The update's id, which orders a bot's updates.
pub fn update_id(update: &Value) -> Option<i64> {
    update.get("update_id").and_then(Value::as_i64)
}

fn id_text(value: &Value) -> Option<String> {
    value.as_i64().map(|id| id.to_string())
}

/// What `update` asks of the bot `me`.
pub fn classify(update: &Value, me: &Me) -> Incoming {
    if let Some(member) = update.get("my_chat_member") {
        let status = member["new_chat_member"]["status"]
            .as_str()
            .unwrap_or_default();
        return match (id_text(&member["chat"]["id"]), status) {
            (Some(chat_id), "left" | "kicked") => Incoming::Left {
                chat_id,
                status: status.to_owned(),
            },
            _ => Incoming::Ignored("the bot's membership changed, but it is still there"),
        };
    }
    let Some(message) = update.get("message") else {
        return Incoming::Ignored("not a new message (edits, channel posts, ...)");
    };
    let Some(chat_id) = id_text(&message["chat"]["id"]) else {
        return Incoming::Ignored("a message without a chat id");
    };
    if let Some(to) = id_text(&message["migrate_to_chat_id"]) {
        return Incoming::Migrated { from: chat_id, to };
    }
    let Some(text) = message["text"].as_str() else {
        return Incoming::Ignored("not a text message");
    };
    let (Some(from_id), Some(message_id)) = (
        id_text(&message["from"]["id"]),
        message["message_id"].as_i64(),
    ) else {
        return Incoming::Ignored("a message without a sender or id");
    };
    let group = matches!(
        message["chat"]["type"].as_str(),
        Some("group" | "supergroup")
    );
    let text = text.trim();
    let mention = format!("@{}", me.username);
    let mentioned = contains_ignore_case(text, &mention);
    let reply_to_me = message["reply_to_message"]["from"]["id"].as_i64() == Some(me.id);
    if group && !text.starts_with('/') && !mentioned && !reply_to_me {
        return Incoming::Ignored("group chatter, not addressed to the bot");
    }
    let Some(text) = to_grammar(text, me) else {
        return Incoming::Ignored("a command addressed to another bot");
    };
    let thread_id = (message["is_topic_message"] == Value::Bool(true))
        .then(|| message["message_thread_id"].as_i64())
        .flatten();
    Incoming::Command(CommandMessage {
        chat_id,
        from_id,
        message_id,
        thread_id,
        carries_secret: carries_secret(&text),
        text,
    })
}

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

/// Splits `word@bot` into the word and whether it is addressed to another bot than `me`.
fn addressed<'a>(word: &'a str, me: &Me) -> (&'a str, bool) {
    match word.split_once('@') {
        Some((head, bot)) => (head, !bot.eq_ignore_ascii_case(&me.username)),
        None => (word, false),
    }
}

/// The message in the grammar's form, or `None` when it is addressed to another bot.
pub fn to_grammar(text: &str, me: &Me) -> Option<String> {
    let text = text.trim();
    // A leading mention addresses the message; it is not part of the command.
    let text = match text.split_once(char::is_whitespace) {
        Some((first, rest)) if first.starts_with('@') => {
            if addressed(first, me).1 || first.len() == 1 {
                return None;
            }
            rest.trim()
        }
        _ => text,
    };
    if let Some(command) = text.strip_prefix('/') {
        let (word, rest) = command
            .split_once(char::is_whitespace)
            .map_or((command, ""), |(word, rest)| (word, rest.trim()));
        let (word, elsewhere) = addressed(word, me);
        if elsewhere {
            return None;
        }
        let written = if rest.is_empty() {
            word.to_owned()
        } else {
            format!("{word} {rest}")
        };
        return Some(match CommandAction::parse(word) {
            // `/start <payload>` (a deep link) and `/help anything` just ask for help.
            Some(CommandAction::Help) => word.to_owned(),
            // `/subscription <token>`: the grammar wants the fields first. Only when the text
            // is not a command as written (`/level WARNING` is).
            Some(action)
                if action.field_count() > 1
                    && !rest.is_empty()
                    && Command::parse(&written).is_err() =>
            {
                format!("{rest} | {word}")
            }
            _ => written,
        });
    }
    // `<token> | subscription@otherbot` is for the other bot.
    let last = text.rsplit('|').next().unwrap_or(text).trim();
    if addressed(last, me).1 {
        return None;
    }
    Some(text.to_owned())
}

/// Whether a grammar text carries a token: any command with fields before its action (all of
/// them name a bot token or an auth token), even a malformed one.
fn carries_secret(text: &str) -> bool {
    let mut fields = text.rsplit('|');
    let action = fields.next().and_then(CommandAction::parse);
    let has_fields = fields.any(|field| !field.trim().is_empty());
    matches!(action, Some(action) if action.field_count() > 1) && has_fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn me() -> Me {
        Me {
            id: 42,
            username: "LogBot".into(),
        }
    }

    fn message(chat_type: &str, text: &str) -> Value {
        json!({"update_id": 7, "message": {"message_id": 3, "text": text,
            "chat": {"id": -100, "type": chat_type}, "from": {"id": 5}}})
    }

    fn command(update: &Value) -> CommandMessage {
        match classify(update, &me()) {
            Incoming::Command(command) => command,
            other => panic!("not a command: {other:?}"),
        }
    }

    #[test]
    fn telegram_command_forms_become_the_grammar() {
        let me = me();
        let grammar = |text| to_grammar(text, &me);
        assert_eq!(grammar("/help@logbot").as_deref(), Some("help"));
        assert_eq!(grammar("/start deep-link").as_deref(), Some("start"));
        assert_eq!(
            grammar("/subscription@LogBot abc").as_deref(),
            Some("abc | subscription")
        );
        assert_eq!(
            grammar("/register u | n | t | a").as_deref(),
            Some("u | n | t | a | register")
        );
        assert_eq!(
            grammar("abc | subscription").as_deref(),
            Some("abc | subscription")
        );
        assert_eq!(
            grammar("@LogBot abc | subscription").as_deref(),
            Some("abc | subscription")
        );
        assert_eq!(grammar("/level WARNING").as_deref(), Some("level WARNING"));
        assert_eq!(grammar("/status").as_deref(), Some("status"));
        assert_eq!(
            grammar("/status abcdefgh1").as_deref(),
            Some("abcdefgh1 | status")
        );
        assert_eq!(grammar("/help@OtherBot"), None);
        assert_eq!(grammar("abc | subscription@OtherBot"), None);
        assert_eq!(grammar("@OtherBot abc | subscription"), None);
    }

    #[test]
    fn groups_answer_commands_mentions_and_replies_only() {
        assert_eq!(
            classify(&message("group", "hello all"), &me()),
            Incoming::Ignored("group chatter, not addressed to the bot")
        );
        assert_eq!(command(&message("supergroup", "/help")).text, "help");
        assert_eq!(
            command(&message("group", "hi @logbot, abc | subscription")).chat_id,
            "-100"
        );
        let mut reply = message("group", "abc | status");
        reply["message"]["reply_to_message"] = json!({"from": {"id": 42}});
        assert_eq!(command(&reply).text, "abc | status");
        assert!(matches!(
            classify(&message("group", "/help@otherbot"), &me()),
            Incoming::Ignored(_)
        ));
        // A private chat is all for the bot.
        assert_eq!(command(&message("private", "hello")).text, "hello");
    }

    #[test]
    fn tokens_topics_membership_and_migration() {
        let sub = command(&message("private", "/subscription abc"));
        assert!(sub.carries_secret);
        assert!(command(&message("private", "u | n | t | register")).carries_secret);
        assert!(!command(&message("private", "/help")).carries_secret);
        assert!(!command(&message("private", "/subscription")).carries_secret);

        let mut topic = message("supergroup", "/help");
        topic["message"]["is_topic_message"] = json!(true);
        topic["message"]["message_thread_id"] = json!(9);
        assert_eq!(command(&topic).thread_id, Some(9));

        let left = json!({"update_id": 8, "my_chat_member": {"chat": {"id": -100},
            "new_chat_member": {"status": "kicked"}}});
        assert_eq!(
            classify(&left, &me()),
            Incoming::Left {
                chat_id: "-100".into(),
                status: "kicked".into()
            }
        );
        let promoted = json!({"my_chat_member": {"chat": {"id": -100},
            "new_chat_member": {"status": "administrator"}}});
        assert!(matches!(classify(&promoted, &me()), Incoming::Ignored(_)));
        let migrated = json!({"message": {"message_id": 1, "chat": {"id": -5, "type": "group"},
            "migrate_to_chat_id": -1005}});
        assert_eq!(
            classify(&migrated, &me()),
            Incoming::Migrated {
                from: "-5".into(),
                to: "-1005".into()
            }
        );
        assert_eq!(update_id(&left), Some(8));
    }
}
