//! `lathe drift`: the JSON shape of the issue, the CI gate (exit code 3), results stored in a
//! project, the HTML report in headless Chromium, and bad arguments.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::{check, json, keys, lathe, path_str};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/drift/data")
        .join(name);
    path.to_str().unwrap().to_owned()
}

/// Where screenshots go: `<workspace>/target/e2e/`, as for the desktop tests.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e")
}

#[test]
fn json_shape_and_the_ci_gate() {
    // Plain files need no project: run in an empty folder.
    let tmp = tempfile::tempdir().unwrap();
    let out = lathe()
        .current_dir(tmp.path())
        .args([
            "drift",
            &fixture("bc_reference.csv"),
            &fixture("bc_current_shifted.csv"),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "no --fail-on-drift: success");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "reference",
        "current",
        "dataset_drift",
        "share_drifted",
        "drift_share",
        "columns",
    ] {
        assert!(report.get(key).is_some(), "{key} in the report");
    }
    assert_eq!(report["reference"]["rows"], 285);
    assert_eq!(report["current"]["rows"], 284);
    assert_eq!(report["dataset_drift"], true);
    let column = &report["columns"][0];
    let k = keys(column);
    for key in [
        "name",
        "kind",
        "method",
        "score",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
        "n_reference",
        "n_current",
        "dropped_non_finite",
    ] {
        assert!(k.contains(&key), "{key} in a column: {k:?}");
    }
    assert_eq!(column["kind"], "numeric");
    assert_eq!(column["method"], "ks");
    assert!(!tmp.path().join("lathe.sqlite").exists(), "no project made");

    let gate = |current: &str| {
        lathe()
            .current_dir(tmp.path())
            .args([
                "drift",
                &fixture("bc_reference.csv"),
                &fixture(current),
                "--fail-on-drift",
            ])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(
        gate("bc_current_shifted.csv"),
        Some(3),
        "drift fails the gate"
    );
    assert_eq!(gate("bc_current_same.csv"), Some(0), "no drift passes");
}

#[test]
fn options_reach_the_core() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, c) = (
        fixture("methods_reference.csv"),
        fixture("methods_current.csv"),
    );
    let run = |extra: &[&str]| {
        let args = [&["drift", r.as_str(), c.as_str()][..], extra].concat();
        let out = lathe()
            .current_dir(tmp.path())
            .args(&args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let r = run(&[
        "--columns",
        "normal,cat",
        "--column-method",
        "cat=psi:0.2",
        "--method",
        "psi",
    ]);
    let columns = r["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 2);
    assert!(columns.iter().all(|c| c["method"] == "psi"));
    let cat = columns.iter().find(|c| c["name"] == "cat").unwrap();
    assert_eq!(cat["threshold"], 0.2);
    let r = run(&[
        "--columns",
        "normal",
        "--threshold",
        "0.5",
        "--drift-share",
        "1",
    ]);
    assert_eq!(r["columns"][0]["threshold"], 0.5);
    assert_eq!(r["drift_share"], 1.0);
    let windows = run(&["--columns", "normal", "--window", "500rows"]);
    assert_eq!(windows["windows"]["windows"].as_array().unwrap().len(), 3);
}

#[test]
fn results_in_a_project_are_stored_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path()).to_owned();
    json(&["init", &dir]);
    let p = ["--project", dir.as_str()];
    json(
        &[
            &p[..],
            &[
                "dataset",
                "import",
                &fixture("seattle_reference.csv"),
                "--name",
                "weather",
            ],
        ]
        .concat(),
    );
    json(
        &[
            &p[..],
            &[
                "dataset",
                "import",
                &fixture("seattle_current_shifted.csv"),
                "--name",
                "weather",
            ],
        ]
        .concat(),
    );
    let report = json(&[&p[..], &["drift", "weather@1", "weather@2"]].concat());
    assert_eq!(report["reference"]["name"], "weather");
    assert_eq!(report["reference"]["version"], 1);
    assert_eq!(report["current"]["version"], 2);
    let listed = json(&[&p[..], &["drift", "list"]].concat());
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["reference"], "weather@1");
    assert_eq!(listed[0]["dataset_drift"], report["dataset_drift"]);
    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let shown = json(&[&p[..], &["drift", "show", &id]].concat());
    assert_eq!(shown, report);
    // The same comparison again: the same report, stored once.
    let again = json(&[&p[..], &["drift", "weather@1", "weather@2"]].concat());
    assert_eq!(again, report);
    let listed = json(&[&p[..], &["drift", "list"]].concat());
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let out_dir = screenshot_dir();
    std::fs::create_dir_all(&out_dir).unwrap();
    let html = out_dir.join("drift-report.html");
    let tmp = tempfile::tempdir().unwrap();
    let status = lathe()
        .current_dir(tmp.path())
        .args([
            "drift",
            &fixture("windows_reference.csv"),
            &fixture("windows_current.csv"),
            "--time-column",
            "date",
            "--window",
            "28d",
            "--html",
            path_str(&html),
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(!text.contains("<script"), "no JavaScript");
    let shot = out_dir.join("drift-report.png");
    let _ = std::fs::remove_file(&shot);
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Process::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium (scripts/test.sh installs the chromium package)");
    let profile = tempfile::tempdir().unwrap();
    let out = Process::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", path_str(profile.path())),
            "--window-size=1200,1800",
            &format!("--screenshot={}", path_str(&shot)),
            &format!("file://{}", path_str(&html.canonicalize().unwrap())),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    // A blank page compresses to a few kilobytes; the report's text, table and charts do not.
    assert!(
        png.len() > 60_000,
        "the screenshot shows content ({} bytes)",
        png.len()
    );
}

#[test]
fn bad_arguments_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path());
    let (r, c) = (
        fixture("methods_reference.csv"),
        fixture("methods_current.csv"),
    );
    check(
        &["drift", &r, &c, "--method", "magic"],
        "bad_argument",
        &["magic", "kl_divergence"],
    );
    check(
        &["drift", &r, &c, "--column-method", "cat"],
        "bad_argument",
        &["COLUMN=METHOD"],
    );
    check(
        &["drift", &r, &c, "--method", "ks"],
        "bad_argument",
        &["'cat' is categorical"],
    );
    check(
        &["drift", &r, &c, "--threshold=-1"],
        "bad_argument",
        &["positive"],
    );
    check(
        &["drift", &r, &c, "--window", "soon"],
        "bad_argument",
        &["1000rows"],
    );
    check(
        &["drift", &r, &c, "--html", "report.pdf"],
        "bad_argument",
        &[".html"],
    );
    check(
        &["drift", &r, &c, "--columns", "nope"],
        "bad_argument",
        &["nope"],
    );
    check(
        &["--project", dir, "drift", &r, "missing@1"],
        "not_a_project",
        &[],
    );
    check(&["drift", &r], "bad_argument", &["REFERENCE and a CURRENT"]);
}

#[test]
fn bad_time_windows_and_shares_are_clear_errors_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path()).to_owned();
    json(&["init", &dir]);
    let p = ["--project", dir.as_str()];
    json(
        &[
            &p[..],
            &[
                "dataset",
                "import",
                &fixture("windows_reference.csv"),
                "--name",
                "w",
            ],
        ]
        .concat(),
    );
    json(
        &[
            &p[..],
            &[
                "dataset",
                "import",
                &fixture("windows_current.csv"),
                "--name",
                "w",
            ],
        ]
        .concat(),
    );
    fn drift<'a>(p: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [p, &["drift", "w@1", "w@2"], extra].concat()
    }
    check(
        &drift(&p, &["--time-column", "nope", "--window", "7d"]),
        "bad_argument",
        &["no column 'nope'"],
    );
    check(
        &drift(&p, &["--time-column", "temp_max", "--window", "7d"]),
        "bad_argument",
        &["'temp_max'", "dates or times"],
    );
    check(
        &drift(&p, &["--time-column", "weather", "--window", "7d"]),
        "bad_argument",
        &["'weather' row 1", "is not a date"],
    );
    check(
        &drift(&p, &["--time-column", "date", "--window", "1m"]),
        "bad_argument",
        &["1095 windows of 1m", "at most 1000"],
    );
    check(
        &drift(&p, &["--time-column", "date"]),
        "bad_argument",
        &["--window"],
    );
    check(
        &drift(&p, &["--drift-share", "2"]),
        "bad_argument",
        &["(0, 1]"],
    );
    assert_eq!(
        json(&[&p[..], &["info"]].concat())["counts"]["drift_reports"],
        0
    );
}
