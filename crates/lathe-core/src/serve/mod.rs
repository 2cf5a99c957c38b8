//! Serving a model: what `lathe serve` decides, apart from the transport. A [`Served`] model
//! (from a verified bundle, or a registered version) turns requests of the Open Inference
//! Protocol ([`v2`]) and of MLflow's scoring protocol ([`scoring`]) into rows of features, and
//! its predictions back into their answers. Every refusal names the input, and the row where
//! there is one. The HTTP and gRPC servers, batching and metrics live in the `lathe-serve`
//! crate.

pub mod live;
pub mod log;
pub mod scoring;
pub mod v2;
pub mod window;

use std::path::Path;

use crate::bundle::{self, BundleFiles, MANIFEST, MONITOR, Manifest, PROFILE, ReferenceProfile};
use crate::model::tensor::{Data, Tensor};
use crate::model::{Model, Prediction, ValueSignature};
use crate::{Error, Result};

/// A model ready to serve, with what its requests are checked against.
#[derive(Debug)]
pub struct Served {
    /// The model's name in URLs (`/v2/models/NAME`).
    pub name: String,
    /// Its version (`1`), or empty for a model file.
    pub version: String,
    pub model: Model,
    /// The feature columns in the model's order.
    pub features: Vec<String>,
    /// Where it came from, as shown in logs: the bundle's path or `NAME@VERSION`.
    pub source: String,
    /// The bundle's reference profile, for live drift (none for a registered version).
    pub profile: Option<ReferenceProfile>,
    /// The model's outputs on the evaluation data, for live prediction drift (a bundle
    /// exported with a labelled evaluation dataset has them).
    pub predictions: Option<window::Predictions>,
    /// The bundle's signer, when signed and verified.
    pub signed_by: Option<String>,
}

/// Rows of features, row-major, as the request gave them (the model is fed them as `f32`, as
/// `lathe model predict` feeds a table's values; live drift sees them as given).
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub values: Vec<f64>,
    pub rows: usize,
}

impl Rows {
    /// Rows read from a request, refused when there are none.
    fn checked(values: Vec<f64>, rows: usize) -> std::result::Result<Rows, BadRequest> {
        if rows == 0 {
            return bad!("the request has no rows");
        }
        Ok(Rows { values, rows })
    }

    /// The model's input: every value as `f32`.
    pub fn matrix(&self) -> Vec<f32> {
        self.values.iter().map(|&v| v as f32).collect()
    }
}

/// A request the server refuses, with the message the client sees (HTTP 400, gRPC
/// `INVALID_ARGUMENT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Refuses a request: `bad!("...{}", x)`.
macro_rules! bad {
    ($($arg:tt)*) => { Err(BadRequest(format!($($arg)*))) };
}
pub(crate) use bad;

/// A model file and its features: the parts of a [`Served`] that do not come from a bundle.
#[derive(Debug)]
pub struct ModelParts {
    pub model: Model,
    /// `NAME@VERSION`, a path or a URL.
    pub reference: String,
    pub features: Vec<String>,
}

/// Whether `lathe serve`'s argument names a bundle (an archive, or a folder with a
/// manifest) rather than a model.
pub fn is_bundle(path: &Path) -> bool {
    bundle::is_archive_path(path) || path.join(MANIFEST).is_file()
}

impl Served {
    /// Reads and verifies a bundle (every file against `SHA256SUMS`; the signature, against
    /// `trusted` when given) and refuses it on any failure, naming each.
    pub fn bundle(path: &Path, trusted: Option<&crate::bundle::sign::PublicKey>) -> Result<Served> {
        let files = bundle::read(path)?;
        let verification = bundle::verify_files(&files, trusted);
        if !verification.ok {
            return Err(Error::BadBundle {
                path: path.to_path_buf(),
                detail: format!(
                    "it fails verification, so it is not served: {}",
                    verification.problems.join("; ")
                ),
            });
        }
        let signed_by = (verification.signature.status == bundle::SignatureStatus::Valid)
            .then(|| verification.signature.fingerprint.clone())
            .flatten();
        Self::from_files(&files, signed_by)
    }

    fn from_files(files: &BundleFiles, signed_by: Option<String>) -> Result<Served> {
        let bad = |detail: String| Error::BadBundle {
            path: files.source.clone(),
            detail,
        };
        let manifest: Manifest = serde_json::from_slice(files.get(MANIFEST).unwrap_or_default())
            .map_err(|e| bad(format!("{MANIFEST} cannot be read: {e}")))?;
        let bytes = files
            .get("model/model.onnx")
            .ok_or_else(|| bad("it has no model/model.onnx".to_owned()))?;
        let model = Model::load(bytes, &files.root)?;
        let profile = files
            .get(PROFILE)
            .map(|p| {
                serde_json::from_slice::<ReferenceProfile>(p)
                    .map_err(|e| bad(format!("{PROFILE} cannot be read: {e}")))
            })
            .transpose()?;
        let predictions = match files.get(MONITOR) {
            Some(bytes) => {
                let reference: crate::monitor::Reference = serde_json::from_slice(bytes)
                    .map_err(|e| bad(format!("{MONITOR} cannot be read: {e}")))?;
                let dataset = manifest.lineage.evaluation_dataset.as_ref().map_or_else(
                    || "the evaluation data".to_owned(),
                    |d| format!("{}@{}", d.name, d.version),
                );
                Some(window::Predictions::learn(&reference, &dataset)?)
            }
            None => None,
        };
        Ok(Served {
            name: manifest.model.name.clone(),
            version: manifest.model.version.to_string(),
            model,
            features: manifest.model.features.clone(),
            source: files.source.display().to_string(),
            profile,
            predictions,
            signed_by,
        })
    }

    /// A registered version or a model file (`NAME@VERSION` is served as `NAME`, version
    /// `VERSION`; a file by its stem).
    pub fn model(parts: ModelParts) -> Served {
        let (name, version) = match parts.reference.rsplit_once('@') {
            Some((n, v)) if !n.contains('/') => (n.to_owned(), v.to_owned()),
            _ => (
                Path::new(&parts.reference)
                    .file_stem()
                    .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned()),
                String::new(),
            ),
        };
        Served {
            name,
            version,
            model: parts.model,
            features: parts.features,
            source: parts.reference,
            profile: None,
            predictions: None,
            signed_by: None,
        }
    }

    /// The graph's one input when the model takes a feature matrix.
    pub fn matrix_input(&self) -> Option<&ValueSignature> {
        match &self.model.signature().inputs[..] {
            [one] if self.model.feature_count().is_some() => Some(one),
            _ => None,
        }
    }

    /// The model's outputs as the server names them.
    pub fn outputs(&self) -> &[ValueSignature] {
        &self.model.signature().outputs
    }

    /// Predicts checked rows.
    pub fn predict(&self, rows: &Rows) -> Result<Prediction> {
        self.model.predict(&rows.matrix(), self.features.len())
    }
}

/// Checks a feature value as [`Model::predict`] does (NaN is refused), naming the row
/// (1-based) and the feature.
fn finite(
    value: f64,
    row: usize,
    feature: &str,
    input: &dyn Fn() -> String,
) -> std::result::Result<f64, BadRequest> {
    if value.is_nan() {
        bad!(
            "{}: row {} has no value (NaN) in '{feature}'; the model does not guess values: impute or drop such rows",
            input(),
            row + 1
        )
    } else {
        Ok(value)
    }
}

/// The rows `start..end` of every output (a batch's answer split per request).
pub fn slice(prediction: &Prediction, start: usize, end: usize) -> Prediction {
    Prediction {
        rows: end - start,
        outputs: prediction
            .outputs
            .iter()
            .map(|(n, t)| (n.clone(), t.slice_rows(start, end)))
            .collect(),
    }
}

/// One output as rows of plain JSON values: a number or text per row, or a list (a
/// probability row; a ZipMap row as `{label: probability}`).
pub fn output_rows(t: &Tensor) -> Vec<serde_json::Value> {
    use serde_json::Value;
    let rows = t.rows();
    let w = if t.shape.len() <= 1 { 1 } else { t.row_len() };
    let value = |i: usize| -> Value {
        match &t.data {
            Data::F32(v) => Value::from(f64::from(v[i])),
            Data::F64(v) => Value::from(v[i]),
            Data::I64(v) => Value::from(v[i]),
            Data::Str(v) => Value::from(v[i].as_str()),
            Data::Map { values, .. } => Value::from(f64::from(values[i])),
        }
    };
    (0..rows)
        .map(|r| match &t.data {
            Data::Map { keys, .. } => {
                Value::Object((0..w).map(|j| (keys.text(j), value(r * w + j))).collect())
            }
            _ if w == 1 => value(r),
            _ => Value::Array((0..w).map(|j| value(r * w + j)).collect()),
        })
        .collect()
}
