//! APIG App authentication (SDK-HMAC-SHA256): the canonical steps, signing, verification and
//! the reqwest middleware that signs every outgoing DataSpace call.

pub mod canonical;
pub mod middleware;
pub mod signer;
pub mod verify;

pub use middleware::SigningMiddleware;
pub use signer::{AppCredentials, SignError, SigningRequest, SigningTrace, sign};
pub use verify::{InboundRequest, KeyRing, VerifyError, verify};
