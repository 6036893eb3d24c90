//! DataSpace: the embedded local server and (beside it) the typed, signed client.

mod bot_cache;
pub mod client;
pub mod error;
pub mod local;
pub mod operations;

pub use client::{Backoff, ClientSettings, DataSpaceClient, Retry};
pub use error::DataSpaceError;
