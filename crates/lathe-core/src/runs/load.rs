//! Runs read from the project's tables: whole records (`load`, `load_in_order`), the lean form
//! a listing keeps of every run (only the keys a filter and sort read, as flat per-key arrays),
//! metric histories, the key lists, and resolving a run given by a person.

use std::collections::{BTreeMap, HashMap};

use rusqlite::params;

use super::filter::{self, Field, MetricValues, RunView};
use super::record::*;
use super::{Point, Value, store};
use crate::{Error, Project, Result};

pub(super) fn db(project: &Project) -> impl Fn(rusqlite::Error) -> Error + '_ {
    |e| Error::db(project.root(), e)
}

/// Loads runs with their params, tags and metric summaries. `ids` limits to those runs.
pub(crate) fn load(
    project: &Project,
    include_deleted: bool,
    ids: Option<&[i64]>,
) -> Result<Vec<RunRecord>> {
    load_with(project, include_deleted, ids)
}

/// Which metric, param and tag keys to load (a lean load for filtering and sorting).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Keys {
    pub metrics: Vec<String>,
    pub params: Vec<String>,
    pub tags: Vec<String>,
    /// Whether the runs' artifact URIs are read (long, and rarely filtered on).
    pub artifact_uri: bool,
}

pub(super) fn sql_list(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("'{}'", k.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn load_with(
    project: &Project,
    include_deleted: bool,
    ids: Option<&[i64]>,
) -> Result<Vec<RunRecord>> {
    let db = db(project);
    let conn = project.conn();
    let restrict = match ids {
        Some(ids) => format!(
            " AND r.id IN ({})",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        ),
        None => String::new(),
    };
    let deleted = if include_deleted {
        ""
    } else {
        " AND r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'"
    };
    let mut runs = Vec::new();
    let mut index = HashMap::new();
    // Per experiment: its name and its source's id and path.
    let mut experiments: HashMap<i64, (String, i64, String)> = HashMap::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT e.id, e.name, s.id, s.path FROM experiments e JOIN run_sources s ON s.id = e.source_id",
            )
            .map_err(&db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
            .map_err(&db)?;
        for row in rows {
            let (id, e) = row.map_err(&db)?;
            experiments.insert(id, e);
        }
    }
    let mut source_of = Vec::new();
    {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT r.id, r.source_run_id, r.experiment_id, r.name, r.status, r.lifecycle_stage, r.start_time,
                        r.end_time, r.parent_source_run_id, r.artifact_uri
                 FROM runs r JOIN experiments e ON e.id = r.experiment_id
                 WHERE 1 = 1{deleted}{restrict} ORDER BY r.id"
            ))
            .map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        while let Some(r) = rows.next().map_err(&db)? {
            let id: i64 = r.get(0).map_err(&db)?;
            let experiment_id: i64 = r.get(2).map_err(&db)?;
            let (experiment, source_id, source) =
                experiments.get(&experiment_id).cloned().unwrap_or_default();
            index.insert(id, runs.len());
            source_of.push(source_id);
            runs.push(RunRecord {
                id,
                source_run_id: r.get(1).map_err(&db)?,
                experiment,
                source,
                name: r.get(3).map_err(&db)?,
                status: r.get(4).map_err(&db)?,
                lifecycle_stage: r.get(5).map_err(&db)?,
                start_time: r.get(6).map_err(&db)?,
                end_time: r.get(7).map_err(&db)?,
                parent_run_id: r.get(8).map_err(&db)?,
                artifact_uri: r.get(9).map_err(&db)?,
                parent: None,
                params: BTreeMap::new(),
                tags: BTreeMap::new(),
                metrics: BTreeMap::new(),
            });
        }
    }
    // Parents: Lathe's id of the run with the parent's id in the same source.
    let mut by_source_id: HashMap<(i64, &str), i64> = HashMap::new();
    for (r, source) in runs.iter().zip(&source_of) {
        by_source_id.insert((*source, r.source_run_id.as_str()), r.id);
    }
    let mut missing: Vec<String> = Vec::new();
    let mut parents = Vec::with_capacity(runs.len());
    for (r, source) in runs.iter().zip(&source_of) {
        let p = r.parent_run_id.as_deref().and_then(|p| {
            let found = by_source_id.get(&(*source, p)).copied();
            if found.is_none() {
                missing.push(p.to_owned());
            }
            found
        });
        parents.push(p);
    }
    if !missing.is_empty() {
        // Parents outside the loaded set (deleted, or not asked for).
        let mut stmt = conn
            .prepare(&format!(
                "SELECT r.id, r.source_run_id, e.source_id FROM runs r JOIN experiments e ON e.id = r.experiment_id
                 WHERE r.source_run_id IN ({})",
                sql_list(&missing)
            ))
            .map_err(&db)?;
        let found: Vec<(i64, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect())
            .map_err(&db)?;
        for ((r, source), p) in runs.iter().zip(&source_of).zip(parents.iter_mut()) {
            if p.is_none()
                && let Some(parent) = r.parent_run_id.as_deref()
            {
                *p = found
                    .iter()
                    .find(|(_, id, s)| id == parent && s == source)
                    .map(|f| f.0);
            }
        }
    }
    drop(by_source_id);
    for (r, p) in runs.iter_mut().zip(parents) {
        r.parent = p;
    }
    let ids_clause = ids.map(|ids| {
        format!(
            "run_id IN ({})",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )
    });
    let filter = ids_clause.map_or(String::new(), |c| format!(" WHERE {c}"));
    for (table, params) in [("run_params", true), ("run_tags", false)] {
        let mut stmt = conn
            .prepare(&format!("SELECT run_id, key, value FROM {table}{filter}"))
            .map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        while let Some(r) = rows.next().map_err(&db)? {
            let Some(&i) = index.get(&r.get::<_, i64>(0).map_err(&db)?) else {
                continue;
            };
            let (k, v): (String, String) = (r.get(1).map_err(&db)?, r.get(2).map_err(&db)?);
            if params {
                runs[i].params.insert(k, v);
            } else {
                runs[i].tags.insert(k, v);
            }
        }
    }
    let sql = format!(
        "SELECT run_id, key, last, last_step, min, min_step, max, max_step, points FROM run_metrics{filter}"
    );
    let mut stmt = conn.prepare(&sql).map_err(&db)?;
    let mut rows = stmt.query([]).map_err(&db)?;
    while let Some(r) = rows.next().map_err(&db)? {
        let Some(&i) = index.get(&r.get::<_, i64>(0).map_err(&db)?) else {
            continue;
        };
        let key: String = r.get(1).map_err(&db)?;
        let stat = MetricStat {
            last: Value(r.get::<_, Option<f64>>(2).map_err(&db)?.unwrap_or(f64::NAN)),
            last_step: r.get(3).map_err(&db)?,
            min: r.get::<_, Option<f64>>(4).map_err(&db)?.map(Value),
            min_step: r.get(5).map_err(&db)?,
            max: r.get::<_, Option<f64>>(6).map_err(&db)?.map(Value),
            max_step: r.get(7).map_err(&db)?,
            steps: r.get::<_, i64>(8).map_err(&db)? as u64,
        };
        runs[i].metrics.insert(key, stat);
    }
    Ok(runs)
}

/// Every run of a project in the lean form a listing filters and sorts: the attributes, and
/// only the params, tags and metrics the query reads (`keys`), stored per run in `keys`' order.
/// Flat arrays rather than a map per run: a listing of 10,000 runs allocates a few thousand
/// times, not a hundred thousand.
#[derive(Debug)]
pub(crate) struct LeanRuns {
    pub(super) keys: Keys,
    pub(super) experiments: Vec<String>,
    /// In Lathe's id order.
    pub(super) runs: Vec<LeanRun>,
    pub(super) params: Vec<Option<Box<str>>>,
    pub(super) tags: Vec<Option<Box<str>>>,
    pub(super) metrics: Vec<Option<MetricValues>>,
}

#[derive(Debug)]
pub(super) struct LeanRun {
    pub(super) id: i64,
    /// An index into [`LeanRuns::experiments`].
    pub(super) experiment: usize,
    pub(super) source_run_id: Box<str>,
    pub(super) name: Option<Box<str>>,
    pub(super) status: Box<str>,
    pub(super) lifecycle_stage: Box<str>,
    pub(super) start_time: Option<i64>,
    pub(super) end_time: Option<i64>,
    pub(super) parent_run_id: Option<Box<str>>,
    pub(super) artifact_uri: Option<Box<str>>,
}

/// One run of a [`LeanRuns`], as filters and sorts read it.
pub(super) struct LeanView<'a> {
    pub(super) all: &'a LeanRuns,
    pub(super) i: usize,
}

impl LeanRuns {
    pub(super) fn view(&self, i: usize) -> LeanView<'_> {
        LeanView { all: self, i }
    }

    pub(super) fn experiment(&self, i: usize) -> &str {
        &self.experiments[self.runs[i].experiment]
    }
}

pub(super) fn slot<'a, T>(values: &'a [T], keys: &[String], i: usize, key: &str) -> Option<&'a T> {
    let k = keys.iter().position(|p| p == key)?;
    values.get(i * keys.len() + k)
}

pub(super) fn lean_text(v: &Option<Box<str>>) -> Field<'_> {
    v.as_deref().map_or(Field::Missing, Field::Text)
}

impl RunView for LeanView<'_> {
    fn param(&self, key: &str) -> Option<&str> {
        slot(&self.all.params, &self.all.keys.params, self.i, key)?.as_deref()
    }

    fn tag(&self, key: &str) -> Option<&str> {
        slot(&self.all.tags, &self.all.keys.tags, self.i, key)?.as_deref()
    }

    fn metric(&self, key: &str) -> Option<MetricValues> {
        *slot(&self.all.metrics, &self.all.keys.metrics, self.i, key)?
    }

    fn attribute(&self, key: &str) -> Field<'_> {
        let r = &self.all.runs[self.i];
        match key {
            "run_id" => Field::Text(&r.source_run_id),
            "run_name" => lean_text(&r.name),
            "status" => Field::Text(&r.status),
            "lifecycle_stage" => Field::Text(&r.lifecycle_stage),
            "artifact_uri" => lean_text(&r.artifact_uri),
            "experiment" => Field::Text(self.all.experiment(self.i)),
            "parent" => lean_text(&r.parent_run_id),
            "start_time" => filter::time(r.start_time),
            "end_time" => filter::time(r.end_time),
            "id" => Field::Number(r.id as f64),
            _ => Field::Missing,
        }
    }
}

/// The `wanted` keys of `table` for every run: `read` takes a value from the `columns` that
/// follow `run_id, key` (column 2 on). Row-major by run position, `None` where a run lacks a key.
pub(super) fn by_key<T: Clone>(
    project: &Project,
    table: &str,
    columns: &str,
    wanted: &[String],
    runs: usize,
    position: &dyn Fn(i64) -> Option<usize>,
    read: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<Option<T>>> {
    let db = db(project);
    let mut out = vec![None; runs * wanted.len()];
    if wanted.is_empty() {
        return Ok(out);
    }
    let conn = project.conn();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT run_id, key, {columns} FROM {table} WHERE key IN ({})",
            sql_list(wanted)
        ))
        .map_err(&db)?;
    let mut rows = stmt.query([]).map_err(&db)?;
    while let Some(r) = rows.next().map_err(&db)? {
        let Some(i) = position(r.get(0).map_err(&db)?) else {
            continue;
        };
        let key = r.get_ref(1).and_then(|k| Ok(k.as_str()?)).map_err(&db)?;
        if let Some(k) = wanted.iter().position(|w| w == key) {
            out[i * wanted.len() + k] = Some(read(r).map_err(&db)?);
        }
    }
    Ok(out)
}

/// Loads every run in the lean form, with the `keys` a query reads.
pub(super) fn load_lean(project: &Project, include_deleted: bool, keys: Keys) -> Result<LeanRuns> {
    let db = db(project);
    let conn = project.conn();
    let mut experiments = Vec::new();
    let mut experiment_index = HashMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, name FROM experiments ORDER BY id")
            .map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        while let Some(r) = rows.next().map_err(&db)? {
            experiment_index.insert(r.get::<_, i64>(0).map_err(&db)?, experiments.len());
            experiments.push(r.get::<_, String>(1).map_err(&db)?);
        }
    }
    let deleted = if include_deleted {
        ""
    } else {
        " AND r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'"
    };
    let count: i64 = conn
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .map_err(&db)?;
    let mut runs = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT r.id, r.source_run_id, r.experiment_id, r.name, r.status, r.lifecycle_stage, r.start_time,
                        r.end_time, r.parent_source_run_id{}
                 FROM runs r JOIN experiments e ON e.id = r.experiment_id
                 WHERE 1 = 1{deleted} ORDER BY r.id",
                if keys.artifact_uri { ", r.artifact_uri" } else { ", NULL" }
            ))
            .map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        let boxed = |v: rusqlite::types::ValueRef| -> rusqlite::Result<Option<Box<str>>> {
            Ok(v.as_str_or_null()?.map(Box::from))
        };
        while let Some(r) = rows.next().map_err(&db)? {
            let run = (|| -> rusqlite::Result<LeanRun> {
                Ok(LeanRun {
                    id: r.get(0)?,
                    source_run_id: r.get_ref(1)?.as_str()?.into(),
                    experiment: experiment_index
                        .get(&r.get::<_, i64>(2)?)
                        .copied()
                        .unwrap_or_default(),
                    name: boxed(r.get_ref(3)?)?,
                    status: r.get_ref(4)?.as_str()?.into(),
                    lifecycle_stage: r.get_ref(5)?.as_str()?.into(),
                    start_time: r.get(6)?,
                    end_time: r.get(7)?,
                    parent_run_id: boxed(r.get_ref(8)?)?,
                    artifact_uri: boxed(r.get_ref(9)?)?,
                })
            })()
            .map_err(&db)?;
            runs.push(run);
        }
    }
    // A run's position by its id: Lathe's ids are dense (runs are never removed), so a direct
    // lookup table; a binary search over the ids otherwise.
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let max_id = ids.last().copied().unwrap_or(0);
    let table: Vec<u32> = match usize::try_from(max_id) {
        Ok(max) if max <= 4 * ids.len() + 1024 && ids.first().is_some_and(|&f| f >= 0) => {
            let mut table = vec![u32::MAX; max + 1];
            for (i, &id) in ids.iter().enumerate() {
                table[id as usize] = i as u32;
            }
            table
        }
        _ => Vec::new(),
    };
    let position = |id: i64| -> Option<usize> {
        if table.is_empty() {
            ids.binary_search(&id).ok()
        } else {
            let p = *table.get(usize::try_from(id).ok()?)?;
            (p != u32::MAX).then_some(p as usize)
        }
    };
    let text =
        |r: &rusqlite::Row| -> rusqlite::Result<Box<str>> { Ok(r.get_ref(2)?.as_str()?.into()) };
    let params = by_key(
        project,
        "run_params",
        "value",
        &keys.params,
        runs.len(),
        &position,
        text,
    )?;
    let tags = by_key(
        project,
        "run_tags",
        "value",
        &keys.tags,
        runs.len(),
        &position,
        text,
    )?;
    let metrics = by_key(
        project,
        "run_metrics",
        "last, min, max",
        &keys.metrics,
        runs.len(),
        &position,
        |r| {
            Ok(MetricValues {
                last: r.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN),
                min: r.get(3)?,
                max: r.get(4)?,
            })
        },
    )?;
    Ok(LeanRuns {
        keys,
        experiments,
        runs,
        params,
        tags,
        metrics,
    })
}

/// Every metric, param and tag key in the project (the column chooser's lists).
pub(super) fn all_keys(project: &Project) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let db = db(project);
    let keys = |kind: &str| -> Result<Vec<String>> {
        project
            .conn()
            .prepare("SELECT key FROM run_keys WHERE kind = ?1 ORDER BY key")
            .and_then(|mut s| s.query_map([kind], |r| r.get(0))?.collect())
            .map_err(&db)
    };
    Ok((keys("metric")?, keys("param")?, keys("tag")?))
}

pub(super) fn experiment_exists(project: &Project, name: &str) -> Result<bool> {
    project
        .conn()
        .query_row(
            "SELECT count(*) FROM experiments WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(db(project))
}

/// A RUN argument: a source's run id (an MLflow run id, a JSONL run name), or Lathe's id.
pub fn resolve_run(project: &Project, text: &str) -> Result<i64> {
    let db = db(project);
    let mut stmt = project
        .conn()
        .prepare("SELECT id FROM runs WHERE source_run_id = ?1")
        .map_err(&db)?;
    let ids: Vec<i64> = stmt
        .query_map([text], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(&db)?;
    match ids.as_slice() {
        [id] => return Ok(*id),
        [] => {}
        many => {
            return Err(Error::BadArgument {
                argument: "run",
                detail: format!(
                    "{text:?} names {} runs of different sources (Lathe ids {}); use a Lathe id",
                    many.len(),
                    many.iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    if let Ok(id) = text.trim_start_matches('#').parse::<i64>() {
        let found: i64 = project
            .conn()
            .query_row("SELECT count(*) FROM runs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(&db)?;
        if found > 0 {
            return Ok(id);
        }
    }
    Err(Error::NotFound {
        what: format!(
            "no run {text:?} in this project (give a run id of the source or Lathe's id; `lathe runs list` lists them)"
        ),
    })
}

/// Every point of one metric of one run, in logging order.
pub fn history(project: &Project, run: i64, key: &str) -> Result<Vec<Point>> {
    let db = db(project);
    let blob: Option<Vec<u8>> = project
        .conn()
        .query_row(
            "SELECT history FROM run_metric_histories WHERE run_id = ?1 AND key = ?2",
            params![run, key],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(&db)?;
    match blob {
        Some(b) => Ok(store::decode(&b)),
        None => {
            let keys: Vec<String> = project
                .conn()
                .prepare("SELECT key FROM run_metrics WHERE run_id = ?1 ORDER BY key")
                .and_then(|mut s| s.query_map([run], |r| r.get(0))?.collect())
                .map_err(&db)?;
            Err(Error::NotFound {
                what: format!(
                    "run {run} logged no metric {key:?}; it has: {}",
                    if keys.is_empty() {
                        "none".to_owned()
                    } else {
                        keys.join(", ")
                    }
                ),
            })
        }
    }
}

/// The runs `ids` in full (deleted ones too), in the order asked, each once.
pub(crate) fn load_in_order(project: &Project, ids: &[i64]) -> Result<Vec<RunRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut loaded = load(project, true, Some(ids))?;
    let mut position: HashMap<i64, usize> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        position.entry(*id).or_insert(i);
    }
    loaded.sort_by_key(|r| position.get(&r.id).copied().unwrap_or(usize::MAX));
    Ok(loaded)
}
