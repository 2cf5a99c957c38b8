//! Data drift: does the current data still look like the reference?
//!
//! Per column, the test or distance Evidently's `DataDriftPreset` would pick (reproduced exactly,
//! see [`Method::default_for`]), any of them on request, with its threshold; a dataset verdict
//! from the share of drifted columns; drift per time or row window of the current data; charts
//! and a self-contained HTML report. Every number comes from [`stat`], which reproduces SciPy's
//! and Evidently's arithmetic and is checked against them by `tests/fixtures/drift_reference.py`.
//!
//! - [`sample`]: a column's values as sorted numbers or category counts, non-finite dropped.
//! - [`Table`]: where the columns come from, a frame or slices of a Parquet file ([`Sliced`],
//!   for tables over the memory limit).
//! - [`window`]: drift over time.
//! - [`chart`]: distribution, score and over-time charts.
//! - [`html`]: the report.
//! - stored results: [`save`], [`list()`] and [`load`].

mod column;
mod method;
mod plan;
mod report;
mod score;
mod spark;
mod stream;
mod table;

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
use plan::{evaluate, plan_columns};
pub(crate) use report::Parts;
pub use report::{DriftReport, SchemaDrift, SideInfo, Skipped};
pub use score::{Score, score};
pub use spark::SparkTable;
pub use store::{StoredDrift, list, load, save};
pub use stream::Sliced;
pub use table::Table;
pub use window::{Window, WindowDrift, Windows};

/// A source opened for a comparison: read whole, or read in slices.
#[derive(Debug)]
pub enum Opened {
    Frame(DataFrame),
    Sliced(Box<Sliced>),
    /// A table on a Spark cluster, summarised there ([`SparkTable`]).
    Spark(Box<SparkTable>),
}

impl Opened {
    /// Opens `source` whole, or in slices when `sliced` (working within `limit`).
    pub fn open(
        source: &TableSource,
        sliced: bool,
        limit: MemoryLimit,
        job: &Job,
    ) -> Result<Opened> {
        Ok(if let TableSource::Spark { url, .. } = source {
            Opened::Spark(Box::new(SparkTable::open(url, job)?))
        } else if sliced {
            Opened::Sliced(Box::new(Sliced::open(source, limit, job)?))
        } else {
            Opened::Frame(source.frame(None)?)
        })
    }

    pub fn table(&self) -> &dyn Table {
        match self {
            Opened::Frame(frame) => frame,
            Opened::Sliced(sliced) => sliced.as_ref(),
            Opened::Spark(spark) => spark.as_ref(),
        }
    }

    pub fn frame(&self) -> Option<&DataFrame> {
        match self {
            Opened::Frame(frame) => Some(frame),
            Opened::Sliced(_) | Opened::Spark(_) => None,
        }
    }
}

/// Opens the tables of a comparison: each read whole when every one of them fits half the
/// memory limit, else every one read in slices of its Parquet file (a CSV copied to Parquet
/// first), a column at a time. Drift over windows needs the tables whole.
pub fn open_tables(
    sources: &[&TableSource],
    options: &DriftOptions,
    job: &Job,
) -> Result<Vec<Opened>> {
    let limit = options
        .memory_limit
        .unwrap_or_else(MemoryLimit::for_this_machine);
    let half = MemoryLimit(limit.0 / 2);
    let mut sliced = false;
    let mut on_spark = false;
    for source in sources {
        on_spark |= matches!(source, TableSource::Spark { .. });
        sliced |= !source.fits(half)?;
    }
    if on_spark && options.window.is_some() {
        return Err(crate::Error::bad_argument(
            "window",
            "drift over windows reads the current data's rows, and a Spark table's rows stay on the cluster; compare without --window",
        ));
    }
    if sliced && options.window.is_some() {
        return Err(crate::Error::bad_argument(
            "window",
            format!(
                "drift over windows reads the current data whole, and these tables are over the memory limit ({} MiB); raise --memory-limit, or compare without --window",
                limit.0 >> 20
            ),
        ));
    }
    let mut opened = Vec::with_capacity(sources.len());
    for source in sources {
        job.cancel.check()?;
        job.progress(
            if matches!(source, TableSource::Spark { .. }) {
                "summarising the table on Spark"
            } else if sliced {
                "opening the tables to read in slices"
            } else {
                "reading the tables"
            },
            opened.len() as u64,
            Some(sources.len() as u64),
        );
        opened.push(Opened::open(source, sliced, limit, job)?);
    }
    Ok(opened)
}

/// A side of a comparison, as its report names it.
pub fn side_info(source: &TableSource, table: &dyn Table) -> SideInfo {
    let (name, version) = source.label();
    SideInfo {
        name,
        version,
        rows: table.rows() as u64,
    }
}

/// Compares `current` with `reference`: in memory when both fit half of the memory limit
/// each, else a column at a time from slices of their Parquet files, with the same numbers
/// ([`open_tables`]).
pub fn compare(
    reference: &TableSource,
    current: &TableSource,
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    options.check()?;
    let opened = open_tables(&[reference, current], options, job)?;
    let (r, c) = (&opened[0], &opened[1]);
    let frames = r.frame().zip(c.frame());
    compare_tables(
        (side_info(reference, r.table()), r.table()),
        (side_info(current, c.table()), c.table()),
        options,
        job,
        frames,
    )
}

/// [`compare`] on frames already read.
pub fn compare_frames(
    (reference, ref_frame): (SideInfo, &DataFrame),
    (current, cur_frame): (SideInfo, &DataFrame),
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    compare_tables(
        (reference, ref_frame),
        (current, cur_frame),
        options,
        job,
        Some((ref_frame, cur_frame)),
    )
}

/// Plans and tests the columns of two tables; the windows (when asked) from `frames`.
pub(crate) fn compare_tables(
    (reference, r): (SideInfo, &dyn Table),
    (current, c): (SideInfo, &dyn Table),
    options: &DriftOptions,
    job: &Job,
    frames: Option<(&DataFrame, &DataFrame)>,
) -> Result<DriftReport> {
    options.check()?;
    job.progress("reading the current data's column kinds", 0, None);
    let (plans, mut skipped, schema) = plan_columns(&r.schema(), &c.schema(), options, |name| {
        job.cancel.check()?;
        c.kind(name)
    })?;
    let total = plans.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    job.progress("testing columns", 0, Some(total));
    let results: Vec<Result<std::result::Result<ColumnDrift, Skipped>>> = plans
        .par_iter()
        .map(|plan| {
            job.cancel.check()?;
            let cs = c.sample(&plan.name, plan.kind)?;
            let rs = r.sample(&plan.name, plan.kind)?;
            let out = evaluate(plan, &rs, &cs);
            rs.check()?;
            cs.check()?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("testing columns", n, Some(total));
            Ok(out)
        })
        .collect();
    let mut columns = Vec::with_capacity(results.len());
    for result in results {
        match result? {
            Ok(column) => columns.push(column),
            Err(skip) => skipped.push(skip),
        }
    }
    let windows = match (&options.window, frames) {
        (Some(window), Some((ref_frame, cur_frame))) => Some(window::over_time(
            ref_frame,
            cur_frame,
            &columns,
            options.time_column.as_deref(),
            window,
            job,
        )?),
        (Some(_), None) => {
            return Err(crate::Error::bad_argument(
                "window",
                "drift over windows needs the tables in memory",
            ));
        }
        (None, _) => None,
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
