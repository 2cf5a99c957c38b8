//! numpy's legacy `RandomState` (MT19937), the few draws the reference tools make.
//!
//! scikit-learn's `permutation_importance`, `shap.sample` and shap's PermutationExplainer seed
//! a `RandomState` with an integer and then shuffle. Reproducing those draws exactly lets Lathe
//! give the same permutations as the reference tools for the same seed, so the numbers can be
//! compared exactly instead of within a sampling tolerance.

use rand_mt::Mt;

/// `numpy.random.RandomState(seed)`, for the methods below.
pub struct RandomState(Mt);

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RandomState")
    }
}

impl RandomState {
    /// `RandomState(seed)` / `np.random.seed(seed)`: MT19937's `init_genrand`.
    pub fn new(seed: u32) -> RandomState {
        RandomState(Mt::new(seed))
    }

    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// numpy's `random_interval(max)`: uniform in `0..=max` by masked rejection.
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        if max <= u64::from(u32::MAX) {
            loop {
                let v = u64::from(self.next_u32()) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let v = ((u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())) & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `random_sample()`: a double in [0, 1) from two 32-bit draws (53 bits).
    pub fn random_sample(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// `randint(0, n)` (and `choice(n, replace=True)`, which draws by it): uniform in
    /// `0..n`, `n ≥ 1`.
    pub fn randint(&mut self, n: usize) -> usize {
        self.interval(n as u64 - 1) as usize
    }

    /// `randint(2**31)`, as scikit-learn draws a seed from a seed.
    pub fn randint_i31(&mut self) -> u32 {
        self.next_u32() & 0x7fff_ffff
    }

    /// `choice(n, size, p=p)` with replacement: the inverse of the normalised cumulative
    /// probabilities at `size` uniform draws (`cdf.searchsorted(u, side="right")`).
    pub fn choice_p(&mut self, p: &[f64], size: usize) -> Vec<usize> {
        let mut cdf = Vec::with_capacity(p.len());
        let mut acc = 0.0;
        for v in p {
            acc += v;
            cdf.push(acc);
        }
        let last = cdf.last().copied().unwrap_or(1.0);
        cdf.iter_mut().for_each(|c| *c /= last);
        (0..size)
            .map(|_| {
                let u = self.random_sample();
                cdf.partition_point(|&c| c <= u)
            })
            .collect()
    }

    /// `permutation(n)`: `arange(n)` shuffled.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }

    /// [`RandomState::permutation`] as 32-bit indices (half the memory the shuffle walks).
    pub fn permutation_u32(&mut self, n: u32) -> Vec<u32> {
        let mut p: Vec<u32> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }

    /// The draws `shuffle` of `len` items makes, without an array: for a caller that needs
    /// the generator's state after the shuffle but not the shuffled order.
    pub fn skip_shuffle(&mut self, len: usize) {
        for i in (1..len).rev() {
            self.interval(i as u64);
        }
    }

    /// `shuffle(x)` of a one-dimensional array, in place (Fisher–Yates from the end).
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u64) as usize;
            x.swap(i, j);
        }
    }
}

/// `shap.sample(X, n, random_state=seed)` (scikit-learn's `shuffle(X, n_samples=n)`): the row
/// indices of a sample without replacement, all rows when `n ≥ rows`.
pub fn sample_rows(rows: usize, n: usize, seed: u32) -> Vec<usize> {
    if n >= rows {
        return (0..rows).collect();
    }
    let mut idx: Vec<usize> = (0..rows).collect();
    RandomState::new(seed).shuffle(&mut idx);
    idx.truncate(n);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    // The expected values were printed by numpy 2.3 and shap 0.51.
    #[test]
    fn draws_equal_numpy() {
        let mut r = RandomState::new(0);
        assert_eq!([r.randint_i31(), r.randint_i31()], [209652396, 398764591]);
        let mut r = RandomState::new(42);
        let mut a: Vec<u32> = (0..10).collect();
        r.shuffle(&mut a);
        assert_eq!(a, [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
        let mut a: Vec<u32> = (0..7).collect();
        r.shuffle(&mut a);
        assert_eq!(a, [4, 1, 0, 3, 5, 6, 2]);
        let mut a: Vec<u32> = (0..5).collect();
        RandomState::new(7).shuffle(&mut a);
        assert_eq!(a, [0, 3, 2, 1, 4]);
        assert_eq!(sample_rows(20, 5, 3), [14, 2, 1, 17, 4]);
        assert_eq!(sample_rows(3, 5, 3), [0, 1, 2]);
        // Skipping a shuffle leaves the generator where the shuffle would.
        let (mut a, mut b) = (RandomState::new(5), RandomState::new(5));
        let mut v: Vec<u32> = (0..1000).collect();
        a.shuffle(&mut v);
        b.skip_shuffle(1000);
        assert_eq!(a.permutation_u32(10), b.permutation_u32(10));
    }
}
