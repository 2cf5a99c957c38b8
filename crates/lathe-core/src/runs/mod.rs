//! Experiment runs: import MLflow stores (the `mlruns/` file store and the `mlflow.db` SQLite
//! store) and Lathe's own run logs (JSONL, CSV), then query, compare and chart them.
//!
//! An import reads the whole source into a snapshot first (read-only, never touching the
//! project), then writes it in one transaction: a broken source changes nothing, and a re-import
//! adds only what is new (see `store.rs`). What a source holds that cannot be imported (a run
//! whose `meta.yaml` is garbled, a JSONL line that is not JSON) is skipped and named in the
//! [`ImportSummary`], never silently dropped.

mod browser;
pub mod chart;
mod compare;
mod fanova;
pub mod filter;
mod group;
pub mod importance;
mod load;
mod log;
mod mlflow;
mod models;
pub(crate) mod query;
mod record;
pub mod report;
mod server;
mod store;
mod tensorboard;
mod wandb;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::job::Job;
use crate::{Error, Project, Result};

pub use browser::RunBrowser;
pub use compare::{ComparedRun, ParamDiff, RunComparison, RunMetric, compare};
pub use group::{GroupStat, GroupSummary, group};
pub use load::{history, resolve_run};
pub use query::list;
pub use record::{Agg, MetricStat, RunQuery, RunRecord, RunsPage};

/// One logged value of a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub step: i64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub value: f64,
}

/// A metric value in JSON: a number, or the strings `"NaN"`, `"inf"`, `"-inf"` (JSON has no
/// such numbers, and MLflow users log them: a diverging loss is worth seeing). In TypeScript
/// bindings a field of this type is declared `number | string`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Value(pub f64);

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if v > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_f64(v)
        }
    }
}

/// Parses a metric value as written in logs: a number, or `NaN`, `inf`, `-inf`, `Infinity`.
pub fn parse_value(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "inf" | "Infinity" | "+inf" => Some(f64::INFINITY),
        "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// What kind of source a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SourceKind {
    /// An MLflow `mlruns/` folder.
    MlflowFile,
    /// An MLflow `mlflow.db`.
    MlflowSqlite,
    /// Lathe's JSONL run log.
    Jsonl,
    /// A CSV of one row per run (`mlflow.search_runs(...).to_csv()` works).
    Csv,
    /// An MLflow tracking server, by URL.
    MlflowServer,
    /// A TensorBoard log folder (`events.out.tfevents.*` files, a run per folder).
    Tensorboard,
    /// W&B runs logged offline: a `wandb/` folder, a run folder, or one `run-*.wandb` log.
    Wandb,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::MlflowFile => "mlflow-file",
            SourceKind::MlflowSqlite => "mlflow-sqlite",
            SourceKind::Jsonl => "jsonl",
            SourceKind::Csv => "csv",
            SourceKind::MlflowServer => "mlflow-server",
            SourceKind::Tensorboard => "tensorboard",
            SourceKind::Wandb => "wandb",
        }
    }

    /// Tells the kind from the path: a folder is an `mlruns/` store when it or a folder in it
    /// holds MLflow's `meta.yaml`, else W&B runs when `run-*.wandb` logs are below it, else a
    /// TensorBoard log folder when event files are below it (else an `mlruns/` store, whose
    /// reader says what is missing); `.jsonl`/`.ndjson` and `.csv` are run logs, `.wandb` a W&B
    /// run's log, and any other file must be a SQLite database.
    pub fn detect(path: &Path) -> Result<SourceKind> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
        if meta.is_dir() {
            let mlflow = path.join("meta.yaml").is_file()
                || std::fs::read_dir(path)
                    .map_err(|e| Error::io("list", path, e))?
                    .flatten()
                    .any(|e| e.path().join("meta.yaml").is_file());
            if !mlflow && wandb::holds_logs(path) {
                return Ok(SourceKind::Wandb);
            }
            if !mlflow && tensorboard::holds_event_files(path) {
                return Ok(SourceKind::Tensorboard);
            }
            return Ok(SourceKind::MlflowFile);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("jsonl" | "ndjson") => return Ok(SourceKind::Jsonl),
            Some("csv") => return Ok(SourceKind::Csv),
            Some("wandb") => return Ok(SourceKind::Wandb),
            _ => {}
        }
        let mut head = [0u8; 16];
        let n = std::io::Read::read(
            &mut std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?,
            &mut head,
        )
        .map_err(|e| Error::io("read", path, e))?;
        if n == 16 && &head == b"SQLite format 3\0" {
            Ok(SourceKind::MlflowSqlite)
        } else {
            Err(Error::BadInput {
                path: path.to_path_buf(),
                detail: "not a run source Lathe reads: expected an mlruns/ folder, an mlflow.db \
                         (SQLite), a .jsonl run log, a .csv of runs, a W&B run's .wandb log or a \
                         folder of them, or a TensorBoard log folder — this file is none of them \
                         (it is not a SQLite database)"
                    .to_owned(),
            })
        }
    }
}

/// An experiment as a source holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceExperiment {
    pub id: String,
    pub name: String,
    pub lifecycle_stage: String,
    pub tags: BTreeMap<String, String>,
}

/// A run as a source holds it, with every metric's full history in logging order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceRun {
    pub id: String,
    pub experiment_id: String,
    pub name: Option<String>,
    pub status: String,
    pub lifecycle_stage: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub artifact_uri: Option<String>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, Vec<Point>>,
    pub artifacts: BTreeMap<String, u64>,
}

impl SourceRun {
    pub fn parent(&self) -> Option<&str> {
        self.tags.get("mlflow.parentRunId").map(String::as_str)
    }
}

/// A registered model of MLflow's registry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceModel {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub aliases: BTreeMap<String, i64>,
    pub versions: Vec<SourceModelVersion>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceModelVersion {
    pub version: i64,
    pub run_id: Option<String>,
    pub source: Option<String>,
    pub status: Option<String>,
    pub onnx_path: Option<PathBuf>,
}

/// Everything read from one source, before anything is written.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub experiments: Vec<SourceExperiment>,
    pub runs: Vec<SourceRun>,
    pub models: Vec<SourceModel>,
    pub skipped: Vec<Skipped>,
    /// Metrics of runs (by the source's run id) that the source says have not changed since
    /// the project stored them: their histories were not read, and the store keeps its own.
    pub kept: std::collections::HashMap<String, std::collections::BTreeSet<String>>,
    /// The experiments (names or ids) a tracking server was read by; empty: all of them.
    pub read_by: Vec<String>,
    /// A tracking server: when this read started (ms since the epoch, this machine's clock).
    pub read_at: Option<i64>,
    /// A tracking server read by its changes since this time (ms), not whole.
    pub since: Option<i64>,
}

/// What a read of a server's changes asks for: of the experiments the project holds, the runs
/// started or ended after `since` (milliseconds since the epoch), the runs not finished
/// (`RUNNING`, `SCHEDULED`: still logging), every deleted run, and the runs the project holds
/// as deleted that no longer are (restored); of the others, every run. MLflow keeps no
/// last-update time for a run, so a tag set or a point logged on a finished run without ending
/// it again is seen only by a read of every run.
#[derive(Debug)]
pub(crate) struct Changes {
    pub since: i64,
    /// Run ids the project holds as deleted.
    pub deleted: std::collections::HashSet<String>,
    /// The experiment ids the project holds of this server: the runs of any other experiment
    /// are all read.
    pub experiments: std::collections::HashSet<String>,
}

/// Something in a source that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Skipped {
    /// What: a run folder, `line 12`, a metric file.
    pub item: String,
    pub reason: String,
}

/// What an import did: the `lathe runs import --json` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportSummary {
    pub source: String,
    pub kind: SourceKind,
    pub experiments: u64,
    pub runs_new: u64,
    pub runs_updated: u64,
    pub runs_unchanged: u64,
    /// Metric points added by this import.
    pub metric_points: u64,
    /// Registered models found in the source's MLflow registry.
    pub registered_models: u64,
    /// MLflow versions with an ONNX artifact that became Lathe model versions in this import.
    pub model_versions_registered: u64,
    pub skipped: Vec<Skipped>,
    /// A tracking server read by its changes: only the runs started or ended after this time
    /// (ms since the epoch), unfinished, deleted or restored were read, and the counts are of
    /// those. `None`: every run was read.
    pub since: Option<i64>,
}

/// How much of an MLflow tracking server an import reads (a local source is read whole, or
/// not at all when its files have not changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Read {
    /// Only the runs that can have changed since the last read: started or ended since (less
    /// [`SKEW_MS`] for the clocks of the machines that log runs), unfinished, deleted or
    /// restored. Every run, when the source was never read, was read by other experiments, or
    /// was last read whole more than [`WHOLE_EVERY_MS`] ago: MLflow keeps no last-update time
    /// for a run, so a tag set or a point logged on a finished run is seen only by a whole read.
    #[default]
    Changes,
    /// Every run (`lathe runs import --full`, the desktop's Sync now).
    Everything,
}

/// How far the clocks of the machines that log runs may be behind this one's: a read of
/// changes asks for runs started or ended up to this long before the last read began.
pub const SKEW_MS: i64 = 5 * 60 * 1000;
/// A read of changes reads every run when the last whole read is older than this.
pub const WHOLE_EVERY_MS: i64 = 60 * 60 * 1000;

/// Imports (or re-imports) the run source at `path` into the project: a local source, or an
/// MLflow tracking server when `path` is an `http(s)://` URL.
pub fn import(project: &Project, path: &Path, job: &Job) -> Result<ImportSummary> {
    import_from(project, path, &[], Read::Changes, job)
}

/// [`import`], reading only the experiments named or numbered in `experiments` (all when it is
/// empty) of an MLflow tracking server, as much of it as `read` says.
pub fn import_from(
    project: &Project,
    path: &Path,
    experiments: &[String],
    read: Read,
    job: &Job,
) -> Result<ImportSummary> {
    if let Some(url) = path.to_str().filter(|p| server::is_server(p)) {
        return import_server(project, url, experiments, read, job);
    }
    if !experiments.is_empty() {
        return Err(Error::BadArgument {
            argument: "--experiment",
            detail: "only an MLflow tracking server (an http(s):// URL) is read by experiment"
                .to_owned(),
        });
    }
    let kind = SourceKind::detect(path)?;
    let canonical = path
        .canonicalize()
        .map_err(|e| Error::io("resolve", path, e))?;
    // Taken before reading: a source that changes while it is read gets a new stamp, so the
    // next import reads it again.
    let stamp = stamp(&canonical, kind);
    if let Some(summary) = unchanged(project, &canonical, kind, stamp.as_deref())? {
        return Ok(summary);
    }
    job.progress("reading runs", 0, None);
    let snapshot = read_source(&canonical, kind, job)?;
    job.cancel.check()?;
    // The stamp, which lets the next import skip an unchanged source, is recorded last: an
    // import stopped between its runs and the registration of its ONNX versions is then done
    // again in full (adding nothing twice) and finishes them.
    let mut summary = store::write(project, &canonical, kind, snapshot, None, job)?;
    adopt_versions(project, &canonical, None, &mut summary, job)?;
    store::set_stamp(project, &canonical, kind, stamp.as_deref())?;
    Ok(summary)
}

/// Reads a local run source of `kind` (never a server: `detect` does not name one).
fn read_source(path: &Path, kind: SourceKind, job: &Job) -> Result<Snapshot> {
    match kind {
        SourceKind::MlflowFile => mlflow::read_file_store(path, job),
        SourceKind::MlflowSqlite => mlflow::read_sqlite_store(path, job),
        SourceKind::Jsonl => log::read_jsonl(path),
        SourceKind::Csv => log::read_csv(path),
        SourceKind::Tensorboard => tensorboard::read(path, job),
        SourceKind::Wandb => wandb::read(path, job),
        SourceKind::MlflowServer => Err(Error::bad_argument(
            "path",
            format!("{} is a server, not a local run source", path.display()),
        )),
    }
}

/// The files below `root` whose names `keep` accepts, at most `depth` folders down, in path
/// order. Hidden folders and symbolic links are not followed, so a folder linked twice
/// (W&B's `latest-run`) is read once.
pub(crate) fn files_below(
    root: &Path,
    depth: usize,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, below)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list", &dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let kind = entry.file_type().map_err(|e| Error::io("list", &dir, e))?;
            if kind.is_dir() {
                if !name.starts_with('.') && below < depth {
                    stack.push((entry.path(), below + 1));
                }
            } else if !kind.is_symlink() && keep(&name) {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// What a local run source holds, read as `lathe runs import` reads it but stored nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRead {
    pub kind: SourceKind,
    pub experiments: usize,
    pub runs: usize,
    pub models: usize,
    /// What the read skipped, each with why.
    pub skipped: usize,
}

/// Reads the local run source at `path` (an `mlruns/` folder, an `mlflow.db`, a `.jsonl` log,
/// a `.csv` of runs) without a project: what an import would store, or the error it would
/// refuse with. The hostile-input tests drive every run parser through it.
pub fn read_local(path: &Path, job: &Job) -> Result<SourceRead> {
    let kind = SourceKind::detect(path)?;
    let s = read_source(path, kind, job)?;
    Ok(SourceRead {
        kind,
        experiments: s.experiments.len(),
        runs: s.runs.len(),
        models: s.models.len(),
        skipped: s.skipped.len(),
    })
}

/// After the runs are in (so the versions have their runs as lineage): registers the source's
/// ONNX versions in Lathe; a version that cannot be registered is a skip, not a failed import.
fn adopt_versions(
    project: &Project,
    source: &Path,
    fetch: Option<models::Fetch<'_>>,
    summary: &mut ImportSummary,
    job: &Job,
) -> Result<()> {
    if summary.registered_models > 0 {
        job.progress("registering ONNX model versions", 0, None);
        let adopted = models::adopt(project, source, fetch, job)?;
        summary.model_versions_registered = adopted.new;
        summary.skipped.extend(adopted.skipped);
    }
    Ok(())
}

/// Imports the runs of an MLflow tracking server: recorded under its URL without credentials.
fn import_server(
    project: &Project,
    url: &str,
    experiments: &[String],
    read: Read,
    job: &Job,
) -> Result<ImportSummary> {
    let shown = server::display_url(url)?;
    let read_at = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let changes = match read {
        Read::Everything => None,
        Read::Changes => store::changes_since(project, &shown, experiments, read_at)?,
    };
    let stored = store::latest_points(project, &shown)?;
    job.progress("reading runs", 0, None);
    let mut snapshot = server::read_server(url, experiments, &stored, changes.as_ref(), job)?;
    snapshot.read_at = Some(read_at);
    snapshot.since = changes.map(|c| c.since);
    job.cancel.check()?;
    let source = Path::new(&shown);
    let mut summary = store::write(
        project,
        source,
        SourceKind::MlflowServer,
        snapshot,
        None,
        job,
    )?;
    let fetch = |artifact: &str, dir: &Path| server::download(url, artifact, dir);
    adopt_versions(project, source, Some(&fetch), &mut summary, job)?;
    Ok(summary)
}

fn file_stamp(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{}:{}", meta.len(), modified.as_nanos()))
}

/// The sizes and modification times of a source's files: for a folder every file below it
/// (stat only, nothing is read), for an `mlflow.db` the database and its WAL.
fn stamp(path: &Path, kind: SourceKind) -> Option<String> {
    match kind {
        SourceKind::Wandb if path.is_file() => file_stamp(path),
        SourceKind::MlflowFile | SourceKind::Tensorboard | SourceKind::Wandb => {
            let (mut files, mut bytes, mut latest) = (0u64, 0u64, 0u128);
            let mut stack = vec![path.to_path_buf()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).ok()?.flatten() {
                    let meta = entry.metadata().ok()?;
                    let modified = meta
                        .modified()
                        .ok()?
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?
                        .as_nanos();
                    latest = latest.max(modified);
                    if meta.is_dir() {
                        stack.push(entry.path());
                    } else {
                        files += 1;
                        bytes += meta.len();
                    }
                }
            }
            Some(format!("{files}:{bytes}:{latest}"))
        }
        SourceKind::MlflowSqlite => {
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            Some(format!(
                "{}|{}",
                file_stamp(path)?,
                file_stamp(Path::new(&wal)).unwrap_or_default()
            ))
        }
        SourceKind::Jsonl | SourceKind::Csv => file_stamp(path),
        SourceKind::MlflowServer => None,
    }
}

/// The summary of a re-import of a source whose files have not changed since its last
/// import, without reading it; `None` when it must be read.
fn unchanged(
    project: &Project,
    path: &Path,
    kind: SourceKind,
    stamp: Option<&str>,
) -> Result<Option<ImportSummary>> {
    use rusqlite::OptionalExtension;
    let Some(stamp) = stamp else { return Ok(None) };
    let found: Option<(i64, i64)> = project
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM experiments e WHERE e.source_id = s.id),
                    (SELECT count(*) FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.source_id = s.id)
             FROM run_sources s WHERE s.path = ?1 AND s.kind = ?2 AND s.stamp = ?3",
            rusqlite::params![path.display().to_string(), kind.name(), stamp],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| Error::db(project.root(), e))?;
    Ok(found.map(|(experiments, runs)| ImportSummary {
        source: path.display().to_string(),
        kind,
        experiments: experiments as u64,
        runs_new: 0,
        runs_updated: 0,
        runs_unchanged: runs as u64,
        metric_points: 0,
        registered_models: 0,
        model_versions_registered: 0,
        skipped: Vec::new(),
        since: None,
    }))
}

/// A run source imported into the project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunSource {
    pub path: String,
    pub kind: String,
    pub runs: u64,
    pub last_imported_at: String,
    /// The experiments (names or ids) a tracking server source is read by; empty: all of them.
    pub experiments: Vec<String>,
}

/// Every imported source, by path.
pub fn sources(project: &Project) -> Result<Vec<RunSource>> {
    let db = |e| Error::db(project.root(), e);
    let mut stmt = project
        .conn()
        .prepare(
            "SELECT s.path, s.kind, s.last_imported_at,
                    (SELECT count(*) FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.source_id = s.id),
                    s.experiments
             FROM run_sources s ORDER BY s.path",
        )
        .map_err(db)?;
    stmt.query_map([], |r| {
        let experiments: Option<String> = r.get(4)?;
        Ok(RunSource {
            path: r.get(0)?,
            kind: r.get(1)?,
            last_imported_at: r.get(2)?,
            runs: r.get::<_, i64>(3)? as u64,
            experiments: experiments_of(experiments),
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(db)
}

/// Imports an imported source again as it was imported: a tracking server by the experiments
/// it was read by, as much of it as `read` says. What the desktop's watch (its changes) and its
/// Sync now button (everything) do.
pub fn sync(project: &Project, path: &str, read: Read, job: &Job) -> Result<ImportSummary> {
    use rusqlite::OptionalExtension;
    // One row by its key, not `sources` (which counts every source's runs): a watch syncs
    // every few seconds.
    let recorded: Option<Option<String>> = project
        .conn()
        .query_row(
            "SELECT experiments FROM run_sources WHERE path = ?1",
            [path],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| Error::db(project.root(), e))?;
    let experiments = experiments_of(recorded.flatten());
    import_from(project, Path::new(path), &experiments, read, job)
}

/// `run_sources.experiments` as a list: NULL (every experiment) as none.
fn experiments_of(recorded: Option<String>) -> Vec<String> {
    recorded
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// A registered model found in an MLflow source's registry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RegisteredModel {
    pub source: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub aliases: BTreeMap<String, i64>,
    pub versions: Vec<RegisteredVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RegisteredVersion {
    pub version: i64,
    pub run_id: Option<String>,
    pub source: Option<String>,
    pub status: Option<String>,
    /// The version's `.onnx` artifact; versions without one are listed and never loaded.
    pub onnx_path: Option<String>,
    /// The Lathe model version it was registered as (`NAME@VERSION`).
    pub lathe_version: Option<String>,
}

/// Every registered model of every imported MLflow source.
pub fn registered_models(project: &Project) -> Result<Vec<RegisteredModel>> {
    let db = |e| Error::db(project.root(), e);
    let conn = project.conn();
    let mut stmt = conn
        .prepare(
            "SELECT m.id, s.path, m.name, m.tags, m.aliases FROM source_models m
             JOIN run_sources s ON s.id = m.source_id ORDER BY m.name, s.path",
        )
        .map_err(db)?;
    let rows: Vec<(i64, String, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .and_then(|rows| rows.collect())
        .map_err(db)?;
    let mut versions = conn
        .prepare(
            "SELECT v.version, v.source_run_id, v.source, v.status, v.onnx_path, m.name || '@' || mv.version
             FROM source_model_versions v LEFT JOIN model_versions mv ON mv.id = v.model_version_id
             LEFT JOIN models m ON m.id = mv.model_id
             WHERE v.model_id = ?1 ORDER BY v.version",
        )
        .map_err(db)?;
    rows.into_iter()
        .map(|(id, source, name, tags, aliases)| {
            Ok(RegisteredModel {
                source,
                name,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                versions: versions
                    .query_map([id], |r| {
                        Ok(RegisteredVersion {
                            version: r.get(0)?,
                            run_id: r.get(1)?,
                            source: r.get(2)?,
                            status: r.get(3)?,
                            onnx_path: r.get(4)?,
                            lathe_version: r.get(5)?,
                        })
                    })
                    .and_then(|rows| rows.collect())
                    .map_err(db)?,
            })
        })
        .collect()
}
