//! Per class of the model: its `searchX` query and its packet operations, declared by
//! `dataspace_class!` over the types in [`super::types`].

use super::directive::placeholders;
use super::types::*;
use super::{classified, store_error, validation};
use crate::embedded_dataspace::direct::{Search, run_search};
use crate::embedded_dataspace::model::{self, ClassMeta};
use crate::embedded_dataspace::store::{Classification, Operation, PacketOutcome, Store};
use async_graphql::{Context, Enum, ID, InputObject, InputType, Name, Object, SimpleObject, Value};
use serde::Deserialize;
use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(name = "_SortOrder")]
pub enum SortOrder {
    #[default]
    #[graphql(name = "ASC")]
    Asc,
    #[graphql(name = "DESC")]
    Desc,
}

#[derive(InputObject, Debug)]
#[graphql(name = "_SortCriterionSpecification")]
pub struct SortCriterion {
    crit: String,
    #[graphql(default_with = "Some(SortOrder::Asc)")]
    order: Option<SortOrder>,
    nulls_last: Option<bool>,
}

/// Runs a `searchX` for a class, computing only what the query selects.
async fn search(
    ctx: &Context<'_>,
    class: &'static ClassMeta,
    cond: Option<String>,
    limit: Option<i32>,
    offset: Option<i32>,
    sort: Option<Vec<SortCriterion>>,
) -> async_graphql::Result<(Vec<serde_json::Map<String, serde_json::Value>>, i32)> {
    let store = ctx.data::<Arc<Store>>()?;
    let look_ahead = ctx.look_ahead();
    let search = Search {
        cond: cond.as_deref(),
        placeholders: placeholders(ctx)?,
        sort: sort
            .unwrap_or_default()
            .into_iter()
            .map(|criterion| {
                let descending = criterion.order == Some(SortOrder::Desc);
                (criterion.crit, descending, criterion.nulls_last)
            })
            .collect(),
        limit: limit.map(i64::from),
        offset: offset.map(i64::from),
        want_elems: look_ahead.field("elems").exists(),
        want_count: look_ahead.field("count").exists(),
    };
    let result = run_search(store, class, search)
        .await
        .map_err(store_error)?;
    Ok((result.elems, result.count.unwrap_or_default() as i32))
}

fn from_row<T: for<'de> Deserialize<'de>>(
    row: serde_json::Map<String, serde_json::Value>,
) -> async_graphql::Result<T> {
    serde_json::from_value(serde_json::Value::Object(row)).map_err(|error| {
        classified(
            Classification::Internal,
            format!("stored object is unreadable: {error}"),
        )
    })
}

/// Parses a packet field's input as its GraphQL type, which checks and normalises its
/// scalars (a `_DateTime` to milliseconds, a `Long` given as a string to a number).
fn parse_input<T: InputType>(value: Value, what: &str) -> async_graphql::Result<T> {
    T::parse(Some(value)).map_err(|error| {
        validation(format!(
            "{what}: {}",
            error.into_server_error(Default::default()).message
        ))
    })
}

/// A packet field's argument of GraphQL type `T` that the `packet` resolver has already read
/// (into an [`Operation`], via [`parse_input`]): it declares `T`'s type, so the schema and the
/// validation of requests are unchanged, but parsing it again in the child resolver, only to
/// throw it away, does nothing.
struct AlreadyRead<T>(PhantomData<T>);

impl<T: InputType> InputType for AlreadyRead<T> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        T::create_type_info(registry)
    }

    fn parse(_value: Option<Value>) -> async_graphql::InputValueResult<Self> {
        Ok(Self(PhantomData))
    }

    fn to_value(&self) -> Value {
        Value::Null
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

fn argument<'a>(arguments: &'a [(Name, Value)], name: &str) -> Option<&'a Value> {
    arguments
        .iter()
        .find(|(candidate, _)| candidate.as_str() == name)
        .map(|(_, value)| value)
}

/// Moves an argument's value out (`null` when it is absent): the arguments are read once.
fn take_argument(arguments: &mut [(Name, Value)], name: &str) -> Value {
    arguments
        .iter_mut()
        .find(|(candidate, _)| candidate.as_str() == name)
        .map(|(_, value)| std::mem::take(value))
        .unwrap_or(Value::Null)
}

fn id_argument(arguments: &[(Name, Value)], what: &str) -> async_graphql::Result<String> {
    match argument(arguments, "id") {
        Some(Value::String(id)) => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        _ => Err(validation(format!("{what}: id is required"))),
    }
}

/// The outcome of the packet, shared by the packet's child resolvers.
#[derive(Clone)]
pub struct PacketOutcomeRef(pub(super) Arc<PacketOutcome>);

impl PacketOutcomeRef {
    fn result(&self, ctx: &Context<'_>) -> Option<&serde_json::Value> {
        let key = ctx.item.node.response_key().node.as_str();
        self.0.results.get(key).filter(|value| !value.is_null())
    }

    fn entity<T: for<'de> Deserialize<'de>>(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<T>> {
        match self.result(ctx) {
            Some(serde_json::Value::Object(row)) => from_row(row.clone()).map(Some),
            _ => Ok(None),
        }
    }

    fn ids(&self, ctx: &Context<'_>) -> Option<Vec<ID>> {
        match self.result(ctx) {
            Some(serde_json::Value::Array(ids)) => Some(
                ids.iter()
                    .filter_map(|id| id.as_str())
                    .map(|id| ID(id.to_owned()))
                    .collect(),
            ),
            _ => None,
        }
    }

    fn text(&self, ctx: &Context<'_>) -> Option<String> {
        self.result(ctx)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    }
}

/// Declares, for one class, its collection type, its `searchX` query, its packet operations
/// and how a packet field for it becomes an [`Operation`]. The entity and input structs are
/// written out in [`super::types`], where their fields can be read.
macro_rules! dataspace_class {
    (
        meta: $meta:path, entity: $Entity:ident, create: $Create:ident, update: $Update:ident,
        collection: $Collection:ident = $collection_name:literal,
        query: $Query:ident { $search:literal },
        packet: $Packet:ident { $create:literal, $update:literal, $delete:literal, $get:literal, $create_many:literal }
    ) => {
        #[derive(SimpleObject)]
        #[graphql(name = $collection_name)]
        pub struct $Collection {
            elems: Vec<$Entity>,
            count: i32,
        }

        #[derive(Default)]
        pub struct $Query;

        #[Object]
        impl $Query {
            #[graphql(name = $search)]
            async fn search(
                &self,
                ctx: &Context<'_>,
                cond: Option<String>,
                limit: Option<i32>,
                offset: Option<i32>,
                sort: Option<Vec<SortCriterion>>,
            ) -> async_graphql::Result<$Collection> {
                let (rows, count) = search(ctx, &$meta, cond, limit, offset, sort).await?;
                let elems = rows
                    .into_iter()
                    .map(from_row)
                    .collect::<async_graphql::Result<_>>()?;
                Ok($Collection { elems, count })
            }
        }

        pub struct $Packet(pub(super) PacketOutcomeRef);

        #[Object]
        impl $Packet {
            #[graphql(name = $create)]
            async fn create(
                &self,
                ctx: &Context<'_>,
                #[graphql(name = "input")] _input: AlreadyRead<$Create>,
            ) -> async_graphql::Result<Option<$Entity>> {
                self.0.entity(ctx)
            }

            #[graphql(name = $update)]
            async fn update(
                &self,
                ctx: &Context<'_>,
                #[graphql(name = "input")] _input: AlreadyRead<$Update>,
            ) -> async_graphql::Result<Option<$Entity>> {
                self.0.entity(ctx)
            }

            #[graphql(name = $delete)]
            async fn delete(
                &self,
                ctx: &Context<'_>,
                #[graphql(name = "id")] _id: ID,
            ) -> Option<String> {
                self.0.text(ctx)
            }

            #[graphql(name = $get)]
            async fn get(
                &self,
                ctx: &Context<'_>,
                #[graphql(name = "id")] _id: ID,
                #[graphql(name = "failOnEmpty")] _fail_on_empty: Option<bool>,
            ) -> async_graphql::Result<Option<$Entity>> {
                self.0.entity(ctx)
            }

            #[graphql(name = $create_many)]
            async fn create_many(
                &self,
                ctx: &Context<'_>,
                #[graphql(name = "input")] _input: AlreadyRead<Vec<$Create>>,
            ) -> Option<Vec<ID>> {
                self.0.ids(ctx)
            }
        }

        impl $Packet {
            /// The operation a packet field of this class stands for, if it is one of ours.
            pub(super) fn operation(
                field: &str,
                arguments: &mut [(Name, Value)],
            ) -> Option<async_graphql::Result<Operation>> {
                let class = &$meta;
                let mut input = || take_argument(arguments, "input");
                let operation = match field {
                    $create => {
                        parse_input::<$Create>(input(), field).map(|input| Operation::Create {
                            class,
                            input: input.into_fields(),
                        })
                    }
                    $create_many => match input() {
                        Value::List(items) => items
                            .into_iter()
                            .map(|item| {
                                parse_input::<$Create>(item, field).map($Create::into_fields)
                            })
                            .collect::<async_graphql::Result<Vec<_>>>()
                            .map(|inputs| Operation::CreateMany { class, inputs }),
                        _ => Err(validation(format!("{field}: input must be a list"))),
                    },
                    $update => parse_input::<$Update>(input(), field).map(|update| {
                        let (id, changes) = update.into_changes();
                        Operation::Update { class, id, changes }
                    }),
                    $delete => {
                        id_argument(arguments, field).map(|id| Operation::Delete { class, id })
                    }
                    $get => id_argument(arguments, field).map(|id| Operation::Get {
                        class,
                        id,
                        fail_on_empty: matches!(
                            argument(arguments, "failOnEmpty"),
                            Some(Value::Boolean(true))
                        ),
                    }),
                    _ => return None,
                };
                Some(operation)
            }
        }
    };
}

dataspace_class! {
    meta: model::BOT, entity: BotEntity, create: BotCreate, update: BotUpdate,
    collection: BotCollection = "_EC_Bot",
    query: BotQuery { "searchBot" },
    packet: BotPacket { "createBot", "updateBot", "deleteBot", "getBot", "createManyBot" }
}

dataspace_class! {
    meta: model::CHAT_SUBSCRIPTION, entity: ChatSubscriptionEntity, create: ChatSubscriptionCreate, update: ChatSubscriptionUpdate,
    collection: ChatSubscriptionCollection = "_EC_ChatSubscription",
    query: ChatSubscriptionQuery { "searchChatSubscription" },
    packet: ChatSubscriptionPacket {
        "createChatSubscription", "updateChatSubscription", "deleteChatSubscription", "getChatSubscription", "createManyChatSubscription"
    }
}

dataspace_class! {
    meta: model::LOG_RECORD, entity: LogRecordEntity, create: LogRecordCreate, update: LogRecordUpdate,
    collection: LogRecordCollection = "_EC_LogRecord",
    query: LogRecordQuery { "searchLogRecord" },
    packet: LogRecordPacket { "createLogRecord", "updateLogRecord", "deleteLogRecord", "getLogRecord", "createManyLogRecord" }
}

dataspace_class! {
    meta: model::LOG_USER, entity: LogUserEntity, create: LogUserCreate, update: LogUserUpdate,
    collection: LogUserCollection = "_EC_LogUser",
    query: LogUserQuery { "searchLogUser" },
    packet: LogUserPacket { "createLogUser", "updateLogUser", "deleteLogUser", "getLogUser", "createManyLogUser" }
}

dataspace_class! {
    meta: model::AUDIT_EVENT, entity: AuditEventEntity, create: AuditEventCreate, update: AuditEventUpdate,
    collection: AuditEventCollection = "_EC_AuditEvent",
    query: AuditEventQuery { "searchAuditEvent" },
    packet: AuditEventPacket { "createAuditEvent", "updateAuditEvent", "deleteAuditEvent", "getAuditEvent", "createManyAuditEvent" }
}

dataspace_class! {
    meta: model::DELIVERY, entity: DeliveryEntity, create: DeliveryCreate, update: DeliveryUpdate,
    collection: DeliveryCollection = "_EC_Delivery",
    query: DeliveryQuery { "searchDelivery" },
    packet: DeliveryPacket { "createDelivery", "updateDelivery", "deleteDelivery", "getDelivery", "createManyDelivery" }
}

dataspace_class! {
    meta: model::TELEGRAM_OFFSET, entity: TelegramOffsetEntity, create: TelegramOffsetCreate, update: TelegramOffsetUpdate,
    collection: TelegramOffsetCollection = "_EC_TelegramOffset",
    query: TelegramOffsetQuery { "searchTelegramOffset" },
    packet: TelegramOffsetPacket {
        "createTelegramOffset", "updateTelegramOffset", "deleteTelegramOffset", "getTelegramOffset", "createManyTelegramOffset"
    }
}
