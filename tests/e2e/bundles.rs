//! The Bundles view on the demo project: export the fairness demo's classifier with an
//! evaluation dataset, a sensitive column, a line of model card text and a new signing key,
//! through the native save dialogs; the bundle verifies with the CLI, its card holds the text
//! and the fairness breakdown; "Serve locally" runs it behind `lathe serve` and its live panel
//! counts real requests and names the drifted features (`target/e2e/39-bundles-serve-locally.png`);
//! then `lathe-viewer` opens it in a window under Xvfb, screenshotted (`target/e2e/28-lathe-viewer.png`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{App, lathe, lathe_cli, screenshot_dir, x_display};

async fn wait_file(app: &App, path: &Path, shot: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if Instant::now() > deadline {
            app.screenshot(shot).await;
            panic!(
                "{} was not written (see target/e2e/{shot}.png)",
                path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `lathe-viewer`, built beside `lathe` by the same `cargo test`.
fn viewer_bin() -> PathBuf {
    let bin = lathe_cli().with_file_name("lathe-viewer");
    assert!(
        bin.is_file(),
        "{} is missing: run the whole suite",
        bin.display()
    );
    bin
}

#[tokio::test]
async fn export_a_signed_bundle_and_open_it_in_the_viewer() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    let app = App::start(&[demo_path]).await;
    app.click("[data-testid=nav-bundles]").await;
    app.find("[data-testid=bundle-form]").await;

    app.select("[data-testid=bundle-model]", "diabetes_risk_classifier@1")
        .await;
    app.select("[data-testid=bundle-eval]", "diabetes_risk@1")
        .await;
    app.click("[data-sensitive=sex]").await;
    app.click(".card-text summary").await;
    app.type_into(
        "[data-testid=card-intended_use]",
        "Triage support for the clinic's diabetes follow-up; not a diagnosis.",
    )
    .await;
    app.type_into("[data-testid=card-license]", "apache-2.0")
        .await;

    // A new signing key through the save dialog.
    let key = work.path().join("ops.key");
    app.click("[data-testid=bundle-new-key]").await;
    app.save_in_dialog("Save a new signing key", &key).await;
    wait_file(&app, &key, "failed-bundle-key").await;
    // The data checks the bundle carries for ops (`lathe bundle check`), typed as a path.
    let policy = work.path().join("lathe-checks.yaml");
    std::fs::write(
        &policy,
        "name: production data\nexpectations:\n  - type: expect_column_values_to_not_be_null\n    \
         kwargs: {column: bmi}\n  - type: expect_column_values_to_be_between\n    \
         kwargs: {column: bmi, min_value: 10, max_value: 60}\n",
    )
    .expect("write the policy");
    app.type_into(
        "[data-testid=bundle-checks]",
        policy.to_str().expect("utf-8"),
    )
    .await;
    app.screenshot("26-bundles-form").await;

    // Export through the save dialog.
    let out = work.path().join("risk.tar.gz");
    app.click("[data-testid=bundle-export]").await;
    app.save_in_dialog("Export the bundle", &out).await;
    app.find("[data-testid=bundle-exported]").await;
    app.find("[data-testid=bundles-table] tr[data-bundle]")
        .await;
    app.scroll_to("[data-testid=bundle-exported]").await;
    app.screenshot("27-bundles-exported").await;
    // The sidebar's count follows (it is read again after the export).
    app.wait_text("[data-testid=nav-bundles] .nav-count", "1")
        .await;

    // The CLI agrees: it verifies with the new key, and the card holds the text and the fairness.
    let public = format!("{}.pub", key.display());
    let out_path = out.to_str().expect("utf-8");
    let v = lathe(&["bundle", "verify", out_path, "--key", &public, "--json"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["signature"]["status"], "valid");
    let i = lathe(&["bundle", "inspect", out_path, "--json"]);
    let card = i["card"].as_str().expect("card");
    assert!(card.contains("Triage support for the clinic's diabetes follow-up"));
    assert!(card.contains("license: 'apache-2.0'"));
    assert!(card.contains("**sex**"), "the fairness breakdown by sex");
    // The carried checks run on production data without the project: the demo table passes.
    let table_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/datasets/diabetes_risk.csv");
    let checked = lathe(&[
        "bundle",
        "check",
        out_path,
        table_path.to_str().expect("utf-8"),
        "--json",
    ]);
    assert_eq!(
        checked["statistics"]["evaluated_expectations"], 2,
        "{checked}"
    );
    assert_eq!(checked["success"], true, "{checked}");
    let listed = lathe(&["bundle", "list", "--project", demo_path, "--json"]);
    assert_eq!(
        listed[0]["path"],
        std::fs::canonicalize(&out).unwrap().to_str().unwrap()
    );

    // Serve locally: the exported bundle behind `lathe serve`, fed rows whose bmi and s5 are
    // shifted; the live panel counts them and names the drifted features first.
    app.click("[data-testid=bundles-table] tr[data-bundle] [data-testid=bundle-serve]")
        .await;
    app.find("[data-testid=serve-panel]").await;
    let infer = app.text("[data-testid=serve-url]").await;
    let base = infer.split("/v2/").next().expect("a server URL").to_owned();
    let table = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/datasets/diabetes_risk.csv"),
    )
    .expect("the demo table");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let shifted: Vec<String> = lines
        .map(|l| {
            l.split(',')
                .zip(&header)
                .map(|(v, h)| match *h {
                    "bmi" | "s5" => (v.parse::<f64>().expect("a number") * 1.3).to_string(),
                    _ => v.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let body = format!("{}\n{}", header.join(","), shifted.join("\n"));
    let answer = reqwest::Client::new()
        .post(format!("{base}/invocations"))
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("the local server answers");
    assert_eq!(answer.status().as_u16(), 200, "{:?}", answer.text().await);
    app.wait_text("[data-testid=serve-requests]", "1").await;
    let summary = app
        .wait_text_containing("[data-testid=serve-drift-summary]", "features drifted")
        .await;
    assert!(
        !summary.starts_with("0 of"),
        "the shifted rows drift: {summary}"
    );
    let first = app.text("[data-testid=serve-drift-row] td").await;
    assert!(
        first == "bmi" || first == "s5",
        "the drifted features come first: {first}"
    );
    // The model's outputs on those rows, against its outputs on the evaluation data.
    let outputs = app
        .wait_text_containing("[data-testid=serve-output-drift]", "prediction")
        .await;
    assert!(outputs.contains("score"), "{outputs}");
    app.scroll_to("[data-testid=serve-panel]").await;
    app.screenshot("39-bundles-serve-locally").await;
    app.click("[data-testid=serve-stop]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        reqwest::get(format!("{base}/v2/health/live"))
            .await
            .is_err(),
        "Stop stops the server"
    );

    // lathe-viewer opens the bundle in a window of its own display.
    app.close().await;
    let x = x_display();
    let display = x.name.clone();
    let mut viewer = Command::new(viewer_bin())
        .arg(&out)
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lathe-viewer");
    tokio::time::sleep(Duration::from_secs(6)).await;
    if let Some(status) = viewer.try_wait().expect("viewer status") {
        let mut err = String::new();
        if let Some(mut e) = viewer.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        panic!("lathe-viewer exited ({status}) under Xvfb: {err}");
    }
    let shot = screenshot_dir().join("28-lathe-viewer.png");
    let grabbed = Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .env("DISPLAY", &display)
        .status();
    let _ = viewer.kill();
    let _ = viewer.wait();
    assert!(
        grabbed.map(|s| s.success()).unwrap_or(false) && shot.is_file(),
        "no screenshot of lathe-viewer (ImageMagick's import)"
    );
}
