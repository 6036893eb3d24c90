//! Server-side signature checks for the loopback servers tests stand up.

use axum::http::request::Parts;
use logbot_gateway::apig::{InboundRequest, KeyRing, VerifyError, verify};

/// Verifies a request received by an axum handler, as the gateway would; the signing key's name.
pub fn verify_received(parts: &Parts, body: &[u8], keys: &KeyRing) -> Result<String, VerifyError> {
    let inbound = InboundRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    verify(&inbound, keys, chrono::Utc::now())
}
