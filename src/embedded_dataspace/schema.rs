//! The GraphQL face of the local DataSpace: `searchX` queries, `packet` mutations and the
//! `@strExpr` directive, with the same names and shapes as `schema.graphql`.
//!
//! A packet is executed as a whole before its fields resolve: the `packet` resolver reads its
//! selection set (operations in field order, with their arguments), runs them in one SQLite
//! transaction, and the child fields only read the outcome by response key. That is what makes
//! a packet atomic even though GraphQL resolves fields one by one.

use super::cond::{self, Literal, SqlFragment};
use super::model::{self, ClassMeta};
use super::scalars::{DateTime, Long};
use super::store::{
    Classification, Operation, PacketOutcome, PacketRequest, SearchRequest, Store, StoreError,
};
use async_graphql::parser::types::Field;
use async_graphql::{
    Context, CustomDirective, Directive, EmptySubscription, Enum, ErrorExtensions, ID, InputObject,
    InputType, MergedObject, Name, Object, Positioned, Schema, SimpleObject, Value,
};
use async_graphql_value::Value as RawValue;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

pub type DataSpaceSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over a store.
pub fn build_schema(store: Arc<Store>) -> DataSpaceSchema {
    Schema::build(Query::default(), Mutation, EmptySubscription)
        .directive(str_expr)
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

struct StrExpr;

impl CustomDirective for StrExpr {}

/// Substitutes `${name}` placeholders in a `cond` with the named variables as typed literals.
#[Directive(name = "strExpr", location = "Field")]
#[allow(clippy::too_many_arguments)]
fn str_expr(
    string: Option<String>,
    strings: Option<Vec<String>>,
    long: Option<Long>,
    longs: Option<Vec<Long>>,
    date_time: Option<DateTime>,
    date_times: Option<Vec<DateTime>>,
) -> impl CustomDirective {
    let _ = (string, strings, long, longs, date_time, date_times);
    StrExpr
}

/// The placeholders a field's `@strExpr` defines: each argument names GraphQL variables
/// (`string: $name` defines `${name}`), and their values become typed literals.
fn placeholders(ctx: &Context<'_>) -> async_graphql::Result<HashMap<String, Literal>> {
    let field: &Positioned<Field> = ctx.item;
    let raw = field
        .node
        .directives
        .iter()
        .find(|directive| directive.node.name.node == "strExpr");
    let Some(raw) = raw else {
        return Ok(HashMap::new());
    };
    let resolved = ctx.field().directives()?;
    let resolved = resolved
        .iter()
        .find(|directive| directive.name.node == "strExpr")
        .ok_or_else(|| validation("@strExpr could not be resolved"))?;
    let mut map = HashMap::new();
    for ((name, raw_value), (_, value)) in raw.node.arguments.iter().zip(resolved.arguments.iter())
    {
        let kind = name.node.as_str();
        let pairs: Vec<(&RawValue, &Value)> = match (&raw_value.node, &value.node) {
            (raw @ RawValue::Variable(_), value) => vec![(raw, value)],
            (RawValue::List(raws), Value::List(values)) => raws.iter().zip(values.iter()).collect(),
            _ => {
                return Err(validation(format!(
                    "@strExpr({kind}:) must name variables, e.g. {kind}: $name"
                )));
            }
        };
        for (raw, value) in pairs {
            let RawValue::Variable(variable) = raw else {
                return Err(validation(format!(
                    "@strExpr({kind}:) must name variables, e.g. {kind}: $name"
                )));
            };
            let literal = match (kind, value) {
                (_, Value::Null) => Literal::Null,
                ("string" | "strings", Value::String(text)) => Literal::Text(text.clone()),
                ("long" | "longs", Value::Number(number)) => number
                    .as_i64()
                    .map(Literal::Integer)
                    .unwrap_or(Literal::Null),
                ("long" | "longs", Value::String(text)) => text
                    .parse()
                    .map(Literal::Integer)
                    .map_err(|_| validation(format!("${variable} is not a Long")))?,
                ("dateTime" | "dateTimes", Value::String(text)) => DateTime::parse_text(text)
                    .map(|time| Literal::DateTime(time.0))
                    .ok_or_else(|| validation(format!("${variable} is not a _DateTime")))?,
                _ => {
                    return Err(validation(format!(
                        "${variable} does not match @strExpr({kind}:)"
                    )));
                }
            };
            map.insert(variable.to_string(), literal);
        }
    }
    Ok(map)
}

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
    let placeholders = placeholders(ctx)?;
    let filter: Option<SqlFragment> = match cond.as_deref() {
        Some(cond) => Some(
            cond::translate_cond(cond, &placeholders, class)
                .map_err(|error| validation(error.to_string()))?,
        ),
        None => None,
    };
    if limit.is_some_and(|limit| limit < 0) {
        return Err(validation("limit must not be negative"));
    }
    if offset.is_some_and(|offset| offset < 0) {
        return Err(validation("offset must not be negative"));
    }
    let mut sort_columns = Vec::new();
    for criterion in sort.unwrap_or_default() {
        let column = cond::translate_sort(&criterion.crit, class)
            .map_err(|error| validation(error.to_string()))?;
        sort_columns.push((
            column,
            criterion.order == Some(SortOrder::Desc),
            criterion.nulls_last,
        ));
    }
    let look_ahead = ctx.look_ahead();
    let request = SearchRequest {
        filter,
        sort: sort_columns,
        limit: limit.map(i64::from),
        offset: offset.map(i64::from),
        want_elems: look_ahead.field("elems").exists(),
        want_count: look_ahead.field("count").exists(),
    };
    let store = ctx.data::<Arc<Store>>()?.clone();
    // Dropped with this future (the caller gone), it stops the read.
    let (cancel, _stop_on_drop) = store.read_cancel();
    let result = tokio::task::spawn_blocking(move || store.search(class, &request, &cancel))
        .await
        .map_err(|_| classified(Classification::Internal, "search was interrupted"))?
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

fn input_map<T: InputType + Serialize>(
    value: Value,
    what: &str,
) -> async_graphql::Result<serde_json::Map<String, serde_json::Value>> {
    let typed = T::parse(Some(value)).map_err(|error| {
        validation(format!(
            "{what}: {}",
            error.into_server_error(Default::default()).message
        ))
    })?;
    match serde_json::to_value(&typed) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(classified(
            Classification::Internal,
            format!("{what}: cannot encode input"),
        )),
    }
}

/// A packet field's argument of GraphQL type `T` that the `packet` resolver has already read
/// (into an [`Operation`], via [`input_map`]): it declares `T`'s type, so the schema and the
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
pub struct PacketOutcomeRef(Arc<PacketOutcome>);

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
/// written out below, where their fields can be read.
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

        pub struct $Packet(PacketOutcomeRef);

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
            fn operation(
                field: &str,
                arguments: &mut [(Name, Value)],
            ) -> Option<async_graphql::Result<Operation>> {
                let class = &$meta;
                let mut input = || take_argument(arguments, "input");
                let operation = match field {
                    $create => input_map::<$Create>(input(), field)
                        .map(|input| Operation::Create { class, input }),
                    $create_many => match input() {
                        Value::List(items) => items
                            .into_iter()
                            .map(|item| input_map::<$Create>(item, field))
                            .collect::<async_graphql::Result<Vec<_>>>()
                            .map(|inputs| Operation::CreateMany { class, inputs }),
                        _ => Err(validation(format!("{field}: input must be a list"))),
                    },
                    $update => input_map::<$Update>(input(), field).and_then(|changes| {
                        let id = changes
                            .get("id")
                            .and_then(|id| id.as_str())
                            .map(str::to_owned);
                        let id =
                            id.ok_or_else(|| validation(format!("{field}: input.id is required")))?;
                        Ok(Operation::Update { class, id, changes })
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
            let operation = BotPacket::operation(name, &mut arguments)
                .or_else(|| ChatSubscriptionPacket::operation(name, &mut arguments))
                .or_else(|| LogRecordPacket::operation(name, &mut arguments))
                .or_else(|| LogUserPacket::operation(name, &mut arguments))
                .or_else(|| AuditEventPacket::operation(name, &mut arguments))
                .or_else(|| DeliveryPacket::operation(name, &mut arguments))
                .or_else(|| TelegramOffsetPacket::operation(name, &mut arguments))
                .ok_or_else(|| validation(format!("unknown packet operation {name}")))??;
            operations.push((field.alias().unwrap_or(name).to_owned(), operation));
        }
        let request = PacketRequest {
            operations,
            aggregate_version: aggregate_version.map(|version| version.0),
            idempotence_id: idempotence_packet_id,
        };
        let store = ctx.data::<Arc<Store>>()?.clone();
        let outcome = tokio::task::spawn_blocking(move || store.execute_packet(&request))
            .await
            .map_err(|_| classified(Classification::Internal, "packet was interrupted"))?
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

// The entity and input types, field for field as in schema.graphql.

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
