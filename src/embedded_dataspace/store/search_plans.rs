//! The log search the client sends, as SQLite plans it: every filter is served by an index
//! (no `SCAN LogRecord`), and `contains` by the trigram index when the store keeps one.

use super::reads::SearchSql;
use super::{ContainsIndex, Durability, ReadLimits, Store};
use crate::dataspace::operations::LogRecordFilter;
use crate::dataspace::operations::log_record::like_contains;
use crate::embedded_dataspace::cond::{Literal, translate_cond};
use crate::embedded_dataspace::model::{IndexedColumns, LOG_RECORD};
use std::collections::HashMap;

fn placeholders() -> HashMap<String, Literal> {
    let text = |value: &str| Literal::Text(value.into());
    let time = Literal::DateTime("2026-01-01T00:00:00.000".into());
    let mut map = HashMap::from([
        ("bot".to_owned(), text("1")),
        ("requestId".to_owned(), text("RP1")),
        ("contains".to_owned(), text("%payment%")),
        ("from".to_owned(), time.clone()),
        ("to".to_owned(), time),
        ("before".to_owned(), Literal::Integer(1000)),
    ]);
    for index in 0..6 {
        map.insert(format!("level{index}"), text("ERROR"));
    }
    map
}

fn open(path: &std::path::Path, contains_index: ContainsIndex) -> Store {
    let reads = ReadLimits::default();
    Store::open_with(path, &reads, Durability::default(), contains_index).unwrap()
}

/// The plan's detail lines for the page query of this filter (the client's own condition).
fn plan(filter: &LogRecordFilter, contains_index: ContainsIndex) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.sqlite"), contains_index);
    let fragment =
        translate_cond(&filter.cond(), &placeholders(), &store.columns(&LOG_RECORD)).unwrap();
    let connection = store.lock();
    let search = SearchSql::new(&connection, &LOG_RECORD, Some(&fragment)).unwrap();
    let sql = search.page(&LOG_RECORD, &[("\"id\"".into(), true, None)]);
    let mut statement = connection
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let mut params = search.params;
    params.push(rusqlite::types::Value::Integer(51));
    params.push(rusqlite::types::Value::Integer(0));
    statement
        .query_map(rusqlite::params_from_iter(params.iter()), |row| {
            row.get::<_, String>(3)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn filter() -> LogRecordFilter {
    LogRecordFilter {
        bot: "1".into(),
        limit: 51,
        ..Default::default()
    }
}

#[test]
fn every_log_filter_is_served_by_an_index() {
    let time = Some("2026-01-01T00:00:00".to_owned());
    let cases = [
        ("bot", filter(), "LogRecord_bot"),
        (
            "bot, after a cursor",
            LogRecordFilter {
                before: Some("1000".into()),
                ..filter()
            },
            "LogRecord_bot",
        ),
        (
            "level",
            LogRecordFilter {
                levels: vec!["ERROR".into(), "CRITICAL".into()],
                ..filter()
            },
            "LogRecord_bot",
        ),
        (
            "request id",
            LogRecordFilter {
                request_id: Some("RP1".into()),
                ..filter()
            },
            "LogRecord_bot_requestId",
        ),
        (
            "time",
            LogRecordFilter {
                from: time.clone(),
                to: time,
                ..filter()
            },
            "LogRecord_bot_eventAt",
        ),
        (
            "contains, trigram index",
            LogRecordFilter {
                contains: Some("payment".into()),
                ..filter()
            },
            "LogRecord_message_trigram",
        ),
        (
            "contains, no trigram index",
            LogRecordFilter {
                contains: Some("payment".into()),
                ..filter()
            },
            "LogRecord_bot",
        ),
    ];
    for (name, filter, index) in cases {
        let contains_index = match name {
            "contains, no trigram index" => ContainsIndex::None,
            _ => ContainsIndex::Trigram,
        };
        let plan = plan(&filter, contains_index);
        println!("{name}: {plan:?}");
        assert!(
            plan.iter()
                .all(|line| !line.starts_with("SCAN LogRecord ") && line != "SCAN LogRecord"),
            "{name}: {plan:?}"
        );
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{name} does not use {index}: {plan:?}"
        );
    }
}

/// The messages of bot 1 that the client's `contains` search finds, newest first.
fn found(connection: &rusqlite::Connection, text: &str) -> Vec<String> {
    let filter = LogRecordFilter {
        contains: Some(text.into()),
        ..filter()
    };
    let mut placeholders = placeholders();
    placeholders.insert("contains".into(), Literal::Text(like_contains(text)));
    messages(connection, &filter.cond(), &placeholders, -1)
}

/// The messages of the records `cond` finds through the trigram index, newest first, at most
/// `limit` (-1: all).
fn messages(
    connection: &rusqlite::Connection,
    cond: &str,
    placeholders: &HashMap<String, Literal>,
    limit: i64,
) -> Vec<String> {
    let columns = IndexedColumns {
        class: &LOG_RECORD,
        trigram: true,
    };
    let fragment = translate_cond(cond, placeholders, &columns).unwrap();
    let search = SearchSql::new(connection, &LOG_RECORD, Some(&fragment)).unwrap();
    let sql = search.page(&LOG_RECORD, &[("\"id\"".into(), true, None)]);
    let mut params = search.params;
    params.push(rusqlite::types::Value::Integer(limit));
    params.push(rusqlite::types::Value::Integer(0));
    let mut statement = connection.prepare(&sql).unwrap();
    statement
        .query_map(rusqlite::params_from_iter(params.iter()), |row| {
            row.get::<_, String>("message")
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Stores a record of `bot`, as a packet's insert does (not indexed until a commit).
fn insert_row(connection: &rusqlite::Connection, bot: i64, level: &str, message: &str) {
    connection
        .execute(
            "INSERT INTO \"LogRecord\" (\"aggVersion\", \"bot\", \"level\", \"message\", \"eventAt\", \"receivedAt\") \
             VALUES (1, ?, ?, ?, '2026-01-01T00:00:00.000', '2026-01-01T00:00:00.000')",
            rusqlite::params![bot, level, message],
        )
        .unwrap();
}

/// Stores a record and indexes it, as the store's commit of a transaction would.
fn insert_record(connection: &rusqlite::Connection, bot: i64, level: &str, message: &str) {
    insert_row(connection, bot, level, message);
    let indexed = connection
        .query_row(
            "SELECT 1 FROM sqlite_temp_master WHERE name = 'trigram_pending'",
            [],
            |_| Ok(()),
        )
        .is_ok();
    if indexed {
        super::text_index::index_new_records(connection).unwrap();
    }
}

/// New records enter the index when the writer's transaction commits: one whose savepoint was
/// rolled back is not indexed (the next record takes its id, and is), nor one created and
/// deleted again; and the previous release's insert trigger is dropped when the store opens.
#[test]
fn records_enter_the_trigram_index_when_their_transaction_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = open(&path, ContainsIndex::Trigram);
    {
        let mut connection = store.lock();
        let mut transaction = connection.transaction().unwrap();
        insert_row(&transaction, 1, "INFO", "kept first");
        let savepoint = transaction.savepoint().unwrap();
        insert_row(&savepoint, 1, "INFO", "kept? no: rolled back");
        drop(savepoint);
        insert_row(&transaction, 1, "INFO", "kept second");
        insert_row(&transaction, 1, "INFO", "deleted again");
        transaction
            .execute(
                "DELETE FROM \"LogRecord\" WHERE \"message\" = 'deleted again'",
                [],
            )
            .unwrap();
        assert!(
            found(&transaction, "kept").is_empty(),
            "nothing in the index before the commit"
        );
        store.commit(transaction).unwrap();
    }
    assert_eq!(found(&store.lock(), "kept"), ["kept second", "kept first"]);
    assert!(found(&store.lock(), "rolled back").is_empty());
    assert!(found(&store.lock(), "deleted").is_empty());

    store
        .lock()
        .execute_batch(
            "CREATE TRIGGER \"LogRecord_message_trigram_insert\" AFTER INSERT ON \"LogRecord\" BEGIN
                 INSERT INTO \"LogRecord_message_trigram\" (rowid, \"message\") VALUES (new.\"id\", new.\"message\");
             END;",
        )
        .unwrap();
    drop(store);
    let store = open(&path, ContainsIndex::Trigram);
    let triggers: Vec<String> = store
        .lock()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        triggers,
        [
            "LogRecord_message_trigram_delete",
            "LogRecord_message_trigram_update"
        ]
    );
    insert_record(&store.lock(), 1, "INFO", "kept third");
    assert_eq!(
        found(&store.lock(), "kept"),
        ["kept third", "kept second", "kept first"]
    );
}

/// A `contains` that every found record must satisfy drives the search from the index, in id
/// order, so a page stops at its limit instead of collecting every match first (a common text
/// in 200,000 records: 127 ms that way, 3 ms this way).
#[test]
fn a_contains_search_is_read_from_the_index_in_id_order_up_to_the_page() {
    let paged = LogRecordFilter {
        contains: Some("payment".into()),
        before: Some("1000".into()),
        ..filter()
    };
    let plan = plan(&paged, ContainsIndex::Trigram);
    assert!(
        plan[0].starts_with("SCAN LogRecord_message_trigram VIRTUAL TABLE"),
        "{plan:?}"
    );
    assert!(
        plan.iter().all(|line| !line.contains("TEMP B-TREE")),
        "the page is read in order, not sorted: {plan:?}"
    );
}

/// Under an OR or a NOT, a `contains` does not choose the rows: it is checked on each.
#[test]
fn a_contains_under_or_and_not_finds_what_a_scan_finds() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.sqlite"), ContainsIndex::Trigram);
    let connection = store.lock();
    insert_record(&connection, 1, "INFO", "payment failed");
    insert_record(&connection, 1, "ERROR", "disk full");
    insert_record(&connection, 1, "INFO", "all good");
    insert_record(&connection, 2, "ERROR", "payment failed elsewhere");
    let mut placeholders = placeholders();
    placeholders.insert("contains".into(), Literal::Text("%payment%".into()));
    let either = "it.bot == ${bot} && (it.message $like ${contains} || it.level == ${level0})";
    assert_eq!(
        messages(&connection, either, &placeholders, -1),
        ["disk full", "payment failed"]
    );
    let neither = "it.bot == ${bot} && !(it.message $like ${contains})";
    assert_eq!(
        messages(&connection, neither, &placeholders, -1),
        ["all good", "disk full"]
    );
    let twice = "it.bot == ${bot} && it.message $like ${contains} && it.message $like '%fail%'";
    assert_eq!(
        messages(&connection, twice, &placeholders, -1),
        ["payment failed"]
    );
}

/// Pages read from the index are newest first and meet at the cursor: nothing repeated, nothing
/// skipped, other bots' matches left out.
#[test]
fn contains_pages_from_the_index_follow_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.sqlite"), ContainsIndex::Trigram);
    let connection = store.lock();
    for index in 0..120 {
        insert_record(
            &connection,
            1 + index % 2,
            "INFO",
            &format!("payment {index}"),
        );
    }
    let mut placeholders = placeholders();
    placeholders.insert("contains".into(), Literal::Text("%payment%".into()));
    let first = "it.bot == ${bot} && it.message $like ${contains}";
    let page = messages(&connection, first, &placeholders, 25);
    let expected: Vec<String> = (0..120)
        .rev()
        .filter(|index| index % 2 == 0)
        .map(|index| format!("payment {index}"))
        .collect();
    assert_eq!(page, expected[..25]);
    // The 25th record of bot 1 from the newest is record 70, whose id is 71.
    placeholders.insert("before".into(), Literal::Integer(71));
    let next = "it.bot == ${bot} && it.message $like ${contains} && it.$id < ${before}";
    assert_eq!(
        messages(&connection, next, &placeholders, -1),
        expected[25..]
    );
}

#[test]
fn contains_through_the_trigram_index_is_an_exact_case_sensitive_substring() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.sqlite"), ContainsIndex::Trigram);
    let connection = store.lock();
    let insert = |bot: i64, message: &str| insert_record(&connection, bot, "INFO", message);
    for message in [
        "Payment failed",
        "payment failed",
        "50% off today",
        "500 off",
        "say \"hi\" now",
        r"C:\temp\x",
        "a_b and aXb",
    ] {
        insert(1, message);
    }
    insert(2, "payment failed elsewhere");
    assert_eq!(found(&connection, "payment"), ["payment failed"]);
    assert_eq!(found(&connection, "Payment"), ["Payment failed"]);
    assert_eq!(
        found(&connection, "ment fail"),
        ["payment failed", "Payment failed"]
    );
    assert_eq!(found(&connection, "50% "), ["50% off today"]);
    assert_eq!(found(&connection, "\"hi\""), ["say \"hi\" now"]);
    assert_eq!(found(&connection, r"\temp\"), [r"C:\temp\x"]);
    assert_eq!(found(&connection, "a_b"), ["a_b and aXb"]);
    // Shorter than a trigram, or with a NUL (which no FTS5 query can hold): the plain LIKE.
    assert_eq!(found(&connection, "aX"), ["a_b and aXb"]);
    assert!(found(&connection, "pay\0ment").is_empty());
    assert!(found(&connection, "absent").is_empty());
    connection
        .execute(
            "UPDATE \"LogRecord\" SET \"message\" = 'refund done' WHERE \"message\" = 'payment failed'",
            [],
        )
        .unwrap();
    assert!(found(&connection, "payment").is_empty(), "the old text");
    assert_eq!(found(&connection, "refund"), ["refund done"]);
    connection
        .execute(
            "DELETE FROM \"LogRecord\" WHERE \"message\" = 'refund done'",
            [],
        )
        .unwrap();
    assert!(found(&connection, "refund").is_empty(), "a deleted record");
}

/// The index follows the setting each time the store opens: dropped (triggers too, so writes
/// stop paying for it), and built again from every stored record.
#[test]
fn the_trigram_index_is_built_and_dropped_as_the_setting_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let insert = |store: &Store, message: &str| insert_record(&store.lock(), 1, "INFO", message);
    let index_objects = |store: &Store| -> i64 {
        store
            .lock()
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'LogRecord_message_trigram%'",
                [],
                |row| row.get(0),
            )
            .unwrap()
    };
    let store = open(&path, ContainsIndex::None);
    assert_eq!(index_objects(&store), 0);
    insert(&store, "stored before the index");
    drop(store);
    let store = open(&path, ContainsIndex::Trigram);
    assert!(
        index_objects(&store) > 3,
        "the table and its three triggers"
    );
    assert_eq!(
        found(&store.lock(), "before the"),
        ["stored before the index"]
    );
    insert(&store, "stored with the index");
    assert_eq!(found(&store.lock(), "with the"), ["stored with the index"]);
    drop(store);
    let store = open(&path, ContainsIndex::None);
    assert_eq!(index_objects(&store), 0);
    insert(&store, "stored after the index");
    drop(store);
    let store = open(&path, ContainsIndex::Trigram);
    assert_eq!(
        found(&store.lock(), "after the"),
        ["stored after the index"]
    );
}
