//! Confidence-based performance estimation (CBPE) of a binary classifier, NannyML's
//! arithmetic: the expected confusion matrix of a chunk from its calibrated scores, the
//! sampling error from the reference's observation-level spread, thresholds from the realised
//! performance of the reference chunks (mean ± 3 std, clipped to [0, 1]).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::calibrate::{Decision, Isotonic, needs_calibration};
use super::{SAMPLING_ERROR_RANGE, nan_max, nan_min, standard_deviation_thresholds};
use crate::numeric::{pairwise_sum, std_pop};
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
            Metric::Mae => "MAE",
            Metric::Mape => "MAPE",
            Metric::Mse => "MSE",
            Metric::Rmse => "RMSE",
            Metric::Msle => "MSLE",
            Metric::Rmsle => "RMSLE",
        }
    }

    pub fn parse(text: &str) -> Result<Metric> {
        let all = || Metric::BINARY.into_iter().chain(Metric::REGRESSION);
        all().find(|m| m.name() == text.trim()).ok_or_else(|| {
            let names = |list: [Metric; 6]| -> String {
                list.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            };
            Error::bad_argument(
                "metrics",
                format!(
                    "'{text}' is not a metric monitoring estimates; a classifier's are {}, a regressor's {}",
                    names(Metric::BINARY),
                    names(Metric::REGRESSION)
                ),
            )
        })
    }
}

/// A binary classifier's outputs over some rows: the score of the positive class
/// (uncalibrated, as the model gave it), the predicted class (0 or 1) and the target (0 or 1)
/// where known. `NaN` marks a missing value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    pub score: Vec<f64>,
    pub prediction: Vec<f64>,
    pub target: Option<Vec<f64>>,
}

impl Outputs {
    pub fn len(&self) -> usize {
        self.score.len()
    }

    pub fn is_empty(&self) -> bool {
        self.score.is_empty()
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
}

/// CBPE fitted on a reference: the calibrator (when NannyML's rule asks for one) and each
/// metric's fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cbpe {
    pub decision: Decision,
    pub calibrator: Option<Isotonic>,
    pub metrics: Vec<Fitted>,
}

impl Cbpe {
    /// Fits on the reference outputs (every row with a score, a prediction and a target) cut
    /// into `chunks` (ranges of rows) for the thresholds.
    pub fn fit(
        reference: &Outputs,
        chunks: &[std::ops::Range<usize>],
        metrics: &[Metric],
    ) -> Result<Cbpe> {
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
                        let (reference_std, reference_fraction) =
                            components(metric, target, &reference.score, &reference.prediction);
                        let realized: Vec<f64> = chunks
                            .iter()
                            .map(|r| {
                                realized(
                                    metric,
                                    &target[r.clone()],
                                    &reference.score[r.clone()],
                                    &reference.prediction[r.clone()],
                                )
                            })
                            .collect();
                        let (lower, upper) = thresholds(&realized);
                        Fitted {
                            metric,
                            reference_std,
                            reference_fraction,
                            lower_threshold: lower,
                            upper_threshold: upper,
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
                    m => (expected.value(m), expected.rows),
                };
                let sampling_error = match f.metric {
                    Metric::Accuracy => f.reference_std / (n as f64).sqrt(),
                    _ => f.reference_std / (n as f64 * f.reference_fraction).sqrt(),
                };
                let sampling_error = if n == 0 { f64::NAN } else { sampling_error };
                let realized = match (f.metric, target, &observed) {
                    (Metric::RocAuc, Some(t), _) => realized_roc_auc(t, score),
                    (m, _, Some(o)) => o.value(m),
                    _ => f64::NAN,
                };
                let band = SAMPLING_ERROR_RANGE * sampling_error;
                let (lower, upper) = (
                    f.lower_threshold.unwrap_or(f64::NAN),
                    f.upper_threshold.unwrap_or(f64::NAN),
                );
                let chunk = MetricChunk {
                    estimated,
                    sampling_error,
                    realized,
                    upper_confidence: nan_min(1.0, estimated + band),
                    lower_confidence: nan_max(0.0, estimated - band),
                    lower_threshold: lower,
                    upper_threshold: upper,
                    alert: estimated < lower || estimated > upper,
                };
                (f.metric, chunk)
            })
            .collect()
    }
}

/// CBPE's thresholds: NannyML's standard-deviation thresholds limited to [0, 1] (NaN without a
/// realised value among the reference chunks).
fn thresholds(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let (mut lower, mut upper) =
        standard_deviation_thresholds(values).unwrap_or((f64::NAN, f64::NAN));
    if lower <= 0.0 {
        lower = 0.0;
    }
    if upper >= 1.0 {
        upper = 1.0;
    }
    (Some(lower), Some(upper))
}

/// numpy's `round(x, 5)`.
fn round5(x: f64) -> f64 {
    (x * 100_000.0).round_ties_even() / 100_000.0
}

/// The estimated ROC AUC of a chunk and the number of rows it used (those with a score).
fn estimate_roc_auc(cal: &[f64], score: &[f64]) -> (f64, usize) {
    let mut rows: Vec<usize> = (0..cal.len()).filter(|&i| !cal[i].is_nan()).collect();
    let n = rows.len();
    if n == 0 {
        return (f64::NAN, 0);
    }
    // np.argsort(uncalibrated)[::-1]: descending. Rows with the same uncalibrated score have
    // the same calibrated one, so their order changes nothing.
    rows.sort_unstable_by(|&a, &b| score[b].total_cmp(&score[a]));
    let mut tps = Vec::with_capacity(n + 1);
    let mut fps = Vec::with_capacity(n + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut sum = 0.0;
    for (k, &i) in rows.iter().enumerate() {
        sum += cal[i];
        tps.push(round5(sum));
        fps.push(round5(1.0 + k as f64 - sum));
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
struct Expected {
    rows: usize,
    tp: f64,
    fp: f64,
    fn_: f64,
    tn: f64,
}

impl Expected {
    fn of(cal: &[f64], pred: &[f64]) -> Expected {
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
    fn value(&self, metric: Metric) -> f64 {
        if self.rows == 0 {
            return f64::NAN;
        }
        let Expected {
            tp, fp, fn_, tn, ..
        } = *self;
        let ratio = |num: f64, den: f64| if den != 0.0 { num / den } else { 0.0 };
        match metric {
            Metric::F1 => ratio(tp, tp + 0.5 * (fp + fn_)),
            Metric::Precision => ratio(tp, tp + fp),
            Metric::Recall => ratio(tp, tp + fn_),
            Metric::Specificity => ratio(tn, tn + fp),
            Metric::Accuracy => (tp + tn) / self.rows as f64,
            // ROC AUC is computed from the scores; a regressor's metrics are DLE's.
            _ => f64::NAN,
        }
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
    fn value(&self, metric: Metric) -> f64 {
        if self.rows == 0 {
            return f64::NAN;
        }
        let Observed {
            tp, fp, fn_, tn, ..
        } = *self;
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
            // ROC AUC is computed from the scores; a regressor's metrics are DLE's.
            _ => f64::NAN,
        }
    }
}

/// The realised ROC AUC over the rows with a target and a score: scikit-learn's, NaN when the
/// targets hold one class.
fn realized_roc_auc(target: &[f64], score: &[f64]) -> f64 {
    let rows: Vec<usize> = (0..target.len())
        .filter(|&i| !target[i].is_nan() && !score[i].is_nan())
        .collect();
    let Some(&first) = rows.first() else {
        return f64::NAN;
    };
    if rows.iter().all(|&i| target[i] == target[first]) {
        return f64::NAN;
    }
    let positive: Vec<bool> = rows.iter().map(|&i| target[i] == 1.0).collect();
    let s: Vec<f64> = rows.iter().map(|&i| score[i]).collect();
    crate::model::eval::roc_auc(&positive, &s).unwrap_or(f64::NAN)
}

/// The realised value of `metric` over rows with targets.
fn realized(metric: Metric, target: &[f64], score: &[f64], pred: &[f64]) -> f64 {
    match metric {
        Metric::RocAuc => realized_roc_auc(target, score),
        m => Observed::of(target, pred).value(m),
    }
}

/// The reference's sampling-error components of `metric`: the standard deviation of its
/// observation-level values and the share of rows they come from (NannyML's
/// `sampling_error.binary_classification`).
fn components(metric: Metric, target: &[f64], score: &[f64], pred: &[f64]) -> (f64, f64) {
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
        Metric::RocAuc => {
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
        // A regressor's metrics are DLE's (refused before CBPE fits).
        _ => (f64::NAN, 0.0),
    }
}
