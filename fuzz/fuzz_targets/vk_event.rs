//! VK events (`src/compat/vk.rs`): raw Callback API / Long Poll events from bytes, normalized.
//!
//! Beyond "no panic": only the three chat event types with a peer are kept; `cid` is the peer
//! id less 2000000000 exactly for group chats; a `message_new` is a command exactly when its
//! text starts with `/` or `!`; `reply`/`forward` appear in the attachments exactly when they
//! are present; and every event encodes as JSON with its type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logbot_gateway::compat::vk::{EventType, MessagePart, PEER_CHAT_BASE, normalize};
use serde_json::Value;

fn check_part(part: &MessagePart) {
    // An attachment may itself be of type "reply", so only one direction holds.
    if part.reply.is_some() {
        assert!(part.attachments.iter().any(|a| a == "reply"));
    }
    if !part.forward.is_empty() {
        assert!(part.attachments.iter().any(|a| a == "forward"));
    }
    if let Some(reply) = &part.reply {
        check_part(reply);
    }
    part.forward.iter().for_each(check_part);
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(event) = normalize(&raw) else {
        return;
    };
    let raw_type = raw.get("type").and_then(Value::as_str).unwrap();
    let expected = match raw_type {
        "message_new" => &[EventType::Message, EventType::Command][..],
        "message_event" => &[EventType::Button],
        "message_reaction_event" => &[EventType::Reaction],
        other => panic!("kept an event of type {other:?}"),
    };
    assert!(expected.contains(&event.event_type));
    let bpid = event.peer.bpid;
    assert_eq!(
        event.peer.cid,
        (bpid > PEER_CHAT_BASE).then(|| bpid - PEER_CHAT_BASE)
    );
    if let Some(message) = &event.message {
        let command = message.text.trim_start().starts_with(['/', '!']);
        assert_eq!(command, event.event_type == EventType::Command);
        check_part(message);
    }
    let json: Value = serde_json::to_value(&event).expect("an event encodes as JSON");
    assert_eq!(json["type"], event.event_type.as_str());
    assert_eq!(json["platform"], "vk");
});
