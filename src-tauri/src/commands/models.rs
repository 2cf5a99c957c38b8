//! The model registry: list, a version's page, register, aliases, evaluate.

use lathe_core::api::requests::given;
use lathe_core::api::{EvaluationView, ModelPage, RegisterRequest};
use lathe_core::job::Job;
use lathe_core::model::eval::Evaluation;
use lathe_core::model::registry::{self, ModelSummary, ModelVersion, Registered};
use tauri::State;
use tauri::ipc::Channel;

use super::{blocking, on_project, parse_path, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

/// Every registered model with its versions and aliases.
#[tauri::command]
pub async fn list_models(state: State<'_, AppState>) -> Result<Vec<ModelSummary>, IpcError> {
    on_project(&state, registry::list).await
}

/// One version (`NAME[@VERSION|@ALIAS]`) with its stored evaluations.
#[tauri::command]
pub async fn model_page(
    reference: String,
    state: State<'_, AppState>,
) -> Result<ModelPage, IpcError> {
    on_project(&state, move |p| ModelPage::load(p, &reference)).await
}

/// Registers an ONNX file (picked in a dialog or typed) as the next version of a model.
#[tauri::command]
pub async fn register_model(
    path: String,
    request: RegisterRequest,
    state: State<'_, AppState>,
) -> Result<Registered, IpcError> {
    let file = parse_path(&path)?;
    on_project(&state, move |p| {
        registry::register(p, &file, &request.into_options(p)?, &Job::silent())
    })
    .await
}

/// Points `alias` at `NAME@VERSION` (moving it when it pointed elsewhere).
#[tauri::command]
pub async fn set_model_alias(
    reference: String,
    alias: String,
    state: State<'_, AppState>,
) -> Result<ModelVersion, IpcError> {
    on_project(&state, move |p| {
        registry::set_alias(p, &reference, alias.trim())
    })
    .await
}

/// Evaluates a version on a stored dataset version (stored with the version), streaming
/// progress; returns the evaluation with its charts.
#[tauri::command]
pub async fn evaluate_model(
    reference: String,
    data: String,
    target: Option<String>,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<EvaluationView, IpcError> {
    let target = given(target);
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        EvaluationView::new(registry::evaluate_stored(
            p,
            &reference,
            &data,
            target.as_deref(),
            None,
            job,
        )?)
    })
    .await
}

/// A stored evaluation with its charts drawn, for the Evaluate page.
#[tauri::command]
pub async fn evaluation_charts(evaluation: Evaluation) -> Result<EvaluationView, IpcError> {
    blocking(move || EvaluationView::new(evaluation)).await
}
