//! What the Telegram door does with one update, however it arrived (long poll or webhook):
//! claim its `update_id` (a redelivery is not run twice), run it, commit the offset, then
//! answer in the chat.

use super::api::{ApiError, BotApi};
use super::update::{self, CommandMessage, Incoming, Me};
use crate::config::TelegramSettings;
use crate::dataspace::operations::{Bot, NewAuditEvent, format_datetime};
use crate::domain::command::CommandAction;
use crate::domain::entities::BotStatus;
use crate::domain::messenger::Messenger;
use crate::domain::registration::{AuditAction, AuditOutcome};
use crate::service::{CommandOrigin, LogbotService, ServiceError};
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The path name of the bot from `[telegram] home_bot_token` (`~` is in no bot name).
pub const HOME_BOT: &str = "~home";

/// How long an update's claim keeps a redelivery from running it again. The durable offset
/// covers the time after; this covers an update still being handled.
const UPDATE_CLAIM_TTL: Duration = Duration::from_secs(600);

/// Bots listed per DataSpace page while looking for the Telegram ones.
const BOTS_PAGE: i64 = 200;

/// A bot whose updates this gateway reads. No Debug: it holds the token.
#[derive(Clone)]
pub struct ServedBot {
    /// The bot's Telegram id (the token's part before the colon): keys its lease and offset.
    pub key: String,
    /// Its name in webhook paths: the registered name, or [`HOME_BOT`].
    pub path: String,
    /// The registered bot; `None` for the home bot.
    pub bot: Option<Bot>,
    pub token: String,
}

impl ServedBot {
    /// A registered bot is served while it is an ACTIVE Telegram bot.
    fn registered(bot: Bot) -> Option<Self> {
        if bot.messenger != Messenger::Telegram.as_str() || !BotStatus::serves(&bot.status) {
            return None;
        }
        let token = bot.bot_token.clone();
        let served = Self::new(bot.name.clone(), Some(bot), token);
        if served.is_none() {
            tracing::warn!("a registered Telegram bot's token has no bot id");
        }
        served
    }

    fn new(path: String, bot: Option<Bot>, token: String) -> Option<Self> {
        let key = token.split_once(':')?.0.to_owned();
        (!key.is_empty() && key.chars().all(|c| c.is_ascii_digit())).then_some(Self {
            key,
            path,
            bot,
            token,
        })
    }
}

pub struct Door {
    pub service: Arc<LogbotService>,
    pub api: BotApi,
    pub settings: TelegramSettings,
    /// `getMe` of each bot by key, asked once.
    me: Mutex<HashMap<String, Me>>,
}

impl Door {
    pub fn new(
        service: Arc<LogbotService>,
        settings: &crate::config::Settings,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            service,
            api: BotApi::new(
                settings.delivery.telegram_api_base.clone(),
                settings.delivery.send_timeout,
            )?,
            settings: settings.telegram.clone(),
            me: Mutex::default(),
        })
    }

    fn home_bot(&self) -> Option<ServedBot> {
        let token = self.settings.home_bot_token.as_ref()?.expose_secret();
        let served = ServedBot::new(HOME_BOT.into(), None, token.to_owned());
        if served.is_none() {
            tracing::error!("[telegram] home_bot_token is not a bot token (<id>:<secret>)");
        }
        served
    }

    /// Every bot to read updates of: the home bot, then each ACTIVE Telegram bot registered.
    pub async fn served_bots(&self) -> Result<Vec<ServedBot>, ServiceError> {
        let mut bots: Vec<ServedBot> = self.home_bot().into_iter().collect();
        let mut after = None;
        loop {
            let page = self.service.bots(None, BOTS_PAGE as usize, after).await?;
            let Some(last) = page.elems.last() else { break };
            after = last.id.parse().ok();
            for served in page.elems.into_iter().filter_map(ServedBot::registered) {
                if !bots.iter().any(|known| known.key == served.key) {
                    bots.push(served);
                }
            }
            if after.is_none() {
                break;
            }
        }
        Ok(bots)
    }

    /// The bot named `path` in a webhook URL, if it is served.
    pub async fn served_bot(&self, path: &str) -> Result<Option<ServedBot>, ServiceError> {
        if path == HOME_BOT {
            return Ok(self.home_bot());
        }
        Ok(self
            .service
            .bot_by_name(path)
            .await?
            .and_then(ServedBot::registered))
    }

    /// Who the bot is (`getMe`), asked once per bot.
    pub async fn me(&self, bot: &ServedBot) -> Result<Me, ApiError> {
        if let Some(me) = crate::sync::lock(&self.me).get(&bot.key) {
            return Ok(me.clone());
        }
        let me = self.api.get_me(&bot.token).await?;
        crate::sync::lock(&self.me).insert(bot.key.clone(), me.clone());
        Ok(me)
    }

    /// Handles one update. An error (DataSpace unavailable) leaves the update unhandled and
    /// its offset where it was, to be tried again.
    pub async fn handle(&self, bot: &ServedBot, me: &Me, raw: &Value) -> Result<(), ServiceError> {
        let Some(update_id) = update::update_id(raw) else {
            return Ok(());
        };
        let bus = self.service.bus();
        let Some(claim) = bus
            .claim(
                &format!("telegram.update.{}.{update_id}", bot.key),
                UPDATE_CLAIM_TTL,
            )
            .await
        else {
            tracing::debug!(bot = %bot.path, update_id, "update already claimed: a redelivery");
            return Ok(());
        };
        let incoming = update::classify(raw, me);
        let answer = match self.act(bot, &incoming).await {
            Ok(answer) => answer,
            Err(error) => {
                bus.release(claim).await;
                return Err(error);
            }
        };
        // Committed once handled and before answering: a crash from here on loses an answer,
        // never runs the command twice.
        if let Err(error) = self
            .service
            .client()
            .commit_telegram_offset(&bot.key, update_id + 1)
            .await
        {
            tracing::warn!(%error, bot = %bot.path, update_id, "could not commit the Telegram offset; the update's claim keeps it from running again");
        }
        if let (Incoming::Command(message), Some(reply)) = (&incoming, answer) {
            self.answer(bot, message, &reply).await;
        }
        Ok(())
    }

    /// Does what the update asks; the reply to send, for a command.
    async fn act(
        &self,
        bot: &ServedBot,
        incoming: &Incoming,
    ) -> Result<Option<String>, ServiceError> {
        match incoming {
            Incoming::Command(message) => {
                let origin = CommandOrigin {
                    messenger: Messenger::Telegram,
                    chat_id: message.chat_id.clone(),
                    from_uid: message.from_id.clone(),
                    thread_id: message.thread_id.map(|thread| thread.to_string()),
                };
                let outcome = self
                    .service
                    .execute_command_from(&origin, &message.text)
                    .await?;
                tracing::info!(bot = %bot.path, chat = %message.chat_id, ok = outcome.ok, "Telegram command");
                let mut reply = outcome.reply;
                // A new user's first question: the id `register` and `[bots] admins` want.
                if CommandAction::parse(&message.text) == Some(CommandAction::Help) {
                    reply.push_str(&format!(
                        "\n\nYour Telegram user id is {}; this chat's id is {}.",
                        message.from_id, message.chat_id
                    ));
                }
                Ok(Some(reply))
            }
            Incoming::Left { chat_id, status } => {
                if let Some(registered) = &bot.bot {
                    let why = match status.as_str() {
                        "kicked" => {
                            "the bot was kicked from the chat, or blocked (Telegram my_chat_member: kicked)"
                        }
                        _ => "the bot left the chat (Telegram my_chat_member: left)",
                    };
                    let ended = self
                        .service
                        .end_chat_subscriptions(registered, chat_id, why)
                        .await?;
                    tracing::info!(bot = %bot.path, chat = %chat_id, ended, "the bot left a chat; its subscriptions there ended");
                }
                Ok(None)
            }
            Incoming::Migrated { from, to } => {
                if let Some(registered) = &bot.bot {
                    self.migrate(registered, from, to).await?;
                }
                Ok(None)
            }
            Incoming::Ignored(why) => {
                tracing::debug!(bot = %bot.path, why, "Telegram update ignored");
                Ok(None)
            }
        }
    }

    /// Moves the chat's subscriptions and queue to the supergroup, as delivery does when a send
    /// is answered with the migration.
    async fn migrate(&self, bot: &Bot, from: &str, to: &str) -> Result<(), ServiceError> {
        let audit = |migration: &crate::dataspace::operations::ChatMigration| {
            (!(migration.moved.is_empty() && migration.ended.is_empty())).then(|| NewAuditEvent {
                actor_uid: "telegram".into(),
                action: AuditAction::MigrateChat.as_str().into(),
                target: Some(format!("chat:{from}")),
                outcome: AuditOutcome::Migrated.as_str().into(),
                at: format_datetime(Utc::now()),
                details: Some(format!(
                    "bot {}: group {from} became supergroup {to} (migrate_to_chat_id)",
                    bot.name
                )),
            })
        };
        let key = format!("telegram-migrate:{}:{from}:{to}", bot.id);
        self.service
            .client()
            .migrate_chat(&bot.id, from, to, "", audit, &key)
            .await?;
        Ok(())
    }

    /// Deletes a message that carried a token (where the bot may) and replies to it.
    async fn answer(&self, bot: &ServedBot, message: &CommandMessage, reply: &str) {
        let mut text = reply.to_owned();
        if message.carries_secret {
            let note = match self
                .api
                .delete_message(&bot.token, &message.chat_id, message.message_id)
                .await
            {
                Ok(()) => "A secret (a token) was posted in this chat: I deleted the message.",
                Err(error) => {
                    tracing::info!(%error, bot = %bot.path, "could not delete a message carrying a token");
                    "A secret (a token) was posted in this chat and I could not delete the message: delete it yourself, and treat the token as known to the chat's members."
                }
            };
            text = format!("{text}\n\n{note}");
        }
        let send = || {
            self.api.reply(
                &bot.token,
                &message.chat_id,
                message.message_id,
                message.thread_id,
                &text,
            )
        };
        let mut attempt = send().await;
        // One retry after a 429's pause; a reply is not worth more.
        if let Err(
            error @ ApiError::Refused {
                retry_after: Some(_),
                ..
            },
        ) = &attempt
        {
            tokio::time::sleep(error.pause(Duration::ZERO)).await;
            attempt = send().await;
        }
        if let Err(error) = attempt {
            tracing::warn!(%error, bot = %bot.path, "could not send a command reply to Telegram");
        }
    }
}
