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
            "lengths",
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

/// A project in a temp folder holding `diabetes` (442 rows × 11 columns).
fn project_with_diabetes() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path()).to_owned();
    json(&["init", &dir]);
    json(&[
        "dataset",
        "import",
        &asset("diabetes.csv"),
        "--project",
        &dir,
    ]);
    (tmp, dir)
}

#[test]
fn rows_pages_sorts_filters_and_exports() {
    let (_tmp, dir) = project_with_diabetes();
    let dir = dir.as_str();
    let page = json(&[
        "dataset",
        "rows",
        "diabetes",
        "--sort",
        "bmi:desc",
        "--limit",
        "3",
        "--offset",
        "1",
        "--columns",
        "bmi,age",
        "--filter",
        "sex = 2 and age >= 40",
        "--project",
        dir,
    ]);
    assert_eq!(
        keys(&page),
        [
            "columns",
            "dataset",
            "matching_rows",
            "offset",
            "rows",
            "sample",
            "total_rows",
            "version"
        ]
    );
    assert_eq!(page["sample"], serde_json::Value::Null);
    assert_eq!(
        (page["total_rows"].as_u64(), page["offset"].as_u64()),
        (Some(442), Some(1))
    );
    assert_eq!(page["columns"][0]["name"], "bmi");
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let bmis: Vec<f64> = rows.iter().map(|r| r[0].as_f64().unwrap()).collect();
    assert!(
        bmis.windows(2).all(|w| w[0] >= w[1]),
        "sorted descending: {bmis:?}"
    );
    assert!(rows.iter().all(|r| r[1].as_f64().unwrap() >= 40.0));
    // The same filter counted independently, from the CSV export of every matching row.
    let out = lathe()
        .args([
            "dataset",
            "rows",
            "diabetes",
            "--filter",
            "sex = 2 and age >= 40",
        ])
        .args(["--limit", "1000", "--csv", "--project", dir])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("age,sex,bmi,"), "{csv}");
    assert_eq!(
        csv.lines().count() as u64 - 1,
        page["matching_rows"].as_u64().unwrap()
    );

    lathe()
        .args([
            "dataset",
            "rows",
            "diabetes",
            "--limit",
            "2",
            "--project",
            dir,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("(rows 1–2 of 442)"));
    check(
        &[
            "dataset",
            "rows",
            "diabetes",
            "--filter",
            "bmi >",
            "--project",
            dir,
        ],
        "bad_argument",
        &["invalid filter", "expected a value", "character 6"],
    );
    check(
        &[
            "dataset",
            "rows",
            "diabetes",
            "--sort",
            "BMI",
            "--project",
            dir,
        ],
        "bad_argument",
        &["no column named 'BMI'", "'bmi'"],
    );
}

#[test]
fn diff_reports_schema_and_statistic_changes() {
    let (tmp, dir) = project_with_diabetes();
    let dir = dir.as_str();
    // Version 2: the first 100 rows, without the target column.
    let text = std::fs::read_to_string(asset("diabetes.csv")).unwrap();
    let v2: String = text
        .lines()
        .take(101)
        .map(|l| l.rsplit_once(',').unwrap().0.to_owned() + "\n")
        .collect();
    let file = tmp.path().join("diabetes.csv");
    std::fs::write(&file, v2).unwrap();
    json(&["dataset", "import", path_str(&file), "--project", dir]);
    let diff = json(&[
        "dataset",
        "diff",
        "diabetes@1",
        "diabetes@2",
        "--project",
        dir,
    ]);
    assert_eq!(
        keys(&diff),
        [
            "a",
            "alerts_added",
            "alerts_removed",
            "b",
            "columns",
            "schema"
        ]
    );
    assert_eq!(
        (diff["a"]["rows"].as_u64(), diff["b"]["rows"].as_u64()),
        (Some(442), Some(100))
    );
    assert_eq!(diff["schema"]["removed"][0]["name"], "target");
    assert_eq!(diff["columns"].as_array().unwrap().len(), 10);
    let age_count = diff["columns"][0]["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["statistic"] == "count")
        .unwrap();
    assert_eq!(age_count["delta"].as_f64(), Some(-342.0));
    // A file path works on either side, without storing anything.
    lathe()
        .args([
            "dataset",
            "diff",
            "diabetes",
            path_str(&file),
            "--project",
            dir,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Schema: unchanged"))
        .stdout(predicate::str::contains(
            "Statistics: no shared column changed",
        ));
    assert_eq!(
        json(&["info", "--project", dir])["counts"]["dataset_versions"],
        2
    );
}

#[test]
fn chart_writes_svg_png_and_csv() {
    let (tmp, dir) = project_with_diabetes();
    let dir = dir.as_str();
    for (args, file) in [
        (vec!["bmi"], "bmi.svg"),
        (vec!["sex", "--kind", "top-values"], "sex.png"),
        (vec!["--kind", "pearson"], "corr.csv"),
        (vec!["--kind", "missing"], "missing.svg"),
    ] {
        let out = tmp.path().join(file);
        let written = json(
            &[
                &["dataset", "chart", "diabetes"],
                args.as_slice(),
                &["--out", path_str(&out), "--project", dir],
            ]
            .concat(),
        );
        assert_eq!(written["out"], path_str(&out));
        let bytes = std::fs::read(&out).unwrap();
        match file.rsplit_once('.').unwrap().1 {
            "svg" => assert!(bytes.starts_with(b"<svg"), "{file}"),
            "png" => assert_eq!(&bytes[1..4], b"PNG", "{file}"),
            _ => assert!(
                String::from_utf8(bytes)
                    .unwrap()
                    .starts_with("column,age,sex,bmi")
            ),
        }
    }
    check(
        &[
            "dataset",
            "chart",
            "diabetes",
            "--out",
            "x.svg",
            "--project",
            dir,
        ],
        "bad_argument",
        &["name a column"],
    );
    lathe()
        .args([
            "dataset", "chart", "diabetes", "bmi", "--kind", "pie", "--out", "x.svg",
        ])
        .assert()
        .code(2);
}
