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

/// A group's confusion counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    tp: u64,
    fp: u64,
    tn: u64,
    fnn: u64,
}

impl Counts {
    fn add(&mut self, actual: bool, predicted: bool, n: u64) {
        match (actual, predicted) {
            (true, true) => self.tp += n,
            (false, true) => self.fp += n,
            (false, false) => self.tn += n,
            (true, false) => self.fnn += n,
        }
    }

    fn total(self) -> u64 {
        self.tp + self.fp + self.tn + self.fnn
    }
}

fn metrics(group: String, c: Counts) -> GroupMetrics {
    let n = c.total() as f64;
    let rate = |a: u64, b: u64| {
        if a + b == 0 {
            0.0
        } else {
            a as f64 / (a + b) as f64
        }
    };
    GroupMetrics {
        group,
        count: c.total(),
        selection_rate: (c.tp + c.fp) as f64 / n,
        accuracy: (c.tp + c.tn) as f64 / n,
        tpr: rate(c.tp, c.fnn),
        fpr: rate(c.fp, c.tn),
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

fn report(name: &str, groups: BTreeMap<Vec<String>, Counts>) -> Result<SensitiveReport> {
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
        .map(|k| metrics(k.join(", "), groups[k]))
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
    let mut cells: BTreeMap<Vec<String>, Counts> = BTreeMap::new();
    for i in 0..y.len() {
        let key: Vec<String> = input.sensitive.iter().map(|(_, v)| v[i].clone()).collect();
        cells.entry(key).or_default().add(y[i], p[i], 1);
    }
    let names: Vec<String> = input.sensitive.iter().map(|(n, _)| n.clone()).collect();
    from_cells(
        Heading {
            predictions: input.predictions.clone(),
            data: input.data.clone(),
            target: input.target.clone(),
            positive_label: input.positive_label.clone(),
        },
        &names,
        &cells,
    )
}

/// What a report is of.
struct Heading {
    predictions: String,
    data: String,
    target: String,
    positive_label: String,
}

/// The report from the confusion counts of each combination of the sensitive columns' values
/// (`cells`): each column's groups and each pair's are sums of those.
fn from_cells(
    heading: Heading,
    sensitive: &[String],
    cells: &BTreeMap<Vec<String>, Counts>,
) -> Result<Fairness> {
    if sensitive.is_empty() {
        return Err(Error::BadArgument {
            argument: "sensitive",
            detail: "name at least one sensitive column".to_owned(),
        });
    }
    let mut overall = Counts::default();
    for c in cells.values() {
        for (actual, predicted, n) in [
            (true, true, c.tp),
            (false, true, c.fp),
            (false, false, c.tn),
            (true, false, c.fnn),
        ] {
            overall.add(actual, predicted, n);
        }
    }
    if overall.total() == 0 {
        return Err(Error::BadArgument {
            argument: "data",
            detail: "the data have no rows".to_owned(),
        });
    }
    let project = |levels: &[usize]| {
        let mut groups: BTreeMap<Vec<String>, Counts> = BTreeMap::new();
        for (key, c) in cells {
            let g = groups
                .entry(levels.iter().map(|&l| key[l].clone()).collect())
                .or_default();
            g.tp += c.tp;
            g.fp += c.fp;
            g.tn += c.tn;
            g.fnn += c.fnn;
        }
        groups
    };
    let mut by = BTreeMap::new();
    for (i, name) in sensitive.iter().enumerate() {
        by.insert(name.clone(), report(name, project(&[i]))?);
    }
    for (i, a) in sensitive.iter().enumerate() {
        for (j, b) in sensitive.iter().enumerate().skip(i + 1) {
            let name = format!("{a}&{b}");
            by.insert(name.clone(), report(&name, project(&[i, j]))?);
        }
    }
    Ok(Fairness {
        predictions: heading.predictions,
        data: heading.data,
        target: heading.target,
        positive_label: heading.positive_label,
        rows: overall.total(),
        overall: metrics("overall".to_owned(), overall),
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
    let mut tally = Tally::new(predictions, target, sensitive)?;
    tally.add(frame, 0)?;
    tally.finish(data_name, positive)
}

/// [`assess_frame`] on a table: read whole (only the columns it needs) when it fits in `limit`,
/// else a slice of rows at a time from its Parquet file (a copy, for other formats), counting
/// each slice's outcomes per group: the same counts, so the same report.
#[allow(clippy::too_many_arguments)]
pub fn assess_source(
    source: &crate::dataset::browse::TableSource,
    data_name: &str,
    predictions: &Predictions,
    target: &str,
    sensitive: &[String],
    positive: Option<&str>,
    limit: crate::dataset::stream::MemoryLimit,
    job: &crate::job::Job,
) -> Result<Fairness> {
    let mut tally = Tally::new(predictions, target, sensitive)?;
    let mut needed: Vec<&str> = vec![target];
    needed.extend(sensitive.iter().map(String::as_str));
    match predictions {
        Predictions::Model { features, .. } => needed.extend(features.iter().map(String::as_str)),
        Predictions::Column(col) => needed.push(col),
    }
    if source.fits(limit)? {
        job.progress("reading the data", 0, None);
        let frame = source.frame_of(&needed)?;
        job.progress("predicting", 0, Some(frame.height() as u64));
        tally.add(&frame, 0)?;
        return tally.finish(data_name, positive);
    }
    let spill = source.spill_folder()?;
    let sliced = source.sliced(limit, &spill, job)?;
    let table = &sliced.table;
    let empty = polars::prelude::DataFrame::new(
        0,
        table
            .names
            .iter()
            .zip(&table.dtypes)
            .map(|(n, d)| polars::prelude::Column::new_empty(n.as_str().into(), d))
            .collect(),
    )
    .map_err(|e| Error::Compute {
        context: "cannot read the data",
        detail: e.to_string(),
    })?;
    let mut columns: Vec<usize> = Vec::new();
    for (k, name) in needed.iter().enumerate() {
        let argument = match (k, predictions) {
            (0, _) => "target",
            (k, _) if k <= sensitive.len() => "sensitive",
            (_, Predictions::Column(_)) => "prediction-column",
            _ => "features",
        };
        let at = table
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| crate::explain::missing_column(argument, name, &empty))?;
        if !columns.contains(&at) {
            columns.push(at);
        }
    }
    job.progress("predicting", 0, Some(table.rows as u64));
    table.for_each_slice(&columns, limit.bytes(), &job.cancel, |offset, slice| {
        tally.add(slice, offset)?;
        job.progress(
            "predicting",
            (offset + slice.height()) as u64,
            Some(table.rows as u64),
        );
        Ok(())
    })?;
    tally.finish(data_name, positive)
}

/// Outcome counts per combination of the sensitive columns' values, gathered a slice of rows
/// at a time.
struct Tally<'a> {
    predictions: &'a Predictions<'a>,
    target: &'a str,
    sensitive: &'a [String],
    /// (the sensitive values, the actual outcome, the predicted outcome) → rows.
    cells: BTreeMap<(Vec<String>, String, String), u64>,
    /// The model's classes, once a slice was predicted.
    classes: Option<Vec<String>>,
}

impl<'a> Tally<'a> {
    fn new(
        predictions: &'a Predictions<'a>,
        target: &'a str,
        sensitive: &'a [String],
    ) -> Result<Self> {
        if let Some(s) = sensitive.iter().find(|s| *s == target) {
            return Err(Error::BadArgument {
                argument: "sensitive",
                detail: format!("{s:?} is the target column"),
            });
        }
        Ok(Tally {
            predictions,
            target,
            sensitive,
            cells: BTreeMap::new(),
            classes: None,
        })
    }

    /// Counts the rows of `frame`, whose first row is row `first_row` of the data.
    fn add(&mut self, frame: &polars::prelude::DataFrame, first_row: usize) -> Result<()> {
        let actual = text_column(frame, self.target, "target")?;
        let columns: Vec<Vec<String>> = self
            .sensitive
            .iter()
            .map(|s| text_column(frame, s, "sensitive"))
            .collect::<Result<_>>()?;
        let predicted: Vec<String> = match self.predictions {
            Predictions::Model {
                model, features, ..
            } => {
                let values = crate::model::feature_values_at(frame, features, first_row)?;
                let x: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                let target_fn = crate::explain::Target::new(model, features.len(), None, &x)?;
                let classes = target_fn
                    .classes
                    .clone()
                    .ok_or_else(|| Error::BadArgument {
                        argument: "model",
                        detail: "fairness needs a classifier; this model predicts numbers"
                            .to_owned(),
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
                let texts = p.labels.iter().map(|&i| classes[i].clone()).collect();
                self.classes = Some(classes);
                texts
            }
            Predictions::Column(col) => text_column(frame, col, "prediction-column")?,
        };
        for (i, (a, p)) in actual.into_iter().zip(predicted).enumerate() {
            let key: Vec<String> = columns.iter().map(|c| c[i].clone()).collect();
            *self.cells.entry((key, a, p)).or_default() += 1;
        }
        Ok(())
    }

    fn finish(self, data_name: &str, positive: Option<&str>) -> Result<Fairness> {
        let seen: std::collections::BTreeSet<&String> =
            self.cells.keys().flat_map(|(_, a, p)| [a, p]).collect();
        let (name, positive_label) = match self.predictions {
            Predictions::Model { name, .. } => {
                let pos = match (positive, &self.classes) {
                    (Some(p), _) => p.to_owned(),
                    (None, Some(classes)) => classes[1].clone(),
                    (None, None) => String::new(),
                };
                (name.clone(), pos)
            }
            Predictions::Column(col) => {
                let pos = match positive {
                    Some(p) => p.to_owned(),
                    None => ["1", "true", "True"]
                        .iter()
                        .find(|c| seen.iter().any(|t| t == c))
                        .map(|c| (*c).to_owned())
                        .ok_or_else(|| Error::BadArgument {
                            argument: "positive",
                            detail: format!(
                                "cannot tell which value of {col:?} is the positive outcome; pass --positive LABEL"
                            ),
                        })?,
                };
                (format!("column {col}"), pos)
            }
        };
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
        let mut cells: BTreeMap<Vec<String>, Counts> = BTreeMap::new();
        for ((key, a, p), n) in &self.cells {
            cells.entry(key.clone()).or_default().add(
                *a == positive_label,
                *p == positive_label,
                *n,
            );
        }
        from_cells(
            Heading {
                predictions: name,
                data: data_name.to_owned(),
                target: self.target.to_owned(),
                positive_label,
            },
            self.sensitive,
            &cells,
        )
    }
}
