//! The messenger APIs: Telegram Bot API `sendMessage` and VK `messages.send` (over
//! [`crate::vk_api`]), each answer sorted into what the worker should do next.
//!
//! Bot tokens are in the URL (Telegram) or the form (VK): errors are reported without the URL,
//! so a token never reaches a log line, a metric or a stored `lastError`.

use crate::domain::messenger::Messenger;
use crate::vk_api::{self, CallError, VkApi};
use reqwest::Url;
use std::time::Duration;

/// How one send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The messenger accepted the message.
    Accepted,
    /// Rate limited: try again after this long (Telegram 429 `retry_after`, VK error 6 or 9).
    RetryAfter(Duration, String),
    /// Worth another attempt (network, timeout, 5xx).
    Transient(String),
    /// Will not succeed by retrying (bad token, message refused).
    Permanent(String),
    /// The chat has moved for good: a Telegram group upgraded to a supergroup answers
    /// `parameters.migrate_to_chat_id`, and messages must go to that chat from now on.
    Migrated { to: String, message: String },
    /// The chat is gone for this bot: blocked or removed (Telegram 403), or no such chat.
    /// Retrying cannot help; the subscription ends.
    Gone(String),
}

/// Sends to the messengers over one pooled HTTP client.
#[derive(Clone, Debug)]
pub struct Messengers {
    http: reqwest::Client,
    telegram_api_base: Url,
    vk: VkApi,
}

impl Messengers {
    pub fn new(
        telegram_api_base: Url,
        vk_api_base: Url,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            vk: VkApi::new(http.clone(), vk_api_base),
            http,
            telegram_api_base,
        })
    }

    /// Sends one message. `dedupe_id` identifies this part of this delivery: VK drops a
    /// second message with the same `random_id`, so a VK retry cannot double-post.
    pub async fn send(
        &self,
        messenger: Messenger,
        token: &str,
        chat_id: &str,
        thread_id: Option<&str>,
        text: &str,
        dedupe_id: i64,
    ) -> SendOutcome {
        match messenger {
            Messenger::Telegram => self.telegram(token, chat_id, thread_id, text).await,
            Messenger::Vk => self.vk(token, chat_id, text, dedupe_id).await,
        }
    }

    async fn telegram(
        &self,
        token: &str,
        chat_id: &str,
        thread_id: Option<&str>,
        text: &str,
    ) -> SendOutcome {
        let Ok(url) = self
            .telegram_api_base
            // `./` first: `bot123:ABC/...` alone would parse as a URL with scheme `bot123`.
            .join(&format!("./bot{token}/sendMessage"))
        else {
            return SendOutcome::Permanent("the bot token does not fit in a URL".into());
        };
        let mut body = serde_json::json!({
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        });
        // A forum topic: stored as text, sent as the integer Telegram gave.
        if let Some(thread) = thread_id.and_then(|thread| thread.parse::<i64>().ok()) {
            body["message_thread_id"] = thread.into();
        }
        let response = match self.http.post(url).json(&body).send().await {
            Ok(response) => response,
            Err(error) => return SendOutcome::Transient(transport_error(error)),
        };
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        telegram_outcome(status.as_u16(), &answer)
    }

    async fn vk(&self, token: &str, peer_id: &str, text: &str, dedupe_id: i64) -> SendOutcome {
        let random_id = (dedupe_id.rem_euclid(i64::from(i32::MAX))).to_string();
        let params = [
            ("peer_id", peer_id),
            ("message", text),
            ("random_id", random_id.as_str()),
            ("dont_parse_links", "1"),
        ];
        match self.vk.call(token, "messages.send", &params).await {
            Ok(answer) => vk_outcome(&answer),
            Err(CallError::BadBase) => {
                SendOutcome::Permanent("the VK API base is not a base URL".into())
            }
            Err(CallError::Transport(error)) => SendOutcome::Transient(transport_error(error)),
            Err(CallError::Status(status)) => http_failure(status, "VK"),
            // An unreadable answer is VK's "unknown error".
            Err(CallError::Unreadable(_)) => vk_error_outcome(0, ""),
            Err(CallError::Refused { code, message, .. }) => vk_error_outcome(code, &message),
        }
    }
}

fn transport_error(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    format!("{kind}: {}", error.without_url())
}

fn http_failure(status: u16, who: &str) -> SendOutcome {
    let message = format!("{who} answered HTTP {status}");
    if status >= 500 || status == 408 {
        SendOutcome::Transient(message)
    } else {
        SendOutcome::Permanent(message)
    }
}

/// Sorts a Telegram answer (`{"ok": true, ...}` or `{"ok": false, "error_code",
/// "description", "parameters": {"retry_after"}}`).
pub fn telegram_outcome(status: u16, answer: &serde_json::Value) -> SendOutcome {
    if (200..300).contains(&status) && answer["ok"] == serde_json::Value::Bool(true) {
        return SendOutcome::Accepted;
    }
    let description = answer["description"]
        .as_str()
        .map(|text| text.chars().take(200).collect::<String>())
        .unwrap_or_default();
    let message = format!("Telegram answered HTTP {status}: {description}");
    // Only a migration to a chat id that parses is one; otherwise it stays a plain 400.
    if let Some(to) = answer["parameters"]["migrate_to_chat_id"].as_i64() {
        return SendOutcome::Migrated {
            to: to.to_string(),
            message,
        };
    }
    match status {
        429 => match answer["parameters"]["retry_after"].as_u64() {
            Some(seconds) => SendOutcome::RetryAfter(Duration::from_secs(seconds), message),
            None => SendOutcome::Transient(message),
        },
        403 => SendOutcome::Gone(message),
        400 if description.to_ascii_lowercase().contains("chat not found") => {
            SendOutcome::Gone(message)
        }
        400..=499 if status != 408 => SendOutcome::Permanent(message),
        200..=299 => SendOutcome::Transient(message),
        _ => SendOutcome::Transient(message),
    }
}

/// Sorts a VK answer (`{"response": ...}` or `{"error": {"error_code", "error_msg"}}`).
pub fn vk_outcome(answer: &serde_json::Value) -> SendOutcome {
    if answer.get("response").is_some() {
        return SendOutcome::Accepted;
    }
    let (code, message) = vk_api::answer_error(answer).unwrap_or_default();
    vk_error_outcome(code, &message)
}

/// Sorts VK's error `code` with its `error_msg`.
fn vk_error_outcome(code: i64, error_msg: &str) -> SendOutcome {
    let text: String = error_msg.chars().take(200).collect();
    let message = format!("VK error {code}: {text}");
    match code {
        // Too many requests per second; flood control.
        6 => SendOutcome::RetryAfter(Duration::from_secs(1), message),
        9 => SendOutcome::RetryAfter(Duration::from_secs(60), message),
        // Unknown error, internal server error, unreadable answer.
        0 | 1 | 10 => SendOutcome::Transient(message),
        _ => SendOutcome::Permanent(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn telegram_answers_are_sorted() {
        assert_eq!(
            telegram_outcome(200, &json!({"ok": true, "result": {}})),
            SendOutcome::Accepted
        );
        let limited = json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}});
        assert!(matches!(
            telegram_outcome(429, &limited),
            SendOutcome::RetryAfter(after, _) if after == Duration::from_secs(3)
        ));
        let missing =
            json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"});
        assert!(matches!(
            telegram_outcome(400, &missing),
            SendOutcome::Gone(message) if message.contains("chat not found")
        ));
        let blocked = json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"});
        assert!(matches!(
            telegram_outcome(403, &blocked),
            SendOutcome::Gone(_)
        ));
        let refused = json!({"ok": false, "error_code": 400, "description": "Bad Request: message text is empty"});
        assert!(matches!(
            telegram_outcome(400, &refused),
            SendOutcome::Permanent(_)
        ));
        let upgraded = json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": -1001234567890_i64}});
        assert!(matches!(
            telegram_outcome(400, &upgraded),
            SendOutcome::Migrated { to, .. } if to == "-1001234567890"
        ));
        assert!(matches!(
            telegram_outcome(502, &json!(null)),
            SendOutcome::Transient(_)
        ));
    }

    #[test]
    fn vk_answers_are_sorted() {
        assert_eq!(vk_outcome(&json!({"response": 12})), SendOutcome::Accepted);
        assert!(matches!(
            vk_outcome(
                &json!({"error": {"error_code": 6, "error_msg": "Too many requests per second"}})
            ),
            SendOutcome::RetryAfter(..)
        ));
        assert!(matches!(
            vk_outcome(&json!({"error": {"error_code": 901, "error_msg": "Can't send messages"}})),
            SendOutcome::Permanent(_)
        ));
        assert!(matches!(
            vk_outcome(&json!({"error": {"error_code": 10}})),
            SendOutcome::Transient(_)
        ));
    }
}
