//! Chat commands: the `... | action` grammar ([`Command::parse`]) run on top of registration,
//! subscription and the chat controls, answered in words.

use super::bots::{RegisterBot, SubscribeChat};
use super::{LogbotService, ServiceError};
use crate::dataspace::operations::Bot;
use crate::domain::command::Command;
use crate::domain::level::LogLevel;
use crate::domain::messenger::Messenger;
use crate::domain::names::BotName;
use crate::domain::replies::Reply;

/// Where a chat command came from, as the door read it from the messenger's update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOrigin {
    pub messenger: Messenger,
    pub chat_id: String,
    /// The sender's user id (empty when the door does not know it).
    pub from_uid: String,
    /// The forum topic the command was written in (Telegram `message_thread_id`).
    pub thread_id: Option<String>,
}

/// The outcome of a chat command: whether it did what was asked, and the text to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub ok: bool,
    pub reply: String,
}

impl LogbotService {
    /// Runs a chat command and answers in words; a refused command is `ok: false`, not an
    /// error. Only an outage is an error (the caller may retry).
    pub async fn execute_command(
        &self,
        text: &str,
        chat_id: &str,
        from_uid: &str,
    ) -> Result<CommandOutcome, ServiceError> {
        self.execute_command_via(Messenger::Telegram, text, chat_id, from_uid)
            .await
    }

    /// [`execute_command`](Self::execute_command) for a command that arrived through
    /// `messenger`: a bot registered from a VK chat is a VK bot.
    pub async fn execute_command_via(
        &self,
        messenger: Messenger,
        text: &str,
        chat_id: &str,
        from_uid: &str,
    ) -> Result<CommandOutcome, ServiceError> {
        let origin = CommandOrigin {
            messenger,
            chat_id: chat_id.to_owned(),
            from_uid: from_uid.to_owned(),
            thread_id: None,
        };
        self.execute_command_from(&origin, text).await
    }

    /// Runs a chat command written at `origin` (chat, sender, forum topic).
    pub async fn execute_command_from(
        &self,
        origin: &CommandOrigin,
        text: &str,
    ) -> Result<CommandOutcome, ServiceError> {
        let (messenger, chat_id, from_uid) = (
            origin.messenger,
            origin.chat_id.as_str(),
            origin.from_uid.as_str(),
        );
        let command = match Command::parse(text) {
            Ok(command) => command,
            Err(error) => {
                return Ok(CommandOutcome {
                    ok: false,
                    reply: Reply::from(error).to_string(),
                });
            }
        };
        let result: Result<Reply, ServiceError> = match command {
            Command::Help => Ok(Reply::Help),
            Command::Register {
                auth_uid,
                bot_name,
                bot_token,
                auth_token,
            } => {
                // No sender is nobody, and so never the admin a command names (a door that
                // cannot say who sent it must not register bots on anyone's behalf).
                if from_uid.trim().is_empty() {
                    Err(ServiceError::Forbidden(
                        "register needs the sender's user id (fromUid), and this command has none"
                            .into(),
                    ))
                } else if auth_uid.as_str() != from_uid {
                    Err(ServiceError::Forbidden(
                        "auth_uid must be your own user id".into(),
                    ))
                } else {
                    self.register_bot(RegisterBot {
                        admin_uid: auth_uid.as_str().to_owned(),
                        name: bot_name.as_str().to_owned(),
                        bot_token: bot_token.expose_secret().to_owned(),
                        auth_token: auth_token.expose_secret().to_owned(),
                        messenger,
                    })
                    .await
                    .map(|_| Reply::Registered { bot: bot_name })
                }
            }
            Command::Subscribe { auth_token } => self
                .subscribe_chat(SubscribeChat {
                    auth_token: auth_token.expose_secret().to_owned(),
                    chat_id: chat_id.to_owned(),
                    subscriber_uid: Some(from_uid.to_owned()),
                    min_level: SubscribeChat::DEFAULT_MIN_LEVEL,
                    thread_id: origin.thread_id.clone(),
                })
                .await
                .map(|(bot, _)| Reply::Subscribed {
                    bot: bot_name_of(&bot),
                }),
            Command::Unsubscribe { auth_token } => self
                .unsubscribe(auth_token.expose_secret(), chat_id)
                .await
                .map(|(bot, done)| {
                    let bot = bot_name_of(&bot);
                    if done {
                        Reply::Unsubscribed { bot }
                    } else {
                        Reply::NotSubscribed { bot }
                    }
                }),
            Command::Status { auth_token } => {
                self.chat_status(auth_token.expose_secret(), chat_id).await
            }
            Command::Control(control) => self.chat_control(origin, control).await,
        };
        match result {
            Ok(reply) => Ok(CommandOutcome {
                ok: true,
                reply: reply.to_string(),
            }),
            Err(error @ (ServiceError::Unavailable | ServiceError::Internal(_))) => Err(error),
            Err(refused) => Ok(CommandOutcome {
                ok: false,
                reply: refused_reply(&refused),
            }),
        }
    }

    async fn chat_status(&self, auth_token: &str, chat_id: &str) -> Result<Reply, ServiceError> {
        let bot = self.bot_by_auth_token(auth_token).await?;
        let subscription = self.client.find_subscription(&bot.id, chat_id).await?;
        let min_level = subscription
            .filter(|subscription| subscription.active)
            .and_then(|subscription| LogLevel::parse_name(&subscription.min_level).ok());
        Ok(Reply::Status {
            bot: bot_name_of(&bot),
            min_level,
        })
    }
}

/// Stored bot names were parsed on the way in, so this cannot fail in practice.
fn bot_name_of(bot: &Bot) -> BotName {
    BotName::parse(&bot.name).unwrap_or_else(|_| BotName::parse("unknown").expect("a valid name"))
}

/// The chat reply for a refused command: the domain's words where it has them.
fn refused_reply(error: &ServiceError) -> String {
    match error {
        ServiceError::Unauthenticated(_) => Reply::UnknownToken.to_string(),
        ServiceError::NotAnAdmin(_) => Reply::NotAnAdmin.to_string(),
        other => format!("Refused: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_to_a_refusal_follows_its_type_not_its_words() {
        assert_eq!(
            refused_reply(&ServiceError::NotAnAdmin("anything".into())),
            Reply::NotAnAdmin.to_string()
        );
        let other = ServiceError::Forbidden("you are not allowed to do that".into());
        assert_eq!(
            refused_reply(&other),
            "Refused: you are not allowed to do that"
        );
    }
}
