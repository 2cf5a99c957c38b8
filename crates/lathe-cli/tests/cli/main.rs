//! The `lathe` binary as scripts and people use it: every command, the `--json` shapes, exit
//! codes and error messages. One test binary (see CONTRIBUTING.md).

// A test fails by panicking: unwrap/expect on a fixture is the clearest way to say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod azure;
mod bundle;
mod check;
mod dataset;
mod drift;
mod errors;
mod explain;
mod memory;
mod model;
mod monitor;
mod project;
mod runs;
mod s3;
mod serve;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// `lathe` with a clean environment: no LATHE_PROJECT leaking in from the developer's shell.
pub fn lathe() -> Command {
    let mut cmd = Command::cargo_bin("lathe").expect("the lathe binary");
    cmd.env_remove("LATHE_PROJECT");
    cmd
}

/// Runs `cmd ARGS --json` (a command with its own environment), expects success, returns
/// the parsed output.
pub fn run_json(mut cmd: assert_cmd::Command, args: &[&str]) -> Value {
    let out = cmd.args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "lathe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The error a failing command prints with `--json`: its code and message.
pub fn run_error(mut cmd: assert_cmd::Command, args: &[&str]) -> (String, String) {
    let out = cmd.args(args).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "lathe {args:?} should fail");
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}

/// That the project's one dataset version records `url` as its source, and an ETag.
pub fn assert_records_url_and_etag(db: &rusqlite::Connection, url: &str) {
    let (source, etag): (String, Option<String>) = db
        .query_row(
            "SELECT source_path, source_etag FROM dataset_versions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(source, url);
    assert!(etag.is_some_and(|e| !e.is_empty()), "an ETag is recorded");
}

/// Runs `lathe ARGS --json`, expects success, returns the parsed output.
pub fn json(args: &[&str]) -> Value {
    let out = lathe()
        .args(args)
        .arg("--json")
        .output()
        .expect("run lathe");
    assert!(
        out.status.success(),
        "lathe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("lathe {args:?} printed invalid JSON ({e})"))
}

pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<_> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The repository root.
pub fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository, as an argument.
pub fn file(relative: &str) -> String {
    path_str(&repo().join(relative)).to_owned()
}

/// A fresh demo project (datasets, runs and registered models) in a temp folder.
pub fn demo() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    json(&["demo", path_str(&dir)]);
    let dir = path_str(&dir).to_owned();
    (tmp, dir)
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// Runs `lathe ARGS --json`, expects failure with `code`, and a message holding every needle.
pub fn check(args: &[&str], code: &str, needles: &[&str]) {
    let out = lathe().args(args).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "lathe {args:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let body: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(message), "stderr and JSON agree: {stderr}");
    for needle in needles {
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
}
