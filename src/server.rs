//! Wiring: builds the gateway from settings (starting the embedded DataSpace when no URL is
//! configured), serves the routes, and shuts down gracefully.

use crate::api::graphiql::GraphiqlPage;
use crate::api::{self, ApiSchema, SchemaLimits};
use crate::apig::{AppCredentials, InboundRequest, KeyRing, verify};
use crate::bus::Bus;
use crate::config::Settings;
use crate::dataspace::{ClientSettings, DataSpaceClient};
use crate::domain::registration::RegistrationPolicy;
use crate::embedded_dataspace::{LocalDataSpace, LocalOptions, RunningDataSpace};
use crate::function::{self, FunctionContext, FunctionRequest};
use crate::metrics::Metrics;
use crate::service::LogbotService;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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

/// A built gateway: its router, and the embedded DataSpace it owns (if any).
pub struct Gateway {
    pub state: AppState,
    pub router: Router,
    pub embedded: Option<RunningDataSpace>,
}

impl Gateway {
    /// Builds the gateway. With no DataSpace URL, starts the embedded local DataSpace on a
    /// loopback port with a key pair generated for this process, and talks to it signed.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let (client_settings, embedded) = match &settings.dataspace.url {
            Some(url) => {
                let key = settings.dataspace.app_key.clone().unwrap_or_default();
                let secret = settings
                    .dataspace
                    .app_secret
                    .as_ref()
                    .map(|secret| secrecy::ExposeSecret::expose_secret(secret).to_owned())
                    .unwrap_or_default();
                (
                    client_settings(settings, url.to_string(), AppCredentials::new(key, secret)),
                    None,
                )
            }
            None => {
                let key = uuid::Uuid::new_v4().to_string();
                let secret = uuid::Uuid::new_v4().to_string();
                let running = LocalDataSpace::start(LocalOptions {
                    listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                    db_path: settings.dataspace.data_dir.join("dataspace.sqlite"),
                    keys: KeyRing::new().with(key.clone(), secret.clone()),
                    reads: settings.limits.dataspace_reads,
                })
                .await?;
                tracing::info!(url = %running.url, data_dir = %settings.dataspace.data_dir.display(), "embedded local DataSpace started");
                (
                    client_settings(
                        settings,
                        running.url.clone(),
                        AppCredentials::new(key, secret),
                    ),
                    Some(running),
                )
            }
        };
        let client = DataSpaceClient::new(client_settings)?.with_metrics(metrics.clone());
        let service = Arc::new(LogbotService::new(
            client,
            RegistrationPolicy {
                admins: settings.bots.admins.clone(),
                max_bots_per_admin: settings.bots.max_bots_per_admin,
            },
            crate::service::ServiceLimits::from_settings(&settings.limits),
            metrics.clone(),
            Bus::from_settings(&settings.bus).await?,
        ));
        let introspection = settings.graphql.introspection.unwrap_or(embedded.is_some());
        let schema = api::build_schema(
            service.clone(),
            SchemaLimits::from_settings(&settings.limits, introspection),
        );
        if settings.auth.app_keys.is_none() {
            tracing::warn!(
                "[auth] app_keys is not set: the API is open to anyone who can reach it"
            );
        }
        let state = AppState {
            settings: Arc::new(settings.clone()),
            schema,
            service,
            metrics,
            inbound_keys: settings.auth.app_keys.clone().map(Arc::new),
            graphiql: settings
                .graphql
                .graphiql
                .then(|| Arc::new(GraphiqlPage::new(&settings.graphql.graphiql_assets_url))),
        };
        Ok(Self {
            router: router(state.clone()),
            state,
            embedded,
        })
    }
}

fn client_settings(
    settings: &Settings,
    url: String,
    credentials: AppCredentials,
) -> ClientSettings {
    ClientSettings {
        url,
        credentials,
        timeout: settings.dataspace.timeout,
        retries: settings.dataspace.retries,
    }
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.limits.body_bytes;
    Router::new()
        .route("/graphql", post(graphql_post).get(graphql_get))
        .route("/", post(function_root))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(crate::outage::readyz))
        .route("/metrics", get(metrics))
        .merge(crate::compat::routes())
        .merge(crate::telegram::routes(&state))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::outage::retry_after,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// A panic in a handler is a bug on our side: log it, answer a masked 500 (the request id is
/// added by [`observe`]), and keep serving.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %message, "handler panicked");
    let body = serde_json::json!({"errors": [{
        "message": "internal error",
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }]});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// Adds a request id and records metrics for every request.
async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    // The caller's id when it is usable, else a new one; handlers read it from the header.
    let given = request
        .headers()
        .get(function::REQUEST_ID_HEADER)
        .filter(|value| {
            value
                .to_str()
                .is_ok_and(|id| !id.is_empty() && id.len() <= 128)
        })
        .cloned();
    let id_header = match given {
        Some(value) => value,
        None => {
            let value = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value");
            request
                .headers_mut()
                .insert(function::REQUEST_ID_HEADER, value.clone());
            value
        }
    };
    let request_id = id_header.to_str().unwrap_or_default().to_owned();
    let span =
        tracing::info_span!("request", %request_id, method = %request.method(), route = %route);
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    state
        .metrics
        .observe_http(&route, response.status().as_u16(), started.elapsed());
    response
        .headers_mut()
        .insert(function::REQUEST_ID_HEADER, id_header);
    response
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(function::REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// When inbound keys are configured, the request must carry a valid APIG signature.
#[allow(clippy::result_large_err)] // the error is the finished 401 response
fn check_signature(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Response> {
    let Some(keys) = &state.inbound_keys else {
        return Ok(());
    };
    verify(
        &InboundRequest::new(method, uri, headers, body),
        keys,
        chrono::Utc::now(),
    )
    .map(|_| ())
    .map_err(|error| {
        tracing::info!(%error, "rejected request signature");
        (
            StatusCode::UNAUTHORIZED,
            Json(error.to_json(&request_id(headers))),
        )
            .into_response()
    })
}

async fn graphql_post(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Ok(bytes) = &body
        && let Err(response) = check_signature(&state, &method, &uri, &headers, bytes)
    {
        return response;
    }
    api::http::post(&state.schema, &headers, body, &request_id(&headers)).await
}

/// `GET /graphql`: a WebSocket upgrade, the GraphiQL page for a browser, or a query.
async fn graphql_get(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    websocket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Some(page) = &state.graphiql
        && api::graphiql::wants_graphiql(&method, &headers, uri.query())
    {
        return page.response();
    }
    if let Err(response) = check_signature(&state, &method, &uri, &headers, &[]) {
        return response;
    }
    match websocket {
        Ok(upgrade) => api::ws::upgrade(&state.schema, upgrade, &headers, &request_id(&headers)),
        Err(_) => {
            api::http::get(
                &state.schema,
                &headers,
                uri.query().unwrap_or(""),
                &request_id(&headers),
            )
            .await
        }
    }
}

/// `POST /`: the function container's entry, adapted to [`function::handle`].
async fn function_root(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = check_signature(&state, &method, &uri, &headers, &body) {
        return response;
    }
    let mut function_headers = headers;
    for (name, value) in [
        (function::METHOD_HEADER, method.as_str()),
        (function::PATH_HEADER, uri.path()),
        (function::QUERY_HEADER, uri.query().unwrap_or("")),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            function_headers.insert(name, value);
        }
    }
    let context = FunctionContext {
        settings: &state.settings,
        schema: &state.schema,
        service: &state.service,
    };
    let response = function::handle(
        &context,
        FunctionRequest {
            payload: body,
            headers: function_headers,
        },
    )
    .await;
    (response.status, response.headers, response.payload).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// A gateway serving on a bound listener.
pub struct RunningGateway {
    pub addr: SocketAddr,
    /// `http://ADDR`
    pub base_url: String,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    embedded: Option<RunningDataSpace>,
    delivery: Option<crate::delivery::DeliveryHandle>,
    telegram: Option<crate::telegram::poller::Supervisor>,
}

impl RunningGateway {
    /// Serves `gateway` on `listener` until [`RunningGateway::stop`].
    pub fn serve(gateway: Gateway, listener: TcpListener) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let router = gateway.router;
        let settings = &gateway.state.settings;
        let limits = crate::http_server::ServerLimits::from_settings(settings);
        let task = tokio::spawn(crate::http_server::serve(listener, router, limits, async {
            let _ = stopped.await;
        }));
        let delivery = if settings.delivery.worker {
            let wake = gateway.state.service.delivery_wake();
            Some(crate::delivery::start(
                gateway.state.service.client().clone(),
                &settings.delivery,
                &gateway.state.metrics,
                Some(wake),
            )?)
        } else {
            None
        };
        Ok(Self {
            addr,
            base_url: format!("http://{addr}"),
            telegram: crate::telegram::start(&gateway.state),
            state: gateway.state,
            shutdown: Some(shutdown),
            task,
            embedded: gateway.embedded,
            delivery,
        })
    }

    /// Stops accepting requests, lets in-flight ones finish (for at most `[server]
    /// shutdown_grace_ms`), lets the delivery worker finish the sends in progress, then stops
    /// the embedded DataSpace; those two get another grace between them, so a stuck request
    /// or send cannot keep the process from exiting.
    pub async fn stop(mut self) {
        let grace = self.state.settings.server.shutdown_grace;
        self.state.schema.close_websockets();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
        let (telegram, delivery, embedded) = (
            self.telegram.take(),
            self.delivery.take(),
            self.embedded.take(),
        );
        let rest = async move {
            if let Some(telegram) = telegram {
                telegram.stop().await;
            }
            if let Some(delivery) = delivery {
                delivery.stop().await;
            }
            if let Some(embedded) = embedded {
                embedded.stop().await;
            }
        };
        if tokio::time::timeout(grace, rest).await.is_err() {
            tracing::warn!(
                "the Telegram door, the delivery worker or the embedded DataSpace did not stop in the shutdown grace"
            );
        }
    }
}

/// Builds and serves on `host:port` from the settings until SIGTERM or Ctrl-C.
pub async fn run(
    settings: Settings,
    shutdown_signal: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let gateway = Gateway::build(&settings).await?;
    let addr = SocketAddr::new(settings.server.host, settings.server.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {addr}: {error}"))?;
    let running = RunningGateway::serve(gateway, listener)?;
    let _long_poll = crate::compat::vk::spawn_long_poll(&running.state);
    tracing::info!(addr = %running.addr, "logbot-gateway serving GraphQL on http://{}/graphql", running.addr);
    shutdown_signal.await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}
