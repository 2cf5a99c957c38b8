//! Projects: open, create, the demo, the overview; and cancelling a running task.

use std::path::PathBuf;

use lathe_core::Project;
use lathe_core::job::CancelToken;
use tauri::ipc::Channel;
use tauri::{State, Window};

use super::{blocking, blocking_job, locked, on_project, options, parse_path};
use crate::ipc::{IpcError, ProjectOverview, RecentProject, TaskEvent};
use crate::{AppState, recent};

/// How many audit entries the overview shows.
const OVERVIEW_ACTIVITY: u64 = 20;

fn overview_of(project: &Project) -> lathe_core::Result<ProjectOverview> {
    Ok(ProjectOverview {
        info: project.info()?,
        recent_activity: project.audit_log(Some(OVERVIEW_ACTIVITY))?,
    })
}

/// Makes the project of `overview` the current one (window title, recent list) and returns it.
fn show(
    state: &AppState,
    window: &Window,
    overview: ProjectOverview,
) -> Result<ProjectOverview, IpcError> {
    let root = PathBuf::from(&overview.info.path);
    let name = &overview.info.name;
    // The title and the recent list are conveniences: failing to update them fails nothing.
    let _ = window.set_title(&format!("{name} — Lathe"));
    if let Some(dir) = locked(&state.config_dir)?.as_deref() {
        let _ = recent::remember(dir, &root, name);
    }
    *locked(&state.current_project)? = Some(root);
    Ok(overview)
}

async fn open_and_show(
    path: PathBuf,
    state: &AppState,
    window: &Window,
) -> Result<ProjectOverview, IpcError> {
    let overview = blocking(move || overview_of(&Project::open_with(&path, options())?)).await?;
    show(state, window, overview)
}

/// The project named on the command line, if any (only on the first call).
#[tauri::command]
pub async fn startup_project(
    state: State<'_, AppState>,
    window: Window,
) -> Result<Option<ProjectOverview>, IpcError> {
    let Some(path) = locked(&state.startup_project)?.take() else {
        return Ok(None);
    };
    open_and_show(path, &state, &window).await.map(Some)
}

#[tauri::command]
pub async fn recent_projects(state: State<'_, AppState>) -> Result<Vec<RecentProject>, IpcError> {
    let dir = locked(&state.config_dir)?.clone();
    Ok(dir.map(|d| recent::load(&d)).unwrap_or_default())
}

#[tauri::command]
pub async fn open_project(
    path: String,
    state: State<'_, AppState>,
    window: Window,
) -> Result<ProjectOverview, IpcError> {
    open_and_show(parse_path(&path)?, &state, &window).await
}

#[tauri::command]
pub async fn create_project(
    path: String,
    name: Option<String>,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
    window: Window,
) -> Result<ProjectOverview, IpcError> {
    let root = parse_path(&path)?;
    let name = lathe_core::api::requests::given(name);
    let overview = blocking_job(on_progress, CancelToken::new(), move |job| {
        job.progress("creating project", 0, Some(1));
        let project = Project::create(&root, name.as_deref(), options())?;
        job.progress("creating project", 1, Some(1));
        overview_of(&project)
    })
    .await?;
    show(&state, &window, overview)
}

#[tauri::command]
pub async fn create_demo_project(
    path: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
    window: Window,
) -> Result<ProjectOverview, IpcError> {
    let root = parse_path(&path)?;
    let overview = blocking_job(on_progress, CancelToken::new(), move |job| {
        overview_of(&lathe_core::demo::create(&root, options(), job)?)
    })
    .await?;
    show(&state, &window, overview)
}

#[tauri::command]
pub async fn project_overview(state: State<'_, AppState>) -> Result<ProjectOverview, IpcError> {
    on_project(&state, overview_of).await
}

#[tauri::command]
pub async fn close_project(state: State<'_, AppState>, window: Window) -> Result<(), IpcError> {
    *locked(&state.current_project)? = None;
    let _ = window.set_title("Lathe");
    Ok(())
}

/// Asks the running task `task_id` to stop; unknown (finished) tasks are ignored.
#[tauri::command]
pub async fn cancel_task(task_id: String, state: State<'_, AppState>) -> Result<(), IpcError> {
    if let Some(token) = locked(&state.tasks)?.get(&task_id) {
        token.cancel();
    }
    Ok(())
}
