fn main() {
    // Declaring the app's commands makes Tauri generate an `allow-<command>` permission for each
    // and refuse any command a capability (capabilities/default.json) does not grant.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "startup_project",
        "recent_projects",
        "open_project",
        "create_project",
        "create_demo_project",
        "project_overview",
        "close_project",
        "list_datasets",
        "dataset_profile",
        "import_dataset",
        "dataset_rows",
        "dataset_diff",
        "dataset_chart",
        "export_chart",
        "cancel_task",
        "import_runs",
        "refresh_runs",
        "run_sources",
        "list_runs",
        "compare_runs",
        "runs_chart",
        "export_runs_chart",
        "runs_plot",
        "export_runs_plot",
        "run_drift",
        "drift_what_if",
        "drift_column_chart",
        "export_drift_report",
        "list_drift",
        "list_models",
        "model_page",
        "register_model",
        "set_model_alias",
        "evaluate_model",
        "evaluation_charts",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .unwrap_or_else(|e| panic!("tauri-build failed: {e:#}"));
}
