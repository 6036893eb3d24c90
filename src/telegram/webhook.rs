//! Updates by webhook: `setWebhook` to `<public_url>/events/telegram/<bot>` with a per-bot
//! `secret_token`, and the route Telegram POSTs each update to.
//!
//! The secret token is HMAC-SHA256 of the bot token under `[telegram] webhook_secret`: it
//! differs per bot, every replica derives the same one, and it reveals nothing of the token.

use super::api::ApiError;
use super::door::{Door, ServedBot};
use crate::app_state::AppState;
use crate::config::TelegramUpdates;
use crate::request_id::plain_text as plain;
use crate::service::ServiceError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Sha256;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The route; `door` is `None` when the door cannot be built (it then answers 503).
pub fn routes(door: Option<Arc<Door>>, max_update_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/events/telegram/{bot}", post(update))
        .layer(DefaultBodyLimit::max(max_update_bytes))
        .layer(Extension(door))
}

/// The `secret_token` of `bot`'s webhook.
pub fn secret_token(server_secret: &str, bot_token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(server_secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(bot_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Points `bot`'s webhook at this gateway.
pub async fn set(door: &Door, bot: &ServedBot) -> Result<(), ApiError> {
    let (Some(public), Some(secret)) = (&door.settings.public_url, &door.settings.webhook_secret)
    else {
        return Err(ApiError::Transport(
            "[telegram] public_url and webhook_secret are needed".into(),
        ));
    };
    let url = public
        .join(&format!("./events/telegram/{}", bot.path))
        .map_err(|error| ApiError::Transport(format!("the webhook URL: {error}")))?;
    let token = secret_token(secret.expose_secret(), &bot.token);
    door.api.set_webhook(&bot.token, &url, &token).await
}

/// `POST /events/telegram/<bot>`: one update. 404 unless `[telegram] updates = webhook`.
async fn update(
    Extension(door): Extension<Option<Arc<Door>>>,
    Path(bot): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(door) = door.filter(|door| door.settings.updates == TelegramUpdates::Webhook) else {
        return plain(
            StatusCode::NOT_FOUND,
            "the Telegram webhook door is off: [telegram] updates is not webhook",
        );
    };
    let Some(secret) = &door.settings.webhook_secret else {
        return plain(
            StatusCode::NOT_FOUND,
            "[telegram] webhook_secret is not set",
        );
    };
    let served = match door.served_bot(&bot).await {
        Ok(Some(served)) => served,
        Ok(None) => {
            return plain(
                StatusCode::NOT_FOUND,
                "no Telegram bot is served by this name",
            );
        }
        Err(error) => return unavailable(&error),
    };
    let expected = secret_token(secret.expose_secret(), &served.token);
    let given = headers
        .get(SECRET_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(expected.as_bytes())) {
        return plain(
            StatusCode::FORBIDDEN,
            "wrong or missing X-Telegram-Bot-Api-Secret-Token",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return crate::request_id::body_rejection(&rejection, &crate::request_id::for_errors());
        }
    };
    let raw: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(object)) => Value::Object(object),
        Ok(_) => return plain(StatusCode::BAD_REQUEST, "the update must be a JSON object"),
        Err(error) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("the update is not JSON: {error}"),
            );
        }
    };
    let Some(update_id) = super::update::update_id(&raw) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "the update has no integer update_id",
        );
    };
    // Telegram redelivers an update until it gets a 2xx: one below the stored offset is done.
    match door.service.client().telegram_offset(&served.key).await {
        Ok(Some(offset)) if update_id < offset => return plain(StatusCode::OK, "already handled"),
        Ok(_) => {}
        Err(error) => return unavailable(&error.into()),
    }
    let me = match door.me(&served).await {
        Ok(me) => me,
        Err(error) => {
            tracing::warn!(%error, bot = %served.path, "Telegram getMe failed");
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Telegram getMe failed; retry",
            );
        }
    };
    match door.handle(&served, &me, &raw).await {
        Ok(()) => plain(StatusCode::OK, "ok"),
        Err(error) => unavailable(&error),
    }
}

/// Telegram retries an update that is not answered 2xx: right while DataSpace is down.
fn unavailable(error: &ServiceError) -> Response {
    tracing::warn!(%error, "Telegram update not handled");
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "DataSpace is unavailable, try again later",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_tokens_differ_per_bot_and_fit_telegram() {
        let a = secret_token("server", "1:aaa");
        assert_ne!(a, secret_token("server", "2:bbb"));
        assert_ne!(a, secret_token("other", "1:aaa"));
        assert_eq!(a, secret_token("server", "1:aaa"));
        assert!(a.len() <= 256 && a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(!a.contains("aaa"));
    }
}
