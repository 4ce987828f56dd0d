//! Architecture checks that run with `cargo test`: the module graph of `provider/src` has no
//! cycles, and `protocol/` does no IO.
//!
//! Every `.rs` file is a node; a `crate::a::b::c` path (in `use` lines and in code) is an edge
//! to the longest prefix that names a file (`a/b.rs` or `a/b/mod.rs`). Items under
//! `#[cfg(test)]` are skipped: tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source files, keyed by module path (`http::token`), with their text minus test code.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter(|file| !file.ends_with("main.rs") && !file.ends_with("architecture.rs"))
        .map(|file| {
            let relative = file.strip_prefix(&root).expect("under src");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if parts
                .last()
                .is_some_and(|last| last == "mod" || last == "lib")
            {
                parts.pop();
            }
            let text = std::fs::read_to_string(&file).expect("readable source");
            (parts.join("::"), without_tests(&text))
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// The text without items marked `#[cfg(test)]` (skipped by brace counting from the item's
/// first `{` or up to its `;`), and without comments.
fn without_tests(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let mut depth = 0i32;
            let mut opened = false;
            for item_line in lines.by_ref() {
                depth += item_line.matches('{').count() as i32;
                depth -= item_line.matches('}').count() as i32;
                opened |= item_line.contains('{');
                if (opened && depth <= 0) || (!opened && item_line.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        let code = line.split("//").next().unwrap_or_default();
        kept.push_str(code);
        kept.push('\n');
    }
    kept
}

/// The modules `text` refers to through `crate::` paths (including grouped `use` trees).
fn references(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (index, _) in text.match_indices("crate::") {
        let rest = &text[index + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let mut longest = None;
        for end in 1..=segments.len() {
            let candidate = segments[..end].join("::");
            if modules.contains(&candidate) {
                longest = Some(candidate);
            }
        }
        if let Some(module) = longest {
            // `use crate::http::{a, b::c}`: each member of the group may be a module too.
            let after = &rest[path.len()..];
            if path.ends_with("::") && after.starts_with('{') {
                let group: String = after[1..].chars().take_while(|c| *c != '}').collect();
                for member in group.split(',') {
                    let member = member.trim().split("::").next().unwrap_or_default();
                    let nested = format!("{module}::{member}");
                    if modules.contains(&nested) {
                        found.insert(nested);
                    }
                }
            }
            found.insert(module);
        }
    }
    found
}

#[test]
fn the_module_graph_has_no_cycles() {
    let modules = modules();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let edges: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(name, text)| {
            let mut targets = references(text, &names);
            targets.remove(name);
            // A parent module declares its children (`mod x;`); that is not a use.
            targets.retain(|target| !target.starts_with(&format!("{name}::")) || name.is_empty());
            (name.as_str(), targets)
        })
        .collect();
    // Depth-first search with colours; report the first cycle found.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<&str, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(node, 1);
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| *n == next).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[start..].iter().map(|n| n.to_string()).collect();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next.as_str(), edges, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node, 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(node, &edges, &mut state, &mut stack) {
                panic!("module cycle in provider/src: {}", cycle.join(" -> "));
            }
        }
    }
    assert!(
        modules.len() > 40,
        "found the source files ({})",
        modules.len()
    );
}

#[test]
fn the_protocol_core_does_no_io() {
    for (name, text) in modules() {
        if !name.starts_with("protocol") {
            continue;
        }
        for forbidden in [
            "axum::",
            "sqlx::",
            "askama",
            "reqwest::",
            "tokio::",
            "std::fs",
            "TcpStream",
            "UdpSocket",
            "SystemTime",
            "rand::",
        ] {
            assert!(
                !text.contains(forbidden),
                "{name} uses {forbidden}: protocol/ does no IO, reads no clock and draws no random numbers"
            );
        }
    }
}

#[test]
fn only_the_http_layer_and_the_assembly_know_axum() {
    for (name, text) in modules() {
        let allowed =
            name.starts_with("http") || ["app", "state", "serve", "lib"].contains(&name.as_str());
        if !allowed {
            assert!(
                !text.contains("axum::"),
                "{name} uses axum outside http/ and app.rs"
            );
        }
    }
}

#[test]
fn the_checker_sees_cycles_and_group_imports() {
    let names: BTreeSet<String> = ["http", "http::token", "http::error", "store"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let text = "use crate::http::{error::ApiError, token};\nuse crate::store::Stores;\n";
    let found = references(text, &names);
    assert!(
        found.contains("http::error") && found.contains("http::token") && found.contains("store")
    );
    let stripped = without_tests(
        "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\nuse crate::c;\n",
    );
    assert!(
        stripped.contains("crate::a")
            && stripped.contains("crate::c")
            && !stripped.contains("crate::b")
    );
}
