//! Readers of MLflow's two stores, both read-only on the source.
//!
//! File store layout (`mlruns/`): `<experiment id>/meta.yaml`, `<experiment id>/tags/<key>`,
//! `<experiment id>/<run id>/{meta.yaml, params/<key>, tags/<key>, metrics/<key>}` (keys with `/`
//! are nested folders), `<run>/artifacts/`, deleted experiments under `.trash/`, and the registry
//! under `models/<name>/{meta.yaml, tags/, aliases/, version-N/meta.yaml}`. A metric file holds
//! one point a line: `<timestamp ms> <value> <step>` (no step means 0).
//!
//! SQLite store (`mlflow.db`): tables `experiments`, `experiment_tags`, `runs`, `params`, `tags`,
//! `metrics` (NaN stored as 0 with `is_nan = 1`; ±inf stored as ±f64::MAX, read back as ±inf),
//! and the registry in `registered_models`, `model_versions`, `registered_model_aliases`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rusqlite::{Connection, OpenFlags};
use yaml_rust2::{Yaml, YamlLoader};

use super::{
    Point, Skipped, Snapshot, SourceExperiment, SourceModel, SourceModelVersion, SourceRun,
    parse_value,
};
use crate::job::Job;
use crate::{Error, Result};

/// MLflow's `RunStatus` codes as the file store writes them.
fn status_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "RUNNING",
        2 => "SCHEDULED",
        3 => "FINISHED",
        4 => "FAILED",
        5 => "KILLED",
        _ => return None,
    })
}

const STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

fn bad(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn read_yaml(path: &Path) -> std::result::Result<Yaml, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read meta.yaml: {e}"))?;
    let docs =
        YamlLoader::load_from_str(&text).map_err(|e| format!("meta.yaml is not YAML: {e}"))?;
    match docs.into_iter().next() {
        Some(doc @ Yaml::Hash(_)) => Ok(doc),
        _ => Err("meta.yaml is empty or not a mapping".to_owned()),
    }
}

/// A scalar of a meta.yaml as text (MLflow quotes ids, but not always).
fn text(doc: &Yaml, key: &str) -> Option<String> {
    match &doc[key] {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn integer(doc: &Yaml, key: &str) -> std::result::Result<Option<i64>, String> {
    match &doc[key] {
        Yaml::Integer(i) => Ok(Some(*i)),
        Yaml::Null | Yaml::BadValue => Ok(None),
        Yaml::String(s) if s.is_empty() => Ok(None),
        Yaml::String(s) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} is not an integer: {s:?}")),
        other => Err(format!("{key} is not an integer: {other:?}")),
    }
}

/// The files of a key/value folder (`params/`, `tags/`): nested folders make keys with `/`.
fn key_files(dir: &Path) -> std::result::Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, d)) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && prefix.is_empty() => {
                return Ok(out);
            }
            Err(e) => return Err(format!("cannot list {}: {e}", d.display())),
        };
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", d.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            if path.is_dir() {
                stack.push((key, path));
            } else {
                out.push((key, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn key_values(dir: &Path) -> std::result::Result<BTreeMap<String, String>, String> {
    key_files(dir)?
        .into_iter()
        .map(|(k, p)| {
            fs::read_to_string(&p)
                .map(|v| (k.clone(), v))
                .map_err(|e| format!("cannot read {}: {e}", p.display()))
        })
        .collect()
}

/// One metric file. An unterminated last line is a point still being written: it is left for
/// the next import and reported.
fn metric_points(
    path: &Path,
    skipped: &mut Vec<String>,
) -> std::result::Result<Vec<Point>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut lines: Vec<&str> = text.split('\n').collect();
    let tail = lines.pop().unwrap_or_default();
    if !tail.trim().is_empty() {
        skipped.push(format!(
            "unterminated last line {tail:?} left for the next import"
        ));
    }
    let mut points = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let parsed = match fields.as_slice() {
            [ts, v] => ts.parse().ok().zip(parse_value(v)).map(|(t, v)| (t, v, 0)),
            [ts, v, step] => match (ts.parse().ok(), parse_value(v), step.parse().ok()) {
                (Some(t), Some(v), Some(s)) => Some((t, v, s)),
                _ => None,
            },
            _ => None,
        };
        let Some((timestamp, value, step)) = parsed else {
            return Err(format!(
                "line {} is not `<timestamp> <value> [<step>]`: {line:?}",
                i + 1
            ));
        };
        points.push(Point {
            step,
            timestamp,
            value,
        });
    }
    Ok(points)
}

/// Files under an artifact folder with their sizes, by path relative to it.
fn list_artifacts(dir: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => {
                    if let Ok(rel) = path.strip_prefix(dir) {
                        out.insert(rel.to_string_lossy().replace('\\', "/"), m.len());
                    }
                }
                Err(_) => {}
            }
        }
    }
    out
}

/// A `file:` artifact URI as a local folder. A store copied to another machine keeps the old
/// absolute paths: then the longest tail of the path that exists under `base` is used.
fn local_dir(uri: &str, base: &Path) -> Option<PathBuf> {
    let path = uri
        .strip_prefix("file://")
        .or_else(|| uri.strip_prefix("file:"))?;
    let path = Path::new(path);
    if path.is_dir() {
        return Some(path.to_path_buf());
    }
    let parts: Vec<_> = path.components().collect();
    (1..parts.len()).find_map(|i| {
        let candidate: PathBuf = base.join(parts[i..].iter().collect::<PathBuf>());
        candidate.is_dir().then_some(candidate)
    })
}

fn read_run(
    dir: &Path,
    experiment_id: &str,
    store: &Path,
) -> std::result::Result<(SourceRun, Vec<String>), String> {
    let meta_path = dir.join("meta.yaml");
    if !meta_path.exists() {
        return Err("no meta.yaml".to_owned());
    }
    let meta = read_yaml(&meta_path)?;
    let id = text(&meta, "run_id")
        .or_else(|| text(&meta, "run_uuid"))
        .ok_or("meta.yaml has no run_id")?;
    let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    if folder.as_deref() != Some(id.as_str()) {
        return Err(format!(
            "meta.yaml names run {id:?} but the folder is {folder:?}"
        ));
    }
    let status = match integer(&meta, "status")? {
        Some(code) => status_name(code).ok_or(format!("unknown status code {code}"))?,
        None => return Err("meta.yaml has no status".to_owned()),
    };
    let lifecycle_stage = text(&meta, "lifecycle_stage").unwrap_or_else(|| "active".to_owned());
    if lifecycle_stage != "active" && lifecycle_stage != "deleted" {
        return Err(format!("unknown lifecycle_stage {lifecycle_stage:?}"));
    }
    let mut notes = Vec::new();
    let mut metrics = BTreeMap::new();
    for (key, path) in key_files(&dir.join("metrics"))? {
        let mut tail = Vec::new();
        let points = metric_points(&path, &mut tail).map_err(|e| format!("metrics/{key}: {e}"))?;
        notes.extend(tail.into_iter().map(|t| format!("metrics/{key}: {t}")));
        metrics.insert(key, points);
    }
    let artifact_uri = text(&meta, "artifact_uri");
    let artifacts_dir = artifact_uri
        .as_deref()
        .and_then(|u| local_dir(u, store))
        .unwrap_or_else(|| dir.join("artifacts"));
    let mut tags = key_values(&dir.join("tags"))?;
    let name = text(&meta, "run_name")
        .filter(|n| !n.is_empty())
        .or_else(|| tags.get("mlflow.runName").cloned());
    if let Some(n) = &name {
        tags.entry("mlflow.runName".to_owned()).or_insert(n.clone());
    }
    Ok((
        SourceRun {
            id,
            experiment_id: experiment_id.to_owned(),
            name,
            status: status.to_owned(),
            lifecycle_stage,
            start_time: integer(&meta, "start_time")?,
            end_time: integer(&meta, "end_time")?,
            artifact_uri,
            params: key_values(&dir.join("params"))?,
            tags,
            metrics,
            artifacts: list_artifacts(&artifacts_dir),
        },
        notes,
    ))
}

pub(crate) fn read_file_store(root: &Path, job: &Job) -> Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    let mut experiment_dirs = Vec::new();
    for (parent, deleted) in [(root.to_path_buf(), false), (root.join(".trash"), true)] {
        let Ok(entries) = fs::read_dir(&parent) else {
            if deleted {
                continue;
            }
            return Err(bad(root, "cannot list the folder"));
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() && !name.starts_with('.') && name != "models" {
                experiment_dirs.push((path, deleted));
            }
        }
    }
    experiment_dirs.sort();
    let mut run_dirs = Vec::new();
    for (dir, deleted) in &experiment_dirs {
        let item = format!("experiment folder {}", rel(root, dir));
        let meta_path = dir.join("meta.yaml");
        if !meta_path.exists() {
            snapshot.skipped.push(Skipped {
                item,
                reason: "no meta.yaml: not an MLflow experiment".to_owned(),
            });
            continue;
        }
        let meta = match read_yaml(&meta_path) {
            Ok(m) => m,
            Err(reason) => {
                snapshot.skipped.push(Skipped { item, reason });
                continue;
            }
        };
        let (Some(id), Some(name)) = (text(&meta, "experiment_id"), text(&meta, "name")) else {
            snapshot.skipped.push(Skipped {
                item,
                reason: "meta.yaml lacks experiment_id or name".to_owned(),
            });
            continue;
        };
        let lifecycle_stage = if *deleted {
            "deleted".to_owned()
        } else {
            text(&meta, "lifecycle_stage").unwrap_or_else(|| "active".to_owned())
        };
        let tags = match key_values(&dir.join("tags")) {
            Ok(t) => t,
            Err(reason) => {
                snapshot.skipped.push(Skipped { item, reason });
                continue;
            }
        };
        snapshot.experiments.push(SourceExperiment {
            id: id.clone(),
            name,
            lifecycle_stage,
            tags,
        });
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() && name != "tags" && name != "datasets" && name != "traces" {
                run_dirs.push((id.clone(), path));
            }
        }
    }
    if snapshot.experiments.is_empty() && !root.join("models").is_dir() {
        let why = match snapshot.skipped.first() {
            Some(s) => format!(" ({}: {})", s.item, s.reason),
            None => String::new(),
        };
        return Err(bad(
            root,
            format!("not an MLflow file store: no experiment folder with a meta.yaml in it{why}"),
        ));
    }
    run_dirs.sort();
    let total = run_dirs.len() as u64;
    job.progress("reading runs", 0, Some(total));
    let done = std::sync::atomic::AtomicU64::new(0);
    let read: Vec<_> = run_dirs
        .par_iter()
        .map(|(experiment, dir)| {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_multiple_of(256) {
                job.progress("reading runs", n, Some(total));
            }
            if job.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            Ok((dir, read_run(dir, experiment, root)))
        })
        .collect::<Result<_>>()?;
    for (dir, result) in read {
        let item = format!("run folder {}", rel(root, dir));
        match result {
            Ok((run, notes)) => {
                snapshot
                    .skipped
                    .extend(notes.into_iter().map(|reason| Skipped {
                        item: item.clone(),
                        reason,
                    }));
                snapshot.runs.push(run);
            }
            Err(reason) => snapshot.skipped.push(Skipped { item, reason }),
        }
    }
    let (models, skipped) = read_file_registry(root, &snapshot.runs);
    snapshot.models = models;
    snapshot.skipped.extend(skipped);
    Ok(snapshot)
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn read_file_registry(root: &Path, runs: &[SourceRun]) -> (Vec<SourceModel>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let models_dir = root.join("models");
    let Ok(entries) = fs::read_dir(&models_dir) else {
        return (Vec::new(), skipped);
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut models = Vec::new();
    for dir in dirs {
        let item = format!("registered model {}", rel(root, &dir));
        let result = (|| -> std::result::Result<SourceModel, String> {
            let meta = read_yaml(&dir.join("meta.yaml"))?;
            let name = text(&meta, "name").ok_or("meta.yaml has no name")?;
            let mut aliases = BTreeMap::new();
            for (alias, path) in key_files(&dir.join("aliases"))? {
                let v = fs::read_to_string(&path).map_err(|e| e.to_string())?;
                aliases.insert(
                    alias,
                    v.trim()
                        .parse()
                        .map_err(|_| format!("alias points to {v:?}"))?,
                );
            }
            let mut versions = Vec::new();
            for entry in fs::read_dir(&dir).map_err(|e| e.to_string())?.flatten() {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                if !file_name.starts_with("version-") {
                    continue;
                }
                let vmeta = read_yaml(&entry.path().join("meta.yaml"))?;
                let version =
                    integer(&vmeta, "version")?.ok_or("version meta.yaml has no version")?;
                let run_id = text(&vmeta, "run_id");
                let source = text(&vmeta, "source");
                versions.push(SourceModelVersion {
                    version,
                    onnx_path: onnx_artifact(source.as_deref(), run_id.as_deref(), runs, root),
                    run_id,
                    source,
                    status: text(&vmeta, "status"),
                });
            }
            versions.sort_by_key(|v| v.version);
            Ok(SourceModel {
                name,
                tags: key_values(&dir.join("tags"))?,
                aliases,
                versions,
            })
        })();
        match result {
            Ok(m) => models.push(m),
            Err(reason) => skipped.push(Skipped { item, reason }),
        }
    }
    (models, skipped)
}

/// The `.onnx` file of a model version's artifact, when it has exactly one. Nothing is opened:
/// other flavours (pickles) are listed, never loaded.
fn onnx_artifact(
    source: Option<&str>,
    run_id: Option<&str>,
    runs: &[SourceRun],
    base: &Path,
) -> Option<PathBuf> {
    let source = source?;
    let dir = if let Some(rest) = source.strip_prefix("runs:/") {
        let (id, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let run = runs
            .iter()
            .find(|r| r.id == id || Some(r.id.as_str()) == run_id)?;
        local_dir(run.artifact_uri.as_deref()?, base)?.join(sub)
    } else {
        local_dir(source, base)?
    };
    let onnx: Vec<PathBuf> = list_artifacts(&dir)
        .into_keys()
        .filter(|p| p.ends_with(".onnx"))
        .map(|p| dir.join(p))
        .collect();
    (onnx.len() == 1).then(|| onnx[0].clone())
}

/// The columns Lathe reads from each table of an `mlflow.db`.
const REQUIRED: &[(&str, &[&str])] = &[
    ("experiments", &["experiment_id", "name", "lifecycle_stage"]),
    ("experiment_tags", &["key", "value", "experiment_id"]),
    (
        "runs",
        &[
            "run_uuid",
            "name",
            "status",
            "start_time",
            "end_time",
            "lifecycle_stage",
            "artifact_uri",
            "experiment_id",
        ],
    ),
    ("params", &["key", "value", "run_uuid"]),
    ("tags", &["key", "value", "run_uuid"]),
    (
        "metrics",
        &["key", "value", "timestamp", "run_uuid", "step", "is_nan"],
    ),
];

pub(crate) fn read_sqlite_store(path: &Path, job: &Job) -> Result<Snapshot> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| bad(path, format!("cannot open it as SQLite: {e}")))?;
    let sql = |e: rusqlite::Error| bad(path, format!("cannot read the MLflow tables: {e}"));
    // Millions of metric rows are scanned once: map the file rather than copying every page
    // through read(2) (measured: a third of the reading time on 5 M points).
    let _ = conn.pragma_update(None, "mmap_size", 1i64 << 34);
    let revision: Option<String> = conn
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .ok();
    for (table, columns) in REQUIRED {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .map_err(|e| bad(path, format!("not a SQLite database Lathe can read: {e}")))?;
        let present: Vec<String> = stmt
            .query_map([], |r| r.get(1))
            .and_then(|rows| rows.collect())
            .map_err(sql)?;
        if let Some(missing) = columns.iter().find(|c| !present.iter().any(|p| p == *c)) {
            let what = if present.is_empty() {
                format!("it has no `{table}` table")
            } else {
                format!("its `{table}` table has no `{missing}` column")
            };
            return Err(bad(
                path,
                format!(
                    "not an MLflow tracking database Lathe can read: {what} (schema revision {}); \
                     Lathe reads the schema of MLflow 1.x to 3.x",
                    revision.as_deref().unwrap_or("unknown")
                ),
            ));
        }
    }
    let mut snapshot = Snapshot::default();
    let mut exp_tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let triples = |query: &str| -> Result<Vec<(String, String, String)>> {
        conn.prepare(query)
            .and_then(|mut stmt| {
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .map_err(sql)
    };
    for (e, k, v) in triples(
        "SELECT CAST(experiment_id AS TEXT), key, coalesce(value, '') FROM experiment_tags",
    )? {
        exp_tags.entry(e).or_default().insert(k, v);
    }
    {
        let rows = triples(
            "SELECT CAST(experiment_id AS TEXT), name, coalesce(lifecycle_stage, 'active') FROM experiments ORDER BY experiment_id",
        )?;
        for (id, name, lifecycle_stage) in rows {
            let tags = exp_tags.remove(&id).unwrap_or_default();
            snapshot.experiments.push(SourceExperiment {
                id,
                name,
                lifecycle_stage,
                tags,
            });
        }
    }
    let mut runs: Vec<SourceRun> = Vec::new();
    let mut index = std::collections::HashMap::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT run_uuid, name, status, start_time, end_time, coalesce(lifecycle_stage, 'active'), artifact_uri,
                        CAST(experiment_id AS TEXT)
                 FROM runs ORDER BY experiment_id, run_uuid",
            )
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            let id: String = r.get(0).map_err(sql)?;
            let status: Option<String> = r.get(2).map_err(sql)?;
            let status = status.unwrap_or_default();
            if !STATUSES.contains(&status.as_str()) {
                snapshot.skipped.push(Skipped {
                    item: format!("run {id}"),
                    reason: format!("unknown status {status:?}"),
                });
                continue;
            }
            index.insert(id.clone(), runs.len());
            runs.push(SourceRun {
                id,
                name: r.get(1).map_err(sql)?,
                status,
                start_time: r.get(3).map_err(sql)?,
                end_time: r.get(4).map_err(sql)?,
                lifecycle_stage: r.get(5).map_err(sql)?,
                artifact_uri: r.get(6).map_err(sql)?,
                experiment_id: r
                    .get::<_, Option<String>>(7)
                    .map_err(sql)?
                    .unwrap_or_default(),
                params: BTreeMap::new(),
                tags: BTreeMap::new(),
                metrics: BTreeMap::new(),
                artifacts: BTreeMap::new(),
            });
        }
    }
    job.cancel.check()?;
    for (table, is_param) in [("params", true), ("tags", false)] {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT run_uuid, key, coalesce(value, '') FROM {table}"
            ))
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            let id: String = r.get(0).map_err(sql)?;
            if let Some(&i) = index.get(&id) {
                let (k, v) = (r.get(1).map_err(sql)?, r.get(2).map_err(sql)?);
                if is_param {
                    runs[i].params.insert(k, v);
                } else {
                    runs[i].tags.insert(k, v);
                }
            }
        }
    }
    job.cancel.check()?;
    // The metrics table is by far the largest (5 M rows for 10,000 runs of 500 points): it is
    // scanned in rowid ranges on every core, each on its own read-only connection, and the
    // ranges' points appended in rowid (logging) order.
    let (lo, hi): (i64, i64) = conn
        .query_row(
            "SELECT coalesce(min(rowid), 0), coalesce(max(rowid), -1) FROM metrics",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sql)?;
    let parts = rayon::current_num_threads().clamp(1, 8) as i64;
    let span = (hi - lo + 1).max(0);
    let ranges: Vec<(i64, i64)> = (0..parts)
        .map(|k| (lo + span * k / parts, lo + span * (k + 1) / parts - 1))
        .filter(|(a, b)| b >= a)
        .collect();
    let done = std::sync::atomic::AtomicU64::new(0);
    let chunks: Vec<MetricChunk> = ranges
        .par_iter()
        .map(|&(from, to)| scan_metrics(path, from, to, &index, job, &done))
        .collect::<Result<_>>()?;
    for chunk in chunks {
        for (i, key, points) in chunk {
            match runs[i].metrics.get_mut(&key) {
                Some(existing) => existing.extend(points),
                None => {
                    runs[i].metrics.insert(key, points);
                }
            }
        }
    }
    let base = path.parent().unwrap_or(Path::new("."));
    runs.par_iter_mut().for_each(|run| {
        if let Some(dir) = run.artifact_uri.as_deref().and_then(|u| local_dir(u, base)) {
            run.artifacts = list_artifacts(&dir);
        }
    });
    snapshot.models = read_sqlite_registry(&conn, &runs, base, &mut snapshot.skipped)?;
    snapshot.runs = runs;
    Ok(snapshot)
}

/// The points of one rowid range of `metrics`: (run index, key, points) in first-seen order.
type MetricChunk = Vec<(usize, String, Vec<Point>)>;

fn scan_metrics(
    path: &Path,
    from: i64,
    to: i64,
    index: &std::collections::HashMap<String, usize>,
    job: &Job,
    done: &std::sync::atomic::AtomicU64,
) -> Result<MetricChunk> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| bad(path, format!("cannot open it as SQLite: {e}")))?;
    let _ = conn.pragma_update(None, "mmap_size", 1i64 << 34);
    let sql = |e: rusqlite::Error| bad(path, format!("cannot read the MLflow metrics: {e}"));
    let mut stmt = conn
        .prepare(
            "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics
             WHERE rowid BETWEEN ?1 AND ?2 ORDER BY rowid",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([from, to]).map_err(sql)?;
    let mut out: MetricChunk = Vec::new();
    // Where each (run, key) of this range is in `out`.
    let mut slots: std::collections::HashMap<(usize, String), usize> =
        std::collections::HashMap::new();
    // Points come in batches per run and key: remember the last ones to skip most lookups, and
    // borrow the id and key text from SQLite instead of allocating them per point.
    let mut last_run: Option<(Vec<u8>, Option<usize>)> = None;
    let mut last_slot: Option<(usize, Vec<u8>, usize)> = None;
    let mut n = 0u64;
    while let Some(r) = rows.next().map_err(sql)? {
        n += 1;
        if n.is_multiple_of(262_144) {
            job.cancel.check()?;
            let total = done.fetch_add(262_144, std::sync::atomic::Ordering::Relaxed) + 262_144;
            job.progress("reading metrics", total, None);
        }
        let rusqlite::types::ValueRef::Text(id) = r.get_ref(0).map_err(sql)? else {
            continue;
        };
        let i = match &last_run {
            Some((previous, i)) if previous.as_slice() == id => *i,
            _ => {
                let i = index.get(String::from_utf8_lossy(id).as_ref()).copied();
                last_run = Some((id.to_vec(), i));
                i
            }
        };
        let Some(i) = i else { continue };
        let rusqlite::types::ValueRef::Text(key) = r.get_ref(1).map_err(sql)? else {
            return Err(bad(path, "a metric key is not text"));
        };
        let is_nan: bool = r.get::<_, Option<bool>>(5).map_err(sql)?.unwrap_or(false);
        let mut value: f64 = r.get(2).map_err(sql)?;
        if is_nan {
            value = f64::NAN;
        } else if value == f64::MAX {
            value = f64::INFINITY;
        } else if value == f64::MIN {
            value = f64::NEG_INFINITY;
        }
        let point = Point {
            step: r.get::<_, Option<i64>>(4).map_err(sql)?.unwrap_or(0),
            timestamp: r.get(3).map_err(sql)?,
            value,
        };
        let slot = match &last_slot {
            Some((run, k, slot)) if *run == i && k.as_slice() == key => *slot,
            _ => {
                let owned = String::from_utf8_lossy(key).into_owned();
                let slot = *slots.entry((i, owned.clone())).or_insert_with(|| {
                    out.push((i, owned, Vec::new()));
                    out.len() - 1
                });
                last_slot = Some((i, key.to_vec(), slot));
                slot
            }
        };
        out[slot].2.push(point);
    }
    Ok(out)
}

fn read_sqlite_registry(
    conn: &Connection,
    runs: &[SourceRun],
    base: &Path,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<SourceModel>> {
    let has = |t: &str| {
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [t],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0)
            > 0
    };
    if !has("registered_models") || !has("model_versions") {
        return Ok(Vec::new());
    }
    let read = || -> rusqlite::Result<Vec<SourceModel>> {
        let mut models: Vec<SourceModel> = conn
            .prepare("SELECT name FROM registered_models ORDER BY name")?
            .query_map([], |r| {
                Ok(SourceModel {
                    name: r.get(0)?,
                    tags: BTreeMap::new(),
                    aliases: BTreeMap::new(),
                    versions: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        for m in &mut models {
            if has("registered_model_tags") {
                let mut stmt = conn.prepare(
                    "SELECT key, coalesce(value, '') FROM registered_model_tags WHERE name = ?1",
                )?;
                m.tags = stmt
                    .query_map([&m.name], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
            }
            if has("registered_model_aliases") {
                let mut stmt = conn.prepare(
                    "SELECT alias, version FROM registered_model_aliases WHERE name = ?1",
                )?;
                m.aliases = stmt
                    .query_map([&m.name], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
            }
            let mut stmt = conn.prepare(
                "SELECT version, run_id, source, status FROM model_versions WHERE name = ?1 ORDER BY version",
            )?;
            m.versions = stmt
                .query_map([&m.name], |r| {
                    Ok(SourceModelVersion {
                        version: r.get(0)?,
                        run_id: r.get(1)?,
                        source: r.get(2)?,
                        status: r.get(3)?,
                        onnx_path: None,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            for v in &mut m.versions {
                v.onnx_path = onnx_artifact(v.source.as_deref(), v.run_id.as_deref(), runs, base);
            }
        }
        Ok(models)
    };
    match read() {
        Ok(models) => Ok(models),
        Err(e) => {
            skipped.push(Skipped {
                item: "model registry".to_owned(),
                reason: format!("unreadable: {e}"),
            });
            Ok(Vec::new())
        }
    }
}
