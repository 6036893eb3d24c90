//! The gateway end to end: the real app on a loopback port with the embedded DataSpace
//! (signed calls over HTTP), through its public GraphQL API and the function container.

use crate::support::common;

use common::{error_code, start_gateway};
use logbot_gateway::apig::{AppCredentials, KeyRing, SigningMiddleware};
use logbot_gateway::embedded_dataspace::{LocalDataSpace, LocalOptions};
use serde_json::{Value, json};

const LOGS: &str = "query($bot: String!, $first: Int, $after: String) {
  logs(filter: {bot: $bot}, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id bot level message requestId statusCode } }
  }
}";

fn messages(page: &Value) -> Vec<String> {
    page["logs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn register_subscribe_send_and_page_through_logs() {
    let gw = start_gateway(|s| s.bots.admins = vec!["admin-1".into()]).await;
    let bot = gw.register("admin-1", "df", "auth-token-df").await;
    assert_eq!(
        bot["data"]["registerBot"],
        json!({"name": "df", "ownerUid": "admin-1", "messenger": "TELEGRAM", "status": "ACTIVE"}),
        "{bot}"
    );

    let subscription = gw
        .data(
            "mutation { subscribeChat(input: {authToken: \"auth-token-df\", chatId: \"-100500\", minLevel: WARNING}) { bot chatId minLevel active } }",
            json!({}),
        )
        .await;
    assert_eq!(
        subscription["subscribeChat"],
        json!({"bot": "df", "chatId": "-100500", "minLevel": "WARNING", "active": true})
    );
    let subscriptions = gw
        .data(
            "{ subscriptions(bot: \"df\") { chatId minLevel } }",
            json!({}),
        )
        .await;
    assert_eq!(
        subscriptions["subscriptions"],
        json!([{"chatId": "-100500", "minLevel": "WARNING"}])
    );

    let records: Vec<Value> = (1..=5).map(|i| json!({"level": "INFO", "message": format!("m{i}"), "requestId": format!("r{i}"), "statusCode": 200})).collect();
    let sent = gw
        .data(
            "mutation($records: [LogRecordInput!]!) { sendLogs(bot: \"df\", records: $records) { accepted ids } }",
            json!({"records": records}),
        )
        .await;
    assert_eq!(sent["sendLogs"]["accepted"], 5);

    // Newest first, two at a time; a record inserted while paging does not disturb the pages.
    let first = gw.data(LOGS, json!({"bot": "df", "first": 2})).await;
    assert_eq!(messages(&first), ["m5", "m4"]);
    assert_eq!(first["logs"]["totalCount"], 5);
    assert_eq!(first["logs"]["pageInfo"]["hasNextPage"], true);
    gw.data(
        "mutation { sendLog(input: {bot: \"df\", level: ERROR, message: \"late\"}) { id level } }",
        json!({}),
    )
    .await;
    let cursor = first["logs"]["pageInfo"]["endCursor"].as_str().unwrap();
    let second = gw
        .data(LOGS, json!({"bot": "df", "first": 2, "after": cursor}))
        .await;
    assert_eq!(messages(&second), ["m3", "m2"]);
    assert_eq!(second["logs"]["totalCount"], 6);
    let cursor = second["logs"]["pageInfo"]["endCursor"].as_str().unwrap();
    let third = gw
        .data(LOGS, json!({"bot": "df", "first": 2, "after": cursor}))
        .await;
    assert_eq!(messages(&third), ["m1"]);
    assert_eq!(third["logs"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(third["logs"]["edges"][0]["node"]["requestId"], "r1");

    let fresh = gw.data(LOGS, json!({"bot": "df", "first": 1})).await;
    assert_eq!(messages(&fresh), ["late"]);
    // Without totalCount: the next page is known from the page alone, also when the last
    // page is exactly full.
    const UNCOUNTED: &str = "query($first: Int, $after: String) { logs(filter: {bot: \"df\"}, first: $first, after: $after) { pageInfo { hasNextPage } edges { node { message } } } }";
    let uncounted = gw.data(UNCOUNTED, json!({"first": 2})).await;
    assert_eq!(messages(&uncounted), ["late", "m5"]);
    assert_eq!(uncounted["logs"]["pageInfo"]["hasNextPage"], true);
    let cursor = second["logs"]["pageInfo"]["endCursor"].as_str().unwrap();
    let last = gw
        .data(UNCOUNTED, json!({"first": 1, "after": cursor}))
        .await;
    assert_eq!(messages(&last), ["m1"]);
    assert_eq!(last["logs"]["pageInfo"]["hasNextPage"], false);
    let errors_only = gw
        .data("{ logs(filter: {bot: \"df\", minLevel: ERROR}) { totalCount edges { node { message } } } }", json!({}))
        .await;
    assert_eq!(errors_only["logs"]["totalCount"], 1);
}

#[tokio::test]
async fn bot_tokens_and_hashes_never_leave_the_server() {
    let gw = start_gateway(|s| s.bots.admins = vec!["a".into()]).await;
    gw.register("a", "secretive", "auth-token-xyz").await;
    let asked = gw
        .graphql("{ bot(name: \"secretive\") { name botToken } }", json!({}))
        .await;
    assert!(
        asked["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("botToken"),
        "{asked}"
    );
    let everything = gw
        .graphql("{ bot(name: \"secretive\") { name ownerUid messenger status createdAt } bots { edges { node { name } } } }", json!({}))
        .await;
    let text = everything.to_string();
    assert!(
        !text.contains("telegram-token") && !text.contains("auth-token-xyz"),
        "{text}"
    );
}

#[tokio::test]
async fn registration_is_limited_per_admin_and_every_attempt_is_audited() {
    let gw = start_gateway(|s| {
        s.bots.admins = vec!["boss".into()];
        s.bots.max_bots_per_admin = 2;
    })
    .await;
    assert!(gw.register("boss", "one", "token-one-1").await["errors"].is_null());
    assert!(gw.register("boss", "two", "token-two-2").await["errors"].is_null());
    let third = gw.register("boss", "three", "token-three-3").await;
    assert_eq!(error_code(&third), "LIMIT_REACHED", "{third}");
    let stranger = gw.register("stranger", "mine", "token-mine-1").await;
    assert_eq!(error_code(&stranger), "FORBIDDEN", "{stranger}");
    let duplicate = gw.register("boss", "one", "token-one-2").await;
    assert!(
        matches!(error_code(&duplicate), "ALREADY_EXISTS" | "LIMIT_REACHED"),
        "{duplicate}"
    );

    let client = gw.running.state.service.client();
    let boss = client
        .find_audit_events_by_actor("boss", 50, 0)
        .await
        .unwrap();
    // Newest first.
    let outcomes: Vec<&str> = boss
        .elems
        .iter()
        .rev()
        .map(|event| event.outcome.as_str())
        .collect();
    assert_eq!(
        outcomes,
        [
            "accepted",
            "accepted",
            "refused:limit_reached",
            "refused:limit_reached"
        ],
        "{boss:?}"
    );
    assert!(
        boss.elems
            .iter()
            .all(|event| event.action == "register_bot")
    );
    let stranger = client
        .find_audit_events_by_actor("stranger", 50, 0)
        .await
        .unwrap();
    assert_eq!(stranger.elems[0].outcome, "refused:not_an_admin");
    assert_eq!(stranger.elems[0].target.as_deref(), Some("mine"));
    let bots = gw
        .data(
            "{ bots(ownerUid: \"boss\") { totalCount edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(bots["bots"]["totalCount"], 2);
}

/// Registers `attempts` bots for admin "rush" all at once, spread over `gateways` in turn, and
/// checks that exactly `limit` are accepted and the rest refused with `LIMIT_REACHED`.
async fn rush_registrations(gateways: &[common::TestGateway], attempts: usize, limit: usize) {
    let attempts = (0..attempts).map(|i| {
        let gw = &gateways[i % gateways.len()];
        async move {
            gw.register("rush", &format!("rush-{i}"), &format!("token-rush-{i}"))
                .await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let (accepted, refused): (Vec<&Value>, Vec<&Value>) =
        results.iter().partition(|body| body["errors"].is_null());
    assert_eq!(accepted.len(), limit, "{results:?}");
    assert!(
        refused
            .iter()
            .all(|body| error_code(body) == "LIMIT_REACHED"),
        "{results:?}"
    );
}

#[tokio::test]
async fn concurrent_registrations_cannot_pass_the_limit_together() {
    let gw = start_gateway(|s| {
        s.bots.admins = vec!["rush".into()];
        s.bots.max_bots_per_admin = 2;
    })
    .await;
    rush_registrations(&[gw], 6, 2).await;
}

/// Two replicas on one DataSpace and the real Redis: registrations for one admin, split
/// between them and all at once, still stop at the limit (the lock is a Redis claim). With a
/// limit of 1, both replicas counting before either creates would accept two.
#[tokio::test]
async fn replicas_sharing_redis_cannot_pass_the_limit_together() {
    let Some(redis_url) = crate::support::redis::url_or_skip() else {
        return;
    };
    let dataspace = crate::support::dataspace::start().await;
    let prefix = crate::support::redis::unique_prefix();
    let replica = || {
        start_gateway(|s| {
            s.dataspace.url = Some(dataspace.running.url.parse().unwrap());
            s.dataspace.app_key = Some(crate::support::dataspace::KEY.into());
            s.dataspace.app_secret = Some(crate::support::dataspace::SECRET.into());
            s.bus.redis_url = Some(redis_url.clone());
            s.bus.channel_prefix = Some(prefix.clone());
            s.bots.admins = vec!["rush".into()];
            s.bots.max_bots_per_admin = 1;
        })
    };
    rush_registrations(&[replica().await, replica().await], 8, 1).await;
}

#[tokio::test]
async fn send_logs_with_the_same_idempotency_key_stores_once() {
    let gw = start_gateway(|s| s.bots.admins = vec!["a".into()]).await;
    gw.register("a", "idem", "token-idem-1").await;
    let mut announced = gw
        .running
        .state
        .service
        .bus()
        .subscribe(logbot_gateway::bus::RECORDS_CHANNEL);
    let send = "mutation { sendLogs(bot: \"idem\", records: [{level: INFO, message: \"x\"}, {level: ERROR, message: \"y\"}], idempotencyKey: \"batch-7\") { accepted ids } }";
    let first = gw.data(send, json!({})).await;
    let second = gw.data(send, json!({})).await;
    assert_eq!(first, second);
    // Live subscribers saw the two records once, not again on the replay.
    let mut seen = 0;
    while announced.try_recv().is_ok() {
        seen += 1;
    }
    assert_eq!(seen, 2);
    let total = gw
        .data(
            "{ logs(filter: {bot: \"idem\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(total["logs"]["totalCount"], 2);
}

#[tokio::test]
async fn bad_input_gets_a_stable_code_naming_the_field_and_writes_nothing() {
    let gw = start_gateway(|s| s.bots.admins = vec!["a".into()]).await;
    gw.register("a", "strict", "token-strict-1").await;
    let unknown = gw.graphql("mutation { sendLogs(bot: \"nope\", records: [{level: INFO, message: \"x\"}]) { accepted } }", json!({})).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
    let empty = gw
        .graphql(
            "mutation { sendLogs(bot: \"strict\", records: []) { accepted } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT");
    assert_eq!(empty["errors"][0]["extensions"]["field"], "records");
    let huge = "x".repeat(20_000);
    let oversized = gw
        .graphql(
            "mutation($m: String!) { sendLogs(bot: \"strict\", records: [{level: INFO, message: \"fine\"}, {level: INFO, message: $m}]) { accepted } }",
            json!({"m": huge}),
        )
        .await;
    assert_eq!(error_code(&oversized), "BAD_USER_INPUT", "{oversized}");
    assert_eq!(
        oversized["errors"][0]["extensions"]["field"],
        "records[1].message"
    );
    let bad_level = gw.graphql("mutation { sendLogs(bot: \"strict\", records: [{level: LOUD, message: \"x\"}]) { accepted } }", json!({})).await;
    assert!(
        bad_level["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("LOUD"),
        "{bad_level}"
    );
    let bad_page = gw
        .graphql(
            "{ logs(filter: {bot: \"strict\"}, first: 0) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bad_page), "BAD_USER_INPUT");
    let bad_cursor = gw
        .graphql(
            "{ logs(filter: {bot: \"strict\"}, after: \"abc\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(bad_cursor["errors"][0]["extensions"]["field"], "after");
    // Nothing of the refused batches was stored.
    let total = gw
        .data(
            "{ logs(filter: {bot: \"strict\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(total["logs"]["totalCount"], 0);
}

#[tokio::test]
async fn chat_commands_register_and_subscribe() {
    let gw = start_gateway(|s| s.bots.admins = vec!["777".into()]).await;
    let command = "mutation($text: String!, $from: String!) { executeCommand(text: $text, chatId: \"c-1\", fromUid: $from) { ok reply } }";
    let registered = gw
        .data(
            command,
            json!({"text": "777 | chatbot | 1:tok | chat-auth-token | register", "from": "777"}),
        )
        .await;
    assert_eq!(registered["executeCommand"]["ok"], true, "{registered}");
    let impostor = gw
        .data(
            command,
            json!({"text": "777 | other | 1:tok | other-auth-token | register", "from": "666"}),
        )
        .await;
    assert_eq!(impostor["executeCommand"]["ok"], false);
    let subscribed = gw
        .data(
            command,
            json!({"text": "chat-auth-token | subscription", "from": "42"}),
        )
        .await;
    assert_eq!(
        subscribed["executeCommand"],
        json!({"ok": true, "reply": "This chat is now subscribed to chatbot."})
    );
    let wrong = gw
        .data(
            command,
            json!({"text": "not-the-token | subscription", "from": "42"}),
        )
        .await;
    assert_eq!(wrong["executeCommand"]["ok"], false);
    assert!(
        !wrong["executeCommand"]["reply"]
            .as_str()
            .unwrap()
            .contains("not-the-token")
    );
    let status = gw
        .data(
            command,
            json!({"text": "chat-auth-token | status", "from": "42"}),
        )
        .await;
    assert!(
        status["executeCommand"]["reply"]
            .as_str()
            .unwrap()
            .contains("INFO"),
        "{status}"
    );
}

#[tokio::test]
async fn a_disabled_bot_is_refused_like_an_unknown_one() {
    let gw = start_gateway(|s| s.bots.admins = vec!["a".into()]).await;
    gw.register("a", "off", "token-off-123").await;
    gw.register("a", "on", "token-on-123").await;
    gw.database()
        .execute("UPDATE Bot SET status = 'DISABLED' WHERE name = 'off'", [])
        .unwrap();
    let send = "mutation($bot: String!) { sendLogs(bot: $bot, records: [{level: INFO, message: \"x\"}]) { accepted } }";
    let refused = gw.graphql(send, json!({"bot": "off"})).await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
    let unknown = gw.graphql(send, json!({"bot": "nope"})).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
    let taken = gw.data(send, json!({"bot": "on"})).await;
    assert_eq!(taken["sendLogs"]["accepted"], 1);

    let (status, info) = gw
        .post_json(
            "/",
            &json!({"MESSAGE_NAME": "LOGGER_INFO", "DATA": {"log_info": "RP1| 14.08.2022 15:00| 200", "bot_type": "off"}}),
        )
        .await;
    assert_eq!((status, info["CODE"].clone()), (200, json!(404)), "{info}");

    let command = "mutation($text: String!) { executeCommand(text: $text, chatId: \"c-1\", fromUid: \"42\") { ok reply } }";
    let reply = |text: &'static str| gw.data(command, json!({"text": text}));
    let off = reply("token-off-123 | subscription").await;
    let nobody = reply("token-nobody-123 | subscription").await;
    assert_eq!(off["executeCommand"]["ok"], false, "{off}");
    assert_eq!(off, nobody);
    let on = reply("token-on-123 | subscription").await;
    assert_eq!(on["executeCommand"]["ok"], true, "{on}");
    let subscribe = gw
        .graphql(
            "mutation { subscribeChat(input: {authToken: \"token-off-123\", chatId: \"9\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&subscribe), "UNAUTHENTICATED", "{subscribe}");
}

#[tokio::test]
async fn logger_info_for_known_and_unknown_bots() {
    let gw = start_gateway(|s| s.bots.admins = vec!["a".into()]).await;
    gw.register("a", "df", "token-df-123").await;
    let send = |bot: &str, info: &str| {
        gw.http
            .post(gw.url("/"))
            .json(&json!({"MESSAGE_NAME": "LOGGER_INFO", "DATA": {"log_info": info, "bot_type": bot}}))
            .send()
    };
    let known = send("df", "RP123| 14.08.2022 15:00| 503").await.unwrap();
    assert_eq!(known.status(), 200);
    let known: Value = known.json().await.unwrap();
    assert_eq!(
        (
            known["CODE"].clone(),
            known["STATUS"].clone(),
            known["MESSAGE_NAME"].clone()
        ),
        (json!(200), json!(true), json!("LOGGER_INFO")),
        "{known}"
    );
    let unknown: Value = send("nope", "RP1| 14.08.2022 15:00| 200")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        unknown,
        json!({"CODE": 404, "DATA": {"desc": "bot - nope is not exist."}, "MESSAGE_NAME": "LOGGER_INFO", "STATUS": false})
    );
    let malformed: Value = send("df", "RP1| yesterday| 200")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(malformed["CODE"], 400);
    assert!(
        malformed["DATA"]["desc"]
            .as_str()
            .unwrap()
            .contains("log_info"),
        "{malformed}"
    );

    let stored = gw.data("{ logs(filter: {bot: \"df\"}) { edges { node { level requestId statusCode eventAt } } } }", json!({})).await;
    assert_eq!(
        stored["logs"]["edges"][0]["node"],
        json!({"level": "ERROR", "requestId": "RP123", "statusCode": 503, "eventAt": "2022-08-14T15:00:00.000Z"})
    );

    let graphql_on_root: Value = gw
        .http
        .post(gw.url("/"))
        .json(&json!({"query": "{ bot(name: \"df\") { name } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(graphql_on_root["data"]["bot"]["name"], "df");
    let other_shape = gw
        .http
        .post(gw.url("/"))
        .json(&json!({"hello": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(other_shape.status(), 400);
}

#[tokio::test]
async fn readyz_follows_an_external_dataspace() {
    let dir = tempfile::tempdir().unwrap();
    let dataspace = LocalDataSpace::start(LocalOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        db_path: dir.path().join("external.sqlite"),
        keys: KeyRing::new().with("ext-key", "ext-secret"),
        reads: Default::default(),
        durability: Default::default(),
        contains_index: Default::default(),
    })
    .await
    .unwrap();
    let url = dataspace.url.clone();
    let gw = start_gateway(move |s| {
        s.dataspace.url = Some(url.parse().unwrap());
        s.dataspace.app_key = Some("ext-key".into());
        s.dataspace.app_secret = Some("ext-secret".to_owned().into());
        s.dataspace.timeout = std::time::Duration::from_millis(300);
        s.dataspace.retries = 0;
    })
    .await;
    assert_eq!(
        gw.http
            .get(gw.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        gw.http
            .get(gw.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    dataspace.stop().await;
    assert_eq!(
        gw.http
            .get(gw.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(
        gw.http
            .get(gw.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still alive"
    );
    let down = gw.graphql("{ bot(name: \"x\") { name } }", json!({})).await;
    assert_eq!(error_code(&down), "DATASPACE_UNAVAILABLE", "{down}");
    let metrics = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains("logbot_dataspace_calls_total{operation=\"Ping\",outcome=\"unavailable\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("logbot_http_requests_total{outcome=\"ok\",route=\"/readyz\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn inbound_signing_is_required_when_keys_are_configured() {
    let gw =
        start_gateway(|s| s.auth.app_keys = Some(KeyRing::new().with("caller", "caller-secret")))
            .await;
    let body = json!({"query": "{ bot(name: \"x\") { name } }"});
    let unsigned = gw
        .http
        .post(gw.url("/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let unsigned: Value = unsigned.json().await.unwrap();
    assert_eq!(unsigned["error_code"], "APIG.0301");
    let on_root = gw.http.post(gw.url("/")).json(&body).send().await.unwrap();
    assert_eq!(on_root.status(), 401);

    let signed = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(SigningMiddleware::new(AppCredentials::new(
            "caller",
            "caller-secret",
        )))
        .build();
    let answer = signed
        .post(gw.url("/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.json::<Value>().await.unwrap(),
        json!({"data": {"bot": null}})
    );
    let wrong = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(SigningMiddleware::new(AppCredentials::new(
            "caller", "guess",
        )))
        .build();
    assert_eq!(
        wrong
            .post(gw.url("/graphql"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        gw.http
            .get(gw.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "probes stay open"
    );
}

#[test]
fn a_bad_configuration_value_stops_start_up_with_exit_code_2_and_one_line() {
    let binary = env!("CARGO_BIN_EXE_logbot-gateway");
    let from_env = std::process::Command::new(binary)
        .env("LOGBOT__SERVER__PORT", "80a")
        .env_remove("LOGBOT_CONFIG")
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(2));
    let stderr = String::from_utf8(from_env.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("server.port")
            && stderr.contains("LOGBOT__SERVER__PORT")
            && stderr.contains("80a"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("properties.ini");
    std::fs::write(&file, "[bots]\nmax_bots_per_admin = many\n").unwrap();
    let from_file = std::process::Command::new(binary)
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(from_file.status.code(), Some(2));
    let stderr = String::from_utf8(from_file.stderr).unwrap();
    assert!(
        stderr.contains("bots.max_bots_per_admin") && stderr.contains(file.to_str().unwrap()),
        "{stderr}"
    );

    let check = std::process::Command::new(binary)
        .arg("check-config")
        .env("APP_SECRET", "top-secret-value")
        .env("APP_KEY", "k")
        .env("DATASPACE_URL", "https://ds.example.com/graphql")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let printed = String::from_utf8(check.stdout).unwrap();
    assert!(
        printed.contains("https://ds.example.com/graphql") && !printed.contains("top-secret-value"),
        "{printed}"
    );
}

#[tokio::test]
async fn the_binary_serves_with_the_embedded_dataspace_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let port = crate::support::process::free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_logbot-gateway"))
        .env("PORT", port.to_string())
        .env("LOGBOT__SERVER__HOST", "127.0.0.1")
        .env("LOGBOT__DATASPACE__DATA_DIR", data.path())
        .env("LOGBOT__BOTS__ADMINS", "alice")
        .env_remove("DATASPACE_URL")
        .env_remove("LOGBOT_CONFIG")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    crate::support::process::wait_ready(&base, std::time::Duration::from_secs(10), "the binary")
        .await;
    let registered: Value = http
        .post(format!("{base}/graphql"))
        .json(&json!({"query": "mutation { registerBot(input: {adminUid: \"alice\", name: \"bin\", botToken: \"1:t\", authToken: \"bin-token-1\"}) { name } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        registered,
        json!({"data": {"registerBot": {"name": "bin"}}})
    );
    assert!(data.path().join("dataspace.sqlite").exists());

    crate::support::process::signal(child.id().unwrap(), nix::sys::signal::Signal::SIGTERM);
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}
