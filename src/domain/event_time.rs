//! Event times as the doors receive them, into the UTC time a record stores.

use crate::domain::FieldError;
use chrono::{DateTime, Datelike, NaiveDateTime};

/// Earliest and latest year of an event time; anything outside is a broken clock or a typo.
pub const EVENT_YEARS: std::ops::RangeInclusive<i32> = 1970..=2100;

/// Parses an event time into UTC (the stored `_DateTime` has no zone and means UTC).
///
/// Accepted, surrounding white space ignored:
/// - ISO 8601 date and time, separated by `T` or a space, seconds and a fraction optional:
///   `2022-08-14T15:00:00.123456`, `2022-08-14 15:00`; without a zone it is UTC already;
/// - the same with a zone, `Z` or `±HH:MM` / `±HHMM` / `±HH`, converted to UTC;
/// - `DD.MM.YYYY HH:MM` (seconds optional), UTC, as LOGGER_INFO sends it.
///
/// The year must be within [`EVENT_YEARS`].
pub fn parse_event_time(text: &str) -> Result<NaiveDateTime, FieldError> {
    const FIELD: &str = "event_at";
    let text = text.trim();
    let parsed = parse_iso(text).or_else(|| parse_dotted(text));
    match parsed {
        Some(at) => check_event_year(at),
        None => {
            let shown: String = text.chars().take(40).collect();
            Err(FieldError::new(
                FIELD,
                format!(
                    "expected an ISO 8601 time such as 2022-08-14T15:00:00 (a zone is optional) \
                     or DD.MM.YYYY HH:MM, got '{shown}'"
                ),
            ))
        }
    }
}

fn parse_iso(text: &str) -> Option<NaiveDateTime> {
    // Accept a space (or a lower-case t) between date and time: normalize it to `T`.
    let bytes = text.as_bytes();
    if bytes.len() < 16 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let mut normal = String::with_capacity(text.len() + 5);
    normal.push_str(&text[..10]);
    normal.push('T');
    normal.push_str(&text[11..]);
    if let Some(stripped) = normal
        .strip_suffix('Z')
        .or_else(|| normal.strip_suffix('z'))
    {
        return parse_naive_iso(stripped);
    }
    parse_naive_iso(&normal).or_else(|| parse_offset_iso(&normal))
}

fn parse_naive_iso(text: &str) -> Option<NaiveDateTime> {
    crate::datetime_text::parse(text)
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok())
}

fn parse_offset_iso(text: &str) -> Option<NaiveDateTime> {
    // `%#z` reads `+03`, `+0300` and `+03:00`.
    ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"]
        .iter()
        .find_map(|format| DateTime::parse_from_str(text, format).ok())
        .map(|at| at.naive_utc())
}

fn parse_dotted(text: &str) -> Option<NaiveDateTime> {
    ["%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

pub(super) fn check_event_year(at: NaiveDateTime) -> Result<NaiveDateTime, FieldError> {
    if EVENT_YEARS.contains(&at.year()) {
        Ok(at)
    } else {
        Err(FieldError::new(
            "event_at",
            format!(
                "the year must be from {} to {}, got {}",
                EVENT_YEARS.start(),
                EVENT_YEARS.end(),
                at.year()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
    }

    #[test]
    fn parses_iso_without_zone_as_utc() {
        let table = [
            ("2022-08-14T15:00:00", at(2022, 8, 14, 15, 0, 0)),
            ("2022-08-14 15:00:00", at(2022, 8, 14, 15, 0, 0)),
            ("2022-08-14t15:00:00", at(2022, 8, 14, 15, 0, 0)),
            ("2022-08-14T15:00", at(2022, 8, 14, 15, 0, 0)),
            ("2022-08-14 15:07", at(2022, 8, 14, 15, 7, 0)),
            ("  2022-08-14T15:00:59 \n", at(2022, 8, 14, 15, 0, 59)),
            ("1970-01-01T00:00:00", at(1970, 1, 1, 0, 0, 0)),
            ("2100-12-31T23:59:59", at(2100, 12, 31, 23, 59, 59)),
        ];
        for (text, want) in table {
            assert_eq!(parse_event_time(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn parses_fractions() {
        let base = at(2020, 2, 22, 11, 49, 10);
        let table = [
            ("2020-02-22T11:49:10.123", 123_000_000),
            ("2020-02-22T11:49:10.123456", 123_456_000),
            ("2020-02-22 11:49:10.5", 500_000_000),
            ("2020-02-22T11:49:10.123456789", 123_456_789),
            ("2020-02-22T11:49:10.123Z", 123_000_000),
        ];
        for (text, nanos) in table {
            let want = base + chrono::Duration::nanoseconds(nanos);
            assert_eq!(parse_event_time(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn converts_zones_to_utc() {
        let table = [
            ("2022-08-14T15:00:00Z", at(2022, 8, 14, 15, 0, 0)),
            ("2022-08-14T15:00:00z", at(2022, 8, 14, 15, 0, 0)),
            ("2022-08-14T15:00:00+00:00", at(2022, 8, 14, 15, 0, 0)),
            ("2022-08-14T15:00:00+03:00", at(2022, 8, 14, 12, 0, 0)),
            ("2022-08-14 15:00:00+0300", at(2022, 8, 14, 12, 0, 0)),
            ("2022-08-14T15:00:00+03", at(2022, 8, 14, 12, 0, 0)),
            (
                "2022-08-14T15:00:00.250-05:30",
                at(2022, 8, 14, 20, 30, 0) + chrono::Duration::milliseconds(250),
            ),
            ("2022-08-14T01:00+05:00", at(2022, 8, 13, 20, 0, 0)),
            ("2022-12-31T23:30:00-01:00", at(2023, 1, 1, 0, 30, 0)),
        ];
        for (text, want) in table {
            assert_eq!(parse_event_time(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn parses_dotted_dates() {
        let table = [
            ("14.08.2022 15:00", at(2022, 8, 14, 15, 0, 0)),
            (" 14.08.2022 15:00 ", at(2022, 8, 14, 15, 0, 0)),
            ("14.08.2022 15:00:30", at(2022, 8, 14, 15, 0, 30)),
            ("01.01.1970 00:00", at(1970, 1, 1, 0, 0, 0)),
        ];
        for (text, want) in table {
            assert_eq!(parse_event_time(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn refuses_malformed_times() {
        for bad in [
            "",
            "now",
            "2022-08-14",
            "2022-08-14T",
            "2022-08-14T25:00:00",
            "2022-02-30T10:00:00",
            "2022-08-14T15:00:00+25:00",
            "2022-08-14T15:00:00 UTC",
            "14.08.2022",
            "14/08/2022 15:00",
            "32.08.2022 15:00",
            "1660489200",
            "2022-08-14T15:00:00Zjunk",
            "２０２２-08-14T15:00:00",
        ] {
            let err = parse_event_time(bad).unwrap_err();
            assert_eq!(err.field(), "event_at", "{bad:?}");
            assert!(err.problem().contains("expected"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn refuses_absurd_years() {
        for bad in [
            "1969-12-31T23:59:59",
            "2101-01-01T00:00:00",
            "01.01.0001 00:00",
            "1970-01-01T01:00:00+02:00",
        ] {
            let err = parse_event_time(bad).unwrap_err();
            assert!(
                err.problem().contains("year must be from 1970 to 2100"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn malformed_time_is_shown_shortened() {
        let err = parse_event_time(&"x".repeat(1000)).unwrap_err();
        assert!(err.to_string().len() < 200);
    }
}
