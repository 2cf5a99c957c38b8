//! Datasets: tables imported into a project as versioned Parquet objects, each version
//! profiled once at import.
//!
//! Import: hash the source file → if this dataset already has a version with these bytes, stop
//! (re-importing is free) → read it with polars → write Parquet (zstd) to a temp file → profile
//! that copy a column at a time ([`columns`]) → store it as an object → record the dataset,
//! the version, the profile and an audit entry in one transaction. Cancellation is honoured up to the object write; nothing is left behind.
//!
//! - [`read`]: formats, CSV dialect sniffing, read errors.
//! - [`profile`]: the statistics, with pandas' definitions.
//! - [`chart`]: the profile's charts (its numerics are in [`crate::numeric`]).
//! - [`times`]: a date/time column as nanoseconds since the epoch.
//! - [`alerts`]: data-quality alerts with ydata-profiling's names and thresholds, and PII.

pub mod alerts;
pub mod browse;
pub mod chart;
pub mod columns;
pub mod compare;
mod duplicates;
pub mod filter;
pub mod profile;
pub mod read;
pub mod spark;
pub mod stream;
pub mod times;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use polars::prelude::*;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, NewAuditEntry};
use crate::job::Job;
use crate::project::Project;
use crate::remote::{self, RemoteObject};
use crate::{Error, Result};
use columns::Columns;
pub use profile::Profile;
pub use read::{Format, ReadOptions};

/// What `lathe dataset import --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportOutcome {
    pub dataset: String,
    pub version: i64,
    /// SHA-256 of the imported file's bytes.
    pub sha256: String,
    pub rows: u64,
    pub columns: u64,
    /// `false` when this dataset already had a version with exactly these bytes.
    pub new_version: bool,
}

/// One line of `lathe dataset list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DatasetSummary {
    pub dataset: String,
    pub versions: i64,
    pub latest_version: i64,
    pub rows: u64,
    pub columns: u64,
    pub format: String,
    pub imported_at: String,
}

/// A dataset name must be usable in `NAME@VERSION` and on a command line.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.contains('@')
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(Error::BadInput {
            path: name.into(),
            detail: "a dataset name must be 1–200 characters without '@', '/', '\\' or control characters; pass --name".into(),
        })
    }
}

fn default_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into())
}

fn hash_file(path: &Path, job: &Job) -> Result<(String, u64)> {
    let file = File::open(path).map_err(|e| Error::BadInput {
        path: path.into(),
        detail: e.to_string(),
    })?;
    let total = file.metadata().map(|m| m.len()).ok();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        job.cancel.check()?;
        let n = reader.read(&mut buf).map_err(|e| Error::BadInput {
            path: path.into(),
            detail: e.to_string(),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        job.progress("hashing", done, total);
    }
    Ok((hex::encode(hasher.finalize()), done))
}

fn schema_json(schema: &Schema) -> String {
    let fields: Vec<_> = schema
        .iter()
        .map(|(name, dtype)| serde_json::json!({ "name": name.as_str(), "dtype": dtype.to_string() }))
        .collect();
    serde_json::Value::from(fields).to_string()
}

/// The dataset name a URL gives by default: its object's name without the extension.
pub(crate) fn url_name(url: &str) -> String {
    default_name(Path::new(&remote::file_name(url)))
}

/// Where an imported table came from, as its version records it.
struct Origin<'a> {
    /// The path, or the URL without credentials.
    source: String,
    /// The object a URL named, when imported from one.
    remote: Option<&'a RemoteObject>,
}

/// Imports `path` as a new version of dataset `name` (default: the file's stem).
pub fn import(
    project: &Project,
    path: &Path,
    name: Option<&str>,
    options: &ReadOptions,
    job: &Job,
) -> Result<ImportOutcome> {
    let name = name
        .map(str::to_owned)
        .unwrap_or_else(|| default_name(path));
    check_name(&name)?;
    read::check_file(path)?;
    let (source_sha256, _) = hash_file(path, job)?;
    let origin = Origin {
        source: path.display().to_string(),
        remote: None,
    };
    import_file(project, path, name, source_sha256, origin, options, job)
}

/// Imports the object at `url` (`s3://`, `gs://`, `az://`, `https://`; see [`crate::remote`])
/// as a new version of dataset `name` (default: the object's name without its extension). An
/// object whose ETag this dataset already recorded for this URL is not downloaded again; one
/// with the same bytes as a version makes no new version. Nothing is stored if the read fails.
pub fn import_url(
    project: &Project,
    url: &str,
    name: Option<&str>,
    options: &ReadOptions,
    job: &Job,
) -> Result<ImportOutcome> {
    let name = name.map(str::to_owned).unwrap_or_else(|| url_name(url));
    check_name(&name)?;
    job.progress("asking the store", 0, None);
    let object = remote::head(url)?;
    if let Some(etag) = &object.etag {
        let root = project.root();
        let known = project
            .conn()
            .query_row(
                "SELECT v.version, v.rows, v.columns, v.source_sha256 FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
                 WHERE d.name = ?1 AND v.source_path = ?2 AND v.source_etag = ?3",
                params![name, object.url, etag],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?)),
            )
            .optional()
            .map_err(|e| Error::db(root, e))?;
        if let Some((version, rows, columns, sha256)) = known {
            return Ok(ImportOutcome {
                dataset: name,
                version,
                sha256,
                rows: rows as u64,
                columns: columns as u64,
                new_version: false,
            });
        }
    }
    let fetched = remote::fetch(url, &project.objects().dir().join("tmp"), job)?;
    let origin = Origin {
        source: fetched.object.url.clone(),
        remote: Some(&fetched.object),
    };
    let sha256 = fetched.sha256.clone();
    // Errors about the table name the URL, not the temporary copy.
    import_file(project, &fetched.file, name, sha256, origin, options, job)
        .map_err(|e| e.naming(&fetched.object.url))
}

fn import_file(
    project: &Project,
    path: &Path,
    name: String,
    source_sha256: String,
    origin: Origin<'_>,
    options: &ReadOptions,
    job: &Job,
) -> Result<ImportOutcome> {
    let root = project.root();
    let db = |e| Error::db(root, e);
    let existing = project
        .conn()
        .query_row(
            "SELECT v.version, v.rows, v.columns FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
             WHERE d.name = ?1 AND v.source_sha256 = ?2",
            params![name, source_sha256],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
        )
        .optional()
        .map_err(db)?;
    if let Some((version, rows, columns)) = existing {
        return Ok(ImportOutcome {
            dataset: name,
            version,
            sha256: source_sha256,
            rows: rows as u64,
            columns: columns as u64,
            new_version: false,
        });
    }

    let format = read::table_format(path, options)?;
    let limit = options.memory_limit();
    let tmp_dir = project.objects().dir().join("tmp");
    std::fs::create_dir_all(&tmp_dir)
        .map_err(|e| Error::write("create the object store", &tmp_dir, e))?;
    let mut parquet = tempfile::Builder::new()
        .prefix("dataset-")
        .suffix(".parquet")
        .tempfile_in(&tmp_dir)
        .map_err(|e| Error::write("create a temporary file", &tmp_dir, e))?;
    let (rows, width, schema, frame) = if stream::fits_whole(path, format, limit)? {
        job.progress("reading", 0, None);
        let (mut frame, _) = read::read_table(path, options)?;
        job.cancel.check()?;
        let (rows, width, schema) = (frame.height(), frame.width(), schema_json(frame.schema()));
        job.progress("writing parquet", 0, None);
        ParquetWriter::new(parquet.as_file_mut())
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut frame)
            .map_err(|e| Error::Compute {
                context: "cannot write the Parquet copy",
                detail: e.to_string(),
            })?;
        (rows, width, schema, Some(frame))
    } else {
        // Larger than the budget: written to Parquet a slice at a time, never whole.
        let written =
            stream::convert::to_parquet(path, format, options, parquet.as_file(), limit, job)?;
        let width = written.schema.len();
        (written.rows, width, schema_json(&written.schema), None)
    };
    job.cancel.check()?;
    // The profile reads the Parquet copy: a column at a time when that fits the budget, in
    // slices of rows otherwise; a very wide table (short, then) from the frame. The frame goes
    // first, so the import never holds the table and the profile's working set together.
    let mut profile = match frame {
        Some(frame) if width > columns::MAX_READ_ONE_BY_ONE => {
            profile::profile(&name, None, &frame, job)?
        }
        frame => {
            drop(frame);
            profile_parquet(
                &name,
                stream::ParquetTable::open(parquet.path())?,
                limit,
                &tmp_dir,
                job,
            )?
        }
    };
    job.cancel.check()?;
    let size = parquet.as_file().metadata().map(|m| m.len()).ok();
    let mut reader = File::open(parquet.path())
        .map_err(|e| Error::io("read the Parquet copy", parquet.path(), e))?;
    let object = project.put_object(&mut reader, "application/vnd.apache.parquet", size, job)?;

    job.progress("recording", 0, None);
    let tx = project.conn().unchecked_transaction().map_err(db)?;
    let now = audit::now();
    tx.execute(
        "INSERT OR IGNORE INTO datasets (name, created_at) VALUES (?1, ?2)",
        params![name, now],
    )
    .map_err(db)?;
    let dataset_id: i64 = tx
        .query_row("SELECT id FROM datasets WHERE name = ?1", [&name], |r| {
            r.get(0)
        })
        .map_err(db)?;
    let version: i64 = tx
        .query_row(
            "SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE dataset_id = ?1",
            [dataset_id],
            |r| r.get(0),
        )
        .map_err(db)?;
    tx.execute(
        "INSERT INTO dataset_versions (dataset_id, version, source_sha256, object_sha256, source_path, format, rows, columns, schema, imported_at, source_etag, source_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            dataset_id,
            version,
            source_sha256,
            object.sha256,
            origin.source,
            format.name(),
            rows as i64,
            width as i64,
            schema,
            now,
            origin.remote.and_then(|r| r.etag.clone()),
            origin.remote.and_then(|r| r.version.clone()),
        ],
    )
    .map_err(db)?;
    let version_id = tx.last_insert_rowid();
    profile.version = Some(version);
    let profile_json = serde_json::to_string(&profile).map_err(|e| Error::Compute {
        context: "cannot store the profile",
        detail: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO dataset_profiles (dataset_version_id, profile) VALUES (?1, ?2)",
        params![version_id, profile_json],
    )
    .map_err(db)?;
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "dataset.import",
            target: &format!("{name}@{version}"),
            details: serde_json::json!({
                "source": origin.source, "source_sha256": source_sha256, "object_sha256": object.sha256,
                "format": format.name(), "rows": rows, "columns": width,
                "etag": origin.remote.and_then(|r| r.etag.clone()),
            }),
        },
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(ImportOutcome {
        dataset: name,
        version,
        sha256: source_sha256,
        rows: rows as u64,
        columns: width as u64,
        new_version: true,
    })
}

/// Every dataset with its latest version, by name.
pub fn list(project: &Project) -> Result<Vec<DatasetSummary>> {
    let root = project.root();
    let mut stmt = project
        .conn()
        .prepare(
            "SELECT d.name, (SELECT count(*) FROM dataset_versions WHERE dataset_id = d.id), v.version, v.rows, v.columns, v.format, v.imported_at
             FROM datasets d JOIN dataset_versions v ON v.dataset_id = d.id
             WHERE v.version = (SELECT max(version) FROM dataset_versions WHERE dataset_id = d.id)
             ORDER BY d.name",
        )
        .map_err(|e| Error::db(root, e))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(DatasetSummary {
                dataset: r.get(0)?,
                versions: r.get(1)?,
                latest_version: r.get(2)?,
                rows: r.get::<_, i64>(3)? as u64,
                columns: r.get::<_, i64>(4)? as u64,
                format: r.get(5)?,
                imported_at: r.get(6)?,
            })
        })
        .map_err(|e| Error::db(root, e))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| Error::db(root, e))
}

/// Splits `NAME[@VERSION]`.
pub fn parse_reference(reference: &str) -> Result<(&str, Option<i64>)> {
    match reference.rsplit_once('@') {
        None => Ok((reference, None)),
        Some((name, v)) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => Ok((name, Some(n))),
            _ => Err(Error::NotFound {
                what: format!(
                    "'{v}' is not a version number in '{reference}'; use NAME or NAME@N (N ≥ 1)"
                ),
            }),
        },
    }
}

/// A stored dataset version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub id: i64,
    pub dataset: String,
    pub version: i64,
    /// The Parquet copy in the object store.
    pub object_sha256: String,
}

/// Finds `NAME[@VERSION]` (latest version by default).
pub fn resolve(project: &Project, reference: &str) -> Result<StoredVersion> {
    let (name, version) = parse_reference(reference)?;
    project
        .conn()
        .query_row(
            "SELECT v.id, v.version, v.object_sha256 FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
             WHERE d.name = ?1 AND (?2 IS NULL AND v.version = (SELECT max(version) FROM dataset_versions WHERE dataset_id = d.id) OR v.version = ?2)",
            params![name, version],
            |r| {
                Ok(StoredVersion {
                    id: r.get(0)?,
                    dataset: name.to_owned(),
                    version: r.get(1)?,
                    object_sha256: r.get(2)?,
                })
            },
        )
        .optional()
        .map_err(|e| Error::db(project.root(), e))?
        .ok_or_else(|| Error::NotFound {
            what: match version {
                Some(v) => format!("dataset '{name}' has no version {v}; see `lathe dataset list`"),
                None => format!("no dataset named '{name}' in this project; see `lathe dataset list`, or pass a file path"),
            },
        })
}

/// The stored profile of `NAME[@VERSION]` (latest version by default).
pub fn stored_profile(project: &Project, reference: &str) -> Result<Profile> {
    let version = resolve(project, reference)?;
    let root = project.root();
    let json: String = project
        .conn()
        .query_row(
            "SELECT profile FROM dataset_profiles WHERE dataset_version_id = ?1",
            [version.id],
            |r| r.get(0),
        )
        .map_err(|e| Error::db(root, e))?;
    serde_json::from_str(&json).map_err(|e| Error::Corrupt {
        path: root.to_path_buf(),
        detail: format!("stored profile of {reference}: {e}"),
    })
}

/// Profiles a file without a project (nothing is stored). A Parquet file is read a column
/// at a time, or in slices of rows when that is over the memory budget; a CSV file over the
/// budget is first written to a temporary Parquet file a slice at a time.
pub fn profile_file(path: &Path, options: &ReadOptions, job: &Job) -> Result<Profile> {
    let format = read::table_format(path, options)?;
    let limit = options.memory_limit();
    let name = default_name(path);
    let spill = std::env::temp_dir();
    if format == Format::Parquet {
        let table = stream::ParquetTable::open(path)?;
        if table.names.len() <= columns::MAX_READ_ONE_BY_ONE
            || !limit.fits(table.rows, table.names.len())
        {
            return profile_parquet(&name, table, limit, &spill, job);
        }
    } else if !stream::fits_whole(path, format, limit)? {
        let copy = tempfile::Builder::new()
            .prefix("lathe-profile-")
            .suffix(".parquet")
            .tempfile_in(&spill)
            .map_err(|e| Error::write("create a temporary file", &spill, e))?;
        stream::convert::to_parquet(path, format, options, copy.as_file(), limit, job)?;
        return stream::ParquetTable::open(copy.path())
            .and_then(|table| profile_parquet(&name, table, limit, &spill, job))
            .map_err(|e| e.naming(&path.display().to_string()));
    }
    let (frame, _) = read::read_table(path, options)?;
    profile::profile(&name, None, &frame, job)
}

/// Profiles the Parquet `table`: a column at a time when `limit` allows it, else
/// streamed in slices of rows, spilling into a folder made in `spill` (and removed after).
fn profile_parquet(
    name: &str,
    table: stream::ParquetTable,
    limit: stream::MemoryLimit,
    spill: &Path,
    job: &Job,
) -> Result<Profile> {
    if limit.fits(table.rows, table.names.len()) {
        return profile::profile_columns(name, None, &Columns::Parquet(table), job);
    }
    let folder = tempfile::Builder::new()
        .prefix("lathe-spill-")
        .tempdir_in(spill)
        .map_err(|e| Error::write("create a spill folder", spill, e))?;
    stream::profile::profile_parquet(name, None, &table, limit, folder.path(), job)
}
