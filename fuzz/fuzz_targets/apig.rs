//! APIG App authentication (`src/apig/`): canonicalization, signing, `Authorization` parsing
//! and verification, on any request.
//!
//! Beyond "no panic": percent-decoding inverts our encoding; the canonical URI and query are
//! idempotent and the canonical request deterministic; `verify(sign(x))` accepts with the
//! signing key, and the same request with its body changed (payload not declared unsigned) or
//! under another secret is refused; the `Authorization` header we write parses back to its
//! fields.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use logbot_gateway::apig::canonical::{
    self, CanonicalInput, canonical_query, canonical_uri, decode_component, encode_component,
};
use logbot_gateway::apig::signer::parse_sdk_date;
use logbot_gateway::apig::verify::parse_authorization;
use logbot_gateway::apig::{AppCredentials, InboundRequest, KeyRing, SigningRequest, sign, verify};

#[derive(Arbitrary, Debug)]
struct Input {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Any text, as an `Authorization` header.
    authorization: String,
    /// Seconds since the epoch, for the signing time.
    time: u32,
}

fn canonical_of(raw_path: &str, raw_query: &str) -> (String, String) {
    let mut uri = String::new();
    canonical_uri(raw_path, &mut uri);
    let mut query = String::new();
    canonical_query(raw_query, &mut query);
    (uri, query)
}

fn check_canonical(input: &Input) {
    let mut encoded = String::new();
    encode_component(&input.path, &mut encoded);
    assert_eq!(decode_component(&encoded), input.path);

    let (uri, query) = canonical_of(&input.path, &input.query);
    assert!(uri.ends_with('/'));
    assert_eq!(canonical_of(&uri, &query), (uri.clone(), query.clone()), "not idempotent");

    let headers: Vec<(&str, &str)> = input
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let names = canonical::signed_header_names(headers.iter().copied());
    let request = CanonicalInput {
        method: &input.method,
        raw_path: &input.path,
        raw_query: &input.query,
        headers: &headers,
        body: &input.body,
    };
    assert_eq!(
        canonical::canonical_request(&request, &names),
        canonical::canonical_request(&request, &names)
    );
}

/// The signed request as a server receives it, or `None` when it cannot travel over HTTP
/// (header names or values HTTP does not allow, two headers of the same name, a method that
/// is not a token).
fn as_received(request: &SigningRequest) -> Option<HeaderMap> {
    http::Method::from_bytes(request.method.as_bytes()).ok()?;
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(value.as_bytes()).ok()?;
        if headers.insert(name, value).is_some() {
            return None;
        }
    }
    Some(headers)
}

/// The signed request as the verifier sees it on arrival.
fn received<'a>(
    request: &'a SigningRequest,
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> InboundRequest<'a> {
    InboundRequest {
        method: &request.method,
        raw_path: &request.raw_path,
        raw_query: &request.raw_query,
        headers,
        body,
    }
}

fn check_sign_verify(input: &Input) {
    let mut request = SigningRequest {
        method: input.method.clone(),
        host: "127.0.0.1:8080".to_owned(),
        raw_path: input.path.clone(),
        raw_query: input.query.clone(),
        headers: input.headers.clone(),
    };
    // An Authorization header given before signing is signed and then replaced.
    if request.header("authorization").is_some() {
        return;
    }
    let credentials = AppCredentials::new("fuzz-key", "fuzz-secret");
    let now = DateTime::<Utc>::from_timestamp(i64::from(input.time), 0).unwrap();
    let Ok(trace) = sign(&mut request, &input.body, &credentials, now) else {
        return;
    };
    // Only a request HTTP can carry (header names are tokens, so no `,` or `=` in them).
    let Some(headers) = as_received(&request) else {
        return;
    };
    let fields = parse_authorization(&trace.authorization).expect("our header parses");
    assert_eq!(fields.access, "fuzz-key");
    assert_eq!(fields.signed_headers.join(";"), trace.signed_headers);
    assert_eq!(fields.signature, trace.signature);
    let signed_at = parse_sdk_date(&trace.sdk_date).unwrap();
    // Header names the verifier reads back must be unique once lower-cased.
    let mut names = fields.signed_headers.clone();
    names.dedup();
    if names.len() != fields.signed_headers.len() {
        return;
    }
    let keys = KeyRing::new().with("fuzz-key", "fuzz-secret");
    let accepted = verify(&received(&request, &headers, &input.body), &keys, signed_at);
    assert_eq!(accepted.as_deref(), Ok("fuzz-key"), "{trace:?}");

    let unsigned_payload = request.header(canonical::CONTENT_SHA256_HEADER).is_some();
    if !unsigned_payload {
        let mut tampered = input.body.clone();
        tampered.push(b'x');
        assert!(verify(&received(&request, &headers, &tampered), &keys, signed_at).is_err());
    }
    let other = KeyRing::new().with("fuzz-key", "another-secret");
    assert!(verify(&received(&request, &headers, &input.body), &other, signed_at).is_err());
}

fuzz_target!(|input: Input| {
    if let Ok(fields) = parse_authorization(&input.authorization) {
        assert!(!fields.access.is_empty() && !fields.signature.is_empty());
        assert!(!fields.signed_headers.is_empty());
    }
    check_canonical(&input);
    check_sign_verify(&input);
});
