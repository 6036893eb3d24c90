//! The Web PubSub CloudEvents checks (`src/compat/webpubsub.rs`): required `ce-*` headers, the
//! hub, `ce-signature`, the body kind of user events and the `sys.connect` body, on any headers
//! and bytes.
//!
//! Beyond "no panic": an event is let through only when every required header is there, the hub
//! matches and some `sha256=` entry is the HMAC of the connection id under a configured key
//! (computed here independently); a correctly signed event with the right hub is always let
//! through; refusals are 400 or 401, and `sys.connect` answers 200, 204 or 400.
#![no_main]

use arbitrary::Arbitrary;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use logbot_gateway::compat::webpubsub::{body_kind, check_event, connect};
use sha2::Sha256;

const HUB: &str = "LoggerBot";
const KEYS: [&str; 2] = ["primary-access-key", "secondary-access-key"];
const REQUIRED: [&str; 6] = [
    "ce-awpsversion",
    "ce-type",
    "ce-eventName",
    "ce-connectionId",
    "ce-hub",
    "ce-userId",
];
const NAMES: [&str; 11] = [
    "ce-awpsversion",
    "ce-type",
    "ce-eventName",
    "ce-connectionId",
    "ce-hub",
    "ce-userId",
    "ce-signature",
    "content-type",
    "ce-connectionState",
    "ce-subprotocol",
    "x-other",
];

#[derive(Arbitrary, Debug)]
struct Input {
    headers: Vec<(u8, Vec<u8>)>,
    /// Add every required header with plausible values first.
    complete: bool,
    /// Replace `ce-signature` with a correct one for the connection id (0: none, 1: primary,
    /// 2: secondary in a list, 3: upper-case hex).
    sign: u8,
    body: Vec<u8>,
}

/// The names are written as the service sends them (`ce-connectionId`); HTTP names are
/// case-insensitive and stored in lower case.
fn header_name(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).unwrap()
}

fn hmac_hex(key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

fuzz_target!(|input: Input| {
    let mut headers = HeaderMap::new();
    if input.complete {
        for (name, value) in [
            ("ce-awpsversion", "1.0"),
            ("ce-type", "azure.webpubsub.user.message"),
            ("ce-eventName", "message"),
            ("ce-connectionId", "conn-1"),
            ("ce-hub", "loggerbot"),
            ("ce-userId", "user-1"),
        ] {
            headers.insert(header_name(name), HeaderValue::from_static(value));
        }
    }
    for (selector, value) in &input.headers {
        let name = header_name(NAMES[usize::from(*selector) % NAMES.len()]);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    let connection_id = text(&headers, "ce-connectionId").unwrap_or_default().to_owned();
    let signature = match input.sign % 4 {
        1 => Some(format!("sha256={}", hmac_hex(KEYS[0], &connection_id))),
        2 => Some(format!(
            "sha256=00ff, sha256={}",
            hmac_hex(KEYS[1], &connection_id)
        )),
        3 => Some(format!(
            "SHA256={}",
            hmac_hex(KEYS[0], &connection_id).to_ascii_uppercase()
        )),
        _ => None,
    };
    if let Some(signature) = &signature {
        headers.insert("ce-signature", HeaderValue::from_str(signature).unwrap());
    }

    let all_present = REQUIRED.iter().all(|name| text(&headers, name).is_some());
    let hub_matches = text(&headers, "ce-hub").is_some_and(|hub| hub.eq_ignore_ascii_case(HUB));
    match check_event(&headers, HUB, &KEYS) {
        Ok(event_type) => {
            assert!(all_present && hub_matches);
            assert_eq!(Some(event_type), text(&headers, "ce-type"));
            let given = text(&headers, "ce-signature").unwrap().to_ascii_lowercase();
            let expected: Vec<String> = KEYS
                .iter()
                .map(|key| format!("sha256={}", hmac_hex(key, &connection_id)))
                .collect();
            assert!(
                given
                    .split(',')
                    .any(|entry| expected.iter().any(|want| want == entry.trim())),
                "let through with signature {given:?}"
            );
        }
        Err(refusal) => {
            let status = refusal.status();
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
                "{status}"
            );
            assert!(
                !(signature.is_some() && all_present && hub_matches),
                "a correctly signed event was refused with {status}"
            );
        }
    }
    let _ = body_kind(&headers);
    let status = connect(&headers, &input.body).status();
    assert!(
        [StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::BAD_REQUEST].contains(&status),
        "{status}"
    );
});
