//! Datasets: list, import, profile, rows, version diff, charts, columns.

use lathe_core::api::{
    ChartRequest, ComparisonView, Input, ProfileView, RowsRequest, requests::given,
};
use lathe_core::dataset::browse::RowsPage;
use lathe_core::dataset::compare;
use lathe_core::dataset::{self, DatasetSummary, ImportOutcome, ReadOptions};
use lathe_core::remote;
use tauri::State;
use tauri::ipc::Channel;

use super::{export_figure, on_project, parse_path, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};
use lathe_core::chart::Figure;

#[tauri::command]
pub async fn list_datasets(state: State<'_, AppState>) -> Result<Vec<DatasetSummary>, IpcError> {
    on_project(&state, dataset::list).await
}

/// The stored profile of `reference` (`NAME` or `NAME@VERSION`), with its numbers as text.
#[tauri::command]
pub async fn dataset_profile(
    reference: String,
    state: State<'_, AppState>,
) -> Result<ProfileView, IpcError> {
    on_project(&state, move |p| {
        Ok(ProfileView::new(dataset::stored_profile(p, &reference)?))
    })
    .await
}

/// Imports a file, or the object at an `s3://`, `gs://`, `az://` or `https://` URL, into the
/// current project, streaming progress; `cancel_task(task_id)` stops it, leaving nothing behind.
#[tauri::command]
pub async fn import_dataset(
    path: String,
    name: Option<String>,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ImportOutcome, IpcError> {
    let file = parse_path(&path)?;
    let name = given(name);
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        let options = ReadOptions::default();
        match file.to_str().filter(|text| remote::is_url(text)) {
            Some(url) => dataset::import_url(p, url, name.as_deref(), &options, job),
            None => dataset::import(p, &file, name.as_deref(), &options, job),
        }
    })
    .await
}

/// A page of rows of `reference` (a stored version, or a Spark table's sample of its first
/// rows), sorted and filtered (through the app's one `Browser`, which keeps the last order, and
/// a Spark table's sample, so scrolling is cheap).
#[tauri::command]
pub async fn dataset_rows(
    reference: String,
    query: RowsRequest,
    state: State<'_, AppState>,
) -> Result<RowsPage, IpcError> {
    let browser = state.browser.clone();
    on_project(&state, move |p| {
        Ok(browser
            .page(&Input::app_table(p, &reference)?, &query.query())?
            .report())
    })
    .await
}

/// Compares two stored versions or datasets.
#[tauri::command]
pub async fn dataset_diff(
    a: String,
    b: String,
    state: State<'_, AppState>,
) -> Result<ComparisonView, IpcError> {
    on_project(&state, move |p| {
        Ok(ComparisonView::new(compare::compare(
            &dataset::stored_profile(p, &a)?,
            &dataset::stored_profile(p, &b)?,
        )))
    })
    .await
}

/// A chart of a stored version as an SVG document (drawn by lathe-core, as the CLI's).
#[tauri::command]
pub async fn dataset_chart(
    chart: ChartRequest,
    state: State<'_, AppState>,
) -> Result<String, IpcError> {
    let sources = state.sources.clone();
    on_project(&state, move |p| sources.chart(&chart, p)?.svg()).await
}

/// The profile of a table outside the project — `sc://HOST:PORT/?table=…` (computed by the
/// Spark cluster), a file or a URL — streaming progress; `cancel_task(task_id)` stops it.
/// Its charts are then drawn by `dataset_chart` with `source` as the reference.
#[tauri::command]
pub async fn source_profile(
    source: String,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ProfileView, IpcError> {
    let sources = state.sources.clone();
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        sources.profile(p, &source, job)
    })
    .await
}

/// Writes a chart to `path` as SVG, PNG or its data as CSV (by the extension).
#[tauri::command]
pub async fn export_chart(
    chart: ChartRequest,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    let sources = state.sources.clone();
    export_figure(&state, &path, move |p| sources.chart(&chart, p)).await
}

/// The columns of a stored dataset version, for pickers (sensitive columns, targets).
#[tauri::command]
pub async fn dataset_columns(
    reference: String,
    state: State<'_, AppState>,
) -> Result<Vec<String>, IpcError> {
    on_project(&state, move |p| {
        lathe_core::api::dataset_columns(p, &reference)
    })
    .await
}
