//! The Models view on the demo project: register the demo's model (typed path, the training
//! dataset and target), evaluate it on the later batch, and read its metrics and ROC curve —
//! the same numbers `lathe model eval` prints — then follow its lineage to the dataset.

use std::time::{Duration, Instant};

use lathe_core::display::number;

use crate::harness::{App, lathe};

#[tokio::test(flavor = "multi_thread")]
async fn register_a_model_evaluate_it_and_see_its_roc_curve() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    // The demo's forest, as the demo wrote it into its folder: registered again under a new
    // name, as an engineer registers a challenger.
    let model = demo.join("demo-data/breast_cancer_forest.onnx");
    assert!(
        model.is_file(),
        "the demo writes its models into demo-data/"
    );

    let app = App::start(&[demo_path]).await;
    app.click("[data-testid=nav-models]").await;
    app.find("[data-testid=models-page]").await;
    // The demo's registry: the classifier's two versions, production on the first.
    app.find("[data-ref='breast_cancer_classifier@2']").await;
    let registry = app.text("[data-testid=model-list]").await;
    assert!(registry.contains("production"), "{registry}");
    app.screenshot("21-models").await;

    app.type_into("[data-testid=model-path]", model.to_str().expect("utf-8"))
        .await;
    app.type_into("[data-testid=model-name]", "challenger")
        .await;
    app.select("[data-testid=model-dataset]", "breast_cancer@1")
        .await;
    app.type_into("[data-testid=model-target]", "target").await;
    app.click("[data-testid=model-register]").await;
    app.find("[data-ref='challenger@1']").await;
    // The new version is selected and shown with its lineage.
    app.wait_text_containing("[data-testid=model-detail] h2", "challenger@1")
        .await;
    app.wait_text_containing("[data-testid=lineage-dataset]", "breast_cancer@1")
        .await;

    // Evaluate on the later (drifted) batch, proposed by default.
    let data = app
        .find("[data-testid=eval-data]")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(data.as_deref(), Some("breast_cancer@2"));
    app.click("[data-testid=eval-run]").await;
    app.find("[data-testid=eval-chart-roc] svg").await;
    let cli = lathe(&[
        "model",
        "eval",
        "challenger@1",
        "breast_cancer@2",
        "--json",
        "--project",
        demo_path,
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = app.wait_text_containing("[data-metric=roc_auc]", "").await;
        // The CLI's number, written by the one formatter both front ends use.
        let want = number(cli["metrics"]["roc_auc"].as_f64().expect("auc"));
        if shown == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ROC AUC shown {shown}, CLI {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let accuracy = app.wait_text_containing("[data-metric=accuracy]", "").await;
    assert_eq!(
        accuracy,
        number(cli["metrics"]["accuracy"].as_f64().expect("accuracy"))
    );
    app.wait_text_containing("[data-testid=eval-chart-roc] svg", "ROC (AUC")
        .await;
    app.find("[data-testid=eval-chart-confusion_matrix] svg")
        .await;
    app.scroll_to("[data-testid=model-evaluate]").await;
    app.screenshot("22-model-evaluate").await;
    // Lineage links: the training dataset's profile.
    app.scroll_to("[data-testid=lineage-dataset]").await;
    app.click("[data-testid=lineage-dataset]").await;
    app.wait_text_containing("[data-testid=profile-title]", "breast_cancer@1")
        .await;
    app.close().await;
}

/// Explain and Fairness on the demo's risk classifier: the SHAP beeswarm, a picked row's
/// waterfall, and the fairness table by sex, age band and both — the numbers `lathe explain`
/// and `lathe fairness` give.
#[tokio::test(flavor = "multi_thread")]
async fn explain_a_model_and_assess_its_fairness() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    let app = App::start(&[demo_path]).await;
    app.click("[data-testid=nav-models]").await;
    app.click("[data-ref='diabetes_risk_classifier@1']").await;
    app.wait_text_containing(
        "[data-testid=model-detail] h2",
        "diabetes_risk_classifier@1",
    )
    .await;

    // SHAP on the training data, rows 0..200 (the panel's default).
    app.scroll_to("[data-testid=model-explain]").await;
    app.click("[data-testid=explain-run]").await;
    app.find("[data-testid=shap-chart-beeswarm] svg").await;
    let caption = app
        .wait_text_containing("[data-testid=explain-caption]", "SHAP (linear)")
        .await;
    let cli = lathe(&[
        "explain",
        "diabetes_risk_classifier@1",
        "diabetes_risk@1",
        "--rows",
        "0..200",
        "--json",
        "--project",
        demo_path,
    ]);
    assert_eq!(cli["algorithm"], "linear");
    let base = number(cli["base_value"].as_f64().expect("base value"));
    assert!(caption.contains(&base), "{caption} lacks base {base}");
    assert!(
        caption.contains("reopened") || caption.contains("computed"),
        "{caption}"
    );
    app.scroll_to("[data-testid=model-explain]").await;
    app.screenshot("23-explain-beeswarm").await;

    // Pick row 5: its waterfall.
    app.click("[data-testid=shap-tab-waterfall]").await;
    app.scroll_to("[data-testid=shap-row][data-row='5'] td")
        .await;
    app.click("[data-testid=shap-row][data-row='5'] td").await;
    app.wait_text_containing("[data-testid=shap-chart-waterfall] svg", "Row 5")
        .await;
    app.scroll_to("[data-testid=model-explain]").await;
    app.screenshot("24-explain-waterfall").await;

    // Permutation importance: the table ranks features as `lathe explain` with the panel's
    // settings does (the same stored result).
    app.click("[data-testid=explain-method-permutation]").await;
    app.click("[data-testid=explain-run]").await;
    app.wait_text_containing("[data-testid=explain-caption]", "permutation importance")
        .await;
    let cli = lathe(&[
        "explain",
        "diabetes_risk_classifier@1",
        "diabetes_risk@1",
        "--method",
        "permutation",
        "--repeats",
        "5",
        "--seed",
        "0",
        "--json",
        "--project",
        demo_path,
    ]);
    let mut ranked: Vec<(String, f64)> = cli["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().expect("name").to_owned(),
                f["importance_mean"].as_f64().expect("mean"),
            )
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let first = app
        .find("[data-testid=importance-table] tbody tr td")
        .await
        .prop("textContent")
        .await
        .expect("textContent")
        .unwrap_or_default();
    assert!(
        first == ranked[0].0,
        "the top row {first:?} is the CLI's top feature {:?}",
        ranked[0]
    );
    app.find("[data-testid=explain-chart] svg").await;
    app.scroll_to("[data-testid=model-explain]").await;
    app.screenshot("29-explain-importance").await;

    // LIME (the first 20 rows of the range) and partial dependence of the first feature.
    app.click("[data-testid=explain-method-lime]").await;
    app.click("[data-testid=explain-run]").await;
    app.wait_text_containing("[data-testid=explain-caption]", "LIME of the")
        .await;
    app.find("[data-testid=explain-chart] svg").await;
    app.scroll_to("[data-testid=model-explain]").await;
    app.screenshot("30-explain-lime").await;
    app.click("[data-testid=explain-method-pdp]").await;
    app.click("[data-testid=explain-run]").await;
    app.wait_text_containing("[data-testid=explain-caption]", "partial dependence")
        .await;
    app.find("[data-testid=explain-chart] svg").await;
    app.scroll_to("[data-testid=model-explain]").await;
    app.screenshot("31-explain-pdp").await;

    // Fairness by sex and age band.
    app.scroll_to("[data-testid=model-fairness]").await;
    app.click("[data-testid=fairness-column][data-column=sex]")
        .await;
    app.click("[data-testid=fairness-column][data-column=age_band]")
        .await;
    app.click("[data-testid=fairness-run]").await;
    app.find("[data-sensitive='sex&age_band'] [data-testid=fairness-table]")
        .await;
    let cli = lathe(&[
        "fairness",
        "diabetes_risk_classifier@1",
        "diabetes_risk@1",
        "--sensitive",
        "sex,age_band",
        "--json",
        "--project",
        demo_path,
    ]);
    let dpr = number(
        cli["by_sensitive"]["age_band"]["demographic_parity_ratio"]
            .as_f64()
            .expect("ratio"),
    );
    app.wait_text_containing("[data-sensitive=age_band] [data-testid=fairness-dpr]", &dpr)
        .await;
    let table = app
        .wait_text_containing(
            "[data-sensitive=sex] [data-testid=fairness-table]",
            "selection rate",
        )
        .await;
    assert!(table.contains("TPR") && table.contains("FPR"), "{table}");
    app.scroll_to("[data-testid=model-fairness]").await;
    app.screenshot("25-fairness").await;

    // A long computation shows its progress and stops on Cancel: LIME of the demo's forest
    // (20 rows of 5,000 samples; seconds in this debug build). The cancelled run stores
    // nothing: running it again computes it afresh rather than reopening a result.
    app.click("[data-ref='breast_cancer_classifier@2']").await;
    app.wait_text_containing(
        "[data-testid=model-detail] h2",
        "breast_cancer_classifier@2",
    )
    .await;
    app.scroll_to("[data-testid=model-explain]").await;
    app.click("[data-testid=explain-method-lime]").await;
    app.click("[data-testid=explain-run]").await;
    app.find("[data-testid=model-explain] [role=progressbar]")
        .await;
    app.screenshot("34-explain-progress").await;
    app.click("[data-testid=explain-cancel]").await;
    let gone = |css: &'static str| {
        let client = app.client.clone();
        async move {
            client
                .find_all(fantoccini::Locator::Css(css))
                .await
                .expect("find_all")
                .is_empty()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while !gone("[data-testid=explain-cancel]").await {
        assert!(
            Instant::now() < deadline,
            "the explanation is still running 15 s after Cancel"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        gone("[data-testid=explain-caption]").await,
        "a cancelled explanation shows no result"
    );
    assert!(gone("[data-testid=error]").await, "Cancel is not an error");
    app.click("[data-testid=explain-run]").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let caption = loop {
        if gone("[data-testid=explain-caption]").await {
            assert!(
                Instant::now() < deadline,
                "LIME did not finish within 120 s"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        break app.text("[data-testid=explain-caption]").await;
    };
    assert!(
        caption.contains("LIME of the") && caption.contains("computed in"),
        "{caption}"
    );

    // Kernel SHAP, picked by hand (auto never picks it), on the demo's logistic regression
    // (30 features: shap's 2 × 30 + 2048 coalitions a row, LAR keeping 10 features). The
    // progress bar counts model evaluations; the caption states the budget and selection,
    // and the base value is the one `lathe explain --algorithm kernel` reopens.
    app.click("[data-ref='breast_cancer_classifier@1']").await;
    app.wait_text_containing(
        "[data-testid=model-detail] h2",
        "breast_cancer_classifier@1",
    )
    .await;
    app.scroll_to("[data-testid=model-explain]").await;
    app.click("[data-testid=explain-method-shap]").await;
    app.select("[data-testid=explain-algorithm]", "kernel")
        .await;
    app.find("[data-testid=explain-l1-reg]").await;
    app.client
        .execute(
            "const f = document.querySelector('[data-testid=explain-rows]'); f.value = '0..60'; f.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await
        .expect("set the rows");
    app.click("[data-testid=explain-run]").await;
    let bar = app
        .wait_text_containing(
            "[data-testid=model-explain] [role=progressbar]",
            "model evaluations",
        )
        .await;
    assert!(bar.contains(" of "), "the bar counts evaluations: {bar}");
    app.scroll_to("[data-testid=model-explain]").await;
    app.screenshot("40-explain-kernel-progress").await;
    let deadline = Instant::now() + Duration::from_secs(180);
    let caption = loop {
        if gone("[data-testid=explain-caption]").await {
            assert!(
                Instant::now() < deadline,
                "Kernel SHAP did not finish within 180 s"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        break app.text("[data-testid=explain-caption]").await;
    };
    assert!(
        caption.contains("SHAP (kernel, up to 2108 coalitions a row, l1_reg num_features(10))"),
        "{caption}"
    );
    let cli = lathe(&[
        "explain",
        "breast_cancer_classifier@1",
        "breast_cancer@1",
        "--algorithm",
        "kernel",
        "--rows",
        "0..60",
        "--json",
        "--project",
        demo_path,
    ]);
    assert_eq!(cli["algorithm"], "kernel");
    let base = number(cli["base_value"].as_f64().expect("base value"));
    assert!(caption.contains(&base), "{caption} lacks base {base}");
    app.find("[data-testid=shap-chart-beeswarm] svg").await;
    app.scroll_to("[data-testid=model-explain]").await;
    app.screenshot("41-explain-kernel").await;
    app.close().await;
}
