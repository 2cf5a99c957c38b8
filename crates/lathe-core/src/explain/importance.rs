//! Permutation importance as scikit-learn's `permutation_importance` computes it.
//!
//! The baseline score minus the score with one feature's column shuffled, `repeats` times per
//! feature. As in scikit-learn, a seed `s` gives `RandomState(s).randint(2**31)`, every feature
//! starts a `RandomState` from that number, and each repeat shuffles the index array again and
//! permutes the already permuted column, so for the same seed the permutations are
//! scikit-learn's. The mean and the (population) standard deviation of the drops are reported.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Target;
use super::rng::RandomState;
use crate::job::Job;
use crate::model::eval;
use crate::{Error, Result};

/// A scikit-learn scorer name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    Accuracy,
    RocAuc,
    NegLogLoss,
    R2,
    NegMeanAbsoluteError,
    NegRootMeanSquaredError,
}

impl Scoring {
    pub fn parse(text: &str) -> Result<Scoring> {
        Ok(match text {
            "accuracy" => Scoring::Accuracy,
            "roc_auc" => Scoring::RocAuc,
            "neg_log_loss" => Scoring::NegLogLoss,
            "r2" => Scoring::R2,
            "neg_mean_absolute_error" => Scoring::NegMeanAbsoluteError,
            "neg_root_mean_squared_error" => Scoring::NegRootMeanSquaredError,
            other => {
                return Err(Error::BadArgument {
                    argument: "scoring",
                    detail: format!(
                        "{other:?} is not one of accuracy, roc_auc, neg_log_loss, r2, neg_mean_absolute_error, neg_root_mean_squared_error"
                    ),
                });
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scoring::Accuracy => "accuracy",
            Scoring::RocAuc => "roc_auc",
            Scoring::NegLogLoss => "neg_log_loss",
            Scoring::R2 => "r2",
            Scoring::NegMeanAbsoluteError => "neg_mean_absolute_error",
            Scoring::NegRootMeanSquaredError => "neg_root_mean_squared_error",
        }
    }

    fn for_classifier(self) -> bool {
        matches!(
            self,
            Scoring::Accuracy | Scoring::RocAuc | Scoring::NegLogLoss
        )
    }
}

/// One feature's importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeatureImportance {
    pub name: String,
    pub importance_mean: f64,
    pub importance_std: f64,
    /// The drop in score of each repeat.
    pub importances: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Importance {
    pub scoring: Scoring,
    pub repeats: usize,
    pub seed: u32,
    pub baseline_score: f64,
    pub features: Vec<FeatureImportance>,
}

/// The true values: class indexes for a classifier, numbers for a regressor.
#[derive(Debug)]
pub enum Truth<'a> {
    Classes(&'a [usize]),
    Values(&'a [f64]),
}

fn score(target: &Target, scoring: Scoring, x: &[f32], truth: &Truth) -> Result<f64> {
    let p = target.predict_all(x)?;
    Ok(match (truth, scoring) {
        (Truth::Classes(y), Scoring::Accuracy) => {
            y.iter().zip(&p.labels).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
        }
        (Truth::Classes(y), Scoring::RocAuc) => {
            let classes = target.classes.as_ref().map_or(0, Vec::len);
            let positive: Vec<bool> = y.iter().map(|&c| c == 1).collect();
            let s: Vec<f64> = p.values.iter().skip(1).step_by(classes).copied().collect();
            eval::roc_auc(&positive, &s)?
        }
        (Truth::Classes(y), Scoring::NegLogLoss) => {
            let labels = target.classes.clone().unwrap_or_default();
            let (metrics, _, _) = eval::classification_metrics(&labels, y, &p.labels, &p.values)?;
            -metrics.get("log_loss").copied().unwrap_or(f64::NAN)
        }
        (Truth::Values(y), s) => {
            let m = eval::regression_metrics(y, &p.values)?;
            match s {
                Scoring::R2 => m["r2"],
                Scoring::NegMeanAbsoluteError => -m["mae"],
                Scoring::NegRootMeanSquaredError => -m["rmse"],
                _ => unreachable!("checked by the caller"),
            }
        }
        _ => unreachable!("checked by the caller"),
    })
}

/// How to permute: scorer, repeats per feature, seed.
#[derive(Debug, Clone, Copy)]
pub struct ImportanceSettings {
    pub scoring: Scoring,
    pub repeats: usize,
    pub seed: u32,
}

/// Permutation importance of every feature of `x` (`rows × features.len()`).
pub fn permutation_importance(
    target: &Target,
    features: &[String],
    x: &[f32],
    truth: &Truth,
    settings: ImportanceSettings,
    job: &Job,
) -> Result<Importance> {
    let ImportanceSettings {
        scoring,
        repeats,
        seed,
    } = settings;
    let width = features.len();
    let rows = x.len() / width;
    let classifier = matches!(truth, Truth::Classes(_));
    if scoring.for_classifier() != classifier {
        return Err(Error::BadArgument {
            argument: "scoring",
            detail: format!(
                "{} scores a {}, and this model is a {}",
                scoring.name(),
                if scoring.for_classifier() {
                    "classifier"
                } else {
                    "regressor"
                },
                if classifier {
                    "classifier"
                } else {
                    "regressor"
                }
            ),
        });
    }
    if scoring == Scoring::RocAuc && target.classes.as_ref().map(Vec::len) != Some(2) {
        return Err(Error::BadArgument {
            argument: "scoring",
            detail: "roc_auc needs a binary classifier".to_owned(),
        });
    }
    if repeats == 0 {
        return Err(Error::BadArgument {
            argument: "repeats",
            detail: "at least one repeat".to_owned(),
        });
    }
    let baseline = score(target, scoring, x, truth)?;
    let column_seed = RandomState::new(seed).randint_i31();
    let done = AtomicU64::new(0);
    let features_out: Vec<FeatureImportance> = (0..width)
        .into_par_iter()
        .map(|j| {
            let mut rng = RandomState::new(column_seed);
            let mut idx: Vec<usize> = (0..rows).collect();
            let mut xp = x.to_vec();
            let mut drops = Vec::with_capacity(repeats);
            for _ in 0..repeats {
                job.cancel.check()?;
                rng.shuffle(&mut idx);
                let col: Vec<f32> = idx.iter().map(|&i| xp[i * width + j]).collect();
                for (r, v) in col.into_iter().enumerate() {
                    xp[r * width + j] = v;
                }
                drops.push(baseline - score(target, scoring, &xp, truth)?);
            }
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            job.progress("permuting features", d, Some(width as u64));
            let mean = drops.iter().sum::<f64>() / repeats as f64;
            let var = drops.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / repeats as f64;
            Ok(FeatureImportance {
                name: features[j].clone(),
                importance_mean: mean,
                importance_std: var.sqrt(),
                importances: drops,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Importance {
        scoring,
        repeats,
        seed,
        baseline_score: baseline,
        features: features_out,
    })
}
