//! The GraphQL door's routes: `POST /graphql`, and `GET /graphql` (a WebSocket upgrade, the
//! GraphiQL page for a browser, or a query). Generic over the application's state, which only
//! has to provide an [`ApiState`], so nothing here imports upward.

use super::graphiql::{self, GraphiqlPage};
use super::{ApiSchema, http, signature, ws};
use crate::apig::KeyRing;
use crate::request_id;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::post;
use std::sync::Arc;

/// What the GraphQL door needs of the application's state.
#[derive(Clone)]
pub struct ApiState {
    pub schema: ApiSchema,
    /// Keys callers must sign with; `None` leaves the API open.
    pub inbound_keys: Option<Arc<KeyRing>>,
    /// The page a browser gets on `GET /graphql`; `None` when `[graphql] graphiql` is off.
    pub graphiql: Option<Arc<GraphiqlPage>>,
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ApiState: FromRef<S>,
{
    Router::new().route("/graphql", post(graphql_post).get(graphql_get))
}

async fn graphql_post(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Ok(bytes) = &body
        && let Err(response) = signature::check(
            state.inbound_keys.as_deref(),
            &method,
            &uri,
            &headers,
            bytes,
        )
    {
        return response;
    }
    http::post(&state.schema, &headers, body, &request_id::of(&headers)).await
}

async fn graphql_get(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    websocket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Some(page) = &state.graphiql
        && graphiql::wants_graphiql(&method, &headers, uri.query())
    {
        return page.response();
    }
    if let Err(response) =
        signature::check(state.inbound_keys.as_deref(), &method, &uri, &headers, &[])
    {
        return response;
    }
    let request_id = request_id::of(&headers);
    match websocket {
        Ok(upgrade) => ws::upgrade(&state.schema, upgrade, &headers, &request_id),
        Err(_) => {
            http::get(
                &state.schema,
                &headers,
                uri.query().unwrap_or(""),
                &request_id,
            )
            .await
        }
    }
}
