//! `POST /` through the real app: direct calls, unknown package or function, wrong-shaped
//! parameters, storage triggers (mapped, redelivered, unmapped) and queue signals.

use crate::support::doors;

use doors::{ADMIN, App, start};
use serde_json::{Value, json};

fn call(function: &str, parameters: Value) -> Value {
    json!({"parameters": parameters,
        "context": {"headers": {"X-Request-Id": "r1"}, "package": "logbot", "function": function}})
}

async fn ok(app: &App, body: Value) -> Value {
    let (status, answer) = app.post_json("/", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "ok", "{answer}");
    assert_eq!(answer["code"], 200);
    assert!(answer["timestamp"].is_string());
    answer["result"].clone()
}

async fn fails(app: &App, body: Value, status: u16) -> String {
    let (got, answer) = app.post_json("/", &body).await;
    assert_eq!(got, status, "{answer}");
    assert_eq!(answer["status"], "fail", "{answer}");
    assert_eq!(answer["code"], status);
    answer["alert"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn direct_calls_register_subscribe_send_and_search() {
    let app = start(|_| {}).await;
    let bot = ok(
        &app,
        call(
            "register-bot",
            json!({"adminUid": ADMIN, "name": "df", "botToken": "123:abc-token", "authToken": "df-auth-token"}),
        ),
    )
    .await;
    assert_eq!(bot["name"], "df");
    let subscription = ok(
        &app,
        call(
            "subscribe-chat",
            json!({"auth_token": "df-auth-token", "chat_id": "-100500", "minLevel": "warning"}),
        ),
    )
    .await;
    assert_eq!(
        subscription,
        json!({"bot": "df", "chatId": "-100500", "minLevel": "WARNING", "active": true})
    );
    let sent = ok(
        &app,
        call(
            "send-log",
            json!({"bot": "df", "level": 40, "message": "boom", "eventAt": "2026-11-22T08:00:00", "statusCode": 502}),
        ),
    )
    .await;
    assert_eq!(sent["accepted"], 1);
    let sent = ok(
        &app,
        call(
            "send-logs",
            json!({"bot": "df", "idempotencyKey": "k1", "records": [
                {"level": "info", "message": "one"}, {"level": "debug", "msg": "two"}]}),
        ),
    )
    .await;
    assert_eq!(sent["accepted"], 2);
    let found = ok(
        &app,
        call("search-logs", json!({"bot": "df", "minLevel": "ERROR"})),
    )
    .await;
    assert_eq!(found["totalCount"], 1);
    assert_eq!(found["records"][0]["message"], "boom");
    assert_eq!(found["records"][0]["statusCode"], 502);
    let status = ok(
        &app,
        call(
            "execute-command",
            json!({"text": "df-auth-token | status", "chatId": "-100500"}),
        ),
    )
    .await;
    assert_eq!(status["ok"], true, "{status}");
    assert_eq!(app.logs("df").await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn unknown_package_function_or_bad_parameters_are_400_naming_what_is_available() {
    let app = start(|_| {}).await;
    let message = fails(&app, call("send-everything", json!({})), 400).await;
    assert!(message.contains("send-everything"), "{message}");
    assert!(
        message.contains("send-log") && message.contains("search-logs"),
        "{message}"
    );

    let mut other_package = call("send-log", json!({}));
    other_package["context"]["package"] = json!("billing");
    let message = fails(&app, other_package, 400).await;
    assert!(
        message.contains("billing") && message.contains("logbot"),
        "{message}"
    );

    let message = fails(&app, call("send-log", json!([1, 2])), 400).await;
    assert!(message.contains("must be an object"), "{message}");
    let message = fails(&app, call("register-bot", json!({"adminUid": ADMIN})), 400).await;
    assert!(message.contains("parameters.name"), "{message}");
    let message = fails(
        &app,
        call("search-logs", json!({"bot": "df", "first": 0})),
        400,
    )
    .await;
    assert!(message.contains("parameters.first"), "{message}");
    let message = fails(
        &app,
        call(
            "send-log",
            json!({"bot": "df", "message": "x", "level": "loud"}),
        ),
        400,
    )
    .await;
    assert!(message.contains("level"), "{message}");
    // Well-formed, but the bot does not exist: the service's answer.
    let message = fails(
        &app,
        call("send-log", json!({"bot": "nope", "message": "x"})),
        404,
    )
    .await;
    assert!(message.contains("nope"), "{message}");
    app.stop().await;
}

fn storage_event(id: &str, kind: &str, bucket: &str, object: &str) -> Value {
    json!({"event_metadata": {"event_id": id, "event_type": format!("yandex.cloud.events.storage.{kind}"),
        "created_at": "2026-11-22T08:00:00.123Z", "tracing_context": {"trace_id": format!("trace-{id}")},
        "cloud_id": "c", "folder_id": "f"},
        "details": {"bucket_id": bucket, "object_id": object}})
}

#[tokio::test]
async fn storage_triggers_are_recorded_once_for_the_mapped_bot() {
    let app = start(|settings| {
        settings
            .function
            .triggers
            .insert("storage.uploads.create".into(), "files".into());
        settings
            .function
            .triggers
            .insert("storage.uploads.delete".into(), "files".into());
    })
    .await;
    app.register_bot_with_auth("files", "files-auth-token")
        .await;
    let batch = json!({"messages": [
        storage_event("e1", "ObjectCreate", "uploads", "reports/a.csv"),
        storage_event("e2", "ObjectDelete", "uploads", "reports/b.csv"),
        storage_event("e3", "ObjectCreate", "elsewhere", "x"),
    ]});
    let result = ok(&app, batch.clone()).await;
    assert_eq!(result["processed"], 3);
    assert_eq!(result["messages"][0]["outcome"], "stored");
    assert_eq!(result["messages"][1]["outcome"], "stored");
    assert_eq!(result["messages"][2]["outcome"], "skipped");
    assert!(
        result["messages"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("trigger.storage.elsewhere.create")
    );
    // The platform redelivers: nothing new is stored.
    ok(&app, batch).await;
    let logs = app.logs("files").await;
    assert_eq!(logs.len(), 2, "{logs:?}");
    let created = logs
        .iter()
        .find(|log| log["message"] == "storage create: uploads/reports/a.csv")
        .unwrap();
    assert_eq!(created["requestId"], "trace-e1");
    assert_eq!(created["eventAt"], "2026-11-22T08:00:00.123Z");
    app.stop().await;
}

#[tokio::test]
async fn signals_with_records_are_ingested_and_others_acknowledged() {
    let app = start(|_| {}).await;
    app.register_bot_with_auth("queue-bot", "queue-auth-token")
        .await;
    let signal = |id: &str, body: &str| {
        json!({"event_metadata": {"event_id": id, "event_type": "yandex.cloud.events.messagequeue.QueueMessage",
            "created_at": "2026-11-22T08:00:00Z"},
            "details": {"queue_id": "yrn:yc:ymq:ru-central1:f:logs", "message": {"message_id": format!("m-{id}"),
                "md5_of_body": "", "body": body, "attributes": {}, "message_attributes": {}}}})
    };
    let records =
        json!({"bot": "queue-bot", "records": [{"level": 30, "message": "from the queue"}]});
    let result = ok(
        &app,
        json!({"messages": [
            signal("1", &records.to_string()),
            signal("2", "just a ping"),
            signal("3", &json!({"bot": "queue-bot", "records": [{"level": 30}]}).to_string()),
        ]}),
    )
    .await;
    assert_eq!(result["messages"][0]["outcome"], "stored");
    assert_eq!(result["messages"][1]["outcome"], "acknowledged");
    assert_eq!(result["messages"][2]["outcome"], "rejected");
    assert!(
        result["messages"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("records[0].message")
    );
    // Redelivered: stored once (keyed by the message id).
    ok(
        &app,
        json!({"messages": [signal("1", &records.to_string())]}),
    )
    .await;
    let logs = app.logs("queue-bot").await;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["level"], "WARNING");

    let (status, answer) = app.post_json("/", &json!({"messages": "nope"})).await;
    assert_eq!(status, 400, "{answer}");
    app.stop().await;
}
