//! fANOVA hyperparameter importance (Hutter et al., 2014) as Optuna's
//! `FanovaImportanceEvaluator` computes it: a random forest regressor as scikit-learn's
//! `RandomForestRegressor` fits one (64 trees, depth at most 64, bootstrap samples, every
//! feature tried at each split, squared error), then, per tree, the variance of each param's
//! marginal prediction over the tree's split cells as a share of the tree's variance, averaged
//! over the trees (Optuna's `_fanova/_tree.py`).
//!
//! What is reproduced: the bootstrap samples (numpy's legacy `RandomState`, MT19937 seeded as
//! scikit-learn seeds each tree, and its masked bounded integers), the order the splitter
//! visits the features in (its xorshift `our_rand_r`, seeded from the tree's seed, and its
//! bookkeeping of constant features), features read as float32, the split search (values
//! within 1e-7 one value, thresholds at midpoints, the first best split kept) and the stopping
//! rules (scikit-learn 1.9). What is not: when two splits are equally good in exact arithmetic
//! (two one-hot columns cutting a node the same way), rounding in sums taken in a different
//! order can pick the other one, and the trees part from there. On the fixture studies the
//! importances are within 0.012 of Optuna's (seed 0).
//!
//! Each param's marginal is computed over all the tree's cells at once (a sweep over the split
//! points for a numeric param, the cells of a categorical's one-hot columns otherwise), not by
//! walking the tree once per cell as Optuna does: the same numbers, in a fraction of the time.

use rand_mt::Mt;
use rayon::prelude::*;

/// The forest's settings (Optuna's defaults: 64 trees, depth 64).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Forest {
    pub trees: usize,
    pub max_depth: usize,
    pub seed: u32,
}

impl Default for Forest {
    fn default() -> Self {
        Forest {
            trees: 64,
            max_depth: 64,
            seed: 0,
        }
    }
}

/// The encoded search space: each column's bounds, and each param's columns (one for a number,
/// one per choice for a categorical, one-hot).
pub(crate) struct Space {
    pub bounds: Vec<(f64, f64)>,
    pub params: Vec<Vec<usize>>,
}

/// The importance of each param of `space` (unnormalised: the mean share of each tree's
/// variance), from `x` (one row per run, the encoded columns) and `y`; `None` when every tree
/// has zero variance (the metric does not vary over the runs).
pub(crate) fn importances(
    x: &[Vec<f64>],
    y: &[f64],
    space: &Space,
    forest: Forest,
) -> Option<Vec<f64>> {
    let n = y.len();
    let columns = space.bounds.len();
    // scikit-learn fits on float32 features.
    let xs: Vec<Vec<f32>> = (0..columns)
        .map(|c| x.iter().map(|row| row[c] as f32).collect())
        .collect();
    let mut master = Mt::new(forest.seed);
    let seeds: Vec<u32> = (0..forest.trees)
        .map(|_| bounded(&mut master, (i32::MAX - 1) as u32))
        .collect();
    let per_tree: Vec<Option<Vec<f64>>> = seeds
        .par_iter()
        .map(|&seed| {
            let mut rng = Mt::new(seed);
            let mut counts = vec![0u32; n];
            for _ in 0..n {
                counts[bounded(&mut rng, (n - 1) as u32) as usize] += 1;
            }
            let tree = Tree::fit(&xs, y, &counts, forest.max_depth, seed);
            tree.shares(space)
        })
        .collect();
    let used: Vec<&Vec<f64>> = per_tree.iter().flatten().collect();
    if used.is_empty() {
        return None;
    }
    Some(
        (0..space.params.len())
            .map(|p| used.iter().map(|shares| shares[p]).sum::<f64>() / used.len() as f64)
            .collect(),
    )
}

/// scikit-learn's `our_rand_r`: a 32-bit xorshift, reduced below 2^31.
fn rand_r(state: &mut u32) -> u32 {
    if *state == 0 {
        *state = 1;
    }
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    *state % (i32::MAX as u32 + 1)
}

/// numpy's legacy `RandomState.randint` in `[0, rng]`: 32-bit draws masked to the smallest
/// all-ones mask covering `rng`, redrawn while above it.
fn bounded(mt: &mut Mt, rng: u32) -> u32 {
    if rng == 0 {
        return 0;
    }
    let mut mask = rng;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    loop {
        let v = mt.next_u32() & mask;
        if v <= rng {
            return v;
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    /// The split's column, or `None` for a leaf.
    feature: Option<usize>,
    threshold: f64,
    left: usize,
    right: usize,
    value: f64,
}

struct Tree {
    nodes: Vec<Node>,
}

/// scikit-learn's constants: values this close are one value; an impurity this small is none.
const FEATURE_THRESHOLD: f64 = 1e-7;

impl Tree {
    /// A regression tree as scikit-learn's depth-first builder grows one on the samples with
    /// a nonzero bootstrap count, weighted by it; `seed` is the tree's (its splitter draws the
    /// order it visits the features in from it).
    fn fit(xs: &[Vec<f32>], y: &[f64], counts: &[u32], max_depth: usize, seed: u32) -> Tree {
        let mut samples: Vec<usize> = (0..y.len()).filter(|&i| counts[i] > 0).collect();
        let d = xs.len();
        // The splitter's state: its xorshift seed, the features' order and the constant
        // features found so far, carried from node to node as scikit-learn carries them.
        let mut state = bounded(&mut Mt::new(seed), (i32::MAX - 1) as u32);
        let mut features: Vec<usize> = (0..d).collect();
        let mut constant: Vec<usize> = vec![0; d];
        let mut nodes: Vec<Node> = Vec::new();
        // (start, end, depth, parent, is_left, known constant features)
        let mut stack: Vec<(usize, usize, usize, Option<usize>, bool, usize)> =
            vec![(0, samples.len(), 0, None, false, 0)];
        let mut sorted: Vec<(f32, usize)> = Vec::with_capacity(samples.len());
        while let Some((start, end, depth, parent, is_left, n_known)) = stack.pop() {
            let (mut w, mut s, mut q) = (0.0, 0.0, 0.0);
            for &i in &samples[start..end] {
                let wi = f64::from(counts[i]);
                w += wi;
                s += wi * y[i];
                q += wi * y[i] * y[i];
            }
            let value = s / w;
            let impurity = q / w - value * value;
            let id = nodes.len();
            nodes.push(Node {
                feature: None,
                threshold: 0.0,
                left: 0,
                right: 0,
                value,
            });
            if let Some(p) = parent {
                if is_left {
                    nodes[p].left = id;
                } else {
                    nodes[p].right = id;
                }
            }
            let n = end - start;
            if depth >= max_depth || n < 2 || impurity <= f64::EPSILON {
                continue;
            }
            // scikit-learn's node_split_best: the features drawn in a random order (the known
            // constant ones set aside), the largest proxy improvement kept, the first on ties.
            let mut best: Option<(f64, usize, f64)> = None;
            let (mut f_i, mut n_found, mut n_drawn, mut visited) = (d, 0, 0, 0);
            let mut n_total = n_known;
            while f_i > n_total && (visited < d || visited <= n_found + n_drawn) {
                visited += 1;
                let drawn = n_drawn + (rand_r(&mut state) as usize) % (f_i - n_found - n_drawn);
                if drawn < n_known {
                    features.swap(n_drawn, drawn);
                    n_drawn += 1;
                    continue;
                }
                let f_j = drawn + n_found;
                let f = features[f_j];
                let column = &xs[f];
                sorted.clear();
                sorted.extend(samples[start..end].iter().map(|&i| (column[i], i)));
                sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
                if f64::from(sorted[n - 1].0) <= f64::from(sorted[0].0) + FEATURE_THRESHOLD {
                    features.swap(f_j, n_total);
                    n_found += 1;
                    n_total += 1;
                    continue;
                }
                f_i -= 1;
                features.swap(f_i, f_j);
                let (mut lw, mut ls) = (0.0, 0.0);
                let mut p = 0;
                while p < n {
                    while p + 1 < n
                        && f64::from(sorted[p + 1].0) <= f64::from(sorted[p].0) + FEATURE_THRESHOLD
                    {
                        let i = sorted[p].1;
                        lw += f64::from(counts[i]);
                        ls += f64::from(counts[i]) * y[i];
                        p += 1;
                    }
                    let i = sorted[p].1;
                    lw += f64::from(counts[i]);
                    ls += f64::from(counts[i]) * y[i];
                    p += 1;
                    if p >= n {
                        break;
                    }
                    let rs = s - ls;
                    let proxy = ls * ls / lw + rs * rs / (w - lw);
                    if best.is_none_or(|(b, _, _)| proxy > b) {
                        let (lo, hi) = (f64::from(sorted[p - 1].0), f64::from(sorted[p].0));
                        best = Some((proxy, f, lo / 2.0 + hi / 2.0));
                    }
                }
            }
            // The constant features found here stay set aside for the children.
            features[..n_known].copy_from_slice(&constant[..n_known]);
            constant[n_known..n_known + n_found]
                .copy_from_slice(&features[n_known..n_known + n_found]);
            let Some((_, feature, threshold)) = best else {
                continue;
            };
            // Partition: the samples at or below the threshold first.
            let column = &xs[feature];
            let (mut p, mut stop) = (start, end);
            while p < stop {
                if f64::from(column[samples[p]]) <= threshold {
                    p += 1;
                } else {
                    stop -= 1;
                    samples.swap(p, stop);
                }
            }
            nodes[id].feature = Some(feature);
            nodes[id].threshold = threshold;
            // Right pushed first: the left child is built next, as scikit-learn does.
            stack.push((p, end, depth + 1, Some(id), false, n_total));
            stack.push((start, p, depth + 1, Some(id), true, n_total));
        }
        Tree { nodes }
    }

    /// Each param's marginal variance as a share of the tree's; `None` when the tree has no
    /// variance (it does not count, as in Optuna).
    fn shares(&self, space: &Space) -> Option<Vec<f64>> {
        let nodes = &self.nodes;
        let columns = space.bounds.len();
        // Each node's cell over every column, top down; then its statistics: a leaf's value
        // weighted by its cell's volume, an inner node the weighted mean of its children.
        let mut cells: Vec<Vec<(f64, f64)>> = vec![Vec::new(); nodes.len()];
        cells[0] = space.bounds.clone();
        let mut order = vec![0usize];
        let mut i = 0;
        while i < order.len() {
            let id = order[i];
            i += 1;
            if let Some(f) = nodes[id].feature {
                let mut left = cells[id].clone();
                left[f].1 = nodes[id].threshold;
                let mut right = cells[id].clone();
                right[f].0 = nodes[id].threshold;
                cells[nodes[id].left] = left;
                cells[nodes[id].right] = right;
                order.push(nodes[id].left);
                order.push(nodes[id].right);
            }
        }
        let mut stats = vec![(0.0, 0.0); nodes.len()];
        for &id in order.iter().rev() {
            stats[id] = match nodes[id].feature {
                None => (
                    nodes[id].value,
                    cells[id].iter().map(|(lo, hi)| hi - lo).product::<f64>(),
                ),
                Some(_) => {
                    let (l, r) = (stats[nodes[id].left], stats[nodes[id].right]);
                    ((l.0 * l.1 + r.0 * r.1) / (l.1 + r.1), l.1 + r.1)
                }
            };
        }
        let leaves: Vec<(f64, f64)> = (0..nodes.len())
            .filter(|&id| nodes[id].feature.is_none())
            .map(|id| stats[id])
            .collect();
        let variance = weighted_variance(&leaves);
        if variance.is_nan() || variance <= 0.0 {
            return None;
        }
        // Which columns each subtree splits on.
        let mut below: Vec<Vec<bool>> = vec![vec![false; columns]; nodes.len()];
        for &id in order.iter().rev() {
            if let Some(f) = nodes[id].feature {
                let (l, r) = (nodes[id].left, nodes[id].right);
                let mut used: Vec<bool> = below[l]
                    .iter()
                    .zip(&below[r])
                    .map(|(a, b)| *a || *b)
                    .collect();
                used[f] = true;
                below[id] = used;
            }
        }
        // Each column's split points, sorted, between its bounds.
        let mut splits: Vec<Vec<f64>> = vec![Vec::new(); columns];
        for node in nodes {
            if let Some(f) = node.feature {
                splits[f].push(node.threshold);
            }
        }
        let grids: Vec<(Vec<f64>, Vec<f64>)> = splits
            .into_iter()
            .enumerate()
            .map(|(c, mut s)| {
                s.sort_by(f64::total_cmp);
                s.dedup();
                let mut edges = vec![space.bounds[c].0];
                edges.extend(s);
                edges.push(space.bounds[c].1);
                let mids = edges.windows(2).map(|e| 0.5 * (e[1] + e[0])).collect();
                let sizes = edges.windows(2).map(|e| e[1] - e[0]).collect();
                (mids, sizes)
            })
            .collect();
        Some(
            space
                .params
                .iter()
                .map(|cols| {
                    let marginal = self.marginal_variance(cols, &grids, &below, &stats, space);
                    marginal.max(0.0) / variance
                })
                .collect(),
        )
    }

    /// The variance of the tree's prediction as a function of the `cols` alone, the other
    /// columns averaged out, over the cells their split points make (Optuna's
    /// `get_marginal_variance`).
    fn marginal_variance(
        &self,
        cols: &[usize],
        grids: &[(Vec<f64>, Vec<f64>)],
        below: &[Vec<bool>],
        stats: &[(f64, f64)],
        space: &Space,
    ) -> f64 {
        let nodes = &self.nodes;
        // The nodes a point of the cols' space ends in: leaves, and nodes whose subtree splits
        // on none of the cols; each with its box over the cols.
        let mut ends: Vec<(usize, Vec<(f64, f64)>)> = Vec::new();
        let start: Vec<(f64, f64)> = cols.iter().map(|&c| space.bounds[c]).collect();
        let mut stack = vec![(0usize, start)];
        while let Some((id, b)) = stack.pop() {
            match nodes[id].feature {
                Some(f) if cols.contains(&f) => {
                    let k = cols.iter().position(|&c| c == f).unwrap_or(0);
                    let mut left = b.clone();
                    left[k].1 = nodes[id].threshold;
                    let mut right = b;
                    right[k].0 = nodes[id].threshold;
                    stack.push((nodes[id].left, left));
                    stack.push((nodes[id].right, right));
                }
                Some(_) if cols.iter().any(|&c| below[id][c]) => {
                    stack.push((nodes[id].left, b.clone()));
                    stack.push((nodes[id].right, b));
                }
                _ => ends.push((id, b)),
            }
        }
        // Each end's weight: its volume spread over its box in the cols.
        let weighted: Vec<End> = ends
            .iter()
            .map(|(id, b)| {
                let volume: f64 = b.iter().map(|(lo, hi)| hi - lo).product();
                (stats[*id].0, stats[*id].1 / volume, b.as_slice())
            })
            .collect();
        let mut points: Vec<(f64, f64)> = Vec::new();
        if cols.len() == 1 {
            // A sweep: each end covers a run of the column's cells.
            let (mids, sizes) = &grids[cols[0]];
            let mut sum_wv = vec![0.0; mids.len() + 1];
            let mut sum_w = vec![0.0; mids.len() + 1];
            for &(v, w, b) in &weighted {
                let from = mids.partition_point(|&m| m <= b[0].0);
                let to = mids.partition_point(|&m| m < b[0].1);
                if from < to {
                    sum_wv[from] += w * v;
                    sum_wv[to] -= w * v;
                    sum_w[from] += w;
                    sum_w[to] -= w;
                }
            }
            let (mut acc_wv, mut acc_w) = (0.0, 0.0);
            for k in 0..mids.len() {
                acc_wv += sum_wv[k];
                acc_w += sum_w[k];
                points.push((acc_wv / acc_w, acc_w * sizes[k]));
            }
            // Running sums drift: recompute a cell exactly when its sum is tiny against its
            // terms (cancellation), from the ends that cover it.
            for (k, point) in points.iter_mut().enumerate() {
                if !point.0.is_finite() {
                    let m = mids[k];
                    let (mut wv, mut ww) = (0.0, 0.0);
                    for &(v, w, b) in &weighted {
                        if b[0].0 < m && m < b[0].1 {
                            wv += w * v;
                            ww += w;
                        }
                    }
                    *point = (wv / ww, ww * sizes[k]);
                }
            }
        } else {
            // Every cell of the cols' grids (a categorical's one-hot columns: two each at most).
            let mut index = vec![0usize; cols.len()];
            loop {
                let (mut wv, mut ww, mut size) = (0.0, 0.0, 1.0);
                for (k, &c) in cols.iter().enumerate() {
                    size *= grids[c].1[index[k]];
                }
                for &(v, w, b) in &weighted {
                    let inside = cols.iter().enumerate().all(|(k, &c)| {
                        let m = grids[c].0[index[k]];
                        b[k].0 < m && m < b[k].1
                    });
                    if inside {
                        wv += w * v;
                        ww += w;
                    }
                }
                points.push((wv / ww, ww * size));
                // Next cell, the last column fastest (itertools.product's order).
                let mut k = cols.len();
                loop {
                    if k == 0 {
                        return weighted_variance(&points);
                    }
                    k -= 1;
                    index[k] += 1;
                    if index[k] < grids[cols[k]].0.len() {
                        break;
                    }
                    index[k] = 0;
                }
            }
        }
        weighted_variance(&points)
    }
}

/// A node a point ends in: its value, its weight per unit of the cols' volume, its box.
type End<'a> = (f64, f64, &'a [(f64, f64)]);

/// numpy's `average((v - average(v, w)) ** 2, w)` of (value, weight) pairs.
fn weighted_variance(points: &[(f64, f64)]) -> f64 {
    let total: f64 = points.iter().map(|p| p.1).sum();
    let mean = points.iter().map(|p| p.0 * p.1).sum::<f64>() / total;
    points
        .iter()
        .map(|p| (p.0 - mean) * (p.0 - mean) * p.1)
        .sum::<f64>()
        / total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy: `np.random.RandomState(0).randint(2**31 - 1, size=3)` and
    /// `RandomState(5).randint(0, 10, 5, dtype=np.int32)`.
    #[test]
    fn bounded_draws_are_numpys() {
        let mut mt = Mt::new(0);
        let draws: Vec<u32> = (0..3)
            .map(|_| bounded(&mut mt, (i32::MAX - 1) as u32))
            .collect();
        assert_eq!(draws, [209652396, 398764591, 924231285]);
        let mut mt = Mt::new(5);
        let draws: Vec<u32> = (0..5).map(|_| bounded(&mut mt, 9)).collect();
        assert_eq!(draws, [3, 6, 6, 0, 9]);
    }

    #[test]
    fn a_param_that_drives_the_metric_takes_the_variance() {
        // y depends on column 0 only; column 1 is noise-free filler.
        let x: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![f64::from(i % 20), f64::from((i * 7) % 13)])
            .collect();
        let y: Vec<f64> = x.iter().map(|r| (r[0] - 10.0).powi(2)).collect();
        let space = Space {
            bounds: vec![(0.0, 19.0), (0.0, 12.0)],
            params: vec![vec![0], vec![1]],
        };
        let got = importances(&x, &y, &space, Forest::default()).unwrap();
        assert!(got[0] > 0.95 && got[1] < 0.01, "{got:?}");
    }
}
