//! A data directory written by an earlier release (`tests/fixtures/upgrade/`) opens in this
//! one: the schema is migrated to the latest version, every bot, subscription, record, user,
//! audit event and pending delivery is intact, and opening it again changes nothing.

use crate::support::delivery::{FakeTelegram, GatewayProcess, database};
use logbot_gateway::embedded_dataspace::store::Store;
use logbot_gateway::embedded_dataspace::{ReadLimits, migrations};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/upgrade/v0-ec9a129.sqlite"
);

fn user_version(dir: &Path) -> u32 {
    database(dir)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

/// Every table's columns (name, type, not null) and indexes: what the schema is.
fn schema_of(connection: &rusqlite::Connection) -> Vec<String> {
    let mut schema = Vec::new();
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let mut columns = connection
            .prepare(&format!(
                "SELECT name, type, \"notnull\" FROM pragma_table_info('{table}') ORDER BY name"
            ))
            .unwrap();
        let columns = columns
            .query_map([], |row| {
                Ok(format!(
                    "{table}.{}: {} {}",
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?
                ))
            })
            .unwrap();
        schema.extend(columns.map(Result::unwrap));
    }
    let mut indexes = connection
        .prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .unwrap();
    let indexes = indexes
        .query_map([], |row| {
            Ok(format!(
                "index {} on {}: {}",
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?
            ))
        })
        .unwrap();
    schema.extend(indexes.map(Result::unwrap));
    schema
}

fn counts(dir: &Path) -> Vec<(String, i64)> {
    let connection = database(dir);
    [
        "Bot",
        "ChatSubscription",
        "LogRecord",
        "LogUser",
        "AuditEvent",
        "Delivery",
    ]
    .iter()
    .map(|table| {
        let count = connection
            .query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |row| {
                row.get(0)
            })
            .unwrap();
        ((*table).to_owned(), count)
    })
    .collect()
}

async fn names(gateway: &GatewayProcess, query: &str, path: &[&str], field: &str) -> Vec<String> {
    let mut value = gateway.graphql(query, json!({})).await;
    for key in path {
        value = value[*key].clone();
    }
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_of_the_previous_release_opens_intact_and_migrates_once() {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(FIXTURE, dir.path().join("dataspace.sqlite")).unwrap();
    assert_eq!(user_version(dir.path()), 0, "the fixture predates versions");
    let before = counts(dir.path());
    assert_eq!(
        before,
        [
            ("Bot", 2),
            ("ChatSubscription", 3),
            ("LogRecord", 4),
            ("LogUser", 1),
            ("AuditEvent", 7),
            ("Delivery", 3)
        ]
        .map(|(table, count)| (table.to_owned(), count))
    );

    let gateway = GatewayProcess::start(dir.path(), &api, &[]).await;
    let bots = gateway
        .graphql(
            "{ bots(ownerUid: \"alice\", first: 10) { edges { node { name messenger status } } } }",
            json!({}),
        )
        .await;
    let bots: Vec<&Value> = bots["bots"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .collect();
    assert_eq!(bots.len(), 2);
    assert_eq!(bots[0]["name"], "billing");
    assert_eq!(bots[1]["name"], "shop");
    assert!(
        bots.iter()
            .all(|bot| bot["messenger"] == "TELEGRAM" && bot["status"] == "ACTIVE")
    );
    let billing = gateway
        .graphql(
            "{ subscriptions(bot: \"billing\") { chatId minLevel threadId mutedUntil } }",
            json!({}),
        )
        .await;
    assert_eq!(
        billing["subscriptions"],
        json!([{"chatId": "-100123", "minLevel": "WARNING", "threadId": null, "mutedUntil": null}])
    );
    assert_eq!(
        names(
            &gateway,
            "{ subscriptions(bot: \"shop\") { chatId } }",
            &["subscriptions"],
            "chatId"
        )
        .await,
        ["777"]
    );
    let logs = gateway
        .graphql("{ logs(filter: {bot: \"billing\"}, first: 10) { totalCount edges { node { level message requestId statusCode attributes } } } }", json!({}))
        .await;
    assert_eq!(logs["logs"]["totalCount"], 3);
    let newest_first: Vec<&str> = logs["logs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(newest_first, ["db down", "payment failed", "started"]);
    assert_eq!(logs["logs"]["edges"][1]["node"]["statusCode"], 502);
    // The old records were put in the trigram index by the migration: `contains` finds them.
    let found = gateway
        .graphql("{ logs(filter: {bot: \"billing\", contains: \"ment fail\"}, first: 10) { edges { node { message } } } }", json!({}))
        .await;
    assert_eq!(
        found["logs"]["edges"],
        json!([{"node": {"message": "payment failed"}}]),
        "{found}"
    );
    // The old tokens still work: the auth token hash and the log user's hash are as stored.
    let status = gateway
        .graphql("mutation { executeCommand(text: \"fixture-auth-token | status\", chatId: \"-100123\", fromUid: \"42\") { ok reply } }", json!({}))
        .await;
    assert_eq!(status["executeCommand"]["ok"], true, "{status}");
    // The deliveries the old release left pending go out now.
    fake.wait_until(
        Duration::from_secs(20),
        "the three pending deliveries",
        |received| received.iter().filter(|r| r.status == 200).count() >= 3,
    )
    .await;
    assert_eq!(fake.accepted_in("-100123").len(), 2);
    assert_eq!(fake.accepted_in("777").len(), 1);
    gateway.kill();

    assert_eq!(user_version(dir.path()), migrations::latest());
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh_path = fresh_dir.path().join("fresh.sqlite");
    drop(Store::open(&fresh_path, &ReadLimits::default()).unwrap());
    let fresh = rusqlite::Connection::open(&fresh_path).unwrap();
    assert_eq!(
        schema_of(&database(dir.path())),
        schema_of(&fresh),
        "a migrated database has the schema of a fresh one"
    );
    let username: String = database(dir.path())
        .query_row("SELECT username FROM LogUser", [], |row| row.get(0))
        .unwrap();
    assert_eq!(username, "svc-billing");

    // Opening it again is a no-op: same version, same schema, only new audit rows.
    let migrated = schema_of(&database(dir.path()));
    let after_first = counts(dir.path());
    drop(Store::open(&dir.path().join("dataspace.sqlite"), &ReadLimits::default()).unwrap());
    assert_eq!(user_version(dir.path()), migrations::latest());
    assert_eq!(schema_of(&database(dir.path())), migrated);
    assert_eq!(counts(dir.path()), after_first);
}

#[test]
fn a_fresh_database_starts_at_the_latest_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dataspace.sqlite");
    drop(Store::open(&path, &ReadLimits::default()).unwrap());
    let version: u32 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert!(migrations::latest() >= 1);
    assert_eq!(version, migrations::latest());
}

#[test]
fn a_database_from_a_newer_release_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dataspace.sqlite");
    drop(Store::open(&path, &ReadLimits::default()).unwrap());
    let newer = migrations::latest() + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let error = Store::open(&path, &ReadLimits::default())
        .err()
        .expect("refused");
    assert!(error.message.contains("newer release"), "{error}");
    let version: u32 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, newer);
}
