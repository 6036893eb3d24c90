//! The trigram index across a `kill -9`: the gateway binary, with `contains_index = trigram`,
//! takes concurrent `sendLogs` from several clients and is killed (SIGKILL) in the middle; on
//! the same data directory again, every acknowledged batch is found by `contains` exactly once
//! per record, and nothing unacknowledged is half there.

use crate::support::delivery::GatewayProcess;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CLIENTS: usize = 4;
const PER_BATCH: usize = 5;
const TRIGRAM: (&str, &str) = ("LOGBOT__DATASPACE__CONTAINS_INDEX", "trigram");

fn message(client: usize, batch: usize, record: usize) -> String {
    format!("restart c{client} b{batch} r{record} end")
}

/// Sends batches until `stop`, noting each one answered without errors.
async fn client(
    base: String,
    index: usize,
    acked: Arc<Mutex<Vec<(usize, usize)>>>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::new();
    let mut batch = 0;
    while !stop.load(Ordering::Relaxed) {
        let records: Vec<Value> = (0..PER_BATCH)
            .map(|record| json!({"level": "ERROR", "message": message(index, batch, record)}))
            .collect();
        let body = json!({"query": "mutation($r: [LogRecordInput!]!) { sendLogs(bot: \"restart\", records: $r) { accepted } }",
            "variables": {"r": records}});
        let answer = http
            .post(format!("{base}/graphql"))
            .json(&body)
            .send()
            .await;
        if let Ok(response) = answer
            && response.status() == 200
            && let Ok(text) = response.text().await
            && text.contains("accepted")
            && !text.contains("errors")
        {
            acked.lock().unwrap().push((index, batch));
        }
        batch += 1;
    }
}

async fn found(gateway: &GatewayProcess, text: &str) -> Vec<String> {
    let data = gateway
        .graphql(
            "query($c: String!) { logs(filter: {bot: \"restart\", contains: $c}, first: 100) { edges { node { message } } } }",
            json!({"c": text}),
        )
        .await;
    let mut messages: Vec<String> = data["logs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["message"].as_str().unwrap().to_owned())
        .collect();
    messages.sort();
    messages
}

/// `totalCount` of the bot's records under `filter` (more fields of the filter object).
async fn count(gateway: &GatewayProcess, filter: &str) -> usize {
    let query =
        format!("{{ logs(filter: {{bot: \"restart\"{filter}}}, first: 1) {{ totalCount }} }}");
    let data = gateway.graphql(&query, json!({})).await;
    data["logs"]["totalCount"].as_u64().unwrap() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigram_index_killed_mid_ingest_finds_every_acknowledged_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(dir.path(), "http://127.0.0.1:9/", &[TRIGRAM]).await;
    gateway
        .register_bot("restart", "1:restart", "restart-auth-token")
        .await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            tokio::spawn(client(
                gateway.base_url.clone(),
                index,
                acked.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gateway.kill();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > CLIENTS,
        "only {} batches before the kill",
        acked.len()
    );

    let gateway = GatewayProcess::start(dir.path(), "http://127.0.0.1:9/", &[TRIGRAM]).await;
    for &(client, batch) in &acked {
        let expected: Vec<String> = (0..PER_BATCH)
            .map(|record| message(client, batch, record))
            .collect();
        assert_eq!(
            found(&gateway, &format!("restart c{client} b{batch} r")).await,
            expected,
            "client {client}, batch {batch}"
        );
    }
    // Every stored record is in the index, and a batch is all there or not at all.
    let total = count(&gateway, "").await;
    let indexed = count(&gateway, ", contains: \" end\"").await;
    assert_eq!(indexed, total, "stored records the index misses");
    assert_eq!(
        total % PER_BATCH,
        0,
        "a partly stored batch: {total} records"
    );
    assert!(total >= acked.len() * PER_BATCH);
    // A record after the restart enters the index too.
    gateway
        .graphql(
            "mutation { sendLogs(bot: \"restart\", records: [{level: ERROR, message: \"after the restart\"}]) { accepted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found(&gateway, "after the rest").await,
        ["after the restart"]
    );
}
