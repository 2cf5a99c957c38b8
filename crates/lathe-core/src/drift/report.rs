//! What a drift comparison says: each column's verdict and what explains it, the dataset's
//! verdict tallied from the columns (and the windows'), and what the front ends show of it.

use super::column::ColumnDrift;
use super::window::Windows;
use serde::{Deserialize, Serialize};

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

    /// The report with every threshold set to `threshold` (the what-if): the columns' verdicts,
    /// the share and the dataset verdict, and every window's, recomputed.
    pub fn with_threshold(&self, threshold: f64) -> DriftReport {
        let mut out = self.clone();
        for column in &mut out.columns {
            column.threshold = threshold;
            column.drifted = column.drifted_at(threshold);
        }
        out.tally();
        out
    }

    /// The verdicts from the columns' scores and thresholds: the dataset's and each window's,
    /// and what the front ends show of each column.
    pub(super) fn tally(&mut self) {
        for column in &mut self.columns {
            column.present();
        }
        if let Some(windows) = &mut self.windows {
            windows.tally(&self.columns, self.drift_share);
        }
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
