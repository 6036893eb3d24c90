//! The request id in every error a caller gets: a caller's `x-request-id: my-id-123` comes back
//! inside the body of at least one error of each door, as its format names it (GraphQL errors
//! in `extensions.requestId`, JSON bodies in `requestId`, plain text at the end), and the
//! local DataSpace's errors name the id it was sent.

use crate::support::dataspace::{self, KEY, SECRET};
use crate::support::gateway::{self, Received, TestGateway, receive, send};
use logbot_gateway::apig::{AppCredentials, SigningRequest, sign};
use logbot_gateway::telegram::webhook::{SECRET_HEADER, secret_token};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const ID: &str = "my-id-123";
const SUFFIX: &str = " (request id my-id-123)";
const TELEGRAM_SECRET: &str = "request-id-secret";
const TELEGRAM_HOME: &str = "900:REQUEST-ID-HOME";

async fn app() -> TestGateway {
    gateway::start(&[
        ("LOGBOT__LIMITS__BODY_BYTES", "4096"),
        ("LOGBOT__WEBPUBSUB__HUB", "loggerbot"),
        ("LOGBOT__WEBPUBSUB__ACCESS_KEYS", "research-access-key"),
        ("LOGBOT__VK__CONFIRMATION", "handshake-code"),
        ("LOGBOT__VK__SECRET", "vk-secret"),
        ("LOGBOT__TELEGRAM__UPDATES", "webhook"),
        ("LOGBOT__TELEGRAM__PUBLIC_URL", "https://logbot.invalid/"),
        ("LOGBOT__TELEGRAM__WEBHOOK_SECRET", TELEGRAM_SECRET),
        ("LOGBOT__TELEGRAM__HOME_BOT_TOKEN", TELEGRAM_HOME),
        ("LOGBOT__TELEGRAM__MAX_UPDATE_BYTES", "1024"),
        // Nothing answers there: setWebhook fails and is retried, and nothing leaves the host.
        ("LOGBOT__DELIVERY__TELEGRAM_API_BASE", "http://127.0.0.1:9/"),
    ])
    .await
}

/// POSTs `body` to `path` with the id and `headers`; the status, the `x-request-id` header and
/// the body's text.
async fn post(
    app: &TestGateway,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let mut request = app
        .http
        .post(app.url(path))
        .header("x-request-id", ID)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response.headers().get("x-request-id").map(|v| v.as_bytes()),
        Some(ID.as_bytes()),
        "{path}: {}",
        response.status()
    );
    (response.status().as_u16(), response.text().await.unwrap())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

/// Every GraphQL error of `body` (an object, or a batch's array of them) names the id.
fn every_error_names_the_id(body: &Value) {
    let answers = match body {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut seen = 0;
    for answer in &answers {
        for error in answer["errors"].as_array().expect("errors") {
            let id = error["extensions"]["requestId"]
                .as_str()
                .unwrap_or_default();
            assert!(id.starts_with(ID), "{body}");
            seen += 1;
        }
    }
    assert!(seen > 0, "{body}");
}

const GRAPHQL_JSON: (&str, &str) = ("content-type", "application/json");

/// A name (or path), the headers, the body and the status expected.
type Case = (&'static str, Vec<(&'static str, &'static str)>, String, u16);

#[tokio::test]
async fn graphql_errors_name_the_request_id() {
    let app = app().await;
    let strict = ("accept", "application/graphql-response+json");
    let cases: Vec<Case> = vec![
        (
            "parse",
            vec![GRAPHQL_JSON, strict],
            json!({"query": "{"}).to_string(),
            400,
        ),
        (
            "validation",
            vec![GRAPHQL_JSON, strict],
            json!({"query": "{ nope }"}).to_string(),
            400,
        ),
        (
            "validation as JSON",
            vec![GRAPHQL_JSON],
            json!({"query": "{ nope }"}).to_string(),
            200,
        ),
        (
            "no content type",
            vec![],
            json!({"query": "{ __typename }"}).to_string(),
            415,
        ),
        ("not JSON", vec![GRAPHQL_JSON], "{nope".into(), 400),
        // Refused by its Content-Length before the router (tests/it/server_limits.rs).
        (
            "too large",
            vec![GRAPHQL_JSON],
            format!("{{\"query\": \"{}\"}}", " ".repeat(8192)),
            413,
        ),
        (
            "a service error",
            vec![GRAPHQL_JSON],
            json!({"query": "{ logs(filter: {bot: \"nobody\"}) { totalCount } }"}).to_string(),
            200,
        ),
        (
            "a batch",
            vec![GRAPHQL_JSON],
            json!([{"query": "{ nope }"}, {"query": 5}]).to_string(),
            200,
        ),
    ];
    for (name, headers, body, status) in cases {
        let (got, text) = post(&app, "/graphql", &headers, body).await;
        assert_eq!(got, status, "{name}: {text}");
        every_error_names_the_id(&json_of(&text));
    }

    // A GET with a mutation: 405, its error naming the id too.
    let response = app
        .http
        .get(app.url("/graphql?query=mutation%20%7B%20__typename%20%7D"))
        .header("x-request-id", ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    every_error_names_the_id(&response.json().await.unwrap());

    // `POST /` with a GraphQL body answers as /graphql does.
    let (status, text) = post(
        &app,
        "/",
        &[GRAPHQL_JSON],
        json!({"query": "{"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    every_error_names_the_id(&json_of(&text));
    app.stop().await;
}

/// The next message other than a keep-alive.
async fn next_message(socket: &mut gateway::Socket) -> Value {
    loop {
        match receive(socket, Duration::from_secs(10)).await {
            Received::Json(value) if value["type"] == "ping" => continue,
            Received::Json(value) => return value,
            Received::Closed(frame) => panic!("closed: {frame:?}"),
        }
    }
}

#[tokio::test]
async fn websocket_errors_name_the_upgrade_s_request_id() {
    let app = app().await;
    let mut request = app.ws_url().into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    headers.insert("x-request-id", HeaderValue::from_static(ID));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(next_message(&mut socket).await["type"], "connection_ack");

    // An `error` message: the document does not validate.
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { nope }"}}),
    )
    .await;
    let error = next_message(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    let payload = error["payload"].as_array().expect("errors");
    assert!(!payload.is_empty());
    for item in payload {
        assert_eq!(item["extensions"]["requestId"], ID, "{error}");
    }

    // A `next` message with a service error.
    send(
        &mut socket,
        json!({"id": "2", "type": "subscribe",
            "payload": {"query": "{ logs(filter: {bot: \"nobody\"}) { totalCount } }"}}),
    )
    .await;
    let answer = next_message(&mut socket).await;
    assert_eq!(answer["type"], "next", "{answer}");
    every_error_names_the_id(&answer["payload"]);
    app.stop().await;
}

#[tokio::test]
async fn json_doors_name_the_request_id_in_a_request_id_field() {
    let app = app().await;
    // The function's own shapes.
    let (status, text) = post(
        &app,
        "/",
        &[GRAPHQL_JSON],
        r#"{"parameters": {}, "context": {"package": "logbot", "function": "nope"}}"#,
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(json_of(&text)["requestId"], ID, "{text}");
    let (status, text) = post(&app, "/", &[], "[1]").await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(json_of(&text)["requestId"], ID, "{text}");

    // LoggerBot's /send_logs: its answer keeps `code` and `message`.
    let (status, text) = post(
        &app,
        "/send_logs",
        &[
            GRAPHQL_JSON,
            ("x-user-token", "0123456789abcdef0123456789abcdef"),
        ],
        r#"{"data": {"user": "nobody", "logs": [{"level": 40, "msg": "x"}]}}"#,
    )
    .await;
    assert_eq!(status, 403, "{text}");
    let body = json_of(&text);
    assert_eq!(
        (&body["code"], &body["message"]),
        (&json!(403), &json!("Forbidden"))
    );
    assert_eq!(body["requestId"], ID, "{text}");
    app.stop().await;
}

#[tokio::test]
async fn plain_text_doors_end_their_errors_with_the_request_id() {
    let app = app().await;
    let cases: Vec<Case> = vec![
        // Web PubSub: a CloudEvent without its headers.
        ("/eventhandler", vec![GRAPHQL_JSON], "{}".into(), 400),
        // VK: a wrong secret.
        (
            "/events/vk",
            vec![],
            r#"{"type": "message_new", "group_id": 1, "secret": "wrong"}"#.into(),
            403,
        ),
        // Telegram: no secret token.
        (
            "/events/telegram/~home",
            vec![GRAPHQL_JSON],
            r#"{"update_id": 1}"#.into(),
            403,
        ),
    ];
    for (path, headers, body, status) in cases {
        let (got, text) = post(&app, path, &headers, body).await;
        assert_eq!(got, status, "{path}: {text}");
        assert!(text.ends_with(SUFFIX), "{path}: {text}");
    }
    // A body the door's extractor refuses (over `[telegram] max_update_bytes`).
    let secret = secret_token(TELEGRAM_SECRET, TELEGRAM_HOME);
    let (status, text) = post(
        &app,
        "/events/telegram/~home",
        &[GRAPHQL_JSON, (SECRET_HEADER, &secret)],
        "x".repeat(2048),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert!(text.ends_with(SUFFIX), "{text}");

    // A success is not touched.
    let (status, text) = post(
        &app,
        "/events/vk",
        &[],
        r#"{"type": "confirmation", "group_id": 1, "secret": "vk-secret"}"#,
    )
    .await;
    assert_eq!((status, text.as_str()), (200, "handshake-code"));
    app.stop().await;
}

/// A POST of `body` to the local DataSpace's `endpoint` (its `/graphql`), signed, with the id.
async fn to_dataspace(endpoint: &str, body: &str) -> (u16, Value) {
    let mut request = SigningRequest::from_url(
        "POST",
        endpoint,
        vec![("content-type".to_owned(), "application/json".to_owned())],
    );
    sign(
        &mut request,
        body.as_bytes(),
        &AppCredentials::new(KEY, SECRET),
        chrono::Utc::now(),
    )
    .unwrap();
    let mut call = reqwest::Client::new()
        .post(endpoint)
        .header("x-request-id", ID)
        .body(body.to_owned());
    for (name, value) in &request.headers {
        if !name.eq_ignore_ascii_case("host") {
            call = call.header(name, value);
        }
    }
    let response = call.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_local_dataspace_s_errors_name_the_id_it_was_sent() {
    let ds = dataspace::start().await;
    let url = ds.running.url.clone();
    let (status, body) = to_dataspace(&url, "{nope").await;
    assert_eq!(status, 400, "{body}");
    every_error_names_the_id(&body);
    let (status, body) = to_dataspace(&url, r#"{"query": "{ nope }"}"#).await;
    assert_eq!(status, 200, "{body}");
    every_error_names_the_id(&body);

    // Unsigned: APIG's 401, which names it in its own `request_id` field.
    let response = reqwest::Client::new()
        .post(&url)
        .header("x-request-id", ID)
        .body(r#"{"query": "{ nope }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], ID, "{body}");
}
