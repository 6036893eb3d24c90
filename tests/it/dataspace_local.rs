//! The local DataSpace's own conventions, through raw signed GraphQL requests on loopback:
//! packets as transactions, `ref:`, idempotent replay, aggregate versions, unique names,
//! classified errors, independent aliased packets, `@strExpr`, and the APIG check.

use crate::support::dataspace::{self, LocalDs};
use logbot_gateway::apig::{AppCredentials, SigningMiddleware};
use serde_json::{Value, json};

struct Harness {
    ds: LocalDs,
    client: reqwest_middleware::ClientWithMiddleware,
}

async fn start() -> Harness {
    Harness {
        ds: dataspace::start().await,
        client: signed_client("s"),
    }
}

fn signed_client(secret: &str) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(SigningMiddleware::new(AppCredentials::new("k", secret)))
        .build()
}

impl Harness {
    async fn gql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(&self.ds.running.url)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn create_bot(&self, name: &str) -> String {
        let result = self
            .gql(
                "mutation($name: String!) { packet { createBot(input: {name: $name, ownerUid: \"u1\", messenger: \"TELEGRAM\", botToken: \"t\", authTokenHash: \"h\", createdAt: \"2026-11-22T08:00:00\", status: \"ACTIVE\"}) { id name aggVersion createdAt } } }",
                json!({"name": name}),
            )
            .await;
        assert!(result["errors"].is_null(), "{result}");
        assert_eq!(
            result["data"]["packet"]["createBot"]["createdAt"],
            "2026-11-22T08:00:00.000"
        );
        result["data"]["packet"]["createBot"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn classification(result: &Value) -> &str {
    result["errors"][0]["extensions"]["classification"]
        .as_str()
        .unwrap_or("none")
}

#[tokio::test]
async fn ref_links_objects_created_in_the_same_packet() {
    let h = start().await;
    let result = h
        .gql(
            r#"mutation { packet {
                b: createBot(input: {name: "refbot", ownerUid: "u", messenger: "TELEGRAM", botToken: "t", authTokenHash: "h", createdAt: "2026-11-22T08:00:00", status: "ACTIVE"}) { id }
                s: createChatSubscription(input: {bot: "ref:b", chatId: "c1", minLevel: "INFO", active: true, createdAt: "2026-11-22T08:00:00"}) { bot chatId active }
            } }"#,
            json!({}),
        )
        .await;
    assert!(result["errors"].is_null(), "{result}");
    let packet = &result["data"]["packet"];
    assert_eq!(packet["s"]["bot"], packet["b"]["id"]);
    assert_eq!(packet["s"]["active"], true);
}

#[tokio::test]
async fn a_failing_operation_rolls_back_its_whole_packet_but_not_other_packets() {
    let h = start().await;
    h.create_bot("taken").await;
    let result = h
        .gql(
            r#"mutation {
                p1: packet { createAuditEvent(input: {actorUid: "a", action: "x", outcome: "ok", at: "2026-11-22T08:00:00"}) { id } }
                p2: packet {
                    createAuditEvent(input: {actorUid: "a", action: "y", outcome: "ok", at: "2026-11-22T08:00:00"}) { id }
                    createBot(input: {name: "taken", ownerUid: "u", messenger: "TELEGRAM", botToken: "t", authTokenHash: "h", createdAt: "2026-11-22T08:00:00", status: "ACTIVE"}) { id }
                }
            }"#,
            json!({}),
        )
        .await;
    assert!(
        result["data"]["p1"]["createAuditEvent"]["id"].is_string(),
        "{result}"
    );
    assert!(result["data"]["p2"].is_null(), "{result}");
    assert_eq!(classification(&result), "UNIQUE_VIOLATION");
    let audit = h
        .gql(
            r#"{ searchAuditEvent(cond: "it.actorUid == 'a'") { count elems { action } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        audit["data"]["searchAuditEvent"]["count"], 1,
        "p2's audit event must be rolled back: {audit}"
    );
    assert_eq!(audit["data"]["searchAuditEvent"]["elems"][0]["action"], "x");
}

#[tokio::test]
async fn idempotent_replay_returns_the_first_result_and_writes_nothing() {
    let h = start().await;
    let bot = h.create_bot("idem").await;
    let query = r#"mutation($bot: ID!) { packet(idempotencePacketId: "batch-1") {
        isIdempotenceResponse
        createManyLogRecord(input: [
            {bot: $bot, level: "INFO", message: "one", eventAt: "2026-11-22T08:00:00", receivedAt: "2026-11-22T08:00:01"},
            {bot: $bot, level: "ERROR", message: "two", eventAt: "2026-11-22T08:00:02.5", receivedAt: "2026-11-22T08:00:03"}
        ])
    } }"#;
    let first = h.gql(query, json!({"bot": bot})).await;
    let second = h.gql(query, json!({"bot": bot})).await;
    assert_eq!(
        first["data"]["packet"]["isIdempotenceResponse"], false,
        "{first}"
    );
    assert_eq!(
        second["data"]["packet"]["isIdempotenceResponse"], true,
        "{second}"
    );
    assert_eq!(
        first["data"]["packet"]["createManyLogRecord"],
        second["data"]["packet"]["createManyLogRecord"]
    );
    let count = h.gql(r#"{ searchLogRecord { count } }"#, json!({})).await;
    assert_eq!(count["data"]["searchLogRecord"]["count"], 2);
}

#[tokio::test]
async fn aggregate_version_mismatch_is_a_version_conflict() {
    let h = start().await;
    let bot = h.create_bot("versioned").await;
    let update = r#"mutation($id: ID!, $v: Long) { packet(aggregateVersion: $v) { aggVersion updateBot(input: {id: $id, status: "BLOCKED"}) { status aggVersion } } }"#;
    let ok = h.gql(update, json!({"id": bot, "v": 1})).await;
    assert_eq!(ok["data"]["packet"]["updateBot"]["aggVersion"], 2, "{ok}");
    assert_eq!(ok["data"]["packet"]["aggVersion"], 2);
    let stale = h.gql(update, json!({"id": bot, "v": 1})).await;
    assert_eq!(
        classification(&stale),
        "AGGREGATE_VERSION_EXCEPTION",
        "{stale}"
    );
    assert!(stale["data"]["packet"].is_null());
}

#[tokio::test]
async fn get_delete_and_missing_objects() {
    let h = start().await;
    let bot = h.create_bot("gone").await;
    let get = h.gql("query Q($id: ID!) { __typename } mutation M($id: ID!) { packet { getBot(id: $id) { name } } }", json!({"id": bot})).await;
    assert!(
        get["errors"].is_array(),
        "two operations without operationName is an error: {get}"
    );
    let get = h
        .gql(
            "mutation($id: ID!) { packet { getBot(id: $id) { name } } }",
            json!({"id": bot}),
        )
        .await;
    assert_eq!(get["data"]["packet"]["getBot"]["name"], "gone");
    let delete = h
        .gql(
            "mutation($id: ID!) { packet { deleteBot(id: $id) } }",
            json!({"id": bot}),
        )
        .await;
    assert_eq!(delete["data"]["packet"]["deleteBot"], "success", "{delete}");
    let missing = h
        .gql(
            "mutation($id: ID!) { packet { getBot(id: $id) { name } } }",
            json!({"id": bot}),
        )
        .await;
    assert!(missing["data"]["packet"]["getBot"].is_null(), "{missing}");
    let strict = h
        .gql(
            "mutation($id: ID!) { packet { getBot(id: $id, failOnEmpty: true) { name } } }",
            json!({"id": bot}),
        )
        .await;
    assert_eq!(classification(&strict), "OBJECT_NOT_FOUND");
    let again = h
        .gql(
            "mutation($id: ID!) { packet { deleteBot(id: $id) } }",
            json!({"id": bot}),
        )
        .await;
    assert_eq!(classification(&again), "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn references_must_exist_and_referenced_objects_cannot_be_deleted() {
    let h = start().await;
    let dangling = h
        .gql(r#"mutation { packet { createChatSubscription(input: {bot: "999", chatId: "c", minLevel: "INFO", active: true, createdAt: "2026-11-22T08:00:00"}) { id } } }"#, json!({}))
        .await;
    assert_eq!(classification(&dangling), "OBJECT_NOT_FOUND", "{dangling}");
    let bot = h.create_bot("referenced").await;
    h.gql(r#"mutation($bot: ID!) { packet { createChatSubscription(input: {bot: $bot, chatId: "c", minLevel: "INFO", active: true, createdAt: "2026-11-22T08:00:00"}) { id } } }"#, json!({"bot": bot}))
        .await;
    let delete = h
        .gql(
            "mutation($id: ID!) { packet { deleteBot(id: $id) } }",
            json!({"id": bot}),
        )
        .await;
    assert_eq!(classification(&delete), "VALIDATION", "{delete}");
    assert!(
        delete["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ChatSubscription.bot")
    );
}

#[tokio::test]
async fn str_expr_values_are_literals_whatever_they_contain() {
    let h = start().await;
    h.create_bot("alpha").await;
    h.create_bot("it's").await;
    let search = r#"query($name: String!) { searchBot(cond: "it.name == ${name}") @strExpr(string: $name) { count elems { name } } }"#;
    for hostile in [
        "' || 1==1 || '",
        "alpha' || it.name != '",
        "||",
        "'",
        "\\",
        "${name}",
    ] {
        let result = h.gql(search, json!({"name": hostile})).await;
        assert!(result["errors"].is_null(), "{result}");
        assert_eq!(
            result["data"]["searchBot"]["count"], 0,
            "{hostile:?} matched: {result}"
        );
    }
    let quoted = h.gql(search, json!({"name": "it's"})).await;
    assert_eq!(quoted["data"]["searchBot"]["elems"][0]["name"], "it's");
    let several = h
        .gql(
            r#"query($a: String!, $b: String!) { searchBot(cond: "it.name $in [${a}, ${b}]", sort: [{crit: "it.name", order: DESC}]) @strExpr(strings: [$a, $b]) { elems { name } } }"#,
            json!({"a": "alpha", "b": "it's"}),
        )
        .await;
    assert_eq!(
        several["data"]["searchBot"]["elems"],
        json!([{"name": "it's"}, {"name": "alpha"}]),
        "{several}"
    );
}

#[tokio::test]
async fn search_pages_sorts_and_counts() {
    let h = start().await;
    for name in ["c", "a", "e", "b", "d"] {
        h.create_bot(name).await;
    }
    let page = h
        .gql(r#"{ searchBot(cond: "it.name != 'e'", limit: 2, offset: 1, sort: [{crit: "it.name"}]) { count elems { name } } }"#, json!({}))
        .await;
    assert_eq!(
        page["data"]["searchBot"],
        json!({"count": 4, "elems": [{"name": "b"}, {"name": "c"}]}),
        "{page}"
    );
    let bad = h
        .gql(
            r#"{ searchBot(cond: "it.name === 'x'") { count } }"#,
            json!({}),
        )
        .await;
    assert_eq!(classification(&bad), "VALIDATION", "{bad}");
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("position"),
        "{bad}"
    );
    let unknown = h
        .gql(
            r#"{ searchBot(cond: "it.nope == 'x'") { count } }"#,
            json!({}),
        )
        .await;
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{unknown}"
    );
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_stale_requests_get_401_with_the_gateway_body() {
    let h = start().await;
    let body = json!({"query": "{ searchBot { count } }"});
    let plain = reqwest::Client::new()
        .post(&h.ds.running.url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 401);
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["error_code"], "APIG.0301");
    assert!(plain["request_id"].is_string());

    let wrong = signed_client("not-s")
        .post(&h.ds.running.url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let wrong: Value = wrong.json().await.unwrap();
    assert!(
        wrong["error_msg"]
            .as_str()
            .unwrap()
            .contains("signature does not match"),
        "{wrong}"
    );

    let stale = signed_client("s")
        .post(&h.ds.running.url)
        .header("X-Sdk-Date", "20200101T000000Z")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    let stale: Value = stale.json().await.unwrap();
    assert_eq!(stale["error_code"], "APIG.0303", "{stale}");
}

#[tokio::test]
async fn standalone_command_serves_signed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::process::free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_logbot-gateway"))
        .args([
            "dataspace",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
        ])
        .arg(dir.path().join("standalone.sqlite"))
        .env("APP_KEY", "k")
        .env("APP_SECRET", "s")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let client = signed_client("s");
    let mut answer = None;
    for _ in 0..100 {
        if let Ok(response) = client
            .post(&url)
            .json(&json!({"query": "{ searchLogUser { count } }"}))
            .send()
            .await
        {
            answer = Some(response.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        answer,
        Some(json!({"data": {"searchLogUser": {"count": 0}}}))
    );
    child.kill().await.unwrap();
}
