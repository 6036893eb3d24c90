//! The `log_info` text of a LOGGER_INFO message: `request id | DD.MM.YYYY HH:MM | status code`.

use crate::domain::event_time::parse_event_time;
use crate::domain::record::{MAX_REQUEST_ID_CHARS, NewLogRecord};
use crate::domain::{FieldError, LogLevel};
use chrono::NaiveDateTime;

/// A parsed `log_info`: which request, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerInfo {
    request_id: String,
    event_at: NaiveDateTime,
    status_code: u16,
}

impl LoggerInfo {
    /// Parses `request id | DD.MM.YYYY HH:MM | status code`; each field is trimmed. The time
    /// also accepts ISO 8601 (see [`parse_event_time`]). Errors name the field as
    /// `log_info.<field>`.
    pub fn parse(log_info: &str) -> Result<LoggerInfo, FieldError> {
        let fields: Vec<&str> = log_info.split('|').map(str::trim).collect();
        let [request_id, event_at, status_code] = fields[..] else {
            return Err(FieldError::new(
                "log_info",
                format!(
                    "expected 3 fields separated by '|' (request id | DD.MM.YYYY HH:MM | \
                     status code), got {}",
                    fields.len()
                ),
            ));
        };

        if request_id.is_empty() {
            return Err(FieldError::new("log_info.request_id", "must not be empty"));
        }
        let count = request_id.chars().count();
        if count > MAX_REQUEST_ID_CHARS {
            return Err(FieldError::new(
                "log_info.request_id",
                format!("must be at most {MAX_REQUEST_ID_CHARS} characters, got {count}"),
            ));
        }
        if request_id.chars().any(char::is_control) {
            return Err(FieldError::new(
                "log_info.request_id",
                "must not contain control characters",
            ));
        }

        let event_at = if event_at.is_empty() {
            return Err(FieldError::new(
                "log_info.event_at",
                "must not be empty; expected DD.MM.YYYY HH:MM",
            ));
        } else {
            parse_event_time(event_at).map_err(|e| e.within("log_info"))?
        };

        let status_code = match status_code.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => code,
            _ => {
                let shown: String = status_code.chars().take(16).collect();
                return Err(FieldError::new(
                    "log_info.status_code",
                    format!("expected an HTTP status from 100 to 599, got '{shown}'"),
                ));
            }
        };

        Ok(LoggerInfo {
            request_id: request_id.to_owned(),
            event_at,
            status_code,
        })
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// When the request happened, UTC.
    pub fn event_at(&self) -> NaiveDateTime {
        self.event_at
    }

    pub fn status_code(&self) -> u16 {
        self.status_code
    }

    /// The level the status code implies: 5xx ERROR, 4xx WARNING, else INFO.
    pub fn level(&self) -> LogLevel {
        LogLevel::from_status_code(self.status_code)
    }

    /// The record's message: the fields in their canonical form, `RP123 | 14.08.2022 15:00 | 200`.
    pub fn message(&self) -> String {
        format!(
            "{} | {} | {}",
            self.request_id,
            self.event_at.format("%d.%m.%Y %H:%M"),
            self.status_code
        )
    }

    /// The log record this message stands for (for the bot named by `bot_type`).
    pub fn into_record(self) -> Result<NewLogRecord, FieldError> {
        NewLogRecord::builder(self.level(), self.message())
            .event_at(self.event_at)
            .request_id(self.request_id)
            .status_code(self.status_code)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    #[test]
    fn parses_the_documented_example() {
        let info = LoggerInfo::parse("RP123| 14.08.2022 15:00| 200").unwrap();
        assert_eq!(info.request_id(), "RP123");
        assert_eq!(info.event_at(), at(2022, 8, 14, 15, 0));
        assert_eq!(info.status_code(), 200);
        assert_eq!(info.level(), LogLevel::Info);
        assert_eq!(info.message(), "RP123 | 14.08.2022 15:00 | 200");
    }

    #[test]
    fn trims_every_field() {
        let info = LoggerInfo::parse("  RP 9 \t|14.08.2022 15:00   |\n503 ").unwrap();
        assert_eq!(info.request_id(), "RP 9");
        assert_eq!(info.status_code(), 503);
        assert_eq!(info.level(), LogLevel::Error);
    }

    #[test]
    fn level_follows_status() {
        for (code, level) in [
            ("100", LogLevel::Info),
            ("302", LogLevel::Info),
            ("400", LogLevel::Warning),
            ("404", LogLevel::Warning),
            ("500", LogLevel::Error),
            ("599", LogLevel::Error),
        ] {
            let info = LoggerInfo::parse(&format!("r|14.08.2022 15:00|{code}")).unwrap();
            assert_eq!(info.level(), level, "{code}");
        }
    }

    #[test]
    fn accepts_iso_time_too() {
        let info = LoggerInfo::parse("r | 2022-08-14T15:00:00+03:00 | 200").unwrap();
        assert_eq!(info.event_at(), at(2022, 8, 14, 12, 0));
    }

    #[test]
    fn unicode_request_id() {
        let info = LoggerInfo::parse("запрос№1 | 14.08.2022 15:00 | 201").unwrap();
        assert_eq!(info.request_id(), "запрос№1");
        let max = "я".repeat(128);
        assert!(LoggerInfo::parse(&format!("{max}|14.08.2022 15:00|200")).is_ok());
    }

    #[test]
    fn wrong_field_count() {
        for bad in [
            "",
            "RP123",
            "RP123 | 14.08.2022 15:00",
            "RP123 | 14.08.2022 15:00 | 200 | extra",
            "a|b|c|d|e",
        ] {
            let err = LoggerInfo::parse(bad).unwrap_err();
            assert_eq!(err.field(), "log_info", "{bad:?}");
            assert!(
                err.to_string()
                    .starts_with("log_info: expected 3 fields separated by '|'"),
                "{err}"
            );
        }
        assert!(
            LoggerInfo::parse("a|b")
                .unwrap_err()
                .to_string()
                .ends_with("got 2")
        );
    }

    #[test]
    fn bad_request_id() {
        let err = LoggerInfo::parse(" | 14.08.2022 15:00 | 200").unwrap_err();
        assert_eq!(err.to_string(), "log_info.request_id: must not be empty");
        let err =
            LoggerInfo::parse(&format!("{}|14.08.2022 15:00|200", "r".repeat(129))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "log_info.request_id: must be at most 128 characters, got 129"
        );
        let err = LoggerInfo::parse("a\u{1}b|14.08.2022 15:00|200").unwrap_err();
        assert_eq!(err.field(), "log_info.request_id");
    }

    #[test]
    fn bad_time() {
        let err = LoggerInfo::parse("RP1 |  | 200").unwrap_err();
        assert_eq!(
            err.to_string(),
            "log_info.event_at: must not be empty; expected DD.MM.YYYY HH:MM"
        );
        for bad in [
            "14.08.2022",
            "2022/08/14 15:00",
            "32.13.2022 15:00",
            "yesterday",
        ] {
            let err = LoggerInfo::parse(&format!("RP1 | {bad} | 200")).unwrap_err();
            assert_eq!(err.field(), "log_info.event_at", "{bad}");
            assert!(err.problem().contains("DD.MM.YYYY HH:MM"), "{err}");
        }
        let err = LoggerInfo::parse("RP1 | 14.08.1900 15:00 | 200").unwrap_err();
        assert_eq!(err.field(), "log_info.event_at");
        assert!(err.problem().contains("year"), "{err}");
    }

    #[test]
    fn bad_status_code() {
        for bad in [
            "",
            "abc",
            "99",
            "600",
            "2OO",
            "-200",
            "200.0",
            "70000",
            "２００",
        ] {
            let err = LoggerInfo::parse(&format!("RP1 | 14.08.2022 15:00 | {bad}")).unwrap_err();
            assert_eq!(err.field(), "log_info.status_code", "{bad:?}");
            assert!(err.problem().contains("100 to 599"), "{err}");
        }
    }

    #[test]
    fn becomes_a_record() {
        let info = LoggerInfo::parse("RP123| 14.08.2022 15:00| 404").unwrap();
        let record = info.into_record().unwrap();
        assert_eq!(record.level(), LogLevel::Warning);
        assert_eq!(record.message(), "RP123 | 14.08.2022 15:00 | 404");
        assert_eq!(record.request_id(), Some("RP123"));
        assert_eq!(record.status_code(), Some(404));
        assert_eq!(record.event_at(), Some(at(2022, 8, 14, 15, 0)));
    }
}
