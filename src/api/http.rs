//! GraphQL over HTTP, as the GraphQL-over-HTTP spec says. Shared by `/graphql` and the function
//! container's `POST /`.
//!
//! - Content negotiation: `application/graphql-response+json` or `application/json` (the
//!   default, also for `*/*` and a missing `Accept`); anything else is 406.
//! - POST needs `Content-Type: application/json` (415 otherwise). That is also the CSRF guard:
//!   a browser cannot send that content type cross-site without a CORS preflight.
//! - GET runs queries only (405 with `Allow: POST` for a mutation), so a cross-site GET can
//!   read nothing (CORS) and change nothing.
//! - Parameters are checked (`query` a string, `operationName` a string, `variables` and
//!   `extensions` maps): 400 naming the parameter.
//! - A document that does not parse or validate never executes: 400 with
//!   `application/graphql-response+json`, 200 with `application/json`, and no `data` entry.
//! - Batches (a JSON array) up to `[limits] batch_size`; APQ over GET and POST.
//! - A response with a `DATASPACE_UNAVAILABLE` error is a 503 without `data` (it may not have
//!   been stored); `Retry-After` is added by [`crate::outage::retry_after`].

use super::ApiSchema;
use super::apq::{self, ApqError};
use super::cost::{RecordBudget, ResponseBudget};
use super::error::RequestId;
use super::limits::{self, Allowed, DocumentRefusal, Validated};
use async_graphql::ServerError;
use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The media type a response is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// A request refused before (or instead of) execution.
#[derive(Debug)]
pub struct Failure {
    /// Status with `application/json`.
    json_status: StatusCode,
    /// Status with `application/graphql-response+json`.
    graphql_status: StatusCode,
    errors: Vec<Value>,
    allow: Option<&'static str>,
}

impl Failure {
    /// Same status whatever the media type (bad parameters, 405, 406, 413, 415, 504).
    pub fn status(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            json_status: status,
            graphql_status: status,
            errors: vec![error_json(code, &message.into())],
            allow: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::status(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// A document that never executed: 200 with `application/json` (its clients read the
    /// errors from the body), 400 with `application/graphql-response+json`.
    fn document(errors: Vec<Value>) -> Self {
        Self {
            json_status: StatusCode::OK,
            graphql_status: StatusCode::BAD_REQUEST,
            errors,
            allow: None,
        }
    }

    /// A response that met an unavailable dependency: 503 whatever the media type, its errors
    /// as they are and no `data` (what it holds may not have been stored, and a 5xx answer
    /// carries none), so no client reads it as a success. `None` for any other response.
    fn unavailable(response: &async_graphql::Response) -> Option<Self> {
        let unavailable = response.errors.iter().any(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_some_and(|code| {
                    *code == async_graphql::Value::from(crate::service::UNAVAILABLE_CODE)
                })
        });
        unavailable.then(|| Self {
            json_status: StatusCode::SERVICE_UNAVAILABLE,
            graphql_status: StatusCode::SERVICE_UNAVAILABLE,
            errors: server_errors_json(response.errors.clone(), "INTERNAL_SERVER_ERROR"),
            allow: None,
        })
    }

    fn is_unavailable(&self) -> bool {
        self.graphql_status == StatusCode::SERVICE_UNAVAILABLE
    }

    fn persisted_query_not_found() -> Self {
        // 200 as Apollo's servers answer it: the client reads the code and retries with the query.
        Self {
            json_status: StatusCode::OK,
            graphql_status: StatusCode::OK,
            errors: vec![error_json(apq::NOT_FOUND_CODE, apq::NOT_FOUND_MESSAGE)],
            allow: None,
        }
    }

    fn from_refusal(refusal: DocumentRefusal) -> Self {
        match refusal {
            DocumentRefusal::WrongTransport {
                operation: OperationType::Mutation,
                message,
            } => {
                let mut failure = Self::status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "METHOD_NOT_ALLOWED",
                    message,
                );
                failure.allow = Some("POST");
                failure
            }
            other @ DocumentRefusal::WrongTransport { .. } => Self::bad_request(other.message()),
            other => Self::document(vec![error_json(other.code(), other.message())]),
        }
    }

    /// The GraphQL errors (the `payload` of a WebSocket `error` message).
    pub fn errors(self) -> Vec<Value> {
        self.errors
    }

    /// The `{"errors": [...]}` body (no `data`: nothing executed).
    fn body(&self) -> String {
        serde_json::to_string(&ErrorsBody {
            errors: &self.errors,
        })
        .unwrap_or_else(|error| {
            tracing::error!(%error, "could not encode GraphQL errors");
            INTERNAL_ERROR_BODY.to_owned()
        })
    }

    pub fn into_response(self, media: MediaType) -> Response {
        let status = match media {
            MediaType::GraphqlResponseJson => self.graphql_status,
            MediaType::Json => self.json_status,
        };
        let mut response = (status, self.body()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// The body of a request that executed nothing: `{"errors": [...]}`.
#[derive(Serialize)]
struct ErrorsBody<'a> {
    errors: &'a [Value],
}

/// The answer in a batch of an operation that did not execute: its errors.
#[derive(Serialize)]
struct Refused {
    errors: Vec<Value>,
}

impl From<Failure> for Refused {
    fn from(failure: Failure) -> Self {
        Self {
            errors: failure.errors,
        }
    }
}

fn encode_item(refused: &Refused) -> String {
    serde_json::to_string(refused).unwrap_or_else(|error| {
        tracing::error!(%error, "could not encode a GraphQL batch answer");
        INTERNAL_ERROR_BODY.to_owned()
    })
}

const INTERNAL_ERROR_BODY: &str =
    r#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#;

fn error_json(code: &str, message: &str) -> Value {
    json!({"message": message, "extensions": {"code": code}})
}

fn server_errors_json(errors: Vec<ServerError>, default_code: &str) -> Vec<Value> {
    errors
        .into_iter()
        .map(|mut error| {
            limits::set_code(&mut error, default_code);
            serde_json::to_value(error).unwrap_or_else(|_| error_json(default_code, "error"))
        })
        .collect()
}

/// Picks the response media type from `Accept`.
pub fn negotiate(headers: &HeaderMap) -> Result<MediaType, Failure> {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Ok(MediaType::Json);
    }
    let mut ranges: Vec<(f32, usize, MediaType)> = Vec::new();
    for (index, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality <= 0.0 {
            continue;
        }
        let media = match essence.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphqlResponseJson,
            JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        ranges.push((quality, index, media));
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.first().map(|range| range.2).ok_or_else(|| {
        Failure::status(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            format!(
                "cannot answer in any type of Accept: {accept}; accept {GRAPHQL_RESPONSE_JSON} or {JSON}"
            ),
        )
    })
}

/// The parameters of one GraphQL request, checked.
#[derive(Debug, Default)]
pub struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    pub extensions: Option<Map<String, Value>>,
}

impl Params {
    /// From a JSON object (a POST body, a WebSocket `subscribe` payload).
    pub fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(mut object) = value else {
            return Err(
                "a GraphQL request must be a JSON object with a \"query\" (a string)".into(),
            );
        };
        let query = match object.remove("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(query)) => Some(query),
            Some(other) => {
                return Err(format!(
                    "\"query\" must be a string, not {}",
                    crate::json::kind(&other)
                ));
            }
        };
        let operation_name = match object.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(other) => {
                return Err(format!(
                    "\"operationName\" must be a string, not {}",
                    crate::json::kind(&other)
                ));
            }
        };
        Ok(Self {
            query,
            operation_name,
            variables: map_param("variables", object.remove("variables"))?,
            extensions: map_param("extensions", object.remove("extensions"))?,
        })
    }

    /// From a GET query string; `variables` and `extensions` are JSON text.
    pub fn from_query_string(query_string: &str) -> Result<Self, String> {
        let mut params = Self::default();
        for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
            match key.as_ref() {
                "query" => params.query = Some(value.into_owned()),
                "operationName" if !value.is_empty() => {
                    params.operation_name = Some(value.into_owned())
                }
                "variables" | "extensions" if !value.is_empty() => {
                    let parsed: Value = serde_json::from_str(&value)
                        .map_err(|error| format!("\"{key}\" is not JSON: {error}"))?;
                    let map = map_param(&key, Some(parsed))?;
                    if key == "variables" {
                        params.variables = map;
                    } else {
                        params.extensions = map;
                    }
                }
                _ => {}
            }
        }
        Ok(params)
    }

    /// The async-graphql request, the query taken from the persisted queries when the request
    /// uses APQ (with the query to register once it passed the checks, when one was sent).
    fn into_request(
        self,
        schema: &ApiSchema,
    ) -> Result<(async_graphql::Request, Option<apq::Pending>), Failure> {
        let (query, pending) = match schema
            .persisted_queries()
            .resolve(self.query.as_deref(), self.extensions.as_ref())
        {
            Ok(Some(resolved)) => (resolved.query().to_string(), resolved.pending()),
            Ok(None) => (
                self.query.ok_or_else(|| {
                    Failure::bad_request(
                        "the request has no \"query\": send the GraphQL document as a string",
                    )
                })?,
                None,
            ),
            Err(ApqError::NotFound) => return Err(Failure::persisted_query_not_found()),
            Err(ApqError::Invalid(message)) => return Err(Failure::bad_request(message)),
        };
        let mut request = async_graphql::Request::new(query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(async_graphql::Variables::from_json(Value::Object(
                variables,
            )));
        }
        Ok((request, pending))
    }
}

fn map_param(name: &str, value: Option<Value>) -> Result<Option<Map<String, Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!(
            "\"{name}\" must be a map (a JSON object), not {}",
            crate::json::kind(&other)
        )),
    }
}

/// A request checked and ready to execute: the async-graphql request (with its [`RequestId`]
/// and [`Validated`] attached), its operation type, and what tells afterwards whether it ran.
pub struct Prepared {
    pub request: async_graphql::Request,
    pub operation: OperationType,
    pub outcome: Outcome,
}

/// Tells a response of a request that executed from one whose document failed validation.
pub struct Outcome {
    validated: Validated,
}

impl Outcome {
    /// The first (or only) response of the request as it is, or the [`Failure`] of a document
    /// that never executed (validation failed), its errors coded `VALIDATION_FAILED` unless
    /// they name a code already.
    pub fn classify(
        &self,
        response: async_graphql::Response,
    ) -> Result<async_graphql::Response, Failure> {
        if !self.validated.passed() && response.is_err() {
            return Err(Failure::document(server_errors_json(
                response.errors,
                limits::VALIDATION_FAILED,
            )));
        }
        Ok(response)
    }
}

impl Prepared {
    /// How long the request may run: `[limits] request_timeout_ms` for queries and mutations;
    /// subscriptions live on.
    pub fn time_limit(&self, limits: &super::SchemaLimits) -> Option<std::time::Duration> {
        (self.operation != OperationType::Subscription).then_some(limits.request_timeout)
    }
}

/// The request of `params` (APQ resolved), parsed and checked against the transport and the
/// limits, with `request_id` and the request's record budget attached.
pub fn prepare(
    schema: &ApiSchema,
    params: Params,
    allowed: Allowed,
    request_id: &str,
    records: &RecordBudget,
) -> Result<Prepared, Failure> {
    let (mut request, pending) = params.into_request(schema)?;
    let operation = limits::inspect(&mut request, allowed, &schema.limits().document())
        .map_err(Failure::from_refusal)?;
    if let Some(pending) = pending {
        schema.persisted_queries().register(pending);
    }
    let validated = Validated::default();
    let request = request
        .data(RequestId(request_id.to_owned()))
        .data(validated.clone())
        .data(records.clone());
    Ok(Prepared {
        request,
        operation,
        outcome: Outcome { validated },
    })
}

/// The error for a request that ran past `[limits] request_timeout_ms`.
pub fn timeout_failure(schema: &ApiSchema, request_id: &str) -> Failure {
    let timeout = schema.limits().request_timeout;
    tracing::warn!(%request_id, ?timeout, "GraphQL request timed out");
    Failure::status(
        StatusCode::GATEWAY_TIMEOUT,
        "TIMEOUT",
        format!(
            "the request took longer than the limit of {} ms (request id {request_id})",
            timeout.as_millis()
        ),
    )
}

/// Checks, then executes one request within the request timeout; returns the operation type
/// with the response.
pub async fn run(
    schema: &ApiSchema,
    params: Params,
    allowed: Allowed,
    request_id: &str,
    records: &RecordBudget,
) -> Result<(OperationType, async_graphql::Response), Failure> {
    let prepared = prepare(schema, params, allowed, request_id, records)?;
    // Over HTTP `allowed` lets no subscription through, so the request timeout always applies.
    let response = tokio::time::timeout(
        schema.limits().request_timeout,
        schema.execute(prepared.request),
    )
    .await
    .map_err(|_| timeout_failure(schema, request_id))?;
    let response = prepared.outcome.classify(response)?;
    match Failure::unavailable(&response) {
        Some(failure) => Err(failure),
        None => Ok((prepared.operation, response)),
    }
}

/// The encoded response, within what `bytes` has left: a query's answer that does not fit is
/// replaced by a `LIMIT_EXCEEDED` error; a mutation's is sent as it is (it has changed things,
/// and its size follows its input's).
fn bounded(
    operation: OperationType,
    response: &async_graphql::Response,
    bytes: &mut ResponseBudget,
) -> String {
    let body = encode(response);
    match operation {
        OperationType::Query => bytes.admit(body),
        _ => body,
    }
}

/// The budgets of one HTTP request (a batch shares them).
fn budgets(schema: &ApiSchema) -> (RecordBudget, ResponseBudget) {
    let limits = schema.limits();
    (
        RecordBudget::new(limits.records_per_request),
        ResponseBudget::new(limits.response_bytes),
    )
}

fn json_response(media: MediaType, body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

fn encode(response: &async_graphql::Response) -> String {
    serde_json::to_string(response).unwrap_or_else(|error| {
        tracing::error!(%error, "could not encode a GraphQL response");
        INTERNAL_ERROR_BODY.to_owned()
    })
}

/// `GET /graphql?query=...`: queries only.
pub async fn get(
    schema: &ApiSchema,
    headers: &HeaderMap,
    query_string: &str,
    request_id: &str,
) -> Response {
    let media = match negotiate(headers) {
        Ok(media) => media,
        Err(failure) => return failure.into_response(MediaType::Json),
    };
    let params = match Params::from_query_string(query_string) {
        Ok(params) => params,
        Err(message) => return Failure::bad_request(message).into_response(media),
    };
    let (records, mut bytes) = budgets(schema);
    match run(schema, params, Allowed::QueriesOnly, request_id, &records).await {
        Ok((operation, response)) => {
            json_response(media, bounded(operation, &response, &mut bytes))
        }
        Err(failure) => failure.into_response(media),
    }
}

/// `POST /graphql`: a JSON body, one request or a batch.
pub async fn post(
    schema: &ApiSchema,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    request_id: &str,
) -> Response {
    let media = match negotiate(headers) {
        Ok(media) => media,
        Err(failure) => return failure.into_response(MediaType::Json),
    };
    if let Err(failure) = check_content_type(headers) {
        return failure.into_response(media);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Failure::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                limits::LIMIT_EXCEEDED,
                format!(
                    "the request body is larger than the limit of {} bytes",
                    schema.limits().body_bytes
                ),
            )
            .into_response(media);
        }
        Err(rejection) => {
            return Failure::status(rejection.status(), "BAD_REQUEST", rejection.body_text())
                .into_response(media);
        }
    };
    post_body(schema, media, &body, request_id).await
}

/// A `POST /graphql` body already read (the function container's `POST /` parses its own
/// body and comes in at [`post_json`]).
async fn post_body(
    schema: &ApiSchema,
    media: MediaType,
    body: &[u8],
    request_id: &str,
) -> Response {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Failure::bad_request(
            "the request body is empty: send a JSON object with a \"query\"",
        )
        .into_response(media);
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return Failure::bad_request(format!("the request body is not JSON: {error}"))
                .into_response(media);
        }
    };
    post_json(schema, media, value, request_id).await
}

/// A parsed POST body: an object, or an array (a batch).
pub async fn post_json(
    schema: &ApiSchema,
    media: MediaType,
    value: Value,
    request_id: &str,
) -> Response {
    match value {
        Value::Array(items) => {
            let limit = schema.limits().batch_size;
            if items.is_empty() {
                return Failure::bad_request("the batch is empty").into_response(media);
            }
            if items.len() > limit {
                return Failure::status(
                    StatusCode::BAD_REQUEST,
                    limits::LIMIT_EXCEEDED,
                    format!(
                        "the batch has {} operations; the limit is {limit}",
                        items.len()
                    ),
                )
                .into_response(media);
            }
            let (records, mut bytes) = budgets(schema);
            let mut results = Vec::with_capacity(items.len());
            // One operation of the batch unavailable makes the whole answer a 503 (the others
            // are in the body as they ran), so that a client retrying on status retries it.
            let mut unavailable = false;
            for (index, item) in items.into_iter().enumerate() {
                let result = match Params::from_json(item) {
                    Ok(params) => {
                        let id = format!("{request_id}.{index}");
                        match run(schema, params, Allowed::QueriesAndMutations, &id, &records).await
                        {
                            Ok((operation, response)) => bounded(operation, &response, &mut bytes),
                            Err(failure) => {
                                unavailable |= failure.is_unavailable();
                                encode_item(&failure.into())
                            }
                        }
                    }
                    Err(message) => encode_item(&Failure::bad_request(message).into()),
                };
                results.push(result);
            }
            let mut response = json_response(media, format!("[{}]", results.join(",")));
            if unavailable {
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            }
            response
        }
        value => {
            let params = match Params::from_json(value) {
                Ok(params) => params,
                Err(message) => return Failure::bad_request(message).into_response(media),
            };
            let (records, mut bytes) = budgets(schema);
            match run(
                schema,
                params,
                Allowed::QueriesAndMutations,
                request_id,
                &records,
            )
            .await
            {
                Ok((operation, response)) => {
                    json_response(media, bounded(operation, &response, &mut bytes))
                }
                Err(failure) => failure.into_response(media),
            }
        }
    }
}

/// CSRF guard for `POST /`, whose callers (the function platform) may send no content type:
/// refuses the content types a browser sends cross-site without a preflight.
pub fn check_not_cross_site_form(headers: &HeaderMap) -> Result<(), Failure> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if matches!(
        essence.as_str(),
        "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
    ) {
        return Err(Failure::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "a request with Content-Type {essence:?} is refused (a browser sends it \
                 cross-site without asking): send application/json"
            ),
        ));
    }
    Ok(())
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Failure> {
    let unsupported = |message: String| {
        Failure::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            message,
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported(
            "the request has no Content-Type: send the body as application/json".into(),
        ));
    };
    let text = value.to_str().unwrap_or("").to_ascii_lowercase();
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if essence != JSON {
        return Err(unsupported(format!(
            "Content-Type {essence:?} is not supported: send the body as application/json"
        )));
    }
    for param in parts {
        if let Some(charset) = param.trim().strip_prefix("charset=") {
            let charset = charset.trim_matches('"');
            if charset != "utf-8" && charset != "utf8" {
                return Err(unsupported(format!(
                    "charset {charset:?} is not supported: send UTF-8"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn negotiation_follows_the_spec() {
        assert_eq!(negotiate(&HeaderMap::new()).unwrap(), MediaType::Json);
        assert_eq!(negotiate(&accept("*/*")).unwrap(), MediaType::Json);
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json"
            ))
            .unwrap(),
            MediaType::GraphqlResponseJson
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            ))
            .unwrap(),
            MediaType::Json
        );
        assert!(negotiate(&accept("text/plain")).is_err());
    }

    #[test]
    fn parameters_are_checked() {
        assert!(Params::from_json(json!({"query": 1})).is_err());
        assert!(Params::from_json(json!({"query": "{a}", "variables": "x"})).is_err());
        assert!(Params::from_json(json!({"query": "{a}", "extensions": [1]})).is_err());
        assert!(Params::from_json(json!({"query": "{a}", "operationName": false})).is_err());
        let params = Params::from_json(
            json!({"query": "{a}", "variables": null, "operationName": null, "extensions": null}),
        )
        .unwrap();
        assert_eq!(params.query.as_deref(), Some("{a}"));
        let params =
            Params::from_query_string("query=%7Ba%7D&variables=%7B%22x%22%3A1%7D").unwrap();
        assert_eq!(params.variables.unwrap()["x"], 1);
        assert!(Params::from_query_string("query=x&variables=%5B%5D").is_err());
    }
}
