//! The `cond` AST and its recursive-descent parser (depth and size bounded).

use super::lexer::{Tok, Token, describe, unexpected};
use super::{Literal, MAX_DEPTH, MAX_TERMS, MAX_VALUES, Result, error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(super) fn from_symbol(symbol: &str) -> Option<Self> {
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

    pub(super) fn sql(self) -> &'static str {
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
    pub(super) fn flipped(self) -> Self {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }

    pub(super) fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

#[derive(Debug)]
pub(super) struct Path {
    pub(super) segments: Vec<String>,
    /// Position of the path's first token, used for "unknown field" errors.
    pub(super) pos: usize,
}

impl Path {
    pub(super) fn display(&self) -> String {
        format!("it.{}", self.segments.join("."))
    }
}

#[derive(Debug)]
pub(super) enum Operand {
    Path(Path),
    Literal(Literal, usize),
}

/// `&&` and `||` chains are n-ary rather than nested binary nodes, so a long
/// chain cannot build a deep tree (and thus a deep recursion).
#[derive(Debug)]
pub(super) enum Expr {
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

pub(super) struct Parser {
    /// Always ends with `Tok::End`; `index` never moves past it.
    pub(super) tokens: Vec<Token>,
    pub(super) index: usize,
    pub(super) depth: usize,
    /// Comparisons parsed so far.
    pub(super) terms: usize,
}

impl Parser {
    pub(super) fn new(tokens: Vec<Token>) -> Self {
        Parser {
            tokens,
            index: 0,
            depth: 0,
            terms: 0,
        }
    }

    pub(super) fn peek(&self) -> &Token {
        &self.tokens[self.index]
    }

    pub(super) fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.index += 1;
        }
        token
    }

    /// Consumes the next token if it is `symbol`.
    pub(super) fn eat(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek().tok, Tok::Sym(s) if s == symbol);
        if found {
            self.advance();
        }
        found
    }

    pub(super) fn expect(&mut self, symbol: &str) -> Result<()> {
        match self.eat(symbol) {
            true => Ok(()),
            false => Err(unexpected(self.peek(), &format!("'{symbol}'"))),
        }
    }

    pub(super) fn expect_end(&self, expected: &str) -> Result<()> {
        match self.peek().tok {
            Tok::End => Ok(()),
            _ => Err(unexpected(self.peek(), expected)),
        }
    }

    /// Tracks nesting depth around `parse` to bound the recursion.
    pub(super) fn nested(
        &mut self,
        pos: usize,
        parse: fn(&mut Self) -> Result<Expr>,
    ) -> Result<Expr> {
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

    pub(super) fn parse_cond(&mut self) -> Result<Expr> {
        let expr = self.parse_or()?;
        self.expect_end("'&&', '||' or end of input")?;
        Ok(expr)
    }

    pub(super) fn parse_or(&mut self) -> Result<Expr> {
        let mut terms = vec![self.parse_and()?];
        while self.eat("||") {
            terms.push(self.parse_and()?);
        }
        Ok(collapse(terms, Expr::Or))
    }

    pub(super) fn parse_and(&mut self) -> Result<Expr> {
        let mut terms = vec![self.parse_not()?];
        while self.eat("&&") {
            terms.push(self.parse_not()?);
        }
        Ok(collapse(terms, Expr::And))
    }

    pub(super) fn parse_not(&mut self) -> Result<Expr> {
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

    pub(super) fn parse_comparison(&mut self) -> Result<Expr> {
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

    pub(super) fn parse_operand(&mut self) -> Result<Operand> {
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
    pub(super) fn parse_dotted(&mut self, mut segments: Vec<String>) -> Result<Vec<String>> {
        while self.eat(".") {
            let token = self.advance();
            match token.tok {
                Tok::Ident(segment) => segments.push(segment),
                _ => return Err(unexpected(&token, "a field name after '.'")),
            }
        }
        Ok(segments)
    }

    pub(super) fn parse_list(&mut self) -> Result<Vec<(Literal, usize)>> {
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
    pub(super) fn parse_sort_path(&mut self) -> Result<Path> {
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

pub(super) fn cmp_op(tok: &Tok) -> Option<CmpOp> {
    match tok {
        Tok::Sym(symbol) => CmpOp::from_symbol(symbol),
        _ => None,
    }
}

pub(super) fn collapse(mut terms: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if terms.len() == 1 {
        terms.swap_remove(0)
    } else {
        make(terms)
    }
}

pub(super) fn require_path(operand: Operand, operator: &str) -> Result<Path> {
    match operand {
        Operand::Path(path) => Ok(path),
        Operand::Literal(_, pos) => bail!(pos, "{operator} needs a field on its left"),
    }
}
