//! The Drift view on the demo project: compare breast_cancer's two versions, read the verdict
//! (the same as `lathe drift` says), open a column's distributions, and move the threshold;
//! then a stored version against a table on a Spark cluster.

use std::time::{Duration, Instant};

use crate::harness::{App, lathe};

/// The verdict banner's text once it holds `needle`.
async fn wait_verdict(app: &App, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = app.text("[data-testid=drift-verdict]").await;
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "verdict {text:?} never held {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Moves the what-if slider to 10^`log10`, as dragging it does (an input event that bubbles).
async fn move_threshold(app: &App, log10: f64) {
    app.client
        .execute(
            "const s = document.querySelector('[data-testid=drift-threshold]'); s.value = String(arguments[0]); s.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![serde_json::json!(log10)],
        )
        .await
        .expect("move the slider");
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_versions_open_a_column_and_move_the_threshold() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    // What the CLI says about the same comparison (a plain run; its result is stored too).
    let cli = lathe(&[
        "drift",
        "breast_cancer@1",
        "breast_cancer@2",
        "--json",
        "--project",
        demo_path,
    ]);
    let tested = cli["columns"].as_array().expect("columns").len();
    let drifted = cli["drifted_columns"].as_u64().expect("count");
    assert_eq!(cli["dataset_drift"], true, "the demo's batch 2 drifted");
    let strict = lathe(&[
        "drift",
        "breast_cancer@1",
        "breast_cancer@2",
        "--threshold=1e-9",
        "--json",
        "--project",
        demo_path,
    ]);
    let strict_drifted = strict["drifted_columns"].as_u64().expect("count");
    assert!(
        strict_drifted < drifted,
        "a stricter threshold flags fewer columns"
    );
    assert_eq!(
        strict["dataset_drift"], false,
        "and here clears the dataset"
    );

    let app = App::start(&[demo_path]).await;
    app.click("[data-testid=nav-drift]").await;
    app.find("[data-testid=drift-page]").await;
    // The previous version against the latest is proposed.
    let reference = app
        .find("[data-testid=drift-reference]")
        .await
        .prop("value")
        .await
        .expect("value");
    let current = app
        .find("[data-testid=drift-current]")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        (reference.as_deref(), current.as_deref()),
        (Some("breast_cancer@1"), Some("breast_cancer@2"))
    );
    let stored = |text: String| {
        text.trim()
            .parse::<u64>()
            .expect("a count of drift results")
    };
    let before = stored(app.text("[data-testid=nav-drift] .nav-count").await);
    app.click("[data-testid=drift-run]").await;
    let verdict = wait_verdict(&app, &format!("{drifted} of {tested} columns drifted")).await;
    assert!(verdict.starts_with("Dataset drift detected"), "{verdict}");
    // The CLI stored this very comparison above: the same report is stored once, so the
    // sidebar still counts it once (a new comparison, the windows below, is counted).
    app.find("[data-testid=drift-scores] svg").await;
    // The first drifted column's distributions are drawn; open another by clicking its row.
    app.find("[data-testid=drift-column-chart] svg").await;
    app.screenshot("17-drift").await;
    // Centred in the table's own scroll box, clear of its sticky header.
    app.client
        .execute(
            "document.querySelector(\"[data-column='mean radius']\").scrollIntoView({ block: 'center' });",
            vec![],
        )
        .await
        .expect("scroll the row into view");
    app.click("[data-column='mean radius'] button").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let label = app
            .find("[data-testid=drift-column-chart]")
            .await
            .attr("aria-label")
            .await
            .expect("attr")
            .unwrap_or_default();
        if label.ends_with("mean radius") {
            break;
        }
        assert!(Instant::now() < deadline, "chart label {label}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let chart = app.text("[data-testid=drift-column-chart]").await;
    assert!(
        chart.contains("reference") && chart.contains("current"),
        "{chart}"
    );
    app.scroll_to("[data-testid=drift-column-card]").await;
    app.screenshot("18-drift-column").await;

    // The what-if (a log-scale slider): every threshold at 1e-9 flags what the CLI's
    // --threshold 1e-9 flags, and the verdict flips.
    move_threshold(&app, -9.0).await;
    let verdict = wait_verdict(
        &app,
        &format!("{strict_drifted} of {tested} columns drifted"),
    )
    .await;
    assert!(verdict.starts_with("No dataset drift"), "{verdict}");
    assert_eq!(
        app.text("[data-testid=drift-threshold-value]").await,
        "1.0e-9"
    );
    app.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .expect("scroll");
    app.screenshot("19-drift-what-if").await;

    // The HTML report, exported through the save dialog, is the what-if's.
    let report = work.path().join("report.html");
    app.click("[data-testid=drift-export]").await;
    app.save_in_dialog("Export the drift report", &report).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !report.is_file() {
        if Instant::now() > deadline {
            app.screenshot("failed-drift-export").await;
            panic!("no report written (see target/e2e/failed-drift-export.png)");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let html = std::fs::read_to_string(&report).expect("read the report");
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
    assert!(
        html.contains(&format!(
            "No dataset drift</b>: {strict_drifted} of {tested} columns"
        )),
        "the report shows the what-if verdict"
    );

    // Drift over windows of 100 rows of the current version (it has no time column).
    app.type_into("[data-testid=drift-window]", "100rows").await;
    app.click("[data-testid=drift-run]").await;
    app.find("[data-testid=drift-over-time] svg").await;
    // A comparison not run before: stored, and the sidebar counts it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored(app.text("[data-testid=nav-drift] .nav-count").await) != before + 1 {
        assert!(
            Instant::now() < deadline,
            "the sidebar still counts {before} drift results"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.scroll_to("[data-testid=drift-over-time]").await;
    app.screenshot("20-drift-over-time").await;

    // The windows follow the what-if too: the over-time caption says what the CLI's windows
    // say at each threshold, and so does the exported report (before the windows were judged
    // again, they kept the stored thresholds' verdicts after the slider moved).
    let windows = |threshold: Option<&str>| -> String {
        let mut args = vec![
            "drift",
            "breast_cancer@1",
            "breast_cancer@2",
            "--window",
            "100rows",
            "--json",
            "--project",
            demo_path,
        ];
        args.extend(threshold);
        lathe(&args)["windows"]["summary"]
            .as_str()
            .expect("a windows summary")
            .to_owned()
    };
    let at_default = windows(None);
    let at_strict = windows(Some("--threshold=1e-9"));
    assert_ne!(
        at_default, at_strict,
        "the strict threshold must change which windows drift, or this test shows nothing"
    );
    app.wait_text("[data-testid=drift-over-time-summary]", &at_default)
        .await;
    move_threshold(&app, -9.0).await;
    app.wait_text("[data-testid=drift-over-time-summary]", &at_strict)
        .await;
    app.scroll_to("[data-testid=drift-over-time]").await;
    app.screenshot("20b-drift-over-time-what-if").await;
    let windowed = work.path().join("windows.html");
    app.click("[data-testid=drift-export]").await;
    app.save_in_dialog("Export the drift report", &windowed)
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !windowed.is_file() {
        assert!(Instant::now() < deadline, "no windowed report written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let html = std::fs::read_to_string(&windowed).expect("read the report");
    assert!(
        html.contains(&format!("id=\"windows-summary\">{at_strict}</p>")),
        "the exported report's windows are the what-if's: {at_strict}"
    );

    // Six runs, four comparisons: the app's two are also among the CLI's four, and the same
    // report is stored once.
    assert_eq!(
        lathe(&["info", "--json", "--project", demo_path])["counts"]["drift_reports"],
        4
    );
    app.close().await;
}

/// Drift of a stored version against a table on a Spark cluster, computed there: the desktop's
/// verdict is the CLI's for the same two tables.
#[tokio::test(flavor = "multi_thread")]
async fn compare_a_stored_version_with_a_table_on_a_spark_cluster() {
    let spark = lathe_testkit::spark::shared();
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    let batch = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/datasets/breast_cancer_batch2.csv");
    let address = format!("{}/?path={}", spark.url, batch.display());
    let cli = lathe(&[
        "drift",
        "breast_cancer@1",
        &address,
        "--json",
        "--project",
        demo_path,
    ]);
    let tested = cli["columns"].as_array().expect("columns").len();
    let drifted = cli["drifted_columns"].as_u64().expect("count");

    let app = App::start(&[demo_path]).await;
    app.click("[data-testid=nav-drift]").await;
    app.find("[data-testid=drift-page]").await;
    app.select("[data-testid=drift-reference]", "breast_cancer@1")
        .await;
    app.select("[data-testid=drift-current]", "spark:").await;
    // Nothing listens there: the banner names the address and says what to check; no verdict.
    let nobody = format!(
        "127.0.0.1:{}/?path={}",
        lathe_testkit::free_port(),
        batch.display()
    );
    let field = app.find("[data-testid=drift-current-spark]").await;
    app.type_into("[data-testid=drift-current-spark]", &nobody)
        .await;
    app.click("[data-testid=drift-run]").await;
    let error = app
        .wait_text_containing(
            "[data-testid=error]",
            "cannot reach the Spark Connect server",
        )
        .await;
    let host = nobody.split('/').next().expect("host:port");
    assert!(error.contains(host), "{error}");
    app.screenshot("20a-drift-spark-unreachable").await;
    app.click("[data-testid=error] button").await;
    assert!(
        app.client
            .find_all(fantoccini::Locator::Css("[data-testid=drift-verdict]"))
            .await
            .expect("find_all")
            .is_empty(),
        "no verdict from an unreachable server"
    );
    // Cleared, the field no longer holds its `sc://` prefix: the whole address is typed.
    field.clear().await.expect("clear the address");
    app.type_into("[data-testid=drift-current-spark]", &address)
        .await;
    app.click("[data-testid=drift-run]").await;
    app.find_within("[data-testid=drift-verdict]", Duration::from_secs(180))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let needle = format!("{drifted} of {tested} columns drifted");
    loop {
        let text = app.text("[data-testid=drift-verdict]").await;
        if text.contains(&needle) {
            break;
        }
        if Instant::now() > deadline {
            app.screenshot("failed-drift-on-spark").await;
            panic!("verdict {text:?} never held {needle:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    app.find("[data-testid=drift-column-chart] svg").await;
    app.screenshot("20b-drift-against-spark").await;
    app.close().await;
}
