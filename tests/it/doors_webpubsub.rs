//! `/eventhandler` through the real app: the shared CloudEvents cases replayed by their own
//! script (`tests/fixtures/cases/run_cases.py`), chat commands in user messages, `sendlog` events,
//! and what is refused.

use crate::support::doors;

use doors::{ADMIN, App, start};
use logbot_gateway::compat::webpubsub::signature_matches;
use serde_json::{Value, json};

const HUB: &str = "loggerbot";
const KEY: &str = "research-access-key";
const ORIGIN: &str = "loggerbot-test.webpubsub.azure.com";

async fn app() -> App {
    start(|settings| {
        settings.webpubsub.hub = Some(HUB.into());
        settings.webpubsub.access_keys = vec!["old-rotated-key".into(), KEY.into()];
        settings.webpubsub.allowed_origins = vec![format!("https://{ORIGIN}")];
    })
    .await
}

#[tokio::test]
async fn the_shared_cloudevents_cases_pass() {
    let app = app().await;
    let cases = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cases");
    let output = tokio::process::Command::new("python3")
        .arg(format!("{cases}/run_cases.py"))
        .arg(&app.running.base_url)
        .arg(format!("{cases}/cloudevents.json"))
        .output()
        .await
        .expect("python3 runs tests/fixtures/cases/run_cases.py");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains(" 0 failed"), "{report}");
    app.stop().await;
}

fn signature(connection: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(connection.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn user_event(
    app: &App,
    event: &str,
    user: &str,
    content_type: &str,
    body: &str,
) -> (u16, String, String) {
    let response = app
        .http
        .post(app.url("/eventhandler"))
        .header("Content-Type", content_type)
        .header("ce-specversion", "1.0")
        .header("ce-awpsversion", "1.0")
        .header("ce-type", format!("azure.webpubsub.user.{event}"))
        .header("ce-eventName", event)
        .header("ce-connectionId", "conn-7")
        .header("ce-hub", "LoggerBot")
        .header("ce-userId", user)
        .header("ce-signature", format!("sha256=00,{}", signature("conn-7")))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn user_messages_run_chat_commands_and_sendlog_ingests() {
    let app = app().await;
    assert!(signature_matches(&signature("conn-7"), "conn-7", &[KEY]));

    let (status, content_type, reply) =
        user_event(&app, "message", ADMIN, "text/plain", "help").await;
    assert_eq!(status, 200, "{reply}");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(reply.contains("register"), "{reply}");

    let register = format!("{ADMIN} | pubsub-bot | 123:abc-token | pubsub-auth-token | register");
    let (status, _, reply) = user_event(&app, "message", ADMIN, "text/plain", &register).await;
    assert_eq!(status, 200, "{reply}");
    let (status, _, reply) = user_event(
        &app,
        "message",
        "watcher",
        "application/octet-stream",
        "pubsub-auth-token | subscription",
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let subscriptions = app
        .graphql(
            "{ subscriptions(bot: \"pubsub-bot\") { chatId active } }",
            json!({}),
        )
        .await;
    assert_eq!(
        subscriptions["data"]["subscriptions"],
        json!([{"chatId": "watcher", "active": true}]),
        "{subscriptions}"
    );

    let record = json!({"bot": "pubsub-bot", "level": "error", "message": "from a socket",
        "eventAt": "2026-11-22T08:00:00"});
    let (status, content_type, answer) = user_event(
        &app,
        "sendlog",
        "watcher",
        "application/json",
        &record.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(content_type.starts_with("application/json"));
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["accepted"], 1);
    let logs = app.logs("pubsub-bot").await;
    assert_eq!(logs[0]["message"], "from a socket");
    assert_eq!(logs[0]["level"], "ERROR");
    app.stop().await;
}

#[tokio::test]
async fn refused_user_events_name_the_problem() {
    let app = app().await;
    for (event, content_type, body, status, named) in [
        ("message", "text/html", "help", 415, "text/plain"),
        ("sendlog", "text/plain", "{}", 400, "application/json"),
        (
            "sendlog",
            "application/json",
            "{\"message\": \"x\"}",
            400,
            "bot",
        ),
        ("sendlog", "application/json", "{not json", 400, "not JSON"),
        (
            "sendlog",
            "application/json",
            "{\"bot\": \"nope\", \"message\": \"x\"}",
            404,
            "nope",
        ),
        ("dance", "text/plain", "x", 400, "message, sendlog"),
        ("message", "text/plain", "help", 403, "ce-userId"),
    ] {
        let user = if status == 403 { "" } else { "u1" };
        let (got, _, answer) = user_event(&app, event, user, content_type, body).await;
        assert_eq!(got, status, "{event} {content_type}: {answer}");
        assert!(answer.contains(named), "{answer}");
    }
    app.stop().await;

    // Without a hub the endpoint is off.
    let off = start(|_| {}).await;
    let response = off
        .http
        .request(reqwest::Method::OPTIONS, off.url("/eventhandler"))
        .header("WebHook-Request-Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    off.stop().await;
}

#[tokio::test]
async fn a_preflight_from_an_origin_not_allowed_is_refused() {
    let app = app().await;
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/eventhandler"))
        .header("WebHook-Request-Origin", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers().get("webhook-allowed-origin").is_none());
    app.stop().await;
}
