//! The module graph: every `crate::…` path in `src/` is an edge between
//! two top-level modules, and each edge must be one ARCHITECTURE.md allows
//! (its `module-edges` block). The allowed graph itself has no cycle, so
//! neither has the code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The allowed edges: the lines `module -> a, b, c` between the markers.
fn allowed(architecture: &str) -> Graph {
    let start = architecture
        .find("<!-- module-edges -->")
        .expect("ARCHITECTURE.md has a `<!-- module-edges -->` block");
    let end = architecture[start..]
        .find("<!-- /module-edges -->")
        .expect("the module-edges block is closed")
        + start;
    let mut graph = Graph::new();
    for line in architecture[start..end].lines() {
        let Some((from, to)) = line.split_once("->") else {
            continue;
        };
        let targets = to
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        graph.insert(from.trim().to_string(), targets);
    }
    graph
}

/// The top-level modules one piece of Rust source names through `crate::`.
fn used_modules(source: &str) -> BTreeSet<String> {
    // Comments out (a doc comment may name a module it does not use).
    let code: String = source
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut used = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        // Not part of a longer identifier (`my_crate::`).
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}, e}`: the first name of each item.
            let mut depth = 1;
            let mut item_start = true;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        item_start = true;
                        continue;
                    }
                    _ => {}
                }
                if depth == 1 && item_start {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                    } else if !name.is_empty() {
                        used.insert(std::mem::take(&mut name));
                        item_start = false;
                    }
                }
            }
            if !name.is_empty() {
                used.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

/// Every edge in `src/`: (from, to) → the files that make it.
fn actual(src: &Path) -> BTreeMap<(String, String), Vec<String>> {
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let first = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .to_string();
            let module = first.trim_end_matches(".rs").to_string();
            // The crate roots: `lib.rs` declares, `main.rs` is the binary.
            if module == "lib" || module == "main" {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for used in used_modules(&source) {
                if used != module {
                    edges
                        .entry((module.clone(), used))
                        .or_default()
                        .push(relative.display().to_string());
                }
            }
        }
    }
    edges
}

/// A cycle in `graph`, if it has one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut c = path[i..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// What is wrong with `edges` against `allowed`: forbidden edges, and
/// modules the block does not list.
fn violations(allowed: &Graph, edges: &BTreeMap<(String, String), Vec<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    for ((from, to), files) in edges {
        match allowed.get(from) {
            None => problems.push(format!(
                "module `{from}` is not in ARCHITECTURE.md's module-edges block"
            )),
            Some(targets) if !targets.contains(to) => problems.push(format!(
                "`{from}` uses `{to}`, which ARCHITECTURE.md does not allow (in {})",
                files.join(", ")
            )),
            Some(_) => {}
        }
    }
    problems
}

#[test]
fn the_module_graph_has_only_the_edges_architecture_md_allows() {
    let architecture = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap();
    let allowed = allowed(&architecture);
    assert!(
        allowed.len() > 10,
        "the module-edges block lists the modules"
    );
    if let Some(c) = cycle(&allowed) {
        panic!("the allowed module graph has a cycle: {}", c.join(" → "));
    }
    let edges = actual(&Path::new(ROOT).join("src"));
    assert!(
        edges.contains_key(&("service".to_string(), "store".to_string())),
        "the scan finds edges"
    );
    let problems = violations(&allowed, &edges);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_forbidden_edge_is_reported() {
    let architecture = "<!-- module-edges -->\n\
        domain ->\n\
        store -> domain\n\
        slack -> domain\n\
        <!-- /module-edges -->";
    let allowed = allowed(architecture);
    let mut edges = BTreeMap::new();
    for (from, source) in [
        ("store", "use crate::domain::Incident;"),
        // Grouped, nested and inline paths; a comment names nothing.
        (
            "slack",
            "use crate::{domain::{UserId, ChannelId}, store};\n// crate::jobs\nlet x = crate::app::Ctx::new();",
        ),
    ] {
        for used in used_modules(source) {
            edges
                .entry((from.to_string(), used))
                .or_insert_with(Vec::new)
                .push(format!("{from}.rs"));
        }
    }
    let problems = violations(&allowed, &edges);
    assert_eq!(
        problems,
        vec![
            "`slack` uses `app`, which ARCHITECTURE.md does not allow (in slack.rs)".to_string(),
            "`slack` uses `store`, which ARCHITECTURE.md does not allow (in slack.rs)".to_string(),
        ]
    );
    let mut cyclic = allowed.clone();
    cyclic.insert("domain".into(), ["store".to_string()].into());
    assert_eq!(
        cycle(&cyclic),
        Some(vec!["domain".into(), "store".into(), "domain".into()])
    );
}
