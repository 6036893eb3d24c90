//! Parser and SQL translator for the `cond` filter language.
//!
//! A cond string such as `it.name == 'x' && !it.bot` is tokenised, parsed by a
//! recursive-descent parser into a small AST, type-checked against the columns
//! a [`ColumnResolver`] reports, and translated into an SQLite `WHERE` fragment.
//! Every value taken from the input is bound as a parameter: the SQL text only
//! ever contains column expressions supplied by the resolver, fixed keywords,
//! operators and `?`.

use std::collections::HashMap;
use std::fmt;

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

// ---------------------------------------------------------------- tokens ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// Identifiers and keywords (`it`, `true`, `$like`, ...). The parser reads
    /// keywords by position, so `it.null` is still a valid path.
    Ident(String),
    Lit(Literal),
    /// An operator or punctuation symbol from [`SYMBOLS`].
    Sym(&'static str),
    End,
}

/// Operators and punctuation; two-character symbols come first so they win.
const SYMBOLS: [&str; 15] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", ".", ",", "(", ")", "[", "]",
];

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Character offset of the token's first character.
    pos: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(text) => format!("'{text}'"),
        Tok::Sym(symbol) => format!("'{symbol}'"),
        Tok::Lit(lit) => match lit {
            Literal::Text(s) => format!("string '{s}'"),
            Literal::DateTime(s) => format!("date-time '{s}'"),
            Literal::Integer(n) => format!("integer {n}"),
            Literal::Real(x) => format!("number {x}"),
            Literal::Bool(b) => b.to_string(),
            Literal::Null => "null".to_string(),
        },
        Tok::End => "end of input".to_string(),
    }
}

/// Error for a token that is not what the grammar expects at this point.
fn unexpected(token: &Token, expected: &str) -> CondError {
    let message = match token.tok {
        Tok::End => format!("unexpected end of input: expected {expected}"),
        _ => format!("expected {expected} but found {}", describe(&token.tok)),
    };
    error(token.pos, message)
}

/// Splits `src` into tokens, substituting `${name}` placeholders by literal
/// tokens so that their contents are never lexed as source text.
fn tokenize(src: &str, placeholders: &HashMap<String, Literal>) -> Result<Vec<Token>> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(&c) = chars.get(pos) {
        let rest = &chars[pos..];
        let starts_with = |s: &str| s.chars().zip(rest).filter(|(a, b)| a == *b).count() == s.len();
        let (tok, len) = if c.is_whitespace() {
            pos += 1;
            continue;
        } else if let Some(&symbol) = SYMBOLS.iter().find(|s| starts_with(s)) {
            (Tok::Sym(symbol), symbol.len())
        } else if c == '\'' {
            let (text, len) = lex_string(rest, pos)?;
            (Tok::Lit(Literal::Text(text)), len)
        } else if starts_with("${") {
            lex_placeholder(rest, pos, placeholders)?
        } else if c.is_ascii_digit() || (c == '-' && rest.get(1).is_some_and(char::is_ascii_digit))
        {
            lex_number(rest, pos)?
        } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let len = 1 + rest[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            (Tok::Ident(rest[..len].iter().collect()), len)
        } else {
            let hint = match c {
                '=' => " (use '==' to compare)",
                '&' => " (use '&&')",
                '|' => " (use '||')",
                _ => "",
            };
            bail!(pos, "unknown token '{c}'{hint}");
        };
        tokens.push(Token { tok, pos });
        pos += len;
    }
    tokens.push(Token {
        tok: Tok::End,
        pos: chars.len(),
    });
    Ok(tokens)
}

/// Lexes the single-quoted string at the start of `rest`; returns its text and
/// length. `\'`, `\\` and `''` are escapes; any other backslash is kept as is,
/// so `$like '100\%'` passes `\%` through to SQL's `ESCAPE '\'`.
fn lex_string(rest: &[char], pos: usize) -> Result<(String, usize)> {
    let mut text = String::new();
    let mut i = 1;
    loop {
        match (rest.get(i), rest.get(i + 1)) {
            (None, _) | (Some('\\'), None) => bail!(pos, "unterminated string literal"),
            (Some('\\'), Some(&escaped @ ('\'' | '\\'))) | (Some('\''), Some(&escaped @ '\'')) => {
                text.push(escaped);
                i += 2;
            }
            (Some('\''), _) => return Ok((text, i + 1)),
            (Some(&c), _) => {
                text.push(c);
                i += 1;
            }
        }
    }
}

fn lex_number(rest: &[char], pos: usize) -> Result<(Tok, usize)> {
    let digits_from = |i: usize| rest[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut len = 1 + digits_from(1);
    // A '.' only belongs to the number when digits follow it (`1.x` is no number).
    let fraction = match rest.get(len) {
        Some('.') => digits_from(len + 1),
        _ => 0,
    };
    if fraction > 0 {
        len += 1 + fraction;
    }
    let text: String = rest[..len].iter().collect();
    let literal = if fraction > 0 {
        text.parse().ok().map(Literal::Real)
    } else {
        text.parse().ok().map(Literal::Integer)
    };
    match literal {
        Some(lit) => Ok((Tok::Lit(lit), len)),
        None => bail!(pos, "number {text} is out of range"),
    }
}

fn lex_placeholder(
    rest: &[char],
    pos: usize,
    placeholders: &HashMap<String, Literal>,
) -> Result<(Tok, usize)> {
    let Some(close) = rest.iter().position(|&c| c == '}') else {
        bail!(pos, "unterminated placeholder (missing '}}')");
    };
    let name: String = rest[2..close].iter().collect();
    match placeholders.get(&name) {
        Some(lit) => Ok((Tok::Lit(lit.clone()), close + 1)),
        None => bail!(pos, "unknown placeholder '${{{name}}}'"),
    }
}

// ------------------------------------------------------------------- AST ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn from_symbol(symbol: &str) -> Option<Self> {
        Some(match symbol {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator to use when the operands are swapped (`5 < x` is `x > 5`).
    fn flipped(self) -> Self {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }

    fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

#[derive(Debug)]
struct Path {
    segments: Vec<String>,
    /// Position of the path's first token, used for "unknown field" errors.
    pos: usize,
}

impl Path {
    fn display(&self) -> String {
        format!("it.{}", self.segments.join("."))
    }
}

#[derive(Debug)]
enum Operand {
    Path(Path),
    Literal(Literal, usize),
}

/// `&&` and `||` chains are n-ary rather than nested binary nodes, so a long
/// chain cannot build a deep tree (and thus a deep recursion).
#[derive(Debug)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        op: CmpOp,
        op_pos: usize,
        left: Operand,
        right: Operand,
    },
    Like {
        path: Path,
        op_pos: usize,
        pattern: Operand,
    },
    In {
        path: Path,
        op_pos: usize,
        items: Vec<(Literal, usize)>,
    },
    /// A Boolean field used as a whole condition.
    Bare(Path),
}

// ---------------------------------------------------------------- parser ----

struct Parser {
    /// Always ends with `Tok::End`; `index` never moves past it.
    tokens: Vec<Token>,
    index: usize,
    depth: usize,
    /// Comparisons parsed so far.
    terms: usize,
}

impl Parser {
    fn new(tokens: Vec<Token>) -> Self {
        Parser {
            tokens,
            index: 0,
            depth: 0,
            terms: 0,
        }
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.index]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.index += 1;
        }
        token
    }

    /// Consumes the next token if it is `symbol`.
    fn eat(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek().tok, Tok::Sym(s) if s == symbol);
        if found {
            self.advance();
        }
        found
    }

    fn expect(&mut self, symbol: &str) -> Result<()> {
        match self.eat(symbol) {
            true => Ok(()),
            false => Err(unexpected(self.peek(), &format!("'{symbol}'"))),
        }
    }

    fn expect_end(&self, expected: &str) -> Result<()> {
        match self.peek().tok {
            Tok::End => Ok(()),
            _ => Err(unexpected(self.peek(), expected)),
        }
    }

    /// Tracks nesting depth around `parse` to bound the recursion.
    fn nested(&mut self, pos: usize, parse: fn(&mut Self) -> Result<Expr>) -> Result<Expr> {
        if self.depth >= MAX_DEPTH {
            bail!(
                pos,
                "expression is nested more than {MAX_DEPTH} levels deep"
            );
        }
        self.depth += 1;
        let expr = parse(self);
        self.depth -= 1;
        expr
    }

    fn parse_cond(&mut self) -> Result<Expr> {
        let expr = self.parse_or()?;
        self.expect_end("'&&', '||' or end of input")?;
        Ok(expr)
    }

    fn parse_or(&mut self) -> Result<Expr> {
        let mut terms = vec![self.parse_and()?];
        while self.eat("||") {
            terms.push(self.parse_and()?);
        }
        Ok(collapse(terms, Expr::Or))
    }

    fn parse_and(&mut self) -> Result<Expr> {
        let mut terms = vec![self.parse_not()?];
        while self.eat("&&") {
            terms.push(self.parse_not()?);
        }
        Ok(collapse(terms, Expr::And))
    }

    fn parse_not(&mut self) -> Result<Expr> {
        let pos = self.peek().pos;
        if self.eat("!") {
            let inner = self.nested(pos, Self::parse_not)?;
            Ok(Expr::Not(Box::new(inner)))
        } else if self.eat("(") {
            let inner = self.nested(pos, Self::parse_or)?;
            self.expect(")")?;
            Ok(inner)
        } else {
            self.parse_comparison()
        }
    }

    fn parse_comparison(&mut self) -> Result<Expr> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            bail!(
                self.peek().pos,
                "the condition has more than {MAX_TERMS} comparisons"
            );
        }
        let left = self.parse_operand()?;
        let next = self.peek().clone();
        let expr = match (&next.tok, cmp_op(&next.tok)) {
            (_, Some(op)) => {
                self.advance();
                let right = self.parse_operand()?;
                let op_pos = next.pos;
                Expr::Compare {
                    op,
                    op_pos,
                    left,
                    right,
                }
            }
            (Tok::Ident(name), _) if name == "$like" => {
                self.advance();
                Expr::Like {
                    path: require_path(left, name)?,
                    op_pos: next.pos,
                    pattern: self.parse_operand()?,
                }
            }
            (Tok::Ident(name), _) if name == "$in" => {
                self.advance();
                Expr::In {
                    path: require_path(left, name)?,
                    op_pos: next.pos,
                    items: self.parse_list()?,
                }
            }
            (Tok::Ident(name), _) if name.starts_with('$') => {
                bail!(
                    next.pos,
                    "unknown operator '{name}' (expected '$like' or '$in')"
                )
            }
            _ => match left {
                Operand::Path(path) => Expr::Bare(path),
                Operand::Literal(_, pos) => bail!(pos, "a value alone is not a condition"),
            },
        };
        let after = self.peek();
        if cmp_op(&after.tok).is_some() {
            let found = describe(&after.tok);
            bail!(
                after.pos,
                "comparisons cannot be chained (found {found}; use '&&')"
            );
        }
        Ok(expr)
    }

    fn parse_operand(&mut self) -> Result<Operand> {
        let token = self.advance();
        let name = match token.tok {
            Tok::Lit(lit) => return Ok(Operand::Literal(lit, token.pos)),
            Tok::Ident(ref name) if !name.starts_with('$') => name.as_str(),
            _ => return Err(unexpected(&token, "a field or a value")),
        };
        let literal = match name {
            "true" => Literal::Bool(true),
            "false" => Literal::Bool(false),
            "null" => Literal::Null,
            "it" => {
                let segments = self.parse_dotted(Vec::new())?;
                if segments.is_empty() {
                    return Err(unexpected(self.peek(), "'.' and a field name after 'it'"));
                }
                let pos = token.pos;
                return Ok(Operand::Path(Path { segments, pos }));
            }
            _ => bail!(
                token.pos,
                "expected a field or a value but found '{name}' (write 'it.{name}')"
            ),
        };
        Ok(Operand::Literal(literal, token.pos))
    }

    /// Appends each `.segment` that follows to `segments`.
    fn parse_dotted(&mut self, mut segments: Vec<String>) -> Result<Vec<String>> {
        while self.eat(".") {
            let token = self.advance();
            match token.tok {
                Tok::Ident(segment) => segments.push(segment),
                _ => return Err(unexpected(&token, "a field name after '.'")),
            }
        }
        Ok(segments)
    }

    fn parse_list(&mut self) -> Result<Vec<(Literal, usize)>> {
        self.expect("[")?;
        let mut items = Vec::new();
        if self.eat("]") {
            return Ok(items);
        }
        loop {
            match self.parse_operand()? {
                Operand::Literal(_, pos) if items.len() == MAX_VALUES => {
                    bail!(pos, "a $in list may have at most {MAX_VALUES} values")
                }
                Operand::Literal(lit, pos) => items.push((lit, pos)),
                Operand::Path(path) => bail!(path.pos, "a $in list may only contain values"),
            }
            if self.eat("]") {
                return Ok(items);
            }
            if !self.eat(",") {
                return Err(unexpected(self.peek(), "',' or ']'"));
            }
        }
    }

    /// A sort criterion: `it.a.b` or, for convenience, a bare `a.b`.
    fn parse_sort_path(&mut self) -> Result<Path> {
        let first = self.advance();
        let segments = match first.tok {
            Tok::Ident(name) if name == "it" => self.parse_dotted(Vec::new())?,
            Tok::Ident(name) => self.parse_dotted(vec![name])?,
            _ => return Err(unexpected(&first, "a field to sort by")),
        };
        if segments.is_empty() {
            return Err(unexpected(self.peek(), "'.' and a field name after 'it'"));
        }
        self.expect_end("end of input after the sort field")?;
        Ok(Path {
            segments,
            pos: first.pos,
        })
    }
}

fn cmp_op(tok: &Tok) -> Option<CmpOp> {
    match tok {
        Tok::Sym(symbol) => CmpOp::from_symbol(symbol),
        _ => None,
    }
}

fn collapse(mut terms: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if terms.len() == 1 {
        terms.swap_remove(0)
    } else {
        make(terms)
    }
}

fn require_path(operand: Operand, operator: &str) -> Result<Path> {
    match operand {
        Operand::Path(path) => Ok(path),
        Operand::Literal(_, pos) => bail!(pos, "{operator} needs a field on its left"),
    }
}

// ------------------------------------------------------------ translator ----

fn resolve(columns: &dyn ColumnResolver, path: &Path) -> Result<Column> {
    let segments: Vec<&str> = path.segments.iter().map(String::as_str).collect();
    match columns.column(&segments) {
        Some(column) => Ok(column),
        None => bail!(path.pos, "unknown field '{}'", path.display()),
    }
}

fn type_name(ty: ColumnType) -> &'static str {
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

fn literal_kind(lit: &Literal) -> &'static str {
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
fn literal_family(lit: &Literal) -> &'static str {
    match lit {
        Literal::Integer(_) | Literal::Real(_) => "number",
        Literal::Text(_) | Literal::DateTime(_) => "string",
        other => literal_kind(other),
    }
}

fn comparable(a: ColumnType, b: ColumnType) -> bool {
    use ColumnType::*;
    a == b
        || matches!(
            (a, b),
            (Integer | Real, Integer | Real) | (Id | Reference, Id | Reference)
        )
}

/// Result of fitting a literal to a column.
enum Coerced {
    Value(SqlValue),
    /// A non-numeric id string: no row can have that id, but it is not an error
    /// because ids often come straight from user input.
    NoMatch,
}

fn coerce(lit: &Literal, lit_pos: usize, column: &Column, path: &Path) -> Result<Coerced> {
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

fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok() // too many digits: no such id
}

/// Normalises `YYYY-MM-DDTHH:MM:SS[.f…][Z]` to `YYYY-MM-DDTHH:MM:SS.mmm` so
/// that TEXT comparison orders correctly; extra fraction digits are truncated.
fn normalize_datetime(text: &str) -> Option<String> {
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

struct Translator<'a> {
    columns: &'a dyn ColumnResolver,
    sql: String,
    params: Vec<SqlValue>,
}

impl Translator<'_> {
    fn emit(&mut self, expr: &Expr) -> Result<()> {
        match expr {
            Expr::Or(terms) => self.emit_joined(terms, " OR "),
            Expr::And(terms) => self.emit_joined(terms, " AND "),
            Expr::Not(inner) => {
                self.sql.push_str("(NOT ");
                self.emit(inner)?;
                self.sql.push(')');
                Ok(())
            }
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

    /// A chain of up to [`CHAIN`] terms flat; a longer one as a flat chain of such chains:
    /// SQLite nests a chain one level per term, and refuses an expression 1000 deep.
    fn emit_joined(&mut self, terms: &[Expr], separator: &str) -> Result<()> {
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

    fn emit_column_compare(&mut self, op: CmpOp, op_pos: usize, l: &Path, r: &Path) -> Result<()> {
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
    fn emit_value_compare(
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

    fn emit_like(&mut self, path: &Path, op_pos: usize, pattern: &Operand) -> Result<()> {
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
                self.sql
                    .push_str(&format!("({} LIKE ? ESCAPE '\\')", column.sql));
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

    fn emit_in(&mut self, path: &Path, op_pos: usize, items: &[(Literal, usize)]) -> Result<()> {
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
        });
    }
    let expr = Parser::new(tokenize(cond, placeholders)?).parse_cond()?;
    let mut translator = Translator {
        columns,
        sql: String::new(),
        params: Vec::new(),
    };
    translator.emit(&expr)?;
    let Translator { sql, params, .. } = translator;
    if params.len() > MAX_VALUES {
        bail!(0, "the condition binds more than {MAX_VALUES} values");
    }
    Ok(SqlFragment { sql, params })
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

#[cfg(test)]
mod tests {
    use super::*;

    struct TestColumns;

    impl ColumnResolver for TestColumns {
        fn column(&self, path: &[&str]) -> Option<Column> {
            use ColumnType::*;
            let (sql, ty) = match path {
                ["name"] => ("\"name\"", Text),
                ["title"] => ("\"title\"", Text),
                ["count"] => ("\"count\"", Integer),
                ["score"] => ("\"score\"", Real),
                ["bot"] => ("\"bot\"", Boolean),
                ["active"] => ("\"active\"", Boolean),
                ["createdAt"] => ("\"createdAt\"", DateTime),
                ["$id"] => ("\"id\"", Id),
                ["source"] => ("\"source\"", Reference),
                ["source", "userName"] => ("\"source_userName\"", Text),
                ["meta"] => ("\"meta\"", Json),
                _ => return None,
            };
            Some(Column {
                sql: sql.to_string(),
                ty,
            })
        }
    }

    fn translate_with(cond: &str, placeholders: &HashMap<String, Literal>) -> Result<SqlFragment> {
        translate_cond(cond, placeholders, &TestColumns)
    }

    fn ok(cond: &str) -> (String, Vec<SqlValue>) {
        match translate_with(cond, &HashMap::new()) {
            Ok(fragment) => (fragment.sql, fragment.params),
            Err(e) => panic!("{cond:?} failed: {e}"),
        }
    }

    fn sql(cond: &str) -> String {
        ok(cond).0
    }

    fn fail(cond: &str) -> CondError {
        translate_with(cond, &HashMap::new()).expect_err(cond)
    }

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.to_string())
    }

    #[test]
    fn comparison_operators() {
        let cases = [
            ("==", "="),
            ("!=", "!="),
            ("<", "<"),
            ("<=", "<="),
            (">", ">"),
            (">=", ">="),
        ];
        for (op, sql_op) in cases {
            let (sql, params) = ok(&format!("it.count {op} 5"));
            assert_eq!(sql, format!("(\"count\" {sql_op} ?)"));
            assert_eq!(params, vec![SqlValue::Integer(5)]);
        }
        assert_eq!(ok("it.name == 'bob'").1, vec![text("bob")]);
        assert_eq!(
            sql("it.source.userName == 'x'"),
            "(\"source_userName\" = ?)"
        );
        assert_eq!(sql("it . name=='x'"), "(\"name\" = ?)");
    }

    #[test]
    fn literal_on_the_left_is_flipped() {
        assert_eq!(sql("5 < it.count"), "(\"count\" > ?)");
        assert_eq!(sql("5 >= it.count"), "(\"count\" <= ?)");
        assert_eq!(sql("'x' == it.name"), "(\"name\" = ?)");
    }

    #[test]
    fn logic_precedence_and_parentheses() {
        assert_eq!(
            sql("it.bot && it.active"),
            "((\"bot\" = 1) AND (\"active\" = 1))"
        );
        assert_eq!(
            sql("it.bot || it.active && it.count == 1"),
            "((\"bot\" = 1) OR ((\"active\" = 1) AND (\"count\" = ?)))"
        );
        assert_eq!(
            sql("(it.bot || it.active) && it.count == 1"),
            "(((\"bot\" = 1) OR (\"active\" = 1)) AND (\"count\" = ?))"
        );
        assert_eq!(
            sql("!(it.count == 1 || it.bot)"),
            "(NOT ((\"count\" = ?) OR (\"bot\" = 1)))"
        );
        assert_eq!(sql("!it.count == 1"), "(NOT (\"count\" = ?))");
        assert_eq!(sql("((it.bot))"), "(\"bot\" = 1)");
        assert_eq!(
            sql("it.bot && it.bot && it.bot"),
            "((\"bot\" = 1) AND (\"bot\" = 1) AND (\"bot\" = 1))"
        );
    }

    #[test]
    fn null_handling() {
        assert_eq!(sql("it.name == null"), "(\"name\" IS NULL)");
        assert_eq!(sql("it.name != null"), "(\"name\" IS NOT NULL)");
        assert_eq!(sql("null == it.count"), "(\"count\" IS NULL)");
        assert_eq!(sql("it.meta != null"), "(\"meta\" IS NOT NULL)");
        assert!(ok("it.meta == null").1.is_empty());
    }

    #[test]
    fn boolean_fields() {
        assert_eq!(sql("it.bot"), "(\"bot\" = 1)");
        assert_eq!(sql("!it.bot"), "(NOT (\"bot\" = 1))");
        assert_eq!(sql("!!it.bot"), "(NOT (NOT (\"bot\" = 1)))");
        assert_eq!(ok("it.bot == false").1, vec![SqlValue::Integer(0)]);
        assert_eq!(ok("it.bot != true").1, vec![SqlValue::Integer(1)]);
        assert_eq!(sql("it.bot == it.active"), "(\"bot\" = \"active\")");
    }

    #[test]
    fn like_and_in() {
        let (sql_text, params) = ok("it.name $like 'a%_'");
        assert_eq!(sql_text, "(\"name\" LIKE ? ESCAPE '\\')");
        assert_eq!(params, vec![text("a%_")]);
        // An unknown escape keeps its backslash, ready for ESCAPE '\'.
        assert_eq!(ok(r"it.name $like '100\%'").1, vec![text(r"100\%")]);

        let (sql_text, params) = ok("it.name $in ['a', 'b']");
        assert_eq!(sql_text, "(\"name\" IN (?, ?))");
        assert_eq!(params, vec![text("a"), text("b")]);
        assert_eq!(
            ok("it.score $in [1, 2.5]").1,
            vec![SqlValue::Real(1.0), SqlValue::Real(2.5)]
        );
        assert_eq!(ok("it.name $in []"), ("(1=0)".to_string(), vec![]));
        assert_eq!(sql("!(it.name $in [])"), "(NOT (1=0))");
    }

    #[test]
    fn literals_and_escapes() {
        assert_eq!(ok(r"it.name == 'it\'s'").1, vec![text("it's")]);
        assert_eq!(ok("it.name == 'it''s'").1, vec![text("it's")]);
        assert_eq!(ok(r"it.name == 'a\\b'").1, vec![text(r"a\b")]);
        assert_eq!(ok("it.name == ''").1, vec![text("")]);
        assert_eq!(ok("it.count == -12").1, vec![SqlValue::Integer(-12)]);
        assert_eq!(ok("it.score > -1.25").1, vec![SqlValue::Real(-1.25)]);
        assert_eq!(ok("it.score > 3").1, vec![SqlValue::Real(3.0)]);
    }

    #[test]
    fn id_and_reference_coercion() {
        assert_eq!(
            ok("it.$id == '42'"),
            ("(\"id\" = ?)".to_string(), vec![SqlValue::Integer(42)])
        );
        assert_eq!(ok("it.source == '7'").1, vec![SqlValue::Integer(7)]);
        assert_eq!(ok("it.$id == 'abc'"), ("(1=0)".to_string(), vec![]));
        assert_eq!(sql("it.source != 'x1'"), "(\"source\" IS NOT NULL)");
        assert_eq!(sql("it.$id == '99999999999999999999'"), "(1=0)");
        assert_eq!(
            ok("it.$id $in ['1', 'no', '3']").1,
            vec![SqlValue::Integer(1), SqlValue::Integer(3)]
        );
        assert_eq!(sql("it.$id $in ['no']"), "(1=0)");
        assert_eq!(sql("it.$id == it.source"), "(\"id\" = \"source\")");
        assert_eq!(sql("it.$id < 'abc'"), "(1=0)");
    }

    #[test]
    fn datetime_normalisation() {
        let cases = [
            ("2024-02-29T10:20:30", "2024-02-29T10:20:30.000"),
            ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000"),
            ("2024-01-02T03:04:05.5", "2024-01-02T03:04:05.500"),
            ("2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                ok(&format!("it.createdAt >= '{input}'")).1,
                vec![text(expected)]
            );
        }
        let placeholders = HashMap::from([(
            "t".to_string(),
            Literal::DateTime("2024-01-02T03:04:05.1".into()),
        )]);
        let fragment =
            translate_with("it.createdAt < ${t}", &placeholders).expect("datetime placeholder");
        assert_eq!(fragment.params, vec![text("2024-01-02T03:04:05.100")]);
        for bad in [
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00.",
            "yesterday",
        ] {
            let e = fail(&format!("it.createdAt == '{bad}'"));
            assert_eq!(e.position, 16, "{bad}");
            assert!(e.message.contains("invalid date-time"), "{}", e.message);
        }
    }

    #[test]
    fn empty_cond_matches_everything() {
        for cond in ["", "   ", "\n\t"] {
            assert_eq!(ok(cond), ("1=1".to_string(), vec![]));
        }
    }

    fn assert_error(cond: &str, position: usize, fragment: &str) {
        let e = fail(cond);
        assert_eq!(e.position, position, "{cond}: {e}");
        assert!(e.message.contains(fragment), "{cond}: {e}");
    }

    #[test]
    fn errors_report_position() {
        assert_error("it.name ==", 10, "unexpected end of input");
        assert_error("(it.bot", 7, "unexpected end of input: expected ')'");
        assert_error("(it.bot ]", 8, "expected ')' but found ']'");
        assert_error("it.name = 'x'", 8, "unknown token '='");
        assert_error("it.name == 'x' # 1", 15, "unknown token '#'");
        assert_error("it.name == 'abc", 11, "unterminated string");
        assert_error("it.bot && it.nope == 1", 10, "unknown field 'it.nope'");
        assert_error(
            "it.bot == 'yes'",
            10,
            "type mismatch: field 'it.bot' is Boolean but the value is a string",
        );
        assert_error("it.count == 1.5", 12, "type mismatch");
        assert_error(
            "it.count == it.name",
            9,
            "type mismatch: cannot compare Integer",
        );
        assert_error("it.count $like 'a'", 9, "$like needs a Text field");
        assert_error("it.name $like 5", 14, "string pattern");
        assert_error("it.name $in ['a', 1]", 18, "mixes string and number");
        assert_error("it.name $in ['a', null]", 18, "null is not allowed");
        assert_error("it.count < null", 9, "cannot be used with null");
        assert_error("it.bot > true", 7, "Boolean");
        assert_error("it.meta == 'x'", 11, "JSON field 'it.meta'");
        assert_error("it.name", 0, "only a Boolean field");
        assert_error("it.count == 1 == 2", 14, "cannot be chained");
        assert_error("it.name $ilike 'x'", 8, "unknown operator '$ilike'");
        assert_error("name == 'x'", 0, "'it.name'");
        assert_error("it == 1", 3, "'.' and a field name after 'it'");
        assert_error("1 == 1", 0, "at least one field");
        assert_error("it.bot it.bot", 7, "expected '&&', '||' or end of input");
        assert_error("it.count == 99999999999999999999", 12, "out of range");
        let e = fail("(it.bot && it.active");
        assert_eq!(
            e.to_string(),
            "cond: at position 20: unexpected end of input: expected ')'"
        );
    }

    #[test]
    fn placeholders_are_single_bound_values() {
        let hostile = [
            "'",
            "||",
            "' || 1==1 || '",
            r"\' || it.bot || \'",
            r"\\",
            "\"name\"; DROP TABLE x; --",
            "${other}",
        ];
        for value in hostile {
            let placeholders = HashMap::from([("q".to_string(), Literal::Text(value.to_string()))]);
            let fragment = translate_with("it.name == ${q}", &placeholders).expect(value);
            assert_eq!(fragment.sql, "(\"name\" = ?)");
            assert_eq!(fragment.params, vec![text(value)]);
            let fragment = translate_with("it.name $like ${q} || ${q} == it.title", &placeholders)
                .expect(value);
            assert_eq!(
                fragment.sql,
                "((\"name\" LIKE ? ESCAPE '\\') OR (\"title\" = ?))"
            );
            assert_eq!(fragment.params, vec![text(value), text(value)]);
        }
        let placeholders = HashMap::from([
            ("n".to_string(), Literal::Integer(3)),
            ("b".to_string(), Literal::Bool(true)),
            ("id".to_string(), Literal::Text("' OR 1=1".into())),
        ]);
        let fragment = translate_with(
            "it.count $in [${n}, 4] && it.bot == ${b} && it.$id != ${id}",
            &placeholders,
        )
        .expect("typed placeholders");
        assert_eq!(
            fragment.sql,
            "((\"count\" IN (?, ?)) AND (\"bot\" = ?) AND (\"id\" IS NOT NULL))"
        );
        assert_eq!(
            fragment.params,
            vec![
                SqlValue::Integer(3),
                SqlValue::Integer(4),
                SqlValue::Integer(1)
            ]
        );
        let e =
            translate_with("it.bot && it.name == ${missing}", &placeholders).expect_err("unknown");
        assert_eq!(
            (e.position, e.message.as_str()),
            (21, "unknown placeholder '${missing}'")
        );
        assert_eq!(
            translate_with("it.name == ${n", &placeholders)
                .expect_err("open")
                .position,
            11
        );
    }

    #[test]
    fn sort_criteria() {
        assert_eq!(
            translate_sort("it.createdAt", &TestColumns),
            Ok("\"createdAt\"".to_string())
        );
        assert_eq!(
            translate_sort(" createdAt ", &TestColumns),
            Ok("\"createdAt\"".to_string())
        );
        assert_eq!(
            translate_sort("it.source.userName", &TestColumns),
            Ok("\"source_userName\"".to_string())
        );
        assert_eq!(
            translate_sort("it.$id", &TestColumns),
            Ok("\"id\"".to_string())
        );
        let error_at = |crit: &str| translate_sort(crit, &TestColumns).expect_err(crit).position;
        assert_eq!(error_at("it.nope"), 0);
        assert_eq!(error_at(""), 0);
        assert_eq!(error_at("it"), 2);
        assert_eq!(error_at("it.name it.count"), 8);
        assert_eq!(error_at("it.name DESC"), 8);
        assert_eq!(error_at("it.name =="), 8);
        assert_eq!(error_at("${x}"), 0);
    }

    #[test]
    fn deep_or_long_input_is_rejected_or_handled_without_overflow() {
        assert!(
            fail(&"(".repeat(100_000))
                .message
                .contains("nested more than")
        );
        assert!(
            fail(&format!("{}it.bot", "!".repeat(100_000)))
                .message
                .contains("nested more than")
        );
        let nested = format!("{}it.bot{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(sql(&nested), "(\"bot\" = 1)");
        let long = vec!["it.bot"; MAX_TERMS].join(" || ");
        assert!(sql(&long).starts_with("(((\"bot\" = 1) OR"));
        let longer = vec!["it.bot"; MAX_TERMS + 1].join(" || ");
        assert!(fail(&longer).message.contains("more than 1000 comparisons"));
        let values = (0..=MAX_VALUES).map(|i| i.to_string()).collect::<Vec<_>>();
        let in_list = format!("it.count $in [{}]", values.join(", "));
        assert!(fail(&in_list).message.contains("at most 10000 values"));
    }

    #[test]
    fn never_panics_on_garbage() {
        let placeholders = HashMap::from([("p".to_string(), Literal::Text("x".into()))]);
        let run = |input: &str| {
            let _ = translate_with(input, &placeholders);
            let _ = translate_sort(input, &TestColumns);
        };
        let seeds = [
            "it.name == 'a\\'b' && (it.count >= -3 || !it.bot)",
            "it.name $like '%x' || it.$id $in ['1', '2'] && it.score < 1.5",
            "it.createdAt > '2024-01-02T03:04:05.123Z' && it.source.userName != ${p}",
            "it.meta == null || !(it.active) && 'x' == it.title",
        ];
        for seed in seeds {
            for (i, _) in seed.char_indices() {
                run(&seed[..i]);
                run(&seed[i..]);
            }
        }
        let alphabet: Vec<char> = "it.$name{}()[]'\\=!<>&|, 0123456789-_aZT:%é\u{0}\""
            .chars()
            .collect();
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        for _ in 0..5_000 {
            let len = next() % 48;
            let chosen: String = (0..len)
                .map(|_| alphabet[next() % alphabet.len()])
                .collect();
            run(&chosen);
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            run(&String::from_utf8_lossy(&bytes));
        }
    }
}
