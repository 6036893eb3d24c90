//! `Mutation`: registration, subscriptions, records, commands, users.

use super::error::{IntoGraphql, bad_input};
use super::types::{
    Bot, ChatSubscription, CommandResult, DateTime, LogInput, LogRecord, LogRecordInput,
    LogSourceInput, LogUser, RegisterBotInput, SendLogsResult, SubscribeChatInput,
    UnsubscribeChatInput,
};
use crate::service::{
    CommandOrigin, LogSource, LogbotService, Oversize, RecordInput, RegisterBot, SubscribeChat,
};
use async_graphql::{Context, Object};
use std::sync::Arc;

fn source(input: Option<LogSourceInput>) -> LogSource {
    input
        .map(|source| LogSource {
            user_name: source.user_name,
            pid: source.pid,
            process_name: source.process_name,
            process_description: source.process_description,
        })
        .unwrap_or_default()
}

impl From<LogRecordInput> for RecordInput {
    fn from(input: LogRecordInput) -> Self {
        Self {
            level: input.level.into(),
            message: input.message,
            event_at: input.event_at.map(|at| at.0),
            request_id: input.request_id,
            status_code: input.status_code.map(i64::from),
            source: source(input.source),
            attributes: input.attributes.map(|json| json.0),
        }
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
        let record = RecordInput::from(input.record);
        let ingested = service
            .ingest(&input.bot, vec![record], None, Oversize::Reject)
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
        let inputs = records.into_iter().map(RecordInput::from).collect();
        let ingested = service
            .ingest(&bot, inputs, idempotency_key.as_deref(), Oversize::Reject)
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
