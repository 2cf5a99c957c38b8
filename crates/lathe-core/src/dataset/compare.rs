//! Two profiles side by side: what changed in the schema, in each shared column's statistics,
//! and in the alerts. Works on any two profiles: two versions of a dataset, two datasets, or
//! files profiled without a project.

use serde::Serialize;
use serde_json::Value;

use super::alerts::Alert;
use super::profile::{ColumnProfile, Profile};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Comparison {
    pub a: Side,
    pub b: Side,
    pub schema: SchemaDiff,
    /// The columns both sides have, in A's order.
    pub columns: Vec<ColumnDiff>,
    /// Alerts only B raises, and alerts only A raised.
    pub alerts_added: Vec<Alert>,
    pub alerts_removed: Vec<Alert>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Side {
    pub dataset: String,
    pub version: Option<i64>,
    pub rows: u64,
    pub duplicate_rows: u64,
    pub columns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SchemaDiff {
    /// Columns only B has, with their types.
    pub added: Vec<super::browse::ColumnType>,
    /// Columns only A has.
    pub removed: Vec<super::browse::ColumnType>,
    pub retyped: Vec<Retyped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Retyped {
    pub name: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnDiff {
    pub name: String,
    pub dtype_a: String,
    pub dtype_b: String,
    pub statistics: Vec<StatisticDiff>,
    /// Whether any statistic differs.
    pub changed: bool,
}

/// One statistic of one column on both sides; `delta` (B − A) and `relative` (delta / |A|)
/// when both are numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatisticDiff {
    pub statistic: String,
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub a: Value,
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub b: Value,
    pub delta: Option<f64>,
    pub relative: Option<f64>,
}

fn side(p: &Profile) -> Side {
    Side {
        dataset: p.dataset.clone(),
        version: p.version,
        rows: p.rows,
        duplicate_rows: p.duplicate_rows,
        columns: p.columns.len() as u64,
    }
}

fn float(v: Option<f64>) -> Value {
    v.and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// The statistics compared, by name, as JSON values.
fn statistics(c: &ColumnProfile, rows: u64) -> Vec<(&'static str, Value)> {
    let q = c.quantiles;
    vec![
        ("count", Value::from(c.count)),
        ("nulls", Value::from(c.nulls)),
        (
            "null_share",
            float((rows > 0).then(|| c.nulls as f64 / rows as f64)),
        ),
        ("distinct", Value::from(c.distinct)),
        ("mean", float(c.mean)),
        ("std", float(c.std)),
        ("min", c.min.clone().unwrap_or(Value::Null)),
        ("p5", float(q.map(|q| q.p5))),
        ("p25", float(q.map(|q| q.p25))),
        ("p50", float(q.map(|q| q.p50))),
        ("p75", float(q.map(|q| q.p75))),
        ("p95", float(q.map(|q| q.p95))),
        ("max", c.max.clone().unwrap_or(Value::Null)),
        ("skewness", float(c.skewness)),
        ("zeros", c.zeros.map_or(Value::Null, Value::from)),
        ("mean_length", float(c.lengths.as_ref().map(|l| l.mean))),
    ]
}

/// Compares profile `a` with profile `b`.
pub fn compare(a: &Profile, b: &Profile) -> Comparison {
    let find = |p: &'_ Profile, name: &str| p.columns.iter().position(|c| c.name == name);
    let typed = |c: &ColumnProfile| super::browse::ColumnType {
        name: c.name.clone(),
        dtype: c.dtype.clone(),
    };
    let mut schema = SchemaDiff {
        added: b
            .columns
            .iter()
            .filter(|c| find(a, &c.name).is_none())
            .map(typed)
            .collect(),
        removed: a
            .columns
            .iter()
            .filter(|c| find(b, &c.name).is_none())
            .map(typed)
            .collect(),
        retyped: Vec::new(),
    };
    let mut columns = Vec::new();
    for ca in &a.columns {
        let Some(cb) = find(b, &ca.name).map(|i| &b.columns[i]) else {
            continue;
        };
        if ca.dtype != cb.dtype {
            schema.retyped.push(Retyped {
                name: ca.name.clone(),
                from: ca.dtype.clone(),
                to: cb.dtype.clone(),
            });
        }
        let statistics: Vec<StatisticDiff> = statistics(ca, a.rows)
            .into_iter()
            .zip(statistics(cb, b.rows))
            .filter(|((_, va), (_, vb))| !(va.is_null() && vb.is_null()))
            .map(|((name, va), (_, vb))| {
                let delta = va.as_f64().zip(vb.as_f64()).map(|(x, y)| y - x);
                let relative = delta
                    .zip(va.as_f64())
                    .and_then(|(d, x)| (x != 0.0).then(|| d / x.abs()));
                StatisticDiff {
                    statistic: name.to_owned(),
                    a: va,
                    b: vb,
                    delta,
                    relative,
                }
            })
            .collect();
        let changed = ca.dtype != cb.dtype || statistics.iter().any(|s| s.a != s.b);
        columns.push(ColumnDiff {
            name: ca.name.clone(),
            dtype_a: ca.dtype.clone(),
            dtype_b: cb.dtype.clone(),
            statistics,
            changed,
        });
    }
    let only = |x: &Profile, y: &Profile| -> Vec<Alert> {
        x.alerts
            .iter()
            .filter(|alert| {
                !y.alerts
                    .iter()
                    .any(|o| o.kind == alert.kind && o.columns == alert.columns)
            })
            .cloned()
            .collect()
    };
    Comparison {
        a: side(a),
        b: side(b),
        schema,
        columns,
        alerts_added: only(b, a),
        alerts_removed: only(a, b),
    }
}
