//! The Checks view on the demo project: write a policy (validated as it is typed, a mistake
//! named by its line), run it on a dataset version, read a failing expectation with its
//! unexpected examples — the same counts `lathe check` gives for the same policy — and see
//! the result on the dataset's page.

use crate::harness::{App, lathe};

/// A policy with a failing expectation (breast_cancer's `mean radius` above 20 in some rows).
const POLICY: &str = "name: release gate
expectations:
  - type: expect_table_row_count_to_be_between
    kwargs: {min_value: 100}
  - type: expect_column_values_to_be_between
    kwargs: {column: mean radius, min_value: 6, max_value: 20}
  - type: expect_column_values_to_be_in_set
    kwargs: {column: target, value_set: [0, 1]}
alerts:
  none_of: [duplicates]
";

/// Sets the policy editor's text as typing does (an `input` event that bubbles).
async fn set_policy(app: &App, text: &str) {
    app.find("[data-testid=checks-policy]").await;
    app.client
        .execute(
            "const el = document.querySelector('[data-testid=checks-policy]'); el.value = arguments[0]; el.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![text.into()],
        )
        .await
        .expect("type the policy");
}

#[tokio::test(flavor = "multi_thread")]
async fn write_a_policy_run_it_and_read_a_failing_expectation() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    // What the CLI finds with the same policy on the same version.
    let file = work.path().join("policy.yaml");
    std::fs::write(&file, POLICY).expect("write the policy");
    let cli = std::process::Command::new(crate::harness::lathe_cli())
        .args(["check", file.to_str().unwrap(), "--data", "breast_cancer@2"])
        .args(["--project", demo_path, "--json"])
        .output()
        .expect("run lathe check");
    assert_eq!(cli.status.code(), Some(3), "the policy fails");
    let cli: serde_json::Value = serde_json::from_slice(&cli.stdout).expect("JSON");
    let unexpected = cli["results"][1]["result"]["unexpected_count"]
        .as_u64()
        .expect("a count");
    assert!(unexpected > 0);

    let app = App::start(&[demo_path]).await;
    app.click("[data-testid=nav-checks]").await;
    app.find("[data-testid=checks-page]").await;
    app.select("[data-testid=checks-data]", "breast_cancer@2")
        .await;
    // A mistake is named by its line before anything runs.
    set_policy(&app, "name: broken\nexpectations:\n  - type: [unclosed\n").await;
    let problem = app
        .wait_text_containing("[data-testid=checks-validation]", "line")
        .await;
    assert!(problem.contains("YAML"), "{problem}");
    assert!(
        app.find("[data-testid=checks-run]")
            .await
            .attr("disabled")
            .await
            .expect("attr")
            .is_some(),
        "no run while the policy does not read"
    );
    set_policy(&app, POLICY).await;
    app.wait_text_containing("[data-testid=checks-validation]", "3 expectations, 1 rule")
        .await;
    app.click("[data-testid=checks-run]").await;
    let verdict = app
        .wait_text_containing("[data-testid=checks-verdict]", "Failed")
        .await;
    assert!(
        verdict.contains(&format!(
            "{} of 4 expectations passed",
            cli["statistics"]["successful_expectations"]
        )),
        "{verdict}"
    );
    // The failing expectation is unfolded with its unexpected values.
    let examples = app.text("[data-testid=checks-examples]").await;
    assert!(
        examples.contains(&format!("{unexpected} unexpected")),
        "{examples}"
    );
    let first = cli["results"][1]["result"]["partial_unexpected_list"][0].to_string();
    assert!(examples.contains(&first), "{examples} lacks {first}");
    app.wait_text_containing("[data-testid=checks-history]", "failed")
        .await;
    app.screenshot("42-checks").await;

    // The dataset's page shows its latest check.
    app.click("[data-testid=nav-datasets]").await;
    app.click("[data-testid=datasets] [data-dataset=breast_cancer] button")
        .await;
    app.wait_text_containing("[data-testid=profile-check]", "checks failed")
        .await;
    app.screenshot("43-dataset-check-status").await;
    app.close().await;
}
