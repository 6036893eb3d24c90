//! Locking shared state that stays consistent even if a holder panicked.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking it over from a holder that panicked: the maps and counters kept
/// behind these mutexes are valid after every single update, so a panic elsewhere must not
/// make them unusable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
