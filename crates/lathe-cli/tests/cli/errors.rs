//! Each error: exit code 1 (2 for usage), the message on stderr, and with --json the
//! `{"error": {"code", "message"}}` object on stdout. None changes anything.

use std::path::Path;

use rusqlite::Connection;

use crate::{check, lathe, path_str};

fn init(dir: &Path) {
    lathe().args(["init", path_str(dir)]).assert().success();
}

#[test]
fn no_project_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let out = lathe()
        .current_dir(tmp.path())
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"]["code"], "no_project_found");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("--project")
            && message.contains("LATHE_PROJECT")
            && message.contains("lathe init"),
        "{message}"
    );
}

#[test]
fn a_folder_that_is_not_a_project() {
    let tmp = tempfile::tempdir().unwrap();
    check(
        &["info", "--project", path_str(tmp.path())],
        "not_a_project",
        &["not a Lathe project", path_str(tmp.path())],
    );
    check(
        &["log", "--project", path_str(tmp.path())],
        "not_a_project",
        &["not a Lathe project"],
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing was created"
    );
}

#[test]
fn init_over_an_existing_project() {
    let tmp = tempfile::tempdir().unwrap();
    init(tmp.path());
    let before = std::fs::read(tmp.path().join("lathe.sqlite")).unwrap();
    check(
        &["init", path_str(tmp.path())],
        "already_exists",
        &["already exists", "open it instead"],
    );
    check(
        &["demo", path_str(tmp.path())],
        "already_exists",
        &["already exists"],
    );
    assert_eq!(
        std::fs::read(tmp.path().join("lathe.sqlite")).unwrap(),
        before
    );
}

#[test]
fn a_project_from_a_newer_lathe() {
    let tmp = tempfile::tempdir().unwrap();
    init(tmp.path());
    Connection::open(tmp.path().join("lathe.sqlite"))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let supported = format!(
        "reads up to {}",
        lathe_core::project::migrations::latest_version()
    );
    check(
        &["info", "--project", path_str(tmp.path())],
        "schema_too_new",
        &[
            "newer Lathe",
            "schema version 99",
            &supported,
            "upgrade Lathe",
        ],
    );
}

#[test]
fn a_database_that_is_not_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("lathe.sqlite"),
        [
            0x89, b'P', b'N', b'G', 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
        ],
    )
    .unwrap();
    check(
        &["info", "--project", path_str(tmp.path())],
        "corrupt",
        &["corrupt or not a SQLite file", "backup"],
    );
}

#[test]
fn a_sqlite_file_of_another_application() {
    let tmp = tempfile::tempdir().unwrap();
    Connection::open(tmp.path().join("lathe.sqlite"))
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    check(
        &["info", "--project", path_str(tmp.path())],
        "foreign_database",
        &["another application"],
    );
}

#[test]
fn a_project_locked_by_another_process() {
    // A project that needs migrating (an interrupted create: an empty database file) while
    // another process holds the write lock: the migration cannot start and must say why.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("lathe.sqlite"), b"").unwrap();
    let holder = Connection::open(tmp.path().join("lathe.sqlite")).unwrap();
    holder
        .execute_batch("BEGIN EXCLUSIVE; CREATE TABLE lock_holder (x);")
        .unwrap();
    check(
        &["info", "--project", path_str(tmp.path())],
        "locked",
        &["locked by another process", "try again"],
    );
    holder.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn an_unwritable_location() {
    // /sys refuses new folders to every user, root included.
    check(
        &["init", "/sys/lathe-test-project"],
        "unwritable",
        &["cannot write", "permissions", "/sys/lathe-test-project"],
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["init"],
        &["log", "--limit", "many"],
        &[],
    ] {
        let out = lathe().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "lathe {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
}
