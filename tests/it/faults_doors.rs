//! Every door while DataSpace is down: a 503 with `Retry-After` (`[limits] retry_after_s`)
//! within the DataSpace deadline, never a 200 for what was not stored and never a bare 500;
//! `/readyz` names DataSpace. The gateway talks to an external DataSpace that is stopped.

use crate::support::{doors, gateway};

use doors::App;
use logbot_gateway::apig::KeyRing;
use logbot_gateway::embedded_dataspace::{LocalDataSpace, LocalOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const HUB: &str = "faults";
const WPS_KEY: &str = "faults-access-key";
const VK_SECRET: &str = "faults-vk-secret";
const AUTH: &str = "fault-auth-token-1";
/// Set off the default (2), so the header is seen to come from the setting.
const RETRY_AFTER: &str = "7";
/// The DataSpace timeout with no retries: every call fails within it.
const DS_TIMEOUT: Duration = Duration::from_millis(300);

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
    took: Duration,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        retry_after: response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned()),
        body: response.text().await.unwrap(),
        took: started.elapsed(),
    }
}

fn wps_signature(connection: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WPS_KEY.as_bytes()).unwrap();
    mac.update(connection.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn direct(function: &str, parameters: Value) -> Value {
    json!({"parameters": parameters,
        "context": {"headers": {}, "package": "logbot", "function": function}})
}

/// Each door's request for something that needs DataSpace: (name, request).
fn door_requests(app: &App) -> Vec<(&'static str, reqwest::RequestBuilder)> {
    let http = &app.http;
    let send_log =
        "mutation { sendLog(input: {bot: \"fb\", level: ERROR, message: \"lost?\"}) { id } }";
    let signal = json!({"event_metadata": {"event_id": "s1", "event_type": "yandex.cloud.events.messagequeue.QueueMessage",
        "created_at": "2026-11-22T08:00:00Z"},
        "details": {"queue_id": "yrn:yc:ymq:ru-central1:f:logs", "message": {"message_id": "m-s1",
            "md5_of_body": "", "body": json!({"bot": "fb", "records": [{"level": 30, "message": "q"}]}).to_string(),
            "attributes": {}, "message_attributes": {}}}});
    let user_token = logbot_gateway::domain::secrets::user_token("fault-user", "fault-password");
    vec![
        ("POST /graphql json", http.post(app.url("/graphql")).json(&json!({"query": send_log}))),
        (
            "POST /graphql graphql-response+json",
            http.post(app.url("/graphql"))
                .header("accept", "application/graphql-response+json")
                .json(&json!({"query": send_log})),
        ),
        (
            "GET /graphql",
            http.get(app.url(&format!(
                "/graphql?query={}",
                form_urlencoded::byte_serialize(
                    b"{ logs(filter: {bot: \"fb\"}, first: 1) { totalCount } }"
                )
                .collect::<String>()
            ))),
        ),
        (
            "POST /graphql batch",
            http.post(app.url("/graphql"))
                .json(&json!([{"query": "{ __typename }"}, {"query": send_log}])),
        ),
        ("POST / GraphQL", http.post(app.url("/")).json(&json!({"query": send_log}))),
        (
            "POST / LOGGER_INFO",
            http.post(app.url("/")).json(&json!({"MESSAGE_NAME": "LOGGER_INFO",
                "DATA": {"log_info": "RP1| 14.08.2022 15:00| 500", "bot_type": "fb"}})),
        ),
        (
            "POST / direct send-log",
            http.post(app.url("/"))
                .json(&direct("send-log", json!({"bot": "fb", "message": "m"}))),
        ),
        ("POST / queue signal", http.post(app.url("/")).json(&json!({"messages": [signal]}))),
        (
            "POST /send_logs",
            http.post(app.url("/send_logs"))
                .header("x-user-token", user_token)
                .json(&json!({"data": {"user": "fault-user", "logs": [{"level": 40, "msg": "m"}]}})),
        ),
        (
            "POST /eventhandler sendlog",
            http.post(app.url("/eventhandler"))
                .header("content-type", "application/json")
                .header("ce-specversion", "1.0")
                .header("ce-awpsversion", "1.0")
                .header("ce-type", "azure.webpubsub.user.sendlog")
                .header("ce-eventName", "sendlog")
                .header("ce-connectionId", "conn-f")
                .header("ce-hub", HUB)
                .header("ce-userId", "u1")
                .header("ce-signature", wps_signature("conn-f"))
                .body(json!({"bot": "fb", "records": [{"level": 30, "message": "w"}]}).to_string()),
        ),
        (
            "POST /events/vk command",
            http.post(app.url("/events/vk")).json(&json!({"type": "message_new",
                "event_id": "ev-fault-1", "v": "5.199", "group_id": 77, "secret": VK_SECRET,
                "object": {"message": {"date": 1_700_000_000, "from_id": 5, "id": 0, "out": 0,
                    "peer_id": 5, "text": format!("/{AUTH} | status"), "conversation_message_id": 1}}})),
        ),
    ]
}

#[tokio::test]
async fn every_door_answers_503_with_retry_after_while_dataspace_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let dataspace = LocalDataSpace::start(LocalOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        db_path: dir.path().join("external.sqlite"),
        keys: KeyRing::new().with("fk", "fs"),
        reads: Default::default(),
        durability: Default::default(),
        contains_index: Default::default(),
    })
    .await
    .unwrap();
    let url = dataspace.url.clone();
    let app = doors::start(move |s| {
        s.dataspace.url = Some(url.parse().unwrap());
        s.dataspace.app_key = Some("fk".into());
        s.dataspace.app_secret = Some("fs".to_owned().into());
        s.dataspace.timeout = DS_TIMEOUT;
        s.dataspace.retries = 0;
        s.limits.retry_after = Duration::from_secs(RETRY_AFTER.parse().unwrap());
        s.webpubsub.hub = Some(HUB.into());
        s.webpubsub.access_keys = vec![WPS_KEY.into()];
        s.vk.confirmation = Some("c0nf".into());
        s.vk.secret = Some(VK_SECRET.into());
        s.vk.group_id = Some(77);
    })
    .await;
    app.register_bot_with_auth("fb", AUTH).await;
    let user = app
        .graphql(
            "mutation { createLogUser(username: \"fault-user\", password: \"fault-password\", bot: \"fb\") { username } }",
            json!({}),
        )
        .await;
    assert_eq!(
        user["data"]["createLogUser"]["username"], "fault-user",
        "{user}"
    );
    let ready = send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(ready.status, 200, "{}", ready.body);

    dataspace.stop().await;
    for (door, request) in door_requests(&app) {
        let answer = send(request).await;
        assert_eq!(answer.status, 503, "{door}: {}", answer.body);
        assert_eq!(answer.retry_after.as_deref(), Some(RETRY_AFTER), "{door}");
        assert!(
            answer.took < DS_TIMEOUT * 4 + Duration::from_secs(1),
            "{door} took {:?}",
            answer.took
        );
        assert!(
            answer.body.contains("unavailable") || answer.body.contains("Unavailable"),
            "{door} does not say why: {}",
            answer.body
        );
        if door.contains("graphql") || door == "POST / GraphQL" {
            let body: Value = serde_json::from_str(&answer.body).unwrap();
            let errors = if body.is_array() { &body[1] } else { &body };
            assert_eq!(
                errors["errors"][0]["extensions"]["code"], "DATASPACE_UNAVAILABLE",
                "{door}: {body}"
            );
            assert!(
                errors.get("data").is_none(),
                "{door}: no data in a 503: {body}"
            );
        }
    }

    // Over WebSocket there is no status: the operation's error carries the code.
    let mut socket = gateway::connect_initialised(&app.ws_url()).await;
    gateway::send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "mutation { sendLog(input: {bot: \"fb\", level: INFO, message: \"ws\"}) { id } }"}}),
    )
    .await;
    let next = gateway::receive_json(&mut socket).await;
    assert_eq!(
        next["payload"]["errors"][0]["extensions"]["code"], "DATASPACE_UNAVAILABLE",
        "{next}"
    );

    let ready = send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.retry_after.as_deref(), Some(RETRY_AFTER));
    let report: Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(report["ready"], false, "{report}");
    assert_eq!(report["bus"], "ok", "{report}");
    assert!(
        report["dataspace"]
            .as_str()
            .unwrap()
            .contains("unavailable"),
        "{report}"
    );
    app.stop().await;
}
