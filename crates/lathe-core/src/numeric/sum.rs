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

/// Population standard deviation (`numpy.std`, ddof = 0), numpy's two-pass arithmetic.
pub fn std_pop(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = pairwise_sum(values) / n;
    let sq: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
    (pairwise_sum(&sq) / n).sqrt()
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
}
