//! The inbound APIG check of the gateway's own doors (`/graphql` and the function's `POST /`):
//! when `[auth] app_keys` is set, a request must carry a valid signature.

use crate::apig::{InboundRequest, KeyRing, verify};
use axum::Json;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// `Ok` when no keys are configured or the signature is valid; else the 401 to answer.
#[allow(clippy::result_large_err)] // the error is the finished 401 response
pub fn check(
    keys: Option<&KeyRing>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Response> {
    let Some(keys) = keys else {
        return Ok(());
    };
    verify(
        &InboundRequest::new(method, uri, headers, body),
        keys,
        chrono::Utc::now(),
    )
    .map(|_| ())
    .map_err(|error| {
        tracing::info!(%error, "rejected request signature");
        let request_id = crate::request_id::of(headers);
        (StatusCode::UNAUTHORIZED, Json(error.to_json(&request_id))).into_response()
    })
}
