//! Runs: the MLflow importers against stores written by the real `mlflow` client
//! (`tests/fixtures/mlflow_reference.py`), the run logs, re-import, query and compare.

use std::path::{Path, PathBuf};

use lathe_core::job::Job;
use lathe_core::runs::{self, RunQuery};
use serde_json::Value as Json;

use crate::support::{new_project, repo};

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/mlflow")
}

fn summary(store: &str) -> Json {
    let text = std::fs::read_to_string(fixtures().join(format!("{store}-summary.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A metric value as the summary writes it, as a number (the SQLite store keeps ±inf as
/// ±f64::MAX, which Lathe reads back as ±inf).
fn expected_value(v: &Json) -> f64 {
    match v {
        Json::String(s) if s == "NaN" => f64::NAN,
        Json::String(s) if s == "inf" => f64::INFINITY,
        Json::String(s) if s == "-inf" => f64::NEG_INFINITY,
        Json::Number(n) => {
            let x = n.as_f64().unwrap();
            if x == f64::MAX {
                f64::INFINITY
            } else if x == f64::MIN {
                f64::NEG_INFINITY
            } else {
                x
            }
        }
        other => panic!("unexpected metric value {other}"),
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

fn import(project: &lathe_core::Project, path: &Path) -> runs::ImportSummary {
    runs::import(project, path, &Job::silent()).unwrap_or_else(|e| panic!("import {}: {e}", path.display()))
}

fn all_runs(project: &lathe_core::Project) -> Vec<runs::RunRecord> {
    runs::list(
        project,
        &RunQuery {
            include_deleted: true,
            ..Default::default()
        },
    )
    .unwrap()
    .runs
}

/// Every run, param, tag and final metric matches what `mlflow.search_runs` returned.
fn check_store(store: &str, path: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let reference = summary(store);
    let got = import(&project, path);
    assert!(got.skipped.is_empty(), "{store}: skipped {:?}", got.skipped);
    let expected_runs = reference["runs"].as_array().unwrap();
    assert_eq!(got.runs_new as usize, expected_runs.len(), "{store}");
    assert_eq!(got.experiments, 3, "{store}: Default, churn, vision");
    let runs = all_runs(&project);
    assert_eq!(runs.len(), expected_runs.len());
    for e in expected_runs {
        let id = e["run_id"].as_str().unwrap();
        let r = runs.iter().find(|r| r.source_run_id == id).unwrap_or_else(|| panic!("{store}: run {id} missing"));
        let ctx = format!("{store} run {}", e["name"]);
        assert_eq!(r.experiment, e["experiment"].as_str().unwrap(), "{ctx}");
        assert_eq!(r.name.as_deref(), e["name"].as_str(), "{ctx}");
        assert_eq!(r.status, e["status"].as_str().unwrap(), "{ctx}");
        assert_eq!(r.lifecycle_stage, e["lifecycle_stage"].as_str().unwrap(), "{ctx}");
        assert_eq!(r.start_time, e["start_time"].as_i64(), "{ctx}");
        assert_eq!(r.end_time, e["end_time"].as_i64(), "{ctx}");
        assert_eq!(r.parent_run_id.as_deref(), e["parent"].as_str(), "{ctx}");
        if let Some(parent) = e["parent"].as_str() {
            let p = runs.iter().find(|p| p.source_run_id == parent).unwrap();
            assert_eq!(r.parent, Some(p.id), "{ctx}: parent resolved to Lathe's id");
        }
        let params: std::collections::BTreeMap<String, String> = serde_json::from_value(e["params"].clone()).unwrap();
        assert_eq!(r.params, params, "{ctx}");
        let tags: std::collections::BTreeMap<String, String> = serde_json::from_value(e["tags"].clone()).unwrap();
        assert_eq!(r.tags, tags, "{ctx}");
        let metrics = e["metrics"].as_object().unwrap();
        assert_eq!(r.metrics.len(), metrics.len(), "{ctx}: metric keys");
        for (k, v) in metrics {
            let got = r.metrics.get(k).unwrap_or_else(|| panic!("{ctx}: metric {k}"));
            assert!(same(got.last.0, expected_value(v)), "{ctx}: {k} = {:?}, mlflow {v}", got.last);
        }
    }
    // The full history of one run's metrics, point for point.
    let of = &reference["history_of"];
    let run = runs::resolve_run(&project, of["run"].as_str().unwrap()).unwrap();
    for (key, points) in of["metrics"].as_object().unwrap() {
        let got = runs::history(&project, run, key).unwrap();
        let points = points.as_array().unwrap();
        assert_eq!(got.len(), points.len(), "{store} history {key}");
        for (p, e) in got.iter().zip(points) {
            assert_eq!(p.timestamp, e[0].as_i64().unwrap());
            assert!(same(p.value, expected_value(&e[1])), "{store} {key}: {} vs {}", p.value, e[1]);
            assert_eq!(p.step, e[2].as_i64().unwrap());
        }
    }
    // The registry: names, aliases, tags, versions and their runs.
    let models = runs::registered_models(&project).unwrap();
    let expected = reference["registered_models"].as_array().unwrap();
    assert_eq!(models.len(), expected.len());
    for (m, e) in models.iter().zip(expected) {
        assert_eq!(m.name, e["name"].as_str().unwrap());
        let aliases: std::collections::BTreeMap<String, i64> = e["aliases"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                // The file store's client gives the version as text, the SQLite one as a number.
                let n = v.as_i64().unwrap_or_else(|| v.as_str().unwrap().parse().unwrap());
                (k.clone(), n)
            })
            .collect();
        assert_eq!(m.aliases, aliases);
        let tags: std::collections::BTreeMap<String, String> = serde_json::from_value(e["tags"].clone()).unwrap();
        assert_eq!(m.tags, tags);
        let versions = e["versions"].as_array().unwrap();
        assert_eq!(m.versions.len(), versions.len());
        for (v, ev) in m.versions.iter().zip(versions) {
            assert_eq!(v.version, ev["version"].as_i64().unwrap());
            assert_eq!(v.run_id.as_deref(), ev["run_id"].as_str());
            assert_eq!(v.source.as_deref(), ev["source"].as_str());
            // The fixture's artifact is named model.onnx (a text placeholder: nothing is opened).
            assert!(v.onnx_path.as_deref().is_some_and(|p| p.ends_with("model/model.onnx")), "{v:?}");
        }
    }

    // Deleted runs are hidden unless asked for.
    let active = runs::list(&project, &RunQuery::default()).unwrap();
    assert_eq!(active.total as usize, expected_runs.len() - 1);
    assert!(active.runs.iter().all(|r| r.lifecycle_stage == "active"));

    // Re-importing an unchanged store adds nothing.
    let again = import(&project, path);
    assert_eq!((again.runs_new, again.runs_updated, again.metric_points), (0, 0, 0), "{store}");
    assert_eq!(again.runs_unchanged as usize, expected_runs.len());
}

#[test]
fn mlflow_file_store_matches_search_runs() {
    check_store("mlruns", &fixtures().join("mlruns"));
}

#[test]
fn mlflow_sqlite_store_matches_search_runs() {
    check_store("mlflow-db", &fixtures().join("mlflow.db"));
}
