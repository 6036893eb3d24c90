//! Type-checks a parsed `cond` against the resolver's columns and writes it as SQL with every
//! value bound as a parameter.

use super::parser::{CmpOp, Expr, Operand, Path};
use super::{
    CHAIN, Column, ColumnResolver, ColumnType, Literal, Result, SqlValue, TextIndexScan, error,
};

pub(super) fn resolve(columns: &dyn ColumnResolver, path: &Path) -> Result<Column> {
    let segments: Vec<&str> = path.segments.iter().map(String::as_str).collect();
    match columns.column(&segments) {
        Some(column) => Ok(column),
        None => bail!(path.pos, "unknown field '{}'", path.display()),
    }
}

pub(super) fn type_name(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "Text",
        ColumnType::Integer => "Integer",
        ColumnType::Real => "Real",
        ColumnType::Boolean => "Boolean",
        ColumnType::DateTime => "DateTime",
        ColumnType::Id => "Id",
        ColumnType::Reference => "Reference",
        ColumnType::Json => "JSON",
    }
}

pub(super) fn literal_kind(lit: &Literal) -> &'static str {
    match lit {
        Literal::Null => "null",
        Literal::Bool(_) => "a boolean",
        Literal::Integer(_) => "an integer",
        Literal::Real(_) => "a decimal number",
        Literal::Text(_) => "a string",
        Literal::DateTime(_) => "a date-time",
    }
}

/// Kind used to reject mixed `$in` lists; integers and decimals mix freely.
pub(super) fn literal_family(lit: &Literal) -> &'static str {
    match lit {
        Literal::Integer(_) | Literal::Real(_) => "number",
        Literal::Text(_) | Literal::DateTime(_) => "string",
        other => literal_kind(other),
    }
}

pub(super) fn comparable(a: ColumnType, b: ColumnType) -> bool {
    use ColumnType::*;
    a == b
        || matches!(
            (a, b),
            (Integer | Real, Integer | Real) | (Id | Reference, Id | Reference)
        )
}

/// Result of fitting a literal to a column.
pub(super) enum Coerced {
    Value(SqlValue),
    /// A non-numeric id string: no row can have that id, but it is not an error
    /// because ids often come straight from user input.
    NoMatch,
}

pub(super) fn coerce(
    lit: &Literal,
    lit_pos: usize,
    column: &Column,
    path: &Path,
) -> Result<Coerced> {
    use ColumnType as T;
    let value = match (column.ty, lit) {
        (T::Text, Literal::Text(s)) => SqlValue::Text(s.clone()),
        (T::Integer, Literal::Integer(n)) => SqlValue::Integer(*n),
        (T::Real, Literal::Integer(n)) => SqlValue::Real(*n as f64),
        (T::Real, Literal::Real(x)) => SqlValue::Real(*x),
        (T::Boolean, Literal::Bool(b)) => SqlValue::Integer(i64::from(*b)),
        (T::Id | T::Reference, Literal::Integer(n)) => SqlValue::Integer(*n),
        (T::Id | T::Reference, Literal::Text(s)) => match parse_id(s) {
            Some(id) => SqlValue::Integer(id),
            None => return Ok(Coerced::NoMatch),
        },
        (T::DateTime, Literal::Text(s) | Literal::DateTime(s)) => match normalize_datetime(s) {
            Some(normalized) => SqlValue::Text(normalized),
            None => bail!(
                lit_pos,
                "invalid date-time '{s}' (expected YYYY-MM-DDTHH:MM:SS[.fff][Z])"
            ),
        },
        _ => bail!(
            lit_pos,
            "type mismatch: field '{}' is {} but the value is {}",
            path.display(),
            type_name(column.ty),
            literal_kind(lit)
        ),
    };
    Ok(Coerced::Value(value))
}

pub(super) fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok() // too many digits: no such id
}

/// Normalises `YYYY-MM-DDTHH:MM:SS[.f…][Z]` to `YYYY-MM-DDTHH:MM:SS.mmm` so
/// that TEXT comparison orders correctly; extra fraction digits are truncated.
pub(super) fn normalize_datetime(text: &str) -> Option<String> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (main, fraction) = match text.split_once('.') {
        Some((main, fraction)) => (main, Some(fraction)),
        None => (text, None),
    };
    let layout = b"dddd-dd-ddTdd:dd:dd";
    let shape_ok = main.len() == layout.len()
        && main.bytes().zip(layout).all(|(c, &want)| match want {
            b'd' => c.is_ascii_digit(),
            _ => c == want,
        });
    if !shape_ok {
        return None;
    }
    let field = |from: usize, to: usize| main.get(from..to)?.parse::<u32>().ok();
    let (year, month, day) = (field(0, 4)?, field(5, 7)?, field(8, 10)?);
    let (hour, minute, second) = (field(11, 13)?, field(14, 16)?, field(17, 19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let millis = match fraction {
        None => "000".to_string(),
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{:0<3}", &f[..f.len().min(3)])
        }
        Some(_) => return None,
    };
    Some(format!("{main}.{millis}"))
}

pub(super) struct Translator<'a> {
    pub(super) columns: &'a dyn ColumnResolver,
    pub(super) sql: String,
    pub(super) params: Vec<SqlValue>,
    /// Whether the term being written is a conjunct of the whole condition (not under an OR
    /// or a NOT): only such a term may choose the rows the search starts from.
    pub(super) in_conjunction: bool,
    pub(super) text_index: Option<TextIndexScan>,
}

impl Translator<'_> {
    pub(super) fn emit(&mut self, expr: &Expr) -> Result<()> {
        match expr {
            Expr::Or(terms) if terms.len() > 1 => {
                self.emit_nested(|this| this.emit_joined(terms, " OR "))
            }
            Expr::Or(terms) => self.emit_joined(terms, " OR "),
            Expr::And(terms) => self.emit_joined(terms, " AND "),
            Expr::Not(inner) => self.emit_nested(|this| {
                this.sql.push_str("(NOT ");
                this.emit(inner)?;
                this.sql.push(')');
                Ok(())
            }),
            Expr::Bare(path) => {
                let column = resolve(self.columns, path)?;
                if column.ty != ColumnType::Boolean {
                    let ty = type_name(column.ty);
                    bail!(
                        path.pos,
                        "field '{}' is {ty}; only a Boolean field can stand alone",
                        path.display()
                    );
                }
                self.sql.push_str(&format!("({} = 1)", column.sql));
                Ok(())
            }
            Expr::Compare {
                op,
                op_pos,
                left,
                right,
            } => match (left, right) {
                (Operand::Path(l), Operand::Path(r)) => {
                    self.emit_column_compare(*op, *op_pos, l, r)
                }
                (Operand::Path(path), Operand::Literal(lit, pos)) => {
                    self.emit_value_compare(*op, *op_pos, path, (lit, *pos))
                }
                (Operand::Literal(lit, pos), Operand::Path(path)) => {
                    self.emit_value_compare(op.flipped(), *op_pos, path, (lit, *pos))
                }
                (Operand::Literal(_, pos), Operand::Literal(..)) => {
                    bail!(*pos, "a comparison needs at least one field")
                }
            },
            Expr::Like {
                path,
                op_pos,
                pattern,
            } => self.emit_like(path, *op_pos, pattern),
            Expr::In {
                path,
                op_pos,
                items,
            } => self.emit_in(path, *op_pos, items),
        }
    }

    /// Writes a term that is not itself a conjunct of the whole condition (an OR, a NOT).
    fn emit_nested(&mut self, write: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let outer = std::mem::replace(&mut self.in_conjunction, false);
        let written = write(self);
        self.in_conjunction = outer;
        written
    }

    /// A chain of up to [`CHAIN`] terms flat; a longer one as a flat chain of such chains:
    /// SQLite nests a chain one level per term, and refuses an expression 1000 deep.
    pub(super) fn emit_joined(&mut self, terms: &[Expr], separator: &str) -> Result<()> {
        if let [term] = terms {
            return self.emit(term);
        }
        let group = if terms.len() <= CHAIN {
            1
        } else {
            terms.len().div_ceil(CHAIN)
        };
        self.sql.push('(');
        for (i, part) in terms.chunks(group).enumerate() {
            if i > 0 {
                self.sql.push_str(separator);
            }
            self.emit_joined(part, separator)?;
        }
        self.sql.push(')');
        Ok(())
    }

    pub(super) fn emit_column_compare(
        &mut self,
        op: CmpOp,
        op_pos: usize,
        l: &Path,
        r: &Path,
    ) -> Result<()> {
        let (lc, rc) = (resolve(self.columns, l)?, resolve(self.columns, r)?);
        if lc.ty == ColumnType::Json || rc.ty == ColumnType::Json {
            bail!(op_pos, "JSON fields can only be compared with null");
        }
        if !comparable(lc.ty, rc.ty) {
            let (lt, rt) = (type_name(lc.ty), type_name(rc.ty));
            let (ln, rn) = (l.display(), r.display());
            bail!(
                op_pos,
                "type mismatch: cannot compare {lt} field '{ln}' with {rt} field '{rn}'"
            );
        }
        if op.is_ordering() && lc.ty == ColumnType::Boolean {
            bail!(
                op_pos,
                "'<', '<=', '>' and '>=' cannot be used with Boolean fields"
            );
        }
        self.sql
            .push_str(&format!("({} {} {})", lc.sql, op.sql(), rc.sql));
        Ok(())
    }

    /// `op` is already oriented so that the column is on the left.
    pub(super) fn emit_value_compare(
        &mut self,
        op: CmpOp,
        op_pos: usize,
        path: &Path,
        (lit, lit_pos): (&Literal, usize),
    ) -> Result<()> {
        let column = resolve(self.columns, path)?;
        let sql = &column.sql;
        if *lit == Literal::Null {
            match op {
                CmpOp::Eq => self.sql.push_str(&format!("({sql} IS NULL)")),
                CmpOp::Ne => self.sql.push_str(&format!("({sql} IS NOT NULL)")),
                _ => bail!(op_pos, "'<', '<=', '>' and '>=' cannot be used with null"),
            }
            return Ok(());
        }
        if column.ty == ColumnType::Json {
            bail!(
                lit_pos,
                "JSON field '{}' can only be compared with null",
                path.display()
            );
        }
        if op.is_ordering() && column.ty == ColumnType::Boolean {
            bail!(
                op_pos,
                "'<', '<=', '>' and '>=' cannot be used with Boolean fields"
            );
        }
        match coerce(lit, lit_pos, &column, path)? {
            Coerced::Value(value) => {
                self.sql.push_str(&format!("({sql} {} ?)", op.sql()));
                self.params.push(value);
            }
            // Only `!=` can hold for an id no row has; it holds for every non-null one.
            Coerced::NoMatch if op == CmpOp::Ne => {
                self.sql.push_str(&format!("({sql} IS NOT NULL)"))
            }
            Coerced::NoMatch => self.sql.push_str("(1=0)"),
        }
        Ok(())
    }

    pub(super) fn emit_like(
        &mut self,
        path: &Path,
        op_pos: usize,
        pattern: &Operand,
    ) -> Result<()> {
        let column = resolve(self.columns, path)?;
        if column.ty != ColumnType::Text {
            let ty = type_name(column.ty);
            bail!(
                op_pos,
                "$like needs a Text field but '{}' is {ty}",
                path.display()
            );
        }
        match pattern {
            Operand::Literal(Literal::Text(text), _) => {
                let segments: Vec<&str> = path.segments.iter().map(String::as_str).collect();
                let trigram = self.columns.trigram_table(&segments);
                match (trigram, pure_contains(text)) {
                    // The index finds the candidates; the LIKE keeps the exact semantics.
                    (Some(table), Some(literal))
                        if self.in_conjunction && self.text_index.is_none() =>
                    {
                        self.text_index = Some(TextIndexScan { table, literal });
                        self.sql
                            .push_str(&format!("({} LIKE ? ESCAPE '\\')", column.sql));
                    }
                    (Some(table), Some(literal)) => {
                        self.sql.push_str(&format!(
                            "(\"id\" IN (SELECT rowid FROM \"{table}\" WHERE \"{table}\" MATCH ?) AND {} LIKE ? ESCAPE '\\')",
                            column.sql
                        ));
                        self.params.push(SqlValue::Text(phrase(&literal)));
                    }
                    _ => self
                        .sql
                        .push_str(&format!("({} LIKE ? ESCAPE '\\')", column.sql)),
                }
                self.params.push(SqlValue::Text(text.clone()));
                Ok(())
            }
            Operand::Literal(other, pos) => {
                bail!(
                    *pos,
                    "$like needs a string pattern but found {}",
                    literal_kind(other)
                )
            }
            Operand::Path(other) => bail!(other.pos, "$like needs a string pattern, not a field"),
        }
    }

    pub(super) fn emit_in(
        &mut self,
        path: &Path,
        op_pos: usize,
        items: &[(Literal, usize)],
    ) -> Result<()> {
        let column = resolve(self.columns, path)?;
        if column.ty == ColumnType::Json {
            bail!(
                op_pos,
                "JSON field '{}' can only be compared with null",
                path.display()
            );
        }
        let first_family = items.first().map(|(lit, _)| literal_family(lit));
        let mut values = Vec::with_capacity(items.len());
        for (lit, pos) in items {
            if *lit == Literal::Null {
                bail!(*pos, "null is not allowed in a $in list; use '== null'");
            }
            let family = literal_family(lit);
            if let Some(first) = first_family.filter(|&first| first != family) {
                bail!(*pos, "$in list mixes {first} and {family} values");
            }
            // Non-numeric ids match nothing, so they simply drop out of the list.
            if let Coerced::Value(value) = coerce(lit, *pos, &column, path)? {
                values.push(value);
            }
        }
        if values.is_empty() {
            self.sql.push_str("(1=0)");
        } else {
            let marks = vec!["?"; values.len()].join(", ");
            self.sql.push_str(&format!("({} IN ({marks}))", column.sql));
            self.params.extend(values);
        }
        Ok(())
    }
}

/// An FTS5 query for `literal` as one phrase (the trigram tokenizer matches it as a substring).
pub(crate) fn phrase(literal: &str) -> String {
    format!("\"{}\"", literal.replace('"', "\"\""))
}

/// The literal of a `%literal%` pattern (`\\` escapes, no other wildcard) when it is at least
/// 3 characters: the trigram index cannot look up anything shorter, nor a NUL (an FTS5 query
/// string ends at one), which the LIKE alone then serves.
pub(super) fn pure_contains(pattern: &str) -> Option<String> {
    let inner = pattern.strip_prefix('%')?.strip_suffix('%')?;
    let mut literal = String::with_capacity(inner.len());
    let mut characters = inner.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => literal.push(characters.next()?),
            '%' | '_' => return None,
            other => literal.push(other),
        }
    }
    (literal.chars().count() >= 3 && !literal.contains('\0')).then_some(literal)
}
