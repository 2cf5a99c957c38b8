//! Deployment bundles: export, list, signing keys, and showing a bundle in the file manager.

use std::path::PathBuf;

use lathe_core::ErrorCode;
use lathe_core::api::BundleExportRequest;
use lathe_core::bundle::{self, BundleRecord, Exported};
use lathe_core::serve::Served;
use lathe_core::serve::live::{self, ServeLive, ServeStatus};
use tauri::State;
use tauri::ipc::Channel;

use super::{blocking, on_project, parse_path, task_on_project};
use crate::AppState;
use crate::ipc::{IpcError, TaskEvent};

/// Exports a model version as a deployment bundle, streaming progress.
#[tauri::command]
pub async fn export_bundle(
    request: BundleExportRequest,
    task_id: String,
    on_progress: Channel<TaskEvent>,
    state: State<'_, AppState>,
) -> Result<Exported, IpcError> {
    let options = request.into_options()?;
    task_on_project(&state, &task_id, on_progress, move |p, job| {
        bundle::export(p, &options, job)
    })
    .await
}

/// The bundles exported from the project, newest first.
#[tauri::command]
pub async fn list_bundles(state: State<'_, AppState>) -> Result<Vec<BundleRecord>, IpcError> {
    on_project(&state, bundle::list).await
}

/// Makes a signing key pair at `path` (private, mode 0600) and `path.pub`: Ed25519 unless
/// `key_type` says `ecdsa-p256` (OpenSSF model signatures).
#[tauri::command]
pub async fn create_signing_key(
    path: String,
    key_type: Option<bundle::sign::KeyType>,
) -> Result<bundle::sign::NewKey, IpcError> {
    let out = parse_path(&path)?;
    blocking(move || bundle::sign::new_key(&out, key_type.unwrap_or_default())).await
}

/// Serves a bundle on 127.0.0.1 (free ports for REST and gRPC, `/metrics` with live drift), as
/// `lathe serve --metrics` does, stopping the one served before. The bundle is verified first
/// and refused on any failure.
#[tauri::command]
pub async fn serve_bundle(
    path: String,
    state: State<'_, AppState>,
) -> Result<ServeStatus, IpcError> {
    let path = parse_path(&path)?;
    let previous = state.serving.lock().ok().and_then(|mut s| s.take());
    let server = blocking(move || {
        if let Some(p) = previous {
            let _ = p.stop();
        }
        let served = Served::bundle(&path, None)?;
        let options = lathe_serve::Options {
            port: 0,
            grpc_port: Some(0),
            metrics: true,
            ..lathe_serve::Options::default()
        };
        lathe_serve::Server::start(served, options, None).map_err(|e| lathe_core::Error::Compute {
            context: "cannot start the server",
            detail: e.to_string(),
        })
    })
    .await?;
    let status = server.status.clone();
    if let Ok(mut slot) = state.serving.lock() {
        *slot = Some(server);
    }
    Ok(status)
}

/// Stops the local server after it answers the requests in flight.
#[tauri::command]
pub async fn stop_serving(state: State<'_, AppState>) -> Result<(), IpcError> {
    let server = state.serving.lock().ok().and_then(|mut s| s.take());
    match server {
        Some(s) => {
            blocking(move || {
                s.stop().map_err(|e| lathe_core::Error::Compute {
                    context: "cannot stop the server",
                    detail: e.to_string(),
                })
            })
            .await
        }
        None => Ok(()),
    }
}

/// The local server, if one runs, with a fresh scrape of its `/metrics`.
#[tauri::command]
pub async fn serving_status(state: State<'_, AppState>) -> Result<Option<ServeLive>, IpcError> {
    let status = state
        .serving
        .lock()
        .ok()
        .and_then(|s| s.as_ref().map(|s| s.status.clone()));
    let Some(status) = status else {
        return Ok(None);
    };
    blocking(move || {
        let metrics = live::scrape(&status.metrics_url)?;
        Ok(Some(ServeLive { status, metrics }))
    })
    .await
}

/// Opens the system file manager on the folder holding an exported bundle.
#[tauri::command]
pub async fn show_in_folder(path: String) -> Result<(), IpcError> {
    let path = parse_path(&path)?;
    // The bundle's own folder when it was exported as one, else the folder holding the archive.
    let folder = if path.is_dir() {
        path.clone()
    } else {
        path.parent().map(PathBuf::from).unwrap_or_default()
    };
    if !folder.is_dir() {
        return Err(IpcError::new(
            ErrorCode::NotFound,
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
                ErrorCode::Io,
                format!(
                    "cannot open the file manager ({opener}: {e}); the bundle is in {}",
                    folder.display()
                ),
            )
        })
}
