//! numpy's histogram arithmetic: `numpy.histogram_bin_edges(x, "sturges")` and
//! `numpy.histogram(x, edges)`.

/// `numpy.histogram_bin_edges(values, bins="sturges")` for finite values with the given min,
/// max and count.
pub fn sturges_edges(min: f64, max: f64, count: usize) -> Vec<f64> {
    let (mut first, mut last) = (min, max);
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let width = (max - min) / ((count as f64).log2() + 1.0);
    let bins = if width > 0.0 {
        ((last - first) / width).ceil().max(1.0) as usize
    } else {
        1
    };
    linspace(first, last, bins + 1)
}

/// [`sturges_edges`] over two sorted, non-empty samples together.
pub fn sturges_edges_of(a: &[f64], b: &[f64]) -> Vec<f64> {
    sturges_edges(
        a[0].min(b[0]),
        a[a.len() - 1].max(b[b.len() - 1]),
        a.len() + b.len(),
    )
}

/// `numpy.linspace(start, stop, num)` (endpoint included).
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = (num - 1) as f64;
    let step = (stop - start) / div;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = out.last_mut() {
        *last = stop;
    }
    out
}

/// `numpy.histogram(sorted, edges)[0]`: half-open bins, the last one closed; values outside
/// are not counted.
pub fn bin_counts(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    bin_counts_of(sorted.iter().copied(), edges)
}

/// [`bin_counts`] of values streamed in ascending order.
pub fn bin_counts_of(sorted: impl Iterator<Item = f64>, edges: &[f64]) -> Vec<u64> {
    if edges.len() < 2 {
        return Vec::new();
    }
    let last = edges.len() - 1;
    // cumulative: number of values < edges[k] (k < last), ≤ edges[last].
    let below = |v: f64, k: usize| {
        if k == last {
            v <= edges[k]
        } else {
            v < edges[k]
        }
    };
    let mut cum = vec![0u64; edges.len()];
    let (mut k, mut seen) = (0usize, 0u64);
    for v in sorted {
        while k <= last && !below(v, k) {
            cum[k] = seen;
            k += 1;
        }
        seen += 1;
    }
    for c in &mut cum[k.min(edges.len())..] {
        *c = seen;
    }
    cum.windows(2).map(|w| w[1] - w[0]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_counts_close_the_last_bin() {
        assert_eq!(
            bin_counts(&[0.0, 0.5, 1.0, 2.0, 3.0], &[0.0, 1.0, 2.0, 3.0]),
            vec![2, 1, 2]
        );
    }
}
