//! Versioned schema of the embedded DataSpace. `PRAGMA user_version` counts the steps applied;
//! a database older than this release is brought forward step by step, each step in its own
//! transaction, and a fresh one is created at the latest version directly (from the model).
//!
//! Adding a field to a class in `model.rs` means adding a step here that adds its column, so
//! that data directories written by earlier releases open with everything in them.

use super::model::{CLASSES, ClassMeta, FieldType, quoted};
use super::store::{Classification, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// One schema change, from `version - 1` to `version`.
struct Step {
    version: u32,
    sql: &'static str,
}

/// In order; the last one's version is the schema this release writes.
const STEPS: &[Step] = &[
    // Forum topics and mute (chat controls), and a delivery's topic.
    Step {
        version: 1,
        sql: "ALTER TABLE \"ChatSubscription\" ADD COLUMN \"threadId\" TEXT;
              ALTER TABLE \"ChatSubscription\" ADD COLUMN \"mutedUntil\" TEXT;
              ALTER TABLE \"ChatSubscription\" ADD COLUMN \"mutedSince\" TEXT;
              ALTER TABLE \"Delivery\" ADD COLUMN \"threadId\" TEXT;",
    },
    // Telegram updates in: each bot's durable getUpdates offset.
    Step {
        version: 2,
        sql: "CREATE TABLE IF NOT EXISTS \"TelegramOffset\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"aggVersion\" INTEGER NOT NULL, \"botId\" TEXT NOT NULL, \"offset\" INTEGER NOT NULL, \"updatedAt\" TEXT NOT NULL);
              CREATE UNIQUE INDEX IF NOT EXISTS \"TelegramOffset_botId\" ON \"TelegramOffset\" (\"botId\");",
    },
    // Indexed log search: the filters' composite indexes (SQLite appends the rowid to every
    // index, so each also serves `ORDER BY id` within its prefix). The trigram index for
    // `contains` is not a step: it follows `[dataspace] contains_index` (see below).
    Step {
        version: 3,
        sql: LOG_SEARCH,
    },
];

/// Step 3's SQL; a fresh database runs it too, after the model's tables (one source for both).
/// Like every step it is never changed: a later change to these indexes is a new step.
const LOG_SEARCH: &str = "CREATE INDEX IF NOT EXISTS \"LogRecord_bot_level\" ON \"LogRecord\" (\"bot\", \"level\");
    CREATE INDEX IF NOT EXISTS \"LogRecord_bot_requestId\" ON \"LogRecord\" (\"bot\", \"requestId\");
    CREATE INDEX IF NOT EXISTS \"LogRecord_bot_eventAt\" ON \"LogRecord\" (\"bot\", \"eventAt\");";

/// The trigram FTS5 index of the message, filled from the existing rows. New records enter it
/// when their transaction commits (`store::text_index`), not by a trigger; the triggers only
/// take a deleted or changed record out, when it is in the index already.
const TRIGRAM_INDEX: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS \"LogRecord_message_trigram\" USING fts5(\"message\", content='LogRecord', content_rowid='id', tokenize='trigram case_sensitive 1');
    INSERT INTO \"LogRecord_message_trigram\" (\"LogRecord_message_trigram\") VALUES ('rebuild');";

/// The index's triggers, made again at every start with the index: the previous release
/// indexed each inserted row by a trigger (`_insert`), which is dropped. A record is in the
/// index when its id is in the index's `_docsize` table.
const TRIGRAM_TRIGGERS: &str = "DROP TRIGGER IF EXISTS \"LogRecord_message_trigram_insert\";
    DROP TRIGGER IF EXISTS \"LogRecord_message_trigram_delete\";
    DROP TRIGGER IF EXISTS \"LogRecord_message_trigram_update\";
    CREATE TRIGGER \"LogRecord_message_trigram_delete\" AFTER DELETE ON \"LogRecord\"
    WHEN EXISTS (SELECT 1 FROM \"LogRecord_message_trigram_docsize\" WHERE \"id\" = old.\"id\") BEGIN
        INSERT INTO \"LogRecord_message_trigram\" (\"LogRecord_message_trigram\", rowid, \"message\") VALUES ('delete', old.\"id\", old.\"message\");
    END;
    CREATE TRIGGER \"LogRecord_message_trigram_update\" AFTER UPDATE OF \"message\" ON \"LogRecord\"
    WHEN EXISTS (SELECT 1 FROM \"LogRecord_message_trigram_docsize\" WHERE \"id\" = old.\"id\") BEGIN
        INSERT INTO \"LogRecord_message_trigram\" (\"LogRecord_message_trigram\", rowid, \"message\") VALUES ('delete', old.\"id\", old.\"message\");
        INSERT INTO \"LogRecord_message_trigram\" (rowid, \"message\") VALUES (new.\"id\", new.\"message\");
    END;";

/// Without the index nothing may keep writing to it: the triggers and the table go.
const NO_TRIGRAM_INDEX: &str = "DROP TRIGGER IF EXISTS \"LogRecord_message_trigram_insert\";
    DROP TRIGGER IF EXISTS \"LogRecord_message_trigram_delete\";
    DROP TRIGGER IF EXISTS \"LogRecord_message_trigram_update\";
    DROP TABLE IF EXISTS \"LogRecord_message_trigram\";";

/// Creates (and fills, the first time) or drops the trigram index of `LogRecord.message`, as
/// `[dataspace] contains_index` says; a database opened with either setting opens with the
/// other. Filling runs in one transaction over every stored record.
pub fn set_trigram_index(connection: &mut Connection, on: bool) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists = transaction
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE name = 'LogRecord_message_trigram'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
        .is_some();
    match (on, exists) {
        (true, false) => {
            transaction.execute_batch(TRIGRAM_INDEX)?;
            transaction.execute_batch(TRIGRAM_TRIGGERS)?;
            tracing::info!("local DataSpace: trigram index of log messages built");
        }
        (true, true) => transaction.execute_batch(TRIGRAM_TRIGGERS)?,
        (false, true) => transaction.execute_batch(NO_TRIGRAM_INDEX)?,
        (false, false) => {}
    }
    transaction.commit()?;
    Ok(())
}

/// The schema version this release writes.
pub fn latest() -> u32 {
    STEPS.last().map_or(0, |step| step.version)
}

const PACKET_TABLE: &str = "CREATE TABLE IF NOT EXISTS \"_Packet\" (\"idempotenceId\" TEXT PRIMARY KEY, \"outcome\" TEXT NOT NULL)";

/// Brings the database to the latest schema and returns the version it was at. Each step
/// takes the write lock first (`BEGIN IMMEDIATE`) and reads the version inside it, so two
/// processes opening the same file cannot apply a step twice.
pub fn migrate(connection: &mut Connection) -> Result<u32, StoreError> {
    let found = version(connection)?;
    if found > latest() {
        return Err(StoreError::new(
            Classification::Internal,
            format!(
                "the database has schema version {found}, written by a newer release; this one knows up to {}",
                latest()
            ),
        ));
    }
    loop {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = version(&transaction)?;
        if current >= latest() {
            return Ok(found);
        }
        let target = if current == 0 && !has_tables(&transaction)? {
            // A fresh database: the model is the latest schema.
            for class in CLASSES {
                transaction.execute_batch(&create_table_sql(class))?;
            }
            transaction.execute_batch(PACKET_TABLE)?;
            transaction.execute_batch(LOG_SEARCH)?;
            latest()
        } else {
            let step = STEPS
                .iter()
                .find(|step| step.version == current + 1)
                .ok_or_else(|| {
                    StoreError::new(
                        Classification::Internal,
                        format!("no migration from schema version {current}"),
                    )
                })?;
            transaction.execute_batch(step.sql)?;
            tracing::info!(
                from = current,
                to = step.version,
                "local DataSpace schema migrated"
            );
            step.version
        };
        transaction.pragma_update(None, "user_version", target)?;
        transaction.commit()?;
    }
}

fn version(connection: &Connection) -> Result<u32, StoreError> {
    Ok(connection.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Whether any class table exists: a database at version 0 with tables was written before
/// versions were kept, and gets every step.
fn has_tables(connection: &Connection) -> Result<bool, StoreError> {
    Ok(connection
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Bot'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
        .is_some())
}

/// The table and indexes of a class at the latest version.
fn create_table_sql(class: &ClassMeta) -> String {
    let table = quoted(class.name);
    let mut sql = format!(
        "CREATE TABLE IF NOT EXISTS {table} (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"aggVersion\" INTEGER NOT NULL"
    );
    for field in class.fields {
        let ty = match field.ty {
            FieldType::Text | FieldType::DateTime => "TEXT",
            _ => "INTEGER",
        };
        sql.push_str(&format!(
            ", {} {ty}{}",
            quoted(field.name),
            if field.required { " NOT NULL" } else { "" }
        ));
    }
    sql.push_str(");\n");
    for field in class.fields.iter().filter(|field| field.indexed) {
        sql.push_str(&format!(
            "CREATE {}INDEX IF NOT EXISTS \"{}_{}\" ON {table} ({});\n",
            if field.unique { "UNIQUE " } else { "" },
            class.name,
            field.name,
            quoted(field.name)
        ));
    }
    sql
}
