//! The DataSpace scalars `Long` and `_DateTime`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// A 64-bit integer, as a JSON number (a numeric string is accepted on input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Long(pub i64);

#[Scalar(name = "Long")]
impl ScalarType for Long {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(number) => number
                .as_i64()
                .map(Long)
                .ok_or_else(|| InputValueError::custom("Long must be a 64-bit integer")),
            Value::String(text) => text
                .parse()
                .map(Long)
                .map_err(|_| InputValueError::custom("Long must be a 64-bit integer")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::from(self.0)
    }
}

/// Date and time without a zone, UTC, always rendered `YYYY-MM-DDTHH:MM:SS.mmm` so that text
/// order is time order in storage and in `cond` comparisons.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DateTime(pub String);

impl DateTime {
    /// Accepts `YYYY-MM-DDTHH:MM:SS` with an optional fraction and an optional `Z`.
    pub fn parse_text(text: &str) -> Option<Self> {
        let trimmed = text.strip_suffix('Z').unwrap_or(text);
        let parsed = crate::datetime_text::parse(trimmed)?;
        Some(Self::from_naive(parsed))
    }

    pub fn from_naive(time: NaiveDateTime) -> Self {
        Self(crate::datetime_text::format(time))
    }
}

#[Scalar(name = "_DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => DateTime::parse_text(text).ok_or_else(|| {
                InputValueError::custom(format!(
                    "{text:?} is not a _DateTime (expected 2020-02-22T11:49:10.123)"
                ))
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}
