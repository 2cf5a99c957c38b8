//! The files that let serving tools take the model as it is: `model/signature.json`,
//! `model/input_example.json`, MLflow's `MLmodel` (onnx flavor), Triton's `config.pbtxt` and
//! a KServe `InferenceService`. All text is written by hand, in a fixed order, so the same
//! model gives the same bytes.

use std::fmt::Write as _;

use polars::prelude::DataFrame;
use serde::Serialize;

use crate::Result;
use crate::model::registry::ModelVersion;
use crate::model::{Model, ValueSignature, feature_values};

/// Rows in `input_example.json`.
pub const EXAMPLE_ROWS: usize = 5;

/// `model/signature.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignatureFile<'a> {
    pub inputs: &'a [ValueSignature],
    pub outputs: &'a [ValueSignature],
    /// Column names in the order the model reads them.
    pub features: &'a [String],
    pub task: &'a str,
    pub target: Option<&'a str>,
    /// Class labels in the order of the probability columns.
    pub classes: Option<crate::model::tensor::Labels>,
}

pub fn signature_json(version: &ModelVersion, model: &Model) -> Result<Vec<u8>> {
    let file = SignatureFile {
        inputs: &version.signature.inputs,
        outputs: &version.signature.outputs,
        features: &version.features,
        task: version.task.name(),
        target: version.target.as_deref(),
        classes: model.class_labels(),
    };
    json_bytes(&file)
}

pub(crate) fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|e| crate::Error::Compute {
        context: "cannot write the bundle",
        detail: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

/// The first rows' features in pandas' `split` orientation, as MLflow saves input examples.
pub fn input_example(frame: &DataFrame, features: &[String]) -> Result<Vec<u8>> {
    let head = frame.head(Some(EXAMPLE_ROWS));
    let values = feature_values(&head, features)?;
    let data: Vec<Vec<serde_json::Value>> = values
        .chunks(features.len().max(1))
        .map(|row| row.iter().map(|v| serde_json::json!(v)).collect())
        .collect();
    json_bytes(&serde_json::json!({ "columns": features, "data": data }))
}

/// A YAML single-quoted scalar (also the model card's front matter).
pub(crate) fn yq(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn mlflow_tensor_dtype(dtype: &str) -> Option<&'static str> {
    Some(match dtype {
        "float32" => "float32",
        "float64" | "double" => "float64",
        "int64" => "int64",
        "int32" => "int32",
        "bool" => "bool",
        "string" => "str",
        _ => return None,
    })
}

fn shape_of(v: &ValueSignature) -> Vec<i64> {
    v.shape.iter().map(|d| d.unwrap_or(-1)).collect()
}

/// MLflow's `MLmodel`: the onnx flavor and pyfunc over `model.onnx` in `folder` (`model/`
/// for the bundle's root, `""` for the copy inside `model/`: MLflow's ONNX loader reads the
/// `MLmodel` beside the `.onnx` file), and a tensor signature copied from the graph (MLflow
/// flattens every output of a DataFrame prediction into one column, which breaks a
/// classifier's `[N, 2]` probabilities, so callers pass arrays: `predict(x.astype("float32"))`).
/// Column names and the input example are in `model/signature.json` and
/// `model/input_example.json`. `utc_time_created` is the version's registration time and
/// `model_uuid` comes from the model's hash: nothing changes between exports.
pub fn mlmodel(version: &ModelVersion, folder: &str) -> String {
    let mut out = String::new();
    let tensors = |values: &[ValueSignature]| -> Option<String> {
        let specs: Option<Vec<serde_json::Value>> = values
            .iter()
            .map(|o| {
                mlflow_tensor_dtype(&o.dtype).map(|dtype| {
                    serde_json::json!({
                        "type": "tensor",
                        "tensor-spec": { "dtype": dtype, "shape": shape_of(o) },
                        "name": o.name,
                    })
                })
            })
            .collect();
        specs.map(|s| yq(&serde_json::Value::Array(s).to_string()))
    };
    let uuid = &version.sha256[..32];
    let created = version.registered_at.replace('T', " ").replace('Z', "");
    let _ = writeln!(out, "artifact_path: model");
    let _ = writeln!(out, "flavors:");
    let _ = writeln!(out, "  onnx:");
    let _ = writeln!(out, "    code: null");
    let _ = writeln!(out, "    data: {folder}model.onnx");
    let _ = writeln!(out, "    providers:");
    let _ = writeln!(out, "    - CPUExecutionProvider");
    let _ = writeln!(out, "  python_function:");
    let _ = writeln!(out, "    data: {folder}model.onnx");
    let _ = writeln!(out, "    loader_module: mlflow.onnx");
    let _ = writeln!(out, "model_uuid: {uuid}");
    let _ = writeln!(out, "signature:");
    let null = || "null".to_owned();
    let _ = writeln!(
        out,
        "  inputs: {}",
        tensors(&version.signature.inputs).unwrap_or_else(null)
    );
    let _ = writeln!(
        out,
        "  outputs: {}",
        tensors(&version.signature.outputs).unwrap_or_else(null)
    );
    let _ = writeln!(out, "  params: null");
    let _ = writeln!(out, "utc_time_created: {}", yq(&created));
    out
}

fn triton_dtype(dtype: &str) -> Option<&'static str> {
    Some(match dtype {
        "float32" => "TYPE_FP32",
        "float64" | "double" => "TYPE_FP64",
        "float16" => "TYPE_FP16",
        "int64" => "TYPE_INT64",
        "int32" => "TYPE_INT32",
        "int8" => "TYPE_INT8",
        "uint8" => "TYPE_UINT8",
        "bool" => "TYPE_BOOL",
        "string" => "TYPE_STRING",
        _ => return None,
    })
}

/// A Triton model name: the model's name (already letters, digits, `_`, `-`, `.`).
pub fn triton_name(version: &ModelVersion) -> String {
    version.name.clone()
}

/// Triton's `config.pbtxt` for the ONNX Runtime backend, dims as the file declares them
/// (batch included, `max_batch_size: 0`). Outputs that are not tensors (ZipMap's maps) cannot
/// be served by Triton; they are left out with a comment saying so.
pub fn triton_config(version: &ModelVersion) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Written by Lathe from {}.", version.reference());
    let _ = writeln!(out, "name: \"{}\"", triton_name(version));
    let _ = writeln!(out, "backend: \"onnxruntime\"");
    let _ = writeln!(out, "max_batch_size: 0");
    let section = |out: &mut String, key: &str, values: &[ValueSignature]| {
        let served: Vec<&ValueSignature> = values
            .iter()
            .filter(|v| triton_dtype(&v.dtype).is_some())
            .collect();
        for v in values.iter().filter(|v| triton_dtype(&v.dtype).is_none()) {
            let _ = writeln!(
                out,
                "# {key} '{}' ({}) is not a tensor Triton can serve; export the model without ZipMap to serve it.",
                v.name, v.dtype
            );
        }
        let _ = writeln!(out, "{key} [");
        for (i, v) in served.iter().enumerate() {
            let dims: Vec<String> = shape_of(v).iter().map(i64::to_string).collect();
            let _ = writeln!(out, "  {{");
            let _ = writeln!(out, "    name: \"{}\"", v.name);
            let _ = writeln!(
                out,
                "    data_type: {}",
                triton_dtype(&v.dtype).unwrap_or("TYPE_INVALID")
            );
            let _ = writeln!(out, "    dims: [ {} ]", dims.join(", "));
            let _ = writeln!(out, "  }}{}", if i + 1 < served.len() { "," } else { "" });
        }
        let _ = writeln!(out, "]");
    };
    section(&mut out, "input", &version.signature.inputs);
    section(&mut out, "output", &version.signature.outputs);
    out
}

/// A Kubernetes name (RFC 1035 label) for the model version: lowercase letters, digits and
/// `-`, starting with a letter, at most 45 characters (KServe appends its own suffixes).
pub fn kserve_name(version: &ModelVersion) -> String {
    let mut name = String::new();
    for c in format!("{}-v{}", version.name, version.version)
        .to_ascii_lowercase()
        .chars()
    {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "m-");
    }
    let suffix = format!("-v{}", version.version);
    if name.len() > 45 {
        let keep = 45 - suffix.len();
        name.truncate(keep);
        name = format!("{}{suffix}", name.trim_end_matches('-'));
    }
    name.trim_end_matches('-').to_owned()
}

/// A KServe `InferenceService` (v1beta1) serving the bundle's Triton repository with the v2
/// protocol. `storageUri` is a placeholder: where ops put `triton/`.
pub fn kserve_yaml(version: &ModelVersion, root: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Written by Lathe from {}.", version.reference());
    let _ = writeln!(
        out,
        "# Copy the bundle's triton/ folder to your model storage and set storageUri to it."
    );
    let _ = writeln!(out, "apiVersion: serving.kserve.io/v1beta1");
    let _ = writeln!(out, "kind: InferenceService");
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {}", kserve_name(version));
    let _ = writeln!(out, "  annotations:");
    let _ = writeln!(out, "    lathe.dev/model: {}", yq(&version.reference()));
    let _ = writeln!(out, "    lathe.dev/model-sha256: {}", yq(&version.sha256));
    let _ = writeln!(out, "spec:");
    let _ = writeln!(out, "  predictor:");
    let _ = writeln!(out, "    model:");
    let _ = writeln!(out, "      modelFormat:");
    let _ = writeln!(out, "        name: onnx");
    let _ = writeln!(out, "      protocolVersion: v2");
    let _ = writeln!(out, "      runtime: kserve-tritonserver");
    let _ = writeln!(
        out,
        "      storageUri: {}",
        yq(&format!("s3://CHANGE-ME/{root}/triton"))
    );
    out
}
