//! Group fairness of a binary classifier's predictions, with Fairlearn's definitions.
//!
//! Per group of a sensitive column (and per intersection of two columns): count, selection
//! rate (share predicted positive), accuracy, true positive rate and false positive rate (0
//! when the group has no actual positives, resp. negatives, as scikit-learn's normalised
//! confusion matrix gives). Between groups: demographic parity difference (max − min selection
//! rate) and ratio (min / max), equalized odds difference (the larger of the TPR and FPR
//! differences) and ratio (the smaller of the two ratios). A ratio below 0.8 is flagged (the
//! four-fifths rule).

pub mod chart;
pub mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The four-fifths rule: a ratio below this is flagged.
pub const RATIO_THRESHOLD: f64 = 0.8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupMetrics {
    pub group: String,
    pub count: u64,
    pub selection_rate: f64,
    pub accuracy: f64,
    pub tpr: f64,
    pub fpr: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SensitiveReport {
    pub groups: Vec<GroupMetrics>,
    /// `null` in JSON where undefined (every group's rate is 0).
    pub demographic_parity_difference: f64,
    pub demographic_parity_ratio: f64,
    pub equalized_odds_difference: f64,
    pub equalized_odds_ratio: f64,
    /// The ratios below [`RATIO_THRESHOLD`], by name.
    pub flagged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Fairness {
    /// The model, or `column COL` when the data held the predictions.
    pub predictions: String,
    pub data: String,
    pub target: String,
    /// The label counted as the positive (selected) outcome.
    pub positive_label: String,
    pub rows: u64,
    pub overall: GroupMetrics,
    /// Per sensitive column, and per `COL1&COL2` intersection.
    pub by_sensitive: BTreeMap<String, SensitiveReport>,
    pub threshold: f64,
}

fn metrics(group: String, idx: &[usize], y: &[bool], p: &[bool]) -> GroupMetrics {
    let (mut tp, mut fp, mut tn, mut fnn) = (0u64, 0u64, 0u64, 0u64);
    for &i in idx {
        match (y[i], p[i]) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
            (true, false) => fnn += 1,
        }
    }
    let n = idx.len() as f64;
    let rate = |a: u64, b: u64| {
        if a + b == 0 {
            0.0
        } else {
            a as f64 / (a + b) as f64
        }
    };
    GroupMetrics {
        group,
        count: idx.len() as u64,
        selection_rate: (tp + fp) as f64 / n,
        accuracy: (tp + tn) as f64 / n,
        tpr: rate(tp, fnn),
        fpr: rate(fp, tn),
    }
}

fn spread(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    let min = values.fold(f64::INFINITY, f64::min);
    (max - min, min / max)
}

/// Sorts group keys as pandas' groupby does: each level numerically when all its values are
/// numbers, else as text.
fn sort_groups(keys: &mut [Vec<String>]) {
    let levels = keys.first().map_or(0, Vec::len);
    let numeric: Vec<bool> = (0..levels)
        .map(|l| keys.iter().all(|k| k[l].parse::<f64>().is_ok()))
        .collect();
    keys.sort_by(|a, b| {
        (0..levels)
            .map(|l| {
                if numeric[l] {
                    let x = a[l].parse::<f64>().unwrap_or(0.0);
                    let y = b[l].parse::<f64>().unwrap_or(0.0);
                    x.total_cmp(&y)
                } else {
                    a[l].cmp(&b[l])
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

fn report(name: &str, columns: &[&[String]], y: &[bool], p: &[bool]) -> Result<SensitiveReport> {
    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for i in 0..y.len() {
        let key: Vec<String> = columns.iter().map(|c| c[i].clone()).collect();
        groups.entry(key).or_default().push(i);
    }
    if groups.len() < 2 {
        return Err(Error::BadArgument {
            argument: "sensitive",
            detail: format!(
                "{name:?} has a single group ({}); fairness compares at least two",
                groups
                    .keys()
                    .next()
                    .map(|k| k.join(", "))
                    .unwrap_or_default()
            ),
        });
    }
    let mut keys: Vec<Vec<String>> = groups.keys().cloned().collect();
    sort_groups(&mut keys);
    let rows: Vec<GroupMetrics> = keys
        .iter()
        .map(|k| metrics(k.join(", "), &groups[k], y, p))
        .collect();
    let (dpd, dpr) = spread(rows.iter().map(|g| g.selection_rate));
    let (tpr_d, tpr_r) = spread(rows.iter().map(|g| g.tpr));
    let (fpr_d, fpr_r) = spread(rows.iter().map(|g| g.fpr));
    let eod = tpr_d.max(fpr_d);
    let eor = if tpr_r.is_nan() || fpr_r.is_nan() {
        f64::NAN
    } else {
        tpr_r.min(fpr_r)
    };
    let flagged = [
        ("demographic_parity_ratio", dpr),
        ("equalized_odds_ratio", eor),
    ]
    .iter()
    .filter(|(_, r)| *r < RATIO_THRESHOLD)
    .map(|(n, _)| (*n).to_owned())
    .collect();
    Ok(SensitiveReport {
        groups: rows,
        demographic_parity_difference: dpd,
        demographic_parity_ratio: dpr,
        equalized_odds_difference: eod,
        equalized_odds_ratio: eor,
        flagged,
    })
}

/// What to assess.
#[derive(Debug)]
pub struct FairnessInput<'a> {
    pub predictions: String,
    pub data: String,
    pub target: String,
    pub positive_label: String,
    /// Actual and predicted outcome per row (true = the positive label).
    pub actual: &'a [bool],
    pub predicted: &'a [bool],
    /// Sensitive columns, each with its value per row as text.
    pub sensitive: &'a [(String, Vec<String>)],
}

/// Fairness per sensitive column and per pair of them.
pub fn assess(input: &FairnessInput) -> Result<Fairness> {
    let (y, p) = (input.actual, input.predicted);
    if input.sensitive.is_empty() {
        return Err(Error::BadArgument {
            argument: "sensitive",
            detail: "name at least one sensitive column".to_owned(),
        });
    }
    if y.is_empty() {
        return Err(Error::BadArgument {
            argument: "data",
            detail: "the data have no rows".to_owned(),
        });
    }
    let mut by = BTreeMap::new();
    for (name, values) in input.sensitive {
        by.insert(name.clone(), report(name, &[values], y, p)?);
    }
    for (i, (a, va)) in input.sensitive.iter().enumerate() {
        for (b, vb) in &input.sensitive[i + 1..] {
            let name = format!("{a}&{b}");
            by.insert(name.clone(), report(&name, &[va, vb], y, p)?);
        }
    }
    let all: Vec<usize> = (0..y.len()).collect();
    Ok(Fairness {
        predictions: input.predictions.clone(),
        data: input.data.clone(),
        target: input.target.clone(),
        positive_label: input.positive_label.clone(),
        rows: y.len() as u64,
        overall: metrics("overall".to_owned(), &all, y, p),
        by_sensitive: by,
        threshold: RATIO_THRESHOLD,
    })
}

/// What the predictions come from.
#[derive(Debug)]
pub enum Predictions<'a> {
    /// A classifier and its feature order.
    Model {
        model: &'a crate::model::Model,
        name: String,
        features: &'a [String],
    },
    /// A column of the data holding predicted labels.
    Column(&'a str),
}

fn text_column(
    frame: &polars::prelude::DataFrame,
    name: &str,
    argument: &'static str,
) -> Result<Vec<String>> {
    let column = frame
        .column(name)
        .map_err(|_| crate::explain::missing_column(argument, name, frame))?;
    crate::model::eval::target_texts(column, name).map_err(|e| match e {
        Error::BadArgument { detail, .. } => Error::BadArgument { argument, detail },
        other => other,
    })
}

/// Fairness of `predictions` on `frame` against its `target` column, per `sensitive` column.
/// The positive label is the model's second class, or for a prediction column `positive`
/// (default `1` or `true`, whichever the values hold).
pub fn assess_frame(
    frame: &polars::prelude::DataFrame,
    data_name: &str,
    predictions: &Predictions,
    target: &str,
    sensitive: &[String],
    positive: Option<&str>,
) -> Result<Fairness> {
    let actual_text = text_column(frame, target, "target")?;
    let mut columns = Vec::new();
    for s in sensitive {
        if s == target {
            return Err(Error::BadArgument {
                argument: "sensitive",
                detail: format!("{s:?} is the target column"),
            });
        }
        columns.push((s.clone(), text_column(frame, s, "sensitive")?));
    }
    let (name, predicted_text, positive_label) = match predictions {
        Predictions::Model {
            model,
            name,
            features,
        } => {
            let values = crate::model::feature_values(frame, features)?;
            let x: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            let target_fn = crate::explain::Target::new(model, features.len(), None, &x)?;
            let classes = target_fn
                .classes
                .clone()
                .ok_or_else(|| Error::BadArgument {
                    argument: "model",
                    detail: "fairness needs a classifier; this model predicts numbers".to_owned(),
                })?;
            if classes.len() != 2 {
                return Err(Error::BadArgument {
                    argument: "model",
                    detail: format!(
                        "fairness metrics here are for binary classifiers; this one has {} classes",
                        classes.len()
                    ),
                });
            }
            let p = target_fn.predict_all(&x)?;
            let texts: Vec<String> = p.labels.iter().map(|&i| classes[i].clone()).collect();
            let pos = positive.map_or_else(|| classes[1].clone(), str::to_owned);
            (name.clone(), texts, pos)
        }
        Predictions::Column(col) => {
            let texts = text_column(frame, col, "prediction-column")?;
            let pos = match positive {
                Some(p) => p.to_owned(),
                None => ["1", "true", "True"]
                    .iter()
                    .find(|c| texts.iter().chain(&actual_text).any(|t| t == *c))
                    .map(|c| (*c).to_owned())
                    .ok_or_else(|| Error::BadArgument {
                        argument: "positive",
                        detail: format!(
                            "cannot tell which value of {col:?} is the positive outcome; pass --positive LABEL"
                        ),
                    })?,
            };
            (format!("column {col}"), texts, pos)
        }
    };
    let mut seen: Vec<&String> = actual_text.iter().chain(&predicted_text).collect();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() > 2 {
        return Err(Error::BadArgument {
            argument: "target",
            detail: format!(
                "fairness metrics here are for binary outcomes; the target and predictions hold {} values ({})",
                seen.len(),
                seen.iter()
                    .take(6)
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let actual: Vec<bool> = actual_text.iter().map(|t| *t == positive_label).collect();
    let predicted: Vec<bool> = predicted_text
        .iter()
        .map(|t| *t == positive_label)
        .collect();
    assess(&FairnessInput {
        predictions: name,
        data: data_name.to_owned(),
        target: target.to_owned(),
        positive_label,
        actual: &actual,
        predicted: &predicted,
        sensitive: &columns,
    })
}
