//! Monitoring a model version over time (estimated performance, multivariate drift).

use lathe_core::api::{MonitorDefaults, MonitorRequest, MonitorView};
use tauri::State;
use tauri::ipc::Channel;

use super::{on_project, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

/// Monitors `analysis` against `reference` (stored dataset versions) with the model version
/// `request.model`, streaming progress; returns the report with its charts (nothing is stored).
#[tauri::command]
pub async fn monitor_model(
    reference: String,
    analysis: String,
    request: MonitorRequest,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<MonitorView, IpcError> {
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        request.view(p, &reference, &analysis, job)
    })
    .await
}

/// What the Monitoring view of a version (`NAME[@VERSION|@ALIAS]`) starts with.
#[tauri::command]
pub async fn monitor_defaults(
    reference: String,
    state: State<'_, AppState>,
) -> Result<MonitorDefaults, IpcError> {
    on_project(&state, move |p| MonitorDefaults::for_model(p, &reference)).await
}
