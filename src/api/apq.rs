//! Automatic persisted queries (Apollo's APQ protocol). A client sends
//! `extensions.persistedQuery = {version: 1, sha256Hash}` without the query; when this replica
//! does not know the hash it answers `PersistedQueryNotFound` and the client sends the query
//! with the hash once, which stores it. The store is per process and bounded (oldest first out):
//! a miss only costs the client one more round trip.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Queries kept per process.
pub const DEFAULT_CAPACITY: usize = 1000;

pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";
pub const NOT_FOUND_CODE: &str = "PERSISTED_QUERY_NOT_FOUND";

#[derive(Debug, PartialEq, Eq)]
pub enum ApqError {
    /// The hash is unknown here: the client should send the query with it.
    NotFound,
    /// Anything else wrong with `extensions.persistedQuery`; the text says what.
    Invalid(String),
}

/// The store of persisted queries; cheap to clone.
#[derive(Clone)]
pub struct PersistedQueries {
    inner: Arc<Mutex<Store>>,
    capacity: usize,
}

#[derive(Default)]
struct Store {
    queries: HashMap<String, Arc<str>>,
    order: VecDeque<String>,
}

impl Default for PersistedQueries {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl PersistedQueries {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    /// Resolves the query of a request: `Ok(None)` when it does not use APQ, `Ok(Some(query))`
    /// when it does (storing the query when one was sent along).
    pub fn resolve(
        &self,
        query: Option<&str>,
        extensions: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Option<Arc<str>>, ApqError> {
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
                let query: Arc<str> = Arc::from(query);
                self.store(hash, query.clone());
                Ok(Some(query))
            }
            None => self.lookup(&hash).map(Some).ok_or(ApqError::NotFound),
        }
    }

    fn lookup(&self, hash: &str) -> Option<Arc<str>> {
        let store = crate::sync::lock(&self.inner);
        store.queries.get(hash).cloned()
    }

    fn store(&self, hash: String, query: Arc<str>) {
        let mut store = crate::sync::lock(&self.inner);
        if store.queries.insert(hash.clone(), query).is_none() {
            store.order.push_back(hash);
            while store.order.len() > self.capacity {
                if let Some(oldest) = store.order.pop_front() {
                    store.queries.remove(&oldest);
                }
            }
        }
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

    #[test]
    fn miss_then_register_then_hit_and_eviction() {
        let store = PersistedQueries::with_capacity(1);
        let query = "{ __typename }";
        let hash = hex::encode(Sha256::digest(query));
        assert_eq!(
            store.resolve(None, Some(&extensions(&hash))),
            Err(ApqError::NotFound)
        );
        assert_eq!(
            store
                .resolve(Some(query), Some(&extensions(&hash)))
                .unwrap()
                .as_deref(),
            Some(query)
        );
        assert_eq!(
            store
                .resolve(None, Some(&extensions(&hash)))
                .unwrap()
                .as_deref(),
            Some(query)
        );
        let other = "{ a }";
        let other_hash = hex::encode(Sha256::digest(other));
        store
            .resolve(Some(other), Some(&extensions(&other_hash)))
            .unwrap();
        assert_eq!(
            store.resolve(None, Some(&extensions(&hash))),
            Err(ApqError::NotFound)
        );
        assert!(matches!(
            store.resolve(Some("{ b }"), Some(&extensions(&hash))),
            Err(ApqError::Invalid(_))
        ));
        assert_eq!(store.resolve(Some(query), None), Ok(None));
    }
}
