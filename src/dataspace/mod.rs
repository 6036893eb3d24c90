//! DataSpace: the typed, signed, retrying client the gateway stores everything through.

pub mod client;
pub mod error;
pub mod operations;

pub use client::{Backoff, ClientSettings, DataSpaceClient, Retry};
pub use error::DataSpaceError;
