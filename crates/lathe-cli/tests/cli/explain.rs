//! `lathe explain` and `lathe fairness`: the JSON shapes, stored results reopened, charts, and
//! every bad input of the issue refused with a clear message and nothing stored.

use std::path::Path;

use crate::{check, demo, file, json, keys, lathe, path_str, repo};

const RISK_FEATURES: &str = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6";

fn audit_entries(p: &str) -> usize {
    json(&["--project", p, "log"]).as_array().unwrap().len()
}

#[test]
fn shap_importance_and_pdp_are_stored_and_reopened() {
    let (tmp, p) = demo();
    let args = [
        "--project",
        &p,
        "explain",
        "breast_cancer_classifier@production",
        "breast_cancer@1",
        "--rows",
        "0..10",
    ];
    let shap = json(&args);
    assert_eq!(
        keys(&shap),
        [
            "algorithm",
            "background_rows",
            "base_value",
            "data",
            "features",
            "method",
            "model_output",
            "output",
            "permutations",
            "rows",
            "values"
        ]
    );
    assert_eq!(shap["method"], "shap");
    assert_eq!(shap["algorithm"], "linear", "a logistic regression");
    assert_eq!(shap["output"]["kind"], "margin");
    assert_eq!(shap["rows"].as_array().unwrap().len(), 10);
    assert_eq!(shap["values"][0].as_array().unwrap().len(), 30);
    let before = audit_entries(&p);
    assert_eq!(json(&args), shap, "the stored result reopens as it was");
    assert_eq!(
        audit_entries(&p),
        before,
        "reopening is not a new computation"
    );

    // Kernel SHAP only when asked for, with its budget and selection stated and stored.
    let mut kernel_args = args[..5].to_vec();
    kernel_args.extend([
        "--algorithm",
        "kernel",
        "--rows",
        "0..3",
        "--nsamples",
        "200",
    ]);
    let kernel = json(&kernel_args);
    assert_eq!(kernel["algorithm"], "kernel");
    assert_eq!(kernel["nsamples"], 200);
    assert_eq!(kernel["l1_reg"], "num_features(10)");
    assert_eq!(kernel["rows"].as_array().unwrap().len(), 3);
    let nonzero = kernel["values"][0]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.as_f64().unwrap() != 0.0)
        .count();
    assert!(
        (1..=10).contains(&nonzero),
        "num_features(10) keeps at most 10 of 30 features: {nonzero}"
    );
    assert_eq!(json(&kernel_args), kernel, "the stored result reopens");

    let charts = tmp.path().join("charts");
    let imp = json(&[
        "--project",
        &p,
        "explain",
        "breast_cancer_classifier",
        "breast_cancer",
        "--method",
        "permutation",
        "--repeats",
        "2",
        "--out",
        path_str(&charts),
    ]);
    assert_eq!(imp["method"], "permutation");
    assert_eq!(imp["scoring"], "accuracy");
    assert_eq!(imp["repeats"], 2);
    let first = &imp["features"][0];
    for k in ["name", "importance_mean", "importance_std"] {
        assert!(first.get(k).is_some(), "{k}");
    }
    assert!(charts.join("importance.svg").is_file());
    assert!(charts.join("importance.csv").is_file());

    let pdp = json(&[
        "--project",
        &p,
        "explain",
        "diabetes_regressor",
        "diabetes",
        "--method",
        "pdp",
        "--feature",
        "bmi,sex",
        "--out",
        path_str(&charts),
    ]);
    assert_eq!(pdp["method"], "pdp");
    let f = pdp["features"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["name"], "bmi");
    assert_eq!(f[0]["grid"].as_array().unwrap().len(), 100);
    assert_eq!(
        f[1]["grid"].as_array().unwrap().len(),
        2,
        "sex has two values"
    );
    assert_eq!(f[0]["individual"].as_array().unwrap().len(), 442);
    assert!(charts.join("pdp_bmi.svg").is_file());

    let lime = json(&[
        "--project",
        &p,
        "explain",
        "diabetes_regressor",
        "diabetes",
        "--method",
        "lime",
        "--rows",
        "0..3",
        "--out",
        path_str(&charts),
    ]);
    assert_eq!(lime["method"], "lime");
    assert_eq!(lime["samples"], 5000);
    let rows = lime["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        keys(&rows[0]["weights"][0]),
        ["condition", "feature", "weight"]
    );
    assert!(charts.join("lime_row_0.svg").is_file());

    let shap_charts = tmp.path().join("shap");
    json(&[
        "--project",
        &p,
        "explain",
        "diabetes_regressor",
        "diabetes",
        "--rows",
        "0..20",
        "--background",
        "20",
        "--out",
        path_str(&shap_charts),
    ]);
    let mut names: Vec<String> = std::fs::read_dir(&shap_charts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("shap_beeswarm")));
    assert!(names.iter().any(|n| n.starts_with("shap_waterfall_row_0")));
    assert!(names.iter().any(|n| n.starts_with("shap_dependence_")));
}

#[test]
fn fairness_by_sensitive_column_and_intersection() {
    let model = file("tests/fixtures/explain/risk_logreg.onnx");
    let data = file("assets/datasets/diabetes_risk.csv");
    let report = json(&[
        "fairness",
        &model,
        &data,
        "--features",
        RISK_FEATURES,
        "--sensitive",
        "sex,age_band",
        "--target",
        "high_progression",
    ]);
    let by = &report["by_sensitive"];
    assert_eq!(keys(by), ["age_band", "sex", "sex&age_band"]);
    assert_eq!(
        keys(&by["sex"]),
        [
            "demographic_parity_difference",
            "demographic_parity_ratio",
            "equalized_odds_difference",
            "equalized_odds_ratio",
            "flagged",
            "groups"
        ]
    );
    assert_eq!(
        keys(&by["sex"]["groups"][0]),
        ["accuracy", "count", "fpr", "group", "selection_rate", "tpr"]
    );
    assert_eq!(by["sex&age_band"]["groups"].as_array().unwrap().len(), 6);

    // The same predictions given as a column of the data.
    let tmp = tempfile::tempdir().unwrap();
    let predicted = json(&[
        "model",
        "predict",
        &model,
        &data,
        "--features",
        RISK_FEATURES,
    ]);
    let labels = predicted["outputs"]["label"].as_array().unwrap();
    let text = std::fs::read_to_string(repo().join("assets/datasets/diabetes_risk.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{},predicted\n", lines.next().unwrap());
    for (line, l) in lines.zip(labels) {
        out.push_str(&format!("{line},{l}\n"));
    }
    let with = tmp.path().join("with_predictions.csv");
    std::fs::write(&with, out).unwrap();
    let from_column = json(&[
        "fairness",
        "--prediction-column",
        "predicted",
        path_str(&with),
        "--sensitive",
        "sex,age_band",
        "--target",
        "high_progression",
    ]);
    assert_eq!(from_column["by_sensitive"], report["by_sensitive"]);
    assert_eq!(from_column["predictions"], "column predicted");
}

/// Writes `text` as a CSV in `dir`.
fn csv(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    path_str(&p).to_owned()
}

#[test]
fn bad_explain_and_fairness_inputs_are_refused() {
    let (tmp, p) = demo();
    let t = tmp.path();
    let model = file("tests/fixtures/explain/risk_logreg.onnx");
    let data = file("assets/datasets/diabetes_risk.csv");
    let before = audit_entries(&p);
    let stored = |extra: &[&str]| {
        let mut a = vec![
            "--project",
            &p,
            "explain",
            "breast_cancer_classifier@production",
            "breast_cancer@1",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>, needles: &[&str]| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        check(&a, "bad_argument", needles);
    };
    run(
        stored(&["--rows", "560..600"]),
        &["out of range", "569 rows"],
    );
    run(stored(&["--rows", "five"]), &["not a range"]);
    run(
        stored(&["--method", "permutation", "--target", "nope"]),
        &["no column \"nope\""],
    );
    run(
        stored(&["--method", "magic"]),
        &["shap, lime, permutation, pdp"],
    );
    run(
        stored(&["--algorithm", "tree"]),
        &["not a single tree ensemble"],
    );
    run(
        stored(&["--algorithm", "kernel", "--l1-reg", "lasso"]),
        &["\"lasso\"", "num_features(K)"],
    );
    run(
        stored(&["--algorithm", "kernel", "--nsamples", "0"]),
        &["at least one coalition"],
    );
    run(
        stored(&[
            "--algorithm",
            "kernel",
            "--rows",
            "0..1",
            "--nsamples",
            "5",
            "--l1-reg",
            "aic",
        ]),
        &["too few", "raise --nsamples"],
    );
    let missing = stored(&["--background-data", "nope"]);
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    check(&missing, "not_found", &["no dataset named 'nope'"]);
    run(
        stored(&["--method", "permutation", "--scoring", "r2"]),
        &["r2 scores a regressor"],
    );
    assert_eq!(audit_entries(&p), before, "nothing was stored");

    // A background with other columns; NaN in a feature.
    let header = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,high_progression,age_band";
    let other = csv(t, "other.csv", "a,b\n1,2\n3,4\n");
    let file_explain = |extra: &[&str], needles: &[&str]| {
        let mut a = vec!["explain", &model, &data, "--features", RISK_FEATURES];
        a.extend_from_slice(extra);
        check(&a, "bad_argument", needles);
    };
    file_explain(
        &["--background-data", &other],
        &["background data have no column \"age\""],
    );
    let nan = csv(
        t,
        "nan.csv",
        &format!("{header}\n50,1,,90,150,90,40,4,4.5,90,1,40-59\n"),
    );
    check(
        &["explain", &model, &nan, "--features", RISK_FEATURES],
        "bad_argument",
        &["row 1", "\"bmi\""],
    );
    // Fairness: a missing target or sensitive column, one group, a non-binary target.
    let fair = |d: &str, extra: &[&str], needles: &[&str]| {
        let mut a = vec!["fairness", &model, d, "--features", RISK_FEATURES];
        a.extend_from_slice(extra);
        check(&a, "bad_argument", needles);
    };
    fair(&data, &["--sensitive", "sex"], &["--target"]);
    fair(
        &data,
        &["--sensitive", "sex", "--target", "nope"],
        &["no column \"nope\""],
    );
    fair(
        &data,
        &["--sensitive", "race", "--target", "high_progression"],
        &["no column \"race\""],
    );
    let one = csv(
        t,
        "one.csv",
        &format!(
            "{header}\n50,1,30,90,150,90,40,4,4.5,90,1,40-59\n60,1,20,80,140,80,50,3,4.0,80,0,60+\n"
        ),
    );
    fair(
        &one,
        &["--sensitive", "sex", "--target", "high_progression"],
        &["single group"],
    );
    fair(
        &data,
        &["--sensitive", "sex", "--target", "age_band"],
        &["binary"],
    );
    let out = lathe()
        .args(["fairness", "--prediction-column", "x", &model, &data])
        .args(["--sensitive", "sex", "--target", "high_progression"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
