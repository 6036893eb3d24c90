//! The request id: one per request, from the edge to DataSpace.
//!
//! At the edge the server's layers take the caller's `x-request-id` when it is usable (1 to
//! 128 visible ASCII characters) and make a UUID otherwise ([`discard_unusable`], then
//! tower-http's `SetRequestId`/`PropagateRequestId`), so every handler finds it in the request
//! headers ([`of`]) and every response carries it. [`span`] names it in the request's tracing
//! span, and [`scope`] makes it the task's [`current`] id, which the DataSpace client sends on
//! every call ([`Forward`]): the local DataSpace logs it with the call.
//!
//! Every error a caller gets names the id too, one helper per body format: GraphQL errors in
//! `extensions.requestId` ([`name_in_errors`], [`name_in_server_errors`]), other JSON error
//! bodies in a `requestId` field ([`name_in_json`]), plain-text ones at the end
//! ([`name_in_text`]). Background work (a delivery pass, a poll cycle) runs [`within`] an id
//! of its own ([`background`]), so its DataSpace calls are named as well.

use axum::extract::rejection::BytesRejection;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;

/// The header the id travels in, on requests and responses alike.
pub const HEADER: &str = "x-request-id";

/// The longest id taken from a caller.
pub const MAX_CHARS: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request these headers belong to (set by the server's layers before any
/// handler runs); empty when there is none.
pub fn of(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Whether a caller's id is kept: 1 to [`MAX_CHARS`] visible ASCII characters (no spaces, so
/// it stays one word in a log line).
pub fn is_usable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_CHARS).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic)
}

/// Layer (`map_request`): drops a caller's id that is not usable, so a fresh one replaces it.
pub async fn discard_unusable(mut request: Request) -> Request {
    if request
        .headers()
        .get(HEADER)
        .is_some_and(|value| !is_usable(value))
    {
        request.headers_mut().remove(HEADER);
    }
    request
}

/// The request's tracing span (tower-http's `TraceLayer::make_span_with`): its id, method
/// and matched route.
pub fn span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = of(request.headers());
    tracing::info_span!("request", %request_id, method = %request.method(), route = %route)
}

/// Middleware: runs the rest of the request with its id as the [`current`] one.
pub async fn scope(request: Request, next: Next) -> Response {
    let id = of(request.headers());
    within(id, next.run(request)).await
}

/// Runs `work` with `id` as the [`current`] request id (a WebSocket connection, which
/// outlives the upgrade request's task, runs under the upgrade's id).
///
/// A plain function, not an `async fn`: an `async fn` keeps its arguments in its own state
/// beside the future it awaits, so it would hold `work` twice (a WebSocket operation's task
/// took 5.5 KiB).
pub fn within<F: Future>(id: String, work: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(id, work)
}

/// The id of the request this task serves, if it serves one (background work does not).
pub fn current() -> Option<String> {
    CURRENT
        .try_with(|id| id.clone())
        .ok()
        .filter(|id| !id.is_empty())
}

/// A new id for one unit of background work (`<kind>-<uuid>`, e.g. `delivery-...`), to run it
/// [`within`]: its DataSpace calls send it and the local DataSpace logs it.
pub fn background(kind: &str) -> String {
    format!("{kind}-{}", uuid::Uuid::new_v4())
}

/// The id an error answer names: the [`current`] one, or the empty string outside a request.
pub fn for_errors() -> String {
    current().unwrap_or_default()
}

/// GraphQL errors as JSON: sets `extensions.requestId` to `id` on each error that names none
/// yet (an internal error names its own, possibly an operation's `id.N`). Nothing for an
/// empty `id`.
pub fn name_in_errors(errors: &mut [serde_json::Value], id: &str) {
    if id.is_empty() {
        return;
    }
    for error in errors {
        let Some(error) = error.as_object_mut() else {
            continue;
        };
        let extensions = error
            .entry("extensions")
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let Some(extensions) = extensions.as_object_mut() {
            extensions
                .entry("requestId")
                .or_insert_with(|| serde_json::Value::String(id.to_owned()));
        }
    }
}

/// [`name_in_errors`] for async-graphql's own errors (an executed response's).
pub fn name_in_server_errors(errors: &mut [async_graphql::ServerError], id: &str) {
    if id.is_empty() {
        return;
    }
    for error in errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("requestId").is_none() {
            extensions.set("requestId", id);
        }
    }
}

/// A JSON error body that is an object: sets its `requestId` field (unless it has one).
pub fn name_in_json(body: &mut serde_json::Value, id: &str) {
    if let Some(object) = body.as_object_mut()
        && !id.is_empty()
    {
        object
            .entry("requestId")
            .or_insert_with(|| serde_json::Value::String(id.to_owned()));
    }
}

/// A plain-text error body: ends with ` (request id <id>)`.
pub fn name_in_text(body: String, id: &str) -> String {
    if id.is_empty() {
        body
    } else {
        format!("{body} (request id {id})")
    }
}

/// A plain-text answer of the doors that speak text; an error's ends with
/// ` (request id <id>)` (the [`current`] one).
pub fn plain_text(status: http::StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    if status.is_client_error() || status.is_server_error() {
        body = name_in_text(body, &for_errors());
    }
    (
        status,
        [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A body the extractor refused (over the size limit, unreadable): its status and axum's
/// text, naming `id` like every plain-text error. For the doors that take the body as
/// `Result<Bytes, BytesRejection>` so that not even this answer goes without the id.
pub fn body_rejection(rejection: &BytesRejection, id: &str) -> Response {
    let text = name_in_text(rejection.body_text(), id);
    (rejection.status(), text).into_response()
}

/// Client middleware: sends the [`current`] id as `x-request-id`. Placed after the signing
/// middleware, so the header is not signed (a proxy may rewrite it without breaking the
/// signature).
#[derive(Clone, Copy, Debug, Default)]
pub struct Forward;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Forward {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if let Some(value) = current().and_then(|id| HeaderValue::from_str(&id).ok()) {
            request.headers_mut().insert(HEADER, value);
        }
        next.run(request, extensions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ascii_ids_are_kept() {
        let usable = |text: &str| is_usable(&HeaderValue::from_str(text).unwrap());
        assert!(usable("abc-123"));
        assert!(usable(&"x".repeat(MAX_CHARS)));
        assert!(!usable(&"x".repeat(MAX_CHARS + 1)));
        assert!(!usable(""));
        assert!(!usable("two words"));
        assert!(!usable("tab\tinside"));
        assert!(!is_usable(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
    }

    #[tokio::test]
    async fn the_current_id_is_the_scope_s() {
        assert_eq!(current(), None);
        let inside = within("abc-123".into(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("abc-123"));
    }

    #[test]
    fn error_bodies_name_the_id_once() {
        let mut errors = vec![
            serde_json::json!({"message": "a", "extensions": {"code": "X"}}),
            serde_json::json!({"message": "b"}),
            serde_json::json!({"message": "c", "extensions": {"requestId": "id-1.0"}}),
        ];
        name_in_errors(&mut errors, "id-1");
        assert_eq!(errors[0]["extensions"]["code"], "X");
        assert_eq!(errors[0]["extensions"]["requestId"], "id-1");
        assert_eq!(errors[1]["extensions"]["requestId"], "id-1");
        assert_eq!(errors[2]["extensions"]["requestId"], "id-1.0");
        let mut body = serde_json::json!({"code": 400});
        name_in_json(&mut body, "id-1");
        assert_eq!(body, serde_json::json!({"code": 400, "requestId": "id-1"}));
        assert_eq!(name_in_text("no".into(), "id-1"), "no (request id id-1)");
        assert_eq!(name_in_text("no".into(), ""), "no");
    }

    #[tokio::test]
    async fn background_work_gets_an_id_of_its_kind() {
        let id = background("delivery");
        assert!(id.starts_with("delivery-") && is_usable(&HeaderValue::from_str(&id).unwrap()));
        let inside = within(id.clone(), async { for_errors() }).await;
        assert_eq!(inside, id);
        assert_eq!(for_errors(), "");
    }
}
