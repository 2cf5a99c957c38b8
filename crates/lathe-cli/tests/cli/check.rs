//! `lathe check`: GX's JSON shape, the CI gate (exit 3), JUnit XML valid against the JUnit
//! schema (xmllint), the Markdown summary, results stored and audit-logged in a project, and
//! bad suites that store nothing.

use std::process::Command as Process;

use crate::{file, json, lathe, path_str};

fn suite(name: &str) -> String {
    file(&format!("tests/fixtures/checks/{name}"))
}

#[test]
fn json_shape_junit_markdown_and_the_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("checks.xml");
    let markdown = tmp.path().join("checks.md");
    let html = tmp.path().join("checks.html");
    let out = lathe()
        .current_dir(tmp.path())
        .args([
            "check",
            &suite("cars.suite.json"),
            "--data",
            &file("tests/fixtures/data/cars.csv"),
            "--junit",
            path_str(&junit),
            "--markdown",
            path_str(&markdown),
            "--html",
            path_str(&html),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a failed expectation exits 3");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["success"], false);
    assert_eq!(v["statistics"]["evaluated_expectations"], 38);
    assert_eq!(v["statistics"]["successful_expectations"], 23);
    assert_eq!(v["statistics"]["unsuccessful_expectations"], 15);
    let first_map = &v["results"][1];
    assert_eq!(
        first_map["expectation_type"],
        "expect_column_values_to_not_be_null"
    );
    for key in [
        "element_count",
        "unexpected_count",
        "unexpected_percent",
        "partial_unexpected_list",
    ] {
        assert!(first_map["result"].get(key).is_some(), "{key}");
    }
    assert_eq!(first_map["result"]["unexpected_count"], 6);

    // The JUnit XML validates against the JUnit schema, one testcase per expectation.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 38);
    assert_eq!(xml.matches("<failure ").count(), 15);
    let xsd = file("tests/fixtures/junit/JUnit.xsd");
    let lint = Process::new("xmllint")
        .args(["--noout", "--schema", &xsd, path_str(&junit)])
        .output()
        .expect("xmllint (libxml2-utils; the README's test command installs it)");
    assert!(
        lint.status.success(),
        "the JUnit XML fails the schema: {}",
        String::from_utf8_lossy(&lint.stderr)
    );
    // The schema check can fail: a report without its required system-out does.
    let broken = tmp.path().join("broken.xml");
    std::fs::write(&broken, xml.replace("    <system-out/>\n", "")).unwrap();
    let lint = Process::new("xmllint")
        .args(["--noout", "--schema", &xsd, path_str(&broken)])
        .output()
        .unwrap();
    assert!(!lint.status.success(), "xmllint rejects an invalid report");

    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        md.contains("23 of 38 expectations passed, 15 failed"),
        "{md}"
    );
    assert!(
        md.contains("| 2 | `expect_column_values_to_not_be_null` | Horsepower |"),
        "{md}"
    );

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>") && !page.contains("<script"),
        "self-contained"
    );
    assert!(
        page.contains("<b>Failed</b>: 23 of 38 expectations passed"),
        "{page}"
    );
    assert!(
        page.contains("subaru"),
        "the unexpected examples are listed"
    );

    // A passing suite exits 0.
    let passing = tmp.path().join("passing.json");
    std::fs::write(
        &passing,
        r#"{"name": "ok", "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "Name"}}]}"#,
    )
    .unwrap();
    let out = lathe()
        .current_dir(tmp.path())
        .args([
            "check",
            path_str(&passing),
            "--data",
            &file("tests/fixtures/data/cars.csv"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("PASSED: ok — 1 of 1"), "{text}");
}

#[test]
fn results_are_stored_per_dataset_version_and_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let dir = path_str(&dir);
    json(&["init", dir]);
    json(&[
        "--project",
        dir,
        "dataset",
        "import",
        &file("tests/fixtures/data/people.csv"),
        "--name",
        "people",
    ]);
    let out = lathe()
        .args([
            "--project",
            dir,
            "check",
            &suite("people.suite.json"),
            "--data",
            "people@1",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let listed = json(&["--project", dir, "check", "list", "--dataset", "people"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["data"], "people@1");
    assert_eq!(listed[0]["success"], false);
    assert_eq!(listed[0]["evaluated"], 98);
    let shown = json(&[
        "--project",
        dir,
        "check",
        "show",
        &listed[0]["id"].to_string(),
    ]);
    assert_eq!(shown["results"].as_array().unwrap().len(), 98);
    let log = json(&["--project", dir, "log"]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "check.run"),
        "{log}"
    );
    assert!(
        json(&["--project", dir, "check", "list", "--dataset", "other"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_suites_are_clear_errors_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let dir = path_str(&dir);
    json(&["init", dir]);
    let cases: &[(&str, &[&str])] = &[
        ("{\"expectations\": [\n{\"type\": 1,}]}", &["line 2"]),
        (
            r#"{"expectations": [{"type": "expect_column_values_to_be_purple", "kwargs": {"column": "Name"}}]}"#,
            &["expect_column_values_to_be_purple", "not one Lathe runs"],
        ),
        (
            r#"{"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "Colour"}}]}"#,
            &["no column \"Colour\"", "Horsepower"],
        ),
        (
            r#"{"expectations": [{"type": "expect_column_mean_to_be_between", "kwargs": {"column": "Horsepower", "min_value": [1]}}]}"#,
            &["min_value", "number or a text"],
        ),
    ];
    for (i, (body, needles)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("bad{i}.json"));
        std::fs::write(&path, body).unwrap();
        crate::check(
            &[
                "--project",
                dir,
                "check",
                path_str(&path),
                "--data",
                &file("tests/fixtures/data/cars.csv"),
            ],
            "bad_policy",
            needles,
        );
    }
    assert!(
        json(&["--project", dir, "check", "list"])
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
    crate::check(
        &["--project", dir, "check", &suite("cars.suite.json")],
        "bad_argument",
        &["--data"],
    );
}

/// A policy on the demo project: inline expectations, the model's metrics and schema,
/// fairness, drift between the two breast-cancer versions and an alert rule; each rule's
/// observed value is the number `lathe model eval`, `lathe fairness` and `lathe drift` give.
#[test]
fn a_policy_gates_data_model_fairness_drift_and_alerts() {
    let (_tmp, dir) = crate::demo();
    let policy = std::path::Path::new(&dir).join("lathe-checks.yaml");
    std::fs::write(
        &policy,
        r#"# the release gate of the diabetes risk classifier
version: 1
name: risk release gate
data: diabetes_risk@1
expectations:
  - type: expect_column_values_to_not_be_null
    kwargs: {column: bmi}
  - type: expect_column_values_to_be_in_set
    kwargs: {column: sex, value_set: [1, 2]}
model:
  name: diabetes_risk_classifier
  metrics:
    - roc_auc >= 0.8
    - accuracy >= 0.99
  schema: true
fairness:
  sensitive: [sex]
  rules: [demographic_parity_ratio >= 0.5]
drift:
  reference: breast_cancer@1
  current: breast_cancer@2
  rules: [drift_share < 0.3]
  columns_must_not_drift: [mean radius, worst symmetry]
alerts:
  none_of: [duplicates, pii_like]
"#,
    )
    .unwrap();
    let out = lathe()
        .args(["--project", &dir, "check", path_str(&policy), "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["suite_name"], "risk release gate");
    let results = v["results"].as_array().unwrap();
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["expectation_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "expect_column_values_to_not_be_null",
            "expect_column_values_to_be_in_set",
            "lathe_model_schema_compatible",
            "lathe_model_metric",
            "lathe_model_metric",
            "lathe_fairness",
            "lathe_drift",
            "lathe_column_not_drifted",
            "lathe_column_not_drifted",
            "lathe_no_alert",
            "lathe_no_alert",
        ]
    );
    let eval = json(&[
        "--project",
        &dir,
        "model",
        "eval",
        "diabetes_risk_classifier",
        "diabetes_risk@1",
    ]);
    assert_eq!(
        results[3]["result"]["observed_value"],
        eval["metrics"]["roc_auc"]
    );
    assert_eq!(results[3]["success"], true);
    assert_eq!(
        results[4]["result"]["observed_value"],
        eval["metrics"]["accuracy"]
    );
    assert_eq!(results[4]["success"], false, "accuracy is below 0.99");
    assert_eq!(results[2]["success"], true, "{}", results[2]);
    let fair = json(&[
        "--project",
        &dir,
        "fairness",
        "diabetes_risk_classifier",
        "diabetes_risk@1",
        "--sensitive",
        "sex",
    ]);
    assert_eq!(
        results[5]["result"]["observed_value"],
        fair["by_sensitive"]["sex"]["demographic_parity_ratio"]
    );
    let drift = json(&[
        "--project",
        &dir,
        "drift",
        "breast_cancer@1",
        "breast_cancer@2",
    ]);
    assert_eq!(
        results[6]["result"]["observed_value"],
        drift["share_drifted"]
    );
    let radius = drift["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "mean radius")
        .unwrap();
    assert_eq!(results[7]["result"]["observed_value"], radius["score"]);
    assert_eq!(results[7]["success"], !radius["drifted"].as_bool().unwrap());
    assert_eq!(results[9]["kwargs"]["kind"], "duplicates");
    // Stored against the policy's data.
    let listed = json(&[
        "--project",
        &dir,
        "check",
        "list",
        "--dataset",
        "diabetes_risk",
    ]);
    assert_eq!(listed[0]["data"], "diabetes_risk@1");
    assert_eq!(listed[0]["evaluated"], 11);
}

#[test]
fn bad_policies_name_the_line_or_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "model:\n  name: m\n  metrics: [roc_auc >= 0.9\n",
            &["line 4"],
        ),
        ("modle:\n  name: m\n", &["\"modle\" is not a key"]),
        (
            "model:\n  name: m\n  metrics: [roc_auc => 0.9]\n",
            &["model.metrics[0]", "roc_auc => 0.9"],
        ),
        (
            "fairness:\n  model: m\n  sensitive: [sex]\n  rules: [tpr >= 0.8]\n",
            &["fairness.rules[0]", "demographic_parity_ratio"],
        ),
        ("drift:\n  current: a.csv\n", &["drift.reference"]),
        ("alerts:\n  none_of: [spooky]\n", &["spooky", "pii_like"]),
        ("name: nothing\n", &["checks nothing"]),
        ("suites: [missing.json]\n", &["missing.json"]),
        ("version: 2\nalerts: {none_of: [missing]}\n", &["version"]),
    ];
    for (i, (body, needles)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("bad{i}.yaml"));
        std::fs::write(&path, body).unwrap();
        crate::check(
            &[
                "check",
                path_str(&path),
                "--data",
                &file("tests/fixtures/data/cars.csv"),
            ],
            "bad_policy",
            needles,
        );
    }
}

/// A bundle exported with `--checks` carries the policy's data expectations; `lathe bundle
/// check` runs them on production data with no project and gives `lathe check`'s result; a
/// changed suite in the bundle fails verification; a bundle without checks says so.
#[test]
fn a_bundle_carries_its_checks_and_ops_run_them_without_a_project() {
    let (tmp, dir) = crate::demo();
    let policy = tmp.path().join("gate.yaml");
    std::fs::write(
        &policy,
        "name: production gate
expectations:
  - type: expect_column_values_to_not_be_null
    kwargs: {column: mean radius}
  - type: expect_column_values_to_be_between
    kwargs: {column: mean radius, min_value: 6, max_value: 20}
  - type: expect_column_max_to_be_between
    kwargs: {column: worst area, max_value: 5000}
model:
  name: breast_cancer_classifier
  metrics: [accuracy >= 0.5]
",
    )
    .unwrap();
    let folder = tmp.path().join("bundle");
    json(&[
        "--project",
        &dir,
        "bundle",
        "export",
        "breast_cancer_classifier@production",
        "--out",
        path_str(&folder),
        "--checks",
        path_str(&policy),
    ]);
    let carried: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("checks/expectations.json")).unwrap())
            .unwrap();
    assert_eq!(carried["name"], "production gate");
    assert_eq!(
        carried["expectations"].as_array().unwrap().len(),
        3,
        "the data expectations only (the model rule needs the project)"
    );

    let production = file("assets/datasets/breast_cancer_production_1.parquet");
    let ops = tempfile::tempdir().unwrap(); // no project here
    let run = |args: &[&str]| {
        lathe()
            .current_dir(ops.path())
            .args(args)
            .arg("--json")
            .output()
            .unwrap()
    };
    let out = run(&["bundle", "check", path_str(&folder), &production]);
    let code = out.status.code();
    let from_bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let suite_file = tmp.path().join("carried.json");
    std::fs::write(&suite_file, serde_json::to_vec(&carried).unwrap()).unwrap();
    let out = run(&["check", path_str(&suite_file), "--data", &production]);
    assert_eq!(out.status.code(), code, "the same verdict");
    let direct: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_bundle["results"], direct["results"]);
    assert_eq!(from_bundle["statistics"], direct["statistics"]);
    assert_eq!(from_bundle["results"].as_array().unwrap().len(), 3);

    // A changed suite no longer verifies, so it is not run.
    let path = folder.join("checks/expectations.json");
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(
        &path,
        serde_json::to_vec(&serde_json::json!({"name": "x", "expectations": []})).unwrap(),
    )
    .unwrap();
    crate::check(
        &["bundle", "check", path_str(&folder), &production],
        "bad_bundle",
        &["fails verification"],
    );

    // A bundle exported without --checks.
    let plain = tmp.path().join("plain");
    json(&[
        "--project",
        &dir,
        "bundle",
        "export",
        "breast_cancer_classifier@production",
        "--out",
        path_str(&plain),
    ]);
    crate::check(
        &["bundle", "check", path_str(&plain), &production],
        "bad_bundle",
        &["without --checks"],
    );
    // A policy with no data expectations cannot be carried.
    let rules_only = tmp.path().join("rules.yaml");
    std::fs::write(
        &rules_only,
        "model:\n  name: breast_cancer_classifier\n  metrics: [accuracy >= 0.5]\n",
    )
    .unwrap();
    crate::check(
        &[
            "--project",
            &dir,
            "bundle",
            "export",
            "breast_cancer_classifier@production",
            "--out",
            path_str(&tmp.path().join("never")),
            "--checks",
            path_str(&rules_only),
        ],
        "bad_policy",
        &["no data expectations"],
    );
}
