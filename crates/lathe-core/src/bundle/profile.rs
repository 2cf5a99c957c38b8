//! The monitoring reference profile (`monitoring/reference_profile.json`): enough about the
//! reference data to test production data for drift without shipping the data.
//!
//! Per column, the kind Evidently would infer, counts, summary statistics, and one of:
//! - **exact value counts** for categorical columns (the [`MAX_CATEGORIES`] most frequent; the
//!   rest summed) and for numeric columns with at most [`MAX_EXACT_VALUES`] distinct values.
//!   Every drift method then sees exactly the reference `lathe drift` sees;
//! - **[`QUANTILES`] quantiles** (every 0.1 %, linear interpolation as numpy's default) for
//!   other numeric columns, with a 20-bin histogram for display. The reference is rebuilt as
//!   `count` values read off the piecewise-linear quantile function, and the usual method runs
//!   on it; each column's `method_reason` says so. `tests/core/bundle.rs` measures how far this
//!   lands from `lathe drift` on the raw reference.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::drift::sample::{Label, Numbers, Sample, Values};
use crate::drift::{self, DriftOptions, DriftReport, Kind, SchemaDrift, SideInfo, Skipped, Table};
use crate::numeric;
use crate::numeric::stats::{interpolate, quantile_positions};
use crate::{Error, Result};

/// Quantiles kept for a numeric column: 0, 0.001, …, 1.
pub const QUANTILES: usize = 1001;
/// Numeric columns with at most this many distinct values keep exact counts (Evidently bins
/// them one bin per value).
pub const MAX_EXACT_VALUES: usize = 20;
/// Categories kept per column, most frequent first; the rest are summed in `other_count`.
pub const MAX_CATEGORIES: usize = 1000;

pub const PROFILE_FORMAT: u32 = 1;

/// One value and how often the reference holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Frequency {
    /// A number or a text.
    #[cfg_attr(feature = "ts", ts(type = "number | string"))]
    pub value: serde_json::Value,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ReferenceHistogram"))]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// One column of the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ReferenceColumn"))]
pub struct ColumnProfile {
    pub name: String,
    /// The kind Evidently infers from the reference.
    pub kind: Kind,
    pub dtype: String,
    /// Values kept (finite numbers, non-missing categories).
    pub count: u64,
    /// Nulls, NaN and infinities.
    pub missing: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation.
    pub std: Option<f64>,
    /// Exact counts, sorted by value (see the module documentation).
    pub values: Option<Vec<Frequency>>,
    /// Values beyond the kept categories.
    pub other_count: u64,
    /// [`QUANTILES`] quantiles, for numeric columns with many values.
    pub quantiles: Option<Vec<f64>>,
    pub histogram: Option<Histogram>,
}

/// `monitoring/reference_profile.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReferenceProfile {
    pub format_version: u32,
    /// `NAME@VERSION` of the reference dataset.
    pub dataset: String,
    /// Its Parquet object's SHA-256.
    pub sha256: String,
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
    /// Columns that could not be profiled, and why.
    pub skipped: Vec<Skipped>,
}

fn label_value(label: &Label) -> serde_json::Value {
    match label {
        Label::Num(v) => serde_json::json!(v),
        Label::Text(t) => serde_json::Value::String(t.clone()),
    }
}

fn value_label(value: &serde_json::Value) -> Option<Label> {
    match value {
        serde_json::Value::Number(n) => n.as_f64().map(Label::Num),
        serde_json::Value::String(s) => Some(Label::Text(s.clone())),
        _ => None,
    }
}

fn profile_column(
    table: &dyn Table,
    name: &str,
    dtype: &DataType,
) -> Result<std::result::Result<ColumnProfile, String>> {
    let kind = match table.kind(name)? {
        Ok(kind) => kind,
        Err(reason) => return Ok(Err(reason)),
    };
    let s = match table.sample(name, kind) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mut out = ColumnProfile {
        name: name.to_owned(),
        kind,
        dtype: dtype.to_string(),
        count: s.n as u64,
        missing: s.dropped,
        min: None,
        max: None,
        mean: None,
        std: None,
        values: None,
        other_count: 0,
        quantiles: None,
        histogram: None,
    };
    if let Some(v) = s.numbers() {
        if !v.is_empty() {
            out.min = v.first();
            out.max = v.last();
            out.mean = Some(v.mean());
            out.std = Some(v.std_pop());
        }
        if s.distinct() > MAX_EXACT_VALUES {
            out.quantiles = Some(quantiles(v));
            let (lo, hi) = (v.first().unwrap_or(0.0), v.last().unwrap_or(0.0));
            let edges: Vec<f64> = (0..=20).map(|i| lo + (hi - lo) * i as f64 / 20.0).collect();
            out.histogram = Some(Histogram {
                counts: numeric::bin_counts_of(v.iter(), &edges),
                edges,
            });
            s.check()?;
            return Ok(Ok(out));
        }
    }
    let categories = s.categories();
    s.check()?;
    Ok(Ok(categories_of(categories, out)))
}

/// The [`QUANTILES`] quantiles of sorted values (numpy's linear interpolation), read in one
/// pass over them.
fn quantiles(v: &Numbers) -> Vec<f64> {
    let n = v.len();
    let at: Vec<(usize, usize, f64)> = (0..QUANTILES)
        .map(|k| quantile_positions(n, k as f64 / (QUANTILES - 1) as f64))
        .collect();
    let mut wanted: Vec<usize> = at.iter().flat_map(|&(a, b, _)| [a, b]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found = Vec::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    for (i, x) in v.iter().enumerate() {
        while next.peek() == Some(&&i) {
            next.next();
            found.push(x);
        }
        if next.peek().is_none() {
            break;
        }
    }
    let value = |i: usize| {
        wanted
            .binary_search(&i)
            .ok()
            .and_then(|j| found.get(j).copied())
            .unwrap_or(f64::NAN)
    };
    at.iter()
        .map(|&(a, b, t)| interpolate(value(a), value(b), t))
        .collect()
}

fn categories_of(mut categories: Vec<(Label, u64)>, mut out: ColumnProfile) -> ColumnProfile {
    if categories.len() > MAX_CATEGORIES {
        categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.other_count = categories[MAX_CATEGORIES..].iter().map(|c| c.1).sum();
        categories.truncate(MAX_CATEGORIES);
        categories.sort_by(|a, b| a.0.cmp(&b.0));
    }
    out.values = Some(
        categories
            .iter()
            .map(|(label, count)| Frequency {
                value: label_value(label),
                count: *count,
            })
            .collect(),
    );
    out
}

/// Profiles `columns` of the reference table (those it lacks are an error): a frame in
/// memory, or a table read in slices ([`drift::open_tables`]), with the same numbers.
pub fn build(
    table: &dyn Table,
    columns: &[String],
    dataset: &str,
    sha256: &str,
) -> Result<ReferenceProfile> {
    let mut out = ReferenceProfile {
        format_version: PROFILE_FORMAT,
        dataset: dataset.to_owned(),
        sha256: sha256.to_owned(),
        rows: table.rows() as u64,
        columns: Vec::new(),
        skipped: Vec::new(),
    };
    let schema = table.schema();
    for name in columns {
        let (_, dtype) =
            schema
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| Error::BadArgument {
                    argument: "reference dataset",
                    detail: format!("{dataset} has no column '{name}', which the model needs"),
                })?;
        match profile_column(table, name, dtype)? {
            Ok(c) => out.columns.push(c),
            Err(reason) => out.skipped.push(Skipped {
                name: name.clone(),
                reason,
            }),
        }
    }
    Ok(out)
}

/// The reference sample of a profiled column, as `kind`; `Err(reason)` when the profile
/// cannot give one.
fn reference_sample(
    c: &ColumnProfile,
    kind: Kind,
) -> std::result::Result<(Sample, &'static str), String> {
    if let Some(values) = &c.values {
        let mut labelled = Vec::with_capacity(values.len());
        for f in values {
            let label = value_label(&f.value).ok_or_else(|| {
                format!(
                    "the profile holds a value {} that is neither number nor text",
                    f.value
                )
            })?;
            labelled.push((label, f.count));
        }
        if c.other_count > 0 {
            labelled.push((Label::Text("(other categories)".into()), c.other_count));
        }
        let n = labelled.iter().map(|(_, k)| *k as usize).sum();
        let values = match kind {
            Kind::Categorical => Values::Categorical(labelled),
            Kind::Numeric => {
                let mut v = Vec::with_capacity(n);
                for (label, count) in &labelled {
                    let Label::Num(x) = label else {
                        return Err("the reference was categorical text; the current data is numeric (schema drift)".into());
                    };
                    v.extend(std::iter::repeat_n(*x, *count as usize));
                }
                Values::Numeric(Numbers::new(v))
            }
        };
        let sample = Sample {
            values,
            n,
            dropped: c.missing,
        };
        return Ok((sample, "reference from the profile's exact value counts"));
    }
    let Some(q) = c.quantiles.as_ref().filter(|q| q.len() >= 2) else {
        return Err("the profile holds neither value counts nor quantiles for this column".into());
    };
    if kind == Kind::Categorical {
        return Err(
            "the reference profile keeps quantiles of a numeric column, and the current data is categorical (schema drift)"
                .into(),
        );
    }
    let n = c.count as usize;
    // The quantiles are points of the quantile function: read it at each rank, as the values
    // are needed (a reference of 50M values is not held in memory).
    Ok((
        Sample {
            values: Values::Numeric(Numbers::from_quantiles(q.clone(), n)),
            n,
            dropped: c.missing,
        },
        "reference rebuilt from the profile's 1001 quantiles",
    ))
}

/// Tests `current` against the profile with `lathe drift`'s methods and report shape.
pub fn check_drift(
    profile: &ReferenceProfile,
    reference: SideInfo,
    current: (SideInfo, &dyn Table),
    options: &DriftOptions,
) -> Result<DriftReport> {
    options.check()?;
    let (current, table) = current;
    let cur_names: Vec<String> = table.schema().into_iter().map(|(n, _)| n).collect();
    let profiled: Vec<&str> = profile
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .chain(profile.skipped.iter().map(|s| s.name.as_str()))
        .collect();
    let wanted = |name: &str| {
        options
            .columns
            .as_ref()
            .is_none_or(|cols| cols.iter().any(|c| c == name))
    };
    if let Some(columns) = &options.columns {
        for name in columns {
            if !profiled.contains(&name.as_str()) {
                return Err(Error::BadArgument {
                    argument: "column",
                    detail: format!(
                        "'{name}' is not in the reference profile; it has: {}",
                        profiled.join(", ")
                    ),
                });
            }
        }
    }
    let schema = SchemaDrift {
        only_in_reference: profiled
            .iter()
            .filter(|n| wanted(n) && !cur_names.iter().any(|c| c == *n))
            .map(|n| n.to_string())
            .collect(),
        only_in_current: cur_names
            .iter()
            .filter(|n| !profiled.contains(&n.as_str()))
            .cloned()
            .collect(),
    };
    let mut skipped: Vec<Skipped> = profile
        .skipped
        .iter()
        .filter(|s| wanted(&s.name))
        .map(|s| Skipped {
            name: s.name.clone(),
            reason: format!("reference: {}", s.reason),
        })
        .collect();
    let mut columns = Vec::new();
    for c in profile.columns.iter().filter(|c| wanted(&c.name)) {
        if !cur_names.contains(&c.name) {
            continue;
        }
        let skip = |reason: String| Skipped {
            name: c.name.clone(),
            reason,
        };
        let kind = match table.kind(&c.name)? {
            Ok(kind) => kind,
            Err(reason) => {
                skipped.push(skip(format!("current data: {reason}")));
                continue;
            }
        };
        let (method, threshold) = options.method_for(&c.name);
        if let Some((m, _)) = method
            && m.numeric_only()
            && kind == Kind::Categorical
        {
            skipped.push(skip(format!("categorical, and {} needs numbers", m.name())));
            continue;
        }
        let (r, basis) = match reference_sample(c, kind) {
            Ok(r) => r,
            Err(reason) => {
                skipped.push(skip(reason));
                continue;
            }
        };
        let cur = table.sample(&c.name, kind)?;
        let result = drift::evaluate_samples(&c.name, kind, method, threshold, &r, &cur);
        cur.check()?;
        match result {
            Ok(mut d) => {
                d.method_reason = format!("{}; {basis}", d.method_reason);
                columns.push(d);
            }
            Err(s) => skipped.push(s),
        }
    }
    Ok(DriftReport::tallied(drift::Parts {
        reference,
        current,
        drift_share: options.drift_share,
        columns,
        skipped,
        schema,
        windows: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::browse::TableSource;
    use crate::dataset::stream::MemoryLimit;
    use crate::job::Job;
    use std::path::Path;

    /// Floats with nulls, NaN and ties, integers of many values, categories, booleans.
    fn table(rows: usize, seed: u64, shift: f64) -> DataFrame {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut normal, mut ties, mut many, mut city, mut flag) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rows {
            let u = next();
            let unit = (u >> 11) as f64 / (1u64 << 53) as f64;
            normal.push(match u % 9 {
                0 => None,
                1 => Some(f64::NAN),
                _ => Some(unit * 6.0 - 3.0 + shift),
            });
            ties.push(((u >> 20) % 9) as f64);
            many.push(((u >> 30) % 1000) as i64);
            city.push(["SE", "NO", "DK", "FI"][((u >> 40) % 4) as usize]);
            flag.push((u >> 50) % 3 == 0);
        }
        df!("normal" => normal, "ties" => ties, "many" => many, "city" => city, "flag" => flag)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn side(rows: usize) -> SideInfo {
        SideInfo {
            name: "t".into(),
            version: None,
            rows: rows as u64,
        }
    }

    /// `frame` written to `path` in row groups of 7,000 rows and opened at 256 KiB: read in
    /// slices, its numbers sorted in spilled runs.
    fn in_slices(frame: &mut DataFrame, path: &Path) -> (Vec<drift::Opened>, DriftOptions) {
        let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
        ParquetWriter::new(file)
            .with_row_group_size(Some(7_000))
            .finish(frame)
            .unwrap_or_else(|e| panic!("{e}"));
        let source = TableSource::File {
            path: path.to_path_buf(),
            options: Default::default(),
        };
        let options = DriftOptions {
            memory_limit: Some(MemoryLimit(256 << 10)),
            ..DriftOptions::default()
        };
        let opened = drift::open_tables(&[&source], &options, &Job::silent())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(opened[0].frame().is_none(), "read in slices");
        (opened, options)
    }

    #[test]
    fn a_check_drift_of_data_in_slices_equals_the_in_memory_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // 50,000 reference rows: the numeric columns with many values keep quantiles, and the
        // reference rebuilt from them has 50,000 values, made as they are read.
        let reference = table(50_000, 0x2545_f491_4f6c_dd1d, 0.0);
        let names: Vec<String> = reference
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let p = build(&reference, &names, "t@1", "00").unwrap_or_else(|e| panic!("{e}"));
        let mut current = table(41_000, 0x9e37_79b9_7f4a_7c15, 0.3);
        let (opened, options) = in_slices(&mut current, &dir.path().join("c.parquet"));
        let check = |table: &dyn Table| {
            check_drift(&p, side(50_000), (side(41_000), table), &options)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let (memory, sliced) = (check(&current), check(opened[0].table()));
        assert_eq!(memory.columns.len(), 5, "{:?}", memory.skipped);
        assert!(
            memory
                .columns
                .iter()
                .any(|c| c.method_reason.contains("1001 quantiles")),
            "a reference rebuilt from quantiles"
        );
        assert_eq!(
            format!("{:?}", sliced.columns),
            format!("{:?}", memory.columns)
        );
        assert_eq!(sliced.skipped, memory.skipped);
    }

    #[test]
    fn quantiles_read_in_one_pass_equal_numpys_on_the_array() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for n in [1usize, 2, 3, 999, 1_000, 1_001, 1_002, 4_321] {
            let mut v: Vec<f64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ((x >> 40) % 500) as f64 / 7.0
                })
                .collect();
            v.sort_by(f64::total_cmp);
            let got = quantiles(&Numbers::new(v.clone()));
            let want: Vec<f64> = (0..QUANTILES)
                .map(|k| crate::numeric::quantile_sorted(&v, k as f64 / (QUANTILES - 1) as f64))
                .collect();
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{n} values");
        }
    }

    #[test]
    fn a_reference_profile_of_data_in_slices_equals_the_in_memory_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut frame = table(60_000, 0x9e37_79b9_7f4a_7c15, 0.0);
        let names: Vec<String> = frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let (opened, _) = in_slices(&mut frame, &dir.path().join("r.parquet"));
        let memory = build(&frame, &names, "t@1", "00").unwrap_or_else(|e| panic!("{e}"));
        let sliced =
            build(opened[0].table(), &names, "t@1", "00").unwrap_or_else(|e| panic!("{e}"));
        assert!(memory.columns.iter().any(|c| c.quantiles.is_some()));
        assert!(memory.columns.iter().any(|c| c.values.is_some()));
        assert_eq!(format!("{sliced:?}"), format!("{memory:?}"));
    }
}
