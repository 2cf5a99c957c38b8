//! The one API surface every front end calls: the CLI parses its flags into these requests and
//! prints the responses, the desktop's Tauri commands forward to them in one line, and the UI
//! renders their fields. A request type carries its defaults; a response carries what a front
//! end shows (charts as SVG, display strings such as `score_text`, flags such as `flagged` and
//! `is_test`), so that no front end computes a rule again.
//!
//! This module sits at the top of the core's layers: it may use every capability, and no
//! capability may use it (checked by `tests/core/layers.rs`).
//!
//! - [`input`]: what a text given by a person names: a file, or a stored `NAME@VERSION`.
//! - [`requests`]: what a front end asks for, with the defaults, turned into a capability's
//!   options.
//! - [`sources`]: profiles of tables computed on request (a Spark table, a file), kept for the
//!   session so their charts can be drawn.
//! - [`views`]: what a front end shows, with the charts each view draws.

pub mod input;
pub mod requests;
pub mod sources;
pub mod views;

pub use input::{Input, LoadedModel};
pub use requests::{
    BundleExportRequest, ChartRequest, CheckOutcome, CheckRequest, DriftRequest, GroupRunsRequest,
    MonitorRequest, RegisterRequest, RowsRequest, RunChartRequest, RunsPlotRequest,
    RunsReportRequest, RunsRequest, carried_checks,
};
pub use sources::Sources;
pub use views::{
    CheckRow, CheckView, ColumnShown, ComparisonView, DriftView, EvaluationView, ExplainView,
    FairnessView, ModelPage, MonitorChartShown, MonitorChunkColumns, MonitorDefaults, MonitorView,
    PolicySummary, ProfileView, RunChartView, RunComparisonView, RunGroups, RunsView,
    SensitiveShown, StatisticShown, alert_measure, dataset_columns, metric_texts, shown_columns,
    shown_fairness, shown_metrics, shown_statistic, stored_drift,
};
