//! The VK API calls, for both sides that make them: the VK door (command replies, Bots Long
//! Poll's `groups.getLongPollServer`) and the delivery worker (`messages.send`).
//!
//! A call is one form-encoded `POST <base>method/<name>` with the access token and the API
//! [`VERSION`] in the body, and its answer is `{"response": ...}` or VK's
//! `{"error": {"error_code", "error_msg"}}`, read here into [`CallError::Refused`]. The token
//! goes in the form, never in the URL, and transport errors are kept without their URL, so a
//! token never reaches a log line, a metric or a stored `lastError`.

use reqwest::Url;
use serde_json::Value;

/// The VK API version the requests speak.
pub const VERSION: &str = "5.199";

/// `application/x-www-form-urlencoded` text of `pairs`.
pub fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// How one call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// `method/<name>` does not join onto the configured base.
    #[error("the VK API base is not a base URL")]
    BadBase,
    /// The request did not go through (network, timeout); the error is without its URL.
    #[error("{0}")]
    Transport(reqwest::Error),
    /// VK answered with an HTTP status other than 2xx.
    #[error("VK answered HTTP {0}")]
    Status(u16),
    /// The answer's body could not be read as JSON; the error is without its URL.
    #[error("unreadable answer: {0}")]
    Unreadable(reqwest::Error),
    /// VK answered `{"error": {...}}`: its `error_code` (0 when missing) and `error_msg`
    /// (empty when missing).
    #[error("{method}: VK error {code}: {message}")]
    Refused {
        method: String,
        code: i64,
        message: String,
    },
}

/// VK's error in an answer, if it is one: `(error_code or 0, error_msg or "")`.
pub fn answer_error(answer: &Value) -> Option<(i64, String)> {
    let error = answer.get("error")?;
    let code = error["error_code"].as_i64().unwrap_or(0);
    let message = error["error_msg"].as_str().unwrap_or_default().to_owned();
    Some((code, message))
}

/// Calls the VK API at `base` over `http`.
#[derive(Clone, Debug)]
pub struct VkApi {
    http: reqwest::Client,
    base: Url,
}

impl VkApi {
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self { http, base }
    }

    /// Calls `method` with `params`, the access `token` and the API version as a form; VK's
    /// answer when it is not an error.
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, CallError> {
        let url = self
            .base
            .join(&format!("./method/{method}"))
            .map_err(|_| CallError::BadBase)?;
        let mut form = params.to_vec();
        form.extend([("access_token", token), ("v", VERSION)]);
        let response = self
            .http
            .post(url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_urlencoded(&form))
            .send()
            .await
            .map_err(|error| CallError::Transport(error.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CallError::Status(status.as_u16()));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|error| CallError::Unreadable(error.without_url()))?;
        if let Some((code, message)) = answer_error(&answer) {
            return Err(CallError::Refused {
                method: method.to_owned(),
                code,
                message,
            });
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_are_read_with_defaults() {
        assert_eq!(answer_error(&json!({"response": 1})), None);
        assert_eq!(
            answer_error(&json!({"error": {"error_code": 6, "error_msg": "Too many"}})),
            Some((6, "Too many".into()))
        );
        assert_eq!(
            answer_error(&json!({"error": {}})),
            Some((0, String::new()))
        );
    }

    #[test]
    fn the_form_carries_everything_encoded() {
        assert_eq!(
            form_urlencoded(&[("message", "a b&c"), ("v", VERSION)]),
            "message=a+b%26c&v=5.199"
        );
    }
}
