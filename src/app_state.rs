//! The state every door's handlers share, in its own module so that the doors and the wiring
//! ([`crate::server`]) both import it downward. A door that needs only part of it names a
//! sub-state of its own (the GraphQL door's [`ApiState`]), built here by `FromRef`.

use crate::api::graphiql::GraphiqlPage;
use crate::api::{ApiSchema, ApiState};
use crate::apig::KeyRing;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::service::LogbotService;
use axum::extract::FromRef;
use std::sync::Arc;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub schema: ApiSchema,
    pub service: Arc<LogbotService>,
    pub metrics: Metrics,
    /// Keys callers must sign with; `None` leaves the API open.
    pub inbound_keys: Option<Arc<KeyRing>>,
    /// The page a browser gets on `GET /graphql`; `None` when `[graphql] graphiql` is off.
    pub graphiql: Option<Arc<GraphiqlPage>>,
}

impl FromRef<AppState> for ApiState {
    fn from_ref(state: &AppState) -> Self {
        ApiState {
            schema: state.schema.clone(),
            inbound_keys: state.inbound_keys.clone(),
            graphiql: state.graphiql.clone(),
        }
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
