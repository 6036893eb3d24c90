//! A DataSpace in this process that takes the client's hot calls without a GraphQL document:
//! the `logs` search, and groups of packets (ingest, delivery writes). The embedded DataSpace implements
//! it (`embedded_dataspace::direct`); a remote one has none, and every call then goes as a
//! signed request. What the calls carry is what their documents would: the same `cond` with
//! the values of its `@strExpr` placeholders, the same packet fields with their inputs as JSON,
//! and answers as the documents' `data` would read.

use serde_json::{Map, Value};

/// A `cond` placeholder's value, as the `@strExpr` argument kind that would carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// `strings:`
    Text(String),
    /// `long:`
    Long(i64),
    /// `dateTimes:`; checked and normalised as a `_DateTime` variable is.
    DateTime(String),
}

/// A search: `searchX(cond, limit, sort)` of the class named `class`, with its placeholders.
#[derive(Debug, Clone)]
pub struct DirectSearch<'a> {
    pub class: &'static str,
    pub cond: &'a str,
    pub placeholders: Vec<(&'static str, Placeholder)>,
    /// (criterion such as `it.$id`, descending)
    pub sort: Vec<(&'static str, bool)>,
    pub limit: i64,
    /// Whether `count` is asked for.
    pub with_count: bool,
}

/// The rows a search found, each as its entity's JSON (ids as strings), and their count when
/// it was asked for.
pub type FoundRows = (Vec<Map<String, Value>>, Option<i64>);

/// One field of a packet: `alias: field(input: <input>)`, the input as its JSON text.
#[derive(Debug, Clone)]
pub struct PacketField {
    pub alias: String,
    /// The packet field, e.g. `createManyLogRecord`.
    pub field: &'static str,
    pub input: String,
}

/// A packet: its fields in order, under an idempotence id, at an aggregate version when it
/// names one.
#[derive(Debug, Clone)]
pub struct Packet {
    pub idempotence_id: String,
    pub aggregate_version: Option<i64>,
    pub fields: Vec<PacketField>,
}

/// Why a call failed, as the GraphQL endpoint would classify it in
/// `extensions.classification`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub classification: &'static str,
    pub message: String,
}

/// What a group of packets came to: `Err` when its transaction could not be committed
/// (nothing was written); else each packet's answer, as its `data` would read
/// (`isIdempotenceResponse` and one member per alias), or its refusal.
pub type GroupOutcome = Result<Vec<Result<Value, Refusal>>, Refusal>;

#[async_trait::async_trait]
pub trait DirectDataSpace: Send + Sync + std::fmt::Debug {
    async fn search(&self, search: DirectSearch<'_>) -> Result<FoundRows, Refusal>;

    /// Runs `packets` in one transaction, each in a savepoint of its own (one failing is
    /// undone alone: PROTOCOLS §2's aliased packets), committed once before this answers.
    async fn packets(&self, packets: &[Packet]) -> GroupOutcome;
}
