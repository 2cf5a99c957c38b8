//! W&B runs logged offline import as they were logged: the fixture's `wandb/` folder was written
//! by wandb 0.31.0 itself and read back by wandb's own framing and protobuf schema
//! (tests/fixtures/wandb_reference.py).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lathe_core::job::Job;
use lathe_core::runs::{self, RunQuery};
use serde_json::Value as Json;

use crate::support::{assert_refused_whole, copy_dir, new_project, repo};

fn folder() -> PathBuf {
    repo().join("tests/fixtures/wandb/wandb")
}

fn expected() -> Json {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/wandb/expected.json"))
        .expect("expected.json");
    serde_json::from_str(&text).expect("JSON")
}

/// A value as wandb's JSON holds it, as a float (NaN and the infinities as wandb spells them).
fn float(json: &str) -> f64 {
    match json {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        t => t.parse().unwrap(),
    }
}

#[test]
fn every_logged_value_imports_as_wandb_wrote_it() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let expected = expected();
    // As wandb leaves it: a `latest-run` link to the last run's folder, read once.
    let source = tmp.path().join("wandb");
    copy_dir(&folder(), &source);
    let latest = expected["runs"]["killed-run"]["folder"].as_str().unwrap();
    std::os::unix::fs::symlink(latest, source.join("latest-run")).unwrap();
    let summary = runs::import(&project, &source, &Job::silent()).expect("import");
    assert_eq!(summary.kind, runs::SourceKind::Wandb);
    let want_runs = expected["runs"].as_object().unwrap();
    assert_eq!(summary.runs_new as usize, want_runs.len(), "{summary:?}");
    // The one string logged to history is said, not imported.
    let skipped: Vec<String> = summary.skipped.iter().map(|s| s.item.clone()).collect();
    assert_eq!(skipped, ["history: phase"], "{:?}", summary.skipped);

    let listed = runs::list(&project, &RunQuery::default()).unwrap().runs;
    let by_id: BTreeMap<&str, &runs::RunRecord> = listed
        .iter()
        .map(|r| (r.source_run_id.as_str(), r))
        .collect();
    let mut points = 0;
    for (id, want) in want_runs {
        let run = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("run {id} imported"));
        assert_eq!(run.experiment, want["project"].as_str().unwrap());
        assert_eq!(run.name.as_deref(), want["display_name"].as_str());
        let status = match want["exit_code"].as_i64() {
            Some(0) => "FINISHED",
            Some(_) => "FAILED",
            None => "RUNNING",
        };
        assert_eq!(run.status, status, "{id}");
        let start = want["start_time"].as_f64().unwrap();
        assert!(
            (run.start_time.unwrap() - (start * 1000.0) as i64).abs() <= 1,
            "{id}: start {:?} vs {start}",
            run.start_time
        );
        // Tags, notes, group and job type, as tags.
        let tags: Vec<&str> = want["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(
            run.tags.get("wandb.tags").map(String::as_str).unwrap_or(""),
            tags.join(", "),
            "{id}"
        );
        for (tag, field) in [
            ("mlflow.note.content", "notes"),
            ("wandb.group", "group"),
            ("wandb.job_type", "job_type"),
        ] {
            assert_eq!(
                run.tags.get(tag).map(String::as_str).unwrap_or(""),
                want[field].as_str().unwrap(),
                "{id} {tag}"
            );
        }
        // Config: every key, objects dotted, strings as text, the rest as their JSON.
        let mut params = BTreeMap::new();
        for (key, json) in want["config"].as_object().unwrap() {
            if key == "_wandb" {
                continue;
            }
            let value: Json = serde_json::from_str(json.as_str().unwrap()).unwrap();
            flatten(key, &value, &mut params);
        }
        assert_eq!(run.params, params, "{id}");
        // History: every numeric value at its step and wall time, bitwise.
        let history = want["history"].as_array().unwrap();
        let mut series: BTreeMap<String, Vec<(i64, i64, f64)>> = BTreeMap::new();
        for row in history {
            let row = row.as_object().unwrap();
            let step: i64 = row["_step"].as_str().unwrap().parse().unwrap();
            let wall = float(row["_timestamp"].as_str().unwrap());
            for (key, value) in row {
                let value = value.as_str().unwrap();
                if key.starts_with('_') || value.starts_with('"') {
                    continue;
                }
                series.entry(key.clone()).or_default().push((
                    step,
                    (wall * 1000.0).round() as i64,
                    float(value),
                ));
            }
        }
        // Summary keys the history does not hold: one point at the last step.
        let last_step = series.values().flatten().map(|p| p.0).max().unwrap_or(0);
        let last_wall = series.values().flatten().map(|p| p.1).max().unwrap_or(0);
        for (key, value) in want["summary"].as_object().unwrap() {
            let numeric = !value.as_str().unwrap().starts_with('"');
            if numeric && !key.starts_with('_') && !series.contains_key(key) {
                let v = float(value.as_str().unwrap());
                series.insert(key.clone(), vec![(last_step, last_wall, v)]);
            }
        }
        assert_eq!(
            run.metrics.keys().collect::<Vec<_>>(),
            series.keys().collect::<Vec<_>>(),
            "{id}"
        );
        for (key, points_want) in &series {
            let got = runs::history(&project, run.id, key).unwrap();
            assert_eq!(got.len(), points_want.len(), "{id} {key}");
            for (g, (step, ms, value)) in got.iter().zip(points_want) {
                assert_eq!((g.step, g.timestamp), (*step, *ms), "{id} {key}");
                assert_eq!(g.value.to_bits(), value.to_bits(), "{id} {key} at {step}");
                points += 1;
            }
        }
        assert_eq!(
            run.artifact_uri.as_deref(),
            Some(
                source
                    .canonicalize()
                    .unwrap()
                    .join(want["folder"].as_str().unwrap())
                    .display()
                    .to_string()
                    .as_str()
            )
        );
    }
    assert!(points >= 12 * 4 * 2 + 400 * 2, "{points} points compared");
    let a = by_id["sweep-a"];
    assert_eq!(a.params["model.layers"], "3");
    assert_eq!(a.params["optimizer"], "adam");
    assert_eq!(a.params["augment"], "true");
    assert_eq!(a.params["milestones"], "[10,20]");
    assert_eq!(a.metrics["best_acc"].last.0, 0.975);
    assert!(by_id["failed-run"].metrics["loss"].last.0 == 7.25);

    // Again: nothing new (the folder's files have not changed).
    let again = runs::import(&project, &source, &Job::silent()).expect("re-import");
    assert_eq!((again.runs_new, again.runs_updated), (0, 0), "{again:?}");

    // One run folder, and one .wandb file, import on their own.
    let one = tempfile::tempdir().unwrap();
    let project = new_project(one.path());
    let run_folder = folder().join(want_runs["failed-run"]["folder"].as_str().unwrap());
    let file = run_folder.join("run-failed-run.wandb");
    assert_eq!(
        runs::SourceKind::detect(&file).unwrap(),
        runs::SourceKind::Wandb
    );
    let got = runs::import(&project, &run_folder, &Job::silent()).expect("one folder");
    assert_eq!((got.kind, got.runs_new), (runs::SourceKind::Wandb, 1));
}

fn flatten(key: &str, value: &Json, out: &mut BTreeMap<String, String>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        Json::String(s) => {
            out.insert(key.to_owned(), s.clone());
        }
        other => {
            out.insert(key.to_owned(), other.to_string());
        }
    }
}

/// The offsets of a record log's chunks (header, length and type), as wandb frames them.
fn chunks(bytes: &[u8]) -> Vec<(usize, usize, u8)> {
    let mut out = Vec::new();
    let mut at = 7;
    while at + 7 <= bytes.len() {
        let left = 32768 - at % 32768;
        if left < 7 {
            at += left;
            continue;
        }
        let len = u16::from_le_bytes([bytes[at + 4], bytes[at + 5]]) as usize;
        out.push((at, len, bytes[at + 6]));
        at += 7 + len;
    }
    out
}

/// A cut or corrupted record log is an error naming the file and the byte offset, and the
/// project is left as it was: no run of the folder is half-imported.
#[test]
fn cut_or_corrupted_logs_are_refused_whole() {
    let expected = expected();
    let killed = expected["runs"]["killed-run"]["folder"].as_str().unwrap();
    let file = folder().join(killed).join("run-killed-run.wandb");
    let bytes = std::fs::read(&file).unwrap();
    let chunks = chunks(&bytes);
    // A record split across the first block's end: its first piece, and its last.
    let first = chunks
        .iter()
        .find(|c| c.2 == 2)
        .copied()
        .expect("a record spans two blocks");
    let last = chunks.iter().find(|c| c.2 == 4).copied().unwrap();
    let third = chunks[2].0;
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "cut at a block's end (a killed job)",
            bytes[..(first.0 / 32768 + 1) * 32768].to_vec(),
            format!("ends inside the record at byte {}", first.0),
        ),
        (
            "cut inside a chunk",
            bytes[..third + 9].to_vec(),
            format!("ends inside the record at byte {third}"),
        ),
        (
            "a flipped bit in a record",
            {
                let mut b = bytes.clone();
                b[third + 10] ^= 0x10;
                b
            },
            format!("the chunk at byte {third} fails its CRC-32 check"),
        ),
        (
            "a flipped bit in the last piece of a split record",
            {
                let mut b = bytes.clone();
                b[last.0 + 8] ^= 0x01;
                b
            },
            format!("the chunk at byte {} fails its CRC-32 check", last.0),
        ),
        (
            "only the header (killed before the first flush)",
            bytes[..7].to_vec(),
            "holds no run record".to_owned(),
        ),
        (
            "another format",
            b"SQLite format 3\0 and more".to_vec(),
            "not a W&B record log".to_owned(),
        ),
    ];
    for (case, content, says) in cases {
        let broken = Path::new(killed).join("run-killed-run.wandb");
        assert_refused_whole(case, &folder(), &broken, &content, &says);
    }
}
