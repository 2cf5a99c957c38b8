//! Data drift between two stored versions: run, what-if, a column's chart, the HTML report.

use lathe_core::api::{DriftRequest, DriftView, stored_drift};
use lathe_core::chart::Figure;
use lathe_core::drift::{self, StoredDrift};
use tauri::State;
use tauri::ipc::Channel;

use super::{on_project, parse_path, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

/// Compares two stored dataset versions (`NAME[@VERSION]`), streaming progress, and stores the
/// result in the project.
#[tauri::command]
pub async fn run_drift(
    reference: String,
    current_data: String,
    request: DriftRequest,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<DriftView, IpcError> {
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        DriftView::compare_stored(p, &reference, &current_data, &request.into_options()?, job)
    })
    .await
}

/// A stored drift result, with every column's threshold set to `threshold` when given: the
/// what-if slider. Nothing is stored.
#[tauri::command]
pub async fn drift_what_if(
    id: i64,
    threshold: Option<f64>,
    state: State<'_, AppState>,
) -> Result<DriftView, IpcError> {
    on_project(&state, move |p| DriftView::stored(p, id, threshold)).await
}

/// One column's reference and current distributions as SVG.
#[tauri::command]
pub async fn drift_column_chart(
    id: i64,
    column: String,
    state: State<'_, AppState>,
) -> Result<String, IpcError> {
    on_project(&state, move |p| {
        drift::chart::distribution(&stored_drift(p, id, None)?, &column)?.svg()
    })
    .await
}

/// Writes a stored drift result (at the what-if threshold when given) as the HTML report.
#[tauri::command]
pub async fn export_drift_report(
    id: i64,
    threshold: Option<f64>,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    let out = parse_path(&path)?;
    on_project(&state, move |p| {
        drift::html::write(&stored_drift(p, id, threshold)?, &out)
    })
    .await
}

/// The drift results stored in the project, newest first.
#[tauri::command]
pub async fn list_drift(state: State<'_, AppState>) -> Result<Vec<StoredDrift>, IpcError> {
    on_project(&state, drift::list).await
}
