use predicates::prelude::*;

use crate::{json, keys, lathe, path_str};

const INFO_KEYS: [&str; 8] = [
    "counts",
    "created_at",
    "lathe_version",
    "name",
    "object_store_bytes",
    // The size as every front end shows it (added with the one bytes formatter).
    "object_store_size",
    "path",
    "schema_version",
];

#[test]
fn init_creates_a_project_and_prints_its_info() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("churn");
    lathe()
        .args(["init", path_str(&dir), "--name", "Churn model"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Created project 'Churn model'"));
    assert!(dir.join("lathe.sqlite").is_file() && dir.join("objects").is_dir());
}

#[test]
fn init_json_is_the_info_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let info = json(&["init", path_str(&tmp.path().join("p"))]);
    assert_eq!(keys(&info), INFO_KEYS);
    assert_eq!(info["name"], "p", "the name defaults to the folder's");
}

#[test]
fn info_json_shape_and_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    json(&["init", dir, "--name", "demo"]);
    let info = json(&["info", "--project", dir]);
    assert_eq!(keys(&info), INFO_KEYS);
    assert_eq!(info["name"], "demo");
    assert_eq!(info["path"], dir);
    assert_eq!(
        info["schema_version"],
        lathe_core::project::migrations::latest_version()
    );
    assert_eq!(info["lathe_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        info["counts"],
        serde_json::json!({"audit_entries": 1, "objects": 0, "datasets": 0, "dataset_versions": 0, "experiments": 0, "runs": 0, "drift_reports": 0, "model_versions": 0, "bundles": 0, "checks": 0})
    );
    assert_eq!(info["object_store_bytes"], 0);
    let created = info["created_at"].as_str().unwrap();
    assert!(
        created.len() == 24 && created.ends_with('Z'),
        "RFC 3339 UTC with milliseconds: {created}"
    );
}

#[test]
fn info_text_lists_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    json(&["init", dir, "--name", "demo"]);
    lathe()
        .args(["info", "--project", dir])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^Project +demo$").unwrap())
        .stdout(
            predicate::str::is_match(format!(
                r"(?m)^Schema version +{}$",
                lathe_core::project::migrations::latest_version()
            ))
            .unwrap(),
        )
        .stdout(predicate::str::is_match(r"(?m)^audit entries +1$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^dataset versions +0$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^Object store +0 B$").unwrap());
}

#[test]
fn the_project_is_found_from_the_flag_the_environment_or_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    json(&["init", dir, "--name", "found"]);
    let sub = tmp.path().join("notebooks/2026");
    std::fs::create_dir_all(&sub).unwrap();
    // From the current folder's parents.
    let out = lathe()
        .current_dir(&sub)
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["name"],
        "found"
    );
    // From LATHE_PROJECT, wherever we are.
    let elsewhere = tempfile::tempdir().unwrap();
    lathe()
        .current_dir(elsewhere.path())
        .env("LATHE_PROJECT", dir)
        .args(["info"])
        .assert()
        .success()
        .stdout(predicate::str::contains("found"));
    // --project wins over LATHE_PROJECT.
    let other = tempfile::tempdir().unwrap();
    json(&["init", path_str(other.path()), "--name", "other"]);
    let out = lathe()
        .env("LATHE_PROJECT", dir)
        .args(["info", "--json", "--project", path_str(other.path())])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["name"],
        "other"
    );
}

#[test]
fn log_lists_the_audit_log_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    json(&["demo", dir]);
    let log = json(&["log", "--project", dir]);
    let entries = log.as_array().unwrap();
    assert_eq!(
        keys(&entries[0]),
        ["action", "at", "details", "id", "target", "tool", "user"]
    );
    let actions: Vec<_> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "demo.create",
            "model.alias",
            "model.register",
            "model.register",
            "model.register",
            "model.register",
            "runs.import",
            // breast_cancer (2 versions), breast_cancer_production (2), diabetes, diabetes_risk
            "dataset.import",
            "dataset.import",
            "dataset.import",
            "dataset.import",
            "dataset.import",
            "dataset.import",
            "project.create"
        ]
    );
    assert_eq!(entries[9]["tool"], "cli");
    assert!(entries[0]["id"].as_i64() > entries[9]["id"].as_i64());
    assert_eq!(
        json(&["log", "--project", dir, "--limit", "1"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    lathe()
        .args(["log", "--project", dir])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("demo.create").and(predicate::str::contains("project.create")),
        );
}

#[test]
fn demo_creates_the_demo_project() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let info = json(&["demo", path_str(&dir)]);
    assert_eq!(keys(&info), INFO_KEYS);
    assert_eq!(info["name"], "Lathe demo");
    assert_eq!(info["counts"]["datasets"], 4, "the demo holds its datasets");
    let names: Vec<_> = json(&["dataset", "list", "--project", path_str(&dir)])
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "breast_cancer",
            "breast_cancer_production",
            "diabetes",
            "diabetes_risk"
        ]
    );
    assert_eq!(json(&["info", "--project", path_str(&dir)]), info);
    lathe()
        .args(["demo", path_str(&tmp.path().join("demo2"))])
        .assert()
        .success()
        .stdout(predicate::str::contains("lathe-desktop"));
}

#[test]
fn help_and_version() {
    lathe()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("init").and(predicate::str::contains("demo")));
    lathe()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}
