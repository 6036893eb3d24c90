//! Hostile input at the compatibility doors: `/send_logs` (the LoggerBot client's format),
//! `/eventhandler` (Web PubSub CloudEvents, signed where the case must get past the signature)
//! and `/events/vk` (the VK Callback API). One line per case (see `support::hostile`).

use crate::support::hostile::{
    BODY_LIMIT, Case, Expect::*, LOG_USER, Selection, Target, VK_SECRET, case, ce_signature,
    cloud_event, method, nested_json, post, post_json, post_value, raw_post, run, send_logs,
    user_token,
};
use serde_json::{Value, json};

fn logs_body(logs: Value) -> Value {
    json!({"data": {"user": LOG_USER, "pid": 1, "p_name": "hostile", "post_time": "2026-11-22T08:00:00", "logs": logs}})
}

fn vk(event: Value) -> Value {
    let mut event = event;
    if event.get("secret").is_none() {
        event["secret"] = json!(VK_SECRET);
    }
    event
}

fn send_logs_cases() -> Vec<Case> {
    let sl = |body: &Value| send_logs(body.to_string());
    let token = user_token();
    let many = vec![json!({"level": 40, "msg": "m"}); 3000];
    vec![
        case("not JSON", send_logs("{nope"), Status(400)),
        case("empty body", send_logs(""), Status(400)),
        case("invalid UTF-8", raw_post("/send_logs", "application/json", b"{\"data\": {\"user\": \"\xff\"}}"), Status(400)),
        case("JSON 10000 deep", send_logs(format!("{{\"data\": {}}}", nested_json(10_000, "1"))), Status(400)),
        case("body over the limit", send_logs("x".repeat(BODY_LIMIT + 1)), RefusedOrClosed),
        case("text/plain", post("/send_logs", &[("content-type", "text/plain"), ("x-user-token", &token)], logs_body(json!([])).to_string()), Status(415)),
        case("content type of 10 KB", post("/send_logs", &[("content-type", &"a".repeat(10_000)), ("x-user-token", &token)], "{}"), Status(415)),
        case("data a list", sl(&json!({"data": []})), Status(400)),
        case("data missing", sl(&json!({"logs": []})), Status(400)),
        case("user a number", sl(&json!({"data": {"user": 5, "logs": []}})), Status(400)),
        case("user missing", sl(&json!({"data": {"logs": []}})), Status(403)),
        case("unknown user", sl(&json!({"data": {"user": "nobody", "logs": [{"level": 40, "msg": "m"}]}})), Status(403)),
        case("user injection", sl(&json!({"data": {"user": "nobody'OR'1'='1'#", "logs": [{"level": 40, "msg": "m"}]}})), Status(403)),
        case("user LIKE wildcard", sl(&json!({"data": {"user": "%", "logs": [{"level": 40, "msg": "m"}]}})), Status(403)),
        case("user in another case", sl(&json!({"data": {"user": LOG_USER.to_uppercase(), "logs": [{"level": 40, "msg": "m"}]}})), Status(403)),
        case("user of 200 KB", sl(&json!({"data": {"user": "u".repeat(200_000), "logs": []}})), Status(403)),
        case("no token", post_json("/send_logs", logs_body(json!([{"level": 40, "msg": "m"}])).to_string()), Status(403)),
        case("wrong token", post("/send_logs", &[("content-type", "application/json"), ("x-user-token", "0123456789abcdef0123456789abcdef")], logs_body(json!([{"level": 40, "msg": "m"}])).to_string()), Status(403)),
        case("token of 10 KB", post("/send_logs", &[("content-type", "application/json"), ("x-user-token", &"f".repeat(10_000))], logs_body(json!([])).to_string()), Status(403)),
        case("token in upper case", post("/send_logs", &[("content-type", "application/json"), ("x-user-token", &token.to_uppercase())], logs_body(json!([{"level": 40, "msg": "m"}])).to_string()), NotServerError).writes(),
        case("logs an object", sl(&logs_body(json!({}))), Status(400)),
        case("logs of numbers", sl(&logs_body(json!([1, 2]))), Status(400)),
        case("level a list", sl(&logs_body(json!([{"level": [40], "msg": "m"}]))), Status(400)),
        case("level unknown name", sl(&logs_body(json!([{"level": "LOUD", "msg": "m"}]))), Status(400)),
        case("level 1e300", send_logs(format!("{{\"data\": {{\"user\": \"{LOG_USER}\", \"logs\": [{{\"level\": 1e300, \"msg\": \"m\"}}]}}}}")), Status(400)),
        case("level 2^64", send_logs(format!("{{\"data\": {{\"user\": \"{LOG_USER}\", \"logs\": [{{\"level\": 18446744073709551616, \"msg\": \"m\"}}]}}}}")), Status(400)),
        case("msg an object", sl(&logs_body(json!([{"level": 40, "msg": {"a": 1}}]))), Status(400)),
        case("event_at garbage", sl(&logs_body(json!([{"level": 40, "msg": "m", "event_at": "' OR 1=1"}]))), Status(400)),
        case("event_at year 99999", sl(&logs_body(json!([{"level": 40, "msg": "m", "event_at": "99999-01-01T00:00:00"}]))), Status(400)),
        case("pid a list", sl(&json!({"data": {"user": LOG_USER, "pid": [1], "logs": []}})), Status(400)),
        case("pid 2^64", send_logs(format!("{{\"data\": {{\"user\": \"{LOG_USER}\", \"pid\": 18446744073709551616, \"logs\": []}}}}")), Status(400)),
        case("p_description a number", sl(&logs_body(json!([{"level": 40, "msg": "m", "p_description": 5}]))), Status(400)),
        case("one bad log of three", sl(&logs_body(json!([{"level": 40, "msg": "a"}, {"level": "LOUD", "msg": "b"}, {"level": 40, "msg": "c"}]))), Status(400)).has("data.logs[1]"),
        case("message of 500 KB is cut", sl(&logs_body(json!([{"level": 40, "msg": "m".repeat(500_000)}]))), Status(200)).writes(),
        case("message with NUL", sl(&logs_body(json!([{"level": 40, "msg": "a\u{0}b"}]))), Status(200)).writes(),
        case("3000 logs, the last one bad", sl(&logs_body(json!(many.iter().cloned().chain([json!({"level": "LOUD"})]).collect::<Vec<_>>()))), Status(400)),
        case("//send_logs, not JSON", post("//send_logs", &[("content-type", "application/json"), ("x-user-token", &token)], "{"), Status(400)),
        case("GET /send_logs", method("GET", "/send_logs", &[], ""), Status(405)),
    ]
}

fn eventhandler_cases() -> Vec<Case> {
    const MESSAGE: &str = "azure.webpubsub.user.message";
    const SENDLOG: &str = "azure.webpubsub.user.sendlog";
    const CONNECT: &str = "azure.webpubsub.sys.connect";
    let set = |name: &'static str, value: String| {
        move |headers: &mut Vec<(String, String)>| {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.to_owned(), value));
        }
    };
    let remove = |name: &'static str| {
        move |headers: &mut Vec<(String, String)>| {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name))
        }
    };
    let keep = |_: &mut Vec<(String, String)>| {};
    let sendlog = |body: Value| cloud_event(SENDLOG, "application/json", keep, body.to_string());
    vec![
        case(
            "preflight without origin",
            method("OPTIONS", "/eventhandler", &[], ""),
            Status(400),
        ),
        case(
            "preflight, origin not allowed",
            method(
                "OPTIONS",
                "/eventhandler",
                &[("webhook-request-origin", "evil.example.com")],
                "",
            ),
            Status(400),
        ),
        case(
            "preflight, origin of 10 KB",
            method(
                "OPTIONS",
                "/eventhandler",
                &[("webhook-request-origin", &"a,".repeat(5_000))],
                "",
            ),
            Status(400),
        ),
        case(
            "no ce headers",
            post("/eventhandler", &[("content-type", "text/plain")], "help"),
            Status(400),
        ),
        case(
            "ce-hub missing",
            cloud_event(MESSAGE, "text/plain", remove("ce-hub"), "help"),
            Status(400),
        ),
        case(
            "ce-userId missing",
            cloud_event(MESSAGE, "text/plain", remove("ce-userId"), "help"),
            Status(400),
        ),
        case(
            "wrong hub",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-hub", "otherhub".into()),
                "help",
            ),
            Status(400),
        ),
        case(
            "hub of 10 KB",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-hub", "h".repeat(10_000)),
                "help",
            ),
            Status(400),
        ),
        case(
            "no signature",
            cloud_event(MESSAGE, "text/plain", remove("ce-signature"), "help"),
            Status(401),
        ),
        case(
            "wrong signature",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-signature", format!("sha256={}", "0".repeat(64))),
                "help",
            ),
            Status(401),
        ),
        case(
            "signature of another connection",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-signature", ce_signature("other-conn")),
                "help",
            ),
            Status(401),
        ),
        case(
            "signature replayed for another connection id",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-connectionId", "other-conn".into()),
                "help",
            ),
            Status(401),
        ),
        case(
            "10000 signature entries",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-signature", "sha256=00,".repeat(10_000)),
                "help",
            ),
            Status(401),
        ),
        case(
            "signature without prefix",
            cloud_event(
                MESSAGE,
                "text/plain",
                set(
                    "ce-signature",
                    ce_signature("hostile-conn").replace("sha256=", ""),
                ),
                "help",
            ),
            Status(401),
        ),
        case(
            "signature with a multibyte prefix",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-signature", "shä256=00".into()),
                "help",
            ),
            Status(401),
        ),
        case(
            "unknown ce-type",
            cloud_event("azure.webpubsub.nope", "text/plain", keep, "help"),
            Status(400),
        ),
        case(
            "unknown system event",
            cloud_event("azure.webpubsub.sys.explode", "text/plain", keep, ""),
            Status(400),
        ),
        case(
            "unknown user event",
            cloud_event("azure.webpubsub.user.explode", "text/plain", keep, ""),
            Status(400),
        ),
        case(
            "connect, body not JSON",
            cloud_event(CONNECT, "application/json", keep, "{"),
            Status(400),
        ),
        case(
            "connect, body a list",
            cloud_event(CONNECT, "application/json", keep, "[]"),
            Status(400),
        ),
        case(
            "connect, claims a string",
            cloud_event(
                CONNECT,
                "application/json",
                keep,
                json!({"claims": "x"}).to_string(),
            ),
            Status(400),
        ),
        case(
            "connect, subprotocols of numbers",
            cloud_event(
                CONNECT,
                "application/json",
                keep,
                json!({"subprotocols": [1, 2]}).to_string(),
            ),
            Status(400),
        ),
        case(
            "connect, JSON 10000 deep",
            cloud_event(
                CONNECT,
                "application/json",
                keep,
                format!("{{\"claims\": {}}}", nested_json(10_000, "1")),
            ),
            Status(400),
        ),
        case(
            "connect, 100k subprotocols",
            cloud_event(
                CONNECT,
                "application/json",
                keep,
                json!({"subprotocols": vec!["p"; 100_000]}).to_string(),
            ),
            Success,
        ),
        case(
            "message as image/png",
            cloud_event(MESSAGE, "image/png", keep, "help"),
            Status(415),
        ),
        case(
            "message, invalid UTF-8",
            cloud_event(MESSAGE, "text/plain", keep, b"\xff\xfe help".to_vec()),
            Status(400),
        ),
        case(
            "message, JSON not a string",
            cloud_event(MESSAGE, "application/json", keep, "{\"a\": 1}"),
            Status(400),
        ),
        case(
            "message from an anonymous user",
            cloud_event(
                MESSAGE,
                "text/plain",
                set("ce-userId", String::new()),
                "help",
            ),
            Status(403),
        ),
        case(
            "message of 500 KB",
            cloud_event(MESSAGE, "text/plain", keep, "x|".repeat(250_000)),
            Status(200),
        ),
        case(
            "message with NUL",
            cloud_event(MESSAGE, "text/plain", keep, "help\u{0}"),
            Status(200),
        ),
        case(
            "register by a user who is not admin",
            cloud_event(
                MESSAGE,
                "text/plain",
                keep,
                "hostile-user-1 | evil | 123:abcdefgh | evil-token-123 | register",
            ),
            Status(200),
        ),
        case(
            "sendlog as text",
            cloud_event(SENDLOG, "text/plain", keep, "{}"),
            Status(400),
        ),
        case(
            "sendlog not JSON",
            cloud_event(SENDLOG, "application/json", keep, "{"),
            Status(400),
        ),
        case(
            "sendlog without bot",
            sendlog(json!({"message": "m"})),
            Status(400),
        ),
        case(
            "sendlog unknown bot",
            sendlog(json!({"bot": "nobody", "message": "m"})),
            Status(404),
        ),
        case(
            "sendlog bot injection",
            sendlog(json!({"bot": "hb' || it.name != '", "message": "m"})),
            ClientError,
        ),
        case(
            "sendlog level 1e300",
            cloud_event(
                SENDLOG,
                "application/json",
                keep,
                "{\"bot\": \"hb\", \"message\": \"m\", \"level\": 1e300}",
            ),
            Status(400),
        ),
        case(
            "sendlog message of 200 KB",
            sendlog(json!({"bot": "hb", "message": "m".repeat(200_000)})),
            Status(400),
        ),
        case(
            "sendlog one bad record of two",
            sendlog(json!({"bot": "hb", "records": [{"message": "a"}, {"message": 5}]})),
            Status(400),
        ),
        case(
            "sendlog records an object",
            sendlog(json!({"bot": "hb", "records": {}})),
            Status(400),
        ),
        case(
            "sendlog 100k records",
            sendlog(json!({"bot": "hb", "records": vec![json!({"message": "m"}); 100_000]})),
            RefusedOrClosed,
        ),
    ]
}

fn vk_cases() -> Vec<Case> {
    let at = |event: &Value| post_value("/events/vk", event);
    vec![
        case("not JSON", post_json("/events/vk", "{"), Status(400)),
        case("a list", post_json("/events/vk", "[]"), Status(400)),
        case("no type", at(&vk(json!({"object": {}}))), Status(400)),
        case("type a number", at(&vk(json!({"type": 5}))), Status(400)),
        case(
            "JSON 10000 deep",
            post_json(
                "/events/vk",
                format!(
                    "{{\"type\": \"message_new\", \"object\": {}}}",
                    nested_json(10_000, "1")
                ),
            ),
            Status(400),
        ),
        case(
            "invalid UTF-8",
            raw_post("/events/vk", "application/json", b"{\"type\": \"\xff\"}"),
            Status(400),
        ),
        case(
            "body over the limit",
            post_json("/events/vk", "x".repeat(BODY_LIMIT + 1)),
            RefusedOrClosed,
        ),
        case(
            "no secret",
            at(&json!({"type": "message_new", "object": {}})),
            Status(403),
        ),
        case(
            "wrong secret",
            at(&vk(
                json!({"type": "message_new", "object": {}, "secret": "guess"}),
            )),
            Status(403),
        ),
        case(
            "secret a number",
            at(&vk(
                json!({"type": "message_new", "object": {}, "secret": 1}),
            )),
            Status(403),
        ),
        case(
            "confirmation with a wrong secret",
            at(&vk(json!({"type": "confirmation", "secret": "guess"}))),
            Status(403),
        ),
        case(
            "confirmation",
            at(&vk(json!({"type": "confirmation"}))),
            Status(200),
        )
        .has("vk-handshake"),
        case(
            "unknown type",
            at(&vk(json!({"type": "wall_post_new", "object": {}}))),
            Status(200),
        ),
        case(
            "message_new, object a string",
            at(&vk(json!({"type": "message_new", "object": "x"}))),
            Status(200),
        ),
        case(
            "message_new, peer_id a list",
            at(&vk(
                json!({"type": "message_new", "object": {"message": {"peer_id": [1], "text": "/help"}}}),
            )),
            Status(200),
        ),
        case(
            "message_new, peer_id 2^64",
            post_json(
                "/events/vk",
                format!(
                    "{{\"type\": \"message_new\", \"secret\": \"{VK_SECRET}\", \"object\": {{\"message\": {{\"peer_id\": 18446744073709551616, \"from_id\": 1, \"text\": \"/help\"}}}}}}"
                ),
            ),
            Status(200),
        ),
        case(
            "message_new, replies 120 deep",
            at(&vk(
                json!({"type": "message_new", "object": {"message": serde_json::from_str::<Value>(&format!("{}{{\"peer_id\": 1, \"text\": \"x\"}}{}", "{\"reply_message\": ".repeat(120), "}".repeat(120))).unwrap()}}),
            )),
            Status(200),
        ),
        case(
            "message_new, 10k forwards",
            at(&vk(
                json!({"type": "message_new", "object": {"message": {"peer_id": 1, "from_id": 1, "text": "x", "fwd_messages": vec![json!({"text": "f"}); 10_000]}}}),
            )),
            Status(200),
        ),
        case(
            "message_new, command of 500 KB",
            at(&vk(
                json!({"type": "message_new", "object": {"message": {"peer_id": 1, "from_id": 1, "text": format!("/{}", "x|".repeat(250_000))}}}),
            )),
            Status(200),
        ),
        case(
            "message_new, register as a stranger",
            at(&vk(
                json!({"type": "message_new", "event_id": "hostile-vk-1", "object": {"message": {"peer_id": 1, "from_id": 666, "text": "/666 | evil | 123:abcdefgh | evil-token-123 | register"}}}),
            )),
            Status(200),
        ),
        case(
            "message_new, command without sender",
            at(&vk(
                json!({"type": "message_new", "object": {"message": {"peer_id": 1, "text": "/hostile-admin | squat | 123:abcdefgh | squat-token-1 | register"}}}),
            )),
            Status(200),
        ),
        case(
            "message_event, payload 100 deep",
            at(&vk(
                json!({"type": "message_event", "object": {"peer_id": 1, "user_id": 1, "payload": serde_json::from_str::<Value>(&nested_json(100, "1")).unwrap()}}),
            )),
            Status(200),
        ),
        case(
            "event_id of 100 KB",
            at(&vk(
                json!({"type": "message_reaction_event", "event_id": "e".repeat(100_000), "object": {"peer_id": 1, "reacted_id": 1}}),
            )),
            Status(200),
        ),
        case("GET", method("GET", "/events/vk", &[], ""), Status(405)),
    ]
}

#[tokio::test]
async fn hostile_send_logs() {
    let mut target = Target::start(&[]).await;
    run(&mut target, send_logs_cases(), Selection::Ready).await;
}

#[tokio::test]
async fn hostile_eventhandler() {
    let mut target = Target::start(&[]).await;
    run(&mut target, eventhandler_cases(), Selection::Ready).await;
}

#[tokio::test]
async fn hostile_vk() {
    let mut target = Target::start(&[]).await;
    run(&mut target, vk_cases(), Selection::Ready).await;
}
