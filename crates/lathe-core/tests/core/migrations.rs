//! Migration from every older schema version. When you add a migration, add the data that
//! version can hold to `seed` so the test proves it survives every later migration.

use std::path::Path;

use lathe_core::Project;
use lathe_core::project::DB_FILE;
use lathe_core::project::migrations::{
    MIGRATIONS, Migration, latest_version, migrate_with, user_version,
};
use rusqlite::Connection;

/// Builds a project database at `version` by applying the real migrations up to it.
fn project_at(root: &Path, version: i64) -> Connection {
    std::fs::create_dir_all(root.join("objects")).unwrap();
    let mut conn = Connection::open(root.join(DB_FILE)).unwrap();
    let upto: Vec<_> = MIGRATIONS
        .iter()
        .filter(|m| m.version <= version)
        .map(copy)
        .collect();
    migrate_with(&mut conn, root, &root.join(DB_FILE), &upto).unwrap();
    seed(&conn, version);
    conn
}

fn copy(m: &Migration) -> Migration {
    Migration {
        version: m.version,
        description: m.description,
        sql: m.sql,
    }
}

/// Data a project at `version` can hold.
fn seed(conn: &Connection, version: i64) {
    if version >= 1 {
        conn.execute_batch(
            "INSERT INTO project_meta VALUES ('name', 'legacy'), ('created_at', '2026-01-01T00:00:00.000Z');
             INSERT INTO audit_log (at, user, tool, action, target) VALUES ('2026-01-01T00:00:00.000Z', 'ana', 'cli', 'project.create', 'legacy');
             INSERT INTO objects VALUES ('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 3, 'text/plain', '2026-01-01T00:00:00.000Z');",
        )
        .unwrap();
    }
    if version >= 2 {
        conn.execute_batch(
            "INSERT INTO datasets (name, created_at) VALUES ('iris', '2026-01-01T00:00:00.000Z');
             INSERT INTO dataset_versions (dataset_id, version, source_sha256, object_sha256, source_path, format, rows, columns, schema, imported_at)
               VALUES (1, 1, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'iris.csv', 'csv', 150, 5, '[]', '2026-01-01T00:00:00.000Z');
             INSERT INTO dataset_profiles VALUES (1, '{}');",
        )
        .unwrap();
    }
}

#[test]
fn every_older_version_migrates_to_latest_keeping_its_data() {
    let latest = latest_version();
    assert!(latest >= 1);
    for version in 0..latest {
        let tmp = tempfile::tempdir().unwrap();
        drop(project_at(tmp.path(), version));
        let project = Project::open(tmp.path()).unwrap_or_else(|e| panic!("from v{version}: {e}"));
        let info = project.info().unwrap();
        assert_eq!(info.schema_version, latest, "from v{version}");
        match project.migration_backup() {
            Some(backup) => {
                assert!(version >= 1, "v0 holds no data and needs no backup");
                let old = Connection::open(backup).unwrap();
                assert_eq!(user_version(&old, tmp.path()).unwrap(), version);
            }
            None => assert_eq!(
                version, 0,
                "a project holding data (v{version}) must be backed up before migrating"
            ),
        }
        if version >= 1 {
            assert_eq!(info.name, "legacy");
            assert_eq!(info.counts["objects"], 1);
        }
        if version >= 2 {
            assert_eq!(info.counts["dataset_versions"], 1);
        }
    }
}

/// A synthetic next version, to exercise what the real list has only once it grows past one.
fn next_version(sql: &'static str) -> Vec<Migration> {
    let mut list: Vec<_> = MIGRATIONS.iter().map(copy).collect();
    list.push(Migration {
        version: latest_version() + 1,
        description: "test",
        sql,
    });
    list
}

#[test]
fn migrating_a_project_with_data_takes_a_backup_first() {
    let tmp = tempfile::tempdir().unwrap();
    let mut conn = project_at(tmp.path(), latest_version());
    let db = tmp.path().join(DB_FILE);
    let list = next_version("CREATE TABLE widgets (id INTEGER PRIMARY KEY) STRICT;");
    let backup = migrate_with(&mut conn, tmp.path(), &db, &list)
        .unwrap()
        .expect("a backup");
    assert_eq!(
        user_version(&conn, tmp.path()).unwrap(),
        latest_version() + 1
    );
    let old = Connection::open(&backup).unwrap();
    assert_eq!(user_version(&old, tmp.path()).unwrap(), latest_version());
    let rows: i64 = old
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the backup holds the data as it was");
    let expected_prefix = format!("lathe.sqlite.v{}.", latest_version());
    let backup_name = backup.file_name().unwrap().to_string_lossy().into_owned();
    assert!(backup_name.starts_with(&expected_prefix), "{backup_name}");
}

#[test]
fn a_failing_migration_leaves_the_old_version() {
    let tmp = tempfile::tempdir().unwrap();
    let mut conn = project_at(tmp.path(), latest_version());
    let db = tmp.path().join(DB_FILE);
    // The first statement succeeds, the second fails: the transaction must undo both.
    let list =
        next_version("CREATE TABLE half (id INTEGER); INSERT INTO no_such_table VALUES (1);");
    let err = migrate_with(&mut conn, tmp.path(), &db, &list).unwrap_err();
    assert_eq!(err.code(), "database", "{err}");
    assert_eq!(user_version(&conn, tmp.path()).unwrap(), latest_version());
    let half: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'half'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half, 0);
    drop(conn);
    assert_eq!(
        Project::open(tmp.path()).unwrap().info().unwrap().name,
        "legacy"
    );
}

#[test]
fn an_empty_database_file_finishes_an_interrupted_create() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(DB_FILE), b"").unwrap();
    let project = Project::open(tmp.path()).unwrap();
    assert_eq!(project.info().unwrap().schema_version, latest_version());
}
