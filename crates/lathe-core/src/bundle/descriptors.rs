//! The files that let serving tools take the model as it is: `model/signature.json`,
//! `model/input_example.json`, MLflow's `MLmodel` (onnx flavor), Triton's `config.pbtxt` and
//! a KServe `InferenceService`. All text is written by hand, in a fixed order, so the same
//! model gives the same bytes.

use std::fmt::Write as _;

use polars::prelude::{DataFrame, DataType};
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

/// The pyfunc adapter every bundle carries as `code/lathe_pyfunc.py` (see [`mlmodel`]).
pub const PYFUNC_ADAPTER: &str = include_str!("lathe_pyfunc.py");
pub const PYFUNC_ADAPTER_PATH: &str = "code/lathe_pyfunc.py";

/// Which `python_function` an `MLmodel` declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pyfunc {
    /// MLflow's own ONNX loader (`mlflow.onnx`) and a tensor signature copied from the graph:
    /// callers pass arrays (`predict(x.astype("float32"))`). The copy inside `model/`, which
    /// MLflow's ONNX loader reads beside the `.onnx` file.
    Tensors,
    /// Lathe's adapter (`code/lathe_pyfunc.py`, loader module `lathe_pyfunc`) and a column
    /// signature: the features by name with their MLflow types (see [`feature_types`]), the
    /// outputs one column per value. What `mlflow.pyfunc.load_model(bundle)` and `mlflow
    /// models serve -m bundle` use, so a DataFrame of named columns is taken.
    Columns,
}

/// MLflow's `MLmodel`: the onnx flavor over `model.onnx` in `folder` (`model/` for the
/// bundle's root, `""` for the copy inside `model/`) and the pyfunc `kind` says.
/// `utc_time_created` is the version's registration time and `model_uuid` comes from the
/// model's hash: nothing changes between exports.
pub fn mlmodel(
    version: &ModelVersion,
    folder: &str,
    kind: Pyfunc,
    feature_types: &[&'static str],
) -> String {
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
    if kind == Pyfunc::Columns {
        let _ = writeln!(out, "    code: code");
    }
    let _ = writeln!(out, "    data: {folder}model.onnx");
    let _ = writeln!(
        out,
        "    loader_module: {}",
        match kind {
            Pyfunc::Tensors => "mlflow.onnx",
            Pyfunc::Columns => "lathe_pyfunc",
        }
    );
    let _ = writeln!(out, "model_uuid: {uuid}");
    let _ = writeln!(out, "signature:");
    let null = || "null".to_owned();
    let (inputs, outputs) = match kind {
        Pyfunc::Tensors => (
            tensors(&version.signature.inputs),
            tensors(&version.signature.outputs),
        ),
        Pyfunc::Columns => (
            Some(feature_columns(version, feature_types)),
            output_columns(version),
        ),
    };
    let _ = writeln!(out, "  inputs: {}", inputs.unwrap_or_else(null));
    let _ = writeln!(out, "  outputs: {}", outputs.unwrap_or_else(null));
    let _ = writeln!(out, "  params: null");
    let _ = writeln!(out, "utc_time_created: {}", yq(&created));
    out
}

/// MLflow's column type of each feature, from a table of the data the model takes (the
/// evaluation or reference dataset): MLflow refuses a column whose type would not convert
/// safely (an int64 column where the signature says `double`), so the signature says what the
/// data hold, as `mlflow.models.infer_signature` would. `double` where unknown. The adapter
/// feeds every feature to the graph as float32, as Lathe does.
pub fn feature_types(frame: Option<&DataFrame>, features: &[String]) -> Vec<&'static str> {
    features
        .iter()
        .map(|f| {
            let dtype = frame
                .and_then(|fr| fr.column(f).ok())
                .map(|c| c.dtype().clone());
            match dtype {
                Some(DataType::Int64 | DataType::UInt32 | DataType::UInt64) => "long",
                Some(
                    DataType::Int32
                    | DataType::Int16
                    | DataType::Int8
                    | DataType::UInt16
                    | DataType::UInt8,
                ) => "integer",
                Some(DataType::Float32) => "float",
                Some(DataType::Boolean) => "boolean",
                _ => "double",
            }
        })
        .collect()
}

/// MLflow's column signature of the features: each by name, with its type.
fn feature_columns(version: &ModelVersion, types: &[&'static str]) -> String {
    let specs: Vec<serde_json::Value> = version
        .features
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let kind = types.get(j).copied().unwrap_or("double");
            serde_json::json!({ "type": kind, "name": f, "required": true })
        })
        .collect();
    yq(&serde_json::Value::Array(specs).to_string())
}

/// The adapter's output columns (`NAME`, or `NAME_0`, `NAME_1`, ... for a `[N, k]` output),
/// when every output's width is known; `None` (no output schema) otherwise.
fn output_columns(version: &ModelVersion) -> Option<String> {
    let mut specs = Vec::new();
    for o in &version.signature.outputs {
        let kind = match o.dtype.as_str() {
            "int64" | "int32" => "long",
            "string" => "string",
            "float64" => "double",
            "float32" => "float",
            "bool" => "boolean",
            _ => return None,
        };
        match o.shape[..] {
            [_] | [_, Some(1)] => {
                specs.push(serde_json::json!({ "type": kind, "name": o.name, "required": true }));
            }
            [_, Some(k)] => {
                for j in 0..k {
                    specs.push(serde_json::json!({
                        "type": kind, "name": format!("{}_{j}", o.name), "required": true,
                    }));
                }
            }
            _ => return None,
        }
    }
    Some(yq(&serde_json::Value::Array(specs).to_string()))
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

/// The first lines of a YAML file Lathe writes: where it comes from and what to do with it.
fn written_by(out: &mut String, version: &ModelVersion, what_to_do: &str) {
    let _ = writeln!(out, "# Written by Lathe from {}.", version.reference());
    let _ = writeln!(out, "# {what_to_do}");
}

/// The model's annotations (reference and hash), indented by `pad`.
fn model_annotations(out: &mut String, version: &ModelVersion, pad: &str) {
    let _ = writeln!(out, "{pad}lathe.dev/model: {}", yq(&version.reference()));
    let _ = writeln!(out, "{pad}lathe.dev/model-sha256: {}", yq(&version.sha256));
}

/// An `InferenceService`'s header: kind, name and the model's annotations.
fn inference_service(out: &mut String, version: &ModelVersion) {
    let _ = writeln!(out, "apiVersion: serving.kserve.io/v1beta1");
    let _ = writeln!(out, "kind: InferenceService");
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {}", kserve_name(version));
    let _ = writeln!(out, "  annotations:");
    model_annotations(out, version, "    ");
}

/// What ops do with `deploy/kubernetes.yaml` and `deploy/kserve.yaml`.
const APPLY: &str =
    "Build and push the image of deploy/Dockerfile, set `image` to it, then: kubectl apply -f";

/// A KServe `InferenceService` (v1beta1) serving the bundle's Triton repository with the v2
/// protocol. `storageUri` is a placeholder: where ops put `triton/`.
pub fn kserve_yaml(version: &ModelVersion, root: &str) -> String {
    let mut out = String::new();
    written_by(
        &mut out,
        version,
        "Copy the bundle's triton/ folder to your model storage and set storageUri to it.",
    );
    inference_service(&mut out, version);
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

/// The image `deploy/` files name: a placeholder registry, the Kubernetes name, the version.
fn image(version: &ModelVersion) -> String {
    format!("CHANGE-ME/{}:{}", kserve_name(version), version.version)
}

/// REST and gRPC ports of the container (`lathe serve`'s defaults).
pub const SERVE_PORT: u16 = 8080;
pub const SERVE_GRPC_PORT: u16 = 8081;

/// `deploy/Dockerfile`: a slim image that serves the bundle with `lathe serve` (verified at
/// every start, as a non-root user), with `/metrics` on.
pub fn dockerfile(version: &ModelVersion) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Written by Lathe from {}.", version.reference());
    let _ = writeln!(
        out,
        "# An image that serves this bundle with `lathe serve` (KServe v2 REST on {SERVE_PORT}, gRPC on {SERVE_GRPC_PORT},"
    );
    let _ = writeln!(
        out,
        "# MLflow's /invocations and Prometheus /metrics). Build it from a folder holding the `lathe`"
    );
    let _ = writeln!(
        out,
        "# binary (Linux x86-64) and this bundle's archive named bundle.tar.gz:"
    );
    let _ = writeln!(
        out,
        "#   mkdir image && cp \"$(command -v lathe)\" image/ && cp BUNDLE.tar.gz image/bundle.tar.gz"
    );
    let _ = writeln!(
        out,
        "#   tar -xzOf image/bundle.tar.gz --wildcards '*/deploy/Dockerfile' > image/Dockerfile"
    );
    let _ = writeln!(out, "#   docker build -t {} image/", image(version));
    let _ = writeln!(out, "FROM debian:12-slim");
    let _ = writeln!(out, "COPY lathe /usr/local/bin/lathe");
    let _ = writeln!(out, "COPY bundle.tar.gz /srv/bundle.tar.gz");
    let _ = writeln!(out, "USER 65532:65532");
    let _ = writeln!(out, "EXPOSE {SERVE_PORT} {SERVE_GRPC_PORT}");
    let _ = writeln!(
        out,
        "ENTRYPOINT [\"/usr/local/bin/lathe\", \"serve\", \"/srv/bundle.tar.gz\", \"--host\", \"0.0.0.0\", \"--port\", \"{SERVE_PORT}\", \"--grpc-port\", \"{SERVE_GRPC_PORT}\", \"--metrics\"]"
    );
    out
}

/// The container of `deploy/kubernetes.yaml` and `deploy/kserve.yaml`, indented by `pad`,
/// with its named ports.
fn container(
    out: &mut String,
    version: &ModelVersion,
    pad: &str,
    name: &str,
    ports: &[(&str, u16)],
) {
    let _ = writeln!(out, "{pad}- name: {name}");
    let _ = writeln!(out, "{pad}  image: {}", yq(&image(version)));
    let _ = writeln!(out, "{pad}  ports:");
    for (port_name, port) in ports {
        let _ = writeln!(out, "{pad}  - name: {port_name}");
        let _ = writeln!(out, "{pad}    containerPort: {port}");
        let _ = writeln!(out, "{pad}    protocol: TCP");
    }
    for (probe, path) in [
        ("livenessProbe", "/v2/health/live"),
        ("readinessProbe", "/v2/health/ready"),
    ] {
        let _ = writeln!(out, "{pad}  {probe}:");
        let _ = writeln!(out, "{pad}    httpGet:");
        let _ = writeln!(out, "{pad}      path: {path}");
        let _ = writeln!(out, "{pad}      port: {SERVE_PORT}");
        let _ = writeln!(out, "{pad}    periodSeconds: 10");
    }
    let _ = writeln!(out, "{pad}  resources:");
    let _ = writeln!(out, "{pad}    requests:");
    let _ = writeln!(out, "{pad}      cpu: '1'");
    let _ = writeln!(out, "{pad}      memory: 256Mi");
    let _ = writeln!(out, "{pad}    limits:");
    let _ = writeln!(out, "{pad}      memory: 1Gi");
}

/// Prometheus' scrape annotations for `/metrics`, indented by `pad`.
fn scrape_annotations(out: &mut String, pad: &str) {
    let _ = writeln!(out, "{pad}prometheus.io/scrape: 'true'");
    let _ = writeln!(out, "{pad}prometheus.io/port: '{SERVE_PORT}'");
    let _ = writeln!(out, "{pad}prometheus.io/path: /metrics");
}

/// `deploy/kubernetes.yaml`: a `Deployment` of the image (liveness and readiness on the v2
/// health endpoints, Prometheus scrape annotations) and a `Service` in front of it.
pub fn kubernetes_yaml(version: &ModelVersion) -> String {
    let name = kserve_name(version);
    let mut out = String::new();
    written_by(&mut out, version, APPLY);
    let _ = writeln!(out, "apiVersion: apps/v1");
    let _ = writeln!(out, "kind: Deployment");
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {name}");
    let _ = writeln!(out, "  labels:");
    let _ = writeln!(out, "    app.kubernetes.io/name: {name}");
    let _ = writeln!(out, "  annotations:");
    model_annotations(&mut out, version, "    ");
    let _ = writeln!(out, "spec:");
    let _ = writeln!(out, "  replicas: 2");
    let _ = writeln!(out, "  selector:");
    let _ = writeln!(out, "    matchLabels:");
    let _ = writeln!(out, "      app.kubernetes.io/name: {name}");
    let _ = writeln!(out, "  template:");
    let _ = writeln!(out, "    metadata:");
    let _ = writeln!(out, "      labels:");
    let _ = writeln!(out, "        app.kubernetes.io/name: {name}");
    let _ = writeln!(out, "      annotations:");
    scrape_annotations(&mut out, "        ");
    let _ = writeln!(out, "    spec:");
    let _ = writeln!(out, "      containers:");
    container(
        &mut out,
        version,
        "      ",
        "lathe-serve",
        &[("http", SERVE_PORT), ("grpc", SERVE_GRPC_PORT)],
    );
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "apiVersion: v1");
    let _ = writeln!(out, "kind: Service");
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {name}");
    let _ = writeln!(out, "  labels:");
    let _ = writeln!(out, "    app.kubernetes.io/name: {name}");
    let _ = writeln!(out, "spec:");
    let _ = writeln!(out, "  selector:");
    let _ = writeln!(out, "    app.kubernetes.io/name: {name}");
    let _ = writeln!(out, "  ports:");
    let _ = writeln!(out, "  - name: http");
    let _ = writeln!(out, "    port: {SERVE_PORT}");
    let _ = writeln!(out, "    targetPort: http");
    let _ = writeln!(out, "  - name: grpc");
    let _ = writeln!(out, "    port: {SERVE_GRPC_PORT}");
    let _ = writeln!(out, "    targetPort: grpc");
    out
}

/// `deploy/kserve.yaml`: a KServe `InferenceService` whose predictor is the image (a custom
/// container speaking the v2 protocol), with the same probes and scrape annotations. Knative,
/// under KServe's serverless mode, routes one port per container, named `http1` (REST; gRPC
/// would be a second service with `h2c`).
pub fn kserve_container_yaml(version: &ModelVersion) -> String {
    let mut out = String::new();
    written_by(&mut out, version, APPLY);
    inference_service(&mut out, version);
    scrape_annotations(&mut out, "    ");
    let _ = writeln!(out, "spec:");
    let _ = writeln!(out, "  predictor:");
    let _ = writeln!(out, "    containers:");
    container(
        &mut out,
        version,
        "    ",
        "kserve-container",
        &[("http1", SERVE_PORT)],
    );
    out
}
