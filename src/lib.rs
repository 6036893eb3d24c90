//! logbot-gateway: a GraphQL API for a logger bot, running as a serverless-function container.
//!
//! Components:
//! - [`apig`]: the APIG App-authentication signer (SDK-HMAC-SHA256), its verifier, and the
//!   reqwest middleware that signs every DataSpace call.
//! - [`cli`]: the `logbot-gateway` command line.
//! - [`compat`]: the other doors (`/send_logs`, Web PubSub CloudEvents, VK chat events).
//! - [`dataspace`]: the typed, signed, retrying DataSpace client.
//! - [`delivery`]: the durable delivery queue and the worker that sends records to chats.

pub mod api;
pub mod apig;
pub mod bus;
pub mod cli;
pub mod compat;
pub mod config;
pub mod dataspace;
pub mod delivery;
pub mod domain;
pub mod function;
pub mod metrics;
pub mod server;
pub mod service;
