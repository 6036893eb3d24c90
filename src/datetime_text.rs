//! The text of DataSpace's `_DateTime`, `YYYY-MM-DDTHH:MM:SS.mmm` (UTC, no zone), which both the
//! client and the embedded DataSpace write for every record's times. Written field by field:
//! chrono's `format` reads its format string again on every call, and that was 4-5% of an
//! ingest's CPU (perf of `/send_logs` at c=50, 2026-12-04).

use chrono::{Datelike, NaiveDateTime, Timelike};
use std::fmt::Write;

/// The same text as chrono's `%Y-%m-%dT%H:%M:%S%.3f`.
pub fn format(time: NaiveDateTime) -> String {
    let nanosecond = time.nanosecond();
    // Years outside 0..=9999 take a sign, and a leap second shows as :60; chrono knows how.
    if !(0..=9999).contains(&time.year()) || nanosecond >= 1_000_000_000 {
        return time.format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
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
            assert_eq!(
                format(time),
                time.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
                "{time:?}"
            );
        }
    }
}
