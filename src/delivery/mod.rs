//! Delivery of committed records to the chats subscribed to their bot.
//!
//! - The queue is the `Delivery` class in DataSpace: [`crate::service`] stores a batch's
//!   deliveries in the packet that stores its records, so a committed record always has them,
//!   whichever replica or process dies afterwards.
//! - [`worker`] polls the queue. A chat's deliveries go out one at a time, oldest first; each is
//!   claimed with an optimistic lease (an `updateDelivery` naming the version read), so of two
//!   replicas polling together only one sends it.
//!   A Telegram group upgraded to a supergroup (`migrate_to_chat_id`) takes its subscriptions
//!   and pending deliveries to the new chat id, in order.
//! - [`messenger`] speaks the Telegram Bot API and VK's `messages.send`; [`message`] renders a
//!   record for them; [`pacing`] keeps to their rate limits.
//! - [`pruning`] deletes finished deliveries after `[delivery] keep_done_hours`.
//!
//! See the README section "Delivery to chats" for the guarantees (at least once, and where a duplicate can still
//! come from) and the settings.

pub mod floods;
pub mod message;
pub mod messenger;
mod metrics;
pub mod pacing;
pub mod pruning;
pub mod worker;

pub use messenger::{Messengers, SendOutcome};
pub use pruning::Pruning;
pub use worker::{DeliveryHandle, WorkerOptions, start, start_with};
