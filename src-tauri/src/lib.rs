//! Lathe's desktop app: a Tauri 2 shell whose commands are thin adapters over `lathe-core`.
//!
//! - `command_list.rs`: every command, listed once; the build script, the invoke handler and
//!   the check of the capability file and `ipc.ts` all read it.
//! - [`commands`]: the `#[tauri::command]` forwards, one module per capability. Each calls
//!   `lathe_core::api` on tokio's blocking pool (never the UI thread) and returns its response
//!   or an [`ipc::IpcError`]. Long work reports progress through a `Channel<TaskEvent>`.
//! - [`ipc`]: the shapes that cross to the front end. Their TypeScript twins in
//!   `ui/src/bindings/` are generated from them by ts-rs and checked by a test.
//! - [`recent`]: the recent-projects list kept in the app's config folder.

#[macro_use]
mod command_list;
pub mod commands;
pub mod ipc;
pub mod recent;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lathe_core::dataset::browse::Browser;
use lathe_core::job::CancelToken;
use lathe_core::runs::RunBrowser;

use tauri::Manager;

/// What the app remembers between commands. Commands open the project afresh each time (a
/// SQLite open is well under a millisecond), so no connection is shared across threads.
#[derive(Debug, Default)]
pub struct AppState {
    pub current_project: Mutex<Option<PathBuf>>,
    /// The folder given on the command line, opened once when the front end asks.
    pub startup_project: Mutex<Option<PathBuf>>,
    pub config_dir: Mutex<Option<PathBuf>>,
    /// Running cancellable tasks by the front end's task id.
    pub tasks: Mutex<HashMap<String, CancelToken>>,
    /// Keeps the row order of the last sorted/filtered table query, so scrolling is cheap.
    pub browser: Arc<Browser>,
    /// Keeps the loaded runs and the last filter/sort order, so the run table scrolls cheaply.
    pub runs: Arc<RunBrowser>,
    /// Profiles of tables outside the project (a Spark table), kept so their charts draw.
    pub sources: Arc<lathe_core::api::Sources>,
    /// The bundle served locally from the Bundles view, if any (stopped when replaced, when
    /// asked, or when the app exits).
    pub serving: Mutex<Option<lathe_serve::Server>>,
}

/// The environment variable that keeps WebKitGTK's own choice of composited rendering.
const COMPOSITING_VAR: &str = "LATHE_WEBKIT_COMPOSITING";

/// Has WebKitGTK paint the page on the CPU without compositing layers, unless
/// `LATHE_WEBKIT_COMPOSITING=1`. On a machine without a GPU WebKitGTK composites on software GL,
/// and a frame of the scrolling run table took 40 to 90 ms that way against 16 to 20 ms painted
/// directly (measured under Xvfb by the e2e test `scroll_a_table_of_100000_runs`). The app uses
/// nothing that needs layers (no WebGL, no 3D transforms), so it loses nothing with a GPU.
#[cfg(target_os = "linux")]
fn paint_without_compositing(window: &tauri::WebviewWindow) -> tauri::Result<()> {
    if std::env::var_os(COMPOSITING_VAR).is_some_and(|v| v == "1") {
        return Ok(());
    }
    window.with_webview(|webview| {
        use webkit2gtk::{SettingsExt as _, WebViewExt as _};
        if let Some(settings) = webview.inner().settings() {
            settings
                .set_hardware_acceleration_policy(webkit2gtk::HardwareAccelerationPolicy::Never);
        }
    })
}

/// The invoke handler of every command in `command_list.rs`.
macro_rules! invoke_handler {
    ($($module:ident :: $command:ident),* $(,)?) => {
        tauri::generate_handler![$(commands::$module::$command),*]
    };
}

pub fn run(startup_project: Option<PathBuf>) {
    let state = AppState {
        startup_project: Mutex::new(startup_project),
        ..AppState::default()
    };
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .setup(|app| {
            let dir = app.path().app_config_dir()?;
            if let Ok(mut slot) = app.state::<AppState>().config_dir.lock() {
                *slot = Some(dir);
            }
            #[cfg(target_os = "linux")]
            if let Some(window) = app.get_webview_window("main") {
                paint_without_compositing(&window)?;
            }
            Ok(())
        })
        .invoke_handler(with_commands!(invoke_handler))
        .run(tauri::generate_context!());
    if let Err(err) = result {
        eprintln!("error: Lathe could not start: {err}");
        std::process::exit(1);
    }
}
