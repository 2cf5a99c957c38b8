//! Sums and moments with numpy's arithmetic, so that means and deviations agree with the
//! reference tools to the last bit: numpy's pairwise summation and its two-pass standard
//! deviation.

/// numpy's pairwise summation (blocks of 128 summed with 8 accumulators).
pub fn pairwise_sum(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 8 {
        return x.iter().fold(0.0, |acc, &v| acc + v);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&x[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for k in 0..8 {
                r[k] += x[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += x[i];
            i += 1;
        }
        return res;
    }
    let mut half = n / 2;
    half -= half % 8;
    pairwise_sum(&x[..half]) + pairwise_sum(&x[half..])
}

/// [`pairwise_sum`] of the next `n` values of `values`: the same additions in the same order
/// (so the same bits), holding at most one block of 128 values at a time. The tree depends
/// only on `n`, so a stream of known length is summed as numpy sums the whole array.
pub fn pairwise_sum_of(n: usize, values: &mut impl Iterator<Item = f64>) -> f64 {
    if n <= 128 {
        let mut block = [0.0f64; 128];
        for slot in &mut block[..n] {
            *slot = values.next().unwrap_or(0.0);
        }
        return pairwise_sum(&block[..n]);
    }
    let mut half = n / 2;
    half -= half % 8;
    pairwise_sum_of(half, values) + pairwise_sum_of(n - half, values)
}

/// [`pairwise_sum`] of `n` values pushed one at a time: the same tree of additions (it
/// depends only on `n`), so the same bits, holding one block of 128 values and one partial
/// sum per level. For a computation that makes several sums in one pass over its data.
#[derive(Debug, Clone)]
pub struct PairwiseSum {
    /// Right halves still to sum, each with the sum of its left half once known.
    pending: Vec<(usize, Option<f64>)>,
    block: [f64; 128],
    filled: usize,
    leaf: usize,
    total: Option<f64>,
}

impl PairwiseSum {
    pub fn new(n: usize) -> PairwiseSum {
        let mut sum = PairwiseSum {
            pending: Vec::new(),
            block: [0.0; 128],
            filled: 0,
            leaf: 0,
            total: None,
        };
        if n == 0 {
            sum.total = Some(0.0);
        } else {
            sum.descend(n);
        }
        sum
    }

    /// Splits `n` as `pairwise_sum` does down to its first leaf.
    fn descend(&mut self, mut n: usize) {
        while n > 128 {
            let mut half = n / 2;
            half -= half % 8;
            self.pending.push((n - half, None));
            n = half;
        }
        self.leaf = n;
    }

    /// Adds the next value; values past the `n` given are ignored.
    pub fn add(&mut self, v: f64) {
        if self.total.is_some() {
            return;
        }
        self.block[self.filled] = v;
        self.filled += 1;
        if self.filled < self.leaf {
            return;
        }
        let mut s = pairwise_sum(&self.block[..self.leaf]);
        self.filled = 0;
        loop {
            match self.pending.pop() {
                None => {
                    self.total = Some(s);
                    return;
                }
                Some((right, None)) => {
                    self.pending.push((right, Some(s)));
                    self.descend(right);
                    return;
                }
                // IEEE addition commutes: the same bits as left + s.
                Some((_, Some(left))) => s += left,
            }
        }
    }

    /// The sum, once all `n` values were added (`NaN` before).
    pub fn total(&self) -> f64 {
        self.total.unwrap_or(f64::NAN)
    }
}

/// Population standard deviation (`numpy.std`, ddof = 0), numpy's two-pass arithmetic.
pub fn std_pop(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = pairwise_sum(values) / n;
    let sq: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
    (pairwise_sum(&sq) / n).sqrt()
}

/// Sample standard deviation (pandas' `Series.std`, ddof = 1), the same two-pass arithmetic.
pub fn std_sample(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = pairwise_sum(values) / n;
    let sq: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
    (pairwise_sum(&sq) / (n - 1.0)).sqrt()
}

/// Arithmetic mean with numpy's pairwise summation.
pub fn mean(values: &[f64]) -> f64 {
    pairwise_sum(values) / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_a_plain_sum_on_integers() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&v), 499_500.0);
    }

    #[test]
    fn the_streamed_pairwise_sum_has_the_same_bits() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for n in [0, 1, 7, 8, 127, 128, 129, 1000, 4099, 100_003] {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 11) as f64 / 1e9 - 4e6
                })
                .collect();
            let streamed = pairwise_sum_of(n, &mut v.iter().copied());
            assert_eq!(streamed.to_bits(), pairwise_sum(&v).to_bits(), "n = {n}");
            let mut pushed = PairwiseSum::new(n);
            for &x in &v {
                pushed.add(x);
            }
            assert_eq!(
                pushed.total().to_bits(),
                pairwise_sum(&v).to_bits(),
                "n = {n}"
            );
        }
    }
}
