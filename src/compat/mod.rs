//! The other doors: senders that cannot change their wire format. Each parses its format into
//! [`crate::domain`] types and goes through [`crate::service::LogbotService`] like GraphQL does.
//!
//! - [`send_logs`]: `POST /send_logs` (and `//send_logs`), the LoggerBot Python client;
//! - [`webpubsub`]: `/eventhandler`, Web PubSub CloudEvents;
//! - [`vk`]: `POST /events/vk`, VK Callback API events, and the optional Bots Long Poll loop.
//!
//! Log records as JSON, which these doors share with [`crate::function`], are
//! [`crate::json::records`].

pub mod send_logs;
pub mod vk;
pub mod webpubsub;

use crate::app_state::AppState;
use axum::Router;

/// Every route of the compatibility doors, merged into the gateway's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(send_logs::routes())
        .merge(webpubsub::routes())
        .merge(vk::routes())
}
