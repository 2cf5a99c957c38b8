//! The Datasets view: browse, import with progress, read the profile.

use serde_json::Value;

use crate::harness::{App, lathe};

#[tokio::test(flavor = "multi_thread")]
async fn browse_the_demo_datasets_import_a_csv_and_read_its_profile() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    // A copy at a plain path: xdotool types it into the GTK dialog, and characters such as '-'
    // in a checkout's path were seen to be dropped under Xvfb.
    let cars = work.path().join("cars.csv");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/data/cars.csv"),
        &cars,
    )
    .expect("copy cars.csv");
    let cars_path = cars.to_str().expect("utf-8 path");

    let app = App::start(&[demo_path]).await;
    app.find("[data-testid=overview]").await;
    app.click("[data-testid=nav-datasets]").await;
    app.find("[data-testid=datasets] [data-dataset=breast_cancer]")
        .await;
    app.find("[data-testid=datasets] [data-dataset=diabetes]")
        .await;
    app.screenshot("06-datasets").await;

    // Import a real table with missing values through the native file dialog.
    app.click("[data-testid=import-dialog]").await;
    app.choose_file_in_dialog("Import a table", cars_path).await;
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

    // A chart card per column, drawn by lathe-core, and the heatmap.
    app.find("[data-testid=column-charts] [data-column=Horsepower] svg")
        .await;
    app.find("[data-testid=heatmap] svg").await;
    app.scroll_to("[data-testid=column-charts]").await;
    app.screenshot("07b-cars-charts").await;

    // The sidebar counts the new dataset.
    app.wait_text("[data-testid=nav-datasets] .nav-count", "5")
        .await;
    assert_eq!(
        lathe(&["info", "--json", "--project", demo_path])["counts"]["datasets"],
        Value::from(5)
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

#[tokio::test(flavor = "multi_thread")]
async fn open_a_dataset_from_an_s3_url_and_read_its_profile() {
    let s3 = lathe_testkit::s3::shared();
    let cars =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/data/cars.csv");
    let url = s3.upload(&cars, "team/cars.csv");
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("p");
    let project_path = project.to_str().expect("utf-8 path");
    lathe(&["init", project_path, "--json"]);

    let app = App::start_with_env(&[project_path], &s3.env()).await;
    app.click("[data-testid=nav-datasets]").await;
    app.click("[data-testid=open-url]").await;
    let field = app.find("[data-testid=dataset-path]").await;
    assert_eq!(
        field.prop("value").await.expect("value").as_deref(),
        Some("s3://")
    );
    app.type_into(
        "[data-testid=dataset-path]",
        url.trim_start_matches("s3://"),
    )
    .await;
    app.screenshot("07c-open-from-url").await;
    app.click("[data-testid=import-path]").await;
    app.find("[data-testid=profile-summary]").await;
    assert_eq!(app.text("[data-testid=profile-title]").await, "cars@1");
    let summary = app.text("[data-testid=profile-summary]").await;
    assert!(summary.starts_with("406 rows × 9 columns"), "{summary}");
    app.screenshot("07d-profile-from-s3").await;

    // The stored profile equals the one of the local file, and the version names the URL.
    let stored = lathe(&[
        "dataset",
        "show",
        "cars",
        "--json",
        "--project",
        project_path,
    ]);
    let local = lathe(&["dataset", "show", cars.to_str().expect("utf-8"), "--json"]);
    assert_eq!(stored["columns"], local["columns"]);
    let log = lathe(&["log", "--json", "--project", project_path]);
    assert!(log.to_string().contains(&url), "{log}");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_a_table_on_a_spark_cluster() {
    let spark = lathe_testkit::spark::shared();
    let cars =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/data/cars.csv");
    let address = format!("{}/?path={}", spark.url, cars.display());
    // The CLI's profile of the same table (which also warms the server's JVM).
    let cli = lathe(&["dataset", "show", &address, "--json"]);
    assert_eq!(cli["rows"], Value::from(406));
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("p");
    let project_path = project.to_str().expect("utf-8 path");
    lathe(&["init", project_path, "--json"]);

    let app = App::start(&[project_path]).await;
    app.click("[data-testid=nav-datasets]").await;
    app.click("[data-testid=open-spark]").await;
    let field = app.find("[data-testid=spark-address]").await;
    assert_eq!(
        field.prop("value").await.expect("value").as_deref(),
        Some("sc://")
    );
    app.type_into(
        "[data-testid=spark-address]",
        address.trim_start_matches("sc://"),
    )
    .await;
    app.screenshot("07e-open-from-spark").await;
    app.click("[data-testid=spark-profile]").await;
    app.find_within(
        "[data-testid=source-summary]",
        std::time::Duration::from_secs(120),
    )
    .await;
    assert_eq!(
        app.text("[data-testid=source-title]").await.trim(),
        format!("cars.csv on {}", spark.url)
    );
    let summary = app.text("[data-testid=source-summary]").await;
    assert!(summary.starts_with("406 rows × 9 columns"), "{summary}");
    assert!(summary.contains("Spark cluster"), "{summary}");
    // The table shows the cluster's numbers, as the CLI printed them.
    let nulls = app
        .find("[data-testid=profile-columns] tr[data-column=Horsepower] [data-stat=nulls]")
        .await
        .attr("data-value")
        .await
        .expect("attr");
    assert_eq!(nulls.as_deref(), Some("6"));
    assert_eq!(
        cli["columns"][4]["name"],
        Value::from("Horsepower"),
        "{cli}"
    );
    assert_eq!(cli["columns"][4]["nulls"], Value::from(6));
    // Its charts are drawn from the cluster's profile.
    app.find("[data-testid=column-charts] [data-column=Horsepower] .chart-svg svg")
        .await;
    app.screenshot("07f-profile-on-spark").await;
    // Its rows: a sample the cluster's LIMIT returns (all 406 of this table), said so.
    app.click("[data-testid=source-tab-rows]").await;
    let count = app
        .wait_text_containing("[data-testid=rows-count]", "a sample")
        .await;
    assert!(count.starts_with("406 rows"), "{count}");
    app.find("[data-testid=rows-viewport] tbody tr").await;
    app.screenshot("07g-rows-sample-on-spark").await;
    app.close().await;
}

/// The rows of `cars` as the CLI pages them: the reference for the table on screen.
fn cli_rows(project: &str, extra: &[&str]) -> Value {
    let args = [
        &["dataset", "rows", "cars", "--json", "--project", project],
        extra,
    ]
    .concat();
    lathe(&args)
}

#[tokio::test(flavor = "multi_thread")]
async fn page_sort_and_filter_rows_then_compare_versions() {
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("p");
    let project_path = project.to_str().expect("utf-8 path");
    lathe(&["init", project_path, "--json"]);
    let cars =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/data/cars.csv");
    lathe(&[
        "dataset",
        "import",
        cars.to_str().expect("utf-8"),
        "--json",
        "--project",
        project_path,
    ]);
    // Version 2: every other car, and "US" for "USA".
    let text = std::fs::read_to_string(&cars).expect("read");
    let v2: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, l)| l.replace(",USA", ",US") + "\n")
        .collect();
    let v2_path = work.path().join("cars.csv");
    std::fs::write(&v2_path, v2).expect("write");
    lathe(&[
        "dataset",
        "import",
        v2_path.to_str().expect("utf-8"),
        "--json",
        "--project",
        project_path,
    ]);

    let app = App::start(&[project_path]).await;
    app.click("[data-testid=nav-datasets]").await;
    app.click("[data-testid=datasets] [data-dataset=cars] button")
        .await;
    app.find("[data-testid=profile-summary]").await;
    app.click("[data-testid=tab-rows]").await;
    let count = app.find("[data-testid=rows-count][data-matching]").await;
    assert_eq!(
        count.attr("data-matching").await.expect("attr").as_deref(),
        Some("203")
    );

    // Header clicks sort ascending, then descending: the first row is the CLI's. The columns
    // take their widths from the page on screen, so each click waits for its rows, as a person
    // would: a click while the headers move can land on the neighbouring column.
    app.find("[data-row='0'] td").await;
    app.click("[data-sort-column=Horsepower]").await;
    let expected = cli_rows(project_path, &["--sort", "Horsepower", "--limit", "1"]);
    let first_name = expected["rows"][0][0].as_str().expect("name").to_owned();
    app.wait_text("[data-row='0'] td:nth-child(2)", &first_name)
        .await;
    app.find("[aria-sort=ascending] [data-sort-column=Horsepower]")
        .await;
    app.click("[data-sort-column=Horsepower]").await;
    app.find("[aria-sort=descending] [data-sort-column=Horsepower]")
        .await;
    let expected = cli_rows(project_path, &["--sort", "Horsepower:desc", "--limit", "1"]);
    let first_name = expected["rows"][0][0].as_str().expect("name").to_owned();
    app.wait_text("[data-row='0'] td:nth-child(2)", &first_name)
        .await;

    // A filter: the count and the rows are the CLI's.
    app.type_into(
        "[data-testid=rows-filter]",
        "Origin = 'Japan' and Miles_per_Gallon > 30",
    )
    .await;
    app.click("[data-testid=rows-apply]").await;
    let expected = cli_rows(
        project_path,
        &[
            "--filter",
            "Origin = 'Japan' and Miles_per_Gallon > 30",
            "--sort",
            "Horsepower:desc",
            "--limit",
            "1000",
        ],
    );
    let matching = expected["matching_rows"]
        .as_u64()
        .expect("count")
        .to_string();
    app.find(&format!(
        "[data-testid=rows-count][data-matching='{matching}']"
    ))
    .await;
    let last = expected["rows"].as_array().expect("rows").len() - 1;
    // Scroll to the end: the last row is fetched and drawn.
    app.client
        .execute("const v = document.querySelector('[data-testid=rows-viewport]'); v.scrollTop = v.scrollHeight;", vec![])
        .await
        .expect("scroll");
    let last_name = expected["rows"][last][0].as_str().expect("name").to_owned();
    app.wait_text(&format!("[data-row='{last}'] td:nth-child(2)"), &last_name)
        .await;
    app.client
        .execute(
            "document.querySelector('[data-testid=rows-viewport]').scrollTop = 0;",
            vec![],
        )
        .await
        .expect("scroll");
    app.screenshot("09-rows-sorted-filtered").await;

    // A bad filter says what is wrong, in place.
    app.type_into("[data-testid=rows-filter]", "Horsepower >")
        .await;
    app.click("[data-testid=rows-apply]").await;
    let error = app.text("[data-testid=rows-error]").await;
    assert!(error.contains("expected a value"), "{error}");

    // Compare version 1 with version 2.
    app.click("[data-testid=tab-compare]").await;
    app.find("[data-testid=compare-summary]").await;
    let summary = app.text("[data-testid=compare-summary]").await;
    assert!(
        summary.contains("A: 406 rows") && summary.contains("B: 203 rows"),
        "{summary}"
    );
    app.find("[data-testid=schema-unchanged]").await;
    let max = app
        .text("[data-testid=compare-stats] [data-column=Origin][data-statistic=max]")
        .await;
    assert!(max.contains("USA") && max.contains("US"), "{max}");
    app.screenshot("10-compare-versions").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_import_leaves_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let project = work.path().join("p");
    let project_path = project.to_str().expect("utf-8 path");
    lathe(&["init", project_path, "--json"]);
    // Big enough that a debug build takes seconds to read and profile it.
    let big = work.path().join("big.csv");
    let mut text = String::from("id,a,b,c,label\n");
    for i in 0..600_000u64 {
        text.push_str(&format!(
            "{i},{},{}.5,{},k{}\n",
            i % 977,
            i % 13,
            i * 7 % 1000,
            i % 50
        ));
    }
    std::fs::write(&big, text).expect("write");

    let app = App::start(&[project_path]).await;
    app.click("[data-testid=nav-datasets]").await;
    app.type_into("[data-testid=dataset-path]", big.to_str().expect("utf-8"))
        .await;
    app.click("[data-testid=import-path]").await;
    app.find("[data-testid=import-cancel]").await;
    app.screenshot("11-import-in-progress").await;
    app.click("[data-testid=import-cancel]").await;
    let alert = app.find("[role=alert]").await;
    assert_eq!(
        alert.attr("data-code").await.expect("attr").as_deref(),
        Some("cancelled")
    );
    let info = lathe(&["info", "--json", "--project", project_path]);
    assert_eq!(info["counts"]["datasets"], Value::from(0));
    assert_eq!(info["counts"]["objects"], Value::from(0));
    app.close().await;
}
