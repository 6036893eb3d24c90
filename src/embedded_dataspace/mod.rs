//! The embedded DataSpace: a stand-in for DataSpace that the gateway starts in-process when no
//! DataSpace URL is configured (and that the tests and benchmarks run against), or that runs
//! standalone (`logbot-gateway dataspace`). It keeps DataSpace's wire conventions (the SDL of
//! `schema.graphql`, `searchX` queries with `cond` filters and `@strExpr` placeholders,
//! `packet` mutations with `ref:<alias>`, aggregate versions and idempotent replay, errors
//! classified in `extensions.classification`) and refuses what the real one refuses, including
//! a request without a valid APIG signature.
//!
//! Parts:
//! - this module: the HTTP endpoint (signature check, document caps, body limit);
//! - [`schema`]: the GraphQL server, its types mirroring `schema.graphql` and its resolvers;
//! - [`cond`]: the `cond` filter language, lexed, parsed and translated to bound SQL;
//! - [`model`]: the classes as stored (columns, indexes, references);
//! - [`store`]: the SQLite store (packets as transactions, searches), with its
//!   [`readers`] pool and [`migrations`] of the on-disk schema.
//!
//! It is its own component: nothing here uses the DataSpace client ([`crate::dataspace`]) or
//! is used by it, except that [`direct`] implements the client's `DirectDataSpace` (the calls
//! it makes without a document when this runs in its process). What it shares with the rest of
//! the crate is the wire contract
//! (`schema.graphql`, checked by a test against [`served_sdl`]), the [`crate::apig`]
//! verifier, the GraphQL document checks of [`crate::graphql_document`] and the poison-free
//! lock of `crate::sync`.

pub mod cond;
pub mod direct;
pub mod in_process;
pub mod migrations;
pub mod model;
pub mod readers;
pub mod scalars;
pub mod schema;
pub mod store;

use crate::apig::{InboundRequest, KeyRing, verify};
use crate::graphql_document::{self, DocumentCaps};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
pub use readers::ReadLimits;
use schema::DataSpaceSchema;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
pub use store::{ContainsIndex, Durability};
use store::{Store, WriteSession};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Largest request body accepted (a batch of a few thousand records).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The document checks of this endpoint. Its callers are signed (the gateway's packets carry
/// a variable and an alias per record and delivery), so only what could hang or crash the
/// server is capped: nesting (async-graphql recurses over it) and fragment expansion
/// (async-graphql inlines every spread); the rest is bounded by the body limit.
const DOCUMENT_CAPS: DocumentCaps = DocumentCaps {
    nesting: 64,
    tokens: MAX_BODY_BYTES,
    operations: 1000,
    fragments: 1000,
    variables: MAX_BODY_BYTES,
    selections: 1_000_000,
};

/// How to run a local DataSpace.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    pub listen: SocketAddr,
    pub db_path: PathBuf,
    /// Keys whose signatures are accepted.
    pub keys: KeyRing,
    /// Read connections and the longest a read may run.
    pub reads: ReadLimits,
    /// `[dataspace] durability`: how the writer syncs its commits.
    pub durability: Durability,
    /// `[dataspace] contains_index`: whether `contains` has a trigram index.
    pub contains_index: ContainsIndex,
}

#[derive(Clone)]
struct AppState {
    schema: DataSpaceSchema,
    keys: Arc<KeyRing>,
}

/// A running local DataSpace.
pub struct RunningDataSpace {
    /// The GraphQL endpoint, `http://ADDR/graphql`.
    pub url: String,
    pub addr: SocketAddr,
    /// The same endpoint without TCP, for this process's own client.
    pub in_process: in_process::InProcess,
    /// The searches and packets of this process's own client, without a document.
    pub direct: direct::DirectCalls,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningDataSpace {
    /// Stops accepting requests and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (it runs until [`RunningDataSpace::stop`] or an error).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

pub struct LocalDataSpace;

impl LocalDataSpace {
    /// Opens the database and serves it on `options.listen` (port 0 picks a free port).
    pub async fn start(options: LocalOptions) -> anyhow::Result<RunningDataSpace> {
        let (db_path, reads, durability, contains_index) = (
            options.db_path.clone(),
            options.reads,
            options.durability,
            options.contains_index,
        );
        let store = tokio::task::spawn_blocking(move || {
            Store::open_with(&db_path, &reads, durability, contains_index)
        })
        .await?
        .map_err(|error| anyhow::anyhow!("cannot open {}: {error}", options.db_path.display()))?;
        let store = Arc::new(store);
        let direct = direct::DirectCalls::new(store.clone());
        let state = AppState {
            schema: schema::build_schema(store),
            keys: Arc::new(options.keys),
        };
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", options.listen))?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(state);
        let in_process = in_process::InProcess::new(app.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "local DataSpace stopped");
            }
        });
        tracing::info!(%addr, "local DataSpace listening");
        Ok(RunningDataSpace {
            url: format!("http://{addr}/graphql"),
            addr,
            in_process,
            direct,
            shutdown: Some(shutdown),
            task,
        })
    }
}

/// The SDL this server serves, for comparison with `schema.graphql`.
pub fn served_sdl() -> String {
    let store = Store::open(std::path::Path::new(":memory:"), &ReadLimits::default())
        .expect("an in-memory database opens");
    schema::build_schema(Arc::new(store)).sdl()
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", post(graphql))
        .route("/sdl", get(sdl))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn sdl(State(state): State<AppState>) -> String {
    state.schema.sdl()
}

async fn graphql(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // The gateway's request id when it sends one, so both logs name the same request.
    let request_id = headers
        .get(crate::request_id::HEADER)
        .filter(|value| crate::request_id::is_usable(value))
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return crate::request_id::body_rejection(&rejection, &request_id),
    };
    let inbound = InboundRequest::new(&method, &uri, &headers, &body);
    if let Err(error) = verify(&inbound, &state.keys, chrono::Utc::now()) {
        tracing::info!(%error, %request_id, "rejected unsigned or badly signed request");
        return (StatusCode::UNAUTHORIZED, Json(error.to_json(&request_id))).into_response();
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            let body = validation_errors(
                format!("the body is not a GraphQL request: {error}"),
                &request_id,
            );
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let operation = request.operation_name.as_deref().unwrap_or_default();
    tracing::debug!(%request_id, operation, "DataSpace request");
    if let Err(message) = check_document(&mut request) {
        return Json(validation_errors(message, &request_id)).into_response();
    }
    // The packets of a mutation share one transaction, committed before the answer (see
    // `store::session`): an answer never reports a packet that is not durable.
    let session = Arc::new(WriteSession::default());
    let mut response = state.schema.execute(request.data(session.clone())).await;
    if let Err(error) = session.commit().await {
        tracing::error!(%error, %request_id, "local DataSpace commit failed");
        let mut errors = vec![serde_json::json!({
            "message": format!("the transaction could not be committed: {error}"),
            "extensions": {"classification": "INTERNAL"},
        })];
        crate::request_id::name_in_errors(&mut errors, &request_id);
        let body = serde_json::json!({ "errors": errors });
        // 503: nothing was written, and a keyed packet may be sent again.
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    crate::request_id::name_in_server_errors(&mut response.errors, &request_id);
    Json(response).into_response()
}

/// Scans, parses (kept in the request) and expands the document before async-graphql
/// validates it. A document that does not parse is left to async-graphql to report.
fn check_document(request: &mut async_graphql::Request) -> Result<(), String> {
    graphql_document::scan(&request.query, &DOCUMENT_CAPS)
        .map_err(|refusal| refusal.message().to_owned())?;
    if let Ok(document) = request.parsed_query() {
        graphql_document::expand(document, &DOCUMENT_CAPS)
            .map_err(|refusal| refusal.message().to_owned())?;
    }
    Ok(())
}

/// A refused document's answer, naming the request id like every error of this endpoint.
fn validation_errors(message: String, request_id: &str) -> serde_json::Value {
    let mut errors = vec![serde_json::json!({
        "message": message,
        "extensions": {"classification": "VALIDATION"},
    })];
    crate::request_id::name_in_errors(&mut errors, request_id);
    serde_json::json!({ "errors": errors })
}
