use std::time::Duration;

use lathe_core::project::{DB_FILE, OpenOptions};
use lathe_core::{Error, Project};
use rusqlite::Connection;

use crate::support::{Unwritable, db_bytes, new_project, tree};

#[test]
fn create_then_reopen_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    let info = {
        let project = Project::create(&root, Some("Churn model"), OpenOptions::default()).unwrap();
        project.info().unwrap()
    };
    assert_eq!(info.name, "Churn model");
    assert_eq!(
        info.schema_version,
        lathe_core::project::migrations::latest_version()
    );
    assert_eq!(info.counts["audit_entries"], 1);
    assert_eq!(info.counts["objects"], 0);
    assert!(root.join(DB_FILE).is_file() && root.join("objects").is_dir());

    let reopened = Project::open(&root).unwrap();
    let again = reopened.info().unwrap();
    assert_eq!(again, info);
    assert!(
        reopened.migration_backup().is_none(),
        "an up-to-date project is not backed up"
    );
    let log = reopened.audit_log(None).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "project.create");
    assert_eq!(log[0].target, "Churn model");
}

#[test]
fn database_runs_in_wal_mode_with_foreign_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let mode: String = project
        .conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let fk: i64 = project
        .conn()
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), fk), ("wal", 1));
}

#[test]
fn name_defaults_to_the_folder_name() {
    let tmp = tempfile::tempdir().unwrap();
    let project = Project::create(
        &tmp.path().join("fraud-detection"),
        None,
        OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(project.name().unwrap(), "fraud-detection");
}

#[test]
fn discover_walks_up_to_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    new_project(tmp.path());
    let deep = tmp.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    assert_eq!(Project::discover(&deep).unwrap(), tmp.path());
    let elsewhere = tempfile::tempdir().unwrap();
    let err = Project::discover(elsewhere.path()).unwrap_err();
    assert_eq!(err.code(), "no_project_found");
}

#[test]
fn audit_log_is_append_only() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let conn = project.conn();
    assert!(
        conn.execute("UPDATE audit_log SET action = 'x'", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    assert_eq!(project.audit_log(None).unwrap().len(), 1);
}

// --- Each error: a clear message naming the thing, and nothing changed. ---

fn assert_error(err: Error, code: &str, needles: &[&str]) {
    let message = err.to_string();
    assert_eq!(err.code(), code, "{message}");
    for needle in needles {
        assert!(
            message.contains(needle),
            "message {message:?} lacks {needle:?}"
        );
    }
}

#[test]
fn opening_a_plain_folder_says_it_is_not_a_project() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "hello").unwrap();
    let before = tree(tmp.path());
    let err = Project::open(tmp.path()).unwrap_err();
    assert_error(
        err,
        "not_a_project",
        &[
            "not a Lathe project",
            "lathe init",
            &tmp.path().display().to_string(),
        ],
    );
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn opening_a_missing_folder_says_it_is_not_a_project() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Project::open(&tmp.path().join("nope")).unwrap_err();
    assert_error(err, "not_a_project", &["nope"]);
    assert!(!tmp.path().join("nope").exists());
}

#[test]
fn creating_over_a_project_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    new_project(tmp.path());
    let before = db_bytes(tmp.path());
    let err = Project::create(tmp.path(), Some("again"), OpenOptions::default()).unwrap_err();
    assert_error(
        err,
        "already_exists",
        &["already exists", "open it instead"],
    );
    assert_eq!(db_bytes(tmp.path()), before);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    drop(new_project(tmp.path()));
    Connection::open(tmp.path().join(DB_FILE))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let before = db_bytes(tmp.path());
    let err = Project::open(tmp.path()).unwrap_err();
    assert_error(
        err,
        "schema_too_new",
        &[
            "newer Lathe",
            "schema version 99",
            &format!(
                "reads up to {}",
                lathe_core::project::migrations::latest_version()
            ),
            "upgrade Lathe",
        ],
    );
    assert_eq!(db_bytes(tmp.path()), before);
    assert_eq!(
        tree(tmp.path())
            .iter()
            .filter(|(p, _)| p.to_string_lossy().ends_with(".bak"))
            .count(),
        0
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_reported_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join(DB_FILE),
        b"this is a CSV file, not a database\n1,2,3\n",
    )
    .unwrap();
    let before = tree(tmp.path());
    let err = Project::open(tmp.path()).unwrap_err();
    assert_error(err, "corrupt", &["corrupt or not a SQLite file", "backup"]);
    assert_eq!(tree(tmp.path()), before);
}

#[test]
fn a_database_with_a_damaged_header_is_reported_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    drop(new_project(tmp.path()));
    let path = tmp.path().join(DB_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    // Keep the magic string, wreck the page-size field and the first page's b-tree header.
    bytes[16] = 0x00;
    bytes[17] = 0x07;
    for b in bytes.iter_mut().skip(100).take(64) {
        *b = 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    let _ = std::fs::remove_file(tmp.path().join("lathe.sqlite-wal"));
    let err = Project::open(tmp.path()).unwrap_err();
    assert_error(err, "corrupt", &["corrupt"]);
}

#[test]
fn another_applications_database_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let conn = Connection::open(tmp.path().join(DB_FILE)).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'a');").unwrap();
    drop(conn);
    let before = db_bytes(tmp.path());
    let err = Project::open(tmp.path()).unwrap_err();
    assert_error(err, "foreign_database", &["another application"]);
    assert_eq!(db_bytes(tmp.path()), before);
}

#[test]
fn a_project_locked_by_another_writer_reports_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    // Another process holds the write lock, e.g. a long import in the desktop app.
    let other = Connection::open(tmp.path().join(DB_FILE)).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO project_meta VALUES ('other', 'x');")
        .unwrap();
    let quick = OpenOptions {
        busy_timeout: Duration::from_millis(100),
        ..OpenOptions::default()
    };
    let reader = Project::open_with(tmp.path(), quick).unwrap();
    assert_eq!(
        reader.info().unwrap().counts["audit_entries"],
        1,
        "readers are not blocked by a writer"
    );
    let err = reader
        .record(&lathe_core::audit::NewAuditEntry {
            action: "test.write",
            target: "x",
            details: serde_json::json!({}),
        })
        .unwrap_err();
    assert_error(err, "locked", &["locked by another process", "try again"]);
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        project.audit_log(None).unwrap().len(),
        1,
        "the failed write left nothing"
    );
}

#[test]
fn an_unwritable_folder_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("readonly");
    std::fs::create_dir(&parent).unwrap();
    let _guard = Unwritable::new(&parent);
    let err = Project::create(&parent.join("proj"), None, OpenOptions::default()).unwrap_err();
    assert_error(err, "unwritable", &["cannot write", "permissions"]);
    assert!(!parent.join("proj").exists());
}

#[test]
fn an_existing_project_in_an_unwritable_folder_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    drop(new_project(&root));
    // A clean close checkpoints and removes the WAL; opening must create it again.
    assert!(!root.join("lathe.sqlite-wal").exists());
    let _guard = Unwritable::new(&root);
    let err = Project::open(&root).unwrap_err();
    assert_error(err, "unwritable", &["cannot write"]);
}
