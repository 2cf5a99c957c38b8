//! Numeric building blocks of the profile, each written to reproduce its reference
//! implementation's arithmetic (so results agree to ~1e-15, not just "close"):
//! numpy's `histogram`, pandas' `nancorr` (Pearson, Welford updates) and `nancorr_spearman`
//! (average ranks of the pairwise-complete rows).

use serde::{Deserialize, Serialize};

/// Equal-width bins: `edges` has one more entry than `counts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// The most bins a histogram gets; fewer when a column has fewer distinct values.
pub const MAX_BINS: usize = 20;

/// `numpy.histogram(values, bins)` for sorted, finite `values`, with `bins` equal-width bins
/// over [min, max] (widened by 0.5 each side when min == max, as numpy does).
pub fn histogram(sorted: &[f64], bins: usize) -> Option<Histogram> {
    let (&lo, &hi) = (sorted.first()?, sorted.last()?);
    if !lo.is_finite() || !hi.is_finite() || bins == 0 {
        return None;
    }
    let (first, last) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    edges[bins] = last;
    let mut counts = vec![0u64; bins];
    let denom = last - first;
    for &x in sorted {
        let mut i = (((x - first) / denom) * bins as f64) as usize;
        if i >= bins {
            i = bins - 1;
        }
        if x < edges[i] && i > 0 {
            i -= 1;
        } else if i + 1 < bins && x >= edges[i + 1] {
            i += 1;
        }
        counts[i] += 1;
    }
    Some(Histogram { edges, counts })
}

/// The bin count of `numpy.histogram_bin_edges(values, bins="auto")` for sorted, finite
/// `values`: the smaller of the Freedman–Diaconis and Sturges bin widths (Sturges alone when the
/// IQR is zero), at least 1 wide for integers. Capped at [`MAX_AUTO_BINS`].
pub fn auto_bins(sorted: &[f64], integral: bool) -> usize {
    let n = sorted.len();
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
        return 1;
    };
    let ptp = hi - lo;
    let sturges = ptp / ((n as f64).log2() + 1.0);
    let iqr = quantile_sorted(sorted, 0.75) - quantile_sorted(sorted, 0.25);
    let fd = 2.0 * iqr * (n as f64).powf(-1.0 / 3.0);
    let mut width = if fd > 0.0 { fd.min(sturges) } else { sturges };
    if width > 0.0 && integral && width < 1.0 {
        width = 1.0;
    }
    if width > 0.0 {
        ((ptp / width).ceil() as usize).clamp(1, MAX_AUTO_BINS)
    } else {
        1
    }
}

/// More bins than any table here has rows to fill; numpy has no cap, but a bin count this
/// large only happens with a pathological IQR and would waste memory.
pub const MAX_AUTO_BINS: usize = 1 << 20;

/// Linear interpolation between order statistics, as numpy's default (`method="linear"`),
/// including its choice of formula on each side of the midpoint.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let t = position - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The p-value of Pearson's chi-squared test that `counts` are equally likely
/// (`scipy.stats.chisquare(counts).pvalue`); `None` for fewer than two categories or no data.
pub fn chi_squared_uniform_p(counts: &[u64]) -> Option<f64> {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let k = counts.len();
    let total: u64 = counts.iter().sum();
    if k < 2 || total == 0 {
        return None;
    }
    let expected = total as f64 / k as f64;
    let statistic: f64 = counts
        .iter()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum();
    Some(ChiSquared::new((k - 1) as f64).ok()?.sf(statistic))
}

/// Pearson's r over the rows where both values are present; `None` when undefined (fewer than
/// two rows, or a constant side). Clamped to [−1, 1] against rounding.
pub fn pearson(x: &[Option<f64>], y: &[Option<f64>]) -> Option<f64> {
    let (mut n, mut mean_x, mut mean_y, mut ssq_x, mut ssq_y, mut cov) =
        (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (Some(vx), Some(vy)) = (a, b) else {
            continue;
        };
        n += 1.0;
        let dx = vx - mean_x;
        let dy = vy - mean_y;
        mean_x += 1.0 / n * dx;
        mean_y += 1.0 / n * dy;
        ssq_x += (vx - mean_x) * dx;
        ssq_y += (vy - mean_y) * dy;
        cov += (vx - mean_x) * dy;
    }
    let divisor = (ssq_x * ssq_y).sqrt();
    (n >= 1.0 && divisor != 0.0).then(|| (cov / divisor).clamp(-1.0, 1.0))
}

/// 1-based ranks, ties sharing the average of their positions.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rho over the rows where both values are present.
pub fn spearman(x: &[Option<f64>], y: &[Option<f64>]) -> Option<f64> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter_map(|(a, b)| Some(((*a)?, (*b)?)))
        .unzip();
    spearman_of_ranks(&average_ranks(&xs), &average_ranks(&ys))
}

/// Row indices of the present values in ascending value order: computed once per column, it
/// makes every pairwise Spearman coefficient O(n) instead of two sorts.
pub fn sorted_rows(values: &[Option<f64>]) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..values.len()).filter(|&r| values[r].is_some()).collect();
    rows.sort_by(|&a, &b| {
        values[a]
            .unwrap_or(0.0)
            .total_cmp(&values[b].unwrap_or(0.0))
    });
    rows
}

/// Average ranks of `values` among the rows where `other` is present too, stored by row in
/// `out`, walking `order` (from [`sorted_rows`] of `values`).
fn ranks_where(values: &[Option<f64>], order: &[usize], other: &[Option<f64>], out: &mut [f64]) {
    let kept: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&r| other[r].is_some())
        .collect();
    let value = |r: usize| values[r].unwrap_or(0.0);
    let mut start = 0;
    while start < kept.len() {
        let mut end = start + 1;
        while end < kept.len() && value(kept[end]) == value(kept[start]) {
            end += 1;
        }
        let rank = (start + 1 + end) as f64 / 2.0;
        for &r in &kept[start..end] {
            out[r] = rank;
        }
        start = end;
    }
}

/// [`spearman`] given each side's [`sorted_rows`]: the same coefficient, summed in the same
/// row order, without sorting.
pub fn spearman_presorted(
    x: &[Option<f64>],
    y: &[Option<f64>],
    order_x: &[usize],
    order_y: &[usize],
) -> Option<f64> {
    let mut rank_x = vec![0.0; x.len()];
    let mut rank_y = vec![0.0; y.len()];
    ranks_where(x, order_x, y, &mut rank_x);
    ranks_where(y, order_y, x, &mut rank_y);
    let (rx, ry): (Vec<f64>, Vec<f64>) = (0..x.len())
        .filter(|&r| x[r].is_some() && y[r].is_some())
        .map(|r| (rank_x[r], rank_y[r]))
        .unzip();
    spearman_of_ranks(&rx, &ry)
}

/// Spearman's rho from ranks of the same rows.
pub fn spearman_of_ranks(rx: &[f64], ry: &[f64]) -> Option<f64> {
    let n = rx.len() as f64;
    if n < 1.0 {
        return None;
    }
    let mean = (n + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(ry) {
        let (vx, vy) = (a - mean, b - mean);
        sxy += vx * vy;
        sxx += vx * vx;
        syy += vy * vy;
    }
    let divisor = (sxx * syy).sqrt();
    (divisor != 0.0).then(|| (sxy / divisor).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_puts_the_maximum_in_the_last_bin() {
        let h = histogram(&[0.0, 1.0, 2.0, 3.0, 4.0], 4).unwrap();
        assert_eq!(h.edges, [0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(h.counts, [1, 1, 1, 2]);
        let constant = histogram(&[5.0, 5.0], 1).unwrap();
        assert_eq!((constant.edges, constant.counts), (vec![4.5, 5.5], vec![2]));
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 30.0]),
            [1.5, 3.0, 1.5, 4.0]
        );
    }

    #[test]
    fn correlations_of_simple_series() {
        let x: Vec<_> = [1.0, 2.0, 3.0, 4.0].map(Some).to_vec();
        let y: Vec<_> = [2.0, 4.0, 6.0, 8.5].map(Some).to_vec();
        assert!((pearson(&x, &y).unwrap() - 0.99846).abs() < 1e-4);
        assert_eq!(spearman(&x, &y), Some(1.0));
        let constant = vec![Some(1.0); 4];
        assert_eq!(pearson(&x, &constant), None);
        let gappy = vec![Some(1.0), None, Some(3.0), Some(4.0)];
        assert_eq!(spearman(&gappy, &y), Some(1.0));
        // The presorted path gives exactly the sorting path's answer, ties and gaps included.
        let a = vec![
            Some(3.0),
            None,
            Some(1.0),
            Some(3.0),
            Some(2.0),
            Some(-1.0),
            None,
        ];
        let b = vec![
            Some(0.5),
            Some(2.0),
            None,
            Some(0.1),
            Some(0.5),
            Some(9.0),
            Some(1.0),
        ];
        let fast = spearman_presorted(&a, &b, &sorted_rows(&a), &sorted_rows(&b));
        assert_eq!(fast, spearman(&a, &b));
        assert!(fast.is_some());
    }
}
