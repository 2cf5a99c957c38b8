//! The run table grouped by a param, tag or attribute: each group's run count and the mean,
//! standard deviation, min and max of each metric.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Value;
use super::filter;
use super::query::*;
use super::record::*;
use crate::{Error, Result};

/// One group of [`group`]: runs sharing a param, tag or attribute value (or every param but
/// the excepted), and their metrics' statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupSummary {
    /// The param, tag or attribute value (`null`: runs without it); grouped by `params.*
    /// except …`, the other params as `key=value, …`.
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

/// What runs are grouped by: one param, tag or attribute, or every param but some — the
/// seeds of one configuration together (`params.* except seed`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GroupKey {
    Column(Column),
    /// Every param the runs have, but these.
    ParamsExcept(Vec<String>),
}

impl GroupKey {
    /// `params.optimizer`, `tags.team`, `experiment`, or `params.*` with an optional
    /// `except KEY[,KEY…]` (`params.` before a key is optional).
    pub(crate) fn parse(text: &str) -> Result<GroupKey> {
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix("params.*") {
            let rest = rest.trim();
            let except = if rest.is_empty() {
                Vec::new()
            } else if let Some(keys) = rest.strip_prefix("except") {
                keys.split(',')
                    .map(|k| k.trim())
                    .map(|k| k.strip_prefix("params.").unwrap_or(k).to_owned())
                    .filter(|k| !k.is_empty())
                    .collect()
            } else {
                Vec::new()
            };
            if !rest.is_empty() && except.is_empty() {
                return Err(Error::BadArgument {
                    argument: "group by",
                    detail: format!(
                        "{text:?}: after params.* write `except KEY[,KEY…]`, e.g. \
                         `params.* except seed`"
                    ),
                });
            }
            return Ok(GroupKey::ParamsExcept(except));
        }
        let column = parse_column(trimmed)?;
        if let Column::Metric(..) = column {
            return Err(Error::BadArgument {
                argument: "group by",
                detail: format!(
                    "{text:?}: group by a param, a tag, an attribute or `params.* except KEY`, \
                     not a metric"
                ),
            });
        }
        Ok(GroupKey::Column(column))
    }

    /// A run's group: its value of the column (`None`: it has none), or its params but the
    /// excepted as `key=value` pairs in key order.
    pub(crate) fn value(&self, run: &RunRecord) -> Option<String> {
        match self {
            GroupKey::Column(Column::Param(k)) => run.params.get(k).cloned(),
            GroupKey::Column(Column::Tag(k)) => run.tags.get(k).cloned(),
            GroupKey::Column(column) => match cell(run, column) {
                Cell::Number(x) => Some(x.to_string()),
                Cell::Text(t) => Some(t),
                Cell::Missing => None,
            },
            GroupKey::ParamsExcept(except) => {
                let pairs: Vec<String> = run
                    .params
                    .iter()
                    .filter(|(k, _)| !except.contains(k))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                (!pairs.is_empty()).then(|| pairs.join(", "))
            }
        }
    }

    /// The filter selecting a group's runs, from one of its members (`None`: the group of runs
    /// without the key).
    fn filter(&self, member: Option<&RunRecord>, value: Option<&str>) -> String {
        match self {
            GroupKey::Column(Column::Param(k)) => filter::equals("params", k, value),
            GroupKey::Column(Column::Tag(k)) => filter::equals("tags", k, value),
            GroupKey::Column(Column::Attribute(k)) => filter::equals("attributes", k, value),
            GroupKey::Column(Column::Metric(..)) => String::new(),
            GroupKey::ParamsExcept(except) => {
                let conditions: Vec<String> = member
                    .map(|r| {
                        r.params
                            .iter()
                            .filter(|(k, _)| !except.contains(k))
                            .map(|(k, v)| filter::equals("params", k, Some(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                conditions.join(" and ")
            }
        }
    }
}

/// Groups listed runs by a param, tag or attribute (`params.optimizer`, `tags.team`,
/// `experiment`), or by every param but some (`params.* except seed`: a configuration's
/// seeds). Each metric's statistics are of the value `value_of(key)` names: each run's
/// last value (MLflow's), or its smallest or largest. Groups come in the values' order: by
/// number when every value is one (`0.001`, `0.01`, `0.1`, `1`), else as text; the runs without
/// the key last.
pub fn group(
    runs: &[RunRecord],
    by: &str,
    value_of: impl Fn(&str) -> Agg,
) -> Result<Vec<GroupSummary>> {
    let key = GroupKey::parse(by)?;
    let mut groups: BTreeMap<Option<String>, Vec<&RunRecord>> = BTreeMap::new();
    for r in runs {
        groups.entry(key.value(r)).or_default().push(r);
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
                filter: key.filter(members.first().copied(), value.as_deref()),
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
