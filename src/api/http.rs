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
//!
//! The answers of requests that execute nothing, and the media type, are in `http/failure.rs`;
//! reading and checking the parameters is in `http/params.rs`.

use super::ApiSchema;
use super::cost::{RecordBudget, ResponseBudget};
use super::error::RequestId;
use super::limits::{self, Allowed, Validated};
use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

mod failure;
mod params;

pub use failure::{Failure, GRAPHQL_RESPONSE_JSON, JSON, MediaType, negotiate};
use failure::{encode_item, internal_error_body, server_errors_json};
pub use params::Params;

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
    let operation = limits::inspect(
        &mut request,
        allowed,
        &schema.limits().document(),
        schema.parsed_documents(),
    )
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
/// and its size follows its input's). Every executed answer is encoded here, so here its
/// errors (async-graphql's own as well as the service's) get the request id.
fn bounded(
    operation: OperationType,
    mut response: async_graphql::Response,
    bytes: &mut ResponseBudget,
) -> String {
    crate::request_id::name_in_server_errors(
        &mut response.errors,
        &crate::request_id::for_errors(),
    );
    let body = encode(&response);
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
        internal_error_body()
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
        Ok((operation, response)) => json_response(media, bounded(operation, response, &mut bytes)),
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
                            Ok((operation, response)) => bounded(operation, response, &mut bytes),
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
                    json_response(media, bounded(operation, response, &mut bytes))
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
