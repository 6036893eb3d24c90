//! `Mutation`: registration, subscriptions, records, commands, users.

use super::error::{IntoGraphql, bad_input};
use super::types::{
    Bot, ChatSubscription, CommandResult, DateTime, LogInput, LogRecord, LogRecordInput,
    LogSourceInput, LogUser, RegisterBotInput, SendLogsResult, SubscribeChatInput,
    UnsubscribeChatInput,
};
use crate::domain::record::{LogSource, NewLogRecord};
use crate::service::{CommandOrigin, LogbotService, RegisterBot, ServiceError, SubscribeChat};
use async_graphql::{Context, Object};
use std::sync::Arc;

impl From<LogSourceInput> for LogSource {
    fn from(source: LogSourceInput) -> Self {
        Self {
            user_name: source.user_name,
            pid: source.pid,
            process_name: source.process_name,
            process_description: source.process_description,
        }
    }
}

impl LogRecordInput {
    /// The record this input stands for, checked by the domain; a refusal names the field
    /// as `records[<index>].<field>`.
    fn into_record(self, index: usize) -> Result<NewLogRecord, ServiceError> {
        NewLogRecord::builder(self.level.into(), self.message)
            .maybe_event_at(self.event_at.map(|at| at.0))
            .maybe_request_id(self.request_id)
            .maybe_status_code(self.status_code.map(i64::from))
            .source(self.source.map(LogSource::from).unwrap_or_default())
            .attributes(self.attributes.map(|json| json.0).unwrap_or_default())
            .build()
            .map_err(|error| error.within(&format!("records[{index}]")).into())
    }
}

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Registers a bot for an admin (limited per admin; every attempt is audited).
    async fn register_bot(
        &self,
        ctx: &Context<'_>,
        input: RegisterBotInput,
    ) -> async_graphql::Result<Bot> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let bot = service
            .register_bot(RegisterBot {
                admin_uid: input.admin_uid,
                name: input.name,
                bot_token: input.bot_token,
                auth_token: input.auth_token,
                messenger: input.messenger.into(),
            })
            .await
            .graphql(ctx)?;
        Ok(bot.into())
    }

    /// Subscribes a chat to the bot whose auth token is given.
    async fn subscribe_chat(
        &self,
        ctx: &Context<'_>,
        input: SubscribeChatInput,
    ) -> async_graphql::Result<ChatSubscription> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let (bot, subscription) = service
            .subscribe_chat(SubscribeChat {
                auth_token: input.auth_token,
                chat_id: input.chat_id,
                subscriber_uid: input.subscriber_uid,
                min_level: input.min_level.into(),
                thread_id: input.thread_id,
            })
            .await
            .graphql(ctx)?;
        Ok(ChatSubscription::from_row(&bot.name, subscription))
    }

    /// Ends a chat's subscription; false when it had none.
    async fn unsubscribe_chat(
        &self,
        ctx: &Context<'_>,
        input: UnsubscribeChatInput,
    ) -> async_graphql::Result<bool> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        service
            .unsubscribe_chat(&input.auth_token, &input.chat_id)
            .await
            .graphql(ctx)
    }

    /// Stores one record.
    async fn send_log(
        &self,
        ctx: &Context<'_>,
        input: LogInput,
    ) -> async_graphql::Result<LogRecord> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let record = input.record.into_record(0).graphql(ctx)?;
        let ingested = service
            .ingest(&input.bot, vec![record], None)
            .await
            .graphql(ctx)?;
        let stored = ingested
            .records
            .into_iter()
            .next()
            .ok_or_else(|| bad_input("input", "nothing was stored"))?;
        Ok(LogRecord::from(Arc::unwrap_or_clone(stored)))
    }

    /// Stores a batch atomically; the same idempotencyKey again stores nothing new and
    /// returns the same ids.
    async fn send_logs(
        &self,
        ctx: &Context<'_>,
        bot: String,
        records: Vec<LogRecordInput>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<SendLogsResult> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let records = records
            .into_iter()
            .enumerate()
            .map(|(index, record)| record.into_record(index))
            .collect::<Result<Vec<_>, _>>()
            .graphql(ctx)?;
        let ingested = service
            .ingest(&bot, records, idempotency_key.as_deref())
            .await
            .graphql(ctx)?;
        Ok(SendLogsResult {
            accepted: ingested.ids.len() as i32,
            ids: ingested.ids.into_iter().map(Into::into).collect(),
        })
    }

    /// Runs a chat command (`... | register`, `<token> | subscription`, ...) as if sent in chatId
    /// by fromUid, in the forum topic threadId if given.
    async fn execute_command(
        &self,
        ctx: &Context<'_>,
        text: String,
        chat_id: String,
        from_uid: String,
        thread_id: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let origin = CommandOrigin {
            messenger: crate::domain::messenger::Messenger::Telegram,
            chat_id,
            from_uid,
            thread_id,
        };
        let outcome = service
            .execute_command_from(&origin, &text)
            .await
            .graphql(ctx)?;
        Ok(CommandResult {
            ok: outcome.ok,
            reply: outcome.reply,
        })
    }

    /// Creates a user of the `/send_logs` door; its client sends md5(username + password).
    async fn create_log_user(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
        bot: Option<String>,
    ) -> async_graphql::Result<LogUser> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let user = service
            .create_log_user(&username, &password, bot.as_deref())
            .await
            .graphql(ctx)?;
        Ok(LogUser {
            username: user.username,
            created_at: DateTime::from_stored(&user.created_at),
        })
    }
}
