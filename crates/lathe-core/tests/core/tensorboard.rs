//! TensorBoard log folders import as TensorBoard reads them: the fixtures were written by
//! tensorboardX and TensorBoard's own writer and read back by TensorBoard's
//! `plugin_event_accumulator` (tests/fixtures/tensorboard_reference.py).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lathe_core::job::Job;
use lathe_core::runs::{self, RunQuery};
use serde_json::Value as Json;

use crate::support::{assert_refused_whole, new_project, repo};

fn logs() -> PathBuf {
    repo().join("tests/fixtures/tensorboard/logs")
}

fn expected() -> Json {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/tensorboard/expected.json"))
        .expect("expected.json");
    serde_json::from_str(&text).expect("JSON")
}

fn artifacts(dir: &Path, run: i64) -> Vec<String> {
    let db = rusqlite::Connection::open(dir.join("lathe.sqlite")).unwrap();
    let mut q = db
        .prepare("SELECT path FROM run_artifacts WHERE run_id = ?1 ORDER BY path")
        .unwrap();
    q.query_map([run], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn every_logged_value_imports_as_tensorboard_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let summary = runs::import(&project, &logs(), &Job::silent()).expect("import");
    assert_eq!(summary.kind, runs::SourceKind::Tensorboard);
    let expected = expected();
    let runs_expected = expected["runs"].as_object().unwrap();
    assert_eq!(
        summary.runs_new as usize,
        runs_expected.len(),
        "{summary:?}"
    );
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);

    let listed = runs::list(&project, &RunQuery::default()).unwrap().runs;
    let by_name: BTreeMap<String, &runs::RunRecord> = listed
        .iter()
        .map(|r| (r.name.clone().unwrap(), r))
        .collect();
    let mut points = 0;
    for (name, want) in runs_expected {
        let run = by_name
            .get(name)
            .unwrap_or_else(|| panic!("run {name} imported"));
        assert_eq!(run.experiment, "logs");
        assert_eq!(run.tags["tensorboard.run"], *name);
        // Scalars: every point, in order, with its step, wall time (ms) and value.
        let scalars = want["scalars"].as_object().unwrap();
        assert_eq!(
            run.metrics.keys().collect::<Vec<_>>(),
            scalars.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (tag, series) in scalars {
            let history = runs::history(&project, run.id, tag).unwrap();
            let series = series.as_array().unwrap();
            assert_eq!(history.len(), series.len(), "{name} {tag}");
            for (got, p) in history.iter().zip(series) {
                let p = p.as_array().unwrap();
                assert_eq!(got.step, p[0].as_i64().unwrap(), "{name} {tag}");
                let wall = p[1].as_f64().unwrap();
                assert_eq!(
                    got.timestamp,
                    (wall * 1000.0).round() as i64,
                    "{name} {tag}"
                );
                // bitwise: the float32 or float64 stored, widened
                assert_eq!(
                    got.value.to_bits(),
                    p[2].as_f64().unwrap().to_bits(),
                    "{name} {tag} step {}",
                    got.step
                );
                points += 1;
            }
            let last = series.last().unwrap().as_array().unwrap();
            assert_eq!(run.metrics[tag].last.0, last[2].as_f64().unwrap());
        }
        // The HParams session: hyperparameters as params, its status and group.
        let hparams = want["hparams"].as_object().unwrap();
        let params: BTreeMap<String, String> = hparams
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Json::String(s) => s.clone(),
                    Json::Bool(b) => b.to_string(),
                    Json::Number(n) => {
                        let x = n.as_f64().unwrap();
                        if x.fract() == 0.0 {
                            format!("{}", x as i64)
                        } else {
                            format!("{x}")
                        }
                    }
                    other => panic!("{other}"),
                };
                (k.clone(), text)
            })
            .collect();
        assert_eq!(run.params, params, "{name}");
        let status = match want["status"].as_i64() {
            Some(1) => "FINISHED",
            Some(2) => "FAILED",
            Some(3) => "RUNNING",
            _ => "UNKNOWN",
        };
        assert_eq!(run.status, status, "{name}");
        if let Some(group) = want["group_name"].as_str().filter(|g| !g.is_empty()) {
            assert_eq!(run.tags["tensorboard.group"], group, "{name}");
        }
        if let Some(end) = want["end_time_secs"].as_f64().filter(|&t| t > 0.0) {
            assert_eq!(run.end_time, Some((end * 1000.0).round() as i64), "{name}");
        }
        // Histograms, text and the like are listed, not imported.
        let listed = artifacts(tmp.path(), run.id);
        for (plugin, tags) in want["other_tags"].as_object().unwrap() {
            for tag in tags.as_array().unwrap() {
                let key = format!("{plugin}/{}", tag.as_str().unwrap());
                assert!(listed.contains(&key), "{name}: {key} in {listed:?}");
            }
        }
    }
    assert!(points >= 114, "{points} points compared");
    // The TF2 run's session: typed hyperparameters, failed, its group.
    let trial = by_name["tf2/trial-1"];
    assert_eq!(trial.params["units"], "64");
    assert_eq!(trial.params["dropout"], "0.25");
    assert_eq!(trial.params["augment"], "false");
    assert_eq!(trial.status, "FAILED");

    // Again: nothing new, nothing read (the folder's files have not changed).
    let again = runs::import(&project, &logs(), &Job::silent()).expect("re-import");
    assert_eq!(again.runs_new, 0, "{again:?}");
    assert_eq!(again.runs_updated, 0, "{again:?}");
}

/// A cut or corrupted event file is an error naming the file and the record's byte offset,
/// and the project is left as it was: no run of the folder is half-imported.
#[test]
fn cut_or_corrupted_event_files_are_refused_whole() {
    let source = logs().join("tf2/trial-1");
    let file = std::fs::read_dir(&source)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("tfevents")
        })
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    // The offset of the third record, to cut and flip inside it.
    let mut offsets = vec![0usize];
    while *offsets.last().unwrap() < bytes.len() {
        let at = *offsets.last().unwrap();
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        offsets.push(at + len + 16);
    }
    let third = offsets[2];
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "cut inside a record",
            bytes[..third + 20].to_vec(),
            format!("inside the record at byte {third}"),
        ),
        (
            "cut inside a header",
            bytes[..third + 5].to_vec(),
            format!("inside the header of the record at byte {third} (5 of its 12 bytes)"),
        ),
        (
            "a flipped bit in the data",
            {
                let mut b = bytes.clone();
                b[third + 14] ^= 0x10;
                b
            },
            format!("the record at byte {third} is corrupted"),
        ),
        (
            "a flipped bit in the length",
            {
                let mut b = bytes.clone();
                b[third + 1] ^= 0x01;
                b
            },
            format!("the record at byte {third} has a corrupted length"),
        ),
        (
            "framed bytes that are not an event",
            {
                let data = b"\xff\xff\xff\xff not a protobuf";
                let mut b = (data.len() as u64).to_le_bytes().to_vec();
                let crc = |d: &[u8]| crc32c(d).rotate_right(15).wrapping_add(0xa282_ead8);
                b.extend(crc(&b[..8]).to_le_bytes());
                b.extend(data);
                b.extend(crc(data).to_le_bytes());
                b
            },
            "the record at byte 0 is not a TensorBoard event".to_owned(),
        ),
    ];
    for (case, content, says) in cases {
        let broken = Path::new("tf2/trial-1").join(file.file_name().unwrap());
        assert_refused_whole(case, &logs(), &broken, &content, &says);
    }
}

/// CRC-32C (Castagnoli), bit by bit: the test's own, independent of the crate the reader uses.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
