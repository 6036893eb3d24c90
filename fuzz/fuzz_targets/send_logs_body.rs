//! `/send_logs` bodies (`src/compat/send_logs.rs`), and the JSON records of the other doors
//! (`src/json/records.rs`: Web PubSub `sendlog`, queue signals), from raw bytes.
//!
//! Beyond "no panic": when a body is accepted, there is one record per entry of `data.logs`,
//! every message is non-empty and at most `max_message_chars` characters, and every record
//! carries the batch's `user`/`pid`/`p_name` as its source.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logbot_gateway::compat::send_logs;
use logbot_gateway::json::records;
use serde_json::Value;

const MAX_CHARS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = records::batch(&body);
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return;
    };
    let Ok(records) = send_logs::parse_logs(data, MAX_CHARS) else {
        return;
    };
    let logs = data.get("logs").and_then(Value::as_array).unwrap();
    assert_eq!(records.len(), logs.len());
    let user = data
        .get("user")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|user| !user.is_empty());
    for record in &records {
        let chars = record.message().chars().count();
        assert!(chars >= 1 && chars <= MAX_CHARS, "{chars} characters");
        assert_eq!(record.source().user_name.as_deref(), user);
    }
});
