//! The GraphQL face of the local DataSpace: `searchX` queries, `packet` mutations and the
//! `@strExpr` directive, with the same names and shapes as `schema.graphql`.
//!
//! A packet is executed as a whole before its fields resolve: the `packet` resolver reads its
//! selection set (operations in field order, with their arguments), runs them in a savepoint of
//! the request's transaction (its [`WriteSession`], committed when the mutation is done), and
//! the child fields only read the outcome by response key. That is what makes a packet atomic
//! even though GraphQL resolves fields one by one.
//!
//! Here: the schema, the `packet` resolver and the error classes; `classes` declares each
//! class's query and packet fields, `types` its entity and input types, `directive` the
//! `@strExpr` placeholders.

mod classes;
mod directive;
mod types;

use super::scalars::Long;
use super::store::{Classification, Operation, PacketRequest, Store, StoreError, WriteSession};
use async_graphql::{Context, EmptySubscription, ErrorExtensions, MergedObject, Object, Schema};
use classes::{
    AuditEventPacket, AuditEventQuery, BotPacket, BotQuery, ChatSubscriptionPacket,
    ChatSubscriptionQuery, DeliveryPacket, DeliveryQuery, LogRecordPacket, LogRecordQuery,
    LogUserPacket, LogUserQuery, PacketOutcomeRef, TelegramOffsetPacket, TelegramOffsetQuery,
};
use std::sync::Arc;

pub type DataSpaceSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over a store.
pub fn build_schema(store: Arc<Store>) -> DataSpaceSchema {
    Schema::build(Query::default(), Mutation, EmptySubscription)
        .directive(directive::str_expr)
        .data(store)
        .finish()
}

/// A GraphQL error carrying DataSpace's `extensions.classification`.
pub fn classified(
    classification: Classification,
    message: impl Into<String>,
) -> async_graphql::Error {
    async_graphql::Error::new(message)
        .extend_with(|_, extensions| extensions.set("classification", classification.as_str()))
}

fn store_error(error: StoreError) -> async_graphql::Error {
    classified(error.classification, error.message)
}

fn validation(message: impl Into<String>) -> async_graphql::Error {
    classified(Classification::Validation, message)
}

#[derive(MergedObject, Default)]
#[graphql(name = "_Query")]
pub struct Query(
    BotQuery,
    ChatSubscriptionQuery,
    LogRecordQuery,
    LogUserQuery,
    AuditEventQuery,
    DeliveryQuery,
    TelegramOffsetQuery,
);

/// `isIdempotenceResponse` and `aggVersion` of a packet.
pub struct PacketSummary(PacketOutcomeRef);

#[Object]
impl PacketSummary {
    async fn is_idempotence_response(&self) -> bool {
        self.0.0.is_idempotence_response
    }

    async fn agg_version(&self) -> Option<Long> {
        self.0.0.agg_version.map(Long)
    }
}

#[derive(MergedObject)]
#[graphql(name = "_Packet")]
pub struct Packet(
    PacketSummary,
    BotPacket,
    ChatSubscriptionPacket,
    LogRecordPacket,
    LogUserPacket,
    AuditEventPacket,
    DeliveryPacket,
    TelegramOffsetPacket,
);

/// The operation a packet field stands for, its arguments read (and taken out of
/// `arguments`) by its class's input types.
pub(super) fn packet_operation(
    name: &str,
    arguments: &mut [(async_graphql::Name, async_graphql::Value)],
) -> async_graphql::Result<Operation> {
    BotPacket::operation(name, arguments)
        .or_else(|| ChatSubscriptionPacket::operation(name, arguments))
        .or_else(|| LogRecordPacket::operation(name, arguments))
        .or_else(|| LogUserPacket::operation(name, arguments))
        .or_else(|| AuditEventPacket::operation(name, arguments))
        .or_else(|| DeliveryPacket::operation(name, arguments))
        .or_else(|| TelegramOffsetPacket::operation(name, arguments))
        .ok_or_else(|| validation(format!("unknown packet operation {name}")))?
}

pub struct Mutation;

#[Object(name = "_Mutation")]
impl Mutation {
    /// One transaction: its operations run in field order; `ref:<alias>` names an object
    /// created earlier in it; with an idempotence id, a repeat returns the first outcome.
    async fn packet(
        &self,
        ctx: &Context<'_>,
        aggregate_version: Option<Long>,
        idempotence_packet_id: Option<String>,
    ) -> async_graphql::Result<Option<Packet>> {
        let mut operations = Vec::new();
        for field in ctx.field().selection_set() {
            let name = field.name();
            if matches!(name, "isIdempotenceResponse" | "aggVersion" | "__typename") {
                continue;
            }
            let mut arguments = field.arguments()?;
            let operation = packet_operation(name, &mut arguments)?;
            operations.push((field.alias().unwrap_or(name).to_owned(), operation));
        }
        let request = PacketRequest {
            operations,
            aggregate_version: aggregate_version.map(|version| version.0),
            idempotence_id: idempotence_packet_id,
        };
        let store = ctx.data::<Arc<Store>>()?;
        let outcome = match ctx.data_opt::<Arc<WriteSession>>() {
            // The request's session: committed with the mutation's other packets.
            Some(session) => session.packet(store, request).await,
            None => {
                let store = store.clone();
                let turn = store.write_turn().await;
                tokio::task::spawn_blocking(move || {
                    let _turn = turn;
                    store.execute_packet(&request)
                })
                .await
                .map_err(|_| classified(Classification::Internal, "packet was interrupted"))?
            }
        }
        .map_err(store_error)?;
        let outcome = PacketOutcomeRef(Arc::new(outcome));
        Ok(Some(Packet(
            PacketSummary(outcome.clone()),
            BotPacket(outcome.clone()),
            ChatSubscriptionPacket(outcome.clone()),
            LogRecordPacket(outcome.clone()),
            LogUserPacket(outcome.clone()),
            AuditEventPacket(outcome.clone()),
            DeliveryPacket(outcome.clone()),
            TelegramOffsetPacket(outcome),
        )))
    }
}
