//! Writing a packet's operations inside its transaction: references resolved and checked,
//! aggregate versions compared, deletes refused while the object is referenced.

use super::reads::fetch;
use super::{Classification, FieldValue, Fields, Operation, PacketOutcome, StoreError};
use crate::embedded_dataspace::model::{CLASSES, ClassMeta, FieldType, quoted};
use rusqlite::types::Value as SqlParam;
use rusqlite::{OptionalExtension, params_from_iter};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// What a packet has done so far: the ids created under each alias (for `ref:<alias>`), and
/// the objects known to exist, created or looked up earlier in the packet and not deleted
/// since, so that a reference to one of them needs no new lookup.
#[derive(Default)]
pub(super) struct PacketState {
    pub(super) created: HashMap<String, String>,
    pub(super) existing: HashSet<(&'static str, i64)>,
}

/// Resolves `ref:<alias>` to the id created under that alias earlier in the packet. `what`
/// names the field in an error, and is only formatted for one.
pub(super) fn resolve_id(
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
pub(super) fn field_param(
    transaction: &rusqlite::Connection,
    class: &ClassMeta,
    name: &str,
    value: Option<&FieldValue>,
    state: &mut PacketState,
) -> Result<SqlParam, StoreError> {
    let field = class
        .field(name)
        .ok_or_else(|| StoreError::validation(format!("{}.{name}: no such field", class.name)))?;
    let what = || format!("{}.{}", class.name, field.name);
    match (field.ty, value) {
        (_, None) if field.required => {
            Err(StoreError::validation(format!("{} is required", what())))
        }
        (_, None) => Ok(SqlParam::Null),
        (FieldType::Text | FieldType::DateTime, Some(FieldValue::Text(text))) => {
            Ok(SqlParam::Text(text.clone()))
        }
        (FieldType::Integer, Some(FieldValue::Integer(integer))) => Ok(SqlParam::Integer(*integer)),
        (FieldType::Boolean, Some(FieldValue::Boolean(flag))) => {
            Ok(SqlParam::Integer(i64::from(*flag)))
        }
        (FieldType::Reference(target), Some(FieldValue::Text(raw))) => {
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

pub(super) fn run_operation(
    transaction: &rusqlite::Connection,
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
            for (name, value) in changes {
                params.push(field_param(transaction, class, name, Some(value), state)?);
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

pub(super) fn insert(
    transaction: &rusqlite::Connection,
    class: &ClassMeta,
    input: &Fields,
    state: &mut PacketState,
) -> Result<i64, StoreError> {
    let mut params = Vec::with_capacity(class.fields.len() + 1);
    params.push(SqlParam::Integer(1));
    for field in class.fields {
        let value = input
            .iter()
            .find(|(name, _)| *name == field.name)
            .map(|(_, value)| value);
        params.push(field_param(transaction, class, field.name, value, state)?);
    }
    if let Some((unknown, _)) = input.iter().find(|(name, _)| class.field(name).is_none()) {
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
pub(super) fn insert_sql(class: &ClassMeta) -> Cow<'static, str> {
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

pub(super) fn build_insert_sql(class: &ClassMeta) -> String {
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

/// The object's version; with an expected aggregate version, a different one is a conflict.
pub(super) fn current_version(
    transaction: &rusqlite::Connection,
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

pub(super) fn refuse_if_referenced(
    transaction: &rusqlite::Connection,
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
