//! The Datasets view: browse, import with progress, read the profile.

use serde_json::Value;

use crate::harness::{App, lathe};

#[tokio::test(flavor = "multi_thread")]
async fn browse_the_demo_datasets_import_a_csv_and_read_its_profile() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    let cars =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/data/cars.csv");
    let cars_path = cars.canonicalize().expect("cars.csv");
    let cars_path = cars_path.to_str().expect("utf-8 path");

    let app = App::start(&[demo_path]).await;
    app.find("[data-testid=overview]").await;
    app.click("[data-testid=nav-datasets]").await;
    app.find("[data-testid=datasets] [data-dataset=breast_cancer]")
        .await;
    app.find("[data-testid=datasets] [data-dataset=diabetes]")
        .await;
    app.screenshot("06-datasets").await;

    // Import a real table with missing values by its path.
    app.type_into("[data-testid=dataset-path]", cars_path).await;
    app.click("[data-testid=import-path]").await;
    app.find("[data-testid=profile-summary]").await;
    assert_eq!(app.text("[data-testid=profile-title]").await, "cars@1");
    let summary = app.text("[data-testid=profile-summary]").await;
    assert!(summary.starts_with("406 rows × 9 columns"), "{summary}");

    // Every column's missing count on screen is the CLI's.
    let profile = lathe(&["dataset", "show", "cars", "--json", "--project", demo_path]);
    for column in profile["columns"].as_array().expect("columns") {
        let name = column["name"].as_str().expect("name");
        let css = format!("[data-column={name}] [data-stat=nulls]");
        let shown = app.find(&css).await.attr("data-value").await.expect("attr");
        assert_eq!(
            shown.as_deref().and_then(|v| v.parse::<u64>().ok()),
            column["nulls"].as_u64(),
            "{name}"
        );
    }
    let alerts = app.text("[data-testid=alerts]").await;
    assert!(
        alerts.contains("missing") && alerts.contains("Miles_per_Gallon"),
        "{alerts}"
    );
    let mpg_nulls = app
        .text("[data-column=Miles_per_Gallon] [data-stat=nulls]")
        .await;
    assert_eq!(mpg_nulls, "8 (2.0%)");
    app.screenshot("07-cars-profile").await;

    // The sidebar counts the new dataset.
    let nav = app.text("[data-testid=nav-datasets]").await;
    assert!(nav.ends_with('3'), "{nav}");
    assert_eq!(
        lathe(&["info", "--json", "--project", demo_path])["counts"]["datasets"],
        Value::from(3)
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_file_shows_its_error_and_imports_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("p");
    let project_path = project.to_str().expect("utf-8 path");
    lathe(&["init", project_path, "--json"]);
    let ragged = work.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3,4,5\n").expect("write");

    let app = App::start(&[project_path]).await;
    app.click("[data-testid=nav-datasets]").await;
    app.type_into(
        "[data-testid=dataset-path]",
        ragged.to_str().expect("utf-8"),
    )
    .await;
    app.click("[data-testid=import-path]").await;
    let alert = app.find("[role=alert]").await;
    assert_eq!(
        alert.attr("data-code").await.expect("attr").as_deref(),
        Some("bad_input")
    );
    let message = alert.text().await.expect("text");
    assert!(
        message.contains("line 3 has 3 fields but the header has 2"),
        "{message}"
    );
    app.screenshot("08-import-error").await;
    assert_eq!(
        lathe(&["info", "--json", "--project", project_path])["counts"]["datasets"],
        Value::from(0)
    );
    app.close().await;
}
