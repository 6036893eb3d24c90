//! sign -> verify round trips, and each failure kind rejected with its own error.

use chrono::{DateTime, TimeDelta, Utc};
use logbot_gateway::apig::{
    AppCredentials, InboundRequest, KeyRing, SigningRequest, VerifyError, sign, verify,
};

const BODY: &[u8] = br#"{"query":"{ searchBot(cond: \"it.name == 'b'\") { count } }"}"#;

/// Signs a POST and returns the headers as a server would receive them.
fn signed_headers(url: &str, now: DateTime<Utc>) -> http::HeaderMap {
    let mut request = SigningRequest::from_url(
        "POST",
        url,
        vec![("Content-Type".into(), "application/json".into())],
    );
    sign(
        &mut request,
        BODY,
        &AppCredentials::new("app-key", "app-secret"),
        now,
    )
    .unwrap();
    request
        .headers
        .iter()
        .map(|(name, value)| {
            (
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

fn check(
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, VerifyError> {
    let keys = KeyRing::new().with("app-key", "app-secret");
    verify(
        &InboundRequest {
            method: "POST",
            raw_path: "/graphql",
            raw_query: "a=1&b=%20x",
            headers,
            body,
        },
        &keys,
        now,
    )
}

const URL: &str = "http://127.0.0.1:8081/graphql?b=%20x&a=1";

#[test]
fn a_signed_request_verifies_and_names_its_key() {
    let now = Utc::now();
    assert_eq!(
        check(&signed_headers(URL, now), BODY, now),
        Ok("app-key".into())
    );
}

#[test]
fn the_clock_window_is_fifteen_minutes_both_ways() {
    let now = Utc::now();
    let headers = signed_headers(URL, now);
    assert!(check(&headers, BODY, now + TimeDelta::minutes(14)).is_ok());
    assert!(check(&headers, BODY, now - TimeDelta::minutes(14)).is_ok());
    let late = check(&headers, BODY, now + TimeDelta::minutes(16)).unwrap_err();
    assert!(matches!(late, VerifyError::Expired(_)), "{late:?}");
    assert_eq!(late.error_code(), "APIG.0303");
    let early = check(&headers, BODY, now - TimeDelta::minutes(16)).unwrap_err();
    assert!(matches!(early, VerifyError::Future(_)), "{early:?}");
    assert_eq!(early.error_code(), "APIG.0303");
}

#[test]
fn a_changed_body_or_header_is_a_signature_mismatch() {
    let now = Utc::now();
    let headers = signed_headers(URL, now);
    assert_eq!(
        check(&headers, b"{}", now),
        Err(VerifyError::SignatureMismatch)
    );
    let mut changed = headers.clone();
    changed.insert("content-type", "text/plain".parse().unwrap());
    assert_eq!(
        check(&changed, BODY, now),
        Err(VerifyError::SignatureMismatch)
    );
    assert_eq!(VerifyError::SignatureMismatch.error_code(), "APIG.0301");
}

/// Headers of a POST signed with any key pair, as a server would receive them.
fn headers_signed_by(key: &str, secret: &str, now: DateTime<Utc>) -> http::HeaderMap {
    let mut request = SigningRequest::from_url("POST", URL, vec![]);
    sign(&mut request, BODY, &AppCredentials::new(key, secret), now).unwrap();
    request
        .headers
        .iter()
        .map(|(n, v)| {
            (
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_wrong_secret_is_a_signature_mismatch() {
    let now = Utc::now();
    let headers = headers_signed_by("app-key", "wrong", now);
    assert_eq!(
        check(&headers, BODY, now),
        Err(VerifyError::SignatureMismatch)
    );
}

#[test]
fn an_unknown_key_is_named() {
    let now = Utc::now();
    let headers = headers_signed_by("stranger", "x", now);
    assert_eq!(
        check(&headers, BODY, now),
        Err(VerifyError::UnknownKey("stranger".into()))
    );
}

#[test]
fn a_listed_header_that_is_missing_is_named() {
    let now = Utc::now();
    let mut headers = signed_headers(URL, now);
    headers.remove("content-type");
    assert_eq!(
        check(&headers, BODY, now),
        Err(VerifyError::MissingSignedHeader("content-type".into()))
    );
}

#[test]
fn malformed_or_missing_authorization_and_date_are_told_apart() {
    let now = Utc::now();
    let mut headers = signed_headers(URL, now);
    headers.remove("authorization");
    assert_eq!(
        check(&headers, BODY, now),
        Err(VerifyError::MissingAuthorization)
    );
    headers.insert("authorization", "Basic Zm9vOmJhcg==".parse().unwrap());
    assert!(matches!(
        check(&headers, BODY, now),
        Err(VerifyError::MalformedAuthorization(_))
    ));

    let mut headers = signed_headers(URL, now);
    headers.remove("x-sdk-date");
    assert_eq!(check(&headers, BODY, now), Err(VerifyError::MissingDate));
    headers.insert("x-sdk-date", "2024-01-15 09:30".parse().unwrap());
    assert!(matches!(
        check(&headers, BODY, now),
        Err(VerifyError::InvalidDate(_))
    ));
}

#[test]
fn the_401_body_says_why_without_the_secret() {
    let body = VerifyError::UnknownKey("k".into()).to_json("req-1");
    assert_eq!(body["error_code"], "APIG.0301");
    assert_eq!(body["request_id"], "req-1");
    let message = body["error_msg"].as_str().unwrap();
    assert!(
        message.starts_with("Incorrect app authentication information: "),
        "{message}"
    );
    assert!(message.contains("unknown access key"));
}
