//! Explanations of a model's predictions: SHAP values, permutation importance, partial
//! dependence and ICE, with the reference tools' algorithms and defaults.
//!
//! - [`shap`]: exact (interventional, every coalition, ≤ 10 features), permutation (shap's
//!   antithetic PermutationExplainer, with numpy's draws for the same seed), linear (closed
//!   form over [`Model::linear_form`]) and interventional TreeSHAP over the parsed ONNX trees.
//! - [`importance`]: scikit-learn's `permutation_importance`, the same permutations for a seed.
//! - [`pdp`]: scikit-learn's brute-force `partial_dependence` on its grid, with ICE lines.
//!
//! Every method explains one number per row, a [`Target`]: the probability of one class for a
//! classifier (the positive class of a binary one), the prediction of a regressor; linear and
//! tree SHAP explain the score before the final transform (the margin) where that is what the
//! model sums, and say so. Results are stored per model version, dataset version and settings
//! ([`store`]).

pub mod chart;
mod dense;
mod forest;
pub mod importance;
pub mod kernel;
pub mod lime;
pub mod pdp;
mod picks;
pub mod shap;
pub mod source;
pub mod store;
mod treeshap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::job::Job;
use crate::model::tensor::Tensor;
use crate::model::{Model, eval, feature_values};
use crate::{Error, Result};

/// What number an explanation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// A class probability.
    Probability,
    /// The score before the model's final transform (log-odds for a logistic link).
    Margin,
    /// A regressor's prediction.
    Prediction,
}

/// The explained output, as results state it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ExplainedOutput"))]
pub struct Output {
    pub kind: OutputKind,
    /// The class, for a classifier.
    pub class: Option<String>,
    /// In words, e.g. `probability of class 1`.
    pub description: String,
}

impl Output {
    pub fn new(kind: OutputKind, class: Option<&str>) -> Output {
        let description = match (kind, class) {
            (OutputKind::Probability, Some(c)) => format!("probability of class {c}"),
            (OutputKind::Margin, Some(c)) => {
                format!("margin (score before the link) of class {c}")
            }
            (OutputKind::Margin, None) => "margin (score before the link)".to_owned(),
            _ => "prediction".to_owned(),
        };
        Output {
            kind,
            class: class.map(str::to_owned),
            description,
        }
    }
}

/// One number per row of a model: what explanations explain.
#[derive(Debug)]
pub struct Target<'a> {
    pub model: &'a Model,
    pub width: usize,
    /// The output the number is read from, and its column.
    output: usize,
    column: usize,
    /// A classifier's classes in probability-column order.
    pub classes: Option<Vec<String>>,
    /// The explained class's index in `classes`.
    pub class_index: Option<usize>,
    /// The label output, for accuracy.
    label_output: Option<usize>,
    pub output_spec: Output,
}

impl<'a> Target<'a> {
    /// Finds the output to explain by predicting `probe` (one row): the probability column of
    /// `class` (default: the second class of two, else the first), or the prediction.
    pub fn new(
        model: &'a Model,
        width: usize,
        class: Option<&str>,
        probe: &[f32],
    ) -> Result<Target<'a>> {
        let outputs = model.predict_here(&probe[..width], width)?;
        let prob = eval::probability_position(&outputs);
        let label_output = eval::label_position(&outputs);
        if let Some(p) = prob {
            let n = outputs[p].row_len();
            let classes = eval::probability_classes(model, &outputs[p])
                .unwrap_or_else(|| (0..n).map(|i| i.to_string()).collect());
            let index = match class {
                Some(c) => {
                    classes
                        .iter()
                        .position(|k| k == c)
                        .ok_or_else(|| Error::BadArgument {
                            argument: "class",
                            detail: format!(
                                "the model has no class {c:?}; its classes are {}",
                                classes.join(", ")
                            ),
                        })?
                }
                None if n == 2 => 1,
                None => 0,
            };
            let spec = Output::new(OutputKind::Probability, Some(&classes[index]));
            return Ok(Target {
                model,
                width,
                output: p,
                column: index,
                class_index: Some(index),
                classes: Some(classes),
                label_output,
                output_spec: spec,
            });
        }
        if class.is_some() {
            return Err(Error::BadArgument {
                argument: "class",
                detail: "the model outputs no class probabilities".to_owned(),
            });
        }
        let value = eval::prediction_position(&outputs).ok_or_else(|| Error::BadArgument {
            argument: "model",
            detail: "it has neither class probabilities nor a single numeric prediction to explain"
                .to_owned(),
        })?;
        Ok(Target {
            model,
            width,
            output: value,
            column: 0,
            classes: None,
            class_index: None,
            label_output,
            output_spec: Output::new(OutputKind::Prediction, None),
        })
    }

    fn pick(&self, outputs: &[Tensor]) -> Result<Vec<f64>> {
        let t = &outputs[self.output];
        let w = t.row_len().max(1);
        let all = t.to_f64("explain")?;
        Ok(all.iter().skip(self.column).step_by(w).copied().collect())
    }

    /// The explained number for rows `x` (row-major, `width` wide), in the calling thread.
    pub fn eval(&self, x: &[f32]) -> Result<Vec<f64>> {
        self.pick(&self.model.predict_here(x, self.width)?)
    }

    /// The same over many rows, in parallel blocks.
    pub fn eval_par(&self, x: &[f32]) -> Result<Vec<f64>> {
        let block = 2048 * self.width;
        let parts: Vec<Vec<f64>> = x
            .par_chunks(block.max(1))
            .map(|c| self.eval(c))
            .collect::<Result<_>>()?;
        Ok(parts.concat())
    }

    /// Every probability column (rows × classes) and the predicted class index per row, for a
    /// classifier; the prediction for a regressor. In parallel blocks.
    pub fn predict_all(&self, x: &[f32]) -> Result<Predicted> {
        let block = 2048 * self.width;
        let parts: Vec<Predicted> = x
            .par_chunks(block.max(1))
            .map(|c| {
                let out = self.model.predict_here(c, self.width)?;
                let values = out[self.output].to_f64("explain")?;
                let labels = match (self.label_output, &self.classes) {
                    (Some(l), Some(classes)) => eval::label_indexes(&out[l], classes)?,
                    _ => Vec::new(),
                };
                Ok(Predicted { values, labels })
            })
            .collect::<Result<_>>()?;
        let mut all = Predicted {
            values: Vec::new(),
            labels: Vec::new(),
        };
        for p in parts {
            all.values.extend(p.values);
            all.labels.extend(p.labels);
        }
        Ok(all)
    }
}

/// Full predictions of a block of rows.
#[derive(Debug)]
pub struct Predicted {
    /// Probabilities (rows × classes) or predictions (rows).
    pub values: Vec<f64>,
    /// Predicted class indexes (classifiers).
    pub labels: Vec<usize>,
}

/// The error for a column a frame lacks, listing the ones it has.
pub fn missing_column(argument: &'static str, name: &str, frame: &DataFrame) -> Error {
    Error::BadArgument {
        argument,
        detail: format!(
            "the data have no column {name:?}; the columns are: {}",
            frame
                .get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Parses `A..B` (0-based, B excluded, as pandas' `iloc[A:B]`) against `rows`.
pub fn parse_rows(text: &str, rows: usize) -> Result<std::ops::Range<usize>> {
    let bad = |detail: String| Error::BadArgument {
        argument: "rows",
        detail,
    };
    let (a, b) = text.split_once("..").ok_or_else(|| {
        bad(format!(
            "{text:?} is not a range A..B (0-based, B excluded)"
        ))
    })?;
    let a: usize = if a.trim().is_empty() {
        0
    } else {
        a.trim()
            .parse()
            .map_err(|_| bad(format!("{a:?} is not a row index")))?
    };
    let b: usize = if b.trim().is_empty() {
        rows
    } else {
        b.trim()
            .parse()
            .map_err(|_| bad(format!("{b:?} is not a row index")))?
    };
    if a >= b || b > rows {
        return Err(bad(format!(
            "rows {a}..{b} are out of range: the data have {rows} rows (0..{rows})"
        )));
    }
    Ok(a..b)
}

/// What to compute, with every setting (the key results are stored under).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ExplainRequest"))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Request {
    Shap {
        algorithm: shap::Algorithm,
        /// `A..B`, 0-based, B excluded; `None`: the first [`DEFAULT_SHAP_ROWS`] rows.
        rows: Option<String>,
        /// Background rows sampled (without replacement, numpy's draws for `seed`).
        background: usize,
        max_evals: usize,
        seed: u32,
        class: Option<String>,
        /// Coalitions per row for kernel SHAP (`None`: shap's `2M + 2048`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        nsamples: Option<usize>,
        /// Kernel SHAP's feature selection (`None`: shap's `num_features(10)`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional, type = "string"))]
        l1_reg: Option<kernel::L1Reg>,
    },
    Permutation {
        /// `None`: accuracy for a classifier, r2 for a regressor.
        scoring: Option<importance::Scoring>,
        repeats: usize,
        seed: u32,
        target: String,
        class: Option<String>,
    },
    Pdp {
        /// `None`: every feature.
        features: Option<Vec<String>>,
        grid_resolution: usize,
        class: Option<String>,
    },
    Lime {
        /// `A..B`, 0-based, B excluded; `None`: the first [`DEFAULT_LIME_ROWS`] rows.
        rows: Option<String>,
        samples: usize,
        num_features: usize,
        seed: u32,
        class: Option<String>,
    },
}

/// Rows LIME explains when `--rows` is not given (each costs `samples` model rows).
pub const DEFAULT_LIME_ROWS: usize = 20;

impl Request {
    /// The rows a SHAP or LIME request explains among `n`: its `--rows`, else its default
    /// count from the first row (every row for the other methods).
    pub fn rows(&self, n: usize) -> Result<std::ops::Range<usize>> {
        let (rows, default) = match self {
            Request::Shap { rows, .. } => (rows, DEFAULT_SHAP_ROWS),
            Request::Lime { rows, .. } => (rows, DEFAULT_LIME_ROWS),
            _ => (&None, n),
        };
        match rows {
            Some(r) => parse_rows(r, n),
            None => Ok(0..n.min(default)),
        }
    }

    /// The class whose output is explained (`None`: the model's default).
    pub fn class(&self) -> Option<&str> {
        match self {
            Request::Shap { class, .. }
            | Request::Permutation { class, .. }
            | Request::Pdp { class, .. }
            | Request::Lime { class, .. } => class.as_deref(),
        }
    }
}

/// Rows SHAP explains when `--rows` is not given.
pub const DEFAULT_SHAP_ROWS: usize = 1000;

/// Partial dependence of some features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Dependence {
    pub output: Output,
    pub grid_resolution: usize,
    pub features: Vec<pdp::FeatureDependence>,
}

/// A computed explanation; the JSON carries `"method"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Explanation {
    Shap(shap::ShapValues),
    Permutation(importance::Importance),
    Pdp(Dependence),
    Lime(lime::Lime),
}

/// A model with its feature order, and the data to explain it on.
#[derive(Debug)]
pub struct ExplainInput<'a> {
    pub model: &'a Model,
    pub features: &'a [String],
    pub frame: &'a DataFrame,
    /// Where SHAP's background is sampled from (default: `frame`).
    pub background: Option<&'a DataFrame>,
}

fn check_features(frame: &DataFrame, features: &[String], argument: &'static str) -> Result<()> {
    match features.iter().find(|f| frame.column(f.as_str()).is_err()) {
        Some(f) => Err(if argument == "background-data" {
            Error::BadArgument {
                argument,
                detail: format!(
                    "the background data have no column {f:?}; they need the model's features: {}",
                    features.join(", ")
                ),
            }
        } else {
            missing_column(argument, f, frame)
        }),
        None => Ok(()),
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// SHAP values of rows `range` of the data (`x64`: their features, row-major) against the
/// background rows `bg64` (already sampled) for a [`Request::Shap`].
fn shap_of(
    target: &Target,
    features: &[String],
    range: std::ops::Range<usize>,
    x64: &[f64],
    bg64: &[f64],
    request: &Request,
    job: &Job,
) -> Result<Explanation> {
    let Request::Shap {
        algorithm,
        max_evals,
        seed,
        nsamples,
        l1_reg,
        ..
    } = request
    else {
        return Err(Error::Compute {
            context: "cannot explain",
            detail: "SHAP values of a request that is not SHAP".to_owned(),
        });
    };
    let x = to_f32(x64);
    let background = to_f32(bg64);
    let values = shap::shap(
        &shap::ShapInput {
            target,
            features,
            x: &x,
            x64,
            rows: range.collect(),
            background: &background,
        },
        &shap::ShapSettings {
            algorithm: *algorithm,
            max_evals: *max_evals,
            seed: *seed,
            nsamples: *nsamples,
            l1_reg: l1_reg.unwrap_or_default(),
        },
        job,
    )?;
    Ok(Explanation::Shap(values))
}

/// Runs `request` on `input`.
pub fn explain(input: &ExplainInput, request: &Request, job: &Job) -> Result<Explanation> {
    let features = input.features;
    let width = features.len();
    if width == 0 {
        return Err(Error::BadArgument {
            argument: "features",
            detail: "the model has no feature columns".to_owned(),
        });
    }
    check_features(input.frame, features, "data")?;
    let n = input.frame.height();
    if n == 0 {
        return Err(Error::BadArgument {
            argument: "data",
            detail: "the data have no rows".to_owned(),
        });
    }
    let x64 = feature_values(input.frame, features)?;
    let x = to_f32(&x64);
    let target = Target::new(input.model, width, request.class(), &x)?;
    match request {
        Request::Shap {
            background, seed, ..
        } => {
            let range = request.rows(n)?;
            let bg_frame = input.background.unwrap_or(input.frame);
            check_features(
                bg_frame,
                features,
                if input.background.is_some() {
                    "background-data"
                } else {
                    "data"
                },
            )?;
            if *background == 0 {
                return Err(Error::BadArgument {
                    argument: "background",
                    detail: "at least one background row".to_owned(),
                });
            }
            let bg64 = if input.background.is_some() {
                feature_values(bg_frame, features)?
            } else {
                x64.clone()
            };
            let bg_rows = bg64.len() / width;
            if bg_rows == 0 {
                return Err(Error::BadArgument {
                    argument: "background-data",
                    detail: "the background data have no rows".to_owned(),
                });
            }
            let pick = crate::numeric::rng::sample_rows(bg_rows, *background, *seed);
            let bg: Vec<f64> = pick
                .iter()
                .flat_map(|&r| bg64[r * width..(r + 1) * width].iter().copied())
                .collect();
            let rows = &x64[range.start * width..range.end * width];
            shap_of(&target, features, range, rows, &bg, request, job)
        }
        Request::Permutation {
            scoring,
            repeats,
            seed,
            target: target_col,
            ..
        } => {
            let column = input
                .frame
                .column(target_col)
                .map_err(|_| missing_column("target", target_col, input.frame))?;
            if features.contains(target_col) {
                return Err(Error::BadArgument {
                    argument: "target",
                    detail: format!("{target_col:?} is one of the model's features"),
                });
            }
            let texts = crate::model::eval::target_texts(column, target_col)?;
            let truths = importance::Truths::of(&texts, target_col, &target)?;
            let scoring = importance::Scoring::or_default(*scoring, &target);
            Ok(Explanation::Permutation(
                importance::permutation_importance(
                    &target,
                    features,
                    &importance::InMemory { x: &x, width },
                    &truths.as_truth(),
                    importance::ImportanceSettings {
                        scoring,
                        repeats: *repeats,
                        seed: *seed,
                    },
                    job,
                )?,
            ))
        }
        Request::Lime {
            samples,
            num_features,
            seed,
            ..
        } => {
            let range = request.rows(n)?;
            // The discretizer is fitted on the background data when given, else on the data.
            let train = match input.background {
                Some(bg) => {
                    check_features(bg, features, "background-data")?;
                    feature_values(bg, features)?
                }
                None => x64.clone(),
            };
            if train.is_empty() {
                return Err(Error::BadArgument {
                    argument: "background-data",
                    detail: "the background data have no rows".to_owned(),
                });
            }
            Ok(Explanation::Lime(lime::lime(
                &target,
                features,
                &x64[range.start * width..range.end * width],
                &range.collect::<Vec<_>>(),
                &lime::Quartiles::fit(&train, width),
                lime::LimeSettings {
                    samples: *samples,
                    num_features: *num_features,
                    seed: *seed,
                },
                job,
            )?))
        }
        Request::Pdp {
            features: chosen,
            grid_resolution,
            ..
        } => {
            let idx = pdp::chosen_features(chosen.as_deref(), features)?;
            Ok(Explanation::Pdp(Dependence {
                output: target.output_spec.clone(),
                grid_resolution: *grid_resolution,
                features: pdp::partial_dependence(
                    &target,
                    features,
                    &idx,
                    &x,
                    &x64,
                    *grid_resolution,
                    job,
                )?,
            }))
        }
    }
}
