//! The Bot API calls of the updates side: `getMe`, `getUpdates`, `deleteWebhook`,
//! `setWebhook`, `setMyCommands`, `sendMessage` (as a reply) and `deleteMessage`.
//!
//! The token is in the URL, so errors are reported without it (as in `delivery::messenger`).

use super::update::Me;
use reqwest::Url;
use serde_json::{Value, json};
use std::time::Duration;

/// How one call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Transport(String),
    /// Telegram answered `ok: false`; `retry_after` with a 429.
    #[error("Telegram answered {status} to {method}: {description}")]
    Refused {
        method: &'static str,
        status: u16,
        description: String,
        retry_after: Option<u64>,
    },
}

impl ApiError {
    /// 401 and 404 (a revoked or wrong token): polling that bot cannot work.
    pub fn bad_token(&self) -> bool {
        matches!(
            self,
            ApiError::Refused {
                status: 401 | 404,
                ..
            }
        )
    }
}

/// The longest pause a 429 may impose on the poller before it asks again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl ApiError {
    /// How long to wait before the next call: Telegram's `retry_after` (bounded), else `backoff`.
    pub fn pause(&self, backoff: Duration) -> Duration {
        match self {
            ApiError::Refused {
                retry_after: Some(seconds),
                ..
            } => Duration::from_secs(*seconds).min(MAX_RETRY_AFTER),
            _ => backoff,
        }
    }
}

/// The commands shown in Telegram's command menu (`setMyCommands`).
const COMMAND_MENU: [(&str, &str); 8] = [
    ("help", "What this bot does and its commands"),
    (
        "subscription",
        "<auth token>: send this chat the bot's records",
    ),
    ("status", "What this chat receives, and what is waiting"),
    ("level", "<LEVEL>: the lowest level sent to this chat"),
    ("mute", "<1h>: count records instead of sending them"),
    ("unmute", "Send again, with one summary of what arrived"),
    ("unsubscribe", "Stop sending records to this chat"),
    (
        "register",
        "<uid> | <name> | <bot token> | <auth token>: register a bot",
    ),
];

/// The update kinds asked for: new messages and the bot's own membership.
const ALLOWED_UPDATES: [&str; 2] = ["message", "my_chat_member"];

#[derive(Clone, Debug)]
pub struct BotApi {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl BotApi {
    /// Calls go to `base`; each waits at most `timeout` (a long poll that much longer).
    pub fn new(base: Url, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            base,
            timeout,
        })
    }

    async fn call(
        &self,
        token: &str,
        method: &'static str,
        body: Value,
        wait: Duration,
    ) -> Result<Value, ApiError> {
        let url = self
            // `./` first: `bot123:ABC/...` alone would parse as a URL with scheme `bot123`.
            .base
            .join(&format!("./bot{token}/{method}"))
            .map_err(|_| ApiError::Transport("the bot token does not fit in a URL".into()))?;
        let response = self
            .http
            .post(url)
            .timeout(self.timeout + wait)
            .json(&body)
            .send()
            .await
            .map_err(|error| ApiError::Transport(format!("{method}: {}", error.without_url())))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or_default();
        if (200..300).contains(&status) && answer["ok"] == Value::Bool(true) {
            return Ok(answer["result"].clone());
        }
        Err(ApiError::Refused {
            method,
            status,
            description: answer["description"]
                .as_str()
                .map(|text| text.chars().take(200).collect())
                .unwrap_or_default(),
            retry_after: answer["parameters"]["retry_after"].as_u64(),
        })
    }

    pub async fn get_me(&self, token: &str) -> Result<Me, ApiError> {
        let me = self.call(token, "getMe", json!({}), Duration::ZERO).await?;
        match (me["id"].as_i64(), me["username"].as_str()) {
            (Some(id), Some(username)) => Ok(Me {
                id,
                username: username.to_owned(),
            }),
            _ => Err(ApiError::Transport(
                "getMe answered without id or username".into(),
            )),
        }
    }

    /// The updates from `offset` on (confirming every one before it), waiting up to `wait`.
    pub async fn get_updates(
        &self,
        token: &str,
        offset: i64,
        wait: Duration,
        limit: usize,
    ) -> Result<Vec<Value>, ApiError> {
        let body = json!({"offset": offset, "timeout": wait.as_secs(), "limit": limit,
            "allowed_updates": ALLOWED_UPDATES});
        match self.call(token, "getUpdates", body, wait).await? {
            Value::Array(updates) => Ok(updates),
            _ => Err(ApiError::Transport(
                "getUpdates answered something else than a list".into(),
            )),
        }
    }

    /// Polling and a webhook exclude each other: drop a webhook left from another mode.
    pub async fn delete_webhook(&self, token: &str) -> Result<(), ApiError> {
        self.call(token, "deleteWebhook", json!({}), Duration::ZERO)
            .await
            .map(drop)
    }

    pub async fn set_webhook(&self, token: &str, url: &Url, secret: &str) -> Result<(), ApiError> {
        let body = json!({"url": url.as_str(), "secret_token": secret,
            "allowed_updates": ALLOWED_UPDATES});
        self.call(token, "setWebhook", body, Duration::ZERO)
            .await
            .map(drop)
    }

    pub async fn set_my_commands(&self, token: &str) -> Result<(), ApiError> {
        let commands: Vec<Value> = COMMAND_MENU
            .iter()
            .map(|(command, description)| json!({"command": command, "description": description}))
            .collect();
        self.call(
            token,
            "setMyCommands",
            json!({"commands": commands}),
            Duration::ZERO,
        )
        .await
        .map(drop)
    }

    /// Sends `text` as a reply to `message_id` (in its forum topic), as plain text.
    pub async fn reply(
        &self,
        token: &str,
        chat_id: &str,
        message_id: i64,
        thread_id: Option<i64>,
        text: &str,
    ) -> Result<(), ApiError> {
        let mut body = json!({"chat_id": chat_id, "text": text,
            "reply_parameters": {"message_id": message_id, "allow_sending_without_reply": true},
            "link_preview_options": {"is_disabled": true}});
        if let Some(thread) = thread_id {
            body["message_thread_id"] = json!(thread);
        }
        self.call(token, "sendMessage", body, Duration::ZERO)
            .await
            .map(drop)
    }

    pub async fn delete_message(
        &self,
        token: &str,
        chat_id: &str,
        message_id: i64,
    ) -> Result<(), ApiError> {
        let body = json!({"chat_id": chat_id, "message_id": message_id});
        self.call(token, "deleteMessage", body, Duration::ZERO)
            .await
            .map(drop)
    }
}
