//! Score calibration as NannyML decides and does it: scikit-learn's `IsotonicRegression`
//! (`out_of_bounds='clip'`) fitted on the reference scores and targets, used only when
//! NannyML's `needs_calibration` says it lowers the expected calibration error over the test
//! rows of ten stratified 90/10 splits taken together (scikit-learn's `StratifiedShuffleSplit`
//! with `random_state=42`, whose draws [`RandomState`] reproduces), each calibrated by an
//! isotonic regression fitted on its train rows.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::numeric::RandomState;
use crate::numeric::{mean, pairwise_sum};

/// A fitted isotonic regression: the thresholds scikit-learn keeps (`X_thresholds_`,
/// `y_thresholds_`), between which it interpolates linearly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Isotonic {
    /// `IsotonicRegression(out_of_bounds='clip').fit(score, target)`. Rows with a missing
    /// score or target must have been dropped.
    pub fn fit(score: &[f64], target: &[f64]) -> Isotonic {
        let order: Vec<u32> = lexsort(score, target).iter().map(|&i| i as u32).collect();
        Isotonic::fit_sorted(score, target, &order)
    }

    /// [`Isotonic::fit`] given the rows in np.lexsort((target, score)) order: by score, then
    /// target (a subset of a sorted order is sorted, so one sort serves every split).
    fn fit_sorted(score: &[f64], target: &[f64], order: &[u32]) -> Isotonic {
        // _make_unique: scores closer than float64's resolution (1e-15) are one value,
        // carrying the mean target and the count as weight.
        let eps = 1e-15;
        let n = order.len();
        let (mut xs, mut ys, mut ws) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut current_x = score[order[0] as usize];
        let (mut current_y, mut current_w) = (0.0, 0.0);
        for &i in order {
            let i = i as usize;
            let x = score[i];
            if x - current_x >= eps {
                xs.push(current_x);
                ws.push(current_w);
                ys.push(current_y / current_w);
                current_x = x;
                current_w = 1.0;
                current_y = target[i];
            } else {
                current_w += 1.0;
                current_y += target[i];
            }
        }
        xs.push(current_x);
        ws.push(current_w);
        ys.push(current_y / current_w);
        pool_adjacent_violators(&mut ys, &mut ws);
        // Keep the first and last points and those whose value differs from a neighbour's.
        let n = ys.len();
        let keep: Vec<bool> = (0..n)
            .map(|i| i == 0 || i == n - 1 || ys[i] != ys[i - 1] || ys[i] != ys[i + 1])
            .collect();
        let pick = |v: &[f64]| v.iter().zip(&keep).filter(|p| *p.1).map(|p| *p.0).collect();
        Isotonic {
            x: pick(&xs),
            y: pick(&ys),
        }
    }

    /// `predict`: clipped to the fitted range, then scipy's `interp1d` linear arithmetic.
    /// A missing score stays missing.
    pub fn predict(&self, t: f64) -> f64 {
        if t.is_nan() {
            return f64::NAN;
        }
        let n = self.x.len();
        if n == 1 {
            return self.y[0];
        }
        let t = t.clamp(self.x[0], self.x[n - 1]);
        let hi = self.x.partition_point(|&x| x < t).clamp(1, n - 1);
        let lo = hi - 1;
        let slope = (self.y[hi] - self.y[lo]) / (self.x[hi] - self.x[lo]);
        slope * (t - self.x[lo]) + self.y[lo]
    }
}

/// np.lexsort((target, score)): row indices by score, then target (a stable sort). Scores
/// are probabilities (0 to 1): their bits order as they do, so one radix key holds both.
fn lexsort(score: &[f64], target: &[f64]) -> Vec<usize> {
    let mut keyed: Vec<(u64, u32)> = score
        .iter()
        .zip(target)
        .enumerate()
        .map(|(i, (s, t))| {
            // -0.0 and 0.0 are equal, as numpy sorts them.
            let bits = if *s == 0.0 { 0 } else { s.to_bits() };
            ((bits << 1) | u64::from(*t == 1.0), i as u32)
        })
        .collect();
    radsort::sort_by_key(&mut keyed, |k| k.0);
    keyed.into_iter().map(|k| k.1 as usize).collect()
}

/// scikit-learn's `_inplace_contiguous_isotonic_regression`, the same loop.
fn pool_adjacent_violators(y: &mut [f64], w: &mut [f64]) {
    let n = y.len();
    let mut target: Vec<usize> = (0..n).collect();
    let mut i = 0;
    while i < n {
        let mut k = target[i] + 1;
        if k == n {
            break;
        }
        if y[i] < y[k] {
            i = k;
            continue;
        }
        let mut sum_wy = w[i] * y[i];
        let mut sum_w = w[i];
        loop {
            let prev_y = y[k];
            sum_wy += w[k] * y[k];
            sum_w += w[k];
            k = target[k] + 1;
            if k == n || prev_y < y[k] {
                y[i] = sum_wy / sum_w;
                w[i] = sum_w;
                target[i] = k - 1;
                target[k - 1] = i;
                if i > 0 {
                    i = target[i - 1];
                }
                break;
            }
        }
    }
    let mut i = 0;
    while i < n {
        let k = target[i] + 1;
        let v = y[i];
        y[i + 1..k].fill(v);
        i = k;
    }
}

/// Why NannyML's rule did or did not calibrate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "CalibrationDecision"))]
pub enum Decision {
    /// The reference targets hold one class.
    OneClass,
    /// The reference ROC AUC is above 0.999.
    Separable { roc_auc: f64 },
    /// The expected calibration errors over the ten test folds, before and after.
    Compared { before: f64, after: f64 },
}

impl Decision {
    pub fn calibrate(&self) -> bool {
        matches!(*self, Decision::Compared { before, after } if before > after)
    }
}

/// NannyML's `needs_calibration(y_true, y_pred_proba, IsotonicCalibrator())`: `target` holds
/// 0/1 without gaps, `score` has no missing value; `roc_auc` is the reference ROC AUC.
pub fn needs_calibration(target: &[f64], score: &[f64], roc_auc: f64) -> Decision {
    let positives = target.iter().filter(|&&t| t == 1.0).count();
    if positives == 0 || positives == target.len() {
        return Decision::OneClass;
    }
    if roc_auc > 0.999 {
        return Decision::Separable { roc_auc };
    }
    // The splits draw from one generator in order; the fits are independent. Each train set
    // is the rows of one sorted order that the split keeps.
    let splits = stratified_shuffle_split(target, 10, 0.1, 42);
    let sorted = lexsort(score, target);
    let sorted_score: Vec<f64> = sorted.iter().map(|&i| score[i]).collect();
    let sorted_target: Vec<f64> = sorted.iter().map(|&i| target[i]).collect();
    let tested: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = splits
        .par_iter()
        .map(|(train, test)| {
            let mut in_train = vec![false; score.len()];
            for &i in train {
                in_train[i as usize] = true;
            }
            let kept: Vec<u32> = (0..sorted.len() as u32)
                .filter(|&k| in_train[sorted[k as usize]])
                .collect();
            let iso = Isotonic::fit_sorted(&sorted_score, &sorted_target, &kept);
            (
                test.iter().map(|&i| target[i as usize]).collect(),
                test.iter().map(|&i| score[i as usize]).collect(),
                test.iter()
                    .map(|&i| iso.predict(score[i as usize]))
                    .collect(),
            )
        })
        .collect();
    let (mut t_test, mut p_test, mut c_test) = (Vec::new(), Vec::new(), Vec::new());
    for (t, p, c) in tested {
        t_test.extend(t);
        p_test.extend(p);
        c_test.extend(c);
    }
    let edges = bin_index_edges(p_test.len(), 10);
    Decision::Compared {
        before: expected_calibration_error(&t_test, &p_test, &edges),
        after: expected_calibration_error(&t_test, &c_test, &edges),
    }
}

/// NannyML's `_get_bin_index_edges`.
fn bin_index_edges(len: usize, bins: usize) -> Vec<(usize, usize)> {
    let bins = if len <= 2 * bins {
        (len / 2).max(1)
    } else {
        bins
    };
    let width = len / bins;
    let mut edges: Vec<usize> = (0..=len).step_by(width).collect();
    if let Some(last) = edges.last_mut() {
        *last = len;
    }
    edges.windows(2).map(|w| (w[0], w[1])).collect()
}

/// NannyML's `_calculate_expected_calibration_error`: rows ordered by score (stable, where
/// numpy's quicksort leaves ties in an unspecified order), bins of equal counts.
fn expected_calibration_error(target: &[f64], score: &[f64], edges: &[(usize, usize)]) -> f64 {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    let s: Vec<f64> = order.iter().map(|&i| score[i]).collect();
    let t: Vec<f64> = order.iter().map(|&i| target[i]).collect();
    let terms: Vec<f64> = edges
        .iter()
        .map(|&(l, r)| {
            let weight = (r - l) as f64 / s.len() as f64;
            weight * (mean(&s[l..r]) - mean(&t[l..r])).abs()
        })
        .collect();
    pairwise_sum(&terms)
}

/// scikit-learn's `StratifiedShuffleSplit(n_splits, test_size, random_state=seed)` over the
/// classes of `y`, with its draws: per split, the train rows (in class order: their final
/// shuffle is drawn but not applied, as a set is all the fits need) and the test rows (in
/// scikit-learn's order).
pub fn stratified_shuffle_split(
    y: &[f64],
    splits: usize,
    test_size: f64,
    seed: u32,
) -> Vec<(Vec<u32>, Vec<u32>)> {
    let n = y.len();
    let n_test = (test_size * n as f64).ceil() as usize;
    let n_train = n - n_test;
    // np.unique(y): the few class values, sorted.
    let mut classes: Vec<f64> = Vec::new();
    for &v in y {
        if !classes.contains(&v) {
            classes.push(v);
        }
    }
    classes.sort_by(f64::total_cmp);
    let class_of = |v: f64| classes.partition_point(|&c| c < v);
    // np.argsort(y_indices, kind='stable') split by class: each class's rows in row order.
    let mut class_rows: Vec<Vec<u32>> = vec![Vec::new(); classes.len()];
    for (i, &v) in y.iter().enumerate() {
        class_rows[class_of(v)].push(i as u32);
    }
    let counts: Vec<usize> = class_rows.iter().map(Vec::len).collect();
    let mut rng = RandomState::new(seed);
    let mut out = Vec::with_capacity(splits);
    for _ in 0..splits {
        let n_i = approximate_mode(&counts, n_train, &mut rng);
        let remaining: Vec<usize> = counts.iter().zip(&n_i).map(|(c, t)| c - t).collect();
        let t_i = approximate_mode(&remaining, n_test, &mut rng);
        let (mut train, mut test) = (Vec::with_capacity(n_train), Vec::with_capacity(n_test));
        for (k, rows) in class_rows.iter().enumerate() {
            let perm = rng.permutation_u32(counts[k] as u32);
            train.extend(perm[..n_i[k]].iter().map(|&p| rows[p as usize]));
            test.extend(
                perm[n_i[k]..n_i[k] + t_i[k]]
                    .iter()
                    .map(|&p| rows[p as usize]),
            );
        }
        rng.skip_shuffle(train.len());
        rng.shuffle(&mut test);
        out.push((train, test));
    }
    out
}

/// scikit-learn's `_approximate_mode(class_counts, n_draws, rng)`.
fn approximate_mode(counts: &[usize], draws: usize, rng: &mut RandomState) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * draws as f64)
        .collect();
    let mut floored: Vec<f64> = continuous.iter().map(|c| c.floor()).collect();
    let mut need = (draws as f64 - floored.iter().sum::<f64>()) as i64;
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, f)| c - f)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add_now = inds.len().min(need as usize);
            // rng.choice(inds, add_now, replace=False): a permutation's first items.
            let perm = rng.permutation(inds.len());
            for &p in &perm[..add_now] {
                floored[inds[p]] += 1.0;
            }
            need -= add_now as i64;
            if need == 0 {
                break;
            }
        }
    }
    floored.iter().map(|&f| f as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators_and_interpolates() {
        let iso = Isotonic::fit(&[0.1, 0.2, 0.3, 0.4, 0.5], &[0.0, 1.0, 0.0, 1.0, 1.0]);
        assert_eq!(iso.x, [0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(iso.y, [0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(iso.predict(0.0), 0.0);
        // scikit-learn 1.9.1 predicts 0.7499999999999999 here too: the same interpolation.
        assert_eq!(iso.predict(0.35), 0.7499999999999999);
        assert_eq!(iso.predict(2.0), 1.0);
        assert!(iso.predict(f64::NAN).is_nan());
    }

    // scikit-learn 1.9.1: list(StratifiedShuffleSplit(2, test_size=0.1, random_state=42)
    //   .split(np.zeros(20), [0]*13 + [1]*7))
    #[test]
    fn splits_equal_scikit_learn() {
        let y: Vec<f64> = (0..20).map(|i| if i < 13 { 0.0 } else { 1.0 }).collect();
        let s = stratified_shuffle_split(&y, 2, 0.1, 42);
        assert_eq!(s[0].1, [15, 6]);
        assert_eq!(s[1].1, [17, 4]);
        // The train sets, whose order Lathe does not keep.
        let sorted = |v: &[u32]| {
            let mut v = v.to_vec();
            v.sort_unstable();
            v
        };
        let train_0 = [
            18, 19, 5, 10, 16, 12, 1, 8, 0, 17, 4, 14, 13, 2, 7, 3, 11, 9,
        ];
        let train_1 = [
            18, 19, 9, 3, 1, 14, 5, 6, 16, 15, 10, 12, 2, 7, 0, 13, 8, 11,
        ];
        assert_eq!(sorted(&s[0].0), sorted(&train_0));
        assert_eq!(sorted(&s[1].0), sorted(&train_1));
    }
}
