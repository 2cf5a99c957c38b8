//! Data drift: does the current data still look like the reference?
//!
//! Per column, the test or distance Evidently's `DataDriftPreset` would pick (reproduced exactly,
//! see [`Method::default_for`]), any of them on request, with its threshold; a dataset verdict
//! from the share of drifted columns; drift per time or row window of the current data; charts
//! and a self-contained HTML report. Every number comes from [`stat`], which reproduces SciPy's
//! and Evidently's arithmetic and is checked against them by `tests/fixtures/drift_reference.py`.
//!
//! - [`sample`]: a column's values as sorted numbers or category counts, non-finite dropped.
//! - [`window`]: drift over time.
//! - [`chart`]: distribution, score and over-time charts.
//! - [`html`]: the report.
//! - stored results: [`save`], [`list()`] and [`load`].

pub mod chart;
pub mod html;
pub mod sample;
pub mod stat;
mod store;
pub mod window;

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::chart::axis_number;
use crate::dataset::browse::TableSource;
use crate::job::Job;
use crate::{Error, Result};
use sample::Sample;
pub use store::{StoredDrift, list, load, save};
pub use window::{Window, WindowDrift, Windows};

/// Evidently's reference-size cut-off between the tests (≤) and the distances (>).
const SMALL_REFERENCE: usize = 1000;
/// At most this many categories are kept in a column's bins; the rest are summed as "other".
const MAX_CATEGORIES: usize = 40;

/// How a column's values are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ColumnKind"))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Numeric,
    Categorical,
}

/// A drift test (gives a p-value) or distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DriftMethod"))]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Two-sample Kolmogorov–Smirnov test (numeric).
    Ks,
    /// Chi-square goodness of fit of the current counts to the reference shares.
    Chi2,
    /// Two-proportion z-test (the first category against the rest).
    Z,
    /// Wasserstein distance normalised by the reference's standard deviation (numeric).
    Wasserstein,
    JensenShannon,
    /// Population stability index.
    Psi,
    KlDivergence,
}

impl Method {
    pub const NAMES: &'static str = "ks, chi2, z, wasserstein, jensen_shannon, psi, kl_divergence";
    pub const ALL: [Method; 7] = [
        Method::Ks,
        Method::Chi2,
        Method::Z,
        Method::Wasserstein,
        Method::JensenShannon,
        Method::Psi,
        Method::KlDivergence,
    ];

    /// Lathe's names, and Evidently's (`chisquare`, `jensenshannon`, `kl_div`).
    pub fn parse(text: &str) -> Result<Method> {
        Ok(match text.trim().to_ascii_lowercase().as_str() {
            "ks" => Method::Ks,
            "chi2" | "chisquare" => Method::Chi2,
            "z" => Method::Z,
            "wasserstein" => Method::Wasserstein,
            "jensen_shannon" | "jensenshannon" | "js" => Method::JensenShannon,
            "psi" => Method::Psi,
            "kl_divergence" | "kl_div" | "kl" => Method::KlDivergence,
            _ => {
                return Err(Error::BadArgument {
                    argument: "drift method",
                    detail: format!("'{text}' is not one of {}", Method::NAMES),
                });
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::Chi2 => "chi2",
            Method::Z => "z",
            Method::Wasserstein => "wasserstein",
            Method::JensenShannon => "jensen_shannon",
            Method::Psi => "psi",
            Method::KlDivergence => "kl_divergence",
        }
    }

    /// What the score is, for people.
    pub fn score_label(self) -> &'static str {
        match self {
            Method::Ks => "K-S p-value",
            Method::Chi2 => "chi-square p-value",
            Method::Z => "z-test p-value",
            Method::Wasserstein => "Wasserstein distance (normed)",
            Method::JensenShannon => "Jensen–Shannon distance",
            Method::Psi => "PSI",
            Method::KlDivergence => "KL divergence",
        }
    }

    /// Tests score with a p-value (drift when small); the others with a distance (when large).
    pub fn is_test(self) -> bool {
        matches!(self, Method::Ks | Method::Chi2 | Method::Z)
    }

    pub fn default_threshold(self) -> f64 {
        if self.is_test() { 0.05 } else { 0.1 }
    }

    /// Evidently's rule: K-S drifts when p ≤ threshold, chi-square and z when p < threshold,
    /// distances when ≥ threshold. A NaN score never drifts.
    pub fn drifted(self, score: f64, threshold: f64) -> bool {
        match self {
            Method::Ks => score <= threshold,
            Method::Chi2 | Method::Z => score < threshold,
            _ => score >= threshold,
        }
    }

    pub fn numeric_only(self) -> bool {
        matches!(self, Method::Ks | Method::Wasserstein)
    }

    /// The method Evidently's `DataDriftPreset` picks, and why. `n_reference` counts the
    /// reference's kept values, `distinct` the distinct values of both sides together.
    pub fn default_for(kind: Kind, n_reference: usize, distinct: usize) -> (Method, String) {
        let size = if n_reference <= SMALL_REFERENCE {
            format!("the reference has {n_reference} values (≤ {SMALL_REFERENCE})")
        } else {
            format!("the reference has {n_reference} values (> {SMALL_REFERENCE})")
        };
        let few = distinct <= 5;
        let method = match (kind, n_reference <= SMALL_REFERENCE) {
            (Kind::Numeric, true) if few && distinct > 2 => Method::Chi2,
            (Kind::Numeric, true) if few => Method::Z,
            (Kind::Numeric, true) => Method::Ks,
            (Kind::Categorical, true) if distinct > 2 => Method::Chi2,
            (Kind::Categorical, true) => Method::Z,
            (Kind::Numeric, false) if few => Method::JensenShannon,
            (Kind::Numeric, false) => Method::Wasserstein,
            (Kind::Categorical, false) => Method::JensenShannon,
        };
        let what = match kind {
            Kind::Numeric => format!("numeric with {distinct} distinct values"),
            Kind::Categorical => format!("categorical with {distinct} categories"),
        };
        (
            method,
            format!("{size}; {what}: Evidently's default is {}", method.name()),
        )
    }
}

/// What to compare and how.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftOptions {
    /// Only these columns (all shared columns by default).
    pub columns: Option<Vec<String>>,
    /// One method for every column.
    pub method: Option<Method>,
    /// Per-column methods, with an optional per-column threshold.
    pub column_methods: BTreeMap<String, (Method, Option<f64>)>,
    /// One threshold for every column (each method's default otherwise).
    pub threshold: Option<f64>,
    /// The dataset drifts when at least this share of columns drift.
    pub drift_share: f64,
    /// Drift over time: the current data's time column and window.
    pub time_column: Option<String>,
    pub window: Option<Window>,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            columns: None,
            method: None,
            column_methods: BTreeMap::new(),
            threshold: None,
            drift_share: 0.5,
            time_column: None,
            window: None,
        }
    }
}

fn bad(argument: &'static str, detail: impl Into<String>) -> Error {
    Error::BadArgument {
        argument,
        detail: detail.into(),
    }
}

impl DriftOptions {
    /// The method chosen for `column` (its own, else the one for every column; `None`:
    /// Evidently's default) with why, and its threshold (`None`: the method's default).
    pub(crate) fn method_for(&self, column: &str) -> (Option<(Method, &'static str)>, Option<f64>) {
        match self.column_methods.get(column) {
            Some((m, t)) => (Some((*m, "chosen for this column")), t.or(self.threshold)),
            None => (
                self.method.map(|m| (m, "chosen for every column")),
                self.threshold,
            ),
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        let threshold_ok = |t: f64| t.is_finite() && t > 0.0;
        if let Some(t) = self.threshold.filter(|t| !threshold_ok(*t)) {
            return Err(bad(
                "threshold",
                format!("{t}: a threshold must be a positive number"),
            ));
        }
        for (column, (_, t)) in &self.column_methods {
            if let Some(t) = t.filter(|t| !threshold_ok(*t)) {
                return Err(bad(
                    "threshold",
                    format!("{t} for column '{column}': a threshold must be a positive number"),
                ));
            }
        }
        if !(self.drift_share > 0.0 && self.drift_share <= 1.0) {
            return Err(bad(
                "drift share",
                format!("{}: it must be in (0, 1]", self.drift_share),
            ));
        }
        if self.window.is_some() != self.time_column.is_some()
            && !matches!(self.window, Some(Window::Rows(_)))
        {
            return Err(bad(
                "window",
                "drift over time needs both --time-column and --window (a row window needs only --window)",
            ));
        }
        Ok(())
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DriftSide"))]
pub struct SideInfo {
    /// The dataset name, or the file's name.
    pub name: String,
    pub version: Option<i64>,
    pub rows: u64,
}

/// `NAME@VERSION`, or the file's name.
impl std::fmt::Display for SideInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}@{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Values dropped before testing: nulls, NaN and infinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DroppedValues"))]
pub struct Dropped {
    pub reference: u64,
    pub current: u64,
}

/// How big the change is, in units people can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DriftEffect"))]
pub struct Effect {
    /// `mean_shift` (difference of means in reference standard deviations) or `share_change`
    /// (the category whose share changed most, current minus reference).
    pub measure: String,
    pub value: Option<f64>,
    pub text: String,
}

/// Both sides' counts over the same bins (numeric: `edges`) or categories (`labels`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DriftBins"))]
pub struct Bins {
    pub edges: Option<Vec<f64>>,
    pub labels: Vec<String>,
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
}

/// One column's verdict and everything that explains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnDrift {
    pub name: String,
    pub kind: Kind,
    pub method: Method,
    /// Why this method: Evidently's default rule, or the user's choice.
    pub method_reason: String,
    /// What is compared with the threshold: the p-value of a test, else the distance.
    pub score: f64,
    /// The test statistic (K-S D, chi-square, z) or the distance before normalising.
    pub statistic: f64,
    pub p_value: Option<f64>,
    pub threshold: f64,
    pub drifted: bool,
    pub n_reference: u64,
    pub n_current: u64,
    pub dropped_non_finite: Dropped,
    /// Distinct values of both sides together.
    pub distinct: u64,
    pub effect: Effect,
    pub bins: Bins,
}

impl ColumnDrift {
    /// The verdict at another threshold (the app's what-if slider).
    pub fn drifted_at(&self, threshold: f64) -> bool {
        self.method.drifted(self.score, threshold)
    }
}

/// A column that was not tested, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "SkippedColumn"))]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// Columns present on one side only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SchemaDrift {
    pub only_in_reference: Vec<String>,
    pub only_in_current: Vec<String>,
}

/// What `lathe drift --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DriftReport {
    pub reference: SideInfo,
    pub current: SideInfo,
    pub dataset_drift: bool,
    /// Drifted columns / tested columns (0 when none were tested).
    pub share_drifted: f64,
    pub drift_share: f64,
    pub drifted_columns: u64,
    pub columns: Vec<ColumnDrift>,
    pub skipped: Vec<Skipped>,
    pub schema: SchemaDrift,
    pub windows: Option<Windows>,
}

/// The tested columns and what else a report says, before the verdict is tallied.
#[derive(Debug)]
pub(crate) struct Parts {
    pub reference: SideInfo,
    pub current: SideInfo,
    pub drift_share: f64,
    pub columns: Vec<ColumnDrift>,
    pub skipped: Vec<Skipped>,
    pub schema: SchemaDrift,
    pub windows: Option<Windows>,
}

impl DriftReport {
    /// The report of `parts`, its verdict tallied from the columns.
    pub(crate) fn tallied(parts: Parts) -> DriftReport {
        let mut report = DriftReport {
            reference: parts.reference,
            current: parts.current,
            dataset_drift: false,
            share_drifted: 0.0,
            drift_share: parts.drift_share,
            drifted_columns: 0,
            columns: parts.columns,
            skipped: parts.skipped,
            schema: parts.schema,
            windows: parts.windows,
        };
        report.tally();
        report
    }

    /// The report with every threshold set to `threshold` (the what-if), verdicts recomputed.
    pub fn with_threshold(&self, threshold: f64) -> DriftReport {
        let mut out = self.clone();
        for column in &mut out.columns {
            column.threshold = threshold;
            column.drifted = column.drifted_at(threshold);
        }
        out.tally();
        out
    }

    fn tally(&mut self) {
        let drifted = self.columns.iter().filter(|c| c.drifted).count();
        self.drifted_columns = drifted as u64;
        self.share_drifted = if self.columns.is_empty() {
            0.0
        } else {
            drifted as f64 / self.columns.len() as f64
        };
        self.dataset_drift = !self.columns.is_empty() && self.share_drifted >= self.drift_share;
    }
}

/// The score of one method on two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub score: f64,
    pub statistic: f64,
    pub p_value: Option<f64>,
}

/// Evidently's bins for a numeric column whose reference has more than 20 distinct values:
/// Sturges bins over both sides together, with each side's counts. `None` where Evidently
/// counts one bin per value (categories, and numbers with few values).
fn sturges_counts(kind: Kind, r: &Sample, c: &Sample) -> Option<(Vec<f64>, Vec<u64>, Vec<u64>)> {
    let (Kind::Numeric, Some(a), Some(b)) = (kind, r.numbers(), c.numbers()) else {
        return None;
    };
    if r.distinct() <= 20 {
        return None;
    }
    let edges = stat::sturges_edges_of(a, b);
    let (ra, cb) = (stat::bin_counts(a, &edges), stat::bin_counts(b, &edges));
    Some((edges, ra, cb))
}

/// Shares over the bins Evidently's `get_binned_data` uses: Sturges bins over both sides for
/// numeric columns whose reference has more than 20 distinct values, else one bin per value.
fn binned_shares(kind: Kind, r: &Sample, c: &Sample) -> (Vec<f64>, Vec<f64>) {
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
            let (a, b) = (r.numbers().unwrap_or(&[]), c.numbers().unwrap_or(&[]));
            let ks = stat::ks_2samp(a, b);
            Score {
                score: ks.p_value,
                statistic: ks.statistic,
                p_value: Some(ks.p_value),
            }
        }
        Method::Wasserstein => {
            let (a, b) = (r.numbers().unwrap_or(&[]), c.numbers().unwrap_or(&[]));
            let norm = stat::std_pop(a).max(0.001);
            let distance = stat::wasserstein(a, b);
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
            let chi2 = stat::pairwise_sum(&terms);
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
fn display_bins(kind: Kind, r: &Sample, c: &Sample) -> Bins {
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

fn effect(kind: Kind, r: &Sample, c: &Sample, bins: &Bins) -> Effect {
    if let (Kind::Numeric, Some(a), Some(b)) = (kind, r.numbers(), c.numbers()) {
        let (ma, mb, sd) = (stat::mean(a), stat::mean(b), stat::std_pop(a));
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
        };
    }
    let (rn, cn) = (r.n.max(1) as f64, c.n.max(1) as f64);
    let largest = bins
        .labels
        .iter()
        .zip(bins.reference.iter().zip(&bins.current))
        .map(|(label, (&a, &b))| (label, a as f64 / rn, b as f64 / cn))
        .max_by(|x, y| (x.2 - x.1).abs().total_cmp(&(y.2 - y.1).abs()));
    match largest {
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
        },
        None => Effect {
            measure: "share_change".into(),
            value: None,
            text: "no categories".into(),
        },
    }
}

/// How a column is to be tested, decided before reading its values in full.
#[derive(Debug, Clone)]
struct Plan {
    name: String,
    kind: Kind,
    /// `None`: Evidently's default, picked from the data.
    method: Option<(Method, &'static str)>,
    threshold: Option<f64>,
}

fn plan_columns(
    reference: &DataFrame,
    current: &DataFrame,
    options: &DriftOptions,
) -> Result<(Vec<Plan>, Vec<Skipped>, SchemaDrift)> {
    let ref_names: Vec<String> = reference
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let cur_names: Vec<String> = current
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let schema = SchemaDrift {
        only_in_reference: ref_names
            .iter()
            .filter(|n| !cur_names.contains(n))
            .cloned()
            .collect(),
        only_in_current: cur_names
            .iter()
            .filter(|n| !ref_names.contains(n))
            .cloned()
            .collect(),
    };
    let wanted: Vec<String> = match &options.columns {
        Some(columns) => {
            for name in columns {
                let (in_ref, in_cur) = (ref_names.contains(name), cur_names.contains(name));
                if !(in_ref && in_cur) {
                    let detail = match (in_ref, in_cur) {
                        (true, false) => format!(
                            "'{name}' is in the reference but not in the current data (schema drift)"
                        ),
                        (false, true) => format!(
                            "'{name}' is in the current data but not in the reference (schema drift)"
                        ),
                        _ => format!(
                            "no column '{name}' in either dataset; the reference has: {}",
                            ref_names.join(", ")
                        ),
                    };
                    return Err(bad("column", detail));
                }
            }
            columns.clone()
        }
        None => ref_names
            .iter()
            .filter(|n| cur_names.contains(n))
            .cloned()
            .collect(),
    };
    for name in options.column_methods.keys() {
        if !wanted.contains(name) {
            return Err(bad(
                "column method",
                format!("'{name}' is not among the compared columns"),
            ));
        }
    }
    let mut plans = Vec::new();
    let mut skipped = Vec::new();
    let mut errors = Vec::new();
    for name in wanted {
        if options.time_column.as_deref() == Some(name.as_str()) {
            continue;
        }
        let (Ok(rc), Ok(cc)) = (reference.column(&name), current.column(&name)) else {
            continue;
        };
        // Evidently infers each column's type from the current data.
        let kind = match sample::infer_kind(cc) {
            Ok(kind) => kind,
            Err(reason) => {
                skipped.push(Skipped {
                    name,
                    reason: format!("current data: {reason}"),
                });
                continue;
            }
        };
        if !sample::fits(rc.dtype(), kind) {
            skipped.push(Skipped {
                reason: format!(
                    "the type changed: {} in the reference, {} in the current data (schema drift)",
                    rc.dtype(),
                    cc.dtype()
                ),
                name,
            });
            continue;
        }
        let (method, threshold) = options.method_for(&name);
        if let Some((m, _)) = method
            && m.numeric_only()
            && kind == Kind::Categorical
        {
            errors.push(format!(
                "'{name}' is categorical and {} needs numbers",
                m.name()
            ));
            continue;
        }
        plans.push(Plan {
            name,
            kind,
            method,
            threshold,
        });
    }
    if !errors.is_empty() {
        return Err(bad(
            "drift method",
            format!(
                "{}; pick chi2, z, jensen_shannon, psi or kl_divergence for them with --column-method COLUMN=METHOD, or leave them out with --columns",
                errors.join("; ")
            ),
        ));
    }
    Ok((plans, skipped, schema))
}

/// Tests one planned column. `Err(reason)` when it cannot be tested.
fn test_column(
    plan: &Plan,
    reference: &Column,
    current: &Column,
) -> Result<std::result::Result<ColumnDrift, Skipped>> {
    let r = sample::sample(reference, plan.kind, None)?;
    let c = sample::sample(current, plan.kind, None)?;
    Ok(evaluate(plan, &r, &c))
}

/// Tests one column on samples already read: `method` `None` picks Evidently's default.
pub(crate) fn evaluate_samples(
    name: &str,
    kind: Kind,
    method: Option<(Method, &'static str)>,
    threshold: Option<f64>,
    r: &Sample,
    c: &Sample,
) -> std::result::Result<ColumnDrift, Skipped> {
    let plan = Plan {
        name: name.to_owned(),
        kind,
        method,
        threshold,
    };
    evaluate(&plan, r, c)
}

fn evaluate(plan: &Plan, r: &Sample, c: &Sample) -> std::result::Result<ColumnDrift, Skipped> {
    let skip = |reason: String| Skipped {
        name: plan.name.clone(),
        reason,
    };
    if r.n == 0 {
        return Err(skip(
            "no values in the reference once nulls, NaN and infinities are dropped".into(),
        ));
    }
    if c.n == 0 {
        return Err(skip(
            "no values in the current data once nulls, NaN and infinities are dropped".into(),
        ));
    }
    let distinct = match (r.numbers(), c.numbers()) {
        (Some(a), Some(b)) => sample::distinct_union(a, b),
        _ => sample::merge_categories(&r.categories(), &c.categories()).len(),
    };
    let (method, reason) = match plan.method {
        Some((m, why)) => (m, why.to_owned()),
        None => Method::default_for(plan.kind, r.n, distinct),
    };
    let threshold = plan.threshold.unwrap_or(method.default_threshold());
    let s = score(method, plan.kind, r, c);
    let bins = display_bins(plan.kind, r, c);
    Ok(ColumnDrift {
        name: plan.name.clone(),
        kind: plan.kind,
        method,
        method_reason: reason,
        score: s.score,
        statistic: s.statistic,
        p_value: s.p_value,
        threshold,
        drifted: method.drifted(s.score, threshold),
        n_reference: r.n as u64,
        n_current: c.n as u64,
        dropped_non_finite: Dropped {
            reference: r.dropped,
            current: c.dropped,
        },
        distinct: distinct as u64,
        effect: effect(plan.kind, r, c, &bins),
        bins,
    })
}

/// Compares `current` with `reference`.
pub fn compare(
    reference: &TableSource,
    current: &TableSource,
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    options.check()?;
    job.progress("reading the reference", 0, None);
    let ref_frame = reference.frame(None)?;
    job.cancel.check()?;
    job.progress("reading the current data", 0, None);
    let cur_frame = current.frame(None)?;
    job.cancel.check()?;
    let (rname, rversion) = reference.label();
    let (cname, cversion) = current.label();
    compare_frames(
        (
            SideInfo {
                name: rname,
                version: rversion,
                rows: ref_frame.height() as u64,
            },
            &ref_frame,
        ),
        (
            SideInfo {
                name: cname,
                version: cversion,
                rows: cur_frame.height() as u64,
            },
            &cur_frame,
        ),
        options,
        job,
    )
}

/// [`compare`] on frames already read.
pub fn compare_frames(
    (reference, ref_frame): (SideInfo, &DataFrame),
    (current, cur_frame): (SideInfo, &DataFrame),
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    options.check()?;
    let (plans, mut skipped, schema) = plan_columns(ref_frame, cur_frame, options)?;
    let total = plans.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    job.progress("testing columns", 0, Some(total));
    let results: Vec<Result<std::result::Result<ColumnDrift, Skipped>>> = plans
        .par_iter()
        .map(|plan| {
            job.cancel.check()?;
            let rc = ref_frame
                .column(&plan.name)
                .map_err(|e| compute_err(&plan.name, e))?;
            let cc = cur_frame
                .column(&plan.name)
                .map_err(|e| compute_err(&plan.name, e))?;
            let out = test_column(plan, rc, cc);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("testing columns", n, Some(total));
            out
        })
        .collect();
    let mut columns = Vec::with_capacity(results.len());
    for result in results {
        match result? {
            Ok(column) => columns.push(column),
            Err(skip) => skipped.push(skip),
        }
    }
    let windows = match &options.window {
        Some(window) => Some(window::over_time(
            ref_frame,
            cur_frame,
            &columns,
            options.time_column.as_deref(),
            window,
            options.drift_share,
            job,
        )?),
        None => None,
    };
    Ok(DriftReport::tallied(Parts {
        reference,
        current,
        drift_share: options.drift_share,
        columns,
        skipped,
        schema,
        windows,
    }))
}

pub(crate) fn compute_err(column: &str, e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot compute drift",
        detail: format!("column '{column}': {e}"),
    }
}

/// A column's samples for a window of current rows, re-using the method the whole comparison
/// chose, so that the windows are comparable.
pub(crate) fn evaluate_window(
    column: &ColumnDrift,
    reference: &Sample,
    current: &Sample,
) -> Option<(f64, bool)> {
    if reference.n == 0 || current.n == 0 {
        return None;
    }
    let s = score(column.method, column.kind, reference, current);
    Some((s.score, column.method.drifted(s.score, column.threshold)))
}

/// Reads one column of a frame as a sample of `kind` (used by the windows).
pub(crate) fn read_sample(
    frame: &DataFrame,
    name: &str,
    kind: Kind,
    rows: Option<&[u32]>,
) -> Result<Sample> {
    let column = frame.column(name).map_err(|e| compute_err(name, e))?;
    sample::sample(column, kind, rows)
}
