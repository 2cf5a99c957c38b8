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

use super::{Predicted, Target};
use crate::job::Job;
use crate::model::eval;
use crate::numeric::RandomState;
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

    /// `scoring`, else scikit-learn's default: accuracy for a classifier, r2 for a regressor.
    pub fn or_default(scoring: Option<Scoring>, target: &Target) -> Scoring {
        scoring.unwrap_or(if target.classes.is_some() {
            Scoring::Accuracy
        } else {
            Scoring::R2
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

/// [`Truth`] owned: read from the target column's values as text.
#[derive(Debug)]
pub enum Truths {
    Classes(Vec<usize>),
    Values(Vec<f64>),
}

impl Truths {
    /// The truth of `texts` (the target column `name`'s values) for `target`'s model: class
    /// indexes of a classifier's classes, else numbers.
    pub fn of(texts: &[String], name: &str, target: &Target) -> Result<Truths> {
        Ok(match &target.classes {
            Some(classes) => Truths::Classes(
                texts
                    .iter()
                    .map(|t| {
                        classes
                            .iter()
                            .position(|c| c == t)
                            .ok_or_else(|| Error::BadArgument {
                                argument: "target",
                                detail: format!(
                                    "{name:?} holds {t:?}, which is not one of the model's classes ({})",
                                    classes.join(", ")
                                ),
                            })
                    })
                    .collect::<Result<_>>()?,
            ),
            None => Truths::Values(
                texts
                    .iter()
                    .map(|t| {
                        t.parse::<f64>().map_err(|_| Error::BadArgument {
                            argument: "target",
                            detail: format!("{name:?} holds {t:?}, not a number"),
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
        })
    }

    pub fn as_truth(&self) -> Truth<'_> {
        match self {
            Truths::Classes(c) => Truth::Classes(c),
            Truths::Values(v) => Truth::Values(v),
        }
    }
}

fn score(target: &Target, scoring: Scoring, p: &Predicted, truth: &Truth) -> Result<f64> {
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

/// What permutation importance permutes and predicts: the rows in memory ([`InMemory`]), or a
/// table read a slice at a time (`super::source`).
pub trait Permuted: Sync {
    fn rows(&self) -> usize;
    /// Feature `j` of every row, as fed to the model.
    fn column(&self, j: usize) -> Result<Vec<f32>>;
    /// The predictions of every row, feature `j` replaced by `column` when given.
    fn predict(&self, target: &Target, replaced: Option<(usize, &[f32])>) -> Result<Predicted>;
    /// How many features may be permuted at once (each holds its own column, index array and
    /// predictions).
    fn concurrency(&self) -> usize;
}

/// Rows in memory (row-major, f32 as fed to the model).
#[derive(Debug)]
pub struct InMemory<'a> {
    pub x: &'a [f32],
    pub width: usize,
}

impl Permuted for InMemory<'_> {
    fn rows(&self) -> usize {
        self.x.len() / self.width
    }

    fn column(&self, j: usize) -> Result<Vec<f32>> {
        Ok(self.x.iter().skip(j).step_by(self.width).copied().collect())
    }

    fn predict(&self, target: &Target, replaced: Option<(usize, &[f32])>) -> Result<Predicted> {
        match replaced {
            None => target.predict_all(self.x),
            Some((j, column)) => {
                let mut x = self.x.to_vec();
                for (r, &v) in column.iter().enumerate() {
                    x[r * self.width + j] = v;
                }
                target.predict_all(&x)
            }
        }
    }

    fn concurrency(&self) -> usize {
        usize::MAX
    }
}

/// How to permute: scorer, repeats per feature, seed.
#[derive(Debug, Clone, Copy)]
pub struct ImportanceSettings {
    pub scoring: Scoring,
    pub repeats: usize,
    pub seed: u32,
}

/// Permutation importance of every feature of `rows`.
pub fn permutation_importance(
    target: &Target,
    features: &[String],
    rows: &dyn Permuted,
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
    let n = rows.rows();
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
    let baseline = score(target, scoring, &rows.predict(target, None)?, truth)?;
    let column_seed = RandomState::new(seed).randint_i31();
    let done = AtomicU64::new(0);
    // scikit-learn's order: each repeat shuffles the index array again and permutes the
    // already permuted column.
    let feature = |j: usize| -> Result<FeatureImportance> {
        let mut rng = RandomState::new(column_seed);
        let mut idx: Vec<usize> = (0..n).collect();
        let mut column = rows.column(j)?;
        let mut drops = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            job.cancel.check()?;
            rng.shuffle(&mut idx);
            column = idx.iter().map(|&i| column[i]).collect();
            let p = rows.predict(target, Some((j, &column)))?;
            drops.push(baseline - score(target, scoring, &p, truth)?);
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
    };
    // In groups of `concurrency` features, a group in parallel: no more are in flight however
    // rayon's threads steal work (the predictions are parallel too).
    let order: Vec<usize> = (0..width).collect();
    let mut features_out: Vec<FeatureImportance> = Vec::with_capacity(width);
    for group in order.chunks(rows.concurrency().max(1)) {
        let done: Vec<FeatureImportance> = group
            .par_iter()
            .map(|&j| feature(j))
            .collect::<Result<_>>()?;
        features_out.extend(done);
    }
    Ok(Importance {
        scoring,
        repeats,
        seed,
        baseline_score: baseline,
        features: features_out,
    })
}
