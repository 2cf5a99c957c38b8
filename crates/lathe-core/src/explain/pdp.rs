//! Partial dependence and ICE as scikit-learn's `partial_dependence(method="brute",
//! kind="both")` computes them.
//!
//! The grid of a feature: its unique values when there are fewer than `grid_resolution`,
//! else `grid_resolution` evenly spaced values between scipy's `mquantiles` (α = β = 0.4) at
//! the 5th and 95th percentiles. For each grid value every row gets that value in the feature
//! and is predicted; ICE keeps each row's curve, the partial dependence is their mean.
//!
//! Data over the memory limit are worked through a slice of rows at a time
//! ([`super::source`]) with the same arithmetic ([`Grid`], [`Accumulator`]): the grid from an
//! external sort of the column, the means as running sums in row order. Their ICE is kept for
//! the rows the chart draws (every ⌈n / [`super::chart::ICE_LINES`]⌉-th row, named in
//! `ice_rows`), not for every row.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Target;
use super::picks::Picks;
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
    /// The rows of `individual` when it does not hold every row (data over the memory limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub ice_rows: Option<Vec<usize>>,
}

/// Where scipy's `mquantiles(x, prob, alphap=0.4, betap=0.4)` of `n` sorted values at `p` looks: the two positions and the weight of
/// the second.
fn mquantile_position(n: usize, p: f64) -> (usize, usize, f64) {
    let n = n as f64;
    let (alphap, betap) = (0.4, 0.4);
    let m = alphap + p * (1.0 - alphap - betap);
    let aleph = n * p + m;
    let k = aleph.clamp(1.0, n - 1.0).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    (k - 1, k, gamma)
}

/// scipy's `mquantiles` of `n` sorted values, the `i`-th of which is `at(i)`.
fn mquantiles_at(n: usize, probs: &[f64], at: impl Fn(usize) -> f64) -> Vec<f64> {
    probs
        .iter()
        .map(|&p| {
            let (lo, hi, gamma) = mquantile_position(n, p);
            (1.0 - gamma) * at(lo) + gamma * at(hi)
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
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut walk = Grid::new(sorted.len(), resolution);
    for &v in &sorted {
        walk.next(v);
    }
    walk.finish(name)
}

/// scikit-learn's grid of a column from its values in sorted order, one at a time (the whole
/// sorted column is never needed): its distinct values while there are fewer than
/// `resolution`, and the values the 5th and 95th `mquantiles` read.
#[derive(Debug)]
pub struct Grid {
    n: usize,
    resolution: usize,
    /// Distinct values so far (as `Vec::dedup` keeps them), up to `resolution`.
    distinct: Vec<f64>,
    /// The values the two quantiles read.
    picks: Picks,
}

const GRID_PERCENTILES: [f64; 2] = [0.05, 0.95];

impl Grid {
    /// For a column of `n` values.
    pub fn new(n: usize, resolution: usize) -> Grid {
        let positions: Vec<usize> = if n == 0 {
            Vec::new()
        } else {
            GRID_PERCENTILES
                .iter()
                .flat_map(|&p| {
                    let (lo, hi, _) = mquantile_position(n, p);
                    [lo, hi]
                })
                .collect()
        };
        Grid {
            n,
            resolution,
            distinct: Vec::new(),
            picks: Picks::new(positions),
        }
    }

    /// The next value in sorted order.
    pub fn next(&mut self, v: f64) {
        if self.distinct.len() < self.resolution && self.distinct.last() != Some(&v) {
            self.distinct.push(v);
        }
        self.picks.next(v);
    }

    pub fn finish(self, name: &str) -> Result<Vec<f64>> {
        if self.distinct.len() < self.resolution {
            return Ok(self.distinct);
        }
        let q = mquantiles_at(self.n, &GRID_PERCENTILES, |i| self.picks.at(i));
        if (q[0] - q[1]).abs() <= 1e-8 + 1e-5 * q[1].abs() {
            return Err(Error::BadArgument {
                argument: "features",
                detail: format!(
                    "the 5th and 95th percentiles of {name:?} are too close to make a grid"
                ),
            });
        }
        Ok(linspace(q[0], q[1], self.resolution))
    }
}

/// The partial dependence of one feature on one grid, summed a slice of rows at a time in row
/// order (so any slicing gives the same sums), with the ICE of the rows `keep` names.
#[derive(Debug)]
pub struct Accumulator {
    grid: Vec<f64>,
    sums: Vec<f64>,
    rows: usize,
    individual: Vec<Vec<f64>>,
}

impl Accumulator {
    pub fn new(grid: Vec<f64>) -> Accumulator {
        Accumulator {
            sums: vec![0.0; grid.len()],
            grid,
            rows: 0,
            individual: Vec::new(),
        }
    }

    /// Adds the rows `x` (row-major, f32 as fed to the model), the first of which is row
    /// `first` of the data: feature `j` of every row is set to each grid value in turn, in
    /// parallel over the grid.
    pub fn add(
        &mut self,
        target: &Target,
        width: usize,
        j: usize,
        x: &[f32],
        first: usize,
        keep: impl Fn(usize) -> bool,
    ) -> Result<()> {
        let rows = x.len() / width;
        let per_value: Vec<Vec<f64>> = self
            .grid
            .par_iter()
            .map(|&g| {
                let mut z = x.to_vec();
                for r in 0..rows {
                    z[r * width + j] = g as f32;
                }
                target.eval(&z)
            })
            .collect::<Result<_>>()?;
        for (sum, v) in self.sums.iter_mut().zip(&per_value) {
            *sum = v.iter().fold(*sum, |a, b| a + b);
        }
        for r in (0..rows).filter(|&r| keep(first + r)) {
            self.individual
                .push(per_value.iter().map(|v| v[r]).collect());
        }
        self.rows += rows;
        Ok(())
    }

    pub fn finish(self, name: &str, ice_rows: Option<Vec<usize>>) -> FeatureDependence {
        let n = self.rows as f64;
        FeatureDependence {
            name: name.to_owned(),
            average: self.sums.iter().map(|s| s / n).collect(),
            grid: self.grid,
            individual: self.individual,
            ice_rows,
        }
    }
}

/// The indexes in `features` of the features named `chosen` (every feature when `None`).
pub fn chosen_features(chosen: Option<&[String]>, features: &[String]) -> Result<Vec<usize>> {
    match chosen {
        None => Ok((0..features.len()).collect()),
        Some(names) => names
            .iter()
            .map(|c| {
                features
                    .iter()
                    .position(|f| f == c)
                    .ok_or_else(|| Error::BadArgument {
                        argument: "feature",
                        detail: format!(
                            "{c:?} is not one of the model's features: {}",
                            features.join(", ")
                        ),
                    })
            })
            .collect(),
    }
}

/// A grid needs two points at least.
pub fn check_resolution(resolution: usize) -> Result<()> {
    if resolution < 2 {
        return Err(Error::BadArgument {
            argument: "grid-resolution",
            detail: "at least 2 grid points".to_owned(),
        });
    }
    Ok(())
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
    check_resolution(resolution)?;
    let done = AtomicU64::new(0);
    chosen
        .iter()
        .map(|&j| {
            job.cancel.check()?;
            let col: Vec<f64> = x64.iter().skip(j).step_by(width).copied().collect();
            let mut dependence = Accumulator::new(grid(&col, resolution, &features[j])?);
            dependence.add(target, width, j, x, 0, |_| true)?;
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            job.progress("partial dependence", d, Some(chosen.len() as u64));
            Ok(dependence.finish(&features[j], None))
        })
        .collect()
}
