//! Wiring: builds the gateway from settings (starting the embedded DataSpace when no URL is
//! configured), composes the doors' routes under the shared layers, serves them, and shuts
//! down gracefully.

use crate::api::graphiql::GraphiqlPage;
use crate::api::{self, SchemaLimits};
use crate::apig::{AppCredentials, KeyRing};
use crate::app_state::AppState;
use crate::bus::Bus;
use crate::config::Settings;
use crate::dataspace::{ClientSettings, DataSpaceClient};
use crate::domain::registration::RegistrationPolicy;
use crate::embedded_dataspace::{LocalDataSpace, LocalOptions, RunningDataSpace};
use crate::function;
use crate::metrics::Metrics;
use crate::request_id;
use crate::service::LogbotService;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// A built gateway: its router, and the embedded DataSpace it owns (if any).
pub struct Gateway {
    pub state: AppState,
    pub router: Router,
    pub embedded: Option<RunningDataSpace>,
}

impl Gateway {
    /// Builds the gateway. With no DataSpace URL, starts the embedded local DataSpace on a
    /// loopback port with a key pair generated for this process, and calls it signed, in process.
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
                    durability: settings.dataspace.durability,
                    contains_index: settings.dataspace.contains_index,
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
        // The embedded DataSpace is called in process; its port stays open for others.
        let transport = embedded.as_ref().map(|running| {
            std::sync::Arc::new(running.in_process.clone())
                as std::sync::Arc<dyn reqwest_middleware::Middleware>
        });
        let mut client = DataSpaceClient::with_transport(client_settings, transport)?
            .with_group_commit(settings.dataspace.group_commit)
            .with_metrics(metrics.clone());
        // Its searches and ingest packets go without a document (`embedded_dataspace::direct`).
        if let Some(running) = &embedded {
            client = client.with_direct(std::sync::Arc::new(running.direct.clone()));
        }
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

/// Every door's routes, with the layers they share.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.limits.body_bytes;
    let request_id_header = HeaderName::from_static(request_id::HEADER);
    // Outermost first: the request id exists before anything logs, measures or answers.
    let layers = ServiceBuilder::new()
        .layer(middleware::map_request(request_id::discard_unusable))
        .layer(SetRequestIdLayer::new(
            request_id_header.clone(),
            MakeRequestUuid,
        ))
        .layer(PropagateRequestIdLayer::new(request_id_header))
        // Failures are logged where they happen, with their cause.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_id::span)
                .on_failure(()),
        )
        .layer(middleware::from_fn(request_id::scope))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::observe_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::outage::retry_after,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(body_limit));
    Router::new()
        .merge(api::routes())
        .merge(function::routes())
        .merge(crate::outage::routes())
        .merge(crate::metrics::routes())
        .merge(crate::compat::routes())
        .merge(crate::telegram::routes(&state))
        .layer(layers)
        .with_state(state)
}

/// A panic in a handler is a bug on our side: log it, answer a masked 500 naming the request
/// id (in the body, and in the header the layer outside adds), and keep serving.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %message, "handler panicked");
    let mut errors = vec![serde_json::json!({
        "message": "internal error",
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    })];
    request_id::name_in_errors(&mut errors, &request_id::for_errors());
    let body = serde_json::json!({ "errors": errors });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
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
    /// The read-cache relays (see [`crate::service::cache_sync`]).
    cache_sync: [JoinHandle<()>; 2],
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
        let service = &gateway.state.service;
        let cache_sync = crate::service::cache_sync::spawn(service.client(), service.bus());
        Ok(Self {
            addr,
            base_url: format!("http://{addr}"),
            cache_sync,
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
        self.cache_sync.iter().for_each(JoinHandle::abort);
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
    let _heap_trim = crate::heap_trim::spawn(settings.server.heap_trim_every);
    tracing::info!(addr = %running.addr, "logbot-gateway serving GraphQL on http://{}/graphql", running.addr);
    shutdown_signal.await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}
