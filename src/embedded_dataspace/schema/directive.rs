//! The `@strExpr` directive: `${name}` placeholders in a `cond`, filled from GraphQL variables
//! as typed literals (never as `cond` source text).

use super::validation;
use crate::dataspace::direct::Placeholder;
use crate::embedded_dataspace::cond::Literal;
use crate::embedded_dataspace::direct::literal;
use crate::embedded_dataspace::scalars::{DateTime, Long};
use async_graphql::parser::types::Field;
use async_graphql::{Context, CustomDirective, Directive, Positioned, Value};
use async_graphql_value::Value as RawValue;
use std::collections::HashMap;

struct StrExpr;

impl CustomDirective for StrExpr {}

/// Substitutes `${name}` placeholders in a `cond` with the named variables as typed literals.
#[Directive(name = "strExpr", location = "Field")]
#[allow(clippy::too_many_arguments)]
pub(super) fn str_expr(
    string: Option<String>,
    strings: Option<Vec<String>>,
    long: Option<Long>,
    longs: Option<Vec<Long>>,
    date_time: Option<DateTime>,
    date_times: Option<Vec<DateTime>>,
) -> impl CustomDirective {
    let _ = (string, strings, long, longs, date_time, date_times);
    StrExpr
}

/// The placeholders a field's `@strExpr` defines: each argument names GraphQL variables
/// (`string: $name` defines `${name}`), and their values become typed literals.
pub(super) fn placeholders(ctx: &Context<'_>) -> async_graphql::Result<HashMap<String, Literal>> {
    let field: &Positioned<Field> = ctx.item;
    let raw = field
        .node
        .directives
        .iter()
        .find(|directive| directive.node.name.node == "strExpr");
    let Some(raw) = raw else {
        return Ok(HashMap::new());
    };
    let resolved = ctx.field().directives()?;
    let resolved = resolved
        .iter()
        .find(|directive| directive.name.node == "strExpr")
        .ok_or_else(|| validation("@strExpr could not be resolved"))?;
    let mut map = HashMap::new();
    for ((name, raw_value), (_, value)) in raw.node.arguments.iter().zip(resolved.arguments.iter())
    {
        let kind = name.node.as_str();
        let pairs: Vec<(&RawValue, &Value)> = match (&raw_value.node, &value.node) {
            (raw @ RawValue::Variable(_), value) => vec![(raw, value)],
            (RawValue::List(raws), Value::List(values)) => raws.iter().zip(values.iter()).collect(),
            _ => {
                return Err(validation(format!(
                    "@strExpr({kind}:) must name variables, e.g. {kind}: $name"
                )));
            }
        };
        for (raw, value) in pairs {
            let RawValue::Variable(variable) = raw else {
                return Err(validation(format!(
                    "@strExpr({kind}:) must name variables, e.g. {kind}: $name"
                )));
            };
            let literal = match (kind, value) {
                (_, Value::Null) => Literal::Null,
                ("string" | "strings", Value::String(text)) => Literal::Text(text.clone()),
                ("long" | "longs", Value::Number(number)) => number
                    .as_i64()
                    .map(Literal::Integer)
                    .unwrap_or(Literal::Null),
                ("long" | "longs", Value::String(text)) => text
                    .parse()
                    .map(Literal::Integer)
                    .map_err(|_| validation(format!("${variable} is not a Long")))?,
                ("dateTime" | "dateTimes", Value::String(text)) => {
                    literal(Placeholder::DateTime(text.clone()))
                        .ok_or_else(|| validation(format!("${variable} is not a _DateTime")))?
                }
                _ => {
                    return Err(validation(format!(
                        "${variable} does not match @strExpr({kind}:)"
                    )));
                }
            };
            map.insert(variable.to_string(), literal);
        }
    }
    Ok(map)
}
