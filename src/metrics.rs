//! Prometheus metrics. Label values come from fixed sets (matched routes, operation names,
//! outcome words), never from request data, so the number of series stays bounded.
//! [`routes`] serves them; [`observe_requests`] counts every HTTP request.

use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::time::{Duration, Instant};

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// All metrics of one process.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_latency: HistogramVec,
    dataspace_calls: IntCounterVec,
    dataspace_latency: HistogramVec,
    sqlite_memory: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "logbot_http_requests_total",
                "HTTP requests by route and outcome",
            ),
            &["route", "outcome"],
        )
        .expect("valid metric");
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "logbot_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .expect("valid metric");
        let dataspace_calls = IntCounterVec::new(
            Opts::new(
                "logbot_dataspace_calls_total",
                "DataSpace calls by operation and outcome",
            ),
            &["operation", "outcome"],
        )
        .expect("valid metric");
        let dataspace_latency = HistogramVec::new(
            HistogramOpts::new(
                "logbot_dataspace_call_duration_seconds",
                "DataSpace call latency by operation",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation"],
        )
        .expect("valid metric");
        let sqlite_memory = IntGauge::new(
            "logbot_sqlite_memory_bytes",
            "Heap held by SQLite in this process (the embedded DataSpace's page caches and statements)",
        )
        .expect("valid metric");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_latency.clone()),
            Box::new(dataspace_calls.clone()),
            Box::new(dataspace_latency.clone()),
            Box::new(sqlite_memory.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            http_requests,
            http_latency,
            dataspace_calls,
            dataspace_latency,
            sqlite_memory,
        }
    }

    /// Records one HTTP request. `route` is the matched route pattern; `status` its answer.
    pub fn observe_http(&self, route: &str, status: u16, elapsed: Duration) {
        let outcome = match status {
            200..=399 => "ok",
            400..=499 => "client_error",
            _ => "server_error",
        };
        self.http_requests
            .with_label_values(&[route, outcome])
            .inc();
        self.http_latency
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one DataSpace call. `operation` is the generated operation's name.
    pub fn observe_dataspace(&self, operation: &str, outcome: &str, elapsed: Duration) {
        self.dataspace_calls
            .with_label_values(&[operation, outcome])
            .inc();
        self.dataspace_latency
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }

    /// Registers another collector (delivery, bus) in the same registry.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        if let Err(error) = self.registry.register(collector) {
            tracing::warn!(%error, "metric not registered");
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        // SAFETY: sqlite3_memory_used only reads SQLite's global allocation counter; it is
        // thread-safe and callable whether or not a database is open.
        self.sqlite_memory
            .set(unsafe { rusqlite::ffi::sqlite3_memory_used() });
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// `GET /metrics`, for any application state that holds the [`Metrics`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Metrics: FromRef<S>,
{
    Router::new().route("/metrics", get(exposition))
}

async fn exposition(State(metrics): State<Metrics>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
        .into_response()
}

/// Middleware: counts every request by matched route and outcome, with its latency.
pub async fn observe_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    metrics.observe_http(&route, response.status().as_u16(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_heap_is_read_at_each_scrape() {
        let metrics = Metrics::new();
        let value = |text: &str| -> i64 {
            text.lines()
                .find_map(|line| line.strip_prefix("logbot_sqlite_memory_bytes "))
                .expect("the gauge is exposed")
                .trim()
                .parse()
                .unwrap()
        };
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES (randomblob(100000));")
            .unwrap();
        // The counter is process-wide (other tests' databases count too), so only a lower
        // bound can be checked: the table this test holds in memory.
        let held = value(&metrics.render());
        assert!(
            held > 100_000,
            "SQLite holds {held} bytes with a table in memory"
        );
        drop(connection);
    }
}
