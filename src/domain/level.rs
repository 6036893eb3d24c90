//! Log severity.

use crate::domain::FieldError;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use std::str::FromStr;

/// The severity of a log record, ordered from least to most severe.
///
/// Serialized as the upper-case name (`"WARNING"`). Deserialized from a name (any case, with the
/// aliases of [`LogLevel::parse_name`]) or from a Python logging number (`30`), the two forms
/// the clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
    ];

    /// A level by name, case-insensitive, surrounding white space ignored. Accepts `DEBUG`,
    /// `INFO`, `WARNING` (or `WARN`), `ERROR`, `CRITICAL` (or `FATAL`), as Python logging does.
    pub fn parse_name(name: &str) -> Result<Self, FieldError> {
        let trimmed = name.trim();
        let level = match trimmed.to_ascii_uppercase().as_str() {
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARNING" | "WARN" => LogLevel::Warning,
            "ERROR" => LogLevel::Error,
            "CRITICAL" | "FATAL" => LogLevel::Critical,
            _ => {
                let shown: String = trimmed.chars().take(32).collect();
                return Err(FieldError::new(
                    "level",
                    format!(
                        "unknown level '{shown}'; expected DEBUG, INFO, WARNING, ERROR or CRITICAL"
                    ),
                ));
            }
        };
        Ok(level)
    }

    /// A level from a Python logging number: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR,
    /// 50 CRITICAL. Numbers in between take the nearest lower level (35 is WARNING), 0 to 9
    /// (Python's NOTSET) are DEBUG, anything above 50 is CRITICAL; negatives are refused.
    pub fn from_number(number: i64) -> Result<Self, FieldError> {
        let level = match number {
            i64::MIN..=-1 => {
                return Err(FieldError::new(
                    "level",
                    format!("a level number must not be negative, got {number}"),
                ));
            }
            0..=19 => LogLevel::Debug,
            20..=29 => LogLevel::Info,
            30..=39 => LogLevel::Warning,
            40..=49 => LogLevel::Error,
            _ => LogLevel::Critical,
        };
        Ok(level)
    }

    /// The level implied by an HTTP status code: 5xx ERROR, 4xx WARNING, anything else INFO.
    pub fn from_status_code(status: u16) -> Self {
        match status {
            500..=599 => LogLevel::Error,
            400..=499 => LogLevel::Warning,
            _ => LogLevel::Info,
        }
    }

    /// The upper-case name, as stored and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }

    /// The Python logging number of this level.
    pub fn number(self) -> i64 {
        match self {
            LogLevel::Debug => 10,
            LogLevel::Info => 20,
            LogLevel::Warning => 30,
            LogLevel::Error => 40,
            LogLevel::Critical => 50,
        }
    }

    /// Whether a record of this level passes a subscription whose minimum level is `min`.
    pub fn meets(self, min: LogLevel) -> bool {
        self >= min
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogLevel {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_name(s)
    }
}

impl Serialize for LogLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LevelVisitor;

        impl de::Visitor<'_> for LevelVisitor {
            type Value = LogLevel;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a level name (DEBUG, INFO, WARNING, ERROR, CRITICAL) or number")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<LogLevel, E> {
                LogLevel::parse_name(v).map_err(|e| E::custom(e.problem()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LogLevel, E> {
                LogLevel::from_number(v).map_err(|e| E::custom(e.problem()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LogLevel, E> {
                // Beyond i64 is still "above 50".
                LogLevel::from_number(i64::try_from(v).unwrap_or(i64::MAX))
                    .map_err(|e| E::custom(e.problem()))
            }
        }

        deserializer.deserialize_any(LevelVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_by_severity() {
        assert!(LogLevel::Debug < LogLevel::Info);
        assert!(LogLevel::Info < LogLevel::Warning);
        assert!(LogLevel::Warning < LogLevel::Error);
        assert!(LogLevel::Error < LogLevel::Critical);
        let mut shuffled = [
            LogLevel::Error,
            LogLevel::Debug,
            LogLevel::Critical,
            LogLevel::Info,
            LogLevel::Warning,
        ];
        shuffled.sort();
        assert_eq!(shuffled, LogLevel::ALL);
    }

    #[test]
    fn parses_names_in_any_case() {
        let table = [
            ("DEBUG", LogLevel::Debug),
            ("debug", LogLevel::Debug),
            ("Info", LogLevel::Info),
            ("WARNING", LogLevel::Warning),
            ("warn", LogLevel::Warning),
            ("WaRn", LogLevel::Warning),
            ("error", LogLevel::Error),
            ("CRITICAL", LogLevel::Critical),
            ("fatal", LogLevel::Critical),
            ("  info \n", LogLevel::Info),
        ];
        for (name, want) in table {
            assert_eq!(LogLevel::parse_name(name), Ok(want), "{name:?}");
            assert_eq!(name.parse::<LogLevel>(), Ok(want), "{name:?}");
        }
    }

    #[test]
    fn refuses_unknown_names() {
        for bad in ["", "  ", "notice", "ERR", "WARNINGS", "trace", "ИНФО", "10"] {
            let err = LogLevel::parse_name(bad).unwrap_err();
            assert_eq!(err.field(), "level");
            assert!(err.problem().contains("unknown level"), "{err}");
        }
    }

    #[test]
    fn unknown_name_is_shown_shortened() {
        let long = "x".repeat(500);
        let err = LogLevel::parse_name(&long).unwrap_err();
        assert!(err.to_string().len() < 150, "{err}");
    }

    #[test]
    fn maps_python_numbers() {
        let table = [
            (0, LogLevel::Debug),
            (1, LogLevel::Debug),
            (9, LogLevel::Debug),
            (10, LogLevel::Debug),
            (19, LogLevel::Debug),
            (20, LogLevel::Info),
            (25, LogLevel::Info),
            (29, LogLevel::Info),
            (30, LogLevel::Warning),
            (35, LogLevel::Warning),
            (39, LogLevel::Warning),
            (40, LogLevel::Error),
            (45, LogLevel::Error),
            (49, LogLevel::Error),
            (50, LogLevel::Critical),
            (60, LogLevel::Critical),
            (1000, LogLevel::Critical),
            (i64::MAX, LogLevel::Critical),
        ];
        for (number, want) in table {
            assert_eq!(LogLevel::from_number(number), Ok(want), "{number}");
        }
    }

    #[test]
    fn refuses_negative_numbers() {
        for bad in [-1, -10, i64::MIN] {
            let err = LogLevel::from_number(bad).unwrap_err();
            assert_eq!(err.field(), "level");
            assert!(err.problem().contains("negative"), "{err}");
        }
    }

    #[test]
    fn number_round_trips() {
        for level in LogLevel::ALL {
            assert_eq!(LogLevel::from_number(level.number()), Ok(level));
            assert_eq!(LogLevel::parse_name(level.as_str()), Ok(level));
        }
    }

    #[test]
    fn maps_status_codes() {
        let table = [
            (100, LogLevel::Info),
            (200, LogLevel::Info),
            (204, LogLevel::Info),
            (301, LogLevel::Info),
            (399, LogLevel::Info),
            (400, LogLevel::Warning),
            (404, LogLevel::Warning),
            (499, LogLevel::Warning),
            (500, LogLevel::Error),
            (503, LogLevel::Error),
            (599, LogLevel::Error),
            (600, LogLevel::Info),
            (0, LogLevel::Info),
        ];
        for (status, want) in table {
            assert_eq!(LogLevel::from_status_code(status), want, "{status}");
        }
    }

    #[test]
    fn names_are_upper_case() {
        let names: Vec<_> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(names, ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);
        assert_eq!(LogLevel::Warning.to_string(), "WARNING");
    }

    #[test]
    fn meets_minimum() {
        assert!(LogLevel::Error.meets(LogLevel::Warning));
        assert!(LogLevel::Warning.meets(LogLevel::Warning));
        assert!(!LogLevel::Info.meets(LogLevel::Warning));
        for level in LogLevel::ALL {
            assert!(level.meets(LogLevel::Debug));
            assert_eq!(level.meets(LogLevel::Critical), level == LogLevel::Critical);
        }
    }

    #[test]
    fn serde_uses_upper_case_names() {
        assert_eq!(
            serde_json::to_string(&LogLevel::Critical).unwrap(),
            "\"CRITICAL\""
        );
        let levels: Vec<LogLevel> = serde_json::from_str(r#"["warning","WARN",40,50,35]"#).unwrap();
        assert_eq!(
            levels,
            [
                LogLevel::Warning,
                LogLevel::Warning,
                LogLevel::Error,
                LogLevel::Critical,
                LogLevel::Warning
            ]
        );
        for level in LogLevel::ALL {
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(serde_json::from_str::<LogLevel>(&json).unwrap(), level);
        }
    }

    #[test]
    fn serde_refuses_bad_values() {
        for bad in [r#""loud""#, "-5", "true", "null", "2.5", "{}"] {
            assert!(serde_json::from_str::<LogLevel>(bad).is_err(), "{bad}");
        }
        let err = serde_json::from_str::<LogLevel>(r#""loud""#).unwrap_err();
        assert!(err.to_string().contains("unknown level"), "{err}");
    }
}
