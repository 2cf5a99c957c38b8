//! The fairness chart: per group of each sensitive column (and intersection), selection rate,
//! accuracy, TPR and FPR side by side.

use std::path::{Path, PathBuf};

use super::{Fairness, SensitiveReport};
use crate::Result;
use crate::explain::chart::{ExplainChart, grouped, slug, write_charts};

/// The grouped bar chart of one sensitive column (or `COL1&COL2`).
pub fn groups_chart(name: &str, r: &SensitiveReport) -> ExplainChart {
    let pick = |f: fn(&super::GroupMetrics) -> f64| r.groups.iter().map(f).collect::<Vec<_>>();
    grouped(
        format!(
            "Fairness by {name} (demographic parity ratio {:.3}, equalized odds ratio {:.3})",
            r.demographic_parity_ratio, r.equalized_odds_ratio
        ),
        "rate",
        r.groups.iter().map(|g| g.group.clone()).collect(),
        vec![
            ("selection rate".to_owned(), pick(|g| g.selection_rate)),
            ("accuracy".to_owned(), pick(|g| g.accuracy)),
            ("TPR".to_owned(), pick(|g| g.tpr)),
            ("FPR".to_owned(), pick(|g| g.fpr)),
        ],
    )
}

/// Writes one chart per sensitive column and intersection (SVG and CSV) into `dir`.
pub fn write_all(f: &Fairness, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::Error::write("create the chart folder", dir, e))?;
    let charts: Vec<(String, ExplainChart)> = f
        .by_sensitive
        .iter()
        .map(|(name, r)| (format!("fairness_{}", slug(name)), groups_chart(name, r)))
        .collect();
    write_charts(&charts, dir)
}
