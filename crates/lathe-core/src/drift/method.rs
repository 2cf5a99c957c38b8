//! The drift methods: each one's name, label, kind of score (a test's p-value or a distance),
//! default threshold and verdict rule, and the method Evidently's `DataDriftPreset` picks.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Evidently's reference-size cut-off between the tests (≤) and the distances (>).
pub(super) const SMALL_REFERENCE: usize = 1000;
/// At most this many categories are kept in a column's bins; the rest are summed as "other".
pub(super) const MAX_CATEGORIES: usize = 40;

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

    /// The comparison [`Method::drifted`] makes, for people: `≤ 0.05` drifts (K-S).
    pub fn drift_sign(self) -> &'static str {
        match self {
            Method::Ks => "≤",
            Method::Chi2 | Method::Z => "<",
            _ => "≥",
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
