//! The one error type of configuration loading: which key, where its value came from, and what
//! is wrong with it, printed as one line so a failed start-up says everything in a log line.

use std::fmt;

/// A configuration problem. `Display` is one line:
/// `server.port in /app/config/properties.ini: "80a" is not a port number (0-65535)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting, as `section.key` (or what stands in for it, e.g. `line 7` for a syntax error).
    pub key: String,
    /// Where the bad value came from: the file path, or `environment variable NAME`.
    pub source: String,
    /// What is wrong, and where it helps, what would be right. Never contains a secret.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(
        key: impl Into<String>,
        source: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            source: source.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are user text; a newline in one must not break the one-line promise.
        let one_line = |text: &str| text.replace(['\r', '\n'], " ");
        write!(
            f,
            "{} in {}: {}",
            one_line(&self.key),
            one_line(&self.source),
            one_line(&self.problem)
        )
    }
}

impl std::error::Error for ConfigError {}
