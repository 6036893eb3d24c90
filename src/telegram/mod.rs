//! The Telegram door: the commands chats write to the bots come in as Bot API updates, by
//! long polling (default) or webhook, and go through the command grammar like every other
//! door's (`service::LogbotService::execute_command_via`); the reply goes back to the chat.
//!
//! - [`update`]: what an update asks (commands the Telegram way, membership, migration);
//! - [`door`]: handling one update exactly once (claim, run, durable offset, reply);
//! - [`poller`]: which bots this replica reads (leases on the bus), and the long polls;
//! - [`webhook`]: `setWebhook` and `POST /events/telegram/<bot>`;
//! - [`api`]: the Bot API calls.

pub mod api;
pub mod door;
pub mod poller;
pub mod update;
pub mod webhook;

use crate::app_state::AppState;
use crate::config::TelegramUpdates;
use axum::Router;
use door::Door;
use std::sync::Arc;

fn door(state: &AppState) -> Option<Arc<Door>> {
    match Door::new(state.service.clone(), &state.settings) {
        Ok(door) => Some(Arc::new(door)),
        Err(error) => {
            tracing::error!(%error, "the Telegram door cannot start");
            None
        }
    }
}

/// The webhook route, merged into the gateway's router.
pub fn routes(state: &AppState) -> Router<AppState> {
    webhook::routes(door(state), state.settings.telegram.max_update_bytes)
}

/// Starts reading updates (polling, or setting webhooks) unless `[telegram] updates = off`.
pub fn start(state: &AppState) -> Option<poller::Supervisor> {
    if state.settings.telegram.updates == TelegramUpdates::Off {
        return None;
    }
    door(state).map(poller::Supervisor::start)
}
