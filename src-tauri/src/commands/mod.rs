//! The `#[tauri::command]` adapters. Pattern for every view: take plain arguments, run the core
//! call with `blocking` on tokio's blocking pool, stream progress through a
//! `Channel<TaskEvent>` when the work is long, and return the core's report or an [`IpcError`].

use std::path::PathBuf;

use lathe_core::Project;
use lathe_core::audit::Actor;
use lathe_core::bundle::{self, BundleRecord, ExportOptions, Exported};
use lathe_core::chart::{self, Figure};
use lathe_core::dataset::browse::{RowsPage, RowsQuery, SortKey, TableSource};
use lathe_core::dataset::compare::{self, Comparison};
use lathe_core::dataset::{self, DatasetSummary, ImportOutcome, Profile, ReadOptions};
use lathe_core::drift::{self, DriftOptions, DriftReport, Method, StoredDrift};
use lathe_core::explain::{self, Explanation, Request as ExplainRequest};
use lathe_core::fairness;
use lathe_core::job::{CancelToken, Job};
use lathe_core::model::chart as model_chart;
use lathe_core::model::eval::{Evaluation, Task as ModelTask};
use lathe_core::model::registry::{self, ModelSummary, ModelVersion, RegisterOptions, Registered};
use lathe_core::project::OpenOptions;
use lathe_core::runs::chart::{
    LineOptions, RunChart, RunsPlot, XAxis, line_chart, parallel_chart, scatter_chart,
};
use lathe_core::runs::{self, ImportSummary, RunComparison, RunQuery, RunSource, RunsPage};
use tauri::ipc::Channel;
use tauri::{State, Window};

use crate::ipc::{
    BundleExportRequest, DriftRequest, DriftView, EvaluationView, ExplainView, FairnessView,
    IpcError, ModelPage, ProjectOverview, RecentProject, RegisterRequest, RunChartView, RunGroups,
    TaskEvent,
};
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

/// A text field as given: trimmed, and `None` when blank.
fn given(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Runs long core work off the UI thread with a [`Job`] whose progress streams to `channel`
/// and which stops when `cancel` is set.
async fn blocking_job<T: Send + 'static>(
    channel: Channel<TaskEvent>,
    cancel: CancelToken,
    work: impl FnOnce(&Job) -> lathe_core::Result<T> + Send + 'static,
) -> Result<T, IpcError> {
    blocking(move || {
        // A closed channel (the window went away) must not fail the work itself.
        let report = |p| {
            let _ = channel.send(TaskEvent::Progress(p));
        };
        work(&Job::new(&report, cancel))
    })
    .await
}

/// Registers a cancellable task under the front end's id until the guard drops.
struct Task<'a> {
    state: &'a AppState,
    id: String,
}

impl<'a> Task<'a> {
    fn start(state: &'a AppState, id: &str) -> Result<(Task<'a>, CancelToken), IpcError> {
        let token = CancelToken::new();
        locked(&state.tasks)?.insert(id.to_owned(), token.clone());
        Ok((
            Task {
                state,
                id: id.to_owned(),
            },
            token,
        ))
    }
}

impl Drop for Task<'_> {
    fn drop(&mut self) {
        if let Ok(mut tasks) = self.state.tasks.lock() {
            tasks.remove(&self.id);
        }
    }
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
    let name = given(name);
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

/// Imports a file into the current project, streaming progress; `cancel_task(task_id)` stops
/// it, leaving nothing behind.
#[tauri::command]
pub async fn import_dataset(
    path: String,
    name: Option<String>,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ImportOutcome, IpcError> {
    let root = current(&state)?;
    let file = parse_path(&path)?;
    let name = given(name);
    let (_task, cancel) = Task::start(&state, &task_id)?;
    blocking_job(on_progress, cancel, move |job| {
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

/// Asks the running task `task_id` to stop; unknown (finished) tasks are ignored.
#[tauri::command]
pub async fn cancel_task(task_id: String, state: State<'_, AppState>) -> Result<(), IpcError> {
    if let Some(token) = locked(&state.tasks)?.get(&task_id) {
        token.cancel();
    }
    Ok(())
}

/// A page of rows of `reference`, sorted (`COLUMN` or `COLUMN:desc`) and filtered.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn dataset_rows(
    reference: String,
    offset: u64,
    limit: u64,
    sort: Option<String>,
    filter: Option<String>,
    columns: Option<Vec<String>>,
    state: State<'_, AppState>,
) -> Result<RowsPage, IpcError> {
    let root = current(&state)?;
    let browser = state.browser.clone();
    let filter = given(filter);
    blocking(move || {
        let source = TableSource::stored(&Project::open_with(&root, options())?, &reference)?;
        let query = RowsQuery {
            offset,
            limit,
            sort: sort.as_deref().map(SortKey::parse),
            filter,
            columns,
        };
        Ok(browser.page(&source, &query)?.report())
    })
    .await
}

/// Compares two stored versions or datasets.
#[tauri::command]
pub async fn dataset_diff(
    a: String,
    b: String,
    state: State<'_, AppState>,
) -> Result<Comparison, IpcError> {
    let root = current(&state)?;
    blocking(move || {
        let project = Project::open_with(&root, options())?;
        Ok(compare::compare(
            &dataset::stored_profile(&project, &a)?,
            &dataset::stored_profile(&project, &b)?,
        ))
    })
    .await
}

fn chart_of(
    root: &std::path::Path,
    reference: &str,
    column: Option<&str>,
    kind: Option<&str>,
) -> lathe_core::Result<chart::Chart> {
    let profile = dataset::stored_profile(&Project::open_with(root, options())?, reference)?;
    let kind = kind.map(chart::Kind::parse).transpose()?;
    chart::chart(&profile, kind, column)
}

/// A chart of a stored version as an SVG document (drawn by lathe-core, as the CLI's).
#[tauri::command]
pub async fn dataset_chart(
    reference: String,
    column: Option<String>,
    kind: Option<String>,
    state: State<'_, AppState>,
) -> Result<String, IpcError> {
    let root = current(&state)?;
    blocking(move || chart_of(&root, &reference, column.as_deref(), kind.as_deref())?.svg()).await
}

/// Writes a chart to `path` as SVG, PNG or its data as CSV (by the extension).
#[tauri::command]
pub async fn export_chart(
    reference: String,
    column: Option<String>,
    kind: Option<String>,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    let root = current(&state)?;
    let out = parse_path(&path)?;
    blocking(move || {
        chart::export(&out, || {
            chart_of(&root, &reference, column.as_deref(), kind.as_deref())
        })
        .map(drop)
    })
    .await
}

/// Imports (or re-imports, adding only what is new) an MLflow store or run log, streaming
/// progress; `cancel_task(task_id)` stops it with nothing changed.
#[tauri::command]
pub async fn import_runs(
    path: String,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<ImportSummary, IpcError> {
    let root = current(&state)?;
    let source = parse_path(&path)?;
    let (_task, cancel) = Task::start(&state, &task_id)?;
    blocking_job(on_progress, cancel, move |job| {
        runs::import(&Project::open_with(&root, options())?, &source, job)
    })
    .await
}

/// Re-imports a source the user watches: the same as `import_runs`, silently, every few seconds.
#[tauri::command]
pub async fn refresh_runs(
    path: String,
    state: State<'_, AppState>,
) -> Result<ImportSummary, IpcError> {
    let root = current(&state)?;
    let source = parse_path(&path)?;
    blocking(move || {
        runs::import(
            &Project::open_with(&root, options())?,
            &source,
            &Job::silent(),
        )
    })
    .await
}

/// Every imported run source.
#[tauri::command]
pub async fn run_sources(state: State<'_, AppState>) -> Result<Vec<RunSource>, IpcError> {
    let root = current(&state)?;
    blocking(move || runs::sources(&Project::open_with(&root, options())?)).await
}

/// A page of runs, filtered (MLflow filter strings plus `or`, `~`) and sorted.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn list_runs(
    filter: Option<String>,
    sort: Option<String>,
    experiment: Option<String>,
    include_deleted: bool,
    offset: u64,
    limit: u64,
    state: State<'_, AppState>,
) -> Result<RunsPage, IpcError> {
    let root = current(&state)?;
    let browser = state.runs.clone();
    let query = RunQuery {
        experiment: given(experiment),
        filter: given(filter),
        sort: given(sort),
        include_deleted,
        offset: offset as usize,
        limit: Some(limit as usize),
    };
    blocking(move || browser.page(&Project::open_with(&root, options())?, &query)).await
}

/// The runs a filter matches, grouped by a param, tag or attribute (`params.optimizer`,
/// `attributes.experiment`): each group's run count and the mean, min and max of each metric's
/// value, as `lathe runs list --group-by`. `values` names, per metric, `min` or `max` in place
/// of the last value (the run table's choice per column). At most `limit` groups, the first in
/// the values' order.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn group_runs(
    filter: Option<String>,
    experiment: Option<String>,
    include_deleted: bool,
    by: String,
    values: std::collections::HashMap<String, String>,
    limit: u64,
    state: State<'_, AppState>,
) -> Result<RunGroups, IpcError> {
    let root = current(&state)?;
    let values = values
        .into_iter()
        .map(|(k, v)| Ok((k, v.parse::<runs::Agg>()?)))
        .collect::<lathe_core::Result<std::collections::HashMap<_, _>>>()?;
    let query = RunQuery {
        experiment: given(experiment),
        filter: given(filter),
        sort: None,
        include_deleted,
        offset: 0,
        limit: None,
    };
    blocking(move || {
        let page = runs::list(&Project::open_with(&root, options())?, &query)?;
        let mut groups = runs::group(&page.runs, &by, |k| {
            values.get(k).copied().unwrap_or_default()
        })?;
        let total = groups.len() as u64;
        groups.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(RunGroups { total, groups })
    })
    .await
}

/// Selected runs side by side: differing params, metric summaries.
#[tauri::command]
pub async fn compare_runs(
    runs: Vec<i64>,
    state: State<'_, AppState>,
) -> Result<RunComparison, IpcError> {
    let root = current(&state)?;
    blocking(move || runs::compare(&Project::open_with(&root, options())?, &runs)).await
}

/// What the front end asks a run chart to be.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunChartSpec {
    pub runs: Vec<i64>,
    pub metric: String,
    pub x: String,
    pub smooth: Option<f64>,
    pub group_by: Option<String>,
    pub x_range: Option<(f64, f64)>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

fn run_chart_of(root: &std::path::Path, spec: &RunChartSpec) -> lathe_core::Result<RunChart> {
    let line = LineOptions {
        metric: spec.metric.clone(),
        x: XAxis::parse(&spec.x)?,
        smooth: spec.smooth.filter(|s| *s > 0.0),
        group_by: spec.group_by.clone().filter(|g| !g.is_empty()),
        x_range: spec.x_range,
        size: (
            spec.width.unwrap_or(900).clamp(320, 4000),
            spec.height.unwrap_or(420).clamp(200, 3000),
        ),
    };
    line_chart(&Project::open_with(root, options())?, &spec.runs, &line)
}

/// Overlaid metric histories as SVG, with what a zoom by dragging needs.
#[tauri::command]
pub async fn runs_chart(
    spec: RunChartSpec,
    state: State<'_, AppState>,
) -> Result<RunChartView, IpcError> {
    let root = current(&state)?;
    blocking(move || {
        let chart = run_chart_of(&root, &spec)?;
        let (left, right) = chart.plot_pixels();
        Ok(RunChartView {
            svg: chart.svg()?,
            title: chart.title.clone(),
            x_range: chart.x_range(),
            plot_left: left,
            plot_right: right,
            width: chart.size().0,
            points: chart.points_in,
            points_drawn: chart.points_drawn,
        })
    })
    .await
}

/// Writes a run chart as SVG, PNG, or its data as CSV.
#[tauri::command]
pub async fn export_runs_chart(
    spec: RunChartSpec,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    let root = current(&state)?;
    let out = parse_path(&path)?;
    blocking(move || chart::export(&out, || run_chart_of(&root, &spec)).map(drop)).await
}

/// A param against a metric (`kind` "scatter") or parallel coordinates ("parallel") of runs.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunsPlotSpec {
    pub runs: Vec<i64>,
    pub kind: String,
    pub param: Option<String>,
    pub metric: String,
}

fn runs_plot_of(root: &std::path::Path, spec: &RunsPlotSpec) -> lathe_core::Result<RunsPlot> {
    let project = Project::open_with(root, options())?;
    match (spec.kind.as_str(), spec.param.as_deref()) {
        ("scatter", Some(param)) => scatter_chart(&project, &spec.runs, param, &spec.metric),
        ("parallel", _) => parallel_chart(&project, &spec.runs, &[], &spec.metric),
        _ => Err(lathe_core::Error::BadArgument {
            argument: "plot",
            detail: "a scatter needs a param; the kinds are scatter and parallel".to_owned(),
        }),
    }
}

/// A scatter or parallel-coordinates plot of runs as SVG.
#[tauri::command]
pub async fn runs_plot(spec: RunsPlotSpec, state: State<'_, AppState>) -> Result<String, IpcError> {
    let root = current(&state)?;
    blocking(move || runs_plot_of(&root, &spec)?.svg()).await
}

/// Writes a scatter or parallel-coordinates plot as SVG, PNG, or its values as CSV.
#[tauri::command]
pub async fn export_runs_plot(
    spec: RunsPlotSpec,
    path: String,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    let root = current(&state)?;
    let out = parse_path(&path)?;
    blocking(move || chart::export(&out, || runs_plot_of(&root, &spec)).map(drop)).await
}

fn drift_view(id: i64, report: DriftReport) -> lathe_core::Result<DriftView> {
    let scores_svg = drift::chart::scores(&report).svg()?;
    let over_time_svg = match report.windows {
        Some(_) => Some(drift::chart::over_time(&report, None)?.svg()?),
        None => None,
    };
    Ok(DriftView {
        id,
        report,
        scores_svg,
        over_time_svg,
    })
}

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
    let root = current(&state)?;
    let (_task, cancel) = Task::start(&state, &task_id)?;
    blocking_job(on_progress, cancel, move |job| {
        let drift_options = DriftOptions {
            columns: request.columns.filter(|c| !c.is_empty()),
            method: given(request.method)
                .as_deref()
                .map(Method::parse)
                .transpose()?,
            threshold: request.threshold,
            drift_share: request.drift_share.unwrap_or(0.5),
            time_column: given(request.time_column),
            window: given(request.window)
                .as_deref()
                .map(drift::Window::parse)
                .transpose()?,
            ..Default::default()
        };
        let project = Project::open_with(&root, options())?;
        let report = drift::compare(
            &TableSource::stored(&project, &reference)?,
            &TableSource::stored(&project, &current_data)?,
            &drift_options,
            job,
        )?;
        let id = drift::save(&project, &report)?;
        drift_view(id, report)
    })
    .await
}

fn stored_drift(
    root: &std::path::Path,
    id: i64,
    threshold: Option<f64>,
) -> lathe_core::Result<DriftReport> {
    let report = drift::load(&Project::open_with(root, options())?, id)?;
    Ok(match threshold {
        Some(t) => report.with_threshold(t),
        None => report,
    })
}

/// A stored drift result, with every column's threshold set to `threshold` when given: the
/// what-if slider. Nothing is stored.
#[tauri::command]
pub async fn drift_what_if(
    id: i64,
    threshold: Option<f64>,
    state: State<'_, AppState>,
) -> Result<DriftView, IpcError> {
    let root = current(&state)?;
    blocking(move || drift_view(id, stored_drift(&root, id, threshold)?)).await
}

/// One column's reference and current distributions as SVG.
#[tauri::command]
pub async fn drift_column_chart(
    id: i64,
    column: String,
    state: State<'_, AppState>,
) -> Result<String, IpcError> {
    let root = current(&state)?;
    blocking(move || drift::chart::distribution(&stored_drift(&root, id, None)?, &column)?.svg())
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
    let root = current(&state)?;
    let out = parse_path(&path)?;
    blocking(move || drift::html::write(&stored_drift(&root, id, threshold)?, &out)).await
}

/// The drift results stored in the project, newest first.
#[tauri::command]
pub async fn list_drift(state: State<'_, AppState>) -> Result<Vec<StoredDrift>, IpcError> {
    let root = current(&state)?;
    blocking(move || drift::list(&Project::open_with(&root, options())?)).await
}

/// Every registered model with its versions and aliases.
#[tauri::command]
pub async fn list_models(state: State<'_, AppState>) -> Result<Vec<ModelSummary>, IpcError> {
    let root = current(&state)?;
    blocking(move || registry::list(&Project::open_with(&root, options())?)).await
}

/// One version (`NAME[@VERSION|@ALIAS]`) with its stored evaluations.
#[tauri::command]
pub async fn model_page(
    reference: String,
    state: State<'_, AppState>,
) -> Result<ModelPage, IpcError> {
    let root = current(&state)?;
    blocking(move || {
        let project = Project::open_with(&root, options())?;
        let version = registry::show(&project, &reference)?;
        let evaluations = registry::evaluations(&project, &version.reference())?;
        Ok(ModelPage {
            version,
            evaluations,
        })
    })
    .await
}

/// Registers an ONNX file (picked in a dialog or typed) as the next version of a model.
#[tauri::command]
pub async fn register_model(
    path: String,
    request: RegisterRequest,
    state: State<'_, AppState>,
) -> Result<Registered, IpcError> {
    let root = current(&state)?;
    let file = parse_path(&path)?;
    blocking(move || {
        let register = RegisterOptions {
            name: request.name.trim().to_owned(),
            run: given(request.run),
            dataset: given(request.dataset),
            target: given(request.target),
            task: given(request.task)
                .as_deref()
                .map(ModelTask::parse)
                .transpose()?,
            features: given(request.features)
                .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect()),
        };
        registry::register(
            &Project::open_with(&root, options())?,
            &file,
            &register,
            &Job::silent(),
        )
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
    let root = current(&state)?;
    blocking(move || {
        registry::set_alias(
            &Project::open_with(&root, options())?,
            &reference,
            alias.trim(),
        )
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
    let root = current(&state)?;
    let (_task, cancel) = Task::start(&state, &task_id)?;
    blocking_job(on_progress, cancel, move |job| {
        let project = Project::open_with(&root, options())?;
        let target = given(target);
        let evaluation =
            registry::evaluate_stored(&project, &reference, &data, target.as_deref(), job)?;
        evaluation_view(evaluation)
    })
    .await
}

/// A stored evaluation with its charts drawn, for the Evaluate page.
#[tauri::command]
pub async fn evaluation_charts(evaluation: Evaluation) -> Result<EvaluationView, IpcError> {
    blocking(move || evaluation_view(evaluation)).await
}

fn evaluation_view(evaluation: Evaluation) -> lathe_core::Result<EvaluationView> {
    let charts = model_chart::available(&evaluation)
        .into_iter()
        .map(|name| {
            Ok((
                name.to_owned(),
                model_chart::chart(&evaluation, name)?.svg()?,
            ))
        })
        .collect::<lathe_core::Result<Vec<_>>>()?;
    Ok(EvaluationView { evaluation, charts })
}

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
    let root = current(&state)?;
    let (_task, cancel) = Task::start(&state, &task_id)?;
    blocking_job(on_progress, cancel, move |job| {
        let project = Project::open_with(&root, options())?;
        let s = explain::store::explain_stored(&project, &reference, &data, None, &request, job)?;
        let charts = explain_charts(&s.result)?;
        Ok(ExplainView {
            id: s.id,
            model: s.model,
            data: s.data,
            seconds: s.seconds,
            reopened: s.reopened,
            explanation: s.result,
            charts,
        })
    })
    .await
}

fn explain_charts(e: &Explanation) -> lathe_core::Result<Vec<(String, String)>> {
    use lathe_core::explain::chart as c;
    let mut out = Vec::new();
    match e {
        Explanation::Shap(s) => {
            out.push(("bar".to_owned(), c::shap_bar(s).svg()?));
            out.push(("beeswarm".to_owned(), c::beeswarm(s).svg()?));
            if !s.values.is_empty() {
                out.push(("waterfall".to_owned(), c::waterfall(s, 0)?.svg()?));
            }
            if let Some((top, _)) = c::mean_abs(s).first() {
                out.push(("dependence".to_owned(), c::dependence(s, top)?.svg()?));
            }
        }
        Explanation::Permutation(p) => out.push(("importance".to_owned(), c::importance(p).svg()?)),
        Explanation::Lime(l) => {
            for i in 0..l.rows.len().min(5) {
                out.push((
                    format!("lime:{}", l.rows[i].row),
                    c::lime_chart(l, i)?.svg()?,
                ));
            }
        }
        Explanation::Pdp(d) => {
            for f in &d.features {
                out.push((
                    format!("pdp:{}", f.name),
                    c::pdp(f, &d.output.description).svg()?,
                ));
            }
        }
    }
    Ok(out)
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
    blocking(move || {
        use lathe_core::explain::chart as c;
        let Explanation::Shap(s) = &explanation else {
            return Err(lathe_core::Error::BadArgument {
                argument: "chart",
                detail: "only SHAP values have row and feature charts".to_owned(),
            });
        };
        match chart.as_str() {
            "waterfall" => c::waterfall(s, row.unwrap_or(0))?.svg(),
            "dependence" => c::dependence(s, feature.as_deref().unwrap_or_default())?.svg(),
            other => Err(lathe_core::Error::BadArgument {
                argument: "chart",
                detail: format!("{other:?} is not waterfall or dependence"),
            }),
        }
    })
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
    let root = current(&state)?;
    let (_task, cancel) = Task::start(&state, &task_id)?;
    blocking_job(on_progress, cancel, move |job| {
        let project = Project::open_with(&root, options())?;
        let target = given(target);
        let report = fairness::store::fairness_stored(
            &project,
            &reference,
            &data,
            target.as_deref(),
            &sensitive,
            job,
        )?;
        let charts = report
            .by_sensitive
            .iter()
            .map(|(name, r)| Ok((name.clone(), fairness::chart::groups_chart(name, r).svg()?)))
            .collect::<lathe_core::Result<Vec<_>>>()?;
        Ok(FairnessView { report, charts })
    })
    .await
}

/// The columns of a stored dataset version, for pickers (sensitive columns, targets).
#[tauri::command]
pub async fn dataset_columns(
    reference: String,
    state: State<'_, AppState>,
) -> Result<Vec<String>, IpcError> {
    let root = current(&state)?;
    blocking(move || {
        let project = Project::open_with(&root, options())?;
        let profile = dataset::stored_profile(&project, &reference)?;
        Ok(profile.columns.iter().map(|c| c.name.clone()).collect())
    })
    .await
}

/// Exports a model version as a deployment bundle, streaming progress.
#[tauri::command]
pub async fn export_bundle(
    request: BundleExportRequest,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<Exported, IpcError> {
    let root = current(&state)?;
    let out = parse_path(&request.out)?;
    let (_task, cancel) = Task::start(&state, &task_id)?;
    blocking_job(on_progress, cancel, move |job| {
        let project = Project::open_with(&root, options())?;
        let options = ExportOptions {
            model: request.model,
            out,
            eval_dataset: given(request.eval_dataset),
            reference_dataset: given(request.reference_dataset),
            sensitive: request.sensitive,
            card: request.card,
            sign_key: given(request.sign_key).map(PathBuf::from),
        };
        bundle::export(&project, &options, job)
    })
    .await
}

/// The bundles exported from the project, newest first.
#[tauri::command]
pub async fn list_bundles(state: State<'_, AppState>) -> Result<Vec<BundleRecord>, IpcError> {
    let root = current(&state)?;
    blocking(move || bundle::list(&Project::open_with(&root, options())?)).await
}

/// Makes a signing key pair at `path` (private, mode 0600) and `path.pub`.
#[tauri::command]
pub async fn create_signing_key(path: String) -> Result<bundle::sign::NewKey, IpcError> {
    let out = parse_path(&path)?;
    blocking(move || bundle::sign::new_key(&out)).await
}

/// Opens the system file manager on the folder holding an exported bundle.
#[tauri::command]
pub async fn show_in_folder(path: String) -> Result<(), IpcError> {
    let path = parse_path(&path)?;
    let folder = if path.is_dir() {
        path.clone()
    } else {
        path.parent().map(PathBuf::from).unwrap_or_default()
    };
    if !folder.is_dir() {
        return Err(IpcError::new(
            "not_found",
            format!("{} is gone; it was moved or deleted", path.display()),
        ));
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(&folder)
        .spawn()
        .map(|_| ())
        .map_err(|e| {
            IpcError::new(
                "io",
                format!(
                    "cannot open the file manager ({opener}: {e}); the bundle is in {}",
                    folder.display()
                ),
            )
        })
}
