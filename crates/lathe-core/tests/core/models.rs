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

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn data_path(dataset: &str) -> PathBuf {
    match dataset {
        "diabetes_class" => fixtures().join("diabetes_class.csv"),
        other => repo().join(format!("assets/datasets/{other}.csv")),
    }
}

fn strings(v: &Value) -> Vec<String> {
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
    assert!(models.len() >= 15, "the fixture holds every model kind");
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
