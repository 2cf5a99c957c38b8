//! The profile of a table on a Spark cluster, computed by the cluster: Lathe sends aggregate
//! queries over Spark Connect ([`lathe_spark`]) and brings back only aggregates, never the
//! rows. The statistics and alerts have the local profile's definitions
//! ([`crate::dataset::profile`]); what Spark sums in another order agrees within rounding.
//!
//! The queries, each one pass over the table unless said otherwise:
//! 1. counts, extremes, zeros, negatives and infinities, sums (the mean) and text lengths, in
//!    queries of at most 90 aggregates (the extremes of text apart: Spark interprets a query
//!    that has them); then sums of the deviations from the means (powers 1–3, and the product
//!    of every pair) grouped by which columns are missing, from which the standard deviation,
//!    pandas' skewness and each pair's Pearson's r over its complete rows follow;
//! 2. the exact quantiles: the values at the ranks numpy interpolates between, each found by
//!    counting its range of values in 16,384 equal bins, then bringing back the values of
//!    the bin that holds the rank (or narrowing again when it holds too many), one scan a
//!    column each time, so no column is sorted and no sketch is kept;
//! 3. per column, its value counts grouped by the cluster: distinct values, the most frequent
//!    ones, the entropy (imbalance) and the chi-squared uniformity test;
//! 4. every histogram at once (a column's histograms one grouping), each value binned with
//!    [`stats::Bins`]' own arithmetic;
//! 5. duplicate rows (grouped by a hash of the row, then by every column only where a hash
//!    is shared), and the first values of text columns for the PII check.
//!
//! Spearman's rho needs every row's rank in two columns at once; it is not pushed down, and
//! a Spark profile's Spearman matrix is empty.

use std::collections::HashMap;

use lathe_spark::{Address, Kind, Session};
use polars::prelude::*;
use serde_json::Value;

use super::alerts;
use super::profile::{
    self, ColumnFacts, ColumnProfile, Correlations, Counts, Lengths, Matrix, Neumaier, Profile,
    QUANTILES, TopValue,
};
use crate::job::Job;
use crate::numeric::stats::{self, Bins, Histogram};
use crate::{Error, Result};

/// The view every query reads: each column under the alias `c{i}`, numbers as doubles with
/// NaN as NULL (the profile's one notion of missing), everything else as text.
pub(crate) const VIEW: &str = "lathe_profile_v";
/// The table or files as the cluster reads them.
const SOURCE: &str = "lathe_profile_src";

/// One column of the table.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// Its name in [`VIEW`].
    pub(crate) alias: String,
}

impl Col {
    pub(crate) fn numeric(&self) -> bool {
        self.kind.is_numeric()
    }
}

/// Profiles the table `url` names (`sc://HOST:PORT/?table=…` or `?path=…`) on its cluster.
pub fn profile(url: &str, job: &Job) -> Result<Profile> {
    let (mut cluster, cols) = Cluster::open(url, job)?;
    let mut profile = cluster.profile(&cols)?;
    profile.dataset = Address::parse(url).map_or_else(|_| cluster.url.clone(), |a| name_of(&a));
    Ok(profile)
}

/// The first `rows` rows of the table `url` names, as the cluster's `LIMIT` returns them (no
/// order: for a table read from files, in practice the first file's first rows): the rows
/// view's sample. Nothing more of the table is read here.
pub fn head(url: &str, rows: usize, job: &Job) -> Result<polars::prelude::DataFrame> {
    let (mut cluster, _) = Cluster::open(url, job)?;
    job.progress("reading a sample of rows", 0, None);
    cluster.run(&format!("SELECT * FROM {SOURCE} LIMIT {rows}"))
}

/// What a profile calls a Spark table: `db.sales on sc://host:15002`, `cars.csv on …` for
/// files (the last part of the path), never the credentials.
fn name_of(address: &Address) -> String {
    let table = match &address.source {
        Some(lathe_spark::Source::Table(t)) => t.clone(),
        Some(lathe_spark::Source::Files { path, .. }) => path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .to_owned(),
        None => String::new(),
    };
    format!("{table} on sc://{}:{}", address.host, address.port)
}

impl<'j> Cluster<'j> {
    /// Connects to the cluster `url` names and makes its table this session's [`VIEW`]; returns
    /// the table's columns.
    pub(crate) fn open(url: &str, job: &'j Job<'j>) -> Result<(Cluster<'j>, Vec<Col>)> {
        let address = Address::parse(url).map_err(|e| spark_error(url, e))?;
        let Some(source) = address.source.clone() else {
            return Err(Error::BadArgument {
                argument: "dataset",
                detail: format!(
                    "{address} names no table: add ?table=DB.TABLE, or ?path=PATH for a file the cluster reads (with &format=csv|parquet when the extension does not say)"
                ),
            });
        };
        let shown = address.to_string();
        job.progress("connecting to Spark", 0, None);
        let session = Session::connect(&address).map_err(|e| spark_error(&shown, e))?;
        let mut cluster = Cluster {
            session,
            url: shown.clone(),
            job,
        };
        let fields = cluster
            .session
            .create_view(SOURCE, &source)
            .map_err(|e| spark_error(&shown, e))?;
        let cols: Vec<Col> = fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| Col {
                name: f.name,
                kind: f.kind,
                alias: format!("c{i}"),
            })
            .collect();
        cluster.run(&view_sql(&cols))?;
        Ok((cluster, cols))
    }
}

fn spark_error(url: &str, e: lathe_spark::Error) -> Error {
    match e {
        lathe_spark::Error::Cancelled => Error::Cancelled,
        e => Error::Remote {
            url: lathe_spark::redact(url),
            detail: e.to_string(),
        },
    }
}

/// `name` quoted as a Spark identifier.
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `x` as a Spark double literal that parses back to the same bits (Rust prints the shortest
/// text that round-trips; Java's parser rounds correctly).
pub(crate) fn lit(x: f64) -> String {
    if x.is_nan() {
        "CAST('NaN' AS DOUBLE)".into()
    } else if x == f64::INFINITY {
        "CAST('Infinity' AS DOUBLE)".into()
    } else if x == f64::NEG_INFINITY {
        "CAST('-Infinity' AS DOUBLE)".into()
    } else {
        format!("CAST('{x:?}' AS DOUBLE)")
    }
}

fn view_sql(cols: &[Col]) -> String {
    let mut select: Vec<String> = cols
        .iter()
        .map(|c| {
            let name = ident(&c.name);
            let expr = match c.kind {
                Kind::Float(_) => {
                    format!("CASE WHEN isnan({name}) THEN NULL ELSE CAST({name} AS DOUBLE) END")
                }
                Kind::Int(_) => format!("CAST({name} AS DOUBLE)"),
                _ => format!("CAST({name} AS STRING)"),
            };
            format!("{expr} AS {}", c.alias)
        })
        .collect();
    // The order rows are read in: ties among a text column's most frequent values go to the
    // value seen first, as in the local profile.
    select.push("monotonically_increasing_id() AS lathe_row".into());
    format!(
        "CREATE OR REPLACE TEMPORARY VIEW {VIEW} AS SELECT {} FROM {SOURCE}",
        select.join(", ")
    )
}

/// A table on a Spark cluster, opened as this session's [`VIEW`].
pub(crate) struct Cluster<'j> {
    session: Session,
    /// The address without credentials.
    pub(crate) url: String,
    job: &'j Job<'j>,
}

/// A value of a one-row answer.
pub(crate) struct Row<'a>(pub(crate) &'a DataFrame);

impl Row<'_> {
    pub(crate) fn f64(&self, name: &str) -> Option<f64> {
        let column = self.0.column(name).ok()?;
        let column = column.cast(&DataType::Float64).ok()?;
        column.f64().ok()?.get(0)
    }

    pub(crate) fn u64(&self, name: &str) -> u64 {
        self.f64(name).map_or(0, |v| v as u64)
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        let column = self.0.column(name).ok()?;
        column.str().ok()?.get(0).map(str::to_owned)
    }

    /// A list of doubles (an aggregate's `collect_list` or `percentile_approx` array).
    pub(crate) fn doubles(&self, name: &str) -> Vec<f64> {
        let Ok(column) = self.0.column(name) else {
            return Vec::new();
        };
        let Ok(list) = column.list() else {
            return Vec::new();
        };
        let Some(series) = list.get_as_series(0) else {
            return Vec::new();
        };
        let Ok(floats) = series.cast(&DataType::Float64) else {
            return Vec::new();
        };
        floats
            .f64()
            .map(|f| f.iter().flatten().collect())
            .unwrap_or_default()
    }
}

/// What the first pass learns of a numeric column.
#[derive(Default, Clone)]
struct Pass1 {
    count: u64,
    min: f64,
    max: f64,
    finite_min: Option<f64>,
    finite_max: Option<f64>,
    infinite: u64,
    /// Values below zero (with -∞), equal to -∞, equal to zero, and equal to -0.0.
    negative: u64,
    negative_infinite: u64,
    zeros: u64,
    negative_zeros: u64,
}

impl Cluster<'_> {
    /// Runs `query` on the cluster (interrupted there when the job is cancelled).
    pub(crate) fn run(&mut self, query: &str) -> Result<DataFrame> {
        self.job.cancel.check()?;
        let cancel = self.job.cancel.clone();
        let stop = move || cancel.is_cancelled();
        let url = self.url.clone();
        self.session
            .sql(query, &stop)
            .map_err(|e| spark_error(&url, e))
    }

    fn profile(&mut self, cols: &[Col]) -> Result<Profile> {
        let total = 5 + cols.len() as u64;
        let numeric: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].numeric()).collect();
        let correlated: Vec<usize> = numeric
            .iter()
            .copied()
            .take(profile::MAX_CORRELATION_COLUMNS)
            .collect();

        // 1. Counts, extremes, sums and lengths: plain aggregates, a few dozen per query so
        //    Spark compiles each query's loop (past ~100 aggregate fields it interprets them,
        //    measured 10-20x slower). The extremes of text are asked apart: Spark interprets
        //    every aggregate of a query that has one (measured on 10,000,000 rows × 25
        //    columns: 15.6 s for the query of 90 that held them, 5.5 s for them alone).
        self.job.progress("counting and summing", 0, Some(total));
        let mut fields = vec!["count(*) AS rows".to_owned()];
        let mut text_extremes = Vec::new();
        let ninf = lit(f64::NEG_INFINITY);
        for c in cols {
            let a = &c.alias;
            fields.push(format!("count({a}) AS {a}_n"));
            if c.numeric() {
                let finite = format!("abs({a}) < {}", lit(f64::INFINITY));
                fields.extend([
                    format!("min({a}) AS {a}_min"),
                    format!("max({a}) AS {a}_max"),
                    format!("min({a}) FILTER (WHERE {finite}) AS {a}_fmin"),
                    format!("max({a}) FILTER (WHERE {finite}) AS {a}_fmax"),
                    format!("count_if(NOT ({finite})) AS {a}_inf"),
                    format!("count_if({a} = {ninf}) AS {a}_ninf"),
                    format!("count_if({a} < 0) AS {a}_neg"),
                    format!("count_if({a} = 0) AS {a}_zeros"),
                    // -0.0 sorts before 0.0 in the local profile's quantiles; atan2 tells
                    // them apart (-π and π) in arithmetic, where a cast to text made this
                    // pass's queries slower.
                    format!("count_if({a} = 0 AND atan2({a}, -1) < 0) AS {a}_nzero"),
                    format!("sum({a}) AS {a}_sum"),
                ]);
            } else {
                text_extremes.extend([
                    format!("min({a}) AS {a}_min"),
                    format!("max({a}) AS {a}_max"),
                ]);
                if c.kind == Kind::Text {
                    fields.extend([
                        format!("min(char_length({a})) AS {a}_lmin"),
                        format!("max(char_length({a})) AS {a}_lmax"),
                        format!("sum(char_length({a})) AS {a}_lsum"),
                    ]);
                }
            }
        }
        let mut answer = self.aggregate(&fields)?;
        if !text_extremes.is_empty() {
            let extremes = self.aggregate(&text_extremes)?;
            answer = answer
                .hstack(extremes.columns())
                .map_err(profile::polars_err)?;
        }
        let one = Row(&answer);
        let rows = one.u64("rows");

        // Median text lengths: an aggregate that keeps a map of the lengths.
        let medians: Vec<String> = cols
            .iter()
            .filter(|c| c.kind == Kind::Text)
            .map(|c| {
                format!(
                    "percentile(char_length({a}), 0.5) AS {a}_lmedian",
                    a = c.alias
                )
            })
            .collect();
        let sketched = if medians.is_empty() {
            DataFrame::empty()
        } else {
            self.run(&format!("SELECT {} FROM {VIEW}", medians.join(", ")))?
        };
        let sketch = Row(&sketched);

        let mut columns = Vec::with_capacity(cols.len());
        let mut facts = Vec::with_capacity(cols.len());
        let mut pass1 = vec![Pass1::default(); cols.len()];
        let mut means = vec![f64::NAN; cols.len()];
        for (i, c) in cols.iter().enumerate() {
            let a = &c.alias;
            let mut out = ColumnProfile::empty(&c.name, &DataType::Null);
            out.dtype = c.kind.polars_name();
            let mut fact = ColumnFacts::default();
            out.count = one.u64(&format!("{a}_n"));
            out.nulls = rows - out.count;
            if c.numeric() {
                fact.numeric = true;
                let p = &mut pass1[i];
                p.count = out.count;
                fact.infinite = one.u64(&format!("{a}_inf"));
                p.infinite = fact.infinite;
                if out.count > 0 {
                    out.zeros = Some(one.u64(&format!("{a}_zeros")));
                    means[i] = one.f64(&format!("{a}_sum")).unwrap_or(f64::NAN) / out.count as f64;
                    p.min = one.f64(&format!("{a}_min")).unwrap_or(f64::NAN);
                    p.max = one.f64(&format!("{a}_max")).unwrap_or(f64::NAN);
                    p.finite_min = one.f64(&format!("{a}_fmin"));
                    p.finite_max = one.f64(&format!("{a}_fmax"));
                    p.negative = one.u64(&format!("{a}_neg"));
                    p.negative_infinite = one.u64(&format!("{a}_ninf"));
                    p.zeros = one.u64(&format!("{a}_zeros"));
                    p.negative_zeros = one.u64(&format!("{a}_nzero"));
                }
            } else {
                out.min = one.text(&format!("{a}_min")).map(Value::from);
                out.max = one.text(&format!("{a}_max")).map(Value::from);
                if c.kind == Kind::Text && out.count > 0 {
                    out.lengths = Some(Lengths {
                        min: one.u64(&format!("{a}_lmin")),
                        max: one.u64(&format!("{a}_lmax")),
                        mean: one.f64(&format!("{a}_lsum")).unwrap_or(f64::NAN) / out.count as f64,
                        median: sketch.f64(&format!("{a}_lmedian")).unwrap_or(f64::NAN),
                    });
                }
            }
            columns.push(out);
            facts.push(fact);
        }

        // Central moments and Pearson's r from sums of deviations from the mean, grouped by
        // which columns are missing, so each pair sums over its complete rows.
        self.job
            .progress("moments and correlations", 1, Some(total));
        let missing: Vec<usize> = correlated
            .iter()
            .copied()
            .filter(|&i| columns[i].count < rows)
            .collect();
        let gram = self.gram(cols, &numeric, &correlated, &means, &missing)?;
        let constant: Vec<bool> = pass1
            .iter()
            .map(|p| p.count > 0 && p.infinite == 0 && p.finite_min == p.finite_max)
            .collect();
        for &i in &numeric {
            let n = columns[i].count;
            if n > 0 {
                let (m2, m3) = gram.moments(i, n);
                profile::moments(n, means[i], m2, m3, &mut columns[i]);
            }
        }
        let k = correlated.len();
        let mut pearson = vec![vec![None; k]; k];
        for x in 0..k {
            for y in x..k {
                let r = gram.pearson(correlated[x], correlated[y], &constant);
                (pearson[x][y], pearson[y][x]) = (r, r);
            }
        }

        // 2. The exact order statistics from the values inside each bracket.
        self.job.progress("exact quantiles", 1, Some(total));
        let finite_quartiles = self.quantiles(cols, &pass1, &mut columns)?;

        // 3. Value counts, a column at a time.
        for (i, c) in cols.iter().enumerate() {
            self.job.progress(
                &format!("counting the values of {}", c.name),
                2 + i as u64,
                Some(total),
            );
            let counts = self.value_counts(c, columns[i].count)?;
            (columns[i].distinct, columns[i].top_values) = (counts.distinct, counts.top);
            facts[i].imbalance = counts.imbalance;
            facts[i].uniform_p = counts.uniform_p;
        }

        // 4. Histograms: the profile's, and the "auto" one of the uniformity test.
        self.job
            .progress("histograms", 2 + cols.len() as u64, Some(total));
        self.histograms(cols, &pass1, &finite_quartiles, &mut columns, &mut facts)?;

        // 5. Duplicate rows, and the PII check's sample of text values.
        self.job
            .progress("finding duplicate rows", 3 + cols.len() as u64, Some(total));
        let keys: Vec<String> = cols.iter().map(|c| c.alias.clone()).collect();
        let duplicate_rows = if keys.is_empty() {
            0
        } else {
            self.duplicate_rows(cols)?
        };
        self.job
            .progress("looking for PII", 4 + cols.len() as u64, Some(total));
        for (i, c) in cols.iter().enumerate() {
            if c.numeric() || columns[i].count == 0 {
                continue;
            }
            let a = &c.alias;
            let sample = self.run(&format!(
                "SELECT {a} FROM {VIEW} WHERE {a} IS NOT NULL LIMIT {}",
                alerts::PII_SAMPLE
            ))?;
            let values = sample.column(a).map_err(profile::polars_err)?;
            let values = values.str().map_err(profile::polars_err)?;
            facts[i].pii = alerts::pii_like(values.iter().flatten());
        }

        let names: Vec<String> = correlated.iter().map(|&i| cols[i].name.clone()).collect();
        Ok(Profile {
            dataset: String::new(),
            version: None,
            rows,
            duplicate_rows,
            columns,
            correlations: Correlations {
                pearson: Matrix {
                    columns: names,
                    values: pearson,
                },
                spearman: Matrix {
                    columns: Vec::new(),
                    values: Vec::new(),
                },
            },
            alerts: Vec::new(),
        }
        .with_alerts(&facts))
    }

    /// The rows equal to an earlier row. Equal rows hash alike, so rows are first grouped by
    /// a 64-bit hash of the whole row, a key far cheaper to group by than every column
    /// (measured on 10,000,000 rows × 25 columns: 10.3 s, where grouping by the columns
    /// took 28.2 s); only when some hash is shared are the rows sharing one grouped by their
    /// columns, so two different rows with one hash count as different (that query groups
    /// the hashes again; it runs only when some hash is shared).
    fn duplicate_rows(&mut self, cols: &[Col]) -> Result<u64> {
        let keys = group_keys(cols);
        // -0.0 and 0.0 are one group, and their hashes differ; NaN hashes as one value.
        let hashed: Vec<String> = cols
            .iter()
            .zip(&keys)
            .map(|(c, k)| match c.kind {
                Kind::Float(_) => format!("IF({k} = 0, 0, {k})"),
                _ => k.clone(),
            })
            .collect();
        let hash = format!("xxhash64({})", hashed.join(", "));
        let hashes = format!("SELECT {hash} AS h, count(*) AS n FROM {SOURCE} GROUP BY 1");
        let shared = self.run(&format!("SELECT count_if(n > 1) AS shared FROM ({hashes})"))?;
        if Row(&shared).u64("shared") == 0 {
            return Ok(0);
        }
        let d = self.run(&format!(
            "SELECT coalesce(sum(n - 1), 0) AS d FROM (SELECT count(*) AS n FROM {SOURCE} \
             WHERE {hash} IN (SELECT h FROM ({hashes}) WHERE n > 1) GROUP BY {}) WHERE n > 1",
            keys.join(", ")
        ))?;
        Ok(Row(&d).u64("d"))
    }

    /// The one-row answer of `fields` (aggregates over [`VIEW`]), asked [`FIELDS_PER_QUERY`]
    /// at a time.
    pub(crate) fn aggregate(&mut self, fields: &[String]) -> Result<DataFrame> {
        let mut out = DataFrame::empty();
        for chunk in fields.chunks(FIELDS_PER_QUERY) {
            let part = self.run(&format!("SELECT {} FROM {VIEW}", chunk.join(", ")))?;
            out = if out.width() == 0 {
                part
            } else {
                out.hstack(part.columns()).map_err(profile::polars_err)?
            };
        }
        Ok(out)
    }

    /// Sums of deviations from each numeric column's mean (first, second and third powers,
    /// and the products of every pair of `correlated` columns), grouped by which of the
    /// correlated columns are missing (`missing`: those that ever are), so that a pair's sums
    /// can be taken over its complete rows. With more than [`MAX_KEYED`] such columns the
    /// patterns could be as many as the rows: their pairs get Spark's `corr` instead.
    fn gram(
        &mut self,
        cols: &[Col],
        numeric: &[usize],
        correlated: &[usize],
        means: &[f64],
        missing: &[usize],
    ) -> Result<Gram> {
        let deviation = |i: usize| {
            let a = &cols[i].alias;
            if means[i].is_finite() {
                format!("coalesce({a} - {}, CAST(0 AS DOUBLE))", lit(means[i]))
            } else {
                format!("coalesce({a}, CAST(0 AS DOUBLE))")
            }
        };
        let grouped = missing.len() <= MAX_KEYED;
        let keyed: Vec<usize> = if grouped {
            missing.to_vec()
        } else {
            Vec::new()
        };
        let key = if keyed.is_empty() {
            "''".to_owned()
        } else {
            let flags: Vec<String> = keyed
                .iter()
                .map(|&i| format!("IF({} IS NULL, '1', '0')", cols[i].alias))
                .collect();
            format!("concat({})", flags.join(", "))
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        for &i in numeric {
            let d = deviation(i);
            fields.push((format!("s1_{i}"), format!("sum({d})")));
            fields.push((format!("s2_{i}"), format!("sum({d} * {d})")));
            fields.push((format!("s3_{i}"), format!("sum({d} * {d} * {d})")));
        }
        let mut direct = HashMap::new();
        for (x, &i) in correlated.iter().enumerate() {
            for &j in &correlated[x + 1..] {
                if grouped || !(missing.contains(&i) || missing.contains(&j)) {
                    fields.push((
                        format!("p_{i}_{j}"),
                        format!("sum({} * {})", deviation(i), deviation(j)),
                    ));
                } else {
                    direct.insert(
                        (i, j),
                        format!("corr({}, {})", cols[i].alias, cols[j].alias),
                    );
                }
            }
        }
        let mut groups: HashMap<String, Group> = HashMap::new();
        for chunk in fields.chunks(FIELDS_PER_QUERY) {
            let select: Vec<String> = chunk
                .iter()
                .map(|(name, expr)| format!("{expr} AS {name}"))
                .collect();
            let answer = self.run(&format!(
                "SELECT {key} AS k, count(*) AS g_n, {} FROM {VIEW} GROUP BY 1",
                select.join(", ")
            ))?;
            let keys = answer
                .column("k")
                .and_then(|k| k.cast(&DataType::String))
                .map_err(profile::polars_err)?;
            let keys = keys.str().map_err(profile::polars_err)?;
            let counts = answer
                .column("g_n")
                .and_then(|k| k.cast(&DataType::UInt64))
                .map_err(profile::polars_err)?;
            let counts = counts.u64().map_err(profile::polars_err)?;
            let mut values = Vec::with_capacity(chunk.len());
            for (name, _) in chunk {
                let column = answer
                    .column(name)
                    .and_then(|c| c.cast(&DataType::Float64))
                    .map_err(profile::polars_err)?;
                values.push(column.f64().map_err(profile::polars_err)?.clone());
            }
            for row in 0..answer.height() {
                let k = keys.get(row).unwrap_or_default();
                let group = groups.entry(k.to_owned()).or_insert_with(|| Group {
                    missing: keyed
                        .iter()
                        .zip(k.bytes())
                        .filter(|(_, flag)| *flag == b'1')
                        .map(|(i, _)| *i)
                        .collect(),
                    rows: 0,
                    sums: HashMap::new(),
                });
                group.rows = counts.get(row).unwrap_or(0);
                for ((name, _), column) in chunk.iter().zip(&values) {
                    group
                        .sums
                        .insert(name.clone(), column.get(row).unwrap_or(f64::NAN));
                }
            }
        }
        // Pairs of columns with missing values when there are too many such columns to group.
        let mut corr = HashMap::new();
        let pairs: Vec<((usize, usize), String)> = direct.into_iter().collect();
        for chunk in pairs.chunks(FIELDS_PER_QUERY / 6) {
            let select: Vec<String> = chunk
                .iter()
                .map(|((i, j), expr)| format!("{expr} AS r_{i}_{j}"))
                .collect();
            let answer = self.run(&format!("SELECT {} FROM {VIEW}", select.join(", ")))?;
            let one = Row(&answer);
            for ((i, j), _) in chunk {
                corr.insert((*i, *j), one.f64(&format!("r_{i}_{j}")));
            }
        }
        Ok(Gram {
            groups: groups.into_values().collect(),
            corr,
        })
    }

    /// The five quantiles of every numeric column, exact: the values at the ranks
    /// `numpy.quantile` interpolates between, found by narrowing each rank's range of values.
    /// A pass counts the values of each range in [`QUANTILE_BINS`] equal bins (with their
    /// extremes); the bin holding the rank is the next range, or the answer when its values
    /// are all equal; once a range holds at most [`QUANTILE_VALUES`] values they are brought
    /// back and sorted here. The infinities and zeros are counted by the first pass and never
    /// binned (-0.0 sorts before 0.0, as in the local profile). A column whose ranges do not
    /// narrow in [`QUANTILE_PASSES`] passes gets Spark's exact `percentile` instead.
    fn quantiles(
        &mut self,
        cols: &[Col],
        pass1: &[Pass1],
        columns: &mut [ColumnProfile],
    ) -> Result<HashMap<usize, (f64, f64)>> {
        // The value at each (column, rank) wanted, and the ranks still being searched for.
        let mut found: HashMap<(usize, u64), f64> = HashMap::new();
        let mut pending: Vec<(u64, Range)> = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            let p = &pass1[i];
            if !c.numeric() || p.count == 0 {
                continue;
            }
            let positive_infinite = p.infinite - p.negative_infinite;
            let mut ranks: Vec<u64> = QUANTILES
                .iter()
                .flat_map(|&prob| {
                    let (below, above, _) = stats::quantile_positions(p.count as usize, prob);
                    [below as u64, above as u64]
                })
                .collect();
            ranks.extend(
                finite_quartile_ranks(p)
                    .into_iter()
                    .flatten()
                    .flat_map(|(below, above, _)| [below, above]),
            );
            for rank in ranks {
                let searched = pending
                    .iter()
                    .any(|(r, range)| *r == rank && range.col == i);
                if searched || found.contains_key(&(i, rank)) {
                    continue;
                }
                let value = if rank < p.negative_infinite {
                    f64::NEG_INFINITY
                } else if rank < p.negative {
                    let range = Range {
                        col: i,
                        lo: p.finite_min.unwrap_or(0.0),
                        hi: 0.0,
                        below: p.negative_infinite,
                    };
                    pending.push((rank, range));
                    continue;
                } else if rank < p.negative + p.negative_zeros {
                    -0.0
                } else if rank < p.negative + p.zeros {
                    0.0
                } else if rank < p.count - positive_infinite {
                    let range = Range {
                        col: i,
                        lo: 0.0,
                        hi: p.finite_max.unwrap_or(0.0),
                        below: p.negative + p.zeros,
                    };
                    pending.push((rank, range));
                    continue;
                } else {
                    f64::INFINITY
                };
                found.insert((i, rank), value);
            }
        }
        let mut failed: Vec<usize> = Vec::new();
        let mut small: Vec<(u64, Range)> = Vec::new();
        for _ in 0..QUANTILE_PASSES {
            if pending.is_empty() {
                break;
            }
            let ranges = distinct_ranges(&pending);
            // One scan a column: a column's ranges at one pass are disjoint (the halves
            // either side of zero, then bins of disjoint ranges), so each value falls in the
            // first range that holds it.
            let parts: Vec<String> = by_column(&ranges)
                .into_iter()
                .map(|(col, ids)| {
                    let a = &cols[col].alias;
                    let (mut range, mut bin) = (String::new(), String::new());
                    for &id in &ids {
                        let r = &ranges[id];
                        range.push_str(&format!(" WHEN {} THEN {id}", r.within_sql(a)));
                        bin.push_str(&format!(" WHEN {id} THEN {}", r.bin_sql(a)));
                    }
                    format!(
                        "SELECT w, CASE w{bin} END AS b, count(*) AS n, min({a}) AS lo, max({a}) AS hi \
                         FROM (SELECT CASE{range} END AS w, {a} FROM {VIEW} WHERE {}) GROUP BY 1, 2",
                        within_any(&ranges, &ids, a)
                    )
                })
                .collect();
            let answer = self.run(&parts.join(" UNION ALL "))?;
            // Each range's bins in order: (bin, values, smallest, largest).
            let mut bins: Vec<Vec<(f64, u64, f64, f64)>> = vec![Vec::new(); ranges.len()];
            if answer.height() > 0 {
                let (w, n) = (integers(&answer, "w")?, integers(&answer, "n")?);
                let b = doubles(&answer, "b")?;
                let (lo, hi) = (doubles(&answer, "lo")?, doubles(&answer, "hi")?);
                for row in 0..answer.height() {
                    if let (Some(w), Some(b), Some(n), Some(lo), Some(hi)) =
                        (w[row], b[row], n[row], lo[row], hi[row])
                        && let Some(list) = bins.get_mut(w as usize)
                    {
                        list.push((b, n as u64, lo, hi));
                    }
                }
            }
            for list in &mut bins {
                list.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
            }
            let mut next = Vec::new();
            for (rank, range) in pending {
                let Some(id) = ranges.iter().position(|r| *r == range) else {
                    failed.push(range.col);
                    continue;
                };
                let local = rank - range.below;
                let mut before = 0;
                let Some(&(_, n, lo, hi)) = bins[id].iter().find(|bin| {
                    let inside = local < before + bin.1;
                    if !inside {
                        before += bin.1;
                    }
                    inside
                }) else {
                    failed.push(range.col);
                    continue;
                };
                let narrower = Range {
                    col: range.col,
                    lo,
                    hi,
                    below: range.below + before,
                };
                if lo == hi {
                    found.insert((range.col, rank), lo);
                } else if n <= QUANTILE_VALUES {
                    small.push((rank, narrower));
                } else {
                    next.push((rank, narrower));
                }
            }
            pending = next;
        }
        failed.extend(pending.iter().map(|(_, r)| r.col));

        // The values of the small ranges, sorted here.
        small.retain(|(_, r)| !failed.contains(&r.col));
        let ranges = distinct_ranges(&small);
        if !ranges.is_empty() {
            // One scan a column, whatever its number of ranges (a scan a range took 30 s for
            // 100 ranges of 20 columns on 10,000,000 rows, a scan a column 4.3 s; one scan of
            // every column, with every range in its condition, 177 s).
            let columns = by_column(&ranges);
            let parts: Vec<String> = columns
                .iter()
                .map(|(col, ids)| {
                    let a = &cols[*col].alias;
                    format!(
                        "SELECT {col} AS w, {a} AS v FROM {VIEW} WHERE {}",
                        within_any(&ranges, ids, a)
                    )
                })
                .collect();
            let answer = self.run(&parts.join(" UNION ALL "))?;
            let (w, v) = (integers(&answer, "w")?, doubles(&answer, "v")?);
            let mut values: Vec<Vec<f64>> = vec![Vec::new(); ranges.len()];
            for (w, v) in w.into_iter().zip(v) {
                let (Some(col), Some(v)) = (w, v) else {
                    continue;
                };
                let ids = columns.iter().find(|(c, _)| *c as i64 == col);
                for &id in ids.map_or(&[][..], |(_, ids)| ids) {
                    if ranges[id].holds(v) {
                        values[id].push(v);
                    }
                }
            }
            for list in &mut values {
                radsort::sort(list);
            }
            for (rank, range) in small {
                let id = ranges.iter().position(|r| *r == range);
                match id.and_then(|id| values[id].get((rank - range.below) as usize)) {
                    Some(&v) => {
                        found.insert((range.col, rank), v);
                    }
                    None => failed.push(range.col),
                }
            }
        }

        for (i, c) in cols.iter().enumerate() {
            let p = &pass1[i];
            if !c.numeric() || p.count == 0 {
                continue;
            }
            let a = &c.alias;
            let mut values = [0.0; 5];
            if failed.contains(&i) {
                let answer = self.run(&format!(
                    "SELECT percentile({a}, array({})) AS q FROM {VIEW}",
                    QUANTILES.map(|p| format!("{p:?}")).join(", ")
                ))?;
                let q = Row(&answer).doubles("q");
                if q.len() == QUANTILES.len() {
                    values.copy_from_slice(&q);
                }
            } else {
                for (q, &prob) in QUANTILES.iter().enumerate() {
                    let (below, above, t) = stats::quantile_positions(p.count as usize, prob);
                    let at = |rank: usize| found.get(&(i, rank as u64)).copied();
                    values[q] = match (at(below), at(above)) {
                        (Some(x), Some(y)) => stats::interpolate(x, y, t),
                        _ => f64::NAN,
                    };
                }
            }
            let integral = matches!(c.kind, Kind::Int(_));
            profile::order_statistics(p.min, p.max, |x| quantile_at(&values, x), &mut columns[i]);
            if integral {
                let out = &mut columns[i];
                out.min = out.min.take().map(|v| profile::integral_json(&v));
                out.max = out.max.take().map(|v| profile::integral_json(&v));
            }
        }
        // The quartiles of the finite values of columns with infinities (the uniformity
        // test's bins), from the same search.
        let mut finite_quartiles = HashMap::new();
        for (i, p) in pass1.iter().enumerate() {
            let Some(ranks) = finite_quartile_ranks(p) else {
                continue;
            };
            let [q25, q75] = ranks.map(|(below, above, t)| {
                match (found.get(&(i, below)), found.get(&(i, above))) {
                    (Some(&x), Some(&y)) => Some(stats::interpolate(x, y, t)),
                    _ => None,
                }
            });
            if let (Some(q25), Some(q75)) = (q25, q75)
                && !failed.contains(&i)
            {
                finite_quartiles.insert(i, (q25, q75));
            }
        }
        Ok(finite_quartiles)
    }

    /// The value counts of one column, grouped by the cluster: the distinct values, the most
    /// frequent, the entropy, and (for few distinct values) the uniformity test, exact in
    /// integers.
    fn value_counts(&mut self, c: &Col, total: u64) -> Result<Counts> {
        let a = &c.alias;
        // Ties: the smaller number, or the text seen first.
        let tie = if c.numeric() { "v" } else { "o" };
        let grouped = format!(
            "g AS (SELECT {a} AS v, count(*) AS n, min(lathe_row) AS o FROM {VIEW} WHERE {a} IS NOT NULL GROUP BY {a})"
        );
        // One aggregation over the groups: the counts' sums and, by `max_by` with a count
        // (Spark 4.1+), the most frequent values, on every row of the answer (one row with no
        // value when there are none). Measured on a 10,000,000-row column of distinct values:
        // 8.8 s, where the union below computes the groups twice (14.1 s).
        //
        // The values seen once are ordered by their tie-breaker alone, apart from the others:
        // ordering every group by (count, tie-breaker), a pair, took 2.3 s more on that column
        // (8.6 s) than by the tie-breaker alone, and in a column of distinct values every
        // group is seen once. Both lists are brought back and the first ones kept here.
        // The sum of the squared counts is at most N², exact in a 64-bit integer up to
        // about three billion values (a decimal product took 0.8 s more).
        let squares = if total <= 3_000_000_000 {
            "sum(n * n)"
        } else {
            "sum(CAST(n AS DECIMAL(38,0)) * n)"
        };
        // A number seen once is its own tie-breaker: no pair is built for it.
        let ones = if c.numeric() {
            format!(
                "transform(min_by(v, v, {top}) FILTER (WHERE n = 1), \
                   x -> named_struct('v', x, 'n', CAST(1 AS BIGINT), 'o', CAST(NULL AS BIGINT)))",
                top = profile::TOP_VALUES
            )
        } else {
            format!(
                "min_by(struct(v, n, o), o, {top}) FILTER (WHERE n = 1)",
                top = profile::TOP_VALUES
            )
        };
        let one_pass = format!(
            "WITH {grouped}, a AS (SELECT count(*) AS d, sum(n * ln(n)) AS e, \
               CAST({squares} AS STRING) AS s, \
               concat(coalesce(max_by(struct(v, n, o), struct(n, -{tie}), {top}) FILTER (WHERE n > 1), array()), \
                      coalesce({ones}, array())) AS top FROM g) \
             SELECT d, e, s, t.v AS v, t.n AS n, t.o AS o FROM a LATERAL VIEW explode_outer(top) x AS t",
            top = profile::TOP_VALUES
        );
        let (answer, union) = match self.run(&one_pass) {
            Ok(answer) => (answer, false),
            // An engine without `max_by(x, y, k)`: the top values and the sums as two parts.
            Err(Error::Remote { detail, .. })
                if detail.contains("max_by") || detail.contains("min_by") =>
            {
                let union = format!(
                    "WITH {grouped} \
                     SELECT 0 AS part, v, n, o, CAST(NULL AS DOUBLE) AS e, CAST(NULL AS STRING) AS s \
                       FROM (SELECT v, n, o FROM g ORDER BY n DESC, {tie} ASC LIMIT {top}) \
                     UNION ALL SELECT 1, NULL, count(*), NULL, sum(n * ln(n)), \
                       CAST(sum(CAST(n AS DECIMAL(38,0)) * n) AS STRING) FROM g",
                    top = profile::TOP_VALUES
                );
                (self.run(&union)?, true)
            }
            Err(e) => return Err(e),
        };
        let ints = |name: &str| integers(&answer, name);
        let (n, o) = (ints("n")?, ints("o")?);
        // Which rows hold a top value, and the row holding the sums.
        let (is_top, sums): (Vec<bool>, Option<usize>) = if union {
            let part = ints("part")?;
            (
                part.iter().map(|p| *p == Some(0)).collect(),
                part.iter().position(|p| *p == Some(1)),
            )
        } else {
            (n.iter().map(Option::is_some).collect(), Some(0))
        };
        let v = answer.column("v").map_err(profile::polars_err)?;
        let numbers = if c.numeric() {
            let f = v.cast(&DataType::Float64).map_err(profile::polars_err)?;
            Some(f.f64().map_err(profile::polars_err)?.clone())
        } else {
            None
        };
        let integral = matches!(c.kind, Kind::Int(_));
        // (count, tie-breaker, value)
        let mut top: Vec<(u64, f64, Value)> = Vec::new();
        for row in (0..answer.height()).filter(|&r| is_top[r]) {
            let count = n[row].unwrap_or(0) as u64;
            let (tie, value) = match &numbers {
                Some(f) => {
                    let x = f.get(row).unwrap_or(f64::NAN);
                    let x = if x == 0.0 { 0.0 } else { x };
                    (x, profile::number(x, integral))
                }
                None => (
                    o[row].unwrap_or(i64::MAX) as f64,
                    v.str()
                        .ok()
                        .and_then(|s| s.get(row))
                        .map_or(Value::Null, Value::from),
                ),
            };
            top.push((count, tie, value));
        }
        let (mut distinct, mut n_ln_n, mut squares) = (0, 0.0, 0u128);
        if let Some(row) = sums.filter(|&r| r < answer.height()) {
            let one = answer.slice(row as i64, 1);
            let one = Row(&one);
            distinct = if union {
                n[row].unwrap_or(0) as u64
            } else {
                one.u64("d")
            };
            n_ln_n = one.f64("e").unwrap_or(0.0);
            squares = one.text("s").and_then(|s| s.parse().ok()).unwrap_or(0);
        }
        // Most frequent first, ties as the query broke them.
        top.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.total_cmp(&y.1)));
        top.truncate(profile::TOP_VALUES);
        let top = top.into_iter().map(|(n, _, v)| (n, v)).collect();
        Ok(counts_of(total, distinct, n_ln_n, squares, top))
    }

    fn histograms(
        &mut self,
        cols: &[Col],
        pass1: &[Pass1],
        finite_quartiles: &HashMap<usize, (f64, f64)>,
        columns: &mut [ColumnProfile],
        facts: &mut [ColumnFacts],
    ) -> Result<()> {
        // (column, bins, whether it is the uniformity test's)
        let mut wanted: Vec<(usize, Bins, bool)> = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            let p = &pass1[i];
            let (Some(lo), Some(hi)) = (p.finite_min, p.finite_max) else {
                continue;
            };
            let out = &columns[i];
            if let Some(bins) = Bins::new(lo, hi, (out.distinct as usize).clamp(1, stats::MAX_BINS))
            {
                wanted.push((i, bins, false));
            }
            if out.distinct > alerts::LOW_CATEGORICAL_THRESHOLD {
                let finite = p.count - p.infinite;
                let (q25, q75) = if p.infinite == 0 {
                    let q = out.quantiles.as_ref();
                    (q.map_or(lo, |q| q.p25), q.map_or(hi, |q| q.p75))
                } else {
                    match finite_quartiles.get(&i) {
                        Some(&quartiles) => quartiles,
                        None => self.finite_quartiles(&c.alias)?,
                    }
                };
                let integral = matches!(c.kind, Kind::Int(_)) && out.nulls == 0;
                let auto = stats::auto_bins_of(finite as usize, lo, hi, q25, q75, integral);
                if let Some(bins) = Bins::new(lo, hi, auto) {
                    wanted.push((i, bins, true));
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        // A column's histograms are one grouping of that column by its bins in each (inside,
        // the first estimate of every value's bin; outside, its correction), the groupings
        // one query's UNION ALL: each scan reads one column and hashes into a few dozen
        // groups. (Stacking one (histogram, bin) row per histogram out of every row, then
        // grouping those, made 40 rows of each row and took 5 minutes of 10,000,000 rows ×
        // 25 columns; a grouping per histogram took 33 s there.)
        let mut parts = Vec::new();
        let mut start = 0;
        while start < wanted.len() {
            let (i, first) = (wanted[start].0, &wanted[start].1);
            let a = &cols[i].alias;
            let second = wanted.get(start + 1).filter(|w| w.0 == i).map(|w| &w.1);
            let (inner, outer) = match second {
                Some(bins) => (
                    format!(
                        "{a}, {} AS e0, {} AS e1",
                        estimate_sql(a, first),
                        estimate_sql(a, bins)
                    ),
                    format!(
                        "{} AS b0, {} AS b1",
                        bin_sql(a, "e0", first),
                        bin_sql(a, "e1", bins)
                    ),
                ),
                None => (
                    format!("{a}, {} AS e0", estimate_sql(a, first)),
                    format!(
                        "{} AS b0, CAST(NULL AS BIGINT) AS b1",
                        bin_sql(a, "e0", first)
                    ),
                ),
            };
            // Both histograms of a column span its finite values: their bins are missing
            // together.
            parts.push(format!(
                "SELECT {start} AS id, b0, b1, count(*) AS n FROM \
                   (SELECT {outer} FROM (SELECT {inner} FROM {VIEW})) \
                 WHERE b0 IS NOT NULL GROUP BY b0, b1"
            ));
            start += if second.is_some() { 2 } else { 1 };
        }
        let answer = self.run(&parts.join(" UNION ALL "))?;
        let get = |name: &str| integers(&answer, name);
        let (ids, first, second, counts) = (get("id")?, get("b0")?, get("b1")?, get("n")?);
        let mut tallies: Vec<Vec<u64>> = wanted
            .iter()
            .map(|(_, b, _)| vec![0; b.layout().2])
            .collect();
        let mut add = |id: usize, bin: i64, n: i64| {
            if let Some(slot) = tallies.get_mut(id).and_then(|t| t.get_mut(bin as usize)) {
                *slot += n as u64;
            }
        };
        for row in 0..answer.height() {
            if let (Some(id), Some(n)) = (ids[row], counts[row]) {
                if let Some(bin) = first[row] {
                    add(id as usize, bin, n);
                }
                if let Some(bin) = second[row] {
                    add(id as usize + 1, bin, n);
                }
            }
        }
        for ((i, bins, uniformity), counts) in wanted.into_iter().zip(tallies) {
            let histogram = Histogram {
                edges: bins.edges().to_vec(),
                counts,
            };
            if uniformity {
                facts[i].uniform_p = stats::chi_squared_uniform_p(&histogram.counts);
            } else {
                columns[i].histogram = Some(histogram);
            }
        }
        Ok(())
    }

    /// The quartiles of a column's finite values by Spark's `percentile`, for a column with
    /// infinities whose quantile search fell back to it.
    fn finite_quartiles(&mut self, alias: &str) -> Result<(f64, f64)> {
        let answer = self.run(&format!(
            "SELECT percentile({alias}, array(0.25, 0.75)) FILTER (WHERE abs({alias}) < {}) AS q FROM {VIEW}",
            lit(f64::INFINITY)
        ))?;
        let q = Row(&answer).doubles("q");
        Ok((
            q.first().copied().unwrap_or(f64::NAN),
            q.get(1).copied().unwrap_or(f64::NAN),
        ))
    }
}

/// Aggregates per query: Spark compiles an aggregation's loop only while its buffers have at
/// most ~100 fields (`spark.sql.codegen.maxFields`); past that it interprets every update.
/// Measured on 1,000,000 rows: 190 `corr` in one query 91 s, 190 sums 8.2 s, the same sums in
/// two queries of 95 3.8 s.
const FIELDS_PER_QUERY: usize = 90;

/// Bins a pass of the quantile search counts a range's values in: each pass narrows a rank's
/// range to about this fraction of its width. Measured on 10,000,000 rows × 20 numeric
/// columns: 4,096 bins 12.5 s, 16,384 bins 14.8 s, 65,536 bins 19.1 s (a quarter, a fifth and
/// a sixth of a million bins brought back).
const QUANTILE_BINS: u32 = 16_384;
/// The most values of one range brought back to be sorted here (a few in the tests, so that
/// their tables take several passes).
#[cfg(not(test))]
const QUANTILE_VALUES: u64 = 200_000;
#[cfg(test)]
const QUANTILE_VALUES: u64 = 64;
/// Passes that narrow the ranges before a column gets Spark's `percentile` instead.
const QUANTILE_PASSES: usize = 6;

/// The values `lo <= v <= hi` of column `col` other than zero, of which `below` values of the
/// column are less.
#[derive(Debug, Clone, Copy)]
struct Range {
    col: usize,
    lo: f64,
    hi: f64,
    below: u64,
}

impl PartialEq for Range {
    fn eq(&self, other: &Self) -> bool {
        self.col == other.col
            && self.lo.to_bits() == other.lo.to_bits()
            && self.hi.to_bits() == other.hi.to_bits()
            && self.below == other.below
    }
}

impl Range {
    /// The condition that a value of column `a` lies in the range.
    fn within_sql(&self, a: &str) -> String {
        format!(
            "{a} >= {} AND {a} <= {} AND {a} <> 0",
            lit(self.lo),
            lit(self.hi)
        )
    }

    /// Whether the value `v` lies in the range, as [`Range::within_sql`] asks it.
    fn holds(&self, v: f64) -> bool {
        self.lo <= v && v <= self.hi && v != 0.0
    }

    /// The bin (0 to [`QUANTILE_BINS`] − 1) of a value of column `a` in the range: a
    /// non-decreasing function of the value (each operation rounds monotonically), so the
    /// bins hold the values in order. A range too narrow for a bin's width to be a number
    /// (subnormal numbers) holds at most about that many distinct values: each is its own bin.
    fn bin_sql(&self, a: &str) -> String {
        let bins = f64::from(QUANTILE_BINS);
        // Divided first, so that no width overflows.
        let width = self.hi / bins - self.lo / bins;
        if width > 0.0 && width.is_finite() {
            format!(
                "CAST(floor(least(greatest(({a} - {}) / {}, CAST(0 AS DOUBLE)), {})) AS DOUBLE)",
                lit(self.lo),
                lit(width),
                lit(bins - 1.0)
            )
        } else {
            a.to_owned()
        }
    }
}

/// For a column with infinities and finite values, the ranks (among all its values) that the
/// quartiles of its finite values interpolate between: `[(below, above, t); 2]`, as
/// [`stats::quantile_positions`] gives them among the finite values.
fn finite_quartile_ranks(p: &Pass1) -> Option<[(u64, u64, f64); 2]> {
    let finite = p.count - p.infinite;
    (p.infinite > 0 && finite > 0).then(|| {
        [0.25, 0.75].map(|prob| {
            let (below, above, t) = stats::quantile_positions(finite as usize, prob);
            let shift = p.negative_infinite;
            (below as u64 + shift, above as u64 + shift, t)
        })
    })
}

/// The indices of `ranges` by column, in the order the columns first appear.
fn by_column(ranges: &[Range]) -> Vec<(usize, Vec<usize>)> {
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for (id, r) in ranges.iter().enumerate() {
        match out.iter_mut().find(|(col, _)| *col == r.col) {
            Some((_, ids)) => ids.push(id),
            None => out.push((r.col, vec![id])),
        }
    }
    out
}

/// The condition that a value of column `a` lies in one of `ranges[ids]`.
fn within_any(ranges: &[Range], ids: &[usize], a: &str) -> String {
    let within: Vec<String> = ids
        .iter()
        .map(|&id| format!("({})", ranges[id].within_sql(a)))
        .collect();
    within.join(" OR ")
}

/// The ranges of `ranks` once each.
fn distinct_ranges(ranks: &[(u64, Range)]) -> Vec<Range> {
    let mut ranges: Vec<Range> = Vec::new();
    for (_, r) in ranks {
        if !ranges.contains(r) {
            ranges.push(*r);
        }
    }
    ranges
}

/// The most columns with missing values whose patterns group the correlation sums.
const MAX_KEYED: usize = 16;

/// Sums of one pattern of missing columns.
#[derive(Debug)]
struct Group {
    /// The columns missing in every row of the group.
    missing: Vec<usize>,
    rows: u64,
    /// `s1_i`, `s2_i`, `s3_i`, `p_i_j` (see [`Cluster::gram`]).
    sums: HashMap<String, f64>,
}

/// What [`Cluster::gram`] brings back.
#[derive(Debug)]
struct Gram {
    groups: Vec<Group>,
    /// Spark's `corr` of the pairs not summed (too many columns with missing values).
    corr: HashMap<(usize, usize), Option<f64>>,
}

impl Gram {
    fn total(&self, name: &str, keep: impl Fn(&Group) -> bool) -> (u64, f64) {
        let mut rows = 0;
        let mut sum = Neumaier::default();
        for g in self.groups.iter().filter(|g| keep(g)) {
            rows += g.rows;
            sum.add(g.sums.get(name).copied().unwrap_or(0.0));
        }
        (rows, sum.total())
    }

    /// The sums of squared and cubed deviations of column `i`'s `n` values from their mean.
    fn moments(&self, i: usize, n: u64) -> (f64, f64) {
        let all = |_: &Group| true;
        let s1 = self.total(&format!("s1_{i}"), all).1;
        let s2 = self.total(&format!("s2_{i}"), all).1;
        let s3 = self.total(&format!("s3_{i}"), all).1;
        // The deviations are from Spark's mean; shift them to the values' own.
        let n = n as f64;
        let shift = s1 / n;
        (
            s2 - s1 * shift,
            s3 - 3.0 * shift * s2 + 2.0 * s1 * shift * shift,
        )
    }

    /// Pearson's r of columns `i` and `j` over the rows where both are present; `None` where
    /// undefined (fewer than two rows, or a side without variance: `constant`).
    fn pearson(&self, i: usize, j: usize, constant: &[bool]) -> Option<f64> {
        if constant[i] || constant[j] {
            return None;
        }
        let (a, b) = (i.min(j), i.max(j));
        if let Some(r) = self.corr.get(&(a, b)) {
            return r.filter(|r| r.is_finite()).map(|r| r.clamp(-1.0, 1.0));
        }
        let both = |g: &Group| !g.missing.contains(&a) && !g.missing.contains(&b);
        let (rows, sa) = self.total(&format!("s1_{a}"), both);
        let sb = self.total(&format!("s1_{b}"), both).1;
        let saa = self.total(&format!("s2_{a}"), both).1;
        let sbb = self.total(&format!("s2_{b}"), both).1;
        let product = if a == b {
            format!("s2_{a}")
        } else {
            format!("p_{a}_{b}")
        };
        let sab = self.total(&product, both).1;
        if rows < 2 {
            return None;
        }
        let n = rows as f64;
        let cov = sab - sa * sb / n;
        let (va, vb) = (saa - sa * sa / n, sbb - sb * sb / n);
        let r = cov / (va * vb).sqrt();
        (va > 0.0 && vb > 0.0 && r.is_finite()).then(|| r.clamp(-1.0, 1.0))
    }
}

/// Column `name` of an answer as 64-bit integers.
fn integers(answer: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let column = answer
        .column(name)
        .and_then(|c| c.cast(&DataType::Int64))
        .map_err(profile::polars_err)?;
    Ok(column.i64().map_err(profile::polars_err)?.iter().collect())
}

/// Column `name` of an answer as doubles.
fn doubles(answer: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let column = answer
        .column(name)
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(profile::polars_err)?;
    Ok(column.f64().map_err(profile::polars_err)?.iter().collect())
}

/// The GROUP BY keys of the duplicate-row search: every column of the source, as the cluster
/// reads it (maps and other ungroupable types as their text).
fn group_keys(cols: &[Col]) -> Vec<String> {
    cols.iter()
        .map(|c| match c.kind {
            Kind::Other(_) => format!("CAST({} AS STRING)", ident(&c.name)),
            _ => ident(&c.name),
        })
        .collect()
}

/// The `p` quantile from the five computed ones (the profile asks only for those).
fn quantile_at(values: &[f64; 5], p: f64) -> f64 {
    QUANTILES
        .iter()
        .position(|q| *q == p)
        .map_or(f64::NAN, |i| values[i])
}

/// [`Bins::add`]'s first estimate of the bin of a finite value of column `a`, as Spark SQL
/// with the same floating-point operations in the same order; NULL for missing and infinite
/// values.
fn estimate_sql(a: &str, bins: &Bins) -> String {
    let (first, denom, n) = bins.layout();
    format!(
        "CASE WHEN abs({a}) < {inf} THEN least(CAST((({a} - {first}) / {denom}) * CAST({n} AS DOUBLE) AS BIGINT), {last}) END",
        inf = lit(f64::INFINITY),
        first = lit(first),
        denom = lit(denom),
        last = n - 1
    )
}

/// The bin [`Bins::add`] puts the value in, from the estimate `e` (a column of
/// [`estimate_sql`]): one bin down or up when the value lies outside the estimated one.
fn bin_sql(a: &str, e: &str, bins: &Bins) -> String {
    let (first, denom, n) = bins.layout();
    let last = bins.edges()[n];
    let step = denom / n as f64;
    let edge = |i: &str| {
        format!(
            "(CASE WHEN {i} >= {n} THEN {} ELSE CAST({i} AS DOUBLE) * {} + {} END)",
            lit(last),
            lit(step),
            lit(first)
        )
    };
    format!(
        "CASE WHEN {e} > 0 AND {a} < {lower} THEN {e} - 1 \
              WHEN {e} + 1 < {n} AND {a} >= {upper} THEN {e} + 1 ELSE {e} END",
        lower = edge(e),
        upper = edge(&format!("({e} + 1)")),
    )
}

/// [`Counts`] from a column's grouped counts: `distinct` values, Σ n·ln n, Σ n², and the
/// most frequent values with their counts, most frequent first.
fn counts_of(
    total: u64,
    distinct: u64,
    n_ln_n: f64,
    squares: u128,
    top: Vec<(u64, Value)>,
) -> Counts {
    let t = total as f64;
    // H = −Σ (n/N) ln(n/N) = ln N − Σ n ln n / N
    let entropy = if total > 0 { t.ln() - n_ln_n / t } else { 0.0 };
    let imbalance = (distinct > 1).then(|| 1.0 - entropy / (distinct as f64).ln());
    // χ² = Σ (n − N/k)² / (N/k) = (k Σ n² − N²) / N, exact in integers.
    let uniform_p = if (2..=profile::UNIFORM_TEST_MAX).contains(&distinct) && total > 0 {
        use statrs::distribution::{ChiSquared, ContinuousCDF};
        let numerator = u128::from(distinct) * squares - u128::from(total) * u128::from(total);
        let statistic = numerator as f64 / t;
        ChiSquared::new((distinct - 1) as f64)
            .ok()
            .map(|d| d.sf(statistic))
    } else {
        None
    };
    Counts {
        distinct,
        top: top
            .into_iter()
            .map(|(count, value)| TopValue { value, count })
            .collect(),
        imbalance,
        uniform_p,
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::dataset::profile;

    /// Every number of the Spark profile equals the local one: counts, extremes, quantiles,
    /// histograms, value counts and lengths exactly; what Spark sums in another order (mean,
    /// standard deviation, skewness, Pearson's r, imbalance, uniformity) within 1e-9 relative.
    fn same(local: &Value, spark: &Value, path: &str, loose: bool) {
        match (local, spark) {
            (Value::Number(x), Value::Number(y)) if loose => {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                    "{path}: local {x} vs Spark {y}"
                );
            }
            (Value::Object(x), Value::Object(y)) => {
                let keys =
                    |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
                assert_eq!(keys(x), keys(y), "{path}");
                for (k, v) in x {
                    let loose = loose
                        || ["mean", "std", "skewness", "value", "pearson"].contains(&k.as_str());
                    same(v, &y[k], &format!("{path}.{k}"), loose);
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}: {local} vs {spark}");
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    same(v, w, &format!("{path}[{i}]"), loose);
                }
            }
            _ => assert_eq!(local, spark, "{path}"),
        }
    }

    fn check(frame: &mut DataFrame, dir: &Path, name: &str) {
        let path = dir.join(format!("{name}.parquet"));
        ParquetWriter::new(File::create(&path).unwrap_or_else(|e| panic!("{e}")))
            .with_row_group_size(Some(10_000))
            .finish(frame)
            .unwrap_or_else(|e| panic!("{e}"));
        let local =
            profile::profile(name, None, frame, &Job::silent()).unwrap_or_else(|e| panic!("{e}"));
        let url = format!(
            "{}/?path={}",
            lathe_testkit::spark::shared().url,
            path.display()
        );
        let spark = super::profile(&url, &Job::silent()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut a = serde_json::to_value(&local).unwrap_or_default();
        let mut b = serde_json::to_value(&spark).unwrap_or_default();
        for v in [&mut a, &mut b] {
            v["dataset"] = Value::Null;
            v["correlations"]["spearman"] = Value::Null;
        }
        same(&a, &b, name, false);
    }

    #[test]
    fn the_spark_profile_equals_the_local_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // Infinities, NaN, -0.0, nulls, ties, duplicate rows, text ids, booleans.
        check(
            &mut crate::dataset::stream::profile::tests::table(60_000),
            dir.path(),
            "synthetic",
        );
        // More columns with missing values than the correlation sums group by: Spark's corr.
        let wide: Vec<Column> = (0..MAX_KEYED + 2)
            .map(|c| {
                let values: Vec<Option<f64>> = (0..3_000u64)
                    .map(|r| {
                        let x = (r * 2_654_435_761 + c as u64 * 40_503) % 1_000;
                        (!x.is_multiple_of(7 + c as u64))
                            .then_some(x as f64 / 10.0 + (r % 17) as f64)
                    })
                    .collect();
                Column::new(format!("x{c}").into(), values)
            })
            .collect();
        let mut wide = DataFrame::new(3_000, wide).unwrap_or_else(|e| panic!("{e}"));
        check(&mut wide, dir.path(), "wide");
        // Quantile searches that take several passes (values 1e-12 apart beside ±1e6), and
        // one whose range is too narrow to bin (subnormal numbers): a bin per value.
        let spread: Vec<f64> = (0..3_000)
            .map(|r| match r {
                7 => 1e6,
                8 => -1e6,
                _ => 1.0 + f64::from(r) * 1e-12,
            })
            .collect();
        let subnormal: Vec<f64> = (0..3_000u64)
            .map(|r| f64::from_bits((r * 7_919) % 3_001))
            .collect();
        let mut narrow = DataFrame::new(
            3_000,
            vec![
                Column::new("spread".into(), spread),
                Column::new("subnormal".into(), subnormal),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        check(&mut narrow, dir.path(), "narrow");
        // Rows whose hashes are shared: equal rows (-0.0 beside 0.0, NaN beside NaN), and
        // different rows whose hashes are one (a null is left out of a row's hash, so
        // (null, 1) and (1, null) hash alike).
        let mut collide = DataFrame::new(
            6,
            vec![
                Column::new(
                    "a".into(),
                    [
                        None,
                        Some(1.0),
                        Some(-0.0),
                        Some(0.0),
                        Some(f64::NAN),
                        Some(f64::NAN),
                    ],
                ),
                Column::new(
                    "b".into(),
                    [Some(1.0), None, Some(5.0), Some(5.0), Some(2.0), Some(2.0)],
                ),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        check(&mut collide, dir.path(), "collide");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for csv in [
            "tests/fixtures/data/cars.csv",
            "tests/fixtures/data/people.csv",
            "tests/fixtures/data/seattle_weather.csv",
            "assets/datasets/diabetes.csv",
        ] {
            let (mut frame, _) =
                crate::dataset::read::read_table(&repo.join(csv), &Default::default())
                    .unwrap_or_else(|e| panic!("{csv}: {e}"));
            let name = Path::new(csv)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("t");
            check(&mut frame, dir.path(), name);
        }
    }
}
