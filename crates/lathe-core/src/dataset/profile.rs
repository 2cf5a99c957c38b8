//! The profile of a table: per-column statistics with pandas' definitions, so the numbers
//! match what an engineer gets from `describe()`, `quantile()`, `skew()` and `nunique()`.
//!
//! - Nulls and float NaN both count as missing (pandas has one notion of missing).
//! - `std` has ddof = 1; quantiles interpolate linearly between order statistics; `skewness`
//!   is the adjusted Fisher–Pearson coefficient, computed as pandas' `nanskew` does.
//! - `distinct` does not count missing values (pandas `nunique`; polars' `n_unique` would).
//! - `duplicate_rows` counts rows equal to an earlier row (pandas `duplicated().sum()`).

use std::collections::HashMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::job::Job;
use crate::{Error, Result};

/// How many most frequent values a column keeps.
const TOP_VALUES: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Profile {
    pub dataset: String,
    /// `None` for a file profiled without a project.
    pub version: Option<i64>,
    pub rows: u64,
    pub duplicate_rows: u64,
    pub columns: Vec<ColumnProfile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnProfile {
    pub name: String,
    /// polars' name for the column type: `i64`, `f64`, `str`, `bool`, `date`, ...
    pub dtype: String,
    /// Non-missing values.
    pub count: u64,
    pub nulls: u64,
    /// Distinct non-missing values.
    pub distinct: u64,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// A number for numeric columns, text (lexicographic) otherwise.
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub min: Option<Value>,
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub max: Option<Value>,
    pub quantiles: Option<Quantiles>,
    pub skewness: Option<f64>,
    pub zeros: Option<u64>,
    pub top_values: Vec<TopValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Quantiles {
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TopValue {
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub value: Value,
    pub count: u64,
}

fn polars_err(e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot profile the table",
        detail: e.to_string(),
    }
}

/// Profiles every column of `frame`, reporting progress per column.
pub fn profile(
    dataset: &str,
    version: Option<i64>,
    frame: &DataFrame,
    job: &Job,
) -> Result<Profile> {
    let total = frame.width() as u64 + 1;
    let mut columns = Vec::with_capacity(frame.width());
    for (i, column) in frame.columns().iter().enumerate() {
        job.cancel.check()?;
        job.progress("profiling columns", i as u64, Some(total));
        columns.push(column_profile(column.as_materialized_series())?);
    }
    job.progress("finding duplicate rows", total - 1, Some(total));
    let distinct_rows = frame
        .unique_stable(None, UniqueKeepStrategy::First, None)
        .map_err(polars_err)?
        .height();
    Ok(Profile {
        dataset: dataset.to_owned(),
        version,
        rows: frame.height() as u64,
        duplicate_rows: (frame.height() - distinct_rows) as u64,
        columns,
    })
}

fn column_profile(series: &Series) -> Result<ColumnProfile> {
    let dtype = series.dtype().clone();
    let mut out = ColumnProfile {
        name: series.name().to_string(),
        dtype: dtype.to_string(),
        count: 0,
        nulls: 0,
        distinct: 0,
        mean: None,
        std: None,
        min: None,
        max: None,
        quantiles: None,
        skewness: None,
        zeros: None,
        top_values: Vec::new(),
    };
    if dtype.is_primitive_numeric() {
        let floats = series.cast(&DataType::Float64).map_err(polars_err)?;
        let mut values: Vec<f64> = floats
            .f64()
            .map_err(polars_err)?
            .iter()
            .flatten()
            .filter(|v| !v.is_nan())
            .collect();
        out.count = values.len() as u64;
        out.nulls = series.len() as u64 - out.count;
        numeric_stats(&mut values, &mut out);
        let integral = dtype.is_integer();
        // By bit pattern, with -0.0 folded into 0.0 (they are equal, as pandas counts them).
        let bits = values
            .iter()
            .map(|v| if *v == 0.0 { 0u64 } else { v.to_bits() });
        (out.distinct, out.top_values) =
            value_counts(bits, |b| number(f64::from_bits(b), integral));
        if integral {
            out.min = out.min.take().map(|v| integral_json(&v));
            out.max = out.max.take().map(|v| integral_json(&v));
        }
    } else {
        // Text, booleans, dates: compared and counted as their text, as pandas does for object
        // columns.
        let text = series.cast(&DataType::String).map_err(polars_err)?;
        let values: Vec<&str> = text.str().map_err(polars_err)?.iter().flatten().collect();
        out.count = values.len() as u64;
        out.nulls = series.len() as u64 - out.count;
        out.min = values.iter().min().map(|s| Value::from(*s));
        out.max = values.iter().max().map(|s| Value::from(*s));
        (out.distinct, out.top_values) = value_counts(values.iter().copied(), Value::from);
    }
    Ok(out)
}

fn number(value: f64, integral: bool) -> Value {
    if integral && value.fract() == 0.0 && value.abs() < 9.007_199_254_740_992e15 {
        Value::from(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

fn integral_json(v: &Value) -> Value {
    v.as_f64().map_or(Value::Null, |f| number(f, true))
}

/// In one pass: the number of distinct values, and the most frequent ones (most frequent
/// first, ties broken by first appearance).
fn value_counts<T: std::hash::Hash + Eq + Copy>(
    values: impl Iterator<Item = T>,
    to_json: impl Fn(T) -> Value,
) -> (u64, Vec<TopValue>) {
    let mut counts: HashMap<T, (u64, usize)> = HashMap::new();
    for (i, v) in values.enumerate() {
        counts.entry(v).or_insert((0, i)).0 += 1;
    }
    let distinct = counts.len() as u64;
    let mut ranked: Vec<_> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
    let top = ranked
        .into_iter()
        .take(TOP_VALUES)
        .map(|(v, (count, _))| TopValue {
            value: to_json(v),
            count,
        })
        .collect();
    (distinct, top)
}

/// Sum with Neumaier compensation: exact enough that the 1e-9 tolerance against pandas holds
/// for millions of values.
fn sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut total, mut compensation) = (0.0f64, 0.0f64);
    for v in values {
        let t = total + v;
        compensation += if total.abs() >= v.abs() {
            (total - t) + v
        } else {
            (v - t) + total
        };
        total = t;
    }
    total + compensation
}

/// pandas zeroes central moments below this to hide floating-point noise (`_zero_out_fperr`).
fn zero_out_fperr(x: f64) -> f64 {
    if x.abs() < 1e-14 { 0.0 } else { x }
}

fn numeric_stats(values: &mut [f64], out: &mut ColumnProfile) {
    let n = values.len();
    if n == 0 {
        return;
    }
    out.zeros = Some(values.iter().filter(|v| **v == 0.0).count() as u64);
    let nf = n as f64;
    let mean = sum(values.iter().copied()) / nf;
    out.mean = Some(mean);
    let m2 = sum(values.iter().map(|v| (v - mean).powi(2)));
    if n > 1 {
        out.std = Some((m2 / (nf - 1.0)).sqrt());
    }
    if n > 2 {
        let m2 = zero_out_fperr(m2);
        let m3 = zero_out_fperr(sum(values.iter().map(|v| (v - mean).powi(3))));
        out.skewness = Some(if m2 == 0.0 {
            0.0
        } else {
            (nf * (nf - 1.0).sqrt() / (nf - 2.0)) * (m3 / m2.powf(1.5))
        });
    }
    values.sort_unstable_by(f64::total_cmp);
    out.min = Some(number(values[0], false));
    out.max = Some(number(values[n - 1], false));
    let q = |p: f64| quantile_sorted(values, p);
    out.quantiles = Some(Quantiles {
        p5: q(0.05),
        p25: q(0.25),
        p50: q(0.5),
        p75: q(0.75),
        p95: q(0.95),
    });
}

/// Linear interpolation between order statistics, as numpy's default (`method="linear"`),
/// including its choice of formula on each side of the midpoint.
fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let t = position - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.05) - 1.15).abs() < 1e-15);
        assert_eq!(quantile_sorted(&[7.0], 0.95), 7.0);
    }

    #[test]
    fn compensated_sum_keeps_small_terms() {
        let values = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(sum(values.into_iter()), 2.0);
    }
}
