//! Signing a request: adds `X-Sdk-Date`, `host` and `Authorization` exactly as the official
//! signer does, and returns the intermediate strings for diagnosis.

use super::canonical::{self, CanonicalInput, DATE_FORMAT};
use chrono::{DateTime, NaiveDateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

/// An App's key pair. The secret never appears in Debug output or logs.
#[derive(Clone)]
pub struct AppCredentials {
    pub key: String,
    pub secret: SecretString,
}

impl AppCredentials {
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: SecretString::from(secret.into()),
        }
    }
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("key", &self.key)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("X-Sdk-Date {0:?} is not in the format YYYYMMDDTHHMMSSZ")]
    InvalidDate(String),
    #[error("the request body is a stream; only a body held in memory can be signed")]
    StreamingBody,
}

/// A request about to be signed: its URL split as the reference splits it, and its headers in
/// order. Header names keep their case; comparisons are case-insensitive where the reference's are.
#[derive(Debug, Clone, Default)]
pub struct SigningRequest {
    pub method: String,
    /// The URL's authority, used as `host` when no Host header is given.
    pub host: String,
    /// The path as written in the URL (may be percent-encoded); `/` when absent.
    pub raw_path: String,
    /// The query as written in the URL, without `?`.
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
}

impl SigningRequest {
    /// Splits `url` the way the reference's `HttpRequest` does: scheme at `://`, query at the
    /// first `?`, authority up to the first `/`.
    pub fn from_url(method: &str, url: &str, headers: Vec<(String, String)>) -> Self {
        let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let (before_query, raw_query) = without_scheme
            .split_once('?')
            .unwrap_or((without_scheme, ""));
        let (host, raw_path) = match before_query.split_once('/') {
            Some((host, path)) => (host, format!("/{path}")),
            None => (before_query, "/".to_owned()),
        };
        Self {
            method: method.to_owned(),
            host: host.to_owned(),
            raw_path,
            raw_query: raw_query.to_owned(),
            headers,
        }
    }

    /// The first header with this name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Sets a header under exactly this name (replacing one of the same spelling), as a
    /// Python dict assignment does.
    pub fn set_header(&mut self, name: &str, value: String) {
        match self
            .headers
            .iter_mut()
            .find(|(candidate, _)| candidate == name)
        {
            Some(entry) => entry.1 = value,
            None => self.headers.push((name.to_owned(), value)),
        }
    }
}

/// What signing produced; the intermediate strings let a 401 be explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningTrace {
    pub sdk_date: String,
    pub signed_headers: String,
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
}

/// Formats a time as `X-Sdk-Date`.
pub fn format_sdk_date(time: DateTime<Utc>) -> String {
    time.format(DATE_FORMAT).to_string()
}

/// Parses an `X-Sdk-Date` value (UTC).
pub fn parse_sdk_date(value: &str) -> Option<DateTime<Utc>> {
    if value.len() != 16 {
        return None;
    }
    NaiveDateTime::parse_from_str(value, DATE_FORMAT)
        .ok()
        .map(|naive| naive.and_utc())
}

/// Signs `request` over `body`: adds `X-Sdk-Date` (unless present), `host` (unless a Host
/// header is present), trims every header value, and sets `Authorization`.
pub fn sign(
    request: &mut SigningRequest,
    body: &[u8],
    credentials: &AppCredentials,
    now: DateTime<Utc>,
) -> Result<SigningTrace, SignError> {
    let sdk_date = match request.header("x-sdk-date") {
        Some(given) => {
            let parsed = parse_sdk_date(given.trim())
                .ok_or_else(|| SignError::InvalidDate(given.to_owned()))?;
            format_sdk_date(parsed)
        }
        None => {
            let date = format_sdk_date(now);
            request
                .headers
                .push(("X-Sdk-Date".to_owned(), date.clone()));
            date
        }
    };
    if request.header("host").is_none() {
        let host = request.host.clone();
        request.headers.push(("host".to_owned(), host));
    }

    let borrowed: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let signed_names = canonical::signed_header_names(borrowed.iter().copied());
    let canonical_request = canonical::canonical_request(
        &CanonicalInput {
            method: &request.method,
            raw_path: &request.raw_path,
            raw_query: &request.raw_query,
            headers: &borrowed,
            body,
        },
        &signed_names,
    );
    let string_to_sign = canonical::string_to_sign(&sdk_date, &canonical_request);
    let signature = canonical::signature(credentials.secret.expose_secret(), &string_to_sign);
    let authorization =
        canonical::authorization_header(&credentials.key, &signed_names, &signature);
    drop(borrowed);

    // The reference leaves each header trimmed, and that is what goes on the wire.
    for (_, value) in &mut request.headers {
        let trimmed = canonical::trim_header_value(value);
        if trimmed.len() != value.len() {
            *value = trimmed.to_owned();
        }
    }
    request.set_header("Authorization", authorization.clone());

    Ok(SigningTrace {
        sdk_date,
        signed_headers: signed_names.join(";"),
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_split_like_the_reference() {
        let request = SigningRequest::from_url("GET", "https://h:8443?x=1", vec![]);
        assert_eq!(
            (
                request.host.as_str(),
                request.raw_path.as_str(),
                request.raw_query.as_str()
            ),
            ("h:8443", "/", "x=1")
        );
        let request = SigningRequest::from_url("GET", "h/a/b?c=d?e", vec![]);
        assert_eq!(
            (
                request.host.as_str(),
                request.raw_path.as_str(),
                request.raw_query.as_str()
            ),
            ("h", "/a/b", "c=d?e")
        );
    }

    #[test]
    fn a_given_date_is_kept_and_a_bad_one_refused() {
        let credentials = AppCredentials::new("k", "s");
        let mut request = SigningRequest::from_url(
            "GET",
            "http://h/",
            vec![("x-sdk-date".into(), "20240115T093000Z".into())],
        );
        let trace = sign(&mut request, b"", &credentials, Utc::now()).unwrap();
        assert_eq!(trace.sdk_date, "20240115T093000Z");
        let mut request = SigningRequest::from_url(
            "GET",
            "http://h/",
            vec![("X-Sdk-Date".into(), "yesterday".into())],
        );
        assert_eq!(
            sign(&mut request, b"", &credentials, Utc::now()),
            Err(SignError::InvalidDate("yesterday".into()))
        );
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        let credentials = AppCredentials::new("key", "super-secret");
        assert!(!format!("{credentials:?}").contains("super-secret"));
    }
}
