use predicates::prelude::*;

use crate::{check, json, keys, lathe, path_str};

fn asset(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/datasets")
        .join(name);
    path.to_str().unwrap().to_owned()
}

#[test]
fn import_list_show() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    json(&["init", dir]);
    let imported = json(&[
        "dataset",
        "import",
        &asset("diabetes.csv"),
        "--project",
        dir,
    ]);
    assert_eq!(
        keys(&imported),
        [
            "columns",
            "dataset",
            "new_version",
            "rows",
            "sha256",
            "version"
        ]
    );
    assert_eq!(imported["dataset"], "diabetes");
    assert_eq!(
        (imported["rows"].as_u64(), imported["columns"].as_u64()),
        (Some(442), Some(11))
    );
    assert_eq!(imported["new_version"], true);
    let again = json(&[
        "dataset",
        "import",
        &asset("diabetes.csv"),
        "--project",
        dir,
    ]);
    assert_eq!(
        (again["new_version"].as_bool(), again["version"].as_i64()),
        (Some(false), Some(1))
    );
    json(&[
        "dataset",
        "import",
        &asset("breast_cancer.csv"),
        "--name",
        "cancer",
        "--project",
        dir,
    ]);

    let list = json(&["dataset", "list", "--project", dir]);
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cancer", "diabetes"]);
    assert_eq!(
        keys(&list[0]),
        [
            "columns",
            "dataset",
            "format",
            "imported_at",
            "latest_version",
            "rows",
            "versions"
        ]
    );

    let profile = json(&["dataset", "show", "diabetes@1", "--project", dir]);
    assert_eq!(
        keys(&profile),
        [
            "alerts",
            "columns",
            "correlations",
            "dataset",
            "duplicate_rows",
            "rows",
            "version"
        ]
    );
    let bmi = profile["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bmi")
        .unwrap();
    assert_eq!(
        keys(bmi),
        [
            "alerts",
            "count",
            "distinct",
            "dtype",
            "histogram",
            "max",
            "mean",
            "min",
            "name",
            "nulls",
            "quantiles",
            "skewness",
            "std",
            "top_values",
            "zeros"
        ]
    );
    assert_eq!(keys(&bmi["quantiles"]), ["p25", "p5", "p50", "p75", "p95"]);
    assert_eq!(keys(&bmi["histogram"]), ["counts", "edges"]);
    assert_eq!(keys(&profile["correlations"]), ["pearson", "spearman"]);
    assert_eq!(
        keys(&profile["correlations"]["pearson"]),
        ["columns", "values"]
    );
    lathe()
        .args(["dataset", "show", "diabetes", "--project", dir])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "diabetes@1: 442 rows × 11 columns",
        ));
    lathe()
        .args(["dataset", "list", "--project", dir])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^cancer +1 +569 +32 +csv").unwrap());
    let info = json(&["info", "--project", dir]);
    assert_eq!(info["counts"]["datasets"], 2);
    let log = json(&["log", "--project", dir, "--limit", "1"]);
    assert_eq!(
        (log[0]["action"].as_str(), log[0]["target"].as_str()),
        (Some("dataset.import"), Some("cancer@1"))
    );
}

#[test]
fn show_profiles_a_plain_file_without_a_project() {
    let tmp = tempfile::tempdir().unwrap();
    let out = lathe()
        .current_dir(tmp.path())
        .args(["dataset", "show", &asset("diabetes.csv"), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (profile["rows"].as_u64(), profile["version"].is_null()),
        (Some(442), true)
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing is stored"
    );
}

#[test]
fn dataset_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    json(&["init", dir]);
    let bad = tmp.path().join("ragged.csv");
    std::fs::write(&bad, "a,b\n1,2\n3,4,5\n").unwrap();
    check(
        &["dataset", "import", path_str(&bad), "--project", dir],
        "bad_input",
        &["ragged.csv", "line 3 has 3 fields"],
    );
    check(
        &["dataset", "show", "nope", "--project", dir],
        "not_found",
        &["no dataset named 'nope'"],
    );
    assert_eq!(json(&["info", "--project", dir])["counts"]["datasets"], 0);

    // Bad option values are usage errors.
    for args in [["--format", "xlsx"], ["--delimiter", "::"]] {
        lathe()
            .args(["dataset", "import", path_str(&bad), "--project", dir])
            .args(args)
            .assert()
            .code(2);
    }
}

#[test]
fn delimiter_and_null_values_options() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    json(&["init", dir]);
    let file = tmp.path().join("scores.txt");
    std::fs::write(&file, "who|score\nana|1.5\nbo|n/a\ncy|2.5\n").unwrap();
    let imported = json(&[
        "dataset",
        "import",
        path_str(&file),
        "--format",
        "csv",
        "--delimiter",
        "|",
        "--null-values",
        "n/a,-",
        "--project",
        dir,
    ]);
    assert_eq!(imported["columns"], 2);
    let profile = json(&["dataset", "show", "scores", "--project", dir]);
    let score = &profile["columns"][1];
    assert_eq!(
        (
            score["dtype"].as_str(),
            score["nulls"].as_u64(),
            score["mean"].as_f64()
        ),
        (Some("f64"), Some(1), Some(2.0))
    );
}
