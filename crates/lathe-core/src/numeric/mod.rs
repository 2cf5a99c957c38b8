//! The numeric helpers every capability shares, at the bottom of the core's layers (they import
//! nothing of Lathe's but its error type): sums and moments with numpy's arithmetic, numpy's
//! histogram bins, linear quantiles, correlations and a chi-square p-value. A capability that
//! needs one of these takes it from here, never from another capability.
//!
//! - [`sum`]: numpy's pairwise summation, mean and population standard deviation.
//! - [`rng`]: numpy's legacy `RandomState` (MT19937): the shuffles and draws the reference
//!   tools make with a seed, so Lathe reproduces them.
//! - [`bins`]: Sturges' bin edges and numpy's histogram counts over given edges.
//! - [`stats`]: numpy's histogram and "auto" bins, linear quantiles (pandas' default), pandas'
//!   Pearson and Spearman correlations, scipy's chi-square goodness of fit to a uniform.
//! - [`lars`]: scikit-learn's least-angle regression path and `LassoLarsIC`'s AIC/BIC choice.

pub mod bins;
pub mod lars;
pub mod rng;
pub mod stats;
pub mod sum;

pub use bins::{bin_counts, bin_counts_of, sturges_edges, sturges_edges_of};
pub use rng::RandomState;
pub use stats::{Histogram, histogram, quantile_sorted};
pub use sum::{PairwiseSum, mean, pairwise_sum, pairwise_sum_of, std_pop, std_sample};
