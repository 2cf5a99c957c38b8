//! What Lathe's test suites share: the real servers they start on 127.0.0.1, and a snapshot of
//! a folder's files. A dev-dependency only; nothing here ships.

// A test fails by panicking: a server that does not start is the clearest failure there is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod mlflow;
pub mod s3;
pub mod spark;

use std::path::{Path, PathBuf};

/// Every file below `dir`, relative, with its size, sorted: to prove that a failed operation
/// changed nothing in a project folder.
pub fn tree(dir: &Path) -> Vec<(PathBuf, u64)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((
                    path.strip_prefix(root).expect("below root").to_path_buf(),
                    len,
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
