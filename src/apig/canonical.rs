//! The pure steps of SDK-HMAC-SHA256, one function per step so that a mismatch against the
//! official signer (`apigateway_sdk_python/signer.py`) can be located in the step that parts.
//!
//! Every function here reproduces that signer's behaviour, including its quirks: a `+` in the
//! query is a literal plus, invalid percent-encoded UTF-8 decodes to U+FFFD, header values are
//! trimmed with Python's `str.strip()` notion of white space, and the path always ends in `/`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The algorithm name that opens the string to sign and the Authorization header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// `strftime` format of `X-Sdk-Date`.
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// Header whose value, when present, replaces the payload hash (e.g. `UNSIGNED-PAYLOAD`).
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Python's `quote(s, safe='~')`: keep `A-Za-z0-9-_.~`, encode every other UTF-8 byte as `%XX`.
pub fn encode_component(raw: &str, out: &mut String) {
    for &byte in raw.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX_UPPER[(byte >> 4) as usize] as char);
            out.push(HEX_UPPER[(byte & 0x0f) as usize] as char);
        }
    }
}

/// Python's `unquote`: decode valid `%XX` escapes (malformed ones stay literal) and read the
/// bytes as UTF-8, replacing invalid sequences with U+FFFD. `+` is not a space here.
pub fn decode_component(raw: &str) -> String {
    if !raw.contains('%') {
        return raw.to_owned();
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            decoded.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Python's `str.strip()` white space: Unicode White_Space plus the ASCII information
/// separators U+001C..U+001F, which Python also strips.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A header value as the signer uses (and leaves) it: trimmed at both ends.
pub fn trim_header_value(value: &str) -> &str {
    value.trim_matches(is_python_space)
}

/// Canonical URI: decode the raw path, encode each `/`-separated segment, end with `/`.
pub fn canonical_uri(raw_path: &str, out: &mut String) {
    let decoded = decode_component(raw_path);
    for (index, segment) in decoded.split('/').enumerate() {
        if index > 0 {
            out.push('/');
        }
        encode_component(segment, out);
    }
    if !out.ends_with('/') {
        out.push('/');
    }
}

/// Canonical query string from the raw query (without `?`): pairs split on `&` and the first
/// `=`, empty keys dropped, keys and values decoded, sorted by key then value, re-encoded.
pub fn canonical_query(raw_query: &str, out: &mut String) {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (!key.is_empty()).then(|| (decode_component(key), decode_component(value)))
        })
        .collect();
    // Byte order of UTF-8 equals code point order, which is how Python sorts `str`.
    pairs.sort_unstable();
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        encode_component(key, out);
        out.push('=');
        encode_component(value, out);
    }
}

/// The signed header names: every header's name lower-cased, sorted (duplicates kept, as the
/// reference does for names that differ only in case).
pub fn signed_header_names<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<String> {
    let mut names: Vec<String> = headers
        .into_iter()
        .map(|(name, _)| name.to_lowercase())
        .collect();
    names.sort_unstable();
    names
}

/// The canonical header block: `name:trimmed value\n` for each signed name. When several
/// headers share a lower-cased name the last one wins, as in the reference's dict.
pub fn canonical_headers<'a>(
    headers: &[(&'a str, &'a str)],
    signed_names: &[String],
    out: &mut String,
) {
    for name in signed_names {
        let value = headers
            .iter()
            .rev()
            .find(|(candidate, _)| candidate.to_lowercase() == *name)
            .map_or("", |(_, value)| trim_header_value(value));
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
}

/// Lower-case hex SHA-256 of the body, or the trimmed `x-sdk-content-sha256` value when set.
pub fn payload_hash(headers: &[(&str, &str)], body: &[u8]) -> String {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(CONTENT_SHA256_HEADER))
        .map(|(_, value)| trim_header_value(value).to_owned())
        .unwrap_or_else(|| hex::encode(Sha256::digest(body)))
}

/// All parts of a request that enter the canonical request.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalInput<'a> {
    pub method: &'a str,
    /// The path as it appears in the URL (may be percent-encoded).
    pub raw_path: &'a str,
    /// The query as it appears in the URL, without `?`; empty when there is none.
    pub raw_query: &'a str,
    /// Every header present at signing time, in order, including `host` and `X-Sdk-Date`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The canonical request and the signed header list it was built with.
pub fn canonical_request(input: &CanonicalInput<'_>, signed_names: &[String]) -> String {
    let mut out = String::with_capacity(256 + 64 * input.headers.len());
    out.push_str(&input.method.to_uppercase());
    out.push('\n');
    canonical_uri(input.raw_path, &mut out);
    out.push('\n');
    canonical_query(input.raw_query, &mut out);
    out.push('\n');
    canonical_headers(input.headers, signed_names, &mut out);
    out.push('\n');
    push_joined(&mut out, signed_names);
    out.push('\n');
    out.push_str(&payload_hash(input.headers, input.body));
    out
}

/// `SDK-HMAC-SHA256\n<date>\n<hex sha256(canonical request)>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    let mut out = String::with_capacity(ALGORITHM.len() + sdk_date.len() + 66);
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(sdk_date);
    out.push('\n');
    out.push_str(&hex::encode(Sha256::digest(canonical_request.as_bytes())));
    out
}

/// Raw HMAC-SHA256 of the string to sign, keyed with the secret's UTF-8 bytes.
pub fn signature_bytes(secret: &str, string_to_sign: &str) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Lower-case hex signature.
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    hex::encode(signature_bytes(secret, string_to_sign))
}

/// `SDK-HMAC-SHA256 Access=<key>, SignedHeaders=<list>, Signature=<hex>`.
pub fn authorization_header(access_key: &str, signed_names: &[String], signature: &str) -> String {
    let mut out = String::with_capacity(64 + access_key.len() + signature.len());
    let _ = write!(out, "{ALGORITHM} Access={access_key}, SignedHeaders=");
    push_joined(&mut out, signed_names);
    out.push_str(", Signature=");
    out.push_str(signature);
    out
}

fn push_joined(out: &mut String, names: &[String]) {
    for (index, name) in names.iter().enumerate() {
        if index > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(path: &str) -> String {
        let mut out = String::new();
        canonical_uri(path, &mut out);
        out
    }

    fn query(raw: &str) -> String {
        let mut out = String::new();
        canonical_query(raw, &mut out);
        out
    }

    #[test]
    fn path_segments_are_reencoded_and_end_in_slash() {
        assert_eq!(uri("/"), "/");
        assert_eq!(uri("/a%2Fb/c d"), "/a/b/c%20d/");
        assert_eq!(uri("/x//y/"), "/x//y/");
    }

    #[test]
    fn invalid_utf8_escapes_become_replacement_characters() {
        assert_eq!(uri("/%FF"), "/%EF%BF%BD/");
        assert_eq!(uri("/%zz%4"), "/%25zz%254/");
    }

    #[test]
    fn query_sorts_and_keeps_plus_literal() {
        assert_eq!(query("b=2&a=3&a=1&c=&d&=x&a=10"), "a=1&a=10&a=3&b=2&c=&d=");
        assert_eq!(query("q=a+b"), "q=a%2Bb");
        assert_eq!(query(""), "");
    }

    #[test]
    fn header_values_trim_python_whitespace() {
        assert_eq!(trim_header_value("\u{1f} a b\t\u{a0}"), "a b");
    }
}
