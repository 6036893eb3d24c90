//! What a use case can answer besides success. Each variant has a stable code that the API
//! layer exposes as `extensions.code`; messages name the field or object involved.

use crate::dataspace::DataSpaceError;
use crate::domain::FieldError;

/// The `extensions.code` of [`ServiceError::Unavailable`]: the GraphQL doors answer a response
/// carrying it with HTTP 503 (the request may not have been stored; try again).
pub const UNAVAILABLE_CODE: &str = "DATASPACE_UNAVAILABLE";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The caller's input is wrong; `field` names which part.
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("{what} {name:?} does not exist")]
    NotFound { what: &'static str, name: String },
    #[error("{message}")]
    AlreadyExists { field: String, message: String },
    #[error("{0}")]
    Forbidden(String),
    /// Registration refused: the caller is not on the admin list. Its own variant so that
    /// the chat reply is chosen by type, not by the words.
    #[error("{0}")]
    NotAnAdmin(String),
    #[error("{0}")]
    LimitReached(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("DataSpace is unavailable, try again later")]
    Unavailable,
    /// Someone else is doing the same thing right now (a registration for the same admin).
    #[error("{0}")]
    Busy(String),
    /// Something on our side; the message is logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "BAD_USER_INPUT",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::AlreadyExists { .. } => "ALREADY_EXISTS",
            Self::Forbidden(_) | Self::NotAnAdmin(_) => "FORBIDDEN",
            Self::LimitReached(_) => "LIMIT_REACHED",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Unavailable => UNAVAILABLE_CODE,
            Self::Busy(_) => "BUSY",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The HTTP status the non-GraphQL doors answer with.
    pub fn http_status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::InvalidInput { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::AlreadyExists { .. } => StatusCode::CONFLICT,
            Self::Forbidden(_) | Self::NotAnAdmin(_) | Self::LimitReached(_) => {
                StatusCode::FORBIDDEN
            }
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Unavailable | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The input field the error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidInput { field, .. } | Self::AlreadyExists { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A domain check that refused the caller's input.
impl From<FieldError> for ServiceError {
    fn from(error: FieldError) -> Self {
        Self::invalid(error.field(), error.problem())
    }
}

impl From<DataSpaceError> for ServiceError {
    fn from(error: DataSpaceError) -> Self {
        match error {
            DataSpaceError::Unavailable { message, .. } => {
                tracing::warn!(%message, "DataSpace unavailable");
                Self::Unavailable
            }
            other => Self::Internal(other.to_string()),
        }
    }
}
