//! Helpers shared by the integration tests.

pub mod common;
pub mod dataspace;
pub mod delivery;
pub mod doors;
pub mod gateway;
pub mod hostile;
pub mod process;
pub mod redis;
pub mod signing;
pub mod telegram_updates;
