//! The raw text of every setting, layered by precedence and labelled with where it came from,
//! and the [`Reader`] that turns it into typed values while noting which keys exist.
//!
//! Precedence, lowest first: defaults (not stored here; the section readers supply them), the
//! config file, `LOGBOT__SECTION__KEY` variables, then the plain variables `PORT`,
//! `DATASPACE_URL`, `APP_KEY`, `APP_SECRET`. The plain ones win because the platform sets them
//! (the function runtime picks `PORT`) and the service team's Secret provides the credentials.

use super::error::ConfigError;
use super::ini::IniEntry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// The prefix of per-key overrides: `LOGBOT__SECTION__KEY`.
pub(super) const ENV_PREFIX: &str = "LOGBOT__";

/// Variables read under their own names, and the setting each one sets.
pub(super) const PLAIN_ENV_VARS: [(&str, &str, &str); 4] = [
    ("PORT", "server", "port"),
    ("DATASPACE_URL", "dataspace", "url"),
    ("APP_KEY", "dataspace", "app_key"),
    ("APP_SECRET", "dataspace", "app_secret"),
];

/// Where the effective value of a setting came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ValueOrigin {
    #[default]
    Default,
    File {
        path: PathBuf,
        line: usize,
    },
    Env {
        var: String,
    },
}

impl ValueOrigin {
    /// The `source` of a [`ConfigError`] about this value.
    pub fn error_source(&self) -> String {
        match self {
            Self::Default => "the built-in defaults".into(),
            Self::File { path, .. } => path.display().to_string(),
            Self::Env { var } => format!("environment variable {var}"),
        }
    }
}

/// `default`, `file, line 12` or `env PORT`: the trailing comment in `check-config` output.
impl fmt::Display for ValueOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File { line, .. } => write!(f, "file, line {line}"),
            Self::Env { var } => write!(f, "env {var}"),
        }
    }
}

/// Where each setting that is not at its default came from, keyed by `section.key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueOrigins(BTreeMap<String, ValueOrigin>);

impl ValueOrigins {
    /// The origin of `section.key` (e.g. `server.port`); [`ValueOrigin::Default`] when unset.
    pub fn of(&self, key: &str) -> ValueOrigin {
        self.0.get(key).cloned().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub(super) struct RawValue {
    pub text: String,
    pub origin: ValueOrigin,
}

/// Raw values by section, then key; a later layer replaces an earlier one.
#[derive(Debug, Default)]
pub(super) struct Layers {
    sections: BTreeMap<String, BTreeMap<String, RawValue>>,
}

impl Layers {
    pub fn add_file(&mut self, path: &Path, entries: Vec<IniEntry>) {
        for entry in entries {
            let origin = ValueOrigin::File {
                path: path.to_path_buf(),
                line: entry.line,
            };
            self.set(entry.section, entry.key, entry.value, origin);
        }
    }

    /// Applies `LOGBOT__SECTION__KEY` variables, then the plain ones, so the plain ones win.
    pub fn add_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        // Sorted, so that of two bad variables the same one is reported every time.
        let sorted: BTreeMap<&String, &String> = env.iter().collect();
        for (name, value) in &sorted {
            if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
                let (section, key) = split_env_name(name, rest)?;
                self.set(section, key, value.trim().to_string(), env_origin(name));
            }
        }
        for (var, section, key) in PLAIN_ENV_VARS {
            if let Some(value) = env.get(var) {
                self.set(
                    section.into(),
                    key.into(),
                    value.trim().into(),
                    env_origin(var),
                );
            }
        }
        Ok(())
    }

    fn set(&mut self, section: String, key: String, text: String, origin: ValueOrigin) {
        self.sections
            .entry(section)
            .or_default()
            .insert(key, RawValue { text, origin });
    }
}

fn env_origin(var: &str) -> ValueOrigin {
    ValueOrigin::Env { var: var.into() }
}

/// `LOGBOT__BOTS__ADMINS` -> (`bots`, `admins`); everything after the second `__` is the key, so
/// `LOGBOT__FUNCTION__TRIGGER.STORAGE.B.CREATE` names `trigger.storage.b.create`.
fn split_env_name(name: &str, rest: &str) -> Result<(String, String), ConfigError> {
    match rest.split_once("__") {
        Some((section, key)) if !section.is_empty() && !key.is_empty() => {
            Ok((section.to_lowercase(), key.to_lowercase()))
        }
        _ => Err(ConfigError::new(
            name,
            format!("environment variable {name}"),
            "expected LOGBOT__SECTION__KEY, e.g. LOGBOT__BOTS__ADMINS",
        )),
    }
}

/// Hands out typed values and remembers every key that was asked for, known or set, so that
/// whatever is left over afterwards is a typo to report.
pub(super) struct Reader<'a> {
    layers: &'a Layers,
    /// Key names by section, as listed in an unknown-key error.
    known: BTreeMap<&'static str, BTreeSet<String>>,
    /// Sections whose keys under a prefix are all read (by [`Reader::with_prefix`]).
    known_prefixes: Vec<(&'static str, String)>,
}

impl<'a> Reader<'a> {
    pub fn new(layers: &'a Layers) -> Self {
        Self {
            layers,
            known: BTreeMap::new(),
            known_prefixes: Vec::new(),
        }
    }

    /// The parsed value of `section.key`, or `None` when it is unset or set to the empty string
    /// (so an empty override, e.g. `LOGBOT__BUS__REDIS_URL=`, restores the default).
    pub fn optional<T>(
        &mut self,
        section: &'static str,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.known.entry(section).or_default().insert(key.into());
        match self.raw(section, key) {
            Some(raw) if !raw.text.is_empty() => parse(&raw.text)
                .map(Some)
                .map_err(|problem| setting_error(section, key, raw, problem)),
            _ => Ok(None),
        }
    }

    /// Like [`Reader::optional`], with a default for unset or empty.
    pub fn or_default<T>(
        &mut self,
        section: &'static str,
        key: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        Ok(self.optional(section, key, parse)?.unwrap_or(default))
    }

    /// Every key of `section` that starts with `prefix`, in key order; all of them count as
    /// known, and `pattern` (e.g. `trigger.storage.<bucket>.<event>`) is how errors list them.
    /// For keys whose names carry data.
    pub fn with_prefix(
        &mut self,
        section: &'static str,
        prefix: &str,
        pattern: &str,
    ) -> Vec<(&'a str, &'a RawValue)> {
        self.known
            .entry(section)
            .or_default()
            .insert(pattern.into());
        self.known_prefixes.push((section, prefix.into()));
        self.layers
            .sections
            .get(section)
            .into_iter()
            .flatten()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(key, raw)| (key.as_str(), raw))
            .collect()
    }

    /// The first key or section that no reader asked for, as an error.
    pub fn reject_unknown(&self) -> Result<(), ConfigError> {
        for (section, keys) in &self.layers.sections {
            let Some(known) = self.known.get(section.as_str()) else {
                let (key, raw) = keys.iter().next().expect("a stored section has a key");
                let sections: Vec<_> = self.known.keys().copied().collect();
                return Err(ConfigError::new(
                    format!("{section}.{key}"),
                    raw.origin.error_source(),
                    format!(
                        "unknown section [{section}]; the sections are {}",
                        sections.join(", ")
                    ),
                ));
            };
            let is_known = |key: &String| {
                known.contains(key)
                    || self.known_prefixes.iter().any(|(in_section, prefix)| {
                        in_section == section && key.starts_with(prefix)
                    })
            };
            if let Some((key, raw)) = keys.iter().find(|(key, _)| !is_known(key)) {
                let names: Vec<_> = known.iter().map(String::as_str).collect();
                return Err(ConfigError::new(
                    format!("{section}.{key}"),
                    raw.origin.error_source(),
                    format!(
                        "unknown key in [{section}]; its keys are {}",
                        names.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Where every set value came from (call after reading).
    pub fn origins(&self) -> ValueOrigins {
        let mut origins = BTreeMap::new();
        for (section, keys) in &self.layers.sections {
            for (key, raw) in keys {
                origins.insert(format!("{section}.{key}"), raw.origin.clone());
            }
        }
        ValueOrigins(origins)
    }

    fn raw(&self, section: &str, key: &str) -> Option<&'a RawValue> {
        self.layers.sections.get(section)?.get(key)
    }
}

/// The error for a bad value of `section.key`.
pub(super) fn setting_error(
    section: &str,
    key: &str,
    raw: &RawValue,
    problem: String,
) -> ConfigError {
    ConfigError::new(
        format!("{section}.{key}"),
        raw.origin.error_source(),
        problem,
    )
}
