//! Monitoring without labels: a reference period (with targets) and an analysis period (with
//! or without) cut into chunks, each chunk with its estimated performance (NannyML's CBPE),
//! its sampling-error band, the thresholds the reference chunks set, and the realised
//! performance where targets are known.
//!
//! - [`chunk`]: NannyML's chunkers (size, number, calendar period) and its keys and dates.
//! - [`calibrate`]: NannyML's decision to calibrate and scikit-learn's isotonic regression.
//! - [`cbpe`]: the binary metrics, their sampling errors and thresholds.
//! - [`multiclass`]: a multiclass classifier's (one-vs-rest calibration, macro averages).
//! - [`reconstruct`]: multivariate drift, NannyML's data reconstruction error (PCA).
//! - [`chart`]: each metric and the reconstruction error over the chunks, with bands,
//!   thresholds, realised values and alerts; [`html`]: the self-contained report.
//!
//! What differs from NannyML 0.13.1, and why:
//! - Rows with the same timestamp keep their file order (NannyML's sort leaves it
//!   unspecified), and a row without a timestamp is refused when chunking by time.
//! - Where scores tie, the ROC AUC sampling error orders tied reference rows by row (numpy's
//!   quicksort leaves them unspecified; on NannyML's car-loan data, whose scores have two
//!   decimals, the two differ by 0.11 %). Untied scores give NannyML's value.

pub mod calibrate;
pub mod cbpe;
pub mod chart;
pub mod chunk;
pub mod dle;
pub mod gbdt;
pub mod html;
pub mod multiclass;
pub mod reconstruct;

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::browse::TableSource;
use crate::dataset::times::times;
use crate::job::Job;
use crate::model::eval;
use crate::model::tensor::{Data, Tensor};
use crate::model::{Model, Prediction};
use crate::{Error, Result};
pub use calibrate::{Decision, Isotonic};
pub use cbpe::{BusinessValue, Cbpe, Metric, MetricChunk, Normalization, Outputs};
pub use chunk::{Chunk, Chunking, Period};
pub use multiclass::MulticlassCbpe;
pub use reconstruct::{ChunkError, Reconstruction};

/// Which columns hold the model's outputs, the target and the time.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// The score (probability) of the positive class.
    pub score: String,
    /// A multiclass classifier's probability columns, class by class (instead of `score`).
    pub class_scores: Vec<(String, String)>,
    /// The predicted class, 0 or 1.
    pub prediction: String,
    /// The target, 0 or 1: required in the reference, used in the analysis where present.
    pub target: String,
    pub timestamp: Option<String>,
}

impl Columns {
    /// Sets the score column from its flag: `COLUMN` (a binary classifier's score of the
    /// positive class) or `CLASS=COLUMN,CLASS=COLUMN,…` (a multiclass classifier's probability
    /// column of every class).
    pub fn set_score(&mut self, text: &str) -> Result<()> {
        if !text.contains('=') {
            self.score = text.trim().to_owned();
            return Ok(());
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((class, column)) = part.split_once('=') else {
                return Err(Error::bad_argument(
                    "score column",
                    format!(
                        "'{part}' in '{text}': a multiclass classifier's score columns are CLASS=COLUMN, comma-separated (e.g. a=proba_a,b=proba_b,c=proba_c)"
                    ),
                ));
            };
            let (class, column) = (class.trim(), column.trim());
            if class.is_empty() || column.is_empty() {
                return Err(Error::bad_argument(
                    "score column",
                    format!("'{part}' in '{text}': write CLASS=COLUMN"),
                ));
            }
            if pairs.iter().any(|(c, _)| c == class) {
                return Err(Error::bad_argument(
                    "score column",
                    format!("class '{class}' is named twice in '{text}'"),
                ));
            }
            pairs.push((class.to_owned(), column.to_owned()));
        }
        if pairs.len() < 3 {
            return Err(Error::bad_argument(
                "score column",
                format!(
                    "'{text}' names {} class(es); a multiclass classifier has three or more (a binary one's score is one column: --score-column COLUMN)",
                    pairs.len()
                ),
            ));
        }
        self.score = String::new();
        self.class_scores = pairs;
        Ok(())
    }
}

/// A binary classifier that computes the outputs from the tables, and the features it takes.
#[derive(Debug, Clone, Copy)]
pub struct ModelInput<'a> {
    pub model: &'a Model,
    pub features: &'a [String],
}

/// A model's outputs over a table: a binary classifier's score of the positive class and its
/// predicted class (1 for the positive one), with its two classes; a multiclass classifier's
/// (see [`Outputs`]), with its sorted classes; or a regressor's prediction (as both, without
/// classes).
struct Predicted {
    score: Vec<f64>,
    prediction: Vec<f64>,
    /// The negative class, then the positive one (a multiclass classifier's sorted classes);
    /// `None` for a regressor.
    classes: Option<Vec<String>>,
    /// A multiclass classifier's probabilities, per class in `classes` order.
    probabilities: Vec<Vec<f64>>,
}

/// Predicts `frame` with the model: the probability of its positive class (the class `1` or
/// `true` when it has one, else its second class, as scikit-learn orders them) and its label.
fn predict(input: ModelInput, frame: &DataFrame, side: &str) -> Result<Predicted> {
    let x = crate::model::feature_matrix(frame, input.features).map_err(|e| match e {
        Error::BadArgument { detail, .. } => {
            Error::bad_argument("features", format!("{side}: {detail}"))
        }
        e => e,
    })?;
    let prediction = input.model.predict(&x, input.features.len())?;
    predicted(input.model, &prediction)
}

/// A model's outputs as the monitor reads them from a prediction it made (a served one): the
/// score and the predicted class of each row as [`Reference::learn`] reads its own, no
/// target. A multiclass classifier's predicted class is a position in its sorted classes.
pub fn outputs_of(model: &Model, prediction: &Prediction) -> Result<Outputs> {
    let p = predicted(model, prediction)?;
    let multiclass = !p.probabilities.is_empty();
    Ok(Outputs {
        score: p.score,
        prediction: p.prediction,
        target: None,
        classes: if multiclass {
            p.classes.unwrap_or_default()
        } else {
            Vec::new()
        },
        probabilities: p.probabilities,
    })
}

/// What the monitor reads from a model's prediction (see [`predict`]).
fn predicted(model: &Model, prediction: &Prediction) -> Result<Predicted> {
    let tensors: Vec<&Tensor> = prediction.outputs.iter().map(|(_, t)| t).collect();
    let Some(p) = eval::probability_position(tensors.iter().copied()) else {
        // A regressor (no label output, one number per row): DLE estimates it.
        if eval::label_position(tensors.iter().copied()).is_none()
            && let Some(r) = eval::prediction_position(tensors.iter().copied())
        {
            let values = tensors[r].to_f64("monitor")?;
            return Ok(Predicted {
                score: values.clone(),
                prediction: values,
                classes: None,
                probabilities: Vec::new(),
            });
        }
        return Err(Error::bad_argument(
            "model",
            "it outputs no class probabilities: CBPE needs a classifier's probabilities (or give --score-column and --prediction-column)".to_owned(),
        ));
    };
    let probabilities = tensors[p];
    let classes = eval::probability_classes(model, probabilities).unwrap_or_else(|| {
        (0..probabilities.row_len())
            .map(|i| i.to_string())
            .collect()
    });
    let labels = || -> Option<Vec<String>> {
        let l = eval::label_position(tensors.iter().copied())?;
        match &tensors[l].data {
            Data::I64(v) => Some(v.iter().map(i64::to_string).collect()),
            Data::Str(v) => Some(v.clone()),
            _ => None,
        }
    };
    if classes.len() > 2 {
        return multiclass_predicted(&classes, probabilities.to_f64("monitor")?, labels());
    }
    if classes.len() != 2 {
        return Err(Error::bad_argument(
            "model",
            format!(
                "it has {} class ({}); CBPE estimates a classifier of two classes or more",
                classes.len(),
                classes.join(", ")
            ),
        ));
    }
    let positive = classes
        .iter()
        .position(|c| matches!(c.to_ascii_lowercase().as_str(), "1" | "true"))
        .unwrap_or(1);
    let values = probabilities.to_f64("monitor")?;
    let score: Vec<f64> = values.chunks_exact(2).map(|r| r[positive]).collect();
    let prediction = match labels() {
        Some(labels) => labels
            .iter()
            .map(|t| f64::from(u8::from(*t == classes[positive])))
            .collect(),
        None => score
            .iter()
            .map(|&s| f64::from(u8::from(s >= 0.5)))
            .collect(),
    };
    Ok(Predicted {
        score,
        prediction,
        classes: Some(vec![
            classes[1 - positive].clone(),
            classes[positive].clone(),
        ]),
        probabilities: Vec::new(),
    })
}

/// A multiclass model's outputs: its classes sorted (NannyML's order), each one's probability
/// (`values` holds a row's probabilities in the model's class order), the predicted class (the
/// model's label, or the most probable class) and, as the score, its probability.
fn multiclass_predicted(
    model_classes: &[String],
    values: Vec<f64>,
    labels: Option<Vec<String>>,
) -> Result<Predicted> {
    let k = model_classes.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| model_classes[a].cmp(&model_classes[b]));
    let classes: Vec<String> = order.iter().map(|&i| model_classes[i].clone()).collect();
    let probabilities: Vec<Vec<f64>> = order
        .iter()
        .map(|&i| values.chunks_exact(k).map(|r| r[i]).collect())
        .collect();
    let rows = values.len() / k;
    let prediction: Vec<f64> = match labels {
        Some(labels) => labels
            .iter()
            .map(|l| {
                classes
                    .iter()
                    .position(|c| c == l)
                    .map_or(f64::NAN, |p| p as f64)
            })
            .collect(),
        None => (0..rows)
            .map(|i| {
                // np.argmax: the first of the largest.
                let mut best = 0;
                for c in 1..k {
                    if probabilities[c][i] > probabilities[best][i] {
                        best = c;
                    }
                }
                best as f64
            })
            .collect(),
    };
    let score = predicted_probability(&prediction, &probabilities);
    Ok(Predicted {
        score,
        prediction,
        classes: Some(classes),
        probabilities,
    })
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
    /// Also test each feature, the score and the target for drift in every chunk.
    pub column_drift: bool,
    /// What each confusion-matrix cell is worth: estimates the business value (with the
    /// default metrics, besides them).
    pub business_value: Option<BusinessValue>,
    /// How the confusion matrix's cells are reported (counts by default).
    pub normalization: Normalization,
}

/// One metric in one chunk, as shown: `None` where a value does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorMetricShown"))]
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

/// NannyML's `SAMPLING_ERROR_RANGE`: a confidence band is the value ± 3 sampling errors.
const SAMPLING_ERROR_RANGE: f64 = 3.0;
/// NannyML's default `StandardDeviationThreshold` multiplier.
const THRESHOLD_STD: f64 = 3.0;

/// NannyML's `StandardDeviationThreshold()` over the reference chunks' values (NaN ignored):
/// their mean less and plus 3 population standard deviations, before any limit; `None`
/// without a value. CBPE and the reconstruction each apply their own limits.
fn standard_deviation_thresholds(values: &[f64]) -> Option<(f64, f64)> {
    let kept: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if kept.is_empty() {
        return None;
    }
    let mean = crate::numeric::pairwise_sum(&kept) / kept.len() as f64;
    let std = crate::numeric::std_pop(&kept);
    Some((mean - std * THRESHOLD_STD, mean + std * THRESHOLD_STD))
}

/// numpy's `minimum(a, b)`: NaN wins.
fn nan_min(a: f64, b: f64) -> f64 {
    if b.is_nan() { b } else { a.min(b) }
}

/// numpy's `maximum(a, b)`: NaN wins.
fn nan_max(a: f64, b: f64) -> f64 {
    if b.is_nan() { b } else { a.max(b) }
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorSide"))]
pub enum Side {
    Reference,
    Analysis,
}

/// One chunk of the report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorChunk"))]
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
    /// Per column of the report's `column_drift`: its drift score in this chunk against the
    /// whole reference, and whether it drifted (empty when not computed).
    pub column_drift: BTreeMap<String, ColumnChunk>,
}

/// What a column of the per-chunk drift is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorColumnRole"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Feature,
    /// The model's score (prediction drift).
    Prediction,
    /// The target (target drift, where labels are present).
    Target,
}

/// A column tested for drift in every chunk, with the method and threshold chosen for it on
/// the whole periods (as `lathe drift` chooses them), so that chunks are comparable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorColumnDrift"))]
pub struct ColumnDriftShown {
    pub column: String,
    pub role: Role,
    pub method: crate::drift::Method,
    pub threshold: f64,
}

/// A column's drift in one chunk: `score` is `None` where the chunk has no values of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorColumnChunk"))]
pub struct ColumnChunk {
    pub score: Option<f64>,
    pub drift: bool,
}

/// An analysis chunk whose estimate (or reconstruction error, `metric` =
/// `reconstruction_error`) left the thresholds.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorAlert"))]
pub struct Alert {
    pub chunk: String,
    pub metric: String,
    pub estimated: f64,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
}

/// How the rows were cut, as shown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ChunkingShown"))]
pub struct ChunkingShown {
    #[serde(flatten)]
    pub chunking: Chunking,
    pub timestamp_column: Option<String>,
    pub reference_chunks: usize,
    pub analysis_chunks: usize,
}

/// The whole monitoring result.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorReport"))]
pub struct MonitorReport {
    pub task: &'static str,
    pub chunking: ChunkingShown,
    /// Whether the reference scores were calibrated, and why (`None` for a regressor and a
    /// multiclass classifier, whose classes are each decided: `calibrated_classes`).
    pub calibration: Option<Decision>,
    pub calibrated: bool,
    /// A multiclass classifier's classes (sorted) and those whose probabilities were
    /// calibrated; empty otherwise.
    pub classes: Vec<String>,
    pub calibrated_classes: Vec<String>,
    /// The metrics estimated, by name (a multiclass confusion matrix's cells
    /// `true_{class}_pred_{class}`).
    pub metrics: Vec<String>,
    /// The features of the multivariate drift and how many principal components it keeps.
    pub multivariate_features: Vec<String>,
    pub components: Option<usize>,
    /// The columns tested for drift in every chunk (features, the score, the target), empty
    /// when not computed (a bundle's reference holds no rows to test against).
    pub column_drift: Vec<ColumnDriftShown>,
    pub chunks: Vec<ChunkShown>,
    pub alerts: Vec<Alert>,
    /// What NannyML would warn about (too few chunks, …).
    pub warnings: Vec<String>,
}

impl MonitorReport {
    /// How a metric is called in titles and tables: its label (`ROC AUC`), or for a
    /// multiclass confusion-matrix cell `True a, predicted b`.
    pub fn metric_label(&self, name: &str) -> String {
        if let Ok(metrics) = Metric::parse(name)
            && let [m] = metrics[..]
        {
            return m.label().to_owned();
        }
        for t in &self.classes {
            for p in &self.classes {
                if multiclass::cell_name(t, p) == name {
                    return format!("True {t}, predicted {p}");
                }
            }
        }
        name.to_owned()
    }

    /// The estimator's name: `CBPE` for a classifier, `DLE` for a regressor.
    pub fn estimator_shown(&self) -> &'static str {
        if self.task == "regression" {
            "DLE"
        } else {
            "CBPE"
        }
    }

    /// How the estimates were made, as every front end says it: `scores calibrated
    /// (isotonic)`, `scores used as given` (CBPE), `probabilities of a, b calibrated
    /// (isotonic)` (multiclass CBPE) or `losses estimated by DLE`.
    pub fn method_shown(&self) -> String {
        if !self.classes.is_empty() {
            return if self.calibrated_classes.is_empty() {
                format!(
                    "probabilities of {} classes used as given",
                    self.classes.len()
                )
            } else {
                format!(
                    "probabilities of {} (of {} classes) calibrated (isotonic)",
                    self.calibrated_classes.join(", "),
                    self.classes.len()
                )
            };
        }
        match (&self.calibration, self.calibrated) {
            (None, _) => "losses estimated by DLE",
            (Some(_), true) => "scores calibrated (isotonic)",
            (Some(_), false) => "scores used as given",
        }
        .to_owned()
    }
}

/// A side's outputs, in time order, its times, the order that sorted its rows, and whether
/// they are a regressor's (the prediction as the score too, the target a number).
struct Prepared {
    outputs: Outputs,
    times: Option<Vec<i64>>,
    order: Option<Vec<usize>>,
    regression: bool,
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
    model: Option<ModelInput>,
    job: &Job,
) -> Result<MonitorReport> {
    job.progress("reading the reference and analysis data", 0, Some(3));
    let (reference, analysis) = rayon::join(
        || read(reference, options, model),
        || read(analysis, options, model),
    );
    let (reference, analysis) = (reference?, analysis?);
    job.cancel.check()?;
    job.progress("estimating performance", 2, Some(3));
    let report = monitor_tables(&reference, &analysis, options, model)?;
    job.progress("estimating performance", 3, Some(3));
    Ok(report)
}

/// The columns monitoring reads from a table: the features, the model's inputs or the output
/// columns, the time, and the target only when the table has it (the analysis may not).
fn read(
    source: &TableSource,
    options: &MonitorOptions,
    model: Option<ModelInput>,
) -> Result<DataFrame> {
    let columns = &options.columns;
    let features = options.features.as_deref().or(model.map(|m| m.features));
    let Some(features) = features else {
        return source.frame(None);
    };
    let mut names: Vec<&str> = features.iter().map(String::as_str).collect();
    match model {
        Some(m) => names.extend(m.features.iter().map(String::as_str)),
        None => {
            names.extend([columns.score.as_str(), columns.prediction.as_str()]);
            names.extend(columns.class_scores.iter().map(|(_, c)| c.as_str()));
            names.retain(|n| !n.is_empty());
        }
    }
    names.push(columns.target.as_str());
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
    model: Option<ModelInput>,
) -> Result<MonitorReport> {
    let mut warnings = Vec::new();
    let features = match &options.features {
        Some(f) => {
            let c = &options.columns;
            let roles = [
                ("score", Some(&c.score)),
                ("prediction", Some(&c.prediction)),
                ("target", Some(&c.target)),
                ("timestamp", c.timestamp.as_ref()),
            ];
            let class_scores = c.class_scores.iter().map(|(_, s)| ("score", Some(s)));
            for (role, name) in roles.into_iter().chain(class_scores) {
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
        None => match model {
            Some(m) => m.features.to_vec(),
            None => default_features(
                reference_frame,
                analysis_frame,
                &options.columns,
                &mut warnings,
            ),
        },
    };
    // The reference's CBPE fit, its reconstruction and the analysis outputs are independent.
    let prepared = prepare(
        reference_frame,
        &options.columns,
        "the reference data",
        true,
        model,
    )?;
    let regression = prepared.regression;
    if regression
        && model.is_none()
        && prepared
            .outputs
            .prediction
            .iter()
            .all(|v| v.is_nan() || *v == 0.0 || *v == 1.0)
    {
        warnings.push(format!(
            "'{}' holds only 0 and 1 but is monitored as a regressor's prediction (DLE), for no score column was named; a classifier's is estimated from its probability (--score-column)",
            options.columns.prediction
        ));
    }
    let metrics = task_metrics(options, regression, prepared.outputs.is_multiclass())?;
    let ((fitted, reconstruction), analysis) = rayon::join(
        || {
            rayon::join(
                || -> Result<Option<(Vec<Chunk>, Estimator)>> {
                    if regression {
                        return Ok(None);
                    }
                    Ok(Some(fit_cbpe(
                        &prepared.outputs,
                        prepared.times.as_deref(),
                        options,
                        &metrics,
                    )?))
                },
                || learn_reconstruction(reference_frame, &features, &prepared),
            )
        },
        || prepare_analysis(analysis_frame, options, model),
    );
    let (reconstruction, errors) = reconstruction?;
    let analysis = analysis?;
    let fitted = match fitted? {
        Some(fitted) => fitted,
        None => fit_dle(
            (&prepared.outputs, prepared.times.as_deref()),
            &DleReference::learn(reference_frame, &features, &prepared)?,
            analysis_frame,
            &analysis,
            options.chunking,
            &metrics,
        )?,
    };
    let reference_order = prepared.order;
    let reference = Reference {
        outputs: prepared.outputs,
        times: prepared.times,
        reconstruction,
        errors,
        dle: None,
    };
    let mut report = reference.analyse_prepared(analysis_frame, &analysis, options, fitted)?;
    if options.column_drift {
        let sides = [
            PeriodTable {
                frame: reference_frame,
                outputs: &reference.outputs,
                order: reference_order.as_deref(),
            },
            PeriodTable {
                frame: analysis_frame,
                outputs: &analysis.outputs,
                order: analysis.order.as_deref(),
            },
        ];
        drift_per_chunk(
            &mut report,
            &sides,
            &features,
            &options.columns,
            &mut warnings,
        )?;
    }
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}

/// The first value (row index, value) outside 0..=1; missing values (NaN) pass.
fn not_a_probability(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .copied()
        .enumerate()
        .find(|(_, v)| !v.is_nan() && !(0.0..=1.0).contains(v))
}

/// A multiclass classifier's score: each row's probability of its predicted class (a position
/// in `probabilities`, per class), NaN without a prediction.
fn predicted_probability(prediction: &[f64], probabilities: &[Vec<f64>]) -> Vec<f64> {
    prediction
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            if p.is_nan() {
                f64::NAN
            } else {
                probabilities[p as usize][i]
            }
        })
        .collect()
}

/// One period's table, its outputs in time order, and the order that sorted its rows.
struct PeriodTable<'a> {
    frame: &'a DataFrame,
    outputs: &'a Outputs,
    order: Option<&'a [usize]>,
}

impl PeriodTable<'_> {
    /// Values in time order put back in the table's row order.
    fn in_row_order(&self, v: &[f64]) -> Vec<f64> {
        match self.order {
            None => v.to_vec(),
            Some(order) => {
                let mut out = vec![f64::NAN; v.len()];
                for (position, &row) in order.iter().enumerate() {
                    out[row] = v[position];
                }
                out
            }
        }
    }

    /// The table's rows (indices into it) at positions `start..=end` of the time order.
    fn rows(&self, start: usize, end: usize) -> Vec<u32> {
        (start..=end)
            .map(|p| self.order.map_or(p, |o| o[p]) as u32)
            .collect()
    }

    /// The features, the score (as `score`) and the target (when the table has one).
    fn drift_frame(&self, features: &[String], score: &str, target: &str) -> Result<DataFrame> {
        let polars = |e: PolarsError| Error::Compute {
            context: "cannot prepare the per-chunk drift",
            detail: e.to_string(),
        };
        let mut columns: Vec<Column> = features
            .iter()
            .map(|f| self.frame.column(f).cloned().map_err(polars))
            .collect::<Result<_>>()?;
        let classes = &self.outputs.classes;
        // A multiclass classifier's predicted class and target are drift-tested as categories.
        let named = |v: &[f64]| -> Vec<Option<String>> {
            self.in_row_order(v)
                .iter()
                .map(|&p| (!p.is_nan()).then(|| classes[p as usize].clone()))
                .collect()
        };
        if classes.is_empty() {
            columns.push(Column::new(
                score.into(),
                self.in_row_order(&self.outputs.score),
            ));
            if let Some(t) = &self.outputs.target {
                columns.push(Column::new(target.into(), self.in_row_order(t)));
            }
        } else {
            columns.push(Column::new(score.into(), named(&self.outputs.prediction)));
            if let Some(t) = &self.outputs.target {
                columns.push(Column::new(target.into(), named(t)));
            }
        }
        DataFrame::new_infer_height(columns).map_err(polars)
    }
}

/// Tests each feature, the score and the target of every chunk against the whole reference,
/// with the method `lathe drift` chooses for the two periods (the windows' arithmetic of drift
/// over time). A distance's threshold comes from the reference chunks, as NannyML sets its
/// univariate drift's: their mean + 3 standard deviations; a test keeps its p-value threshold.
fn drift_per_chunk(
    report: &mut MonitorReport,
    sides: &[PeriodTable; 2],
    features: &[String],
    columns: &Columns,
    warnings: &mut Vec<String>,
) -> Result<()> {
    use crate::drift::{self, DriftOptions, SideInfo};
    let multiclass = sides[0].outputs.is_multiclass();
    let score = if multiclass && !columns.prediction.is_empty() {
        // A multiclass classifier's predicted class.
        columns.prediction.clone()
    } else if columns.score.is_empty() {
        // The model computes it: a name no feature has.
        let mut name = if multiclass { "prediction" } else { "score" }.to_owned();
        while features.contains(&name) {
            name.insert(0, '_');
        }
        name
    } else {
        columns.score.clone()
    };
    let target = columns.target.as_str();
    let frames = [
        sides[0].drift_frame(features, &score, target)?,
        sides[1].drift_frame(features, &score, target)?,
    ];
    let mut names: Vec<String> = features.to_vec();
    names.push(score.clone());
    if sides[1].outputs.target.is_some() {
        names.push(target.to_owned());
    }
    let info = |f: &DataFrame, name: &str| SideInfo {
        name: name.to_owned(),
        version: None,
        rows: f.height() as u64,
    };
    let whole = drift::compare_frames(
        (info(&frames[0], "reference"), &frames[0]),
        (info(&frames[1], "analysis"), &frames[1]),
        &DriftOptions {
            columns: Some(names),
            ..DriftOptions::default()
        },
        &Job::silent(),
    )?;
    if !whole.skipped.is_empty() {
        let list: Vec<String> = whole
            .skipped
            .iter()
            .map(|s| format!("{} ({})", s.name, s.reason))
            .collect();
        warnings.push(format!("per-chunk drift leaves out {}", list.join(", ")));
    }
    let mut scores = Vec::new();
    for (side, (period, frame)) in [Side::Reference, Side::Analysis]
        .into_iter()
        .zip(sides.iter().zip(&frames))
    {
        let rows: Vec<Vec<u32>> = report
            .chunks
            .iter()
            .filter(|c| c.period == side)
            .map(|c| period.rows(c.start_index, c.end_index))
            .collect();
        let groups: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
        scores.push(drift::window::scores_in_groups(
            &frames[0],
            frame,
            &whole.columns,
            &groups,
            &Job::silent(),
        )?);
    }
    // A distance drifts above the reference chunks' mean + 3 standard deviations (NannyML's
    // default threshold for its univariate drift); a test's p-value keeps its threshold.
    let thresholds: Vec<f64> = whole
        .columns
        .iter()
        .zip(&scores[0])
        .map(|(c, reference)| {
            let values: Vec<f64> = reference.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            match standard_deviation_thresholds(&values) {
                Some((_, upper)) if !c.method.is_test() => upper,
                _ => c.threshold,
            }
        })
        .collect();
    report.column_drift = whole
        .columns
        .iter()
        .zip(&thresholds)
        .map(|(c, &threshold)| ColumnDriftShown {
            column: c.name.clone(),
            role: if c.name == score {
                Role::Prediction
            } else if c.name == target {
                Role::Target
            } else {
                Role::Feature
            },
            method: c.method,
            threshold,
        })
        .collect();
    for (side, per_column) in [Side::Reference, Side::Analysis].into_iter().zip(&scores) {
        let chunks = report.chunks.iter_mut().filter(|c| c.period == side);
        for (k, chunk) in chunks.enumerate() {
            for ((column, per_chunk), &threshold) in
                whole.columns.iter().zip(per_column).zip(&thresholds)
            {
                let score = per_chunk[k];
                chunk.column_drift.insert(
                    column.name.clone(),
                    ColumnChunk {
                        score,
                        drift: score.is_some_and(|s| column.method.drifted(s, threshold)),
                    },
                );
            }
        }
    }
    Ok(())
}

/// What monitoring learns from the reference, kept whole so that any chunking of an analysis
/// period can be judged against it (a bundle carries it): the reference's outputs and times in
/// time order, the fitted reconstruction (without thresholds, which depend on the chunking)
/// and each reference row's reconstruction error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub outputs: Outputs,
    pub times: Option<Vec<i64>>,
    pub reconstruction: Option<Reconstruction>,
    /// Per reference row, in time order; empty without a reconstruction.
    pub errors: Vec<f64>,
    /// A regressor's: what DLE learns its losses from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dle: Option<DleReference>,
}

/// What DLE learns from, for a regressor's reference: its features as the learner reads them
/// (in time order, the prediction last), and how an analysis's features are encoded alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DleReference {
    encoding: Encoding,
    columns: Vec<gbdt::Column>,
}

impl DleReference {
    fn learn(frame: &DataFrame, features: &[String], prepared: &Prepared) -> Result<DleReference> {
        let encoding = Encoding::learn(frame, features)?;
        let columns = encoding.columns(frame, prepared, "the reference data")?;
        Ok(DleReference { encoding, columns })
    }
}

impl Reference {
    /// Learns from the reference table: its outputs (from `model`, or the columns), their
    /// time order, and the reconstruction of `features` (none when empty).
    pub fn learn(
        frame: &DataFrame,
        columns: &Columns,
        features: &[String],
        model: Option<ModelInput>,
    ) -> Result<Reference> {
        let prepared = prepare(frame, columns, "the reference data", true, model)?;
        let dle = prepared
            .regression
            .then(|| DleReference::learn(frame, features, &prepared))
            .transpose()?;
        let (reconstruction, errors) = learn_reconstruction(frame, features, &prepared)?;
        Ok(Reference {
            outputs: prepared.outputs,
            times: prepared.times,
            reconstruction,
            errors,
            dle,
        })
    }

    /// Monitors an analysis table against this reference, chunked by `options`.
    pub fn analyse(
        &self,
        analysis_frame: &DataFrame,
        options: &MonitorOptions,
        model: Option<ModelInput>,
    ) -> Result<MonitorReport> {
        let metrics = task_metrics(options, self.dle.is_some(), self.outputs.is_multiclass())?;
        if let Some(learned) = &self.dle {
            let analysis = prepare_analysis(analysis_frame, options, model)?;
            let fitted = fit_dle(
                (&self.outputs, self.times.as_deref()),
                learned,
                analysis_frame,
                &analysis,
                options.chunking,
                &metrics,
            )?;
            return self.analyse_prepared(analysis_frame, &analysis, options, fitted);
        }
        let (fitted, analysis) = rayon::join(
            || fit_cbpe(&self.outputs, self.times.as_deref(), options, &metrics),
            || prepare_analysis(analysis_frame, options, model),
        );
        self.analyse_prepared(analysis_frame, &analysis?, options, fitted?)
    }

    /// [`Reference::analyse`] of prepared analysis outputs, with CBPE fitted on the reference
    /// chunks.
    fn analyse_prepared(
        &self,
        analysis_frame: &DataFrame,
        analysis: &Prepared,
        options: &MonitorOptions,
        (ref_chunks, estimator): (Vec<Chunk>, Estimator),
    ) -> Result<MonitorReport> {
        if options.columns.timestamp.is_some() != self.times.is_some() {
            return Err(Error::bad_argument(
                "timestamp column",
                "the reference and the analysis data must both be ordered by a timestamp column, or neither".to_owned(),
            ));
        }
        let ana_chunks = chunk::split(
            options.chunking,
            analysis.outputs.len(),
            analysis.times.as_deref(),
            "the analysis data",
        )?;
        let ranges: Vec<_> = ref_chunks.iter().map(|c| c.rows.clone()).collect();
        // Every row's reconstruction error, in time order, per side.
        let mut reconstruction = self.reconstruction.clone();
        let mut analysis_errors = Vec::new();
        if let Some(rec) = &mut reconstruction {
            let values: Vec<f64> = ranges
                .iter()
                .map(|r| reconstruct::mean_error(&self.errors[r.clone()]))
                .collect();
            rec.set_thresholds(&values);
            analysis_errors =
                analysis.ordered(rec.row_errors(analysis_frame, "the analysis data")?);
        }
        let mut chunks = Vec::new();
        let mut alerts = Vec::new();
        for (side, outputs, cut, errors) in [
            (Side::Reference, &self.outputs, &ref_chunks, &self.errors),
            (
                Side::Analysis,
                &analysis.outputs,
                &ana_chunks,
                &analysis_errors,
            ),
        ] {
            if let Estimator::Multiclass(m) = &estimator
                && outputs.classes != m.classes
            {
                return Err(Error::bad_argument(
                    "analysis",
                    format!(
                        "the analysis's classes ({}) are not the reference's ({})",
                        outputs.classes.join(", "),
                        m.classes.join(", ")
                    ),
                ));
            }
            let calibrated = match &estimator {
                Estimator::Cbpe(cbpe) => vec![cbpe.calibrated(&outputs.score)],
                Estimator::Multiclass(m) => m.calibrated(outputs),
                Estimator::Dle { .. } => Vec::new(),
            };
            let named = |v: Vec<(Metric, MetricChunk)>| -> Vec<(String, MetricChunk)> {
                v.into_iter()
                    .map(|(m, c)| (m.name().to_owned(), c))
                    .collect()
            };
            let estimate = |rows: std::ops::Range<usize>| match &estimator {
                Estimator::Cbpe(cbpe) => named(cbpe.chunk(outputs, &calibrated[0], rows)),
                Estimator::Multiclass(m) => m.chunk(outputs, &calibrated, rows),
                Estimator::Dle {
                    dle,
                    reference,
                    analysis,
                } => named(dle.chunk(
                    outputs,
                    if side == Side::Reference {
                        reference
                    } else {
                        analysis
                    },
                    rows,
                )),
            };
            let shown: Vec<(ChunkShown, Vec<Alert>)> = cut
                .par_iter()
                .enumerate()
                .map(|(index, c)| {
                    let mut alerts = Vec::new();
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
                    for (metric, m) in estimate(c.rows.clone()) {
                        if side == Side::Analysis && m.alert {
                            alerts.push(Alert {
                                chunk: c.key.clone(),
                                metric: metric.clone(),
                                estimated: m.estimated,
                                lower_threshold: finite(m.lower_threshold),
                                upper_threshold: finite(m.upper_threshold),
                            });
                        }
                        metrics.insert(metric, MetricShown::from(m));
                    }
                    let (start_index, end_index) = c.indices();
                    let chunk = ChunkShown {
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
                        column_drift: BTreeMap::new(),
                    };
                    (chunk, alerts)
                })
                .collect();
            for (chunk, mut a) in shown {
                chunks.push(chunk);
                alerts.append(&mut a);
            }
        }
        let mut warnings = Vec::new();
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
        let (task, calibration) = match &estimator {
            Estimator::Cbpe(cbpe) => ("binary_classification", Some(cbpe.decision)),
            Estimator::Multiclass(_) => ("multiclass_classification", None),
            Estimator::Dle { .. } => ("regression", None),
        };
        let (classes, calibrated_classes) = match &estimator {
            Estimator::Multiclass(m) => (
                m.classes.clone(),
                m.classes
                    .iter()
                    .zip(&m.calibrators)
                    .filter(|(_, c)| c.is_some())
                    .map(|(name, _)| name.clone())
                    .collect(),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        Ok(MonitorReport {
            task,
            chunking: ChunkingShown {
                chunking: options.chunking,
                timestamp_column: options.columns.timestamp.clone(),
                reference_chunks: ref_chunks.len(),
                analysis_chunks: ana_chunks.len(),
            },
            calibrated: match &estimator {
                Estimator::Cbpe(c) => c.calibrator.is_some(),
                Estimator::Multiclass(m) => m.calibrated_any(),
                Estimator::Dle { .. } => false,
            },
            calibration,
            classes,
            calibrated_classes,
            metrics: match &estimator {
                Estimator::Cbpe(cbpe) => cbpe
                    .metrics
                    .iter()
                    .map(|f| f.metric.name().to_owned())
                    .collect(),
                Estimator::Multiclass(m) => m.names(),
                Estimator::Dle { dle, .. } => dle
                    .metrics
                    .iter()
                    .map(|f| f.metric.name().to_owned())
                    .collect(),
            },
            components: reconstruction.as_ref().map(|r| r.components.len()),
            multivariate_features: reconstruction
                .as_ref()
                .map(|r| r.features.iter().map(|f| f.name().to_owned()).collect())
                .unwrap_or_default(),
            column_drift: Vec::new(),
            chunks,
            alerts,
            warnings,
        })
    }
}

/// The reconstruction of `features` fitted on the reference, with each reference row's error
/// in time order; none without features.
fn learn_reconstruction(
    frame: &DataFrame,
    features: &[String],
    prepared: &Prepared,
) -> Result<(Option<Reconstruction>, Vec<f64>)> {
    if features.is_empty() {
        return Ok((None, Vec::new()));
    }
    let (rec, errors) = Reconstruction::fit(frame, features)?;
    Ok((Some(rec), prepared.ordered(errors)))
}

/// What estimates the chunks' performance: CBPE for a binary classifier, DLE for a
/// regressor with each side's predicted losses (per metric, per row in time order).
enum Estimator {
    Cbpe(Cbpe),
    Multiclass(MulticlassCbpe),
    Dle {
        dle: dle::Dle,
        reference: Vec<Vec<f64>>,
        analysis: Vec<Vec<f64>>,
    },
}

/// The reference chunks and CBPE (binary or multiclass) fitted on them.
fn fit_cbpe(
    outputs: &Outputs,
    times: Option<&[i64]>,
    options: &MonitorOptions,
    metrics: &[Metric],
) -> Result<(Vec<Chunk>, Estimator)> {
    let chunks = chunk::split(options.chunking, outputs.len(), times, "the reference data")?;
    let ranges: Vec<_> = chunks.iter().map(|c| c.rows.clone()).collect();
    let business_value = options.business_value.clone();
    let normalization = options.normalization;
    let estimator = if outputs.is_multiclass() {
        Estimator::Multiclass(MulticlassCbpe::fit(
            outputs,
            &ranges,
            metrics,
            business_value,
            normalization,
        )?)
    } else {
        Estimator::Cbpe(Cbpe::fit(
            outputs,
            &ranges,
            metrics,
            business_value,
            normalization,
        )?)
    };
    Ok((chunks, estimator))
}

/// The metrics asked for, or the task's by default (with the business value when its
/// values are given); a metric of the other task is refused.
fn task_metrics(
    options: &MonitorOptions,
    regression: bool,
    multiclass: bool,
) -> Result<Vec<Metric>> {
    let asked = &options.metrics;
    let (own, what, other): (&[Metric], _, _) = if regression {
        (&Metric::REGRESSION, "a regressor", "a classifier's")
    } else if multiclass {
        (
            &multiclass::METRICS,
            "a multiclass classifier",
            "not a multiclass classifier's",
        )
    } else {
        (&Metric::CLASSIFIER, "a binary classifier", "a regressor's")
    };
    if regression && options.business_value.is_some() {
        return Err(Error::bad_argument(
            "business value",
            "--business-value weighs a classifier's confusion matrix; these outputs are a regressor's"
                .to_owned(),
        ));
    }
    if asked.is_empty() {
        if regression {
            return Ok(Metric::REGRESSION.to_vec());
        }
        let mut metrics = Metric::BINARY.to_vec();
        if options.business_value.is_some() {
            metrics.push(Metric::BusinessValue);
        }
        return Ok(metrics);
    }
    // A multiclass classifier's fit names what it does not estimate.
    if let Some(m) = asked.iter().find(|m| !own.contains(m))
        && !multiclass
    {
        let names: Vec<&str> = own.iter().map(|m| m.name()).collect();
        return Err(Error::bad_argument(
            "metrics",
            format!(
                "'{}' is {other} metric and these outputs are {what}'s: use {}",
                m.name(),
                names.join(", ")
            ),
        ));
    }
    Ok(asked.to_vec())
}

/// The reference chunks and DLE fitted on the reference's features (`learned`) and outputs
/// (with their times), with the predicted losses of both sides' rows.
fn fit_dle(
    (outputs, times): (&Outputs, Option<&[i64]>),
    learned: &DleReference,
    analysis_frame: &DataFrame,
    analysis: &Prepared,
    chunking: Chunking,
    metrics: &[Metric],
) -> Result<(Vec<Chunk>, Estimator)> {
    dle::check(metrics, outputs, "the reference data")?;
    dle::check(metrics, &analysis.outputs, "the analysis data")?;
    let chunks = chunk::split(chunking, outputs.len(), times, "the reference data")?;
    let ranges: Vec<_> = chunks.iter().map(|c| c.rows.clone()).collect();
    let analysis_columns =
        learned
            .encoding
            .columns(analysis_frame, analysis, "the analysis data")?;
    let dle = dle::Dle::fit(&learned.columns, outputs, &ranges, metrics)?;
    let (reference, analysis) = rayon::join(
        || dle.predict(&learned.columns),
        || dle.predict(&analysis_columns),
    );
    Ok((
        chunks,
        Estimator::Dle {
            dle,
            reference,
            analysis,
        },
    ))
}

/// How DLE's learner reads the features: numbers as they are, every other column as
/// categories (the reference's values, sorted; a missing value is the reference's most
/// frequent one, as NannyML imputes it; a value the reference never had is missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Encoding {
    /// Per feature: `None` for numbers, else its categories.
    features: Vec<(String, Option<Vec<String>>)>,
}

/// A column's values as text (missing as `None`).
fn texts(c: &Column) -> Result<Vec<Option<String>>> {
    let cast = c.cast(&DataType::String).map_err(|e| Error::Compute {
        context: "cannot read a column",
        detail: format!("'{}': {e}", c.name()),
    })?;
    let ca = cast.str().map_err(|e| Error::Compute {
        context: "cannot read a column",
        detail: format!("'{}': {e}", c.name()),
    })?;
    Ok(ca.iter().map(|v| v.map(str::to_owned)).collect())
}

impl Encoding {
    fn learn(frame: &DataFrame, features: &[String]) -> Result<Encoding> {
        let features = features
            .iter()
            .map(|name| {
                let c = column(frame, name, "features", "the reference data")?;
                if c.dtype().is_primitive_numeric() {
                    return Ok((name.clone(), None));
                }
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                for v in texts(c)?.into_iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
                // The most frequent first (ties to the smallest), as the imputer's choice.
                let mut categories: Vec<(String, usize)> = counts.into_iter().collect();
                categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let mut names: Vec<String> = categories.into_iter().map(|c| c.0).collect();
                let most = names.first().cloned();
                names.sort();
                if let Some(most) = most {
                    // The imputed value leads the list; the rest stay sorted.
                    names.retain(|n| *n != most);
                    names.insert(0, most);
                }
                Ok((name.clone(), Some(names)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Encoding { features })
    }

    /// The learner's columns for a side, in time order: the features, then the prediction.
    fn columns(&self, frame: &DataFrame, side: &Prepared, what: &str) -> Result<Vec<gbdt::Column>> {
        let mut out = Vec::with_capacity(self.features.len() + 1);
        for (name, categories) in &self.features {
            let c = column(frame, name, "features", what)?;
            out.push(match categories {
                None => gbdt::Column::Numbers(side.ordered(float_values(c)?)),
                Some(categories) => {
                    let index: std::collections::HashMap<&str, u32> = categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.as_str(), i as u32))
                        .collect();
                    let codes: Vec<Option<u32>> = texts(c)?
                        .into_iter()
                        .map(|v| match v {
                            // Missing: the most frequent category, listed first.
                            None => (!categories.is_empty()).then_some(0),
                            Some(v) => index.get(v.as_str()).copied(),
                        })
                        .collect();
                    let codes = match &side.order {
                        Some(order) => order.iter().map(|&i| codes[i]).collect(),
                        None => codes,
                    };
                    gbdt::Column::Categories {
                        codes,
                        count: categories.len() as u32,
                    }
                }
            });
        }
        out.push(gbdt::Column::Numbers(side.outputs.prediction.clone()));
        Ok(out)
    }
}

/// The analysis side's outputs, in time order.
fn prepare_analysis(
    frame: &DataFrame,
    options: &MonitorOptions,
    model: Option<ModelInput>,
) -> Result<Prepared> {
    prepare(frame, &options.columns, "the analysis data", false, model)
}

/// Reads a side's columns and orders its rows by time.
fn prepare(
    frame: &DataFrame,
    columns: &Columns,
    side: &str,
    is_reference: bool,
    model: Option<ModelInput>,
) -> Result<Prepared> {
    let has_target = frame.column(&columns.target).is_ok();
    if is_reference && !has_target {
        return Err(Error::bad_argument(
            "target",
            format!(
                "no column '{}' in {side}: the reference needs its targets (--target names the column)",
                columns.target
            ),
        ));
    }
    let target_numbers = || -> Result<Option<Vec<f64>>> {
        has_target
            .then(|| numbers(frame, &columns.target, "target", side))
            .transpose()
    };
    let mut class_names = Vec::new();
    let mut probabilities = Vec::new();
    let (score, prediction, target, regression) = match model {
        Some(m) => {
            let p = predict(m, frame, side)?;
            let target = match (&p.classes, has_target) {
                (Some(c), true) if !p.probabilities.is_empty() => {
                    Some(class_positions(frame, &columns.target, "target", c, side)?)
                }
                (Some(c), true) => Some(model_targets(frame, &columns.target, c, side)?),
                (None, _) => target_numbers()?,
                (Some(_), false) => None,
            };
            let regression = p.classes.is_none();
            if !p.probabilities.is_empty() {
                class_names = p.classes.unwrap_or_default();
                probabilities = p.probabilities;
            }
            (p.score, p.prediction, target, regression)
        }
        None if !columns.class_scores.is_empty() => {
            let mut pairs = columns.class_scores.clone();
            pairs.sort();
            class_names = pairs.iter().map(|(c, _)| c.clone()).collect();
            for (class, name) in &pairs {
                let p = numbers(frame, name, "score column", side)?;
                if let Some((row, v)) = not_a_probability(&p) {
                    return Err(Error::bad_argument(
                        "score column",
                        format!(
                            "'{name}' (class {class}) row {} of {side} is {v}, not a probability: CBPE needs the model's probability of each class (0 to 1)",
                            row + 1
                        ),
                    ));
                }
                probabilities.push(p);
            }
            let prediction = class_positions(
                frame,
                &columns.prediction,
                "prediction column",
                &class_names,
                side,
            )?;
            let target = if has_target {
                Some(class_positions(
                    frame,
                    &columns.target,
                    "target",
                    &class_names,
                    side,
                )?)
            } else {
                None
            };
            let score = predicted_probability(&prediction, &probabilities);
            (score, prediction, target, false)
        }
        // A regressor's prediction without a score: DLE.
        None if columns.score.is_empty() => {
            let prediction = numbers(frame, &columns.prediction, "prediction column", side)?;
            (prediction.clone(), prediction, target_numbers()?, true)
        }
        None => {
            let score = numbers(frame, &columns.score, "score column", side)?;
            if let Some((row, v)) = not_a_probability(&score) {
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
            let target = if has_target {
                Some(classes(frame, &columns.target, "target", side)?)
            } else {
                None
            };
            (score, prediction, target, false)
        }
    };
    let mut outputs = Outputs {
        score,
        prediction,
        target,
        classes: class_names,
        probabilities,
    };
    let mut kept_order = None;
    let times = match &columns.timestamp {
        None => None,
        Some(name) => {
            let t = times(frame, name, "timestamp column", side)?;
            let order = chunk::time_order(&t, name, side)?;
            let mut t: Vec<i64> = t.into_iter().map(|v| v.unwrap_or_default()).collect();
            if let Some(order) = order {
                outputs.pick(&order);
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
        regression,
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
    let mut outputs = vec![
        Some(columns.score.as_str()),
        Some(columns.prediction.as_str()),
        Some(columns.target.as_str()),
        columns.timestamp.as_deref(),
    ];
    outputs.extend(columns.class_scores.iter().map(|(_, c)| Some(c.as_str())));
    let (mut skipped, mut identifiers, mut features) = (Vec::new(), Vec::new(), Vec::new());
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
        } else if is_identifier(c) {
            identifiers.push(name.to_owned());
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
    if !identifiers.is_empty() {
        warnings.push(format!(
            "multivariate drift leaves out {}: every value differs, as in an identifier (name the features with --features to keep one)",
            identifiers.join(", ")
        ));
    }
    features
}

/// An integer or text column of more than one row whose values all differ: a row's key (an
/// id), whose values outside the reference's range would look like drift. Numbers with a
/// fraction are measurements, however distinct.
fn is_identifier(c: &Column) -> bool {
    let dtype = c.dtype();
    (dtype.is_integer() || dtype.is_string())
        && c.len() > 1
        && c.null_count() == 0
        && c.n_unique().is_ok_and(|n| n == c.len())
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
    float_values(c)
}

/// A numeric or boolean column as f64, missing values as NaN (copied straight when it has
/// none).
fn float_values(c: &Column) -> Result<Vec<f64>> {
    let polars = |e: PolarsError| Error::Compute {
        context: "cannot read a column",
        detail: format!("'{}': {e}", c.name()),
    };
    let cast = c.cast(&DataType::Float64).map_err(polars)?;
    let ca = cast.f64().map_err(polars)?;
    Ok(if ca.null_count() == 0 {
        ca.into_no_null_iter().collect()
    } else {
        ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
    })
}

/// The target as 1 (the model's positive class), 0 (its other class) or NaN (missing).
fn model_targets(
    frame: &DataFrame,
    name: &str,
    classes: &[String],
    side: &str,
) -> Result<Vec<f64>> {
    let texts =
        eval::target_texts_or_missing(frame.column(name).map_err(|_| {
            Error::bad_argument("target", format!("no column '{name}' in {side}"))
        })?)?;
    texts
        .iter()
        .enumerate()
        .map(|(row, t)| match t {
            None => Ok(f64::NAN),
            Some(t) if *t == classes[1] => Ok(1.0),
            Some(t) if *t == classes[0] => Ok(0.0),
            Some(t) => Err(Error::bad_argument(
                "target",
                format!(
                    "'{name}' row {} of {side} is {t:?}, not one of the model's classes ({}, {})",
                    row + 1,
                    classes[0],
                    classes[1]
                ),
            )),
        })
        .collect()
}

/// A column of class names (text or integers) as positions in `classes`, missing values as
/// NaN; a class the model does not have is refused.
fn class_positions(
    frame: &DataFrame,
    name: &str,
    argument: &'static str,
    classes: &[String],
    side: &str,
) -> Result<Vec<f64>> {
    let texts = eval::target_texts_or_missing(column(frame, name, argument, side)?)?;
    texts
        .iter()
        .enumerate()
        .map(|(row, t)| match t {
            None => Ok(f64::NAN),
            Some(t) => classes
                .iter()
                .position(|c| c == t)
                .map(|p| p as f64)
                .ok_or_else(|| {
                    Error::bad_argument(
                        argument,
                        format!(
                            "'{name}' row {} of {side} is {t:?}, not one of the model's classes ({})",
                            row + 1,
                            classes.join(", ")
                        ),
                    )
                }),
        })
        .collect()
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
