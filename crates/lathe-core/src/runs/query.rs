//! The run table: list with filter and sort, group, compare, metric histories.
//!
//! A listing loads every run of the project (attributes, params, tags, metric summaries) in four
//! queries and filters and sorts in memory: 100,000 runs are a few hundred megabytes at most and
//! the filter language (regex, `or`, numeric params) has no SQL equivalent worth the complexity.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::params;
use serde::Serialize;

use super::filter::{self, Entity, Field, Filter, MetricValues, RunView};
use super::{Point, Value, store};
use crate::{Error, Project, Result};

/// A metric's summary in a run: MLflow's latest value, the extremes and where they were.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MetricStat {
    #[cfg_attr(feature = "ts", ts(type = "number | string"))]
    pub last: Value,
    pub last_step: i64,
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub min: Option<Value>,
    pub min_step: Option<i64>,
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub max: Option<Value>,
    pub max_step: Option<i64>,
    /// How many points were logged.
    pub steps: u64,
}

/// One run as `lathe runs list --json` prints it (`metrics` in full form).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunRecord {
    /// Lathe's id.
    pub id: i64,
    pub source_run_id: String,
    pub experiment: String,
    pub source: String,
    pub name: Option<String>,
    pub status: String,
    pub lifecycle_stage: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// Lathe's id of the parent run, when the parent was imported.
    pub parent: Option<i64>,
    /// The parent's id in the source (the `mlflow.parentRunId` tag).
    pub parent_run_id: Option<String>,
    pub artifact_uri: Option<String>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, MetricStat>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    /// An experiment name (any source); `None` lists across experiments.
    pub experiment: Option<String>,
    pub filter: Option<String>,
    /// `KEY` or `KEY:desc`, KEY as in filters (`metrics.acc`, `params.lr`, `start_time`).
    pub sort: Option<String>,
    pub include_deleted: bool,
    pub offset: usize,
    pub limit: Option<usize>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunsPage {
    /// Runs matching the filter, before paging.
    pub total: u64,
    pub offset: u64,
    pub runs: Vec<RunRecord>,
    /// Every param, tag and metric key among the matching runs: the column chooser's list.
    pub param_keys: Vec<String>,
    pub tag_keys: Vec<String>,
    pub metric_keys: Vec<String>,
}

fn db(project: &Project) -> impl Fn(rusqlite::Error) -> Error + '_ {
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

fn sql_list(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("'{}'", k.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

fn load_with(
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
    keys: Keys,
    experiments: Vec<String>,
    /// In Lathe's id order.
    runs: Vec<LeanRun>,
    params: Vec<Option<Box<str>>>,
    tags: Vec<Option<Box<str>>>,
    metrics: Vec<Option<MetricValues>>,
}

#[derive(Debug)]
struct LeanRun {
    id: i64,
    /// An index into [`LeanRuns::experiments`].
    experiment: usize,
    source_run_id: Box<str>,
    name: Option<Box<str>>,
    status: Box<str>,
    lifecycle_stage: Box<str>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    parent_run_id: Option<Box<str>>,
    artifact_uri: Option<Box<str>>,
}

/// One run of a [`LeanRuns`], as filters and sorts read it.
struct LeanView<'a> {
    all: &'a LeanRuns,
    i: usize,
}

impl LeanRuns {
    fn view(&self, i: usize) -> LeanView<'_> {
        LeanView { all: self, i }
    }

    fn experiment(&self, i: usize) -> &str {
        &self.experiments[self.runs[i].experiment]
    }
}

fn slot<'a, T>(values: &'a [T], keys: &[String], i: usize, key: &str) -> Option<&'a T> {
    let k = keys.iter().position(|p| p == key)?;
    values.get(i * keys.len() + k)
}

fn lean_text(v: &Option<Box<str>>) -> Field<'_> {
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
fn by_key<T: Clone>(
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
fn load_lean(project: &Project, include_deleted: bool, keys: Keys) -> Result<LeanRuns> {
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

/// A sort key: which value of a run it reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Column {
    Metric(String, Agg),
    Param(String),
    Tag(String),
    Attribute(String),
}

/// Which value of a metric a column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Agg {
    #[default]
    Last,
    Min,
    Max,
}

impl MetricStat {
    /// The value `agg` names: the last, or the smallest or largest (`None` when every value
    /// was NaN).
    pub fn value(&self, agg: Agg) -> Option<Value> {
        match agg {
            Agg::Last => Some(self.last),
            Agg::Min => self.min,
            Agg::Max => self.max,
        }
    }
}

impl std::fmt::Display for Agg {
    /// `last`, `min` or `max`, as [`FromStr`](std::str::FromStr) reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Agg::Last => "last",
            Agg::Min => "min",
            Agg::Max => "max",
        })
    }
}

impl std::str::FromStr for Agg {
    type Err = Error;

    /// `last`, `min` or `max`.
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "last" => Ok(Agg::Last),
            "min" => Ok(Agg::Min),
            "max" => Ok(Agg::Max),
            other => Err(Error::BadArgument {
                argument: "metric value",
                detail: format!("{other:?}: expected last, min or max"),
            }),
        }
    }
}

/// The attributes a listing sorts by (the filter knows a few more).
const SORTABLE: [&str; 7] = [
    "start_time",
    "end_time",
    "run_name",
    "status",
    "experiment",
    "run_id",
    "id",
];

pub(crate) fn parse_column(text: &str) -> Result<Column> {
    let bad = || Error::BadArgument {
        argument: "sort key",
        detail: format!(
            "{text:?}: expected metrics.KEY[.min|.max], params.KEY, tags.KEY or an attribute \
             (start_time, end_time, run_name, status, experiment, run_id, id)"
        ),
    };
    let (entity, key) = text.split_once('.').unwrap_or(("attributes", text));
    let key = key.trim_matches('`').trim_matches('"');
    match entity {
        "metrics" | "metric" => {
            for (suffix, agg) in [(".min", Agg::Min), (".max", Agg::Max), (".last", Agg::Last)] {
                if let Some(k) = key.strip_suffix(suffix) {
                    return Ok(Column::Metric(k.to_owned(), agg));
                }
            }
            Ok(Column::Metric(key.to_owned(), Agg::Last))
        }
        "params" | "param" => Ok(Column::Param(key.to_owned())),
        "tags" | "tag" => Ok(Column::Tag(key.to_owned())),
        "attributes" | "attribute" | "attr" | "run" => {
            let k = filter::attribute(key)
                .filter(|k| SORTABLE.contains(k))
                .ok_or_else(bad)?;
            Ok(Column::Attribute(k.to_owned()))
        }
        _ => Err(bad()),
    }
}

/// A cell's sortable value: numbers before text, missing last.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Number(f64),
    Text(String),
    Missing,
}

pub(crate) fn cell(run: &impl RunView, column: &Column) -> Cell {
    let text = |v: Option<&str>| {
        v.map_or(Cell::Missing, |s| match s.parse::<f64>() {
            Ok(x) if !x.is_nan() => Cell::Number(x),
            _ => Cell::Text(s.to_owned()),
        })
    };
    match column {
        Column::Metric(k, agg) => run.metric(k).map_or(Cell::Missing, |m| {
            let v = match agg {
                Agg::Last => Some(m.last),
                Agg::Min => m.min,
                Agg::Max => m.max,
            };
            match v {
                Some(x) if !x.is_nan() => Cell::Number(x),
                _ => Cell::Missing,
            }
        }),
        Column::Param(k) => text(run.param(k)),
        Column::Tag(k) => text(run.tag(k)),
        Column::Attribute(k) => match run.attribute(k) {
            filter::Field::Missing => Cell::Missing,
            filter::Field::Text(t) => Cell::Text(t.to_owned()),
            filter::Field::Number(x) => Cell::Number(x),
        },
    }
}

fn order(a: &Cell, b: &Cell, desc: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let o = match (a, b) {
        (Cell::Missing, Cell::Missing) => return Equal,
        (Cell::Missing, _) => return Greater,
        (_, Cell::Missing) => return Less,
        (Cell::Number(x), Cell::Number(y)) => x.total_cmp(y),
        (Cell::Number(_), Cell::Text(_)) => Less,
        (Cell::Text(_), Cell::Number(_)) => Greater,
        (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
    };
    if desc { o.reverse() } else { o }
}

/// The parsed parts of a [`RunQuery`] that decide which runs match and in what order.
struct Selection {
    filter: Option<Filter>,
    column: Column,
    desc: bool,
}

fn selection(query: &RunQuery) -> Result<Selection> {
    let filter = query
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(Filter::parse)
        .transpose()?;
    let (column, desc) = match query.sort.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            let (key, desc) = match s.rsplit_once(':') {
                Some((k, d)) if d.eq_ignore_ascii_case("desc") => (k, true),
                Some((k, a)) if a.eq_ignore_ascii_case("asc") => (k, false),
                _ => (s, false),
            };
            (parse_column(key.trim())?, desc)
        }
        None => (Column::Attribute("start_time".to_owned()), true),
    };
    Ok(Selection {
        filter,
        column,
        desc,
    })
}

/// The indices of the runs matching `query`, in order.
fn select(project: &Project, runs: &LeanRuns, query: &RunQuery) -> Result<Vec<usize>> {
    let sel = selection(query)?;
    let experiment = match &query.experiment {
        Some(name) => match runs.experiments.iter().position(|e| e == name) {
            Some(e) => Some(e),
            None if experiment_exists(project, name)? => Some(usize::MAX),
            None => None,
        },
        None => None,
    };
    if let Some(name) = &query.experiment
        && experiment.is_none()
    {
        return Err(Error::NotFound {
            what: format!(
                "no experiment named {name:?} in this project; `lathe runs list` lists every run"
            ),
        });
    }
    let mut keyed: Vec<(Cell, usize)> = (0..runs.runs.len())
        .filter(|&i| experiment.is_none_or(|e| runs.runs[i].experiment == e))
        .map(|i| runs.view(i))
        .filter(|r| sel.filter.as_ref().is_none_or(|f| f.matches(r)))
        .map(|r| (cell(&r, &sel.column), r.i))
        .collect();
    // Runs are in id order, so a stable sort keeps ties in id order.
    keyed.sort_by(|(a, _), (b, _)| order(a, b, sel.desc));
    Ok(keyed.into_iter().map(|(_, i)| i).collect())
}

/// The keys a query's filter and sort read.
fn query_keys(query: &RunQuery) -> Result<Keys> {
    let sel = selection(query)?;
    let mut keys = Keys::default();
    let mut add = |entity: Entity, key: String| {
        let list = match entity {
            Entity::Metric => &mut keys.metrics,
            Entity::Param => &mut keys.params,
            Entity::Tag => &mut keys.tags,
            Entity::Attribute => {
                keys.artifact_uri |= key == "artifact_uri";
                return;
            }
        };
        if !list.contains(&key) {
            list.push(key);
        }
    };
    if let Some(f) = &sel.filter {
        for (entity, key) in f.keys() {
            add(entity, key);
        }
    }
    match sel.column {
        Column::Metric(k, _) => add(Entity::Metric, k),
        Column::Param(k) => add(Entity::Param, k),
        Column::Tag(k) => add(Entity::Tag, k),
        Column::Attribute(_) => {}
    }
    Ok(keys)
}

/// Every metric, param and tag key in the project (the column chooser's lists).
fn all_keys(project: &Project) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
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

/// A page: the full records of the runs at `order[offset..offset + limit]`.
fn page_of(
    project: &Project,
    lean: &LeanRuns,
    order: &[usize],
    query: &RunQuery,
) -> Result<RunsPage> {
    let ids: Vec<i64> = order
        .iter()
        .skip(query.offset)
        .take(query.limit.unwrap_or(usize::MAX))
        .map(|&i| lean.runs[i].id)
        .collect();
    let full = load_in_order(project, &ids)?;
    let (metric_keys, param_keys, tag_keys) = all_keys(project)?;
    Ok(RunsPage {
        total: order.len() as u64,
        offset: query.offset as u64,
        runs: full,
        param_keys,
        tag_keys,
        metric_keys,
    })
}

/// Filters and sorts runs (default: newest first, as MLflow), then pages. Only the keys the
/// filter and sort read are loaded for every run; the page's runs are then loaded whole.
pub fn list(project: &Project, query: &RunQuery) -> Result<RunsPage> {
    let keys = query_keys(query)?;
    let lean = load_lean(project, query.include_deleted, keys)?;
    let order = select(project, &lean, query)?;
    page_of(project, &lean, &order, query)
}

/// A listing that stays cheap while scrolling: keeps the lean runs (until the project's runs
/// change) and the last query's order, so each further page loads only its own runs.
#[derive(Debug, Default)]
pub struct RunBrowser {
    cache: std::sync::Mutex<Option<Cached>>,
}

/// (experiment, filter, sort) of a cached order.
type OrderKey = (Option<String>, Option<String>, Option<String>);

#[derive(Debug)]
struct Cached {
    root: std::path::PathBuf,
    include_deleted: bool,
    /// How many runs, and the latest change: any import that changes something moves it.
    stamp: (i64, String),
    runs: std::sync::Arc<LeanRuns>,
    /// (experiment, filter, sort) and the order they gave.
    order: Option<(OrderKey, std::sync::Arc<Vec<usize>>)>,
}

impl RunBrowser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn page(&self, project: &Project, query: &RunQuery) -> Result<RunsPage> {
        let keys = query_keys(query)?;
        let stamp: (i64, String) = project
            .conn()
            .query_row(
                "SELECT count(*), coalesce(max(updated_at), '') FROM runs",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db(project))?;
        let key = (
            query.experiment.clone(),
            query.filter.clone(),
            query.sort.clone(),
        );
        let mut guard = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = guard.as_ref().is_some_and(|c| {
            c.root == project.root()
                && c.include_deleted == query.include_deleted
                && c.stamp == stamp
                && c.runs.keys == keys
        });
        if !fresh {
            *guard = Some(Cached {
                root: project.root().to_path_buf(),
                include_deleted: query.include_deleted,
                runs: std::sync::Arc::new(load_lean(project, query.include_deleted, keys)?),
                stamp,
                order: None,
            });
        }
        let Some(cached) = guard.as_mut() else {
            unreachable!("the cache was filled above")
        };
        let order = match &cached.order {
            Some((k, order)) if *k == key => order.clone(),
            _ => {
                let order = std::sync::Arc::new(select(project, &cached.runs, query)?);
                cached.order = Some((key, order.clone()));
                order
            }
        };
        let runs = cached.runs.clone();
        drop(guard);
        page_of(project, &runs, &order, query)
    }
}

fn experiment_exists(project: &Project, name: &str) -> Result<bool> {
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

/// Selected runs side by side: the `lathe runs compare --json` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunComparison {
    pub runs: Vec<ComparedRun>,
    pub params: ParamDiff,
    /// Per metric key, one entry per run that logged it.
    pub metrics: BTreeMap<String, Vec<RunMetric>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ComparedRun {
    pub id: i64,
    pub source_run_id: String,
    pub name: Option<String>,
    pub experiment: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParamDiff {
    /// Params whose value differs (or is missing) between runs: key → run id → value (`null`
    /// where the run has no such param).
    pub differing: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// Params every run has with the same value.
    pub same: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunMetric {
    pub run: i64,
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub stat: MetricStat,
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

/// The params that differ between runs (missing counts as differing) and those they share.
pub(crate) fn param_diff(loaded: &[RunRecord]) -> ParamDiff {
    let keys: BTreeSet<&String> = loaded.iter().flat_map(|r| r.params.keys()).collect();
    let mut diff = ParamDiff {
        differing: BTreeMap::new(),
        same: BTreeMap::new(),
    };
    for key in keys {
        let values: Vec<Option<&String>> = loaded.iter().map(|r| r.params.get(key)).collect();
        if let Some(Some(first)) = values.first()
            && values.iter().all(|v| *v == Some(*first))
        {
            diff.same.insert(key.clone(), (*first).clone());
            continue;
        }
        diff.differing.insert(
            key.clone(),
            loaded
                .iter()
                .zip(values)
                .map(|(r, v)| (r.id.to_string(), v.cloned()))
                .collect(),
        );
    }
    diff
}

pub fn compare(project: &Project, runs: &[i64]) -> Result<RunComparison> {
    // One run is its own page (the desktop opens a model's lineage run this way); the CLI's
    // `runs compare` asks for two.
    if runs.is_empty() {
        return Err(Error::BadArgument {
            argument: "runs",
            detail: "compare needs at least one run".to_owned(),
        });
    }
    let loaded = load_in_order(project, runs)?;
    let diff = param_diff(&loaded);
    let mut metrics: BTreeMap<String, Vec<RunMetric>> = BTreeMap::new();
    for r in &loaded {
        for (k, stat) in &r.metrics {
            metrics.entry(k.clone()).or_default().push(RunMetric {
                run: r.id,
                stat: stat.clone(),
            });
        }
    }
    Ok(RunComparison {
        runs: loaded
            .iter()
            .map(|r| ComparedRun {
                id: r.id,
                source_run_id: r.source_run_id.clone(),
                name: r.name.clone(),
                experiment: r.experiment.clone(),
                status: r.status.clone(),
            })
            .collect(),
        params: diff,
        metrics,
    })
}

/// One group of [`group`]: runs sharing a param, tag or attribute value, and their metrics'
/// statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupSummary {
    /// The param, tag or attribute value (`null`: runs without it).
    pub value: Option<String>,
    pub runs: u64,
    /// Per metric: mean, min and max of the runs' values (their last, or the asked min or max;
    /// NaN values left out).
    pub metrics: BTreeMap<String, GroupStat>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupStat {
    pub runs: u64,
    #[cfg_attr(feature = "ts", ts(type = "number | string"))]
    pub mean: Value,
    #[cfg_attr(feature = "ts", ts(type = "number | string"))]
    pub min: Value,
    #[cfg_attr(feature = "ts", ts(type = "number | string"))]
    pub max: Value,
}

/// Groups listed runs by a param, tag or attribute (`params.optimizer`, `tags.team`,
/// `experiment`). Each metric's statistics are of the value `value_of(key)` names: each run's
/// last value (MLflow's), or its smallest or largest. Groups come in the values' order: by
/// number when every value is one (`0.001`, `0.01`, `0.1`, `1`), else as text; the runs without
/// the key last.
pub fn group(
    runs: &[RunRecord],
    by: &str,
    value_of: impl Fn(&str) -> Agg,
) -> Result<Vec<GroupSummary>> {
    let column = parse_column(by)?;
    if !matches!(
        column,
        Column::Param(_) | Column::Tag(_) | Column::Attribute(_)
    ) {
        return Err(Error::BadArgument {
            argument: "group by",
            detail: format!("{by:?}: group by a param, a tag or an attribute, not a metric"),
        });
    }
    let mut groups: BTreeMap<Option<String>, Vec<&RunRecord>> = BTreeMap::new();
    for r in runs {
        let value = match &column {
            Column::Param(k) => r.params.get(k).cloned(),
            Column::Tag(k) => r.tags.get(k).cloned(),
            _ => match cell(r, &column) {
                Cell::Number(x) => Some(x.to_string()),
                Cell::Text(t) => Some(t),
                Cell::Missing => None,
            },
        };
        groups.entry(value).or_default().push(r);
    }
    let mut groups: Vec<(Option<String>, Vec<&RunRecord>)> = groups.into_iter().collect();
    // The map sorted the values as text, and `None` first.
    let number = |v: &Option<String>| v.as_deref().and_then(|t| t.trim().parse::<f64>().ok());
    if groups
        .iter()
        .all(|(v, _)| v.is_none() || number(v).is_some_and(f64::is_finite))
    {
        // `None` first, as in the map.
        groups.sort_by(|(a, _), (b, _)| match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (a, b) => a.is_some().cmp(&b.is_some()),
        });
    }
    let unset_first = groups.first().is_some_and(|(v, _)| v.is_none());
    groups.rotate_left(usize::from(unset_first));
    Ok(groups
        .into_iter()
        .map(|(value, members)| {
            let mut metrics: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for r in &members {
                for (k, m) in &r.metrics {
                    let v = metrics.entry(k.clone()).or_default();
                    if let Some(x) = m.value(value_of(k)).filter(|x| !x.0.is_nan()) {
                        v.push(x.0);
                    }
                }
            }
            GroupSummary {
                value,
                runs: members.len() as u64,
                metrics: metrics
                    .into_iter()
                    .map(|(k, v)| {
                        let n = v.len();
                        let stat = GroupStat {
                            runs: n as u64,
                            mean: Value(if n == 0 {
                                f64::NAN
                            } else {
                                v.iter().sum::<f64>() / n as f64
                            }),
                            min: Value(v.iter().copied().fold(f64::NAN, f64::min)),
                            max: Value(v.iter().copied().fold(f64::NAN, f64::max)),
                        };
                        (k, stat)
                    })
                    .collect(),
            }
        })
        .collect())
}
