//! Parser and SQL translator for the `cond` filter language.
//!
//! A cond string such as `it.name == 'x' && !it.bot` is tokenised, parsed by a
//! recursive-descent parser into a small AST, type-checked against the columns
//! a [`ColumnResolver`] reports, and translated into an SQLite `WHERE` fragment.
//! Every value taken from the input is bound as a parameter: the SQL text only
//! ever contains column expressions supplied by the resolver, fixed keywords,
//! operators and `?`.

use lexer::tokenize;
use parser::Parser;
use std::collections::HashMap;
use std::fmt;
pub(crate) use translate::phrase;
use translate::{Translator, resolve};

/// Maximum nesting of parentheses and `!`. Deeper input is rejected so that a
/// hostile string cannot overflow the stack of the recursive parser.
const MAX_DEPTH: usize = 64;

/// Maximum comparisons in one condition: its work is linear in them, and SQLite refuses an
/// expression deeper than 1000 (chains are emitted balanced, so their depth is logarithmic).
const MAX_TERMS: usize = 1000;

/// Maximum values one condition binds (`$in` items included): well under SQLite's 32,766
/// variables per statement, leaving room for the query's own.
const MAX_VALUES: usize = 10_000;

/// Terms of an `OR`/`AND` chain written flat in SQL.
const CHAIN: usize = 64;

/// Storage type of a column, which decides how literals are checked and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Integer,
    Real,
    Boolean,
    /// Stored as TEXT `YYYY-MM-DDTHH:MM:SS.mmm`.
    DateTime,
    /// INTEGER primary key; literals are given as strings like `'42'`.
    Id,
    /// INTEGER id of another row; literals are given as strings like `'42'`.
    Reference,
    /// TEXT holding JSON; only `== null` / `!= null` are allowed.
    Json,
}

/// A resolved column: its already-quoted SQL expression and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub sql: String,
    pub ty: ColumnType,
}

/// Maps a path such as `["source", "userName"]` (without `it`) to a column.
pub trait ColumnResolver {
    fn column(&self, path: &[&str]) -> Option<Column>;

    /// The FTS5 trigram table (rowid = the row's id) indexing this text column, if any: a
    /// `$like` that is a pure contains is then looked up there first.
    fn trigram_table(&self, _path: &[&str]) -> Option<&'static str> {
        None
    }
}

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

/// A typed literal, as written in the cond string or supplied for `${name}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Integer(i64),
    Real(f64),
    Text(String),
    DateTime(String),
}

/// Translated condition: `sql` uses `?` placeholders bound to `params` in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFragment {
    pub sql: String,
    pub params: Vec<SqlValue>,
    /// A text index the search should be driven from: set when a pure contains on an indexed
    /// column is a conjunct of the whole condition, so every matching row is among the
    /// index's matches. `sql` then keeps only that term's LIKE (the exact semantics).
    pub text_index: Option<TextIndexScan>,
}

/// The rows of an FTS5 table that may contain `literal`, as the rows a search starts from: read
/// in rowid order, they give a page newest (or oldest) first without collecting every match,
/// which is what an `id IN (matches)` term does. The store chooses the MATCH query when it
/// runs the search (`store::text_index`), from how common the literal's trigrams are.
#[derive(Debug, Clone, PartialEq)]
pub struct TextIndexScan {
    pub table: &'static str,
    pub literal: String,
}

/// An error with the 0-based character offset in the cond string it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for CondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cond: at position {}: {}", self.position, self.message)
    }
}

impl std::error::Error for CondError {}

type Result<T> = std::result::Result<T, CondError>;

fn error(position: usize, message: impl Into<String>) -> CondError {
    CondError {
        position,
        message: message.into(),
    }
}

/// Returns early with a [`CondError`] at `$pos`; the message is `format!`-style.
macro_rules! bail {
    ($pos:expr, $($message:tt)+) => {
        return Err(error($pos, format!($($message)+)))
    };
}

// After `bail!`, which they use.
mod lexer;
mod parser;
#[cfg(test)]
mod tests;
mod translate;

/// Translates a cond string into an SQLite condition with bound parameters.
/// An empty or all-whitespace cond matches everything (`1=1`).
pub fn translate_cond(
    cond: &str,
    placeholders: &HashMap<String, Literal>,
    columns: &dyn ColumnResolver,
) -> std::result::Result<SqlFragment, CondError> {
    if cond.trim().is_empty() {
        let sql = "1=1".to_string();
        return Ok(SqlFragment {
            sql,
            params: Vec::new(),
            text_index: None,
        });
    }
    let expr = Parser::new(tokenize(cond, placeholders)?).parse_cond()?;
    let mut translator = Translator {
        columns,
        sql: String::new(),
        params: Vec::new(),
        in_conjunction: true,
        text_index: None,
    };
    translator.emit(&expr)?;
    let Translator {
        sql,
        params,
        text_index,
        ..
    } = translator;
    if params.len() > MAX_VALUES {
        bail!(0, "the condition binds more than {MAX_VALUES} values");
    }
    Ok(SqlFragment {
        sql,
        params,
        text_index,
    })
}

/// Resolves a sort criterion (`it.createdAt` or bare `createdAt`) to the
/// column's SQL expression.
pub fn translate_sort(
    crit: &str,
    columns: &dyn ColumnResolver,
) -> std::result::Result<String, CondError> {
    let path = Parser::new(tokenize(crit, &HashMap::new())?).parse_sort_path()?;
    Ok(resolve(columns, &path)?.sql)
}
