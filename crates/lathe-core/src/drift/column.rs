//! One column's verdict and everything that explains it: the method and its reason, the score
//! against the threshold, the sample sizes, the bins both sides are shown over, the effect
//! size, and what the front ends show of it.

use serde::{Deserialize, Serialize};

use super::method::{Kind, Method};

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
    /// The category whose share changed most (`share_change` only).
    #[serde(default)]
    pub category: Option<String>,
    /// The effect short enough for a table cell: `mean +0.42 sd`, `rain +3.1 pts`, `—`.
    #[serde(default)]
    pub short: String,
}

impl Effect {
    fn short_text(&self) -> String {
        let Some(v) = self.value else {
            return "—".into();
        };
        let sign = if v >= 0.0 { "+" } else { "−" };
        if self.measure == "mean_shift" {
            format!("mean {sign}{:.2} sd", v.abs())
        } else {
            let label = self.category.as_deref().unwrap_or_default();
            format!("{label} {sign}{:.1} pts", (v * 100.0).abs())
        }
    }
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
    /// The score is a test's p-value (drift when small), not a distance (drift when large).
    #[serde(default)]
    pub is_test: bool,
    /// The score as every front end prints it ([`crate::display::number`]).
    #[serde(default)]
    pub score_text: String,
}

impl ColumnDrift {
    /// Fills what front ends show from the verdict's numbers (also for reports stored before
    /// these fields existed).
    pub(crate) fn present(&mut self) {
        self.is_test = self.method.is_test();
        self.score_text = crate::display::number(self.score);
        if self.effect.measure == "share_change" && self.effect.category.is_none() {
            self.effect.category =
                largest_share_change(&self.bins, self.n_reference, self.n_current)
                    .map(|(label, _, _)| label.to_owned());
        }
        self.effect.short = self.effect.short_text();
    }

    /// The verdict at another threshold (the app's what-if slider).
    pub fn drifted_at(&self, threshold: f64) -> bool {
        self.method.drifted(self.score, threshold)
    }
}

/// The category whose share of rows changed most, with its reference and current shares.
pub(super) fn largest_share_change(
    bins: &Bins,
    n_reference: u64,
    n_current: u64,
) -> Option<(&str, f64, f64)> {
    let (rn, cn) = (n_reference.max(1) as f64, n_current.max(1) as f64);
    bins.labels
        .iter()
        .zip(bins.reference.iter().zip(&bins.current))
        .map(|(label, (&a, &b))| (label.as_str(), a as f64 / rn, b as f64 / cn))
        .max_by(|x, y| (x.2 - x.1).abs().total_cmp(&(y.2 - y.1).abs()))
}
