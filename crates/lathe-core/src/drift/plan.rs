//! Planning a comparison: which columns, of which kind, by which method and threshold
//! ([`DriftOptions`]); testing each column; reading a column as a sample.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::column::{ColumnDrift, Dropped};
use super::method::{Kind, Method};
use super::report::{SchemaDrift, Skipped};
use super::sample::{self, Sample};
use super::score::score;
use super::score::{display_bins, effect};
use super::window::Window;
use crate::dataset::stream::MemoryLimit;
use crate::{Error, Result};

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
    /// Memory for the tables' values (default: [`MemoryLimit::for_this_machine`]); tables
    /// over it are compared a column at a time from sorted runs spilled to disk.
    pub memory_limit: Option<MemoryLimit>,
}

/// The dataset drifts when at least this share of the tested columns drift (Evidently's
/// default). The one place this default is written.
pub const DEFAULT_DRIFT_SHARE: f64 = 0.5;

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            columns: None,
            method: None,
            column_methods: BTreeMap::new(),
            threshold: None,
            drift_share: DEFAULT_DRIFT_SHARE,
            time_column: None,
            window: None,
            memory_limit: None,
        }
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
            return Err(Error::bad_argument(
                "threshold",
                format!("{t}: a threshold must be a positive number"),
            ));
        }
        for (column, (_, t)) in &self.column_methods {
            if let Some(t) = t.filter(|t| !threshold_ok(*t)) {
                return Err(Error::bad_argument(
                    "threshold",
                    format!("{t} for column '{column}': a threshold must be a positive number"),
                ));
            }
        }
        if !(self.drift_share > 0.0 && self.drift_share <= 1.0) {
            return Err(Error::bad_argument(
                "drift share",
                format!("{}: it must be in (0, 1]", self.drift_share),
            ));
        }
        if self.window.is_some() != self.time_column.is_some()
            && !matches!(self.window, Some(Window::Rows(_)))
        {
            return Err(Error::bad_argument(
                "window",
                "drift over time needs both --time-column and --window (a row window needs only --window)",
            ));
        }
        Ok(())
    }
}

/// How a column is to be tested, decided before reading its values in full.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) name: String,
    pub(super) kind: Kind,
    /// `None`: Evidently's default, picked from the data.
    method: Option<(Method, &'static str)>,
    threshold: Option<f64>,
}

/// A table's columns: names and types.
pub(super) type Schema = Vec<(String, DataType)>;

/// Plans the comparison of two tables' columns. `kind_of(name)` is the kind Evidently infers
/// from the current data's column `name` (or why it has none).
pub(super) fn plan_columns(
    reference: &Schema,
    current: &Schema,
    options: &DriftOptions,
    mut kind_of: impl FnMut(&str) -> Result<std::result::Result<Kind, String>>,
) -> Result<(Vec<Plan>, Vec<Skipped>, SchemaDrift)> {
    let ref_names: Vec<String> = reference.iter().map(|(n, _)| n.clone()).collect();
    let cur_names: Vec<String> = current.iter().map(|(n, _)| n.clone()).collect();
    let dtype = |schema: &Schema, name: &str| {
        schema
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    };
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
                    return Err(Error::bad_argument("column", detail));
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
            return Err(Error::bad_argument(
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
        let (Some(rtype), Some(ctype)) = (dtype(reference, &name), dtype(current, &name)) else {
            continue;
        };
        // Evidently infers each column's type from the current data.
        let kind = match kind_of(&name)? {
            Ok(kind) => kind,
            Err(reason) => {
                skipped.push(Skipped {
                    name,
                    reason: format!("current data: {reason}"),
                });
                continue;
            }
        };
        if !sample::fits(&rtype, kind) {
            skipped.push(Skipped {
                reason: format!(
                    "the type changed: {rtype} in the reference, {ctype} in the current data (schema drift)"
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
        return Err(Error::bad_argument(
            "drift method",
            format!(
                "{}; pick chi2, z, jensen_shannon, psi or kl_divergence for them with --column-method COLUMN=METHOD, or leave them out with --columns",
                errors.join("; ")
            ),
        ));
    }
    Ok((plans, skipped, schema))
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

pub(super) fn evaluate(
    plan: &Plan,
    r: &Sample,
    c: &Sample,
) -> std::result::Result<ColumnDrift, Skipped> {
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
        (Some(a), Some(b)) => sample::distinct_union(a.iter(), b.iter()),
        _ => sample::merge_categories(&r.categories(), &c.categories()).len(),
    };
    let (method, reason) = match plan.method {
        Some((m, why)) => (m, why.to_owned()),
        None => Method::default_for(plan.kind, r.n, distinct),
    };
    let threshold = plan.threshold.unwrap_or(method.default_threshold());
    let s = score(method, plan.kind, r, c);
    let bins = display_bins(plan.kind, r, c);
    let mut column = ColumnDrift {
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
        is_test: method.is_test(),
        score_text: String::new(),
    };
    column.present();
    Ok(column)
}
