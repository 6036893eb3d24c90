//! Chat controls (`/unsubscribe`, `/status`, `/level`, `/mute`, `/unmute`): a chat changes its
//! own subscriptions, every bot it is subscribed to at once, without presenting a token.
//!
//! Any member who can write to the chat may use them (see README, "Chat controls"): they only
//! change what this chat receives, the reply is visible to the whole chat, every use is an
//! AuditEvent naming the sender, and subscribing again needs the auth token.

use super::commands::CommandOrigin;
use super::{LogbotService, ServiceError};
use crate::dataspace::operations::{ChatSubscription, ChatSubscriptionUpdate, format_datetime};
use crate::domain::command::ChatControl;
use crate::domain::level::LogLevel;
use crate::domain::names::{BotName, ChatId};
use crate::domain::registration::{AuditAction, AuditOutcome, RefusalReason};
use crate::domain::replies::{ChatState, Reply};
use chrono::Utc;

impl LogbotService {
    /// Applies a chat control to every active subscription of the origin's chat.
    pub(super) async fn chat_control(
        &self,
        origin: &CommandOrigin,
        control: ChatControl,
    ) -> Result<Reply, ServiceError> {
        let chat = ChatId::parse(&origin.chat_id)
            .map_err(|error| ServiceError::invalid("chatId", error.problem()))?;
        let subscriptions = self
            .client
            .active_subscriptions_of_chat(chat.as_str())
            .await?;
        let action = audit_action(control);
        let actor = if origin.from_uid.is_empty() {
            chat.as_str()
        } else {
            origin.from_uid.as_str()
        };
        let details = format!("chat {}: {}", chat.as_str(), describe(control));
        if subscriptions.is_empty() {
            self.audit(
                actor,
                action,
                "",
                AuditOutcome::Refused(RefusalReason::NotSubscribed),
                &details,
            )
            .await;
            return Ok(Reply::NoSubscriptions);
        }
        let now = Utc::now();
        let mut states = Vec::with_capacity(subscriptions.len());
        for subscription in subscriptions {
            let bot = self.bot_name_by_id(&subscription.bot).await?;
            let changed = match control {
                ChatControl::Status => subscription,
                ChatControl::Unsubscribe => {
                    self.client
                        .deactivate_subscription(&subscription.id, None)
                        .await?
                }
                ChatControl::Level(level) => {
                    self.change(&subscription, |update| {
                        update.min_level = Some(level.as_str().to_owned());
                    })
                    .await?
                }
                ChatControl::Mute(duration) => {
                    let until = chrono::TimeDelta::from_std(duration)
                        .ok()
                        .and_then(|delta| now.checked_add_signed(delta))
                        .unwrap_or(now);
                    // Muting again while muted extends the mute; the summary still covers
                    // everything since the first.
                    let since = match subscription.is_muted(now) {
                        true => subscription.muted_since.clone(),
                        false => Some(format_datetime(now)),
                    };
                    self.change(&subscription, |update| {
                        update.muted_until = Some(format_datetime(until));
                        update.muted_since = since;
                    })
                    .await?
                }
                ChatControl::Unmute if subscription.is_muted(now) => {
                    // The mute ends now; the delivery worker sends the summary.
                    self.change(&subscription, |update| {
                        update.muted_until = Some(format_datetime(now));
                    })
                    .await?
                }
                ChatControl::Unmute => subscription,
            };
            let waiting = self
                .client
                .count_pending_deliveries_of_chat(&changed.bot, &changed.chat_id)
                .await?;
            self.audit(
                actor,
                action,
                bot.as_str(),
                AuditOutcome::Accepted,
                &details,
            )
            .await;
            states.push(ChatState {
                bot,
                min_level: LogLevel::parse_name(&changed.min_level).unwrap_or(LogLevel::Info),
                muted_until: changed
                    .is_muted(now)
                    .then(|| changed.muted_until.clone())
                    .flatten(),
                waiting,
                active: changed.active,
            });
        }
        Ok(match control {
            ChatControl::Status => Reply::ChatStatus(states),
            ChatControl::Unsubscribe => Reply::ChatUnsubscribed(states),
            ChatControl::Level(level) => Reply::LevelChanged { level, states },
            ChatControl::Mute(_) => Reply::Muted(states),
            ChatControl::Unmute => Reply::Unmuted(states),
        })
    }

    async fn change(
        &self,
        subscription: &ChatSubscription,
        edit: impl FnOnce(&mut ChatSubscriptionUpdate),
    ) -> Result<ChatSubscription, ServiceError> {
        let mut update = ChatSubscriptionUpdate {
            id: subscription.id.clone(),
            ..Default::default()
        };
        edit(&mut update);
        Ok(self.client.update_subscription(update, None, None).await?)
    }

    async fn bot_name_by_id(&self, id: &str) -> Result<BotName, ServiceError> {
        let name = self
            .client
            .get_bot(id)
            .await?
            .map_or_else(|| "unknown".to_owned(), |bot| bot.name);
        Ok(BotName::parse(&name)
            .unwrap_or_else(|_| BotName::parse("unknown").expect("a valid name")))
    }
}

fn audit_action(control: ChatControl) -> AuditAction {
    match control {
        ChatControl::Unsubscribe => AuditAction::UnsubscribeChat,
        ChatControl::Status => AuditAction::ChatStatus,
        ChatControl::Level(_) => AuditAction::ChangeLevel,
        ChatControl::Mute(_) => AuditAction::MuteChat,
        ChatControl::Unmute => AuditAction::UnmuteChat,
    }
}

fn describe(control: ChatControl) -> String {
    match control {
        ChatControl::Unsubscribe => "/unsubscribe".into(),
        ChatControl::Status => "/status".into(),
        ChatControl::Level(level) => format!("/level {}", level.as_str()),
        ChatControl::Mute(duration) => format!("/mute {}s", duration.as_secs()),
        ChatControl::Unmute => "/unmute".into(),
    }
}
