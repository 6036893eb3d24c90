//! A raw VK event normalized into a [`ChatEvent`], as other services see it on the bus.

use super::PEER_CHAT_BASE;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Message,
    Command,
    Button,
    Reaction,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Command => "command",
            Self::Button => "button",
            Self::Reaction => "reaction",
        }
    }
}

/// Where an event happened: `bpid` the VK peer id, `cid` the chat number in a group chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    pub bpid: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub uuid: Option<i64>,
}

/// A message as other services see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessagePart {
    pub cmid: Option<i64>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<Box<MessagePart>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forward: Vec<MessagePart>,
    /// Attachment types, plus `geo`, `reply` and `forward` when present.
    pub attachments: Vec<String>,
}

/// A normalized chat event, published as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub platform: &'static str,
    pub event_id: Option<String>,
    pub group_id: Option<i64>,
    pub peer: Peer,
    pub user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessagePart>,
    /// conversation_message_id (buttons, reactions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmid: Option<i64>,
    /// The button event id, for `messages.sendMessageEventAnswer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The reaction id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rid: Option<i64>,
}

fn int(object: &Map<String, Value>, name: &str) -> Option<i64> {
    let value = object.get(name)?;
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
}

fn message_part(message: &Map<String, Value>) -> MessagePart {
    let mut attachments: Vec<String> = message
        .get("attachments")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|item| item.get("type").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let reply = message
        .get("reply_message")
        .and_then(Value::as_object)
        .map(|reply| Box::new(message_part(reply)));
    let forward: Vec<MessagePart> = message
        .get("fwd_messages")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(message_part)
                .collect()
        })
        .unwrap_or_default();
    if message.get("geo").is_some_and(|geo| !geo.is_null()) {
        attachments.push("geo".into());
    }
    if reply.is_some() {
        attachments.push("reply".into());
    }
    if !forward.is_empty() {
        attachments.push("forward".into());
    }
    MessagePart {
        cmid: int(message, "conversation_message_id"),
        text: message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        reply,
        forward,
        attachments,
    }
}

fn peer(peer_id: i64) -> Peer {
    Peer {
        bpid: peer_id,
        cid: (peer_id > PEER_CHAT_BASE).then(|| peer_id - PEER_CHAT_BASE),
    }
}

/// The first of `user_id`, `from_id`, `reacted_id` present in any of the objects.
fn user_of(objects: &[&Map<String, Value>]) -> User {
    let uuid = ["user_id", "from_id", "reacted_id"]
        .iter()
        .find_map(|name| objects.iter().find_map(|object| int(object, name)));
    User { uuid }
}

/// Normalizes a raw VK event; `None` for the types other services do not get.
pub fn normalize(raw: &Value) -> Option<ChatEvent> {
    let event_type = raw.get("type")?.as_str()?;
    let object = raw.get("object")?.as_object()?;
    let event_id = raw
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let group_id = raw.get("group_id").and_then(Value::as_i64);
    let base = |kind: EventType, peer_id: i64, user: User| ChatEvent {
        event_type: kind,
        platform: "vk",
        event_id: event_id.clone(),
        group_id,
        peer: peer(peer_id),
        user,
        message: None,
        cmid: None,
        beid: None,
        payload: None,
        rid: None,
    };
    match event_type {
        "message_new" => {
            // API 5.199 wraps the message as object.message; older versions sent it bare.
            let message = object
                .get("message")
                .and_then(Value::as_object)
                .unwrap_or(object);
            let part = message_part(message);
            let kind = if part.text.trim_start().starts_with(['/', '!']) {
                EventType::Command
            } else {
                EventType::Message
            };
            let mut event = base(kind, int(message, "peer_id")?, user_of(&[message, object]));
            event.message = Some(part);
            Some(event)
        }
        "message_event" => {
            let mut event = base(
                EventType::Button,
                int(object, "peer_id")?,
                user_of(&[object]),
            );
            event.cmid = int(object, "conversation_message_id");
            event.beid = object
                .get("event_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            event.payload = object.get("payload").cloned();
            Some(event)
        }
        "message_reaction_event" => {
            let mut event = base(
                EventType::Reaction,
                int(object, "peer_id")?,
                user_of(&[object]),
            );
            event.cmid = int(object, "cmid").or_else(|| int(object, "conversation_message_id"));
            event.rid = int(object, "reaction_id");
            Some(event)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn group_chat_message_with_everything() {
        let raw = json!({"type": "message_new", "event_id": "e1", "group_id": 7, "v": "5.199",
            "object": {"message": {"date": 1, "from_id": 11, "id": 0, "peer_id": 2000000005,
                "text": "hello", "conversation_message_id": 99,
                "attachments": [{"type": "photo"}, {"type": "doc"}],
                "geo": {"type": "point"},
                "reply_message": {"from_id": 12, "text": "earlier", "conversation_message_id": 98},
                "fwd_messages": [{"from_id": 13, "text": "fwd", "conversation_message_id": 3}]},
                "client_info": {}}});
        let event = normalize(&raw).unwrap();
        assert_eq!(event.event_type, EventType::Message);
        assert_eq!(
            event.peer,
            Peer {
                bpid: 2000000005,
                cid: Some(5)
            }
        );
        assert_eq!(event.user.uuid, Some(11));
        let message = event.message.unwrap();
        assert_eq!(message.cmid, Some(99));
        assert_eq!(
            message.attachments,
            ["photo", "doc", "geo", "reply", "forward"]
        );
        assert_eq!(message.reply.unwrap().text, "earlier");
        assert_eq!(message.forward[0].cmid, Some(3));
    }

    #[test]
    fn private_command_button_reaction_and_dropped() {
        let command = normalize(&json!({"type": "message_new", "object": {"message":
            {"from_id": 5, "peer_id": 5, "text": "!status"}}}))
        .unwrap();
        assert_eq!(command.event_type, EventType::Command);
        assert_eq!(command.peer.cid, None);
        let button = normalize(&json!({"type": "message_event", "object": {"user_id": 5,
            "peer_id": 5, "event_id": "b1", "payload": {"a": 1}, "conversation_message_id": 4}}))
        .unwrap();
        assert_eq!(
            (button.event_type, button.cmid, button.beid.as_deref()),
            (EventType::Button, Some(4), Some("b1"))
        );
        let reaction = normalize(&json!({"type": "message_reaction_event", "object": {
            "reacted_id": 6, "peer_id": 2000000001, "cmid": 8, "reaction_id": 2}}))
        .unwrap();
        assert_eq!(
            (
                reaction.event_type,
                reaction.user.uuid,
                reaction.rid,
                reaction.peer.cid
            ),
            (EventType::Reaction, Some(6), Some(2), Some(1))
        );
        assert!(normalize(&json!({"type": "wall_post_new", "object": {}})).is_none());
        assert!(normalize(&json!({"type": "message_new", "object": {"message": {}}})).is_none());
    }
}
