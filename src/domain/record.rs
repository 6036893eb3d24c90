//! A new log record, as a door hands it over to be stored and delivered. Every door builds
//! its records here, so the rules below are the only ones a record is held to.

use crate::domain::event_time::check_event_year;
use crate::domain::{FieldError, LogLevel};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// Longest message, in characters. Longer messages are refused by [`NewLogRecord`]; a door
/// that prefers to keep them shortens them first with [`truncate_message`].
pub const MAX_MESSAGE_CHARS: usize = 16_384;
/// Longest request id, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
/// Largest attributes object, in bytes of compact JSON.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
/// Longest `source.user_name`, in characters.
pub const MAX_USER_NAME_CHARS: usize = 128;
/// Longest `source.process_name`, in characters.
pub const MAX_PROCESS_NAME_CHARS: usize = 256;
/// Longest `source.process_description`, in characters.
pub const MAX_PROCESS_DESCRIPTION_CHARS: usize = 1024;

const ELLIPSIS: char = '…';

/// `msg` cut to at most `max_chars` characters: if it is longer, its first `max_chars - 1`
/// characters followed by `…` (never splitting a character). Shorter text is returned as is.
pub fn truncate_message(msg: &str, max_chars: usize) -> String {
    match msg.char_indices().nth(max_chars) {
        None => msg.to_owned(),
        Some(_) if max_chars == 0 => String::new(),
        Some(_) => {
            // Byte offset of the (max_chars - 1)th character: keep everything before it.
            let cut = msg
                .char_indices()
                .nth(max_chars - 1)
                .map_or(msg.len(), |(i, _)| i);
            let mut out = String::with_capacity(cut + ELLIPSIS.len_utf8());
            out.push_str(&msg[..cut]);
            out.push(ELLIPSIS);
            out
        }
    }
}

/// Where a record came from: the LoggerBot client's `user`, `pid`, `p_name`, `p_description`.
/// All optional; text is trimmed and an empty text counts as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSource {
    pub user_name: Option<String>,
    pub pid: Option<i64>,
    pub process_name: Option<String>,
    pub process_description: Option<String>,
}

impl LogSource {
    fn parse(self) -> Result<LogSource, FieldError> {
        if let Some(pid) = self.pid
            && pid < 0
        {
            return Err(FieldError::new(
                "source.pid",
                format!("must not be negative, got {pid}"),
            ));
        }
        Ok(LogSource {
            user_name: optional_text("source.user_name", self.user_name, MAX_USER_NAME_CHARS)?,
            pid: self.pid,
            process_name: optional_text(
                "source.process_name",
                self.process_name,
                MAX_PROCESS_NAME_CHARS,
            )?,
            process_description: optional_text(
                "source.process_description",
                self.process_description,
                MAX_PROCESS_DESCRIPTION_CHARS,
            )?,
        })
    }
}

/// Trimmed text, `None` when absent or empty; at most `max` characters, no control characters
/// other than tab and line breaks.
fn optional_text(
    field: &'static str,
    text: Option<String>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let Some(text) = text else { return Ok(None) };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let count = trimmed.chars().count();
    if count > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters, got {count}"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    }))
}

/// A log record that passed every check and is ready to be stored. Built with
/// [`NewLogRecord::builder`]. Which bot it goes to is the batch's (one ingest is for one
/// bot), and `receivedAt` is the storing side's business.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewLogRecord {
    level: LogLevel,
    message: String,
    /// `None`: the event time is the time the record is received.
    event_at: Option<NaiveDateTime>,
    request_id: Option<String>,
    status_code: Option<u16>,
    source: LogSource,
    attributes: serde_json::Map<String, serde_json::Value>,
}

impl NewLogRecord {
    /// Starts a record with its required parts; [`NewLogRecordBuilder::build`] checks them all.
    pub fn builder(level: LogLevel, message: impl Into<String>) -> NewLogRecordBuilder {
        NewLogRecordBuilder {
            level,
            message: message.into(),
            event_at: None,
            request_id: None,
            status_code: None,
            source: LogSource::default(),
            attributes: serde_json::Map::new(),
        }
    }

    pub fn level(&self) -> LogLevel {
        self.level
    }

    /// The message, trailing white space removed (leading indentation is kept).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// When the event happened, UTC; `None` when the sender did not say (then it is the time
    /// the record is received).
    pub fn event_at(&self) -> Option<NaiveDateTime> {
        self.event_at
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    pub fn status_code(&self) -> Option<u16> {
        self.status_code
    }

    pub fn source(&self) -> &LogSource {
        &self.source
    }

    pub fn attributes(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.attributes
    }
}

/// Collects a record's parts; nothing is checked until [`NewLogRecordBuilder::build`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct NewLogRecordBuilder {
    level: LogLevel,
    message: String,
    event_at: Option<NaiveDateTime>,
    request_id: Option<String>,
    /// Wider than the stored `u16`, so that a door passes what it got and `build` says what
    /// is wrong with it.
    status_code: Option<i64>,
    source: LogSource,
    attributes: serde_json::Map<String, serde_json::Value>,
}

impl NewLogRecordBuilder {
    pub fn event_at(mut self, event_at: NaiveDateTime) -> Self {
        self.event_at = Some(event_at);
        self
    }

    pub fn maybe_event_at(mut self, event_at: Option<NaiveDateTime>) -> Self {
        self.event_at = event_at;
        self
    }

    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    pub fn maybe_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn status_code(mut self, status_code: impl Into<i64>) -> Self {
        self.status_code = Some(status_code.into());
        self
    }

    pub fn maybe_status_code(mut self, status_code: Option<i64>) -> Self {
        self.status_code = status_code;
        self
    }

    pub fn source(mut self, source: LogSource) -> Self {
        self.source = source;
        self
    }

    pub fn attributes(mut self, attributes: serde_json::Map<String, serde_json::Value>) -> Self {
        self.attributes = attributes;
        self
    }

    /// Checks every part; the error names the first field that is wrong.
    pub fn build(self) -> Result<NewLogRecord, FieldError> {
        let message = self.message.trim_end();
        if message.trim_start().is_empty() {
            return Err(FieldError::new("message", "must not be empty"));
        }
        let count = message.chars().count();
        if count > MAX_MESSAGE_CHARS {
            return Err(FieldError::new(
                "message",
                format!("must be at most {MAX_MESSAGE_CHARS} characters, got {count}"),
            ));
        }
        let message = if message.len() == self.message.len() {
            self.message
        } else {
            message.to_owned()
        };

        let event_at = self.event_at.map(check_event_year).transpose()?;

        let request_id = match self.request_id {
            None => None,
            Some(id) => {
                let id = id.trim();
                let count = id.chars().count();
                if count > MAX_REQUEST_ID_CHARS {
                    return Err(FieldError::new(
                        "request_id",
                        format!("must be at most {MAX_REQUEST_ID_CHARS} characters, got {count}"),
                    ));
                }
                if id.chars().any(char::is_control) {
                    return Err(FieldError::new(
                        "request_id",
                        "must not contain control characters",
                    ));
                }
                (!id.is_empty()).then(|| id.to_owned())
            }
        };

        let status_code = match self.status_code {
            None => None,
            Some(code @ 100..=599) => Some(code as u16),
            Some(code) => {
                return Err(FieldError::new(
                    "status_code",
                    format!("must be an HTTP status from 100 to 599, got {code}"),
                ));
            }
        };

        let source = self.source.parse()?;

        if !self.attributes.is_empty() {
            // Serializing a Map of Values cannot fail.
            let size = serde_json::to_string(&self.attributes)
                .map(|json| json.len())
                .unwrap_or(usize::MAX);
            if size > MAX_ATTRIBUTES_BYTES {
                return Err(FieldError::new(
                    "attributes",
                    format!("must be at most {MAX_ATTRIBUTES_BYTES} bytes as JSON, got {size}"),
                ));
            }
        }

        Ok(NewLogRecord {
            level: self.level,
            message,
            event_at,
            request_id,
            status_code,
            source,
            attributes: self.attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
    }

    fn base() -> NewLogRecordBuilder {
        NewLogRecord::builder(LogLevel::Info, "hello").event_at(at(2022, 8, 14, 15, 0, 0))
    }

    /// A record of `message` that happened at `event_at`.
    fn record(message: impl Into<String>, event_at: NaiveDateTime) -> NewLogRecordBuilder {
        NewLogRecord::builder(LogLevel::Info, message).event_at(event_at)
    }

    // --- truncate_message ---

    #[test]
    fn truncate_keeps_short_messages() {
        assert_eq!(truncate_message("hello", 5), "hello");
        assert_eq!(truncate_message("hello", 100), "hello");
        assert_eq!(truncate_message("", 0), "");
        assert_eq!(truncate_message("", 3), "");
    }

    #[test]
    fn truncate_cuts_and_appends_ellipsis() {
        assert_eq!(truncate_message("hello world", 6), "hello…");
        assert_eq!(truncate_message("hello", 4), "hel…");
        assert_eq!(truncate_message("hello", 1), "…");
        assert_eq!(truncate_message("hello", 0), "");
        assert_eq!(truncate_message("hello!", 5).chars().count(), 5);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate_message("привет мир", 7), "привет…");
        assert_eq!(truncate_message("😀😀😀😀", 3), "😀😀…");
        assert_eq!(truncate_message("日本語テキスト", 7), "日本語テキスト");
        let long = "ж".repeat(MAX_MESSAGE_CHARS + 10);
        let cut = truncate_message(&long, MAX_MESSAGE_CHARS);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
        assert!(cut.ends_with('…'));
        // A truncated message is always accepted.
        assert!(record(cut, at(2022, 1, 1, 0, 0, 0)).build().is_ok());
    }

    // --- NewLogRecord ---

    #[test]
    fn builds_a_full_record() {
        let mut attrs = serde_json::Map::new();
        attrs.insert("k".into(), json!("v"));
        let record = base()
            .request_id("  RP123 ")
            .status_code(200)
            .source(LogSource {
                user_name: Some(" alice ".into()),
                pid: Some(4242),
                process_name: Some("worker".into()),
                process_description: Some("".into()),
            })
            .attributes(attrs.clone())
            .build()
            .unwrap();
        assert_eq!(record.level(), LogLevel::Info);
        assert_eq!(record.message(), "hello");
        assert_eq!(record.event_at(), Some(at(2022, 8, 14, 15, 0, 0)));
        assert_eq!(record.request_id(), Some("RP123"));
        assert_eq!(record.status_code(), Some(200));
        assert_eq!(record.source().user_name.as_deref(), Some("alice"));
        assert_eq!(record.source().pid, Some(4242));
        assert_eq!(record.source().process_name.as_deref(), Some("worker"));
        assert_eq!(record.source().process_description, None);
        assert_eq!(record.attributes(), &attrs);
    }

    #[test]
    fn builds_a_minimal_record() {
        let record = base().build().unwrap();
        assert_eq!(record.request_id(), None);
        assert_eq!(record.status_code(), None);
        assert_eq!(record.source(), &LogSource::default());
        assert!(record.attributes().is_empty());
        let none = base()
            .maybe_request_id(None)
            .maybe_status_code(None)
            .build()
            .unwrap();
        assert_eq!(none, record);
        assert_eq!(base().request_id("   ").build().unwrap().request_id(), None);
        let unknown_time = NewLogRecord::builder(LogLevel::Info, "m").build().unwrap();
        assert_eq!(unknown_time.event_at(), None);
    }

    #[test]
    fn message_rules() {
        for empty in ["", "   ", "\n\t"] {
            let err = record(empty, at(2022, 1, 1, 0, 0, 0)).build().unwrap_err();
            assert_eq!(err.to_string(), "message: must not be empty");
        }
        let keep = NewLogRecord::builder(LogLevel::Error, "  Traceback:\n    line 1\n")
            .event_at(at(2022, 1, 1, 0, 0, 0))
            .build()
            .unwrap();
        assert_eq!(keep.message(), "  Traceback:\n    line 1");

        let max = "ы".repeat(MAX_MESSAGE_CHARS);
        assert!(record(max.clone(), at(2022, 1, 1, 0, 0, 0)).build().is_ok());
        let err = record(format!("{max}ы"), at(2022, 1, 1, 0, 0, 0))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "message: must be at most 16384 characters, got 16385"
        );
        // Trailing white space does not count against the limit.
        assert!(
            record(format!("{max}\n\n"), at(2022, 1, 1, 0, 0, 0))
                .build()
                .is_ok()
        );
    }

    #[test]
    fn request_id_rules() {
        assert!(base().request_id("r".repeat(128)).build().is_ok());
        assert_eq!(
            base()
                .request_id("r".repeat(129))
                .build()
                .unwrap_err()
                .to_string(),
            "request_id: must be at most 128 characters, got 129"
        );
        assert_eq!(
            base().request_id("a\u{0}b").build().unwrap_err().field(),
            "request_id"
        );
        assert_eq!(
            base().request_id("запрос-1").build().unwrap().request_id(),
            Some("запрос-1")
        );
    }

    #[test]
    fn status_code_rules() {
        for ok in [100, 200, 404, 599] {
            assert_eq!(
                base().status_code(ok).build().unwrap().status_code(),
                Some(ok)
            );
        }
        for bad in [0, 99, 600, 999, i64::from(u16::MAX), -200, i64::MAX] {
            let err = base().status_code(bad).build().unwrap_err();
            assert_eq!(err.field(), "status_code");
            assert!(err.problem().contains("100 to 599"), "{err}");
        }
    }

    #[test]
    fn event_year_rules() {
        assert!(record("m", at(1970, 1, 1, 0, 0, 0)).build().is_ok());
        assert!(record("m", at(2100, 12, 31, 23, 59, 59)).build().is_ok());
        for y in [1969, 2101, 1] {
            let err = record("m", at(y, 6, 1, 0, 0, 0)).build().unwrap_err();
            assert_eq!(err.field(), "event_at");
        }
    }

    #[test]
    fn source_rules() {
        let err = base()
            .source(LogSource {
                pid: Some(-1),
                ..LogSource::default()
            })
            .build()
            .unwrap_err();
        assert_eq!(err.to_string(), "source.pid: must not be negative, got -1");
        let err = base()
            .source(LogSource {
                user_name: Some("u".repeat(129)),
                ..LogSource::default()
            })
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "source.user_name");
        let err = base()
            .source(LogSource {
                process_name: Some("bad\u{7}bell".into()),
                ..LogSource::default()
            })
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "source.process_name: must not contain control characters"
        );
        let ok = base()
            .source(LogSource {
                process_description: Some("multi\nline\tdescription".into()),
                pid: Some(0),
                ..LogSource::default()
            })
            .build()
            .unwrap();
        assert_eq!(
            ok.source().process_description.as_deref(),
            Some("multi\nline\tdescription")
        );
        assert!(
            base()
                .source(LogSource {
                    process_description: Some("d".repeat(1025)),
                    ..LogSource::default()
                })
                .build()
                .is_err()
        );
    }

    #[test]
    fn attributes_size_limit() {
        // {"k":"<v>"} is 8 bytes plus the value.
        let mut fits = serde_json::Map::new();
        fits.insert("k".into(), json!("v".repeat(MAX_ATTRIBUTES_BYTES - 8)));
        assert_eq!(
            serde_json::to_string(&fits).unwrap().len(),
            MAX_ATTRIBUTES_BYTES
        );
        assert!(base().attributes(fits).build().is_ok());

        let mut too_big = serde_json::Map::new();
        too_big.insert("k".into(), json!("v".repeat(MAX_ATTRIBUTES_BYTES - 7)));
        let err = base().attributes(too_big).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "attributes: must be at most 16384 bytes as JSON, got 16385"
        );
    }

    #[test]
    fn serializes_in_camel_case() {
        let record = base()
            .request_id("RP1")
            .status_code(503)
            .source(LogSource {
                pid: Some(1),
                ..LogSource::default()
            })
            .build()
            .unwrap();
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["eventAt"], "2022-08-14T15:00:00");
        assert_eq!(value["requestId"], "RP1");
        assert_eq!(value["statusCode"], 503);
        assert_eq!(value["source"]["pid"], 1);
        assert!(value["source"]["userName"].is_null());
    }
}
