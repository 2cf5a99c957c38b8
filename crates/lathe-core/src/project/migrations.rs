//! Versioned, forward-only schema migrations keyed on `PRAGMA user_version`.
//!
//! Each migration runs in its own `BEGIN IMMEDIATE` transaction together with the bump of
//! `user_version`, so a killed process leaves the database at the old version or the new one.
//! Before migrating a database that already holds data (version ≥ 1), a full copy is written next
//! to it with `VACUUM INTO` (consistent even in WAL mode).
//!
//! To change the schema, append a migration here (never edit a released one) and add a case to
//! the every-older-version test in `tests/core/migrations.rs`.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::{Error, Result};

/// `PRAGMA application_id` of every Lathe database: "LATH" in ASCII. Tells a Lathe project from
/// any other SQLite file that happens to be called `lathe.sqlite`.
pub const APPLICATION_ID: i64 = 0x4C41_5448;

pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Migration {} ({})", self.version, self.description)
    }
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "project metadata, audit log, object registry",
        sql: r#"
        CREATE TABLE project_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT;

        -- What was done, when, by whom, to what: the record ops and auditors ask for.
        -- Append-only: the triggers below refuse updates and deletes.
        CREATE TABLE audit_log (
            id      INTEGER PRIMARY KEY,
            at      TEXT NOT NULL,               -- RFC 3339, UTC, milliseconds
            user    TEXT NOT NULL,
            tool    TEXT NOT NULL,               -- 'cli', 'desktop', ...
            action  TEXT NOT NULL,               -- 'project.create', 'dataset.import', ...
            target  TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}'   -- JSON object
        ) STRICT;
        CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

        -- Every blob in objects/, registered only after its file is fsynced and renamed.
        CREATE TABLE objects (
            sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
            media_type TEXT NOT NULL,
            added_at   TEXT NOT NULL
        ) STRICT;
    "#,
    },
    Migration {
        version: 2,
        description: "datasets, their versions and profiles",
        sql: r#"
        CREATE TABLE datasets (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        ) STRICT;

        -- One row per imported file content: the data normalised to Parquet in objects/.
        CREATE TABLE dataset_versions (
            id            INTEGER PRIMARY KEY,
            dataset_id    INTEGER NOT NULL REFERENCES datasets(id),
            version       INTEGER NOT NULL CHECK (version >= 1),
            source_sha256 TEXT NOT NULL,          -- the imported file's bytes
            object_sha256 TEXT NOT NULL REFERENCES objects(sha256),  -- the Parquet copy
            source_path   TEXT NOT NULL,
            format        TEXT NOT NULL,          -- csv, tsv, parquet, ndjson, json, ipc
            rows          INTEGER NOT NULL,
            columns       INTEGER NOT NULL,
            schema        TEXT NOT NULL,          -- JSON [{name, dtype}]
            imported_at   TEXT NOT NULL,
            UNIQUE (dataset_id, version),
            UNIQUE (dataset_id, source_sha256)
        ) STRICT;

        -- Computed once per version at import.
        CREATE TABLE dataset_profiles (
            dataset_version_id INTEGER PRIMARY KEY REFERENCES dataset_versions(id),
            profile            TEXT NOT NULL      -- JSON, the `lathe dataset show --json` shape
        ) STRICT;
    "#,
    },
    Migration {
        version: 3,
        description: "experiment runs imported from MLflow stores and run logs",
        sql: r#"
        -- Each imported store or log (an mlruns/ folder, an mlflow.db, a .jsonl, a .csv), by its
        -- canonical path: re-importing it adds only what is new.
        CREATE TABLE run_sources (
            id               INTEGER PRIMARY KEY,
            kind             TEXT NOT NULL,        -- mlflow-file, mlflow-sqlite, jsonl, csv
            path             TEXT NOT NULL UNIQUE,
            first_imported_at TEXT NOT NULL,
            last_imported_at  TEXT NOT NULL,
            -- Sizes and modification times of the source's files at the last import: a watched
            -- source whose stamp has not moved is not read again.
            stamp            TEXT
        ) STRICT;

        CREATE TABLE experiments (
            id                   INTEGER PRIMARY KEY,
            source_id            INTEGER NOT NULL REFERENCES run_sources(id),
            source_experiment_id TEXT NOT NULL,
            name                 TEXT NOT NULL,
            lifecycle_stage      TEXT NOT NULL,   -- active, deleted
            tags                 TEXT NOT NULL DEFAULT '{}',  -- JSON object
            UNIQUE (source_id, source_experiment_id)
        ) STRICT;

        CREATE TABLE runs (
            id              INTEGER PRIMARY KEY,
            experiment_id   INTEGER NOT NULL REFERENCES experiments(id),
            source_run_id   TEXT NOT NULL,
            name            TEXT,
            status          TEXT NOT NULL,       -- RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
            lifecycle_stage TEXT NOT NULL,       -- active, deleted (hidden unless asked for)
            start_time      INTEGER,             -- epoch milliseconds
            end_time        INTEGER,
            parent_source_run_id TEXT,           -- the mlflow.parentRunId tag
            artifact_uri    TEXT,
            fingerprint     TEXT NOT NULL,       -- sha256 of attributes, params, tags: change detection
            imported_at     TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            UNIQUE (experiment_id, source_run_id)
        ) STRICT;
        CREATE INDEX runs_by_source_run_id ON runs (source_run_id);

        CREATE TABLE run_params (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,
            PRIMARY KEY (run_id, key)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE run_tags (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,
            PRIMARY KEY (run_id, key)
        ) STRICT, WITHOUT ROWID;

        -- One row per (run, metric key): the summaries queries use. Kept apart from the
        -- histories so that listing 100,000 runs reads a few megabytes, not every point.
        CREATE TABLE run_metrics (
            run_id         INTEGER NOT NULL REFERENCES runs(id),
            key            TEXT NOT NULL,
            points         INTEGER NOT NULL,
            last           REAL,                 -- MLflow's latest: max by (step, timestamp, value); NULL = NaN
            last_step      INTEGER NOT NULL,
            last_timestamp INTEGER NOT NULL,
            min            REAL,                 -- over the non-NaN values; NULL when all are NaN
            min_step       INTEGER,
            max            REAL,
            max_step       INTEGER,
            PRIMARY KEY (run_id, key)
        ) STRICT, WITHOUT ROWID;

        -- The whole history of a (run, metric key) as a packed blob in the source's logging
        -- order: a format byte (1), then per point the step and timestamp (ms) as zigzag-varint
        -- deltas and the value as a little-endian f64 (NaN and infinities kept). A row per point would be 50 M rows for 100,000 runs and make
        -- import and every chart an index walk.
        CREATE TABLE run_metric_histories (
            run_id  INTEGER NOT NULL REFERENCES runs(id),
            key     TEXT NOT NULL,
            history BLOB NOT NULL,
            UNIQUE (run_id, key)
        ) STRICT;

        -- Every metric, param and tag key ever imported: the run table's column chooser
        -- (a DISTINCT over the params of 100,000 runs would sort a million keys).
        CREATE TABLE run_keys (
            kind TEXT NOT NULL,                 -- metric, param, tag
            key  TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE run_artifacts (
            run_id     INTEGER NOT NULL REFERENCES runs(id),
            path       TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            PRIMARY KEY (run_id, path)
        ) STRICT, WITHOUT ROWID;

        -- MLflow's model registry as found in a source: listed, never loaded (nothing is unpickled).
        CREATE TABLE source_models (
            id        INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES run_sources(id),
            name      TEXT NOT NULL,
            tags      TEXT NOT NULL DEFAULT '{}',   -- JSON object
            aliases   TEXT NOT NULL DEFAULT '{}',   -- JSON object alias -> version
            UNIQUE (source_id, name)
        ) STRICT;

        CREATE TABLE source_model_versions (
            model_id      INTEGER NOT NULL REFERENCES source_models(id),
            version       INTEGER NOT NULL,
            source_run_id TEXT,
            source        TEXT,
            status        TEXT,
            onnx_path     TEXT,                 -- the version's .onnx artifact, when it has one
            PRIMARY KEY (model_id, version)
        ) STRICT, WITHOUT ROWID;
    "#,
    },
    Migration {
        version: 4,
        description: "drift reports",
        sql: r#"
        -- One row per `lathe drift` run inside the project: the verdict for listing, the whole
        -- report (per-column scores, bins, windows) as JSON. No raw data is kept.
        CREATE TABLE drift_reports (
            id              INTEGER PRIMARY KEY,
            created_at      TEXT NOT NULL,
            reference       TEXT NOT NULL,       -- NAME@VERSION, or a file name
            current         TEXT NOT NULL,
            dataset_drift   INTEGER NOT NULL CHECK (dataset_drift IN (0, 1)),
            share_drifted   REAL NOT NULL,
            columns         INTEGER NOT NULL,
            drifted_columns INTEGER NOT NULL,
            report          TEXT NOT NULL
        ) STRICT;
    "#,
    },
    Migration {
        version: 5,
        description: "model registry and evaluations",
        sql: r#"
        CREATE TABLE models (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        ) STRICT;

        -- One row per registered ONNX file: the original bytes in objects/.
        CREATE TABLE model_versions (
            id                 INTEGER PRIMARY KEY,
            model_id           INTEGER NOT NULL REFERENCES models(id),
            version            INTEGER NOT NULL CHECK (version >= 1),
            object_sha256      TEXT NOT NULL REFERENCES objects(sha256),
            size_bytes         INTEGER NOT NULL,
            source_path        TEXT NOT NULL,
            task               TEXT NOT NULL,       -- classification, regression
            target             TEXT,
            features           TEXT NOT NULL,       -- JSON array, the model's input order
            signature          TEXT NOT NULL,       -- JSON: inputs, outputs, ops, runtime
            run_id             INTEGER REFERENCES runs(id),
            dataset_version_id INTEGER REFERENCES dataset_versions(id),
            registered_at      TEXT NOT NULL,
            UNIQUE (model_id, version),
            UNIQUE (model_id, object_sha256)
        ) STRICT;

        CREATE TABLE model_aliases (
            model_id   INTEGER NOT NULL REFERENCES models(id),
            alias      TEXT NOT NULL,
            version_id INTEGER NOT NULL REFERENCES model_versions(id),
            set_at     TEXT NOT NULL,
            PRIMARY KEY (model_id, alias)
        ) STRICT, WITHOUT ROWID;

        -- The latest evaluation per (model version, dataset version, target).
        CREATE TABLE model_evaluations (
            id                 INTEGER PRIMARY KEY,
            model_version_id   INTEGER NOT NULL REFERENCES model_versions(id),
            dataset_version_id INTEGER NOT NULL REFERENCES dataset_versions(id),
            target             TEXT NOT NULL,
            task               TEXT NOT NULL,
            report             TEXT NOT NULL,       -- JSON Evaluation
            created_at         TEXT NOT NULL,
            UNIQUE (model_version_id, dataset_version_id, target)
        ) STRICT;
    "#,
    },
    Migration {
        version: 6,
        description: "explanations and fairness reports",
        sql: r#"
        -- One result per (model version, dataset version, settings): reopened, not recomputed.
        CREATE TABLE explanations (
            id                 INTEGER PRIMARY KEY,
            model_version_id   INTEGER NOT NULL REFERENCES model_versions(id),
            dataset_version_id INTEGER NOT NULL REFERENCES dataset_versions(id),
            method             TEXT NOT NULL,
            settings           TEXT NOT NULL,       -- JSON Request, canonical
            result             TEXT NOT NULL,       -- JSON Explanation
            seconds            REAL NOT NULL,       -- time to compute
            created_at         TEXT NOT NULL,
            UNIQUE (model_version_id, dataset_version_id, settings)
        ) STRICT;

        CREATE TABLE fairness_reports (
            id                 INTEGER PRIMARY KEY,
            model_version_id   INTEGER NOT NULL REFERENCES model_versions(id),
            dataset_version_id INTEGER NOT NULL REFERENCES dataset_versions(id),
            settings           TEXT NOT NULL,       -- JSON: target, sensitive columns
            report             TEXT NOT NULL,       -- JSON Fairness
            created_at         TEXT NOT NULL,
            UNIQUE (model_version_id, dataset_version_id, settings)
        ) STRICT;
    "#,
    },
    Migration {
        version: 7,
        description: "exported bundles",
        sql: r#"
        CREATE TABLE bundles (
            id               INTEGER PRIMARY KEY,
            model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
            path             TEXT NOT NULL,
            format           TEXT NOT NULL,       -- tar.gz, folder
            sha256           TEXT NOT NULL,       -- the archive's; a folder's SHA256SUMS'
            size_bytes       INTEGER NOT NULL,
            files            INTEGER NOT NULL,
            signed_by        TEXT,                -- the key's fingerprint
            settings         TEXT NOT NULL,       -- JSON: datasets, card text, signed
            created_at       TEXT NOT NULL
        ) STRICT;
    "#,
    },
    Migration {
        version: 8,
        description: "run listings read by key; MLflow ONNX versions join the model registry",
        sql: r#"
        -- A listing reads the keys its filter and sort name, for every run: by key, these are
        -- range scans, not scans of every param of every run. The indexes cover what a listing
        -- reads (a WITHOUT ROWID table's index holds its primary key).
        CREATE INDEX run_params_by_key ON run_params (key, value);
        CREATE INDEX run_tags_by_key ON run_tags (key);
        CREATE INDEX run_metrics_by_key ON run_metrics (key, last, min, max);
        -- What a listing reads of every run, without the fingerprint and artifact URI.
        -- The Lathe model version an MLflow version with an ONNX artifact was registered as.
        ALTER TABLE source_model_versions ADD COLUMN model_version_id INTEGER REFERENCES model_versions(id);

        CREATE INDEX runs_listing ON runs (id, experiment_id, lifecycle_stage, status, start_time,
            end_time, source_run_id, name, parent_source_run_id);
    "#,
    },
    Migration {
        version: 9,
        description: "dataset versions imported from a URL record the object's ETag and version",
        sql: r#"
        -- source_path holds the URL (without credentials) for these; re-importing an object
        -- whose ETag has not changed makes no new version and downloads nothing.
        ALTER TABLE dataset_versions ADD COLUMN source_etag TEXT;
        ALTER TABLE dataset_versions ADD COLUMN source_version TEXT;
    "#,
    },
    Migration {
        version: 10,
        description: "a tracking server source records the experiments it is read by",
        sql: r#"
        -- JSON array of the experiment names or ids given at the last import of an MLflow
        -- tracking server (NULL: every experiment), so a sync reads the same ones again.
        ALTER TABLE run_sources ADD COLUMN experiments TEXT;
    "#,
    },
    Migration {
        version: 11,
        description: "a tracking server source records when it was last read, and last read whole",
        sql: r#"
        -- Milliseconds since the epoch on this machine's clock, taken as each read of an MLflow
        -- tracking server starts: the next read can ask only for the runs started, ended or
        -- deleted since (read_at), and a read of every run is due when read_whole_at is old.
        ALTER TABLE run_sources ADD COLUMN read_at INTEGER;
        ALTER TABLE run_sources ADD COLUMN read_whole_at INTEGER;
    "#,
    },
    Migration {
        version: 12,
        description: "the results of `lathe check` runs",
        sql: r#"
        -- One row per run of an expectation suite on a table: the table as named (a stored
        -- version NAME@N, a file or a URL), the stored version when it is one, the verdict and
        -- counts, and the whole validation result as JSON (GX's shape).
        CREATE TABLE checks (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            suite TEXT NOT NULL,
            data TEXT NOT NULL,
            dataset_version_id INTEGER REFERENCES dataset_versions(id) ON DELETE SET NULL,
            success INTEGER NOT NULL,
            evaluated INTEGER NOT NULL,
            successful INTEGER NOT NULL,
            result TEXT NOT NULL
        ) STRICT;
        CREATE INDEX checks_by_version ON checks(dataset_version_id, id);
    "#,
    },
];

/// The schema version this build of Lathe writes and reads.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub fn user_version(conn: &Connection, root: &Path) -> Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| Error::db(root, e))
}

/// Brings the database at `root` up to [`latest_version`], taking a backup first when it holds
/// data. Returns the path of the backup, if one was taken.
pub fn migrate(conn: &mut Connection, root: &Path, db_path: &Path) -> Result<Option<PathBuf>> {
    migrate_with(conn, root, db_path, MIGRATIONS)
}

/// [`migrate`] over a given list of migrations: the tests use it to build databases at every
/// older version and to exercise the backup and rollback paths with a synthetic next version.
pub fn migrate_with(
    conn: &mut Connection,
    root: &Path,
    db_path: &Path,
    migrations: &[Migration],
) -> Result<Option<PathBuf>> {
    let from = user_version(conn, root)?;
    let latest = migrations.last().map_or(0, |m| m.version);
    if from > latest {
        return Err(Error::SchemaTooNew {
            path: root.to_path_buf(),
            found: from,
            supported: latest,
        });
    }
    if from == latest {
        return Ok(None);
    }
    let backup = if from >= 1 {
        Some(backup(conn, root, db_path, from)?)
    } else {
        None
    };
    for m in migrations.iter().filter(|m| m.version > from) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| Error::db(root, e))?;
        // Another process may have migrated while we waited for the write lock.
        if user_version(&tx, root)? >= m.version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(|e| Error::db(root, e))?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(|e| Error::db(root, e))?;
        if m.version == 1 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(|e| Error::db(root, e))?;
        }
        tx.commit().map_err(|e| Error::db(root, e))?;
    }
    Ok(backup)
}

fn backup(conn: &Connection, root: &Path, db_path: &Path, from: i64) -> Result<PathBuf> {
    let stamp = crate::audit::now().replace([':', '.'], "-");
    let target = db_path.with_file_name(format!("lathe.sqlite.v{from}.{stamp}.bak"));
    conn.execute("VACUUM INTO ?1", [target.to_string_lossy()])
        .map_err(|e| Error::db(root, e))?;
    Ok(target)
}
