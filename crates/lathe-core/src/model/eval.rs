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

use std::path::PathBuf;

use super::tensor::{Data, Tensor};
use super::{Model, Prediction, feature_matrix_at};
use crate::dataset::browse::TableSource;
use crate::dataset::stream::MemoryLimit;
use crate::dataset::stream::sorter::{Record, Sorter, from_ordered, ordered, read_or_end};
use crate::dataset::stream::spool::{Spool, Spooled};
use crate::job::Job;
use crate::numeric::PairwiseSum;
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

/// Where an evaluation keeps its rows and sorts: in memory up to `share` bytes each, beyond in
/// files of `dir`.
#[derive(Debug, Clone)]
pub struct Work {
    pub dir: PathBuf,
    pub share: usize,
}

impl Work {
    /// Everything in memory (nothing is ever written to the folder).
    pub fn memory() -> Work {
        Work {
            dir: std::env::temp_dir(),
            share: usize::MAX,
        }
    }

    fn spool(&self, width: usize) -> Spool {
        Spool::new(width, self.share, &self.dir)
    }

    /// A sorter for `rows` records: all in memory when they fit the share.
    fn sorter(&self, rows: usize) -> Sorter<Ranked> {
        let need = rows
            .saturating_mul(2 * std::mem::size_of::<Ranked>())
            .saturating_add(1 << 16);
        Sorter::new(&self.dir, self.share.min(need))
    }
}

/// A score as a descending key, and its row's place among equal scores. scikit-learn sorts
/// the scores with a stable ascending sort and reverses it, so equal scores come last row
/// first; that order shows where ties are thresholds of their own (NaN scores).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    /// The complement of the score's ascending key (`total_cmp`'s order).
    key: u64,
    /// `(2^31 - 1 - row) << 1`, plus 1 for a positive row.
    tie: u32,
}

impl Record for Ranked {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
    fn write(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        out.write_all(&self.key.to_le_bytes())?;
        out.write_all(&self.tie.to_le_bytes())
    }
    fn read(input: &mut impl std::io::Read) -> std::io::Result<Option<Self>> {
        let mut b = [0u8; 12];
        if !read_or_end(input, &mut b)? {
            return Ok(None);
        }
        let (key, tie) = b.split_at(8);
        Ok(Some(Ranked {
            key: u64::from_le_bytes(key.try_into().unwrap_or_default()),
            tie: u32::from_le_bytes(tie.try_into().unwrap_or_default()),
        }))
    }
    fn sort(run: &mut [Self]) {
        radsort::sort_by_key(run, |r| (u128::from(r.key) << 32) | u128::from(r.tie));
    }
}

/// Rows a curve sorts at most: the row's place takes 31 bits of [`Ranked::tie`].
const MAX_CURVE_ROWS: usize = (1 << 31) - 1;

/// Picks the items of evenly spaced indices ([`keep`]) as they go by, in order.
struct Picker {
    picks: Option<Vec<usize>>,
    next: usize,
}

impl Picker {
    fn new(n: usize, max: usize) -> Picker {
        Picker {
            picks: keep(n, max),
            next: 0,
        }
    }
    fn thinned(&self) -> bool {
        self.picks.is_some()
    }
    /// Whether item `i` is kept (items asked in increasing order).
    fn take(&mut self, i: usize) -> bool {
        match &self.picks {
            None => true,
            Some(p) if p.get(self.next) == Some(&i) => {
                self.next += 1;
                true
            }
            Some(_) => false,
        }
    }
}

/// scikit-learn's `_binary_clf_curve`: the distinct thresholds, descending, as rows
/// `[threshold, false positives, true positives]` (cumulative), with the totals.
struct ClfCurve {
    points: Spooled,
    positives: f64,
    negatives: f64,
}

/// The curve of the scores and classes `pick` reads off each row.
fn clf_curve(
    work: &Work,
    scored: &Spooled,
    pick: impl Fn(&[f64]) -> (f64, bool),
) -> Result<ClfCurve> {
    if scored.rows() > MAX_CURVE_ROWS {
        return Err(Error::BadArgument {
            argument: "data",
            detail: format!(
                "the data have {} rows; an evaluation's curves take at most {MAX_CURVE_ROWS}",
                scored.rows()
            ),
        });
    }
    let mut sorter = work.sorter(scored.rows());
    scored.for_each(|i, row| {
        let (score, positive) = pick(row);
        sorter.push(Ranked {
            key: !ordered(score),
            tie: ((MAX_CURVE_ROWS - i) as u32) << 1 | u32::from(positive),
        })
    })?;
    let mut sorted = sorter.finish()?;
    let mut points = work.spool(3);
    let (mut count, mut tps) = (0.0f64, 0.0f64);
    let mut last: Option<f64> = None;
    while let Some(r) = sorted.next_record()? {
        let score = from_ordered(!r.key);
        // numpy's `diff != 0`: a NaN is a threshold of its own, 0.0 and -0.0 are one.
        if let Some(previous) = last
            && score != previous
        {
            points.push(&[previous, count - tps, tps])?;
        }
        last = Some(score);
        count += 1.0;
        tps += f64::from(r.tie & 1);
    }
    if let Some(previous) = last {
        points.push(&[previous, count - tps, tps])?;
    }
    Ok(ClfCurve {
        points: points.finish()?,
        positives: tps,
        negatives: count - tps,
    })
}

/// The points `roc_curve(..., drop_intermediate=True)` keeps of a curve (after its (0, 0)),
/// in order: `f(false positives, true positives, threshold)`.
fn roc_walk(points: &Spooled, mut f: impl FnMut(f64, f64, f64) -> Result<()>) -> Result<()> {
    let d = points.rows();
    let mut before = [[0.0f64; 3]; 2];
    points.for_each(|i, row| {
        let p = [row[0], row[1], row[2]];
        if i == 0 {
            f(p[1], p[2], p[0])?;
        } else if i >= 2 {
            let (a, b) = (before[0], before[1]);
            let d2f = p[1] - 2.0 * b[1] + a[1];
            let d2t = p[2] - 2.0 * b[2] + a[2];
            if d2f != 0.0 || d2t != 0.0 {
                f(b[1], b[2], b[0])?;
            }
        }
        if i + 1 == d && i >= 1 {
            f(p[1], p[2], p[0])?;
        }
        before = [before[1], p];
        Ok(())
    })
}

/// The ROC curve of `curve` (thinned to [`MAX_CURVE_POINTS`]) and its area, with scikit-learn's
/// arithmetic (`sklearn.metrics.auc`: numpy's trapezoid, pairwise-summed).
fn roc(curve: &ClfCurve, with_points: bool) -> Result<(f64, Option<RocCurve>, bool)> {
    let mut m = 1;
    roc_walk(&curve.points, |_, _, _| {
        m += 1;
        Ok(())
    })?;
    let rate = |v: f64, total: f64| if total > 0.0 { v / total } else { f64::NAN };
    let (fl, tl) = (curve.negatives, curve.positives);
    let mut picker = Picker::new(m, MAX_CURVE_POINTS);
    let mut out = RocCurve {
        fpr: Vec::new(),
        tpr: Vec::new(),
        thresholds: Vec::new(),
    };
    let (mut px, mut py) = (rate(0.0, fl), rate(0.0, tl));
    if with_points && picker.take(0) {
        out.fpr.push(px);
        out.tpr.push(py);
        out.thresholds.push(None);
    }
    let mut area = PairwiseSum::new(m - 1);
    let (mut all_down, mut any_down) = (true, false);
    let mut j = 0;
    roc_walk(&curve.points, |f, t, threshold| {
        j += 1;
        let (x, y) = (rate(f, fl), rate(t, tl));
        area.add((x - px) * (y + py) / 2.0);
        all_down &= x <= px;
        any_down |= x < px;
        if with_points && picker.take(j) {
            out.fpr.push(x);
            out.tpr.push(y);
            out.thresholds.push(Some(threshold));
        }
        (px, py) = (x, y);
        Ok(())
    })?;
    // x decreasing everywhere gives a negative area; scikit-learn flips it.
    let area = if all_down && any_down {
        -area.total()
    } else {
        area.total()
    };
    let thinned = with_points && picker.thinned();
    Ok((area, with_points.then_some(out), thinned))
}

/// `sklearn.metrics.precision_recall_curve` of `curve` (no intermediate points dropped),
/// thinned to [`MAX_CURVE_POINTS`].
fn pr(curve: &ClfCurve) -> Result<(PrCurve, bool)> {
    let d = curve.points.rows();
    let last = curve.positives;
    // Thresholds ascending (the curve's reversed), then the point (1, 0) without one.
    let mut picker = Picker::new(d + 1, MAX_CURVE_POINTS);
    let picks: Vec<usize> = (0..=d).filter(|&j| picker.take(j)).collect();
    let mut wanted = picks.iter().rev().filter(|&&j| j < d).peekable();
    let mut out = PrCurve {
        precision: Vec::new(),
        recall: Vec::new(),
        thresholds: Vec::new(),
    };
    curve.points.for_each(|q, row| {
        let j = d - 1 - q;
        if wanted.peek() == Some(&&j) {
            wanted.next();
            let (f, t) = (row[1], row[2]);
            out.precision
                .push(if f + t != 0.0 { t / (f + t) } else { 0.0 });
            out.recall.push(if last > 0.0 { t / last } else { 1.0 });
            out.thresholds.push(row[0]);
        }
        Ok(())
    })?;
    out.precision.reverse();
    out.recall.reverse();
    out.thresholds.reverse();
    out.precision.push(1.0);
    out.recall.push(0.0);
    Ok((out, picker.thinned()))
}

/// `sklearn.calibration.calibration_curve(..., n_bins=10, strategy="uniform")`, a value at a
/// time.
struct Calibration {
    sums: [f64; 10],
    trues: [f64; 10],
    totals: [u64; 10],
}

impl Calibration {
    const BINS: usize = 10;

    fn new() -> Calibration {
        Calibration {
            sums: [0.0; 10],
            trues: [0.0; 10],
            totals: [0; 10],
        }
    }

    fn add(&mut self, p: f64, positive: bool) {
        // np.linspace(0, 1, 11)[1:-1] is i × 0.1; np.searchsorted(inner, p), side="left":
        // the edges strictly below p.
        let b = (1..Self::BINS)
            .map(|i| i as f64 * (1.0 / Self::BINS as f64))
            .filter(|&e| e < p)
            .count();
        self.sums[b] += p;
        self.trues[b] += f64::from(u8::from(positive));
        self.totals[b] += 1;
    }

    fn curve(&self) -> CalibrationCurve {
        let mut out = CalibrationCurve {
            prob_true: Vec::new(),
            prob_pred: Vec::new(),
            counts: Vec::new(),
        };
        for b in 0..Self::BINS {
            if self.totals[b] > 0 {
                out.prob_true.push(self.trues[b] / self.totals[b] as f64);
                out.prob_pred.push(self.sums[b] / self.totals[b] as f64);
                out.counts.push(self.totals[b]);
            }
        }
        out
    }
}

/// Precision, recall and F1 of `class` from the confusion matrix (0 where undefined,
/// scikit-learn's `zero_division="warn"`; F1 from counts, 2tp / (2tp + fp + fn), as 1.7).
fn precision_recall_f1(cm: &[Vec<u64>], class: usize) -> (f64, f64, f64) {
    let tp = cm[class][class] as f64;
    let fp = (0..cm.len())
        .filter(|&a| a != class)
        .map(|a| cm[a][class])
        .sum::<u64>() as f64;
    let fneg = (0..cm.len())
        .filter(|&p| p != class)
        .map(|p| cm[class][p])
        .sum::<u64>() as f64;
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        0.0
    };
    let denom = 2.0 * tp + fp + fneg;
    let f1 = if denom > 0.0 { 2.0 * tp / denom } else { 0.0 };
    (precision, recall, f1)
}

/// A classification's metrics, confusion matrix (rows: actual class; columns: predicted) and
/// binary curves.
pub type Classified = (BTreeMap<String, f64>, Vec<Vec<u64>>, Option<Curves>);

/// Classification metrics, confusion matrix and binary curves of scored rows
/// `[actual class, predicted class, probability of each class…]` (classes index `labels`).
/// Also whether a curve was thinned.
fn classification_of(
    labels: &[String],
    scored: &Spooled,
    work: &Work,
) -> Result<(Classified, bool)> {
    let c = labels.len();
    let n = scored.rows();
    let eps = f64::EPSILON;
    let mut correct = PairwiseSum::new(n);
    let mut losses = PairwiseSum::new(n);
    let mut cm = vec![vec![0u64; c]; c];
    let mut calibration = Calibration::new();
    scored.for_each(|_, row| {
        let (a, p) = (row[0] as usize, row[1] as usize);
        correct.add(f64::from(u8::from(a == p)));
        cm[a][p] += 1;
        losses.add(-row[2 + a].clamp(0.0, 1.0).clamp(eps, 1.0 - eps).ln());
        if c == 2 {
            calibration.add(row[3].clamp(0.0, 1.0), a == 1);
        }
        Ok(())
    })?;
    let mut metrics = BTreeMap::new();
    metrics.insert("accuracy".to_owned(), correct.total() / n as f64);
    metrics.insert("log_loss".to_owned(), losses.total() / n as f64);
    let mut curves = None;
    let mut thinned = false;
    if c == 2 {
        let (p, r, f) = precision_recall_f1(&cm, 1);
        metrics.insert("precision".to_owned(), p);
        metrics.insert("recall".to_owned(), r);
        metrics.insert("f1".to_owned(), f);
        let curve = clf_curve(work, scored, |row| (row[3].clamp(0.0, 1.0), row[0] == 1.0))?;
        let (area, roc, roc_thinned) = roc(&curve, true)?;
        metrics.insert("roc_auc".to_owned(), area);
        let (pr, pr_thinned) = pr(&curve)?;
        thinned = roc_thinned || pr_thinned;
        curves = roc.map(|roc| Curves {
            roc,
            pr,
            calibration: calibration.curve(),
        });
    } else {
        // Macro averages over the labels present in the actual or predicted classes.
        let present: Vec<usize> = (0..c)
            .filter(|&k| (0..c).any(|o| cm[k][o] > 0 || cm[o][k] > 0))
            .collect();
        let per: Vec<(f64, f64, f64)> = present
            .iter()
            .map(|&k| precision_recall_f1(&cm, k))
            .collect();
        let avg =
            |f: fn(&(f64, f64, f64)) -> f64| per.iter().map(f).sum::<f64>() / per.len() as f64;
        metrics.insert("precision".to_owned(), avg(|x| x.0));
        metrics.insert("recall".to_owned(), avg(|x| x.1));
        metrics.insert("f1".to_owned(), avg(|x| x.2));
        let mut aucs = Vec::with_capacity(c);
        for k in 0..c {
            let curve = clf_curve(work, scored, |row| {
                (row[2 + k].clamp(0.0, 1.0), row[0] == k as f64)
            })?;
            aucs.push(roc(&curve, false)?.0);
        }
        metrics.insert("roc_auc".to_owned(), aucs.iter().sum::<f64>() / c as f64);
    }
    Ok(((metrics, cm, curves), thinned))
}

/// MAE, RMSE and R² of scored rows `[actual, predicted]` as scikit-learn computes them, and the
/// plot points (thinned to [`MAX_PLOT_POINTS`]).
fn regression_of(scored: &Spooled) -> Result<(BTreeMap<String, f64>, RegressionPoints, bool)> {
    let n = scored.rows();
    let (mut actual, mut abs, mut sq) = (
        PairwiseSum::new(n),
        PairwiseSum::new(n),
        PairwiseSum::new(n),
    );
    scored.for_each(|_, row| {
        let (a, p) = (row[0], row[1]);
        actual.add(a);
        abs.add((a - p).abs());
        sq.add((a - p) * (a - p));
        Ok(())
    })?;
    let m = actual.total() / n as f64;
    let mut dev = PairwiseSum::new(n);
    let mut picker = Picker::new(n, MAX_PLOT_POINTS);
    let mut points = RegressionPoints {
        actual: Vec::new(),
        predicted: Vec::new(),
    };
    scored.for_each(|i, row| {
        dev.add((row[0] - m) * (row[0] - m));
        if picker.take(i) {
            points.actual.push(row[0]);
            points.predicted.push(row[1]);
        }
        Ok(())
    })?;
    let (num, den) = (sq.total(), dev.total());
    let r2 = if den != 0.0 {
        1.0 - num / den
    } else if num == 0.0 {
        1.0
    } else {
        0.0
    };
    let metrics = BTreeMap::from([
        ("mae".to_owned(), abs.total() / n as f64),
        ("rmse".to_owned(), (num / n as f64).sqrt()),
        ("r2".to_owned(), r2),
    ]);
    Ok((metrics, points, picker.thinned()))
}

/// `roc_auc_score` of a binary problem.
pub fn roc_auc(positive: &[bool], score: &[f64]) -> Result<f64> {
    let mut rows = Work::memory().spool(2);
    for (&p, &s) in positive.iter().zip(score) {
        rows.push(&[s, f64::from(u8::from(p))])?;
    }
    let curve = clf_curve(&Work::memory(), &rows.finish()?, |r| (r[0], r[1] == 1.0))?;
    Ok(roc(&curve, false)?.0)
}

/// Classification metrics from class indices (into `labels`) and probabilities
/// ([rows, classes] in the same order). Returns metrics, confusion matrix and binary curves.
pub fn classification_metrics(
    labels: &[String],
    actual: &[usize],
    predicted: &[usize],
    proba: &[f64],
) -> Result<Classified> {
    let c = labels.len();
    let mut rows = Work::memory().spool(2 + c);
    let mut row = vec![0.0; 2 + c];
    for (i, (&a, &p)) in actual.iter().zip(predicted).enumerate() {
        row[0] = a as f64;
        row[1] = p as f64;
        row[2..].copy_from_slice(&proba[i * c..(i + 1) * c]);
        rows.push(&row)?;
    }
    Ok(classification_of(labels, &rows.finish()?, &Work::memory())?.0)
}

/// MAE, RMSE and R² as scikit-learn computes them.
pub fn regression_metrics(actual: &[f64], predicted: &[f64]) -> Result<BTreeMap<String, f64>> {
    let mut rows = Work::memory().spool(2);
    for (&a, &p) in actual.iter().zip(predicted) {
        rows.push(&[a, p])?;
    }
    Ok(regression_of(&rows.finish()?)?.0)
}
/// A target value as the text class labels are compared with: integers without a fraction.
pub(crate) fn target_texts(column: &Column, target: &str) -> Result<Vec<String>> {
    target_texts_at(column, target, 0)
}

/// [`target_texts`] of a slice whose first row is row `first_row` of the table.
fn target_texts_at(column: &Column, target: &str, first_row: usize) -> Result<Vec<String>> {
    target_texts_or_missing(column)?
        .into_iter()
        .enumerate()
        .map(|(r, v)| {
            v.ok_or_else(|| Error::BadArgument {
                argument: "target",
                detail: format!(
                    "row {} has no value in the target column {target:?}",
                    first_row + r + 1
                ),
            })
        })
        .collect()
}

/// [`target_texts`], `None` where a row has no value (monitoring's analysis rows may lack
/// their targets).
pub(crate) fn target_texts_or_missing(column: &Column) -> Result<Vec<Option<String>>> {
    let dtype = column.dtype().clone();
    if dtype.is_bool() {
        let cast = column.cast(&DataType::Int64).map_err(polars_err)?;
        return Ok(cast
            .i64()
            .map_err(polars_err)?
            .iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect());
    }
    if dtype.is_primitive_numeric() {
        let cast = column.cast(&DataType::Float64).map_err(polars_err)?;
        return Ok(cast
            .f64()
            .map_err(polars_err)?
            .iter()
            .map(|v| match v {
                Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Some((v as i64).to_string()),
                Some(v) if !v.is_nan() => Some(v.to_string()),
                _ => None,
            })
            .collect());
    }
    let cast = column.cast(&DataType::String).map_err(polars_err)?;
    Ok(cast
        .str()
        .map_err(polars_err)?
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect())
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
    let names: Vec<String> = input
        .frame
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    check_columns(&names, input.features, input.target, input.frame.height())?;
    let mut scorer = Scorer::new(
        model,
        input.features,
        input.target,
        input.task,
        Work::memory(),
    );
    scorer.push(input.frame, 0)?;
    scorer.finish(&input.model_name, &input.data_name)
}

/// What to evaluate, read from a table source within a memory limit.
#[derive(Debug, Clone)]
pub struct SourceInput<'a> {
    pub model_name: String,
    pub data_name: String,
    pub source: &'a TableSource,
    pub features: &'a [String],
    pub target: &'a str,
    pub task: Option<Task>,
    pub limit: MemoryLimit,
}

/// [`evaluate`] of a table source: read whole when it fits the memory limit, else predicted a
/// slice of rows at a time from its Parquet file, the scored rows and the sorts of the curves
/// spilling to the source's spill folder. The numbers are the same either way (the metrics
/// are made from the scored rows in order, with the same sums).
pub fn evaluate_source(model: &Model, input: &SourceInput, job: &Job) -> Result<Evaluation> {
    let source = input.source;
    if source.fits(input.limit)? {
        job.progress("reading the data", 0, None);
        let mut needed: Vec<&str> = input.features.iter().map(String::as_str).collect();
        needed.push(input.target);
        let frame = source.frame_of(&needed)?;
        job.cancel.check()?;
        job.progress("predicting", 0, Some(frame.height() as u64));
        return evaluate(
            model,
            &EvalInput {
                model_name: input.model_name.clone(),
                data_name: input.data_name.clone(),
                frame: &frame,
                features: input.features,
                target: input.target,
                task: input.task,
            },
        );
    }
    let spill = source.spill_folder()?;
    let sliced = source.sliced(input.limit, &spill, job)?;
    let table = &sliced.table;
    check_columns(&table.names, input.features, input.target, table.rows)?;
    let columns: Vec<usize> = input
        .features
        .iter()
        .chain(std::iter::once(&input.target.to_owned()))
        .filter_map(|name| table.names.iter().position(|n| n == name))
        .collect();
    // A quarter of the limit for each slice read, a quarter for the scored rows, half for
    // the sorts of the curves (which run after the reading).
    let share = input.limit.bytes() / 4;
    let work = Work { dir: spill, share };
    let mut scorer = Scorer::new(model, input.features, input.target, input.task, work);
    let total = table.rows as u64;
    // A row costs its columns read (and copied while cast), its f32 features for the model,
    // and the outputs read back as f64s (with room for a few classes).
    let width = input.features.len();
    let per_row = 2 * table.row_bytes_of(&columns) + 4 * width + 8 * (width + 8);
    let step = (share / per_row).clamp(1024, table.rows.max(1024));
    table.for_each_rows(&columns, step, &job.cancel, |offset, slice| {
        job.progress("predicting", offset as u64, Some(total));
        scorer.push(slice, offset)
    })?;
    job.progress("scoring", total, Some(total));
    scorer.work.share = input.limit.bytes() / 2;
    scorer.finish(&input.model_name, &input.data_name)
}

/// The target column is there and is not a feature, and there are rows.
fn check_columns(names: &[String], features: &[String], target: &str, rows: usize) -> Result<()> {
    if !names.iter().any(|n| n == target) {
        return Err(Error::BadArgument {
            argument: "target",
            detail: format!(
                "the data have no column {target:?}; the columns are: {}",
                names.join(", ")
            ),
        });
    }
    if features.iter().any(|f| f == target) {
        return Err(Error::BadArgument {
            argument: "target",
            detail: format!("{target:?} is one of the model's features"),
        });
    }
    if rows == 0 {
        return Err(Error::BadArgument {
            argument: "data",
            detail: "the data have no rows".to_owned(),
        });
    }
    Ok(())
}

/// Which outputs an evaluation reads, fixed by the first slice predicted.
#[derive(Debug)]
enum Reading {
    Regression {
        output: usize,
    },
    Classification {
        label: usize,
        prob: usize,
        labels: Vec<String>,
    },
}

/// Predicts slices of rows in order and keeps one scored row per data row: `[actual,
/// predicted]` for a regression, `[actual class, predicted class, probabilities…]` for a
/// classification.
struct Scorer<'a> {
    model: &'a Model,
    features: &'a [String],
    target: &'a str,
    task: Option<Task>,
    work: Work,
    reading: Option<(Task, Reading, Vec<String>)>,
    rows: Option<Spool>,
    /// The smallest five target values outside the model's classes.
    unknown: std::collections::BTreeSet<String>,
}

impl<'a> Scorer<'a> {
    fn new(
        model: &'a Model,
        features: &'a [String],
        target: &'a str,
        task: Option<Task>,
        work: Work,
    ) -> Scorer<'a> {
        Scorer {
            model,
            features,
            target,
            task,
            work,
            reading: None,
            rows: None,
            unknown: Default::default(),
        }
    }

    /// How to read the model's outputs, from its first prediction.
    fn reading(
        &self,
        prediction: &Prediction,
        column: &Column,
    ) -> Result<(Task, Reading, Vec<String>)> {
        let task = self.task.unwrap_or_else(|| infer_task(prediction));
        let target = self.target;
        Ok(match task {
            Task::Regression => {
                let output = prediction_position(prediction.outputs.iter().map(|(_, t)| t))
                    .ok_or_else(|| Error::BadArgument {
                        argument: "task",
                        detail:
                            "the model has no single-valued numeric output to evaluate as a regression"
                                .to_owned(),
                    })?;
                if !column.dtype().is_primitive_numeric() {
                    return Err(Error::BadArgument {
                        argument: "target",
                        detail: format!(
                            "regression needs a numeric target; {target:?} holds {} values",
                            column.dtype()
                        ),
                    });
                }
                let used = vec![prediction.outputs[output].0.clone()];
                (task, Reading::Regression { output }, used)
            }
            Task::Classification => {
                let outputs = || prediction.outputs.iter().map(|(_, t)| t);
                let label = label_position(outputs()).ok_or_else(|| Error::BadArgument {
                    argument: "task",
                    detail: "the model outputs no class labels; evaluate it as a regression (--task regression)".to_owned(),
                })?;
                let prob = probability_position(outputs()).ok_or_else(|| Error::BadArgument {
                    argument: "task",
                    detail:
                        "the model outputs no class probabilities, which ROC AUC and log loss need"
                            .to_owned(),
                })?;
                let prob_t = &prediction.outputs[prob].1;
                let labels =
                    probability_classes(self.model, prob_t).ok_or_else(|| Error::BadArgument {
                        argument: "model",
                        detail: format!(
                            "cannot tell which class each of the {} probability columns is for",
                            prob_t.row_len()
                        ),
                    })?;
                let used = vec![
                    prediction.outputs[label].0.clone(),
                    prediction.outputs[prob].0.clone(),
                ];
                (
                    task,
                    Reading::Classification {
                        label,
                        prob,
                        labels,
                    },
                    used,
                )
            }
        })
    }

    /// Predicts and scores `frame`, rows `first_row..` of the data.
    fn push(&mut self, frame: &DataFrame, first_row: usize) -> Result<()> {
        let target = self.target;
        let column = frame.column(target).map_err(polars_err)?;
        let x = feature_matrix_at(frame, self.features, first_row)?;
        let prediction = self.model.predict(&x, self.features.len())?;
        if self.reading.is_none() {
            self.reading = Some(self.reading(&prediction, column)?);
        }
        let Some((_, reading, _)) = &self.reading else {
            return Ok(());
        };
        match reading {
            Reading::Regression { output } => {
                let (name, out) = &prediction.outputs[*output];
                let predicted = out.to_f64(name)?;
                let actual = target_texts_at(column, target, first_row)?;
                let rows = self.rows.get_or_insert_with(|| self.work.spool(2));
                for (a, &p) in actual.iter().zip(&predicted) {
                    rows.push(&[a.parse::<f64>().unwrap_or(f64::NAN), p])?;
                }
            }
            Reading::Classification {
                label,
                prob,
                labels,
            } => {
                let predicted = label_indexes(&prediction.outputs[*label].1, labels)?;
                let actual = target_texts_at(column, target, first_row)?;
                let (prob_name, prob_t) = &prediction.outputs[*prob];
                let proba = prob_t.to_f64(prob_name)?;
                let c = labels.len();
                let rows = self.rows.get_or_insert_with(|| self.work.spool(2 + c));
                let mut row = vec![0.0; 2 + c];
                for (i, (a, &p)) in actual.iter().zip(&predicted).enumerate() {
                    let Some(a) = labels.iter().position(|l| l == a) else {
                        if self.unknown.len() < 5 || self.unknown.last().is_some_and(|l| a < l) {
                            self.unknown.insert(a.clone());
                            if self.unknown.len() > 5 {
                                self.unknown.pop_last();
                            }
                        }
                        continue;
                    };
                    row[0] = a as f64;
                    row[1] = p as f64;
                    row[2..].copy_from_slice(&proba[i * c..(i + 1) * c]);
                    rows.push(&row)?;
                }
            }
        }
        Ok(())
    }

    /// The evaluation of every row pushed.
    fn finish(self, model_name: &str, data_name: &str) -> Result<Evaluation> {
        let (Some((task, reading, outputs_used)), Some(rows)) = (self.reading, self.rows) else {
            return Err(Error::BadArgument {
                argument: "data",
                detail: "the data have no rows".to_owned(),
            });
        };
        let target = self.target;
        let mut evaluation = Evaluation {
            model: model_name.to_owned(),
            data: data_name.to_owned(),
            target: target.to_owned(),
            task,
            rows: 0,
            metrics: BTreeMap::new(),
            labels: Vec::new(),
            confusion_matrix: Vec::new(),
            positive_label: None,
            curves: None,
            regression: None,
            outputs_used,
            thinned: false,
        };
        match reading {
            Reading::Regression { .. } => {
                let scored = rows.finish()?;
                evaluation.rows = scored.rows() as u64;
                let (metrics, points, thinned) = regression_of(&scored)?;
                evaluation.metrics = metrics;
                evaluation.regression = Some(points);
                evaluation.thinned = thinned;
            }
            Reading::Classification { labels, .. } => {
                if !self.unknown.is_empty() {
                    let unknown: Vec<&str> = self.unknown.iter().map(String::as_str).collect();
                    return Err(Error::BadArgument {
                        argument: "target",
                        detail: format!(
                            "{target:?} holds {} the model does not know ({}); the model's classes are {}{}",
                            if unknown.len() == 1 {
                                "a class"
                            } else {
                                "classes"
                            },
                            unknown.join(", "),
                            labels.join(", "),
                            if labels.len() == 2 {
                                " (binary metrics need a target with those two values)"
                            } else {
                                ""
                            }
                        ),
                    });
                }
                let scored = rows.finish()?;
                evaluation.rows = scored.rows() as u64;
                let ((metrics, cm, curves), thinned) =
                    classification_of(&labels, &scored, &self.work)?;
                evaluation.metrics = metrics;
                evaluation.confusion_matrix = cm;
                evaluation.curves = curves;
                evaluation.thinned = thinned;
                evaluation.positive_label = (labels.len() == 2).then(|| labels[1].clone());
                evaluation.labels = labels;
            }
        }
        Ok(evaluation)
    }
}

#[cfg(test)]
#[path = "eval_oracle.rs"]
mod oracle;
