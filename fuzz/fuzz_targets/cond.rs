//! The `cond` filter language of the local DataSpace (`src/embedded_dataspace/cond/`): any text
//! against any class of the model, with `${...}` placeholders.
//!
//! Beyond "no panic": a translated condition never carries text of the input in its SQL (no
//! quote character: every value is a bound `?`), binds exactly one parameter per `?`, and is
//! SQL that SQLite prepares and runs against the model's tables. A sort criterion resolves to
//! one of the class's columns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logbot_gateway::embedded_dataspace::cond::{Literal, SqlValue, translate_cond, translate_sort};
use logbot_gateway::embedded_dataspace::model::{CLASSES, ClassMeta, quoted};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Placeholders as `@strExpr` fills them, including values that would break quoting if they
/// were ever spliced.
static PLACEHOLDERS: LazyLock<HashMap<String, Literal>> = LazyLock::new(|| {
    HashMap::from([
        ("name".to_owned(), Literal::Text("x' OR '1'='1".to_owned())),
        ("n".to_owned(), Literal::Integer(i64::MIN)),
        ("t".to_owned(), Literal::DateTime("2024-01-15T09:30:00.000".to_owned())),
        ("none".to_owned(), Literal::Null),
        ("".to_owned(), Literal::Text("?".to_owned())),
    ])
});

/// One empty table per class, with every column the resolver can name.
fn tables() -> Connection {
    let connection = Connection::open_in_memory().unwrap();
    for class in CLASSES {
        let mut sql = format!(
            "CREATE TABLE {} (\"id\" INTEGER PRIMARY KEY, \"aggVersion\" INTEGER",
            quoted(class.name)
        );
        for field in class.fields {
            sql.push_str(&format!(", {}", quoted(field.name)));
        }
        sql.push(')');
        connection.execute(&sql, []).unwrap();
    }
    connection
}

thread_local! {
    static DB: Connection = tables();
}

fn check(class: &ClassMeta, cond: &str) {
    if let Ok(fragment) = translate_cond(cond, &PLACEHOLDERS, class) {
        // `$like` escapes with a fixed `ESCAPE '\'`; no other quote may appear.
        assert!(
            !fragment.sql.replace("ESCAPE '\\'", "").contains('\''),
            "input text reached the SQL: {:?}",
            fragment.sql
        );
        assert_eq!(
            fragment.sql.matches('?').count(),
            fragment.params.len(),
            "placeholders and parameters differ: {:?}",
            fragment.sql
        );
        let params: Vec<rusqlite::types::Value> = fragment
            .params
            .iter()
            .map(|param| match param {
                SqlValue::Null => rusqlite::types::Value::Null,
                SqlValue::Integer(n) => rusqlite::types::Value::Integer(*n),
                SqlValue::Real(x) => rusqlite::types::Value::Real(*x),
                SqlValue::Text(text) => rusqlite::types::Value::Text(text.clone()),
            })
            .collect();
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {}",
            quoted(class.name),
            fragment.sql
        );
        DB.with(|db| {
            let count: i64 = db
                .query_row(&sql, rusqlite::params_from_iter(params), |row| row.get(0))
                .unwrap_or_else(|error| panic!("SQLite refused {sql:?}: {error}"));
            assert_eq!(count, 0);
        });
    }
    if let Ok(column) = translate_sort(cond, class) {
        let known = column == "\"id\""
            || column == "\"aggVersion\""
            || class.fields.iter().any(|field| quoted(field.name) == column);
        assert!(known, "sort resolved to {column:?}, not a column of {}", class.name);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let class = CLASSES[usize::from(selector) % CLASSES.len()];
    check(class, &String::from_utf8_lossy(text));
});
