//! Data drift: does the current data still look like the reference?
//!
//! Per column, the test or distance Evidently's `DataDriftPreset` would pick (reproduced exactly,
//! see [`Method::default_for`]), any of them on request, with its threshold; a dataset verdict
//! from the share of drifted columns; drift per time or row window of the current data; charts
//! and a self-contained HTML report. Every number comes from [`stat`], which reproduces SciPy's
//! and Evidently's arithmetic and is checked against them by `tests/fixtures/drift_reference.py`.
//!
//! - [`sample`]: a column's values as sorted numbers or category counts, non-finite dropped.
//! - [`window`]: drift over time.
//! - [`chart`]: distribution, score and over-time charts.
//! - [`html`]: the report.
//! - stored results: [`save`], [`list()`] and [`load`].

mod column;
mod method;
mod plan;
mod report;
mod score;
mod stream;

pub mod chart;
pub mod html;
pub mod sample;
pub mod stat;
mod store;
pub mod window;

use polars::prelude::*;
use rayon::prelude::*;

use crate::Result;
use crate::dataset::browse::TableSource;
use crate::dataset::stream::MemoryLimit;
use crate::job::Job;
pub use column::{Bins, ColumnDrift, Dropped, Effect};
pub use method::{Kind, Method};
pub(crate) use plan::evaluate_samples;
pub use plan::{DEFAULT_DRIFT_SHARE, DriftOptions};
use plan::{plan_columns, schema_of, test_column};
pub(crate) use report::Parts;
pub use report::{DriftReport, SchemaDrift, SideInfo, Skipped};
use sample::compute_err;
pub use score::{Score, score};
pub use store::{StoredDrift, list, load, save};
pub use window::{Window, WindowDrift, Windows};

/// Compares `current` with `reference`: in memory when both fit half of the memory limit
/// each, else a column at a time from slices of their Parquet files (the same numbers; drift
/// over windows needs the tables in memory).
pub fn compare(
    reference: &TableSource,
    current: &TableSource,
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    options.check()?;
    let limit = options
        .memory_limit
        .unwrap_or_else(MemoryLimit::for_this_machine);
    let half = MemoryLimit(limit.0 / 2);
    if !(reference.fits(half)? && current.fits(half)?) {
        return stream::compare_sources(reference, current, options, limit, job);
    }
    job.progress("reading the reference", 0, None);
    let ref_frame = reference.frame(None)?;
    job.cancel.check()?;
    job.progress("reading the current data", 0, None);
    let cur_frame = current.frame(None)?;
    job.cancel.check()?;
    let (rname, rversion) = reference.label();
    let (cname, cversion) = current.label();
    compare_frames(
        (
            SideInfo {
                name: rname,
                version: rversion,
                rows: ref_frame.height() as u64,
            },
            &ref_frame,
        ),
        (
            SideInfo {
                name: cname,
                version: cversion,
                rows: cur_frame.height() as u64,
            },
            &cur_frame,
        ),
        options,
        job,
    )
}

/// [`compare`] on frames already read.
pub fn compare_frames(
    (reference, ref_frame): (SideInfo, &DataFrame),
    (current, cur_frame): (SideInfo, &DataFrame),
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    options.check()?;
    let (plans, mut skipped, schema) = plan_columns(
        &schema_of(ref_frame),
        &schema_of(cur_frame),
        options,
        |name| {
            let column = cur_frame.column(name).map_err(|e| compute_err(name, e))?;
            Ok(sample::infer_kind(column))
        },
    )?;
    let total = plans.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    job.progress("testing columns", 0, Some(total));
    let results: Vec<Result<std::result::Result<ColumnDrift, Skipped>>> = plans
        .par_iter()
        .map(|plan| {
            job.cancel.check()?;
            let rc = ref_frame
                .column(&plan.name)
                .map_err(|e| compute_err(&plan.name, e))?;
            let cc = cur_frame
                .column(&plan.name)
                .map_err(|e| compute_err(&plan.name, e))?;
            let out = test_column(plan, rc, cc);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("testing columns", n, Some(total));
            out
        })
        .collect();
    let mut columns = Vec::with_capacity(results.len());
    for result in results {
        match result? {
            Ok(column) => columns.push(column),
            Err(skip) => skipped.push(skip),
        }
    }
    let windows = match &options.window {
        Some(window) => Some(window::over_time(
            ref_frame,
            cur_frame,
            &columns,
            options.time_column.as_deref(),
            window,
            job,
        )?),
        None => None,
    };
    Ok(DriftReport::tallied(Parts {
        reference,
        current,
        drift_share: options.drift_share,
        columns,
        skipped,
        schema,
        windows,
    }))
}
