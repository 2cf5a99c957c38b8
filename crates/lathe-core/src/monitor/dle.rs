//! Direct loss estimation (DLE) of a regressor, NannyML's recipe: per metric, a
//! gradient-boosted model ([`super::gbdt`]) learns the reference rows' loss (the absolute,
//! percentage, squared or squared-log error) from the features and the prediction; a chunk's
//! estimate is the mean of its rows' predicted losses (clipped at 0; its root for RMSE and
//! RMSLE). The sampling errors, the realised values and the thresholds (the reference chunks'
//! realised mean ± 3 std, the lower one at least 0) are NannyML's arithmetic exactly; the
//! estimate depends on the learner and is judged by how close it comes to the realised value.

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cbpe::{Metric, MetricChunk, Outputs};
use super::gbdt::{Column, Gbdt};
use super::{SAMPLING_ERROR_RANGE, standard_deviation_thresholds};
use crate::numeric::{pairwise_sum, std_pop};
use crate::{Error, Result};

/// One metric's fit: its loss model and what the reference's losses and chunks taught.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fitted {
    pub metric: Metric,
    model: Gbdt,
    /// The observation-level loss's standard deviation over the reference (and its mean, for
    /// the root metrics' sampling error).
    loss_std: f64,
    loss_mean: f64,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
}

/// DLE fitted on a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dle {
    pub metrics: Vec<Fitted>,
}

/// A row's loss for `metric` (the root metrics learn the squared ones).
fn loss(metric: Metric, y: f64, p: f64) -> f64 {
    match metric {
        Metric::Mae => (y - p).abs(),
        // scikit-learn's and NannyML's epsilon against a zero target.
        Metric::Mape => (y - p).abs() / f64::EPSILON.max(y.abs()),
        Metric::Mse | Metric::Rmse => (y - p) * (y - p),
        Metric::Msle | Metric::Rmsle => {
            let d = y.ln_1p() - p.ln_1p();
            d * d
        }
        _ => f64::NAN,
    }
}

/// The loss whose spread gives the sampling error, as NannyML computes it (MAPE's without the
/// absolute value of the target or the epsilon, the log metrics' with `log(1 + x)`).
fn sampling_loss(metric: Metric, y: f64, p: f64) -> f64 {
    match metric {
        Metric::Mape => (y - p).abs() / y,
        Metric::Msle | Metric::Rmsle => {
            let d = (1.0 + y).ln() - (1.0 + p).ln();
            d * d
        }
        _ => loss(metric, y, p),
    }
}

/// The realised metric over rows with both a target and a prediction; NaN without any.
fn realized(metric: Metric, outputs: &Outputs, rows: Range<usize>) -> f64 {
    let Some(target) = &outputs.target else {
        return f64::NAN;
    };
    let losses: Vec<f64> = rows
        .filter(|&i| !target[i].is_nan() && !outputs.prediction[i].is_nan())
        .map(|i| loss(metric, target[i], outputs.prediction[i]))
        .collect();
    if losses.is_empty() {
        return f64::NAN;
    }
    let mean = pairwise_sum(&losses) / losses.len() as f64;
    match metric {
        Metric::Rmse | Metric::Rmsle => mean.sqrt(),
        _ => mean,
    }
}

/// A chunk's estimate from its rows' predicted losses.
fn estimate(metric: Metric, predicted: &[f64]) -> f64 {
    if predicted.is_empty() {
        return f64::NAN;
    }
    let clipped: Vec<f64> = predicted.iter().map(|&v| v.max(0.0)).collect();
    let mean = pairwise_sum(&clipped) / clipped.len() as f64;
    match metric {
        Metric::Rmse | Metric::Rmsle => mean.sqrt(),
        _ => mean,
    }
}

/// Refuses what a metric cannot take: the log metrics need targets and predictions above -1.
pub fn check(metrics: &[Metric], outputs: &Outputs, side: &str) -> Result<()> {
    if !metrics
        .iter()
        .any(|m| matches!(m, Metric::Msle | Metric::Rmsle))
    {
        return Ok(());
    }
    let columns = [
        ("prediction", Some(&outputs.prediction)),
        ("target", outputs.target.as_ref()),
    ];
    for (what, values) in columns {
        if let Some((row, v)) = values
            .into_iter()
            .flatten()
            .enumerate()
            .find(|(_, v)| **v < 0.0)
        {
            return Err(Error::bad_argument(
                "metrics",
                format!(
                    "the {what} of row {} of {side} is {v}: msle and rmsle need values of 0 or more; leave them out (--metrics mae,mape,mse,rmse)",
                    row + 1
                ),
            ));
        }
    }
    Ok(())
}

impl Dle {
    /// Fits each metric's loss model on the reference rows with a target and a prediction
    /// (`features` with the prediction as their last column), and its thresholds on `chunks`.
    pub fn fit(
        features: &[Column],
        outputs: &Outputs,
        chunks: &[Range<usize>],
        metrics: &[Metric],
    ) -> Result<Dle> {
        let target = outputs.target.as_deref().ok_or_else(|| {
            Error::bad_argument(
                "target",
                "the reference needs its targets to learn the losses".to_owned(),
            )
        })?;
        let kept: Vec<usize> = (0..outputs.len())
            .filter(|&i| !target[i].is_nan() && !outputs.prediction[i].is_nan())
            .collect();
        if kept.is_empty() {
            return Err(Error::bad_argument(
                "target",
                "no reference row has both a target and a prediction: DLE learns the losses from them".to_owned(),
            ));
        }
        let train: Vec<Column> = features.iter().map(|c| pick(c, &kept)).collect();
        let fitted = metrics
            .par_iter()
            .map(|&metric| {
                let losses: Vec<f64> = kept
                    .iter()
                    .map(|&i| loss(metric, target[i], outputs.prediction[i]))
                    .collect();
                let spread: Vec<f64> = kept
                    .iter()
                    .map(|&i| sampling_loss(metric, target[i], outputs.prediction[i]))
                    .collect();
                let model = Gbdt::fit(&train, &losses);
                let realised: Vec<f64> = chunks
                    .iter()
                    .map(|r| realized(metric, outputs, r.clone()))
                    .collect();
                let (lower, upper) = match standard_deviation_thresholds(&realised) {
                    // NannyML's lower limit for a loss: 0.
                    Some((lo, hi)) => (Some(lo.max(0.0)), Some(hi)),
                    None => (None, None),
                };
                Fitted {
                    metric,
                    model,
                    loss_std: std_pop(&spread),
                    loss_mean: pairwise_sum(&spread) / spread.len() as f64,
                    lower_threshold: lower,
                    upper_threshold: upper,
                }
            })
            .collect();
        Ok(Dle { metrics: fitted })
    }

    /// Each metric's predicted loss for every row of a side (features as in [`Dle::fit`]).
    pub fn predict(&self, features: &[Column]) -> Vec<Vec<f64>> {
        self.metrics
            .iter()
            .map(|f| f.model.predict(features))
            .collect()
    }

    /// Every metric in the chunk of `rows`, from the side's predicted losses.
    pub fn chunk(
        &self,
        outputs: &Outputs,
        predicted: &[Vec<f64>],
        rows: Range<usize>,
    ) -> Vec<(Metric, MetricChunk)> {
        self.metrics
            .iter()
            .zip(predicted)
            .map(|(f, losses)| {
                let with_prediction: Vec<f64> = rows
                    .clone()
                    .filter(|&i| !outputs.prediction[i].is_nan())
                    .map(|i| losses[i])
                    .collect();
                let estimated = estimate(f.metric, &with_prediction);
                let n = with_prediction.len() as f64;
                let sampling_error = if n == 0.0 {
                    f64::NAN
                } else {
                    match f.metric {
                        Metric::Rmse | Metric::Rmsle => {
                            (f.loss_std * f.loss_std / (4.0 * n * f.loss_mean)).sqrt()
                        }
                        _ => f.loss_std / n.sqrt(),
                    }
                };
                let lower_threshold = f.lower_threshold.unwrap_or(f64::NAN);
                let upper_threshold = f.upper_threshold.unwrap_or(f64::NAN);
                let alert = f.lower_threshold.is_some_and(|t| estimated < t)
                    || f.upper_threshold.is_some_and(|t| estimated > t);
                (
                    f.metric,
                    MetricChunk {
                        estimated,
                        sampling_error,
                        realized: realized(f.metric, outputs, rows.clone()),
                        lower_confidence: (estimated - SAMPLING_ERROR_RANGE * sampling_error)
                            .max(0.0),
                        upper_confidence: estimated + SAMPLING_ERROR_RANGE * sampling_error,
                        lower_threshold,
                        upper_threshold,
                        alert,
                    },
                )
            })
            .collect()
    }
}

fn pick(column: &Column, rows: &[usize]) -> Column {
    match column {
        Column::Numbers(v) => Column::Numbers(rows.iter().map(|&i| v[i]).collect()),
        Column::Categories { codes, count } => Column::Categories {
            codes: rows.iter().map(|&i| codes[i]).collect(),
            count: *count,
        },
    }
}
