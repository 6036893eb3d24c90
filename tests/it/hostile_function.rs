//! Hostile input at `POST /`, the function contract, in all its shapes: the message protocol
//! (LOGGER_INFO), GraphQL, direct calls, storage triggers and queue signals. One line per case
//! (see `support::hostile`).

use crate::support::hostile::{
    BODY_LIMIT, BOT, Case, Expect::*, Selection, Target, case, nested_json, post, post_json,
    post_value, raw_post, run,
};
use serde_json::{Value, json};

const HARD_DOORS_TEXT_PLAIN: &str =
    "hard-doors: POST / refuses direct calls sent as text/plain (cross-site)";
const HARD_DOORS_NAMESPACES: &str = "hard-doors: caller idempotency keys in their own namespace";

fn logger_info(data: Value) -> Value {
    json!({"MESSAGE_NAME": "LOGGER_INFO", "DATA": data})
}

fn call(function: &str, parameters: Value) -> Value {
    json!({"parameters": parameters, "context": {"headers": {}, "package": "logbot", "function": function}})
}

fn storage_event(event_type: &str, bucket: Value, object: Value) -> Value {
    json!({"messages": [{
        "event_metadata": {"event_id": "hostile-evt-1", "event_type": event_type,
            "created_at": "2026-11-22T08:00:00Z", "tracing_context": {"trace_id": "t"}},
        "details": {"bucket_id": bucket, "object_id": object}}]})
}

fn signal(body: Value) -> Value {
    json!({"messages": [{
        "event_metadata": {"event_id": "hostile-sig-1", "event_type": "yandex.cloud.events.messagequeue.QueueMessage",
            "created_at": "2026-11-22T08:00:00Z"},
        "details": {"queue_id": "q1", "message": {"message_id": "m1", "body": body}}}]})
}

fn cases() -> Vec<Case> {
    let at = |body: &Value| post_value("/", body);
    let long = "x".repeat(200_000);
    let text_plain = |body: &Value| post("/", &[("content-type", "text/plain")], body.to_string());
    vec![
        // --- the envelope itself
        case("not JSON", post_json("/", "{nope"), Status(400)),
        case("a JSON list", post_json("/", "[1, 2]"), Status(400)),
        case("JSON null", post_json("/", "null"), Status(400)),
        case("empty object", post_json("/", "{}"), Status(400)).has("expected one of"),
        case("invalid UTF-8", raw_post("/", "application/json", b"{\"MESSAGE_NAME\": \"\xff\"}"), Status(400)),
        case("JSON 10000 deep", post_json("/", format!("{{\"a\": {}}}", nested_json(10_000, "1"))), Status(400)),
        case("body over the limit", post_json("/", "x".repeat(BODY_LIMIT + 1)), RefusedOrClosed),
        case("1000 duplicate keys", post_json("/", format!("{{{}}}", (0..1000).map(|_| "\"MESSAGE_NAME\": 1").collect::<Vec<_>>().join(","))), Status(200)),
        // --- message protocol: answers are HTTP 200 with CODE in the envelope
        case("MESSAGE_NAME a number", at(&json!({"MESSAGE_NAME": 7, "DATA": {}})), Status(200)).has("\"CODE\":400"),
        case("MESSAGE_NAME unknown", at(&json!({"MESSAGE_NAME": "DROP", "DATA": {}})), Status(200)).has("\"CODE\":400"),
        case("MESSAGE_NAME of 200 KB", at(&json!({"MESSAGE_NAME": long, "DATA": {}})), Status(200)).has("\"CODE\":400"),
        case("DATA missing", at(&json!({"MESSAGE_NAME": "LOGGER_INFO"})), Status(200)).has("\"CODE\":400"),
        case("DATA a list", at(&logger_info(json!([1]))), Status(200)).has("\"CODE\":400"),
        case("log_info a number", at(&logger_info(json!({"log_info": 5, "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info 2 fields", at(&logger_info(json!({"log_info": "RP1| 14.08.2022 15:00", "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info 10000 fields", at(&logger_info(json!({"log_info": "|".repeat(10_000), "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info bad date", at(&logger_info(json!({"log_info": "RP1| 32.13.2022 25:61| 200", "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info status 99999", at(&logger_info(json!({"log_info": "RP1| 14.08.2022 15:00| 99999", "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info status -200", at(&logger_info(json!({"log_info": "RP1| 14.08.2022 15:00| -200", "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info request id of 200 KB", at(&logger_info(json!({"log_info": format!("{long}| 14.08.2022 15:00| 200"), "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info request id with NUL", at(&logger_info(json!({"log_info": "RP\u{0}1| 14.08.2022 15:00| 200", "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("log_info year 0", at(&logger_info(json!({"log_info": "RP1| 01.01.0000 00:00| 200", "bot_type": BOT}))), Status(200)).has("\"CODE\":400"),
        case("bot_type unknown", at(&logger_info(json!({"log_info": "RP1| 14.08.2022 15:00| 200", "bot_type": "nobody"}))), Status(200)).has("\"CODE\":404"),
        case("bot_type injection", at(&logger_info(json!({"log_info": "RP1| 14.08.2022 15:00| 200", "bot_type": "hb' || it.name != '"}))), Status(200)).has("\"STATUS\":false"),
        case("bot_type a list", at(&logger_info(json!({"log_info": "RP1| 14.08.2022 15:00| 200", "bot_type": ["hb"]}))), Status(200)).has("\"CODE\":400"),
        case("a valid LOGGER_INFO", at(&logger_info(json!({"log_info": "RP1| 14.08.2022 15:00| 500", "bot_type": BOT}))), Status(200)).has("\"CODE\":200").writes(),
        // --- GraphQL through POST /
        case("GraphQL query a number", at(&json!({"query": 5})), Status(400)),
        case("GraphQL as text/plain", text_plain(&json!({"query": "{ bots { totalCount } }"})), Status(415)),
        case("GraphQL as a form", post("/", &[("content-type", "application/x-www-form-urlencoded")], "{\"query\": \"{ bots { totalCount } }\"}"), Status(415)),
        case("GraphQL mutation as text/plain", text_plain(&json!({"query": format!("mutation {{ sendLog(input: {{bot: \"{BOT}\", level: INFO, message: \"csrf\"}}) {{ id }} }}")})), Status(415)),
        case("GraphQL APQ unknown", at(&json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "cd".repeat(32)}}})), Status(200)).has("PERSISTED_QUERY_NOT_FOUND"),
        case("GraphQL syntax error", at(&json!({"query": "{"})), Status(200)).has("GRAPHQL_PARSE_FAILED"),
        // --- direct calls
        case("direct call, unknown package", at(&json!({"parameters": {}, "context": {"package": "other", "function": "send-log"}})), Status(400)).has("package"),
        case("direct call, unknown function", at(&call("send-everything", json!({}))), Status(400)).has("available"),
        case("direct call, function name of 10 KB", at(&call(&"a".repeat(10_000), json!({}))), Status(400)),
        case("direct call, context a string", at(&json!({"parameters": {}, "context": "x"})), Status(400)),
        case("direct call, parameters a list", at(&call("send-log", json!([1, 2]))), Status(400)),
        case("direct call, package a number", at(&json!({"parameters": {}, "context": {"package": 1, "function": "send-log"}})), Status(400)),
        case("send-log, no message", at(&call("send-log", json!({"bot": BOT}))), Status(400)),
        case("send-log, level 9999 is CRITICAL", at(&call("send-log", json!({"bot": BOT, "message": "m", "level": 9999}))), Status(200)).writes(),
        case("send-log, level -1", at(&call("send-log", json!({"bot": BOT, "message": "m", "level": -1}))), Status(400)),
        case("send-log, level a list", at(&call("send-log", json!({"bot": BOT, "message": "m", "level": [40]}))), Status(400)),
        case("send-log, statusCode 1e300", post_json("/", format!("{{\"parameters\": {{\"bot\": \"{BOT}\", \"message\": \"m\", \"statusCode\": 1e300}}, \"context\": {{\"package\": \"logbot\", \"function\": \"send-log\"}}}}")), Status(400)),
        case("send-log, statusCode 2^64", post_json("/", format!("{{\"parameters\": {{\"bot\": \"{BOT}\", \"message\": \"m\", \"statusCode\": 18446744073709551616}}, \"context\": {{\"package\": \"logbot\", \"function\": \"send-log\"}}}}")), Status(400)),
        case("send-log, message of 200 KB", at(&call("send-log", json!({"bot": BOT, "message": long}))), Status(400)),
        case("send-log, eventAt garbage", at(&call("send-log", json!({"bot": BOT, "message": "m", "eventAt": "' OR 1=1"}))), Status(400)),
        case("send-log, source a string", at(&call("send-log", json!({"bot": BOT, "message": "m", "source": "x"}))), Status(400)),
        case("send-log, attributes a string", at(&call("send-log", json!({"bot": BOT, "message": "m", "attributes": "x"}))), Status(400)),
        case("send-log, unknown bot", at(&call("send-log", json!({"bot": "nobody", "message": "m"}))), Status(404)),
        case("send-log, bot injection", at(&call("send-log", json!({"bot": "hb' || it.name != '", "message": "m"}))), ClientError),
        case("send-log as text/plain", text_plain(&call("send-log", json!({"bot": BOT, "message": "csrf"}))), Status(415)).waits(HARD_DOORS_TEXT_PLAIN),
        case("send-logs, records an object", at(&call("send-logs", json!({"bot": BOT, "records": {}}))), Status(400)),
        case("send-logs, one bad record of three", at(&call("send-logs", json!({"bot": BOT, "records": [{"message": "a"}, {"message": 5}, {"message": "c"}]}))), Status(400)).has("records[1]"),
        case("send-logs, 100k records", at(&call("send-logs", json!({"bot": BOT, "records": vec![json!({"message": "m"}); 100_000]}))), RefusedOrClosed),
        case("send-logs, platform key namespace", at(&call("send-logs", json!({"bot": BOT, "records": [{"message": "m"}], "idempotencyKey": "signal:m1"}))), Status(400)).waits(HARD_DOORS_NAMESPACES),
        case("register-bot, wrong types", at(&call("register-bot", json!({"adminUid": 1, "name": [], "botToken": {}, "authToken": null}))), Status(400)),
        case("register-bot, not an admin", at(&call("register-bot", json!({"adminUid": "mallory", "name": "evil", "botToken": "123:abcdefgh", "authToken": "evil-token-123"}))), Status(403)),
        case("register-bot, messenger unknown", at(&call("register-bot", json!({"adminUid": "hostile-admin", "name": "evil", "botToken": "123:abcdefgh", "authToken": "evil-token-123", "messenger": "ICQ"}))), Status(400)),
        case("subscribe-chat, unknown token", at(&call("subscribe-chat", json!({"authToken": "no-such-token-123", "chatId": "5"}))), Status(401)),
        case("subscribe-chat, minLevel unknown", at(&call("subscribe-chat", json!({"authToken": "hb-auth-token-0123456789", "chatId": "5", "minLevel": "LOUD"}))), Status(400)),
        case("unsubscribe-chat, chatId a number", at(&call("unsubscribe-chat", json!({"authToken": "hb-auth-token-0123456789", "chatId": 5}))), Status(200)).has("\"unsubscribed\":false"),
        case("search-logs, first 0", at(&call("search-logs", json!({"bot": BOT, "first": 0}))), Status(400)),
        case("search-logs, first 1000000", at(&call("search-logs", json!({"bot": BOT, "first": 1_000_000}))), Status(400)),
        case("search-logs, contains injection", at(&call("search-logs", json!({"bot": BOT, "contains": "%' OR '1'='1"}))), Status(200)).has("\"totalCount\":0"),
        case("search-logs, requestId injection", at(&call("search-logs", json!({"bot": BOT, "requestId": "x' || it.requestId != '"}))), Status(200)).has("\"totalCount\":0"),
        case("search-logs, from after to", at(&call("search-logs", json!({"bot": BOT, "from": "2030-01-01T00:00:00", "to": "2020-01-01T00:00:00"}))), Status(200)).has("\"totalCount\":0"),
        case("execute-command, text a number", at(&call("execute-command", json!({"text": 5, "chatId": "c"}))), Status(200)).has("\"ok\":false"),
        case("execute-command, register without sender", at(&call("execute-command", json!({"text": "hostile-admin | squat | 123:abcdefgh | squat-token-1 | register", "chatId": "c9"}))), Success).has("\"ok\":false"),
        case("create-log-user, short password", at(&call("create-log-user", json!({"username": "u2", "password": "short"}))), Status(400)),
        // --- triggers and signals
        case("messages not a list", at(&json!({"messages": {}})), Status(400)),
        case("messages of junk", at(&json!({"messages": [1, "x", null]})), NotServerError),
        case("messages, 10k empty", post_json("/", format!("{{\"messages\": [{}]}}", vec!["{}"; 10_000].join(","))), Status(200)),
        case("storage event, unmapped bucket", at(&storage_event("yandex.cloud.events.storage.ObjectCreate", json!("other"), json!("o"))), Status(200)),
        case("storage event, bucket a number", at(&storage_event("yandex.cloud.events.storage.ObjectCreate", json!(5), json!("o"))), NotServerError),
        case("storage event, object of 200 KB", at(&storage_event("yandex.cloud.events.storage.ObjectCreate", json!("uploads"), json!(long))), NotServerError).writes(),
        case("storage event, unknown type", at(&storage_event("yandex.cloud.events.storage.ObjectExplode", json!("uploads"), json!("o"))), NotServerError),
        case("storage event, type not a string", at(&storage_event("x", json!("uploads"), json!("o")).pointer_mut_set()), NotServerError),
        case("signal, body not records", at(&signal(json!("just text"))), Status(200)),
        case("signal, records of the wrong shape", at(&signal(json!({"bot": BOT, "records": [{"message": 5}]}))), Status(200)),
        case("signal, body JSON in a string, 10000 deep", at(&signal(json!(nested_json(10_000, "1")))), Status(200)),
        case("signal, unknown bot", at(&signal(json!({"bot": "nobody", "records": [{"message": "m"}]}))), Status(200)),
    ]
}

/// `event_type` replaced by a number, to check a wrongly typed envelope.
trait PointerSet {
    fn pointer_mut_set(self) -> Value;
}

impl PointerSet for Value {
    fn pointer_mut_set(mut self) -> Value {
        if let Some(slot) = self.pointer_mut("/messages/0/event_metadata/event_type") {
            *slot = json!(42);
        }
        self
    }
}

#[tokio::test]
async fn hostile_function_root() {
    let mut target = Target::start(&[]).await;
    run(&mut target, cases(), Selection::Ready).await;
}

#[tokio::test]
#[ignore = "waits for hard-doors (text/plain direct calls, idempotency namespaces)"]
async fn hostile_function_root_waiting() {
    let mut target = Target::start(&[]).await;
    run(&mut target, cases(), Selection::Waiting).await;
}

/// Two large trigger batches at once: each message is handled without I/O, so a loop over them
/// that never yields holds a runtime worker for the whole batch, and two of them hold both
/// workers of a 2-core container: `/healthz` stopped answering for 5 s and more.
#[tokio::test]
#[ignore = "partly fixed: the message loop yields now, but building and writing the answer of a 30k-message batch still holds a worker for seconds; needs a cap on messages per batch ([limits])"]
async fn hostile_trigger_batches_do_not_starve_the_server() {
    use crate::support::hostile::{Activity, HealthWatch};
    use std::sync::{Arc, Mutex};
    let target = Target::start(&[]).await;
    let body = format!("{{\"messages\": [{}]}}", vec!["{}"; 30_000].join(","));
    let activity: Activity = Arc::new(Mutex::new("two batches of 30k messages".to_owned()));
    let watch = HealthWatch::start(&target, activity);
    let request = post_json("/", body);
    let deadline = std::time::Duration::from_secs(120);
    let (first, second) = tokio::join!(
        target.send(&request, deadline),
        target.send(&request, deadline)
    );
    let health = watch.finish();
    for answer in [first, second] {
        assert_eq!(answer.expect("answered in time").status, Some(200));
    }
    assert!(health.misses.is_empty(), "{}", health.misses.join("\n"));
}
