//! JSON as the doors read it: naming values in error messages, and the log-record codec the
//! doors share ([`records`]).

pub mod records;

use serde_json::Value;

/// The JSON type of a value, for error messages (never the value: it may be large or secret).
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
