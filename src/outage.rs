//! What the gateway answers while a dependency (DataSpace, the Redis bus) is down: every 503,
//! from any door, carries `Retry-After` (`[limits] retry_after_s`), and `/readyz` names the
//! dependency that is not answering. The doors themselves only map an unavailable dependency
//! to 503 ([`crate::service::ServiceError::Unavailable`]); nothing here retries. [`routes`]
//! serves the probes, `/healthz` (live) and `/readyz`.

use crate::app_state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::time::Duration;

/// How long `/readyz` waits for each dependency before calling it unavailable: short, so a
/// stopped (not killed) DataSpace shows up, and its return is seen, within 2 s.
pub const READY_TIMEOUT: Duration = Duration::from_millis(1500);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// Middleware: adds `Retry-After` to every 503 that has none, so no door can forget it.
pub async fn retry_after(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        let seconds = state.settings.limits.retry_after.as_secs().max(1);
        response
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert_with(|| HeaderValue::from(seconds));
    }
    response
}

/// `GET /readyz`: 200 while DataSpace answers a signed query and the bus works, else 503; the
/// JSON body says which (`{"ready", "dataspace", "bus"}`, each `"ok"` or what is wrong).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let dataspace = async {
        match tokio::time::timeout(READY_TIMEOUT, state.service.client().ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "DataSpace unavailable: no answer within {} ms",
                READY_TIMEOUT.as_millis()
            )),
        }
    };
    let bus = async {
        match tokio::time::timeout(READY_TIMEOUT, state.service.bus().health()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "bus unavailable: no answer within {} ms",
                READY_TIMEOUT.as_millis()
            )),
        }
    };
    let (dataspace, bus) = tokio::join!(dataspace, bus);
    let ready = dataspace.is_ok() && bus.is_ok();
    let describe = |outcome: Result<(), String>| outcome.err().unwrap_or_else(|| "ok".into());
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"ready": ready, "dataspace": describe(dataspace), "bus": describe(bus)});
    (status, axum::Json(body)).into_response()
}
