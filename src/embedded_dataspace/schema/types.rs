//! The entity and input types, field for field as in `schema.graphql`.

use crate::embedded_dataspace::scalars::{DateTime, Long};
use async_graphql::{ID, InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(SimpleObject, Deserialize, Debug)]
#[graphql(name = "_E_Bot")]
#[serde(rename_all = "camelCase")]
pub struct BotEntity {
    id: ID,
    agg_version: Long,
    name: String,
    owner_uid: String,
    messenger: String,
    bot_token: String,
    auth_token_hash: String,
    created_at: DateTime,
    status: String,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_CreateBotInput")]
#[serde(rename_all = "camelCase")]
pub struct BotCreate {
    name: String,
    owner_uid: String,
    messenger: String,
    bot_token: String,
    auth_token_hash: String,
    created_at: DateTime,
    status: String,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_UpdateBotInput")]
#[serde(rename_all = "camelCase")]
pub struct BotUpdate {
    id: ID,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messenger: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_token_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

#[derive(SimpleObject, Deserialize, Debug)]
#[graphql(name = "_E_ChatSubscription")]
#[serde(rename_all = "camelCase")]
pub struct ChatSubscriptionEntity {
    id: ID,
    agg_version: Long,
    bot: ID,
    chat_id: String,
    subscriber_uid: Option<String>,
    min_level: String,
    active: bool,
    created_at: DateTime,
    thread_id: Option<String>,
    muted_until: Option<DateTime>,
    muted_since: Option<DateTime>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_CreateChatSubscriptionInput")]
#[serde(rename_all = "camelCase")]
pub struct ChatSubscriptionCreate {
    bot: ID,
    chat_id: String,
    subscriber_uid: Option<String>,
    min_level: String,
    active: bool,
    created_at: DateTime,
    thread_id: Option<String>,
    muted_until: Option<DateTime>,
    muted_since: Option<DateTime>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_UpdateChatSubscriptionInput")]
#[serde(rename_all = "camelCase")]
pub struct ChatSubscriptionUpdate {
    id: ID,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot: Option<ID>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriber_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    muted_until: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    muted_since: Option<DateTime>,
}

#[derive(SimpleObject, Deserialize, Debug)]
#[graphql(name = "_E_LogRecord")]
#[serde(rename_all = "camelCase")]
pub struct LogRecordEntity {
    id: ID,
    agg_version: Long,
    bot: ID,
    level: String,
    message: String,
    event_at: DateTime,
    received_at: DateTime,
    request_id: Option<String>,
    status_code: Option<i32>,
    source_user_name: Option<String>,
    source_pid: Option<Long>,
    source_process_name: Option<String>,
    source_process_description: Option<String>,
    attributes: Option<String>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_CreateLogRecordInput")]
#[serde(rename_all = "camelCase")]
pub struct LogRecordCreate {
    bot: ID,
    level: String,
    message: String,
    event_at: DateTime,
    received_at: DateTime,
    request_id: Option<String>,
    status_code: Option<i32>,
    source_user_name: Option<String>,
    source_pid: Option<Long>,
    source_process_name: Option<String>,
    source_process_description: Option<String>,
    attributes: Option<String>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_UpdateLogRecordInput")]
#[serde(rename_all = "camelCase")]
pub struct LogRecordUpdate {
    id: ID,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot: Option<ID>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    received_at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_pid: Option<Long>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_process_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_process_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<String>,
}

#[derive(SimpleObject, Deserialize, Debug)]
#[graphql(name = "_E_LogUser")]
#[serde(rename_all = "camelCase")]
pub struct LogUserEntity {
    id: ID,
    agg_version: Long,
    username: String,
    token_hash: String,
    telegram_id: Option<String>,
    bot: Option<ID>,
    created_at: DateTime,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_CreateLogUserInput")]
#[serde(rename_all = "camelCase")]
pub struct LogUserCreate {
    username: String,
    token_hash: String,
    telegram_id: Option<String>,
    bot: Option<ID>,
    created_at: DateTime,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_UpdateLogUserInput")]
#[serde(rename_all = "camelCase")]
pub struct LogUserUpdate {
    id: ID,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    telegram_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot: Option<ID>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime>,
}

#[derive(SimpleObject, Deserialize, Debug)]
#[graphql(name = "_E_AuditEvent")]
#[serde(rename_all = "camelCase")]
pub struct AuditEventEntity {
    id: ID,
    agg_version: Long,
    actor_uid: String,
    action: String,
    target: Option<String>,
    outcome: String,
    at: DateTime,
    details: Option<String>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_CreateAuditEventInput")]
#[serde(rename_all = "camelCase")]
pub struct AuditEventCreate {
    actor_uid: String,
    action: String,
    target: Option<String>,
    outcome: String,
    at: DateTime,
    details: Option<String>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_UpdateAuditEventInput")]
#[serde(rename_all = "camelCase")]
pub struct AuditEventUpdate {
    id: ID,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<String>,
}

#[derive(SimpleObject, Deserialize, Debug)]
#[graphql(name = "_E_Delivery")]
#[serde(rename_all = "camelCase")]
pub struct DeliveryEntity {
    id: ID,
    agg_version: Long,
    record: ID,
    bot: ID,
    subscription: ID,
    chat_id: String,
    status: String,
    attempts: i32,
    parts_sent: i32,
    next_attempt_at: DateTime,
    lease_owner: Option<String>,
    lease_until: Option<DateTime>,
    last_error: Option<String>,
    created_at: DateTime,
    sent_at: Option<DateTime>,
    thread_id: Option<String>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_CreateDeliveryInput")]
#[serde(rename_all = "camelCase")]
pub struct DeliveryCreate {
    record: ID,
    bot: ID,
    subscription: ID,
    chat_id: String,
    status: String,
    attempts: i32,
    parts_sent: i32,
    next_attempt_at: DateTime,
    lease_owner: Option<String>,
    lease_until: Option<DateTime>,
    last_error: Option<String>,
    created_at: DateTime,
    sent_at: Option<DateTime>,
    thread_id: Option<String>,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_UpdateDeliveryInput")]
#[serde(rename_all = "camelCase")]
pub struct DeliveryUpdate {
    id: ID,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<ID>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot: Option<ID>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription: Option<ID>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts_sent: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_until: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_at: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<String>,
}

#[derive(SimpleObject, Deserialize, Debug)]
#[graphql(name = "_E_TelegramOffset")]
#[serde(rename_all = "camelCase")]
pub struct TelegramOffsetEntity {
    id: ID,
    agg_version: Long,
    bot_id: String,
    offset: Long,
    updated_at: DateTime,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_CreateTelegramOffsetInput")]
#[serde(rename_all = "camelCase")]
pub struct TelegramOffsetCreate {
    bot_id: String,
    offset: Long,
    updated_at: DateTime,
}

#[derive(InputObject, Serialize)]
#[graphql(name = "_UpdateTelegramOffsetInput")]
#[serde(rename_all = "camelCase")]
pub struct TelegramOffsetUpdate {
    id: ID,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<Long>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime>,
}
