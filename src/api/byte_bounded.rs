//! A map by text key bounded in bytes, the oldest entry out first. The persisted queries (by
//! hash) and the parsed documents (by their text) each keep one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub struct ByteBounded<V> {
    entries: Mutex<Entries<V>>,
    /// Bytes kept at most, as the entries were counted when they were inserted.
    capacity: usize,
}

struct Entries<V> {
    values: HashMap<Arc<str>, (V, usize)>,
    order: VecDeque<Arc<str>>,
    bytes: usize,
}

impl<V: Clone> ByteBounded<V> {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Entries {
                values: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            capacity,
        }
    }

    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let entries = crate::sync::lock(&self.entries);
        entries.values.get(key).map(|(value, _)| value.clone())
    }

    /// Keeps `value` under `key`, counted as `bytes`, evicting the oldest entries past the
    /// capacity. An entry larger than the whole capacity is not kept; a key already kept keeps
    /// its first value.
    pub fn insert(&self, key: &str, value: V, bytes: usize) {
        if bytes > self.capacity {
            return;
        }
        let mut entries = crate::sync::lock(&self.entries);
        if entries.values.contains_key(key) {
            return;
        }
        let key: Arc<str> = Arc::from(key);
        entries.bytes += bytes;
        entries.values.insert(key.clone(), (value, bytes));
        entries.order.push_back(key);
        while entries.bytes > self.capacity {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some((_, evicted)) = entries.values.remove(&oldest) {
                entries.bytes -= evicted;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_goes_past_the_capacity_and_an_oversized_entry_is_never_kept() {
        let store = ByteBounded::with_capacity(10);
        store.insert("a", 1, 4);
        store.insert("b", 2, 4);
        assert_eq!((store.get("a"), store.get("b")), (Some(1), Some(2)));
        store.insert("a", 9, 4);
        assert_eq!(store.get("a"), Some(1), "a key kept keeps its first value");
        store.insert("c", 3, 4);
        assert_eq!(store.get("a"), None, "12 bytes > 10: the oldest went");
        assert_eq!((store.get("b"), store.get("c")), (Some(2), Some(3)));
        store.insert("huge", 4, 11);
        assert_eq!(store.get("huge"), None);
        assert_eq!((store.get("b"), store.get("c")), (Some(2), Some(3)));
    }
}
