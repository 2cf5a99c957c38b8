//! What a front end shows: a capability's result with the charts its view draws, as SVG. The
//! choice of charts is made here (or by the capability's `charts` function) once, for the
//! desktop's pages; the CLI writes the same charts to files.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Input;
use crate::chart::{Figure, svgs};
use crate::dataset::Profile;
use crate::dataset::alerts::Alert;
use crate::dataset::compare::Comparison;
use crate::display::{self, number, seconds};
use crate::drift::{self, DriftReport};
use crate::explain::Explanation;
use crate::explain::store::StoredExplanation;
use crate::fairness::Fairness;
use crate::job::Job;
use crate::model::eval::Evaluation;
use crate::model::registry::ModelVersion;
use crate::runs::chart::RunChart;
use crate::runs::{GroupSummary, MetricStat, RunComparison, RunsPage, Value as RunValue};
use crate::{Project, Result};

/// A run chart for the Compare page: the SVG, and where its plot area is, so that a drag across
/// it can be turned into an x range (a zoom, drawn again from every stored point).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunChartView {
    pub svg: String,
    pub title: String,
    /// The x range drawn, in data units (steps, epoch ms or seconds).
    pub x_range: (f64, f64),
    /// The plot area's left and right edges, in the SVG's pixels.
    pub plot_left: u32,
    pub plot_right: u32,
    pub width: u32,
    /// Points the chart stands for, and points it draws after per-pixel min/max decimation.
    pub points: u64,
    pub points_drawn: u64,
}

impl RunChartView {
    pub fn new(chart: &RunChart) -> Result<RunChartView> {
        let (left, right) = chart.plot_pixels();
        Ok(RunChartView {
            svg: chart.svg()?,
            title: chart.title.clone(),
            x_range: chart.x_range(),
            plot_left: left,
            plot_right: right,
            width: chart.size().0,
            points: chart.points_in,
            points_drawn: chart.points_drawn,
        })
    }
}

/// The run table grouped: the first groups in the values' order, and how many there are (a
/// key with a value per run, such as a seed, has as many groups as runs: too many to draw).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunGroups {
    pub total: u64,
    pub groups: Vec<GroupSummary>,
    /// Per group, in order: each metric's mean, min, max and standard deviation as shown
    /// (the last empty under two runs).
    pub metrics: Vec<BTreeMap<String, [String; 4]>>,
}

impl RunGroups {
    pub fn new(total: u64, groups: Vec<GroupSummary>) -> RunGroups {
        let metrics = groups
            .iter()
            .map(|g| {
                g.metrics
                    .iter()
                    .map(|(k, st)| {
                        let [mean, min, max] =
                            [st.mean, st.min, st.max].map(|v| metric_text(Some(v)));
                        (k.clone(), [mean, min, max, metric_text(st.std)])
                    })
                    .collect()
            })
            .collect();
        RunGroups {
            total,
            groups,
            metrics,
        }
    }
}

/// A logged metric value as shown ([`display::statistic`]: NaN and infinities by name); empty
/// when the run has none.
fn metric_text(v: Option<RunValue>) -> String {
    v.map_or_else(String::new, |x| display::statistic(x.0))
}

/// A run's metric as shown: its last, smallest and largest value.
pub fn metric_texts(stat: &MetricStat) -> [String; 3] {
    [
        metric_text(Some(stat.last)),
        metric_text(stat.min),
        metric_text(stat.max),
    ]
}

/// A page of the run table, with each run's metrics as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunsView {
    pub page: RunsPage,
    /// Per run of the page, in order: each metric's last, min and max as shown.
    pub metrics: Vec<BTreeMap<String, [String; 3]>>,
}

impl RunsView {
    pub fn new(page: RunsPage) -> RunsView {
        let metrics = page
            .runs
            .iter()
            .map(|r| {
                r.metrics
                    .iter()
                    .map(|(k, st)| (k.clone(), metric_texts(st)))
                    .collect()
            })
            .collect();
        RunsView { page, metrics }
    }
}

/// Runs side by side, with each run's metric summaries as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunComparisonView {
    pub comparison: RunComparison,
    /// Per metric, one `[last, min, max]` per entry of `comparison.metrics`, in order.
    pub metrics: BTreeMap<String, Vec<[String; 3]>>,
}

impl RunComparisonView {
    pub fn new(comparison: RunComparison) -> RunComparisonView {
        let metrics = comparison
            .metrics
            .iter()
            .map(|(k, entries)| {
                let texts = entries.iter().map(|e| metric_texts(&e.stat)).collect();
                (k.clone(), texts)
            })
            .collect();
        RunComparisonView {
            comparison,
            metrics,
        }
    }
}

/// A drift comparison for the Drift page: the stored result's id, the report, and its scores
/// and over-time charts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DriftView {
    pub id: i64,
    pub report: DriftReport,
    pub scores_svg: String,
    pub over_time_svg: Option<String>,
}

impl DriftView {
    /// Compares two stored dataset versions (`NAME[@VERSION]`) or tables on a Spark cluster
    /// (`sc://…`, computed there; [`Input::app_table`]), stores the result, and returns it with
    /// its charts.
    pub fn compare_stored(
        project: &Project,
        reference: &str,
        current: &str,
        options: &drift::DriftOptions,
        job: &Job,
    ) -> Result<DriftView> {
        let report = drift::compare(
            &Input::app_table(project, reference)?,
            &Input::app_table(project, current)?,
            options,
            job,
        )?;
        DriftView::new(drift::save(project, &report)?, report)
    }

    /// A stored result, at `threshold` (the what-if) when given; nothing is stored.
    pub fn stored(project: &Project, id: i64, threshold: Option<f64>) -> Result<DriftView> {
        DriftView::new(id, stored_drift(project, id, threshold)?)
    }

    pub fn new(id: i64, report: DriftReport) -> Result<DriftView> {
        let scores_svg = drift::chart::scores(&report).svg()?;
        let over_time_svg = match report.windows {
            Some(_) => Some(drift::chart::over_time(&report, None)?.svg()?),
            None => None,
        };
        Ok(DriftView {
            id,
            report,
            scores_svg,
            over_time_svg,
        })
    }
}

/// A stored drift result, with every column's threshold set to `threshold` when given.
pub fn stored_drift(project: &Project, id: i64, threshold: Option<f64>) -> Result<DriftReport> {
    let report = drift::load(project, id)?;
    Ok(match threshold {
        Some(t) => report.with_threshold(t),
        None => report,
    })
}

/// The columns of a stored dataset version, for pickers (sensitive columns, targets).
pub fn dataset_columns(project: &Project, reference: &str) -> Result<Vec<String>> {
    let profile = crate::dataset::stored_profile(project, reference)?;
    Ok(profile.columns.into_iter().map(|c| c.name).collect())
}

/// A dataset version's profile with what its page shows as text: each column's statistics
/// and each alert's measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProfileView {
    pub profile: Profile,
    /// One per column, in the profile's order.
    pub columns: Vec<ColumnShown>,
    /// One per alert, in the profile's order: its measure in words (`2.0% of rows`).
    pub alerts: Vec<String>,
}

/// A column's statistics as text ([`display::statistic`], [`display::value`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnShown {
    pub count: String,
    /// With its share of the rows: `8 (2.0%)`.
    pub nulls: String,
    pub distinct: String,
    pub mean: String,
    pub std: String,
    pub min: String,
    pub median: String,
    pub max: String,
    pub skewness: String,
    /// The most frequent value and its count, when any.
    pub top: Option<(String, String)>,
    /// Text lengths: `length 2–14 (mean 7.5)`.
    pub lengths: Option<String>,
}

impl ProfileView {
    pub fn new(profile: Profile) -> ProfileView {
        let columns = shown_columns(&profile);
        let alerts = profile.alerts.iter().map(alert_measure).collect();
        ProfileView {
            profile,
            columns,
            alerts,
        }
    }
}

/// Each column's statistics as text, in the profile's order: the desktop's profile table and
/// the CLI's `dataset show` text.
pub fn shown_columns(profile: &Profile) -> Vec<ColumnShown> {
    let stat = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), display::statistic);
    profile
        .columns
        .iter()
        .map(|c| ColumnShown {
            count: display::count(c.count),
            nulls: display::count_with_share(c.nulls, profile.rows),
            distinct: display::count(c.distinct),
            mean: stat(c.mean),
            std: stat(c.std),
            min: display::value(c.min.as_ref()),
            median: stat(c.quantiles.as_ref().map(|q| q.p50)),
            max: display::value(c.max.as_ref()),
            skewness: stat(c.skewness),
            top: c
                .top_values
                .first()
                .map(|t| (display::value(Some(&t.value)), display::count(t.count))),
            lengths: c.lengths.as_ref().map(|l| {
                format!(
                    "length {}–{} (mean {})",
                    l.min,
                    l.max,
                    display::statistic(l.mean)
                )
            }),
        })
        .collect()
}

/// An alert's measure in words: a share of rows, a coefficient, a count, or the kind of PII.
pub fn alert_measure(alert: &Alert) -> String {
    use serde_json::Value;
    match &alert.value {
        Value::Null => String::new(),
        Value::String(s) => s.replace('_', " "),
        Value::Number(n) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            match alert.kind.as_str() {
                "missing" | "zeros" | "infinite" => format!("{:.1}% of rows", v * 100.0),
                "high_correlation" => format!("r = {v:.3}"),
                "high_cardinality" => format!("{} distinct values", display::statistic(v)),
                "duplicates" => format!("{} rows", display::statistic(v)),
                _ => display::statistic(v),
            }
        }
        other => other.to_string(),
    }
}

/// Two versions compared, with each statistic's row as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ComparisonView {
    pub comparison: Comparison,
    /// Per shared column, in the comparison's order, its statistics as text.
    pub columns: Vec<Vec<StatisticShown>>,
}

/// One statistic of a column on both sides, and the change, as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatisticShown {
    pub a: String,
    pub b: String,
    /// `+1,234 (+5.0%)`, or empty when there is no numeric change.
    pub change: String,
    /// Whether the two sides differ.
    pub changed: bool,
}

impl ComparisonView {
    pub fn new(comparison: Comparison) -> ComparisonView {
        let columns = comparison
            .columns
            .iter()
            .map(|c| c.statistics.iter().map(shown_statistic).collect())
            .collect();
        ComparisonView {
            comparison,
            columns,
        }
    }
}

/// A compared statistic as text, for the CLI's table and the desktop's.
pub fn shown_statistic(s: &crate::dataset::compare::StatisticDiff) -> StatisticShown {
    StatisticShown {
        a: display::value(Some(&s.a)),
        b: display::value(Some(&s.b)),
        change: s
            .delta
            .map(|d| display::change(d, s.relative))
            .unwrap_or_default(),
        changed: s.a != s.b,
    }
}

/// A model version with its stored evaluations (the Models view's detail pane).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelPage {
    pub version: ModelVersion,
    pub evaluations: Vec<Evaluation>,
}

impl ModelPage {
    /// A version (`NAME[@VERSION|@ALIAS]`) with its stored evaluations.
    pub fn load(project: &Project, reference: &str) -> Result<ModelPage> {
        let version = crate::model::registry::show(project, reference)?;
        let evaluations = crate::model::registry::evaluations(project, &version.reference())?;
        Ok(ModelPage {
            version,
            evaluations,
        })
    }
}

/// An evaluation with its charts as SVG, by chart name (roc, precision_recall, ...), and its
/// metrics as shown: headline metrics first, each as [`number`] writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EvaluationView {
    pub evaluation: Evaluation,
    pub charts: Vec<(String, String)>,
    /// `(metric, text)` in the order they are shown.
    pub metrics: Vec<(String, String)>,
}

impl EvaluationView {
    pub fn new(evaluation: Evaluation) -> Result<EvaluationView> {
        let charts = svgs(&crate::model::chart::charts(&evaluation)?)?;
        let metrics = shown_metrics(&evaluation.metrics);
        Ok(EvaluationView {
            evaluation,
            charts,
            metrics,
        })
    }
}

/// Metrics in the order people look for them (the headline ones first, the rest by name), each
/// as [`number`] writes it. The CLI's text and the desktop's Evaluate page both show these.
pub fn shown_metrics(metrics: &BTreeMap<String, f64>) -> Vec<(String, String)> {
    const FIRST: [&str; 9] = [
        "accuracy",
        "roc_auc",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "r2",
        "rmse",
        "mae",
    ];
    let headline = FIRST.iter().filter_map(|k| metrics.get_key_value(*k));
    let rest = metrics.iter().filter(|(k, _)| !FIRST.contains(&k.as_str()));
    headline
        .chain(rest)
        .map(|(k, v)| (k.clone(), number(*v)))
        .collect()
}

/// A computed or reopened explanation with its charts as SVG, by name, and its numbers as
/// shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExplainView {
    pub id: i64,
    pub model: String,
    pub data: String,
    /// Seconds the computation took (when it ran).
    pub seconds: f64,
    /// Found stored rather than computed now.
    pub reopened: bool,
    pub explanation: Explanation,
    pub charts: Vec<(String, String)>,
    /// What was explained, how, and when: `… · base value 0.3512 · computed in 0.42 s`.
    pub caption: String,
    /// SHAP: each explained row's model output, as shown, in the rows' order.
    pub outputs: Vec<String>,
    /// Permutation importance: `(feature, mean drop, std)`, the largest drop first.
    pub importance: Vec<(String, String, String)>,
}

impl ExplainView {
    pub fn new(stored: StoredExplanation) -> Result<ExplainView> {
        let charts = svgs(&crate::explain::chart::charts(&stored.result)?)?;
        let what = match &stored.result {
            Explanation::Shap(s) => format!(
                "SHAP ({}) of the {}, {} rows, {} background rows, base value {}",
                s.algorithm_text(),
                s.output.description,
                s.rows.len(),
                s.background_rows,
                number(s.base_value)
            ),
            Explanation::Lime(l) => format!(
                "LIME of the {}, {} rows, {} samples each (weights of the first rows charted)",
                l.output.description,
                l.rows.len(),
                l.samples
            ),
            Explanation::Permutation(p) => format!(
                "permutation importance ({}, {} repeats), baseline {}",
                p.scoring.name(),
                p.repeats,
                number(p.baseline_score)
            ),
            Explanation::Pdp(d) => format!("partial dependence of the {}", d.output.description),
        };
        let when = if stored.reopened {
            "reopened from the project".to_owned()
        } else {
            format!("computed in {}", seconds(stored.seconds))
        };
        let outputs = match &stored.result {
            Explanation::Shap(s) => s.model_output.iter().map(|v| number(*v)).collect(),
            _ => Vec::new(),
        };
        let importance = match &stored.result {
            Explanation::Permutation(p) => {
                let mut features: Vec<_> = p.features.iter().collect();
                features.sort_by(|a, b| b.importance_mean.total_cmp(&a.importance_mean));
                features
                    .into_iter()
                    .map(|f| {
                        (
                            f.name.clone(),
                            number(f.importance_mean),
                            number(f.importance_std),
                        )
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(ExplainView {
            caption: format!("{} on {} · {what} · {when}", stored.model, stored.data),
            id: stored.id,
            model: stored.model,
            data: stored.data,
            seconds: stored.seconds,
            reopened: stored.reopened,
            explanation: stored.result,
            charts,
            outputs,
            importance,
        })
    }
}

/// A fairness report with one grouped bar chart per sensitive column and intersection, and
/// its numbers as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FairnessView {
    pub report: Fairness,
    pub charts: Vec<(String, String)>,
    /// Per sensitive column and intersection, as [`Fairness::by_sensitive`].
    pub shown: BTreeMap<String, SensitiveShown>,
}

/// One sensitive column's disparities and groups as text ([`number`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SensitiveShown {
    pub demographic_parity_difference: String,
    pub demographic_parity_ratio: String,
    pub equalized_odds_difference: String,
    pub equalized_odds_ratio: String,
    /// `[group, count, selection rate, accuracy, TPR, FPR]` per group.
    pub groups: Vec<[String; 6]>,
}

impl FairnessView {
    pub fn new(report: Fairness) -> Result<FairnessView> {
        let charts = svgs(&crate::fairness::chart::charts(&report))?;
        let shown = shown_fairness(&report);
        Ok(FairnessView {
            report,
            charts,
            shown,
        })
    }
}

/// Each sensitive column's numbers as shown, for the CLI's text and the desktop's panel.
pub fn shown_fairness(report: &Fairness) -> BTreeMap<String, SensitiveShown> {
    report
        .by_sensitive
        .iter()
        .map(|(name, r)| {
            let shown = SensitiveShown {
                demographic_parity_difference: number(r.demographic_parity_difference),
                demographic_parity_ratio: number(r.demographic_parity_ratio),
                equalized_odds_difference: number(r.equalized_odds_difference),
                equalized_odds_ratio: number(r.equalized_odds_ratio),
                groups: r
                    .groups
                    .iter()
                    .map(|g| {
                        [
                            g.group.clone(),
                            g.count.to_string(),
                            number(g.selection_rate),
                            number(g.accuracy),
                            number(g.tpr),
                            number(g.fpr),
                        ]
                    })
                    .collect(),
            };
            (name.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_metrics_come_first_then_the_rest_by_name() {
        let metrics: BTreeMap<String, f64> = [
            ("recall", 0.5),
            ("accuracy", 0.780393),
            ("log_loss", 0.25),
            ("zeta", 12345.678),
            ("roc_auc", f64::NAN),
            ("beta", 0.00012),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let shown = shown_metrics(&metrics);
        let names: Vec<&str> = shown.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["accuracy", "roc_auc", "recall", "log_loss", "beta", "zeta"]
        );
        let texts: Vec<&str> = shown.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["0.7804", "—", "0.5", "0.25", "1.20e-4", "12345.678"]
        );
    }
}

/// One chart of a monitoring result: its key (a metric's name or `reconstruction_error`), its
/// title, the SVG, and the analysis chunks as its table shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonitorChartShown {
    pub key: String,
    pub title: String,
    /// The tab's name: `ROC AUC`, `Prediction drift`, `Multivariate drift`.
    pub label: String,
    pub svg: String,
    pub rows: Vec<crate::monitor::chart::Row>,
    /// How many analysis chunks alerted.
    pub alerts: usize,
}

/// A monitoring result for the Monitoring view: the report, one chart per metric and one for
/// the multivariate drift, and a caption saying what was monitored.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonitorView {
    pub report: crate::monitor::MonitorReport,
    pub charts: Vec<MonitorChartShown>,
    /// `model on reference → analysis · 10 reference and 12 analysis chunks · scores calibrated`.
    pub caption: String,
    /// `28 alerts in 7 of 12 analysis chunks, the first in 2026-05-04/2026-05-10
    /// (reconstruction_error)`, or that there is none.
    pub verdict: String,
    /// Per analysis chunk (keyed as the charts' rows), every column's drift in it: a chunk's
    /// details. Empty when the column drift was not computed.
    pub chunk_columns: Vec<MonitorChunkColumns>,
}

/// One analysis chunk's column drift, as its details show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonitorChunkColumns {
    pub chunk: String,
    pub columns: Vec<crate::monitor::chart::ColumnRow>,
}

impl MonitorView {
    pub fn new(report: crate::monitor::MonitorReport, what: &str) -> Result<MonitorView> {
        let charts = crate::monitor::chart::charts(&report)
            .into_iter()
            .map(|c| {
                let rows = c.chart.analysis_rows(&report);
                Ok(MonitorChartShown {
                    alerts: rows.iter().filter(|r| r.alert).count(),
                    svg: c.chart.svg()?,
                    title: c.chart.title.clone(),
                    label: c.chart.label.clone(),
                    key: c.key,
                    rows,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let c = &report.chunking;
        let caption = format!(
            "{what} · {} reference and {} analysis chunks · {}",
            c.reference_chunks,
            c.analysis_chunks,
            report.method_shown()
        );
        let verdict = match report.alerts.first() {
            None => "No alerts: every analysis chunk stays within the reference's thresholds."
                .to_owned(),
            Some(first) => {
                let chunks: std::collections::BTreeSet<&str> =
                    report.alerts.iter().map(|a| a.chunk.as_str()).collect();
                format!(
                    "{} alert{} in {} of {} analysis chunks, the first in {} ({}).",
                    report.alerts.len(),
                    if report.alerts.len() == 1 { "" } else { "s" },
                    chunks.len(),
                    c.analysis_chunks,
                    first.chunk,
                    first.metric
                )
            }
        };
        let chunk_columns = if report.column_drift.is_empty() {
            Vec::new()
        } else {
            report
                .chunks
                .iter()
                .filter(|c| c.period == crate::monitor::Side::Analysis)
                .map(|c| MonitorChunkColumns {
                    chunk: c.key.clone(),
                    columns: crate::monitor::chart::column_rows(&report, c),
                })
                .collect()
        };
        Ok(MonitorView {
            report,
            charts,
            caption,
            verdict,
            chunk_columns,
        })
    }
}

/// What the Monitoring view of a model version starts with: the reference and analysis
/// periods, the timestamp column and the calendar period of a chunk. Nothing is chosen where
/// no dataset fits (`reference` empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonitorDefaults {
    pub reference: String,
    pub analysis: String,
    pub timestamp_column: Option<String>,
    /// `1M`, `1w`, `1d` or `1h`: the longest that cuts the reference into at least six chunks
    /// (NannyML warns below six).
    pub chunk_period: Option<String>,
    /// The registered target column.
    pub target: Option<String>,
    /// Why monitoring does not apply to this version, when it does not.
    pub unsupported: Option<String>,
}

impl MonitorDefaults {
    /// A dataset with two versions or more whose latest holds the model's features: the
    /// version before the latest (which must hold the target) is the reference, the latest the
    /// analysis; one with a date or time column is preferred, and that column orders the rows.
    /// Else the training dataset against its own latest version.
    pub fn for_model(project: &Project, reference: &str) -> Result<MonitorDefaults> {
        let version = crate::model::registry::show(project, reference)?;
        let mut defaults = MonitorDefaults {
            target: version.target.clone(),
            ..MonitorDefaults::default()
        };
        let target = version
            .target
            .clone()
            .unwrap_or_else(|| "target".to_owned());
        /// A dataset's last two versions, and its time column with its first and last time.
        struct Pair {
            reference: String,
            analysis: String,
            time: Option<(String, String, String)>,
        }
        let mut best: Option<Pair> = None;
        for d in crate::dataset::list(project)? {
            if d.versions < 2 {
                continue;
            }
            let (before, latest) = (
                format!("{}@{}", d.dataset, d.latest_version - 1),
                format!("{}@{}", d.dataset, d.latest_version),
            );
            let (Ok(old), Ok(new)) = (
                crate::dataset::stored_profile(project, &before),
                crate::dataset::stored_profile(project, &latest),
            ) else {
                continue;
            };
            let has = |p: &Profile, c: &str| p.columns.iter().any(|x| x.name == c);
            if !version.features.iter().all(|f| has(&new, f)) || !has(&old, &target) {
                continue;
            }
            let time = old.columns.iter().find_map(|c| {
                let timed = c.dtype.starts_with("datetime") || c.dtype == "date";
                match (&c.min, &c.max) {
                    (Some(serde_json::Value::String(a)), Some(serde_json::Value::String(b)))
                        if timed && has(&new, &c.name) =>
                    {
                        Some((c.name.clone(), a.clone(), b.clone()))
                    }
                    _ => None,
                }
            });
            if best
                .as_ref()
                .is_none_or(|b| time.is_some() && b.time.is_none())
            {
                best = Some(Pair {
                    reference: before,
                    analysis: latest,
                    time,
                });
            }
        }
        match best {
            Some(pair) => {
                defaults.reference = pair.reference;
                defaults.analysis = pair.analysis;
                if let Some((column, first, last)) = pair.time {
                    defaults.chunk_period = Some(period_for(&first, &last).to_owned());
                    defaults.timestamp_column = Some(column);
                }
            }
            None => {
                if let Some(training) = &version.dataset {
                    let name = training.split('@').next().unwrap_or(training);
                    defaults.reference = training.clone();
                    defaults.analysis = crate::dataset::list(project)?
                        .into_iter()
                        .find(|d| d.dataset == name)
                        .map_or_else(
                            || training.clone(),
                            |d| format!("{name}@{}", d.latest_version),
                        );
                }
            }
        }
        Ok(defaults)
    }
}

/// The longest calendar period that cuts the span from `first` to `last` (a profile's minimum
/// and maximum times) into at least six chunks.
fn period_for(first: &str, last: &str) -> &'static str {
    use crate::dataset::times::parse_time;
    let days = match (parse_time(first), parse_time(last)) {
        (Some(a), Some(b)) => (b - a) as f64 / 86_400e9,
        _ => return "1d",
    };
    let few = crate::monitor::chunk::FEW_CHUNKS as f64;
    if days / 30.4 >= few {
        "1M"
    } else if days / 7.0 >= few {
        "1w"
    } else if days >= few {
        "1d"
    } else {
        "1h"
    }
}

/// A check result as the desktop's Checks view shows it: the validation, and per expectation
/// the line a person reads (the same words as the CLI, the JUnit XML and the Markdown).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckView {
    /// The stored result's id (`lathe check show ID`).
    pub id: i64,
    /// The table the expectations ran on.
    pub data: String,
    pub validation: crate::expect::Validation,
    pub rows: Vec<CheckRow>,
}

/// One expectation of a [`CheckView`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckRow {
    pub expectation_type: String,
    /// The column, columns or `table` it is about.
    pub subject: String,
    /// The other arguments, `key=value`.
    pub arguments: String,
    pub success: bool,
    /// What it found, in one line.
    pub found: String,
    pub unexpected_count: Option<u64>,
    /// The unexpected examples (at most 20), as JSON text.
    pub examples: Vec<String>,
}

impl CheckView {
    pub fn new(id: i64, data: String, validation: crate::expect::Validation) -> CheckView {
        use crate::expect::report;
        let rows = validation
            .results
            .iter()
            .map(|r| CheckRow {
                expectation_type: r.expectation_type.clone(),
                subject: report::subject(r),
                arguments: report::arguments(r),
                success: r.success,
                found: report::finding(r),
                unexpected_count: r.result.unexpected_count,
                examples: r
                    .result
                    .partial_unexpected_list
                    .iter()
                    .flatten()
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
            })
            .collect();
        CheckView {
            id,
            data,
            validation,
            rows,
        }
    }

    /// A stored result.
    pub fn stored(project: &Project, id: i64) -> Result<CheckView> {
        let stored = crate::expect::list(project, None)?
            .into_iter()
            .find(|s| s.id == id)
            .map(|s| s.data)
            .unwrap_or_default();
        Ok(CheckView::new(
            id,
            stored,
            crate::expect::load(project, id)?,
        ))
    }
}

/// What the editor's policy holds, once it reads: shown beside the editor as the user types.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PolicySummary {
    pub name: String,
    /// The policy's own table, if it names one.
    pub data: Option<String>,
    /// Data expectations, then the rules of each section.
    pub expectations: u32,
    pub rules: u32,
}

impl PolicySummary {
    pub fn of(policy: &crate::check::Policy) -> PolicySummary {
        let expectations = policy
            .suites
            .iter()
            .map(|s| s.expectations.len() as u32)
            .sum();
        let model = policy
            .model
            .as_ref()
            .map_or(0, |m| m.metrics.len() + usize::from(m.schema));
        let fairness = policy
            .fairness
            .as_ref()
            .map_or(0, |f| f.rules.len() * f.sensitive.len());
        let drift = policy
            .drift
            .as_ref()
            .map_or(0, |d| d.rules.len() + d.columns.len());
        PolicySummary {
            name: policy.name.clone(),
            data: policy.data.clone(),
            expectations,
            rules: (model + fairness + drift + policy.alerts.len()) as u32,
        }
    }
}
