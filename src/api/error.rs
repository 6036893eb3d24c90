//! Service errors as GraphQL errors: a stable `extensions.code`, the field at fault, and for
//! internal errors a message naming only the request id (the details go to the log, not to the
//! caller). The transport names the request id in every error's `extensions.requestId`
//! (`request_id::name_in_server_errors`, where an answer is encoded).

use crate::service::ServiceError;
use async_graphql::ErrorExtensions;

/// The id of the HTTP request being served, put into the GraphQL context by the transport.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub fn to_graphql(error: ServiceError, request_id: Option<&RequestId>) -> async_graphql::Error {
    let code = error.code();
    let field = error.field().map(str::to_owned);
    let request_id = request_id.map(|id| id.0.clone()).unwrap_or_default();
    let message = match &error {
        ServiceError::Internal(details) => {
            tracing::error!(%details, %request_id, "internal error");
            format!("internal error (request id {request_id})")
        }
        other => other.to_string(),
    };
    async_graphql::Error::new(message).extend_with(move |_, extensions| {
        extensions.set("code", code);
        if let Some(field) = &field {
            extensions.set("field", field.as_str());
        }
        if code == "INTERNAL_SERVER_ERROR" || code == crate::service::UNAVAILABLE_CODE {
            extensions.set("requestId", request_id.as_str());
        }
    })
}

/// An input error detected in the API layer itself.
pub fn bad_input(field: &str, message: impl std::fmt::Display) -> async_graphql::Error {
    to_graphql(ServiceError::invalid(field, message), None)
}

/// Maps a service result inside a resolver.
pub trait IntoGraphql<T> {
    fn graphql(self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<T>;
}

impl<T> IntoGraphql<T> for Result<T, ServiceError> {
    fn graphql(self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<T> {
        self.map_err(|error| to_graphql(error, ctx.data_opt::<RequestId>()))
    }
}
