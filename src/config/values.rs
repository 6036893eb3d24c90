//! Parsers from a setting's text to its type. Each returns the problem as text; the caller adds
//! the key and the source. A problem quotes the bad value, so none of these is used for secrets
//! except where noted.

use reqwest::Url;
use secrecy::SecretString;
use std::fmt::Display;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

pub(super) fn ip_address(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IP address (e.g. 0.0.0.0, 127.0.0.1 or ::)"))
}

/// Port 0 is allowed: it asks the OS for a free port, which is how tests start the binary.
pub(super) fn port(text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a port number (0-65535, 0 = any free port)"))
}

/// An absolute `http` or `https` URL with a host and without credentials: DataSpace and the
/// messenger APIs authenticate otherwise, and a password in a URL would end up in Debug output.
pub(super) fn http_url(text: &str) -> Result<Url, String> {
    // Not quoted when it may hold credentials.
    let shown = if text.contains('@') {
        "the URL".to_string()
    } else {
        format!("{text:?}")
    };
    let url = Url::parse(text).map_err(|error| format!("{shown} is not a URL ({error})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials (user:password@)".into());
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{shown} is not an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{shown} has no host"));
    }
    Ok(url)
}

/// An API base: an [`http_url`] whose path ends in `/`, so that `base.join("method")` appends
/// to it instead of replacing its last segment (matters behind a proxy with a path prefix).
pub(super) fn base_url(text: &str) -> Result<Url, String> {
    let mut url = http_url(text)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `redis://` or `rediss://` (TLS). The problem never quotes the text: it may hold a password.
pub(super) fn redis_url(text: &str) -> Result<String, String> {
    let url = Url::parse(text).map_err(|_| "is not a URL".to_string())?;
    if !matches!(url.scheme(), "redis" | "rediss") {
        return Err(format!(
            "must start with redis:// or rediss://, not {}://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host (redis://host:6379)".into());
    }
    Ok(text.to_string())
}

/// `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, in any case.
pub(super) fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "{text:?} is not a boolean (true/false, yes/no, on/off, 1/0)"
        )),
    }
}

/// A whole number in `min..=max`.
pub(super) fn number_in<T>(min: T, max: T) -> impl FnOnce(&str) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    move |text| {
        let number: T = text
            .parse()
            .map_err(|_| format!("{text:?} is not a whole number"))?;
        if number < min || number > max {
            return Err(format!("{number} is out of range ({min}-{max})"));
        }
        Ok(number)
    }
}

/// A whole number of at least 1, for sizes and counts where zero would disable the thing.
pub(super) fn positive<T>(text: &str) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + From<u8>,
{
    let number: T = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    if number < T::from(1) {
        return Err(format!("{number} must be at least 1"));
    }
    Ok(number)
}

/// Whole milliseconds, at least 1.
pub(super) fn millis(text: &str) -> Result<Duration, String> {
    positive::<u64>(text).map(Duration::from_millis)
}

/// A rate in messages per second: a number above zero, fractions allowed (`0.5`).
pub(super) fn rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!("{text} must be a number above 0"));
    }
    Ok(rate)
}

/// Comma-separated, trimmed, empty entries dropped (so `a,,b,` is `[a, b]`).
pub(super) fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(String::from)
        .collect()
}

/// A list of secrets; nothing to validate, and nothing may be echoed.
pub(super) fn secret_list(text: &str) -> Vec<SecretString> {
    list(text).into_iter().map(SecretString::from).collect()
}

/// Preflight origins: `*`, or `http(s)://host[:port]` without a path.
pub(super) fn origins(text: &str) -> Result<Vec<String>, String> {
    let origins = list(text);
    for origin in &origins {
        if origin != "*" {
            let url = http_url(origin)?;
            if url.path() != "/" || origin.ends_with('/') {
                return Err(format!(
                    "{origin:?} is not an origin (scheme://host[:port], no path) or *"
                ));
            }
        }
    }
    Ok(origins)
}

/// Package and function names of direct calls: `[a-z][-a-z0-9]{1,61}[a-z0-9]` (PROTOCOLS §6).
pub(super) fn package_name(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let valid = (3..=63).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|&byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && bytes[bytes.len() - 1] != b'-';
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a package name (3-63 of a-z, 0-9 and -, starting with a letter, \
             not ending with -)"
        ))
    }
}

/// Any text; used for names where anything non-empty is acceptable.
pub(super) fn text(text: &str) -> Result<String, String> {
    Ok(text.to_string())
}

pub(super) fn secret(text: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(text.to_string()))
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// A `tracing` filter such as `info` or `info,logbot_gateway=debug`. Stricter than
/// `EnvFilter`, which reads a bare word as a target: here a bare word must be a level, so a
/// typo like `inof` is an error instead of silence.
pub(super) fn log_level(text: &str) -> Result<String, String> {
    for directive in text.split(',').map(str::trim) {
        let valid = if directive.contains(['=', '[']) {
            directive
                .parse::<tracing_subscriber::filter::Directive>()
                .is_ok()
        } else {
            LEVELS.contains(&directive.to_ascii_lowercase().as_str())
        };
        if !valid {
            return Err(format!(
                "{directive:?} is not a log level ({}) or a target=level directive",
                LEVELS.join(", ")
            ));
        }
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number_in(0u32, 1000)("1000"), Ok(1000));
        assert!(
            number_in(0u32, 1000)("1001")
                .unwrap_err()
                .contains("0-1000")
        );
        assert!(number_in(0u32, 1000)("-1").is_err());
        assert_eq!(positive::<usize>("1"), Ok(1));
        assert!(positive::<usize>("0").unwrap_err().contains("at least 1"));
        assert!(positive::<u32>("1.5").is_err());
    }

    #[test]
    fn urls() {
        assert!(http_url("https://ds.example.com/graphql").is_ok());
        assert!(http_url("ftp://ds.example.com").is_err());
        assert!(http_url("ds.example.com").is_err());
        let problem = http_url("https://user:hunter2@ds.example.com").unwrap_err();
        assert!(problem.contains("credentials") && !problem.contains("hunter2"));
        assert!(
            !http_url("ftp://u:hunter2@x")
                .unwrap_err()
                .contains("hunter2")
        );
        assert_eq!(
            base_url("https://proxy.example/telegram")
                .unwrap()
                .join("bot1/getMe")
                .unwrap()
                .as_str(),
            "https://proxy.example/telegram/bot1/getMe"
        );
        assert!(redis_url("rediss://:pw@cache:6380/0").is_ok());
        let problem = redis_url("http://:pw@cache").unwrap_err();
        assert!(!problem.contains("pw"), "{problem}");
    }

    #[test]
    fn names_levels_and_origins() {
        assert!(package_name("logbot").is_ok());
        for bad in ["Logbot", "lb", "log_bot", "logbot-", "1logbot"] {
            assert!(package_name(bad).is_err(), "{bad}");
        }
        assert!(log_level("info,logbot_gateway=debug").is_ok());
        assert!(log_level("WARN").is_ok());
        assert!(log_level("inof").is_err());
        assert_eq!(
            origins("*, https://a.example:8443,"),
            Ok(vec!["*".into(), "https://a.example:8443".into()])
        );
        assert!(origins("https://a.example/path").is_err());
        assert!(origins("a.example").is_err());
    }
}
