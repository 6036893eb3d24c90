//! GraphQL over HTTP on the real app: status codes and media types, limits, APQ, CSRF guards,
//! GraphiQL, and the function container's `POST /`.

use crate::support::gateway;

use gateway::{TestGateway, start};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or("")
}

async fn raw(
    gateway: &TestGateway,
    method: reqwest::Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, Option<String>, String) {
    let mut request = gateway.http.request(
        method,
        format!("{}{path_and_query}", gateway.running.base_url),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let allow = header("allow");
    (status, content_type, allow, response.text().await.unwrap())
}

#[tokio::test]
async fn status_codes_and_media_types_follow_the_spec() {
    let gateway = start(&[]).await;
    let invalid = r#"{"query":"{ noSuchField }"}"#;
    let json_headers = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let (status, content_type, _, body) = raw(
        &gateway,
        reqwest::Method::POST,
        "/graphql",
        &json_headers,
        Some(invalid),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("application/json"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");

    let (status, body) = gateway.query("{ noSuchField }").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("data").is_none());

    // GET runs queries only; a mutation is 405 with Allow: POST.
    let (status, _, allow, body) = raw(
        &gateway,
        reqwest::Method::GET,
        "/graphql?query=mutation%20%7B%20__typename%20%7D",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(allow.as_deref(), Some("POST"));
    assert!(body.contains("POST"), "{body}");

    // CSRF: a form or text/plain POST (no preflight in a browser) is refused.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, _, _, body) = raw(
            &gateway,
            reqwest::Method::POST,
            "/graphql",
            &[("content-type", content_type)],
            Some(r#"{"query":"{ __typename }"}"#),
        )
        .await;
        assert_eq!(status, 415, "{content_type}: {body}");
        assert!(body.contains("application/json"), "{body}");
    }

    // Parameters: the message names the one at fault.
    let (status, body) = gateway
        .post(json!({"query": "{ __typename }", "variables": [1]}))
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("\"variables\""), "{body}");
    let (status, body) = gateway.post(json!({"qeury": "{ __typename }"})).await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("\"query\""), "{body}");
    let (status, _, _, body) = raw(
        &gateway,
        reqwest::Method::POST,
        "/graphql",
        &[("content-type", "application/json")],
        Some("{ \"not json"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("not JSON"), "{body}");

    let (status, _, _, body) = raw(
        &gateway,
        reqwest::Method::POST,
        "/graphql",
        &[("content-type", "application/json"), ("accept", "text/csv")],
        Some(r#"{"query":"{ __typename }"}"#),
    )
    .await;
    assert_eq!(status, 406, "{body}");

    // Batches answer an array.
    let (status, body) = gateway
        .post(json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[1]["data"]["__typename"], "Query", "{body}");

    // The function container's POST / gets the same behaviour.
    let (status, content_type, _, body) = raw(
        &gateway,
        reqwest::Method::POST,
        "/",
        &[
            ("content-type", "application/json"),
            ("accept", "application/graphql-response+json"),
        ],
        Some(r#"{"query":"{"}"#),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(content_type.starts_with("application/graphql-response+json"));
    assert!(body.contains("GRAPHQL_PARSE_FAILED"), "{body}");
    let (status, _, _, body) = raw(
        &gateway,
        reqwest::Method::POST,
        "/",
        &[("content-type", "text/plain")],
        Some(r#"{"query":"mutation { __typename }"}"#),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    gateway.stop().await;
}

#[tokio::test]
async fn each_limit_rejects_with_a_clear_error() {
    let gateway = start(&[
        ("LOGBOT__LIMITS__QUERY_DEPTH", "4"),
        ("LOGBOT__LIMITS__COMPLEXITY", "8"),
        ("LOGBOT__LIMITS__ALIASES", "2"),
        ("LOGBOT__LIMITS__ROOT_FIELDS", "3"),
        ("LOGBOT__LIMITS__BATCH_SIZE", "2"),
        ("LOGBOT__LIMITS__BODY_BYTES", "2048"),
    ])
    .await;
    let cases = [
        (
            "{ __schema { types { fields { type { name } } } } }",
            "deeper than the limit of 4",
        ),
        (
            "{ __schema { queryType { name } mutationType { name } subscriptionType { name } types { name } } }",
            "more complex than the limit of 8",
        ),
        (
            "{ a: __typename b: __typename c: __typename }",
            "3 aliases; the limit is 2",
        ),
        (
            "{ __typename __typename __typename __typename }",
            "4 root fields; the limit is 3",
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = gateway.query(query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(code(&body), "LIMIT_EXCEEDED", "{query}: {body}");
        assert!(message(&body).contains(expected), "{query}: {body}");
    }
    let (status, body) = gateway
        .post(json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}, {"query": "{ __typename }"}]))
        .await;
    assert_eq!(status, 400);
    assert!(
        message(&body).contains("3 operations; the limit is 2"),
        "{body}"
    );
    let (status, body) = gateway
        .post(json!({"query": format!("{{ __typename }} # {}", "x".repeat(4096))}))
        .await;
    assert_eq!(status, 413, "{body}");
    assert!(message(&body).contains("limit of 2048 bytes"), "{body}");
    gateway.stop().await;
}

#[tokio::test]
async fn a_request_over_the_time_limit_gets_a_timeout_error() {
    // A DataSpace that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/graphql", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let gateway = start(&[
        ("DATASPACE_URL", &silent_url),
        ("APP_KEY", "key"),
        ("APP_SECRET", "secret"),
        ("LOGBOT__DATASPACE__TIMEOUT_MS", "30000"),
        ("LOGBOT__LIMITS__REQUEST_TIMEOUT_MS", "300"),
    ])
    .await;
    let started = std::time::Instant::now();
    let (status, body) = gateway.query(r#"{ bot(name: "x") { name } }"#).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(code(&body), "TIMEOUT");
    assert!(message(&body).contains("300 ms"), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    gateway.stop().await;
    hold.abort();
}

#[tokio::test]
async fn persisted_queries_round_trip_over_post_and_get() {
    let gateway = start(&[]).await;
    let query = "query Persisted { __typename }";
    let hash = hex::encode(Sha256::digest(query.as_bytes()));
    let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});

    let (status, body) = gateway.post(json!({"extensions": extensions})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(message(&body), "PersistedQueryNotFound");
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");

    let (status, body) = gateway
        .post(json!({"query": query, "extensions": extensions}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query");

    let (status, body) = gateway.post(json!({"extensions": extensions})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let encoded: String =
        form_urlencoded::byte_serialize(extensions.to_string().as_bytes()).collect();
    let (status, _, _, body) = raw(
        &gateway,
        reqwest::Method::GET,
        &format!("/graphql?extensions={encoded}"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""__typename":"Query""#), "{body}");

    let (status, body) = gateway
        .post(json!({"query": "{ other: __typename }", "extensions": extensions}))
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("does not match"), "{body}");
    gateway.stop().await;
}

#[tokio::test]
async fn introspection_off_and_graphiql_for_a_browser() {
    let gateway = start(&[("LOGBOT__GRAPHQL__INTROSPECTION", "false")]).await;
    let (status, body) = gateway.query("{ __schema { queryType { name } } }").await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("introspection"), "{body}");

    let (status, content_type, _, page) = raw(
        &gateway,
        reqwest::Method::GET,
        "/graphql",
        &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    assert!(page.contains("graphiql"), "{page}");
    assert!(page.contains("subscriptionUrl"), "{page}");
    gateway.stop().await;

    let gateway = start(&[]).await;
    let (status, body) = gateway.query("{ __schema { queryType { name } } }").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    gateway.stop().await;
}
