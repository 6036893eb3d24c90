//! Log records as JSON, as the direct calls, queue signals and Web PubSub `sendlog` events carry
//! them. Field names are the GraphQL ones (`eventAt`), the snake_case ones (`event_at`) are
//! accepted too, and `msg` stands for `message` as in the LoggerBot client. Every error names
//! the field, with the path the caller used (`records[2].level`). The records are built and
//! checked by [`NewLogRecord::builder`], as every door's are.

use crate::domain::FieldError;
use crate::domain::event_time::parse_event_time;
use crate::domain::level::LogLevel;
use crate::domain::record::{LogSource, NewLogRecord};
use crate::json::kind;
use crate::service::{Ingested, LogbotService, ServiceError};
use serde_json::{Map, Value, json};

/// A field of `object` under any of `names` (the first present wins; `null` is absent).
pub(crate) fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|name| object.get(*name))
        .filter(|value| !value.is_null())
}

/// A string field under any of `names`; an error names `names[0]` after `path`.
pub(crate) fn text(
    object: &Map<String, Value>,
    names: &[&str],
    path: &str,
) -> Result<Option<String>, String> {
    string(object, names, path, false)
}

/// As [`text`], and a number is taken as its decimal text.
pub(crate) fn text_or_number(
    object: &Map<String, Value>,
    names: &[&str],
    path: &str,
) -> Result<Option<String>, String> {
    string(object, names, path, true)
}

fn string(
    object: &Map<String, Value>,
    names: &[&str],
    path: &str,
    numbers: bool,
) -> Result<Option<String>, String> {
    match field(object, names) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) if numbers => Ok(Some(number.to_string())),
        Some(other) => Err(format!(
            "{path}{}: must be a string, got {}",
            names[0],
            kind(other)
        )),
    }
}

pub(crate) fn integer(
    object: &Map<String, Value>,
    names: &[&str],
    path: &str,
) -> Result<Option<i64>, String> {
    match field(object, names) {
        None => Ok(None),
        Some(value) => match value.as_i64() {
            Some(number) => Ok(Some(number)),
            None => match value.as_str().map(str::trim).map(str::parse::<i64>) {
                Some(Ok(number)) => Ok(Some(number)),
                _ => Err(format!(
                    "{path}{}: must be an integer, got {}",
                    names[0],
                    kind(value)
                )),
            },
        },
    }
}

/// A level as the clients send it: a name (`"warning"`) or a Python logging number (`30`).
/// Errors start with `field`, the field's full path (`records[2].level`).
pub fn level(value: Option<&Value>, field: &str) -> Result<LogLevel, String> {
    let prefixed = |problem: String| format!("{field}: {problem}");
    match value {
        None | Some(Value::Null) => Ok(LogLevel::Info),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(number) => LogLevel::from_number(number).map_err(|e| prefixed(e.problem().into())),
            None => Err(prefixed(format!("{number} is not an integer level"))),
        },
        Some(Value::String(name)) => match name.trim().parse::<i64>() {
            Ok(number) => LogLevel::from_number(number).map_err(|e| prefixed(e.problem().into())),
            Err(_) => LogLevel::parse_name(name).map_err(|e| prefixed(e.problem().into())),
        },
        Some(other) => Err(prefixed(format!(
            "must be a level name or number, got {}",
            kind(other)
        ))),
    }
}

/// A record's refusal as a door words it: the field under the caller's `path` (`records[0].`).
pub(crate) fn refused_at(path: &str, error: FieldError) -> String {
    format!("{path}{error}")
}

/// One record. `path` prefixes field names in errors (e.g. `records[0].`).
pub fn record(value: &Value, path: &str) -> Result<NewLogRecord, String> {
    let Value::Object(object) = value else {
        let shown = path.trim_end_matches('.');
        let shown = if shown.is_empty() {
            "the record"
        } else {
            shown
        };
        return Err(format!("{shown}: must be an object, got {}", kind(value)));
    };
    let message = text(object, &["message", "msg"], path)?
        .ok_or_else(|| format!("{path}message: is required"))?;
    let event_at = match text(object, &["eventAt", "event_at"], path)? {
        Some(at) => Some(
            parse_event_time(&at).map_err(|error| format!("{path}eventAt: {}", error.problem()))?,
        ),
        None => None,
    };
    let status_code = integer(object, &["statusCode", "status_code"], path)?;
    let source = match field(object, &["source"]) {
        None => LogSource::default(),
        Some(Value::Object(source)) => {
            let inner = format!("{path}source.");
            LogSource {
                user_name: text(source, &["userName", "user_name", "user"], &inner)?,
                pid: integer(source, &["pid"], &inner)?,
                process_name: text(source, &["processName", "process_name", "p_name"], &inner)?,
                process_description: text(
                    source,
                    &["processDescription", "process_description", "p_description"],
                    &inner,
                )?,
            }
        }
        Some(other) => {
            return Err(format!(
                "{path}source: must be an object, got {}",
                kind(other)
            ));
        }
    };
    let attributes = match field(object, &["attributes"]) {
        None => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => {
            return Err(format!(
                "{path}attributes: must be an object, got {}",
                kind(other)
            ));
        }
    };
    let level = level(field(object, &["level"]), &format!("{path}level"))?;
    NewLogRecord::builder(level, message)
        .maybe_event_at(event_at)
        .maybe_request_id(text(object, &["requestId", "request_id"], path)?)
        .maybe_status_code(status_code)
        .source(source)
        .attributes(attributes)
        .build()
        .map_err(|error| refused_at(path, error))
}

/// A batch: `{"bot", "records": [...], "idempotencyKey"?}`, or a single record with its `bot`.
pub struct Batch {
    pub bot: String,
    pub records: Vec<NewLogRecord>,
    pub idempotency_key: Option<String>,
}

impl Batch {
    /// Stores the records for the bot under the batch's idempotency key.
    pub async fn ingest(self, service: &LogbotService) -> Result<Ingested, ServiceError> {
        service
            .ingest(&self.bot, self.records, self.idempotency_key.as_deref())
            .await
    }
}

/// What a stored batch is answered with: `{"accepted": <count>, "ids": [...]}`.
pub fn accepted(ingested: &Ingested) -> Value {
    json!({"accepted": ingested.ids.len(), "ids": ingested.ids})
}

/// Reads a batch or a single record carrying its bot.
pub fn batch(value: &Value) -> Result<Batch, String> {
    let Value::Object(object) = value else {
        return Err(format!(
            "must be an object with bot and records, got {}",
            kind(value)
        ));
    };
    let bot = text(object, &["bot", "bot_type"], "")?
        .filter(|bot| !bot.trim().is_empty())
        .ok_or("bot: is required (the name of the bot the records belong to)")?;
    let idempotency_key = text(object, &["idempotencyKey", "idempotency_key"], "")?;
    let records = match field(object, &["records", "logs"]) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| record(item, &format!("records[{index}].")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(format!("records: must be an array, got {}", kind(other))),
        None => vec![record(value, "")?],
    };
    Ok(Batch {
        bot: bot.trim().to_owned(),
        records,
        idempotency_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_by_name_or_number() {
        assert_eq!(level(Some(&json!(30)), "level").unwrap(), LogLevel::Warning);
        assert_eq!(
            level(Some(&json!("50")), "level").unwrap(),
            LogLevel::Critical
        );
        assert_eq!(
            level(Some(&json!("error")), "level").unwrap(),
            LogLevel::Error
        );
        assert_eq!(level(None, "level").unwrap(), LogLevel::Info);
        assert!(
            level(Some(&json!(-1)), "x.level")
                .unwrap_err()
                .starts_with("x.level")
        );
        assert!(level(Some(&json!([1])), "level").is_err());
    }

    #[test]
    fn batch_names_the_bad_field() {
        let error = batch(&json!({"bot": "df", "records": [{"message": "a"}, {"msg": 1}]}))
            .err()
            .unwrap();
        assert!(error.starts_with("records[1].message"), "{error}");
        let error = batch(&json!({"records": []})).err().unwrap();
        assert!(error.starts_with("bot:"), "{error}");
        let single = batch(
            &json!({"bot": "df", "msg": "hi", "level": 40, "event_at": "2024-01-02T03:04:05"}),
        )
        .ok()
        .unwrap();
        assert_eq!(single.records.len(), 1);
        assert_eq!(single.records[0].level(), LogLevel::Error);
        assert!(single.records[0].event_at().is_some());
    }

    #[test]
    fn records_are_held_to_the_domain_rules() {
        let error = batch(&json!({"bot": "df", "records": [
            {"message": "a"},
            {"message": "b", "requestId": "bad\u{0}id"},
        ]}))
        .err()
        .unwrap();
        assert_eq!(
            error,
            "records[1].request_id: must not contain control characters"
        );
        let error = batch(&json!({"bot": "df", "message": "m", "source": {"pid": -1}}))
            .err()
            .unwrap();
        assert_eq!(error, "source.pid: must not be negative, got -1");
    }
}
