//! Hostile input to `POST /events/telegram/<bot>`, the Telegram webhook door: every broken,
//! forged or oversized update gets a 4xx naming what was wrong, and writes nothing. One line
//! per case (see `support::hostile`).

use crate::support::hostile::{
    Case, Expect::*, Request, Selection, Target, case, method, nested_json, post, post_json, run,
};
use logbot_gateway::telegram::webhook::{SECRET_HEADER, secret_token};

const HOME_TOKEN: &str = "900:HOSTILE-HOME";
const SERVER_SECRET: &str = "hostile-webhook-secret";
const MAX_UPDATE_BYTES: usize = 8192;
const HOME: &str = "/events/telegram/~home";

fn signed(body: impl Into<Vec<u8>>) -> Request {
    let secret = secret_token(SERVER_SECRET, HOME_TOKEN);
    post(
        HOME,
        &[
            ("content-type", "application/json"),
            (SECRET_HEADER, &secret),
        ],
        body,
    )
}

fn telegram_cases() -> Vec<Case> {
    let update = r#"{"update_id": 1, "message": {"message_id": 1, "text": "/help", "chat": {"id": 1, "type": "private"}, "from": {"id": 1}}}"#;
    vec![
        case("no secret", post_json(HOME, update), Status(403)).has("Secret-Token"),
        case(
            "wrong secret",
            post(
                HOME,
                &[
                    ("content-type", "application/json"),
                    (SECRET_HEADER, "guess"),
                ],
                update,
            ),
            Status(403),
        ),
        case(
            "the bot token as the secret",
            post(HOME, &[(SECRET_HEADER, HOME_TOKEN)], update),
            Status(403),
        ),
        case(
            "another bot's path",
            post_json("/events/telegram/nobody", update),
            Status(404),
        ),
        case("not JSON", signed("{"), Status(400)).has("not JSON"),
        case("a list", signed("[]"), Status(400)).has("JSON object"),
        case("no update_id", signed("{}"), Status(400)).has("update_id"),
        case(
            "update_id a string",
            signed(r#"{"update_id": "1"}"#),
            Status(400),
        ),
        case(
            "JSON 3000 deep",
            signed(format!(
                "{{\"update_id\": 1, \"message\": {}}}",
                nested_json(3_000, "1")
            )),
            Status(400),
        ),
        case(
            "invalid UTF-8",
            signed(&b"{\"update_id\": \"\xff\"}"[..]),
            Status(400),
        ),
        case(
            "body over max_update_bytes",
            signed(format!(
                "{{\"update_id\": 1, \"x\": \"{}\"}}",
                "x".repeat(MAX_UPDATE_BYTES)
            )),
            RefusedOrClosed,
        ),
        case("GET", method("GET", HOME, &[], ""), Status(405)),
    ]
}

#[tokio::test]
async fn hostile_telegram_webhook() {
    let max = MAX_UPDATE_BYTES.to_string();
    let mut target = Target::start(&[
        ("LOGBOT__TELEGRAM__UPDATES", "webhook"),
        ("LOGBOT__TELEGRAM__PUBLIC_URL", "https://logbot.invalid/"),
        ("LOGBOT__TELEGRAM__WEBHOOK_SECRET", SERVER_SECRET),
        ("LOGBOT__TELEGRAM__HOME_BOT_TOKEN", HOME_TOKEN),
        ("LOGBOT__TELEGRAM__MAX_UPDATE_BYTES", &max),
        // Nothing answers there: setWebhook fails and is retried, and nothing leaves the host.
        ("LOGBOT__DELIVERY__TELEGRAM_API_BASE", "http://127.0.0.1:9/"),
    ])
    .await;
    run(&mut target, telegram_cases(), Selection::Ready).await;
}
