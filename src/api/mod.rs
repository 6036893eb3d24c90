//! The public GraphQL API: schema (Query / Mutation) and its HTTP transport.

pub mod cursor;
pub mod error;
pub mod http;
pub mod mutation;
pub mod query;
pub mod types;

use crate::service::LogbotService;
use async_graphql::{EmptySubscription, Schema};
use std::sync::Arc;

pub type ApiSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// Limits a schema enforces on every operation.
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    pub depth: usize,
    pub complexity: usize,
    pub introspection: bool,
}

pub fn build_schema(service: Arc<LogbotService>, limits: SchemaLimits) -> ApiSchema {
    let builder = Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .data(service)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity);
    let builder = if limits.introspection {
        builder
    } else {
        builder.disable_introspection()
    };
    builder.finish()
}
