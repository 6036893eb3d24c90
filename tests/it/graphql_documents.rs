//! GraphQL documents and cost on the real app: the records and response bytes one request may
//! return (a batch together), `first` in the complexity, and persisted queries kept by bytes
//! and only once they pass the document checks.

use crate::support::gateway::start;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn codes(body: &Value) -> Vec<String> {
    let items = match body {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    items
        .iter()
        .map(|item| {
            item["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn records_and_response_bytes_are_bounded_per_request_batch_included() {
    let gateway = start(&[
        ("LOGBOT__LIMITS__RECORDS_PER_REQUEST", "30"),
        ("LOGBOT__LIMITS__RESPONSE_BYTES", "400"),
    ])
    .await;
    let page = json!({"query": "{ bots(first: 20) { totalCount } }"});
    let (status, body) = gateway.post(page.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["bots"]["totalCount"], 0, "{body}");
    // 20 + 20 records asked for in one batch: the second is refused.
    let (status, body) = gateway.post(json!([page, page])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(codes(&body), ["", "LIMIT_EXCEEDED"], "{body}");
    assert!(
        body[1]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("more than 30 records"),
        "{body}"
    );
    // Subscriptions (not paged) are charged as returned: 3 fit beside 27 bots, not beside 28.
    gateway.register_bot("rb").await;
    for chat in ["c1", "c2", "c3"] {
        let (_, body) = gateway
            .query(&format!(
                "mutation {{ subscribeChat(input: {{authToken: \"rb-auth-token-0123456789\", chatId: \"{chat}\", minLevel: INFO}}) {{ chatId }} }}"
            ))
            .await;
        assert_eq!(body["data"]["subscribeChat"]["chatId"], chat, "{body}");
    }
    let with_bots = |first: usize| {
        json!({"query": format!(
            "{{ bots(first: {first}) {{ totalCount }} subscriptions(bot: \"rb\") {{ chatId }} }}"
        )})
    };
    let (_, body) = gateway.post(with_bots(27)).await;
    assert_eq!(
        body["data"]["subscriptions"].as_array().map(Vec::len),
        Some(3),
        "{body}"
    );
    let (_, body) = gateway.post(with_bots(28)).await;
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    // A response over the bytes (the embedded DataSpace has introspection on).
    let (status, body) = gateway.query("{ __schema { types { name } } }").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    assert!(body.to_string().contains("400 bytes"), "{body}");
    // Small answers fit until the batch's bytes are spent.
    let small = json!({"query": "{ a: __typename b: __typename c: __typename }"});
    let (_, body) = gateway.post(json!(vec![small; 10])).await;
    let codes = codes(&body);
    assert_eq!(codes[0], "", "{body}");
    assert_eq!(codes[9], "LIMIT_EXCEEDED", "{body}");
    gateway.stop().await;
}

#[tokio::test]
async fn first_multiplies_complexity() {
    let gateway = start(&[("LOGBOT__LIMITS__COMPLEXITY", "150")]).await;
    // 30 x 4 + 1 fits, 100 x 4 + 1 does not.
    let (status, body) = gateway
        .query("{ bots(first: 30) { edges { node { name ownerUid } } } }")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = gateway
        .query("{ bots(first: 100) { edges { node { name ownerUid } } } }")
        .await;
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    // From a variable too.
    let (_, body) = gateway
        .post(json!({
            "query": "query($n: Int!) { bots(first: $n) { edges { node { name ownerUid } } } }",
            "variables": {"n": 100},
        }))
        .await;
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    // The default page counts too (logs: 50 x 4 + 1).
    let (_, body) = gateway
        .query("{ logs(filter: {bot: \"x\"}) { edges { node { message level } } } }")
        .await;
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    gateway.stop().await;
}

/// The default `complexity` lets through the biggest page a client may ask for: `logs` at its
/// maximum `first` with every field of a record (the clients' own query), while 20 aliased
/// `bots(first: 100)` (hostile_graphql) stay over it.
#[tokio::test]
async fn the_largest_legitimate_page_fits_the_default_complexity() {
    let gateway = start(&[]).await;
    let (status, body) = gateway
        .query(
            "{ logs(filter: {bot: \"x\"}, first: 500) { totalCount pageInfo { hasNextPage endCursor } \
             edges { cursor node { id bot level message eventAt receivedAt requestId statusCode \
             source { userName pid processName processDescription } attributes } } } }",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !codes(&body).iter().any(|code| code == "LIMIT_EXCEEDED"),
        "{body}"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn persisted_queries_are_kept_by_bytes_and_only_after_the_checks() {
    let gateway = start(&[("LOGBOT__LIMITS__APQ_BYTES", "40")]).await;
    let persisted = |query: &str| {
        let hash = hex::encode(Sha256::digest(query.as_bytes()));
        json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
    };
    let lookup = |query: &str| json!({"extensions": persisted(query)});
    // A document that does not parse is answered and not kept.
    let broken = "{ bots {";
    let (_, body) = gateway
        .post(json!({"query": broken, "extensions": persisted(broken)}))
        .await;
    assert_eq!(codes(&body), ["GRAPHQL_PARSE_FAILED"], "{body}");
    let (_, body) = gateway.post(lookup(broken)).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");
    // Nor one over a limit.
    let deep = format!("{{ a{}b{} }}", "{ a ".repeat(70), " }".repeat(70));
    let (_, body) = gateway
        .post(json!({"query": deep, "extensions": persisted(&deep)}))
        .await;
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    let (_, body) = gateway.post(lookup(&deep)).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");
    // 40 bytes hold the first of these two (24 bytes each), then only the second.
    let first = "query One { __typename }";
    let second = "query Two { __typename }";
    for query in [first, second] {
        let (_, body) = gateway
            .post(json!({"query": query, "extensions": persisted(query)}))
            .await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
    let (_, body) = gateway.post(lookup(first)).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");
    let (_, body) = gateway.post(lookup(second)).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    gateway.stop().await;
}
