//! Reads: searches (on a reader connection) and single objects (inside a packet), as the
//! GraphQL entities' JSON.

use super::{SearchRequest, SearchResult, StoreError, text_index};
use crate::embedded_dataspace::cond::{SqlFragment, SqlValue, TextIndexScan};
use crate::embedded_dataspace::model::{ClassMeta, FieldType, quoted};
use rusqlite::types::Value as SqlParam;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde_json::{Map, Value};

pub(super) fn search_on(
    connection: &Connection,
    class: &ClassMeta,
    request: &SearchRequest,
) -> Result<SearchResult, StoreError> {
    let search = SearchSql::new(connection, class, request.filter.as_ref())?;
    let mut result = SearchResult::default();
    if request.want_count {
        let mut statement = connection.prepare_cached(&search.count())?;
        result.count =
            Some(statement.query_row(params_from_iter(search.params.iter()), |row| row.get(0))?);
    }
    if request.want_elems {
        let mut params = search.params.clone();
        params.push(SqlParam::Integer(request.limit.unwrap_or(-1)));
        params.push(SqlParam::Integer(request.offset.unwrap_or(0)));
        let mut statement = connection.prepare_cached(&search.page(class, &request.sort))?;
        let rows = statement.query_map(params_from_iter(params.iter()), |row| {
            Ok(row_to_json(class, row))
        })?;
        for row in rows {
            result.elems.push(row??);
        }
    }
    Ok(result)
}

/// A search's SQL: the rows it reads from, its condition, and their parameters in order.
pub(super) struct SearchSql {
    source: String,
    condition: String,
    pub(super) params: Vec<SqlParam>,
}

impl SearchSql {
    /// Reads the class's table; or, for a condition driven by a text index, that index's
    /// matches joined to the table under the table's own column names. The index's rowid is
    /// the "id" there, so a cursor's `"id" < ?` and `ORDER BY "id"` reach the index: a page
    /// is read in rowid order and stops at its limit. The index's MATCH query is chosen on
    /// `connection` (see `text_index`).
    pub(super) fn new(
        connection: &Connection,
        class: &ClassMeta,
        filter: Option<&SqlFragment>,
    ) -> Result<Self, StoreError> {
        let table = quoted(class.name);
        let Some(filter) = filter else {
            return Ok(Self {
                source: table,
                condition: "1=1".to_owned(),
                params: Vec::new(),
            });
        };
        let mut params = Vec::with_capacity(filter.params.len() + 1);
        let source = match &filter.text_index {
            None => table,
            Some(TextIndexScan {
                table: index,
                literal,
            }) => {
                params.push(SqlParam::Text(text_index::match_query(
                    connection, index, literal,
                )?));
                let index = quoted(index);
                let mut columns =
                    format!("{index}.rowid AS \"id\", row.\"aggVersion\" AS \"aggVersion\"");
                for field in class.fields {
                    let name = quoted(field.name);
                    columns.push_str(&format!(", row.{name} AS {name}"));
                }
                format!(
                    "(SELECT {columns} FROM {index} CROSS JOIN {table} AS row ON row.\"id\" = {index}.rowid WHERE {index} MATCH ?)"
                )
            }
        };
        params.extend(filter.params.iter().map(to_param));
        Ok(Self {
            source,
            condition: filter.sql.clone(),
            params,
        })
    }

    pub(super) fn count(&self) -> String {
        format!(
            "SELECT COUNT(*) FROM {} WHERE {}",
            self.source, self.condition
        )
    }

    /// The page query: `LIMIT ? OFFSET ?` are its last two parameters, after [`Self::params`].
    pub(super) fn page(&self, class: &ClassMeta, sort: &[(String, bool, Option<bool>)]) -> String {
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
        // The id breaks ties, unless the order already has it: a text index consumes an
        // `ORDER BY "id"` of one term only.
        const ID: &str = "\"id\"";
        if sort.iter().any(|(column, ..)| column == ID) {
            order.truncate(order.len() - ", ".len());
        } else {
            order.push_str(ID);
            order.push_str(" ASC");
        }
        format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {order} LIMIT ? OFFSET ?",
            select_list(class),
            self.source,
            self.condition
        )
    }
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
