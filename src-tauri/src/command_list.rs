// The desktop app's commands, listed once, as `module::command` under `commands/`. Read by
// `build.rs` (the permission per command), by `lib.rs` (the invoke handler) and by the check in
// `commands/mod.rs` that `capabilities/default.json` and `ui/src/lib/ipc.ts` name exactly
// these. Adding a command: write it in its capability's module, list it here, then grant it in
// the capability file and wrap it in ipc.ts; the check says what is missing.
//
// (No inner doc comments: build.rs includes this file.)
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            project::startup_project,
            project::recent_projects,
            project::open_project,
            project::create_project,
            project::create_demo_project,
            project::project_overview,
            project::close_project,
            project::cancel_task,
            datasets::list_datasets,
            datasets::dataset_profile,
            datasets::import_dataset,
            datasets::dataset_rows,
            datasets::dataset_diff,
            datasets::dataset_chart,
            datasets::export_chart,
            datasets::dataset_columns,
            datasets::source_profile,
            runs::import_runs,
            runs::sync_runs,
            runs::refresh_runs,
            runs::run_sources,
            runs::list_runs,
            runs::group_runs,
            runs::compare_runs,
            runs::runs_chart,
            runs::export_runs_chart,
            runs::runs_plot,
            runs::export_runs_plot,
            runs::runs_importance,
            drift::run_drift,
            drift::drift_what_if,
            drift::drift_column_chart,
            drift::export_drift_report,
            drift::list_drift,
            checks::validate_policy,
            checks::run_check,
            checks::list_checks,
            checks::stored_check,
            models::list_models,
            models::model_page,
            models::register_model,
            models::set_model_alias,
            models::evaluate_model,
            models::evaluation_charts,
            explain::explain_model,
            explain::shap_chart,
            explain::model_fairness,
            monitor::monitor_defaults,
            monitor::monitor_model,
            bundles::export_bundle,
            bundles::list_bundles,
            bundles::create_signing_key,
            bundles::show_in_folder,
            bundles::serve_bundle,
            bundles::stop_serving,
            bundles::serving_status,
        }
    };
}
