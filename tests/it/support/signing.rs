//! Server-side signature checks for the loopback servers tests stand up.

use axum::http::request::Parts;
use logbot_gateway::apig::{InboundRequest, KeyRing, VerifyError, verify};

/// Verifies a request received by an axum handler, as the gateway would; the signing key's name.
pub fn verify_received(parts: &Parts, body: &[u8], keys: &KeyRing) -> Result<String, VerifyError> {
    verify(
        &InboundRequest::new(&parts.method, &parts.uri, &parts.headers, body),
        keys,
        chrono::Utc::now(),
    )
}
