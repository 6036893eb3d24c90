//! The DataSpace operations the gateway uses: typed GraphQL operations generated from
//! `schema.graphql` and `queries/*.graphql` (one file per class), the domain-neutral structs
//! they convert to, and the typed methods of [`DataSpaceClient`](super::DataSpaceClient) built on them.
//!
//! Rules every method follows:
//! - caller values reach a `cond` only as `@strExpr` variables, never as text;
//! - every write is a packet with an idempotence key (the caller's, or a fresh UUID v4), so it is
//!   sent with [`Retry::Safe`](super::client::Retry::Safe) and a retried write lands once.

use super::error::DataSpaceError;
use chrono::{DateTime, Utc};

/// `Long` of the schema, as the generated code expects it in scope.
pub type Long = i64;
/// `_DateTime` of the schema: `2020-02-22T11:49:10.123`, UTC without a zone.
#[allow(non_camel_case_types)]
pub type _DateTime = String;

/// Implements `From<source>` for `target` by moving each named field across: graphql_client
/// generates one copy of a fragment's struct per operation, all with the same fields.
macro_rules! convert_fields {
    ($target:ty, $fields:tt from $($source:ty),+ $(,)?) => {
        $(convert_fields!(@one $target, $fields, $source);)+
    };
    (@one $target:ty, { $($field:ident),* $(,)? }, $source:ty) => {
        impl From<$source> for $target {
            fn from(value: $source) -> Self {
                Self { $($field: value.$field),* }
            }
        }
    };
}

/// Converts [`SortBy`] into each search operation's generated sort input.
macro_rules! sort_input {
    ($($module:ident),+ $(,)?) => {
        $(
            impl From<$crate::dataspace::operations::SortBy>
                for $module::_SortCriterionSpecification
            {
                fn from(sort: $crate::dataspace::operations::SortBy) -> Self {
                    Self {
                        crit: sort.crit,
                        order: Some(if sort.descending {
                            $module::_SortOrder::DESC
                        } else {
                            $module::_SortOrder::ASC
                        }),
                        nulls_last: sort.nulls_last,
                    }
                }
            }
        )+
    };
}

pub mod audit_event;
pub mod bot;
pub mod chat_subscription;
pub mod delivery;
pub mod delivery_upkeep;
pub mod ingest;
pub mod log_record;
pub mod log_user;
pub mod telegram_offset;
#[cfg(any(test, feature = "test-support"))]
mod test_support;

pub use audit_event::{AuditEvent, AuditEventUpdate, NewAuditEvent};
pub use bot::{Bot, BotUpdate, NewBot};
pub use chat_subscription::{ChatSubscription, ChatSubscriptionUpdate, NewChatSubscription};
pub use delivery::{Delivery, DeliveryUpdate, NewDelivery};
pub use delivery_upkeep::ChatMigration;
pub use ingest::StoredBatch;
pub use log_record::{LogRecord, LogRecordFilter, LogRecordPage, LogRecordUpdate, NewLogRecord};
pub use log_user::{LogUser, LogUserUpdate, NewLogUser};

/// A generic search. `cond` is trusted text written by the program (see PROTOCOLS.md section 2):
/// a value that came from a caller must go through one of the dedicated `find_*` methods,
/// which pass it as an `@strExpr` variable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub cond: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub sort: Vec<SortBy>,
}

/// One sort criterion, e.g. `SortBy::desc("it.createdAt")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortBy {
    pub crit: String,
    pub descending: bool,
    pub nulls_last: Option<bool>,
}

impl SortBy {
    pub fn asc(crit: impl Into<String>) -> Self {
        Self {
            crit: crit.into(),
            descending: false,
            nulls_last: None,
        }
    }

    pub fn desc(crit: impl Into<String>) -> Self {
        Self {
            crit: crit.into(),
            descending: true,
            nulls_last: None,
        }
    }
}

/// One page of a search: the elements and the number of all elements matching the condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub elems: Vec<T>,
    pub count: i64,
}

impl<T> Page<T> {
    fn convert<S: Into<T>>(elems: Vec<S>, count: i64) -> Self {
        Self {
            elems: elems.into_iter().map(Into::into).collect(),
            count,
        }
    }
}

/// The `sort` variable of a search: absent when there is no criterion.
fn sort_variable<T: From<SortBy>>(sort: Vec<SortBy>) -> Option<Vec<T>> {
    (!sort.is_empty()).then(|| sort.into_iter().map(Into::into).collect())
}

/// The caller's idempotence key, or a fresh UUID v4: every write carries one so it can be retried.
pub fn idempotency_key(key: Option<&str>) -> String {
    match key {
        Some(key) => key.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// Formats a time as DataSpace's `_DateTime` (UTC, milliseconds, no zone).
pub fn format_datetime(at: DateTime<Utc>) -> String {
    crate::datetime_text::format(at.naive_utc())
}

/// Parses a `_DateTime` (fractional seconds optional) as UTC.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    crate::datetime_text::parse(text).map(|naive| naive.and_utc())
}

/// The current time as a `_DateTime`.
pub fn now() -> String {
    format_datetime(Utc::now())
}

/// A packet field that must be present when the packet carried no error.
fn required<T>(value: Option<T>, what: &str) -> Result<T, DataSpaceError> {
    value.ok_or_else(|| DataSpaceError::Invalid(format!("the packet returned no {what}")))
}

/// The answer of `deleteX`, which is `"success"` when the object was deleted.
#[cfg(any(test, feature = "test-support"))]
fn deleted(answer: Option<String>, what: &str) -> Result<(), DataSpaceError> {
    match answer.as_deref() {
        Some("success") => Ok(()),
        other => Err(DataSpaceError::Invalid(format!(
            "deleting {what} answered {other:?} instead of \"success\""
        ))),
    }
}

/// Writes a redacted Debug field for a secret-bearing value.
struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn datetimes_round_trip_in_dataspace_format() {
        let at = Utc.with_ymd_and_hms(2020, 2, 22, 11, 49, 10).unwrap()
            + chrono::TimeDelta::milliseconds(123);
        assert_eq!(format_datetime(at), "2020-02-22T11:49:10.123");
        assert_eq!(parse_datetime("2020-02-22T11:49:10.123"), Some(at));
        assert_eq!(
            parse_datetime("2020-02-22T11:49:10"),
            Some(at - chrono::TimeDelta::milliseconds(123))
        );
        assert_eq!(parse_datetime("22.02.2020"), None);
    }

    #[test]
    fn a_missing_key_becomes_a_fresh_uuid() {
        assert_eq!(idempotency_key(Some("mine")), "mine");
        let first = idempotency_key(None);
        let second = idempotency_key(None);
        assert_ne!(first, second);
        assert_eq!(uuid::Uuid::parse_str(&first).unwrap().get_version_num(), 4);
    }

    #[test]
    fn delete_answers_other_than_success_are_invalid() {
        assert_eq!(deleted(Some("success".into()), "bot"), Ok(()));
        assert!(matches!(
            deleted(None, "bot"),
            Err(DataSpaceError::Invalid(_))
        ));
    }
}
