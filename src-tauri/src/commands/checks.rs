//! Checks: a policy written in the app (or a file picked) run on a table, validated as it is
//! typed; the stored results.

use lathe_core::api::{CheckRequest, CheckView, PolicySummary};
use lathe_core::expect::{self, StoredCheck};
use tauri::State;
use tauri::ipc::Channel;

use super::{on_project, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

/// Reads the policy without running it: its summary, or the `bad_policy` error naming the line
/// or the key. The editor calls it as the user types.
#[tauri::command]
pub async fn validate_policy(
    request: CheckRequest,
    state: State<'_, AppState>,
) -> Result<PolicySummary, IpcError> {
    on_project(&state, move |_| Ok(PolicySummary::of(&request.policy()?))).await
}

/// Runs the policy on the open project's tables, streaming progress, and stores the result.
#[tauri::command]
pub async fn run_check(
    request: CheckRequest,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<CheckView, IpcError> {
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        let outcome = request.run(Some(p), job)?;
        let id = expect::save(p, outcome.data.as_ref(), &outcome.validation)?;
        CheckView::stored(p, id)
    })
    .await
}

/// The stored check results, newest first; of one dataset's versions when `dataset` is given.
#[tauri::command]
pub async fn list_checks(
    dataset: Option<String>,
    state: State<'_, AppState>,
) -> Result<Vec<StoredCheck>, IpcError> {
    on_project(&state, move |p| expect::list(p, dataset.as_deref())).await
}

/// A stored check result.
#[tauri::command]
pub async fn stored_check(id: i64, state: State<'_, AppState>) -> Result<CheckView, IpcError> {
    on_project(&state, move |p| CheckView::stored(p, id)).await
}
