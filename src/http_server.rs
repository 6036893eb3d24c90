//! The HTTP server under the router: hyper-util's connection builder with the limits a slow or
//! hostile client must not get around (`[server]`: connections, header and body read deadlines,
//! keep-alive), and a shutdown that drains for at most `shutdown_grace_ms`, then closes what is
//! left. `axum::serve` has none of these knobs.

use crate::config::Settings;
use crate::request_id;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, Version, header};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// What one connection may hold of the server; from `[server]` and `[limits] body_bytes`.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_requests_per_connection: usize,
    pub max_streams_per_connection: u32,
    pub body_bytes: usize,
    pub shutdown_grace: Duration,
}

impl ServerLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        let server = &settings.server;
        Self {
            max_connections: server.max_connections,
            header_read_timeout: server.header_read_timeout,
            body_read_timeout: server.body_read_timeout,
            max_requests_per_connection: server.max_requests_per_connection,
            max_streams_per_connection: server.max_streams_per_connection,
            body_bytes: settings.limits.body_bytes,
            shutdown_grace: server.shutdown_grace,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let builder = connection_builder(&limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors, mostly: pause instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    refuse_over_limit(&stream, limits.max_connections);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let started = Arc::new(AtomicBool::new(false));
                let service = ConnectionService::new(router.clone(), limits.clone(), started.clone());
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                let first_request_within = limits.header_read_timeout;
                connections.spawn(async move {
                    let _permit = permit;
                    tokio::select! {
                        result = connection => if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        },
                        () = no_request_within(&started, first_request_within) => {
                            tracing::debug!("no request in time; connection closed");
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let open = connections.len();
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "requests still in flight after the shutdown grace; closing their connections"
        );
    }
    connections.shutdown().await;
}

fn connection_builder(limits: &ServerLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // hyper restarts this timer for each request, so it is also the keep-alive idle limit.
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams_per_connection)
        // Pings find peers that went away without closing.
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout);
    builder
}

/// At the connection limit: a short 503 if the socket takes it at once, then closed. Nothing
/// waits for a client here.
fn refuse_over_limit(stream: &TcpStream, limit: usize) {
    let body = format!("too many connections (the limit is {limit}, [server] max_connections)\n");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    tracing::warn!(limit, "connection refused: at [server] max_connections");
}

/// Resolves when the connection has not started a request within `within`. hyper bounds
/// HTTP/1 headers itself; this also covers an HTTP/2 preface followed by nothing.
async fn no_request_within(started: &AtomicBool, within: Duration) {
    tokio::time::sleep(within).await;
    if started.load(Ordering::Relaxed) {
        std::future::pending::<()>().await;
    }
}

type ServiceFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// The router behind the per-request limits: a declared body over `body_bytes` is refused
/// before it is read, a body has `body_read_timeout` to arrive, and an HTTP/1 connection is
/// closed after `max_requests_per_connection` answers.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    limits: Arc<ServerLimits>,
    /// Set by the first request (see [`no_request_within`]).
    started: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
}

impl ConnectionService {
    fn new(router: Router, limits: Arc<ServerLimits>, started: Arc<AtomicBool>) -> Self {
        Self {
            router,
            limits,
            started,
            served: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, request: Request<Incoming>) -> ServiceFuture {
        self.started.store(true, Ordering::Relaxed);
        let count = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        let (router, limits) = (self.router.clone(), self.limits.clone());
        Box::pin(async move {
            // `Connection: close` is HTTP/1's; HTTP/2 has no such header.
            let http1 = request.version() <= Version::HTTP_11;
            if let Some(declared) = declared_length(&request)
                && declared > limits.body_bytes as u64
            {
                return Ok(too_large(&request, declared, limits.body_bytes, http1));
            }
            let last = http1 && count >= limits.max_requests_per_connection;
            let deadline = Instant::now() + limits.body_read_timeout;
            let request = request
                .map(|body| Body::new(DeadlineBody::new(body, deadline, limits.body_read_timeout)));
            let mut response = router.oneshot(request).await?;
            if last {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        })
    }
}

fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The same answer (and code) as a body found too large while reading it. Answered before the
/// router's layers, so it takes the request id itself (the caller's when usable, else a new
/// one) and names it in the header and the error like every other answer.
fn too_large<B>(request: &Request<B>, declared: u64, limit: usize, http1: bool) -> Response<Body> {
    let id = request
        .headers()
        .get(request_id::HEADER)
        .filter(|value| request_id::is_usable(value))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a header value")
        });
    let mut errors = vec![serde_json::json!({
        "message": format!("the request body is larger than the limit of {limit} bytes (Content-Length: {declared})"),
        "extensions": {"code": crate::api::limits::LIMIT_EXCEEDED},
    })];
    request_id::name_in_errors(&mut errors, id.to_str().unwrap_or_default());
    let body = serde_json::json!({ "errors": errors });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(request_id::HEADER, id);
    // The body is never read, so the connection cannot carry another request.
    if http1 {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that fails once `deadline` passes before its end: a client that declares a
/// body and sends it slowly (or never) cannot hold a handler and its connection.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl DeadlineBody {
    fn new(inner: Incoming, deadline: Instant, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            timeout,
        }
    }
}

/// The error a handler's body extractor reports (a 4xx) when the body is late.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body did not arrive within {} ms ([server] body_read_timeout_ms)",
    .0.as_millis()
)]
pub struct BodyTimeout(Duration);

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyTimeout(self.timeout).into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
