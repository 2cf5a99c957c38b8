//! Experiment runs: import (and watch), sources, the run table, groups, compare, charts.

use lathe_core::api::{
    GroupRunsRequest, RunChartRequest, RunChartView, RunComparisonView, RunGroups, RunsPlotRequest,
    RunsReportRequest, RunsRequest, RunsView,
};
use lathe_core::chart::Figure;
use lathe_core::job::Job;
use lathe_core::runs::importance::{HyperparameterImportance, ImportanceRequest};
use lathe_core::runs::{self, ImportSummary, RunSource};
use tauri::State;
use tauri::ipc::Channel;

use super::{export_figure, on_project, parse_path, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

/// Imports (or re-imports, adding only what is new) an MLflow store, a tracking server (only
/// `experiments`, by name or id, when some are given) or a run log, streaming progress;
/// `cancel_task(task_id)` stops it with nothing changed.
#[tauri::command]
pub async fn import_runs(
    path: String,
    experiments: Vec<String>,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ImportSummary, IpcError> {
    let source = parse_path(&path)?;
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        runs::import_from(p, &source, &experiments, runs::Read::Changes, job)
    })
    .await
}

/// Syncs an imported source now (its Sync now button), as it was imported, streaming progress:
/// a tracking server whole, seeing what a watch's read of changes does not (a tag set on a
/// finished run).
#[tauri::command]
pub async fn sync_runs(
    path: String,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ImportSummary, IpcError> {
    parse_path(&path)?;
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        runs::sync(p, &path, runs::Read::Everything, job)
    })
    .await
}

/// Syncs a source the user watches, silently, every few seconds: a tracking server by its
/// changes since the last read.
#[tauri::command]
pub async fn refresh_runs(
    path: String,
    state: State<'_, AppState>,
) -> Result<ImportSummary, IpcError> {
    parse_path(&path)?;
    on_project(&state, move |p| {
        runs::sync(p, &path, runs::Read::Changes, &Job::silent())
    })
    .await
}

/// Every imported run source.
#[tauri::command]
pub async fn run_sources(state: State<'_, AppState>) -> Result<Vec<RunSource>, IpcError> {
    on_project(&state, runs::sources).await
}

/// A page of runs (through the app's one `RunBrowser`, which keeps the loaded runs and the
/// last order between pages).
#[tauri::command]
pub async fn list_runs(
    query: RunsRequest,
    state: State<'_, AppState>,
) -> Result<RunsView, IpcError> {
    let browser = state.runs.clone();
    on_project(&state, move |p| {
        Ok(RunsView::new(browser.page(p, &query.query())?))
    })
    .await
}

/// The runs a filter matches, grouped, as `lathe runs list --group-by`.
#[tauri::command]
pub async fn group_runs(
    query: GroupRunsRequest,
    state: State<'_, AppState>,
) -> Result<RunGroups, IpcError> {
    on_project(&state, move |p| query.run(p)).await
}

/// Selected runs side by side: differing params, metric summaries.
#[tauri::command]
pub async fn compare_runs(
    runs: Vec<i64>,
    state: State<'_, AppState>,
) -> Result<RunComparisonView, IpcError> {
    on_project(&state, move |p| {
        Ok(RunComparisonView::new(runs::compare(p, &runs)?))
    })
    .await
}

/// Overlaid metric histories as SVG, with what a zoom by dragging needs.
#[tauri::command]
pub async fn runs_chart(
    spec: RunChartRequest,
    state: State<'_, AppState>,
) -> Result<RunChartView, IpcError> {
    on_project(&state, move |p| RunChartView::new(&spec.chart(p)?)).await
}

/// Writes a run chart as SVG, PNG, or its data as CSV.
#[tauri::command]
pub async fn export_runs_chart(
    spec: RunChartRequest,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    export_figure(&state, &path, move |p| spec.chart(p)).await
}

/// A scatter or parallel-coordinates plot of runs as SVG.
#[tauri::command]
pub async fn runs_plot(
    spec: RunsPlotRequest,
    state: State<'_, AppState>,
) -> Result<String, IpcError> {
    on_project(&state, move |p| spec.plot(p)?.svg()).await
}

/// Writes a scatter or parallel-coordinates plot as SVG, PNG, or its values as CSV.
#[tauri::command]
pub async fn export_runs_plot(
    spec: RunsPlotRequest,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    export_figure(&state, &path, move |p| spec.plot(p)).await
}

/// Writes the comparison of runs as one self-contained HTML page (`lathe runs report`).
#[tauri::command]
pub async fn export_runs_report(
    request: RunsReportRequest,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    let out = parse_path(&path)?;
    on_project(&state, move |p| request.write(p, &out).map(|_| ())).await
}

/// Which params matter for a metric over the given runs (PED-ANOVA, as `lathe runs importance`).
#[tauri::command]
pub async fn runs_importance(
    request: ImportanceRequest,
    state: State<'_, AppState>,
) -> Result<HyperparameterImportance, IpcError> {
    on_project(&state, move |p| runs::importance::importance(p, &request)).await
}
