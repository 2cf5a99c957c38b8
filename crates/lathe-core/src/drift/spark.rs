//! A side of a comparison that lives on a Spark cluster ([`crate::dataset::spark`]): the
//! cluster computes what the drift statistics read of each column, and only that comes back.
//!
//! - Categories (text, booleans, and numbers with at most [`EXACT_COUNTS`] distinct values) as
//!   exact value counts grouped on the cluster: every statistic on them is the local one.
//! - Other numeric columns as [`QUANTILES`] quantiles of their finite values
//!   (`percentile_approx` at accuracy [`ACCURACY`], the extremes exact), from which the sample
//!   is rebuilt as `n` values read off the piecewise-linear quantile function, as a bundle's
//!   reference profile is ([`Numbers::from_quantiles`]). Statistics on them are within a
//!   tolerance of the local ones (the K-S statistic within about 1/1000; `docs/drift.md`).
//!
//! Evidently's kinds are inferred with the local rule ([`sample::kind_of`]) from the cluster's
//! counts: exact distinct counts where a threshold depends on them.

use std::collections::HashMap;

use polars::prelude::*;

use super::method::Kind;
use super::plan::Schema;
use super::sample::{self, Label, Numbers, Sample, Values};
use super::table::Table;
use crate::dataset::spark::{Cluster, Col, Row, VIEW, lit};
use crate::job::Job;
use crate::{Error, Result};

/// Points of the quantile function kept for a numeric column (every 0.1 %).
pub const QUANTILES: usize = 1001;
/// `percentile_approx`'s accuracy: its answers are within `n / ACCURACY` ranks.
pub const ACCURACY: u64 = 100_000;
/// Numeric columns with at most this many distinct values come back as exact value counts.
pub const EXACT_COUNTS: u64 = 10_000;
/// The most categories a text column may bring back.
pub const MAX_CATEGORIES: u64 = 1_000_000;

/// What the drift statistics read of one column.
#[derive(Debug)]
struct Column {
    dtype: DataType,
    numeric: bool,
    non_null: usize,
    /// Finite numbers, or present values.
    kept: usize,
    /// Distinct kept values: exact, or an estimate on the same side of every threshold the
    /// kind rule reads.
    distinct: usize,
    /// Exact counts by value, sorted by label, when small enough.
    counts: Option<Vec<(Label, u64)>>,
    /// [`QUANTILES`] quantiles of the finite values (numeric columns without counts).
    quantiles: Option<Vec<f64>>,
}

/// A table on a Spark cluster, summarised for a comparison.
#[derive(Debug)]
pub struct SparkTable {
    rows: usize,
    schema: Schema,
    columns: HashMap<String, Column>,
}

fn dtype_of(kind: &lathe_spark::Kind) -> DataType {
    use lathe_spark::Kind as K;
    match kind {
        K::Int(8) => DataType::Int8,
        K::Int(16) => DataType::Int16,
        K::Int(32) => DataType::Int32,
        K::Int(_) => DataType::Int64,
        K::Float(32) => DataType::Float32,
        K::Float(_) => DataType::Float64,
        K::Bool => DataType::Boolean,
        K::Text => DataType::String,
        K::Date => DataType::Date,
        K::Timestamp => DataType::Datetime(TimeUnit::Microseconds, None),
        K::Decimal | K::Other(_) => DataType::Binary,
    }
}

impl SparkTable {
    /// Summarises the table `url` names (`sc://…`) on its cluster.
    pub fn open(url: &str, job: &Job) -> Result<SparkTable> {
        let (mut cluster, cols) = Cluster::open(url, job)?;
        let total = cols.len() as u64 + 1;
        job.progress("summarising the columns on Spark", 0, Some(total));
        let probabilities: Vec<String> = (0..QUANTILES)
            .map(|k| format!("{:?}", k as f64 / (QUANTILES - 1) as f64))
            .collect();
        let finite = |a: &str| format!("abs({a}) < {}", lit(f64::INFINITY));
        let mut select = vec!["count(*) AS rows".to_owned()];
        for c in &cols {
            let a = &c.alias;
            select.push(format!("count({a}) AS {a}_n"));
            if c.numeric() {
                let f = finite(a);
                select.extend([
                    format!("count_if({f}) AS {a}_kept"),
                    format!("min({a}) FILTER (WHERE {f}) AS {a}_min"),
                    format!("max({a}) FILTER (WHERE {f}) AS {a}_max"),
                    format!("approx_count_distinct({a}) FILTER (WHERE {f}) AS {a}_d"),
                    format!(
                        "percentile_approx({a}, array({}), {ACCURACY}) FILTER (WHERE {f}) AS {a}_q",
                        probabilities.join(", ")
                    ),
                ]);
            } else {
                select.push(format!("approx_count_distinct({a}) AS {a}_d"));
            }
        }
        let answer = cluster.aggregate(&select)?;
        let one = Row(&answer);
        let rows = one.u64("rows") as usize;
        let mut columns = HashMap::new();
        for (i, c) in cols.iter().enumerate() {
            job.cancel.check()?;
            job.progress(
                &format!("summarising {} on Spark", c.name),
                1 + i as u64,
                Some(total),
            );
            let column = summarise(&mut cluster, c, &one)?;
            columns.insert(c.name.clone(), column);
        }
        Ok(SparkTable {
            rows,
            schema: cols
                .iter()
                .map(|c| (c.name.clone(), dtype_of(&c.kind)))
                .collect(),
            columns,
        })
    }

    fn column(&self, name: &str) -> Result<&Column> {
        self.columns.get(name).ok_or_else(|| Error::Compute {
            context: "cannot compute drift",
            detail: format!("the Spark table has no column '{name}'"),
        })
    }
}

/// One column's counts, and its value counts or quantiles.
fn summarise(cluster: &mut Cluster<'_>, c: &Col, one: &Row<'_>) -> Result<Column> {
    let a = &c.alias;
    let non_null = one.u64(&format!("{a}_n")) as usize;
    let kept = if c.numeric() {
        one.u64(&format!("{a}_kept")) as usize
    } else {
        non_null
    };
    let estimate = one.u64(&format!("{a}_d"));
    let dtype = dtype_of(&c.kind);
    let mut column = Column {
        dtype,
        numeric: c.numeric(),
        non_null,
        kept,
        distinct: estimate as usize,
        counts: None,
        quantiles: None,
    };
    // HyperLogLog++ is within a few percent: below twice the limit, count exactly.
    let wants_counts = if c.numeric() {
        estimate <= 2 * EXACT_COUNTS
    } else {
        // Free text (over half its values distinct) is not tested; near the line, count.
        (estimate as f64) < 0.6 * non_null as f64
    };
    if wants_counts && kept > 0 {
        if !c.numeric() && estimate > 2 * MAX_CATEGORIES {
            return Err(Error::Compute {
                context: "cannot compute drift",
                detail: format!(
                    "'{}' has about {estimate} categories on the cluster; drift from Spark brings back at most {MAX_CATEGORIES}",
                    c.name
                ),
            });
        }
        let filter = if c.numeric() {
            format!("abs({a}) < {}", lit(f64::INFINITY))
        } else {
            format!("{a} IS NOT NULL")
        };
        let answer = cluster.run(&format!(
            "SELECT {a} AS v, count(*) AS n FROM {VIEW} WHERE {filter} GROUP BY {a}"
        ))?;
        let counts = labelled_counts(&answer, c.numeric()).map_err(|e| Error::Compute {
            context: "cannot compute drift",
            detail: format!("column '{}': {e}", c.name),
        })?;
        column.distinct = counts.len();
        if !c.numeric() || counts.len() as u64 <= EXACT_COUNTS {
            column.counts = Some(counts);
        }
    }
    if c.numeric() && column.counts.is_none() && kept > 0 {
        let mut q = one.doubles(&format!("{a}_q"));
        if q.len() == QUANTILES {
            // The extremes exactly, and the points in order (an estimate may not be).
            if let (Some(lo), Some(hi)) =
                (one.f64(&format!("{a}_min")), one.f64(&format!("{a}_max")))
            {
                q[0] = lo;
                q[QUANTILES - 1] = hi;
            }
            q.sort_by(f64::total_cmp);
            column.quantiles = Some(q);
        }
    }
    Ok(column)
}

/// The rows `v, n` of a grouped count as labelled counts, sorted by label.
fn labelled_counts(answer: &DataFrame, numeric: bool) -> PolarsResult<Vec<(Label, u64)>> {
    let n = answer.column("n")?.cast(&DataType::UInt64)?;
    let n = n.u64()?;
    let v = answer.column("v")?;
    let mut out: Vec<(Label, u64)> = if numeric {
        let v = v.cast(&DataType::Float64)?;
        v.f64()?
            .iter()
            .zip(n.iter())
            .filter_map(|(v, n)| Some((Label::Num(if v? == 0.0 { 0.0 } else { v? }), n?)))
            .collect()
    } else {
        v.str()?
            .iter()
            .zip(n.iter())
            .filter_map(|(v, n)| Some((Label::Text(v?.to_owned()), n?)))
            .collect()
    };
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

impl Table for SparkTable {
    fn schema(&self) -> Schema {
        self.schema.clone()
    }

    fn rows(&self) -> usize {
        self.rows
    }

    fn kind(&self, name: &str) -> Result<std::result::Result<Kind, String>> {
        let c = self.column(name)?;
        Ok(sample::kind_of(&c.dtype, || c.non_null, || Ok(c.distinct)))
    }

    fn sample(&self, name: &str, kind: Kind) -> Result<Sample> {
        let c = self.column(name)?;
        let dropped = (self.rows - c.kept) as u64;
        let values = match (kind, &c.counts, &c.quantiles) {
            (Kind::Categorical, Some(counts), _) => Values::Categorical(counts.clone()),
            (Kind::Numeric, Some(counts), _) if c.numeric => {
                let mut v = Vec::with_capacity(c.kept);
                for (label, count) in counts {
                    if let Label::Num(x) = label {
                        v.extend(std::iter::repeat_n(*x, *count as usize));
                    }
                }
                Values::Numeric(Numbers::new(v))
            }
            (Kind::Numeric, None, Some(q)) => {
                Values::Numeric(Numbers::from_quantiles(q.clone(), c.kept))
            }
            (Kind::Numeric, None, None) if c.numeric && c.kept == 0 => {
                Values::Numeric(Numbers::new(Vec::new()))
            }
            _ => {
                return Err(Error::Compute {
                    context: "cannot compute drift",
                    detail: format!(
                        "'{name}' on the cluster cannot be read as {}: it has too many distinct values to count",
                        match kind {
                            Kind::Numeric => "numbers",
                            Kind::Categorical => "categories",
                        }
                    ),
                });
            }
        };
        Ok(Sample {
            values,
            n: c.kept,
            dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::path::Path;

    use super::*;
    use crate::dataset::browse::TableSource;
    use crate::drift::{DriftOptions, DriftReport, Method};

    /// A table of `rows` rows whose numeric means move by `shift`: floats with NaN and
    /// infinities, integer counts, a small integer category, text categories, booleans, ids.
    fn table(rows: usize, seed: u64, shift: f64) -> DataFrame {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut normal = Vec::with_capacity(rows);
        let mut counts = Vec::with_capacity(rows);
        let mut level = Vec::with_capacity(rows);
        let mut country = Vec::with_capacity(rows);
        let mut flag = Vec::with_capacity(rows);
        let mut id = Vec::with_capacity(rows);
        for r in 0..rows {
            let u = next();
            let (a, b) = (
                (u >> 11) as f64 / (1u64 << 53) as f64,
                (next() >> 11) as f64 / (1u64 << 53) as f64,
            );
            let z = (-2.0 * a.max(1e-300).ln()).sqrt() * (std::f64::consts::TAU * b).cos();
            normal.push(match u % 97 {
                0 => Some(f64::NAN),
                1 => Some(f64::INFINITY),
                2 => None,
                _ => Some(10.0 * z + 50.0 + shift),
            });
            counts.push(((u >> 20) % 40) as i64 + (shift as i64));
            level.push(((u >> 30) % 4) as i32);
            let p = (u >> 40) % 100;
            country.push(Some(if p < 50 {
                "SE"
            } else if p < (70.0 + shift) as u64 {
                "NO"
            } else if p < 90 {
                "DK"
            } else {
                "FI"
            }));
            flag.push(r % 3 == 0);
            id.push(format!("row-{r}"));
        }
        df!(
            "normal" => normal,
            "counts" => counts,
            "level" => level,
            "country" => country,
            "flag" => flag,
            "id" => id,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn write(frame: &mut DataFrame, path: &Path) {
        ParquetWriter::new(File::create(path).unwrap_or_else(|e| panic!("{e}")))
            .finish(frame)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn spark(path: &Path) -> TableSource {
        let url = format!(
            "{}/?path={}",
            lathe_testkit::spark::shared().url,
            path.display()
        );
        TableSource::Spark {
            shown: url.clone(),
            url,
        }
    }

    fn local(path: &Path) -> TableSource {
        TableSource::File {
            path: path.to_path_buf(),
            options: Default::default(),
        }
    }

    /// The same columns, methods and verdicts; categories (counted exactly on the cluster)
    /// to 1e-12; numbers rebuilt from 1001 quantiles within the stated tolerance.
    fn agree(local: &DriftReport, spark: &DriftReport, what: &str) {
        assert_eq!(local.columns.len(), spark.columns.len(), "{what}");
        assert_eq!(
            local.skipped.iter().map(|s| &s.name).collect::<Vec<_>>(),
            spark.skipped.iter().map(|s| &s.name).collect::<Vec<_>>(),
            "{what}"
        );
        for (l, s) in local.columns.iter().zip(&spark.columns) {
            let name = format!("{what}: {}", l.name);
            assert_eq!(
                (&l.name, l.kind, l.method),
                (&s.name, s.kind, s.method),
                "{name}"
            );
            assert_eq!(l.drifted, s.drifted, "{name}: {} vs {}", l.score, s.score);
            assert_eq!(
                (l.n_reference, l.n_current),
                (s.n_reference, s.n_current),
                "{name}"
            );
            if l.kind == Kind::Categorical || l.name == "counts" {
                assert!(
                    (l.score - s.score).abs() <= 1e-12,
                    "{name}: {} vs {}",
                    l.score,
                    s.score
                );
            } else if l.method == Method::Ks {
                assert!(
                    (l.statistic - s.statistic).abs() <= 2e-3,
                    "{name}: D {} vs {}",
                    l.statistic,
                    s.statistic
                );
            } else {
                assert!(
                    (l.score - s.score).abs() <= 0.01 * l.score.abs().max(0.01),
                    "{name}: {} {} vs {}",
                    l.method.name(),
                    l.score,
                    s.score
                );
            }
        }
        assert_eq!(local.dataset_drift, spark.dataset_drift, "{what}");
    }

    /// Drift over windows reads rows, so a Spark side is refused by name before anything is
    /// contacted (nothing listens at this address).
    #[test]
    fn drift_over_windows_refuses_a_spark_side_before_connecting() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = dir.path().join("r.parquet");
        write(&mut table(100, 1, 0.0), &r);
        let port = lathe_testkit::free_port();
        let url = format!("sc://127.0.0.1:{port}/?path=/data/today.parquet");
        let spark = TableSource::Spark {
            shown: url.clone(),
            url,
        };
        let options = DriftOptions {
            window: Some(crate::drift::window::Window::Rows(10)),
            ..DriftOptions::default()
        };
        let Err(e) = super::super::compare(&local(&r), &spark, &options, &Job::silent()) else {
            panic!("a window over a Spark table was compared");
        };
        let text = e.to_string();
        assert!(
            text.contains("compare without --window") && text.contains("Spark"),
            "{text}"
        );
    }

    #[test]
    fn drift_computed_on_spark_agrees_with_the_local_drift() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let options = DriftOptions::default();
        // 20,000 rows: Wasserstein and Jensen-Shannon; 600 rows: K-S and chi-squared.
        for (rows, shift) in [(20_000, 3.0), (600, 0.0), (600, 8.0)] {
            let (r, c) = (dir.path().join("r.parquet"), dir.path().join("c.parquet"));
            write(&mut table(rows, 1, 0.0), &r);
            write(&mut table(rows, 2, shift), &c);
            let what = format!("{rows} rows, shift {shift}");
            let job = Job::silent();
            let expected = super::super::compare(&local(&r), &local(&c), &options, &job)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                expected.columns.len() >= 5,
                "{what}: {:?}",
                expected.skipped
            );
            let both = super::super::compare(&spark(&r), &spark(&c), &options, &job)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            agree(&expected, &both, &format!("{what}, both on Spark"));
            let mixed = super::super::compare(&spark(&r), &local(&c), &options, &job)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            agree(&expected, &mixed, &format!("{what}, reference on Spark"));
        }
    }
}
