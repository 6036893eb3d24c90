//! The one error type of the domain parsers.

use std::borrow::Cow;
use std::fmt;

/// A value that could not be parsed: which field, and what is wrong with it, in plain words.
///
/// Displays as `field: problem`, e.g. `log_info.status_code: expected a number from 100 to 599`.
/// The problem text never repeats a secret value (tokens are described by length only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    field: Cow<'static, str>,
    problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<Cow<'static, str>>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The field's name (possibly a dotted path, e.g. `log_info.event_at`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong, without the field name.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// The same problem reported under another field name (a door's own name for the value).
    pub fn with_field(self, field: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: field.into(),
            problem: self.problem,
        }
    }

    /// The same problem, with the field nested under `parent` (`parent.field`).
    pub fn within(self, parent: &str) -> Self {
        let field = format!("{parent}.{}", self.field);
        Self {
            field: field.into(),
            problem: self.problem,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_field_then_problem() {
        let e = FieldError::new("level", "unknown level");
        assert_eq!(e.to_string(), "level: unknown level");
        assert_eq!(e.field(), "level");
        assert_eq!(e.problem(), "unknown level");
    }

    #[test]
    fn renames_and_nests() {
        let e = FieldError::new("status_code", "too big");
        assert_eq!(
            e.clone().within("log_info").to_string(),
            "log_info.status_code: too big"
        );
        assert_eq!(e.with_field("code").to_string(), "code: too big");
    }
}
