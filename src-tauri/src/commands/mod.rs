//! The `#[tauri::command]` forwards, one module per capability. Each takes its arguments (a
//! request type of `lathe_core::api` where there are several), runs the core call on tokio's
//! blocking pool (never the UI thread) through `on_project` or `task_on_project`, and
//! returns the core's response or an [`IpcError`]. No rule is decided here: defaults, parsing
//! and the charts a view shows live in `lathe_core::api`.
//!
//! The list of commands is `command_list.rs`; its `tests` check that the capability file and the
//! front end's `ipc.ts` agree with it.

pub mod bundles;
pub mod checks;
pub mod datasets;
pub mod drift;
pub mod explain;
pub mod models;
pub mod monitor;
pub mod project;
pub mod runs;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use lathe_core::audit::Actor;
use lathe_core::job::{CancelToken, Job};
use lathe_core::project::OpenOptions;
use lathe_core::{ErrorCode, Project};
use tauri::ipc::Channel;

use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

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
            ErrorCode::Internal,
            format!("the background task failed: {join}"),
        )),
    }
}

/// Runs `work` on the open project, off the UI thread.
async fn on_project<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Project) -> lathe_core::Result<T> + Send + 'static,
) -> Result<T, IpcError> {
    let root = current(state)?;
    blocking(move || work(&Project::open_with(&root, options())?)).await
}

/// Runs long work on the open project, off the UI thread, as the front end's task `task_id`:
/// its progress streams to `channel` and `cancel_task(task_id)` stops it.
async fn task_on_project<T: Send + 'static>(
    state: &AppState,
    task_id: &str,
    channel: Channel<TaskEvent>,
    work: impl FnOnce(&Project, &Job) -> lathe_core::Result<T> + Send + 'static,
) -> Result<T, IpcError> {
    let root = current(state)?;
    let (_task, cancel) = Task::start(state, task_id)?;
    blocking_job(channel, cancel, move |job| {
        work(&Project::open_with(&root, options())?, job)
    })
    .await
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

fn locked<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, IpcError> {
    m.lock().map_err(|_| {
        IpcError::new(
            ErrorCode::Internal,
            "the app state was poisoned by an earlier failure; restart Lathe",
        )
    })
}

fn parse_path(path: &str) -> Result<PathBuf, IpcError> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(IpcError::new(
            ErrorCode::BadArgument,
            "no path given; choose a folder or a file",
        ));
    }
    Ok(PathBuf::from(trimmed))
}

fn current(state: &AppState) -> Result<PathBuf, IpcError> {
    locked(&state.current_project)?.clone().ok_or_else(|| {
        IpcError::new(
            ErrorCode::NoProjectOpen,
            "no project is open; open or create one first",
        )
    })
}

/// Writes a figure to `out` (SVG, PNG or CSV by the extension), off the UI thread.
async fn export_figure<F: lathe_core::chart::Figure + Send + 'static>(
    state: &AppState,
    path: &str,
    build: impl FnOnce(&Project) -> lathe_core::Result<F> + Send + 'static,
) -> Result<(), IpcError> {
    let out = parse_path(path)?;
    on_project(state, move |p| {
        lathe_core::chart::export(&out, || build(p)).map(drop)
    })
    .await
}

/// The names of the listed commands, in `command_list.rs`'s order.
macro_rules! command_names {
    ($($module:ident :: $command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}

/// Every command of the app, as the front end names it.
pub const COMMANDS: &[&str] = with_commands!(command_names);

#[cfg(test)]
mod tests {
    use super::COMMANDS;
    use std::collections::BTreeSet;
    use std::path::Path;

    fn repo_file(path: &str) -> String {
        let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    fn listed() -> BTreeSet<String> {
        COMMANDS.iter().map(|c| (*c).to_owned()).collect()
    }

    fn differences(what: &str, found: &BTreeSet<String>) -> Vec<String> {
        let listed = listed();
        let mut out: Vec<String> = listed
            .difference(found)
            .map(|c| format!("{c} is in command_list.rs but not in {what}"))
            .collect();
        out.extend(
            found
                .difference(&listed)
                .map(|c| format!("{c} is in {what} but not in command_list.rs")),
        );
        out
    }

    /// The capability grants exactly the listed commands (and only the dialog and event
    /// permissions besides).
    #[test]
    fn the_capability_grants_exactly_the_listed_commands() {
        let json: serde_json::Value = serde_json::from_str(&repo_file("capabilities/default.json"))
            .unwrap_or_else(|e| panic!("capabilities/default.json: {e}"));
        let permissions: Vec<&str> = json["permissions"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
            .unwrap_or_default();
        let granted: BTreeSet<String> = permissions
            .iter()
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|c| c.replace('-', "_"))
            .collect();
        let others: Vec<&&str> = permissions
            .iter()
            .filter(|p| !p.starts_with("allow-"))
            .collect();
        assert_eq!(
            others,
            [
                &"dialog:allow-open",
                &"dialog:allow-save",
                &"core:event:allow-listen",
                &"core:event:allow-unlisten"
            ],
            "only the dialogs and drop events besides Lathe's own commands"
        );
        let diff = differences("capabilities/default.json", &granted);
        assert!(diff.is_empty(), "{diff:#?}");
    }

    /// The front end calls exactly the listed commands, each from one wrapper in ipc.ts.
    #[test]
    fn the_front_end_wraps_exactly_the_listed_commands() {
        let ts = repo_file("../ui/src/lib/ipc.ts");
        let mut called = Vec::new();
        for part in ts.split("call<").skip(1) {
            // call<T>("name", ...): the type, then the command's name as the first argument.
            let Some((ty, rest)) = part.split_once(">(\"") else {
                continue;
            };
            if ty.contains('(') || ty.contains('\n') {
                continue; // `call<T>(command: string, ...)`, the wrapper itself
            }
            if let Some((name, _)) = rest.split_once('"') {
                called.push(name.to_owned());
            }
        }
        let unique: BTreeSet<String> = called.iter().cloned().collect();
        assert_eq!(
            called.len(),
            unique.len(),
            "a command wrapped twice: {called:?}"
        );
        let diff = differences("ui/src/lib/ipc.ts", &unique);
        assert!(diff.is_empty(), "{diff:#?}");
    }

    /// No other file calls `invoke` directly: every command goes through ipc.ts's `call`.
    #[test]
    fn only_ipc_ts_invokes_commands() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src");
        let mut stack = vec![dir];
        let mut offenders = Vec::new();
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().is_some_and(|n| n != "ipc.ts")
                    && std::fs::read_to_string(&path)
                        .is_ok_and(|t| t.contains("invoke(") || t.contains("invoke<"))
                {
                    offenders.push(path.display().to_string());
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:?}");
    }
}
