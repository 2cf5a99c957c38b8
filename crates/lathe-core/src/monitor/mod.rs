//! Monitoring without labels: a reference period (with targets) and an analysis period (with
//! or without) cut into chunks, each chunk with its estimated performance (NannyML's CBPE),
//! its sampling-error band, the thresholds the reference chunks set, and the realised
//! performance where targets are known.
//!
//! - [`chunk`]: NannyML's chunkers (size, number, calendar period) and its keys and dates.
//! - [`calibrate`]: NannyML's decision to calibrate and scikit-learn's isotonic regression.
//! - [`cbpe`]: the binary metrics, their sampling errors and thresholds.
//! - [`reconstruct`]: multivariate drift, NannyML's data reconstruction error (PCA).
//!
//! What differs from NannyML 0.13.1, and why:
//! - Rows with the same timestamp keep their file order (NannyML's sort leaves it
//!   unspecified), and a row without a timestamp is refused when chunking by time.
//! - Where scores tie, the ROC AUC sampling error orders tied reference rows by row (numpy's
//!   quicksort leaves them unspecified; on NannyML's car-loan data, whose scores have two
//!   decimals, the two differ by 0.11 %). Untied scores give NannyML's value.

pub mod calibrate;
pub mod cbpe;
pub mod chunk;
pub mod reconstruct;

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use crate::dataset::browse::TableSource;
use crate::dataset::times::times;
use crate::job::Job;
use crate::{Error, Result};
pub use calibrate::{Decision, Isotonic};
pub use cbpe::{Cbpe, Metric, MetricChunk, Outputs};
pub use chunk::{Chunk, Chunking, Period};
pub use reconstruct::{ChunkError, Reconstruction};

/// Which columns hold the model's outputs, the target and the time.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// The score (probability) of the positive class.
    pub score: String,
    /// The predicted class, 0 or 1.
    pub prediction: String,
    /// The target, 0 or 1: required in the reference, used in the analysis where present.
    pub target: String,
    pub timestamp: Option<String>,
}

/// What to monitor and how to chunk.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub columns: Columns,
    pub chunking: Chunking,
    pub metrics: Vec<Metric>,
    /// The features of the multivariate drift: `None` for every column of the reference
    /// besides the outputs, the target and the time (those the analysis also has).
    pub features: Option<Vec<String>>,
}

/// One metric in one chunk, as shown: `None` where a value does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricShown {
    pub estimated: Option<f64>,
    pub sampling_error: Option<f64>,
    pub lower_confidence: Option<f64>,
    pub upper_confidence: Option<f64>,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
    pub alert: bool,
    pub realized: Option<f64>,
}

fn finite(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

impl From<MetricChunk> for MetricShown {
    fn from(m: MetricChunk) -> Self {
        MetricShown {
            estimated: finite(m.estimated),
            sampling_error: finite(m.sampling_error),
            lower_confidence: finite(m.lower_confidence),
            upper_confidence: finite(m.upper_confidence),
            lower_threshold: finite(m.lower_threshold),
            upper_threshold: finite(m.upper_threshold),
            alert: m.alert,
            realized: finite(m.realized),
        }
    }
}

/// `reference` or `analysis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Reference,
    Analysis,
}

/// One chunk of the report.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkShown {
    pub key: String,
    pub chunk_index: usize,
    pub period: Side,
    pub start_index: usize,
    pub end_index: usize,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub rows: usize,
    pub metrics: BTreeMap<String, MetricShown>,
    /// The chunk's multivariate drift (data reconstruction error), when there are features.
    pub multivariate: Option<ChunkError>,
}

/// An analysis chunk whose estimate (or reconstruction error, `metric` =
/// `reconstruction_error`) left the thresholds.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub chunk: String,
    pub metric: String,
    pub estimated: f64,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
}

/// How the rows were cut, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkingShown {
    #[serde(flatten)]
    pub chunking: Chunking,
    pub timestamp_column: Option<String>,
    pub reference_chunks: usize,
    pub analysis_chunks: usize,
}

/// The whole monitoring result.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorReport {
    pub task: &'static str,
    pub chunking: ChunkingShown,
    /// Whether the reference scores were calibrated, and why.
    pub calibration: Decision,
    pub calibrated: bool,
    pub metrics: Vec<Metric>,
    /// The features of the multivariate drift and how many principal components it keeps.
    pub multivariate_features: Vec<String>,
    pub components: Option<usize>,
    pub chunks: Vec<ChunkShown>,
    pub alerts: Vec<Alert>,
    /// What NannyML would warn about (too few chunks, …).
    pub warnings: Vec<String>,
}

/// A side's outputs, in time order, its times, and the order that sorted its rows.
struct Prepared {
    outputs: Outputs,
    times: Option<Vec<i64>>,
    order: Option<Vec<usize>>,
}

impl Prepared {
    /// Per-row values of the table (in file order) put in time order.
    fn ordered(&self, v: Vec<f64>) -> Vec<f64> {
        match &self.order {
            Some(order) => order.iter().map(|&i| v[i]).collect(),
            None => v,
        }
    }
}

/// Monitors `analysis` against `reference`, reading only the columns it needs (of Parquet:
/// only they are read, or fetched).
pub fn monitor_sources(
    reference: &TableSource,
    analysis: &TableSource,
    options: &MonitorOptions,
    job: &Job,
) -> Result<MonitorReport> {
    job.progress("reading the reference", 0, Some(3));
    let features = options.features.as_deref();
    let reference = read(reference, &options.columns, features)?;
    job.cancel.check()?;
    job.progress("reading the analysis data", 1, Some(3));
    let analysis = read(analysis, &options.columns, features)?;
    job.cancel.check()?;
    job.progress("estimating performance", 2, Some(3));
    let report = monitor_tables(&reference, &analysis, options)?;
    job.progress("estimating performance", 3, Some(3));
    Ok(report)
}

/// The columns monitoring reads from a table: the target only when the table has it (the
/// analysis may not).
fn read(source: &TableSource, columns: &Columns, features: Option<&[String]>) -> Result<DataFrame> {
    let Some(features) = features else {
        return source.frame(None);
    };
    let mut names: Vec<&str> = features.iter().map(String::as_str).collect();
    names.extend([
        columns.score.as_str(),
        columns.prediction.as_str(),
        columns.target.as_str(),
    ]);
    names.extend(columns.timestamp.as_deref());
    if let Some(table) = source.parquet_table()?
        && !table.names.iter().any(|n| n == &columns.target)
    {
        names.retain(|n| *n != columns.target);
    }
    source.frame_of(&names)
}

/// Monitors `analysis` against `reference` (tables already read).
pub fn monitor_tables(
    reference_frame: &DataFrame,
    analysis_frame: &DataFrame,
    options: &MonitorOptions,
) -> Result<MonitorReport> {
    if options.metrics.is_empty() {
        return Err(Error::bad_argument(
            "metrics",
            "name at least one metric to estimate".to_owned(),
        ));
    }
    let reference = prepare(
        reference_frame,
        &options.columns,
        "the reference data",
        true,
    )?;
    let analysis = prepare(analysis_frame, &options.columns, "the analysis data", false)?;
    let ref_chunks = chunk::split(
        options.chunking,
        reference.outputs.len(),
        reference.times.as_deref(),
        "the reference data",
    )?;
    let ana_chunks = chunk::split(
        options.chunking,
        analysis.outputs.len(),
        analysis.times.as_deref(),
        "the analysis data",
    )?;
    let ranges: Vec<_> = ref_chunks.iter().map(|c| c.rows.clone()).collect();
    let cbpe = Cbpe::fit(&reference.outputs, &ranges, &options.metrics)?;
    let mut warnings = Vec::new();
    let features = match &options.features {
        Some(f) => {
            let c = &options.columns;
            for (role, name) in [
                ("score", Some(&c.score)),
                ("prediction", Some(&c.prediction)),
                ("target", Some(&c.target)),
                ("timestamp", c.timestamp.as_ref()),
            ] {
                if let Some(name) = name
                    && f.contains(name)
                {
                    return Err(Error::bad_argument(
                        "features",
                        format!(
                            "'{name}' is the {role} column; the features are the model's inputs"
                        ),
                    ));
                }
            }
            f.clone()
        }
        None => default_features(
            reference_frame,
            analysis_frame,
            &options.columns,
            &mut warnings,
        ),
    };
    // Every row's reconstruction error, in time order, per side.
    let mut reconstruction = None;
    let mut row_errors: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    if !features.is_empty() {
        let (mut rec, errors) = Reconstruction::fit(reference_frame, &features)?;
        let errors = reference.ordered(errors);
        let values: Vec<f64> = ranges
            .iter()
            .map(|r| reconstruct::mean_error(&errors[r.clone()]))
            .collect();
        rec.set_thresholds(&values);
        row_errors[1] = analysis.ordered(rec.row_errors(analysis_frame, "the analysis data")?);
        row_errors[0] = errors;
        reconstruction = Some(rec);
    }
    let mut chunks = Vec::new();
    let mut alerts = Vec::new();
    for (side, prepared, cut, errors) in [
        (Side::Reference, &reference, &ref_chunks, &row_errors[0]),
        (Side::Analysis, &analysis, &ana_chunks, &row_errors[1]),
    ] {
        let calibrated = cbpe.calibrated(&prepared.outputs.score);
        for (index, c) in cut.iter().enumerate() {
            let multivariate = reconstruction
                .as_ref()
                .map(|rec| rec.chunk(&errors[c.rows.clone()]));
            if let Some(m) = multivariate
                && side == Side::Analysis
                && m.alert
            {
                alerts.push(Alert {
                    chunk: c.key.clone(),
                    metric: "reconstruction_error".to_owned(),
                    estimated: m.reconstruction_error.unwrap_or(f64::NAN),
                    lower_threshold: m.lower_threshold,
                    upper_threshold: m.upper_threshold,
                });
            }
            let mut metrics = BTreeMap::new();
            for (metric, m) in cbpe.chunk(&prepared.outputs, &calibrated, c.rows.clone()) {
                if side == Side::Analysis && m.alert {
                    alerts.push(Alert {
                        chunk: c.key.clone(),
                        metric: metric.name().to_owned(),
                        estimated: m.estimated,
                        lower_threshold: finite(m.lower_threshold),
                        upper_threshold: finite(m.upper_threshold),
                    });
                }
                metrics.insert(metric.name().to_owned(), MetricShown::from(m));
            }
            let (start_index, end_index) = c.indices();
            chunks.push(ChunkShown {
                key: c.key.clone(),
                chunk_index: index,
                period: side,
                start_index,
                end_index,
                start_date: c.start_date.map(chunk::iso),
                end_date: c.end_date.map(chunk::iso),
                rows: c.rows.len(),
                metrics,
                multivariate,
            });
        }
    }
    for (side, n) in [
        ("reference", ref_chunks.len()),
        ("analysis", ana_chunks.len()),
    ] {
        if n < chunk::FEW_CHUNKS {
            warnings.push(format!(
                "the {side} data makes {n} chunks, fewer than {}: thresholds and trends from so few chunks are unreliable; use smaller chunks",
                chunk::FEW_CHUNKS
            ));
        }
    }
    Ok(MonitorReport {
        task: "binary_classification",
        chunking: ChunkingShown {
            chunking: options.chunking,
            timestamp_column: options.columns.timestamp.clone(),
            reference_chunks: ref_chunks.len(),
            analysis_chunks: ana_chunks.len(),
        },
        calibrated: cbpe.calibrator.is_some(),
        calibration: cbpe.decision,
        metrics: options.metrics.clone(),
        components: reconstruction.as_ref().map(|r| r.components.len()),
        multivariate_features: features,
        chunks,
        alerts,
        warnings,
    })
}

/// Reads a side's columns and orders its rows by time.
fn prepare(
    frame: &DataFrame,
    columns: &Columns,
    side: &str,
    is_reference: bool,
) -> Result<Prepared> {
    let score = numbers(frame, &columns.score, "score column", side)?;
    if let Some((row, v)) = score
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_nan() && !(0.0..=1.0).contains(*v))
    {
        return Err(Error::bad_argument(
            "score column",
            format!(
                "'{}' row {} of {side} is {v}, not a probability: CBPE needs the model's probability of the positive class (0 to 1), not a raw score or logit",
                columns.score,
                row + 1
            ),
        ));
    }
    let prediction = classes(frame, &columns.prediction, "prediction column", side)?;
    let target = match frame.column(&columns.target) {
        Ok(_) => Some(classes(frame, &columns.target, "target", side)?),
        Err(_) if !is_reference => None,
        Err(_) => {
            return Err(Error::bad_argument(
                "target",
                format!(
                    "no column '{}' in {side}: the reference needs its targets (--target names the column)",
                    columns.target
                ),
            ));
        }
    };
    let mut outputs = Outputs {
        score,
        prediction,
        target,
    };
    let mut kept_order = None;
    let times = match &columns.timestamp {
        None => None,
        Some(name) => {
            let t = times(frame, name, "timestamp column", side)?;
            let order = chunk::time_order(&t, name, side)?;
            let mut t: Vec<i64> = t.into_iter().map(|v| v.unwrap_or_default()).collect();
            if let Some(order) = order {
                let pick = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
                outputs.score = pick(&outputs.score);
                outputs.prediction = pick(&outputs.prediction);
                outputs.target = outputs.target.as_deref().map(pick);
                t = order.iter().map(|&i| t[i]).collect();
                kept_order = Some(order);
            }
            Some(t)
        }
    };
    Ok(Prepared {
        outputs,
        times,
        order: kept_order,
    })
}

/// Every column of the reference besides the outputs, the target and the time that the
/// analysis also has and that holds numbers, text or booleans; the others are named in a
/// warning.
fn default_features(
    reference: &DataFrame,
    analysis: &DataFrame,
    columns: &Columns,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let outputs = [
        Some(columns.score.as_str()),
        Some(columns.prediction.as_str()),
        Some(columns.target.as_str()),
        columns.timestamp.as_deref(),
    ];
    let mut skipped = Vec::new();
    let mut features = Vec::new();
    for c in reference.columns() {
        let name = c.name().as_str();
        if outputs.contains(&Some(name)) {
            continue;
        }
        let dtype = c.dtype();
        let usable = dtype.is_primitive_numeric()
            || dtype.is_bool()
            || dtype.is_string()
            || matches!(dtype, DataType::Categorical(..) | DataType::Enum(..));
        if !usable || analysis.column(name).is_err() {
            skipped.push(name.to_owned());
        } else {
            features.push(name.to_owned());
        }
    }
    if !skipped.is_empty() {
        warnings.push(format!(
            "multivariate drift leaves out {} (not numbers, text or booleans, or not in the analysis data)",
            skipped.join(", ")
        ));
    }
    features
}

fn column<'a>(
    frame: &'a DataFrame,
    name: &str,
    argument: &'static str,
    side: &str,
) -> Result<&'a Column> {
    frame.column(name).map_err(|_| {
        let names: Vec<String> = frame
            .get_column_names()
            .iter()
            .take(12)
            .map(|n| n.to_string())
            .collect();
        Error::bad_argument(
            argument,
            format!(
                "no column '{name}' in {side} (its columns: {})",
                names.join(", ")
            ),
        )
    })
}

/// A numeric column as f64, missing values as NaN.
fn numbers(frame: &DataFrame, name: &str, argument: &'static str, side: &str) -> Result<Vec<f64>> {
    let c = column(frame, name, argument, side)?;
    if !(c.dtype().is_primitive_numeric() || c.dtype().is_bool()) {
        return Err(Error::bad_argument(
            argument,
            format!(
                "'{name}' in {side} is a {} column; it must hold numbers",
                c.dtype()
            ),
        ));
    }
    let cast = c.cast(&DataType::Float64).map_err(|e| Error::Compute {
        context: "cannot read a column",
        detail: format!("'{name}': {e}"),
    })?;
    Ok(cast
        .f64()
        .map_err(|e| Error::Compute {
            context: "cannot read a column",
            detail: format!("'{name}': {e}"),
        })?
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

/// A 0/1 (or boolean) column as f64, missing values as NaN; any other value is refused.
fn classes(frame: &DataFrame, name: &str, argument: &'static str, side: &str) -> Result<Vec<f64>> {
    let v = numbers(frame, name, argument, side)?;
    if let Some((row, x)) = v
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_nan() && **x != 0.0 && **x != 1.0)
    {
        return Err(Error::bad_argument(
            argument,
            format!(
                "'{name}' row {} of {side} is {x}; a binary classifier's classes must be 0 and 1 (or false and true)",
                row + 1
            ),
        ));
    }
    Ok(v)
}
