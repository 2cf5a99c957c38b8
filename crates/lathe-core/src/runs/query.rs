//! The run table's query engine: list with filter and sort, in memory.
//!
//! A listing loads every run of the project (attributes, params, tags, metric summaries) in four
//! queries and filters and sorts in memory: 100,000 runs are a few hundred megabytes at most and
//! the filter language (regex, `or`, numeric params) has no SQL equivalent worth the complexity.

use super::filter::{self, Entity, Filter, RunView};
use super::load::*;
use super::record::*;
use crate::{Error, Project, Result};

/// A sort key: which value of a run it reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Column {
    Metric(String, Agg),
    Param(String),
    Tag(String),
    Attribute(String),
}

/// The attributes a listing sorts by (the filter knows a few more).
pub(super) const SORTABLE: [&str; 7] = [
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

pub(super) fn order(a: &Cell, b: &Cell, desc: bool) -> std::cmp::Ordering {
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
pub(super) struct Selection {
    pub(super) filter: Option<Filter>,
    pub(super) column: Column,
    pub(super) desc: bool,
}

pub(super) fn selection(query: &RunQuery) -> Result<Selection> {
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
pub(super) fn select(project: &Project, runs: &LeanRuns, query: &RunQuery) -> Result<Vec<usize>> {
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
pub(super) fn query_keys(query: &RunQuery) -> Result<Keys> {
    let sel = selection(query)?;
    let mut keys = Keys::default();
    let mut add = |entity: Entity, key: String| {
        let list = match entity {
            Entity::Metric => &mut keys.metrics,
            Entity::Param => &mut keys.params,
            Entity::Tag => &mut keys.tags,
            Entity::Attribute => {
                keys.artifact_uri |= key == "artifact_uri";
                keys.texts |= TEXT_ATTRIBUTES.contains(&key.as_str());
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
        Column::Attribute(k) => add(Entity::Attribute, k),
    }
    Ok(keys)
}

/// A page: the full records of the runs at `order[offset..offset + limit]`.
pub(super) fn page_of(
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
    let metric_sort_keys = metric_keys
        .iter()
        .map(|k| {
            let column = format!("metrics.{}", filter::quote_key(k));
            let keys = [
                column.clone(),
                format!("{column}.min"),
                format!("{column}.max"),
            ];
            (k.clone(), keys)
        })
        .collect();
    Ok(RunsPage {
        total: order.len() as u64,
        offset: query.offset as u64,
        runs: full,
        param_keys,
        tag_keys,
        metric_keys,
        metric_sort_keys,
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
