//! Server-side verification of SDK-HMAC-SHA256 (the embedded DataSpace, and the gateway when
//! inbound keys are configured). Each failed check has its own error so a 401 can say why.

use super::canonical::{self, ALGORITHM, CanonicalInput};
use super::signer::parse_sdk_date;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// How far `X-Sdk-Date` may be from the server clock, either way.
pub const CLOCK_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// Access keys and their secrets.
#[derive(Clone, Default)]
pub struct KeyRing {
    secrets: HashMap<String, SecretString>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.secrets.keys()).finish()
    }
}

impl KeyRing {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, key: impl Into<String>, secret: impl Into<String>) -> Self {
        self.insert(key, secret);
        self
    }

    pub fn insert(&mut self, key: impl Into<String>, secret: impl Into<String>) {
        self.secrets
            .insert(key.into(), SecretString::from(secret.into()));
    }

    /// Parses `key:secret` pairs separated by commas (the `[auth] app_keys` format).
    pub fn parse(pairs: &str) -> Result<Self, String> {
        let mut ring = Self::new();
        for pair in pairs
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            match pair.split_once(':') {
                Some((key, secret)) if !key.trim().is_empty() && !secret.trim().is_empty() => {
                    ring.insert(key.trim(), secret.trim());
                }
                _ => {
                    return Err(format!(
                        "expected key:secret, got an entry without both ({})",
                        redact(pair)
                    ));
                }
            }
        }
        if ring.is_empty() {
            return Err("no key:secret pair given".into());
        }
        Ok(ring)
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    fn secret(&self, key: &str) -> Option<&str> {
        self.secrets.get(key).map(|secret| secret.expose_secret())
    }
}

fn redact(pair: &str) -> String {
    pair.split_once(':')
        .map_or_else(|| format!("{pair:?}"), |(key, _)| format!("{key:?}:***"))
}

/// Which check a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the Authorization header is missing")]
    MissingAuthorization,
    #[error("the Authorization header is malformed: {0}")]
    MalformedAuthorization(&'static str),
    #[error("unknown access key {0:?}")]
    UnknownKey(String),
    #[error("signed header {0:?} is not in the request")]
    MissingSignedHeader(String),
    #[error("the X-Sdk-Date header is missing")]
    MissingDate,
    #[error("X-Sdk-Date {0:?} is not in the format YYYYMMDDTHHMMSSZ")]
    InvalidDate(String),
    #[error("X-Sdk-Date {0} is more than 15 minutes in the past")]
    Expired(String),
    #[error("X-Sdk-Date {0} is more than 15 minutes in the future")]
    Future(String),
    #[error("the signature does not match")]
    SignatureMismatch,
}

impl VerifyError {
    /// The gateway's error code: `APIG.0303` for a date out of the window, else `APIG.0301`.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::Expired(_) | Self::Future(_) => "APIG.0303",
            _ => "APIG.0301",
        }
    }

    /// The 401 body in the gateway's style.
    pub fn to_json(&self, request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "error_code": self.error_code(),
            "error_msg": format!("Incorrect app authentication information: {self}"),
            "request_id": request_id,
        })
    }
}

/// A received request, as the verifier needs it.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub raw_path: &'a str,
    /// The query exactly as received, without `?`.
    pub raw_query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

impl<'a> InboundRequest<'a> {
    /// The request as an HTTP server received it.
    pub fn new(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Self {
            method: method.as_str(),
            raw_path: uri.path(),
            raw_query: uri.query().unwrap_or(""),
            headers,
            body,
        }
    }
}

/// The three fields of an `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizationFields<'a> {
    pub access: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// Parses `SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`.
pub fn parse_authorization(value: &str) -> Result<AuthorizationFields<'_>, VerifyError> {
    use VerifyError::MalformedAuthorization as Malformed;
    let rest = value
        .strip_prefix(ALGORITHM)
        .ok_or(Malformed("it does not start with SDK-HMAC-SHA256"))?;
    if !rest.starts_with(char::is_whitespace) {
        return Err(Malformed("expected white space after SDK-HMAC-SHA256"));
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (name, field_value) = field
            .trim()
            .split_once('=')
            .ok_or(Malformed("each field must be name=value"))?;
        let slot = match name {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => {
                return Err(Malformed(
                    "unknown field (expected Access, SignedHeaders, Signature)",
                ));
            }
        };
        if slot.replace(field_value).is_some() {
            return Err(Malformed("a field appears twice"));
        }
    }
    let access = access
        .filter(|v| !v.is_empty())
        .ok_or(Malformed("Access is missing"))?;
    let signed = signed
        .filter(|v| !v.is_empty())
        .ok_or(Malformed("SignedHeaders is missing"))?;
    let signature = signature
        .filter(|v| !v.is_empty())
        .ok_or(Malformed("Signature is missing"))?;
    Ok(AuthorizationFields {
        access,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// Verifies a request's signature; on success returns the access key that signed it.
pub fn verify(
    request: &InboundRequest<'_>,
    keys: &KeyRing,
    now: DateTime<Utc>,
) -> Result<String, VerifyError> {
    let authorization = request
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or(VerifyError::MissingAuthorization)?
        .to_str()
        .map_err(|_| VerifyError::MalformedAuthorization("it is not ASCII"))?;
    let fields = parse_authorization(authorization)?;
    let secret = keys
        .secret(fields.access)
        .ok_or_else(|| VerifyError::UnknownKey(fields.access.to_owned()))?;

    let raw_date = header_text(request.headers, "x-sdk-date").ok_or(VerifyError::MissingDate)?;
    let date = parse_sdk_date(raw_date.trim())
        .ok_or_else(|| VerifyError::InvalidDate(raw_date.to_string()))?;
    if now - date > CLOCK_WINDOW {
        return Err(VerifyError::Expired(raw_date.to_string()));
    }
    if date - now > CLOCK_WINDOW {
        return Err(VerifyError::Future(raw_date.to_string()));
    }

    // Rebuild from the listed headers only, in the order listed.
    let mut values = Vec::with_capacity(fields.signed_headers.len());
    for name in &fields.signed_headers {
        let value = header_text(request.headers, name)
            .ok_or_else(|| VerifyError::MissingSignedHeader((*name).to_owned()))?;
        values.push(value);
    }
    let headers: Vec<(&str, &str)> = fields
        .signed_headers
        .iter()
        .copied()
        .zip(values.iter().map(|value| value.as_ref()))
        .collect();
    let signed_names: Vec<String> = fields
        .signed_headers
        .iter()
        .map(|name| name.to_string())
        .collect();
    let canonical_request = canonical::canonical_request(
        &CanonicalInput {
            method: request.method,
            raw_path: request.raw_path,
            raw_query: request.raw_query,
            headers: &headers,
            body: request.body,
        },
        &signed_names,
    );
    let string_to_sign =
        canonical::string_to_sign(&super::signer::format_sdk_date(date), &canonical_request);
    let expected = hex::encode(canonical::signature_bytes(secret, &string_to_sign));
    let given = fields.signature.to_ascii_lowercase();
    if expected.as_bytes().ct_eq(given.as_bytes()).into() {
        Ok(fields.access.to_owned())
    } else {
        Err(VerifyError::SignatureMismatch)
    }
}

/// A header's value as text; bytes that are not UTF-8 are replaced rather than rejected, so
/// the mismatch shows up as a signature mismatch instead of a confusing parse error.
fn header_text<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_fields() {
        let fields = parse_authorization(
            "SDK-HMAC-SHA256 Access=k, SignedHeaders=host;x-sdk-date, Signature=ab",
        )
        .unwrap();
        assert_eq!(
            fields,
            AuthorizationFields {
                access: "k",
                signed_headers: vec!["host", "x-sdk-date"],
                signature: "ab"
            }
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "Bearer x",
            "SDK-HMAC-SHA256Access=k, SignedHeaders=h, Signature=s",
            "SDK-HMAC-SHA256 Access=k, SignedHeaders=h",
            "SDK-HMAC-SHA256 Access=k, Access=j, SignedHeaders=h, Signature=s",
            "SDK-HMAC-SHA256 Access=k, SignedHeaders=h, Signature=s, Extra=1",
        ] {
            assert!(
                matches!(
                    parse_authorization(bad),
                    Err(VerifyError::MalformedAuthorization(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn key_ring_parses_pairs_and_hides_secrets() {
        let ring = KeyRing::parse("a:1, b:2").unwrap();
        assert_eq!(ring.secret("b"), Some("2"));
        assert!(!format!("{ring:?}").contains('2'));
        assert!(KeyRing::parse("a").unwrap_err().contains("key:secret"));
        assert!(KeyRing::parse("").is_err());
    }
}
