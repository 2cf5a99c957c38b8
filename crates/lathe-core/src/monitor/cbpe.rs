//! Confidence-based performance estimation (CBPE) of a binary classifier, NannyML's
//! arithmetic: the expected confusion matrix of a chunk from its calibrated scores, the
//! sampling error from the reference's observation-level spread, thresholds from the realised
//! performance of the reference chunks (mean ± 3 std, clipped to the metric's range: [0, 1]
//! for rates, at least 0 for confusion-matrix counts, unbounded for business value).
//!
//! Average precision's sampling error is NannyML's bootstrap: the standard deviation of the
//! AP of 50 resamples (with replacement) of min(n / 2, 50,000) reference rows. NannyML draws
//! them from numpy's global generator unseeded; Lathe draws them from `RandomState(0)` as
//! `np.random.seed(0)` would, so the same reference gives the same band every time (and the
//! fixture, seeding numpy so, gives the same numbers).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::calibrate::{Decision, Isotonic, needs_calibration};
use super::{SAMPLING_ERROR_RANGE, nan_max, nan_min, standard_deviation_thresholds};
use crate::numeric::{RandomState, pairwise_sum, std_pop};
use crate::{Error, Result};

/// A metric monitoring estimates, by NannyML's name: a binary classifier's (CBPE) or a
/// regressor's (DLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorMetric"))]
pub enum Metric {
    RocAuc,
    F1,
    Precision,
    Recall,
    Specificity,
    Accuracy,
    AveragePrecision,
    TruePositive,
    TrueNegative,
    FalsePositive,
    FalseNegative,
    BusinessValue,
    Mae,
    Mape,
    Mse,
    Rmse,
    Msle,
    Rmsle,
}

impl Metric {
    /// A binary classifier's, CBPE's.
    pub const BINARY: [Metric; 6] = [
        Metric::RocAuc,
        Metric::F1,
        Metric::Precision,
        Metric::Recall,
        Metric::Specificity,
        Metric::Accuracy,
    ];
    /// Every metric CBPE estimates for a binary classifier: the default six, average
    /// precision, the four cells of the confusion matrix and the business value.
    pub const CLASSIFIER: [Metric; 12] = [
        Metric::RocAuc,
        Metric::F1,
        Metric::Precision,
        Metric::Recall,
        Metric::Specificity,
        Metric::Accuracy,
        Metric::AveragePrecision,
        Metric::TruePositive,
        Metric::TrueNegative,
        Metric::FalsePositive,
        Metric::FalseNegative,
        Metric::BusinessValue,
    ];
    /// NannyML's `confusion_matrix`, one metric per cell.
    pub const CONFUSION_MATRIX: [Metric; 4] = [
        Metric::TruePositive,
        Metric::TrueNegative,
        Metric::FalsePositive,
        Metric::FalseNegative,
    ];
    /// A regressor's, DLE's.
    pub const REGRESSION: [Metric; 6] = [
        Metric::Mae,
        Metric::Mape,
        Metric::Mse,
        Metric::Rmse,
        Metric::Msle,
        Metric::Rmsle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::RocAuc => "roc_auc",
            Metric::F1 => "f1",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::Specificity => "specificity",
            Metric::Accuracy => "accuracy",
            Metric::AveragePrecision => "average_precision",
            Metric::TruePositive => "true_positive",
            Metric::TrueNegative => "true_negative",
            Metric::FalsePositive => "false_positive",
            Metric::FalseNegative => "false_negative",
            Metric::BusinessValue => "business_value",
            Metric::Mae => "mae",
            Metric::Mape => "mape",
            Metric::Mse => "mse",
            Metric::Rmse => "rmse",
            Metric::Msle => "msle",
            Metric::Rmsle => "rmsle",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::RocAuc => "ROC AUC",
            Metric::F1 => "F1",
            Metric::Precision => "Precision",
            Metric::Recall => "Recall",
            Metric::Specificity => "Specificity",
            Metric::Accuracy => "Accuracy",
            Metric::AveragePrecision => "Average precision",
            Metric::TruePositive => "True positives",
            Metric::TrueNegative => "True negatives",
            Metric::FalsePositive => "False positives",
            Metric::FalseNegative => "False negatives",
            Metric::BusinessValue => "Business value",
            Metric::Mae => "MAE",
            Metric::Mape => "MAPE",
            Metric::Mse => "MSE",
            Metric::Rmse => "RMSE",
            Metric::Msle => "MSLE",
            Metric::Rmsle => "RMSLE",
        }
    }

    /// A metric by its name; `confusion_matrix` names its four cells.
    pub fn parse(text: &str) -> Result<Vec<Metric>> {
        let text = text.trim();
        if text == "confusion_matrix" {
            return Ok(Metric::CONFUSION_MATRIX.to_vec());
        }
        let all = || Metric::CLASSIFIER.into_iter().chain(Metric::REGRESSION);
        all().find(|m| m.name() == text).map(|m| vec![m]).ok_or_else(|| {
            let names = |list: &[Metric]| -> String {
                list.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            };
            Error::bad_argument(
                "metrics",
                format!(
                    "'{text}' is not a metric monitoring estimates; a classifier's are {} (confusion_matrix for its four cells), a regressor's {}",
                    names(&Metric::CLASSIFIER),
                    names(&Metric::REGRESSION)
                ),
            )
        })
    }

    /// The range a classifier metric's thresholds and confidence bands are kept in
    /// (NannyML's value limits).
    pub(super) fn limits(self) -> (Option<f64>, Option<f64>) {
        match self {
            Metric::TruePositive
            | Metric::TrueNegative
            | Metric::FalsePositive
            | Metric::FalseNegative => (Some(0.0), None),
            Metric::BusinessValue => (None, None),
            _ => (Some(0.0), Some(1.0)),
        }
    }
}

/// What each cell of the confusion matrix is worth, for the business-value metric:
/// NannyML's `business_value_matrix`, a row per true class and a column per predicted class
/// (`[[TN, FP], [FN, TP]]` for a binary classifier; a multiclass one's classes in sorted
/// order), and whether the value is normalised per prediction
/// (`normalize_business_value='per_prediction'`: each predicted class's column divided by its
/// total) rather than summed over the chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessValue {
    pub matrix: Vec<Vec<f64>>,
    pub per_prediction: bool,
}

impl BusinessValue {
    /// From the values row by row: TN, FP, FN, TP for a binary classifier (NannyML's order);
    /// k × k values for k classes.
    pub fn from_values(values: &[f64], per_prediction: bool) -> Result<BusinessValue> {
        let k = (values.len() as f64).sqrt().round() as usize;
        if k < 2 || k * k != values.len() || values.iter().any(|v| !v.is_finite()) {
            return Err(Error::bad_argument(
                "business value",
                format!(
                    "give a square of finite numbers, row by true class and column by predicted class: for a binary classifier the value of a true negative, a false positive, a false negative and a true positive (NannyML's [[TN, FP], [FN, TP]]), e.g. --business-value 0,-10,-50,20; for k classes k × k values, the classes in sorted order; got {values:?}"
                ),
            ));
        }
        Ok(BusinessValue {
            matrix: values.chunks(k).map(<[f64]>::to_vec).collect(),
            per_prediction,
        })
    }

    /// The number of classes it weighs.
    pub fn classes(&self) -> usize {
        self.matrix.len()
    }

    /// The value of a confusion matrix (counts or expected counts, a row per true class):
    /// numpy's `(bv * cm).sum()`, after the per-prediction normalisation when asked.
    pub(super) fn of(&self, cm: &[Vec<f64>]) -> f64 {
        let k = cm.len();
        let mut cm = cm.to_vec();
        if self.per_prediction {
            for col in 0..k {
                // cm.sum(axis=0): the rows added in order.
                let total = cm.iter().map(|row| row[col]).fold(0.0, |a, b| a + b);
                for row in &mut cm {
                    let v = row[col] / total;
                    // np.nan_to_num
                    row[col] = if v.is_nan() { 0.0 } else { v };
                }
            }
        }
        let products: Vec<f64> = self
            .matrix
            .iter()
            .zip(&cm)
            .flat_map(|(m, c)| m.iter().zip(c).map(|(a, b)| a * b))
            .collect();
        pairwise_sum(&products)
    }
}

/// How the confusion matrix is reported (NannyML's `normalize_confusion_matrix`): as counts,
/// or each cell divided by all rows, by its true class's rows or by its predicted class's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    #[default]
    Counts,
    All,
    True,
    Pred,
}

impl Normalization {
    /// `all`, `true` or `pred` (NannyML's names); `none` for counts.
    pub fn parse(text: &str) -> Result<Normalization> {
        match text.trim() {
            "none" | "" => Ok(Normalization::Counts),
            "all" => Ok(Normalization::All),
            "true" => Ok(Normalization::True),
            "pred" => Ok(Normalization::Pred),
            other => Err(Error::bad_argument(
                "normalize confusion matrix",
                format!(
                    "'{other}' is not a normalisation: all (by every row), true (by the true class's rows) or pred (by the predicted class's rows); leave it out for counts"
                ),
            )),
        }
    }

    /// The range of a confusion-matrix cell: at least 0, at most 1 when normalised.
    pub(super) fn limits(self) -> (Option<f64>, Option<f64>) {
        match self {
            Normalization::Counts => (Some(0.0), None),
            _ => (Some(0.0), Some(1.0)),
        }
    }

    /// A cell's sampling error from its reference standard deviation and share of rows over
    /// a chunk of `rows` (NannyML's `*_sampling_error`).
    pub(super) fn sampling_error(self, std: f64, fraction: f64, rows: f64) -> f64 {
        match self {
            Normalization::Counts => std / rows.sqrt() * rows,
            Normalization::All => std / rows.sqrt(),
            Normalization::True | Normalization::Pred => std / (rows * fraction).sqrt(),
        }
    }
}

/// A binary confusion-matrix cell's partners: the other cell of its true class's row and of
/// its predicted class's column, as indices of `[tp, fp, fn, tn]`.
fn partners(metric: Metric) -> Option<(usize, usize, usize)> {
    // (the cell, its row partner, its column partner)
    match metric {
        Metric::TruePositive => Some((0, 2, 1)),
        Metric::FalsePositive => Some((1, 3, 0)),
        Metric::FalseNegative => Some((2, 0, 3)),
        Metric::TrueNegative => Some((3, 1, 2)),
        _ => None,
    }
}

/// A classifier's outputs over some rows. A binary classifier's: the score of the positive
/// class (uncalibrated, as the model gave it), the predicted class (0 or 1) and the target
/// (0 or 1) where known. A multiclass classifier's: its classes (sorted, as NannyML orders
/// them), each class's probability per row, the predicted class and the target as positions
/// in `classes`, and as `score` the probability of the predicted class. `NaN` marks a missing
/// value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    pub score: Vec<f64>,
    pub prediction: Vec<f64>,
    pub target: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probabilities: Vec<Vec<f64>>,
}

impl Outputs {
    pub fn len(&self) -> usize {
        self.score.len()
    }

    pub fn is_empty(&self) -> bool {
        self.score.is_empty()
    }

    /// Whether they are a multiclass classifier's.
    pub fn is_multiclass(&self) -> bool {
        !self.classes.is_empty()
    }

    /// The rows `order` picks, in that order.
    pub fn pick(&mut self, order: &[usize]) {
        let pick = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        self.score = pick(&self.score);
        self.prediction = pick(&self.prediction);
        self.target = self.target.as_deref().map(pick);
        for p in &mut self.probabilities {
            *p = pick(p);
        }
    }
}

/// One metric in one chunk. `NaN` where a value does not apply (shown as `null`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricChunk {
    pub estimated: f64,
    pub sampling_error: f64,
    pub realized: f64,
    pub lower_confidence: f64,
    pub upper_confidence: f64,
    pub lower_threshold: f64,
    pub upper_threshold: f64,
    pub alert: bool,
}

impl MetricChunk {
    /// A CBPE estimate with NannyML's band (± 3 sampling errors, clipped to the metric's
    /// `limits`) and its alert against the reference's thresholds (NaN where there are none).
    pub(super) fn banded(
        estimated: f64,
        sampling_error: f64,
        realized: f64,
        (floor, ceiling): (Option<f64>, Option<f64>),
        (lower, upper): (Option<f64>, Option<f64>),
    ) -> MetricChunk {
        let band = SAMPLING_ERROR_RANGE * sampling_error;
        let (lower, upper) = (lower.unwrap_or(f64::NAN), upper.unwrap_or(f64::NAN));
        MetricChunk {
            estimated,
            sampling_error,
            realized,
            upper_confidence: nan_min(ceiling.unwrap_or(f64::INFINITY), estimated + band),
            lower_confidence: nan_max(floor.unwrap_or(f64::NEG_INFINITY), estimated - band),
            lower_threshold: lower,
            upper_threshold: upper,
            alert: estimated < lower || estimated > upper,
        }
    }
}

/// What the reference taught one metric: the sampling-error components and the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fitted {
    pub metric: Metric,
    /// The reference's observation-level standard deviation.
    pub reference_std: f64,
    /// The share of rows the metric's observations come from (1 for accuracy).
    pub reference_fraction: f64,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
    /// Average precision's resample size (its sampling error scales by √(size / rows)).
    #[serde(default)]
    pub resample_size: Option<usize>,
}

/// CBPE fitted on a reference: the calibrator (when NannyML's rule asks for one) and each
/// metric's fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cbpe {
    pub decision: Decision,
    pub calibrator: Option<Isotonic>,
    pub metrics: Vec<Fitted>,
    /// The values of the business-value metric, when it is estimated.
    #[serde(default)]
    pub business_value: Option<BusinessValue>,
    /// How the confusion matrix's cells are reported.
    #[serde(default)]
    pub normalization: Normalization,
}

/// The range a metric's thresholds and bands are kept in, with the confusion matrix
/// reported as `normalization` says.
pub(super) fn limits(metric: Metric, normalization: Normalization) -> (Option<f64>, Option<f64>) {
    if partners(metric).is_some() {
        normalization.limits()
    } else {
        metric.limits()
    }
}

impl Cbpe {
    /// Fits on the reference outputs (every row with a score, a prediction and a target) cut
    /// into `chunks` (ranges of rows) for the thresholds.
    pub fn fit(
        reference: &Outputs,
        chunks: &[std::ops::Range<usize>],
        metrics: &[Metric],
        business_value: Option<BusinessValue>,
        normalization: Normalization,
    ) -> Result<Cbpe> {
        if metrics.contains(&Metric::BusinessValue) && business_value.is_none() {
            return Err(Error::bad_argument(
                "business value",
                "business_value needs what each cell of the confusion matrix is worth: --business-value TN,FP,FN,TP".to_owned(),
            ));
        }
        if let Some(bv) = &business_value
            && bv.classes() != 2
        {
            return Err(Error::bad_argument(
                "business value",
                format!(
                    "--business-value gives a {0} × {0} matrix, but a binary classifier's is 2 × 2: TN,FP,FN,TP",
                    bv.classes()
                ),
            ));
        }
        let target = reference.target.as_deref().ok_or_else(|| {
            Error::bad_argument(
                "target",
                "the reference needs its targets: CBPE learns from them".to_owned(),
            )
        })?;
        for (name, column) in [
            ("score", &reference.score[..]),
            ("prediction", &reference.prediction[..]),
            ("target", target),
        ] {
            if let Some(row) = column.iter().position(|v| v.is_nan()) {
                return Err(Error::bad_argument(
                    "reference",
                    format!(
                        "row {} of the reference has no {name}; every reference row needs a score, a prediction and a target",
                        row + 1
                    ),
                ));
            }
        }
        if target.iter().all(|&t| t == target[0]) {
            return Err(Error::bad_argument(
                "target",
                format!(
                    "every reference target is {}: CBPE needs both classes in the reference to estimate performance",
                    target[0]
                ),
            ));
        }
        // The decision to calibrate and the metrics' fits are independent.
        let (calibration, metrics) = rayon::join(
            || -> Result<_> {
                let positive: Vec<bool> = target.iter().map(|&t| t == 1.0).collect();
                let roc_auc = crate::model::eval::roc_auc(&positive, &reference.score)?;
                let decision = needs_calibration(target, &reference.score, roc_auc);
                let calibrator = decision
                    .calibrate()
                    .then(|| Isotonic::fit(&reference.score, target));
                Ok((decision, calibrator))
            },
            || {
                metrics
                    .par_iter()
                    .map(|&metric| {
                        let (reference_std, reference_fraction, resample_size) = components(
                            metric,
                            target,
                            &reference.score,
                            &reference.prediction,
                            business_value.as_ref(),
                            normalization,
                        );
                        let realized: Vec<f64> = chunks
                            .iter()
                            .map(|r| {
                                realized(
                                    metric,
                                    &target[r.clone()],
                                    &reference.score[r.clone()],
                                    &reference.prediction[r.clone()],
                                    business_value.as_ref(),
                                    normalization,
                                )
                            })
                            .collect();
                        let (lower, upper) = thresholds(&realized, limits(metric, normalization));
                        Fitted {
                            metric,
                            reference_std,
                            reference_fraction,
                            lower_threshold: lower,
                            upper_threshold: upper,
                            resample_size,
                        }
                    })
                    .collect::<Vec<_>>()
            },
        );
        let (decision, calibrator) = calibration?;
        Ok(Cbpe {
            decision,
            calibrator,
            metrics,
            business_value,
            normalization,
        })
    }

    /// The calibrated scores of `score`.
    pub fn calibrated(&self, score: &[f64]) -> Vec<f64> {
        match &self.calibrator {
            Some(c) => score.par_iter().map(|&s| c.predict(s)).collect(),
            None => score.to_vec(),
        }
    }

    /// Every fitted metric over the rows `rows` of `outputs` (`calibrated` from
    /// [`Cbpe::calibrated`] of its scores).
    pub fn chunk(
        &self,
        outputs: &Outputs,
        calibrated: &[f64],
        rows: std::ops::Range<usize>,
    ) -> Vec<(Metric, MetricChunk)> {
        let score = &outputs.score[rows.clone()];
        let cal = &calibrated[rows.clone()];
        let pred = &outputs.prediction[rows.clone()];
        let target = outputs.target.as_ref().map(|t| &t[rows.clone()]);
        // Every metric but ROC AUC reads the same expected and realised confusion matrices.
        let expected = Expected::of(cal, pred);
        let observed = target.map(|t| Observed::of(t, pred));
        self.metrics
            .iter()
            .map(|f| {
                let (estimated, n) = match f.metric {
                    Metric::RocAuc => estimate_roc_auc(cal, score),
                    Metric::AveragePrecision => estimate_ap(cal, score),
                    Metric::BusinessValue => (
                        self.business_value
                            .as_ref()
                            .map_or(f64::NAN, |bv| expected.business_value(bv)),
                        expected.rows,
                    ),
                    m => (expected.value(m, self.normalization), expected.rows),
                };
                let rows = n as f64;
                let sampling_error = match f.metric {
                    Metric::Accuracy => f.reference_std / rows.sqrt(),
                    Metric::AveragePrecision => {
                        let size = f.resample_size.unwrap_or(0) as f64;
                        f.reference_std * (size / rows).sqrt()
                    }
                    Metric::TruePositive
                    | Metric::TrueNegative
                    | Metric::FalsePositive
                    | Metric::FalseNegative => self.normalization.sampling_error(
                        f.reference_std,
                        f.reference_fraction,
                        rows,
                    ),
                    Metric::BusinessValue => match &self.business_value {
                        Some(bv) if bv.per_prediction => f.reference_std / rows.sqrt(),
                        _ => f.reference_std * rows / rows.sqrt(),
                    },
                    _ => f.reference_std / (rows * f.reference_fraction).sqrt(),
                };
                let sampling_error = if n == 0 { f64::NAN } else { sampling_error };
                let realized = match (f.metric, target, &observed) {
                    (Metric::RocAuc, Some(t), _) => realized_roc_auc(t, score),
                    (Metric::AveragePrecision, Some(t), _) => realized_ap(t, score),
                    (Metric::BusinessValue, _, Some(o)) => self
                        .business_value
                        .as_ref()
                        .map_or(f64::NAN, |bv| o.business_value(bv)),
                    (m, _, Some(o)) => o.value(m, self.normalization),
                    _ => f64::NAN,
                };
                let chunk = MetricChunk::banded(
                    estimated,
                    sampling_error,
                    realized,
                    limits(f.metric, self.normalization),
                    (f.lower_threshold, f.upper_threshold),
                );
                (f.metric, chunk)
            })
            .collect()
    }
}

/// CBPE's thresholds: NannyML's standard-deviation thresholds kept within the metric's
/// `limits` (NaN without a realised value among the reference chunks).
pub(super) fn thresholds(
    values: &[f64],
    limits: (Option<f64>, Option<f64>),
) -> (Option<f64>, Option<f64>) {
    let (mut lower, mut upper) =
        standard_deviation_thresholds(values).unwrap_or((f64::NAN, f64::NAN));
    if let Some(floor) = limits.0
        && lower <= floor
    {
        lower = floor;
    }
    if let Some(ceiling) = limits.1
        && upper >= ceiling
    {
        upper = ceiling;
    }
    (Some(lower), Some(upper))
}

/// numpy's `round(x, 5)`.
fn round5(x: f64) -> f64 {
    (x * 100_000.0).round_ties_even() / 100_000.0
}

/// The expected true- and false-positive counts above each rank of a chunk's rows with a
/// score, highest uncalibrated score first, rounded to five decimals as NannyML rounds them
/// (`[0]` is before the first row).
fn expected_counts(cal: &[f64], score: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut rows: Vec<usize> = (0..cal.len()).filter(|&i| !cal[i].is_nan()).collect();
    // np.argsort(uncalibrated)[::-1]: descending. Rows with the same uncalibrated score have
    // the same calibrated one, so their order changes nothing.
    rows.sort_unstable_by(|&a, &b| score[b].total_cmp(&score[a]));
    let mut tps = Vec::with_capacity(rows.len() + 1);
    let mut fps = Vec::with_capacity(rows.len() + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut sum = 0.0;
    for (k, &i) in rows.iter().enumerate() {
        sum += cal[i];
        tps.push(round5(sum));
        fps.push(round5(1.0 + k as f64 - sum));
    }
    (tps, fps)
}

/// The estimated ROC AUC of a chunk and the number of rows it used (those with a score).
pub(super) fn estimate_roc_auc(cal: &[f64], score: &[f64]) -> (f64, usize) {
    let (tps, fps) = expected_counts(cal, score);
    let n = tps.len() - 1;
    if n == 0 {
        return (f64::NAN, 0);
    }
    let (tp_all, fp_all) = (tps[n], fps[n]);
    let terms: Vec<f64> = (0..n)
        .map(|k| {
            let dx = fps[k + 1] / fp_all - fps[k] / fp_all;
            dx * (tps[k + 1] / tp_all + tps[k] / tp_all) / 2.0
        })
        .collect();
    (pairwise_sum(&terms), n)
}

/// A chunk's expected confusion matrix from its calibrated scores, over the rows with a score
/// and a prediction: np.where(...) arrays summed as numpy sums them.
pub(super) struct Expected {
    rows: usize,
    tp: f64,
    fp: f64,
    fn_: f64,
    tn: f64,
}

impl Expected {
    pub(super) fn of(cal: &[f64], pred: &[f64]) -> Expected {
        let mut cells: [Vec<f64>; 4] = std::array::from_fn(|_| Vec::with_capacity(cal.len()));
        for (&p, &y) in cal.iter().zip(pred) {
            if p.is_nan() || y.is_nan() {
                continue;
            }
            let (pos, neg) = (y == 1.0, y == 0.0);
            cells[0].push(if pos { p } else { 0.0 });
            cells[1].push(if pos { 1.0 - p } else { 0.0 });
            cells[2].push(if neg { p } else { 0.0 });
            cells[3].push(if neg { 1.0 - p } else { 0.0 });
        }
        let rows = cells[0].len();
        let [tp, fp, fn_, tn] = cells.map(|c| pairwise_sum(&c));
        Expected {
            rows,
            tp,
            fp,
            fn_,
            tn,
        }
    }

    /// NannyML's estimate of `metric` (not ROC AUC); NaN without rows.
    pub(super) fn value(&self, metric: Metric, normalization: Normalization) -> f64 {
        if self.rows == 0 {
            return f64::NAN;
        }
        let Expected {
            tp, fp, fn_, tn, ..
        } = *self;
        if let Some((cell, row, column)) = partners(metric) {
            // NannyML's ratios: np.mean(np.where(...)).
            let n = self.rows as f64;
            let ratio = [tp / n, fp / n, fn_ / n, tn / n];
            return match normalization {
                Normalization::Counts => self.count([tp, fp, fn_, tn][cell]),
                Normalization::All => ratio[cell],
                Normalization::True => ratio[cell] * (1.0 / (ratio[cell] + ratio[row])),
                Normalization::Pred => ratio[cell] * (1.0 / (ratio[cell] + ratio[column])),
            };
        }
        let ratio = |num: f64, den: f64| if den != 0.0 { num / den } else { 0.0 };
        match metric {
            Metric::F1 => ratio(tp, tp + 0.5 * (fp + fn_)),
            Metric::Precision => ratio(tp, tp + fp),
            Metric::Recall => ratio(tp, tp + fn_),
            Metric::Specificity => ratio(tn, tn + fp),
            Metric::Accuracy => (tp + tn) / self.rows as f64,
            // ROC AUC and AP are computed from the scores, the business value by
            // `business_value`; a regressor's metrics are DLE's.
            _ => f64::NAN,
        }
    }

    /// NannyML's `estimate_business_value`; NaN without rows.
    fn business_value(&self, bv: &BusinessValue) -> f64 {
        if self.rows == 0 {
            return f64::NAN;
        }
        bv.of(&[
            vec![self.count(self.tn), self.count(self.fp)],
            vec![self.count(self.fn_), self.count(self.tp)],
        ])
    }

    /// A cell's expected count as NannyML computes it: `np.mean(np.where(...)) * len(y_pred)`.
    fn count(&self, sum: f64) -> f64 {
        let n = self.rows as f64;
        sum / n * n
    }
}

/// A chunk's realised confusion matrix over the rows with a target and a prediction, and
/// whether either holds one value only.
struct Observed {
    rows: usize,
    tp: f64,
    fp: f64,
    fn_: f64,
    tn: f64,
    one_target: bool,
    one_prediction: bool,
}

impl Observed {
    fn of(target: &[f64], pred: &[f64]) -> Observed {
        let mut counts = [0usize; 4];
        let (mut first_t, mut first_p) = (None, None);
        let (mut one_target, mut one_prediction) = (true, true);
        for (&t, &p) in target.iter().zip(pred) {
            if t.is_nan() || p.is_nan() {
                continue;
            }
            one_target &= *first_t.get_or_insert(t) == t;
            one_prediction &= *first_p.get_or_insert(p) == p;
            match (t == 1.0, p == 1.0) {
                (true, true) => counts[0] += 1,
                (false, true) => counts[1] += 1,
                (true, false) => counts[2] += 1,
                (false, false) => counts[3] += 1,
            }
        }
        let [tp, fp, fn_, tn] = counts.map(|c| c as f64);
        Observed {
            rows: counts.iter().sum(),
            tp,
            fp,
            fn_,
            tn,
            one_target,
            one_prediction,
        }
    }

    /// The realised value of `metric` (not ROC AUC), scikit-learn's arithmetic and NannyML's
    /// NaN rules (one class among the targets, or among the predictions for F1, precision and
    /// recall: NaN).
    fn value(&self, metric: Metric, normalization: Normalization) -> f64 {
        if self.rows == 0 {
            return f64::NAN;
        }
        let Observed {
            tp, fp, fn_, tn, ..
        } = *self;
        if let Some((cell, row, column)) = partners(metric) {
            // scikit-learn's confusion_matrix(normalize=...), NaN as 0.
            let cells = [tp, fp, fn_, tn];
            let v = match normalization {
                Normalization::Counts => return cells[cell],
                Normalization::All => cells[cell] / self.rows as f64,
                Normalization::True => cells[cell] / (cells[cell] + cells[row]),
                Normalization::Pred => cells[cell] / (cells[cell] + cells[column]),
            };
            return if v.is_nan() { 0.0 } else { v };
        }
        let ratio = |num: f64, den: f64| if den != 0.0 { num / den } else { 0.0 };
        match metric {
            Metric::F1 | Metric::Precision | Metric::Recall
                if self.one_target || self.one_prediction =>
            {
                f64::NAN
            }
            Metric::F1 => ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            Metric::Precision => ratio(tp, tp + fp),
            Metric::Recall => ratio(tp, tp + fn_),
            Metric::Specificity if tn + fp == 0.0 => f64::NAN,
            Metric::Specificity => tn / (tn + fp),
            Metric::Accuracy => (tp + tn) / self.rows as f64,
            // ROC AUC and AP are computed from the scores, the business value by
            // `business_value`; a regressor's metrics are DLE's.
            _ => f64::NAN,
        }
    }

    /// The realised business value (scikit-learn's confusion matrix); NaN without rows.
    fn business_value(&self, bv: &BusinessValue) -> f64 {
        if self.rows == 0 {
            return f64::NAN;
        }
        bv.of(&[vec![self.tn, self.fp], vec![self.fn_, self.tp]])
    }
}

/// The realised ROC AUC over the rows with a target and a score: scikit-learn's, NaN when the
/// targets hold one class.
fn realized_roc_auc(target: &[f64], score: &[f64]) -> f64 {
    let (t, s) = labelled(target, score);
    let Some(&first) = t.first() else {
        return f64::NAN;
    };
    if t.iter().all(|&v| v == first) {
        return f64::NAN;
    }
    let positive: Vec<bool> = t.iter().map(|&v| v == 1.0).collect();
    crate::model::eval::roc_auc(&positive, &s).unwrap_or(f64::NAN)
}

/// The targets and scores of the rows that have both (NannyML's `common_nan_removal`).
fn labelled(target: &[f64], score: &[f64]) -> (Vec<f64>, Vec<f64>) {
    target
        .iter()
        .zip(score)
        .filter(|(t, s)| !t.is_nan() && !s.is_nan())
        .map(|(&t, &s)| (t, s))
        .unzip()
}

/// The estimated average precision of a chunk (NannyML's `estimate_ap`) and the number of
/// rows it used (those with a score).
pub(super) fn estimate_ap(cal: &[f64], score: &[f64]) -> (f64, usize) {
    let (tps, _) = expected_counts(cal, score);
    let n = tps.len() - 1;
    if n == 0 {
        return (f64::NAN, 0);
    }
    let total = tps[n];
    let precision = |k: usize| if k == 0 { 1.0 } else { tps[k] / k as f64 };
    let recall = |k: usize| tps[k] / total;
    // Reversed (recall falling from 1 to 0): -Σ diff(recall) · precision[:-1].
    let terms: Vec<f64> = (0..n)
        .map(|i| (recall(n - i - 1) - recall(n - i)) * precision(n - i))
        .collect();
    (-pairwise_sum(&terms), n)
}

/// The realised average precision over the rows with a target and a score: NaN when no
/// target is positive (NannyML's rule), else scikit-learn's `average_precision_score`.
fn realized_ap(target: &[f64], score: &[f64]) -> f64 {
    let (t, s) = labelled(target, score);
    if !t.contains(&1.0) {
        return f64::NAN;
    }
    average_precision(&t, &s)
}

/// scikit-learn's `average_precision_score(target, score)` (positive class 1): the step
/// integral of its precision-recall curve, one point per distinct score.
pub(super) fn average_precision(target: &[f64], score: &[f64]) -> f64 {
    let n = target.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut tps, mut fps) = (Vec::new(), Vec::new());
    let mut tp = 0.0;
    for (k, &i) in order.iter().enumerate() {
        if target[i] == 1.0 {
            tp += 1.0;
        }
        if k + 1 == n || score[order[k + 1]] != score[i] {
            tps.push(tp);
            fps.push((k + 1) as f64 - tp);
        }
    }
    let m = tps.len();
    let total = tps.last().copied().unwrap_or(0.0);
    let precision = |k: usize| {
        let ps = tps[k] + fps[k];
        if ps != 0.0 { tps[k] / ps } else { 0.0 }
    };
    let recall = |k: usize| if total == 0.0 { 1.0 } else { tps[k] / total };
    // Reversed, with (precision 1, recall 0) appended.
    let rev_p = |i: usize| if i < m { precision(m - 1 - i) } else { 1.0 };
    let rev_r = |i: usize| if i < m { recall(m - 1 - i) } else { 0.0 };
    let terms: Vec<f64> = (0..m)
        .map(|i| (rev_r(i + 1) - rev_r(i)) * rev_p(i))
        .collect();
    let ap = -pairwise_sum(&terms);
    if ap > 0.0 { ap } else { 0.0 }
}

/// NannyML's resamples for average precision's sampling error.
pub(super) const AP_RESAMPLES: usize = 50;
/// NannyML's `MAX_RESAMPLE_SIZE`.
pub(super) const AP_MAX_RESAMPLE_SIZE: usize = 50_000;
/// The seed of the resamples (see the module's note).
pub(super) const AP_SEED: u32 = 0;

/// Average precision's sampling-error components: the standard deviation of the AP of
/// NannyML's resamples and their size (NaN and 0 without a positive target).
fn ap_components(target: &[f64], score: &[f64]) -> (f64, usize) {
    if !target.contains(&1.0) {
        return (f64::NAN, 0);
    }
    let n = target.len();
    let size = (n / 2).min(AP_MAX_RESAMPLE_SIZE);
    // np.random.choice(n, size, replace=True), 50 times from one generator.
    let mut rng = RandomState::new(AP_SEED);
    let draws: Vec<Vec<usize>> = (0..AP_RESAMPLES)
        .map(|_| (0..size).map(|_| rng.randint(n)).collect())
        .collect();
    let results: Vec<f64> = draws
        .par_iter()
        .map(|idx| {
            let t: Vec<f64> = idx.iter().map(|&i| target[i]).collect();
            let s: Vec<f64> = idx.iter().map(|&i| score[i]).collect();
            average_precision(&t, &s)
        })
        .collect();
    (std_pop(&results), size)
}

/// The realised value of `metric` over rows with targets.
fn realized(
    metric: Metric,
    target: &[f64],
    score: &[f64],
    pred: &[f64],
    business_value: Option<&BusinessValue>,
    normalization: Normalization,
) -> f64 {
    match metric {
        Metric::RocAuc => realized_roc_auc(target, score),
        Metric::AveragePrecision => realized_ap(target, score),
        Metric::BusinessValue => {
            business_value.map_or(f64::NAN, |bv| Observed::of(target, pred).business_value(bv))
        }
        m => Observed::of(target, pred).value(m, normalization),
    }
}

/// The reference's sampling-error components of `metric`: the standard deviation of its
/// observation-level values, the share of rows they come from (NannyML's
/// `sampling_error.binary_classification`) and, for average precision, the resample size.
fn components(
    metric: Metric,
    target: &[f64],
    score: &[f64],
    pred: &[f64],
    business_value: Option<&BusinessValue>,
    normalization: Normalization,
) -> (f64, f64, Option<usize>) {
    if metric == Metric::AveragePrecision {
        let (std, size) = ap_components(target, score);
        return (std, 1.0, Some(size));
    }
    let (std, fraction) =
        rate_components(metric, target, score, pred, business_value, normalization);
    (std, fraction, None)
}

/// [`components`] of every metric but average precision.
fn rate_components(
    metric: Metric,
    target: &[f64],
    score: &[f64],
    pred: &[f64],
    business_value: Option<&BusinessValue>,
    normalization: Normalization,
) -> (f64, f64) {
    let n = target.len() as f64;
    let count = |t: f64, p: f64| {
        target
            .iter()
            .zip(pred)
            .filter(|&(&a, &b)| a == t && b == p)
            .count()
    };
    // `ones` observations of 1 then `zeros` of 0, times `factor`: numpy's std of that array.
    let spread = |ones: usize, zeros: usize, factor: f64| {
        let mut v = vec![factor; ones];
        v.resize(ones + zeros, 0.0);
        std_pop(&v)
    };
    let (tp, fp, fn_, tn) = (
        count(1.0, 1.0),
        count(0.0, 1.0),
        count(1.0, 0.0),
        count(0.0, 0.0),
    );
    match metric {
        Metric::RocAuc => roc_auc_components(target, score),
        Metric::F1 => {
            let len = tp + fn_ + fp;
            if len == 0 {
                return (f64::NAN, 0.0);
            }
            let factor = len as f64 / ((fn_ + fp) as f64 * 0.5 + tp as f64);
            (spread(tp, fn_ + fp, factor), len as f64 / n)
        }
        Metric::Precision => (spread(tp, fp, 1.0), pairwise_sum(pred) / n),
        Metric::Recall => (spread(tp, fn_, 1.0), pairwise_sum(target) / n),
        Metric::Specificity => (spread(tn, fp, 1.0), (tn + fp) as f64 / n),
        Metric::Accuracy => (spread(tp + tn, fp + fn_, 1.0), 1.0),
        // The cell's indicator over every reference row, or over its true class's rows or its
        // predicted class's.
        Metric::TruePositive
        | Metric::TrueNegative
        | Metric::FalsePositive
        | Metric::FalseNegative => {
            let Some((cell, row, column)) = partners(metric) else {
                return (f64::NAN, 0.0);
            };
            let cells = [tp, fp, fn_, tn];
            let group = match normalization {
                Normalization::Counts | Normalization::All => target.len(),
                Normalization::True => cells[cell] + cells[row],
                Normalization::Pred => cells[cell] + cells[column],
            };
            (
                spread(cells[cell], group - cells[cell], 1.0),
                group as f64 / n,
            )
        }
        Metric::BusinessValue => {
            let Some(bv) = business_value else {
                return (f64::NAN, 0.0);
            };
            let values: Vec<f64> = target
                .iter()
                .zip(pred)
                .map(|(&t, &p)| bv.matrix[usize::from(t == 1.0)][usize::from(p == 1.0)])
                .collect();
            (std_pop(&values), 1.0)
        }
        // A regressor's metrics are DLE's (refused before CBPE fits).
        _ => (f64::NAN, 0.0),
    }
}

/// ROC AUC's sampling-error components of a 0/1 target and its scores: the standard deviation
/// of NannyML's observation-level values and the share of positive rows.
pub(super) fn roc_auc_components(target: &[f64], score: &[f64]) -> (f64, f64) {
    let n = target.len() as f64;
    let flip = pairwise_sum(target) / n > 0.5;
    let (y, p): (Vec<f64>, Vec<f64>) = if flip {
        (
            target.iter().map(|t| (t - 1.0).abs()).collect(),
            score.iter().map(|s| 1.0 - s).collect(),
        )
    } else {
        (target.to_vec(), score.to_vec())
    };
    // Ascending by score; rows with equal scores keep their row order (numpy's
    // quicksort leaves them in an unspecified order, which moves this standard
    // deviation slightly when scores tie).
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let n_pos = pairwise_sum(&y);
    let n_neg = n - n_pos;
    let mut ser = Vec::new();
    for (rank, &i) in order.iter().enumerate() {
        if y[i] == 1.0 && rank > 0 {
            ser.push((rank - ser.len()) as f64 / n_neg);
        }
    }
    (std_pop(&ser), n_pos / n)
}
