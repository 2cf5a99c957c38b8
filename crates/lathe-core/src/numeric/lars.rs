//! scikit-learn's least-angle regression (`lars_path`, LAR and its lasso variant) and
//! `LassoLarsIC`'s choice of a step on the lasso path by AIC or BIC: the feature selection
//! Kernel SHAP runs before its regression (shap's `l1_reg`).
//!
//! A port of `sklearn.linear_model._least_angle._lars_path_solver` (scikit-learn 1.7) with a
//! precomputed Gram matrix: the same steps, tolerances and stopping rules (`alpha` below
//! float32's epsilon, `max_iter` steps, a degenerate regressor skipped, an increasing alpha
//! ending the lasso path), so the same features enter in the same order. Only the rounding of
//! the inner products can differ (BLAS sums in another order), which moves the path by a few
//! ulps and never the selection except at an exact tie.

/// LAR adds one feature per step; the lasso variant also drops a feature whose coefficient
/// crosses zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Lar,
    Lasso,
}

/// The regularization path: `alphas[k]` and `coefs[k]` after step `k`, and the active
/// features in the order they entered (lasso: those still active at the end).
#[derive(Debug, Clone)]
pub struct Path {
    pub alphas: Vec<f64>,
    pub active: Vec<usize>,
    pub coefs: Vec<Vec<f64>>,
}

/// `arrayfuncs.min_pos`: the smallest positive value, or `f64::MAX` when none is.
fn min_pos(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|&v| v > 0.0).fold(f64::MAX, f64::min)
}

/// `np.around(v, 15)`: multiply, round half to even, divide.
fn around15(v: f64) -> f64 {
    (v * 1e15).round_ties_even() / 1e15
}

/// Solves `L x = b` in place for the lower triangle of `l` (`n × n` at row stride `stride`).
fn forward(l: &[f64], stride: usize, n: usize, b: &mut [f64]) {
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * stride + k] * b[k];
        }
        b[i] = s / l[i * stride + i];
    }
}

/// LAPACK `potrs`: solves `L Lᵀ x = b` for the Cholesky factor `L` (`n × n`).
fn cholesky_solve(l: &[f64], stride: usize, n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = b[..n].to_vec();
    forward(l, stride, n, &mut x);
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in i + 1..n {
            s -= l[k * stride + i] * x[k];
        }
        x[i] = s / l[i * stride + i];
    }
    x
}

/// The Cholesky factor of the leading `n × n` block of `g` (row stride `p`) into `l`
/// (row stride `stride`): what `cholesky_delete` leaves after a lasso drop.
fn cholesky_into(g: &[f64], p: usize, n: usize, l: &mut [f64], stride: usize) {
    for i in 0..n {
        for j in 0..=i {
            let mut s = g[i * p + j];
            for k in 0..j {
                s -= l[i * stride + k] * l[j * stride + k];
            }
            l[i * stride + j] = if i == j {
                s.max(0.0).sqrt().max(f64::EPSILON)
            } else {
                s / l[j * stride + j]
            };
        }
    }
}

fn swap_rows_cols(g: &mut [f64], p: usize, a: usize, b: usize) {
    if a == b {
        return;
    }
    for k in 0..p {
        g.swap(a * p + k, b * p + k);
    }
    for k in 0..p {
        g.swap(k * p + a, k * p + b);
    }
}

/// `lars_path(X, y, Gram=XᵀX, Xy=Xᵀy, alpha_min=0, method, max_iter)` for `n_samples` rows:
/// `gram` is `p × p` row-major, `xy` has `p` values.
pub fn lars_path(
    gram: &[f64],
    xy: &[f64],
    n_samples: usize,
    max_iter: usize,
    method: Method,
) -> Path {
    let p = xy.len();
    let mut gram = gram.to_vec();
    let gram_copy = gram.clone();
    let cov_copy = xy.to_vec();
    let mut cov = xy.to_vec();
    let max_features = max_iter.min(p);
    let n_samples = n_samples as f64;
    let eps = f64::EPSILON;
    let tiny32 = f64::from(f32::MIN_POSITIVE);
    let equality_tolerance = f64::from(f32::EPSILON);
    let alpha_min = 0.0;

    let mut alphas = vec![0.0f64; max_features + 1];
    let mut coefs = vec![vec![0.0f64; p]; max_features + 1];
    let (mut n_iter, mut n_active) = (0usize, 0usize);
    let mut active: Vec<usize> = Vec::new();
    let mut indices: Vec<usize> = (0..p).collect();
    let mut sign_active = vec![0.0f64; max_features.max(1)];
    let mut drop = false;
    let stride = max_features.max(1);
    let mut l = vec![0.0f64; stride * stride];
    // The step's dropped positions in the active list (last first, as numpy's `[::-1]`).
    let mut idx: Vec<usize> = Vec::new();

    loop {
        let (c_idx, c_signed, c) = if cov.is_empty() {
            (0, 0.0, 0.0)
        } else {
            let mut best = 0;
            for (i, v) in cov.iter().enumerate() {
                if v.abs() > cov[best].abs() {
                    best = i;
                }
            }
            (best, cov[best], cov[best].abs())
        };
        // numpy reads alphas[n_iter - 1] as the last element when n_iter is 0.
        let prev_alpha = alphas[if n_iter == 0 {
            alphas.len() - 1
        } else {
            n_iter - 1
        }];
        let alpha = c / n_samples;
        alphas[n_iter] = alpha;
        if alpha <= alpha_min + equality_tolerance {
            if (alpha - alpha_min).abs() > equality_tolerance {
                if n_iter > 0 {
                    let ss = (prev_alpha - alpha_min) / (prev_alpha - alpha);
                    let prev = coefs[n_iter - 1].clone();
                    for (c, pc) in coefs[n_iter].iter_mut().zip(&prev) {
                        *c = pc + ss * (*c - pc);
                    }
                }
                alphas[n_iter] = alpha_min;
            }
            break;
        }
        if n_iter >= max_iter || n_active >= p {
            break;
        }
        if !drop {
            sign_active[n_active] = if c_signed > 0.0 {
                1.0
            } else if c_signed < 0.0 {
                -1.0
            } else {
                0.0
            };
            let (m, n) = (n_active, c_idx + n_active);
            cov.swap(c_idx, 0);
            indices.swap(n, m);
            let not_shortened = cov.clone();
            cov.remove(0);
            swap_rows_cols(&mut gram, p, m, n);
            let cdiag = gram[n_active * p + n_active];
            for k in 0..n_active {
                l[n_active * stride + k] = gram[n_active * p + k];
            }
            if n_active > 0 {
                let mut row = l[n_active * stride..n_active * stride + n_active].to_vec();
                forward(&l, stride, n_active, &mut row);
                l[n_active * stride..n_active * stride + n_active].copy_from_slice(&row);
            }
            let v: f64 = l[n_active * stride..n_active * stride + n_active]
                .iter()
                .map(|x| x * x)
                .sum();
            let diag = (cdiag - v).abs().sqrt().max(eps);
            l[n_active * stride + n_active] = diag;
            if diag < 1e-7 {
                // A degenerate regressor: scikit-learn zeroes its correlation and goes on
                // (leaving the index and Gram swaps in place, as it does).
                cov = not_shortened;
                cov[0] = 0.0;
                cov.swap(c_idx, 0);
                continue;
            }
            active.push(indices[n_active]);
            n_active += 1;
        }
        if method == Method::Lasso && n_iter > 0 && prev_alpha < alpha {
            break;
        }
        let signs = &sign_active[..n_active];
        let mut least_squares = cholesky_solve(&l, stride, n_active, signs);
        let aa;
        if least_squares.len() == 1 && least_squares[0] == 0.0 {
            least_squares[0] = 1.0;
            aa = 1.0;
        } else {
            let mut a = 1.0
                / least_squares
                    .iter()
                    .zip(signs)
                    .map(|(x, s)| x * s)
                    .sum::<f64>()
                    .sqrt();
            if !a.is_finite() {
                let mut l2 = l.clone();
                let mut i = 0;
                while !a.is_finite() {
                    for k in 0..n_active {
                        l2[k * stride + k] += 2f64.powi(i) * eps;
                    }
                    least_squares = cholesky_solve(&l2, stride, n_active, signs);
                    let tmp = least_squares
                        .iter()
                        .zip(signs)
                        .map(|(x, s)| x * s)
                        .sum::<f64>()
                        .max(eps);
                    a = 1.0 / tmp.sqrt();
                    i += 1;
                }
            }
            aa = a;
            least_squares.iter_mut().for_each(|x| *x *= aa);
        }
        let corr_eq_dir: Vec<f64> = (n_active..p)
            .map(|k| {
                around15(
                    (0..n_active)
                        .map(|i| gram[i * p + k] * least_squares[i])
                        .sum::<f64>(),
                )
            })
            .collect();
        let g1 = min_pos(
            cov.iter()
                .zip(&corr_eq_dir)
                .map(|(cv, d)| (c - cv) / (aa - d + tiny32)),
        );
        let g2 = min_pos(
            cov.iter()
                .zip(&corr_eq_dir)
                .map(|(cv, d)| (c + cv) / (aa + d + tiny32)),
        );
        let mut gamma = g1.min(g2).min(c / aa);
        drop = false;
        let z: Vec<f64> = active
            .iter()
            .zip(&least_squares)
            .map(|(&a, ls)| -coefs[n_iter][a] / (ls + tiny32))
            .collect();
        let z_pos = min_pos(z.iter().copied());
        idx.clear();
        if z_pos < gamma {
            idx.extend((0..z.len()).rev().filter(|&i| z[i] == z_pos));
            for &i in &idx {
                sign_active[i] = -sign_active[i];
            }
            if method == Method::Lasso {
                gamma = z_pos;
            }
            drop = true;
        }
        n_iter += 1;
        if n_iter >= coefs.len() {
            let add = 2 * 1.max(max_features.saturating_sub(n_active));
            coefs.extend((0..add).map(|_| vec![0.0; p]));
            alphas.extend(std::iter::repeat_n(0.0, add));
        }
        for (&a, ls) in active.iter().zip(&least_squares) {
            coefs[n_iter][a] = coefs[n_iter - 1][a] + gamma * ls;
        }
        for (cv, d) in cov.iter_mut().zip(&corr_eq_dir) {
            *cv -= gamma * d;
        }
        if drop && method == Method::Lasso {
            n_active -= idx.len();
            let dropped: Vec<usize> = idx.iter().map(|&i| active.remove(i)).collect();
            for &ii in &idx {
                for i in ii..n_active {
                    indices.swap(i, i + 1);
                    swap_rows_cols(&mut gram, p, i, i + 1);
                }
            }
            cholesky_into(&gram, p, n_active, &mut l, stride);
            let coef = &coefs[n_iter];
            let temp: Vec<f64> = dropped
                .iter()
                .map(|&d| cov_copy[d] - (0..p).map(|k| gram_copy[d * p + k] * coef[k]).sum::<f64>())
                .collect();
            cov.splice(0..0, temp);
            let mut kept = Vec::with_capacity(sign_active.len());
            for (i, &s) in sign_active.iter().enumerate() {
                if !idx.contains(&i) {
                    kept.push(s);
                }
            }
            kept.resize(sign_active.len(), 0.0);
            sign_active = kept;
        }
    }
    alphas.truncate(n_iter + 1);
    coefs.truncate(n_iter + 1);
    Path {
        alphas,
        active,
        coefs,
    }
}

/// `XᵀX` and `Xᵀy` of `X` (`n × p`, row-major), by a blocked matrix product. Takes `X`'s
/// values: row-major `X` is column-major `Xᵀ`, so only the transpose is copied.
pub fn gram(x: Vec<f64>, y: &[f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    let n = y.len();
    let xt = nalgebra::DMatrix::from_vec(p, n, x);
    let g = &xt * xt.transpose();
    let xy = &xt * nalgebra::DVector::from_column_slice(y);
    // Symmetric: column-major storage reads as row-major.
    (g.as_slice().to_vec(), xy.as_slice().to_vec())
}

/// The information criterion `LassoLarsIC` minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    Aic,
    Bic,
}

/// `LassoLarsIC(criterion).fit(X, y).coef_` (fit_intercept, max_iter 500): the lasso path of
/// the centred data, the step with the least `n log(2π σ²) + RSS/σ² + k·df`, σ² from an OLS
/// fit. `None` when there are too few rows for σ² (scikit-learn raises).
pub fn lasso_lars_ic(x: &[f64], y: &[f64], p: usize, criterion: Criterion) -> Option<Vec<f64>> {
    let n = y.len();
    if n <= p + 1 {
        return None;
    }
    let mut means = vec![0.0f64; p];
    for row in x.chunks(p) {
        for (m, v) in means.iter_mut().zip(row) {
            *m += v;
        }
    }
    means.iter_mut().for_each(|m| *m /= n as f64);
    let xc: Vec<f64> = x
        .chunks(p)
        .flat_map(|row| row.iter().zip(&means).map(|(v, m)| v - m))
        .collect();
    let ymean = y.iter().sum::<f64>() / n as f64;
    let yc: Vec<f64> = y.iter().map(|v| v - ymean).collect();
    let (g, xy) = gram(xc.clone(), &yc, p);
    let path = lars_path(&g, &xy, n, 500, Method::Lasso);
    let factor = match criterion {
        Criterion::Aic => 2.0,
        Criterion::Bic => (n as f64).ln(),
    };
    // Residual sums of squares from the residuals themselves, as scikit-learn computes them:
    // the shortcut through the Gram matrix cancels catastrophically when the fit is exact
    // (a linear model's game), and σ² then decides the step.
    let rss = |coef: &[f64]| -> f64 {
        xc.chunks(p)
            .zip(&yc)
            .map(|(row, t)| {
                let r = t - row.iter().zip(coef).map(|(a, b)| a * b).sum::<f64>();
                r * r
            })
            .sum()
    };
    // σ² of the least-squares fit (numpy's lstsq: the SVD).
    let a = nalgebra::DMatrix::from_row_slice(n, p, &xc);
    let b = nalgebra::DVector::from_column_slice(&yc);
    let beta = a.svd(true, true).solve(&b, 1e-12).ok()?;
    let noise = rss(beta.as_slice()) / (n - p - 1) as f64;
    let mut best = (f64::INFINITY, 0usize);
    for (k, coef) in path.coefs.iter().enumerate() {
        let df = coef.iter().filter(|c| c.abs() > f64::EPSILON).count() as f64;
        let value =
            n as f64 * (2.0 * std::f64::consts::PI * noise).ln() + rss(coef) / noise + factor * df;
        if value < best.0 {
            best = (value, k);
        }
    }
    Some(path.coefs[best.1].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small problem whose LAR order is known: y is mostly feature 2, then 0.
    #[test]
    fn lar_adds_the_most_correlated_feature_first() {
        let x = [
            1.0, 0.0, 2.0, //
            0.0, 1.0, 1.0, //
            1.0, 1.0, 0.0, //
            2.0, 0.0, 1.0, //
            0.0, 2.0, 3.0,
        ];
        let y: Vec<f64> = x
            .chunks(3)
            .map(|r| 0.5 * r[0] + 0.05 * r[1] + 2.0 * r[2])
            .collect();
        let (g, xy) = gram(x.to_vec(), &y, 3);
        let path = lars_path(&g, &xy, 5, 2, Method::Lar);
        assert_eq!(path.active, vec![2, 0]);
        let full = lars_path(&g, &xy, 5, 10, Method::Lar);
        let last = full.coefs.last().unwrap();
        for (c, want) in last.iter().zip([0.5, 0.05, 2.0]) {
            assert!((c - want).abs() < 1e-9, "{last:?}");
        }
    }
}
