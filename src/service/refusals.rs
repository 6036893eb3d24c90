//! How many refused registrations and subscriptions are written as AuditEvents. A bogus uid
//! or token sent in a loop must not write one event per attempt without bound, so within
//! each minute the first `[limits] audit_refusals_per_minute` refusals are written and the
//! rest only counted; the count goes into the details of the first refusal written in a
//! later minute. Accepted actions are always written.

use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

pub(super) struct RefusalBudget {
    per_minute: u32,
    window: Mutex<Window>,
}

struct Window {
    started: Instant,
    written: u32,
    /// Refusals not written since the last one that was.
    unrecorded: u64,
}

impl RefusalBudget {
    pub(super) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            window: Mutex::new(Window {
                started: Instant::now(),
                written: 0,
                unrecorded: 0,
            }),
        }
    }

    /// `Some(n)` when this refusal is to be written, `n` being how many before it were not;
    /// `None` when the minute's budget is spent.
    pub(super) fn admit(&self, now: Instant) -> Option<u64> {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.duration_since(window.started) >= WINDOW {
            window.started = now;
            window.written = 0;
        }
        if window.written < self.per_minute {
            window.written += 1;
            return Some(std::mem::take(&mut window.unrecorded));
        }
        window.unrecorded += 1;
        if window.unrecorded == 1 {
            tracing::warn!(
                per_minute = self.per_minute,
                "refused registrations/subscriptions over [limits] audit_refusals_per_minute: \
                 counted, not written, until the next minute"
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_writes_its_budget_and_the_next_carries_the_count() {
        let budget = RefusalBudget::new(2);
        let start = Instant::now();
        assert_eq!(budget.admit(start), Some(0));
        assert_eq!(budget.admit(start), Some(0));
        for _ in 0..1000 {
            assert_eq!(budget.admit(start + Duration::from_secs(30)), None);
        }
        assert_eq!(budget.admit(start + WINDOW), Some(1000));
        assert_eq!(budget.admit(start + WINDOW), Some(0));
        assert_eq!(budget.admit(start + WINDOW), None);
    }
}
