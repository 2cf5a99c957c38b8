//! The Monitoring panel on the demo's production classifier: the panel starts with the demo's
//! production log (weeks 1–12 as the reference, 13–24 as the analysis, by week of `scored_at`),
//! estimates the performance of every week without its labels, draws estimated against
//! realised performance, and flags the weeks whose estimate left the thresholds — the numbers
//! `lathe monitor` prints.

use lathe_core::display::number;

use crate::harness::{App, lathe};

#[tokio::test(flavor = "multi_thread")]
async fn monitor_the_production_model_and_see_the_drop_alerted() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    let app = App::start(&[demo_path]).await;
    app.click("[data-testid=nav-models]").await;
    app.click("[data-ref='breast_cancer_classifier@1']").await;
    app.wait_text_containing(
        "[data-testid=model-detail] h2",
        "breast_cancer_classifier@1",
    )
    .await;

    // The core's suggestion fills the pickers.
    app.scroll_to("[data-testid=model-monitor]").await;
    app.wait_prop(
        "[data-testid=monitor-reference]",
        "value",
        "breast_cancer_production@1",
    )
    .await;
    app.wait_prop(
        "[data-testid=monitor-analysis]",
        "value",
        "breast_cancer_production@2",
    )
    .await;
    app.wait_prop("[data-testid=monitor-timestamp]", "value", "scored_at")
        .await;
    app.wait_prop("[data-testid=monitor-period]", "value", "1w")
        .await;
    app.click("[data-testid=monitor-run]").await;
    app.find("[data-testid=monitor-chart] svg").await;

    let cli = lathe(&[
        "monitor",
        "breast_cancer_classifier@1",
        "breast_cancer_production@1",
        "breast_cancer_production@2",
        "--timestamp-column",
        "scored_at",
        "--chunk-period",
        "1w",
        "--json",
        "--project",
        demo_path,
    ]);
    let alerts = cli["alerts"].as_array().expect("alerts");
    assert!(!alerts.is_empty(), "the demo's drop alerts: {cli}");
    let verdict = app
        .wait_text_containing("[data-testid=monitor-verdict]", "alerts in")
        .await;
    assert!(
        verdict.starts_with(&format!("{} alerts", alerts.len())),
        "{verdict}"
    );

    // The first metric (in the report's order) with an alert is open; its table has the
    // CLI's estimate for the last week, which has no labels (no realised value) and alerts.
    let metric = cli["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m.as_str())
        .find(|m| alerts.iter().any(|a| a["metric"] == *m))
        .expect("a performance alert")
        .to_owned();
    let chunks = cli["chunks"].as_array().expect("chunks");
    let last = chunks.last().expect("a chunk");
    assert_eq!(last["period"], "analysis");
    assert!(last["metrics"]["roc_auc"]["realized"].is_null(), "{last}");
    app.wait_attr("[data-testid=monitor-chart]", "data-chart", &metric)
        .await;
    let estimate = number(
        last["metrics"][metric.as_str()]["estimated"]
            .as_f64()
            .expect("estimate"),
    );
    let table = app
        .wait_text_containing("[data-testid=monitor-table]", &estimate)
        .await;
    assert!(table.contains("⚑ alert"), "{table}");
    let svg = app
        .wait_text_containing("[data-testid=monitor-chart]", "realised")
        .await;
    assert!(svg.contains("thresholds"), "{svg}");
    app.scroll_to("[data-testid=model-monitor]").await;
    app.screenshot("35-monitoring").await;

    // The multivariate drift of the same weeks.
    app.click("[data-testid=monitor-tab-reconstruction_error]")
        .await;
    app.wait_attr(
        "[data-testid=monitor-chart]",
        "data-chart",
        "reconstruction_error",
    )
    .await;
    app.scroll_to("[data-testid=model-monitor]").await;
    app.screenshot("36-monitoring-multivariate").await;

    // Prediction drift: the score's distance per week against the whole reference, and the
    // features that drifted in each week, as the CLI's JSON says.
    app.click("[data-testid=monitor-tab-prediction_drift]")
        .await;
    app.wait_attr(
        "[data-testid=monitor-chart]",
        "data-chart",
        "prediction_drift",
    )
    .await;
    let drifted = last["column_drift"]
        .as_object()
        .expect("column drift")
        .iter()
        .filter(|(name, d)| *name != "score" && *name != "target" && d["drift"] == true)
        .count();
    assert!(drifted > 0, "the last week's features drift: {last}");
    app.wait_text_containing(
        "[data-testid=monitor-row]:last-child [data-testid=monitor-drifted]",
        &drifted.to_string(),
    )
    .await;
    app.scroll_to("[data-testid=model-monitor]").await;
    app.screenshot("37-monitoring-prediction-drift").await;

    // The last week's details: every column's drift in it, the drifted ones (features, the
    // score, the target where labelled) as the CLI's JSON flags them.
    let flagged = last["column_drift"]
        .as_object()
        .expect("column drift")
        .values()
        .filter(|d| d["drift"] == true && !d["score"].is_null())
        .count();
    let total = last["column_drift"].as_object().map_or(0, |o| o.len());
    app.click("[data-testid=monitor-row]:last-child [data-testid=monitor-chunk-open]")
        .await;
    app.wait_text_containing(
        "[data-testid=monitor-chunk-detail] h3",
        &format!("{flagged} of {total} columns drifted"),
    )
    .await;
    let first = app
        .text("[data-testid=monitor-chunk-detail] [data-testid=monitor-chunk-column]")
        .await;
    assert!(first.contains("⚑ drift"), "the drifted lead: {first}");
    app.scroll_to("[data-testid=monitor-chunk-detail]").await;
    app.screenshot("38-monitoring-chunk-columns").await;
    app.close().await;
}
