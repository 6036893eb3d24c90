//! Reads: searches (on a reader connection) and single objects (inside a packet), as the
//! GraphQL entities' JSON.

use super::{SearchRequest, SearchResult, StoreError};
use crate::embedded_dataspace::cond::SqlValue;
use crate::embedded_dataspace::model::{ClassMeta, FieldType, quoted};
use rusqlite::types::Value as SqlParam;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde_json::{Map, Value};

pub(super) fn search_on(
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
        let sql = elems_sql(class, where_sql, &request.sort);
        let mut params = params.clone();
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

/// A search's page query: `LIMIT ? OFFSET ?` are its last two parameters.
pub(super) fn elems_sql(
    class: &ClassMeta,
    where_sql: &str,
    sort: &[(String, bool, Option<bool>)],
) -> String {
    let mut order = String::new();
    for (column, descending, nulls_last) in sort {
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
    format!(
        "SELECT {} FROM {} WHERE {where_sql} ORDER BY {order} LIMIT ? OFFSET ?",
        select_list(class),
        quoted(class.name)
    )
}

pub(super) fn select_list(class: &ClassMeta) -> String {
    let mut list = String::from("\"id\", \"aggVersion\"");
    for field in class.fields {
        list.push_str(", ");
        list.push_str(&quoted(field.name));
    }
    list
}

pub(super) fn to_param(value: &SqlValue) -> SqlParam {
    match value {
        SqlValue::Null => SqlParam::Null,
        SqlValue::Integer(integer) => SqlParam::Integer(*integer),
        SqlValue::Real(real) => SqlParam::Real(*real),
        SqlValue::Text(text) => SqlParam::Text(text.clone()),
    }
}

/// A row as the GraphQL entity's JSON (ids and references as strings, booleans as booleans).
pub(super) fn row_to_json(
    class: &ClassMeta,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<Map<String, Value>> {
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

pub(super) fn fetch(
    transaction: &rusqlite::Connection,
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
