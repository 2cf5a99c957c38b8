//! Kernel SHAP: shap's KernelExplainer (shap 0.51), step for step.
//!
//! For each explained row, the features that vary against the background (shap's
//! `varying_groups`, `np.allclose`) are the players, `M` of them. The coalitions are shap's:
//! every subset size whose share of the `nsamples` budget covers all its subsets (and their
//! complements) is enumerated in `itertools.combinations` order with its Shapley-kernel
//! weight; the rest of the budget is drawn from numpy's global `RandomState` in shap's order
//! (one `choice` of `4 × samples_left` subset sizes, then a `permutation(M)` per coalition,
//! a repeated coalition adding weight to the first), and the drawn weights are scaled to the
//! kernel weight left. A coalition's value is the mean model output over the background rows
//! with the row's values on the coalition. shap's `l1_reg` then picks the features to keep
//! (LAR for `num_features(K)`, `LassoLarsIC` for `aic`/`bic`, `aic` when `auto` has evaluated
//! under a fifth of the coalitions) and a weighted least squares with the constraint that the
//! values sum to `f(x) − E[f]` gives them (`solve`).

use serde::{Deserialize, Serialize};

use crate::numeric::lars::{self, Criterion, Method};
use crate::numeric::{RandomState, pairwise_sum};
use crate::{Error, Result};

/// shap's `l1_reg`: how features are selected before the regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum L1Reg {
    /// `aic` when fewer than a fifth of the coalitions were evaluated, else none (deprecated
    /// in shap, kept for its users).
    Auto,
    /// No selection: every varying feature is estimated.
    Off,
    /// The first K features least-angle regression adds (shap's default, K = 10).
    NumFeatures(usize),
    /// The lasso path's step with the least AIC.
    Aic,
    /// The lasso path's step with the least BIC.
    Bic,
}

impl Default for L1Reg {
    fn default() -> L1Reg {
        L1Reg::NumFeatures(10)
    }
}

impl L1Reg {
    pub fn parse(text: &str) -> Result<L1Reg> {
        let t = text.trim();
        let bad = || Error::BadArgument {
            argument: "l1-reg",
            detail: format!(
                "{text:?} is not one of auto, false, num_features(K) (K ≥ 1), aic, bic"
            ),
        };
        Ok(match t {
            "auto" => L1Reg::Auto,
            "false" | "False" | "off" | "none" => L1Reg::Off,
            "aic" => L1Reg::Aic,
            "bic" => L1Reg::Bic,
            _ => {
                let k = t
                    .strip_prefix("num_features(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|k| k.trim().parse::<usize>().ok())
                    .filter(|&k| k >= 1)
                    .ok_or_else(bad)?;
                L1Reg::NumFeatures(k)
            }
        })
    }
}

impl std::fmt::Display for L1Reg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            L1Reg::Auto => f.write_str("auto"),
            L1Reg::Off => f.write_str("false"),
            L1Reg::NumFeatures(k) => write!(f, "num_features({k})"),
            L1Reg::Aic => f.write_str("aic"),
            L1Reg::Bic => f.write_str("bic"),
        }
    }
}

impl From<L1Reg> for String {
    fn from(l: L1Reg) -> String {
        l.to_string()
    }
}

impl TryFrom<String> for L1Reg {
    type Error = Error;
    fn try_from(s: String) -> Result<L1Reg> {
        L1Reg::parse(&s)
    }
}

/// shap's default budget: `2M + 2048` coalitions.
pub fn default_nsamples(m: usize) -> usize {
    2 * m + 2048
}

/// The coalitions shap evaluates for one row of `m` varying features.
#[derive(Debug, Clone)]
pub(crate) struct Design {
    pub m: usize,
    /// Coalitions × m, row-major: true where the row's value is used.
    pub masks: Vec<bool>,
    pub weights: Vec<f64>,
    /// The budget after capping at every coalition (shap's `self.nsamples`).
    pub nsamples: usize,
    /// `2^M − 2`, or 2^30 past 30 features.
    pub max_samples: f64,
    /// The coalitions actually drawn: when the draws run out of new coalitions before the
    /// budget (near 2^M − 2), shap leaves the rest of its arrays at zero — an empty mask of
    /// weight 0 that counts in the regression's row count — and so does the design.
    pub filled: usize,
}

impl Design {
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn mask(&self, i: usize) -> &[bool] {
        &self.masks[i * self.m..(i + 1) * self.m]
    }
}

/// `scipy.special.binom(n, k)` for integers: cephes' product loop.
fn binom(n: usize, k: usize) -> f64 {
    let nf = n as f64;
    let mut kx = k as f64;
    if kx > nf / 2.0 && nf > 0.0 {
        kx = nf - kx;
    }
    let (mut num, mut den) = (1.0f64, 1.0f64);
    let mut i = 1.0;
    while i < 1.0 + kx {
        num *= i + nf - kx;
        den *= i;
        if num.abs() > 1e50 {
            num /= den;
            den = 1.0;
        }
        i += 1.0;
    }
    num / den
}

/// Calls `f` with each `k`-subset of `0..m` in `itertools.combinations` order.
fn combinations(m: usize, k: usize, mut f: impl FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..k).collect();
    if k > m {
        return;
    }
    loop {
        f(&idx);
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + m - k) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// The number of coalitions a row of `m` varying features costs for a budget.
pub(crate) fn budget(m: usize, nsamples: Option<usize>) -> usize {
    if m <= 1 {
        return 0;
    }
    let n = nsamples.unwrap_or_else(|| default_nsamples(m));
    if m <= 30 { n.min((1usize << m) - 2) } else { n }
}

/// shap's `explain` up to `run()`: the coalitions and their weights, drawing from `rng` when
/// the budget does not enumerate every subset size. `m ≥ 2`.
pub(crate) fn design(m: usize, nsamples: Option<usize>, rng: &mut RandomState) -> Design {
    let nsamples = budget(m, nsamples);
    let max_samples = if m <= 30 {
        ((1u64 << m) - 2) as f64
    } else {
        (1u64 << 30) as f64
    };
    let mut d = Design {
        m,
        masks: Vec::with_capacity(nsamples * m),
        weights: Vec::with_capacity(nsamples),
        nsamples,
        max_samples,
        filled: 0,
    };
    let mf = m as f64;
    let num_subset_sizes = (m - 1).div_ceil(2);
    let num_paired = (m - 1) / 2;
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|i| (mf - 1.0) / (i as f64 * (mf - i as f64)))
        .collect();
    for w in &mut weight_vector[..num_paired] {
        *w *= 2.0;
    }
    let total = pairwise_sum(&weight_vector);
    weight_vector.iter_mut().for_each(|w| *w /= total);

    let mut num_full = 0usize;
    let mut left = nsamples as f64;
    let mut remaining = weight_vector.clone();
    let mut mask = vec![false; m];
    for size in 1..=num_subset_sizes {
        let mut nsubsets = binom(m, size);
        if size <= num_paired {
            nsubsets *= 2.0;
        }
        if left * remaining[size - 1] / nsubsets < 1.0 - 1e-8 {
            break;
        }
        num_full += 1;
        left -= nsubsets;
        if remaining[size - 1] < 1.0 {
            let by = 1.0 - remaining[size - 1];
            remaining.iter_mut().for_each(|r| *r /= by);
        }
        let mut w = weight_vector[size - 1] / binom(m, size);
        if size <= num_paired {
            w /= 2.0;
        }
        combinations(m, size, |inds| {
            mask.iter_mut().for_each(|v| *v = false);
            for &i in inds {
                mask[i] = true;
            }
            d.masks.extend_from_slice(&mask);
            d.weights.push(w);
            if size <= num_paired {
                d.masks.extend(mask.iter().map(|v| !v));
                d.weights.push(w);
            }
        });
    }

    let fixed = d.len();
    let mut samples_left = nsamples as i64 - fixed as i64;
    if num_full != num_subset_sizes {
        let mut rw = weight_vector.clone();
        for w in &mut rw[..num_paired] {
            *w /= 2.0;
        }
        let mut rw = rw.split_off(num_full);
        let s = pairwise_sum(&rw);
        rw.iter_mut().for_each(|w| *w /= s);
        let draws = rng.choice_p(&rw, (4 * samples_left.max(0)) as usize);
        // Coalitions seen, keyed by their bits (one word up to 64 features).
        let key = |mask: &[bool]| -> Vec<u64> {
            mask.chunks(64)
                .map(|c| {
                    c.iter()
                        .enumerate()
                        .fold(0u64, |a, (i, &b)| a | (u64::from(b) << i))
                })
                .collect()
        };
        let mut used: foldhash::HashMap<Vec<u64>, usize> = foldhash::HashMap::default();
        let mut pos = 0;
        while samples_left > 0 && pos < draws.len() {
            let size = draws[pos] + num_full + 1;
            pos += 1;
            let perm = rng.permutation(m);
            mask.iter_mut().for_each(|v| *v = false);
            for &i in &perm[..size] {
                mask[i] = true;
            }
            let k = key(&mask);
            let seen = used.get(&k).copied();
            match seen {
                None => {
                    used.insert(k, d.len());
                    samples_left -= 1;
                    d.masks.extend_from_slice(&mask);
                    d.weights.push(1.0);
                }
                // A coalition drawn again adds weight to its first draw.
                Some(at) => d.weights[at] += 1.0,
            }
            if samples_left > 0 && size <= num_paired {
                match seen {
                    None => {
                        samples_left -= 1;
                        d.masks.extend(mask.iter().map(|v| !v));
                        d.weights.push(1.0);
                    }
                    // The complement was added right after the coalition.
                    Some(at) => d.weights[at + 1] += 1.0,
                }
            }
        }
        let weight_left = pairwise_sum(&weight_vector[num_full..]);
        let drawn = pairwise_sum(&d.weights[fixed..]);
        let scale = weight_left / drawn;
        d.weights[fixed..].iter_mut().for_each(|w| *w *= scale);
    }
    d.filled = d.len();
    d.masks.resize(nsamples * m, false);
    d.weights.resize(nsamples, 0.0);
    d
}

/// StandardScaler(with_mean=False) over the columns of `x` (`n × p`): each divided by its
/// population standard deviation, near-constant columns left as they are.
fn scale_columns(x: &mut [f64], p: usize) {
    let n = x.len() / p;
    for j in 0..p {
        let col: Vec<f64> = x.iter().skip(j).step_by(p).copied().collect();
        let mean = pairwise_sum(&col) / n as f64;
        let dev: Vec<f64> = col.iter().map(|v| v - mean).collect();
        let correction = pairwise_sum(&dev);
        let sq: Vec<f64> = dev.iter().map(|v| v * v).collect();
        let var = (pairwise_sum(&sq) - correction * correction / n as f64) / n as f64;
        let bound = n as f64 * f64::EPSILON * var + (n as f64 * mean * f64::EPSILON).powi(2);
        let scale = if var <= bound || var.sqrt() < 10.0 * f64::EPSILON {
            1.0
        } else {
            var.sqrt()
        };
        for v in x.iter_mut().skip(j).step_by(p) {
            *v /= scale;
        }
    }
}

/// shap's `solve`: the Shapley values of the `m` varying features from the coalition values
/// `ey` (mean model output per coalition), `f(x)` and `E[f]`.
pub(crate) fn solve(d: &Design, ey: &[f64], fx: f64, fnull: f64, l1: L1Reg) -> Result<Vec<f64>> {
    let (m, n) = (d.m, d.len());
    let total = fx - fnull;
    let ey_adj: Vec<f64> = ey.iter().map(|v| v - fnull).collect();
    let fraction = d.nsamples as f64 / d.max_samples;
    let select = match l1 {
        L1Reg::Off => None,
        L1Reg::Auto if fraction >= 0.2 => None,
        L1Reg::Auto => Some(L1Reg::Aic),
        other => Some(other),
    };
    let mut nonzero: Vec<usize> = (0..m).collect();
    match select {
        None => {}
        Some(L1Reg::NumFeatures(k)) => {
            let (g, xy) = augmented_gram(d, &ey_adj, total);
            nonzero = lars::lars_path(&g, &xy, 2 * n, k, Method::Lar).active;
        }
        Some(rule) => {
            // shap's augmented problem: the coalitions weighted by w(M − s) against the
            // explained differences, then their complements by w·s against the rest.
            let mut x_aug = Vec::with_capacity(2 * n * m);
            let mut y_aug = Vec::with_capacity(2 * n);
            let sizes: Vec<f64> = (0..n).map(|i| mask_size(d.mask(i))).collect();
            for i in 0..n {
                let sq = (d.weights[i] * (m as f64 - sizes[i])).sqrt();
                y_aug.push(ey_adj[i] * sq);
                x_aug.extend(d.mask(i).iter().map(|&b| f64::from(u8::from(b)) * sq));
            }
            for i in 0..n {
                let sq = (d.weights[i] * sizes[i]).sqrt();
                y_aug.push((ey_adj[i] - total) * sq);
                x_aug.extend(
                    d.mask(i)
                        .iter()
                        .map(|&b| (f64::from(u8::from(b)) - 1.0) * sq),
                );
            }
            scale_columns(&mut x_aug, m);
            let criterion = if rule == L1Reg::Bic {
                Criterion::Bic
            } else {
                Criterion::Aic
            };
            let coef = lars::lasso_lars_ic(&x_aug, &y_aug, m, criterion).ok_or_else(|| {
                Error::BadArgument {
                    argument: "l1-reg",
                    detail: format!(
                        "{rule} estimates the noise from {} coalitions, too few for {m} features; raise --nsamples or use num_features(K)",
                        2 * n
                    ),
                }
            })?;
            nonzero = (0..m).filter(|&j| coef[j] != 0.0).collect();
        }
    }
    let mut phi = vec![0.0f64; m];
    let Some((&last, rest)) = nonzero.split_last() else {
        return Ok(phi);
    };
    let k = rest.len();
    let y: Vec<f64> = (0..n)
        .map(|i| ey_adj[i] - f64::from(u8::from(d.mask(i)[last])) * total)
        .collect();
    let x: Vec<f64> = (0..n)
        .flat_map(|i| {
            let row = d.mask(i);
            let l = f64::from(u8::from(row[last]));
            rest.iter().map(move |&j| f64::from(u8::from(row[j])) - l)
        })
        .collect();
    let w = if k == 0 {
        Vec::new()
    } else {
        weighted_least_squares(&x, &y, &d.weights, k)
    };
    for (&j, v) in rest.iter().zip(&w) {
        phi[j] = *v;
    }
    phi[last] = total - w.iter().fold(0.0, |a, v| a + v);
    for v in &mut phi {
        if v.abs() < 1e-10 {
            *v = 0.0;
        }
    }
    Ok(phi)
}

fn mask_size(mask: &[bool]) -> f64 {
    mask.iter().map(|&b| usize::from(b)).sum::<usize>() as f64
}

/// `XᵀX` and `Xᵀy` of shap's augmented problem (rows `√(w(M−s))·m` with targets
/// `√(w(M−s))·Δ`, then `√(w·s)·(m − 1)` with `√(w·s)·(Δ − total)`) straight from the masks:
/// `XᵀX = Σ w·M·m mᵀ − 1cᵀ − c1ᵀ + W·11ᵀ` with `c = Σ w·s·m` and `W = Σ w·s`, the first sum
/// by popcounts over the coalitions of each weight. The same matrix as the product of the
/// augmented rows (to rounding), without building them.
fn augmented_gram(d: &Design, ey_adj: &[f64], total: f64) -> (Vec<f64>, Vec<f64>) {
    let (m, n) = (d.m, d.len());
    let mf = m as f64;
    let mut xy = vec![0.0f64; m];
    let mut c = vec![0.0f64; m];
    let mut w_sum = 0.0f64;
    let mut groups: foldhash::HashMap<u64, Vec<usize>> = foldhash::HashMap::default();
    for (i, &e) in ey_adj.iter().enumerate().take(n) {
        let mask = d.mask(i);
        let s = mask_size(mask);
        let (wa, wb) = (d.weights[i] * (mf - s), d.weights[i] * s);
        // Branch-free: the bits are random, and a mispredicted branch per bit was most of
        // this loop's time.
        let (inside, outside) = (wa * e, wb * (e - total));
        for ((cj, xj), &on) in c.iter_mut().zip(xy.iter_mut()).zip(mask) {
            let f = f64::from(u8::from(on));
            *cj += f * wb;
            *xj += f * inside - (1.0 - f) * outside;
        }
        w_sum += wb;
        groups.entry(d.weights[i].to_bits()).or_default().push(i);
    }
    let mut a = vec![0.0f64; m * m];
    let mut cols: Vec<u64> = Vec::new();
    for (bits, rows) in &groups {
        let words = rows.len().div_ceil(64);
        cols.clear();
        cols.resize(m * words, 0);
        for (k, &i) in rows.iter().enumerate() {
            for (j, &on) in d.mask(i).iter().enumerate() {
                cols[j * words + k / 64] |= u64::from(on) << (k % 64);
            }
        }
        let w = f64::from_bits(*bits) * mf;
        for p in 0..m {
            let cp = &cols[p * words..(p + 1) * words];
            for q in p..m {
                let cq = &cols[q * words..(q + 1) * words];
                let both: u32 = cp.iter().zip(cq).map(|(x, y)| (x & y).count_ones()).sum();
                a[p * m + q] += w * f64::from(both);
            }
        }
    }
    let mut g = vec![0.0f64; m * m];
    for p in 0..m {
        for q in p..m {
            let v = a[p * m + q] - c[p] - c[q] + w_sum;
            g[p * m + q] = v;
            g[q * m + p] = v;
        }
    }
    (g, xy)
}

/// `np.linalg.solve(XᵀWX, (WX)ᵀy)`, or numpy's `lstsq` on `√W X, √W y` when the normal
/// matrix is singular (as shap falls back).
fn weighted_least_squares(x: &[f64], y: &[f64], w: &[f64], k: usize) -> Vec<f64> {
    let mut a = nalgebra::DMatrix::<f64>::zeros(k, k);
    let mut b = nalgebra::DVector::<f64>::zeros(k);
    for ((row, &t), &wi) in x.chunks(k).zip(y).zip(w) {
        for i in 0..k {
            let wx = wi * row[i];
            b[i] += wx * t;
            for j in 0..k {
                a[(i, j)] += wx * row[j];
            }
        }
    }
    if let Some(s) = a.lu().solve(&b) {
        return s.iter().copied().collect();
    }
    let n = y.len();
    let xs = nalgebra::DMatrix::from_fn(n, k, |i, j| w[i].sqrt() * x[i * k + j]);
    let ys = nalgebra::DVector::from_fn(n, |i, _| w[i].sqrt() * y[i]);
    let svd = xs.svd(true, true);
    let largest = svd.singular_values.iter().copied().fold(0.0, f64::max);
    let cutoff = f64::EPSILON * n.max(k) as f64 * largest;
    svd.solve(&ys, cutoff)
        .map(|s| s.iter().copied().collect())
        .unwrap_or_else(|_| vec![0.0; k])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_reg_reads_shaps_spellings() {
        for (text, want) in [
            ("auto", L1Reg::Auto),
            ("false", L1Reg::Off),
            ("num_features(10)", L1Reg::NumFeatures(10)),
            ("aic", L1Reg::Aic),
            ("bic", L1Reg::Bic),
        ] {
            assert_eq!(L1Reg::parse(text).unwrap(), want);
            assert_eq!(L1Reg::parse(&want.to_string()).unwrap(), want);
        }
        for bad in ["num_features(0)", "num_features(x)", "lasso", ""] {
            let e = L1Reg::parse(bad).unwrap_err().to_string();
            assert!(e.contains("num_features(K)"), "{e}");
        }
    }

    /// The Gram matrix from the masks' bits is the product of shap's augmented rows.
    #[test]
    fn augmented_gram_equals_the_augmented_rows_product() {
        let d = design(9, Some(200), &mut RandomState::new(3));
        let m = d.m;
        let ey: Vec<f64> = (0..d.len()).map(|i| (i as f64 * 0.37).sin()).collect();
        let total = 0.8;
        let (g, xy) = augmented_gram(&d, &ey, total);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (i, e) in ey.iter().enumerate() {
            let sq = (d.weights[i] * (m as f64 - mask_size(d.mask(i)))).sqrt();
            y.push(e * sq);
            x.extend(d.mask(i).iter().map(|&b| f64::from(u8::from(b)) * sq));
        }
        for (i, e) in ey.iter().enumerate() {
            let sq = (d.weights[i] * mask_size(d.mask(i))).sqrt();
            y.push((e - total) * sq);
            x.extend(
                d.mask(i)
                    .iter()
                    .map(|&b| (f64::from(u8::from(b)) - 1.0) * sq),
            );
        }
        let (g2, xy2) = lars::gram(x, &y, m);
        for (a, b) in g.iter().zip(&g2).chain(xy.iter().zip(&xy2)) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    /// Near 2^M − 2 coalitions the draws repeat themselves before the budget is met; the
    /// design keeps shap's zero rows for the rest.
    #[test]
    fn a_budget_near_every_coalition_keeps_shaps_empty_rows() {
        let d = design(10, Some(1020), &mut RandomState::new(11));
        assert_eq!(d.len(), 1020);
        assert!(d.filled < 1020, "{} drawn", d.filled);
        assert!(d.weights[d.filled..].iter().all(|&w| w == 0.0));
        assert!(d.masks[d.filled * 10..].iter().all(|&b| !b));
    }

    #[test]
    fn combinations_are_in_itertools_order() {
        let mut all = Vec::new();
        combinations(4, 2, |c| all.push(c.to_vec()));
        assert_eq!(
            all,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
    }

    /// With a budget that covers every coalition the design is the full enumeration, and the
    /// weights are the Shapley kernel's (normalised to sum to 1), so a linear game's values
    /// are exact.
    #[test]
    fn a_full_budget_enumerates_and_solves_a_linear_game_exactly() {
        let m = 5;
        let d = design(m, Some(1000), &mut RandomState::new(0));
        assert_eq!(d.len(), 30);
        assert!((d.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let coef = [0.3, -1.0, 0.0, 2.5, 0.7];
        let ey: Vec<f64> = (0..d.len())
            .map(|i| {
                1.0 + d
                    .mask(i)
                    .iter()
                    .zip(&coef)
                    .map(|(&b, c)| if b { *c } else { 0.0 })
                    .sum::<f64>()
            })
            .collect();
        let fx = 1.0 + coef.iter().sum::<f64>();
        for l1 in [L1Reg::Off, L1Reg::NumFeatures(10), L1Reg::Auto] {
            let phi = solve(&d, &ey, fx, 1.0, l1).unwrap();
            for (p, c) in phi.iter().zip(&coef) {
                assert!((p - c).abs() < 1e-12, "{l1}: {phi:?}");
            }
        }
    }
}
