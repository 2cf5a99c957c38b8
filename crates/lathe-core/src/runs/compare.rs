//! Runs side by side: the params that differ, and each metric's summary per run.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::load::*;
use super::record::*;
use crate::{Error, Project, Result};

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
