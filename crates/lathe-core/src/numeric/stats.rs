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
    let mut h = Bins::new(*sorted.first()?, *sorted.last()?, bins)?;
    for &x in sorted {
        h.add(x, 1);
    }
    Some(h.finish())
}

/// [`histogram`] filled one value at a time, for values that are streamed rather than held:
/// the same edges and the same bin for every value.
#[derive(Debug, Clone)]
pub struct Bins {
    first: f64,
    denom: f64,
    edges: Vec<f64>,
    counts: Vec<u64>,
}

impl Bins {
    /// Bins over [`lo`, `hi`], the smallest and largest finite values.
    pub fn new(lo: f64, hi: f64, bins: usize) -> Option<Bins> {
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
        Some(Bins {
            first,
            denom: last - first,
            edges,
            counts: vec![0u64; bins],
        })
    }

    /// The lower edge of the first bin, the width of the whole range, and the number of bins:
    /// with the upper edge, what [`Bins::add`] computes a value's bin from (for an engine that
    /// bins values itself, with the same arithmetic).
    pub fn layout(&self) -> (f64, f64, usize) {
        (self.first, self.denom, self.counts.len())
    }

    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// Counts `n` occurrences of the finite value `x`.
    pub fn add(&mut self, x: f64, n: u64) {
        let bins = self.counts.len();
        let mut i = (((x - self.first) / self.denom) * bins as f64) as usize;
        if i >= bins {
            i = bins - 1;
        }
        if x < self.edges[i] && i > 0 {
            i -= 1;
        } else if i + 1 < bins && x >= self.edges[i + 1] {
            i += 1;
        }
        self.counts[i] += n;
    }

    pub fn finish(self) -> Histogram {
        Histogram {
            edges: self.edges,
            counts: self.counts,
        }
    }
}

/// The bin count of `numpy.histogram_bin_edges(values, bins="auto")` for sorted, finite
/// `values`: the smaller of the Freedman–Diaconis and Sturges bin widths (Sturges alone when the
/// IQR is zero), at least 1 wide for integers. Capped at [`MAX_AUTO_BINS`].
pub fn auto_bins(sorted: &[f64], integral: bool) -> usize {
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
        return 1;
    };
    let q = |p| quantile_sorted(sorted, p);
    auto_bins_of(sorted.len(), lo, hi, q(0.25), q(0.75), integral)
}

/// [`auto_bins`] from what it reads of the values: their number, extremes and quartiles.
pub fn auto_bins_of(n: usize, lo: f64, hi: f64, q25: f64, q75: f64, integral: bool) -> usize {
    let ptp = hi - lo;
    let sturges = ptp / ((n as f64).log2() + 1.0);
    let iqr = q75 - q25;
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
    let (below, above, t) = quantile_positions(sorted.len(), p);
    interpolate(sorted[below], sorted[above], t)
}

/// The two order statistics (0-based positions among `n` sorted values) that the `p`
/// quantile interpolates between, and the weight of the upper one.
pub fn quantile_positions(n: usize, p: f64) -> (usize, usize, f64) {
    let position = p * (n - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(n - 1);
    (below, above, position - below as f64)
}

/// numpy's linear interpolation between `a` and `b` at `t`, with its choice of formula on each
/// side of the midpoint.
pub fn interpolate(a: f64, b: f64, t: f64) -> f64 {
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

/// Pearson's r over the rows where both values are present (NaN marks a missing value);
/// `None` when undefined (fewer than two rows, or a constant side). Clamped to [−1, 1] against
/// rounding.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let mut acc = Pearson::default();
    acc.add(x, y);
    acc.finish()
}

/// [`pearson`] over rows given slice by slice, in row order: the same updates, the same
/// coefficient.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pearson {
    n: f64,
    mean_x: f64,
    mean_y: f64,
    ssq_x: f64,
    ssq_y: f64,
    cov: f64,
}

impl Pearson {
    /// One row's values (NaN marks a missing one).
    #[inline(always)]
    fn step(&mut self, vx: f64, vy: f64) {
        if vx.is_nan() || vy.is_nan() {
            return;
        }
        self.n += 1.0;
        let dx = vx - self.mean_x;
        let dy = vy - self.mean_y;
        self.mean_x += 1.0 / self.n * dx;
        self.mean_y += 1.0 / self.n * dy;
        self.ssq_x += (vx - self.mean_x) * dx;
        self.ssq_y += (vy - self.mean_y) * dy;
        self.cov += (vx - self.mean_x) * dy;
    }

    pub fn add(&mut self, x: &[f64], y: &[f64]) {
        let mut acc = *self;
        for (&vx, &vy) in x.iter().zip(y) {
            acc.step(vx, vy);
        }
        *self = acc;
    }

    /// [`Pearson::add`] of each pair of `columns` to its accumulator in `accs`, three pairs
    /// at a time when their columns are equally long: each pair's updates are its own, in row
    /// order (the same bits as one pair at a time), and the three chains of dependent
    /// arithmetic overlap (measured 1.9× one pair at a time; more pairs spill registers).
    pub fn add_pairs(accs: &mut [Pearson], columns: &[(&[f64], &[f64])]) {
        const N: usize = 3;
        for (accs, columns) in accs.chunks_mut(N).zip(columns.chunks(N)) {
            let len = columns.first().map_or(0, |(x, _)| x.len());
            let even = columns
                .iter()
                .all(|(x, y)| x.len() == len && y.len() == len);
            match (
                <&mut [Pearson; N]>::try_from(&mut *accs),
                <&[(&[f64], &[f64]); N]>::try_from(columns),
            ) {
                (Ok(three), Ok(columns)) if even => {
                    let mut acc = *three;
                    for r in 0..len {
                        for (a, (x, y)) in acc.iter_mut().zip(columns) {
                            a.step(x[r], y[r]);
                        }
                    }
                    *three = acc;
                }
                _ => {
                    for (acc, (x, y)) in accs.iter_mut().zip(columns) {
                        acc.add(x, y);
                    }
                }
            }
        }
    }

    pub fn finish(self) -> Option<f64> {
        let divisor = (self.ssq_x * self.ssq_y).sqrt();
        (self.n >= 1.0 && divisor != 0.0).then(|| (self.cov / divisor).clamp(-1.0, 1.0))
    }
}

/// 1-based ranks, ties sharing the average of their positions.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let order = sorted_pairs(values);
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && order[end].0 == order[start].0 {
            end += 1;
        }
        let rank = (start + 1 + end) as f64 / 2.0;
        for &(_, i) in &order[start..end] {
            ranks[i as usize] = rank;
        }
        start = end;
    }
    ranks
}

/// The present (non-NaN) values with their row numbers, ascending, rows of equal values in row
/// order. A radix sort of the pairs themselves: sorting row numbers by looking their values up
/// costs a cache miss per comparison once a column outgrows the cache, which made the profile's
/// time grow faster than its rows (52x the time at 20x the rows).
pub fn sorted_pairs(values: &[f64]) -> Vec<(f64, u32)> {
    let mut pairs: Vec<(f64, u32)> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| (v, i as u32))
        .collect();
    radsort::sort_by_key(&mut pairs, |p| p.0);
    pairs
}

/// Spearman's rho over the rows where both values are present (NaN marks a missing value).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(a, b)| !a.is_nan() && !b.is_nan())
        .map(|(a, b)| (*a, *b))
        .unzip();
    spearman_of_ranks(&average_ranks(&xs), &average_ranks(&ys))
}

/// A column prepared once for every pairwise Spearman coefficient it takes part in, which
/// then costs O(n) instead of two sorts: its present rows in ascending value order, where each
/// run of equal values starts in that order, and which rows are present (both bitsets are
/// small enough to stay in cache: 1 M rows take 125 KB each).
#[derive(Debug)]
pub struct SortedColumn {
    order: Vec<u32>,
    /// Bit k: position k of `order` starts a new value.
    run_starts: Vec<u64>,
    present: Vec<u64>,
}

fn bit(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

impl SortedColumn {
    /// Prepares `values` (NaN marks a missing value).
    pub fn new(values: &[f64]) -> SortedColumn {
        let pairs = sorted_pairs(values);
        let mut run_starts = vec![0u64; pairs.len().div_ceil(64)];
        for k in 0..pairs.len() {
            if k == 0 || pairs[k].0 != pairs[k - 1].0 {
                run_starts[k / 64] |= 1 << (k % 64);
            }
        }
        let order: Vec<u32> = pairs.into_iter().map(|(_, r)| r).collect();
        let mut present = vec![0u64; values.len().div_ceil(64)];
        for &r in &order {
            present[r as usize / 64] |= 1 << (r % 64);
        }
        SortedColumn {
            order,
            run_starts,
            present,
        }
    }

    fn has(&self, row: usize) -> bool {
        bit(&self.present, row)
    }
}

/// Average ranks of `column` among the rows where `other` is present too, doubled (so that a
/// tie's half ranks stay integers: 4 bytes a row instead of 8, half the memory traffic of this
/// scatter, which is most of a Spearman matrix's time), stored by row in `out`: one pass over
/// the column's sorted order, run by run of equal values.
fn ranks_where(column: &SortedColumn, other: &SortedColumn, out: &mut [u32]) {
    let order = &column.order;
    let n = order.len();
    let (mut k, mut position) = (0, 0usize);
    while k < n {
        let mut end = k + 1;
        while end < n && !bit(&column.run_starts, end) {
            end += 1;
        }
        let kept = order[k..end]
            .iter()
            .filter(|&&r| other.has(r as usize))
            .count();
        if kept > 0 {
            let doubled = (2 * position + 1 + kept) as u32;
            for &r in &order[k..end] {
                if other.has(r as usize) {
                    out[r as usize] = doubled;
                }
            }
            position += kept;
        }
        k = end;
    }
}

/// Buffers reused by every [`spearman_presorted`] call of one matrix.
#[derive(Debug, Default)]
pub struct RankScratch {
    rank_x: Vec<u32>,
    rank_y: Vec<u32>,
}

/// [`spearman`] of two prepared columns of `rows` rows: the same coefficient, summed in the
/// same row order, without sorting.
pub fn spearman_presorted(
    x: &SortedColumn,
    y: &SortedColumn,
    rows: usize,
    scratch: &mut RankScratch,
) -> Option<f64> {
    debug_assert!(rows < (u32::MAX / 2) as usize, "doubled ranks fit in u32");
    scratch.rank_x.resize(rows, 0);
    scratch.rank_y.resize(rows, 0);
    ranks_where(x, y, &mut scratch.rank_x);
    ranks_where(y, x, &mut scratch.rank_y);
    let both: Vec<u64> = x
        .present
        .iter()
        .zip(&y.present)
        .map(|(a, b)| a & b)
        .collect();
    let n = both.iter().map(|w| w.count_ones() as u64).sum::<u64>() as f64;
    if n < 1.0 {
        return None;
    }
    let mut acc = SpearmanSums::new(n as u64);
    for r in (0..rows).filter(|&r| bit(&both, r)) {
        acc.add(scratch.rank_x[r], scratch.rank_y[r]);
    }
    acc.finish()
}

/// The sums of Spearman's rho over `n` rows' doubled ranks, added in row order.
#[derive(Debug, Clone, Copy)]
pub struct SpearmanSums {
    mean: f64,
    sxy: f64,
    sxx: f64,
    syy: f64,
}

impl SpearmanSums {
    pub fn new(n: u64) -> SpearmanSums {
        SpearmanSums {
            mean: (n as f64 + 1.0) / 2.0,
            sxy: 0.0,
            sxx: 0.0,
            syy: 0.0,
        }
    }

    /// One row's doubled ranks.
    pub fn add(&mut self, doubled_x: u32, doubled_y: u32) {
        // Halving an integer below 2^53 is exact: the same rank as before it was doubled.
        let (vx, vy) = (
            f64::from(doubled_x) / 2.0 - self.mean,
            f64::from(doubled_y) / 2.0 - self.mean,
        );
        self.sxy += vx * vy;
        self.sxx += vx * vx;
        self.syy += vy * vy;
    }

    pub fn finish(self) -> Option<f64> {
        let divisor = (self.sxx * self.syy).sqrt();
        (divisor != 0.0).then(|| (self.sxy / divisor).clamp(-1.0, 1.0))
    }
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
    fn pearson_of_pairs_together_equals_each_alone_to_the_bit() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let columns: Vec<Vec<f64>> = (0..5)
            .map(|c| {
                (0..1000)
                    .map(|_| {
                        let u = next();
                        match c % 2 == 0 && u % 9 == 0 {
                            true => f64::NAN,
                            false => (u >> 11) as f64 / (1u64 << 53) as f64 * 1e3 + c as f64,
                        }
                    })
                    .collect()
            })
            .collect();
        // Seven pairs: two groups of three and one left over; then a pair of shorter columns
        // in a group (added one at a time).
        let mut pairs: Vec<(&[f64], &[f64])> = (0..7)
            .map(|p| (&columns[p % 5][..], &columns[(p * 2 + 1) % 5][..]))
            .collect();
        pairs.push((&columns[0][..10], &columns[1][..10]));
        let mut together = vec![Pearson::default(); pairs.len()];
        Pearson::add_pairs(&mut together, &pairs);
        for (acc, (x, y)) in together.iter().zip(&pairs) {
            let mut alone = Pearson::default();
            alone.add(x, y);
            assert_eq!(format!("{acc:?}"), format!("{alone:?}"));
            assert!(acc.finish().is_some());
        }
    }

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
        const NA: f64 = f64::NAN;
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [2.0, 4.0, 6.0, 8.5];
        assert!((pearson(&x, &y).unwrap() - 0.99846).abs() < 1e-4);
        assert_eq!(spearman(&x, &y), Some(1.0));
        let constant = [1.0; 4];
        assert_eq!(pearson(&x, &constant), None);
        let gappy = [1.0, NA, 3.0, 4.0];
        assert_eq!(spearman(&gappy, &y), Some(1.0));
        // The presorted path gives exactly the sorting path's answer, ties and gaps included.
        let a = [3.0, NA, 1.0, 3.0, 2.0, -1.0, NA, 3.0];
        let b = [0.5, 2.0, NA, 0.1, 0.5, 9.0, 1.0, 0.5];
        let mut scratch = RankScratch::default();
        let fast = spearman_presorted(
            &SortedColumn::new(&a),
            &SortedColumn::new(&b),
            a.len(),
            &mut scratch,
        );
        assert_eq!(fast, spearman(&a, &b));
        assert!(fast.is_some());
    }
}
