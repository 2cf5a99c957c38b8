//! Evaluation of a model on data with a target column, with scikit-learn's definitions.
//!
//! Classification: accuracy, precision, recall, F1 (binary: of the second class in the model's
//! order, as `pos_label`; more classes: macro averages), ROC AUC (one-vs-rest macro for more
//! classes), log loss, the confusion matrix, and for binary models the ROC, precision–recall and
//! calibration curves. Regression: MAE, RMSE, R², and the points of the residual and
//! predicted-vs-actual plots. Sums are numpy's pairwise sums and curves follow
//! `sklearn.metrics._ranking` step by step, so the numbers equal scikit-learn 1.7's to 1e-12.
//!
//! Probabilities are clipped to [0, 1] before the log loss: a float32 model's probabilities can
//! sum a rounding above one (1.0000001), which scikit-learn 1.7 refuses outright.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::tensor::{Data, Tensor};
use super::{Model, Prediction, feature_matrix};
use crate::numeric::pairwise_sum;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ModelTask"))]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
}

impl Task {
    pub fn parse(text: &str) -> Result<Task> {
        match text {
            "classification" => Ok(Task::Classification),
            "regression" => Ok(Task::Regression),
            other => Err(Error::BadArgument {
                argument: "task",
                detail: format!("{other:?}; use classification or regression"),
            }),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    /// The first threshold is +∞ (`null` in JSON), as scikit-learn's.
    pub thresholds: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrCurve {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub thresholds: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CalibrationCurve {
    /// Share of positives per non-empty bin of predicted probability (10 uniform bins).
    pub prob_true: Vec<f64>,
    /// Mean predicted probability per non-empty bin.
    pub prob_pred: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Curves {
    pub roc: RocCurve,
    pub pr: PrCurve,
    pub calibration: CalibrationCurve,
}

/// Actual and predicted values of a regression, for its plots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RegressionPoints {
    pub actual: Vec<f64>,
    pub predicted: Vec<f64>,
}

/// What `lathe model eval --json` prints and the Evaluate page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Evaluation {
    /// `NAME@VERSION`, or the file evaluated.
    pub model: String,
    /// `NAME@VERSION`, or the data file.
    pub data: String,
    pub target: String,
    pub task: Task,
    pub rows: u64,
    /// accuracy, precision, recall, f1, roc_auc, log_loss | mae, rmse, r2.
    pub metrics: BTreeMap<String, f64>,
    /// Class labels in the model's order (the confusion matrix's rows and columns).
    pub labels: Vec<String>,
    /// Rows: actual class; columns: predicted class.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// The class whose probability the binary curves and metrics use.
    pub positive_label: Option<String>,
    pub curves: Option<Curves>,
    pub regression: Option<RegressionPoints>,
    /// The output names read: label and probabilities, or the regression value.
    pub outputs_used: Vec<String>,
    /// True when the curves or plot points were thinned for storage and display (at most
    /// [`MAX_CURVE_POINTS`] per curve, [`MAX_PLOT_POINTS`] plot points); the metrics always use
    /// every row.
    pub thinned: bool,
}

/// Curve points kept in a stored evaluation; beyond, a curve keeps evenly spaced points
/// (always its first and last).
pub const MAX_CURVE_POINTS: usize = 2_000;
/// Regression plot points kept in a stored evaluation (evenly spaced rows).
pub const MAX_PLOT_POINTS: usize = 5_000;

/// Indices of at most `max` evenly spaced items of `n`, first and last included.
fn keep(n: usize, max: usize) -> Option<Vec<usize>> {
    if n <= max || max < 2 {
        return None;
    }
    let mut idx: Vec<usize> = (0..max)
        .map(|i| (i as f64 * (n - 1) as f64 / (max - 1) as f64).round() as usize)
        .collect();
    idx.dedup();
    Some(idx)
}

fn pick<T: Clone>(values: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| values[i].clone()).collect()
}

/// Thins curves and plot points of a big evaluation (the metrics are computed before).
fn thin(e: &mut Evaluation) {
    if let Some(c) = &mut e.curves {
        if let Some(idx) = keep(c.roc.fpr.len(), MAX_CURVE_POINTS) {
            c.roc.fpr = pick(&c.roc.fpr, &idx);
            c.roc.tpr = pick(&c.roc.tpr, &idx);
            c.roc.thresholds = pick(&c.roc.thresholds, &idx);
            e.thinned = true;
        }
        if let Some(idx) = keep(c.pr.precision.len(), MAX_CURVE_POINTS) {
            c.pr.precision = pick(&c.pr.precision, &idx);
            c.pr.recall = pick(&c.pr.recall, &idx);
            // One threshold fewer than points: the last point has none.
            let t: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| i < c.pr.thresholds.len())
                .collect();
            c.pr.thresholds = pick(&c.pr.thresholds, &t);
            e.thinned = true;
        }
    }
    if let Some(r) = &mut e.regression
        && let Some(idx) = keep(r.actual.len(), MAX_PLOT_POINTS)
    {
        r.actual = pick(&r.actual, &idx);
        r.predicted = pick(&r.predicted, &idx);
        e.thinned = true;
    }
}

fn mean(x: &[f64]) -> f64 {
    pairwise_sum(x) / x.len() as f64
}

/// scikit-learn's `_binary_clf_curve`: distinct thresholds (descending) with cumulative false
/// and true positives.
fn binary_clf_curve(positive: &[bool], score: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    // np.argsort(score, kind="mergesort")[::-1]: a stable ascending sort, reversed.
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    order.reverse();
    let s: Vec<f64> = order.iter().map(|&i| score[i]).collect();
    let y: Vec<f64> = order
        .iter()
        .map(|&i| f64::from(u8::from(positive[i])))
        .collect();
    let mut idx: Vec<usize> = (0..s.len().saturating_sub(1))
        .filter(|&i| s[i + 1] != s[i])
        .collect();
    idx.push(s.len() - 1);
    let mut cum = Vec::with_capacity(y.len());
    let mut acc = 0.0;
    for v in &y {
        acc += v;
        cum.push(acc);
    }
    let tps: Vec<f64> = idx.iter().map(|&i| cum[i]).collect();
    let fps: Vec<f64> = idx
        .iter()
        .zip(&tps)
        .map(|(&i, t)| 1.0 + i as f64 - t)
        .collect();
    let thresholds = idx.iter().map(|&i| s[i]).collect();
    (fps, tps, thresholds)
}

/// `sklearn.metrics.roc_curve(..., drop_intermediate=True)`.
pub fn roc_curve(positive: &[bool], score: &[f64]) -> RocCurve {
    let (mut fps, mut tps, thr) = binary_clf_curve(positive, score);
    let mut thr: Vec<Option<f64>> = thr.into_iter().map(Some).collect();
    if fps.len() > 2 {
        let mut keep = vec![0usize];
        for i in 1..fps.len() - 1 {
            let d2f = fps[i + 1] - 2.0 * fps[i] + fps[i - 1];
            let d2t = tps[i + 1] - 2.0 * tps[i] + tps[i - 1];
            if d2f != 0.0 || d2t != 0.0 {
                keep.push(i);
            }
        }
        keep.push(fps.len() - 1);
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thr = keep.iter().map(|&i| thr[i]).collect();
    }
    fps.insert(0, 0.0);
    tps.insert(0, 0.0);
    thr.insert(0, None);
    let (fl, tl) = (*fps.last().unwrap_or(&0.0), *tps.last().unwrap_or(&0.0));
    RocCurve {
        fpr: fps
            .iter()
            .map(|f| if fl > 0.0 { f / fl } else { f64::NAN })
            .collect(),
        tpr: tps
            .iter()
            .map(|t| if tl > 0.0 { t / tl } else { f64::NAN })
            .collect(),
        thresholds: thr,
    }
}

/// `sklearn.metrics.auc`: the trapezoidal rule (numpy's `trapezoid`, pairwise-summed).
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    let terms: Vec<f64> = (1..x.len())
        .map(|i| (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0)
        .collect();
    let area = pairwise_sum(&terms);
    // x decreasing everywhere gives a negative area; scikit-learn flips it.
    if x.windows(2).all(|w| w[1] <= w[0]) && x.windows(2).any(|w| w[1] < w[0]) {
        -area
    } else {
        area
    }
}

/// `roc_auc_score` of a binary problem.
pub fn roc_auc(positive: &[bool], score: &[f64]) -> f64 {
    let roc = roc_curve(positive, score);
    auc(&roc.fpr, &roc.tpr)
}

/// `sklearn.metrics.precision_recall_curve` (no intermediate points dropped).
pub fn pr_curve(positive: &[bool], score: &[f64]) -> PrCurve {
    let (fps, tps, thr) = binary_clf_curve(positive, score);
    let last = *tps.last().unwrap_or(&0.0);
    let mut precision: Vec<f64> = fps
        .iter()
        .zip(&tps)
        .map(|(f, t)| if f + t != 0.0 { t / (f + t) } else { 0.0 })
        .collect();
    let mut recall: Vec<f64> = tps
        .iter()
        .map(|t| if last > 0.0 { t / last } else { 1.0 })
        .collect();
    let mut thresholds = thr;
    precision.reverse();
    recall.reverse();
    thresholds.reverse();
    precision.push(1.0);
    recall.push(0.0);
    PrCurve {
        precision,
        recall,
        thresholds,
    }
}

/// `sklearn.calibration.calibration_curve(..., n_bins=10, strategy="uniform")`.
pub fn calibration_curve(positive: &[bool], prob: &[f64]) -> CalibrationCurve {
    const BINS: usize = 10;
    // np.linspace(0, 1, 11)[1:-1]: i × 0.1.
    let inner: Vec<f64> = (1..BINS).map(|i| i as f64 * (1.0 / BINS as f64)).collect();
    let mut sums = [0.0f64; BINS];
    let mut trues = [0.0f64; BINS];
    let mut totals = [0u64; BINS];
    for (&p, &y) in prob.iter().zip(positive) {
        // np.searchsorted(inner, p), side="left": edges strictly below p.
        let b = inner.partition_point(|&e| e < p);
        sums[b] += p;
        trues[b] += f64::from(u8::from(y));
        totals[b] += 1;
    }
    let mut out = CalibrationCurve {
        prob_true: Vec::new(),
        prob_pred: Vec::new(),
        counts: Vec::new(),
    };
    for b in 0..BINS {
        if totals[b] > 0 {
            out.prob_true.push(trues[b] / totals[b] as f64);
            out.prob_pred.push(sums[b] / totals[b] as f64);
            out.counts.push(totals[b]);
        }
    }
    out
}

/// Per-class precision and recall (0 where undefined, scikit-learn's `zero_division="warn"`).
fn precision_recall_f1(actual: &[usize], predicted: &[usize], class: usize) -> (f64, f64, f64) {
    let mut tp = 0.0;
    let mut fp = 0.0;
    let mut fneg = 0.0;
    for (&a, &p) in actual.iter().zip(predicted) {
        match (a == class, p == class) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fneg += 1.0,
            _ => {}
        }
    }
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        0.0
    };
    // scikit-learn 1.7 computes F1 from counts: 2tp / (2tp + fp + fn).
    let denom = 2.0 * tp + fp + fneg;
    let f1 = if denom > 0.0 { 2.0 * tp / denom } else { 0.0 };
    (precision, recall, f1)
}

/// Classification metrics from class indices (into `labels`) and probabilities
/// ([rows, classes] in the same order). Returns metrics, confusion matrix and binary curves.
pub fn classification_metrics(
    labels: &[String],
    actual: &[usize],
    predicted: &[usize],
    proba: &[f64],
) -> (BTreeMap<String, f64>, Vec<Vec<u64>>, Option<Curves>) {
    let c = labels.len();
    let n = actual.len();
    let mut metrics = BTreeMap::new();
    let correct: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| f64::from(u8::from(a == p)))
        .collect();
    metrics.insert("accuracy".to_owned(), mean(&correct));
    let mut cm = vec![vec![0u64; c]; c];
    for (&a, &p) in actual.iter().zip(predicted) {
        cm[a][p] += 1;
    }
    let eps = f64::EPSILON;
    let losses: Vec<f64> = (0..n)
        .map(|i| {
            -proba[i * c + actual[i]]
                .clamp(0.0, 1.0)
                .clamp(eps, 1.0 - eps)
                .ln()
        })
        .collect();
    metrics.insert("log_loss".to_owned(), mean(&losses));
    let column =
        |k: usize| -> Vec<f64> { (0..n).map(|i| proba[i * c + k].clamp(0.0, 1.0)).collect() };
    let mut curves = None;
    if c == 2 {
        let (p, r, f) = precision_recall_f1(actual, predicted, 1);
        metrics.insert("precision".to_owned(), p);
        metrics.insert("recall".to_owned(), r);
        metrics.insert("f1".to_owned(), f);
        let positive: Vec<bool> = actual.iter().map(|&a| a == 1).collect();
        let score = column(1);
        let roc = roc_curve(&positive, &score);
        metrics.insert("roc_auc".to_owned(), auc(&roc.fpr, &roc.tpr));
        curves = Some(Curves {
            pr: pr_curve(&positive, &score),
            calibration: calibration_curve(&positive, &score),
            roc,
        });
    } else {
        // Macro averages over the labels present in the actual or predicted classes.
        let present: Vec<usize> = (0..c)
            .filter(|&k| actual.contains(&k) || predicted.contains(&k))
            .collect();
        let per: Vec<(f64, f64, f64)> = present
            .iter()
            .map(|&k| precision_recall_f1(actual, predicted, k))
            .collect();
        let avg =
            |f: fn(&(f64, f64, f64)) -> f64| per.iter().map(f).sum::<f64>() / per.len() as f64;
        metrics.insert("precision".to_owned(), avg(|x| x.0));
        metrics.insert("recall".to_owned(), avg(|x| x.1));
        metrics.insert("f1".to_owned(), avg(|x| x.2));
        let aucs: Vec<f64> = (0..c)
            .map(|k| {
                let positive: Vec<bool> = actual.iter().map(|&a| a == k).collect();
                roc_auc(&positive, &column(k))
            })
            .collect();
        metrics.insert("roc_auc".to_owned(), aucs.iter().sum::<f64>() / c as f64);
    }
    (metrics, cm, curves)
}

/// MAE, RMSE and R² as scikit-learn computes them.
pub fn regression_metrics(actual: &[f64], predicted: &[f64]) -> BTreeMap<String, f64> {
    let abs: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .collect();
    let sq: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p) * (a - p))
        .collect();
    let m = mean(actual);
    let dev: Vec<f64> = actual.iter().map(|a| (a - m) * (a - m)).collect();
    let (num, den) = (pairwise_sum(&sq), pairwise_sum(&dev));
    let r2 = if den != 0.0 {
        1.0 - num / den
    } else if num == 0.0 {
        1.0
    } else {
        0.0
    };
    BTreeMap::from([
        ("mae".to_owned(), mean(&abs)),
        ("rmse".to_owned(), mean(&sq).sqrt()),
        ("r2".to_owned(), r2),
    ])
}

/// A target value as the text class labels are compared with: integers without a fraction.
pub(crate) fn target_texts(column: &Column, target: &str) -> Result<Vec<String>> {
    let missing = |r: usize| Error::BadArgument {
        argument: "target",
        detail: format!("row {} has no value in the target column {target:?}", r + 1),
    };
    let dtype = column.dtype().clone();
    if dtype.is_bool() {
        let cast = column.cast(&DataType::Int64).map_err(polars_err)?;
        return cast
            .i64()
            .map_err(polars_err)?
            .iter()
            .enumerate()
            .map(|(r, v)| v.map(|v| v.to_string()).ok_or_else(|| missing(r)))
            .collect();
    }
    if dtype.is_primitive_numeric() {
        let cast = column.cast(&DataType::Float64).map_err(polars_err)?;
        return cast
            .f64()
            .map_err(polars_err)?
            .iter()
            .enumerate()
            .map(|(r, v)| match v {
                Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok((v as i64).to_string()),
                Some(v) if !v.is_nan() => Ok(v.to_string()),
                _ => Err(missing(r)),
            })
            .collect();
    }
    let cast = column.cast(&DataType::String).map_err(polars_err)?;
    cast.str()
        .map_err(polars_err)?
        .iter()
        .enumerate()
        .map(|(r, v)| v.map(str::to_owned).ok_or_else(|| missing(r)))
        .collect()
}

fn polars_err(e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot evaluate the model",
        detail: e.to_string(),
    }
}

/// Whether an output is a label output: integers or strings, one per row.
fn is_labels(t: &Tensor) -> bool {
    matches!(t.data, Data::I64(_) | Data::Str(_))
        && (t.shape.len() == 1 || (t.shape.len() == 2 && t.shape[1] == 1))
}

/// Which of a model's outputs holds the labels.
pub(crate) fn label_position<'a>(outputs: impl IntoIterator<Item = &'a Tensor>) -> Option<usize> {
    outputs.into_iter().position(is_labels)
}

/// Which of a model's outputs holds the class probabilities: a ZipMap map, else a float
/// [rows, classes] tensor.
pub(crate) fn probability_position<'a>(
    outputs: impl IntoIterator<Item = &'a Tensor> + Clone,
) -> Option<usize> {
    outputs
        .clone()
        .into_iter()
        .position(|t| matches!(t.data, Data::Map { .. }))
        .or_else(|| {
            outputs.into_iter().position(|t| {
                matches!(t.data, Data::F32(_) | Data::F64(_))
                    && t.shape.len() == 2
                    && t.shape[1] >= 2
            })
        })
}

/// Which of a model's outputs holds a regressor's prediction: one float per row.
pub(crate) fn prediction_position<'a>(
    outputs: impl IntoIterator<Item = &'a Tensor>,
) -> Option<usize> {
    outputs
        .into_iter()
        .position(|t| matches!(t.data, Data::F32(_) | Data::F64(_)) && t.row_len() <= 1)
}

/// The class of each probability column: the map's keys, or the graph's labels when they
/// are as many.
pub(crate) fn probability_classes(model: &Model, probabilities: &Tensor) -> Option<Vec<String>> {
    match (&probabilities.data, model.class_labels()) {
        (Data::Map { keys, .. }, _) => Some(keys.texts()),
        (_, Some(l)) if l.len() == probabilities.row_len() => Some(l.texts()),
        _ => None,
    }
}

/// Predicted labels as text, mapped to their index in `classes`.
pub(crate) fn label_indexes(labels: &Tensor, classes: &[String]) -> Result<Vec<usize>> {
    let texts: Vec<String> = match &labels.data {
        Data::I64(v) => v.iter().map(i64::to_string).collect(),
        Data::Str(v) => v.clone(),
        _ => Vec::new(),
    };
    texts
        .iter()
        .map(|t| classes.iter().position(|c| c == t))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Compute {
            context: "cannot evaluate the model",
            detail: "it predicted a label outside its own classes".to_owned(),
        })
}

/// The label output of a prediction.
fn label_output(p: &Prediction) -> Option<(&str, &Tensor)> {
    let i = label_position(p.outputs.iter().map(|(_, t)| t))?;
    Some((p.outputs[i].0.as_str(), &p.outputs[i].1))
}

/// The probability output of a prediction.
fn probability_output(p: &Prediction) -> Option<(&str, &Tensor)> {
    let i = probability_position(p.outputs.iter().map(|(_, t)| t))?;
    Some((p.outputs[i].0.as_str(), &p.outputs[i].1))
}

/// Whether a model looks like a classifier (it outputs a label).
pub fn infer_task(prediction: &Prediction) -> Task {
    if label_output(prediction).is_some() {
        Task::Classification
    } else {
        Task::Regression
    }
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalInput<'a> {
    pub model_name: String,
    pub data_name: String,
    pub frame: &'a DataFrame,
    pub features: &'a [String],
    pub target: &'a str,
    /// `None`: classification when the model outputs labels.
    pub task: Option<Task>,
}

/// Predicts `frame` and scores the predictions against its target column.
pub fn evaluate(model: &Model, input: &EvalInput) -> Result<Evaluation> {
    let target = input.target;
    let column = input.frame.column(target).map_err(|_| Error::BadArgument {
        argument: "target",
        detail: format!(
            "the data have no column {target:?}; the columns are: {}",
            input
                .frame
                .get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    if input.features.iter().any(|f| f == target) {
        return Err(Error::BadArgument {
            argument: "target",
            detail: format!("{target:?} is one of the model's features"),
        });
    }
    if input.frame.height() == 0 {
        return Err(Error::BadArgument {
            argument: "data",
            detail: "the data have no rows".to_owned(),
        });
    }
    let x = feature_matrix(input.frame, input.features)?;
    let prediction = model.predict(&x, input.features.len())?;
    let task = input.task.unwrap_or_else(|| infer_task(&prediction));
    let mut evaluation = Evaluation {
        model: input.model_name.clone(),
        data: input.data_name.clone(),
        target: target.to_owned(),
        task,
        rows: prediction.rows as u64,
        metrics: BTreeMap::new(),
        labels: Vec::new(),
        confusion_matrix: Vec::new(),
        positive_label: None,
        curves: None,
        regression: None,
        outputs_used: Vec::new(),
        thinned: false,
    };
    match task {
        Task::Regression => {
            let (name, out) = prediction_position(prediction.outputs.iter().map(|(_, t)| t))
                .map(|i| (&prediction.outputs[i].0, &prediction.outputs[i].1))
                .ok_or_else(|| Error::BadArgument {
                    argument: "task",
                    detail:
                        "the model has no single-valued numeric output to evaluate as a regression"
                            .to_owned(),
                })?;
            let predicted = out.to_f64(name)?;
            if !column.dtype().is_primitive_numeric() {
                return Err(Error::BadArgument {
                    argument: "target",
                    detail: format!(
                        "regression needs a numeric target; {target:?} holds {} values",
                        column.dtype()
                    ),
                });
            }
            let actual: Vec<f64> = target_texts(column, target)?
                .iter()
                .map(|t| t.parse::<f64>().unwrap_or(f64::NAN))
                .collect();
            evaluation.metrics = regression_metrics(&actual, &predicted);
            evaluation.outputs_used = vec![name.clone()];
            evaluation.regression = Some(RegressionPoints { actual, predicted });
        }
        Task::Classification => {
            let (label_name, label_t) = label_output(&prediction).ok_or_else(|| Error::BadArgument {
                argument: "task",
                detail: "the model outputs no class labels; evaluate it as a regression (--task regression)".to_owned(),
            })?;
            let (prob_name, prob_t) =
                probability_output(&prediction).ok_or_else(|| Error::BadArgument {
                    argument: "task",
                    detail:
                        "the model outputs no class probabilities, which ROC AUC and log loss need"
                            .to_owned(),
                })?;
            let labels = probability_classes(model, prob_t).ok_or_else(|| Error::BadArgument {
                argument: "model",
                detail: format!(
                    "cannot tell which class each of the {} probability columns is for",
                    prob_t.row_len()
                ),
            })?;
            let index = |text: &str| labels.iter().position(|l| l == text);
            let predicted = label_indexes(label_t, &labels)?;
            let actual_text = target_texts(column, target)?;
            let mut unknown: Vec<&str> = actual_text
                .iter()
                .filter(|t| index(t).is_none())
                .map(String::as_str)
                .collect();
            unknown.sort_unstable();
            unknown.dedup();
            if !unknown.is_empty() {
                return Err(Error::BadArgument {
                    argument: "target",
                    detail: format!(
                        "{target:?} holds {} the model does not know ({}); the model's classes are {}{}",
                        if unknown.len() == 1 {
                            "a class"
                        } else {
                            "classes"
                        },
                        unknown
                            .iter()
                            .take(5)
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", "),
                        labels.join(", "),
                        if labels.len() == 2 {
                            " (binary metrics need a target with those two values)"
                        } else {
                            ""
                        }
                    ),
                });
            }
            let actual: Vec<usize> = actual_text.iter().filter_map(|t| index(t)).collect();
            let proba = prob_t.to_f64(prob_name)?;
            let (metrics, cm, curves) =
                classification_metrics(&labels, &actual, &predicted, &proba);
            evaluation.metrics = metrics;
            evaluation.confusion_matrix = cm;
            evaluation.curves = curves;
            evaluation.positive_label = (labels.len() == 2).then(|| labels[1].clone());
            evaluation.labels = labels;
            evaluation.outputs_used = vec![label_name.to_owned(), prob_name.to_owned()];
        }
    }
    thin(&mut evaluation);
    Ok(evaluation)
}
