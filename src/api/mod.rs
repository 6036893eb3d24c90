//! The public GraphQL API: schema (Query / Mutation / Subscription) and its transports:
//! GraphQL over HTTP ([`http`]) and over WebSocket ([`ws`]), with the limits ([`limits`]) and
//! automatic persisted queries ([`apq`]) they share. [`routes`] mounts them on `/graphql`.

pub mod apq;
mod byte_bounded;
pub mod cost;
pub mod cursor;
pub mod documents;
pub mod error;
pub mod feeds;
pub mod graphiql;
pub mod http;
pub mod limits;
pub mod mutation;
pub mod query;
pub mod routes;
pub mod signature;
pub mod subscription;
pub mod types;
pub mod ws;

pub use routes::{ApiState, routes};

use crate::config::LimitSettings;
use crate::service::LogbotService;
use async_graphql::Schema;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// The async-graphql schema.
pub type GraphqlSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema plus what its transports share (limits, persisted queries, the WebSocket
/// connection count). Derefs to the async-graphql schema; cheap to clone.
#[derive(Clone)]
pub struct ApiSchema {
    schema: GraphqlSchema,
    transport: Arc<Transport>,
}

impl std::ops::Deref for ApiSchema {
    type Target = GraphqlSchema;

    fn deref(&self) -> &GraphqlSchema {
        &self.schema
    }
}

impl ApiSchema {
    pub fn limits(&self) -> &SchemaLimits {
        &self.transport.limits
    }

    pub fn persisted_queries(&self) -> &apq::PersistedQueries {
        &self.transport.persisted
    }

    pub fn parsed_documents(&self) -> &documents::ParsedDocuments {
        &self.transport.documents
    }

    /// The subscription feeds WebSocket subscribers share that are running now.
    pub fn running_feeds(&self) -> usize {
        self.transport.feeds.running()
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Closes every open WebSocket with 1001 ("going away"), for a graceful shutdown: upgraded
    /// connections are not the HTTP server's to wait for.
    pub fn close_websockets(&self) {
        self.transport.shutdown.send_replace(true);
    }
}

pub(crate) struct Transport {
    limits: SchemaLimits,
    persisted: apq::PersistedQueries,
    documents: documents::ParsedDocuments,
    /// Open WebSocket connections.
    ws_open: AtomicUsize,
    /// Becomes true when the server shuts down.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// The subscriptions WebSocket subscribers share.
    feeds: feeds::Feeds,
}

/// Limits the API enforces on every operation, and the transports' timings.
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    pub depth: usize,
    pub complexity: usize,
    pub introspection: bool,
    pub aliases: usize,
    pub root_fields: usize,
    /// Operations in one batched POST.
    pub batch_size: usize,
    /// Request body bytes (also the largest WebSocket message).
    pub body_bytes: usize,
    /// A query or mutation taking longer is answered with a TIMEOUT error.
    pub request_timeout: Duration,
    pub ws_connections: usize,
    pub ws_subscriptions_per_connection: usize,
    /// Distinct subscriptions running at once (see [`feeds`]).
    pub ws_feeds: usize,
    /// The raw document's size and shape.
    pub document: crate::graphql_document::DocumentCaps,
    /// Records one HTTP request may return (batch included).
    pub records_per_request: usize,
    /// Bytes of one HTTP response body (batch included).
    pub response_bytes: usize,
    /// Bytes of persisted query text kept.
    pub apq_bytes: usize,
    /// Bytes of parsed documents kept, as [`documents`] counts them.
    pub parsed_documents_bytes: usize,
    /// A WebSocket that sends no `connection_init` within this is closed with 4408.
    pub ws_init_timeout: Duration,
    /// Interval of the server's keep-alive `ping` (`ka` on the legacy protocol).
    pub ws_keep_alive: Duration,
    /// A WebSocket client that leaves a message unread this long is closed (1013).
    pub ws_slow_client: Duration,
}

impl SchemaLimits {
    /// From `[limits]`, with the fixed WebSocket timings.
    pub fn from_settings(limits: &LimitSettings, introspection: bool) -> Self {
        Self {
            depth: limits.query_depth,
            complexity: limits.complexity,
            introspection,
            aliases: limits.aliases,
            root_fields: limits.root_fields,
            batch_size: limits.batch_size,
            body_bytes: limits.body_bytes,
            request_timeout: limits.request_timeout,
            ws_connections: limits.ws_connections,
            ws_subscriptions_per_connection: limits.ws_subscriptions_per_connection,
            ws_feeds: limits.ws_feeds,
            document: limits.document,
            records_per_request: limits.records_per_request,
            response_bytes: limits.response_bytes,
            apq_bytes: limits.apq_bytes,
            parsed_documents_bytes: limits.parsed_documents_bytes,
            ws_init_timeout: Duration::from_secs(3),
            ws_keep_alive: Duration::from_secs(15),
            ws_slow_client: Duration::from_secs(5),
        }
    }

    pub(crate) fn document(&self) -> limits::DocumentLimits {
        limits::DocumentLimits {
            aliases: self.aliases,
            root_fields: self.root_fields,
            depth: self.depth,
            complexity: self.complexity,
            introspection: self.introspection,
            document: self.document,
        }
    }
}

pub fn build_schema(service: Arc<LogbotService>, limits: SchemaLimits) -> ApiSchema {
    let builder = Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .data(service)
        .extension(limits::ValidationMarker {
            limits: limits.document(),
        })
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity);
    let builder = if limits.introspection {
        builder
    } else {
        builder.disable_introspection()
    };
    ApiSchema {
        schema: builder.finish(),
        transport: Arc::new(Transport {
            limits,
            persisted: apq::PersistedQueries::with_capacity(limits.apq_bytes),
            documents: documents::ParsedDocuments::with_capacity(limits.parsed_documents_bytes),
            ws_open: AtomicUsize::new(0),
            shutdown: tokio::sync::watch::Sender::new(false),
            feeds: feeds::Feeds::default(),
        }),
    }
}
