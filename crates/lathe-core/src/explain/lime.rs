//! LIME for tabular data, as the `lime` package (0.2) computes it with its defaults.
//!
//! - Every feature is cut at its training quartiles (numpy's linear percentiles); a sample
//!   draws each feature's bin with the training bin frequencies and, for rows after the first,
//!   a value in the bin from a normal with the bin's mean and standard deviation truncated to
//!   the bin's bounds.
//! - The interpretable data are binary: 1 where the sample's bin is the explained row's.
//!   Distances are Euclidean in that space, weights `sqrt(exp(−d² / w²))` with kernel width
//!   `w = 0.75 √F`.
//! - The `num_features` (10) features with the largest `coef × x₀` of a weighted ridge
//!   (α = 0.01) are kept (all of them when there are no more), then a weighted ridge (α = 1)
//!   on those gives the explanation: its coefficients, intercept, weighted R² and the local
//!   prediction of the explained row.
//!
//! The draws are lime's for `random_state=seed`: numpy's MT19937, in lime's order, through
//! numpy's `choice` and scipy's `truncnorm` ppf, with one generator across the explained rows
//! as one lime explainer explaining them in turn. The explanation then equals lime's up to
//! floating-point rounding (see the fixture test).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::picks::Picks;
use super::{Output, Target};
use crate::job::Job;
use crate::numeric::RandomState;
use crate::{Error, Result};

/// One feature's weight in a row's explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LimeWeight {
    pub feature: String,
    /// The condition the row meets, as lime names it (`bmi > 32.10`).
    pub condition: String,
    pub weight: f64,
}

/// The explanation of one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LimeRow {
    pub row: usize,
    pub intercept: f64,
    /// The local model's prediction for the row.
    pub local_prediction: f64,
    /// The model's output for the row.
    pub model_output: f64,
    /// Weighted R² of the local model.
    pub score: f64,
    /// Largest |weight| first.
    pub weights: Vec<LimeWeight>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Lime {
    pub output: Output,
    pub samples: usize,
    pub kernel_width: f64,
    pub num_features: usize,
    pub seed: u32,
    pub rows: Vec<LimeRow>,
}

/// lime's QuartileDiscretizer, fitted on the training (or background) data.
#[derive(Debug, Clone)]
pub struct Quartiles {
    /// Per feature: the three quartiles.
    qts: Vec<[f64; 3]>,
    /// Per feature and bin: mean, std (+1e-11), lower and upper bound.
    bins: Vec<[(f64, f64, f64, f64); 4]>,
    /// Per feature: the bins present in the training data and their frequencies.
    freqs: Vec<Vec<(usize, f64)>>,
}

/// numpy's `percentile(v, q)` (linear) positions among `n` sorted values: the two read and
/// the weight of the second.
fn percentile_position(n: usize, q: f64) -> (usize, usize, f64) {
    let pos = n.saturating_sub(1) as f64 * q / 100.0;
    let lo = pos.floor() as usize;
    (lo, pos.ceil() as usize, pos - lo as f64)
}

const QUARTILES: [f64; 3] = [25.0, 50.0, 75.0];

/// Fits [`Quartiles`] on `n` rows seen three times, a column or a slice at a time, so that
/// data over the memory limit give the numbers of data in memory: each column's values in
/// sorted order ([`QuartileFit::sorted`]: quartiles, min, max), then every row in order twice
/// ([`QuartileFit::sum`], then [`QuartileFit::deviation`]: each bin's mean, then its standard
/// deviation, as running sums in row order).
#[derive(Debug, Clone)]
pub struct QuartileFit {
    n: usize,
    picks: Vec<Picks>,
    qts: Vec<[f64; 3]>,
    counts: Vec<[usize; 4]>,
    sums: Vec<[f64; 4]>,
    means: Vec<[f64; 4]>,
    deviations: Vec<[f64; 4]>,
}

impl QuartileFit {
    pub fn new(n: usize, width: usize) -> QuartileFit {
        let positions: Vec<usize> = QUARTILES
            .iter()
            .flat_map(|&q| {
                let (lo, hi, _) = percentile_position(n, q);
                [lo, hi]
            })
            .chain([0, n.saturating_sub(1)])
            .collect();
        QuartileFit {
            n,
            picks: vec![Picks::new(positions); width],
            qts: Vec::new(),
            counts: vec![[0; 4]; width],
            sums: vec![[0.0; 4]; width],
            means: Vec::new(),
            deviations: vec![[0.0; 4]; width],
        }
    }

    /// The next value of feature `j` in sorted order.
    pub fn sorted(&mut self, j: usize, v: f64) {
        self.picks[j].next(v);
    }

    fn quartiles(&mut self) {
        if self.qts.is_empty() {
            self.qts = self
                .picks
                .iter()
                .map(|p| {
                    QUARTILES.map(|q| {
                        let (lo, hi, w) = percentile_position(self.n, q);
                        let (lo, hi) = (p.at(lo), p.at(hi));
                        lo + (hi - lo) * w
                    })
                })
                .collect();
        }
    }

    /// The next row (after every column's sorted values), first pass.
    pub fn sum(&mut self, row: &[f64]) {
        self.quartiles();
        for (j, &v) in row.iter().enumerate() {
            let b = bin(&self.qts[j], v);
            self.counts[j][b] += 1;
            self.sums[j][b] += v;
        }
    }

    /// The next row, second pass.
    pub fn deviation(&mut self, row: &[f64]) {
        if self.means.is_empty() {
            self.means = self.mean_of_each_bin();
        }
        for (j, &v) in row.iter().enumerate() {
            let b = bin(&self.qts[j], v);
            self.deviations[j][b] += (v - self.means[j][b]).powi(2);
        }
    }

    fn mean_of_each_bin(&self) -> Vec<[f64; 4]> {
        self.sums
            .iter()
            .zip(&self.counts)
            .map(|(s, c)| std::array::from_fn(|b| s[b] / c[b] as f64))
            .collect()
    }

    pub fn finish(mut self) -> Quartiles {
        self.quartiles();
        let n = self.n;
        let mut out = Quartiles {
            qts: Vec::new(),
            bins: Vec::new(),
            freqs: Vec::new(),
        };
        for (j, q) in self.qts.iter().enumerate() {
            let (min, max) = (self.picks[j].at(0), self.picks[j].at(n.saturating_sub(1)));
            let counts = self.counts[j];
            let mut stats = [(0.0, 0.0, 0.0, 0.0); 4];
            for (b, s) in stats.iter_mut().enumerate() {
                let (mean, std) = if counts[b] == 0 {
                    (0.0, 0.0)
                } else {
                    let c = counts[b] as f64;
                    (self.sums[j][b] / c, (self.deviations[j][b] / c).sqrt())
                };
                let lo = if b == 0 { min } else { q[b - 1] };
                let hi = if b == 3 { max } else { q[b] };
                *s = (mean, std + 1e-11, lo, hi);
            }
            out.freqs.push(
                (0..4)
                    .filter(|&b| counts[b] > 0)
                    .map(|b| (b, counts[b] as f64 / n as f64))
                    .collect(),
            );
            out.qts.push(*q);
            out.bins.push(stats);
        }
        out
    }
}

impl Quartiles {
    /// Fitted on `train` (row-major, `width` features) in memory.
    pub fn fit(train: &[f64], width: usize) -> Quartiles {
        let mut fit = QuartileFit::new(train.len() / width, width);
        for j in 0..width {
            let mut sorted: Vec<f64> = train.iter().skip(j).step_by(width).copied().collect();
            sorted.sort_by(f64::total_cmp);
            for v in sorted {
                fit.sorted(j, v);
            }
        }
        for row in train.chunks(width) {
            fit.sum(row);
        }
        for row in train.chunks(width) {
            fit.deviation(row);
        }
        fit.finish()
    }

    fn name(&self, j: usize, feature: &str, b: usize) -> String {
        let q = self.qts[j];
        match b {
            0 => format!("{feature} <= {:.2}", q[0]),
            3 => format!("{feature} > {:.2}", q[2]),
            _ => format!("{:.2} < {feature} <= {:.2}", q[b - 1], q[b]),
        }
    }
}

/// numpy's `searchsorted(qts, v)` (left): the bin of a value.
fn bin(q: &[f64; 3], v: f64) -> usize {
    q.iter().filter(|&&t| t < v).count()
}

/// A standard normal truncated to [a, b] at quantile `q`, as scipy's `truncnorm.ppf` computes
/// it: from the left tail when a < 0, else from the right one (where the CDF is close to 1).
fn truncnorm_ppf(normal: &Normal, q: f64, a: f64, b: f64) -> f64 {
    if a < 0.0 {
        let (ca, cb) = (normal.cdf(a), normal.cdf(b));
        normal.inverse_cdf(ca + q * (cb - ca))
    } else {
        let (sa, sb) = (normal.cdf(-a), normal.cdf(-b));
        -normal.inverse_cdf(sb + (1.0 - q) * (sa - sb))
    }
}

/// Solves the weighted ridge `min Σ w (y − b − x·β)² + α|β|²` as scikit-learn's Ridge does
/// (centred by the weighted means, intercept not penalised). Returns (β, intercept).
fn ridge(
    x: &[f64],
    y: &[f64],
    w: &[f64],
    cols: &[usize],
    width: usize,
    alpha: f64,
) -> (Vec<f64>, f64) {
    let k = cols.len();
    let sw: f64 = w.iter().sum();
    let xm: Vec<f64> = cols
        .iter()
        .map(|&c| x.chunks(width).zip(w).map(|(r, wi)| r[c] * wi).sum::<f64>() / sw)
        .collect();
    let ym = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let mut a = vec![0.0f64; k * k];
    let mut rhs = vec![0.0f64; k];
    for ((r, yi), wi) in x.chunks(width).zip(y).zip(w) {
        let xc: Vec<f64> = cols.iter().zip(&xm).map(|(&c, m)| r[c] - m).collect();
        let yc = yi - ym;
        for i in 0..k {
            rhs[i] += wi * xc[i] * yc;
            for j in 0..k {
                a[i * k + j] += wi * xc[i] * xc[j];
            }
        }
    }
    for i in 0..k {
        a[i * k + i] += alpha;
    }
    let beta = solve(a, rhs, k);
    let intercept = ym - beta.iter().zip(&xm).map(|(b, m)| b * m).sum::<f64>();
    (beta, intercept)
}

/// Gaussian elimination with partial pivoting (the matrix is symmetric positive definite).
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Vec<f64> {
    for col in 0..n {
        let p = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .unwrap_or(col);
        if p != col {
            for c in 0..n {
                a.swap(col * n + c, p * n + c);
            }
            b.swap(col, p);
        }
        let d = a[col * n + col];
        if d == 0.0 {
            continue;
        }
        for r in col + 1..n {
            let f = a[r * n + col] / d;
            if f != 0.0 {
                for c in col..n {
                    a[r * n + c] -= f * a[col * n + c];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r * n + c] * x[c]).sum();
        let d = a[r * n + r];
        x[r] = if d == 0.0 { 0.0 } else { (b[r] - s) / d };
    }
    x
}

/// Settings of [`lime`].
#[derive(Debug, Clone, Copy)]
pub struct LimeSettings {
    pub samples: usize,
    pub num_features: usize,
    pub seed: u32,
}

/// LIME explanations of rows `x` (their indexes `rows`), with the discretizer `disc` (fitted
/// on the training or background data: [`Quartiles::fit`], [`QuartileFit`]).
pub fn lime(
    target: &Target,
    features: &[String],
    x: &[f64],
    rows: &[usize],
    disc: &Quartiles,
    settings: LimeSettings,
    job: &Job,
) -> Result<Lime> {
    let width = features.len();
    if settings.samples < 2 {
        return Err(Error::BadArgument {
            argument: "samples",
            detail: "LIME needs at least 2 samples".to_owned(),
        });
    }
    let kernel_width = (width as f64).sqrt() * 0.75;
    let normal = Normal::standard();
    let n = settings.samples;
    // Draws per row in order, from one generator, so the result does not depend on threads;
    // in lime's order: every feature's bins for all samples (numpy's `choice` with the bin
    // frequencies), then every feature's values in their bins for the samples after the first
    // (scipy's `truncnorm.rvs`: one uniform per sample whose bin has width, through the ppf).
    let mut rng = RandomState::new(settings.seed);
    let mut draws: Vec<(Vec<f64>, Vec<f64>)> = Vec::with_capacity(rows.len());
    for x0 in x.chunks(width) {
        let first: Vec<usize> = (0..width).map(|j| bin(&disc.qts[j], x0[j])).collect();
        let mut bins = vec![0usize; n * width];
        let mut binary = vec![0.0f64; n * width];
        for j in 0..width {
            let f = &disc.freqs[j];
            // numpy: cdf = cumsum(p) / its last value; the bin is searchsorted(cdf, u, 'right').
            let mut cdf: Vec<f64> = f
                .iter()
                .scan(0.0, |acc, &(_, p)| {
                    *acc += p;
                    Some(*acc)
                })
                .collect();
            let last = cdf.last().copied().unwrap_or(1.0);
            cdf.iter_mut().for_each(|c| *c /= last);
            for s in 0..n {
                let u = rng.random_sample();
                let k = cdf
                    .partition_point(|&c| c <= u)
                    .min(f.len().saturating_sub(1));
                let b = f.get(k).map_or(0, |e| e.0);
                bins[s * width + j] = b;
                binary[s * width + j] = f64::from(u8::from(b == first[j]));
            }
            binary[j] = 1.0;
        }
        let mut inverse = vec![0.0f64; n * width];
        inverse[..width].copy_from_slice(x0);
        for j in 0..width {
            for s in 1..n {
                let (mean, std, lo, hi) = disc.bins[j][bins[s * width + j]];
                let (a, b) = ((lo - mean) / std, (hi - mean) / std);
                // lime keeps the standardised bound itself when the bin has no width.
                inverse[s * width + j] = if a == b {
                    a
                } else {
                    mean + std * truncnorm_ppf(&normal, rng.random_sample(), a, b)
                };
            }
        }
        draws.push((binary, inverse));
    }
    let done = std::sync::atomic::AtomicU64::new(0);
    let out: Vec<LimeRow> = draws
        .par_iter()
        .zip(x.par_chunks(width))
        .zip(rows.par_iter())
        .map(|(((binary, inverse), x0), &row)| {
            job.cancel.check()?;
            let z: Vec<f32> = inverse.iter().map(|&v| v as f32).collect();
            let y = target.eval(&z)?;
            let weights: Vec<f64> = binary
                .chunks(width)
                .map(|r| {
                    let d2: f64 = r
                        .iter()
                        .zip(&binary[..width])
                        .map(|(a, b)| (a - b).powi(2))
                        .sum();
                    (-(d2) / (kernel_width * kernel_width)).exp().sqrt()
                })
                .collect();
            let all: Vec<usize> = (0..width).collect();
            let used: Vec<usize> = if width <= settings.num_features {
                all
            } else {
                let (beta, _) = ridge(binary, &y, &weights, &all, width, 0.01);
                let mut order: Vec<usize> = all;
                order.sort_by(|&a, &b| {
                    (beta[b] * binary[b])
                        .abs()
                        .total_cmp(&(beta[a] * binary[a]).abs())
                });
                order.truncate(settings.num_features);
                order
            };
            let (beta, intercept) = ridge(binary, &y, &weights, &used, width, 1.0);
            let predict =
                |r: &[f64]| intercept + used.iter().zip(&beta).map(|(&c, b)| r[c] * b).sum::<f64>();
            let sw: f64 = weights.iter().sum();
            let ym = y.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>() / sw;
            let (mut ss_res, mut ss_tot) = (0.0, 0.0);
            for ((r, yi), wi) in binary.chunks(width).zip(&y).zip(&weights) {
                ss_res += wi * (yi - predict(r)).powi(2);
                ss_tot += wi * (yi - ym).powi(2);
            }
            let mut w: Vec<LimeWeight> = used
                .iter()
                .zip(&beta)
                .map(|(&c, &b)| LimeWeight {
                    feature: features[c].clone(),
                    condition: disc.name(c, &features[c], bin(&disc.qts[c], x0[c])),
                    weight: b,
                })
                .collect();
            w.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("explaining rows", d, Some(rows.len() as u64));
            Ok(LimeRow {
                row,
                intercept,
                local_prediction: predict(&binary[..width]),
                model_output: y[0],
                score: if ss_tot > 0.0 {
                    1.0 - ss_res / ss_tot
                } else {
                    0.0
                },
                weights: w,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Lime {
        output: target.output_spec.clone(),
        samples: n,
        kernel_width,
        num_features: settings.num_features,
        seed: settings.seed,
        rows: out,
    })
}
