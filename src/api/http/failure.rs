//! What a GraphQL-over-HTTP request is answered with when nothing (or not all of it)
//! executed: the media type picked from `Accept`, and the [`Failure`]s with their statuses.

use crate::api::apq;
use crate::api::limits::{self, DocumentRefusal};
use crate::request_id;
use async_graphql::ServerError;
use async_graphql::parser::types::OperationType;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The media type a response is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    pub(super) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// A request refused before (or instead of) execution.
#[derive(Debug, Clone)]
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

    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::status(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// A document that never executed: 200 with `application/json` (its clients read the
    /// errors from the body), 400 with `application/graphql-response+json`.
    pub(super) fn document(errors: Vec<Value>) -> Self {
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
    pub(super) fn unavailable(response: &async_graphql::Response) -> Option<Self> {
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

    pub(super) fn is_unavailable(&self) -> bool {
        self.graphql_status == StatusCode::SERVICE_UNAVAILABLE
    }

    pub(super) fn persisted_query_not_found() -> Self {
        // 200 as Apollo's servers answer it: the client reads the code and retries with the query.
        Self {
            json_status: StatusCode::OK,
            graphql_status: StatusCode::OK,
            errors: vec![error_json(apq::NOT_FOUND_CODE, apq::NOT_FOUND_MESSAGE)],
            allow: None,
        }
    }

    pub(super) fn from_refusal(refusal: DocumentRefusal) -> Self {
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

    /// The GraphQL errors (the `payload` of a WebSocket `error` message), each naming the
    /// request id.
    pub fn errors(mut self) -> Vec<Value> {
        self.name_request_id();
        self.errors
    }

    /// Every error answer is built through here ([`Self::errors`], [`Self::into_response`],
    /// a batch's [`Refused`]): each error names the current request id.
    fn name_request_id(&mut self) {
        request_id::name_in_errors(&mut self.errors, &request_id::for_errors());
    }

    /// The `{"errors": [...]}` body (no `data`: nothing executed).
    fn body(&self) -> String {
        serde_json::to_string(&ErrorsBody {
            errors: &self.errors,
        })
        .unwrap_or_else(|error| {
            tracing::error!(%error, "could not encode GraphQL errors");
            internal_error_body()
        })
    }

    pub fn into_response(mut self, media: MediaType) -> Response {
        self.name_request_id();
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
pub(super) struct Refused {
    errors: Vec<Value>,
}

impl From<Failure> for Refused {
    fn from(mut failure: Failure) -> Self {
        failure.name_request_id();
        Self {
            errors: failure.errors,
        }
    }
}

pub(super) fn encode_item(refused: &Refused) -> String {
    serde_json::to_string(refused).unwrap_or_else(|error| {
        tracing::error!(%error, "could not encode a GraphQL batch answer");
        internal_error_body()
    })
}

/// The answer when an answer cannot be encoded (it names the request id, whose log has why).
pub(super) fn internal_error_body() -> String {
    let mut errors = vec![error_json("INTERNAL_SERVER_ERROR", "internal error")];
    request_id::name_in_errors(&mut errors, &request_id::for_errors());
    json!({ "errors": errors }).to_string()
}

fn error_json(code: &str, message: &str) -> Value {
    json!({"message": message, "extensions": {"code": code}})
}

pub(super) fn server_errors_json(errors: Vec<ServerError>, default_code: &str) -> Vec<Value> {
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
}
