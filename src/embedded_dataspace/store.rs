//! SQLite storage of the local DataSpace: one table per class, packets as transactions,
//! idempotent replay, aggregate versions, and the classified errors DataSpace reports.

use super::cond::{SqlFragment, SqlValue};
use super::model::{CLASSES, ClassMeta, FieldType, quoted};
use super::readers::{self, Cancel, CancelOnDrop, ReadLimits, ReadPool};
use rusqlite::types::Value as SqlParam;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params_from_iter};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// DataSpace's error classes (`extensions.classification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    ObjectNotFound,
    AggregateVersion,
    UniqueViolation,
    Validation,
    Internal,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ObjectNotFound => "OBJECT_NOT_FOUND",
            Self::AggregateVersion => "AGGREGATE_VERSION_EXCEPTION",
            Self::UniqueViolation => "UNIQUE_VIOLATION",
            Self::Validation => "VALIDATION",
            Self::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub classification: Classification,
    pub message: String,
}

impl StoreError {
    pub fn new(classification: Classification, message: impl Into<String>) -> Self {
        Self {
            classification,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> Self {
        Self::new(Classification::Validation, message)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(failure, _) = &error
            && failure.code == ErrorCode::OperationInterrupted
        {
            // A read stopped by its cancel (see `readers`), not a storage failure.
            return Self::new(Classification::Internal, "the read was interrupted");
        }
        if let rusqlite::Error::SqliteFailure(failure, Some(message)) = &error
            && failure.code == ErrorCode::ConstraintViolation
            && let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ")
        {
            return Self::new(
                Classification::UniqueViolation,
                format!(
                    "unique constraint violated: an object with the same {columns} already exists"
                ),
            );
        }
        tracing::error!(%error, "local DataSpace storage error");
        Self::new(Classification::Internal, "internal storage error")
    }
}

/// One operation of a packet.
#[derive(Debug, Clone)]
pub enum Operation {
    Create {
        class: &'static ClassMeta,
        input: Map<String, Value>,
    },
    CreateMany {
        class: &'static ClassMeta,
        inputs: Vec<Map<String, Value>>,
    },
    Update {
        class: &'static ClassMeta,
        id: String,
        changes: Map<String, Value>,
    },
    Delete {
        class: &'static ClassMeta,
        id: String,
    },
    Get {
        class: &'static ClassMeta,
        id: String,
        fail_on_empty: bool,
    },
}

#[derive(Debug, Clone)]
pub struct PacketRequest {
    /// Operations in field order, each with its response key (alias or field name).
    pub operations: Vec<(String, Operation)>,
    pub aggregate_version: Option<i64>,
    pub idempotence_id: Option<String>,
}

/// What a packet produced, by response key; stored for idempotent replay.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PacketOutcome {
    pub results: HashMap<String, Value>,
    pub agg_version: Option<i64>,
    #[serde(skip)]
    pub is_idempotence_response: bool,
}

/// A search: condition already translated to SQL, sort columns, paging.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub filter: Option<SqlFragment>,
    /// (column sql, descending, nulls last)
    pub sort: Vec<(String, bool, Option<bool>)>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub want_elems: bool,
    pub want_count: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    pub elems: Vec<Map<String, Value>>,
    pub count: Option<i64>,
}

/// The SQLite database behind the local DataSpace. One writing connection behind a mutex
/// (SQLite serializes writers anyway) and a pool of readers (none for an in-memory database,
/// which is private to its connection: reads then take the writer); callers reach it through
/// `spawn_blocking`.
pub struct Store {
    connection: Mutex<Connection>,
    readers: Option<ReadPool>,
    read_timeout: std::time::Duration,
}

impl Store {
    pub fn open(path: &Path, reads: &ReadLimits) -> Result<Self, StoreError> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::new(
                    Classification::Internal,
                    format!("cannot create {}: {error}", parent.display()),
                )
            })?;
        }
        let mut connection = Connection::open(path)?;
        connection.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON; PRAGMA busy_timeout = 5000;",
        )?;
        super::migrations::migrate(&mut connection)?;
        let in_memory = path.as_os_str().is_empty() || path == Path::new(":memory:");
        let readers = match in_memory {
            true => None,
            false => Some(ReadPool::open(path, reads.readers.max(1))?),
        };
        Ok(Self {
            connection: Mutex::new(connection),
            readers,
            read_timeout: reads.timeout,
        })
    }

    /// The cancel of a read for a caller holding the guard, with this store's deadline.
    pub fn read_cancel(&self) -> (Cancel, CancelOnDrop) {
        Cancel::new(self.read_timeout)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-applied (rusqlite
        // rolls back on drop), so the connection stays usable.
        crate::sync::lock(&self.connection)
    }

    /// Runs a search on a reader, stopped by `cancel`.
    pub fn search(
        &self,
        class: &ClassMeta,
        request: &SearchRequest,
        cancel: &Cancel,
    ) -> Result<SearchResult, StoreError> {
        let search = |connection: &Connection| search_on(connection, class, request);
        match &self.readers {
            Some(pool) => pool.read(cancel, search),
            None => readers::guarded(&mut self.lock(), cancel, search),
        }
    }

    /// Runs a packet as one transaction, or replays the stored outcome of an earlier packet
    /// with the same idempotence id without writing anything.
    pub fn execute_packet(&self, packet: &PacketRequest) -> Result<PacketOutcome, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        if let Some(id) = &packet.idempotence_id {
            let stored: Option<String> = transaction
                .prepare_cached("SELECT \"outcome\" FROM \"_Packet\" WHERE \"idempotenceId\" = ?")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            if let Some(stored) = stored {
                let mut outcome: PacketOutcome = serde_json::from_str(&stored).map_err(|_| {
                    StoreError::new(
                        Classification::Internal,
                        "stored packet outcome is unreadable",
                    )
                })?;
                outcome.is_idempotence_response = true;
                return Ok(outcome);
            }
        }
        let mut outcome = PacketOutcome::default();
        let mut state = PacketState::default();
        for (key, operation) in &packet.operations {
            let result = run_operation(
                &transaction,
                operation,
                packet.aggregate_version,
                &mut state,
                &mut outcome,
            )?;
            if let (Operation::Create { .. }, Some(id)) =
                (operation, result.get("id").and_then(Value::as_str))
            {
                state.created.insert(key.clone(), id.to_owned());
            }
            outcome.results.insert(key.clone(), result);
        }
        if let Some(id) = &packet.idempotence_id {
            let text = serde_json::to_string(&outcome).map_err(|_| {
                StoreError::new(Classification::Internal, "cannot store packet outcome")
            })?;
            transaction
                .prepare_cached(
                    "INSERT INTO \"_Packet\" (\"idempotenceId\", \"outcome\") VALUES (?, ?)",
                )?
                .execute([id, &text])?;
        }
        transaction.commit()?;
        Ok(outcome)
    }
}

fn search_on(
    connection: &Connection,
    class: &ClassMeta,
    request: &SearchRequest,
) -> Result<SearchResult, StoreError> {
    let table = quoted(class.name);
    let (where_sql, params) = match &request.filter {
        Some(fragment) => (
            fragment.sql.as_str(),
            fragment.params.iter().map(to_param).collect(),
        ),
        None => ("1=1", Vec::new()),
    };
    let mut result = SearchResult::default();
    if request.want_count {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {where_sql}");
        let mut statement = connection.prepare_cached(&sql)?;
        result.count =
            Some(statement.query_row(params_from_iter(params.iter()), |row| row.get(0))?);
    }
    if request.want_elems {
        let mut order = String::new();
        for (column, descending, nulls_last) in &request.sort {
            order.push_str(column);
            order.push_str(if *descending { " DESC" } else { " ASC" });
            match nulls_last {
                Some(true) => order.push_str(" NULLS LAST"),
                Some(false) => order.push_str(" NULLS FIRST"),
                None => {}
            }
            order.push_str(", ");
        }
        order.push_str("\"id\" ASC");
        let mut sql = format!(
            "SELECT {} FROM {table} WHERE {where_sql} ORDER BY {order}",
            select_list(class)
        );
        let mut params = params.clone();
        sql.push_str(" LIMIT ? OFFSET ?");
        params.push(SqlParam::Integer(request.limit.unwrap_or(-1)));
        params.push(SqlParam::Integer(request.offset.unwrap_or(0)));
        let mut statement = connection.prepare_cached(&sql)?;
        let rows = statement.query_map(params_from_iter(params.iter()), |row| {
            Ok(row_to_json(class, row))
        })?;
        for row in rows {
            result.elems.push(row??);
        }
    }
    Ok(result)
}

pub(super) fn create_table_sql(class: &ClassMeta) -> String {
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

fn select_list(class: &ClassMeta) -> String {
    let mut list = String::from("\"id\", \"aggVersion\"");
    for field in class.fields {
        list.push_str(", ");
        list.push_str(&quoted(field.name));
    }
    list
}

fn to_param(value: &SqlValue) -> SqlParam {
    match value {
        SqlValue::Null => SqlParam::Null,
        SqlValue::Integer(integer) => SqlParam::Integer(*integer),
        SqlValue::Real(real) => SqlParam::Real(*real),
        SqlValue::Text(text) => SqlParam::Text(text.clone()),
    }
}

/// A row as the GraphQL entity's JSON (ids and references as strings, booleans as booleans).
fn row_to_json(class: &ClassMeta, row: &rusqlite::Row<'_>) -> rusqlite::Result<Map<String, Value>> {
    let mut object = Map::with_capacity(class.fields.len() + 2);
    object.insert(
        "id".into(),
        Value::String(row.get::<_, i64>(0)?.to_string()),
    );
    object.insert("aggVersion".into(), Value::from(row.get::<_, i64>(1)?));
    for (index, field) in class.fields.iter().enumerate() {
        let column = index + 2;
        let value = match field.ty {
            FieldType::Text | FieldType::DateTime => {
                row.get::<_, Option<String>>(column)?.map(Value::String)
            }
            FieldType::Integer => row.get::<_, Option<i64>>(column)?.map(Value::from),
            FieldType::Boolean => row.get::<_, Option<bool>>(column)?.map(Value::Bool),
            FieldType::Reference(_) => row
                .get::<_, Option<i64>>(column)?
                .map(|id| Value::String(id.to_string())),
        };
        object.insert(field.name.into(), value.unwrap_or(Value::Null));
    }
    Ok(object)
}

/// What a packet has done so far: the ids created under each alias (for `ref:<alias>`), and
/// the objects known to exist, created or looked up earlier in the packet and not deleted
/// since, so that a reference to one of them needs no new lookup.
#[derive(Default)]
struct PacketState {
    created: HashMap<String, String>,
    existing: HashSet<(&'static str, i64)>,
}

/// Resolves `ref:<alias>` to the id created under that alias earlier in the packet. `what`
/// names the field in an error, and is only formatted for one.
fn resolve_id(
    raw: &str,
    created: &HashMap<String, String>,
    what: impl Fn() -> String,
) -> Result<i64, StoreError> {
    let id = match raw.strip_prefix("ref:") {
        Some(alias) => created.get(alias).map(String::as_str).ok_or_else(|| {
            StoreError::validation(format!(
                "{}: {raw:?} refers to no object created earlier in this packet",
                what()
            ))
        })?,
        None => raw,
    };
    id.parse::<i64>().map_err(|_| {
        StoreError::new(
            Classification::ObjectNotFound,
            format!("{}: no object with id {id:?}", what()),
        )
    })
}

/// Converts one input field to its column value, checking type and references.
fn field_param(
    transaction: &rusqlite::Transaction<'_>,
    class: &ClassMeta,
    name: &str,
    value: &Value,
    state: &mut PacketState,
) -> Result<SqlParam, StoreError> {
    let field = class
        .field(name)
        .ok_or_else(|| StoreError::validation(format!("{}.{name}: no such field", class.name)))?;
    let what = || format!("{}.{}", class.name, field.name);
    match (field.ty, value) {
        (_, Value::Null) if field.required => {
            Err(StoreError::validation(format!("{} is required", what())))
        }
        (_, Value::Null) => Ok(SqlParam::Null),
        (FieldType::Text | FieldType::DateTime, Value::String(text)) => {
            Ok(SqlParam::Text(text.clone()))
        }
        (FieldType::Integer, Value::Number(number)) if number.is_i64() => {
            Ok(SqlParam::Integer(number.as_i64().unwrap_or_default()))
        }
        (FieldType::Boolean, Value::Bool(flag)) => Ok(SqlParam::Integer(i64::from(*flag))),
        (FieldType::Reference(target), Value::String(raw)) => {
            let id = resolve_id(raw, &state.created, what)?;
            if state.existing.contains(&(target, id)) {
                return Ok(SqlParam::Integer(id));
            }
            let exists: Option<i64> = transaction
                .prepare_cached(&format!(
                    "SELECT \"id\" FROM {} WHERE \"id\" = ?",
                    quoted(target)
                ))?
                .query_row([id], |row| row.get(0))
                .optional()?;
            match exists {
                Some(id) => {
                    state.existing.insert((target, id));
                    Ok(SqlParam::Integer(id))
                }
                None => Err(StoreError::new(
                    Classification::ObjectNotFound,
                    format!("{}: no {target} with id {id}", what()),
                )),
            }
        }
        _ => Err(StoreError::validation(format!(
            "{}: wrong type of value",
            what()
        ))),
    }
}

fn run_operation(
    transaction: &rusqlite::Transaction<'_>,
    operation: &Operation,
    aggregate_version: Option<i64>,
    state: &mut PacketState,
    outcome: &mut PacketOutcome,
) -> Result<Value, StoreError> {
    match operation {
        Operation::Create { class, input } => {
            let id = insert(transaction, class, input, state)?;
            outcome.agg_version = Some(outcome.agg_version.unwrap_or(0).max(1));
            Ok(Value::Object(
                fetch(transaction, class, id)?.unwrap_or_default(),
            ))
        }
        Operation::CreateMany { class, inputs } => {
            let mut ids = Vec::with_capacity(inputs.len());
            for input in inputs {
                ids.push(Value::String(
                    insert(transaction, class, input, state)?.to_string(),
                ));
            }
            outcome.agg_version = Some(outcome.agg_version.unwrap_or(0).max(1));
            Ok(Value::Array(ids))
        }
        Operation::Update { class, id, changes } => {
            let id = resolve_id(id, &state.created, || format!("update{}.id", class.name))?;
            let version = current_version(transaction, class, id, aggregate_version)?;
            let mut assignments = String::from("\"aggVersion\" = ?");
            let mut params = vec![SqlParam::Integer(version + 1)];
            for (name, value) in changes.iter().filter(|(name, _)| name.as_str() != "id") {
                params.push(field_param(transaction, class, name, value, state)?);
                assignments.push_str(&format!(", {} = ?", quoted(name)));
            }
            params.push(SqlParam::Integer(id));
            let sql = format!(
                "UPDATE {} SET {assignments} WHERE \"id\" = ?",
                quoted(class.name)
            );
            transaction
                .prepare_cached(&sql)?
                .execute(params_from_iter(params.iter()))?;
            outcome.agg_version = Some(outcome.agg_version.unwrap_or(0).max(version + 1));
            Ok(Value::Object(
                fetch(transaction, class, id)?.unwrap_or_default(),
            ))
        }
        Operation::Delete { class, id } => {
            let id = resolve_id(id, &state.created, || format!("delete{}.id", class.name))?;
            current_version(transaction, class, id, aggregate_version)?;
            refuse_if_referenced(transaction, class, id)?;
            transaction
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE \"id\" = ?",
                    quoted(class.name)
                ))?
                .execute([id])?;
            state.existing.remove(&(class.name, id));
            Ok(Value::String("success".into()))
        }
        Operation::Get {
            class,
            id,
            fail_on_empty,
        } => {
            let found = match resolve_id(id, &state.created, || format!("get{}.id", class.name)) {
                Ok(id) => fetch(transaction, class, id)?,
                Err(error) if error.classification == Classification::ObjectNotFound => None,
                Err(error) => return Err(error),
            };
            match found {
                Some(object) => Ok(Value::Object(object)),
                None if *fail_on_empty => Err(StoreError::new(
                    Classification::ObjectNotFound,
                    format!("get{}: no object with id {id:?}", class.name),
                )),
                None => Ok(Value::Null),
            }
        }
    }
}

fn insert(
    transaction: &rusqlite::Transaction<'_>,
    class: &ClassMeta,
    input: &Map<String, Value>,
    state: &mut PacketState,
) -> Result<i64, StoreError> {
    let mut params = Vec::with_capacity(class.fields.len() + 1);
    params.push(SqlParam::Integer(1));
    for field in class.fields {
        let value = input.get(field.name).unwrap_or(&Value::Null);
        params.push(field_param(transaction, class, field.name, value, state)?);
    }
    if let Some(unknown) = input.keys().find(|name| class.field(name).is_none()) {
        return Err(StoreError::validation(format!(
            "{}.{unknown}: no such field",
            class.name
        )));
    }
    transaction
        .prepare_cached(&insert_sql(class))?
        .execute(params_from_iter(params.iter()))?;
    let id = transaction.last_insert_rowid();
    state.existing.insert((class.name, id));
    Ok(id)
}

/// The INSERT statement of a class (its `aggVersion` and every field), built once per class.
fn insert_sql(class: &ClassMeta) -> Cow<'static, str> {
    static STATEMENTS: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    let statements = STATEMENTS.get_or_init(|| {
        CLASSES
            .iter()
            .map(|class| (class.name, build_insert_sql(class)))
            .collect()
    });
    match statements.get(class.name) {
        Some(sql) => Cow::Borrowed(sql.as_str()),
        None => Cow::Owned(build_insert_sql(class)),
    }
}

fn build_insert_sql(class: &ClassMeta) -> String {
    let placeholders = vec!["?"; class.fields.len() + 1].join(", ");
    format!(
        "INSERT INTO {} (\"aggVersion\", {}) VALUES ({placeholders})",
        quoted(class.name),
        class
            .fields
            .iter()
            .map(|field| quoted(field.name))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn fetch(
    transaction: &rusqlite::Transaction<'_>,
    class: &ClassMeta,
    id: i64,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE \"id\" = ?",
        select_list(class),
        quoted(class.name)
    );
    Ok(transaction
        .prepare_cached(&sql)?
        .query_row([id], |row| row_to_json(class, row))
        .optional()?)
}

/// The object's version; with an expected aggregate version, a different one is a conflict.
fn current_version(
    transaction: &rusqlite::Transaction<'_>,
    class: &ClassMeta,
    id: i64,
    expected: Option<i64>,
) -> Result<i64, StoreError> {
    let version: Option<i64> = transaction
        .prepare_cached(&format!(
            "SELECT \"aggVersion\" FROM {} WHERE \"id\" = ?",
            quoted(class.name)
        ))?
        .query_row([id], |row| row.get(0))
        .optional()?;
    let version = version.ok_or_else(|| {
        StoreError::new(
            Classification::ObjectNotFound,
            format!("{}: no object with id {id}", class.name),
        )
    })?;
    match expected {
        Some(expected) if expected != version => Err(StoreError::new(
            Classification::AggregateVersion,
            format!(
                "{} {id} is at version {version}, the packet expected {expected}",
                class.name
            ),
        )),
        _ => Ok(version),
    }
}

fn refuse_if_referenced(
    transaction: &rusqlite::Transaction<'_>,
    class: &ClassMeta,
    id: i64,
) -> Result<(), StoreError> {
    for other in CLASSES {
        for field in other
            .fields
            .iter()
            .filter(|field| field.ty == FieldType::Reference(class.name))
        {
            let sql = format!(
                "SELECT 1 FROM {} WHERE {} = ? LIMIT 1",
                quoted(other.name),
                quoted(field.name)
            );
            let referenced: Option<i64> = transaction
                .prepare_cached(&sql)?
                .query_row([id], |row| row.get(0))
                .optional()?;
            if referenced.is_some() {
                return Err(StoreError::validation(format!(
                    "{} {id} is still referenced by {}.{}",
                    class.name, other.name, field.name
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded_dataspace::model::BOT;
    use std::sync::{Arc, mpsc};
    use std::time::{Duration, Instant};

    fn count_bots() -> SearchRequest {
        SearchRequest {
            want_count: true,
            ..SearchRequest::default()
        }
    }

    #[test]
    fn a_read_does_not_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("db.sqlite"), &ReadLimits::default()).unwrap());
        let writer = store.lock();
        let (done, finished) = mpsc::channel();
        let reader = store.clone();
        std::thread::spawn(move || {
            let (cancel, _guard) = reader.read_cancel();
            let _ = done.send(reader.search(&BOT, &count_bots(), &cancel));
        });
        let result = finished.recv_timeout(Duration::from_secs(5));
        drop(writer);
        assert_eq!(
            result
                .expect("the read waited for the writer")
                .unwrap()
                .count,
            Some(0)
        );
    }

    #[test]
    fn a_read_past_its_deadline_or_without_its_caller_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), &ReadLimits::default()).unwrap();
        let (cancel, guard) = store.read_cancel();
        drop(guard);
        let refused = store.search(&BOT, &count_bots(), &cancel).unwrap_err();
        assert!(refused.message.contains("stopped"), "{refused:?}");
        // A read that would never end, stopped by the progress handler at its deadline.
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let mut connection = store.lock();
            let (cancel, _guard) =
                Cancel::with_deadline(Instant::now() + Duration::from_millis(200));
            let endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
                           SELECT count(*) FROM n";
            let result = readers::guarded(&mut connection, &cancel, |connection| {
                Ok(connection.query_row(endless, [], |row| row.get::<_, i64>(0))?)
            });
            let _ = done.send(result);
        });
        let result = finished
            .recv_timeout(Duration::from_secs(5))
            .expect("the read ran on past its deadline");
        assert!(result.unwrap_err().message.contains("stopped"));
    }
}
