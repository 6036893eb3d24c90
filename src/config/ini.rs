//! A deliberately small INI reader.
//!
//! Why not the `config` crate's INI format: it hands values to `rust-ini`, which unescapes
//! backslashes (mangling secrets and Windows paths), and later layers treat dots in key names as
//! nesting, which breaks the `trigger.storage.<bucket>.<event>` keys (bucket names may contain
//! dots). It also forgets line numbers and silently keeps the last of two equal keys. The grammar
//! here is what the example `properties.ini` documents:
//! - `[section]` headers and `key = value` lines; names are case-insensitive (lower-cased);
//! - whole-line comments start with `#` or `;`; a value may end in a comment that starts with
//!   whitespace and `#` (so a value cannot contain ` #`);
//! - values are trimmed and taken literally: no quotes, no escapes;
//! - the same key twice in a section is an error, since either reading would surprise someone.

use std::collections::HashMap;

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IniEntry {
    pub section: String,
    pub key: String,
    pub value: String,
    /// 1-based, for reports.
    pub line: usize,
}

/// A line that cannot be read. `key` is `section.key` when known, else `line N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IniSyntaxError {
    pub key: String,
    pub problem: String,
}

/// Reads the entries of an INI text in file order.
pub(super) fn parse(text: &str) -> Result<Vec<IniEntry>, IniSyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    let mut first_line_of: HashMap<(String, String), usize> = HashMap::new();
    let mut section: Option<String> = None;

    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw_line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[') {
            section = Some(section_name(header, line)?);
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            // The line is not echoed: it may be a secret written with the wrong separator.
            return Err(IniSyntaxError {
                key: format!("line {line}"),
                problem: "expected `key = value`, `[section]` or a comment".into(),
            });
        };
        let key = key.trim().to_lowercase();
        if key.is_empty() {
            return Err(IniSyntaxError {
                key: format!("line {line}"),
                problem: "a `= value` line without a key".into(),
            });
        }
        let Some(section) = section.clone() else {
            return Err(IniSyntaxError {
                key,
                problem: format!(
                    "line {line} is outside any [section]; put it under its section, e.g. [server]"
                ),
            });
        };
        if let Some(first) = first_line_of.insert((section.clone(), key.clone()), line) {
            return Err(IniSyntaxError {
                key: format!("{section}.{key}"),
                problem: format!("set twice (lines {first} and {line}); keep one"),
            });
        }
        entries.push(IniEntry {
            section,
            key,
            value: strip_trailing_comment(value).trim().to_string(),
            line,
        });
    }
    Ok(entries)
}

/// `header` is the text after `[`.
fn section_name(header: &str, line: usize) -> Result<String, IniSyntaxError> {
    match header.strip_suffix(']').map(str::trim) {
        Some(name) if !name.is_empty() => Ok(name.to_lowercase()),
        _ => Err(IniSyntaxError {
            key: format!("line {line}"),
            problem: "a section header must look like `[name]`".into(),
        }),
    }
}

/// Cuts `value  # comment` to `value`; a `#` not preceded by whitespace is part of the value.
fn strip_trailing_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    (1..bytes.len())
        .find(|&at| bytes[at] == b'#' && bytes[at - 1].is_ascii_whitespace())
        .map_or(value, |at| &value[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_keys_and_comments() {
        let entries = parse(
            "\u{feff}# top\n[Server]\nHost = 127.0.0.1\n; note\nport=9000  # the port\n\n[vk]\nsecret = a#b\n",
        )
        .unwrap();
        let view: Vec<_> = entries
            .iter()
            .map(|e| (e.section.as_str(), e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            view,
            [
                ("server", "host", "127.0.0.1", 3),
                ("server", "port", "9000", 5),
                ("vk", "secret", "a#b", 8),
            ]
        );
    }

    #[test]
    fn empty_value_and_repeated_sections() {
        let entries = parse("[a]\nx =\n[b]\ny = 1\n[a]\nz = 2\n").unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].value, "");
        assert_eq!(entries[2].section, "a");
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert_eq!(parse("[a]\nsecret: hunter2\n").unwrap_err().key, "line 2");
        assert!(
            !parse("[a]\nsecret: hunter2\n")
                .unwrap_err()
                .problem
                .contains("hunter2")
        );
        assert_eq!(parse("port = 1\n").unwrap_err().key, "port");
        assert_eq!(parse("[a\n").unwrap_err().key, "line 1");
        assert_eq!(parse("[ ]\n").unwrap_err().key, "line 1");
        assert_eq!(parse("[a]\n = 1\n").unwrap_err().key, "line 2");
        let twice = parse("[a]\nx = 1\n[A]\nX = 2\n").unwrap_err();
        assert_eq!(twice.key, "a.x");
        assert!(twice.problem.contains("lines 2 and 4"));
    }
}
