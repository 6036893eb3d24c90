//! GraphQL over HTTP: turns a request body (POST) or query string (GET) into an execution and
//! the result into a JSON response. Shared by `/graphql` and the function container's `POST /`.

use super::ApiSchema;
use super::error::RequestId;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A JSON error body for a request that never reached execution.
pub fn request_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body =
        json!({"errors": [{"message": message.into(), "extensions": {"code": "BAD_REQUEST"}}]});
    (status, axum::Json(body)).into_response()
}

/// Executes a parsed GraphQL request and answers with its JSON result.
pub async fn execute(
    schema: &ApiSchema,
    request: async_graphql::Request,
    request_id: &str,
) -> Response {
    let request = request.data(RequestId(request_id.to_owned()));
    let response = schema.execute(request).await;
    let mut http = axum::Json(&response).into_response();
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    http
}

/// Parses a JSON body as a GraphQL request, or answers 400 naming the problem.
#[allow(clippy::result_large_err)] // the error is the finished response, built once
pub fn parse_body(body: &[u8]) -> Result<async_graphql::Request, Response> {
    serde_json::from_slice::<async_graphql::Request>(body).map_err(|error| {
        request_error(
            StatusCode::BAD_REQUEST,
            format!("the body is not a GraphQL request: {error}"),
        )
    })
}
