//! `Query`: bots, subscriptions and records.

use super::cursor::IdCursor;
use super::error::{IntoGraphql, bad_input};
use super::types::{Bot, ChatSubscription, LogFilter, LogRecord, TotalCount};
use crate::service::{LogQuery, LogbotService};
use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{Context, Object};
use std::sync::Arc;

pub const MAX_BOTS_PAGE: i32 = 100;
pub const MAX_LOGS_PAGE: i32 = 500;

fn page_size(first: i32, max: i32) -> async_graphql::Result<usize> {
    if (1..=max).contains(&first) {
        Ok(first as usize)
    } else {
        Err(bad_input(
            "first",
            format!("must be between 1 and {max}, got {first}"),
        ))
    }
}

fn after_cursor(after: Option<String>) -> async_graphql::Result<Option<i64>> {
    after
        .map(|text| {
            IdCursor::decode_cursor(&text)
                .map(|cursor| cursor.0)
                .map_err(|error| bad_input("after", error))
        })
        .transpose()
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// A bot by name, or null.
    async fn bot(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<Option<Bot>> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        Ok(service
            .bot_by_name(&name)
            .await
            .graphql(ctx)?
            .map(Bot::from))
    }

    /// Bots in registration order, optionally only those of one owner.
    #[graphql(complexity = "super::cost::page(first, MAX_BOTS_PAGE, child_complexity)")]
    async fn bots(
        &self,
        ctx: &Context<'_>,
        owner_uid: Option<String>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<IdCursor, Bot, TotalCount, EmptyFields>> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let first = page_size(first, MAX_BOTS_PAGE)?;
        let after = after_cursor(after)?;
        super::cost::charge(ctx, first)?;
        let page = service
            .bots(owner_uid.as_deref(), first, after)
            .await
            .graphql(ctx)?;
        let has_next = page.elems.len() == first && (page.elems.len() as i64) < page.count;
        // Without a cursor the page counts every bot (of the owner); after one it counts only
        // those after it, so the total is asked for, when it is selected.
        let total = match after {
            None => page.count,
            Some(_) if ctx.look_ahead().field("totalCount").exists() => service
                .bots_total(owner_uid.as_deref())
                .await
                .graphql(ctx)?,
            Some(_) => 0,
        };
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            TotalCount { total_count: total },
        );
        connection.edges.extend(
            page.elems
                .into_iter()
                .map(|bot| Edge::new(IdCursor::of(&bot.id), Bot::from(bot))),
        );
        Ok(connection)
    }

    /// The chats subscribed to a bot (active and inactive).
    async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        bot: String,
    ) -> async_graphql::Result<Vec<ChatSubscription>> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let rows = service.subscriptions_of(&bot).await.graphql(ctx)?;
        // Not paged: charged as returned.
        super::cost::charge(ctx, rows.len())?;
        Ok(rows
            .into_iter()
            .map(|row| ChatSubscription::from_row(&bot, row))
            .collect())
    }

    /// A bot's records, newest first.
    #[graphql(complexity = "super::cost::page(first, MAX_LOGS_PAGE, child_complexity)")]
    async fn logs(
        &self,
        ctx: &Context<'_>,
        filter: LogFilter,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<IdCursor, LogRecord, TotalCount, EmptyFields>> {
        let service = ctx.data::<Arc<LogbotService>>()?;
        let first = page_size(first, MAX_LOGS_PAGE)?;
        let before_id = after_cursor(after)?;
        super::cost::charge(ctx, first)?;
        let page = service
            .logs(LogQuery {
                bot: filter.bot,
                min_level: filter.min_level.map(Into::into),
                from: filter.from.map(|at| at.0),
                to: filter.to.map(|at| at.0),
                request_id: filter.request_id,
                contains: filter.contains,
                before_id,
                first,
                want_total: ctx.look_ahead().field("totalCount").exists(),
            })
            .await
            .graphql(ctx)?;
        let mut connection = Connection::with_additional_fields(
            before_id.is_some(),
            page.has_next_page,
            TotalCount {
                total_count: page.total_count,
            },
        );
        connection.edges.extend(
            page.records
                .into_iter()
                .map(|record| Edge::new(IdCursor::of(&record.id), LogRecord::from(record))),
        );
        Ok(connection)
    }
}
