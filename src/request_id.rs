//! The request id: one per request, from the edge to DataSpace.

use axum::http::HeaderMap;

/// The header the id travels in, on requests and responses alike.
pub const HEADER: &str = "x-request-id";

/// The id of the request these headers belong to (set by the server's layers before any
/// handler runs); empty when there is none.
pub fn of(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
