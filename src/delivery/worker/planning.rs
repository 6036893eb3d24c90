//! What a chat gets this time: its deliveries in order, a digest of its backlog, or the
//! summary of what waited during a mute; nothing while it is muted.

use super::WorkerOptions;
use crate::dataspace::operations::{ChatSubscription, Delivery, parse_datetime};
use crate::delivery::floods::DigestKind;
use chrono::Utc;

/// How a chat's waiting deliveries go out this time.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// In order, several to a message when they fit (coalescing), else one by one.
    InOrder,
    /// One digest for the chat's backlog; with `before`, of what was queued before a mute
    /// ended (the mute's summary).
    Digest {
        kind: DigestKind,
        before: Option<String>,
    },
}

/// What a chat gets this time; `None` while it is muted (its records wait, counted).
pub(super) fn plan(
    options: &WorkerOptions,
    list: &[Delivery],
    subscription: Option<&ChatSubscription>,
    now: chrono::DateTime<Utc>,
) -> Option<Plan> {
    let head = &list[0];
    if let Some(subscription) = subscription {
        if subscription.is_muted(now) {
            return None;
        }
        // Queued before the mute ended: the mute's summary is owed.
        if let Some(until) = subscription
            .muted_until
            .as_deref()
            .filter(|until| head.created_at.as_str() < *until)
        {
            return Some(Plan::Digest {
                kind: DigestKind::MuteSummary,
                before: Some(until.to_owned()),
            });
        }
    }
    let waited = parse_datetime(&head.created_at)
        .and_then(|created| (now - created).to_std().ok())
        .unwrap_or_default();
    if list.len() > options.digest_after || waited > options.digest_after_wait {
        return Some(Plan::Digest {
            kind: DigestKind::Backlog,
            before: None,
        });
    }
    Some(Plan::InOrder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::dataspace::operations::format_datetime;

    fn waiting(created: chrono::DateTime<Utc>, count: usize) -> Vec<Delivery> {
        (0..count)
            .map(|index| Delivery {
                id: index.to_string(),
                agg_version: 1,
                record: index.to_string(),
                bot: "1".into(),
                subscription: "9".into(),
                chat_id: "-1".into(),
                status: "PENDING".into(),
                attempts: 0,
                parts_sent: 0,
                next_attempt_at: format_datetime(created),
                lease_owner: None,
                lease_until: None,
                last_error: None,
                created_at: format_datetime(created),
                sent_at: None,
                thread_id: None,
            })
            .collect()
    }

    fn muted(since: chrono::DateTime<Utc>, until: chrono::DateTime<Utc>) -> ChatSubscription {
        ChatSubscription {
            id: "9".into(),
            agg_version: 2,
            bot: "1".into(),
            chat_id: "-1".into(),
            subscriber_uid: None,
            min_level: "INFO".into(),
            active: true,
            created_at: format_datetime(since),
            thread_id: None,
            muted_until: Some(format_datetime(until)),
            muted_since: Some(format_datetime(since)),
        }
    }

    #[test]
    fn a_chat_gets_in_order_a_digest_or_its_mute_summary() {
        let options = WorkerOptions::from_settings(&Settings::default().delivery);
        let now = Utc::now();
        let minute = chrono::TimeDelta::minutes(1);
        assert_eq!(
            plan(&options, &waiting(now, 3), None, now),
            Some(Plan::InOrder)
        );
        let backlog = Some(Plan::Digest {
            kind: DigestKind::Backlog,
            before: None,
        });
        assert_eq!(
            plan(&options, &waiting(now, 21), None, now),
            backlog,
            "over digest_after"
        );
        assert_eq!(
            plan(&options, &waiting(now - minute * 3, 1), None, now),
            backlog,
            "waited over digest_after_wait"
        );
        let held = muted(now - minute * 10, now + minute * 50);
        assert_eq!(
            plan(&options, &waiting(now - minute, 500), Some(&held), now),
            None,
            "muted"
        );
        // Expired (or /unmute): what was queued before the end gets the summary.
        let ended = muted(now - minute * 60, now - minute);
        assert_eq!(
            plan(&options, &waiting(now - minute * 2, 2), Some(&ended), now),
            Some(Plan::Digest {
                kind: DigestKind::MuteSummary,
                before: ended.muted_until.clone(),
            })
        );
        // Queued after it ended: business as usual.
        assert_eq!(
            plan(&options, &waiting(now, 2), Some(&ended), now),
            Some(Plan::InOrder)
        );
    }
}
