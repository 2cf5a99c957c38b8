//! Scoring one column: a method's score on two samples (through [`super::stat`]), the bins
//! both sides are shown over, and the effect size in units people read.

use super::column::{Bins, ColumnDrift, Effect, largest_share_change};
use super::method::MAX_CATEGORIES;
use super::method::{Kind, Method};
use super::sample::{self, Sample};
use super::stat;
use crate::chart::axis_number;
use crate::numeric;

/// The score of one method on two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub score: f64,
    pub statistic: f64,
    pub p_value: Option<f64>,
}

impl Score {
    /// The score of a numeric-only method on a sample without numbers (never reached: such a
    /// plan is refused before testing).
    const NAN: Score = Score {
        score: f64::NAN,
        statistic: f64::NAN,
        p_value: None,
    };
}

/// Evidently's bins for a numeric column whose reference has more than 20 distinct values:
/// Sturges bins over both sides together, with each side's counts. `None` where Evidently
/// counts one bin per value (categories, and numbers with few values).
pub(super) fn sturges_counts(
    kind: Kind,
    r: &Sample,
    c: &Sample,
) -> Option<(Vec<f64>, Vec<u64>, Vec<u64>)> {
    let (Kind::Numeric, Some(a), Some(b)) = (kind, r.numbers(), c.numbers()) else {
        return None;
    };
    if r.distinct() <= 20 {
        return None;
    }
    let (lo, hi) = (a.first()?.min(b.first()?), a.last()?.max(b.last()?));
    let edges = numeric::sturges_edges(lo, hi, a.len() + b.len());
    let (ra, cb) = (
        numeric::bin_counts_of(a.iter(), &edges),
        numeric::bin_counts_of(b.iter(), &edges),
    );
    Some((edges, ra, cb))
}

/// Shares over the bins Evidently's `get_binned_data` uses: Sturges bins over both sides for
/// numeric columns whose reference has more than 20 distinct values, else one bin per value.
pub(super) fn binned_shares(kind: Kind, r: &Sample, c: &Sample) -> (Vec<f64>, Vec<f64>) {
    let (rn, cn) = (r.n as f64, c.n as f64);
    if let Some((_, a, b)) = sturges_counts(kind, r, c) {
        let share = |counts: Vec<u64>, n: f64| counts.iter().map(|&k| k as f64 / n).collect();
        return (share(a, rn), share(b, cn));
    }
    let merged = sample::merge_categories(&r.categories(), &c.categories());
    (
        merged.iter().map(|(_, a, _)| *a as f64 / rn).collect(),
        merged.iter().map(|(_, _, b)| *b as f64 / cn).collect(),
    )
}

/// Scores two non-empty samples of a column with `method`, as Evidently does.
pub fn score(method: Method, kind: Kind, r: &Sample, c: &Sample) -> Score {
    match method {
        Method::Ks => {
            let (Some(a), Some(b)) = (r.numbers(), c.numbers()) else {
                return Score::NAN;
            };
            let ks = stat::ks_2samp_of((a.len(), a.iter()), (b.len(), b.iter()));
            Score {
                score: ks.p_value,
                statistic: ks.statistic,
                p_value: Some(ks.p_value),
            }
        }
        Method::Wasserstein => {
            let (Some(a), Some(b)) = (r.numbers(), c.numbers()) else {
                return Score::NAN;
            };
            let norm = a.std_pop().max(0.001);
            let distinct = sample::distinct_union(a.iter(), b.iter());
            let distance = stat::wasserstein_of((a.len(), a.iter()), (b.len(), b.iter()), distinct);
            Score {
                score: distance / norm,
                statistic: distance,
                p_value: None,
            }
        }
        Method::Chi2 => {
            let merged = sample::merge_categories(&r.categories(), &c.categories());
            let k_norm = c.n as f64 / r.n as f64;
            let terms: Vec<f64> = merged
                .iter()
                .map(|(_, rc, cc)| {
                    let expected = *rc as f64 * k_norm;
                    let observed = *cc as f64;
                    (observed - expected) * (observed - expected) / expected
                })
                .collect();
            let chi2 = numeric::pairwise_sum(&terms);
            let df = merged.len() as f64 - 1.0;
            // One category on both sides is one distribution: p = 1 (SciPy's chisquare gives
            // NaN for zero degrees of freedom; Evidently never picks chi-square there).
            let p = if df > 0.0 {
                stat::chi2_sf(chi2, df)
            } else {
                1.0
            };
            Score {
                score: p,
                statistic: chi2,
                p_value: Some(p),
            }
        }
        Method::Z => {
            let (rc, cc) = (r.categories(), c.categories());
            if rc.len() == 1 && cc.len() == 1 && rc[0].0 == cc[0].0 {
                return Score {
                    score: 1.0,
                    statistic: 0.0,
                    p_value: Some(1.0),
                };
            }
            let merged = sample::merge_categories(&rc, &cc);
            // The first category (sorted) is 0, every other 1.
            let (first_r, first_c) = merged.first().map(|(_, a, b)| (*a, *b)).unwrap_or((0, 0));
            let (n1, n2) = (r.n as f64, c.n as f64);
            let p1 = (r.n as u64 - first_r) as f64 / n1;
            let p2 = (c.n as u64 - first_c) as f64 / n2;
            let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
            let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
            let p = stat::normal_two_sided(z);
            Score {
                score: p,
                statistic: z,
                p_value: Some(p),
            }
        }
        Method::JensenShannon => {
            let (rs, cs) = binned_shares(kind, r, c);
            let d = stat::jensen_shannon(&rs, &cs);
            Score {
                score: d,
                statistic: d,
                p_value: None,
            }
        }
        Method::Psi | Method::KlDivergence => {
            let (mut rs, mut cs) = binned_shares(kind, r, c);
            stat::fill_zeroes(&mut rs);
            stat::fill_zeroes(&mut cs);
            let d = if method == Method::Psi {
                stat::psi(&rs, &cs)
            } else {
                stat::kl_divergence(&rs, &cs)
            };
            Score {
                score: d,
                statistic: d,
                p_value: None,
            }
        }
    }
}

/// The bins shown for a column: categories (at most [`MAX_CATEGORIES`], the rest as "other"),
/// one bin per value for numbers with at most 20 distinct reference values, else Sturges bins
/// over both sides.
pub(super) fn display_bins(kind: Kind, r: &Sample, c: &Sample) -> Bins {
    if let Some((edges, reference, current)) = sturges_counts(kind, r, c) {
        return Bins {
            labels: edges
                .windows(2)
                .map(|w| format!("{}–{}", axis_number(w[0]), axis_number(w[1])))
                .collect(),
            reference,
            current,
            edges: Some(edges),
        };
    }
    let mut merged = sample::merge_categories(&r.categories(), &c.categories());
    if kind == Kind::Categorical {
        // Most frequent first, so the cut keeps what matters.
        merged.sort_by(|x, y| (y.1 + y.2).cmp(&(x.1 + x.2)).then_with(|| x.0.cmp(&y.0)));
    }
    let mut bins = Bins {
        edges: None,
        labels: Vec::new(),
        reference: Vec::new(),
        current: Vec::new(),
    };
    let (mut other_r, mut other_c, mut others) = (0u64, 0u64, 0usize);
    for (i, (label, a, b)) in merged.into_iter().enumerate() {
        if i < MAX_CATEGORIES {
            bins.labels.push(label.to_string());
            bins.reference.push(a);
            bins.current.push(b);
        } else {
            other_r += a;
            other_c += b;
            others += 1;
        }
    }
    if others > 0 {
        bins.labels.push(format!("({others} others)"));
        bins.reference.push(other_r);
        bins.current.push(other_c);
    }
    bins
}

pub(super) fn effect(kind: Kind, r: &Sample, c: &Sample, bins: &Bins) -> Effect {
    if let (Kind::Numeric, Some(a), Some(b)) = (kind, r.numbers(), c.numbers()) {
        let (ma, mb, sd) = (a.mean(), b.mean(), a.std_pop());
        let value = (sd > 0.0).then(|| (mb - ma) / sd);
        let text = match value {
            Some(v) => format!(
                "mean {} → {} ({}{:.2} reference standard deviations)",
                axis_number(ma),
                axis_number(mb),
                if v >= 0.0 { "+" } else { "" },
                v
            ),
            None => format!(
                "mean {} → {} (the reference is constant)",
                axis_number(ma),
                axis_number(mb)
            ),
        };
        return Effect {
            measure: "mean_shift".into(),
            value,
            text,
            category: None,
            short: String::new(),
        };
    }
    match largest_share_change(bins, r.n as u64, c.n as u64) {
        Some((label, a, b)) => Effect {
            measure: "share_change".into(),
            value: Some(b - a),
            text: format!(
                "'{label}': {:.1}% → {:.1}% of rows ({}{:.1} points)",
                a * 100.0,
                b * 100.0,
                if b >= a { "+" } else { "" },
                (b - a) * 100.0
            ),
            category: Some(label.to_owned()),
            short: String::new(),
        },
        None => Effect {
            measure: "share_change".into(),
            value: None,
            text: "no categories".into(),
            category: None,
            short: String::new(),
        },
    }
}

/// A column's samples for a window of current rows, re-using the method the whole comparison
/// chose, so that the windows are comparable.
pub(crate) fn evaluate_window(
    column: &ColumnDrift,
    reference: &Sample,
    current: &Sample,
) -> Option<f64> {
    if reference.n == 0 || current.n == 0 {
        return None;
    }
    Some(score(column.method, column.kind, reference, current).score)
}
