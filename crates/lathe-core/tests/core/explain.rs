//! Explanations and fairness against shap, scikit-learn and Fairlearn
//! (tests/fixtures/explain_reference.py wrote the fixtures).
//!
//! Tolerances: SHAP values and base values within 1e-6 of the largest reference value (the
//! model computes in f32; both sides read the same f32 outputs); permutation importance 1e-12
//! (the same permutations for the same seed); partial dependence 1e-9; fairness 1e-12.
//! Additivity (base + Σ values = the model's output) to 1e-9 for every algorithm.

use std::path::PathBuf;

use lathe_core::dataset::browse::TableSource;
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::explain::kernel::L1Reg;
use lathe_core::explain::shap::{Algorithm, ShapValues};
use lathe_core::explain::{ExplainInput, Explanation, OutputKind, Request, explain};
use lathe_core::fairness::{self, Predictions};
use lathe_core::job::Job;
use lathe_core::model::Model;
use polars::prelude::*;
use serde_json::Value;

use crate::support::repo;

fn expected() -> Value {
    let path = repo().join("tests/fixtures/explain/expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn path(v: &Value) -> PathBuf {
    repo().join(v.as_str().unwrap())
}

fn frame(v: &Value) -> DataFrame {
    TableSource::File {
        path: path(v),
        options: Default::default(),
    }
    .frame(None)
    .unwrap()
}

fn model(v: &Value) -> Model {
    Model::load(&std::fs::read(path(v)).unwrap(), v.as_str().unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(numbers).collect()
}

fn shap_request(case: &Value, algorithm: Algorithm) -> Request {
    Request::Shap {
        algorithm,
        rows: Some(format!("0..{}", case["rows"])),
        background: case["background"].as_u64().unwrap() as usize,
        max_evals: 500,
        seed: case["seed"].as_u64().unwrap() as u32,
        class: case["class"].as_str().map(str::to_owned),
        nsamples: None,
        l1_reg: None,
    }
}

fn run(m: &Model, features: &[String], f: &DataFrame, request: &Request) -> Explanation {
    explain(
        &ExplainInput {
            model: m,
            features,
            frame: f,
            background: None,
        },
        request,
        &Job::silent(),
    )
    .unwrap()
}

/// The largest gap between Lathe's SHAP values (and base value) and the reference's, in
/// words; and a panic when a row is not additive.
fn worst_gap(
    name: &str,
    s: &ShapValues,
    reference: &[Vec<f64>],
    base: f64,
    features: &[String],
) -> (f64, String) {
    assert_eq!(s.values.len(), reference.len(), "{name}");
    let mut worst = (0.0f64, String::new());
    for (r, (ours, theirs)) in s.values.iter().zip(reference).enumerate() {
        for (j, (a, b)) in ours.iter().zip(theirs).enumerate() {
            if (a - b).abs() > worst.0 {
                worst = (
                    (a - b).abs(),
                    format!("row {r} {}: Lathe {a:e}, shap {b:e}", features[j]),
                );
            }
        }
    }
    if (s.base_value - base).abs() > worst.0 {
        worst = (
            (s.base_value - base).abs(),
            format!("base value: Lathe {}, shap {base}", s.base_value),
        );
    }
    for (r, v) in s.values.iter().enumerate() {
        let sum = s.base_value + v.iter().sum::<f64>();
        assert!(
            (sum - s.model_output[r]).abs() <= 1e-9 * s.model_output[r].abs().max(1.0),
            "{name}: row {r} is not additive: {sum} vs {}",
            s.model_output[r]
        );
    }
    worst
}

fn largest(reference: &[Vec<f64>]) -> f64 {
    reference
        .iter()
        .flatten()
        .fold(0.0f64, |a, v| a.max(v.abs()))
}

#[test]
fn shap_values_equal_shaps() {
    let expected = expected();
    let cases = expected["shap"].as_array().unwrap();
    assert!(cases.len() >= 12);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let algorithm = Algorithm::parse(case["algorithm"].as_str().unwrap()).unwrap();
        let (m, f) = (model(&case["model"]), frame(&case["data"]));
        let features = strings(&case["features"]);
        let Explanation::Shap(s) = run(&m, &features, &f, &shap_request(case, algorithm)) else {
            panic!("{name}: not SHAP values");
        };
        assert_eq!(s.algorithm, algorithm, "{name}");
        let kind = match case["output"].as_str().unwrap() {
            "probability" => OutputKind::Probability,
            "margin" => OutputKind::Margin,
            _ => OutputKind::Prediction,
        };
        assert_eq!(s.output.kind, kind, "{name}: {:?}", s.output);
        let reference = matrix(&case["values"]);
        let tol = case["tolerance"].as_f64().unwrap() * largest(&reference);
        let base = case["base_value"].as_f64().unwrap();
        let worst = worst_gap(name, &s, &reference, base, &features);
        if worst.0 > tol {
            failures.push(format!("{name}: {} (tolerance {tol:e})", worst.1));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Kernel SHAP against shap's KernelExplainer (tests/fixtures/kernel_reference.py): the same
/// coalitions for the seed, the same feature selection for each `l1_reg` rule, the same
/// regression. Values and base value within 1e-6 of the largest reference value.
#[test]
fn kernel_shap_equals_shaps_kernel_explainer() {
    let path = repo().join("tests/fixtures/explain/kernel.json");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = expected["kernel"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for case in cases {
        let name = format!(
            "{} seed {} nsamples {} l1_reg {}",
            case["model"].as_str().unwrap(),
            case["seed"],
            case["nsamples"],
            case["l1_reg"]
        );
        let (m, f) = (model(&case["model"]), frame(&case["data"]));
        let features = strings(&case["features"]);
        let request = Request::Shap {
            algorithm: Algorithm::Kernel,
            rows: Some(format!("0..{}", case["rows"])),
            background: case["background"].as_u64().unwrap() as usize,
            max_evals: 500,
            seed: case["seed"].as_u64().unwrap() as u32,
            class: case["class"].as_str().map(str::to_owned),
            nsamples: case["nsamples"].as_u64().map(|n| n as usize),
            l1_reg: Some(L1Reg::parse(case["l1_reg"].as_str().unwrap()).unwrap()),
        };
        let Explanation::Shap(s) = run(&m, &features, &f, &request) else {
            panic!("{name}: not SHAP values");
        };
        assert_eq!(s.algorithm, Algorithm::Kernel, "{name}");
        let reference = matrix(&case["values"]);
        let tol = 1e-6 * largest(&reference);
        let base = case["base_value"].as_f64().unwrap();
        let worst = worst_gap(&name, &s, &reference, base, &features);
        if worst.0 > tol {
            failures.push(format!("{name}: {} (tolerance {tol:e})", worst.1));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn auto_picks_shaps_algorithm_for_each_model() {
    let expected = expected();
    for (name, want) in [
        ("linear_logreg_bin", Algorithm::Linear),
        ("tree_rf_bin", Algorithm::Tree),
        ("tree_gb_reg", Algorithm::Tree),
        ("exact_mlp_reg", Algorithm::Exact),
        ("permutation_mlp_bin", Algorithm::Permutation),
    ] {
        let case = expected["shap"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        let (m, f) = (model(&case["model"]), frame(&case["data"]));
        let mut request = shap_request(case, Algorithm::Auto);
        if let Request::Shap { rows, .. } = &mut request {
            *rows = Some("0..3".to_owned());
        }
        let Explanation::Shap(s) = run(&m, &strings(&case["features"]), &f, &request) else {
            panic!()
        };
        assert_eq!(s.algorithm, want, "{name}");
    }
}

#[test]
fn permutation_importance_equals_scikit_learns() {
    let expected = expected();
    for case in expected["importance"].as_array().unwrap() {
        let (m, f) = (model(&case["model"]), frame(&case["data"]));
        let features = strings(&case["features"]);
        let scoring = case["scoring"].as_str().unwrap();
        let request = Request::Permutation {
            scoring: Some(lathe_core::explain::importance::Scoring::parse(scoring).unwrap()),
            repeats: case["repeats"].as_u64().unwrap() as usize,
            seed: case["seed"].as_u64().unwrap() as u32,
            target: case["target"].as_str().unwrap().to_owned(),
            class: None,
        };
        let Explanation::Permutation(imp) = run(&m, &features, &f, &request) else {
            panic!()
        };
        let means = numbers(&case["importances_mean"]);
        let stds = numbers(&case["importances_std"]);
        let each = matrix(&case["importances"]);
        for (j, fi) in imp.features.iter().enumerate() {
            assert_eq!(fi.name, features[j]);
            for (k, (a, b)) in fi.importances.iter().zip(&each[j]).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12,
                    "{scoring} {}: repeat {k}: Lathe {a}, scikit-learn {b}",
                    fi.name
                );
            }
            assert!(
                (fi.importance_mean - means[j]).abs() <= 1e-12,
                "{}",
                fi.name
            );
            assert!((fi.importance_std - stds[j]).abs() <= 1e-12, "{}", fi.name);
        }
    }
}

#[test]
fn partial_dependence_equals_scikit_learns() {
    let expected = expected();
    for case in expected["pdp"].as_array().unwrap() {
        let (m, f) = (model(&case["model"]), frame(&case["data"]));
        let features = strings(&case["features"]);
        let chosen: Vec<String> = case["pdp"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        let request = Request::Pdp {
            features: Some(chosen),
            grid_resolution: 100,
            class: None,
        };
        let Explanation::Pdp(d) = run(&m, &features, &f, &request) else {
            panic!()
        };
        for (ours, theirs) in d.features.iter().zip(case["pdp"].as_array().unwrap()) {
            let what = &ours.name;
            let close = |a: &[f64], b: &[f64], part: &str| {
                assert_eq!(a.len(), b.len(), "{what} {part}");
                for (x, y) in a.iter().zip(b) {
                    assert!(
                        (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                        "{what} {part}: Lathe {x}, scikit-learn {y}"
                    );
                }
            };
            close(&ours.grid, &numbers(&theirs["grid"]), "grid");
            close(&ours.average, &numbers(&theirs["average"]), "average");
            let ice = matrix(&theirs["individual"]);
            assert_eq!(ours.individual.len(), ice.len());
            for (a, b) in ours.individual.iter().zip(&ice) {
                close(a, b, "ICE");
            }
        }
    }
}

#[test]
fn fairness_equals_fairlearns() {
    let expected = expected();
    let fx = &expected["fairness"];
    let (m, f) = (model(&fx["model"]), frame(&fx["data"]));
    let features: Vec<String> = [
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
    ]
    .map(str::to_owned)
    .to_vec();
    let report = fairness::assess_frame(
        &f,
        "diabetes_risk",
        &Predictions::Model {
            model: &m,
            name: "risk".to_owned(),
            features: &features,
        },
        "high_progression",
        &["sex".to_owned(), "age_band".to_owned()],
        None,
    )
    .unwrap();
    assert_eq!(report.positive_label, "1");
    let theirs = fx["by_sensitive"].as_object().unwrap();
    assert_eq!(report.by_sensitive.len(), theirs.len());
    for (key, t) in theirs {
        let ours = &report.by_sensitive[key];
        let close = |a: f64, b: &Value, what: &str| {
            let b = b.as_f64().unwrap_or(f64::NAN);
            assert!(
                (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12,
                "{key} {what}: Lathe {a}, Fairlearn {b}"
            );
        };
        let groups = t["groups"].as_array().unwrap();
        assert_eq!(ours.groups.len(), groups.len(), "{key}");
        for (g, tg) in ours.groups.iter().zip(groups) {
            assert_eq!(g.group, tg["group"].as_str().unwrap(), "{key}");
            close(g.count as f64, &tg["count"], "count");
            close(g.selection_rate, &tg["selection_rate"], "selection rate");
            close(g.accuracy, &tg["accuracy"], "accuracy");
            close(g.tpr, &tg["tpr"], "TPR");
            close(g.fpr, &tg["fpr"], "FPR");
        }
        close(
            ours.demographic_parity_difference,
            &t["demographic_parity_difference"],
            "DPD",
        );
        close(
            ours.demographic_parity_ratio,
            &t["demographic_parity_ratio"],
            "DPR",
        );
        close(
            ours.equalized_odds_difference,
            &t["equalized_odds_difference"],
            "EOD",
        );
        close(ours.equalized_odds_ratio, &t["equalized_odds_ratio"], "EOR");
        let flagged = ours.demographic_parity_ratio < 0.8 || ours.equalized_odds_ratio < 0.8;
        assert_eq!(!ours.flagged.is_empty(), flagged, "{key}");
    }
    // The same from a column of predictions.
    let predicted: Vec<i64> = fx["predicted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut with = f.clone();
    with.with_column(Column::new("predicted".into(), predicted))
        .unwrap();
    let from_column = fairness::assess_frame(
        &with,
        "diabetes_risk",
        &Predictions::Column("predicted"),
        "high_progression",
        &["sex".to_owned(), "age_band".to_owned()],
        None,
    )
    .unwrap();
    assert_eq!(from_column.by_sensitive, report.by_sensitive);

    // Over a memory limit: 40 copies read and predicted 1,024 rows at a time (row groups of
    // 3,000) give the report the whole table gives, to the bit, from the model and from the
    // column; a missing column is named with the table's columns.
    let dir = tempfile::tempdir().unwrap();
    let mut big = with.clone();
    for _ in 1..40 {
        big.vstack_mut(&with).unwrap();
    }
    let path = dir.path().join("big.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .with_row_group_size(Some(3_000))
        .finish(&mut big)
        .unwrap();
    let source = TableSource::File {
        path,
        options: Default::default(),
    };
    let tiny = MemoryLimit(256 << 10);
    assert!(!source.fits(tiny).unwrap());
    let sensitive = ["sex".to_owned(), "age_band".to_owned()];
    for predictions in [
        Predictions::Model {
            model: &m,
            name: "risk".to_owned(),
            features: &features,
        },
        Predictions::Column("predicted"),
    ] {
        let whole = fairness::assess_frame(
            &big,
            "big",
            &predictions,
            "high_progression",
            &sensitive,
            None,
        )
        .unwrap();
        assert_eq!(whole.rows as usize, big.height());
        let sliced = fairness::assess_source(
            &source,
            "big",
            &predictions,
            "high_progression",
            &sensitive,
            None,
            tiny,
            &Job::silent(),
        )
        .unwrap();
        assert_eq!(format!("{sliced:?}"), format!("{whole:?}"));
    }
    let e = fairness::assess_source(
        &source,
        "big",
        &Predictions::Column("predicted"),
        "high_progression",
        &["gender".to_owned()],
        None,
        tiny,
        &Job::silent(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no column \"gender\"") && e.contains("age_band"),
        "{e}"
    );
}

/// Seeded 0, Lathe draws lime's very neighbourhoods (numpy's MT19937 through `choice` and
/// scipy's truncnorm ppf, in lime's order), so one explainer's explanations of rows 0..5 are
/// lime's up to rounding: the conditions it names, and weights, intercept, score and local
/// prediction to 1e-9 of the largest weight.
#[test]
fn lime_equals_limes_draws_for_the_same_seed() {
    let expected = expected();
    for case in expected["lime"].as_array().unwrap() {
        let (m, f) = (model(&case["model"]), frame(&case["data"]));
        let features = strings(&case["features"]);
        let request = Request::Lime {
            rows: Some("0..5".to_owned()),
            samples: 5000,
            num_features: 10,
            seed: 0,
            class: None,
        };
        let Explanation::Lime(l) = run(&m, &features, &f, &request) else {
            panic!()
        };
        let seeded = case["seed_0"].as_array().unwrap();
        assert_eq!(l.rows.len(), seeded.len());
        for (ours, theirs) in l.rows.iter().zip(seeded) {
            let what = format!("{} row {}", case["model"], ours.row);
            let mut a: Vec<&str> = ours.weights.iter().map(|w| w.condition.as_str()).collect();
            let mut b: Vec<&str> = theirs["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "{what}");
            let tw = theirs["weights"].as_object().unwrap();
            let largest = tw
                .values()
                .fold(0.0f64, |a, w| a.max(w.as_f64().unwrap().abs()));
            let tol = 1e-9 * largest;
            for w in &ours.weights {
                let t = tw[&w.feature].as_f64().unwrap();
                assert!(
                    (w.weight - t).abs() <= tol,
                    "{what} {}: Lathe {}, lime {t}",
                    w.feature,
                    w.weight
                );
            }
            for (key, ours) in [
                ("intercept", ours.intercept),
                ("score", ours.score),
                ("local_prediction", ours.local_prediction),
            ] {
                let t = theirs[key].as_f64().unwrap();
                assert!(
                    (ours - t).abs() <= tol,
                    "{what} {key}: Lathe {ours}, lime {t}"
                );
            }
        }
    }
}
