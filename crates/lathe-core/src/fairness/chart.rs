//! The fairness chart: per group of each sensitive column (and intersection), selection rate,
//! accuracy, TPR and FPR side by side.

use std::path::{Path, PathBuf};

use super::{Fairness, SensitiveReport};
use crate::Result;
use crate::chart::{GroupedBars, NamedChart, slug, write_named};

/// The grouped bar chart of one sensitive column (or `COL1&COL2`).
pub fn groups_chart(name: &str, r: &SensitiveReport) -> GroupedBars {
    let pick = |f: fn(&super::GroupMetrics) -> f64| r.groups.iter().map(f).collect::<Vec<_>>();
    GroupedBars {
        title: format!(
            "Fairness by {name} (demographic parity ratio {:.3}, equalized odds ratio {:.3})",
            r.demographic_parity_ratio, r.equalized_odds_ratio
        ),
        y_desc: "rate".to_owned(),
        groups: r.groups.iter().map(|g| g.group.clone()).collect(),
        series: vec![
            ("selection rate".to_owned(), pick(|g| g.selection_rate)),
            ("accuracy".to_owned(), pick(|g| g.accuracy)),
            ("TPR".to_owned(), pick(|g| g.tpr)),
            ("FPR".to_owned(), pick(|g| g.fpr)),
        ],
    }
}

/// The charts a fairness report shows: one per sensitive column and intersection, keyed by its
/// name, written as `fairness_<slug>`.
pub fn charts(f: &Fairness) -> Vec<NamedChart<GroupedBars>> {
    f.by_sensitive
        .iter()
        .map(|(name, r)| {
            NamedChart::new(
                name.clone(),
                format!("fairness_{}", slug(name)),
                groups_chart(name, r),
            )
        })
        .collect()
}

/// Writes one chart per sensitive column and intersection (SVG and CSV) into `dir`.
pub fn write_all(f: &Fairness, dir: &Path) -> Result<Vec<PathBuf>> {
    write_named(&charts(f), dir)
}
