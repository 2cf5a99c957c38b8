//! The evaluation as it was computed from whole arrays before it was streamed: the oracle the
//! streamed evaluation is tested against, bit for bit.

use std::collections::BTreeMap;

use super::*;
use crate::numeric::pairwise_sum;

fn pick<T: Clone>(values: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| values[i].clone()).collect()
}

/// Thins curves and plot points of a big evaluation (the metrics are computed before).
pub(super) fn thin(e: &mut Evaluation) {
    if let Some(c) = &mut e.curves {
        if let Some(idx) = keep(c.roc.fpr.len(), MAX_CURVE_POINTS) {
            c.roc.fpr = pick(&c.roc.fpr, &idx);
            c.roc.tpr = pick(&c.roc.tpr, &idx);
            c.roc.thresholds = pick(&c.roc.thresholds, &idx);
            e.thinned = true;
        }
        if let Some(idx) = keep(c.pr.precision.len(), MAX_CURVE_POINTS) {
            c.pr.precision = pick(&c.pr.precision, &idx);
            c.pr.recall = pick(&c.pr.recall, &idx);
            // One threshold fewer than points: the last point has none.
            let t: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| i < c.pr.thresholds.len())
                .collect();
            c.pr.thresholds = pick(&c.pr.thresholds, &t);
            e.thinned = true;
        }
    }
    if let Some(r) = &mut e.regression
        && let Some(idx) = keep(r.actual.len(), MAX_PLOT_POINTS)
    {
        r.actual = pick(&r.actual, &idx);
        r.predicted = pick(&r.predicted, &idx);
        e.thinned = true;
    }
}

fn mean(x: &[f64]) -> f64 {
    pairwise_sum(x) / x.len() as f64
}

/// scikit-learn's `_binary_clf_curve`: distinct thresholds (descending) with cumulative false
/// and true positives.
fn binary_clf_curve(positive: &[bool], score: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    // np.argsort(score, kind="mergesort")[::-1]: a stable ascending sort, reversed.
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    order.reverse();
    let s: Vec<f64> = order.iter().map(|&i| score[i]).collect();
    let y: Vec<f64> = order
        .iter()
        .map(|&i| f64::from(u8::from(positive[i])))
        .collect();
    let mut idx: Vec<usize> = (0..s.len().saturating_sub(1))
        .filter(|&i| s[i + 1] != s[i])
        .collect();
    idx.push(s.len() - 1);
    let mut cum = Vec::with_capacity(y.len());
    let mut acc = 0.0;
    for v in &y {
        acc += v;
        cum.push(acc);
    }
    let tps: Vec<f64> = idx.iter().map(|&i| cum[i]).collect();
    let fps: Vec<f64> = idx
        .iter()
        .zip(&tps)
        .map(|(&i, t)| 1.0 + i as f64 - t)
        .collect();
    let thresholds = idx.iter().map(|&i| s[i]).collect();
    (fps, tps, thresholds)
}

/// `sklearn.metrics.roc_curve(..., drop_intermediate=True)`.
pub fn roc_curve(positive: &[bool], score: &[f64]) -> RocCurve {
    let (mut fps, mut tps, thr) = binary_clf_curve(positive, score);
    let mut thr: Vec<Option<f64>> = thr.into_iter().map(Some).collect();
    if fps.len() > 2 {
        let mut keep = vec![0usize];
        for i in 1..fps.len() - 1 {
            let d2f = fps[i + 1] - 2.0 * fps[i] + fps[i - 1];
            let d2t = tps[i + 1] - 2.0 * tps[i] + tps[i - 1];
            if d2f != 0.0 || d2t != 0.0 {
                keep.push(i);
            }
        }
        keep.push(fps.len() - 1);
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thr = keep.iter().map(|&i| thr[i]).collect();
    }
    fps.insert(0, 0.0);
    tps.insert(0, 0.0);
    thr.insert(0, None);
    let (fl, tl) = (*fps.last().unwrap_or(&0.0), *tps.last().unwrap_or(&0.0));
    RocCurve {
        fpr: fps
            .iter()
            .map(|f| if fl > 0.0 { f / fl } else { f64::NAN })
            .collect(),
        tpr: tps
            .iter()
            .map(|t| if tl > 0.0 { t / tl } else { f64::NAN })
            .collect(),
        thresholds: thr,
    }
}

/// `sklearn.metrics.auc`: the trapezoidal rule (numpy's `trapezoid`, pairwise-summed).
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    let terms: Vec<f64> = (1..x.len())
        .map(|i| (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0)
        .collect();
    let area = pairwise_sum(&terms);
    // x decreasing everywhere gives a negative area; scikit-learn flips it.
    if x.windows(2).all(|w| w[1] <= w[0]) && x.windows(2).any(|w| w[1] < w[0]) {
        -area
    } else {
        area
    }
}

/// `roc_auc_score` of a binary problem.
pub fn roc_auc(positive: &[bool], score: &[f64]) -> f64 {
    let roc = roc_curve(positive, score);
    auc(&roc.fpr, &roc.tpr)
}

/// `sklearn.metrics.precision_recall_curve` (no intermediate points dropped).
pub fn pr_curve(positive: &[bool], score: &[f64]) -> PrCurve {
    let (fps, tps, thr) = binary_clf_curve(positive, score);
    let last = *tps.last().unwrap_or(&0.0);
    let mut precision: Vec<f64> = fps
        .iter()
        .zip(&tps)
        .map(|(f, t)| if f + t != 0.0 { t / (f + t) } else { 0.0 })
        .collect();
    let mut recall: Vec<f64> = tps
        .iter()
        .map(|t| if last > 0.0 { t / last } else { 1.0 })
        .collect();
    let mut thresholds = thr;
    precision.reverse();
    recall.reverse();
    thresholds.reverse();
    precision.push(1.0);
    recall.push(0.0);
    PrCurve {
        precision,
        recall,
        thresholds,
    }
}

/// `sklearn.calibration.calibration_curve(..., n_bins=10, strategy="uniform")`.
pub fn calibration_curve(positive: &[bool], prob: &[f64]) -> CalibrationCurve {
    const BINS: usize = 10;
    // np.linspace(0, 1, 11)[1:-1]: i × 0.1.
    let inner: Vec<f64> = (1..BINS).map(|i| i as f64 * (1.0 / BINS as f64)).collect();
    let mut sums = [0.0f64; BINS];
    let mut trues = [0.0f64; BINS];
    let mut totals = [0u64; BINS];
    for (&p, &y) in prob.iter().zip(positive) {
        // np.searchsorted(inner, p), side="left": edges strictly below p.
        let b = inner.partition_point(|&e| e < p);
        sums[b] += p;
        trues[b] += f64::from(u8::from(y));
        totals[b] += 1;
    }
    let mut out = CalibrationCurve {
        prob_true: Vec::new(),
        prob_pred: Vec::new(),
        counts: Vec::new(),
    };
    for b in 0..BINS {
        if totals[b] > 0 {
            out.prob_true.push(trues[b] / totals[b] as f64);
            out.prob_pred.push(sums[b] / totals[b] as f64);
            out.counts.push(totals[b]);
        }
    }
    out
}

/// Per-class precision and recall (0 where undefined, scikit-learn's `zero_division="warn"`).
fn precision_recall_f1(actual: &[usize], predicted: &[usize], class: usize) -> (f64, f64, f64) {
    let mut tp = 0.0;
    let mut fp = 0.0;
    let mut fneg = 0.0;
    for (&a, &p) in actual.iter().zip(predicted) {
        match (a == class, p == class) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fneg += 1.0,
            _ => {}
        }
    }
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        0.0
    };
    // scikit-learn 1.7 computes F1 from counts: 2tp / (2tp + fp + fn).
    let denom = 2.0 * tp + fp + fneg;
    let f1 = if denom > 0.0 { 2.0 * tp / denom } else { 0.0 };
    (precision, recall, f1)
}

/// Classification metrics from class indices (into `labels`) and probabilities
/// ([rows, classes] in the same order). Returns metrics, confusion matrix and binary curves.
pub fn classification_metrics(
    labels: &[String],
    actual: &[usize],
    predicted: &[usize],
    proba: &[f64],
) -> (BTreeMap<String, f64>, Vec<Vec<u64>>, Option<Curves>) {
    let c = labels.len();
    let n = actual.len();
    let mut metrics = BTreeMap::new();
    let correct: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| f64::from(u8::from(a == p)))
        .collect();
    metrics.insert("accuracy".to_owned(), mean(&correct));
    let mut cm = vec![vec![0u64; c]; c];
    for (&a, &p) in actual.iter().zip(predicted) {
        cm[a][p] += 1;
    }
    let eps = f64::EPSILON;
    let losses: Vec<f64> = (0..n)
        .map(|i| {
            -proba[i * c + actual[i]]
                .clamp(0.0, 1.0)
                .clamp(eps, 1.0 - eps)
                .ln()
        })
        .collect();
    metrics.insert("log_loss".to_owned(), mean(&losses));
    let column =
        |k: usize| -> Vec<f64> { (0..n).map(|i| proba[i * c + k].clamp(0.0, 1.0)).collect() };
    let mut curves = None;
    if c == 2 {
        let (p, r, f) = precision_recall_f1(actual, predicted, 1);
        metrics.insert("precision".to_owned(), p);
        metrics.insert("recall".to_owned(), r);
        metrics.insert("f1".to_owned(), f);
        let positive: Vec<bool> = actual.iter().map(|&a| a == 1).collect();
        let score = column(1);
        let roc = roc_curve(&positive, &score);
        metrics.insert("roc_auc".to_owned(), auc(&roc.fpr, &roc.tpr));
        curves = Some(Curves {
            pr: pr_curve(&positive, &score),
            calibration: calibration_curve(&positive, &score),
            roc,
        });
    } else {
        // Macro averages over the labels present in the actual or predicted classes.
        let present: Vec<usize> = (0..c)
            .filter(|&k| actual.contains(&k) || predicted.contains(&k))
            .collect();
        let per: Vec<(f64, f64, f64)> = present
            .iter()
            .map(|&k| precision_recall_f1(actual, predicted, k))
            .collect();
        let avg =
            |f: fn(&(f64, f64, f64)) -> f64| per.iter().map(f).sum::<f64>() / per.len() as f64;
        metrics.insert("precision".to_owned(), avg(|x| x.0));
        metrics.insert("recall".to_owned(), avg(|x| x.1));
        metrics.insert("f1".to_owned(), avg(|x| x.2));
        let aucs: Vec<f64> = (0..c)
            .map(|k| {
                let positive: Vec<bool> = actual.iter().map(|&a| a == k).collect();
                roc_auc(&positive, &column(k))
            })
            .collect();
        metrics.insert("roc_auc".to_owned(), aucs.iter().sum::<f64>() / c as f64);
    }
    (metrics, cm, curves)
}

/// MAE, RMSE and R² as scikit-learn computes them.
pub fn regression_metrics(actual: &[f64], predicted: &[f64]) -> BTreeMap<String, f64> {
    let abs: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .collect();
    let sq: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p) * (a - p))
        .collect();
    let m = mean(actual);
    let dev: Vec<f64> = actual.iter().map(|a| (a - m) * (a - m)).collect();
    let (num, den) = (pairwise_sum(&sq), pairwise_sum(&dev));
    let r2 = if den != 0.0 {
        1.0 - num / den
    } else if num == 0.0 {
        1.0
    } else {
        0.0
    };
    BTreeMap::from([
        ("mae".to_owned(), mean(&abs)),
        ("rmse".to_owned(), mean(&sq).sqrt()),
        ("r2".to_owned(), r2),
    ])
}

/// A dummy evaluation holding `curves` or `points`, thinned as the whole-array code did.
fn thinned(curves: Option<Curves>, points: Option<RegressionPoints>) -> Evaluation {
    let mut e = Evaluation {
        model: String::new(),
        data: String::new(),
        target: String::new(),
        task: Task::Classification,
        rows: 0,
        metrics: BTreeMap::new(),
        labels: Vec::new(),
        confusion_matrix: Vec::new(),
        positive_label: None,
        curves,
        regression: points,
        outputs_used: Vec::new(),
        thinned: false,
    };
    thin(&mut e);
    e
}

struct Draws(u64);

impl Draws {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Scored rows of `c` classes: probabilities rounded to `digits` (ties), with a few
/// NaN, ±0 and exact 0/1 probabilities.
fn classes(n: usize, c: usize, digits: i32, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
    let mut d = Draws(seed);
    let scale = 10f64.powi(digits);
    let (mut actual, mut predicted, mut proba) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let a = (d.next() * c as f64) as usize % c;
        let mut p: Vec<f64> = (0..c).map(|_| (d.next() * scale).round() / scale).collect();
        // Lean towards the actual class so the metrics are not all chance.
        p[a] = (p[a] + 0.3).min(1.0);
        match i % 997 {
            0 => p[c - 1] = f64::NAN,
            1 => p[c - 1] = -0.0,
            2 => p[c - 1] = 0.0,
            3 => p[c - 1] = 1.0,
            _ => {}
        }
        let best = (0..c).max_by(|&x, &y| p[x].total_cmp(&p[y])).unwrap_or(0);
        actual.push(a);
        predicted.push(best);
        proba.extend(p);
    }
    (actual, predicted, proba)
}

#[test]
fn the_streamed_metrics_equal_the_whole_array_ones_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // 4 KiB: the scored rows, the curves and every sort run go to disk.
    let tiny = Work {
        dir: dir.path().to_path_buf(),
        share: 1 << 12,
    };
    let labels = |c: usize| (0..c).map(|k| format!("class{k}")).collect::<Vec<_>>();
    for (n, c, digits, seed) in [
        (30_000, 2, 2, 1),
        (30_000, 2, 9, 2),
        (1_500, 2, 9, 3),
        (7, 2, 1, 4),
        (20_000, 3, 3, 5),
        (5_000, 4, 9, 6),
    ] {
        let (actual, predicted, proba) = classes(n, c, digits, seed);
        let (m0, cm0, curves0) = classification_metrics(&labels(c), &actual, &predicted, &proba);
        let old = thinned(curves0, None);
        let mut rows = tiny.spool(2 + c);
        for i in 0..n {
            let mut row = vec![actual[i] as f64, predicted[i] as f64];
            row.extend_from_slice(&proba[i * c..(i + 1) * c]);
            rows.push(&row).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(rows.spilled() || n < 100);
        let scored = rows.finish().unwrap_or_else(|e| panic!("{e}"));
        for work in [&tiny, &Work::memory()] {
            let ((m1, cm1, curves1), thinned1) =
                super::classification_of(&labels(c), &scored, work)
                    .unwrap_or_else(|e| panic!("{e}"));
            let case = format!(
                "{n} rows, {c} classes, {digits} digits, share {}",
                work.share
            );
            assert_eq!(
                format!("{:?}", old.curves),
                format!("{curves1:?}"),
                "{case}"
            );
            assert_eq!(format!("{m0:?}"), format!("{m1:?}"), "{case}");
            assert_eq!(cm0, cm1, "{case}");
            assert_eq!(old.thinned, thinned1, "{case}");
        }
        if c == 2 {
            let positive: Vec<bool> = actual.iter().map(|&a| a == 1).collect();
            let score: Vec<f64> = proba.iter().skip(1).step_by(2).copied().collect();
            let streamed = super::roc_auc(&positive, &score).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(streamed.to_bits(), roc_auc(&positive, &score).to_bits());
        }
    }
    for (n, seed) in [(20_000, 7), (3, 8), (4_000, 9)] {
        let mut d = Draws(seed);
        let actual: Vec<f64> = (0..n).map(|_| (d.next() * 1e4).round() - 3e3).collect();
        let predicted: Vec<f64> = actual.iter().map(|a| a + d.next() * 50.0 - 20.0).collect();
        let m0 = regression_metrics(&actual, &predicted);
        let old = thinned(
            None,
            Some(RegressionPoints {
                actual: actual.clone(),
                predicted: predicted.clone(),
            }),
        );
        let mut rows = tiny.spool(2);
        for (a, p) in actual.iter().zip(&predicted) {
            rows.push(&[*a, *p]).unwrap_or_else(|e| panic!("{e}"));
        }
        let scored = rows.finish().unwrap_or_else(|e| panic!("{e}"));
        let (m1, points, thinned1) =
            super::regression_of(&scored).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{m0:?}"), format!("{m1:?}"), "{n} rows");
        assert_eq!(
            format!("{:?}", old.regression),
            format!("{:?}", Some(points))
        );
        assert_eq!(old.thinned, thinned1);
    }
}
