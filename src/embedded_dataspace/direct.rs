//! The embedded DataSpace's hot calls, taken without a GraphQL document: a search and a group
//! of packets (the client's [`DirectDataSpace`]). The gateway's client uses them when this
//! DataSpace runs in its process, instead of sending a signed document to the router: a `logs`
//! page, an ingest or the delivery worker's writes then skip the request's serialization, its
//! signature, the document's parse and validation, the GraphQL answer and its JSON read back,
//! which were most of the gateway's CPU for those requests (perf, `README.md`, HTTP load bench).
//! No signature is checked: the call does not leave the process.
//!
//! Both run the same code as their GraphQL fields: a search is [`run_search`], which
//! `searchX` also calls (the same `cond` translation, checks, reader turn and cancel); a packet
//! field's input is read by the same per-class parser as the `packet` resolver's, and a group
//! runs in one transaction with a savepoint per packet, as a mutation's session does. Only the
//! transport differs, so the signed HTTP endpoint's tests cover the rules for both.

use super::cond::{self, Literal, SqlFragment};
use super::model::ClassMeta;
use super::scalars::DateTime;
use super::schema;
use super::store::{
    Classification, PacketOutcome, PacketRequest, SearchRequest, SearchResult, Store, StoreError,
};
use crate::dataspace::direct::{
    DirectDataSpace, DirectSearch, FoundRows, GroupOutcome, Packet, Placeholder, Refusal,
};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A search as its caller gives it, before the condition is translated.
pub struct Search<'a> {
    pub cond: Option<&'a str>,
    /// The `${name}` placeholders `cond` may use.
    pub placeholders: HashMap<String, Literal>,
    /// (criterion such as `it.$id`, descending, nulls last)
    pub sort: Vec<(String, bool, Option<bool>)>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub want_elems: bool,
    pub want_count: bool,
}

/// Runs a search of `class` on a reader: what `searchX` does once its arguments are read.
pub(super) async fn run_search(
    store: &Arc<Store>,
    class: &'static ClassMeta,
    search: Search<'_>,
) -> Result<SearchResult, StoreError> {
    let invalid = |message: String| StoreError::new(Classification::Validation, message);
    let filter: Option<SqlFragment> = match search.cond {
        Some(text) => Some(
            cond::translate_cond(text, &search.placeholders, &store.columns(class))
                .map_err(|error| invalid(error.to_string()))?,
        ),
        None => None,
    };
    if search.limit.is_some_and(|limit| limit < 0) {
        return Err(invalid("limit must not be negative".into()));
    }
    if search.offset.is_some_and(|offset| offset < 0) {
        return Err(invalid("offset must not be negative".into()));
    }
    let mut sort = Vec::with_capacity(search.sort.len());
    for (criterion, descending, nulls_last) in search.sort {
        let column =
            cond::translate_sort(&criterion, class).map_err(|error| invalid(error.to_string()))?;
        sort.push((column, descending, nulls_last));
    }
    let request = SearchRequest {
        filter,
        sort,
        limit: search.limit,
        offset: search.offset,
        want_elems: search.want_elems,
        want_count: search.want_count,
    };
    // Dropped with this future (the caller gone), it stops the read.
    let (cancel, _stop_on_drop) = store.read_cancel();
    let turn = store.read_turn().await.ok_or_else(|| {
        StoreError::new(
            Classification::Internal,
            "no reader was free within the read timeout",
        )
    })?;
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        store.search(class, &request, &cancel)
    })
    .await
    .map_err(|_| StoreError::new(Classification::Internal, "search was interrupted"))?
}

/// The literal `cond` compares a placeholder with; `None` for a date and time that is not a
/// `_DateTime` (checked and normalised as a `_DateTime` variable is).
pub(super) fn literal(placeholder: Placeholder) -> Option<Literal> {
    Some(match placeholder {
        Placeholder::Text(text) => Literal::Text(text),
        Placeholder::Long(long) => Literal::Integer(long),
        Placeholder::DateTime(text) => Literal::DateTime(DateTime::parse_text(&text)?.0),
    })
}

fn refusal(classification: Classification, message: impl Into<String>) -> Refusal {
    Refusal {
        classification: classification.as_str(),
        message: message.into(),
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        refusal(error.classification, error.message)
    }
}

/// The direct calls of one embedded DataSpace.
#[derive(Clone)]
pub struct DirectCalls {
    store: Arc<Store>,
}

impl std::fmt::Debug for DirectCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectCalls")
    }
}

impl DirectCalls {
    pub(super) fn new(store: Arc<Store>) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl DirectDataSpace for DirectCalls {
    async fn search(&self, search: DirectSearch<'_>) -> Result<FoundRows, Refusal> {
        let class = ClassMeta::by_name(search.class).ok_or_else(|| {
            refusal(
                Classification::Validation,
                format!("unknown class {}", search.class),
            )
        })?;
        let mut placeholders = HashMap::with_capacity(search.placeholders.len());
        for (name, value) in search.placeholders {
            let literal = literal(value).ok_or_else(|| {
                refusal(
                    Classification::Validation,
                    format!("${name} is not a _DateTime"),
                )
            })?;
            placeholders.insert(name.to_owned(), literal);
        }
        let search = Search {
            cond: Some(search.cond),
            placeholders,
            sort: search
                .sort
                .into_iter()
                .map(|(criterion, descending)| (criterion.to_owned(), descending, None))
                .collect(),
            limit: Some(search.limit),
            offset: None,
            want_elems: true,
            want_count: search.with_count,
        };
        let found = run_search(&self.store, class, search).await?;
        Ok((found.elems, found.count))
    }

    async fn packets(&self, packets: &[Packet]) -> GroupOutcome {
        // A packet whose fields do not read is refused alone, as its resolver would be.
        let mut requests = Vec::with_capacity(packets.len());
        let mut refused: Vec<Option<Refusal>> = Vec::with_capacity(packets.len());
        for packet in packets {
            match request(packet) {
                Ok(request) => {
                    requests.push(request);
                    refused.push(None);
                }
                Err(refusal) => refused.push(Some(refusal)),
            }
        }
        let store = self.store.clone();
        let turn = store.write_turn().await;
        let outcomes = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            store.execute_packets(&requests)
        })
        .await
        .map_err(|_| refusal(Classification::Internal, "the packets were interrupted"))??;
        let mut outcomes = outcomes.into_iter();
        Ok(refused
            .into_iter()
            .map(|refused| match refused {
                Some(refusal) => Err(refusal),
                None => match outcomes.next() {
                    Some(Ok(outcome)) => Ok(answer(outcome)),
                    Some(Err(error)) => Err(error.into()),
                    None => Err(refusal(Classification::Internal, "a packet was not run")),
                },
            })
            .collect())
    }
}

/// Reads a packet's fields into the store's operations, by the `packet` resolver's parser.
fn request(packet: &Packet) -> Result<PacketRequest, Refusal> {
    let mut operations = Vec::with_capacity(packet.fields.len());
    for field in &packet.fields {
        let input: async_graphql::Value = serde_json::from_str(&field.input).map_err(|error| {
            refusal(
                Classification::Validation,
                format!("{}: the input is not JSON: {error}", field.field),
            )
        })?;
        let mut arguments = vec![(async_graphql::Name::new("input"), input)];
        // Reading an input refuses only as a validation error.
        let operation = schema::packet_operation(field.field, &mut arguments)
            .map_err(|error| refusal(Classification::Validation, error.message))?;
        operations.push((field.alias.clone(), operation));
    }
    Ok(PacketRequest {
        operations,
        aggregate_version: packet.aggregate_version,
        idempotence_id: Some(packet.idempotence_id.clone()),
    })
}

/// A packet's outcome as its `data` reads: each alias's result, and `isIdempotenceResponse`.
fn answer(outcome: PacketOutcome) -> Value {
    let mut data = Map::with_capacity(outcome.results.len() + 1);
    data.insert(
        "isIdempotenceResponse".into(),
        Value::Bool(outcome.is_idempotence_response),
    );
    data.extend(outcome.results);
    Value::Object(data)
}
