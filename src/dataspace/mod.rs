//! DataSpace: the embedded local server and (beside it) the typed, signed client.

pub mod local;
