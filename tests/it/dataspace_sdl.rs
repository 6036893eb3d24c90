//! The local DataSpace serves exactly `schema.graphql`: both are parsed and rendered in one
//! canonical form (definitions sorted by name, descriptions dropped), then compared.

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};
use std::collections::BTreeMap;

fn canonical(sdl: &str) -> BTreeMap<String, String> {
    let document: ServiceDocument = parse_schema(sdl).expect("SDL parses");
    let mut definitions = BTreeMap::new();
    for definition in document.definitions {
        match definition {
            TypeSystemDefinition::Schema(schema) => {
                let schema = schema.node;
                let name = |n: &Option<async_graphql::Positioned<async_graphql::Name>>| {
                    n.as_ref().map(|n| n.node.to_string()).unwrap_or_default()
                };
                definitions.insert(
                    "schema".into(),
                    format!(
                        "query:{} mutation:{} subscription:{}",
                        name(&schema.query),
                        name(&schema.mutation),
                        name(&schema.subscription)
                    ),
                );
            }
            TypeSystemDefinition::Directive(directive) => {
                let directive = directive.node;
                let mut arguments: Vec<String> = directive
                    .arguments
                    .iter()
                    .map(|a| format!("{}:{}", a.node.name.node, a.node.ty.node))
                    .collect();
                arguments.sort();
                let mut locations: Vec<String> = directive
                    .locations
                    .iter()
                    .map(|l| format!("{:?}", l.node))
                    .collect();
                locations.sort();
                definitions.insert(
                    format!("@{}", directive.name.node),
                    format!("({}) on {}", arguments.join(", "), locations.join("|")),
                );
            }
            TypeSystemDefinition::Type(ty) => {
                let ty = ty.node;
                let body = match ty.kind {
                    TypeKind::Scalar => "scalar".to_owned(),
                    TypeKind::Enum(e) => {
                        let mut values: Vec<String> = e
                            .values
                            .iter()
                            .map(|v| v.node.value.node.to_string())
                            .collect();
                        values.sort();
                        format!("enum {}", values.join(" "))
                    }
                    TypeKind::Object(object) => {
                        let mut fields: Vec<String> = object
                            .fields
                            .iter()
                            .map(|f| {
                                let f = &f.node;
                                let mut arguments: Vec<String> = f
                                    .arguments
                                    .iter()
                                    .map(|a| {
                                        let default = a
                                            .node
                                            .default_value
                                            .as_ref()
                                            .map(|d| format!(" = {}", d.node))
                                            .unwrap_or_default();
                                        format!("{}:{}{default}", a.node.name.node, a.node.ty.node)
                                    })
                                    .collect();
                                arguments.sort();
                                format!("{}({}):{}", f.name.node, arguments.join(", "), f.ty.node)
                            })
                            .collect();
                        fields.sort();
                        format!("type {}", fields.join("; "))
                    }
                    TypeKind::InputObject(input) => {
                        let mut fields: Vec<String> = input
                            .fields
                            .iter()
                            .map(|f| {
                                let default = f
                                    .node
                                    .default_value
                                    .as_ref()
                                    .map(|d| format!(" = {}", d.node))
                                    .unwrap_or_default();
                                format!("{}:{}{default}", f.node.name.node, f.node.ty.node)
                            })
                            .collect();
                        fields.sort();
                        format!("input {}", fields.join("; "))
                    }
                    other => format!("{other:?}"),
                };
                definitions.insert(ty.name.node.to_string(), body);
            }
        }
    }
    definitions
}

#[test]
fn served_sdl_equals_schema_graphql() {
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let served = logbot_gateway::embedded_dataspace::served_sdl();
    let (expected, actual) = (canonical(&file), canonical(&served));
    for (name, body) in &expected {
        assert_eq!(
            actual.get(name),
            Some(body),
            "{name} differs between schema.graphql and the served SDL"
        );
    }
    const BUILT_IN: [&str; 5] = ["@include", "@skip", "@deprecated", "@specifiedBy", "@oneOf"];
    for name in actual
        .keys()
        .filter(|name| !BUILT_IN.contains(&name.as_str()))
    {
        assert!(
            expected.contains_key(name),
            "the server serves {name}, which schema.graphql lacks"
        );
    }
}
