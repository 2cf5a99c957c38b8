//! Partial dependence and ICE as scikit-learn's `partial_dependence(method="brute",
//! kind="both")` computes them.
//!
//! The grid of a feature: its unique values when there are fewer than `grid_resolution`,
//! else `grid_resolution` evenly spaced values between scipy's `mquantiles` (α = β = 0.4) at
//! the 5th and 95th percentiles. For each grid value every row gets that value in the feature
//! and is predicted; ICE keeps each row's curve, the partial dependence is their mean.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Target;
use crate::job::Job;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeatureDependence {
    pub name: String,
    pub grid: Vec<f64>,
    /// The partial dependence: the mean of `individual` per grid value.
    pub average: Vec<f64>,
    /// ICE: per row, the output at each grid value.
    pub individual: Vec<Vec<f64>>,
}

/// scipy's `mquantiles(x, prob, alphap=0.4, betap=0.4)` of unsorted values.
pub fn mquantiles(values: &[f64], probs: &[f64]) -> Vec<f64> {
    let mut x = values.to_vec();
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    let (alphap, betap) = (0.4, 0.4);
    probs
        .iter()
        .map(|&p| {
            let m = alphap + p * (1.0 - alphap - betap);
            let aleph = n * p + m;
            let k = aleph.clamp(1.0, n - 1.0).floor();
            let gamma = (aleph - k).clamp(0.0, 1.0);
            let k = k as usize;
            (1.0 - gamma) * x[k - 1] + gamma * x[k]
        })
        .collect()
}

/// numpy's `linspace(a, b, n)`.
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| a + i as f64 * step).collect();
    v[n - 1] = b;
    v
}

/// scikit-learn's `_grid_from_X` for one column.
pub fn grid(values: &[f64], resolution: usize, name: &str) -> Result<Vec<f64>> {
    let mut uniq = values.to_vec();
    uniq.sort_by(f64::total_cmp);
    uniq.dedup();
    if uniq.len() < resolution {
        return Ok(uniq);
    }
    let q = mquantiles(values, &[0.05, 0.95]);
    if (q[0] - q[1]).abs() <= 1e-8 + 1e-5 * q[1].abs() {
        return Err(Error::BadArgument {
            argument: "features",
            detail: format!(
                "the 5th and 95th percentiles of {name:?} are too close to make a grid"
            ),
        });
    }
    Ok(linspace(q[0], q[1], resolution))
}

/// PDP and ICE of the chosen features (indexes into `features`) over rows `x` (f32, fed to
/// the model) whose values `x64` give the grids.
pub fn partial_dependence(
    target: &Target,
    features: &[String],
    chosen: &[usize],
    x: &[f32],
    x64: &[f64],
    resolution: usize,
    job: &Job,
) -> Result<Vec<FeatureDependence>> {
    let width = features.len();
    let rows = x.len() / width;
    if resolution < 2 {
        return Err(Error::BadArgument {
            argument: "grid-resolution",
            detail: "at least 2 grid points".to_owned(),
        });
    }
    let done = AtomicU64::new(0);
    chosen
        .iter()
        .map(|&j| {
            job.cancel.check()?;
            let col: Vec<f64> = x64.iter().skip(j).step_by(width).copied().collect();
            let grid = grid(&col, resolution, &features[j])?;
            // One model call per grid value, in parallel.
            let per_value: Vec<Vec<f64>> = grid
                .par_iter()
                .map(|&g| {
                    let mut z = x.to_vec();
                    for r in 0..rows {
                        z[r * width + j] = g as f32;
                    }
                    target.eval(&z)
                })
                .collect::<Result<_>>()?;
            let average: Vec<f64> = per_value
                .iter()
                .map(|v| v.iter().sum::<f64>() / rows as f64)
                .collect();
            let individual: Vec<Vec<f64>> = (0..rows)
                .map(|r| per_value.iter().map(|v| v[r]).collect())
                .collect();
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            job.progress("partial dependence", d, Some(chosen.len() as u64));
            Ok(FeatureDependence {
                name: features[j].clone(),
                grid,
                average,
                individual,
            })
        })
        .collect()
}
