//! What a DataSpace call can end in, and how HTTP statuses, transport failures and GraphQL
//! errors map onto it.

use http::StatusCode;

/// A failed DataSpace call. Every variant carries the server's (or transport's) message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataSpaceError {
    /// `OBJECT_NOT_FOUND`: the object an operation names does not exist.
    #[error("DataSpace object not found: {0}")]
    NotFound(String),
    /// `UNIQUE_VIOLATION`: a unique field (bot name, username) is taken.
    #[error("DataSpace unique violation: {0}")]
    UniqueViolation(String),
    /// `AGGREGATE_VERSION_EXCEPTION`: the object changed since the version the caller read.
    #[error("DataSpace version conflict: {0}")]
    VersionConflict(String),
    /// HTTP 401/403: the APIG gateway refused the signature; holds its `error_msg`.
    #[error("DataSpace refused the credentials: {0}")]
    Unauthorized(String),
    /// DataSpace could not be reached or failed on its side. `transient` says whether trying
    /// again may help (connection refused, timeouts, 429, 502, 503, 504).
    #[error("DataSpace unavailable: {message}")]
    Unavailable { message: String, transient: bool },
    /// The request was rejected (`VALIDATION`, an unknown classification, a malformed answer).
    #[error("invalid DataSpace request: {0}")]
    Invalid(String),
}

impl DataSpaceError {
    /// Whether the same call may succeed if repeated (only for operations safe to repeat).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            DataSpaceError::Unavailable {
                transient: true,
                ..
            }
        )
    }

    /// A short fixed word for the kind of failure (a bounded metrics label).
    pub fn kind(&self) -> &'static str {
        match self {
            DataSpaceError::NotFound(_) => "not_found",
            DataSpaceError::UniqueViolation(_) => "unique_violation",
            DataSpaceError::VersionConflict(_) => "version_conflict",
            DataSpaceError::Unauthorized(_) => "unauthorized",
            DataSpaceError::Unavailable { .. } => "unavailable",
            DataSpaceError::Invalid(_) => "invalid",
        }
    }

    /// The message carried by any variant.
    pub fn message(&self) -> &str {
        match self {
            DataSpaceError::NotFound(message)
            | DataSpaceError::UniqueViolation(message)
            | DataSpaceError::VersionConflict(message)
            | DataSpaceError::Unauthorized(message)
            | DataSpaceError::Invalid(message)
            | DataSpaceError::Unavailable { message, .. } => message,
        }
    }

    pub(crate) fn unavailable(message: impl Into<String>, transient: bool) -> Self {
        DataSpaceError::Unavailable {
            message: message.into(),
            transient,
        }
    }

    /// Maps a transport-level failure. Anything that did not produce an HTTP answer (refused
    /// connection, timeout, reset while reading) is transient; a failure to sign is not.
    pub fn from_transport(error: &reqwest_middleware::Error) -> Self {
        match error {
            reqwest_middleware::Error::Middleware(error) => {
                DataSpaceError::Invalid(format!("the request could not be signed: {error:#}"))
            }
            reqwest_middleware::Error::Reqwest(error) if error.is_builder() => {
                DataSpaceError::Invalid(format!("the request could not be built: {error}"))
            }
            reqwest_middleware::Error::Reqwest(error) => {
                let kind = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "connection failed"
                } else {
                    "transport error"
                };
                DataSpaceError::unavailable(format!("{kind}: {}", error_chain(error)), true)
            }
        }
    }

    /// Maps an HTTP answer that is not a GraphQL result: `None` for statuses whose body should
    /// be read as a GraphQL response (2xx, and 4xx other than 401/403/429, since servers answer
    /// validation errors with 400 and a GraphQL body).
    pub fn from_status(status: StatusCode, body: &[u8]) -> Option<Self> {
        let text = || body_message(body);
        match status.as_u16() {
            401 | 403 => Some(DataSpaceError::Unauthorized(apig_error_msg(body))),
            429 | 502 | 503 | 504 => Some(DataSpaceError::unavailable(
                format!("HTTP {status}: {}", text()),
                true,
            )),
            500..=599 => Some(DataSpaceError::unavailable(
                format!("HTTP {status}: {}", text()),
                false,
            )),
            _ => None,
        }
    }

    /// Maps the first GraphQL error by its `extensions.classification`.
    pub fn from_graphql(errors: &[graphql_client::Error]) -> Self {
        let Some(first) = errors.first() else {
            return DataSpaceError::Invalid("the response has an empty error list".into());
        };
        let mut message = first.message.clone();
        if errors.len() > 1 {
            message.push_str(&format!(" (and {} more errors)", errors.len() - 1));
        }
        let classification = first
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("classification"))
            .and_then(|value| value.as_str());
        Self::classified(classification, message)
    }

    /// Maps an error by DataSpace's `extensions.classification`.
    pub(crate) fn classified(classification: Option<&str>, message: String) -> Self {
        match classification {
            Some("OBJECT_NOT_FOUND") => DataSpaceError::NotFound(message),
            Some("UNIQUE_VIOLATION") => DataSpaceError::UniqueViolation(message),
            Some("AGGREGATE_VERSION_EXCEPTION") => DataSpaceError::VersionConflict(message),
            _ => DataSpaceError::Invalid(message),
        }
    }
}

/// A refusal of a direct call (`super::direct`), classified as its GraphQL error would be.
impl From<super::direct::Refusal> for DataSpaceError {
    fn from(refusal: super::direct::Refusal) -> Self {
        Self::classified(Some(refusal.classification), refusal.message)
    }
}

/// The `error_msg` of an APIG error body, or the body itself when it is not one.
fn apig_error_msg(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("error_msg")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body_message(body))
}

/// The body as text, shortened so a large error page does not flood logs.
fn body_message(body: &[u8]) -> String {
    const LIMIT: usize = 512;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// reqwest's own Display stops at "error sending request"; the cause (refused, reset) is below.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn graphql_error(message: &str, classification: Option<&str>) -> graphql_client::Error {
        graphql_client::Error {
            message: message.into(),
            locations: None,
            path: None,
            extensions: classification.map(|value| {
                HashMap::from([("classification".to_owned(), serde_json::json!(value))])
            }),
        }
    }

    #[test]
    fn classifications_map_to_variants() {
        let map =
            |classification| DataSpaceError::from_graphql(&[graphql_error("m", classification)]);
        assert_eq!(
            map(Some("OBJECT_NOT_FOUND")),
            DataSpaceError::NotFound("m".into())
        );
        assert_eq!(
            map(Some("UNIQUE_VIOLATION")),
            DataSpaceError::UniqueViolation("m".into())
        );
        assert_eq!(
            map(Some("AGGREGATE_VERSION_EXCEPTION")),
            DataSpaceError::VersionConflict("m".into())
        );
        assert_eq!(map(Some("VALIDATION")), DataSpaceError::Invalid("m".into()));
        assert_eq!(
            map(Some("SOMETHING_NEW")),
            DataSpaceError::Invalid("m".into())
        );
        assert_eq!(map(None), DataSpaceError::Invalid("m".into()));
    }

    #[test]
    fn several_errors_keep_the_first_and_count_the_rest() {
        let error = DataSpaceError::from_graphql(&[
            graphql_error("first", Some("UNIQUE_VIOLATION")),
            graphql_error("second", None),
        ]);
        assert_eq!(
            error,
            DataSpaceError::UniqueViolation("first (and 1 more errors)".into())
        );
    }

    #[test]
    fn unauthorized_keeps_the_apig_error_msg() {
        let body = br#"{"error_code":"APIG.0301","error_msg":"Incorrect app authentication information: signature mismatch","request_id":"r1"}"#;
        assert_eq!(
            DataSpaceError::from_status(StatusCode::UNAUTHORIZED, body),
            Some(DataSpaceError::Unauthorized(
                "Incorrect app authentication information: signature mismatch".into()
            ))
        );
        assert_eq!(
            DataSpaceError::from_status(StatusCode::UNAUTHORIZED, b"no"),
            Some(DataSpaceError::Unauthorized("no".into()))
        );
    }

    #[test]
    fn gateway_statuses_are_transient_and_other_5xx_are_not() {
        for status in [429, 502, 503, 504] {
            let error = DataSpaceError::from_status(StatusCode::from_u16(status).unwrap(), b"busy")
                .unwrap();
            assert!(error.is_retryable(), "{status}: {error:?}");
            assert!(error.message().contains("busy"));
        }
        let error = DataSpaceError::from_status(StatusCode::INTERNAL_SERVER_ERROR, b"").unwrap();
        assert!(matches!(
            error,
            DataSpaceError::Unavailable {
                transient: false,
                ..
            }
        ));
        assert!(!error.is_retryable());
    }

    #[test]
    fn graphql_bearing_statuses_are_left_to_the_body() {
        for status in [200, 400, 404, 422] {
            assert_eq!(
                DataSpaceError::from_status(StatusCode::from_u16(status).unwrap(), b"{}"),
                None
            );
        }
    }

    #[test]
    fn only_transient_unavailability_is_retryable() {
        assert!(!DataSpaceError::NotFound("x".into()).is_retryable());
        assert!(!DataSpaceError::UniqueViolation("x".into()).is_retryable());
        assert!(!DataSpaceError::VersionConflict("x".into()).is_retryable());
        assert!(!DataSpaceError::Unauthorized("x".into()).is_retryable());
        assert!(!DataSpaceError::Invalid("x".into()).is_retryable());
        assert!(DataSpaceError::unavailable("x", true).is_retryable());
    }

    #[test]
    fn long_bodies_are_shortened() {
        let body = "x".repeat(5000);
        let error = DataSpaceError::from_status(StatusCode::BAD_GATEWAY, body.as_bytes()).unwrap();
        assert!(error.message().len() < 600, "{}", error.message().len());
    }
}
