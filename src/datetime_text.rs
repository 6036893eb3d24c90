//! The text of DataSpace's `_DateTime`, `YYYY-MM-DDTHH:MM:SS.mmm` (UTC, no zone), which both the
//! client and the embedded DataSpace write and read for every record's times. Written and read
//! field by field: chrono's `format` and `parse_from_str` read their format string again on
//! every call, and that was 4-5% of an ingest's CPU, then 3% for the parse alone (perf of
//! `/send_logs` at c=50, 2026-12-04). Text of any other shape goes to chrono, so the results are
//! chrono's.

use chrono::{Datelike, NaiveDateTime, Timelike};
use std::fmt::Write;

/// chrono's format and parse pattern of a `_DateTime` (fractional seconds optional on parse).
const PATTERN: &str = "%Y-%m-%dT%H:%M:%S%.f";
const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f";

/// What chrono's `NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")` gives.
pub fn parse(text: &str) -> Option<NaiveDateTime> {
    match parse_canonical(text.as_bytes()) {
        Some(parsed) => parsed,
        None => NaiveDateTime::parse_from_str(text, PATTERN).ok(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS` with an optional `.` and 1 to 9 digits, every field of fixed width:
/// `Some` of its value (`None` inside for a date or time that does not exist), or `None` when
/// the text has another shape (chrono then reads it; a leap second, too).
fn parse_canonical(text: &[u8]) -> Option<Option<NaiveDateTime>> {
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        text.get(range)?.iter().try_fold(0u32, |value, byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if text.len() < 19 || separators.iter().any(|&(at, byte)| text[at] != byte) {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let nanosecond = match &text[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(20..text.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    if second > 59 {
        return None;
    }
    Some(
        chrono::NaiveDate::from_ymd_opt(year as i32, month, day)
            .and_then(|date| date.and_hms_nano_opt(hour, minute, second, nanosecond)),
    )
}

/// The same text as chrono's `%Y-%m-%dT%H:%M:%S%.3f`.
pub fn format(time: NaiveDateTime) -> String {
    let nanosecond = time.nanosecond();
    // Years outside 0..=9999 take a sign, and a leap second shows as :60; chrono knows how.
    if !(0..=9999).contains(&time.year()) || nanosecond >= 1_000_000_000 {
        return time.format(FORMAT).to_string();
    }
    let mut text = String::with_capacity(23);
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        nanosecond / 1_000_000
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeDelta};

    #[test]
    fn writes_what_chrono_writes() {
        let start = NaiveDate::from_ymd_opt(2026, 12, 4)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 999_999_999)
            .unwrap();
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap();
        let times = [
            start,
            start + TimeDelta::nanoseconds(1),
            NaiveDate::from_ymd_opt(1, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(0, 2, 29)
                .unwrap()
                .and_hms_opt(1, 2, 3)
                .unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .unwrap()
                .and_hms_milli_opt(23, 59, 59, 7)
                .unwrap(),
            NaiveDate::from_ymd_opt(10000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(-1, 6, 15)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap(),
            leap,
        ];
        for time in times {
            assert_eq!(format(time), time.format(FORMAT).to_string(), "{time:?}");
        }
    }

    #[test]
    fn reads_what_chrono_reads() {
        let texts = [
            "2026-12-04T19:30:01",
            "2026-12-04T19:30:01.5",
            "2026-12-04T19:30:01.123",
            "2026-12-04T19:30:01.123456789",
            "2026-12-04T19:30:01.1234567891",
            "2026-12-04T19:30:01.",
            "2026-12-04T19:30:60.000",
            "2016-12-31T23:59:60.5",
            "2026-02-30T00:00:00",
            "2026-13-01T00:00:00",
            "2026-12-04T24:00:00",
            "2026-12-04T23:60:00",
            "2026-1-04T19:30:01",
            "2026-12-04 19:30:01",
            "+2026-12-04T19:30:01",
            "12026-12-04T19:30:01",
            "0000-01-01T00:00:00",
            "2026-12-04T19:30:01Z",
            "2026-12-04T19:30:01.12x",
            "2026-12-04T19:30",
            "２026-12-04T19:30:01",
            "",
        ];
        for text in texts {
            assert_eq!(
                parse(text),
                NaiveDateTime::parse_from_str(text, PATTERN).ok(),
                "{text:?}"
            );
        }
        // Every millisecond text this module writes reads back as the same time.
        let mut time = NaiveDate::from_ymd_opt(2024, 2, 28)
            .unwrap()
            .and_hms_milli_opt(23, 59, 58, 999)
            .unwrap();
        for _ in 0..5000 {
            time += TimeDelta::milliseconds(997);
            assert_eq!(parse(&format(time)), Some(time));
        }
    }
}
