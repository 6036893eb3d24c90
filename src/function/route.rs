//! `POST /`: the function container's entry, adapting an HTTP request to [`super::handle`].

use super::{FunctionContext, FunctionRequest, METHOD_HEADER, PATH_HEADER, QUERY_HEADER};
use crate::api::signature;
use crate::app_state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", post(function_root))
}

async fn function_root(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return crate::request_id::body_rejection(&rejection, &crate::request_id::for_errors());
        }
    };
    if let Err(response) = signature::check(
        state.inbound_keys.as_deref(),
        &method,
        &uri,
        &headers,
        &body,
    ) {
        return response;
    }
    let mut function_headers = headers;
    for (name, value) in [
        (METHOD_HEADER, method.as_str()),
        (PATH_HEADER, uri.path()),
        (QUERY_HEADER, uri.query().unwrap_or("")),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            function_headers.insert(name, value);
        }
    }
    let context = FunctionContext {
        settings: &state.settings,
        schema: &state.schema,
        service: &state.service,
    };
    let response = super::handle(
        &context,
        FunctionRequest {
            payload: body,
            headers: function_headers,
        },
    )
    .await;
    (response.status, response.headers, response.payload).into_response()
}
