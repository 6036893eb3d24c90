//! The transport: one pooled, signing HTTP client, a generic typed `run`, and the retry policy
//! (exponential backoff with full jitter, bounded by a retry count and an overall deadline).

use super::direct::{DirectDataSpace, Packet};
use super::error::DataSpaceError;
use super::group_commit::{GroupCommit, GroupCommitSettings};
use crate::apig::{AppCredentials, SigningMiddleware};
use crate::metrics::Metrics;
use bytes::Bytes;
use graphql_client::GraphQLQuery;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// Where DataSpace is and how patiently to talk to it.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// The GraphQL endpoint, ending in `/graphql`.
    pub url: String,
    /// The APIG App key pair every request is signed with.
    pub credentials: AppCredentials,
    /// The limit for one HTTP exchange (connect, send, read the answer).
    pub timeout: Duration,
    /// How many times a retry-safe call is repeated after a transient failure.
    pub retries: u32,
}

/// Whether an operation may be sent again after a failure that leaves its outcome unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Reads, and packets carrying an idempotence key: repeating them cannot write twice.
    Safe,
    /// Anything else: one attempt only.
    Never,
}

/// Exponential backoff with full jitter: before retry `n` (0-based) sleep a uniformly random
/// time in `[0, min(cap, base * 2^n)]`, so that clients failing together do not retry together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The longest pause before retry `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random pause before retry `attempt`, within `[0, ceiling(attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt).as_micros() as u64;
        Duration::from_micros(rand::random_range(0..=ceiling))
    }

    /// The most time `retries` pauses can add up to.
    pub fn worst_case_total(&self, retries: u32) -> Duration {
        (0..retries).map(|attempt| self.ceiling(attempt)).sum()
    }
}

/// A typed, signed, retrying DataSpace client. Cheap to clone: clones share the connection pool.
#[derive(Clone, Debug)]
pub struct DataSpaceClient {
    http: ClientWithMiddleware,
    url: reqwest::Url,
    timeout: Duration,
    retries: u32,
    backoff: Backoff,
    metrics: Option<Metrics>,
    /// Shared by every clone (see [`super::bot_cache`]).
    pub(super) bots: std::sync::Arc<super::bot_cache::BotCache>,
    /// Shared by every clone (see [`super::read_cache`]).
    pub(super) read_cache: std::sync::Arc<super::read_cache::ReadCache>,
    /// Shared by every clone (see [`super::group_commit`]).
    pub(super) group_commit: Arc<GroupCommit>,
    /// The embedded DataSpace of this process, for the calls it takes without a document.
    pub(super) direct: Option<Arc<dyn DirectDataSpace>>,
}

impl DataSpaceClient {
    pub fn new(settings: ClientSettings) -> Result<Self, DataSpaceError> {
        Self::with_transport(settings, None)
    }

    /// A client whose signed requests are handed to `transport` instead of being sent over
    /// TCP: the embedded DataSpace's in-process path (see
    /// `embedded_dataspace::in_process`). Signing, the request id, retries and timeouts are
    /// the same as over the network.
    pub fn with_transport(
        settings: ClientSettings,
        transport: Option<Arc<dyn reqwest_middleware::Middleware>>,
    ) -> Result<Self, DataSpaceError> {
        if settings.timeout.is_zero() {
            return Err(DataSpaceError::Invalid(
                "the DataSpace timeout must be above zero".into(),
            ));
        }
        let url = reqwest::Url::parse(&settings.url).map_err(|error| {
            DataSpaceError::Invalid(format!("DataSpace URL {:?}: {error}", settings.url))
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| DataSpaceError::Invalid(format!("HTTP client: {error}")))?;
        let mut http = ClientBuilder::new(http)
            .with(SigningMiddleware::new(settings.credentials))
            // After signing: the request id travels unsigned.
            .with(crate::request_id::Forward);
        if let Some(transport) = transport {
            http = http.with_arc(transport);
        }
        let http = http.build();
        Ok(Self {
            http,
            url,
            timeout: settings.timeout,
            retries: settings.retries,
            backoff: Backoff::default(),
            metrics: None,
            bots: Default::default(),
            read_cache: Default::default(),
            group_commit: Default::default(),
            direct: None,
        })
    }

    /// Sends the `logs` searches, the ingest packets and the delivery writes to the embedded
    /// DataSpace of this process without a document (see [`super::direct`]); every other call
    /// still goes through the signed endpoint. Timeouts, retries and metrics are those of a call.
    pub fn with_direct(mut self, direct: Arc<dyn DirectDataSpace>) -> Self {
        self.direct = Some(direct);
        self
    }

    /// Groups concurrent ingest packets into calls as `settings` say (see
    /// [`super::group_commit`]).
    pub fn with_group_commit(mut self, settings: GroupCommitSettings) -> Self {
        self.group_commit = Arc::new(GroupCommit::new(settings));
        self
    }

    /// Counts calls by operation and outcome, with their latency, in these metrics.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Replaces the retry pauses (tests use short ones).
    #[cfg(any(test, feature = "test-support"))]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The longest a `Retry::Safe` call can take before giving up: every attempt timing out,
    /// plus every pause at its ceiling.
    pub fn deadline_budget(&self) -> Duration {
        self.timeout.saturating_mul(self.retries.saturating_add(1))
            + self.backoff.worst_case_total(self.retries)
    }

    /// Runs one GraphQL operation and returns its typed data. GraphQL errors, HTTP failures
    /// and transport failures come back as [`DataSpaceError`].
    pub async fn run<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
        safety: Retry,
    ) -> Result<Q::ResponseData, DataSpaceError> {
        let started = Instant::now();
        let operation = Q::build_query(variables);
        let name = operation.operation_name;
        let result = self.run_built::<Q>(operation, safety).await;
        self.observe(name, started, &result);
        result
    }

    /// Runs an operation whose document is built at run time (a packet with one aliased
    /// field per item of a batch, which no fixed query file can express), with the same
    /// signing, retries and metrics as [`DataSpaceClient::run`].
    pub async fn run_document<V: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        document: &str,
        variables: &V,
        safety: Retry,
    ) -> Result<T, DataSpaceError> {
        let started = Instant::now();
        let result = match request_body(operation, document, variables) {
            Ok(body) => self.send_body(operation, body, safety).await,
            Err(error) => Err(error),
        };
        self.observe(operation, started, &result);
        result
    }

    /// Runs a direct call of the embedded DataSpace (see [`DataSpaceClient::with_direct`]) as
    /// the call named `operation`: timed out, retried as `safety` allows, and counted like one.
    pub(super) async fn run_direct<T, F, Fut>(
        &self,
        operation: &'static str,
        safety: Retry,
        call: F,
    ) -> Result<T, DataSpaceError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, DataSpaceError>>,
    {
        let started = Instant::now();
        let result = self
            .retrying(operation, safety, |timeout| {
                let call = call();
                async move {
                    tokio::time::timeout(timeout, call)
                        .await
                        .unwrap_or_else(|_| Err(DataSpaceError::unavailable("timed out", true)))
                }
            })
            .await;
        self.observe(operation, started, &result);
        result
    }

    /// Runs aliased packets by the direct calls (see [`DataSpaceClient::with_direct`]) as the
    /// call named `operation`, each packet its own transaction; every packet carries its
    /// idempotence key, so the call is retried safely.
    pub(super) async fn run_direct_packets(
        &self,
        direct: &Arc<dyn DirectDataSpace>,
        operation: &'static str,
        packets: &[Packet],
    ) -> GroupAnswers {
        let call = || async {
            let answers = direct.packets(packets).await.map_err(|refusal| {
                // Nothing was written, so the call may be sent again (the endpoint answers 503
                // for this).
                DataSpaceError::unavailable(refusal.message, true)
            })?;
            Ok(answers
                .into_iter()
                .map(|answer| answer.map_err(DataSpaceError::from))
                .collect())
        };
        self.run_direct(operation, Retry::Safe, call).await
    }

    /// Counts a call by operation and outcome, with its latency, when there are metrics.
    fn observe<T>(&self, operation: &str, started: Instant, result: &Result<T, DataSpaceError>) {
        if let Some(metrics) = &self.metrics {
            let outcome = result.as_ref().map_or_else(DataSpaceError::kind, |_| "ok");
            metrics.observe_dataspace(operation, outcome, started.elapsed());
        }
    }

    /// Runs a generated operation, given its module's `QUERY` and `OPERATION_NAME`, with
    /// variables that serialize like its `Variables` but may borrow their values (a batch is
    /// then sent without first being copied into the generated input types). The document is
    /// trimmed to the operation, as [`DataSpaceClient::run`] does.
    pub async fn run_generated<V: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        query: &'static str,
        operation: &'static str,
        variables: &V,
        safety: Retry,
    ) -> Result<T, DataSpaceError> {
        let document = operation_document(query, operation);
        self.run_document(operation, document, variables, safety)
            .await
    }

    async fn run_built<Q: GraphQLQuery>(
        &self,
        mut query: graphql_client::QueryBody<Q::Variables>,
        safety: Retry,
    ) -> Result<Q::ResponseData, DataSpaceError> {
        let operation = query.operation_name;
        query.query = operation_document(query.query, operation);
        // Serialized once: every attempt sends (and signs) the same bytes, idempotence key included.
        let body = Bytes::from(serde_json::to_vec(&query).map_err(|error| {
            DataSpaceError::Invalid(format!("variables of {operation}: {error}"))
        })?);
        self.send_body(operation, body, safety).await
    }

    /// Runs a mutation of several aliased packets (`p0: packet(...) {...} p1: ...`), which
    /// PROTOCOLS §2 makes independent transactions: one failing leaves the others committed.
    /// So the answer is the data with its errors, for the caller to split by path; only a
    /// failure of the whole call (transport, HTTP status, an error naming no packet) is `Err`.
    pub(crate) async fn run_packets<V: serde::Serialize>(
        &self,
        operation: &'static str,
        document: &str,
        variables: &V,
        safety: Retry,
    ) -> Result<PacketAnswers, DataSpaceError> {
        let started = Instant::now();
        let result = match request_body(operation, document, variables) {
            Ok(body) => {
                self.send_body_with(operation, body, safety, parse_packet_answers)
                    .await
            }
            Err(error) => Err(error),
        };
        self.observe(operation, started, &result);
        result
    }

    async fn send_body<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        body: Bytes,
        safety: Retry,
    ) -> Result<T, DataSpaceError> {
        self.send_body_with(operation, body, safety, parse_response::<T>)
            .await
    }

    /// Sends `body` with retries as `safety` allows, reading each answer with `parse`.
    async fn send_body_with<T>(
        &self,
        operation: &str,
        body: Bytes,
        safety: Retry,
        parse: fn(http::StatusCode, &[u8]) -> Result<T, DataSpaceError>,
    ) -> Result<T, DataSpaceError> {
        self.retrying(operation, safety, |timeout| {
            self.attempt(body.clone(), timeout, parse)
        })
        .await
    }

    /// Runs `attempt` (given the time it may take) until it succeeds, fails for good, or the
    /// retries or the deadline are used up; `Retry::Never` runs it once.
    async fn retrying<T, F, Fut>(
        &self,
        operation: &str,
        safety: Retry,
        mut attempt_with: F,
    ) -> Result<T, DataSpaceError>
    where
        F: FnMut(Duration) -> Fut,
        Fut: std::future::Future<Output = Result<T, DataSpaceError>>,
    {
        let deadline = Instant::now() + self.deadline_budget();
        let mut attempt = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = attempt_with(self.timeout.min(remaining)).await;
            let error = match outcome {
                Ok(data) => return Ok(data),
                Err(error) => error,
            };
            if safety == Retry::Never || !error.is_retryable() || attempt >= self.retries {
                return Err(error);
            }
            let pause = self.backoff.delay(attempt);
            // Not worth a retry that would have no time left to get an answer.
            if Instant::now() + pause + Duration::from_millis(10) >= deadline {
                return Err(error);
            }
            tracing::debug!(operation, attempt, ?pause, %error, "retrying DataSpace call");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    async fn attempt<T>(
        &self,
        body: Bytes,
        timeout: Duration,
        parse: fn(http::StatusCode, &[u8]) -> Result<T, DataSpaceError>,
    ) -> Result<T, DataSpaceError> {
        let response = self
            .http
            .post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(|error| DataSpaceError::from_transport(&error))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| {
            DataSpaceError::from_transport(&reqwest_middleware::Error::Reqwest(error))
        })?;
        if let Some(error) = DataSpaceError::from_status(status, &bytes) {
            return Err(error);
        }
        parse(status, &bytes)
    }
}

/// A GraphQL request's body. Serialized straight from the borrowed parts: `variables` is
/// written as it serializes (a `RawValue` as is), never first copied into a `Value`.
fn request_body<V: serde::Serialize>(
    operation: &str,
    document: &str,
    variables: &V,
) -> Result<Bytes, DataSpaceError> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a, V> {
        query: &'a str,
        variables: &'a V,
        operation_name: &'a str,
    }
    let body = Body {
        query: document,
        variables,
        operation_name: operation,
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|error| DataSpaceError::Invalid(format!("variables of {operation}: {error}")))
}

/// What a mutation of several packets answered: `data` by alias (a failed packet's alias is
/// null), and the errors, each naming its packet's alias first in its path.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PacketAnswers {
    pub data: serde_json::Map<String, serde_json::Value>,
    pub errors: Vec<graphql_client::Error>,
}

/// What a call of aliased packets answered for each packet, in order: its `data`, or its
/// error; `Err` when the whole call failed.
pub(crate) type GroupAnswers =
    Result<Vec<Result<serde_json::Value, DataSpaceError>>, DataSpaceError>;

impl PacketAnswers {
    /// The answers of packets `p0` .. `p<count - 1>`, in order.
    pub fn in_order(&self, count: usize) -> Vec<Result<serde_json::Value, DataSpaceError>> {
        (0..count)
            .map(|index| self.packet(&format!("p{index}")).cloned())
            .collect()
    }

    /// The answer of the packet aliased `alias`: its data, or the errors naming it.
    pub fn packet(&self, alias: &str) -> Result<&serde_json::Value, DataSpaceError> {
        if let Some(packet) = self.data.get(alias).filter(|packet| !packet.is_null()) {
            return Ok(packet);
        }
        let errors: Vec<graphql_client::Error> = self
            .errors
            .iter()
            .filter(|error| first_key(error) == Some(alias))
            .cloned()
            .collect();
        match errors.is_empty() {
            true => Err(DataSpaceError::Invalid(format!(
                "packet {alias} answered neither data nor an error"
            ))),
            false => Err(DataSpaceError::from_graphql(&errors)),
        }
    }
}

/// The first key of an error's path: the alias of the root field it came from.
fn first_key(error: &graphql_client::Error) -> Option<&str> {
    match error.path.as_deref()?.first()? {
        graphql_client::PathFragment::Key(key) => Some(key),
        graphql_client::PathFragment::Index(_) => None,
    }
}

/// Reads the answer of a mutation of several packets: errors that name a packet stay beside
/// the data; one that names none (the document was refused) fails the whole call.
fn parse_packet_answers(
    status: http::StatusCode,
    body: &[u8],
) -> Result<PacketAnswers, DataSpaceError> {
    let response: graphql_client::Response<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(body).map_err(|error| {
            DataSpaceError::Invalid(format!(
                "HTTP {status} with a body that is not the expected GraphQL response ({error}): {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ))
        })?;
    let errors = response.errors.unwrap_or_default();
    let unplaced: Vec<graphql_client::Error> = errors
        .iter()
        .filter(|error| first_key(error).is_none())
        .cloned()
        .collect();
    if !unplaced.is_empty() {
        return Err(DataSpaceError::from_graphql(&unplaced));
    }
    match response.data {
        Some(data) if status.is_success() => Ok(PacketAnswers { data, errors }),
        _ if !errors.is_empty() => Err(DataSpaceError::from_graphql(&errors)),
        _ => Err(DataSpaceError::Invalid(format!(
            "HTTP {status} with neither data nor errors"
        ))),
    }
}

/// Reads a GraphQL response body: errors win over data (a failed packet answers
/// `data.packet: null` beside its errors).
fn parse_response<T: serde::de::DeserializeOwned>(
    status: http::StatusCode,
    body: &[u8],
) -> Result<T, DataSpaceError> {
    let response: graphql_client::Response<T> = serde_json::from_slice(body).map_err(|error| {
        DataSpaceError::Invalid(format!(
            "HTTP {status} with a body that is not the expected GraphQL response ({error}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ))
    })?;
    match (response.errors, response.data) {
        (Some(errors), _) if !errors.is_empty() => Err(DataSpaceError::from_graphql(&errors)),
        (_, Some(data)) if status.is_success() => Ok(data),
        _ => Err(DataSpaceError::Invalid(format!(
            "HTTP {status} with neither data nor errors"
        ))),
    }
}

/// The part of a query file one operation needs: the operation and the fragments it spreads,
/// transitively. graphql_client sends the whole file with `operationName`, and a server parses
/// and validates all of it on every call (with ~8 operations per file that tripled the cost of a
/// one-record insert on the local DataSpace). Computed once per operation; a document this
/// cannot split is sent whole.
fn operation_document(document: &'static str, operation: &'static str) -> &'static str {
    type Cache = Mutex<HashMap<(usize, &'static str), &'static str>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (document.as_ptr() as usize, operation);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(trimmed) = cache.lock().ok().and_then(|cache| cache.get(&key).copied()) {
        return trimmed;
    }
    let trimmed: &'static str = match trim_document(document, operation) {
        // One small string per operation of the program, kept for its lifetime.
        Some(trimmed) => Box::leak(trimmed.into_boxed_str()),
        None => document,
    };
    if let Ok(mut cache) = cache.lock() {
        cache.insert(key, trimmed);
    }
    trimmed
}

/// A top-level definition of a GraphQL document: its kind, name, text and fragment spreads.
struct Definition<'a> {
    keyword: &'a str,
    name: &'a str,
    text: &'a str,
    spreads: Vec<&'a str>,
}

fn trim_document(document: &str, operation: &str) -> Option<String> {
    let definitions = split_definitions(document)?;
    let find = |keyword_is_fragment: bool, name: &str| {
        definitions.iter().find(|definition| {
            (definition.keyword == "fragment") == keyword_is_fragment && definition.name == name
        })
    };
    let mut needed = vec![find(false, operation)?];
    let mut index = 0;
    while index < needed.len() {
        for spread in &needed[index].spreads {
            let fragment = find(true, spread)?;
            if !needed.iter().any(|known| std::ptr::eq(*known, fragment)) {
                needed.push(fragment);
            }
        }
        index += 1;
    }
    Some(
        needed
            .iter()
            .map(|definition| definition.text)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Splits a document at its top-level braces, skipping comments and strings (block strings
/// included), and notes each definition's `...Name` spreads. `None` if it is not balanced.
fn split_definitions(document: &str) -> Option<Vec<Definition<'_>>> {
    let bytes = document.as_bytes();
    let mut definitions = Vec::new();
    let mut position = 0;
    let mut start: Option<usize> = None;
    let mut depth = 0usize;
    let mut spreads = Vec::new();
    while position < bytes.len() {
        match bytes[position] {
            b'#' => {
                while position < bytes.len() && bytes[position] != b'\n' {
                    position += 1;
                }
                continue;
            }
            b'"' if document[position..].starts_with("\"\"\"") => {
                let end = document[position + 3..].find("\"\"\"")?;
                position += 3 + end + 3;
                continue;
            }
            b'"' => {
                position += 1;
                while position < bytes.len() && bytes[position] != b'"' {
                    position += if bytes[position] == b'\\' { 2 } else { 1 };
                }
                position += 1;
                continue;
            }
            byte if byte.is_ascii_whitespace() || byte == b',' => {}
            _ if start.is_none() => start = Some(position),
            _ => {}
        }
        match bytes[position] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    let text = &document[start.take()?..=position];
                    let mut words = text
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .filter(|word| !word.is_empty());
                    let keyword = words.next()?;
                    let name =
                        if matches!(keyword, "query" | "mutation" | "subscription" | "fragment") {
                            words.next().unwrap_or_default()
                        } else {
                            ""
                        };
                    definitions.push(Definition {
                        keyword,
                        name,
                        text,
                        spreads: std::mem::take(&mut spreads),
                    });
                }
            }
            b'.' if document[position..].starts_with("...") => {
                let rest = document[position + 3..].trim_start();
                let name_length = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let name = &rest[..name_length];
                // `... on Type` is an inline fragment, not a spread.
                if !name.is_empty() && name != "on" {
                    spreads.push(name);
                }
                position += 3;
                continue;
            }
            _ => {}
        }
        position += 1;
    }
    (depth == 0 && start.is_none()).then_some(definitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"
# A comment with { braces } and "quotes".
fragment A on T { id ...B }
fragment B on T { name }
fragment Unused on T { x }
query First($v: String!) {
  search(cond: "it.name == '}' && ${v} != \"{\"") @strExpr(string: $v) { elems { ...A } count }
}
"""A block string with } inside"""
query Second { search { count ... on T { id } } }
"#;

    #[test]
    fn an_operation_is_sent_with_only_the_fragments_it_needs() {
        let first = trim_document(DOCUMENT, "First").unwrap();
        assert!(first.starts_with("query First($v: String!)"), "{first}");
        assert!(first.contains("fragment A on T { id ...B }"));
        assert!(first.contains("fragment B on T { name }"));
        assert!(
            !first.contains("Unused") && !first.contains("Second"),
            "{first}"
        );
        assert!(
            first.contains(r#"${v} != \"{\""#),
            "strings are kept whole: {first}"
        );
        let second = trim_document(DOCUMENT, "Second").unwrap();
        assert_eq!(second, "query Second { search { count ... on T { id } } }");
    }

    #[test]
    fn documents_that_cannot_be_split_are_sent_whole() {
        assert_eq!(trim_document(DOCUMENT, "Missing"), None);
        assert_eq!(trim_document("query Q { a { b }", "Q"), None);
        assert_eq!(trim_document("query Q { ...Gone }", "Q"), None);
        let whole = "query Q { ...Gone }";
        assert_eq!(operation_document(whole, "Q"), whole);
    }

    #[test]
    fn the_project_queries_split_into_their_operations() {
        use crate::dataspace::operations::log_record::{
            create_many_log_record, search_log_records_filtered,
        };
        let document = search_log_records_filtered::QUERY;
        let trimmed = operation_document(document, "SearchLogRecordsFiltered");
        assert!(
            trimmed.starts_with("query SearchLogRecordsFiltered("),
            "{trimmed}"
        );
        assert!(trimmed.contains("fragment LogRecordFields on _E_LogRecord"));
        assert_eq!(
            trimmed.matches("query ").count() + trimmed.matches("mutation ").count(),
            1
        );
        let insert = operation_document(create_many_log_record::QUERY, "CreateManyLogRecord");
        assert!(!insert.contains("fragment"), "{insert}");
        assert!(insert.len() * 5 < create_many_log_record::QUERY.len());
    }

    #[test]
    fn backoff_ceilings_double_from_base_up_to_the_cap() {
        let backoff = Backoff::default();
        let ceilings: Vec<u128> = (0..8).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff.ceiling(200), Duration::from_secs(2));
    }

    #[test]
    fn backoff_delays_stay_within_the_ceiling_and_spread_out() {
        let backoff = Backoff::default();
        for attempt in 0..10 {
            let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(attempt)).collect();
            assert!(
                delays
                    .iter()
                    .all(|delay| *delay <= backoff.ceiling(attempt))
            );
            // Full jitter: some pauses land in the lower half of the range.
            let half = backoff.ceiling(attempt) / 2;
            assert!(
                delays.iter().any(|delay| *delay < half),
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn deadline_budget_covers_every_attempt_and_pause() {
        let client = DataSpaceClient::new(ClientSettings {
            url: "http://127.0.0.1:9/graphql".into(),
            credentials: AppCredentials::new("k", "s"),
            timeout: Duration::from_millis(300),
            retries: 3,
        })
        .unwrap();
        // 4 attempts of 300 ms, pauses of at most 50 + 100 + 200 ms.
        assert_eq!(client.deadline_budget(), Duration::from_millis(1550));
    }

    #[test]
    fn bad_settings_are_invalid() {
        let settings = |url: &str, timeout: Duration| ClientSettings {
            url: url.into(),
            credentials: AppCredentials::new("k", "s"),
            timeout,
            retries: 0,
        };
        for settings in [
            settings("not a url", Duration::from_secs(1)),
            settings("http://127.0.0.1:9/graphql", Duration::ZERO),
        ] {
            let error = DataSpaceClient::new(settings).unwrap_err();
            assert!(matches!(error, DataSpaceError::Invalid(_)), "{error:?}");
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Data {
        value: i64,
    }

    #[test]
    fn responses_with_errors_map_to_errors_even_beside_data() {
        let body = br#"{"data":null,"errors":[{"message":"name taken","extensions":{"classification":"UNIQUE_VIOLATION"}}]}"#;
        assert_eq!(
            parse_response::<Data>(http::StatusCode::OK, body),
            Err(DataSpaceError::UniqueViolation("name taken".into()))
        );
        let body =
            br#"{"errors":[{"message":"bad cond","extensions":{"classification":"VALIDATION"}}]}"#;
        assert_eq!(
            parse_response::<Data>(http::StatusCode::BAD_REQUEST, body),
            Err(DataSpaceError::Invalid("bad cond".into()))
        );
    }

    #[test]
    fn packets_answer_each_on_its_own() {
        let body = br#"{"data":{"p0":{"id":"1"},"p1":null},"errors":[{"message":"at version 3","path":["p1"],"extensions":{"classification":"AGGREGATE_VERSION_EXCEPTION"}}]}"#;
        let answers = parse_packet_answers(http::StatusCode::OK, body).unwrap();
        assert_eq!(answers.packet("p0"), Ok(&serde_json::json!({"id": "1"})));
        assert_eq!(
            answers.packet("p1"),
            Err(DataSpaceError::VersionConflict("at version 3".into()))
        );
        assert!(matches!(
            answers.packet("p2"),
            Err(DataSpaceError::Invalid(_))
        ));
        // An error naming no packet: the document was refused, the call failed as a whole.
        let body = br#"{"data":null,"errors":[{"message":"bad document","extensions":{"classification":"VALIDATION"}}]}"#;
        assert_eq!(
            parse_packet_answers(http::StatusCode::OK, body),
            Err(DataSpaceError::Invalid("bad document".into()))
        );
    }

    #[test]
    fn responses_with_data_are_typed() {
        let body = br#"{"data":{"value":7}}"#;
        assert_eq!(
            parse_response::<Data>(http::StatusCode::OK, body),
            Ok(Data { value: 7 })
        );
        let error = parse_response::<Data>(http::StatusCode::OK, b"<html>").unwrap_err();
        assert!(matches!(error, DataSpaceError::Invalid(_)), "{error:?}");
        let error = parse_response::<Data>(http::StatusCode::NOT_FOUND, b"{}").unwrap_err();
        assert!(error.message().contains("404"), "{error:?}");
    }

    /// A direct DataSpace whose searches never answer and whose packet groups fail their
    /// commit the first `failures` times, counting the calls.
    #[derive(Debug, Default)]
    struct Flaky {
        failures: usize,
        searches: std::sync::atomic::AtomicUsize,
        groups: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl DirectDataSpace for Flaky {
        async fn search(
            &self,
            _search: super::super::direct::DirectSearch<'_>,
        ) -> Result<super::super::direct::FoundRows, super::super::direct::Refusal> {
            self.searches
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::future::pending().await
        }

        async fn packets(&self, packets: &[Packet]) -> super::super::direct::GroupOutcome {
            let call = self
                .groups
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if call < self.failures {
                return Err(super::super::direct::Refusal {
                    classification: "INTERNAL",
                    message: "disk I/O error".into(),
                });
            }
            Ok(packets
                .iter()
                .map(|_| Ok(serde_json::json!({"isIdempotenceResponse": false})))
                .collect())
        }
    }

    fn direct_client(flaky: Arc<Flaky>) -> DataSpaceClient {
        let settings = ClientSettings {
            url: "http://127.0.0.1:9/graphql".into(),
            credentials: AppCredentials::new("k", "s"),
            timeout: Duration::from_millis(50),
            retries: 2,
        };
        DataSpaceClient::new(settings)
            .unwrap()
            .with_backoff(Backoff {
                base: Duration::from_millis(1),
                cap: Duration::from_millis(2),
            })
            .with_direct(flaky)
    }

    #[tokio::test]
    async fn a_direct_call_that_never_answers_times_out_after_its_retries() {
        let flaky = Arc::new(Flaky::default());
        let client = direct_client(flaky.clone());
        let filter = super::super::operations::LogRecordFilter {
            bot: "1".into(),
            limit: 5,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let error = client.search_log_records(&filter).await.unwrap_err();
        assert!(
            matches!(
                &error,
                DataSpaceError::Unavailable {
                    transient: true,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            flaky.searches.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "one attempt and two retries"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "bounded by the deadline"
        );
    }

    #[tokio::test]
    async fn a_direct_group_whose_commit_failed_is_sent_again() {
        let packet = || Packet {
            idempotence_id: "k".into(),
            aggregate_version: None,
            fields: Vec::new(),
        };
        let flaky = Arc::new(Flaky {
            failures: 2,
            ..Default::default()
        });
        let client = direct_client(flaky.clone());
        let direct: Arc<dyn DirectDataSpace> = flaky.clone();
        let answers = client
            .run_direct_packets(&direct, "Group", &[packet(), packet()])
            .await
            .unwrap();
        assert_eq!(answers.len(), 2);
        assert_eq!(flaky.groups.load(std::sync::atomic::Ordering::SeqCst), 3);
        // Past its retries, the failure is the caller's to see, as retryable.
        let flaky = Arc::new(Flaky {
            failures: 10,
            ..Default::default()
        });
        let direct: Arc<dyn DirectDataSpace> = flaky.clone();
        let error = direct_client(flaky.clone())
            .run_direct_packets(&direct, "Group", &[packet()])
            .await
            .unwrap_err();
        assert!(error.is_retryable(), "{error:?}");
        assert_eq!(flaky.groups.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
