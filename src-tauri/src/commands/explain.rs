//! Explanations and fairness of a model version on a stored dataset version.

use lathe_core::api::requests::given;
use lathe_core::api::{ExplainView, FairnessView};
use lathe_core::explain::{self, Explanation, Request as ExplainRequest};
use lathe_core::fairness;
use tauri::State;
use tauri::ipc::Channel;

use super::{blocking, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

/// Explains a version on a stored dataset version, or reopens the stored result for the same
/// settings, streaming progress (`cancel_task(task_id)` stops it with nothing stored).
#[tauri::command]
pub async fn explain_model(
    reference: String,
    data: String,
    request: ExplainRequest,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ExplainView, IpcError> {
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        ExplainView::new(explain::store::explain_stored(
            p, &reference, &data, None, &request, None, job,
        )?)
    })
    .await
}

/// One SHAP chart for a picked row (`waterfall`, by index into the explained rows) or feature
/// (`dependence`).
#[tauri::command]
pub async fn shap_chart(
    explanation: Explanation,
    chart: String,
    row: Option<usize>,
    feature: Option<String>,
) -> Result<String, IpcError> {
    blocking(move || explain::chart::shap_chart_svg(&explanation, &chart, row, feature.as_deref()))
        .await
}

/// Fairness of a version's predictions on a stored dataset version per sensitive column (and
/// their intersections), stored with the version.
#[tauri::command]
pub async fn model_fairness(
    reference: String,
    data: String,
    target: Option<String>,
    sensitive: Vec<String>,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<FairnessView, IpcError> {
    let target = given(target);
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        FairnessView::new(fairness::store::fairness_stored(
            p,
            &reference,
            &data,
            target.as_deref(),
            &sensitive,
            None,
            job,
        )?)
    })
    .await
}
