//! LOGGER_INFO (`src/domain/logger_info.rs`): the `log_info` text of the message protocol.
//!
//! Beyond "no panic": a parsed `log_info` written back as its record's message parses to the
//! same request id, status code and event time (to the minute, which is what the format
//! carries), its level follows the status code, and the record it makes is valid.
#![no_main]

use chrono::Timelike;
use libfuzzer_sys::fuzz_target;
use logbot_gateway::domain::{LogLevel, LoggerInfo};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(info) = LoggerInfo::parse(text) else {
        return;
    };
    assert!((100..=599).contains(&info.status_code()));
    assert_eq!(info.level(), LogLevel::from_status_code(info.status_code()));
    let message = info.message();
    let again = LoggerInfo::parse(&message)
        .unwrap_or_else(|error| panic!("its own message {message:?} is refused: {error}"));
    assert_eq!(again.request_id(), info.request_id());
    assert_eq!(again.status_code(), info.status_code());
    let minute = info
        .event_at()
        .with_second(0)
        .and_then(|time| time.with_nanosecond(0))
        .unwrap();
    assert_eq!(again.event_at(), minute, "{message:?}");
    info.into_record()
        .unwrap_or_else(|error| panic!("a parsed log_info makes no record: {error}"));
});
