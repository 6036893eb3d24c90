//! Checks on a raw GraphQL document that run before async-graphql sees it, shared by the API
//! ([`crate::api::limits`]) and the embedded DataSpace's endpoint.
//!
//! async-graphql's parser and validation recurse over nesting (a list literal a few thousand
//! deep overflows a worker's stack) and inline fragments (a spread fan-out is exponential), and
//! some of its rules are quadratic in repeated fields. So a document is first scanned in one
//! linear pass over its tokens ([`scan`]: nesting, tokens, operations, fragments, variables),
//! then parsed, then its fragments are expanded once each ([`expand`]: cycles, spreads,
//! selections after inlining). Anything over a cap is refused in microseconds.

pub mod expand;
pub mod scan;

pub use expand::{Expansion, expand};
pub use scan::scan;

/// The caps on one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentCaps {
    /// Brackets (`{`, `[`, `(`) open at once: selections and value literals together.
    pub nesting: usize,
    /// Tokens (names, numbers, strings, punctuation; not white space or comments).
    pub tokens: usize,
    /// Operation definitions.
    pub operations: usize,
    /// Fragment definitions.
    pub fragments: usize,
    /// Variable definitions of one operation.
    pub variables: usize,
    /// Selections (fields, spreads, inline fragments) of the document with every fragment
    /// spread inlined, counted once per place it is spread.
    pub selections: usize,
}

/// Why a document was refused: a limit (`extensions.code` `LIMIT_EXCEEDED`) or a fragment
/// cycle (a validation error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Limit(String),
    Cycle(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Self::Limit(message) | Self::Cycle(message) => message,
        }
    }
}

pub(crate) fn over(what: &str, count: usize, limit: usize) -> Refusal {
    Refusal::Limit(format!(
        "the document has more than {limit} {what} ({count} so far); the limit is {limit}"
    ))
}
