//! The `#[tauri::command]` adapters. Pattern for every view: take plain arguments, run the core
//! call with `blocking` on tokio's blocking pool, stream progress through a
//! `Channel<TaskEvent>` when the work is long, and return the core's report or an [`IpcError`].

use std::path::PathBuf;

use lathe_core::Project;
use lathe_core::audit::Actor;
use lathe_core::dataset::{self, DatasetSummary, ImportOutcome, Profile, ReadOptions};
use lathe_core::job::{CancelToken, Job};
use lathe_core::project::OpenOptions;
use tauri::ipc::Channel;
use tauri::{State, Window};

use crate::ipc::{IpcError, ProjectOverview, RecentProject, TaskEvent};
use crate::{AppState, recent};

/// How many audit entries the overview shows.
const OVERVIEW_ACTIVITY: u64 = 20;

fn options() -> OpenOptions {
    OpenOptions {
        actor: Actor::current("desktop"),
        ..OpenOptions::default()
    }
}

/// Runs core work off the UI thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> lathe_core::Result<T> + Send + 'static,
) -> Result<T, IpcError> {
    match tauri::async_runtime::spawn_blocking(work).await {
        Ok(result) => result.map_err(IpcError::from),
        Err(join) => Err(IpcError::new(
            "internal",
            format!("the background task failed: {join}"),
        )),
    }
}

/// Runs long core work off the UI thread with a [`Job`] whose progress streams to `channel`.
async fn blocking_job<T: Send + 'static>(
    channel: Channel<TaskEvent>,
    work: impl FnOnce(&Job) -> lathe_core::Result<T> + Send + 'static,
) -> Result<T, IpcError> {
    blocking(move || {
        // A closed channel (the window went away) must not fail the work itself.
        let report = |p| {
            let _ = channel.send(TaskEvent::Progress(p));
        };
        work(&Job::new(&report, CancelToken::new()))
    })
    .await
}

fn overview_of(project: &Project) -> lathe_core::Result<ProjectOverview> {
    Ok(ProjectOverview {
        info: project.info()?,
        recent_activity: project.audit_log(Some(OVERVIEW_ACTIVITY))?,
    })
}

fn locked<T>(m: &std::sync::Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, IpcError> {
    m.lock().map_err(|_| {
        IpcError::new(
            "internal",
            "the app state was poisoned by an earlier failure; restart Lathe",
        )
    })
}

fn parse_path(path: &str) -> Result<PathBuf, IpcError> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(IpcError::new(
            "invalid_argument",
            "no path given; choose a folder or a file",
        ));
    }
    Ok(PathBuf::from(trimmed))
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

fn current(state: &AppState) -> Result<PathBuf, IpcError> {
    locked(&state.current_project)?
        .clone()
        .ok_or_else(|| IpcError::new("no_project", "no project is open; open or create one first"))
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
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let overview = blocking_job(on_progress, move |job| {
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
    let overview = blocking_job(on_progress, move |job| {
        overview_of(&lathe_core::demo::create(&root, options(), job)?)
    })
    .await?;
    show(&state, &window, overview)
}

#[tauri::command]
pub async fn project_overview(state: State<'_, AppState>) -> Result<ProjectOverview, IpcError> {
    let root = current(&state)?;
    blocking(move || overview_of(&Project::open_with(&root, options())?)).await
}

#[tauri::command]
pub async fn close_project(state: State<'_, AppState>, window: Window) -> Result<(), IpcError> {
    *locked(&state.current_project)? = None;
    let _ = window.set_title("Lathe");
    Ok(())
}

#[tauri::command]
pub async fn list_datasets(state: State<'_, AppState>) -> Result<Vec<DatasetSummary>, IpcError> {
    let root = current(&state)?;
    blocking(move || dataset::list(&Project::open_with(&root, options())?)).await
}

/// The stored profile of `reference` (`NAME` or `NAME@VERSION`).
#[tauri::command]
pub async fn dataset_profile(
    reference: String,
    state: State<'_, AppState>,
) -> Result<Profile, IpcError> {
    let root = current(&state)?;
    blocking(move || dataset::stored_profile(&Project::open_with(&root, options())?, &reference))
        .await
}

/// Imports a file into the current project, streaming progress.
#[tauri::command]
pub async fn import_dataset(
    path: String,
    name: Option<String>,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ImportOutcome, IpcError> {
    let root = current(&state)?;
    let file = parse_path(&path)?;
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    blocking_job(on_progress, move |job| {
        let project = Project::open_with(&root, options())?;
        dataset::import(
            &project,
            &file,
            name.as_deref(),
            &ReadOptions::default(),
            job,
        )
    })
    .await
}
