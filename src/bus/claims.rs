//! Claims held by this process: the in-process half of [`super::Bus::claim`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Claims kept at most; beyond, the one closest to expiry is forgotten (so a flood of unique
/// keys costs bounded memory, at the price of forgetting the oldest claims early).
const MAX_CLAIMS: usize = 100_000;

#[derive(Default)]
pub(super) struct LocalClaims {
    expiry_by_key: Mutex<HashMap<String, Instant>>,
}

impl LocalClaims {
    /// True the first time `key` is claimed, false while that claim lasts.
    pub(super) fn claim(&self, key: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut claims = self
            .expiry_by_key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if claims.get(key).is_some_and(|expiry| *expiry > now) {
            return false;
        }
        if claims.len() >= MAX_CLAIMS {
            claims.retain(|_, expiry| *expiry > now);
            if claims.len() >= MAX_CLAIMS
                && let Some(soonest) = claims
                    .iter()
                    .min_by_key(|(_, expiry)| **expiry)
                    .map(|(key, _)| key.clone())
            {
                claims.remove(&soonest);
            }
        }
        claims.insert(key.to_owned(), now + ttl);
        true
    }

    pub(super) fn release(&self, key: &str) {
        self.expiry_by_key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_claimed_once_until_it_expires_or_is_released() {
        let claims = LocalClaims::default();
        assert!(claims.claim("a", Duration::from_secs(60)));
        assert!(!claims.claim("a", Duration::from_secs(60)));
        assert!(claims.claim("b", Duration::from_secs(60)));
        claims.release("a");
        assert!(claims.claim("a", Duration::from_secs(60)));
        assert!(claims.claim("short", Duration::ZERO));
        assert!(
            claims.claim("short", Duration::ZERO),
            "an expired claim is free"
        );
    }
}
