//! The DataSpace client: typed operations over a signed, retrying GraphQL connection. The
//! server it talks to is either the real DataSpace or [`crate::embedded_dataspace`], which
//! shares nothing with this module but the wire contract (`schema.graphql`) and, when it runs
//! in this process, the [`direct`] calls it takes without a document.

mod bot_cache;
pub mod client;
pub mod direct;
pub mod error;
mod group_commit;
pub mod operations;
mod read_cache;

pub use client::{Backoff, ClientSettings, DataSpaceClient, Retry};
pub use error::DataSpaceError;
pub use group_commit::GroupCommitSettings;
pub use read_cache::Cached;
