//! Runs: the MLflow importers against stores written by the real `mlflow` client
//! (`tests/fixtures/mlflow_reference.py`), the run logs, re-import, query and compare.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lathe_core::job::Job;
use lathe_core::model::registry;
use lathe_core::runs::{self, RunQuery};
use serde_json::Value as Json;

use crate::support::{copy_dir, new_project, repo};

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
    runs::import(project, path, &Job::silent())
        .unwrap_or_else(|e| panic!("import {}: {e}", path.display()))
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

/// Every run of `expected_runs` is in `runs` with the same attributes, params, tags and final
/// metrics. `experiments_by_name`: false for the CSV, which names experiments by id.
fn check_runs(
    ctx: &str,
    expected_runs: &[Json],
    runs: &[runs::RunRecord],
    experiments_by_name: bool,
) {
    assert_eq!(runs.len(), expected_runs.len(), "{ctx}: run count");
    for e in expected_runs {
        let id = e["run_id"].as_str().unwrap();
        let r = runs
            .iter()
            .find(|r| r.source_run_id == id)
            .unwrap_or_else(|| panic!("{ctx}: run {id} missing"));
        let ctx = format!("{ctx} run {}", e["name"]);
        if experiments_by_name {
            assert_eq!(r.experiment, e["experiment"].as_str().unwrap(), "{ctx}");
        }
        assert_eq!(r.name.as_deref(), e["name"].as_str(), "{ctx}");
        assert_eq!(r.status, e["status"].as_str().unwrap(), "{ctx}");
        assert_eq!(
            r.lifecycle_stage,
            e["lifecycle_stage"].as_str().unwrap(),
            "{ctx}"
        );
        assert_eq!(r.start_time, e["start_time"].as_i64(), "{ctx}");
        assert_eq!(r.end_time, e["end_time"].as_i64(), "{ctx}");
        assert_eq!(r.parent_run_id.as_deref(), e["parent"].as_str(), "{ctx}");
        if let Some(parent) = e["parent"].as_str() {
            let p = runs.iter().find(|p| p.source_run_id == parent).unwrap();
            assert_eq!(r.parent, Some(p.id), "{ctx}: parent resolved to Lathe's id");
        }
        let params: BTreeMap<String, String> = serde_json::from_value(e["params"].clone()).unwrap();
        assert_eq!(r.params, params, "{ctx}");
        let tags: BTreeMap<String, String> = serde_json::from_value(e["tags"].clone()).unwrap();
        assert_eq!(r.tags, tags, "{ctx}");
        let metrics = e["metrics"].as_object().unwrap();
        assert_eq!(r.metrics.len(), metrics.len(), "{ctx}: metric keys");
        for (k, v) in metrics {
            let got = r
                .metrics
                .get(k)
                .unwrap_or_else(|| panic!("{ctx}: metric {k}"));
            assert!(
                same(got.last.0, expected_value(v)),
                "{ctx}: {k} = {:?}, mlflow {v}",
                got.last
            );
        }
    }
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
    check_runs(store, expected_runs, &runs, true);
    // The full history of one run's metrics, point for point.
    let of = &reference["history_of"];
    let run = runs::resolve_run(&project, of["run"].as_str().unwrap()).unwrap();
    for (key, points) in of["metrics"].as_object().unwrap() {
        let got = runs::history(&project, run, key).unwrap();
        let points = points.as_array().unwrap();
        assert_eq!(got.len(), points.len(), "{store} history {key}");
        for (p, e) in got.iter().zip(points) {
            assert_eq!(p.timestamp, e[0].as_i64().unwrap());
            assert!(
                same(p.value, expected_value(&e[1])),
                "{store} {key}: {} vs {}",
                p.value,
                e[1]
            );
            assert_eq!(p.step, e[2].as_i64().unwrap());
        }
    }
    // The registry: names, aliases, tags, versions and their runs.
    let models = runs::registered_models(&project).unwrap();
    let expected = reference["registered_models"].as_array().unwrap();
    assert_eq!(models.len(), expected.len());
    for (m, e) in models.iter().zip(expected) {
        assert_eq!(m.name, e["name"].as_str().unwrap());
        let aliases: BTreeMap<String, i64> = e["aliases"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                // The file store's client gives the version as text, the SQLite one as a number.
                let n = v
                    .as_i64()
                    .unwrap_or_else(|| v.as_str().unwrap().parse().unwrap());
                (k.clone(), n)
            })
            .collect();
        assert_eq!(m.aliases, aliases);
        let tags: BTreeMap<String, String> = serde_json::from_value(e["tags"].clone()).unwrap();
        assert_eq!(m.tags, tags);
        let versions = e["versions"].as_array().unwrap();
        assert_eq!(m.versions.len(), versions.len());
        for (v, ev) in m.versions.iter().zip(versions) {
            assert_eq!(v.version, ev["version"].as_i64().unwrap());
            assert_eq!(v.run_id.as_deref(), ev["run_id"].as_str());
            assert_eq!(v.source.as_deref(), ev["source"].as_str());
            let Some(onnx) = ev["onnx"].as_object() else {
                // Another flavour's artifact (a stand-in pickle): listed, never loaded.
                assert_eq!(v.onnx_path, None, "{v:?}");
                assert_eq!(v.lathe_version, None, "{v:?}");
                continue;
            };
            assert!(
                v.onnx_path
                    .as_deref()
                    .is_some_and(|p| p.ends_with("model/model.onnx")),
                "{v:?}"
            );
            // The ONNX version is now a Lathe model version: the same bytes, the features the
            // MLmodel signature names, the run as lineage, and onnxruntime's predictions.
            let reference = v.lathe_version.as_deref().expect("registered in Lathe");
            let lathe = registry::show(&project, reference).unwrap();
            assert_eq!(lathe.name, m.name);
            assert_eq!(lathe.sha256, onnx["sha256"].as_str().unwrap(), "{store}");
            assert_eq!(lathe.features, strings(&onnx["features"]));
            assert_eq!(lathe.run_source_id.as_deref(), ev["run_id"].as_str());
            let rows: Vec<f32> = onnx["rows"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap() as f32)
                })
                .collect();
            let model = registry::load_model(&project, &lathe).unwrap();
            let prediction = model.predict(&rows, 3).unwrap();
            let labels = prediction.get("label").unwrap().to_f64("label").unwrap();
            let want: Vec<f64> = onnx["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            assert_eq!(labels, want, "{store} {reference}: labels");
            let probabilities = prediction
                .get("probabilities")
                .unwrap()
                .to_f64("probabilities")
                .unwrap();
            let want: Vec<f64> = onnx["probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
                .collect();
            assert_eq!(probabilities.len(), want.len());
            for (g, w) in probabilities.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-6, "{store} {reference}: {g} vs {w}");
            }
        }
        // MLflow's aliases point at the Lathe versions their MLflow versions became.
        for (alias, version) in &m.aliases {
            let lathe = m.versions.iter().find(|v| v.version == *version).unwrap();
            let via_alias = registry::show(&project, &format!("{}@{alias}", m.name)).unwrap();
            assert_eq!(Some(via_alias.reference()), lathe.lathe_version, "{store}");
        }
    }
    let onnx_versions = expected
        .iter()
        .flat_map(|m| m["versions"].as_array().unwrap())
        .filter(|v| v["onnx"].is_object())
        .count();
    assert_eq!(
        got.model_versions_registered as usize, onnx_versions,
        "{store}"
    );

    // Deleted runs are hidden unless asked for.
    let active = runs::list(&project, &RunQuery::default()).unwrap();
    assert_eq!(active.total as usize, expected_runs.len() - 1);
    assert!(active.runs.iter().all(|r| r.lifecycle_stage == "active"));

    // MLflow's filter strings give the runs search_runs gave.
    for (filter, expected) in reference["filters"].as_object().unwrap() {
        let page = runs::list(
            &project,
            &RunQuery {
                filter: Some(filter.clone()),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{store}: {filter}: {e}"));
        let mut got: Vec<&str> = page.runs.iter().map(|r| r.source_run_id.as_str()).collect();
        got.sort();
        let expected: Vec<&str> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "{store}: {filter}");
    }

    // Re-importing an unchanged store adds nothing.
    let again = import(&project, path);
    assert_eq!(
        (again.runs_new, again.runs_updated, again.metric_points),
        (0, 0, 0),
        "{store}"
    );
    assert_eq!(again.runs_unchanged as usize, expected_runs.len());
    // A copy of the store (another source, the same ONNX bytes) adds no model version.
    let copy = tmp.path().join("copy").join(path.file_name().unwrap());
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    if path.is_file() {
        std::fs::copy(path, &copy).unwrap();
        let again = import(&project, &copy);
        assert_eq!(again.runs_new as usize, expected_runs.len(), "{store}");
        assert_eq!(again.model_versions_registered, 0, "{store}");
        let models = registry::list(&project).unwrap();
        assert_eq!(models.len(), 1, "{store}");
        assert_eq!(models[0].versions.len(), onnx_versions, "{store}");
    }
}

#[test]
fn mlflow_file_store_matches_search_runs() {
    check_store("mlruns", &fixtures().join("mlruns"));
}

#[test]
fn mlflow_sqlite_store_matches_search_runs() {
    check_store("mlflow-db", &fixtures().join("mlflow.db"));
}

/// The active runs of the file store, as the fixture script exported them.
fn active_reference() -> Vec<Json> {
    summary("mlruns")["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["lifecycle_stage"] == "active")
        .cloned()
        .collect()
}

#[test]
fn jsonl_run_log_matches_search_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let got = import(&project, &fixtures().join("runs.jsonl"));
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let expected = active_reference();
    assert_eq!(got.runs_new as usize, expected.len());
    check_runs("runs.jsonl", &expected, &all_runs(&project), true);
    let again = import(&project, &fixtures().join("runs.jsonl"));
    assert_eq!(
        (again.runs_new, again.runs_updated, again.metric_points),
        (0, 0, 0)
    );
}

#[test]
fn search_runs_csv_matches_search_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let got = import(&project, &fixtures().join("search_runs.csv"));
    assert!(got.skipped.is_empty(), "{:?}", got.skipped);
    let mut expected = active_reference();
    // A CSV row has no run name column but the mlflow.runName tag, and one point per metric.
    for e in &mut expected {
        e["name"] = e["tags"]["mlflow.runName"].clone();
    }
    check_runs("search_runs.csv", &expected, &all_runs(&project), false);
}

/// What importing a corpus case must do.
enum Expect {
    /// Refused with `bad_input`; the message holds this text. The project is unchanged.
    Error(&'static str),
    /// Imports this many runs, skipping items whose reasons hold these texts, in order.
    Skips(u64, &'static [&'static str]),
}

const CORPUS: &[(&str, Expect)] = &[
    ("missing_run_meta", Expect::Skips(1, &["no meta.yaml"])),
    (
        "garbled_run_meta",
        Expect::Skips(1, &["meta.yaml is not YAML"]),
    ),
    (
        "run_meta_not_a_mapping",
        Expect::Skips(1, &["not a mapping"]),
    ),
    (
        "garbled_experiment_meta",
        Expect::Error("no experiment folder with a meta.yaml"),
    ),
    (
        "non_numeric_metric",
        Expect::Skips(
            1,
            &["metrics/loss: line 2 is not `<timestamp> <value> [<step>]`"],
        ),
    ),
    (
        "truncated_metric",
        Expect::Skips(1, &["unterminated last line \"17640000\""]),
    ),
    ("metric_file_is_a_folder", Expect::Skips(1, &[])),
    (
        "unknown_status",
        Expect::Skips(1, &["unknown status code 9"]),
    ),
    (
        "run_folder_mismatch",
        Expect::Skips(1, &["meta.yaml names run \"elsewhere\""]),
    ),
    ("not_an_mlruns", Expect::Error("not an MLflow file store")),
    (
        "broken_onnx_version",
        Expect::Skips(
            1,
            &["registered model broken version 1: not registered in Lathe"],
        ),
    ),
    (
        "text_named/mlflow.db",
        Expect::Error("it is not a SQLite database"),
    ),
    (
        "empty_sqlite/mlflow.db",
        Expect::Error("it has no `experiments` table"),
    ),
    (
        "other_schema/mlflow.db",
        Expect::Error("its `metrics` table has no `step` column (schema revision 451aebb31d03)"),
    ),
    ("truncated_db/mlflow.db", Expect::Error("")),
    (
        "unknown_status_db/mlflow.db",
        Expect::Skips(6, &["unknown status \"PAUSED\""]),
    ),
    (
        "broken_lines.jsonl",
        Expect::Skips(
            1,
            &[
                "line 3", "line 4", "line 5", "line 6", "line 7", "line 9", "line 10",
            ],
        ),
    ),
    (
        "all_broken.jsonl",
        Expect::Error("no usable run record (line 1: not JSON"),
    ),
    ("empty.jsonl", Expect::Error("the log is empty")),
    ("not_utf8.jsonl", Expect::Error("not UTF-8 text")),
    ("no_run_id.csv", Expect::Error("no `run_id` column")),
    (
        "bad_metric.csv",
        Expect::Skips(
            1,
            &[
                "metrics.acc \"high\" is not a number",
                "unknown status \"PAUSED\"",
                "repeats an earlier row",
            ],
        ),
    ),
    ("empty.csv", Expect::Error("not a readable CSV")),
    ("tensorboard_cut", Expect::Error("it was cut short")),
    ("tensorboard_bad_crc", Expect::Error("corrupted")),
    (
        "tensorboard_text",
        Expect::Error("the record at byte 0 has a corrupted length"),
    ),
    ("wandb_cut", Expect::Error("ends inside the record at byte")),
    ("wandb_bad_crc", Expect::Error("fails its CRC-32 check")),
    ("wandb_header_only", Expect::Error("holds no run record")),
    ("wandb_text", Expect::Error("not a W&B record log")),
];

#[test]
fn broken_sources_fail_clearly_or_skip_what_they_name() {
    let corpus = repo().join("tests/corpus/runs");
    // Git keeps no empty folders: this case's metric "file" is one.
    std::fs::create_dir_all(corpus.join("metric_file_is_a_folder/1/good/metrics/acc")).unwrap();
    let listed: std::collections::BTreeSet<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let covered: std::collections::BTreeSet<String> = CORPUS
        .iter()
        .map(|(c, _)| c.split('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(listed, covered, "every corpus case has an expectation");
    for (case, expect) in CORPUS {
        let tmp = tempfile::tempdir().unwrap();
        let project = new_project(tmp.path());
        let path = corpus.join(case).canonicalize().unwrap();
        let before = (
            crate::support::tree(tmp.path()),
            crate::support::db_bytes(tmp.path()),
        );
        let result = runs::import(&project, &path, &Job::silent());
        match (expect, result) {
            (Expect::Error(text), Err(e)) => {
                assert_eq!(e.code(), "bad_input", "{case}: {e}");
                assert!(e.to_string().contains(text), "{case}: {e}");
                assert!(
                    e.to_string().contains(&path.display().to_string()),
                    "{case} names the file: {e}"
                );
                let after = (
                    crate::support::tree(tmp.path()),
                    crate::support::db_bytes(tmp.path()),
                );
                assert!(
                    before == after,
                    "{case}: a refused import changed the project"
                );
                assert!(runs::sources(&project).unwrap().is_empty(), "{case}");
            }
            (Expect::Skips(n, reasons), Ok(summary)) => {
                assert_eq!(summary.runs_new, *n, "{case}: {summary:?}");
                assert_eq!(
                    summary.skipped.len(),
                    reasons.len(),
                    "{case}: {:?}",
                    summary.skipped
                );
                for (s, reason) in summary.skipped.iter().zip(*reasons) {
                    let said = format!("{}: {}", s.item, s.reason);
                    assert!(
                        said.contains(reason),
                        "{case}: {said:?} should say {reason:?}"
                    );
                }
            }
            (Expect::Error(_), Ok(s)) => panic!("{case}: imported {s:?}"),
            (Expect::Skips(..), Err(e)) => panic!("{case}: {e}"),
        }
    }
}

#[test]
fn reimport_adds_only_new_runs_and_points() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(&tmp.path().join("project"));
    let store = tmp.path().join("mlruns");
    copy_dir(&fixtures().join("mlruns"), &store);
    let first = import(&project, &store);
    let before = all_runs(&project);

    // Training goes on: a run logs two more loss points, and a new run appears.
    let adam = before
        .iter()
        .find(|r| r.name.as_deref() == Some("adam-0.01"))
        .unwrap();
    let exp_dir = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join(&adam.source_run_id).is_dir())
        .unwrap();
    let loss = exp_dir.join(&adam.source_run_id).join("metrics/loss");
    let mut text = std::fs::read_to_string(&loss).unwrap();
    text.push_str("1764000020000 0.3 20\n1764000021000 0.25 21\n");
    std::fs::write(&loss, text).unwrap();
    let new_run = exp_dir.join("0123456789abcdef0123456789abcdef");
    copy_dir(&exp_dir.join(&adam.source_run_id), &new_run);
    let meta = std::fs::read_to_string(new_run.join("meta.yaml")).unwrap();
    std::fs::write(
        new_run.join("meta.yaml"),
        meta.replace(&adam.source_run_id, "0123456789abcdef0123456789abcdef")
            .replace("adam-0.01", "adam-again"),
    )
    .unwrap();

    let second = import(&project, &store);
    assert_eq!(second.runs_new, 1, "{second:?}");
    assert_eq!(second.runs_updated, 1, "{second:?}");
    assert_eq!(second.runs_unchanged, first.runs_new - 1);
    let new_points: u64 = 2 + 22 + 20 + 20;
    assert_eq!(
        second.metric_points, new_points,
        "two appended points and the copied run's 62"
    );
    let after = all_runs(&project);
    assert_eq!(after.len(), before.len() + 1);
    let adam_after = after.iter().find(|r| r.id == adam.id).unwrap();
    assert_eq!(adam_after.metrics["loss"].last.0, 0.25);
    assert_eq!(adam_after.metrics["loss"].steps, 22);
    assert_eq!(runs::history(&project, adam.id, "loss").unwrap().len(), 22);
    // Nothing changed since: the store is not read again (its files' stamp has not moved).
    let third = import(&project, &store);
    assert_eq!(
        (third.runs_new, third.runs_updated, third.metric_points),
        (0, 0, 0)
    );
    assert_eq!(third.runs_unchanged as usize, after.len());
    // Lathe's ids are stable across re-imports.
    for r in &before {
        assert!(
            after
                .iter()
                .any(|a| a.id == r.id && a.source_run_id == r.source_run_id)
        );
    }
}

#[test]
fn jsonl_log_grows_while_training_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(&tmp.path().join("project"));
    let log = tmp.path().join("train.jsonl");
    let mut text = String::from(
        "{\"event\": \"start\", \"run\": \"r1\", \"experiment\": \"cnn\", \"name\": \"first\", \"time\": 1000, \"params\": {\"lr\": 0.1, \"layers\": 3}}\n",
    );
    for step in 0..3 {
        text.push_str(&format!(
            "{{\"event\": \"metric\", \"run\": \"r1\", \"step\": {step}, \"time\": {}, \"metrics\": {{\"loss\": {}, \"acc\": \"NaN\"}}}}\n",
            1000 + step,
            1.0 / (step + 1) as f64
        ));
    }
    // A line the script is still writing.
    text.push_str("{\"event\": \"metric\", \"run\": \"r1\", \"ste");
    std::fs::write(&log, &text).unwrap();
    let first = import(&project, &log);
    assert_eq!((first.runs_new, first.metric_points), (1, 6));
    assert_eq!(first.skipped.len(), 1, "the unterminated line is reported");
    let run = &all_runs(&project)[0];
    assert_eq!(run.status, "RUNNING");
    assert_eq!(run.params["lr"], "0.1");
    assert!(run.metrics["acc"].last.0.is_nan());
    assert_eq!(run.metrics["acc"].min, None);

    text.truncate(text.rfind('\n').unwrap() + 1);
    text.push_str("{\"event\": \"metric\", \"run\": \"r1\", \"key\": \"loss\", \"value\": 0.1, \"step\": 3, \"time\": 1003}\n");
    text.push_str(
        "{\"event\": \"end\", \"run\": \"r1\", \"status\": \"FINISHED\", \"time\": 2000}\n",
    );
    std::fs::write(&log, &text).unwrap();
    let second = import(&project, &log);
    assert_eq!(
        (second.runs_new, second.runs_updated, second.metric_points),
        (0, 1, 1),
        "{second:?}"
    );
    let run = &all_runs(&project)[0];
    assert_eq!(
        (run.status.as_str(), run.end_time),
        ("FINISHED", Some(2000))
    );
    assert_eq!(run.metrics["loss"].last.0, 0.1);
    assert_eq!(run.metrics["loss"].max.map(|v| v.0), Some(1.0));
    assert_eq!(run.metrics["loss"].max_step, Some(0));
}

fn fixture_project() -> (tempfile::TempDir, lathe_core::Project) {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    import(&project, &fixtures().join("mlruns"));
    (tmp, project)
}

fn names(project: &lathe_core::Project, filter: &str, sort: Option<&str>) -> Vec<String> {
    runs::list(
        project,
        &RunQuery {
            filter: Some(filter.to_owned()),
            sort: sort.map(str::to_owned),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{filter}: {e}"))
    .runs
    .into_iter()
    .map(|r| r.name.unwrap_or_default())
    .collect()
}

#[test]
fn filters_extend_mlflow_with_or_not_parentheses_regex_and_numbers() {
    let (_tmp, project) = fixture_project();
    let sort = Some("run_name");
    assert_eq!(
        names(
            &project,
            "params.optimizer = 'sgd' or attributes.status = 'FAILED'",
            sort
        ),
        ["crashed", "sgd-0.1"]
    );
    assert_eq!(
        names(
            &project,
            "(params.lr = '0.01' or params.lr = '0.1') and metrics.acc > 0.9",
            sort
        ),
        ["sgd-0.1"]
    );
    assert_eq!(
        names(&project, "params.model ~ 'res(net)?(18|34)'", sort),
        ["unstable"]
    );
    assert_eq!(
        names(&project, "run_name ~ '^adam-'", sort),
        ["adam-0.001", "adam-0.01"]
    );
    assert_eq!(
        names(
            &project,
            "not params.model = 'gbm' and experiment = 'churn'",
            sort
        ),
        ["crashed"]
    );
    // A param compared with a number compares numerically: '0.1' > 0.05 but not as text.
    assert_eq!(
        names(&project, "params.lr > 0.005", sort),
        ["adam-0.01", "sgd-0.1"]
    );
    assert_eq!(
        names(&project, "params.optimizer IN ('sgd', 'rmsprop')", sort),
        ["sgd-0.1"]
    );
    assert_eq!(
        names(&project, "params.optimizer NOT IN ('adam')", sort),
        ["sgd-0.1"]
    );
    assert_eq!(
        names(&project, "params.optimizer IS NULL", sort),
        ["grid", "unstable"]
    );
    assert_eq!(
        names(
            &project,
            "tags.mlflow.parentRunId IS NOT NULL and params.lr < 0.05",
            sort
        ),
        ["adam-0.001", "adam-0.01"]
    );
    assert_eq!(
        names(
            &project,
            "metrics.loss != 0.05 AND metrics.\"val/loss\" <= 1",
            sort
        ),
        ["adam-0.001", "adam-0.01"]
    );

    // Sorts: missing values last, either direction, ties in Lathe's id order; metric min/max
    // columns.
    let missing = names(
        &project,
        "run_name IN ('crashed', 'grid') and experiment = 'churn'",
        Some("id"),
    );
    assert_eq!(missing.len(), 2);
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    assert_eq!(
        names(&project, "experiment = 'churn'", Some("metrics.acc:desc")),
        [&["sgd-0.1", "adam-0.01", "adam-0.001"][..], &missing[..]].concat()
    );
    assert_eq!(
        names(&project, "experiment = 'churn'", Some("params.lr")),
        [&["adam-0.001", "adam-0.01", "sgd-0.1"][..], &missing[..]].concat()
    );
    assert_eq!(
        names(&project, "metrics.loss >= 0", Some("metrics.loss.min:desc")),
        ["unstable", "adam-0.001", "crashed", "adam-0.01", "sgd-0.1"]
    );

    for (bad, says) in [
        (
            "metrics.acc >",
            "expected a quoted text or a number at the end (character 14)",
        ),
        ("metrics.acc > 'high'", "compares with a number"),
        (
            "params.x = 'a' and",
            "expected a name such as metrics.acc at the end",
        ),
        ("(params.x = 'a'", "expected `)` at the end"),
        (
            "foo.x = 'a'",
            "\"foo\" at character 1 is not metrics, params, tags or attributes",
        ),
        ("colour = 'red'", "unknown attribute \"colour\""),
        ("params.x ~ '('", "bad regular expression"),
        (
            "params.x = 'open",
            "the quote at character 12 is never closed",
        ),
        (
            "params.x = 'a' params.y = 'b'",
            "unexpected text at character 16",
        ),
        ("params.x ? 'a'", "unexpected '?' at character 10"),
    ] {
        let e = runs::list(
            &project,
            &RunQuery {
                filter: Some(bad.to_owned()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "bad_argument", "{bad}");
        assert!(e.to_string().contains(says), "{bad}: {e}");
    }
}

#[test]
fn compare_shows_differing_params_and_metric_summaries() {
    let (_tmp, project) = fixture_project();
    let all = all_runs(&project);
    let id = |name: &str| {
        all.iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap()
            .id
    };
    let (a, b, c) = (id("adam-0.01"), id("adam-0.001"), id("sgd-0.1"));
    let cmp = runs::compare(&project, &[a, b, c]).unwrap();
    assert_eq!(
        cmp.runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        [a, b, c],
        "in the order asked"
    );
    assert_eq!(
        cmp.params.same.keys().collect::<Vec<_>>(),
        ["epochs", "model"]
    );
    assert_eq!(
        cmp.params.differing.keys().collect::<Vec<_>>(),
        ["lr", "optimizer"]
    );
    assert_eq!(
        cmp.params.differing["optimizer"][&c.to_string()].as_deref(),
        Some("sgd")
    );
    let loss = &cmp.metrics["loss"];
    assert_eq!(loss.len(), 3);
    assert_eq!(loss[2].stat.last.0, 0.05);
    assert_eq!(loss[2].stat.min.map(|v| v.0), Some(0.05));
    assert_eq!(loss[2].stat.min_step, Some(19));
    assert_eq!(loss[2].stat.max.map(|v| v.0), Some(1.0));
    assert_eq!(loss[2].stat.steps, 20);
    // A param one run lacks differs.
    let cmp = runs::compare(&project, &[a, id("grid")]).unwrap();
    assert_eq!(
        cmp.params.differing["optimizer"][&id("grid").to_string()],
        None
    );
    // One run is its own page: every param it has is "the same".
    let one = runs::compare(&project, &[a]).unwrap();
    assert!(one.params.differing.is_empty());
    assert_eq!(one.params.same["optimizer"], "adam");
    assert_eq!(
        runs::compare(&project, &[]).unwrap_err().code(),
        "bad_argument"
    );

    let listed = runs::list(&project, &RunQuery::default()).unwrap().runs;
    let grouped = runs::group(&listed, "params.optimizer", |_| runs::Agg::Last).unwrap();
    let adam = grouped
        .iter()
        .find(|g| g.value.as_deref() == Some("adam"))
        .unwrap();
    assert_eq!(adam.runs, 3);
    let acc = &adam.metrics["loss"];
    assert_eq!(acc.runs, 3);
    assert!((acc.mean.0 - (0.344828 + 0.840336 + 0.8) / 3.0).abs() < 1e-12);
    assert_eq!((acc.min.0, acc.max.0), (0.344828, 0.840336));
    // Each run's largest loss instead of its last: the group's statistics are of those.
    let largest: Vec<f64> = listed
        .iter()
        .filter(|r| r.params.get("optimizer").map(String::as_str) == Some("adam"))
        .map(|r| r.metrics["loss"].max.expect("a max").0)
        .collect();
    assert_eq!(largest.len(), 3);
    let by_max = runs::group(&listed, "params.optimizer", |k| {
        if k == "loss" {
            runs::Agg::Max
        } else {
            runs::Agg::Last
        }
    })
    .unwrap();
    let adam_max = by_max
        .iter()
        .find(|g| g.value.as_deref() == Some("adam"))
        .unwrap();
    let loss = &adam_max.metrics["loss"];
    assert!((loss.mean.0 - largest.iter().sum::<f64>() / 3.0).abs() < 1e-12);
    assert_eq!(loss.max.0, largest.iter().copied().fold(f64::MIN, f64::max));
    assert!(loss.mean.0 > acc.mean.0, "a largest loss is above the last");
    // Other metrics keep their last value.
    assert_eq!(adam_max.metrics["acc"], adam.metrics["acc"]);
    assert_eq!("max".parse::<runs::Agg>().unwrap(), runs::Agg::Max);
    assert_eq!(
        "mean".parse::<runs::Agg>().unwrap_err().code(),
        "bad_argument"
    );
}

#[test]
fn history_charts_overlay_runs_at_full_fidelity_with_their_data() {
    use lathe_core::chart::{self, Figure};
    use lathe_core::runs::chart::{LineOptions, XAxis, line_chart};
    let (_tmp, project) = fixture_project();
    let all = all_runs(&project);
    let ids: Vec<i64> = all
        .iter()
        .filter(|r| r.parent.is_some() || r.name.as_deref() == Some("unstable"))
        .map(|r| r.id)
        .collect();
    let out = repo().join("target/charts");
    std::fs::create_dir_all(&out).unwrap();
    for (name, options) in [
        (
            "loss",
            LineOptions {
                metric: "loss".into(),
                ..Default::default()
            },
        ),
        (
            "loss-smoothed-relative",
            LineOptions {
                metric: "loss".into(),
                smooth: Some(0.6),
                x: XAxis::Relative,
                ..Default::default()
            },
        ),
        (
            "acc-by-optimizer",
            LineOptions {
                metric: "acc".into(),
                group_by: Some("params.optimizer".into()),
                ..Default::default()
            },
        ),
        (
            "val-loss-time",
            LineOptions {
                metric: "val/loss".into(),
                x: XAxis::Time,
                ..Default::default()
            },
        ),
        (
            "loss-zoomed",
            LineOptions {
                metric: "loss".into(),
                x_range: Some((5.0, 10.0)),
                ..Default::default()
            },
        ),
    ] {
        let c = line_chart(&project, &ids, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        for ext in ["svg", "png", "csv"] {
            chart::write(&c, &out.join(format!("runs-{name}.{ext}"))).unwrap();
        }
        assert!(c.svg().unwrap().starts_with("<svg"));
        let csv = c.csv().unwrap();
        if options.group_by.is_none() {
            // The CSV holds every logged point: 3 children × 20 + the unstable run's 3 (it
            // logged no val/loss: the title says so).
            let expected = if options.metric == "val/loss" { 60 } else { 63 };
            assert_eq!(csv.lines().count() - 1, expected, "{name}");
            assert_eq!(c.points_in, expected as u64);
        } else {
            assert!(
                csv.starts_with("group,x,mean,min,max,band_low,band_high,runs"),
                "{name}: {csv}"
            );
            assert!(
                csv.contains("adam (2 runs)") && csv.contains("sgd (1 run)"),
                "{name}"
            );
        }
    }
    // A param against a metric, and parallel coordinates of the differing params.
    let children: Vec<i64> = all
        .iter()
        .filter(|r| r.parent.is_some())
        .map(|r| r.id)
        .collect();
    let scatter = lathe_core::runs::chart::scatter_chart(&project, &children, "lr", "acc").unwrap();
    let parallel =
        lathe_core::runs::chart::parallel_chart(&project, &children, &[], "loss.min").unwrap();
    for (name, plot) in [("scatter-lr-acc", &scatter), ("parallel-loss", &parallel)] {
        for ext in ["svg", "png", "csv"] {
            chart::write(plot, &out.join(format!("runs-{name}.{ext}"))).unwrap();
        }
    }
    let csv = scatter.csv().unwrap();
    assert_eq!(csv.lines().next(), Some("run,lr,acc"));
    assert!(csv.contains("sgd-0.1,0.1,0.975"), "{csv}");
    let csv = parallel.csv().unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("run,lr,optimizer,loss.min"),
        "the params that differ, then the metric"
    );
    assert!(csv.contains("sgd-0.1,0.1,sgd,0.05"), "{csv}");
    assert_eq!(
        lathe_core::runs::chart::scatter_chart(&project, &children, "nope", "acc")
            .unwrap_err()
            .code(),
        "not_found"
    );
    let e = line_chart(
        &project,
        &ids,
        &LineOptions {
            metric: "nope".into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "not_found");
    let e = line_chart(
        &project,
        &ids,
        &LineOptions {
            metric: "loss".into(),
            smooth: Some(1.5),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "bad_argument");
}

/// Seed bands: a group's mean with ± std or a 95 % confidence band over its runs, per column.
#[test]
fn group_bands_are_the_spread_of_the_runs() {
    use lathe_core::chart::Figure;
    use lathe_core::runs::chart::{Band, LineOptions, line_chart};
    let (_tmp, project) = fixture_project();
    let ids: Vec<i64> = all_runs(&project)
        .iter()
        .filter(|r| r.parent.is_some())
        .map(|r| r.id)
        .collect();
    // t(0.975) with 1 degree of freedom (scipy.stats.t.ppf(0.975, 1)).
    let t1 = 12.706_204_736_174_7;
    for band in [Band::MinMax, Band::Std, Band::Ci95] {
        let chart = line_chart(
            &project,
            &ids,
            &LineOptions {
                metric: "loss".into(),
                group_by: Some("params.optimizer".into()),
                band,
                ..Default::default()
            },
        )
        .unwrap();
        let csv = chart.csv().unwrap();
        let mut checked = 0;
        for line in csv.lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            let num = |i: usize| cells[i].parse::<f64>().ok();
            let (mean, min, max, runs) = (
                num(2).unwrap(),
                num(3).unwrap(),
                num(4).unwrap(),
                num(7).unwrap(),
            );
            if runs != 2.0 {
                // One run: no spread but min–max's (a point).
                assert_eq!(cells[5].is_empty(), band != Band::MinMax, "{line}");
                continue;
            }
            // Each of the two runs has one point in a column: they are its min and max.
            let half = match band {
                Band::MinMax => {
                    assert_eq!((num(5), num(6)), (Some(min), Some(max)), "{line}");
                    continue;
                }
                Band::Std => (max - min) / 2f64.sqrt(),
                Band::Ci95 => t1 * (max - min) / 2.0,
            };
            assert!((mean - (min + max) / 2.0).abs() < 1e-12, "{line}");
            assert!(
                (num(5).unwrap() - (mean - half)).abs() < 1e-9,
                "{band:?} {line}"
            );
            assert!(
                (num(6).unwrap() - (mean + half)).abs() < 1e-9,
                "{band:?} {line}"
            );
            checked += 1;
        }
        if band != Band::MinMax {
            assert!(checked >= 10, "{band:?}: {checked} columns of two runs");
        }
        assert!(
            chart.title.contains(match band {
                Band::MinMax => "min–max band",
                Band::Std => "± std band",
                Band::Ci95 => "95% CI band",
            }),
            "{}",
            chart.title
        );
    }
    assert_eq!(Band::parse("iqr").unwrap_err().code(), "bad_argument");
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn groups_come_in_the_order_of_their_values() {
    let run = |id: i64, lr: Option<&str>| runs::RunRecord {
        id,
        source_run_id: format!("r{id}"),
        experiment: "e".into(),
        source: "s".into(),
        name: None,
        status: "FINISHED".into(),
        lifecycle_stage: "active".into(),
        start_time: None,
        end_time: None,
        parent: None,
        parent_run_id: None,
        artifact_uri: None,
        params: lr
            .map(|v| BTreeMap::from([("lr".to_owned(), v.to_owned())]))
            .unwrap_or_default(),
        tags: BTreeMap::new(),
        metrics: BTreeMap::new(),
    };
    let order = |values: &[Option<&str>]| -> Vec<Option<String>> {
        let listed: Vec<_> = (0..).zip(values).map(|(i, v)| run(i, *v)).collect();
        runs::group(&listed, "params.lr", |_| runs::Agg::Last)
            .unwrap()
            .into_iter()
            .map(|g| g.value)
            .collect()
    };
    let some = |v: &str| Some(v.to_owned());
    // Numbers by number (as text, "10.0" would come before "1e-3" and "2"), the runs without last.
    assert_eq!(
        order(&[Some("0.1"), None, Some("10.0"), Some("2"), Some("1e-3")]),
        [some("1e-3"), some("0.1"), some("2"), some("10.0"), None]
    );
    // Any value that is not a number: all as text.
    assert_eq!(
        order(&[Some("sgd"), Some("adam"), None, Some("10")]),
        [some("10"), some("adam"), some("sgd"), None]
    );
}

/// Every point of every metric of a run: step, timestamp, the value's exact text.
type Histories = BTreeMap<String, Vec<(i64, i64, String)>>;

/// Every run of a project as the comparison sees it: without Lathe's own ids and the source's
/// name, keyed by the source's run id; and every metric's full history.
fn comparable(project: &lathe_core::Project) -> BTreeMap<String, (Json, Histories)> {
    all_runs(project)
        .into_iter()
        .map(|r| {
            let histories = r
                .metrics
                .keys()
                .map(|k| {
                    let mut points: Vec<(i64, i64, String)> = runs::history(project, r.id, k)
                        .unwrap()
                        .iter()
                        .map(|p| (p.step, p.timestamp, format!("{:?}", p.value)))
                        .collect();
                    points.sort();
                    (k.clone(), points)
                })
                .collect();
            let mut json = serde_json::to_value(&r).unwrap();
            for field in ["id", "source", "parent"] {
                json.as_object_mut().unwrap().remove(field);
            }
            (r.source_run_id.clone(), (json, histories))
        })
        .collect()
}

/// A live `mlflow server` (started here, on 127.0.0.1) imports to exactly the runs its own
/// SQLite database imports to through the `mlflow.db` reader; a re-import after runs were
/// added, changed and deleted on the server brings exactly those changes.
#[test]
fn a_tracking_server_imports_as_its_own_database_does() {
    let server = lathe_testkit::mlflow::Server::start();
    let script = repo().join("tests/fixtures/mlflow_server_log.py");
    server.python(&script, &["first"]);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (new_project(dir_a.path()), new_project(dir_b.path()));
    let url = Path::new(&server.url);
    let first = import(&a, url);
    assert_eq!(first.kind, runs::SourceKind::MlflowServer);
    assert_eq!(first.source, server.url);
    assert_eq!(
        (first.runs_new, first.registered_models),
        (9, 1),
        "{first:?}"
    );
    import(&b, &server.db);
    let (from_server, from_db) = (comparable(&a), comparable(&b));
    assert_eq!(from_server.len(), 9);
    assert_eq!(from_server, from_db);
    // The long history came whole, across pages.
    let long = all_runs(&a)
        .into_iter()
        .find(|r| r.name.as_deref() == Some("long"))
        .unwrap();
    assert_eq!(runs::history(&a, long.id, "loss").unwrap().len(), 30_000);
    // The registry: versions, the alias, the runs they came from.
    let models = runs::registered_models(&a).unwrap();
    let expected = runs::registered_models(&b).unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].aliases.get("champion"), Some(&2));
    let fields = |v: &runs::RegisteredVersion| {
        (
            v.version,
            v.run_id.clone(),
            v.source.clone(),
            v.status.clone(),
        )
    };
    assert_eq!(
        models[0].versions.iter().map(fields).collect::<Vec<_>>(),
        expected[0].versions.iter().map(fields).collect::<Vec<_>>()
    );
    // Both versions' ONNX files came through the server's artifact proxy and were registered
    // with the runs they came from; the alias points at version 2's model.
    assert_eq!(first.model_versions_registered, 2, "{first:?}");
    for v in &models[0].versions {
        let onnx = v.onnx_path.as_deref().unwrap();
        assert!(
            onnx.starts_with("runs:/") && onnx.ends_with("/model/model.onnx"),
            "{onnx}"
        );
        assert!(v.lathe_version.is_some(), "{v:?}");
    }
    let fixture = std::fs::read(repo().join("tests/fixtures/models/gb_binary.onnx")).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&fixture))
    };
    let champion = registry::show(&a, "churn-model@champion").unwrap();
    assert_eq!(champion.sha256, sha);
    assert_eq!(
        Some(champion.reference()),
        models[0].versions[1].lathe_version
    );
    assert_eq!(champion.run_source_id, models[0].versions[1].run_id);
    assert_eq!(champion.features.len(), 30);
    assert_eq!(champion.features[0], "f00");

    // One experiment, by name; an unknown one is named in the error, with the ones there are.
    let dir_c = tempfile::tempdir().unwrap();
    let c = new_project(dir_c.path());
    let vision = runs::import_from(
        &c,
        url,
        &["vision".to_owned()],
        runs::Read::Changes,
        &Job::silent(),
    )
    .unwrap();
    assert_eq!((vision.experiments, vision.runs_new), (1, 3), "{vision:?}");
    let e = runs::import_from(
        &c,
        url,
        &["audio".to_owned()],
        runs::Read::Changes,
        &Job::silent(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("\"audio\"") && e.to_string().contains("churn"),
        "{e}"
    );

    // Unchanged: nothing new. A re-import reads the changes since the last read: of these
    // runs (all started and ended long before), only the deleted one.
    assert_eq!(first.since, None, "a first import reads every run");
    let again = import(&a, url);
    assert!(again.since.is_some(), "{again:?}");
    assert_eq!(
        (again.runs_new, again.runs_updated, again.runs_unchanged),
        (0, 0, 1),
        "{again:?}"
    );
    // Two new runs, one run resumed and ended again, one deleted: exactly those changes, and
    // the deleted run held before.
    server.python(&script, &["more"]);
    let after = import(&a, url);
    assert_eq!(
        (after.runs_new, after.runs_updated, after.runs_unchanged),
        (2, 2, 1),
        "{after:?}"
    );
    import(&b, &server.db);
    assert_eq!(comparable(&a), comparable(&b));
    // A deleted run restored is seen by a read of changes; a tag set on a finished run (MLflow
    // keeps no update time for a run) only by a read of every run.
    server.python(&script, &["later"]);
    let restored = import(&a, url);
    assert_eq!(
        (restored.runs_new, restored.runs_updated),
        (0, 1),
        "{restored:?}"
    );
    import(&b, &server.db);
    let (held, expected) = (comparable(&a), comparable(&b));
    let differ: Vec<_> = held
        .iter()
        .zip(&expected)
        .filter(|(h, e)| h != e)
        .map(|(_, e)| format!("{e:?}"))
        .collect();
    assert!(
        differ.len() == 1 && differ[0].contains("unstable") && differ[0].contains("reviewed"),
        "{differ:?}"
    );
    let everything =
        runs::import_from(&a, url, &[], runs::Read::Everything, &Job::silent()).unwrap();
    assert_eq!(everything.since, None);
    assert_eq!(
        (
            everything.runs_new,
            everything.runs_updated,
            everything.runs_unchanged
        ),
        (0, 1, 10),
        "{everything:?}"
    );
    assert_eq!(comparable(&a), comparable(&b));

    // A source read by experiment records them, and a sync (the desktop's button and watch)
    // reads the same ones again; a source read whole records none and syncs whole.
    let sources = runs::sources(&c).unwrap();
    assert_eq!(sources[0].experiments, vec!["vision".to_owned()]);
    let synced = runs::sync(&c, &server.url, runs::Read::Changes, &Job::silent()).unwrap();
    assert_eq!(synced.experiments, 1, "{synced:?}");
    assert_eq!(
        runs::sources(&c).unwrap()[0].experiments,
        vec!["vision".to_owned()]
    );
    assert!(runs::sources(&a).unwrap()[0].experiments.is_empty());
    let whole = runs::sync(&a, &server.url, runs::Read::Everything, &Job::silent()).unwrap();
    assert_eq!(
        (
            whole.experiments,
            whole.runs_new,
            whole.runs_updated,
            whole.runs_unchanged
        ),
        (after.experiments, 0, 0, 11),
        "{whole:?}"
    );
}

/// What a user gets wrong about a server's URL is named, and nothing is imported.
#[test]
fn a_server_that_is_not_there_or_not_mlflow_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let project = new_project(dir.path());
    let before = crate::support::tree(dir.path());
    let port = lathe_testkit::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let e = runs::import(&project, Path::new(&url), &Job::silent()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&url) && text.contains("cannot connect"),
        "{text}"
    );
    // An HTTP server that is not MLflow: SeaweedFS's S3 gateway.
    let s3 = lathe_testkit::s3::shared();
    let e = runs::import(&project, Path::new(&s3.endpoint), &Job::silent()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("MLflow tracking server"), "{text}");
    // Credentials in the URL never reach the message.
    let e = runs::import_from(
        &project,
        Path::new(&format!("http://someone:hunter2@127.0.0.1:{port}")),
        &[],
        runs::Read::Changes,
        &Job::silent(),
    )
    .unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert_eq!(crate::support::tree(dir.path()), before);
    assert!(runs::sources(&project).unwrap().is_empty());
}

/// Grouping by every param but the seed: each configuration's seeds are one group, named by its
/// other params, whose filter selects exactly them; the chart draws one mean per configuration.
#[test]
fn params_except_the_seed_group_a_configurations_seeds() {
    use lathe_core::runs::chart::{Band, LineOptions, line_chart};
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let log = tmp.path().join("seeds.jsonl");
    let mut lines = String::new();
    let mut want: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (i, (lr, seed)) in [("0.1", 1), ("0.1", 2), ("0.1", 3), ("0.01", 1), ("0.01", 2)]
        .into_iter()
        .enumerate()
    {
        let run = format!("r{i}");
        lines.push_str(&format!(
            "{{\"event\": \"start\", \"run\": \"{run}\", \"experiment\": \"seeds\", \
             \"params\": {{\"lr\": {lr}, \"opt\": \"adam\", \"seed\": {seed}}}}}\n"
        ));
        for step in 0..4 {
            let acc = 0.5 + 0.1 * step as f64 + 0.01 * seed as f64;
            lines.push_str(&format!(
                "{{\"event\": \"metric\", \"run\": \"{run}\", \"step\": {step}, \
                 \"metrics\": {{\"acc\": {acc}}}}}\n"
            ));
            if step == 3 {
                want.entry(lr).or_default().push(acc);
            }
        }
    }
    std::fs::write(&log, lines).unwrap();
    runs::import(&project, &log, &Job::silent()).unwrap();
    let listed = runs::list(&project, &RunQuery::default()).unwrap().runs;
    let groups = runs::group(&listed, "params.* except seed", |_| runs::Agg::Last).unwrap();
    let names: Vec<Option<&str>> = groups.iter().map(|g| g.value.as_deref()).collect();
    assert_eq!(
        names,
        [Some("lr=0.01, opt=adam"), Some("lr=0.1, opt=adam")],
        "{groups:?}"
    );
    for g in &groups {
        let lr = if g.value.as_deref() == Some("lr=0.1, opt=adam") {
            "0.1"
        } else {
            "0.01"
        };
        let values = &want[lr];
        assert_eq!(g.runs as usize, values.len());
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((g.metrics["acc"].mean.0 - mean).abs() < 1e-12, "{g:?}");
        // The group's filter selects exactly its runs.
        let selected = runs::list(
            &project,
            &RunQuery {
                filter: Some(g.filter.clone()),
                ..RunQuery::default()
            },
        )
        .unwrap();
        assert_eq!(selected.total, g.runs, "{}", g.filter);
    }
    // Several keys, `params.` optional; a bad form is a clear error.
    let by_two = runs::group(&listed, "params.* except params.seed, lr", |_| {
        runs::Agg::Last
    })
    .unwrap();
    assert_eq!(by_two.len(), 1);
    assert_eq!(by_two[0].value.as_deref(), Some("opt=adam"));
    let err = runs::group(&listed, "params.* but seed", |_| runs::Agg::Last).unwrap_err();
    assert!(err.to_string().contains("except KEY"), "{err}");

    let ids: Vec<i64> = listed.iter().map(|r| r.id).collect();
    let chart = line_chart(
        &project,
        &ids,
        &LineOptions {
            metric: "acc".into(),
            group_by: Some("params.* except seed".into()),
            band: Band::Std,
            ..Default::default()
        },
    )
    .unwrap();
    let csv = tmp.path().join("bands.csv");
    lathe_core::chart::write(&chart, &csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("\"lr=0.1, opt=adam (3 runs)\""), "{text}");
    assert!(text.contains("\"lr=0.01, opt=adam (2 runs)\""), "{text}");
    assert!(
        chart.title.contains("by params.* except seed"),
        "{}",
        chart.title
    );
}

/// A listing of thousands of runs reads them by scanning each table (in two halves on two
/// connections from 2,000 runs on), a short page by seeking its runs: both must give every
/// run whole and alike, and filters on text attributes must still see them.
#[test]
fn long_listings_read_runs_whole_as_short_pages_do() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(&tmp.path().join("project"));
    let log = tmp.path().join("many.jsonl");
    let mut text = String::new();
    for i in 0..2_600 {
        let parent = if i % 7 == 3 {
            format!(", \"parent\": \"r{}\"", i - 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{{\"event\": \"start\", \"run\": \"r{i}\", \"experiment\": \"e{}\", \"name\": \"run-{i}\", \"time\": {}, \"params\": {{\"lr\": {}, \"seed\": {i}{}}}, \"tags\": {{\"team\": \"t{}\"}}{parent}}}\n",
            i % 3,
            1_000 + (i * 37) % 2_600,
            [0.1, 0.01, 0.001][i % 3],
            if i % 5 == 0 { ", \"extra\": \"yes\"" } else { "" },
            i % 4,
        ));
        for step in 0..2 {
            text.push_str(&format!(
                "{{\"event\": \"metric\", \"run\": \"r{i}\", \"step\": {step}, \"time\": {}, \"metrics\": {{\"loss\": {}{}}}}}\n",
                2_000 + step,
                if i % 11 == 0 { "\"NaN\"".to_owned() } else { format!("{}", (i % 97) as f64 / (step + 1) as f64) },
                if i % 2 == 0 { format!(", \"acc\": {}", i as f64 / 2_600.0) } else { String::new() },
            ));
        }
        if i % 9 != 0 {
            text.push_str(&format!(
                "{{\"event\": \"end\", \"run\": \"r{i}\", \"status\": \"{}\", \"time\": 3000}}\n",
                if i % 13 == 0 { "FAILED" } else { "FINISHED" }
            ));
        }
    }
    std::fs::write(&log, &text).unwrap();
    import(&project, &log);
    let query = |filter: Option<&str>, offset: usize, limit: Option<usize>| RunQuery {
        filter: filter.map(str::to_owned),
        sort: Some("metrics.loss:desc".to_owned()),
        offset,
        limit,
        ..Default::default()
    };
    let whole = runs::list(&project, &query(None, 0, None)).unwrap();
    assert_eq!(whole.runs.len(), 2_600);
    let mut paged = Vec::new();
    for offset in (0..2_600).step_by(100) {
        paged.extend(
            runs::list(&project, &query(None, offset, Some(100)))
                .unwrap()
                .runs,
        );
    }
    // Compared by their Debug text: a NaN metric is not equal to itself.
    let same = |a: &[runs::RunRecord], b: &[runs::RunRecord], what: &str| {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(format!("{x:?}"), format!("{y:?}"), "{what}");
        }
    };
    same(
        &whole.runs,
        &paged,
        "a long listing reads runs as short pages do",
    );
    let r5 = whole.runs.iter().find(|r| r.source_run_id == "r5").unwrap();
    assert_eq!(r5.params.len(), 3, "{:?}", r5.params);
    assert_eq!(r5.tags["team"], "t1");
    assert_eq!(r5.metrics["loss"].last.0, 5.0 / 2.0);
    assert!(!r5.metrics.contains_key("acc"));
    let r11 = whole
        .runs
        .iter()
        .find(|r| r.source_run_id == "r11")
        .unwrap();
    assert_eq!(r11.parent, None, "r11 names no parent; r10's parent is r9");
    let r10 = whole
        .runs
        .iter()
        .find(|r| r.source_run_id == "r10")
        .unwrap();
    let r9 = whole.runs.iter().find(|r| r.source_run_id == "r9").unwrap();
    assert_eq!(r10.parent, Some(r9.id));
    // Filters on the text attributes (which a listing reads only when asked for) and on
    // start_time, against the same predicate over the whole runs.
    for (filter, keep) in [
        (
            "attributes.run_name LIKE 'run-1%' and status = 'FAILED'",
            &(|r: &runs::RunRecord| {
                r.name.as_deref().unwrap_or("").starts_with("run-1") && r.status == "FAILED"
            }) as &dyn Fn(&runs::RunRecord) -> bool,
        ),
        ("status = 'RUNNING'", &|r| r.status == "RUNNING"),
        // 520 runs: more than a seek reads, too few of the 2,600 for a scan.
        ("params.extra = 'yes'", &|r| r.params.contains_key("extra")),
        ("attributes.run_id = 'r17'", &|r| r.source_run_id == "r17"),
        ("start_time < 1500", &|r| {
            r.start_time.unwrap_or(i64::MAX) < 1500
        }),
    ] {
        let got = runs::list(&project, &query(Some(filter), 0, None))
            .unwrap()
            .runs;
        let want: Vec<_> = whole.runs.iter().filter(|r| keep(r)).cloned().collect();
        assert!(!want.is_empty(), "{filter} matches some runs");
        same(&got, &want, filter);
    }
    for sort in ["run_name", "status:desc", "run_id"] {
        let got = runs::list(
            &project,
            &RunQuery {
                sort: Some(sort.to_owned()),
                ..Default::default()
            },
        )
        .unwrap()
        .runs;
        let mut want = whole.runs.clone();
        want.sort_by_key(|r| r.id);
        let key = |r: &runs::RunRecord| match sort {
            "run_name" | "run_name:asc" => r.name.clone().unwrap_or_default(),
            "status:desc" => r.status.clone(),
            _ => r.source_run_id.clone(),
        };
        want.sort_by(|a, b| {
            let o = key(a).cmp(&key(b));
            if sort.ends_with(":desc") {
                o.reverse()
            } else {
                o
            }
        });
        assert_eq!(
            got.iter().map(key).collect::<Vec<_>>(),
            want.iter().map(key).collect::<Vec<_>>(),
            "sorted by {sort}"
        );
    }
}
