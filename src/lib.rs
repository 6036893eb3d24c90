//! logbot-gateway: a GraphQL API for a logger bot, running as a serverless-function container.
//!
//! A request flows one way: a door ([`api`] for GraphQL over HTTP and WebSocket, [`function`]
//! for `POST /`, [`compat`] for the older wire formats) parses its format into [`domain`]
//! types, the use cases in [`service`] apply the rules and persist through the signed
//! [`dataspace`] client, and a committed record is announced on the [`bus`] for live
//! subscriptions while [`delivery`] sends it to subscribed chats from a durable queue.
//!
//! Components:
//! - [`apig`]: the APIG App-authentication signer (SDK-HMAC-SHA256), its verifier, and the
//!   reqwest middleware that signs every DataSpace call.
//! - [`dataspace`]: the typed, signed, retrying DataSpace client.
//! - [`embedded_dataspace`]: a stand-in DataSpace (GraphQL over SQLite) used when none is
//!   configured; its own component, sharing only the wire contract and the [`apig`] verifier.
//! - [`domain`]: pure types and rules (levels, names, tokens, command grammar, registration).
//! - [`service`]: the use cases every door goes through.
//! - [`api`]: the public GraphQL schema and its transport; [`function`]: the function contract.
//! - [`compat`]: the other doors (`/send_logs`, Web PubSub CloudEvents, VK chat events).
//! - [`telegram`]: Telegram updates in (long polling or webhook), into the command grammar;
//!   [`vk_api`]: the VK API calls both the VK door and the delivery worker make.
//! - [`bus`]: live fan-out, in-process or over Redis.
//! - [`delivery`]: the durable delivery queue and the worker that sends records to chats.
//! - [`config`], [`metrics`], [`http_server`] (connection limits, read deadlines, bounded
//!   graceful shutdown), [`fd_limit`] (the open-file limit those connections need),
//!   [`outage`] (503s and readiness while a dependency is down), [`request_id`] (one id per
//!   request, from the edge to DataSpace), [`datetime_text`] (the `_DateTime` text both
//!   sides of DataSpace write), [`allocator`] (mimalloc's settings).
//! - [`server`] (wiring): builds the gateway and merges every door's `routes()` under the
//!   shared layers; the doors share [`app_state::AppState`] and never import `server`, whose
//!   only user is [`cli`] (the command line).

pub mod allocator;
pub mod api;
pub mod apig;
pub mod app_state;
pub mod bus;
pub mod cli;
pub mod compat;
pub mod config;
pub mod dataspace;
pub mod datetime_text;
pub mod delivery;
pub mod domain;
pub mod embedded_dataspace;
pub mod fd_limit;
pub mod function;
pub mod graphql_document;
pub mod heap_trim;
pub mod http_server;
pub mod json;
pub mod metrics;
pub mod outage;
pub mod request_id;
pub mod server;
pub mod service;
mod sync;
pub mod telegram;
pub mod vk_api;
