//! Dataset import and profile, checked against pandas on real tables.
//!
//! The expected numbers come from `tests/fixtures/profile_reference.py` (pandas 2.3), committed
//! as `tests/fixtures/profiles/*.json`. Tolerance: relative error ≤ 1e-9 for means, standard
//! deviations, quantiles and skewness (or absolute ≤ 1e-12 near zero); counts, nulls, distinct
//! values, zeros, rows and duplicate rows exactly; min and max exactly.

use std::path::{Path, PathBuf};

use lathe_core::dataset::{self, ReadOptions};
use lathe_core::job::Job;
use serde_json::Value;

use crate::support::new_project;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn close(actual: f64, expected: f64) -> bool {
    let diff = (actual - expected).abs();
    diff <= 1e-12 || diff <= 1e-9 * actual.abs().max(expected.abs())
}

fn check_number(what: &str, actual: Option<f64>, expected: &Value) {
    match expected.as_f64() {
        None => assert!(
            actual.is_none(),
            "{what}: pandas has none, Lathe has {actual:?}"
        ),
        Some(e) => {
            let a = actual.unwrap_or_else(|| panic!("{what}: Lathe has none, pandas {e}"));
            assert!(close(a, e), "{what}: Lathe {a}, pandas {e}");
        }
    }
}

fn check_extreme(what: &str, actual: &Option<Value>, expected: &Value) {
    match (actual, expected) {
        (None, Value::Null) => {}
        (Some(Value::String(a)), Value::String(e)) => assert_eq!(a, e, "{what}"),
        (Some(a), e) => assert_eq!(a.as_f64(), e.as_f64(), "{what}: Lathe {a}, pandas {e}"),
        (None, e) => panic!("{what}: Lathe has none, pandas {e}"),
    }
}

#[test]
fn profiles_match_pandas_on_real_tables() {
    let dir = repo().join("tests/fixtures/profiles");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let reference: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let source = repo().join(reference["source"].as_str().unwrap());
        let tmp = tempfile::tempdir().unwrap();
        let project = new_project(tmp.path());
        let outcome = dataset::import(
            &project,
            &source,
            None,
            &ReadOptions::default(),
            &Job::silent(),
        )
        .unwrap();
        let profile = dataset::stored_profile(&project, &outcome.dataset).unwrap();
        let name = profile.dataset.clone();
        assert_eq!(
            profile.rows,
            reference["rows"].as_u64().unwrap(),
            "{name} rows"
        );
        assert_eq!(
            profile.duplicate_rows,
            reference["duplicate_rows"].as_u64().unwrap(),
            "{name} duplicate rows"
        );
        let expected_columns = reference["columns"].as_array().unwrap();
        assert_eq!(
            profile.columns.len(),
            expected_columns.len(),
            "{name} columns"
        );
        for (column, expected) in profile.columns.iter().zip(expected_columns) {
            let what = |stat: &str| format!("{name}.{}.{stat}", column.name);
            assert_eq!(column.name, expected["name"].as_str().unwrap());
            assert_eq!(
                column.count,
                expected["count"].as_u64().unwrap(),
                "{}",
                what("count")
            );
            assert_eq!(
                column.nulls,
                expected["nulls"].as_u64().unwrap(),
                "{}",
                what("nulls")
            );
            assert_eq!(
                column.distinct,
                expected["distinct"].as_u64().unwrap(),
                "{}",
                what("distinct")
            );
            assert_eq!(
                column.zeros,
                expected["zeros"].as_u64(),
                "{}",
                what("zeros")
            );
            check_number(&what("mean"), column.mean, &expected["mean"]);
            check_number(&what("std"), column.std, &expected["std"]);
            check_number(&what("skewness"), column.skewness, &expected["skewness"]);
            check_extreme(&what("min"), &column.min, &expected["min"]);
            check_extreme(&what("max"), &column.max, &expected["max"]);
            match (&column.quantiles, expected["quantiles"].as_object()) {
                (None, None) => {}
                (Some(q), Some(e)) => {
                    for (key, value) in [
                        ("p5", q.p5),
                        ("p25", q.p25),
                        ("p50", q.p50),
                        ("p75", q.p75),
                        ("p95", q.p95),
                    ] {
                        check_number(&what(key), Some(value), &e[key]);
                    }
                }
                (q, e) => panic!("{}: Lathe {q:?}, pandas {e:?}", what("quantiles")),
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} columns were compared");
}

#[test]
fn importing_the_same_bytes_again_makes_no_new_version() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let csv = repo().join("assets/datasets/diabetes.csv");
    let first = dataset::import(
        &project,
        &csv,
        None,
        &ReadOptions::default(),
        &Job::silent(),
    )
    .unwrap();
    assert!(first.new_version);
    assert_eq!(
        (
            first.dataset.as_str(),
            first.version,
            first.rows,
            first.columns
        ),
        ("diabetes", 1, 442, 11)
    );
    let again = dataset::import(
        &project,
        &csv,
        None,
        &ReadOptions::default(),
        &Job::silent(),
    )
    .unwrap();
    assert!(!again.new_version);
    assert_eq!(again.version, 1);

    // Changed bytes: version 2. The same bytes under another name: a new dataset, one object.
    let changed = tmp.path().join("diabetes.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("50,1,25.0,90,180,100.0,50,4,4.5,90,100\n");
    std::fs::write(&changed, text).unwrap();
    let second = dataset::import(
        &project,
        &changed,
        None,
        &ReadOptions::default(),
        &Job::silent(),
    )
    .unwrap();
    assert_eq!(
        (second.version, second.rows, second.new_version),
        (2, 443, true)
    );
    let copy = dataset::import(
        &project,
        &csv,
        Some("diabetes-copy"),
        &ReadOptions::default(),
        &Job::silent(),
    )
    .unwrap();
    assert_eq!(copy.version, 1);
    let info = project.info().unwrap();
    assert_eq!(info.counts["datasets"], 2);
    assert_eq!(info.counts["dataset_versions"], 3);
    assert_eq!(info.counts["objects"], 2, "identical data is stored once");
    assert_eq!(
        dataset::stored_profile(&project, "diabetes@1")
            .unwrap()
            .rows,
        442
    );
    assert_eq!(
        dataset::stored_profile(&project, "diabetes").unwrap().rows,
        443
    );
    let actions: Vec<_> = project
        .audit_log(None)
        .unwrap()
        .into_iter()
        .map(|e| e.target)
        .collect();
    assert_eq!(
        actions[..3],
        ["diabetes-copy@1", "diabetes@2", "diabetes@1"]
    );
}

#[test]
fn every_format_reads_the_same_table() {
    // The same small table in each format, written by hand (CSV, TSV, NDJSON, JSON) and by
    // polars itself (Parquet, IPC) from the imported CSV.
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let files = [
        (
            "t.csv",
            "id,city,score\n1,Oslo,0.5\n2,\"Paris, FR\",1.5\n3,Lima,\n",
        ),
        (
            "t.tsv",
            "id\tcity\tscore\n1\tOslo\t0.5\n2\tParis, FR\t1.5\n3\tLima\t\n",
        ),
        (
            "t.ndjson",
            "{\"id\":1,\"city\":\"Oslo\",\"score\":0.5}\n{\"id\":2,\"city\":\"Paris, FR\",\"score\":1.5}\n{\"id\":3,\"city\":\"Lima\",\"score\":null}\n",
        ),
        (
            "t.json",
            "[{\"id\":1,\"city\":\"Oslo\",\"score\":0.5},{\"id\":2,\"city\":\"Paris, FR\",\"score\":1.5},{\"id\":3,\"city\":\"Lima\",\"score\":null}]",
        ),
        (
            "crlf.csv",
            "id,city,score\r\n1,Oslo,0.5\r\n2,\"Paris, FR\",1.5\r\n3,Lima,\r\n",
        ),
        (
            "semicolon.csv",
            "id;city;score\n1;Oslo;0.5\n2;Paris, FR;1.5\n3;Lima;\n",
        ),
    ];
    for (name, text) in files {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let outcome = dataset::import(
            &project,
            &path,
            Some(&name.replace('.', "_")),
            &ReadOptions::default(),
            &Job::silent(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((outcome.rows, outcome.columns), (3, 3), "{name}");
        let profile = dataset::stored_profile(&project, &outcome.dataset).unwrap();
        let score = &profile.columns[2];
        assert_eq!(
            (score.count, score.nulls, score.mean),
            (2, 1, Some(1.0)),
            "{name}"
        );
        assert_eq!(
            profile.columns[1].max,
            Some(Value::from("Paris, FR")),
            "{name}"
        );
    }
    // Parquet and IPC: the stored Parquet copy of the CSV is itself a valid input.
    let csv = dataset::list(&project)
        .unwrap()
        .into_iter()
        .find(|d| d.dataset == "t_csv")
        .unwrap();
    assert_eq!(csv.format, "csv");
    let object: String = project
        .conn()
        .query_row("SELECT object_sha256 FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE d.name = 't_csv'", [], |r| r.get(0))
        .unwrap();
    let parquet = tmp.path().join("t.parquet");
    std::fs::copy(project.objects().path_of(&object), &parquet).unwrap();
    let outcome = dataset::import(
        &project,
        &parquet,
        Some("t_parquet"),
        &ReadOptions::default(),
        &Job::silent(),
    )
    .unwrap();
    assert_eq!((outcome.rows, outcome.columns), (3, 3));
}
