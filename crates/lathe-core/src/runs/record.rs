//! A run's records as the run table holds them: a run with its params, tags and metric
//! summaries ([`RunRecord`]), what to list ([`RunQuery`]) and a page of it ([`RunsPage`]), and
//! which value of a metric a column shows ([`Agg`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Value;
use super::filter;
use crate::{Error, Result};

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

// Filters read a full record through the filter module's view of a run.
impl filter::RunView for RunRecord {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    fn metric(&self, key: &str) -> Option<filter::MetricValues> {
        self.metrics.get(key).map(|m| filter::MetricValues {
            last: m.last.0,
            min: m.min.map(|v| v.0),
            max: m.max.map(|v| v.0),
        })
    }

    fn attribute(&self, key: &str) -> filter::Field<'_> {
        match key {
            "run_id" => filter::Field::Text(&self.source_run_id),
            "run_name" => filter::text(&self.name),
            "status" => filter::Field::Text(&self.status),
            "lifecycle_stage" => filter::Field::Text(&self.lifecycle_stage),
            "artifact_uri" => filter::text(&self.artifact_uri),
            "experiment" => filter::Field::Text(&self.experiment),
            "parent" => filter::text(&self.parent_run_id),
            "start_time" => filter::time(self.start_time),
            "end_time" => filter::time(self.end_time),
            "id" => filter::Field::Number(self.id as f64),
            _ => filter::Field::Missing,
        }
    }
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
    /// Per metric key, the sort keys of its last, min and max value, quoted as the filter
    /// language reads them (`metrics.\`val loss\`.min`).
    pub metric_sort_keys: BTreeMap<String, [String; 3]>,
}

/// Which value of a metric a column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
