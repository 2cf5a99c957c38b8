//! Writes a [`Snapshot`] into the project in one transaction.
//!
//! Idempotence: a source is identified by its canonical path, an experiment by its id in the
//! source, a run by its id in its experiment. A run's attributes, params, tags and artifact list
//! are fingerprinted (sha256); a metric's history is rewritten only when the source holds a
//! different number of points or a different last point. So re-importing an unchanged source
//! writes nothing but the source's `last_imported_at` (and a source whose files' sizes and
//! modification times have not moved is not even read: see `stamp` in `mod.rs`), and
//! re-importing a store that a training
//! job is still writing adds only the new runs and points.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{ImportSummary, Point, Snapshot, SourceKind, SourceRun};
use crate::audit::{self, NewAuditEntry};
use crate::job::Job;
use crate::{Error, Project, Result};

/// Records that the source at `path` was imported whole as of `stamp` (see `unchanged`).
pub(crate) fn set_stamp(
    project: &Project,
    path: &Path,
    kind: SourceKind,
    stamp: Option<&str>,
) -> Result<()> {
    project
        .conn()
        .execute(
            "UPDATE run_sources SET stamp = ?1 WHERE path = ?2 AND kind = ?3",
            params![stamp, path.display().to_string(), kind.name()],
        )
        .map(|_| ())
        .map_err(|e| Error::db(project.root(), e))
}

/// The last point (step, timestamp) of every metric of every run the project holds from the
/// source recorded as `source`: by the source's run id, then metric key.
pub(crate) fn latest_points(project: &Project, source: &str) -> Result<LatestPoints> {
    let db = |e| Error::db(project.root(), e);
    let mut stmt = project
        .conn()
        .prepare(
            "SELECT r.source_run_id, m.key, m.last_step, m.last_timestamp FROM run_metrics m
             JOIN runs r ON r.id = m.run_id JOIN experiments e ON e.id = r.experiment_id
             JOIN run_sources s ON s.id = e.source_id WHERE s.path = ?1",
        )
        .map_err(db)?;
    let mut out = LatestPoints::new();
    let mut rows = stmt.query([source]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        out.entry(r.get(0).map_err(db)?).or_default().insert(
            r.get(1).map_err(db)?,
            (r.get(2).map_err(db)?, r.get(3).map_err(db)?),
        );
    }
    Ok(out)
}

/// See [`latest_points`].
pub(crate) type LatestPoints = HashMap<String, HashMap<String, (i64, i64)>>;

/// What a read of the changes of the tracking server recorded as `source` asks for (see
/// [`super::Read::Changes`]), or `None` when every run is to be read: the source was never
/// read, was read by other experiments than `experiments`, or not whole since
/// [`super::WHOLE_EVERY_MS`] before `now`.
pub(crate) fn changes_since(
    project: &Project,
    source: &str,
    experiments: &[String],
    now: i64,
) -> Result<Option<super::Changes>> {
    let db = |e| Error::db(project.root(), e);
    // (source id, experiments read by, read_at, read_whole_at)
    type Recorded = (i64, Option<String>, Option<i64>, Option<i64>);
    let recorded: Option<Recorded> = project
        .conn()
        .query_row(
            "SELECT id, experiments, read_at, read_whole_at FROM run_sources WHERE path = ?1",
            [source],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((id, read_by, Some(read_at), Some(whole_at))) = recorded else {
        return Ok(None);
    };
    if super::experiments_of(read_by) != experiments || now - whole_at > super::WHOLE_EVERY_MS {
        return Ok(None);
    }
    let strings = |sql: &str| -> Result<std::collections::HashSet<String>> {
        let mut stmt = project.conn().prepare(sql).map_err(db)?;
        stmt.query_map([id], |r| r.get(0))
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)
    };
    Ok(Some(super::Changes {
        since: read_at - super::SKEW_MS,
        deleted: strings(
            "SELECT r.source_run_id FROM runs r JOIN experiments e ON e.id = r.experiment_id
             WHERE e.source_id = ?1 AND r.lifecycle_stage = 'deleted'",
        )?,
        experiments: strings("SELECT source_experiment_id FROM experiments WHERE source_id = ?1")?,
    }))
}

pub(crate) fn write(
    project: &Project,
    path: &Path,
    kind: SourceKind,
    snapshot: Snapshot,
    stamp: Option<&str>,
    job: &Job,
) -> Result<ImportSummary> {
    let db = |e| Error::db(project.root(), e);
    // A large import writes hundreds of megabytes in one transaction: with SQLite's default
    // 2 MB page cache it spills pages to the WAL again and again. A larger cache for the
    // duration (restored below, whatever happens) keeps them in memory until the commit.
    let cache: i64 = project
        .conn()
        .pragma_query_value(None, "cache_size", |r| r.get(0))
        .map_err(db)?;
    project
        .conn()
        .pragma_update(None, "cache_size", -262_144i64)
        .map_err(db)?;
    let result = write_in_transaction(project, path, kind, snapshot, stamp, job);
    let _ = project.conn().pragma_update(None, "cache_size", cache);
    result
}

fn write_in_transaction(
    project: &Project,
    path: &Path,
    kind: SourceKind,
    snapshot: Snapshot,
    stamp: Option<&str>,
    job: &Job,
) -> Result<ImportSummary> {
    let root = project.root();
    let db = |e| Error::db(root, e);
    let now = audit::now();
    let path_text = path.display().to_string();
    let tx = project.conn().unchecked_transaction().map_err(db)?;
    let read_by = (!snapshot.read_by.is_empty())
        .then(|| serde_json::to_string(&snapshot.read_by).unwrap_or_else(|_| "[]".to_owned()));

    let existing_kind: Option<String> = tx
        .query_row(
            "SELECT kind FROM run_sources WHERE path = ?1",
            [&path_text],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    if let Some(existing) = existing_kind
        && existing != kind.name()
    {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            detail: format!(
                "this path was imported before as a {existing} source and now reads as {}; \
                 import it under another path",
                kind.name()
            ),
        });
    }
    // A read of changes keeps the time of the last whole read.
    let whole_at = snapshot.read_at.filter(|_| snapshot.since.is_none());
    tx.execute(
        "INSERT INTO run_sources (kind, path, first_imported_at, last_imported_at, stamp, experiments,
                                  read_at, read_whole_at)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (path) DO UPDATE SET last_imported_at = excluded.last_imported_at,
             stamp = excluded.stamp, experiments = excluded.experiments, read_at = excluded.read_at,
             read_whole_at = coalesce(excluded.read_whole_at, read_whole_at)",
        params![kind.name(), path_text, now, stamp, read_by, snapshot.read_at, whole_at],
    )
    .map_err(db)?;
    let source_id: i64 = tx
        .query_row(
            "SELECT id FROM run_sources WHERE path = ?1",
            [&path_text],
            |r| r.get(0),
        )
        .map_err(db)?;

    let mut experiment_ids = HashMap::new();
    {
        let mut upsert = tx
            .prepare(
                "INSERT INTO experiments (source_id, source_experiment_id, name, lifecycle_stage, tags)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (source_id, source_experiment_id) DO UPDATE
                 SET name = excluded.name, lifecycle_stage = excluded.lifecycle_stage, tags = excluded.tags
                 RETURNING id",
            )
            .map_err(db)?;
        for e in &snapshot.experiments {
            let tags = serde_json::to_string(&e.tags).unwrap_or_else(|_| "{}".to_owned());
            let id: i64 = upsert
                .query_row(
                    params![source_id, e.id, e.name, e.lifecycle_stage, tags],
                    |r| r.get(0),
                )
                .map_err(db)?;
            experiment_ids.insert(e.id.clone(), id);
        }
    }

    // What the project already holds of this source.
    let mut known: HashMap<(i64, String), (i64, String)> = HashMap::new();
    {
        let mut stmt = tx
            .prepare(
                "SELECT r.experiment_id, r.source_run_id, r.id, r.fingerprint
                 FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.source_id = ?1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([source_id], |r| {
                Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
            })
            .map_err(db)?;
        for row in rows {
            let (k, v) = row.map_err(db)?;
            known.insert(k, v);
        }
    }
    let mut series: HashMap<(i64, String), (i64, i64, i64)> = HashMap::new();
    {
        let mut stmt = tx
            .prepare(
                "SELECT m.run_id, m.key, m.points, m.last_step, m.last_timestamp
                 FROM run_metrics m JOIN runs r ON r.id = m.run_id JOIN experiments e ON e.id = r.experiment_id
                 WHERE e.source_id = ?1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([source_id], |r| {
                Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?, r.get(4)?)))
            })
            .map_err(db)?;
        for row in rows {
            let (k, v) = row.map_err(db)?;
            series.insert(k, v);
        }
    }

    // A new run is inserted; a changed one (same experiment and id, other fingerprint) keeps
    // its Lathe id and gets the source's attributes.
    let mut upsert_run = tx
        .prepare(
            "INSERT INTO runs (experiment_id, source_run_id, name, status, lifecycle_stage, start_time, end_time,
                               parent_source_run_id, artifact_uri, fingerprint, imported_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
             ON CONFLICT (experiment_id, source_run_id) DO UPDATE SET name = excluded.name,
                status = excluded.status, lifecycle_stage = excluded.lifecycle_stage,
                start_time = excluded.start_time, end_time = excluded.end_time,
                parent_source_run_id = excluded.parent_source_run_id, artifact_uri = excluded.artifact_uri,
                fingerprint = excluded.fingerprint, updated_at = excluded.updated_at
             RETURNING id",
        )
        .map_err(db)?;
    let mut insert_param = tx
        .prepare("INSERT INTO run_params (run_id, key, value) VALUES (?1, ?2, ?3)")
        .map_err(db)?;
    let mut insert_tag = tx
        .prepare("INSERT INTO run_tags (run_id, key, value) VALUES (?1, ?2, ?3)")
        .map_err(db)?;
    let mut insert_artifact = tx
        .prepare("INSERT INTO run_artifacts (run_id, path, size_bytes) VALUES (?1, ?2, ?3)")
        .map_err(db)?;
    let mut upsert_metric = tx
        .prepare(
            "INSERT INTO run_metrics (run_id, key, points, last, last_step, last_timestamp, min, min_step, max, max_step)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (run_id, key) DO UPDATE SET points = excluded.points, last = excluded.last,
                last_step = excluded.last_step, last_timestamp = excluded.last_timestamp,
                min = excluded.min, min_step = excluded.min_step, max = excluded.max,
                max_step = excluded.max_step",
        )
        .map_err(db)?;
    let mut upsert_history = tx
        .prepare(
            "INSERT INTO run_metric_histories (run_id, key, history) VALUES (?1, ?2, ?3)
             ON CONFLICT (run_id, key) DO UPDATE SET history = excluded.history",
        )
        .map_err(db)?;
    let mut delete_metric = tx
        .prepare("DELETE FROM run_metrics WHERE run_id = ?1 AND key = ?2")
        .map_err(db)?;
    let mut delete_history = tx
        .prepare("DELETE FROM run_metric_histories WHERE run_id = ?1 AND key = ?2")
        .map_err(db)?;

    let mut summary = ImportSummary {
        source: path_text.clone(),
        kind,
        experiments: snapshot.experiments.len() as u64,
        runs_new: 0,
        runs_updated: 0,
        runs_unchanged: 0,
        metric_points: 0,
        registered_models: snapshot.models.len() as u64,
        model_versions_registered: 0,
        skipped: snapshot.skipped,
        since: snapshot.since,
    };
    let total = snapshot.runs.len() as u64;
    for (i, run) in snapshot.runs.iter().enumerate() {
        if i.is_multiple_of(256) {
            job.cancel.check()?;
            job.progress("writing runs", i as u64, Some(total));
        }
        let Some(&experiment_id) = experiment_ids.get(&run.experiment_id) else {
            summary.skipped.push(super::Skipped {
                item: format!("run {}", run.id),
                reason: format!("its experiment {} is not in the source", run.experiment_id),
            });
            continue;
        };
        let fingerprint = fingerprint(run);
        let known_run = known.get(&(experiment_id, run.id.clone()));
        // Metrics the source says are unchanged: neither rewritten nor gone.
        if let (Some((id, _)), Some(kept)) = (known_run, snapshot.kept.get(&run.id)) {
            for key in kept {
                series.remove(&(*id, key.clone()));
            }
        }
        let changed = known_run.map(|(_, old)| *old != fingerprint);
        let run_id = match known_run {
            Some((id, _)) if changed == Some(false) => *id,
            _ => {
                let id: i64 = upsert_run
                    .query_row(
                        params![
                            experiment_id,
                            run.id,
                            run.name,
                            run.status,
                            run.lifecycle_stage,
                            run.start_time,
                            run.end_time,
                            run.parent(),
                            run.artifact_uri,
                            fingerprint,
                            now
                        ],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                if changed == Some(true) {
                    for table in ["run_params", "run_tags", "run_artifacts"] {
                        tx.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [id])
                            .map_err(db)?;
                    }
                }
                id
            }
        };
        if changed != Some(false) {
            for (k, v) in &run.params {
                insert_param.execute(params![run_id, k, v]).map_err(db)?;
            }
            for (k, v) in &run.tags {
                insert_tag.execute(params![run_id, k, v]).map_err(db)?;
            }
            for (p, size) in &run.artifacts {
                insert_artifact
                    .execute(params![run_id, p, *size as i64])
                    .map_err(db)?;
            }
        }
        let mut metrics_changed = false;
        for (key, points) in &run.metrics {
            let stored = series.remove(&(run_id, key.clone()));
            let s = summarise(points);
            if let Some((n, step, ts)) = stored
                && n == points.len() as i64
                && (step, ts) == (s.last_step, s.last_timestamp)
            {
                continue;
            }
            let before = stored.map_or(0, |(n, _, _)| n);
            summary.metric_points += (points.len() as i64 - before).max(0) as u64;
            metrics_changed = true;
            upsert_metric
                .execute(params![
                    run_id,
                    key,
                    points.len() as i64,
                    finite_or_null(s.last),
                    s.last_step,
                    s.last_timestamp,
                    s.min.map(|m| m.0),
                    s.min.map(|m| m.1),
                    s.max.map(|m| m.0),
                    s.max.map(|m| m.1),
                ])
                .map_err(db)?;
            upsert_history
                .execute(params![run_id, key, encode(points)])
                .map_err(db)?;
        }
        // Keys the project holds for this run that the source no longer has.
        if changed.is_some() {
            let gone: Vec<String> = series
                .keys()
                .filter(|(id, _)| *id == run_id)
                .map(|(_, k)| k.clone())
                .collect();
            for key in gone {
                series.remove(&(run_id, key.clone()));
                delete_metric.execute(params![run_id, key]).map_err(db)?;
                delete_history.execute(params![run_id, key]).map_err(db)?;
                metrics_changed = true;
            }
        }
        match changed {
            None => summary.runs_new += 1,
            Some(true) => summary.runs_updated += 1,
            Some(false) if metrics_changed => {
                tx.execute(
                    "UPDATE runs SET updated_at = ?2 WHERE id = ?1",
                    params![run_id, now],
                )
                .map_err(db)?;
                summary.runs_updated += 1;
            }
            Some(false) => summary.runs_unchanged += 1,
        }
    }
    drop((
        upsert_run,
        insert_param,
        insert_tag,
        insert_artifact,
        upsert_metric,
        upsert_history,
        delete_metric,
        delete_history,
    ));

    {
        let mut keys = std::collections::BTreeSet::new();
        for run in &snapshot.runs {
            keys.extend(run.metrics.keys().map(|k| ("metric", k.as_str())));
            keys.extend(run.params.keys().map(|k| ("param", k.as_str())));
            keys.extend(run.tags.keys().map(|k| ("tag", k.as_str())));
        }
        let mut insert = tx
            .prepare("INSERT OR IGNORE INTO run_keys (kind, key) VALUES (?1, ?2)")
            .map_err(db)?;
        for (kind, key) in keys {
            insert.execute(params![kind, key]).map_err(db)?;
        }
    }

    for model in &snapshot.models {
        let tags = serde_json::to_string(&model.tags).unwrap_or_else(|_| "{}".to_owned());
        let aliases = serde_json::to_string(&model.aliases).unwrap_or_else(|_| "{}".to_owned());
        let model_id: i64 = tx
            .query_row(
                "INSERT INTO source_models (source_id, name, tags, aliases) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (source_id, name) DO UPDATE SET tags = excluded.tags, aliases = excluded.aliases
                 RETURNING id",
                params![source_id, model.name, tags, aliases],
                |r| r.get(0),
            )
            .map_err(db)?;
        for v in &model.versions {
            tx.execute(
                "INSERT INTO source_model_versions (model_id, version, source_run_id, source, status, onnx_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (model_id, version) DO UPDATE SET source_run_id = excluded.source_run_id,
                     source = excluded.source, status = excluded.status, onnx_path = excluded.onnx_path,
                     -- A version whose artifact changed is registered again.
                     model_version_id = CASE WHEN onnx_path IS excluded.onnx_path THEN model_version_id END",
                params![
                    model_id,
                    v.version,
                    v.run_id,
                    v.source,
                    v.status,
                    v.onnx_path.as_ref().map(|p| p.display().to_string())
                ],
            )
            .map_err(db)?;
        }
    }

    job.progress("writing runs", total, Some(total));
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "runs.import",
            target: &path_text,
            details: serde_json::json!({
                "kind": kind.name(), "experiments": summary.experiments, "runs_new": summary.runs_new,
                "runs_updated": summary.runs_updated, "metric_points": summary.metric_points,
                "skipped": summary.skipped.len(),
            }),
        },
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(summary)
}

fn finite_or_null(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

/// The summaries stored next to a history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SeriesSummary {
    pub last: f64,
    pub last_step: i64,
    pub last_timestamp: i64,
    /// (value, step) of the smallest and largest non-NaN values (the first step on ties).
    pub min: Option<(f64, i64)>,
    pub max: Option<(f64, i64)>,
}

/// MLflow's "latest" value is the point with the largest (step, timestamp, value), not the
/// last one logged.
pub(crate) fn summarise(points: &[Point]) -> SeriesSummary {
    let mut last: Option<&Point> = None;
    let mut min: Option<(f64, i64)> = None;
    let mut max: Option<(f64, i64)> = None;
    for p in points {
        let later = match last {
            None => true,
            Some(l) => (p.step, p.timestamp)
                .cmp(&(l.step, l.timestamp))
                .then(p.value.total_cmp(&l.value))
                .is_gt(),
        };
        if later {
            last = Some(p);
        }
        if !p.value.is_nan() {
            if min.is_none_or(|(m, _)| p.value < m) {
                min = Some((p.value, p.step));
            }
            if max.is_none_or(|(m, _)| p.value > m) {
                max = Some((p.value, p.step));
            }
        }
    }
    let last = last.copied().unwrap_or(Point {
        step: 0,
        timestamp: 0,
        value: f64::NAN,
    });
    SeriesSummary {
        last: last.value,
        last_step: last.step,
        last_timestamp: last.timestamp,
        min,
        max,
    }
}

/// The format byte of a stored history (see [`encode`]).
const HISTORY_FORMAT: u8 = 1;

fn put_varint(out: &mut Vec<u8>, v: i64) {
    // Zigzag, then LEB128: steps and timestamps are deltas, small and mostly positive.
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        z |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    None
}

/// A history as stored: a format byte, then per point the step and the timestamp as
/// zigzag-varint deltas from the previous point and the value as 8 little-endian bytes (NaN and
/// infinities kept). Typically 10 bytes a point instead of 24.
pub(crate) fn encode(points: &[Point]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + points.len() * 11);
    out.push(HISTORY_FORMAT);
    let (mut step, mut ts) = (0i64, 0i64);
    for p in points {
        put_varint(&mut out, p.step.wrapping_sub(step));
        put_varint(&mut out, p.timestamp.wrapping_sub(ts));
        out.extend_from_slice(&p.value.to_le_bytes());
        (step, ts) = (p.step, p.timestamp);
    }
    out
}

/// Reads a history written by [`encode`]; a damaged blob gives the points before the damage.
pub(crate) fn decode(bytes: &[u8]) -> Vec<Point> {
    let mut out = Vec::new();
    if bytes.first() != Some(&HISTORY_FORMAT) {
        return out;
    }
    let mut at = 1;
    let (mut step, mut ts) = (0i64, 0i64);
    while at < bytes.len() {
        let (Some(ds), Some(dt)) = (get_varint(bytes, &mut at), get_varint(bytes, &mut at)) else {
            break;
        };
        let Some(raw) = bytes.get(at..at + 8) else {
            break;
        };
        at += 8;
        let mut b = [0u8; 8];
        b.copy_from_slice(raw);
        step = step.wrapping_add(ds);
        ts = ts.wrapping_add(dt);
        out.push(Point {
            step,
            timestamp: ts,
            value: f64::from_le_bytes(b),
        });
    }
    out
}

fn fingerprint(run: &SourceRun) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field(run.name.as_deref().unwrap_or("\u{0}"));
    field(&run.status);
    field(&run.lifecycle_stage);
    field(&format!("{:?} {:?}", run.start_time, run.end_time));
    field(run.artifact_uri.as_deref().unwrap_or("\u{0}"));
    for (k, v) in run.params.iter().chain(run.tags.iter()) {
        field(k);
        field(v);
    }
    field("artifacts");
    for (p, size) in &run.artifacts {
        field(p);
        field(&size.to_string());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_round_trips_with_nan_and_infinities() {
        let points = vec![
            Point {
                step: 0,
                timestamp: 5,
                value: 1.5,
            },
            Point {
                step: 1,
                timestamp: 6,
                value: f64::NAN,
            },
            Point {
                step: -2,
                timestamp: i64::MAX,
                value: f64::NEG_INFINITY,
            },
        ];
        let bytes = encode(&points);
        let back = decode(&bytes);
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], points[0]);
        assert!(back[1].value.is_nan());
        assert_eq!(back[2], points[2]);
        // A truncated blob gives the points before the cut, never garbage.
        assert_eq!(decode(&bytes[..bytes.len() - 3]).len(), 2);
        assert!(decode(&[]).is_empty());
        // Regular steps and timestamps cost two bytes a point besides the value.
        let regular: Vec<Point> = (0..1000)
            .map(|i| Point {
                step: i,
                timestamp: 1_764_000_000_000 + i * 100,
                value: i as f64,
            })
            .collect();
        assert!(
            encode(&regular).len() < 1000 * 11 + 16,
            "{}",
            encode(&regular).len()
        );
        assert_eq!(decode(&encode(&regular)), regular);
    }

    #[test]
    fn latest_is_by_step_then_time_not_logging_order() {
        let p = |step, timestamp, value| Point {
            step,
            timestamp,
            value,
        };
        let s = summarise(&[
            p(3, 10, 0.5),
            p(1, 20, 0.1),
            p(3, 9, 0.9),
            p(2, 30, f64::NAN),
        ]);
        assert_eq!((s.last, s.last_step, s.last_timestamp), (0.5, 3, 10));
        assert_eq!(s.min, Some((0.1, 1)));
        assert_eq!(s.max, Some((0.9, 3)));
        let nan = summarise(&[p(0, 0, f64::NAN)]);
        assert!(nan.last.is_nan() && nan.min.is_none());
    }
}
