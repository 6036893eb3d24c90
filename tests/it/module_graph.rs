//! The import graph between the crate's top-level modules (`src/<module>.rs` or
//! `src/<module>/`) has no cycle, and only the command line imports the wiring (`server`).
//! Read from the `crate::` paths in the sources, comments left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module -> (module it names -> the files that name it).
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules named by `crate::` paths in `line` (`crate::a::b`, `crate::{a, b::c}`).
fn named_modules(line: &str) -> Vec<String> {
    let word = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        let rest = &line[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let (mut depth, mut start) = (0usize, 0usize);
                for (index, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            names.push(word(&group[start..index]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            names.push(word(&group[start..index]));
                            start = index + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => names.push(word(rest)),
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let module = relative
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            for named in named_modules(code) {
                if named != module {
                    graph
                        .entry(module.clone())
                        .or_default()
                        .entry(named)
                        .or_default()
                        .insert(relative.clone());
                }
            }
        }
    }
    graph
}

/// A cycle through `from`, as the modules on it, if there is one.
fn cycle(graph: &Graph, from: &str) -> Option<Vec<String>> {
    fn walk(graph: &Graph, at: &str, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> bool {
        if let Some(start) = path.iter().position(|seen| seen == at) {
            path.drain(..start);
            path.push(at.to_owned());
            return true;
        }
        if !done.insert(at.to_owned()) {
            return false;
        }
        path.push(at.to_owned());
        for next in graph.get(at).into_iter().flat_map(BTreeMap::keys) {
            if walk(graph, next, path, done) {
                return true;
            }
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    walk(graph, from, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let graph = graph();
    assert!(graph.contains_key("server"), "the sources were read");
    for module in graph.keys() {
        if let Some(cycle) = cycle(&graph, module) {
            let edges: Vec<String> = cycle
                .windows(2)
                .map(|pair| {
                    format!(
                        "{} -> {} in {:?}",
                        pair[0], pair[1], graph[&pair[0]][&pair[1]]
                    )
                })
                .collect();
            panic!("import cycle {}:\n{}", cycle.join(" -> "), edges.join("\n"));
        }
    }
}

#[test]
fn only_the_command_line_imports_the_wiring() {
    let graph = graph();
    let importers: Vec<&String> = graph
        .iter()
        .filter(|(module, named)| *module != "cli" && named.contains_key("server"))
        .map(|(module, _)| module)
        .collect();
    assert!(
        importers.is_empty(),
        "these import crate::server: {importers:?}"
    );
}

#[test]
fn grouped_and_nested_paths_are_read() {
    assert_eq!(
        named_modules("use crate::{api::{self, X}, config::Settings}; crate::bus::Bus::new()"),
        ["api", "config", "bus"]
    );
}

#[test]
fn a_cycle_is_found() {
    let mut graph = Graph::new();
    for (from, to) in [
        ("server", "compat"),
        ("compat", "service"),
        ("compat", "server"),
    ] {
        graph
            .entry(from.into())
            .or_default()
            .entry(to.into())
            .or_default();
    }
    assert_eq!(
        cycle(&graph, "server").unwrap(),
        ["server", "compat", "server"]
    );
    assert_eq!(cycle(&graph, "service"), None);
}
