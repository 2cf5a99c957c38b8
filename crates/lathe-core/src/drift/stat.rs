//! The drift statistics, each written to reproduce the arithmetic of the implementation
//! Evidently calls, so that scores and p-values agree with it to ~1e-12, not just "closely":
//!
//! - [`ks_2samp`]: `scipy.stats.ks_2samp(a, b)` (two-sided, `method="auto"`): the exact
//!   distribution when both samples have at most 10,000 values (Hodges' lattice-path recursion, in
//!   Viehmann's 1 − p form), else the Kolmogorov distribution of `round(mn/(m+n))` through
//!   `kstwo.sf` (Simard & L'Ecuyer's choice among Durbin's matrix, Pomeranz, Pelz–Good and
//!   2 × Smirnov).
//! - [`chi2_sf`]: `scipy.stats.chi2.sf` (cephes' `igamc`).
//! - [`normal_two_sided`]: Evidently's `2 * (1 - norm.cdf(|z|))`.
//! - [`wasserstein`]: `scipy.stats.wasserstein_distance` of two samples.
//! - [`jensen_shannon`], [`psi`], [`kl_divergence`]: `scipy.spatial.distance.jensenshannon`,
//!   Evidently's PSI and `scipy.stats.entropy` over binned shares.

use std::f64::consts::PI;

use crate::numeric::{pairwise_sum, pairwise_sum_of};

/// `max(n1, n2)` up to which `ks_2samp(method="auto")` computes the exact distribution.
const KS_MAX_EXACT_N: usize = 10_000;

/// A two-sample Kolmogorov–Smirnov result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ks {
    pub statistic: f64,
    pub p_value: f64,
    /// `true` when the exact distribution was used.
    pub exact: bool,
}

/// `scipy.stats.ks_2samp(a, b)` for two sorted, finite, non-empty samples.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Ks {
    ks_2samp_of((a.len(), a.iter().copied()), (b.len(), b.iter().copied()))
}

/// [`ks_2samp`] of two samples streamed in ascending order, each with its length.
pub fn ks_2samp_of(
    (n1, a): (usize, impl Iterator<Item = f64>),
    (n2, b): (usize, impl Iterator<Item = f64>),
) -> Ks {
    if n1 == 0 || n2 == 0 {
        return Ks {
            statistic: f64::NAN,
            p_value: f64::NAN,
            exact: false,
        };
    }
    // max and min of F1 − F2 over every data value (both ECDFs right-continuous).
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let (mut i, mut j) = (0usize, 0usize);
    let (mut max_diff, mut min_diff) = (f64::NEG_INFINITY, f64::INFINITY);
    while let Some(x) = lowest(a.peek(), b.peek()) {
        while a.next_if(|&v| v <= x).is_some() {
            i += 1;
        }
        while b.next_if(|&v| v <= x).is_some() {
            j += 1;
        }
        let diff = i as f64 / n1 as f64 - j as f64 / n2 as f64;
        max_diff = max_diff.max(diff);
        min_diff = min_diff.min(diff);
    }
    let d = (-min_diff).clamp(0.0, 1.0).max(max_diff);
    ks_p_value(n1, n2, d)
}

/// The smaller of two sorted streams' next values.
fn lowest(a: Option<&f64>, b: Option<&f64>) -> Option<f64> {
    match (a, b) {
        (Some(&x), Some(&y)) => Some(x.min(y)),
        (Some(&x), None) => Some(x),
        (None, Some(&y)) => Some(y),
        (None, None) => None,
    }
}

/// The p-value `ks_2samp` gives a statistic `d` for sample sizes `n1` and `n2`.
pub fn ks_p_value(n1: usize, n2: usize, d: f64) -> Ks {
    if n1.max(n2) <= KS_MAX_EXACT_N {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) as f64 * n2 as f64;
        let h = round_half_even(d * lcm);
        let d_exact = h / lcm;
        if h == 0.0 {
            return Ks {
                statistic: d_exact,
                p_value: 1.0,
                exact: true,
            };
        }
        let h = h as u64;
        let p = if n1 == n2 {
            prob_outside_square(n1 as u64, h)
        } else {
            outer_prob_inside(n1 as u64, n2 as u64, g as u64, h)
        };
        if (0.0..=1.0).contains(&p) {
            return Ks {
                statistic: d_exact,
                p_value: p,
                exact: true,
            };
        }
        // scipy falls back to the asymptotic distribution, keeping the rounded statistic.
        return asymptotic(n1, n2, d_exact);
    }
    asymptotic(n1, n2, d)
}

fn asymptotic(n1: usize, n2: usize, d: f64) -> Ks {
    let (m, n) = if n1 >= n2 {
        (n1 as f64, n2 as f64)
    } else {
        (n2 as f64, n1 as f64)
    };
    let en = m * n / (m + n);
    let p = kolmogorov_sf(round_half_even(en) as u64, d);
    Ks {
        statistic: d,
        p_value: p.clamp(0.0, 1.0),
        exact: false,
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `numpy.round`: halves to even.
fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// scipy's `_compute_prob_outside_square(n, h)`: P(D_{n,n} ≥ h/n).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0f64;
    let mut k = (n / h) as i64;
    let (n, h) = (n as f64, h as f64);
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0f64;
        for j in 0..h as u64 {
            let j = j as f64;
            p1 = (n - kf * h - j) * p1 / (n + kf * h + j + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// scipy's `_compute_outer_prob_inside_method(m, n, g, h)`: the share of lattice paths from
/// (0, 0) to (m, n) that leave the band |x/m − y/n| < h/lcm(m, n).
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (n, h) = (n as i64, h as i64);
    let ceil_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).ceil() as i64 };
    let floor_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).floor() as i64 };
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=m as i64 {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h, mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = (jj + minj) as f64;
            let prev = a
                .get((jj + minj - lastminj) as usize)
                .copied()
                .unwrap_or(1.0);
            val = (prev * fi + val * j) / (fi + j);
            if let Some(slot) = a.get_mut(jj as usize) {
                *slot = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            for k in (maxj - minj)..(maxj - minj + (lastlen - curlen)) {
                if let Some(slot) = a.get_mut(k as usize) {
                    *slot = 1.0;
                }
            }
        }
    }
    a.get((maxj - minj - 1) as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------------------------
// The Kolmogorov distribution of D_n (scipy.stats.kstwo), from scipy/stats/_ksstats.py.

const E128: i32 = 128;
const MIN_LOG: f64 = -708.0;

fn ldexp(x: f64, e: i32) -> f64 {
    x * 2f64.powi(e)
}

/// `scipy.stats.kstwo.sf(x, n)`.
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            // np.prod(np.arange(1, n+1) * (1.0/n) * (2*t - 1))
            let mut p = 1.0f64;
            for i in 1..=n {
                p *= i as f64 * (1.0 / nf) * (2.0 * t - 1.0);
            }
            p
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - prob).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return (1.0 - kolmogn_dmtw(n, x)).clamp(0.0, 1.0);
        }
        if nxsquared <= 4.0 {
            return (1.0 - kolmogn_pomeranz(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw(n, x)
    } else {
        kolmogn_pelz_good(n, x)
    };
    (1.0 - cdf.clamp(0.0, 1.0)).clamp(0.0, 1.0)
}

/// scipy's `_STIRLING_COEFFS`, digits as written there.
#[allow(clippy::excessive_precision)]
const STIRLING_COEFFS: [f64; 8] = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
];

fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = STIRLING_COEFFS.iter().fold(0.0, |acc, &c| acc * x + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * poly
}

/// Durbin's matrix method (Marsaglia–Tsang–Wang): P(D_n ≤ d).
fn kolmogn_dmtw(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0f64;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut hm = vec![0.0f64; m * m];
    for i in 1..m {
        for (r, &wv) in ((i - 1)..m).zip(w.iter()) {
            hm[r * m + i] = wv;
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pwr = vec![0.0f64; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let ep128 = 2f64.powi(E128);
    let em128 = 2f64.powi(-E128);
    let mut nn = n;
    let (mut expnt, mut hexpnt) = (0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > ep128 {
            for x in hm.iter_mut() {
                *x /= ep128;
            }
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < em128 {
            p *= ep128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    p.clamp(0.0, 1.0)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    out
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// Pomeranz's recursion: P(D_n ≤ x).
fn kolmogn_pomeranz(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let n = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![0.0f64; npwrs];
    let mut twogpower = vec![0.0f64; npwrs];
    let mut onem2gpower = vec![0.0f64; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt = 0i32;
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) =
        (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        let mf = m as f64;
        gpower[m] = gpower[m - 1] * g_over_n / mf;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / mf;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / mf;
    }
    let mut v0 = vec![0.0f64; npwrs];
    let mut v1 = vec![0.0f64; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    let ep128 = 2f64.powi(E128);
    let em128 = 2f64.powi(-E128);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|v| *v = 0.0);
        let (nj1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let lo = (k1 - v0s).max(0) as usize;
            let hi = ((k1 - v0s + ln2) as usize).min(v0.len());
            let seg = &v0[lo.min(hi)..hi];
            let kern = &pwrs[..(ln2 as usize).min(pwrs.len())];
            let conv = convolve(seg, kern);
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (dst, &src) in v1
                .iter_mut()
                .zip(conv.iter().skip(conv_start).take(conv_len))
            {
                *dst = src;
            }
            let vmax = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < vmax && vmax < em128 {
                v1.iter_mut().for_each(|v| *v *= ep128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1.get((n - v1s) as usize).copied().unwrap_or(0.0);
    for m in 1..=n {
        if ans.abs() > ep128 {
            ans *= em128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    ans.clamp(0.0, 1.0)
}

/// `numpy.convolve(a, v)` (mode "full").
fn convolve(a: &[f64], v: &[f64]) -> Vec<f64> {
    if a.is_empty() || v.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0f64; a.len() + v.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in v.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// The Pelz–Good approximation of P(D_n ≤ x).
fn kolmogn_pelz_good(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf((8 * kk) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (acc, c) in k.iter_mut().zip(coeffs) {
            *acc = *acc * qpower + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let div = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (acc, d) in k.iter_mut().zip(div) {
        *acc = *acc * q * sqrt2pi / d;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0f64, 0.0f64);
    for kk in (1..=maxk).rev() {
        let ks2 = (kk * kk) as f64;
        let qp = q.powf(ks2);
        let kspi = PI * kk as f64;
        k2extra += ks2 * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    for (i, acc) in k.iter_mut().enumerate() {
        *acc /= nf.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

/// `scipy.special.smirnov(n, x)`: P(D⁺_n ≥ x), by the Birnbaum–Tingey sum (all terms positive,
/// summed in log space; xsf sums the same terms in double-double).
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) || n == 0 {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let nx = nf * x;
    let mut nxfl = nx.floor() as i64;
    let mut alpha = nx - nxfl as f64;
    if alpha >= 1.0 {
        nxfl += 1;
        alpha = 0.0;
    }
    let n_i = n as i64;
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        let cdf = x * (1.0 + x).powf(nf - 1.0);
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if -2.0 * nf * x * x < -7.083_964_185_322_641e2 {
        return 0.0;
    }
    if nxfl >= n_i - 1 {
        return (1.0 - x).powf(nf).clamp(0.0, 1.0);
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 - (-logp.exp_m1())
        };
    }
    let mut last = n_i - nxfl - i64::from(alpha != 0.0);
    if alpha == 0.0 {
        last -= 1;
    }
    let n_terms = last + 1;
    let mut log_c = 0.0f64; // ln C(n, j)
    let mut sum = 0.0f64;
    for j in 0..n_terms {
        if j > 0 {
            log_c += ((n_i - j + 1) as f64 / j as f64).ln();
        }
        let jf = j as f64;
        // 1 − x − j/n and x + j/n, from (n − j − nx)/n and (nx + j)/n.
        let low = ((n_i - j - nxfl) as f64 - alpha) / nf;
        let high = (nxfl as f64 + jf + alpha) / nf;
        if low <= 0.0 {
            break;
        }
        let log_term = log_c + (nf - jf) * low.ln() + (jf - 1.0) * high.ln();
        let term = log_term.exp();
        sum += term;
        if term != 0.0 && 4.0 * (n_terms - j) as f64 * term < f64::EPSILON * sum && j != n_terms - 1
        {
            break;
        }
    }
    (x * sum).clamp(0.0, 1.0)
}

// ---------------------------------------------------------------------------------------------
// Chi-square and normal tails.

/// `scipy.stats.chi2.sf(x, df)` = Q(df/2, x/2), the regularised upper incomplete gamma function
/// (cephes' `igamc`).
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    statrs::function::gamma::gamma_ur(df / 2.0, x / 2.0)
}

/// `scipy.special.ndtr(x)`: the standard normal CDF.
pub fn ndtr(x: f64) -> f64 {
    let t = x * std::f64::consts::FRAC_1_SQRT_2;
    let z = t.abs();
    if z < std::f64::consts::FRAC_1_SQRT_2 {
        0.5 + 0.5 * statrs::function::erf::erf(t)
    } else {
        let y = 0.5 * statrs::function::erf::erfc(z);
        if t > 0.0 { 1.0 - y } else { y }
    }
}

/// Evidently's two-sided z-test p-value, `2 * (1 - norm.cdf(abs(z)))`.
pub fn normal_two_sided(z: f64) -> f64 {
    2.0 * (1.0 - ndtr(z.abs()))
}

// ---------------------------------------------------------------------------------------------
// Distances.

/// `scipy.stats.wasserstein_distance(a, b)` for two sorted, finite, non-empty samples: the
/// integral of |F_a − F_b|.
pub fn wasserstein(a: &[f64], b: &[f64]) -> f64 {
    let distinct = super::sample::distinct_union(a.iter().copied(), b.iter().copied());
    wasserstein_of(
        (a.len(), a.iter().copied()),
        (b.len(), b.iter().copied()),
        distinct,
    )
}

/// [`wasserstein`] of two samples streamed in ascending order, each with its length, given
/// the number of distinct values of both together (the terms are summed pairwise as scipy
/// sums its array of them, which needs their number first).
pub fn wasserstein_of(
    (na, a): (usize, impl Iterator<Item = f64>),
    (nb, b): (usize, impl Iterator<Item = f64>),
    distinct: usize,
) -> f64 {
    if na == 0 || nb == 0 {
        return f64::NAN;
    }
    let (na, nb) = (na as f64, nb as f64);
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let (mut i, mut j) = (0usize, 0usize);
    // Walk the merged sorted values; between consecutive merged values both CDFs are constant:
    // one term for each distinct value after the first.
    let mut prev = lowest(a.peek(), b.peek()).unwrap_or(0.0);
    let mut terms = std::iter::from_fn(|| {
        // Advance past every value equal to `prev` (searchsorted "right").
        while a.next_if(|&v| v <= prev).is_some() {
            i += 1;
        }
        while b.next_if(|&v| v <= prev).is_some() {
            j += 1;
        }
        let next = lowest(a.peek(), b.peek())?;
        let term = (i as f64 / na - j as f64 / nb).abs() * (next - prev);
        prev = next;
        Some(term)
    });
    pairwise_sum_of(distinct.saturating_sub(1), &mut terms)
}

/// A sorted reference sample ready to be compared with many small samples by Wasserstein
/// distance: each comparison costs the small sample's length times a binary search instead of
/// a walk over the whole reference (drift per window or per monitoring chunk).
#[derive(Debug, Clone)]
pub struct WassersteinReference {
    sorted: Vec<f64>,
    /// `prefix[k]`: the sum of the `k` smallest values.
    prefix: Vec<f64>,
}

impl WassersteinReference {
    /// `sorted`: the reference's finite values in ascending order, at least one.
    pub fn new(sorted: Vec<f64>) -> WassersteinReference {
        let mut prefix = Vec::with_capacity(sorted.len() + 1);
        let mut sum = crate::dataset::profile::Neumaier::default();
        prefix.push(0.0);
        for &v in &sorted {
            sum.add(v);
            prefix.push(sum.total());
        }
        WassersteinReference { sorted, prefix }
    }

    /// `∫ F(x) dx` from −∞ to `t`, `F` the reference's CDF: `(k t − sum of the k values ≤ t) / n`.
    fn integral(&self, t: f64) -> f64 {
        let k = self.sorted.partition_point(|&v| v <= t);
        (k as f64 * t - self.prefix[k]) / self.sorted.len() as f64
    }

    /// The Wasserstein distance between the reference and `other` (ascending, finite): the
    /// same distance as [`wasserstein`], summed by intervals between `other`'s values (so equal
    /// to within rounding, not bit for bit).
    pub fn distance(&self, other: &[f64]) -> f64 {
        let (n, m) = (self.sorted.len(), other.len());
        if n == 0 || m == 0 {
            return f64::NAN;
        }
        let lowest = self.sorted[0].min(other[0]);
        let highest = self.sorted[n - 1].max(other[m - 1]);
        // On [a, b] the other CDF is `j / m`; the reference CDF reaches it at `t`.
        let piece = |a: f64, b: f64, j: usize| -> f64 {
            if b <= a {
                return 0.0;
            }
            let level = j as f64 / m as f64;
            let needed = (j * n).div_ceil(m);
            let t = if needed == 0 {
                a
            } else if needed > n {
                b
            } else {
                self.sorted[needed - 1].clamp(a, b)
            };
            let (ga, gt, gb) = (self.integral(a), self.integral(t), self.integral(b));
            (level * (t - a) - (gt - ga)) + ((gb - gt) - level * (b - t))
        };
        let mut total = crate::dataset::profile::Neumaier::default();
        total.add(piece(lowest, other[0], 0));
        let mut i = 0;
        while i < m {
            let mut j = i + 1;
            while j < m && other[j] == other[i] {
                j += 1;
            }
            let end = if j < m { other[j] } else { highest };
            total.add(piece(other[i], end, j));
            i = j;
        }
        total.total()
    }
}

/// Evidently's `get_binned_data(..., feel_zeroes=True)` zero filling: each side's zero shares
/// become its smallest non-zero share / 10⁶ when that is ≤ 0.0001, else 0.0001.
pub fn fill_zeroes(shares: &mut [f64]) {
    let min_nonzero = shares
        .iter()
        .copied()
        .filter(|&s| s != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !min_nonzero.is_finite() {
        return;
    }
    let fill = if min_nonzero <= 0.0001 {
        min_nonzero / 1e6
    } else {
        0.0001
    };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = fill;
    }
}

/// `scipy.special.rel_entr(x, y)`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// `scipy.spatial.distance.jensenshannon(p, q)` (natural log).
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (pairwise_sum(p), pairwise_sum(q));
    let p: Vec<f64> = p.iter().map(|v| v / sp).collect();
    let q: Vec<f64> = q.iter().map(|v| v / sq).collect();
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let left: Vec<f64> = p.iter().zip(&m).map(|(&a, &b)| rel_entr(a, b)).collect();
    let right: Vec<f64> = q.iter().zip(&m).map(|(&a, &b)| rel_entr(a, b)).collect();
    let js = pairwise_sum(&left) + pairwise_sum(&right);
    (js / 2.0).sqrt()
}

/// Evidently's PSI: Σ (ref − cur) · ln(ref / cur) over zero-filled shares.
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    let terms: Vec<f64> = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| (r - c) * (r / c).ln())
        .collect();
    pairwise_sum(&terms)
}

/// `scipy.stats.entropy(reference, current)`: KL(reference ‖ current) of the normalised shares.
pub fn kl_divergence(reference: &[f64], current: &[f64]) -> f64 {
    let (sp, sq) = (pairwise_sum(reference), pairwise_sum(current));
    let terms: Vec<f64> = reference
        .iter()
        .zip(current)
        .map(|(&p, &q)| rel_entr(p / sp, q / sq))
        .collect();
    pairwise_sum(&terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_of_the_scipy_doc_example() {
        assert_eq!(wasserstein(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]), 5.0);
    }

    #[test]
    fn wasserstein_against_a_prepared_reference_is_the_same_distance() {
        let mut state = 7u64;
        let mut draw = |n: usize, shift: f64| -> Vec<f64> {
            let mut v: Vec<f64> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 11) as f64 / (1u64 << 53) as f64 * 10.0).round() / 2.0 + shift
                })
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let reference = draw(5000, 0.0);
        let prepared = WassersteinReference::new(reference.clone());
        for (n, shift) in [(1, 0.0), (37, 0.3), (400, -2.0), (1000, 7.0), (3, 100.0)] {
            let other = draw(n, shift);
            let (a, b) = (wasserstein(&reference, &other), prepared.distance(&other));
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{n} {shift}: {a} vs {b}"
            );
        }
        assert_eq!(
            WassersteinReference::new(vec![0.0, 1.0, 3.0]).distance(&[5.0, 6.0, 8.0]),
            5.0
        );
    }

    #[test]
    fn ks_of_identical_samples_is_zero_with_p_one() {
        let a = [1.0, 2.0, 3.0];
        let r = ks_2samp(&a, &a);
        assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
    }
}
