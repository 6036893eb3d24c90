//! `sign` for a typical DataSpace call (POST, ~1 KiB of JSON), next to a baseline of the
//! cryptography it cannot avoid (SHA-256 of the body, SHA-256 of the canonical request, one
//! HMAC) measured in the same run. The ratio is the signer's overhead.

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use logbot_gateway::apig::{AppCredentials, SigningRequest, sign};
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn typical_body() -> Vec<u8> {
    let records: Vec<_> = (0..8)
        .map(|i| serde_json::json!({"bot": "1", "level": "ERROR", "message": format!("request {i} failed: upstream timed out after 30s"), "eventAt": "2026-11-22T08:00:00.000", "requestId": format!("RP{i:05}")}))
        .collect();
    let body = serde_json::json!({
        "query": "mutation($records: [_CreateLogRecordInput!]!) { packet(idempotencePacketId: \"k\") { createManyLogRecord(input: $records) } }",
        "variables": {"records": records},
    });
    let bytes = serde_json::to_vec(&body).unwrap();
    assert!(
        (900..1400).contains(&bytes.len()),
        "body is {} bytes",
        bytes.len()
    );
    bytes
}

fn bench_sign(c: &mut Criterion) {
    let body = typical_body();
    let credentials = AppCredentials::new(
        "071fe245-9cf6-4d75-822d-c29945a1e06a",
        "c6e52419-2270-4cb8-8bd4-ae7fdd01dcd5",
    );
    let url = "https://smapi.pv-api.sbc.space/ds-7043743249627480066/graphql";
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("apig");
    group.bench_function("baseline: sha256(body) + sha256(400 B) + hmac", |b| {
        let canonical = vec![b'x'; 400];
        b.iter(|| {
            let body_hash = hex::encode(Sha256::digest(black_box(&body)));
            let request_hash = hex::encode(Sha256::digest(black_box(&canonical)));
            let mut mac =
                Hmac::<Sha256>::new_from_slice(b"c6e52419-2270-4cb8-8bd4-ae7fdd01dcd5").unwrap();
            mac.update(request_hash.as_bytes());
            mac.update(body_hash.as_bytes());
            black_box(mac.finalize().into_bytes())
        })
    });
    group.bench_function("sign: POST 1 KiB JSON", |b| {
        b.iter(|| {
            let mut request = SigningRequest::from_url(
                "POST",
                black_box(url),
                vec![("Content-Type".to_owned(), "application/json".to_owned())],
            );
            black_box(sign(&mut request, black_box(&body), &credentials, now).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_sign);
criterion_main!(benches);
