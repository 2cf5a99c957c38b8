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
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alerts::{self, Alert};
use super::columns::Columns;
use crate::job::Job;
use crate::numeric::stats::{self, Histogram};
use crate::{Error, Result};

/// How many most frequent values a column keeps.
pub(crate) const TOP_VALUES: usize = 10;

/// The most numeric columns the correlation matrices cover.
pub const MAX_CORRELATION_COLUMNS: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Profile {
    pub dataset: String,
    /// `None` for a file profiled without a project.
    pub version: Option<i64>,
    pub rows: u64,
    pub duplicate_rows: u64,
    pub columns: Vec<ColumnProfile>,
    pub correlations: Correlations,
    /// Every alert of the dataset and its columns.
    pub alerts: Vec<Alert>,
}

/// Pearson and Spearman matrices over the numeric columns, pairwise-complete rows (as pandas
/// `DataFrame.corr`); `null` where a coefficient is undefined (a constant column). Wide tables
/// get the matrices of their first [`MAX_CORRELATION_COLUMNS`] numeric columns (`columns` says
/// which): a 10,000-column matrix would be 10⁸ numbers no one reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Correlations {
    pub pearson: Matrix,
    pub spearman: Matrix,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Matrix {
    pub columns: Vec<String>,
    pub values: Vec<Vec<Option<f64>>>,
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
    /// Equal-width bins of the finite values of a numeric column.
    pub histogram: Option<Histogram>,
    /// Lengths in characters (Unicode scalar values, as pandas' `str.len`) of a text column's
    /// values. Absent from profiles stored before Lathe computed it.
    #[serde(default)]
    pub lengths: Option<Lengths>,
    /// The kinds of this column's alerts (details in the dataset's `alerts`).
    pub alerts: Vec<String>,
}

/// What the alerts need to know about a column beyond its profile.
#[derive(Debug, Default)]
pub(crate) struct ColumnFacts {
    pub(crate) infinite: u64,
    pub(crate) imbalance: Option<f64>,
    pub(crate) pii: Option<(&'static str, f64)>,
    /// p-value of the chi-squared test that the values are uniform (as ydata-profiling: over
    /// numpy's "auto" histogram for numbers, over the value counts for text).
    pub(crate) uniform_p: Option<f64>,
    pub(crate) numeric: bool,
    /// Values as numbers (NaN = missing), for correlations: the first
    /// [`MAX_CORRELATION_COLUMNS`] numeric columns only.
    pub(crate) numbers: Option<Vec<f64>>,
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

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Lengths {
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub median: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TopValue {
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub value: Value,
    pub count: u64,
}

pub(crate) fn polars_err(e: PolarsError) -> Error {
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
    profile_columns(dataset, version, &Columns::Frame(frame), job)
}

/// Profiles every column of `table`, reading (for a Parquet file) as many columns at a time as
/// there are threads, reporting progress per column.
pub fn profile_columns(
    dataset: &str,
    version: Option<i64>,
    table: &Columns<'_>,
    job: &Job,
) -> Result<Profile> {
    let width = table.width();
    let total = width as u64 + 1;
    let mut columns = Vec::with_capacity(width);
    let mut facts = Vec::with_capacity(width);
    let mut numeric_columns = 0;
    // As many columns at a time as there are threads: all cores busy, and the memory of only
    // that many columns' working copies at once.
    let batch = rayon::current_num_threads().max(1);
    let indexes: Vec<usize> = (0..width).collect();
    for (b, chunk) in indexes.chunks(batch).enumerate() {
        job.cancel.check()?;
        job.progress("profiling columns", (b * batch) as u64, Some(total));
        let profiled: Vec<_> = chunk
            .par_iter()
            .map(|&i| column_profile(table.column(i)?.as_materialized_series()))
            .collect::<Result<_>>()?;
        for (profile, mut fact) in profiled {
            if fact.numeric {
                numeric_columns += 1;
                if numeric_columns > MAX_CORRELATION_COLUMNS {
                    fact.numbers = None;
                }
            }
            columns.push(profile);
            facts.push(fact);
        }
    }
    job.progress("correlations", total - 1, Some(total));
    let correlations = correlations(&columns, &facts);
    // The numbers were kept for the correlations only: free them before the duplicate search.
    for fact in &mut facts {
        fact.numbers = None;
    }
    job.cancel.check()?;
    job.progress("finding duplicate rows", total - 1, Some(total));
    let duplicate_rows = super::duplicates::duplicate_rows(table)?;
    Ok(Profile {
        dataset: dataset.to_owned(),
        version,
        rows: table.height() as u64,
        duplicate_rows,
        columns,
        correlations,
        alerts: Vec::new(),
    }
    .with_alerts(&facts))
}

fn column_profile(series: &Series) -> Result<(ColumnProfile, ColumnFacts)> {
    let dtype = series.dtype().clone();
    let mut out = ColumnProfile::empty(series.name(), &dtype);
    let mut facts = ColumnFacts::default();
    if dtype.is_primitive_numeric() {
        let floats = series.cast(&DataType::Float64).map_err(polars_err)?;
        let numbers: Vec<f64> = floats
            .f64()
            .map_err(polars_err)?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect();
        let values: Vec<f64> = numbers.iter().copied().filter(|v| !v.is_nan()).collect();
        facts.infinite = values.iter().filter(|v| v.is_infinite()).count() as u64;
        facts.numeric = true;
        out.count = values.len() as u64;
        out.nulls = series.len() as u64 - out.count;
        let integral = dtype.is_integer();
        // Sorted (a radix sort): runs of equal values are the value counts, and the order
        // statistics and bins are read off it.
        facts.numbers = Some(numbers);
        let mut sorted = values.clone();
        radsort::sort(&mut sorted);
        let counts = sorted_value_counts(&sorted, integral);
        numeric_stats(&values, &sorted, &mut out);
        drop(values);
        (out.distinct, out.top_values) = (counts.distinct, counts.top);
        // Used only if the alerts treat the column as categorical (few distinct values).
        facts.imbalance = counts.imbalance;
        let finite: Vec<f64> = sorted.iter().copied().filter(|v| v.is_finite()).collect();
        drop(sorted);
        out.histogram =
            stats::histogram(&finite, (out.distinct as usize).clamp(1, stats::MAX_BINS));
        // pandas keeps an integer column with missing values as floats.
        facts.uniform_p = if out.distinct <= alerts::LOW_CATEGORICAL_THRESHOLD {
            counts.uniform_p
        } else {
            let auto_bins = stats::auto_bins(&finite, integral && out.nulls == 0);
            stats::histogram(&finite, auto_bins)
                .and_then(|h| stats::chi_squared_uniform_p(&h.counts))
        };
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
        let counts = value_counts(values.iter().copied(), Value::from);
        (out.distinct, out.top_values) = (counts.distinct, counts.top);
        (facts.imbalance, facts.uniform_p) = (counts.imbalance, counts.uniform_p);
        facts.pii = alerts::pii_like(values.iter().copied());
        if dtype == DataType::String {
            out.lengths = lengths(&values);
        }
    }
    Ok((out, facts))
}

impl ColumnProfile {
    /// The profile of a column before any statistic is filled in.
    pub(crate) fn empty(name: &str, dtype: &DataType) -> ColumnProfile {
        ColumnProfile {
            name: name.to_string(),
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
            histogram: None,
            lengths: None,
            alerts: Vec::new(),
        }
    }
}

fn lengths(values: &[&str]) -> Option<Lengths> {
    let mut lengths: Vec<f64> = values.iter().map(|v| v.chars().count() as f64).collect();
    if lengths.is_empty() {
        return None;
    }
    let mean = sum(lengths.iter().copied()) / lengths.len() as f64;
    lengths.sort_unstable_by(f64::total_cmp);
    Some(Lengths {
        min: lengths[0] as u64,
        max: lengths[lengths.len() - 1] as u64,
        mean,
        median: stats::quantile_sorted(&lengths, 0.5),
    })
}

pub(crate) fn number(value: f64, integral: bool) -> Value {
    if integral && value.fract() == 0.0 && value.abs() < 9.007_199_254_740_992e15 {
        Value::from(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

pub(crate) fn integral_json(v: &Value) -> Value {
    v.as_f64().map_or(Value::Null, |f| number(f, true))
}

/// What [`value_counts`] finds.
pub(crate) struct Counts {
    pub(crate) distinct: u64,
    /// The most frequent values, most frequent first; ties go to the value seen first (text)
    /// or the smaller number.
    pub(crate) top: Vec<TopValue>,
    /// 1 − H/ln k of the value distribution (H its entropy, k the distinct values); `None`
    /// for fewer than two.
    pub(crate) imbalance: Option<f64>,
    /// p-value of the chi-squared test that every distinct value is equally frequent; `None`
    /// past [`UNIFORM_TEST_MAX`] distinct values (where no alert reads it).
    pub(crate) uniform_p: Option<f64>,
}

/// The most distinct values for which the alerts read a uniformity test of the value counts
/// (text up to the cardinality threshold, numbers up to the low-categorical one).
pub(crate) const UNIFORM_TEST_MAX: u64 =
    if alerts::CARDINALITY_THRESHOLD > alerts::LOW_CATEGORICAL_THRESHOLD {
        alerts::CARDINALITY_THRESHOLD
    } else {
        alerts::LOW_CATEGORICAL_THRESHOLD
    };

/// [`Counts`] built from one distinct value at a time, in any order: what the in-memory
/// profile and the streamed one ([`super::stream`]) share, so both rank and sum alike.
pub(crate) struct CountsBuilder {
    total: f64,
    entropy: f64,
    distinct: u64,
    /// Kept while there are at most [`UNIFORM_TEST_MAX`] distinct values.
    frequencies: Vec<u64>,
    /// (count, order, value), most frequent first, ties by order.
    top: Vec<(u64, u64, Value)>,
}

impl CountsBuilder {
    /// Counts over `total` values.
    pub(crate) fn new(total: u64) -> CountsBuilder {
        CountsBuilder {
            total: total as f64,
            entropy: 0.0,
            distinct: 0,
            frequencies: Vec::new(),
            top: Vec::with_capacity(TOP_VALUES + 1),
        }
    }

    /// One distinct value seen `count` times; `order` breaks ties among the top values (the
    /// smaller first); `value` is called only if it enters the top.
    pub(crate) fn add(&mut self, count: u64, order: u64, value: impl FnOnce() -> Value) {
        self.distinct += 1;
        if self.distinct <= UNIFORM_TEST_MAX {
            self.frequencies.push(count);
        }
        let p = count as f64 / self.total;
        self.entropy -= p * p.ln();
        let beats = |t: &(u64, u64, Value)| count > t.0 || (count == t.0 && order < t.1);
        if self.top.len() < TOP_VALUES || self.top.last().is_some_and(beats) {
            let at = self.top.iter().position(beats).unwrap_or(self.top.len());
            self.top.insert(at, (count, order, value()));
            self.top.truncate(TOP_VALUES);
        }
    }

    pub(crate) fn finish(self) -> Counts {
        let distinct = self.distinct;
        Counts {
            distinct,
            top: self
                .top
                .into_iter()
                .map(|(count, _, value)| TopValue { value, count })
                .collect(),
            imbalance: (distinct > 1).then(|| 1.0 - self.entropy / (distinct as f64).ln()),
            uniform_p: if distinct <= UNIFORM_TEST_MAX {
                stats::chi_squared_uniform_p(&self.frequencies)
            } else {
                None
            },
        }
    }
}

/// Counts the values in one pass.
fn value_counts<T: std::hash::Hash + Eq + Copy>(
    values: impl Iterator<Item = T>,
    to_json: impl Fn(T) -> Value,
) -> Counts {
    let mut counts: HashMap<T, (u64, usize)> = HashMap::new();
    let mut total = 0u64;
    for (i, v) in values.enumerate() {
        counts.entry(v).or_insert((0, i)).0 += 1;
        total += 1;
    }
    let mut builder = CountsBuilder::new(total);
    for (v, (count, first)) in counts {
        builder.add(count, first as u64, || to_json(v));
    }
    builder.finish()
}

/// Equal values of a sorted run of numbers, one run at a time: -0.0 joins 0.0, as pandas
/// counts them.
pub(crate) struct Runs {
    current: Option<(f64, u64, u64)>,
}

impl Runs {
    pub(crate) fn new() -> Runs {
        Runs { current: None }
    }

    /// The next value in ascending order, at `position`; returns the run it ends, as
    /// (value, count, position of its first value).
    pub(crate) fn push(&mut self, value: f64, position: u64) -> Option<(f64, u64, u64)> {
        match &mut self.current {
            Some((v, count, _)) if *v == value => {
                *count += 1;
                None
            }
            _ => self.current.replace((value, 1, position)),
        }
    }

    /// The last run.
    pub(crate) fn finish(self) -> Option<(f64, u64, u64)> {
        self.current
    }
}

/// [`value_counts`] of numbers from their sorted values: one pass over the runs of equal
/// values, no hash table, and only the [`TOP_VALUES`] most frequent kept in order. Ties go to
/// the smaller value, as they always have in Lathe's profiles.
fn sorted_value_counts(sorted: &[f64], integral: bool) -> Counts {
    let mut builder = CountsBuilder::new(sorted.len() as u64);
    let mut add = |(value, count, start): (f64, u64, u64)| {
        let value = if value == 0.0 { 0.0 } else { value };
        builder.add(count, start, || number(value, integral));
    };
    let mut runs = Runs::new();
    for (i, &v) in sorted.iter().enumerate() {
        if let Some(run) = runs.push(v, i as u64) {
            add(run);
        }
    }
    if let Some(run) = runs.finish() {
        add(run);
    }
    builder.finish()
}

fn correlations(columns: &[ColumnProfile], facts: &[ColumnFacts]) -> Correlations {
    let numeric: Vec<(&str, &Vec<f64>)> = columns
        .iter()
        .zip(facts)
        .filter_map(|(c, f)| Some((c.name.as_str(), f.numbers.as_ref()?)))
        .collect();
    let names: Vec<String> = numeric.iter().map(|(n, _)| (*n).to_owned()).collect();
    // Each column is sorted once; a column without missing values is also ranked once.
    let prepared: Vec<stats::SortedColumn> = numeric
        .iter()
        .map(|(_, v)| stats::SortedColumn::new(v))
        .collect();
    let rows = numeric.first().map_or(0, |(_, v)| v.len());
    let full_ranks: Vec<Option<Vec<f64>>> = numeric
        .iter()
        .map(|(_, v)| (!v.iter().any(|x| x.is_nan())).then(|| stats::average_ranks(v)))
        .collect();
    let k = numeric.len();
    // Row i of the upper triangle per task; each task reuses its rank buffers.
    let upper: Vec<Vec<(Option<f64>, Option<f64>)>> = (0..k)
        .into_par_iter()
        .map_init(stats::RankScratch::default, |scratch, i| {
            let pairs: Vec<(&[f64], &[f64])> = (i..k)
                .map(|j| (&numeric[i].1[..], &numeric[j].1[..]))
                .collect();
            let mut linear = vec![stats::Pearson::default(); pairs.len()];
            stats::Pearson::add_pairs(&mut linear, &pairs);
            (i..k)
                .zip(linear)
                .map(|(j, r)| {
                    let rho = match (&full_ranks[i], &full_ranks[j]) {
                        (Some(ri), Some(rj)) => stats::spearman_of_ranks(ri, rj),
                        _ => stats::spearman_presorted(&prepared[i], &prepared[j], rows, scratch),
                    };
                    (r.finish(), rho)
                })
                .collect()
        })
        .collect();
    let mut pearson = vec![vec![None; k]; k];
    let mut spearman = vec![vec![None; k]; k];
    for (i, row) in upper.into_iter().enumerate() {
        for (offset, (r, rho)) in row.into_iter().enumerate() {
            let j = i + offset;
            (pearson[i][j], pearson[j][i]) = (r, r);
            (spearman[i][j], spearman[j][i]) = (rho, rho);
        }
    }
    Correlations {
        pearson: Matrix {
            columns: names.clone(),
            values: pearson,
        },
        spearman: Matrix {
            columns: names,
            values: spearman,
        },
    }
}

impl Profile {
    /// Fills `alerts` (and each column's list of alert kinds) from the statistics.
    pub(crate) fn with_alerts(mut self, facts: &[ColumnFacts]) -> Profile {
        use alerts::*;
        let rows = self.rows as f64;
        let mut all = Vec::new();
        let mut add = |kind: &str, columns: Vec<String>, value: Value| {
            all.push(Alert {
                kind: kind.to_owned(),
                columns,
                value,
            });
        };
        if self.rows == 0 {
            add("empty", Vec::new(), Value::Null);
        }
        if self.duplicate_rows > 0 {
            add("duplicates", Vec::new(), Value::from(self.duplicate_rows));
        }
        for (column, fact) in self.columns.iter_mut().zip(facts) {
            let mut kinds: Vec<(&str, Value)> = Vec::new();
            let share = |n: u64| if rows > 0.0 { n as f64 / rows } else { 0.0 };
            if column.distinct == 1 {
                kinds.push(("constant", Value::Null));
            }
            if column.count > 1 && column.distinct == column.count && column.nulls == 0 {
                kinds.push(("unique", Value::Null));
            }
            if share(column.nulls) > SHARE_THRESHOLD {
                kinds.push(("missing", Value::from(share(column.nulls))));
            }
            // ydata-profiling treats a numeric column with few distinct values as categorical:
            // no zeros or skewness alerts; imbalance and uniformity over its value counts.
            let categorical = !fact.numeric || column.distinct <= LOW_CATEGORICAL_THRESHOLD;
            if let Some(zeros) = column
                .zeros
                .filter(|z| !categorical && share(*z) > SHARE_THRESHOLD)
            {
                kinds.push(("zeros", Value::from(share(zeros))));
            }
            if share(fact.infinite) > SHARE_THRESHOLD {
                kinds.push(("infinite", Value::from(share(fact.infinite))));
            }
            if let Some(skew) = column
                .skewness
                .filter(|s| !categorical && s.abs() > SKEWNESS_THRESHOLD)
            {
                kinds.push(("skewed", Value::from(skew)));
            }
            let text = !fact.numeric;
            if text && column.distinct > CARDINALITY_THRESHOLD && column.distinct < column.count {
                kinds.push(("high_cardinality", Value::from(column.distinct)));
            }
            if let Some(imbalance) = fact
                .imbalance
                .filter(|i| categorical && *i > IMBALANCE_THRESHOLD)
            {
                kinds.push(("imbalance", Value::from(imbalance)));
            }
            // As ydata-profiling, which tests only categorical text (at most 50 distinct values):
            // singletons of an id column are trivially "uniform".
            let testable = !text || column.distinct <= CARDINALITY_THRESHOLD;
            if let Some(p) = fact
                .uniform_p
                .filter(|p| testable && *p > UNIFORM_P_THRESHOLD)
            {
                kinds.push(("uniform", Value::from(p)));
            }
            if let Some((kind, _)) = fact.pii {
                kinds.push(("pii_like", Value::from(kind)));
            }
            column.alerts = kinds.iter().map(|(k, _)| (*k).to_owned()).collect();
            for (kind, value) in kinds {
                add(kind, vec![column.name.clone()], value);
            }
        }
        let m = &self.correlations.pearson;
        for i in 0..m.columns.len() {
            for j in i + 1..m.columns.len() {
                if let Some(r) = m.values[i][j].filter(|r| r.abs() > CORRELATION_THRESHOLD) {
                    add(
                        "high_correlation",
                        vec![m.columns[i].clone(), m.columns[j].clone()],
                        Value::from(r),
                    );
                }
            }
        }
        self.alerts = all;
        self
    }
}

/// Sum with Neumaier compensation: exact enough that the 1e-9 tolerance against pandas holds
/// for millions of values.
fn sum(values: impl Iterator<Item = f64>) -> f64 {
    let mut total = Neumaier::default();
    for v in values {
        total.add(v);
    }
    total.total()
}

/// A running Neumaier-compensated sum: [`sum`] of values given one at a time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Neumaier {
    total: f64,
    compensation: f64,
}

impl Neumaier {
    pub(crate) fn add(&mut self, v: f64) {
        let t = self.total + v;
        self.compensation += if self.total.abs() >= v.abs() {
            (self.total - t) + v
        } else {
            (v - t) + self.total
        };
        self.total = t;
    }

    pub(crate) fn total(self) -> f64 {
        self.total + self.compensation
    }
}

/// pandas zeroes central moments below this to hide floating-point noise (`_zero_out_fperr`).
fn zero_out_fperr(x: f64) -> f64 {
    if x.abs() < 1e-14 { 0.0 } else { x }
}

/// Moments of `values` (in the table's order, as pandas sums them) and order statistics of
/// `sorted` (the same values, ascending).
fn numeric_stats(values: &[f64], sorted: &[f64], out: &mut ColumnProfile) {
    let n = values.len();
    if n == 0 {
        return;
    }
    out.zeros = Some(values.iter().filter(|v| **v == 0.0).count() as u64);
    let mean = sum(values.iter().copied()) / n as f64;
    let m2 = sum(values.iter().map(|v| (v - mean).powi(2)));
    let m3 = sum(values.iter().map(|v| (v - mean).powi(3)));
    moments(n as u64, mean, m2, m3, out);
    let q = |p: f64| stats::quantile_sorted(sorted, p);
    order_statistics(sorted[0], sorted[n - 1], q, out);
}

/// Mean, standard deviation (ddof 1) and skewness from the mean and the sums of squared and
/// cubed deviations of `n` values.
pub(crate) fn moments(n: u64, mean: f64, m2: f64, m3: f64, out: &mut ColumnProfile) {
    let nf = n as f64;
    out.mean = Some(mean);
    if n > 1 {
        out.std = Some((m2 / (nf - 1.0)).sqrt());
    }
    if n > 2 {
        let m2 = zero_out_fperr(m2);
        let m3 = zero_out_fperr(m3);
        out.skewness = Some(if m2 == 0.0 {
            0.0
        } else {
            (nf * (nf - 1.0).sqrt() / (nf - 2.0)) * (m3 / m2.powf(1.5))
        });
    }
}

/// The quantiles a profile reports.
pub(crate) const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Minimum, maximum and [`QUANTILES`] (`q(p)` gives the `p` quantile).
pub(crate) fn order_statistics(
    min: f64,
    max: f64,
    q: impl Fn(f64) -> f64,
    out: &mut ColumnProfile,
) {
    out.min = Some(number(min, false));
    out.max = Some(number(max, false));
    let [p5, p25, p50, p75, p95] = QUANTILES.map(q);
    out.quantiles = Some(Quantiles {
        p5,
        p25,
        p50,
        p75,
        p95,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(stats::quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(stats::quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(stats::quantile_sorted(&v, 1.0), 4.0);
        assert!((stats::quantile_sorted(&v, 0.05) - 1.15).abs() < 1e-15);
        assert_eq!(stats::quantile_sorted(&[7.0], 0.95), 7.0);
    }

    #[test]
    fn compensated_sum_keeps_small_terms() {
        let values = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(sum(values.into_iter()), 2.0);
    }
}
