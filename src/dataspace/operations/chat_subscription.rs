//! `ChatSubscription`: the generated operations of `queries/chat_subscription.graphql` and the
//! client's subscription methods.

use super::{_DateTime, Long, idempotency_key, required};
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::error::DataSpaceError;
use crate::dataspace::read_cache::Cached;
use graphql_client::GraphQLQuery;

macro_rules! subscription_operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "queries/chat_subscription.graphql",
            response_derives = "Debug, Clone, PartialEq",
            skip_serializing_none
        )]
        pub struct $name;
    };
}

subscription_operation!(SearchChatSubscription);
subscription_operation!(SearchActiveSubscriptionsByBot);
subscription_operation!(SearchSubscriptionByBotAndChat);
subscription_operation!(GetChatSubscription);
subscription_operation!(CreateChatSubscription);
subscription_operation!(UpdateChatSubscription);
subscription_operation!(DeleteChatSubscription);
subscription_operation!(CreateManyChatSubscription);
subscription_operation!(SearchActiveSubscriptionsOfChat);
subscription_operation!(SearchMutedSubscriptions);

/// A chat's subscription to a bot's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSubscription {
    pub id: String,
    pub agg_version: i64,
    /// The bot's id.
    pub bot: String,
    pub chat_id: String,
    pub subscriber_uid: Option<String>,
    /// The lowest level delivered to the chat.
    pub min_level: String,
    pub active: bool,
    pub created_at: String,
    /// The forum topic records go to (Telegram `message_thread_id`), if any.
    pub thread_id: Option<String>,
    /// Records wait (are counted, not sent) until then.
    pub muted_until: Option<String>,
    /// When the last mute began.
    pub muted_since: Option<String>,
}

impl ChatSubscription {
    /// Whether the chat's records are held (`/mute`) at `now`.
    pub fn is_muted(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.muted_until
            .as_deref()
            .and_then(super::parse_datetime)
            .is_some_and(|until| until > now)
    }
}

/// A subscription to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewChatSubscription {
    pub bot: String,
    pub chat_id: String,
    pub subscriber_uid: Option<String>,
    pub min_level: String,
    pub active: bool,
    pub created_at: String,
    /// The forum topic records go to (Telegram `message_thread_id`), if any.
    pub thread_id: Option<String>,
    /// Records wait (are counted, not sent) until then.
    pub muted_until: Option<String>,
    /// When the last mute began.
    pub muted_since: Option<String>,
}

/// The fields of a subscription to change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatSubscriptionUpdate {
    pub id: String,
    pub bot: Option<String>,
    pub chat_id: Option<String>,
    pub subscriber_uid: Option<String>,
    pub min_level: Option<String>,
    pub active: Option<bool>,
    pub created_at: Option<String>,
    pub thread_id: Option<String>,
    pub muted_until: Option<String>,
    pub muted_since: Option<String>,
}

convert_fields!(
    ChatSubscription,
    {
        id, agg_version, bot, chat_id, subscriber_uid, min_level, active, created_at, thread_id,
        muted_until, muted_since
    }
    from search_chat_subscription::ChatSubscriptionFields,
    search_active_subscriptions_by_bot::ChatSubscriptionFields,
    search_subscription_by_bot_and_chat::ChatSubscriptionFields,
    get_chat_subscription::ChatSubscriptionFields,
    create_chat_subscription::ChatSubscriptionFields,
    update_chat_subscription::ChatSubscriptionFields,
    search_active_subscriptions_of_chat::ChatSubscriptionFields,
    search_muted_subscriptions::ChatSubscriptionFields,
);
convert_fields!(
    create_chat_subscription::_CreateChatSubscriptionInput,
    {
        bot, chat_id, subscriber_uid, min_level, active, created_at, thread_id, muted_until,
        muted_since
    }
    from NewChatSubscription
);
convert_fields!(
    create_many_chat_subscription::_CreateChatSubscriptionInput,
    {
        bot, chat_id, subscriber_uid, min_level, active, created_at, thread_id, muted_until,
        muted_since
    }
    from NewChatSubscription
);
convert_fields!(
    update_chat_subscription::_UpdateChatSubscriptionInput,
    {
        id, bot, chat_id, subscriber_uid, min_level, active, created_at, thread_id, muted_until,
        muted_since
    }
    from ChatSubscriptionUpdate
);
sort_input!(search_chat_subscription);

impl DataSpaceClient {
    /// The active subscriptions of a bot: the chats its records are delivered to.
    pub async fn find_active_subscriptions(
        &self,
        bot_id: &str,
    ) -> Result<Vec<ChatSubscription>, DataSpaceError> {
        let variables = search_active_subscriptions_by_bot::Variables {
            bot: bot_id.to_owned(),
        };
        let found = self
            .run::<SearchActiveSubscriptionsByBot>(variables, Retry::Safe)
            .await?;
        let elems = found.search_chat_subscription.elems.into_iter();
        Ok(elems.map(ChatSubscription::from).collect())
    }

    /// A chat's active subscriptions, to any bot, oldest first.
    pub async fn active_subscriptions_of_chat(
        &self,
        chat_id: &str,
    ) -> Result<Vec<ChatSubscription>, DataSpaceError> {
        let variables = search_active_subscriptions_of_chat::Variables {
            chat_id: chat_id.to_owned(),
        };
        let found = self
            .run::<SearchActiveSubscriptionsOfChat>(variables, Retry::Safe)
            .await?;
        let elems = found.search_chat_subscription.elems.into_iter();
        Ok(elems.map(ChatSubscription::from).collect())
    }

    /// Active subscriptions with a mute set (current or ended), at most `limit`.
    pub async fn muted_subscriptions(
        &self,
        limit: i64,
    ) -> Result<Vec<ChatSubscription>, DataSpaceError> {
        let variables = search_muted_subscriptions::Variables { limit };
        let found = self
            .run::<SearchMutedSubscriptions>(variables, Retry::Safe)
            .await?;
        let elems = found.search_chat_subscription.elems.into_iter();
        Ok(elems.map(ChatSubscription::from).collect())
    }

    /// A chat's subscription to a bot, active or not, if there is one.
    pub async fn find_subscription(
        &self,
        bot_id: &str,
        chat_id: &str,
    ) -> Result<Option<ChatSubscription>, DataSpaceError> {
        Ok(self
            .find_subscriptions(bot_id, chat_id)
            .await?
            .into_iter()
            .next())
    }

    /// Every subscription of a chat to a bot, active or not, oldest first (there is normally
    /// one; a migration moves them all).
    pub async fn find_subscriptions(
        &self,
        bot_id: &str,
        chat_id: &str,
    ) -> Result<Vec<ChatSubscription>, DataSpaceError> {
        let variables = search_subscription_by_bot_and_chat::Variables {
            bot: bot_id.to_owned(),
            chat_id: chat_id.to_owned(),
        };
        let found = self
            .run::<SearchSubscriptionByBotAndChat>(variables, Retry::Safe)
            .await?;
        let elems = found.search_chat_subscription.elems.into_iter();
        Ok(elems.map(ChatSubscription::from).collect())
    }

    pub async fn create_subscription(
        &self,
        subscription: NewChatSubscription,
        key: Option<&str>,
    ) -> Result<ChatSubscription, DataSpaceError> {
        let variables = create_chat_subscription::Variables {
            key: idempotency_key(key),
            input: subscription.into(),
        };
        let data = self
            .run::<CreateChatSubscription>(variables, Retry::Safe)
            .await;
        self.changed(Cached::Subscriptions);
        let data = data?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.create_chat_subscription, "created subscription")?.into())
    }

    /// Changes a subscription; with `version`, a concurrent change is a
    /// [`DataSpaceError::VersionConflict`].
    pub async fn update_subscription(
        &self,
        update: ChatSubscriptionUpdate,
        version: Option<Long>,
        key: Option<&str>,
    ) -> Result<ChatSubscription, DataSpaceError> {
        let variables = update_chat_subscription::Variables {
            key: idempotency_key(key),
            version,
            input: update.into(),
        };
        let data = self
            .run::<UpdateChatSubscription>(variables, Retry::Safe)
            .await;
        self.changed(Cached::Subscriptions);
        let data = data?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.update_chat_subscription, "updated subscription")?.into())
    }

    /// Marks a subscription inactive (kept for history; subscribing again reactivates it).
    pub async fn deactivate_subscription(
        &self,
        id: &str,
        key: Option<&str>,
    ) -> Result<ChatSubscription, DataSpaceError> {
        let update = ChatSubscriptionUpdate {
            id: id.to_owned(),
            active: Some(false),
            ..Default::default()
        };
        self.update_subscription(update, None, key).await
    }
}
