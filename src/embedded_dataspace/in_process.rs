//! The gateway's own calls to its embedded DataSpace, without TCP. The client still builds,
//! signs and times each request as it would for a remote DataSpace; this last step of its
//! middleware chain hands the request to the same router the loopback port serves (signature
//! check included) instead of to hyper. It saves the loopback connection, two HTTP codecs and
//! the socket wake-ups: the kernel and HTTP layers were about a third of the gateway's CPU per
//! ingest (perf, 2026-12-02). The port stays open for the standalone contract and its tests.
//!
//! No crate does this: reqwest has no pluggable connector for an in-process service.

use axum::Router;
use bytes::Bytes;
use http::StatusCode;
use reqwest_middleware::{Middleware, Next};
use std::time::Duration;
use tower::ServiceExt;

/// Serves the client's requests from `router`.
#[derive(Clone)]
pub struct InProcess {
    router: Router,
}

impl InProcess {
    pub(super) fn new(router: Router) -> Self {
        Self { router }
    }

    /// Runs one request on the router, in a task of its own: a request whose caller gives up
    /// still finishes (as it would on a server), and a panic fails only this call.
    async fn call(&self, request: http::Request<axum::body::Body>) -> http::Response<Bytes> {
        let router = self.router.clone();
        let call = tokio::spawn(async move {
            let response = router
                .oneshot(request)
                .await
                .unwrap_or_else(|never| match never {});
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await;
            body.map(|body| http::Response::from_parts(parts, body))
        });
        match call.await {
            Ok(Ok(response)) => response,
            _ => answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the embedded DataSpace failed",
            ),
        }
    }
}

/// A plain answer the client reads as it would a server's (`DataSpaceError::from_status`).
fn answer(status: StatusCode, message: &'static str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from_static(message.as_bytes()));
    *response.status_mut() = status;
    response
}

#[async_trait::async_trait]
impl Middleware for InProcess {
    async fn handle(
        &self,
        request: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let timeout = request.timeout().copied().unwrap_or(Duration::MAX);
        let request: http::Request<reqwest::Body> = request.try_into()?;
        let (parts, body) = request.into_parts();
        // The client sends whole bodies (they are signed), never streams.
        let body = Bytes::copy_from_slice(body.as_bytes().unwrap_or_default());
        let request = http::Request::from_parts(parts, axum::body::Body::from(body));
        let response = tokio::time::timeout(timeout, self.call(request))
            .await
            .unwrap_or_else(|_| answer(StatusCode::GATEWAY_TIMEOUT, "timed out"));
        Ok(response.into())
    }
}
