//! CBPE of a multiclass classifier, NannyML's arithmetic (`classification_multiclass`): each
//! class's probability calibrated one-vs-rest where NannyML's rule asks for it, the calibrated
//! probabilities of a row divided by their sum; each metric the macro average of the binary
//! estimate per class (accuracy: the mean calibrated probability of the predicted class; the
//! business value: the expected confusion matrix weighed), with NannyML's multiclass sampling
//! errors and the thresholds the reference chunks set.
//!
//! The classes are the sorted class names. Average precision's resamples come, class after
//! class, from one `RandomState(0)`, as `np.random.seed(0)` before NannyML's fit draws them.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::calibrate::{Decision, Isotonic, needs_calibration};
use super::cbpe::{
    self, AP_MAX_RESAMPLE_SIZE, AP_RESAMPLES, AP_SEED, BusinessValue, Expected, Metric,
    MetricChunk, Normalization, Outputs,
};
use crate::numeric::{RandomState, pairwise_sum, std_pop, std_sample};
use crate::{Error, Result};

/// The metrics multiclass CBPE estimates besides the confusion matrix (which `--metrics
/// confusion_matrix` asks for as a whole: a cell per true and predicted class).
pub const METRICS: [Metric; 8] = [
    Metric::RocAuc,
    Metric::F1,
    Metric::Precision,
    Metric::Recall,
    Metric::Specificity,
    Metric::Accuracy,
    Metric::AveragePrecision,
    Metric::BusinessValue,
];

/// What the reference taught one metric: per class its sampling-error component (the variance
/// of the observation-level values, or of the resampled average precision) and the share of
/// rows it comes from (the resample size for average precision); one component for accuracy
/// (its standard deviation) and the business value (the standard deviation of a row's value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fitted {
    pub metric: Metric,
    pub components: Vec<(f64, f64)>,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
}

/// What the reference taught one confusion-matrix cell: its observation-level standard
/// deviation, the share of rows it is taken over, and its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CellFit {
    pub std: f64,
    pub fraction: f64,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
}

/// The confusion matrix's fit: a cell per true class (row) and predicted class (column), row
/// by row, and where it stands among the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionFit {
    pub normalization: Normalization,
    pub cells: Vec<CellFit>,
    pub position: usize,
}

/// Multiclass CBPE fitted on a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassCbpe {
    pub classes: Vec<String>,
    /// Per class, NannyML's decision to calibrate its probability, and the calibrator.
    pub decisions: Vec<Decision>,
    pub calibrators: Vec<Option<Isotonic>>,
    pub metrics: Vec<Fitted>,
    pub business_value: Option<BusinessValue>,
    pub confusion: Option<ConfusionFit>,
}

/// NannyML's name of a confusion-matrix cell: `true_{class}_pred_{class}`.
pub fn cell_name(true_class: &str, predicted: &str) -> String {
    format!("true_{true_class}_pred_{predicted}")
}

/// Whether row `i` has every probability and a prediction.
fn estimable(outputs: &Outputs, i: usize) -> bool {
    !outputs.prediction[i].is_nan() && outputs.probabilities.iter().all(|p| !p[i].is_nan())
}

/// 1 where `values` (class positions) is class `c`, else 0.
fn is_class(values: &[f64], c: usize) -> Vec<f64> {
    values
        .iter()
        .map(|&v| f64::from(u8::from(v == c as f64)))
        .collect()
}

impl MulticlassCbpe {
    /// Fits on the reference outputs (every row with its probabilities, a prediction and a
    /// target) cut into `chunks` for the thresholds.
    pub fn fit(
        reference: &Outputs,
        chunks: &[std::ops::Range<usize>],
        asked: &[Metric],
        business_value: Option<BusinessValue>,
        normalization: Normalization,
    ) -> Result<MulticlassCbpe> {
        let k = reference.classes.len();
        // `confusion_matrix` names the binary cells; for k classes it is the k × k matrix.
        let cells = asked
            .iter()
            .filter(|m| Metric::CONFUSION_MATRIX.contains(m))
            .count();
        let position = asked
            .iter()
            .position(|m| Metric::CONFUSION_MATRIX.contains(m));
        let metrics: Vec<Metric> = asked
            .iter()
            .copied()
            .filter(|m| !Metric::CONFUSION_MATRIX.contains(m))
            .collect();
        if cells != 0 && cells != Metric::CONFUSION_MATRIX.len() {
            return Err(Error::bad_argument(
                "metrics",
                "true_positive, false_positive, … are a binary classifier's cells; a multiclass classifier's confusion matrix is asked for whole: confusion_matrix".to_owned(),
            ));
        }
        if let Some(m) = metrics.iter().find(|m| !METRICS.contains(m)) {
            let names: Vec<&str> = METRICS.iter().map(|m| m.name()).collect();
            return Err(Error::bad_argument(
                "metrics",
                format!(
                    "'{}' is not estimated for a multiclass classifier; its metrics are {} and confusion_matrix",
                    m.name(),
                    names.join(", ")
                ),
            ));
        }
        match &business_value {
            None if metrics.contains(&Metric::BusinessValue) => {
                return Err(Error::bad_argument(
                    "business value",
                    format!(
                        "business_value needs what each cell of the confusion matrix is worth: --business-value with {} values, row by true class and column by predicted class ({})",
                        k * k,
                        reference.classes.join(", ")
                    ),
                ));
            }
            Some(bv) if bv.classes() != k => {
                return Err(Error::bad_argument(
                    "business value",
                    format!(
                        "--business-value gives a {0} × {0} matrix but the model has {1} classes ({2}): give {3} values, row by true class and column by predicted class",
                        bv.classes(),
                        k,
                        reference.classes.join(", "),
                        k * k
                    ),
                ));
            }
            _ => {}
        }
        let target = reference.target.as_deref().ok_or_else(|| {
            Error::bad_argument(
                "target",
                "the reference needs its targets: CBPE learns from them".to_owned(),
            )
        })?;
        for (name, column) in std::iter::once(("prediction", &reference.prediction[..]))
            .chain(std::iter::once(("target", target)))
            .chain(
                reference
                    .probabilities
                    .iter()
                    .map(|p| ("probability", &p[..])),
            )
        {
            if let Some(row) = column.iter().position(|v| v.is_nan()) {
                return Err(Error::bad_argument(
                    "reference",
                    format!(
                        "row {} of the reference has no {name}; every reference row needs its class probabilities, a prediction and a target",
                        row + 1
                    ),
                ));
            }
        }
        let missing: Vec<&str> = (0..k)
            .filter(|&c| !target.contains(&(c as f64)))
            .map(|c| reference.classes[c].as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::bad_argument(
                "target",
                format!(
                    "the reference's targets never hold {}: CBPE needs every class of the model ({}) in the reference",
                    missing.join(", "),
                    reference.classes.join(", ")
                ),
            ));
        }
        let probabilities: Vec<&[f64]> = reference.probabilities.iter().map(|p| &p[..]).collect();
        let confusion = position.map(|position| {
            confusion_fit(
                target,
                &reference.prediction,
                chunks,
                k,
                normalization,
                position,
            )
        });
        let (calibration, fitted) = rayon::join(
            || -> Result<(Vec<Decision>, Vec<Option<Isotonic>>)> {
                let per_class: Vec<Result<(Decision, Option<Isotonic>)>> = (0..k)
                    .into_par_iter()
                    .map(|c| {
                        let y = is_class(target, c);
                        let positive: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
                        let roc_auc = crate::model::eval::roc_auc(&positive, probabilities[c])?;
                        let decision = needs_calibration(&y, probabilities[c], roc_auc);
                        let calibrator = decision
                            .calibrate()
                            .then(|| Isotonic::fit(probabilities[c], &y));
                        Ok((decision, calibrator))
                    })
                    .collect();
                let mut decisions = Vec::new();
                let mut calibrators = Vec::new();
                for r in per_class {
                    let (d, c) = r?;
                    decisions.push(d);
                    calibrators.push(c);
                }
                Ok((decisions, calibrators))
            },
            || {
                metrics
                    .par_iter()
                    .map(|&metric| {
                        let components = components(
                            metric,
                            target,
                            &reference.prediction,
                            &probabilities,
                            business_value.as_ref(),
                        );
                        let realized: Vec<f64> = chunks
                            .iter()
                            .map(|r| {
                                let p: Vec<&[f64]> =
                                    probabilities.iter().map(|p| &p[r.clone()]).collect();
                                realized(
                                    metric,
                                    &target[r.clone()],
                                    &reference.prediction[r.clone()],
                                    &p,
                                    business_value.as_ref(),
                                )
                            })
                            .collect();
                        let (lower, upper) = cbpe::thresholds(&realized, metric.limits());
                        Fitted {
                            metric,
                            components,
                            lower_threshold: lower,
                            upper_threshold: upper,
                        }
                    })
                    .collect::<Vec<_>>()
            },
        );
        let (decisions, calibrators) = calibration?;
        Ok(MulticlassCbpe {
            classes: reference.classes.clone(),
            decisions,
            calibrators,
            metrics: fitted,
            business_value,
            confusion,
        })
    }

    /// The names of the metrics it estimates, in the order asked (the confusion matrix as
    /// its cells, row by row).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .metrics
            .iter()
            .map(|f| f.metric.name().to_owned())
            .collect();
        if let Some(c) = &self.confusion {
            let cells = self
                .classes
                .iter()
                .flat_map(|t| self.classes.iter().map(move |p| cell_name(t, p)));
            let at = c.position.min(names.len());
            names.splice(at..at, cells);
        }
        names
    }

    /// Whether any class's probability is calibrated.
    pub fn calibrated_any(&self) -> bool {
        self.calibrators.iter().any(Option::is_some)
    }

    /// The calibrated probabilities of `outputs`, per class: each class's calibrated, then
    /// each row's divided by their sum (1 / k each where the sum is 0).
    pub fn calibrated(&self, outputs: &Outputs) -> Vec<Vec<f64>> {
        let k = self.classes.len();
        let per_class: Vec<Vec<f64>> = outputs
            .probabilities
            .par_iter()
            .zip(&self.calibrators)
            .map(|(p, c)| match c {
                Some(c) => p.iter().map(|&s| c.predict(s)).collect(),
                None => p.clone(),
            })
            .collect();
        let n = outputs.len();
        let mut out = vec![vec![0.0; n]; k];
        for i in 0..n {
            let sum = (0..k).fold(0.0, |a, c| a + per_class[c][i]);
            for c in 0..k {
                out[c][i] = if sum != 0.0 {
                    per_class[c][i] / sum
                } else {
                    1.0 / k as f64
                };
            }
        }
        out
    }

    /// Every fitted metric over the rows `rows` of `outputs` (`calibrated` from
    /// [`MulticlassCbpe::calibrated`]).
    pub fn chunk(
        &self,
        outputs: &Outputs,
        calibrated: &[Vec<f64>],
        rows: std::ops::Range<usize>,
    ) -> Vec<(String, MetricChunk)> {
        let k = self.classes.len();
        // NannyML's common_nan_removal: the rows with every probability and a prediction.
        let kept: Vec<usize> = rows.clone().filter(|&i| estimable(outputs, i)).collect();
        let pick = |v: &[f64]| -> Vec<f64> { kept.iter().map(|&i| v[i]).collect() };
        let pred = pick(&outputs.prediction);
        let cal: Vec<Vec<f64>> = calibrated.iter().map(|c| pick(c)).collect();
        let uncal: Vec<Vec<f64>> = outputs.probabilities.iter().map(|p| pick(p)).collect();
        let n = kept.len();
        let rows_f = n as f64;
        let mean_over_classes = |f: &dyn Fn(usize) -> f64| -> f64 {
            let v: Vec<f64> = (0..k).map(f).collect();
            pairwise_sum(&v) / k as f64
        };
        let target = outputs.target.as_ref().map(|t| &t[rows.clone()]);
        let probabilities: Vec<&[f64]> = outputs
            .probabilities
            .iter()
            .map(|p| &p[rows.clone()])
            .collect();
        let mut shown: Vec<(String, MetricChunk)> = self
            .metrics
            .iter()
            .map(|f| {
                let estimated = if n == 0 {
                    f64::NAN
                } else {
                    match f.metric {
                        Metric::RocAuc => {
                            mean_over_classes(&|c| cbpe::estimate_roc_auc(&cal[c], &uncal[c]).0)
                        }
                        Metric::AveragePrecision => {
                            mean_over_classes(&|c| cbpe::estimate_ap(&cal[c], &uncal[c]).0)
                        }
                        Metric::Accuracy => {
                            let chosen: Vec<f64> = pred
                                .iter()
                                .enumerate()
                                .map(|(i, &p)| cal[p as usize][i].max(0.0))
                                .collect();
                            pairwise_sum(&chosen) / rows_f
                        }
                        Metric::BusinessValue => self
                            .business_value
                            .as_ref()
                            .map_or(f64::NAN, |bv| bv.of(&expected_counts(&pred, &cal, k))),
                        m => mean_over_classes(&|c| {
                            Expected::of(&cal[c], &is_class(&pred, c))
                                .value(m, Normalization::Counts)
                        }),
                    }
                };
                let sampling_error = if n == 0 {
                    f64::NAN
                } else {
                    sampling_error(
                        f,
                        rows_f,
                        self.business_value
                            .as_ref()
                            .is_some_and(|b| b.per_prediction),
                    )
                };
                let realized = match target {
                    Some(t) => realized(
                        f.metric,
                        t,
                        &outputs.prediction[rows.clone()],
                        &probabilities,
                        self.business_value.as_ref(),
                    ),
                    None => f64::NAN,
                };
                let chunk = MetricChunk::banded(
                    estimated,
                    sampling_error,
                    realized,
                    f.metric.limits(),
                    (f.lower_threshold, f.upper_threshold),
                );
                (f.metric.name().to_owned(), chunk)
            })
            .collect();
        if let Some(c) = &self.confusion {
            let cells = self.confusion_chunk(
                c,
                &pred,
                &cal,
                target.map(|t| (t, &outputs.prediction[rows.clone()])),
            );
            let at = c.position.min(shown.len());
            shown.splice(at..at, cells);
        }
        shown
    }

    /// The confusion matrix's cells over a chunk: `pred` and `cal` its rows with every
    /// probability and a prediction; `labelled` its targets and predictions.
    fn confusion_chunk(
        &self,
        fit: &ConfusionFit,
        pred: &[f64],
        cal: &[Vec<f64>],
        labelled: Option<(&[f64], &[f64])>,
    ) -> Vec<(String, MetricChunk)> {
        let k = self.classes.len();
        let n = pred.len() as f64;
        // est[i][j] = np.mean(np.where(y_pred == j, proba_i, 0)), then normalised.
        let mut est = expected_counts(pred, cal, k);
        est.iter_mut().flatten().for_each(|v| *v /= n);
        match fit.normalization {
            Normalization::Counts => est.iter_mut().flatten().for_each(|v| *v *= n),
            Normalization::True => {
                for row in &mut est {
                    let sum = row.iter().fold(0.0, |a, b| a + b);
                    row.iter_mut().for_each(|v| *v /= sum);
                }
            }
            Normalization::Pred => {
                // Each column summed over the true classes in order.
                let mut sums = vec![0.0; k];
                for row in &est {
                    sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                for row in &mut est {
                    row.iter_mut().zip(&sums).for_each(|(v, s)| *v /= s);
                }
            }
            Normalization::All => {
                let flat: Vec<f64> = est.iter().flatten().copied().collect();
                let sum = pairwise_sum(&flat);
                est.iter_mut().flatten().for_each(|v| *v /= sum);
            }
        }
        let realized = labelled.map(|(t, p)| realized_matrix(t, p, k, fit.normalization));
        let (floor, ceiling) = fit.normalization.limits();
        let mut out = Vec::with_capacity(k * k);
        for i in 0..k {
            for j in 0..k {
                let cell = &fit.cells[i * k + j];
                let estimated = if pred.is_empty() { f64::NAN } else { est[i][j] };
                let sampling_error = if pred.is_empty() {
                    f64::NAN
                } else {
                    fit.normalization.sampling_error(cell.std, cell.fraction, n)
                };
                out.push((
                    cell_name(&self.classes[i], &self.classes[j]),
                    MetricChunk::banded(
                        estimated,
                        sampling_error,
                        realized.as_ref().map_or(f64::NAN, |r| r[i][j]),
                        (floor, ceiling),
                        (cell.lower_threshold, cell.upper_threshold),
                    ),
                ));
            }
        }
        out
    }
}

/// The expected confusion matrix's counts over rows with predicted classes `pred` and
/// calibrated probabilities `cal` (per class): cell `[i][j]` sums the probability of class `i`
/// over the rows predicted `j` (NannyML's `np.where(y_pred == j, proba_i, 0)`, summed).
fn expected_counts(pred: &[f64], cal: &[Vec<f64>], k: usize) -> Vec<Vec<f64>> {
    (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    let cell: Vec<f64> = pred
                        .iter()
                        .zip(&cal[i])
                        .map(|(&p, &q)| if p == j as f64 { q } else { 0.0 })
                        .collect();
                    pairwise_sum(&cell)
                })
                .collect()
        })
        .collect()
}

/// The targets and predictions of the rows that have both.
fn labelled_pairs(target: &[f64], pred: &[f64]) -> (Vec<f64>, Vec<f64>) {
    target
        .iter()
        .zip(pred)
        .filter(|(t, p)| !t.is_nan() && !p.is_nan())
        .map(|(&t, &p)| (t, p))
        .unzip()
}

/// The realised confusion matrix of a chunk (scikit-learn's `confusion_matrix(normalize=…)`,
/// NaN as 0), all NaN where NannyML gives NaN: no labelled row, or one class among the
/// targets or the predictions.
fn realized_matrix(
    target: &[f64],
    pred: &[f64],
    k: usize,
    normalization: Normalization,
) -> Vec<Vec<f64>> {
    let (t, p) = labelled_pairs(target, pred);
    let distinct = |v: &[f64]| {
        let mut seen = vec![false; k];
        v.iter().for_each(|&x| seen[x as usize] = true);
        seen.iter().filter(|&&s| s).count()
    };
    if t.is_empty() || distinct(&t) <= 1 || distinct(&p) <= 1 {
        return vec![vec![f64::NAN; k]; k];
    }
    let mut cm = vec![vec![0.0; k]; k];
    for (&a, &b) in t.iter().zip(&p) {
        cm[a as usize][b as usize] += 1.0;
    }
    let row_sums: Vec<f64> = cm.iter().map(|r| r.iter().sum()).collect();
    let col_sums: Vec<f64> = (0..k).map(|j| cm.iter().map(|r| r[j]).sum()).collect();
    let total = t.len() as f64;
    for (i, row) in cm.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let x = match normalization {
                Normalization::Counts => *v,
                Normalization::All => *v / total,
                Normalization::True => *v / row_sums[i],
                Normalization::Pred => *v / col_sums[j],
            };
            *v = if x.is_nan() { 0.0 } else { x };
        }
    }
    cm
}

/// The confusion matrix's fit on the reference (NannyML's
/// `multiclass_confusion_matrix_sampling_error_components` and the reference chunks'
/// realised cells for the thresholds).
fn confusion_fit(
    target: &[f64],
    pred: &[f64],
    chunks: &[std::ops::Range<usize>],
    k: usize,
    normalization: Normalization,
    position: usize,
) -> ConfusionFit {
    let n = target.len();
    let mut cm = vec![vec![0usize; k]; k];
    for (&t, &p) in target.iter().zip(pred) {
        cm[t as usize][p as usize] += 1;
    }
    let true_marginal: Vec<usize> = cm.iter().map(|r| r.iter().sum()).collect();
    let pred_marginal: Vec<usize> = (0..k).map(|j| cm.iter().map(|r| r[j]).sum()).collect();
    let per_chunk: Vec<Vec<Vec<f64>>> = chunks
        .iter()
        .map(|r| realized_matrix(&target[r.clone()], &pred[r.clone()], k, normalization))
        .collect();
    let mut cells = Vec::with_capacity(k * k);
    for i in 0..k {
        for j in 0..k {
            let length = match normalization {
                Normalization::True => true_marginal[i],
                Normalization::Pred => pred_marginal[j],
                Normalization::Counts | Normalization::All => n,
            };
            let mut v = vec![1.0; cm[i][j]];
            v.resize(length, 0.0);
            let values: Vec<f64> = per_chunk.iter().map(|m| m[i][j]).collect();
            let (lower, upper) = cbpe::thresholds(&values, normalization.limits());
            cells.push(CellFit {
                std: std_pop(&v),
                fraction: length as f64 / n as f64,
                lower_threshold: lower,
                upper_threshold: upper,
            });
        }
    }
    ConfusionFit {
        normalization,
        cells,
        position,
    }
}

/// NannyML's multiclass sampling error of `fitted` over a chunk of `n` rows.
fn sampling_error(fitted: &Fitted, n: f64, per_prediction: bool) -> f64 {
    let c = &fitted.components;
    let k = c.len() as f64;
    // sqrt(Σ var / (n · fraction)) / k
    let spread = || {
        let terms: Vec<f64> = c
            .iter()
            .map(|&(var, fraction)| var / (n * fraction))
            .collect();
        pairwise_sum(&terms).sqrt() / k
    };
    match fitted.metric {
        // "std of class variances underestimated sampling error by 20 %" (NannyML).
        Metric::RocAuc => spread() * 1.2,
        Metric::AveragePrecision => {
            let terms: Vec<f64> = c.iter().map(|&(var, size)| var * size / n).collect();
            (pairwise_sum(&terms) / k).sqrt()
        }
        Metric::Accuracy => c[0].0 / n.sqrt(),
        Metric::BusinessValue if per_prediction => c[0].0 / n.sqrt(),
        Metric::BusinessValue => c[0].0 * n / n.sqrt(),
        _ => spread(),
    }
}

/// Per class, the counts of true positives, false positives, false negatives and true
/// negatives of `target` against `pred` (class positions).
fn class_counts(target: &[f64], pred: &[f64], k: usize) -> Vec<[usize; 4]> {
    let mut counts = vec![[0usize; 4]; k];
    for (&t, &p) in target.iter().zip(pred) {
        for (c, cell) in counts.iter_mut().enumerate() {
            let c = c as f64;
            let index = match (t == c, p == c) {
                (true, true) => 0,
                (false, true) => 1,
                (true, false) => 2,
                (false, false) => 3,
            };
            cell[index] += 1;
        }
    }
    counts
}

/// The reference's sampling-error components of `metric` (NannyML's
/// `sampling_error.multiclass_classification`).
fn components(
    metric: Metric,
    target: &[f64],
    pred: &[f64],
    probabilities: &[&[f64]],
    business_value: Option<&BusinessValue>,
) -> Vec<(f64, f64)> {
    let k = probabilities.len();
    let n = target.len() as f64;
    // `ones` observations of 1 then `zeros` of 0: numpy's variance of that array.
    let variance = |ones: usize, zeros: usize| {
        let mut v = vec![1.0; ones];
        v.resize(ones + zeros, 0.0);
        let s = std_pop(&v);
        s * s
    };
    let counts = class_counts(target, pred, k);
    match metric {
        Metric::RocAuc => (0..k)
            .map(|c| {
                let (std, fraction) =
                    cbpe::roc_auc_components(&is_class(target, c), probabilities[c]);
                (std * std, fraction)
            })
            .collect(),
        Metric::AveragePrecision => {
            let size = (target.len() / 2).min(AP_MAX_RESAMPLE_SIZE);
            let mut rng = RandomState::new(AP_SEED);
            let draws: Vec<Vec<Vec<usize>>> = (0..k)
                .map(|_| {
                    (0..AP_RESAMPLES)
                        .map(|_| (0..size).map(|_| rng.randint(target.len())).collect())
                        .collect()
                })
                .collect();
            (0..k)
                .map(|c| {
                    let y = is_class(target, c);
                    let results: Vec<f64> = draws[c]
                        .par_iter()
                        .map(|idx| {
                            let t: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
                            let s: Vec<f64> = idx.iter().map(|&i| probabilities[c][i]).collect();
                            cbpe::average_precision(&t, &s)
                        })
                        .collect();
                    let std = std_pop(&results);
                    (std * std, size as f64)
                })
                .collect()
        }
        Metric::Accuracy => {
            let correct = target.iter().zip(pred).filter(|(t, p)| t == p).count();
            vec![(variance(correct, target.len() - correct).sqrt(), 1.0)]
        }
        Metric::BusinessValue => {
            let Some(bv) = business_value else {
                return vec![(f64::NAN, 1.0)];
            };
            let values: Vec<f64> = target
                .iter()
                .zip(pred)
                .map(|(&t, &p)| bv.matrix[t as usize][p as usize])
                .collect();
            // pandas' Series.std: one degree of freedom.
            vec![(std_sample(&values), 1.0)]
        }
        m => counts
            .iter()
            .map(|&[tp, fp, fn_, tn]| match m {
                Metric::F1 => (variance(tp, fn_ + fp), (tp + fn_ + fp) as f64 / n),
                Metric::Precision => (variance(tp, fp), (tp + fp) as f64 / n),
                Metric::Recall => (variance(tp, fn_), (tp + fn_) as f64 / n),
                Metric::Specificity => (variance(tn, fp), (tn + fp) as f64 / n),
                _ => (f64::NAN, 0.0),
            })
            .collect(),
    }
}

/// The realised value of `metric` over a chunk's rows with targets: scikit-learn's macro
/// averages and NannyML's NaN rules (ROC AUC needs every class among the targets; the rates
/// need two classes among the targets and among the predictions; average precision two
/// among the targets).
fn realized(
    metric: Metric,
    target: &[f64],
    pred: &[f64],
    probabilities: &[&[f64]],
    business_value: Option<&BusinessValue>,
) -> f64 {
    let k = probabilities.len();
    let distinct = |v: &[f64]| {
        let mut seen = vec![false; k];
        for &x in v {
            seen[x as usize] = true;
        }
        seen.iter().filter(|&&s| s).count()
    };
    let mean = |v: Vec<f64>| pairwise_sum(&v) / v.len() as f64;
    match metric {
        Metric::RocAuc | Metric::AveragePrecision => {
            let rows: Vec<usize> = (0..target.len())
                .filter(|&i| !target[i].is_nan() && probabilities.iter().all(|p| !p[i].is_nan()))
                .collect();
            let t: Vec<f64> = rows.iter().map(|&i| target[i]).collect();
            let present = distinct(&t);
            // scikit-learn's AP of a chunk missing a class refuses the scores' shape.
            if t.is_empty() || present < k {
                return f64::NAN;
            }
            mean(
                (0..k)
                    .map(|c| {
                        let y = is_class(&t, c);
                        let s: Vec<f64> = rows.iter().map(|&i| probabilities[c][i]).collect();
                        if metric == Metric::RocAuc {
                            let positive: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
                            crate::model::eval::roc_auc(&positive, &s).unwrap_or(f64::NAN)
                        } else {
                            cbpe::average_precision(&y, &s)
                        }
                    })
                    .collect(),
            )
        }
        _ => {
            let (t, p) = labelled_pairs(target, pred);
            if t.is_empty() {
                return f64::NAN;
            }
            if metric == Metric::BusinessValue {
                let Some(bv) = business_value else {
                    return f64::NAN;
                };
                let mut cm = vec![vec![0.0; k]; k];
                for (&a, &b) in t.iter().zip(&p) {
                    cm[a as usize][b as usize] += 1.0;
                }
                return bv.of(&cm);
            }
            if distinct(&t) <= 1 || distinct(&p) <= 1 {
                return f64::NAN;
            }
            let counts = class_counts(&t, &p, k);
            let ratio = |num: f64, den: f64| if den != 0.0 { num / den } else { 0.0 };
            let per_class = |f: &dyn Fn([f64; 4]) -> f64| -> f64 {
                mean(counts.iter().map(|c| f(c.map(|v| v as f64))).collect())
            };
            match metric {
                Metric::F1 => per_class(&|[tp, fp, fn_, _]| ratio(2.0 * tp, 2.0 * tp + fp + fn_)),
                Metric::Precision => per_class(&|[tp, fp, _, _]| ratio(tp, tp + fp)),
                Metric::Recall => per_class(&|[tp, _, fn_, _]| ratio(tp, tp + fn_)),
                Metric::Specificity => per_class(&|[_, fp, _, tn]| tn / (tn + fp)),
                Metric::Accuracy => {
                    let correct = t.iter().zip(&p).filter(|(a, b)| a == b).count();
                    correct as f64 / t.len() as f64
                }
                _ => f64::NAN,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes over `n` rows from a fixed recipe: probabilities that favour the target
    /// most of the time, the prediction the most probable class.
    fn outputs(n: usize) -> Outputs {
        let mut rng = RandomState::new(3);
        let mut probabilities = vec![Vec::new(); 3];
        let (mut prediction, mut target, mut score) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let t = rng.randint(3);
            let mut p: Vec<f64> = (0..3)
                .map(|c| rng.random_sample() + if c == t { 0.8 } else { 0.0 })
                .collect();
            let sum: f64 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= sum);
            let best = (0..3).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            for c in 0..3 {
                probabilities[c].push(p[c]);
            }
            prediction.push(best as f64);
            target.push(t as f64);
            score.push(p[best]);
        }
        Outputs {
            score,
            prediction,
            target: Some(target),
            classes: vec!["a".into(), "b".into(), "c".into()],
            probabilities,
        }
    }

    fn fit(reference: &Outputs) -> MulticlassCbpe {
        let chunks: Vec<_> = (0..6).map(|k| k * 100..(k + 1) * 100).collect();
        MulticlassCbpe::fit(
            reference,
            &chunks,
            &METRICS[..7],
            None,
            Normalization::Counts,
        )
        .unwrap()
    }

    #[test]
    fn a_row_without_a_probability_or_prediction_is_left_out_of_the_estimates() {
        let reference = outputs(600);
        let cbpe = fit(&reference);
        let mut analysis = outputs(200);
        let whole = {
            let cal = cbpe.calibrated(&analysis);
            cbpe.chunk(&analysis, &cal, 1..200)
        };
        // Row 0 loses its probability of b: the chunk 0..200 estimates as 1..200 does.
        analysis.probabilities[1][0] = f64::NAN;
        let cal = cbpe.calibrated(&analysis);
        let gapped = cbpe.chunk(&analysis, &cal, 0..200);
        for ((m, a), (_, b)) in gapped.iter().zip(&whole) {
            assert_eq!(a.estimated, b.estimated, "{m:?}");
            assert_eq!(a.sampling_error, b.sampling_error, "{m:?}");
        }
        // And one without a prediction.
        analysis.probabilities[1][0] = 0.5;
        analysis.prediction[0] = f64::NAN;
        let cal = cbpe.calibrated(&analysis);
        let gapped = cbpe.chunk(&analysis, &cal, 0..200);
        for ((m, a), (_, b)) in gapped.iter().zip(&whole) {
            assert_eq!(a.estimated, b.estimated, "{m:?}");
        }
    }

    #[test]
    fn realised_roc_auc_needs_every_class_among_the_targets() {
        let reference = outputs(600);
        let cbpe = fit(&reference);
        let mut analysis = outputs(200);
        // Every target of the chunk is a or b.
        for t in analysis.target.as_mut().unwrap().iter_mut() {
            if *t == 2.0 {
                *t = 0.0;
            }
        }
        let cal = cbpe.calibrated(&analysis);
        let chunk = cbpe.chunk(&analysis, &cal, 0..200);
        let get = |m: Metric| chunk.iter().find(|(x, _)| x == m.name()).unwrap().1;
        assert!(get(Metric::RocAuc).realized.is_nan());
        assert!(get(Metric::AveragePrecision).realized.is_nan());
        assert!(get(Metric::Accuracy).realized.is_finite());
        assert!(get(Metric::RocAuc).estimated.is_finite());
    }

    #[test]
    fn a_reference_missing_a_class_is_refused() {
        let mut reference = outputs(600);
        for t in reference.target.as_mut().unwrap().iter_mut() {
            if *t == 1.0 {
                *t = 0.0;
            }
        }
        let chunks = [0..300, 300..600];
        let e = MulticlassCbpe::fit(
            &reference,
            &chunks,
            &METRICS[..6],
            None,
            Normalization::Counts,
        )
        .unwrap_err();
        assert!(e.to_string().contains("never hold b"), "{e}");
    }
}
