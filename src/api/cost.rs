//! The cost model beyond async-graphql's field count: a list field's page size multiplies what
//! it selects (so `first` counts in `[limits] complexity`), and one HTTP request (a batch
//! included) may return at most `[limits] records_per_request` records and
//! `[limits] response_bytes` bytes.

use super::limits::LIMIT_EXCEEDED;
use async_graphql::ErrorExtensions;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Complexity of a page of `first` items (clamped to `1..=max`: an out-of-range `first` is the
/// resolver's to refuse) each costing `child_complexity`.
pub fn page(first: i32, max: i32, child_complexity: usize) -> usize {
    let items = usize::try_from(first.clamp(1, max)).unwrap_or(1);
    items.saturating_mul(child_complexity).saturating_add(1)
}

/// The records one request may still return; shared by the operations of a batch. List
/// resolvers charge the page they ask for before asking.
#[derive(Clone)]
pub struct RecordBudget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl RecordBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            used: Arc::default(),
            limit,
        }
    }

    /// Takes `records` from the budget, or refuses (taking nothing) when they do not fit.
    pub fn charge(&self, records: usize) -> async_graphql::Result<()> {
        let fits = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(records)
                    .filter(|total| *total <= self.limit)
            })
            .is_ok();
        if fits {
            return Ok(());
        }
        Err(async_graphql::Error::new(format!(
            "the request asks for more than {} records (bots and log records, every operation \
             of a batch together); ask for smaller pages",
            self.limit
        ))
        .extend_with(|_, extensions| extensions.set("code", LIMIT_EXCEEDED)))
    }
}

/// Charges `records` to the request's budget, when it has one.
pub fn charge(ctx: &async_graphql::Context<'_>, records: usize) -> async_graphql::Result<()> {
    match ctx.data_opt::<RecordBudget>() {
        Some(budget) => budget.charge(records),
        None => Ok(()),
    }
}

/// The response bytes one request may still send; `admit` replaces a body that does not fit
/// with a `LIMIT_EXCEEDED` error (a query's answer only: it changed nothing).
pub struct ResponseBudget {
    left: usize,
    limit: usize,
}

impl ResponseBudget {
    pub fn new(limit: usize) -> Self {
        Self { left: limit, limit }
    }

    pub fn admit(&mut self, body: String) -> String {
        if body.len() <= self.left {
            self.left -= body.len();
            return body;
        }
        let mut errors = vec![serde_json::json!({
            "message": format!(
                "the response is larger than the limit of {} bytes (every operation of a batch \
                 together); ask for fewer records or fields",
                self.limit
            ),
            "extensions": {"code": LIMIT_EXCEEDED},
        })];
        crate::request_id::name_in_errors(&mut errors, &crate::request_id::for_errors());
        serde_json::json!({ "errors": errors }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_multiply_and_saturate() {
        assert_eq!(page(100, 100, 7), 701);
        assert_eq!(page(-5, 100, 7), 8);
        assert_eq!(page(i32::MAX, 500, usize::MAX), usize::MAX);
    }

    #[test]
    fn the_record_budget_is_shared_and_refuses_without_taking() {
        let budget = RecordBudget::new(100);
        let other = budget.clone();
        budget.charge(60).unwrap();
        assert!(other.charge(50).is_err());
        other.charge(40).unwrap();
        assert!(budget.charge(1).is_err());
    }

    #[test]
    fn the_response_budget_replaces_what_does_not_fit() {
        let mut budget = ResponseBudget::new(10);
        assert_eq!(budget.admit("12345".into()), "12345");
        assert!(budget.admit("123456".into()).contains(LIMIT_EXCEEDED));
        assert_eq!(budget.admit("12345".into()), "12345");
    }
}
