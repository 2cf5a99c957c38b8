//! What a front end shows: a capability's result with the charts its view draws, as SVG. The
//! choice of charts is made here (or by the capability's `charts` function) once, for the
//! desktop's pages; the CLI writes the same charts to files.

use serde::Serialize;

use crate::Result;
use crate::chart::{Figure, svgs};
use crate::drift::{self, DriftReport};
use crate::explain::Explanation;
use crate::explain::store::StoredExplanation;
use crate::fairness::Fairness;
use crate::model::eval::Evaluation;
use crate::model::registry::ModelVersion;
use crate::runs::GroupSummary;
use crate::runs::chart::RunChart;

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

/// A model version with its stored evaluations (the Models view's detail pane).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelPage {
    pub version: ModelVersion,
    pub evaluations: Vec<Evaluation>,
}

/// An evaluation with its charts as SVG, by chart name (roc, precision_recall, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EvaluationView {
    pub evaluation: Evaluation,
    pub charts: Vec<(String, String)>,
}

impl EvaluationView {
    pub fn new(evaluation: Evaluation) -> Result<EvaluationView> {
        let charts = svgs(&crate::model::chart::charts(&evaluation)?)?;
        Ok(EvaluationView { evaluation, charts })
    }
}

/// A computed or reopened explanation with its charts as SVG, by name.
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
}

impl ExplainView {
    pub fn new(stored: StoredExplanation) -> Result<ExplainView> {
        let charts = svgs(&crate::explain::chart::charts(&stored.result)?)?;
        Ok(ExplainView {
            id: stored.id,
            model: stored.model,
            data: stored.data,
            seconds: stored.seconds,
            reopened: stored.reopened,
            explanation: stored.result,
            charts,
        })
    }
}

/// A fairness report with one grouped bar chart per sensitive column and intersection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FairnessView {
    pub report: Fairness,
    pub charts: Vec<(String, String)>,
}

impl FairnessView {
    pub fn new(report: Fairness) -> Result<FairnessView> {
        let charts = svgs(&crate::fairness::chart::charts(&report))?;
        Ok(FairnessView { report, charts })
    }
}
