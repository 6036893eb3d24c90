//! The function-template contract: `handle(FunctionRequest) -> FunctionResponse` is the core
//! and the HTTP layer only adapts to it. `POST /` dispatches on the JSON body's shape.
//!
//! The HTTP request's method, path and query travel in the headers [`METHOD_HEADER`],
//! [`PATH_HEADER`] and [`QUERY_HEADER`], so `handle` needs nothing but the request;
//! [`routes`] mounts it on `POST /`.

mod direct;
mod message;
mod route;
mod trigger;

pub use route::routes;

use crate::api::{ApiSchema, http as graphql_http};
use crate::config::Settings;
use crate::service::LogbotService;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub const METHOD_HEADER: &str = "x-function-method";
pub const PATH_HEADER: &str = "x-function-path";
pub const QUERY_HEADER: &str = "x-function-query";

#[derive(Debug, Clone, Default)]
pub struct FunctionRequest {
    pub payload: Bytes,
    pub headers: HeaderMap,
}

#[derive(Debug, Clone)]
pub struct FunctionResponse {
    pub payload: Bytes,
    pub status: StatusCode,
    pub headers: HeaderMap,
}

impl FunctionResponse {
    /// A JSON answer; an error's (4xx, 5xx) names the request id in a `requestId` field.
    pub fn json(status: StatusCode, body: &Value) -> Self {
        let mut body = body.clone();
        if status.is_client_error() || status.is_server_error() {
            crate::request_id::name_in_json(&mut body, &crate::request_id::for_errors());
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Self {
            payload: Bytes::from(body.to_string()),
            status,
            headers,
        }
    }
}

/// What `handle` works with.
pub struct FunctionContext<'a> {
    pub settings: &'a Settings,
    pub schema: &'a ApiSchema,
    pub service: &'a LogbotService,
}

/// The shapes `POST /` accepts, named in every 400 so a caller sees what would work.
const SHAPES: &str = "expected one of: {\"MESSAGE_NAME\", \"DATA\"} (message protocol), {\"query\"} (GraphQL), \
{\"parameters\", \"context\"} (direct call), {\"messages\"} (trigger or signal)";

fn bad_request(message: String) -> FunctionResponse {
    FunctionResponse::json(
        StatusCode::BAD_REQUEST,
        &json!({"status": "fail", "code": 400, "message": message}),
    )
}

/// The core of the function: one request in, one response out.
pub async fn handle(context: &FunctionContext<'_>, request: FunctionRequest) -> FunctionResponse {
    let request_id = request
        .headers
        .get(crate::request_id::HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Before the shape is known: a cross-site page must not reach any of them (a direct call
    // or a signal writes as surely as a mutation).
    if let Err(failure) = graphql_http::check_not_cross_site_form(&request.headers) {
        return from_axum(failure.into_response(graphql_http::MediaType::Json)).await;
    }
    let body: Value = match serde_json::from_slice(&request.payload) {
        Ok(Value::Object(object)) => Value::Object(object),
        Ok(_) => return bad_request(format!("the body must be a JSON object; {SHAPES}")),
        Err(error) => return bad_request(format!("the body is not JSON ({error}); {SHAPES}")),
    };
    if body.get("MESSAGE_NAME").is_some() {
        return message::handle(context.service, &body).await;
    }
    // A GraphQL request, or an APQ one that sends the hash only.
    if body.get("query").is_some() || body.pointer("/extensions/persistedQuery").is_some() {
        let media = match graphql_http::negotiate(&request.headers) {
            Ok(media) => media,
            Err(failure) => {
                return from_axum(failure.into_response(graphql_http::MediaType::Json)).await;
            }
        };
        return from_axum(graphql_http::post_json(context.schema, media, body, &request_id).await)
            .await;
    }
    if body.get("parameters").is_some() && body.get("context").is_some() {
        return direct::handle(context, &body).await;
    }
    if body.get("messages").is_some() {
        return trigger::handle(context, &body).await;
    }
    bad_request(format!("unrecognised body; {SHAPES}"))
}

async fn from_axum(response: axum::response::Response) -> FunctionResponse {
    let (parts, body) = response.into_response().into_parts();
    let payload = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    FunctionResponse {
        payload,
        status: parts.status,
        headers: parts.headers,
    }
}
