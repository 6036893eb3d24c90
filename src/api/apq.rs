//! Automatic persisted queries (Apollo's APQ protocol). A client sends
//! `extensions.persistedQuery = {version: 1, sha256Hash}` without the query; when this replica
//! does not know the hash it answers `PersistedQueryNotFound` and the client sends the query
//! with the hash once, which stores it once the document has passed the checks (so nothing that
//! does not parse takes room). The store is per process and bounded in bytes (oldest first
//! out, `[limits] apq_bytes`): a miss only costs the client one more round trip.

use super::byte_bounded::ByteBounded;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";
pub const NOT_FOUND_CODE: &str = "PERSISTED_QUERY_NOT_FOUND";

#[derive(Debug, PartialEq, Eq)]
pub enum ApqError {
    /// The hash is unknown here: the client should send the query with it.
    NotFound,
    /// Anything else wrong with `extensions.persistedQuery`; the text says what.
    Invalid(String),
}

/// The store of persisted queries by hash, bounded in bytes of query text; cheap to clone.
#[derive(Clone)]
pub struct PersistedQueries {
    queries: Arc<ByteBounded<Arc<str>>>,
}

/// A query sent along with its hash: stored by [`PersistedQueries::register`] once it passed
/// the document checks.
#[derive(Debug, PartialEq, Eq)]
pub struct Pending {
    hash: String,
    query: Arc<str>,
}

/// The query of a request that uses APQ.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Found in the store.
    Stored(Arc<str>),
    /// Sent along; to register once it passed the checks.
    Sent(Pending),
}

impl Resolved {
    pub fn query(&self) -> &Arc<str> {
        match self {
            Self::Stored(query) | Self::Sent(Pending { query, .. }) => query,
        }
    }

    /// What to register afterwards, if anything.
    pub fn pending(self) -> Option<Pending> {
        match self {
            Self::Stored(_) => None,
            Self::Sent(pending) => Some(pending),
        }
    }
}

impl PersistedQueries {
    /// A store of at most `capacity` bytes of query text.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            queries: Arc::new(ByteBounded::with_capacity(capacity)),
        }
    }

    /// Resolves the query of a request: `Ok(None)` when it does not use APQ, `Ok(Some(..))`
    /// when it does (a query sent along is not stored yet: see [`Self::register`]).
    pub fn resolve(
        &self,
        query: Option<&str>,
        extensions: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Option<Resolved>, ApqError> {
        let Some(persisted) = extensions.and_then(|extensions| extensions.get("persistedQuery"))
        else {
            return Ok(None);
        };
        let persisted = persisted.as_object().ok_or_else(|| {
            ApqError::Invalid("extensions.persistedQuery must be an object".into())
        })?;
        match persisted.get("version").and_then(serde_json::Value::as_i64) {
            Some(1) => {}
            _ => {
                return Err(ApqError::Invalid(
                    "extensions.persistedQuery.version must be 1 (the only version supported)"
                        .into(),
                ));
            }
        }
        let hash = persisted
            .get("sha256Hash")
            .and_then(serde_json::Value::as_str)
            .filter(|hash| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                ApqError::Invalid(
                    "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits".into(),
                )
            })?
            .to_ascii_lowercase();
        match query {
            Some(query) => {
                let actual = hex::encode(Sha256::digest(query.as_bytes()));
                if actual != hash {
                    return Err(ApqError::Invalid(format!(
                        "provided sha256Hash does not match the query (its hash is {actual})"
                    )));
                }
                Ok(Some(Resolved::Sent(Pending {
                    hash,
                    query: Arc::from(query),
                })))
            }
            None => self
                .lookup(&hash)
                .map(|query| Some(Resolved::Stored(query)))
                .ok_or(ApqError::NotFound),
        }
    }

    /// Stores a query that passed the document checks, evicting the oldest past the capacity
    /// (a query larger than the whole capacity is not kept).
    pub fn register(&self, pending: Pending) {
        let Pending { hash, query } = pending;
        let bytes = query.len();
        self.queries.insert(&hash, query, bytes);
    }

    fn lookup(&self, hash: &str) -> Option<Arc<str>> {
        self.queries.get(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extensions(hash: &str) -> serde_json::Map<String, serde_json::Value> {
        json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
            .as_object()
            .unwrap()
            .clone()
    }

    fn sent(store: &PersistedQueries, query: &str) -> Resolved {
        let hash = hex::encode(Sha256::digest(query));
        store
            .resolve(Some(query), Some(&extensions(&hash)))
            .unwrap()
            .unwrap()
    }

    fn lookup(store: &PersistedQueries, query: &str) -> Result<Option<Resolved>, ApqError> {
        store.resolve(None, Some(&extensions(&hex::encode(Sha256::digest(query)))))
    }

    #[test]
    fn miss_then_register_then_hit_and_eviction_by_bytes() {
        let query = "{ __typename }";
        let other = "{ a }";
        let store = PersistedQueries::with_capacity(query.len() + other.len() - 1);
        assert_eq!(lookup(&store, query), Err(ApqError::NotFound));
        let resolved = sent(&store, query);
        assert_eq!(resolved.query().as_ref(), query);
        // Not stored until registered (after the document checks).
        assert_eq!(lookup(&store, query), Err(ApqError::NotFound));
        store.register(resolved.pending().unwrap());
        assert!(matches!(lookup(&store, query), Ok(Some(Resolved::Stored(q))) if &*q == query));
        // Both do not fit in the bytes: the oldest goes.
        store.register(sent(&store, other).pending().unwrap());
        assert_eq!(lookup(&store, query), Err(ApqError::NotFound));
        assert!(lookup(&store, other).unwrap().is_some());
        // A query larger than the whole store is never kept.
        let huge = "x".repeat(store.queries.capacity() + 1);
        store.register(sent(&store, &huge).pending().unwrap());
        assert_eq!(lookup(&store, &huge), Err(ApqError::NotFound));
        assert!(lookup(&store, other).unwrap().is_some());
        let hash = hex::encode(Sha256::digest(query));
        assert!(matches!(
            store.resolve(Some("{ b }"), Some(&extensions(&hash))),
            Err(ApqError::Invalid(_))
        ));
        assert_eq!(store.resolve(Some(query), None), Ok(None));
    }
}
