//! Bots and chat subscriptions: registration (admin list, per-admin limit, an audit event for
//! every attempt), subscription by auth token, and the bot lookups the other use cases share.
//! The chat commands on top of them are [`super::commands`].

use super::{LogbotService, ServiceError};
use crate::bus::BOTS_CHANNEL;
use crate::dataspace::DataSpaceError;
use crate::dataspace::operations::{
    self as rows, Bot, ChatSubscription, ChatSubscriptionUpdate, NewChatSubscription, Page, now,
};
use crate::domain::entities::{BotStatus, NewAuditEvent, NewBot};
use crate::domain::level::LogLevel;
use crate::domain::messenger::Messenger;
use crate::domain::names::{AuthToken, BotName, BotToken, ChatId, ThreadId, Uid};
use crate::domain::registration::{AuditAction, AuditOutcome, RefusalReason, RegistrationRefused};
use crate::domain::secrets;

/// A registration request as the doors hand it over (still unparsed text).
#[derive(Clone)]
pub struct RegisterBot {
    pub admin_uid: String,
    pub name: String,
    pub bot_token: String,
    pub auth_token: String,
    pub messenger: Messenger,
}

/// A subscription request.
#[derive(Clone)]
pub struct SubscribeChat {
    pub auth_token: String,
    pub chat_id: String,
    pub subscriber_uid: Option<String>,
    pub min_level: LogLevel,
    /// The forum topic the subscription delivers to (Telegram `message_thread_id`).
    pub thread_id: Option<String>,
}

impl SubscribeChat {
    /// The level a subscription starts with when the subscriber does not say: all but DEBUG.
    pub const DEFAULT_MIN_LEVEL: LogLevel = LogLevel::Info;
}

/// How long a registration may hold its admin's lock before it lapses (far longer than the
/// count and the create take), and how long another registration waits for it.
const REGISTRATION_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(30);
const REGISTRATION_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The audit word for a refused attempt.
fn refusal(error: &ServiceError) -> RefusalReason {
    match error {
        ServiceError::NotAnAdmin(_) | ServiceError::Forbidden(_) => RefusalReason::NotAnAdmin,
        ServiceError::LimitReached(_) => RefusalReason::LimitReached,
        ServiceError::AlreadyExists { .. } => RefusalReason::BotNameTaken,
        ServiceError::Unauthenticated(_) => RefusalReason::UnknownToken,
        _ => RefusalReason::InvalidCommand,
    }
}

fn unknown_token() -> ServiceError {
    ServiceError::Unauthenticated("no bot has this auth token".into())
}

impl LogbotService {
    pub async fn bot_by_name(&self, name: &str) -> Result<Option<Bot>, ServiceError> {
        let Ok(name) = BotName::parse(name) else {
            return Ok(None);
        };
        Ok(self.client.cached_bot_by_name(name.as_str()).await?)
    }

    pub async fn require_bot(&self, name: &str) -> Result<Bot, ServiceError> {
        self.bot_by_name(name)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "bot",
                name: name.to_owned(),
            })
    }

    /// [`require_bot`](Self::require_bot) for taking records: a bot that does not serve
    /// (DISABLED) is refused as an unknown one.
    pub(super) async fn require_serving_bot(&self, name: &str) -> Result<Bot, ServiceError> {
        serving(self.require_bot(name).await?, name)
    }

    /// The bot of this id if it serves (see [`require_serving_bot`](Self::require_serving_bot)).
    pub(super) async fn require_serving_bot_by_id(&self, id: &str) -> Result<Bot, ServiceError> {
        let bot = self
            .client
            .cached_bot(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "bot",
                name: id.to_owned(),
            })?;
        serving(bot, id)
    }

    /// Bots, optionally of one owner, in registration order after the cursor id.
    pub async fn bots(
        &self,
        owner_uid: Option<&str>,
        first: usize,
        after_id: Option<i64>,
    ) -> Result<Page<Bot>, ServiceError> {
        Ok(self
            .client
            .find_bots_page(owner_uid, first as i64, after_id)
            .await?)
    }

    /// How many bots there are (of one owner, when given).
    pub async fn bots_total(&self, owner_uid: Option<&str>) -> Result<i64, ServiceError> {
        Ok(self.client.count_bots(owner_uid).await?)
    }

    pub async fn subscriptions_of(
        &self,
        bot_name: &str,
    ) -> Result<Vec<ChatSubscription>, ServiceError> {
        let bot = self.require_bot(bot_name).await?;
        Ok(self.client.find_active_subscriptions(&bot.id).await?)
    }

    /// Registers a bot. Every attempt, accepted or refused, is written as an AuditEvent.
    pub async fn register_bot(&self, request: RegisterBot) -> Result<Bot, ServiceError> {
        let outcome = self.try_register(&request).await;
        let (result, details) = match &outcome {
            Ok(bot) => (AuditOutcome::Accepted, format!("bot id {}", bot.id)),
            Err(error) => (AuditOutcome::Refused(refusal(error)), error.to_string()),
        };
        self.audit(
            &request.admin_uid,
            AuditAction::RegisterBot,
            &request.name,
            result,
            &details,
        )
        .await;
        // Tells every replica's chat doors (Telegram polling) to look at the bots again now.
        if let Ok(bot) = &outcome
            && let Err(error) = self.bus.publish(BOTS_CHANNEL, &bot.name).await
        {
            tracing::warn!(%error, "could not announce a registered bot");
        }
        outcome
    }

    async fn try_register(&self, request: &RegisterBot) -> Result<Bot, ServiceError> {
        let admin = Uid::parse(&request.admin_uid)
            .map_err(|error| ServiceError::invalid("adminUid", error.problem()))?;
        let name = BotName::parse(&request.name)
            .map_err(|error| ServiceError::invalid("name", error.problem()))?;
        let bot_token = BotToken::parse(&request.bot_token)
            .map_err(|error| ServiceError::invalid("botToken", error.problem()))?;
        let auth_token = AuthToken::parse(&request.auth_token)
            .map_err(|error| ServiceError::invalid("authToken", error.problem()))?;
        // Held from counting the admin's bots to creating one, so that concurrent registrations
        // cannot pass the limit together: across replicas with the Redis bus, else in-process.
        let _lock = self
            .bus
            .lock(
                &format!("register.{}", admin.as_str()),
                REGISTRATION_LOCK_TTL,
                REGISTRATION_LOCK_WAIT,
            )
            .await
            .map_err(|_| {
                ServiceError::Busy(format!(
                    "another registration for {} is in progress; try again",
                    admin.as_str()
                ))
            })?;
        let owned = self.client.count_bots(Some(admin.as_str())).await?;
        self.registration
            .check(&admin, u32::try_from(owned).unwrap_or(u32::MAX))
            .map_err(|refused| match refused {
                RegistrationRefused::NotAnAdmin => ServiceError::NotAnAdmin(format!(
                    "{} is not allowed to register bots",
                    admin.as_str()
                )),
                RegistrationRefused::LimitReached { limit } => ServiceError::LimitReached(format!(
                    "{} already owns {limit} bots, the most allowed",
                    admin.as_str()
                )),
            })?;
        let new_bot = NewBot::new(name, admin, request.messenger, bot_token, &auth_token);
        self.client
            .create_bot(rows::NewBot::from(&new_bot), None)
            .await
            .map_err(|error| match error {
                DataSpaceError::UniqueViolation(_) => ServiceError::AlreadyExists {
                    field: "name".into(),
                    message: format!("a bot named {:?} already exists", new_bot.name().as_str()),
                },
                other => other.into(),
            })
    }

    /// The bot whose auth token this is, compared against the stored hash in constant time.
    /// A bot that does not serve (DISABLED) has no token that works.
    pub(super) async fn bot_by_auth_token(&self, token: &str) -> Result<Bot, ServiceError> {
        let token = AuthToken::parse(token).map_err(|_| unknown_token())?;
        let hash = secrets::hash_auth_token(&token);
        let bot = self
            .client
            .find_bot_by_auth_token_hash(&hash)
            .await?
            .ok_or_else(unknown_token)?;
        if secrets::auth_token_matches(&token, &bot.auth_token_hash)
            && BotStatus::serves(&bot.status)
        {
            Ok(bot)
        } else {
            Err(unknown_token())
        }
    }

    /// Subscribes a chat to the bot of an auth token; subscribing again updates the level.
    pub async fn subscribe_chat(
        &self,
        request: SubscribeChat,
    ) -> Result<(Bot, ChatSubscription), ServiceError> {
        let chat = ChatId::parse(&request.chat_id)
            .map_err(|error| ServiceError::invalid("chatId", error.problem()))?;
        if let Some(thread) = &request.thread_id {
            ThreadId::parse(thread)
                .map_err(|error| ServiceError::invalid("threadId", error.problem()))?;
        }
        let subscriber = match request
            .subscriber_uid
            .as_deref()
            .filter(|uid| !uid.trim().is_empty())
        {
            Some(uid) => Some(
                Uid::parse(uid)
                    .map_err(|error| ServiceError::invalid("subscriberUid", error.problem()))?,
            ),
            None => None,
        };
        let actor = subscriber
            .as_ref()
            .map_or(chat.as_str(), |uid| uid.as_str())
            .to_owned();
        let outcome = self
            .try_subscribe(&request, &chat, subscriber.as_ref())
            .await;
        let (result, target) = match &outcome {
            Ok((bot, _)) => (AuditOutcome::Accepted, bot.name.clone()),
            Err(error) => (AuditOutcome::Refused(refusal(error)), String::new()),
        };
        self.audit(
            &actor,
            AuditAction::SubscribeChat,
            &target,
            result,
            &format!("chat {}", chat.as_str()),
        )
        .await;
        outcome
    }

    async fn try_subscribe(
        &self,
        request: &SubscribeChat,
        chat: &ChatId,
        subscriber: Option<&Uid>,
    ) -> Result<(Bot, ChatSubscription), ServiceError> {
        let bot = self.bot_by_auth_token(&request.auth_token).await?;
        let subscription = match self
            .client
            .find_subscription(&bot.id, chat.as_str())
            .await?
        {
            Some(existing) => {
                if !existing.active {
                    self.check_subscription_room(&bot).await?;
                }
                let update = ChatSubscriptionUpdate {
                    id: existing.id.clone(),
                    active: Some(true),
                    min_level: Some(request.min_level.as_str().to_owned()),
                    subscriber_uid: subscriber.map(|uid| uid.as_str().to_owned()),
                    thread_id: request.thread_id.clone(),
                    ..Default::default()
                };
                self.client.update_subscription(update, None, None).await?
            }
            None => {
                self.check_subscription_room(&bot).await?;
                let new = NewChatSubscription {
                    bot: bot.id.clone(),
                    chat_id: chat.as_str().to_owned(),
                    subscriber_uid: subscriber.map(|uid| uid.as_str().to_owned()),
                    min_level: request.min_level.as_str().to_owned(),
                    active: true,
                    created_at: now(),
                    thread_id: request.thread_id.clone(),
                    muted_until: None,
                    muted_since: None,
                };
                // Keyed by bot and chat: two racing subscribes of one chat create one row.
                let key = format!("subscribe:{}:{}", bot.id, chat.as_str());
                self.client.create_subscription(new, Some(&key)).await?
            }
        };
        Ok((bot, subscription))
    }

    /// Whether the bot may have one more active subscription (`[limits]
    /// subscriptions_per_bot`): every batch is queued to all of them. Two racing subscribes
    /// may pass it together; the deliveries cap of a batch still holds.
    async fn check_subscription_room(&self, bot: &Bot) -> Result<(), ServiceError> {
        let active = self.client.find_active_subscriptions(&bot.id).await?.len();
        let limit = self.limits.subscriptions_per_bot;
        if active >= limit {
            return Err(ServiceError::LimitReached(format!(
                "bot {:?} has {active} active chat subscriptions, at most {limit} allowed \
                 ([limits] subscriptions_per_bot)",
                bot.name
            )));
        }
        Ok(())
    }

    /// Deactivates a chat's subscription; false when it had none.
    pub async fn unsubscribe_chat(
        &self,
        auth_token: &str,
        chat_id: &str,
    ) -> Result<bool, ServiceError> {
        Ok(self.unsubscribe(auth_token, chat_id).await?.1)
    }

    pub(super) async fn unsubscribe(
        &self,
        auth_token: &str,
        chat_id: &str,
    ) -> Result<(Bot, bool), ServiceError> {
        let chat = ChatId::parse(chat_id)
            .map_err(|error| ServiceError::invalid("chatId", error.problem()))?;
        let bot = self.bot_by_auth_token(auth_token).await?;
        let done = match self
            .client
            .find_subscription(&bot.id, chat.as_str())
            .await?
        {
            Some(existing) if existing.active => {
                self.client
                    .deactivate_subscription(&existing.id, None)
                    .await?;
                true
            }
            _ => false,
        };
        let result = if done {
            AuditOutcome::Accepted
        } else {
            AuditOutcome::Refused(RefusalReason::NotSubscribed)
        };
        self.audit(
            chat.as_str(),
            AuditAction::UnsubscribeChat,
            &bot.name,
            result,
            &format!("chat {}", chat.as_str()),
        )
        .await;
        Ok((bot, done))
    }

    /// Ends a bot's subscriptions of a chat the bot is gone from (removed from the group, or
    /// blocked by the user), each with an AuditEvent saying why; how many ended.
    pub async fn end_chat_subscriptions(
        &self,
        bot: &Bot,
        chat_id: &str,
        why: &str,
    ) -> Result<usize, ServiceError> {
        let mut ended = 0;
        for subscription in self.client.find_subscriptions(&bot.id, chat_id).await? {
            if !subscription.active {
                continue;
            }
            let key = format!(
                "end-subscription:{}:{}",
                subscription.id, subscription.agg_version
            );
            self.client
                .deactivate_subscription(&subscription.id, Some(&key))
                .await?;
            self.audit(
                chat_id,
                AuditAction::UnsubscribeChat,
                &bot.name,
                AuditOutcome::Accepted,
                &format!("chat {chat_id}: {why}"),
            )
            .await;
            ended += 1;
        }
        Ok(ended)
    }

    /// Writes an audit event; a failure to audit is logged, not shown to the caller.
    pub(super) async fn audit(
        &self,
        actor: &str,
        action: AuditAction,
        target: &str,
        outcome: AuditOutcome,
        details: &str,
    ) {
        let mut details = details.to_owned();
        if let AuditOutcome::Refused(_) = outcome {
            match self.refusals.admit(std::time::Instant::now()) {
                None => return,
                Some(0) => {}
                Some(unrecorded) => {
                    details = format!(
                        "{unrecorded} refusals before this one were not recorded \
                     ([limits] audit_refusals_per_minute); {details}"
                    )
                }
            }
        }
        let event = NewAuditEvent::new(actor, action, Some(target), outcome, Some(&details));
        if let Err(error) = self.client.create_audit_event(event.into(), None).await {
            tracing::error!(%error, action = action.as_str(), "could not write audit event");
        }
    }
}

/// The bot, if its status lets it serve; else refused as unknown (`named` as the caller did).
fn serving(bot: Bot, named: &str) -> Result<Bot, ServiceError> {
    if BotStatus::serves(&bot.status) {
        Ok(bot)
    } else {
        Err(ServiceError::NotFound {
            what: "bot",
            name: named.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_audited_by_its_type() {
        assert_eq!(
            refusal(&ServiceError::NotAnAdmin(String::new())),
            RefusalReason::NotAnAdmin
        );
    }
}
