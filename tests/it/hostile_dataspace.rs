//! Hostile input at the DataSpace's own endpoint: the standalone `logbot-gateway dataspace`
//! server, attacked with bad, expired, future, replayed and altered APIG signatures, and with
//! validly signed requests carrying hostile `cond` expressions, sorts, paging and packets.
//! One line per case (see `support::hostile`).

use crate::support::dataspace::{KEY, SECRET};
use crate::support::hostile::{
    Case, Expect::*, Request, Selection, Target, case, fragment_bomb, nested_list, run,
};
use chrono::{TimeDelta, Utc};
use logbot_gateway::apig::{AppCredentials, SigningRequest, sign};
use serde_json::{Value, json};

/// How a case signs.
#[derive(Clone, Copy)]
enum Signing {
    Valid,
    None,
    WrongSecret,
    UnknownKey,
    /// Signed 20 minutes ago (the window is 15).
    Expired,
    /// Signed 20 minutes from now.
    Future,
    /// Signed over another body than the one sent (a captured signature replayed).
    OtherBody,
    /// Signed for another path.
    OtherPath,
    /// `SignedHeaders` names a header that is not sent.
    MissingHeader,
    /// This `Authorization` value instead.
    Raw(&'static str),
}

/// A POST of `body` to the DataSpace at `addr`, signed as `signing` says.
fn signed(addr: &str, body: impl Into<Vec<u8>>, signing: Signing) -> Request {
    let body = body.into();
    let now = Utc::now();
    let (secret, key, at) = match signing {
        Signing::WrongSecret => ("not-the-secret", KEY, now),
        Signing::UnknownKey => (SECRET, "nobody", now),
        Signing::Expired => (SECRET, KEY, now - TimeDelta::minutes(20)),
        Signing::Future => (SECRET, KEY, now + TimeDelta::minutes(20)),
        _ => (SECRET, KEY, now),
    };
    let path = if matches!(signing, Signing::OtherPath) {
        "/graphql/other"
    } else {
        "/graphql"
    };
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if matches!(signing, Signing::MissingHeader) {
        headers.push(("x-only-when-signing".to_owned(), "1".to_owned()));
    }
    let mut request = SigningRequest::from_url("POST", &format!("http://{addr}{path}"), headers);
    let signed_body: &[u8] = if matches!(signing, Signing::OtherBody) {
        b"{\"query\": \"{ searchBot(limit: 1) { count } }\"}"
    } else {
        &body
    };
    sign(
        &mut request,
        signed_body,
        &AppCredentials::new(key, secret),
        at,
    )
    .unwrap();
    let mut headers: Vec<(String, Vec<u8>)> = request
        .headers
        .into_iter()
        .filter(|(name, _)| {
            !(matches!(signing, Signing::MissingHeader) && name == "x-only-when-signing")
        })
        .map(|(name, value)| (name, value.into_bytes()))
        .collect();
    match signing {
        Signing::None => headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization")),
        Signing::Raw(value) => {
            for (name, slot) in &mut headers {
                if name.eq_ignore_ascii_case("authorization") {
                    *slot = value.as_bytes().to_vec();
                }
            }
        }
        _ => {}
    }
    Request::Http {
        method: "POST",
        path: "/graphql".to_owned(),
        headers,
        body,
    }
}

fn cases(addr: &str) -> Vec<Case> {
    let q = |query: &str| signed(addr, json!({ "query": query }).to_string(), Signing::Valid);
    let with = |signing: Signing| {
        signed(
            addr,
            json!({"query": "{ searchBot(limit: 1) { count } }"}).to_string(),
            signing,
        )
    };
    let cond = |cond: &str| {
        signed(
            addr,
            json!({"query": "query($c: String) { searchLogRecord(cond: $c, limit: 5) { count } }", "variables": {"c": cond}}).to_string(),
            Signing::Valid,
        )
    };
    let in_list = |n: usize| {
        format!(
            "it.requestId $in [{}]",
            (0..n)
                .map(|i| format!("'r{i}'"))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let or_terms = |n: usize| {
        (0..n)
            .map(|i| format!("it.requestId == 'r{i}'"))
            .collect::<Vec<_>>()
            .join(" || ")
    };
    let long_token = "A".repeat(10_000);
    let long_auth: &'static str = Box::leak(
        format!("SDK-HMAC-SHA256 Access=k, SignedHeaders=host, Signature={long_token}")
            .into_boxed_str(),
    );
    let packet = |body: &str| q(&format!("mutation {{ packet {{ {body} }} }}"));
    let mut cases = vec![
        // --- signatures
        case("a valid signature", with(Signing::Valid), Status(200)).has("count"),
        case("no Authorization", with(Signing::None), Status(401)).has("APIG.0301"),
        case("wrong secret", with(Signing::WrongSecret), Status(401)).has("APIG.0301"),
        case("unknown key", with(Signing::UnknownKey), Status(401)).has("APIG.0301"),
        case("expired date", with(Signing::Expired), Status(401)).has("APIG.0303"),
        case("future date", with(Signing::Future), Status(401)).has("APIG.0303"),
        case("signature replayed on another body", with(Signing::OtherBody), Status(401)),
        case("signed for another path", with(Signing::OtherPath), Status(401)),
        case("a signed header not sent", with(Signing::MissingHeader), Status(401)),
        case("Authorization: Bearer", with(Signing::Raw("Bearer abc")), Status(401)),
        case("Authorization: algorithm only", with(Signing::Raw("SDK-HMAC-SHA256")), Status(401)),
        case("Authorization: fields twice", with(Signing::Raw("SDK-HMAC-SHA256 Access=k, Access=k, SignedHeaders=host, Signature=00")), Status(401)),
        case("Authorization: unknown field", with(Signing::Raw("SDK-HMAC-SHA256 Access=k, Evil=1, SignedHeaders=host, Signature=00")), Status(401)),
        case("Authorization: empty signed headers", with(Signing::Raw("SDK-HMAC-SHA256 Access=k, SignedHeaders=, Signature=00")), Status(401)),
        case("Authorization: 10 KB signature", with(Signing::Raw(long_auth)), Status(401)),
        case("Authorization: 1000 signed headers", with(Signing::Raw(Box::leak(format!("SDK-HMAC-SHA256 Access=k, SignedHeaders={}, Signature=00", vec!["x-a"; 1000].join(";")).into_boxed_str()))), Status(401)),
        case("Authorization: signed header names that are not names", with(Signing::Raw("SDK-HMAC-SHA256 Access=k, SignedHeaders=(host) :;;;, Signature=00")), Status(401)),
        // --- the request itself, validly signed
        case("not JSON", signed(addr, "{", Signing::Valid), ClientError),
        case("invalid UTF-8", signed(addr, b"{\"query\": \"\xff\"}".to_vec(), Signing::Valid), ClientError),
        case("JSON 10000 deep", signed(addr, format!("{{\"query\": \"{{ searchBot {{ count }} }}\", \"variables\": {}}}", "[".repeat(10_000) + &"]".repeat(10_000)), Signing::Valid), ClientError),
        case("body over 16 MiB", signed(addr, "x".repeat(16 * 1024 * 1024 + 1), Signing::Valid), RefusedOrClosed),
        case("syntax error", q("{ searchBot("), Status(200)).has("errors"),
        case("unknown class", q("{ searchNothing { count } }"), Status(200)).has("errors"),
        case("fragment bomb", q(&fragment_bomb(20, 4, "_Query", "searchBot(limit: 1) { count }").replace("query {", "{")), Status(200)).has("selections with its fragments inlined").within(std::time::Duration::from_secs(2)),
        case("a fragment spreading itself", q("{ ...A } fragment A on _Query { ...A }"), Status(200)).has("spreads itself"),
        // --- cond
        case("cond syntax error", cond("it.name =="), Status(200)).has("VALIDATION"),
        case("cond unknown field", cond("it.password == 'x'"), Status(200)).has("VALIDATION"),
        case("cond SQL in a string is a string", cond("it.message == 'x'' OR 1=1 --'"), Status(200)).has("\"count\":0"),
        case("cond SQL outside strings", cond("it.message == 'x' OR 1=1"), Status(200)).has("VALIDATION"),
        case("cond comment", cond("it.message == 'x' -- "), Status(200)).has("VALIDATION"),
        case("cond semicolon", cond("it.message == 'x'; DROP TABLE \"LogRecord\""), Status(200)).has("VALIDATION"),
        case("cond unterminated string", cond("it.message == 'x"), Status(200)).has("VALIDATION"),
        case("cond unknown placeholder", cond("it.message == ${nope}"), Status(200)).has("VALIDATION"),
        case("cond 10000 parentheses", cond(&format!("{}it.statusCode == 1{}", "(".repeat(10_000), ")".repeat(10_000))), Status(200)).has("VALIDATION"),
        case("cond 10000 negations", cond(&format!("{}it.statusCode == 1", "!".repeat(10_000))), Status(200)).has("VALIDATION"),
        case("cond number out of range", cond("it.statusCode == 99999999999999999999999"), Status(200)).has("VALIDATION"),
        case("cond type mismatch", cond("it.statusCode == 'five'"), Status(200)).has("VALIDATION"),
        case("cond $like on a number", cond("it.statusCode $like '5%'"), Status(200)).has("VALIDATION"),
        case("cond $in of mixed types", cond("it.statusCode $in [1, 'a']"), Status(200)).has("VALIDATION"),
        case("cond of 1 MB", cond(&format!("it.message == '{}'", "x".repeat(1_000_000))), Status(200)).has("count"),
        case("cond NUL", cond("it.message == 'a\u{0}b'"), Status(200)).has("count"),
        case("cond $in of 500", cond(&in_list(500)), Status(200)).has("count"),
        case("cond $in of 40000", cond(&in_list(40_000)), Status(200)).has("VALIDATION"),
        case("cond 500 || terms", cond(&or_terms(500)), Status(200)).has("count"),
        case("cond 1000 || terms", cond(&or_terms(1000)), Status(200)).has("count"),
        case("cond $in of 10000", cond(&in_list(10_000)), Status(200)).has("count"),
        case("cond 5000 || terms", cond(&or_terms(5000)), Status(200)).has("VALIDATION"),
        case("sort by an unknown field", q("{ searchBot(sort: [{crit: \"it.secret\"}]) { count } }"), Status(200)).has("VALIDATION"),
        case("sort injection", q("{ searchBot(sort: [{crit: \"it.name; DROP TABLE Bot\"}]) { count } }"), Status(200)).has("VALIDATION"),
        case("limit -1", q("{ searchBot(limit: -1) { count } }"), Status(200)),
        case("offset 2^31 - 1", q("{ searchBot(offset: 2147483647) { count } }"), Status(200)),
        case("limit 2^31", q("{ searchBot(limit: 2147483648) { count } }"), Status(200)).has("errors"),
        // --- packets that must change nothing
        case("packet, create with fields missing", packet("createBot(input: {name: \"x\"}) { id }"), Status(200)).has("errors"),
        case("packet, ref to nothing", packet("createChatSubscription(input: {bot: \"ref:nope\", chatId: \"1\", minLevel: \"INFO\", active: true, createdAt: \"2026-11-22T08:00:00\"}) { id }"), Status(200)).has("errors"),
        case("packet, update of a missing object", packet("updateBot(input: {id: \"999999\", status: \"GONE\"}) { id }"), Status(200)).has("OBJECT_NOT_FOUND"),
        case("packet, delete of a non-numeric id", packet("deleteBot(id: \"1 OR 1=1\")"), Status(200)).has("errors"),
        case("packet, wrong aggregateVersion type", q("mutation { packet(aggregateVersion: \"x\") { getBot(id: \"1\") { id } } }"), Status(200)).has("errors"),
        case("packet, second operation fails", packet("a: createLogUser(input: {username: \"u1\", tokenHash: \"h\", createdAt: \"2026-11-22T08:00:00\"}) { id } b: updateBot(input: {id: \"999999\", status: \"X\"}) { id }"), Status(200)).has("errors"),
        case("packet, idempotence key of 100 KB with a failing body", q(&format!("mutation {{ packet(idempotencePacketId: \"{}\") {{ updateBot(input: {{id: \"999999\", status: \"X\"}}) {{ id }} }} }}", "k".repeat(100_000))), Status(200)).has("errors"),
        case("packet, 200 aliased failing packets", q(&format!("mutation {{ {} }}", (0..200).map(|i| format!("p{i}: packet {{ updateBot(input: {{id: \"99999{i}\", status: \"X\"}}) {{ id }} }} ")).collect::<String>())), NotServerError),
        case("packet, createManyLogRecord of junk", signed(addr, json!({"query": "mutation($i: [_CreateLogRecordInput!]!) { packet { createManyLogRecord(input: $i) } }", "variables": {"i": vec![json!({"level": 5}); 1000]}}).to_string(), Signing::Valid), Status(200)).has("errors"),
        case("GET /graphql", Request::Http { method: "GET", path: "/graphql".into(), headers: vec![], body: vec![] }, ClientError),
    ];
    // Nesting at every depth: refused before async-graphql recurses over it.
    cases.extend([100, 1000, 5000, 20_000].into_iter().flat_map(|depth| {
        [
            case(
                format!("list literal {depth} deep"),
                q(&format!(
                    "{{ searchBot(limit: {}) {{ count }} }}",
                    nested_list(depth)
                )),
                Status(200),
            )
            .has("nests deeper than 64"),
            case(
                format!("selection {depth} deep"),
                q(&format!(
                    "{{ searchBot(limit: 1) {{ {}count{} }} }}",
                    "... on _EC_Bot { ".repeat(depth),
                    " }".repeat(depth)
                )),
                Status(200),
            )
            .has("nests deeper than 64"),
        ]
        .map(|case| case.within(std::time::Duration::from_secs(2)))
    }));
    cases
}

#[tokio::test]
async fn hostile_dataspace() {
    let mut target = Target::dataspace().await;
    let cases = cases(&target.addr.clone());
    run(&mut target, cases, Selection::Ready).await;
}

/// A replayed request (the same signed bytes again, inside the 15-minute window) is accepted:
/// APIG App authentication has no nonce, so replay protection is the window and TLS. What a
/// replay cannot do is change anything: a signed packet replayed with its idempotence key
/// writes nothing the second time.
#[tokio::test]
async fn hostile_dataspace_replay_writes_once() {
    let target = Target::dataspace().await;
    let body = json!({"query": "mutation { packet(idempotencePacketId: \"replay-1\") { createLogUser(input: {username: \"replayed\", tokenHash: \"h\", createdAt: \"2026-11-22T08:00:00\"}) { id } } }"}).to_string();
    let request = signed(&target.addr, body, Signing::Valid);
    let mut answers: Vec<Value> = Vec::new();
    for _ in 0..3 {
        let answer = target
            .send(&request, std::time::Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(answer.status, Some(200), "{}", answer.body);
        answers.push(serde_json::from_str(&answer.body).unwrap());
    }
    assert_eq!(target.snapshot().await["LogUser"], 1, "{answers:?}");
    assert_eq!(
        answers[1]["data"]["packet"]["isIdempotenceResponse"],
        Value::Null,
        "only asked for the id"
    );
}
