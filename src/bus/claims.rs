//! Claims on keys: "I am doing this; nobody else should". A claim has a random token, so only
//! its holder can release it (a claim that expired and was taken by someone else stays theirs).

use crate::sync::lock;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A held claim, given back with [`super::Bus::release`].
#[derive(Debug)]
pub struct Claim {
    pub(super) key: String,
    token: u128,
}

impl Claim {
    pub(super) fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            token: rand::random(),
        }
    }

    /// The token as stored in Redis.
    pub(super) fn token_text(&self) -> String {
        format!("{:032x}", self.token)
    }
}

/// Claims kept at most; beyond, the one closest to expiry is forgotten (so a flood of unique
/// keys costs bounded memory, at the price of forgetting the oldest claims early).
const MAX_CLAIMS: usize = 100_000;

/// Below this many claims, expired ones are left in place (forgetting them costs a full pass).
const PRUNE_FLOOR: usize = 1024;

/// The claims of this process (the bus without Redis, or while Redis fails).
#[derive(Default)]
pub(super) struct LocalClaims {
    held: Mutex<Held>,
    /// Keys are kept as their 64-bit hash under this process's random SipHash key: a claim
    /// costs about 50 bytes and no allocation, not two strings (VK event ids are held for an
    /// hour). Two keys of 100,000 share a hash with odds of about 1 in 4 billion, and a caller
    /// cannot aim for it without the key.
    hasher: RandomState,
}

#[derive(Default)]
struct Held {
    /// Expiry and token of each claim, by its key's hash.
    by_key: HashMap<u64, (Instant, u128)>,
    /// The size at which expired claims are next forgotten: twice what was left after the last
    /// pass, so the passes cost O(1) per claim and expired claims never outnumber live ones
    /// by more than that (a one-shot key, such as a VK event id, would otherwise stay until
    /// [`MAX_CLAIMS`]).
    prune_at: usize,
}

impl Held {
    fn make_room(&mut self, now: Instant) {
        if self.by_key.len() >= self.prune_at.max(PRUNE_FLOOR) {
            self.by_key.retain(|_, (expiry, _)| *expiry > now);
            self.prune_at = 2 * self.by_key.len();
        }
        if self.by_key.len() >= MAX_CLAIMS
            && let Some(soonest) = self
                .by_key
                .iter()
                .min_by_key(|(_, (expiry, _))| *expiry)
                .map(|(key, _)| *key)
        {
            self.by_key.remove(&soonest);
        }
    }
}

impl LocalClaims {
    /// The claim on `key` if nobody holds it, else `None`.
    pub(super) fn claim(&self, key: &str, ttl: Duration) -> Option<Claim> {
        let now = Instant::now();
        let hash = self.hasher.hash_one(key);
        let mut held = lock(&self.held);
        if held
            .by_key
            .get(&hash)
            .is_some_and(|(expiry, _)| *expiry > now)
        {
            return None;
        }
        held.make_room(now);
        let claim = Claim::new(key);
        held.by_key.insert(hash, (now + ttl, claim.token));
        Some(claim)
    }

    /// Whether `claim` is the one held on its key (lapsed or not).
    pub(super) fn holds(&self, claim: &Claim) -> bool {
        lock(&self.held)
            .by_key
            .get(&self.hasher.hash_one(&claim.key))
            .is_some_and(|(_, token)| *token == claim.token)
    }

    /// Extends `claim` to `ttl` from now, if it is still the one held on its key; an expired
    /// claim nobody took since is taken again.
    pub(super) fn renew(&self, claim: &Claim, ttl: Duration) -> bool {
        let mut held = lock(&self.held);
        match held.by_key.get_mut(&self.hasher.hash_one(&claim.key)) {
            Some((expiry, token)) if *token == claim.token => {
                *expiry = Instant::now() + ttl;
                true
            }
            _ => false,
        }
    }

    pub(super) fn release(&self, claim: &Claim) {
        let hash = self.hasher.hash_one(&claim.key);
        let mut held = lock(&self.held);
        if held
            .by_key
            .get(&hash)
            .is_some_and(|(_, token)| *token == claim.token)
        {
            held.by_key.remove(&hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_key_is_claimed_once_until_it_expires_or_is_released() {
        let claims = LocalClaims::default();
        let a = claims.claim("a", MINUTE).unwrap();
        assert!(claims.claim("a", MINUTE).is_none());
        assert!(claims.claim("b", MINUTE).is_some());
        claims.release(&a);
        assert!(claims.claim("a", MINUTE).is_some());
        assert!(claims.claim("short", Duration::ZERO).is_some());
        assert!(
            claims.claim("short", Duration::ZERO).is_some(),
            "an expired claim is free"
        );
    }

    #[test]
    fn only_the_holder_renews() {
        let claims = LocalClaims::default();
        let first = claims.claim("k", Duration::ZERO).unwrap();
        assert!(
            claims.renew(&first, MINUTE),
            "its own lapsed claim, not taken since"
        );
        assert!(
            claims.claim("k", MINUTE).is_none(),
            "renewed, so still held"
        );
        claims.release(&first);
        let second = claims.claim("k", Duration::ZERO).unwrap();
        let third = claims.claim("k", MINUTE).unwrap();
        assert!(!claims.renew(&second, MINUTE), "taken over by the third");
        assert!(claims.renew(&third, MINUTE));
    }

    #[test]
    fn expired_claims_are_forgotten_long_before_the_cap() {
        let claims = LocalClaims::default();
        for n in 0..10 * PRUNE_FLOOR {
            claims.claim(&format!("once.{n}"), Duration::ZERO).unwrap();
        }
        let kept = lock(&claims.held).by_key.len();
        assert!(kept <= PRUNE_FLOOR, "{kept} expired claims kept");
        let live = claims.claim("live", MINUTE).unwrap();
        for n in 0..10 * PRUNE_FLOOR {
            claims.claim(&format!("again.{n}"), Duration::ZERO).unwrap();
        }
        assert!(claims.holds(&live), "a live claim survives the passes");
        assert!(claims.claim("live", MINUTE).is_none());
    }

    #[test]
    fn only_the_holder_releases() {
        let claims = LocalClaims::default();
        let expired = claims.claim("k", Duration::ZERO).unwrap();
        let current = claims.claim("k", MINUTE).unwrap();
        claims.release(&expired);
        assert!(
            claims.claim("k", MINUTE).is_none(),
            "the late release freed someone else's claim"
        );
        claims.release(&current);
        assert!(claims.claim("k", MINUTE).is_some());
    }
}
