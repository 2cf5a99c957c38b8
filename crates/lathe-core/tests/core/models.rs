//! Models against onnxruntime and scikit-learn (tests/fixtures/models_reference.py wrote the
//! fixtures: models exported by skl2onnx, onnxruntime's outputs, scikit-learn's metrics).
//!
//! Tolerances: every output value within 1e-5 of onnxruntime's (absolute, or relative for values
//! above 1), labels exactly; metrics within 1e-12 of scikit-learn's given the same predictions.

use std::path::PathBuf;

use lathe_core::dataset::browse::TableSource;
use lathe_core::model::tensor::Data;
use lathe_core::model::{Model, Runtime, feature_matrix};
use serde_json::Value;

use crate::support::repo;

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/models")
}

pub(crate) fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn data_path(dataset: &str) -> PathBuf {
    match dataset {
        "diabetes_class" => fixtures().join("diabetes_class.csv"),
        other => repo().join(format!("assets/datasets/{other}.csv")),
    }
}

pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn flat_numbers(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flat_numbers(i, out)),
        Value::Object(map) => map.values().for_each(|i| flat_numbers(i, out)),
        other => out.push(other.as_f64().unwrap()),
    }
}

#[track_caller]
fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let ok = actual == expected || (actual - expected).abs() <= tolerance * expected.abs().max(1.0);
    assert!(ok, "{what}: Lathe {actual:e}, reference {expected:e}");
}

pub(crate) fn load(name: &str) -> Model {
    let bytes = std::fs::read(fixtures().join(format!("{name}.onnx"))).unwrap();
    Model::load(&bytes, name).unwrap()
}

pub(crate) fn features_of(entry: &Value) -> (Vec<f32>, usize) {
    let table = TableSource::File {
        path: data_path(entry["dataset"].as_str().unwrap()),
        options: Default::default(),
    };
    let frame = table.frame(None).unwrap();
    let features = strings(&entry["features"]);
    (feature_matrix(&frame, &features).unwrap(), features.len())
}

#[test]
fn every_fixture_model_matches_onnxruntime() {
    let expected = expected();
    let models = expected["models"].as_object().unwrap();
    assert!(models.len() >= 30, "the fixture holds every model kind");
    for (name, entry) in models {
        let model = load(name);
        let (x, width) = features_of(entry);
        let prediction = model.predict(&x, width).unwrap();
        let outputs = entry["outputs"].as_object().unwrap();
        assert_eq!(
            prediction
                .outputs
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            outputs.keys().map(String::as_str).collect::<Vec<_>>(),
            "{name}: output names"
        );
        for (out, reference) in outputs {
            let t = prediction.get(out).unwrap();
            match &t.data {
                Data::I64(v) => {
                    let want: Vec<i64> = reference
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_i64().unwrap())
                        .collect();
                    assert_eq!(v, &want, "{name}.{out}: labels");
                }
                Data::Str(v) => assert_eq!(v, &strings(reference), "{name}.{out}: labels"),
                _ => {
                    let mut want = Vec::new();
                    flat_numbers(reference, &mut want);
                    let got = t.to_f64(out).unwrap();
                    assert_eq!(got.len(), want.len(), "{name}.{out}: value count");
                    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                        close(*a, *b, 1e-5, &format!("{name}.{out}[{i}]"));
                    }
                }
            }
        }
    }
}

#[test]
fn runtimes_are_chosen_by_the_ops() {
    assert_eq!(load("rf_binary").signature().runtime, Runtime::Native);
    assert_eq!(load("mlp_binary").signature().runtime, Runtime::Native);
    // Standard ops only: tract.
    assert_eq!(load("mlp_reg_raw").signature().runtime, Runtime::Tract);
    let sig = load("logreg_binary").signature().clone();
    assert_eq!(sig.inputs[0].name, "input");
    assert_eq!(sig.inputs[0].dtype, "float32");
    assert_eq!(sig.inputs[0].shape, vec![None, Some(30)]);
    assert_eq!(
        sig.outputs
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["label", "probabilities"]
    );
    assert!(sig.ops.contains(&"ai.onnx.ml:Scaler".to_owned()));
    let zip = load("rf_zipmap").signature().clone();
    assert_eq!(zip.outputs[1].dtype, "map");
    let named = load("linear_reg_named");
    assert_eq!(named.feature_count(), Some(10));
    assert_eq!(named.input_feature_names().unwrap()[0], "age");
}

#[test]
fn trees_are_parsed_for_explanations() {
    let forest = load("rf_binary");
    let trees = forest.trees();
    assert_eq!(trees.len(), 1);
    assert_eq!(trees[0].roots.len(), 50);
    assert_eq!(trees[0].n_features, 30);
    let v5 = load("rf_reg_v5");
    let classic = load("rf_reg");
    assert_eq!(v5.trees()[0].roots.len(), classic.trees()[0].roots.len());
}

#[test]
fn parallel_and_single_threaded_predictions_agree() {
    // 40 copies of breast_cancer (22,760 rows) cross the parallel thresholds.
    let model = load("rf_binary");
    let entry = &expected()["models"]["rf_binary"];
    let (x, width) = features_of(entry);
    let big: Vec<f32> = std::iter::repeat_n(x.as_slice(), 40)
        .flatten()
        .copied()
        .collect();
    let parallel = model.predict(&big, width).unwrap();
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| model.predict(&big, width).unwrap());
    assert_eq!(parallel, single);
    assert_eq!(parallel.rows, 569 * 40);
}

#[test]
fn bad_models_and_inputs_are_refused_clearly() {
    let err = |bytes: &[u8]| Model::load(bytes, "m.onnx").unwrap_err().to_string();
    assert!(err(b"").contains("empty"), "{}", err(b""));
    assert!(err(b"hello, this is not onnx").contains("not a readable ONNX model"));
    let good = std::fs::read(fixtures().join("rf_binary.onnx")).unwrap();
    let truncated = err(&good[..good.len() / 2]);
    assert!(
        truncated.contains("not a readable ONNX model"),
        "{truncated}"
    );

    let model = load("logreg_binary");
    let e = model.predict(&[1.0; 29], 29).unwrap_err().to_string();
    assert!(e.contains("takes 30 features, the data give 29"), "{e}");
    let mut x = vec![1.0f32; 60];
    x[35] = f32::NAN;
    let e = model.predict(&x, 30).unwrap_err().to_string();
    assert!(e.contains("row 2") && e.contains("NaN"), "{e}");
}

fn target_texts(entry: &Value) -> Vec<String> {
    let table = TableSource::File {
        path: data_path(entry["dataset"].as_str().unwrap()),
        options: Default::default(),
    };
    let frame = table.frame(None).unwrap();
    let column = frame.column(entry["target"].as_str().unwrap()).unwrap();
    (0..frame.height())
        .map(|i| match column.get(i).unwrap() {
            polars::prelude::AnyValue::String(s) => s.to_owned(),
            polars::prelude::AnyValue::Int64(v) => v.to_string(),
            polars::prelude::AnyValue::Float64(v) => v.to_string(),
            other => panic!("unexpected target value {other:?}"),
        })
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    flat_numbers(v, &mut out);
    out
}

#[track_caller]
fn all_close(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
        close(*a, *b, tolerance, &format!("{what}[{i}]"));
    }
}

/// scikit-learn's metrics and curves, from onnxruntime's very predictions: 1e-12.
#[test]
fn metrics_equal_scikit_learn_given_the_same_predictions() {
    use lathe_core::model::eval::{classification_metrics, regression_metrics};
    let expected = expected();
    let mut checked = 0;
    for (name, entry) in expected["models"].as_object().unwrap() {
        let Some(want) = entry.get("metrics") else {
            continue;
        };
        let outputs = &entry["outputs"];
        if entry["task"] == "regression" {
            let actual: Vec<f64> = target_texts(entry)
                .iter()
                .map(|t| t.parse().unwrap())
                .collect();
            let got = regression_metrics(&actual, &numbers(&outputs["variable"])).unwrap();
            for key in ["mae", "rmse", "r2"] {
                close(
                    got[key],
                    want[key].as_f64().unwrap(),
                    1e-12,
                    &format!("{name}.{key}"),
                );
            }
        } else {
            let labels = strings(&want["labels"]);
            let index = |t: &str| labels.iter().position(|l| l == t).unwrap();
            let actual: Vec<usize> = target_texts(entry).iter().map(|t| index(t)).collect();
            let predicted: Vec<usize> = outputs["label"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| index(&v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect();
            let proba = numbers(&outputs["probabilities"]);
            let (got, cm, curves) =
                classification_metrics(&labels, &actual, &predicted, &proba).unwrap();
            for key in [
                "accuracy",
                "precision",
                "recall",
                "f1",
                "roc_auc",
                "log_loss",
            ] {
                close(
                    got[key],
                    want[key].as_f64().unwrap(),
                    1e-12,
                    &format!("{name}.{key}"),
                );
            }
            let want_cm: Vec<Vec<u64>> =
                serde_json::from_value(want["confusion_matrix"].clone()).unwrap();
            assert_eq!(cm, want_cm, "{name}: confusion matrix");
            if labels.len() == 2 {
                let curves = curves.unwrap();
                let c = &want["curves"];
                all_close(
                    &curves.roc.fpr,
                    &numbers(&c["roc"]["fpr"]),
                    1e-12,
                    &format!("{name}.roc.fpr"),
                );
                all_close(
                    &curves.roc.tpr,
                    &numbers(&c["roc"]["tpr"]),
                    1e-12,
                    &format!("{name}.roc.tpr"),
                );
                let thr: Vec<f64> = curves
                    .roc
                    .thresholds
                    .iter()
                    .skip(1)
                    .map(|t| t.unwrap())
                    .collect();
                let want_thr: Vec<f64> = c["roc"]["thresholds"].as_array().unwrap()[1..]
                    .iter()
                    .map(|t| t.as_f64().unwrap())
                    .collect();
                all_close(&thr, &want_thr, 1e-12, &format!("{name}.roc.thresholds"));
                all_close(
                    &curves.pr.precision,
                    &numbers(&c["pr"]["precision"]),
                    1e-12,
                    &format!("{name}.pr.precision"),
                );
                all_close(
                    &curves.pr.recall,
                    &numbers(&c["pr"]["recall"]),
                    1e-12,
                    &format!("{name}.pr.recall"),
                );
                all_close(
                    &curves.pr.thresholds,
                    &numbers(&c["pr"]["thresholds"]),
                    1e-12,
                    &format!("{name}.pr.thresholds"),
                );
                all_close(
                    &curves.calibration.prob_true,
                    &numbers(&c["calibration"]["prob_true"]),
                    1e-12,
                    &format!("{name}.calibration.prob_true"),
                );
                all_close(
                    &curves.calibration.prob_pred,
                    &numbers(&c["calibration"]["prob_pred"]),
                    1e-12,
                    &format!("{name}.calibration.prob_pred"),
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 13, "metrics checked for {checked} models");
}

/// The whole path (Lathe's predictions, then its metrics): within 1e-6 of scikit-learn on
/// onnxruntime's predictions (the predictions differ by float32 rounding).
#[test]
fn evaluate_predicts_and_scores_like_scikit_learn() {
    use lathe_core::model::eval::{EvalInput, Task, evaluate};
    let expected = expected();
    for name in [
        "logreg_binary",
        "rf_binary",
        "gb_multi",
        "rf_zipmap",
        "rf_reg",
        "mlp_reg_raw",
    ] {
        let entry = &expected["models"][name];
        let model = load(name);
        let table = TableSource::File {
            path: data_path(entry["dataset"].as_str().unwrap()),
            options: Default::default(),
        };
        let frame = table.frame(None).unwrap();
        let features = strings(&entry["features"]);
        let target = entry["target"].as_str().unwrap();
        let e = evaluate(
            &model,
            &EvalInput {
                model_name: name.to_owned(),
                data_name: "data".to_owned(),
                frame: &frame,
                features: &features,
                target,
                task: None,
            },
        )
        .unwrap();
        let Some(want) = entry.get("metrics") else {
            // ZipMap: no stored metrics; the labels come from the map's keys.
            assert_eq!(e.labels, ["0", "1"]);
            assert_eq!(e.task, Task::Classification);
            continue;
        };
        for (key, value) in want.as_object().unwrap() {
            if let Some(v) = value.as_f64() {
                close(e.metrics[key], v, 1e-6, &format!("{name}.{key}"));
            }
        }
        let task = if entry["task"] == "regression" {
            Task::Regression
        } else {
            Task::Classification
        };
        assert_eq!(e.task, task, "{name}: task inferred from the outputs");
    }
}

#[test]
fn evaluation_refuses_bad_targets() {
    use lathe_core::model::eval::{EvalInput, evaluate};
    let expected = expected();
    let entry = &expected["models"]["logreg_binary"];
    let model = load("logreg_binary");
    let table = TableSource::File {
        path: data_path("breast_cancer"),
        options: Default::default(),
    };
    let frame = table.frame(None).unwrap();
    let features = strings(&entry["features"]);
    let run = |target: &str| {
        evaluate(
            &model,
            &EvalInput {
                model_name: "m".into(),
                data_name: "d".into(),
                frame: &frame,
                features: &features,
                target,
                task: None,
            },
        )
        .unwrap_err()
        .to_string()
    };
    let e = run("nope");
    assert!(e.contains("no column \"nope\""), "{e}");
    // A non-binary target for a binary model.
    let e = run("diagnosis");
    assert!(
        e.contains("does not know") && e.contains("binary metrics"),
        "{e}"
    );
}

/// A big evaluation keeps its exact metrics but stores thinned curves and plot points.
#[test]
fn big_evaluations_store_thinned_curves() {
    use lathe_core::model::eval::{EvalInput, MAX_CURVE_POINTS, MAX_PLOT_POINTS, evaluate};
    let expected = expected();
    let run = |name: &str, copies: usize| {
        let entry = &expected["models"][name];
        let features = strings(&entry["features"]);
        let big = jittered(name, copies);
        evaluate(
            &load(name),
            &EvalInput {
                model_name: name.into(),
                data_name: "d".into(),
                frame: &big,
                features: &features,
                target: entry["target"].as_str().unwrap(),
                task: None,
            },
        )
        .unwrap()
    };
    let e = run("logreg_binary", 20);
    assert_eq!(e.rows, 569 * 20);
    assert!(e.thinned);
    let c = e.curves.as_ref().unwrap();
    assert!(c.roc.fpr.len() <= MAX_CURVE_POINTS && c.pr.precision.len() <= MAX_CURVE_POINTS);
    assert_eq!((c.roc.fpr[0], *c.roc.fpr.last().unwrap()), (0.0, 1.0));
    assert_eq!(c.pr.thresholds.len() + 1, c.pr.precision.len());
    let r = run("rf_reg", 20);
    assert!(r.thinned);
    assert_eq!(r.regression.as_ref().unwrap().actual.len(), MAX_PLOT_POINTS);
    // Small ones are whole.
    let whole = run("rf_reg", 1);
    assert!(!whole.thinned);
    assert_eq!(whole.regression.unwrap().actual.len(), 442);
}

/// `copies` of a model's dataset, its first feature jittered so the scores take many
/// distinct values.
pub fn jittered(name: &str, copies: usize) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    let expected = expected();
    let entry = &expected["models"][name];
    let frame = TableSource::File {
        path: data_path(entry["dataset"].as_str().unwrap()),
        options: Default::default(),
    }
    .frame(None)
    .unwrap();
    let mut big = frame.clone();
    for _ in 1..copies {
        big.vstack_mut(&frame).unwrap();
    }
    let first = strings(&entry["features"])[0].clone();
    let n = big.height();
    let jitter: Vec<f64> = (0..n).map(|i| (i % 997) as f64 * 1e-3).collect();
    let col = big
        .column(&first)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap();
    let shifted = (col.as_materialized_series() + &Series::new("j".into(), jitter)).unwrap();
    big.replace(
        &first,
        shifted.with_name(first.as_str().into()).into_column(),
    )
    .unwrap();
    big
}
