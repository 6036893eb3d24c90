//! The fragments of a parsed document, each expanded once: cycles refused, and what every
//! selection set amounts to with its spreads inlined (root fields, introspection, selections)
//! computed from the fragments' memoized facts, so a spread fan-out costs its size, not its
//! expansion.

use super::{DocumentCaps, Refusal};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use std::collections::HashMap;

/// What a selection set amounts to with every fragment spread inlined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// Fields at this level (through inline fragments and spreads, not inside fields).
    pub root_fields: usize,
    /// `__schema` or `__type` among them.
    pub introspection: bool,
    /// Selections at every level (saturating).
    pub selections: usize,
}

/// The fragments' facts, for walking the document's selection sets.
pub struct Expansion<'a> {
    fragments: HashMap<&'a str, Facts>,
}

impl Expansion<'_> {
    /// The facts of `set`; its spreads are looked up, not walked.
    pub fn facts(&self, set: &SelectionSet) -> Facts {
        let mut facts = Facts::default();
        for item in &set.items {
            let (inner, is_field) = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    facts.introspection |= matches!(name, "__schema" | "__type");
                    let nested = self.facts(&field.node.selection_set.node);
                    (
                        Facts {
                            root_fields: 0,
                            introspection: false,
                            selections: nested.selections,
                        },
                        true,
                    )
                }
                Selection::InlineFragment(fragment) => {
                    (self.facts(&fragment.node.selection_set.node), false)
                }
                Selection::FragmentSpread(spread) => (
                    self.fragments
                        .get(spread.node.fragment_name.node.as_str())
                        .copied()
                        .unwrap_or_default(),
                    false,
                ),
            };
            facts.root_fields = facts
                .root_fields
                .saturating_add(inner.root_fields)
                .saturating_add(usize::from(is_field));
            facts.introspection |= inner.introspection;
            facts.selections = facts
                .selections
                .saturating_add(1)
                .saturating_add(inner.selections);
        }
        facts
    }
}

/// Expands the fragments of `document` once each (in dependency order), refusing a cycle and
/// a document whose operations and fragments, inlined, exceed `caps.selections`.
pub fn expand<'a>(
    document: &'a ExecutableDocument,
    caps: &DocumentCaps,
) -> Result<Expansion<'a>, Refusal> {
    let order = dependency_order(document)?;
    let mut expansion = Expansion {
        fragments: HashMap::with_capacity(order.len()),
    };
    let mut total = 0usize;
    let mut add = |facts: Facts| {
        total = total.saturating_add(facts.selections);
        if total > caps.selections {
            Err(Refusal::Limit(format!(
                "the document has more than {} selections with its fragments inlined; the \
                 limit is {}",
                caps.selections, caps.selections
            )))
        } else {
            Ok(())
        }
    };
    for name in order {
        let facts = expansion.facts(&document.fragments[name].node.selection_set.node);
        add(facts)?;
        expansion.fragments.insert(name, facts);
    }
    for (_, operation) in document.operations.iter() {
        add(expansion.facts(&operation.node.selection_set.node))?;
    }
    Ok(expansion)
}

/// The fragment names, each after every fragment it spreads (an iterative depth-first walk:
/// a chain of spreads is as long as the document allows).
fn dependency_order(document: &ExecutableDocument) -> Result<Vec<&str>, Refusal> {
    let spreads: HashMap<&str, Vec<&str>> = document
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut names = Vec::new();
            spreads_in(&fragment.node.selection_set.node, &mut names);
            names.retain(|name| document.fragments.contains_key(*name));
            (name.as_str(), names)
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    let mut state: HashMap<&str, State> = HashMap::with_capacity(spreads.len());
    let mut order = Vec::with_capacity(spreads.len());
    let mut roots: Vec<&str> = spreads.keys().copied().collect();
    roots.sort_unstable();
    for root in roots {
        if state.contains_key(root) {
            continue;
        }
        // (fragment, index of the next spread to follow)
        let mut path: Vec<(&str, usize)> = vec![(root, 0)];
        state.insert(root, State::Open);
        while let Some(&mut (name, ref mut next)) = path.last_mut() {
            match spreads[name].get(*next) {
                Some(&child) => {
                    *next += 1;
                    match state.get(child) {
                        Some(State::Done) => {}
                        Some(State::Open) => {
                            let from = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                            let mut cycle: Vec<&str> =
                                path[from..].iter().map(|(n, _)| *n).collect();
                            cycle.push(child);
                            return Err(Refusal::Cycle(format!(
                                "fragment \"{child}\" spreads itself ({})",
                                cycle.join(" -> ")
                            )));
                        }
                        None => {
                            state.insert(child, State::Open);
                            path.push((child, 0));
                        }
                    }
                }
                None => {
                    state.insert(name, State::Done);
                    order.push(name);
                    path.pop();
                }
            }
        }
    }
    Ok(order)
}

/// The spreads anywhere in `set` (its nesting is bounded by the scan).
fn spreads_in<'a>(set: &'a SelectionSet, into: &mut Vec<&'a str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => spreads_in(&field.node.selection_set.node, into),
            Selection::InlineFragment(fragment) => {
                spreads_in(&fragment.node.selection_set.node, into)
            }
            Selection::FragmentSpread(spread) => into.push(spread.node.fragment_name.node.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    const CAPS: DocumentCaps = DocumentCaps {
        nesting: 64,
        tokens: 100_000,
        operations: 10,
        fragments: 100,
        variables: 10,
        selections: 1000,
    };

    fn bomb(levels: usize) -> String {
        let mut text = String::from("query { ...F0 }");
        for level in 0..levels {
            text.push_str(&format!(
                " fragment F{level} on Query {{ {} }}",
                format!("...F{} ", level + 1).repeat(4)
            ));
        }
        text.push_str(&format!(" fragment F{levels} on Query {{ a }}"));
        text
    }

    #[test]
    fn a_fan_out_is_counted_without_being_walked() {
        let small = parse_query(bomb(3)).unwrap();
        let expansion = expand(&small, &CAPS).unwrap();
        let (_, operation) = small.operations.iter().next().unwrap();
        let facts = expansion.facts(&operation.node.selection_set.node);
        assert_eq!(facts.root_fields, 64);
        let huge = parse_query(bomb(40)).unwrap();
        let started = std::time::Instant::now();
        let refused = expand(&huge, &CAPS).err().unwrap();
        assert!(refused.message().contains("1000 selections"), "{refused:?}");
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
    }

    #[test]
    fn cycles_are_refused_with_their_path() {
        let document =
            parse_query("{ ...A } fragment A on Q { b { ...B } } fragment B on Q { ...A }")
                .unwrap();
        let refused = expand(&document, &CAPS).err().unwrap();
        assert!(matches!(refused, Refusal::Cycle(_)));
        assert!(refused.message().contains("A -> B -> A"), "{refused:?}");
        let document = parse_query("{ ...A } fragment A on Q { ...A }").unwrap();
        assert!(matches!(expand(&document, &CAPS), Err(Refusal::Cycle(_))));
    }

    #[test]
    fn introspection_is_found_through_spreads() {
        let document = parse_query(
            "{ ... on Query { ...A } } fragment A on Query { __schema { types { name } } }",
        )
        .unwrap();
        let expansion = expand(&document, &CAPS).unwrap();
        let (_, operation) = document.operations.iter().next().unwrap();
        let facts = expansion.facts(&operation.node.selection_set.node);
        assert!(facts.introspection);
        assert_eq!(facts.root_fields, 1);
    }
}
