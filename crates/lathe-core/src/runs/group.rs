//! The run table grouped by a param, tag or attribute: each group's run count and the mean,
//! standard deviation, min and max of each metric.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Value;
use super::filter;
use super::query::*;
use super::record::*;
use crate::{Error, Result};

/// One group of [`group`]: runs sharing a param, tag or attribute value, and their metrics'
/// statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupSummary {
    /// The param, tag or attribute value (`null`: runs without it).
    pub value: Option<String>,
    /// The filter that selects this group's runs (the listing's filter, if any, narrowed by
    /// the group's value), to open the group in the run table.
    pub filter: String,
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
    /// The sample standard deviation of the runs' values (n − 1; `null` under two runs): the
    /// spread over seeds when the other params are equal.
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub std: Option<Value>,
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
    let (entity, key) = match &column {
        Column::Param(k) => ("params", k.clone()),
        Column::Tag(k) => ("tags", k.clone()),
        Column::Attribute(k) => ("attributes", k.clone()),
        Column::Metric(..) => {
            return Err(Error::BadArgument {
                argument: "group by",
                detail: format!("{by:?}: group by a param, a tag or an attribute, not a metric"),
            });
        }
    };
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
                filter: filter::equals(entity, &key, value.as_deref()),
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
                            std: (n >= 2).then(|| {
                                let mean = v.iter().sum::<f64>() / n as f64;
                                Value(
                                    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>()
                                        / (n - 1) as f64)
                                        .sqrt(),
                                )
                            }),
                        };
                        (k, stat)
                    })
                    .collect(),
            }
        })
        .collect())
}
