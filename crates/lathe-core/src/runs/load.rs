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
    /// Whether the runs' other text attributes are read (run id, name, status, lifecycle stage,
    /// parent): five strings a run that most filters and sorts never look at.
    pub texts: bool,
}

/// The text attributes [`Keys::texts`] stands for, as the filter names them.
pub(super) const TEXT_ATTRIBUTES: [&str; 5] =
    ["run_id", "run_name", "status", "lifecycle_stage", "parent"];

pub(super) fn sql_list(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("'{}'", k.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

/// How many runs, and the latest change: any import that changes something moves it. Two
/// reads agree on it exactly when they see the same runs.
pub(super) fn runs_stamp(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, String)> {
    conn.query_row(
        "SELECT count(*), coalesce(max(updated_at), '') FROM runs",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The largest run id, which bounds the number of runs (runs are never removed): one seek.
fn largest_run_id(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT coalesce(max(id), 0) FROM runs", [], |r| r.get(0))
}

/// Up to this many runs are read by their ids (`IN (…)`, a seek each); more are read by one
/// scan of each table, skipping the runs not asked for, when they are at least a quarter of
/// the project's runs (a scan reads every run's rows). perf on a listing of 10,000 of 10,000
/// runs: SQLite spent a third of the time parsing and sorting the `IN` list of 10,000 ids.
const SEEK_AT_MOST: usize = 512;

/// Positions of runs by their Lathe id, for ids in ascending order: a direct table when the ids
/// are dense (runs are never removed, so they usually are), a binary search otherwise.
pub(super) struct Positions<'a> {
    ids: &'a [i64],
    table: Vec<u32>,
}

impl<'a> Positions<'a> {
    pub(super) fn new(ids: &'a [i64]) -> Self {
        let dense = match (ids.first(), ids.last()) {
            (Some(&first), Some(&last)) if first >= 0 => usize::try_from(last)
                .ok()
                .filter(|&max| max <= 4 * ids.len() + 1024),
            _ => None,
        };
        let table = match dense {
            Some(max) => {
                let mut table = vec![u32::MAX; max + 1];
                for (i, &id) in ids.iter().enumerate() {
                    table[id as usize] = i as u32;
                }
                table
            }
            None => Vec::new(),
        };
        Positions { ids, table }
    }

    pub(super) fn get(&self, id: i64) -> Option<usize> {
        if self.table.is_empty() {
            self.ids.binary_search(&id).ok()
        } else {
            let p = *self.table.get(usize::try_from(id).ok()?)?;
            (p != u32::MAX).then_some(p as usize)
        }
    }
}

pub(super) fn load_with(
    project: &Project,
    include_deleted: bool,
    ids: Option<&[i64]>,
) -> Result<Vec<RunRecord>> {
    let db = db(project);
    let conn = project.conn();
    // The runs asked for, in ascending order, when there are too many to seek one by one.
    let scan = match ids {
        Some(ids) if ids.len() > SEEK_AT_MOST => {
            ids.len().saturating_mul(4) as i64 >= largest_run_id(conn).map_err(&db)?
        }
        _ => false,
    };
    let wanted: Option<Vec<i64>> = ids.filter(|_| scan).map(|ids| {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        sorted
    });
    let wanted_positions = wanted.as_deref().map(Positions::new);
    let seek = ids
        .filter(|_| wanted.is_none())
        .map(|ids| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    let restrict = seek
        .as_ref()
        .map_or(String::new(), |list| format!(" AND r.id IN ({list})"));
    let deleted = if include_deleted {
        ""
    } else {
        " AND r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'"
    };
    let mut runs = Vec::new();
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
            if wanted_positions
                .as_ref()
                .is_some_and(|w| w.get(id).is_none())
            {
                continue;
            }
            let experiment_id: i64 = r.get(2).map_err(&db)?;
            let (experiment, source_id, source) =
                experiments.get(&experiment_id).cloned().unwrap_or_default();
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
    let loaded_ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let index = Positions::new(&loaded_ids);
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
    let parts = match seek {
        Some(list) => read_parts(conn, &format!(" WHERE run_id IN ({list})"), &index),
        None => read_parts_split(project, &loaded_ids, &index),
    }
    .map_err(&db)?;
    for (i, map) in parts.params {
        put(&mut runs[i].params, map);
    }
    for (i, map) in parts.tags {
        put(&mut runs[i].tags, map);
    }
    for (i, map) in parts.metrics {
        put(&mut runs[i].metrics, map);
    }
    Ok(runs)
}

fn put<T>(into: &mut BTreeMap<String, T>, map: BTreeMap<String, T>) {
    if into.is_empty() {
        *into = map;
    } else {
        into.extend(map);
    }
}

/// The params, tags and metric summaries of runs, each run's maps with its position.
#[derive(Default)]
struct Parts {
    params: Vec<(usize, BTreeMap<String, String>)>,
    tags: Vec<(usize, BTreeMap<String, String>)>,
    metrics: Vec<(usize, BTreeMap<String, MetricStat>)>,
}

/// Parts of the runs `index` holds, from rows matching `clause` (`WHERE …` on `run_id`).
fn read_parts(
    conn: &rusqlite::Connection,
    clause: &str,
    index: &Positions,
) -> rusqlite::Result<Parts> {
    let text = |r: &rusqlite::Row| r.get::<_, String>(2);
    Ok(Parts {
        params: grouped(
            conn,
            &format!("SELECT run_id, key, value FROM run_params{clause} ORDER BY run_id, key"),
            index,
            text,
        )?,
        tags: grouped(
            conn,
            &format!("SELECT run_id, key, value FROM run_tags{clause} ORDER BY run_id, key"),
            index,
            text,
        )?,
        metrics: grouped(
            conn,
            &format!(
                "SELECT run_id, key, last, last_step, min, min_step, max, max_step, points
                 FROM run_metrics{clause} ORDER BY run_id, key"
            ),
            index,
            |r| {
                Ok(MetricStat {
                    last: Value(r.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN)),
                    last_step: r.get(3)?,
                    min: r.get::<_, Option<f64>>(4)?.map(Value),
                    min_step: r.get(5)?,
                    max: r.get::<_, Option<f64>>(6)?.map(Value),
                    max_step: r.get(7)?,
                    steps: r.get::<_, i64>(8)? as u64,
                })
            },
        )?,
    })
}

/// Rows `(run_id, key, …)` in run and key order, gathered into one map per run: a map built
/// from its sorted entries at once (`BTreeMap::from_iter`) rather than key by key, which perf
/// showed comparing keys and splitting nodes for a fifth of a long listing's time.
fn grouped<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    index: &Positions,
    read: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<(usize, BTreeMap<String, T>)>> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    let mut current: Option<usize> = None;
    let mut entries: Vec<(String, T)> = Vec::new();
    while let Some(r) = rows.next()? {
        let Some(i) = index.get(r.get(0)?) else {
            continue;
        };
        if current != Some(i) {
            if let Some(c) = current {
                out.push((c, entries.drain(..).collect()));
            }
            current = Some(i);
        }
        entries.push((r.get(1)?, read(r)?));
    }
    if let Some(c) = current {
        out.push((c, entries.drain(..).collect()));
    }
    Ok(out)
}

/// From this many runs on, a load reads the second half of the runs' parts on a second
/// connection in another thread while this one reads the first: a listing of 10,000 runs whole
/// spends most of its time there, and SQLite reads on two connections in parallel.
const SPLIT_FROM: usize = 2_000;

/// [`read_parts`] of every run in `ids` (ascending), in two halves read at once when there
/// are many and both connections see the same runs; otherwise on the project's connection.
fn read_parts_split(project: &Project, ids: &[i64], index: &Positions) -> rusqlite::Result<Parts> {
    let conn = project.conn();
    let (Some(&mid), true) = (ids.get(ids.len() / 2), ids.len() >= SPLIT_FROM) else {
        return read_parts(conn, "", index);
    };
    if !conn.is_autocommit() {
        // Inside a caller's transaction: its uncommitted rows are seen on this connection only.
        return read_parts(conn, "", index);
    }
    // One read transaction each, so both halves come from snapshots that hold the same runs.
    let tx = conn.unchecked_transaction()?;
    let ours = runs_stamp(&tx)?;
    let path = project.root().join(crate::project::DB_FILE);
    let (first, second) = std::thread::scope(|scope| {
        let other = scope.spawn(|| -> rusqlite::Result<Option<Parts>> {
            let c = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            let tx = c.unchecked_transaction()?;
            if runs_stamp(&tx)? != ours {
                return Ok(None);
            }
            read_parts(&tx, &format!(" WHERE run_id >= {mid}"), index).map(Some)
        });
        let first = read_parts(&tx, &format!(" WHERE run_id < {mid}"), index);
        let second = other.join().unwrap_or_else(|_| Ok(None)).ok().flatten();
        (first, second)
    });
    let mut first = first?;
    let second = match second {
        Some(second) => second,
        // A change between the two reads (or the second connection would not open): the
        // second half read here, in this transaction.
        None => read_parts(&tx, &format!(" WHERE run_id >= {mid}"), index)?,
    };
    drop(tx);
    first.params.extend(second.params);
    first.tags.extend(second.tags);
    first.metrics.extend(second.metrics);
    Ok(first)
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
            .prepare("SELECT id, name, lifecycle_stage = 'active' FROM experiments ORDER BY id")
            .map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        while let Some(r) = rows.next().map_err(&db)? {
            let shown = include_deleted || r.get::<_, bool>(2).map_err(&db)?;
            experiment_index.insert(r.get::<_, i64>(0).map_err(&db)?, (experiments.len(), shown));
            experiments.push(r.get::<_, String>(1).map_err(&db)?);
        }
    }
    // Deleted experiments are left out here rather than by a join: a lookup per run was two
    // thirds of SQLite's time for this scan.
    let deleted = if include_deleted {
        ""
    } else {
        " WHERE r.lifecycle_stage = 'active'"
    };
    let most = largest_run_id(conn).map_err(&db)?;
    let mut runs = Vec::with_capacity(usize::try_from(most).unwrap_or(0).min(1 << 24));
    {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT r.id, {}, r.experiment_id, {}, r.start_time, r.end_time, {}{}
                 FROM runs r{deleted} ORDER BY r.id",
                if keys.texts { "r.source_run_id" } else { "''" },
                if keys.texts {
                    "r.name, r.status, r.lifecycle_stage"
                } else {
                    "NULL, '', ''"
                },
                if keys.texts {
                    "r.parent_source_run_id"
                } else {
                    "NULL"
                },
                if keys.artifact_uri {
                    ", r.artifact_uri"
                } else {
                    ", NULL"
                }
            ))
            .map_err(&db)?;
        let mut rows = stmt.query([]).map_err(&db)?;
        let boxed = |v: rusqlite::types::ValueRef| -> rusqlite::Result<Option<Box<str>>> {
            Ok(v.as_str_or_null()?.map(Box::from))
        };
        while let Some(r) = rows.next().map_err(&db)? {
            let Some(&(experiment, true)) = experiment_index.get(&r.get::<_, i64>(2).map_err(&db)?)
            else {
                continue;
            };
            let run = (|| -> rusqlite::Result<LeanRun> {
                Ok(LeanRun {
                    id: r.get(0)?,
                    source_run_id: r.get_ref(1)?.as_str()?.into(),
                    experiment,
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
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let positions = Positions::new(&ids);
    let position = |id: i64| positions.get(id);
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
    let loaded = load(project, true, Some(ids))?;
    // Each run put at the place its id first takes in `ids` (loaded runs come in id order).
    let mut place: HashMap<i64, usize> = HashMap::with_capacity(ids.len());
    let mut order = 0;
    for id in ids {
        place.entry(*id).or_insert_with(|| {
            order += 1;
            order - 1
        });
    }
    let mut placed: Vec<Option<RunRecord>> = Vec::new();
    placed.resize_with(order, || None);
    for r in loaded {
        if let Some(&at) = place.get(&r.id) {
            placed[at] = Some(r);
        }
    }
    Ok(placed.into_iter().flatten().collect())
}
