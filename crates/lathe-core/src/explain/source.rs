//! Explanations of tables named by a [`TableSource`]: read whole when they fit the memory
//! limit; over it, SHAP reads only the rows it explains and the background rows it samples
//! (from the Parquet file, a row group at a time), with the same numbers. The other methods
//! read every row and say so.

use super::{
    DEFAULT_SHAP_ROWS, ExplainInput, Explanation, Request, Target, check_features, explain,
    missing_column, parse_rows, rng, shap_of,
};
use crate::dataset::browse::TableSource;
use crate::dataset::stream::{MemoryLimit, ParquetTable};
use crate::job::Job;
use crate::model::{Model, feature_values_at};
use crate::{Error, Result};

/// What to explain, read from table sources within a memory limit.
#[derive(Debug, Clone)]
pub struct SourceInput<'a> {
    pub model: &'a Model,
    pub features: &'a [String],
    pub data: &'a TableSource,
    /// Where SHAP's background is sampled from (default: the data).
    pub background: Option<&'a TableSource>,
    pub limit: MemoryLimit,
}

/// Runs `request` on `input`'s tables ([`explain`] when they fit the limit).
pub fn explain_source(input: &SourceInput, request: &Request, job: &Job) -> Result<Explanation> {
    let fits = input.data.fits(input.limit)?
        && match input.background {
            Some(b) => b.fits(input.limit)?,
            None => true,
        };
    if fits {
        job.progress("reading the data", 0, None);
        let frame = input.data.frame(None)?;
        let background = input.background.map(|b| b.frame(None)).transpose()?;
        return explain(
            &ExplainInput {
                model: input.model,
                features: input.features,
                frame: &frame,
                background: background.as_ref(),
            },
            request,
            job,
        );
    }
    let Request::Shap {
        rows,
        background,
        seed,
        class,
        ..
    } = request
    else {
        let method = match request {
            Request::Permutation { .. } => "permutation importance",
            Request::Pdp { .. } => "partial dependence",
            _ => "LIME",
        };
        return Err(Error::BadArgument {
            argument: "method",
            detail: format!(
                "{method} reads every row of the data, and the data are over the memory limit ({} MiB); raise --memory-limit, or explain with SHAP, which reads only the rows it explains and its background",
                input.limit.0 >> 20
            ),
        });
    };
    let features = input.features;
    let width = features.len();
    if width == 0 {
        return Err(Error::BadArgument {
            argument: "features",
            detail: "the model has no feature columns".to_owned(),
        });
    }
    let spill = input.data.spill_folder()?;
    let sliced = input.data.sliced(input.limit, &spill, job)?;
    let table = &sliced.table;
    let columns = feature_columns(table, features, "data")?;
    let n = table.rows;
    if n == 0 {
        return Err(Error::BadArgument {
            argument: "data",
            detail: "the data have no rows".to_owned(),
        });
    }
    let range = match rows {
        Some(r) => parse_rows(r, n)?,
        None => 0..n.min(DEFAULT_SHAP_ROWS),
    };
    if *background == 0 {
        return Err(Error::BadArgument {
            argument: "background",
            detail: "at least one background row".to_owned(),
        });
    }
    job.progress("reading the rows to explain", 0, None);
    // The model is probed with the data's first row, as in memory.
    let probe = feature_values_at(&table.read(&columns, 0, 1)?, features, 0)?;
    let probe: Vec<f32> = probe.iter().map(|&v| v as f32).collect();
    let target = Target::new(input.model, width, class.as_deref(), &probe)?;
    let x64 = feature_values_at(
        &table.read(&columns, range.start, range.len())?,
        features,
        range.start,
    )?;
    let bg_sliced = input
        .background
        .map(|b| b.sliced(input.limit, &spill, job))
        .transpose()?;
    let (bg_table, bg_columns) = match &bg_sliced {
        Some(s) => (
            &s.table,
            feature_columns(&s.table, features, "background-data")?,
        ),
        None => (table, columns.clone()),
    };
    if bg_table.rows == 0 {
        return Err(Error::BadArgument {
            argument: "background-data",
            detail: "the background data have no rows".to_owned(),
        });
    }
    job.progress("reading the background rows", 0, None);
    let pick = rng::sample_rows(bg_table.rows, *background, *seed);
    let bg64 = rows_of(bg_table, &bg_columns, features, &pick, job)?;
    shap_of(&target, features, range, &x64, &bg64, request, job)
}

/// The positions of the model's features among the table's columns, checked as in memory
/// (present and numeric) on the table's first row.
fn feature_columns(
    table: &ParquetTable,
    features: &[String],
    argument: &'static str,
) -> Result<Vec<usize>> {
    let all: Vec<usize> = (0..table.names.len()).collect();
    let head = table.read(&all, 0, table.rows.min(1))?;
    check_features(&head, features, argument)?;
    features
        .iter()
        .map(|f| {
            table
                .names
                .iter()
                .position(|n| n == f)
                .ok_or_else(|| missing_column(argument, f, &head))
        })
        .collect()
}

/// The features of rows `picked` (in that order, row-major): each row group holding any is
/// read once.
fn rows_of(
    table: &ParquetTable,
    columns: &[usize],
    features: &[String],
    picked: &[usize],
    job: &Job,
) -> Result<Vec<f64>> {
    let width = features.len();
    let mut order: Vec<usize> = (0..picked.len()).collect();
    order.sort_by_key(|&i| picked[i]);
    let mut out = vec![0.0; picked.len() * width];
    let mut at = 0;
    while at < order.len() {
        job.cancel.check()?;
        // The rows of one stretch: from this row to the end of its row group.
        let first = picked[order[at]];
        let end = table.group_end(first);
        let mut last = at;
        while last + 1 < order.len() && picked[order[last + 1]] < end {
            last += 1;
        }
        let upto = picked[order[last]] + 1;
        let values =
            feature_values_at(&table.read(columns, first, upto - first)?, features, first)?;
        for &i in &order[at..=last] {
            let r = picked[i] - first;
            out[i * width..(i + 1) * width].copy_from_slice(&values[r * width..(r + 1) * width]);
        }
        at = last + 1;
    }
    Ok(out)
}
