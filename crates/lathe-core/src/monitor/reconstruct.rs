//! Multivariate drift by data reconstruction, NannyML's `DataReconstructionDriftCalculator`:
//! the reference's features imputed (mean for numbers, the most frequent value for text and
//! booleans), categories replaced by their reference frequency (category_encoders'
//! `CountEncoder(normalize=True)`, 0 for a category the reference never had), standardised,
//! and projected on the principal components that explain 65 % of the variance. A chunk's
//! value is the mean distance between its rows and their reconstruction from those
//! components; the thresholds are the reference chunks' mean ± 3 standard deviations.
//!
//! A change in how the features move together (a correlation that flips) raises the error
//! though no single column's distribution moves.

use foldhash::HashMap;
use nalgebra::{DMatrix, SymmetricEigen};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{SAMPLING_ERROR_RANGE, finite, float_values, nan_max, standard_deviation_thresholds};
use crate::numeric::{pairwise_sum, std_pop};
use crate::{Error, Result};

/// NannyML's default share of the variance the kept components explain.
pub const VARIANCE_KEPT: f64 = 0.65;

/// How one feature enters the reconstruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Feature {
    /// A number; a missing one becomes the reference mean.
    Continuous { name: String, mean: f64 },
    /// Text or a boolean, as its reference frequency; a missing one becomes the most frequent
    /// value.
    Categorical {
        name: String,
        most_frequent: String,
        frequencies: Vec<(String, f64)>,
    },
}

impl Feature {
    pub fn name(&self) -> &str {
        match self {
            Feature::Continuous { name, .. } | Feature::Categorical { name, .. } => name,
        }
    }
}

/// The fitted reconstruction: what a bundle carries to compute it without the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconstruction {
    pub features: Vec<Feature>,
    pub scaler_mean: Vec<f64>,
    pub scaler_scale: Vec<f64>,
    pub pca_mean: Vec<f64>,
    /// The kept components, one row of `features.len()` values each.
    pub components: Vec<Vec<f64>>,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
}

/// One chunk's reconstruction error, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorChunkError"))]
pub struct ChunkError {
    pub reconstruction_error: Option<f64>,
    pub sampling_error: Option<f64>,
    pub lower_confidence: Option<f64>,
    pub upper_confidence: Option<f64>,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
    pub alert: bool,
}

/// A feature column's values: numbers (NaN where missing) or texts (polars' strings, read in
/// place: no string is copied).
enum Values {
    Numbers(Vec<f64>),
    Texts(StringChunked),
}

fn values(frame: &DataFrame, name: &str, side: &str) -> Result<Values> {
    let column = frame.column(name).map_err(|_| {
        Error::bad_argument(
            "features",
            format!("no column '{name}' in {side}: both periods need every feature"),
        )
    })?;
    let polars = |e: PolarsError| Error::Compute {
        context: "cannot read a feature",
        detail: format!("'{name}': {e}"),
    };
    let dtype = column.dtype();
    if dtype.is_primitive_numeric() {
        return Ok(Values::Numbers(float_values(column)?));
    }
    if dtype.is_bool()
        || dtype.is_string()
        || matches!(dtype, DataType::Categorical(..) | DataType::Enum(..))
    {
        let cast = column.cast(&DataType::String).map_err(polars)?;
        return Ok(Values::Texts(cast.str().map_err(polars)?.clone()));
    }
    Err(Error::bad_argument(
        "features",
        format!(
            "'{name}' in {side} is a {dtype} column; multivariate drift takes numbers, text and booleans: leave it out of --features"
        ),
    ))
}

/// The encoded, standardised features, one column of `rows` values per feature.
fn encode(rec: &Reconstruction, columns: &[Values]) -> Vec<Vec<f64>> {
    rec.features
        .par_iter()
        .zip(columns)
        .enumerate()
        .map(|(j, (feature, column))| {
            let (mean, scale) = (rec.scaler_mean[j], rec.scaler_scale[j]);
            match (feature, column) {
                (Feature::Continuous { mean: fill, .. }, Values::Numbers(v)) => v
                    .iter()
                    .map(|&value| {
                        let value = if value.is_nan() { *fill } else { value };
                        (value - mean) / scale
                    })
                    .collect(),
                (
                    Feature::Categorical {
                        most_frequent,
                        frequencies,
                        ..
                    },
                    Values::Texts(v),
                ) => {
                    let map: HashMap<&str, f64> =
                        frequencies.iter().map(|(k, f)| (k.as_str(), *f)).collect();
                    let fill = map.get(most_frequent.as_str()).copied().unwrap_or(0.0);
                    v.iter()
                        .map(|value| {
                            let f = match value {
                                Some(k) => map.get(k).copied().unwrap_or(0.0),
                                None => fill,
                            };
                            (f - mean) / scale
                        })
                        .collect()
                }
                // `read` reads each column as its feature's kind.
                _ => Vec::new(),
            }
        })
        .collect()
}

/// Reads the features of `frame` as the fitted reconstruction expects them.
fn read(rec: &Reconstruction, frame: &DataFrame, side: &str) -> Result<Vec<Values>> {
    rec.features
        .iter()
        .map(|f| {
            let v = values(frame, f.name(), side)?;
            match (f, v) {
                (Feature::Continuous { .. }, v @ Values::Numbers(_))
                | (Feature::Categorical { .. }, v @ Values::Texts(_)) => Ok(v),
                (Feature::Categorical { name, .. }, Values::Numbers(v)) => {
                    Ok(Values::Texts(StringChunked::from_iter_options(
                        name.as_str().into(),
                        v.iter().map(|x| (!x.is_nan()).then(|| x.to_string())),
                    )))
                }
                (Feature::Continuous { name, .. }, Values::Texts(_)) => Err(Error::bad_argument(
                    "features",
                    format!("'{name}' holds numbers in the reference but text in {side}"),
                )),
            }
        })
        .collect()
}

impl Reconstruction {
    /// Fits on the reference's `features` (in the given order). Returns it, without
    /// thresholds yet, with every reference row's error (in the frame's order).
    pub fn fit(frame: &DataFrame, features: &[String]) -> Result<(Reconstruction, Vec<f64>)> {
        let rows = frame.height();
        let columns: Vec<Values> = features
            .iter()
            .map(|f| values(frame, f, "the reference data"))
            .collect::<Result<_>>()?;
        let mut fitted = Vec::with_capacity(features.len());
        for (name, column) in features.iter().zip(&columns) {
            fitted.push(match column {
                Values::Numbers(v) => {
                    let kept: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                    if kept.is_empty() {
                        return Err(Error::bad_argument(
                            "features",
                            format!("'{name}' has no value in the reference: leave it out of --features"),
                        ));
                    }
                    Feature::Continuous {
                        name: name.clone(),
                        mean: pairwise_sum(&kept) / kept.len() as f64,
                    }
                }
                Values::Texts(v) => {
                    let mut counts: HashMap<&str, usize> = HashMap::default();
                    for s in v.iter().flatten() {
                        *counts.entry(s).or_default() += 1;
                    }
                    // scikit-learn's most_frequent: the highest count, the smallest value on a tie.
                    let most_frequent = counts
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                        .map(|(k, _)| (*k).to_owned())
                        .ok_or_else(|| {
                            Error::bad_argument(
                                "features",
                                format!("'{name}' has no value in the reference: leave it out of --features"),
                            )
                        })?;
                    let missing = v.null_count();
                    if missing > 0 {
                        *counts.entry(most_frequent.as_str()).or_default() += missing;
                    }
                    let mut frequencies: Vec<(String, f64)> = counts
                        .into_iter()
                        .map(|(k, c)| (k.to_owned(), c as f64 / rows as f64))
                        .collect();
                    frequencies.sort_by(|a, b| a.0.cmp(&b.0));
                    Feature::Categorical {
                        name: name.clone(),
                        most_frequent,
                        frequencies,
                    }
                }
            });
        }
        let d = fitted.len();
        let mut rec = Reconstruction {
            features: fitted,
            scaler_mean: vec![0.0; d],
            scaler_scale: vec![1.0; d],
            pca_mean: vec![0.0; d],
            components: Vec::new(),
            lower_threshold: None,
            upper_threshold: None,
        };
        // The encoded matrix before scaling, then scikit-learn's StandardScaler.
        let mut z = encode(&rec, &columns);
        for (j, col) in z.iter_mut().enumerate() {
            let mean = pairwise_sum(col) / rows as f64;
            let std = std_pop(col);
            rec.scaler_mean[j] = mean;
            // `_handle_zeros_in_scale`: a constant feature keeps its scale of 1.
            let scale = if std <= 10.0 * f64::EPSILON * mean.abs().max(1.0) {
                1.0
            } else {
                std
            };
            rec.scaler_scale[j] = scale;
            col.par_iter_mut().for_each(|v| *v = (*v - mean) / scale);
            rec.pca_mean[j] = pairwise_sum(col) / rows as f64;
        }
        // PCA: the covariance of the standardised rows and its eigendecomposition.
        // Xᵀ·X of the centred rows, a block of rows at a time (one pass over the columns).
        let partials: Vec<DMatrix<f64>> = (0..rows.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let block =
                    centred_block(&z, &rec.pca_mean, b * BLOCK..((b + 1) * BLOCK).min(rows));
                block.tr_mul(&block)
            })
            .collect();
        let mut cov = DMatrix::<f64>::zeros(d, d);
        for p in partials {
            cov += p;
        }
        cov /= (rows.max(2) - 1) as f64;
        let eigen = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let values: Vec<f64> = order
            .iter()
            .map(|&i| eigen.eigenvalues[i].max(0.0))
            .collect();
        let total: f64 = pairwise_sum(&values);
        let mut cumulative = 0.0;
        let mut below = 0;
        for v in &values {
            cumulative += v / total;
            if cumulative <= VARIANCE_KEPT {
                below += 1;
            }
        }
        let k = (below + 1).min(d);
        rec.components = order[..k]
            .iter()
            .map(|&i| eigen.eigenvectors.column(i).iter().copied().collect())
            .collect();
        let errors = rec.errors(&z);
        Ok((rec, errors))
    }

    /// NannyML's thresholds from the reference chunks' values: mean ± 3 standard deviations,
    /// no lower threshold when it would be 0 or less.
    pub fn set_thresholds(&mut self, values: &[f64]) {
        if let Some((lower, upper)) = standard_deviation_thresholds(values) {
            self.lower_threshold = (lower > 0.0).then_some(lower);
            self.upper_threshold = Some(upper);
        }
    }

    /// Every row's reconstruction error (the distance to its projection on the components),
    /// from the standardised feature columns.
    fn errors(&self, z: &[Vec<f64>]) -> Vec<f64> {
        let d = z.len();
        let rows = z.first().map_or(0, Vec::len);
        let k = self.components.len();
        // The components as the rows of a k × d matrix.
        let v = DMatrix::from_fn(k, d, |i, j| self.components[i][j]);
        let vt = v.transpose();
        let blocks: Vec<Vec<f64>> = (0..rows.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let range = b * BLOCK..((b + 1) * BLOCK).min(rows);
                let centred = centred_block(z, &self.pca_mean, range);
                // The distance between each centred row and its projection on the components.
                let projected = (&centred * &vt) * &v;
                let residual = centred - projected;
                let mut sq = vec![0.0; residual.nrows()];
                for column in residual.column_iter() {
                    for (s, r) in sq.iter_mut().zip(column.iter()) {
                        *s += r * r;
                    }
                }
                sq.into_iter().map(f64::sqrt).collect()
            })
            .collect();
        blocks.concat()
    }

    /// The reconstruction errors of `frame`'s rows (in the order given).
    pub fn row_errors(&self, frame: &DataFrame, side: &str) -> Result<Vec<f64>> {
        let columns = read(self, frame, side)?;
        Ok(self.errors(&encode(self, &columns)))
    }

    /// A chunk's value, band, thresholds and alert from its rows' errors.
    pub fn chunk(&self, errors: &[f64]) -> ChunkError {
        let value = mean_error(errors);
        let n = errors.len() as f64;
        let std = if errors.len() > 1 {
            let mean = value;
            let sq: Vec<f64> = errors.iter().map(|e| (e - mean) * (e - mean)).collect();
            (pairwise_sum(&sq) / (n - 1.0)).sqrt()
        } else {
            f64::NAN
        };
        let se = std / n.sqrt();
        let lower = self.lower_threshold.unwrap_or(f64::NEG_INFINITY);
        let upper = self.upper_threshold.unwrap_or(f64::INFINITY);
        ChunkError {
            reconstruction_error: finite(value),
            sampling_error: finite(se),
            upper_confidence: finite(value + SAMPLING_ERROR_RANGE * se),
            lower_confidence: finite(nan_max(0.0, value - SAMPLING_ERROR_RANGE * se)),
            lower_threshold: self.lower_threshold,
            upper_threshold: self.upper_threshold,
            alert: !(lower < value && value < upper),
        }
    }
}

/// Rows per block of the matrix products.
const BLOCK: usize = 4096;

/// Rows `range` of the standardised columns, less the PCA mean, as a rows × features matrix.
fn centred_block(z: &[Vec<f64>], mean: &[f64], range: std::ops::Range<usize>) -> DMatrix<f64> {
    let n = range.len();
    let mut m = DMatrix::<f64>::zeros(n, z.len());
    for (j, (col, mu)) in z.iter().zip(mean).enumerate() {
        for (dst, src) in m.column_mut(j).iter_mut().zip(&col[range.clone()]) {
            *dst = src - mu;
        }
    }
    m
}

/// The mean of a chunk's row errors (NaN for no rows).
pub fn mean_error(errors: &[f64]) -> f64 {
    if errors.is_empty() {
        f64::NAN
    } else {
        pairwise_sum(errors) / errors.len() as f64
    }
}
