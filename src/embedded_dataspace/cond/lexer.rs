//! Tokens of the `cond` language: `${name}` placeholders become literal tokens here, so their
//! contents are never lexed as source text.

use super::{CondError, Literal, Result, error};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// Identifiers and keywords (`it`, `true`, `$like`, ...). The parser reads
    /// keywords by position, so `it.null` is still a valid path.
    Ident(String),
    Lit(Literal),
    /// An operator or punctuation symbol from [`SYMBOLS`].
    Sym(&'static str),
    End,
}

/// Operators and punctuation; two-character symbols come first so they win.
pub(super) const SYMBOLS: [&str; 15] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", ".", ",", "(", ")", "[", "]",
];

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Character offset of the token's first character.
    pub(super) pos: usize,
}

pub(super) fn describe(tok: &Tok) -> String {
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
pub(super) fn unexpected(token: &Token, expected: &str) -> CondError {
    let message = match token.tok {
        Tok::End => format!("unexpected end of input: expected {expected}"),
        _ => format!("expected {expected} but found {}", describe(&token.tok)),
    };
    error(token.pos, message)
}

/// Splits `src` into tokens, substituting `${name}` placeholders by literal
/// tokens so that their contents are never lexed as source text.
pub(super) fn tokenize(src: &str, placeholders: &HashMap<String, Literal>) -> Result<Vec<Token>> {
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
pub(super) fn lex_string(rest: &[char], pos: usize) -> Result<(String, usize)> {
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

pub(super) fn lex_number(rest: &[char], pos: usize) -> Result<(Tok, usize)> {
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

pub(super) fn lex_placeholder(
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
