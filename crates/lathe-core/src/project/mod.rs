//! A project: one folder with `lathe.sqlite` and `objects/`.
//!
//! The database runs in WAL mode with foreign keys on and a busy timeout, so the desktop app and
//! CLI commands can use one project at the same time; a writer that cannot get the lock within
//! the timeout reports [`Error::Locked`] instead of hanging.

pub mod migrations;
pub mod objects;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::audit::{self, Actor, AuditEntry, NewAuditEntry};
use crate::job::Job;
use crate::{Error, Result};
use objects::{ObjectStore, StoredObject};

pub const DB_FILE: &str = "lathe.sqlite";
pub const OBJECTS_DIR: &str = "objects";

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// How long a write waits for another process's lock before giving up with
    /// [`Error::Locked`].
    pub busy_timeout: Duration,
    /// Who the audit log names for changes made through this handle.
    pub actor: Actor,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            busy_timeout: Duration::from_secs(5),
            actor: Actor::current("lathe"),
        }
    }
}

#[derive(Debug)]
pub struct Project {
    root: PathBuf,
    conn: Connection,
    objects: ObjectStore,
    actor: Actor,
    /// Set when opening migrated the schema: where the pre-migration copy was written.
    migration_backup: Option<PathBuf>,
}

/// What `lathe info` prints and the desktop overview shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProjectInfo {
    pub name: String,
    /// The project folder, absolute.
    pub path: String,
    pub schema_version: i64,
    /// The Lathe version reading the project now.
    pub lathe_version: String,
    /// When the project was created, RFC 3339 UTC.
    pub created_at: String,
    /// Number of records of each kind, keyed by kind (`audit_entries`, `objects`, and one key
    /// per capability as capabilities are added). Keys are stable.
    pub counts: BTreeMap<String, u64>,
    /// Total size of the registered objects.
    pub object_store_bytes: u64,
    /// The same, as people read it ([`crate::display::bytes`]).
    pub object_store_size: String,
}

impl Project {
    /// Creates a project in `root` (made if missing; may already hold other files, as with
    /// `git init`) and opens it.
    pub fn create(root: &Path, name: Option<&str>, options: OpenOptions) -> Result<Project> {
        fs::create_dir_all(root).map_err(|e| Error::write("create the project folder", root, e))?;
        let root = absolute(root)?;
        let db_path = root.join(DB_FILE);
        if db_path.exists() {
            return Err(Error::AlreadyExists { path: root });
        }
        let objects_dir = root.join(OBJECTS_DIR);
        fs::create_dir_all(&objects_dir)
            .map_err(|e| Error::write("create the object store", &objects_dir, e))?;
        let conn = Connection::open_with_flags(
            &db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::db(&root, e))?;
        let mut project = Self::from_connection(root, conn, options)?;
        let name = name
            .map(str::to_owned)
            .unwrap_or_else(|| default_name(&project.root));
        let tx = project
            .conn
            .transaction()
            .map_err(|e| Error::db(&project.root, e))?;
        let now = audit::now();
        for (key, value) in [
            ("name", name.as_str()),
            ("created_at", &now),
            ("created_by", crate::LATHE_VERSION),
        ] {
            tx.execute(
                "INSERT INTO project_meta (key, value) VALUES (?1, ?2)",
                (key, value),
            )
            .map_err(|e| Error::db(&project.root, e))?;
        }
        audit::append(
            &tx,
            &project.actor,
            &NewAuditEntry {
                action: "project.create",
                target: &name,
                details: serde_json::json!({ "path": project.root.display().to_string() }),
            },
        )
        .map_err(|e| Error::db(&project.root, e))?;
        tx.commit().map_err(|e| Error::db(&project.root, e))?;
        Ok(project)
    }

    pub fn open(root: &Path) -> Result<Project> {
        Self::open_with(root, OpenOptions::default())
    }

    /// Opens an existing project, migrating its schema (after a backup) when it is older.
    pub fn open_with(root: &Path, options: OpenOptions) -> Result<Project> {
        let db_path = root.join(DB_FILE);
        if !db_path.is_file() {
            return Err(Error::NotAProject {
                path: root.to_path_buf(),
            });
        }
        let root = absolute(root)?;
        check_sqlite_header(&root, &db_path)?;
        let conn = Connection::open_with_flags(
            &db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::db(&root, e))?;
        Self::from_connection(root, conn, options)
    }

    /// Finds the project folder for a command: `start` itself or the nearest parent holding a
    /// `lathe.sqlite`.
    pub fn discover(start: &Path) -> Result<PathBuf> {
        let start = absolute(start)?;
        start
            .ancestors()
            .find(|dir| dir.join(DB_FILE).is_file())
            .map(Path::to_path_buf)
            .ok_or(Error::NoProjectFound { start })
    }

    fn from_connection(
        root: PathBuf,
        mut conn: Connection,
        options: OpenOptions,
    ) -> Result<Project> {
        let db_path = root.join(DB_FILE);
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| Error::db(&root, e))?;
        // The first statement that reads the file: a corrupt header fails here.
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| Error::db(&root, e))?;
        let app_id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| Error::db(&root, e))?;
        if app_id != migrations::APPLICATION_ID && (app_id != 0 || tables > 0) {
            return Err(Error::ForeignDatabase { path: root });
        }
        let version = migrations::user_version(&conn, &root)?;
        let latest = migrations::latest_version();
        if version > latest {
            return Err(Error::SchemaTooNew {
                path: root,
                found: version,
                supported: latest,
            });
        }
        // WAL lets the desktop app read while a CLI command writes. On the rare file system that
        // refuses it SQLite keeps its rollback journal, which is slower but equally safe.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| Error::db(&root, e))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(|e| Error::db(&root, e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| Error::db(&root, e))?;
        let migration_backup = migrations::migrate(&mut conn, &root, &db_path)?;
        let objects = ObjectStore::new(root.join(OBJECTS_DIR));
        objects.remove_stale_temps();
        Ok(Project {
            root,
            conn,
            objects,
            actor: options.actor,
            migration_backup,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    /// The copy of the database taken before this open migrated it, if it did.
    pub fn migration_backup(&self) -> Option<&Path> {
        self.migration_backup.as_deref()
    }

    /// The open connection, for capability modules that own their own tables.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn name(&self) -> Result<String> {
        Ok(self
            .meta("name")?
            .unwrap_or_else(|| default_name(&self.root)))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT value FROM project_meta WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| Error::db(&self.root, e))
    }

    pub fn info(&self) -> Result<ProjectInfo> {
        let count = |sql: &str| -> Result<u64> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| Error::db(&self.root, e))
        };
        let counts = BTreeMap::from([
            (
                "audit_entries".to_owned(),
                count("SELECT count(*) FROM audit_log")?,
            ),
            ("objects".to_owned(), count("SELECT count(*) FROM objects")?),
            (
                "datasets".to_owned(),
                count("SELECT count(*) FROM datasets")?,
            ),
            (
                "dataset_versions".to_owned(),
                count("SELECT count(*) FROM dataset_versions")?,
            ),
            (
                "experiments".to_owned(),
                count("SELECT count(*) FROM experiments")?,
            ),
            ("runs".to_owned(), count("SELECT count(*) FROM runs")?),
            (
                "drift_reports".to_owned(),
                count("SELECT count(*) FROM drift_reports")?,
            ),
            (
                "model_versions".to_owned(),
                count("SELECT count(*) FROM model_versions")?,
            ),
            ("bundles".to_owned(), count("SELECT count(*) FROM bundles")?),
            ("checks".to_owned(), count("SELECT count(*) FROM checks")?),
        ]);
        let object_store_bytes = count("SELECT coalesce(sum(size_bytes), 0) FROM objects")?;
        Ok(ProjectInfo {
            name: self.name()?,
            path: self.root.display().to_string(),
            schema_version: migrations::user_version(&self.conn, &self.root)?,
            lathe_version: crate::LATHE_VERSION.to_owned(),
            created_at: self.meta("created_at")?.unwrap_or_default(),
            counts,
            object_store_bytes,
            object_store_size: crate::display::bytes(object_store_bytes),
        })
    }

    /// The newest audit entries first; `limit` of `None` returns them all.
    pub fn audit_log(&self, limit: Option<u64>) -> Result<Vec<AuditEntry>> {
        audit::list(&self.conn, limit).map_err(|e| Error::db(&self.root, e))
    }

    /// Appends one audit entry in its own transaction.
    pub fn record(&self, entry: &NewAuditEntry) -> Result<()> {
        audit::append(&self.conn, &self.actor, entry)
            .map(|_| ())
            .map_err(|e| Error::db(&self.root, e))
    }

    /// Writes `reader` into the object store and registers it. The row is inserted only after
    /// the object's file is durable; writing bytes the project already holds changes nothing.
    pub fn put_object(
        &self,
        reader: &mut dyn Read,
        media_type: &str,
        total_bytes: Option<u64>,
        job: &Job,
    ) -> Result<StoredObject> {
        let stored = self.objects.write(reader, total_bytes, job)?;
        self.conn
            .execute(
                "INSERT OR IGNORE INTO objects (sha256, size_bytes, media_type, added_at) VALUES (?1, ?2, ?3, ?4)",
                (&stored.sha256, stored.size_bytes as i64, media_type, audit::now()),
            )
            .map_err(|e| Error::db(&self.root, e))?;
        Ok(stored)
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io("resolve the path", path, e))
}

fn default_name(root: &Path) -> String {
    root.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".to_owned())
}

/// SQLite opens any file lazily and would report a non-database only on the first query, with a
/// terse message; checking the 16-byte header first gives the user a precise one.
fn check_sqlite_header(root: &Path, db_path: &Path) -> Result<()> {
    let mut file =
        fs::File::open(db_path).map_err(|e| Error::io("read the project database", db_path, e))?;
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(Error::io("read the project database", db_path, e)),
        }
    }
    // An empty file is what a create killed before its first write leaves: SQLite treats it
    // as an empty database, and opening it finishes the create.
    if read == 0 || (read == header.len() && &header == SQLITE_MAGIC) {
        return Ok(());
    }
    Err(Error::Corrupt {
        path: root.to_path_buf(),
        detail: "lathe.sqlite does not start with the SQLite header".to_owned(),
    })
}
