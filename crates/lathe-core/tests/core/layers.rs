//! The core's layers hold: each module of `lathe-core` uses only modules of lower layers (and
//! itself), as the table under "Layers" in ARCHITECTURE.md says; every module is placed in it;
//! and inside a module, no two of its files import each other, directly or around a circle (a
//! name the module's `mod.rs` re-exports counts as a use of the file it comes from).
//!
//! The table is read from ARCHITECTURE.md itself, so the document and this check cannot drift
//! apart: to move a module, change the table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `layer N: a, b, c` lines of the ```layers block in ARCHITECTURE.md: module → layer.
fn layers() -> BTreeMap<String, u32> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let block = text
        .split("```layers")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```layers block");
    let mut out = BTreeMap::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (head, modules) = line.split_once(':').expect("`layer N: modules`");
        let n: u32 = head
            .trim()
            .strip_prefix("layer ")
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("not `layer N: ...`: {line}"));
        for m in modules.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            assert!(out.insert(m.to_owned(), n).is_none(), "{m} placed twice");
        }
    }
    out
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The source without comments (a doc comment may name any module).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers that follow `prefix` in `text` (`crate::` → `drift`, `numeric`, ...),
/// including inside `use crate::{a, b::c}` groups.
fn after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices(prefix) {
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            for item in inner.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// The top-level module a file of `src/` belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_owned();
    (name != "lib").then_some(name)
}

#[test]
fn modules_use_only_lower_layers() {
    let layers = layers();
    let src = src();
    let modules: BTreeSet<String> = files(&src)
        .iter()
        .filter_map(|f| module_of(&src, f))
        .collect();
    let unplaced: Vec<&String> = modules
        .iter()
        .filter(|m| !layers.contains_key(*m))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules not placed in ARCHITECTURE.md's layers: {unplaced:?}"
    );
    let mut wrong = Vec::new();
    for file in files(&src) {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let own = layers[&module];
        for used in after(&code(&file), "crate::") {
            let Some(&layer) = layers.get(&used) else {
                continue; // `crate::Error`, `crate::Result`, ... (re-exports of layer 0)
            };
            if used != module && layer >= own {
                wrong.push(format!(
                    "{} (layer {own}) uses crate::{used} (layer {layer})",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_file_circles_inside_a_module() {
    let src = src();
    let mut circles = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let module = dir.file_name().unwrap().to_string_lossy().into_owned();
        // The module's files but its facade (mod.rs), by file name.
        let siblings: BTreeMap<String, PathBuf> = files(&dir)
            .into_iter()
            .filter(|f| f.parent() == Some(dir.as_path()))
            .filter_map(|f| {
                let stem = f.file_stem()?.to_string_lossy().into_owned();
                (stem != "mod").then_some((stem, f))
            })
            .collect();
        // What the facade re-exports, by the file it comes from: `super::ColumnDrift` is a use
        // of `column.rs` when mod.rs says `pub use column::ColumnDrift`.
        let facade = code(&dir.join("mod.rs"));
        let mut reexported: BTreeMap<String, String> = BTreeMap::new();
        for sibling in siblings.keys() {
            for name in after(&facade, &format!("use {sibling}::")) {
                reexported.insert(name, sibling.clone());
            }
        }
        let edges: BTreeMap<&String, BTreeSet<String>> = siblings
            .iter()
            .map(|(name, path)| {
                let text = code(path);
                let mut named = after(&text, "super::");
                named.extend(after(&text, &format!("crate::{module}::")));
                let mut uses: BTreeSet<String> = named
                    .iter()
                    .map(|n| reexported.get(n).cloned().unwrap_or_else(|| n.clone()))
                    .collect();
                uses.retain(|u| u != name && siblings.contains_key(u));
                (name, uses)
            })
            .collect();
        // A depth-first search for a path back to where it started.
        for start in siblings.keys() {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((at, path)) = stack.pop() {
                for next in &edges[&at] {
                    if next == start {
                        let mut circle = path.clone();
                        circle.push(start.clone());
                        circles.push(format!("{module}/: {}.rs", circle.join(".rs → ")));
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "files that import each other:\n{}",
        circles.join("\n")
    );
}
