//! Deployment bundles: one archive that carries a model version and everything ops need to
//! serve, trust and watch it, in the formats they already use.
//!
//! Layout (under `<model>-<version>/` in the archive):
//! `manifest.json`, `model/model.onnx`, `model/signature.json`, `model/input_example.json`,
//! `MLmodel` (and `model/MLmodel`), `triton/<model>/config.pbtxt` and `triton/<model>/1/model.onnx`, `kserve.yaml`,
//! `MODEL_CARD.md`, `monitoring/reference_profile.json`, `monitoring/monitor_reference.json`
//! (a classifier with an evaluation dataset), `reports/*.html`, `charts/*.svg`,
//! `SHA256SUMS` and, when signed, `SHA256SUMS.sig`.
//!
//! - [`export()`] builds it from the project's records; the same inputs give the same bytes.
//! - [`verify()`] and [`inspect`] read one through [`archive::read`], the one safe reader.
//! - [`check_drift`] tests production data against the reference profile; [`monitor()`]
//!   estimates a classifier's performance on it without labels.
//! - [`sign`]: keys and signatures; [`profile`]: the reference profile; [`card`]: the model
//!   card; [`descriptors`]: MLflow, Triton and KServe files.

pub mod archive;
pub mod card;
pub mod descriptors;
mod export;
mod inspect;
pub mod oms;
pub mod profile;
mod report;
pub mod sbom;
pub mod sign;
mod store;
mod verify;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::registry::ModelVersion;
use crate::{Error, Result};
pub use archive::{BundleFiles, Limits};
pub use card::CardText;
pub use export::{ExportOptions, Exported, export};
pub use inspect::{
    Inspection, check_drift, check_drift_files, check_drift_source, check_drift_verified,
    check_expectations, inspect, inspect_files, monitor, monitor_verified,
};
pub use profile::ReferenceProfile;
pub use sign::SignatureInfo;
pub use store::{BundleRecord, list};
pub use verify::{
    FileCheck, FileStatus, SignatureCheck, SignatureStatus, Verification, verify, verify_files,
};

pub const FORMAT: &str = "lathe-bundle";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";
pub const SUMS_SIG: &str = "SHA256SUMS.sig";
pub const PROFILE: &str = "monitoring/reference_profile.json";
/// What performance estimation and multivariate drift learn from the evaluation data
/// ([`crate::monitor::Reference`]).
pub const MONITOR: &str = "monitoring/monitor_reference.json";
pub const CARD: &str = "MODEL_CARD.md";
/// The data expectations the bundle carries, a GX 1.x suite ([`crate::expect::Suite`]).
pub const CHECKS: &str = "checks/expectations.json";

/// One file of the bundle, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "BundleFileEntry"))]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// A dataset version by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DatasetRef {
    pub name: String,
    pub version: i64,
    /// The SHA-256 of its Parquet copy in the project.
    pub sha256: String,
}

/// The run that produced the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunRef {
    pub id: i64,
    pub source_run_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Lineage {
    pub run: Option<RunRef>,
    pub training_dataset: Option<DatasetRef>,
    pub evaluation_dataset: Option<DatasetRef>,
    pub reference_dataset: Option<DatasetRef>,
}

/// The model as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ManifestModel {
    pub name: String,
    pub version: i64,
    pub sha256: String,
    pub size_bytes: u64,
    pub task: String,
    pub target: Option<String>,
    pub features: Vec<String>,
    pub registered_at: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub model: ManifestModel,
    /// The model version's registration time: bundles carry no wall-clock time.
    pub created: String,
    pub lathe_version: String,
    pub lineage: Lineage,
    /// The evaluation's metrics on the evaluation dataset (empty without one).
    pub metrics: BTreeMap<String, f64>,
    /// Every file but `manifest.json`, `SHA256SUMS` and `SHA256SUMS.sig`, sorted by path.
    pub files: Vec<FileEntry>,
    pub signature: Option<SignatureInfo>,
}

pub(super) fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `out` names an archive (else a folder).
pub fn is_archive_path(out: &Path) -> bool {
    let name = out.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// The bundle's root folder name: `<model>-<version>`.
pub fn root_name(version: &ModelVersion) -> String {
    format!("{}-{}", version.name, version.version)
}

/// Reads a bundle with the safe reader, requiring a manifest.
pub fn read(path: &Path) -> Result<BundleFiles> {
    let files = archive::read(path, Limits::default())?;
    if files.get(MANIFEST).is_none() {
        return Err(Error::BadBundle {
            path: path.to_path_buf(),
            detail: format!(
                "it has no {MANIFEST}: not a Lathe bundle ({} other files)",
                files.files.len()
            ),
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::{FileStatus, SignatureStatus};

    #[test]
    fn status_names_are_the_json_names() {
        use FileStatus as F;
        for s in [
            F::Ok,
            F::Mismatch,
            F::Missing,
            F::Extra,
            F::Unreadable,
            F::Invalid,
        ] {
            assert_eq!(serde_json::to_value(s).ok(), Some(s.name().into()));
        }
        use SignatureStatus as S;
        for s in [S::Valid, S::Invalid, S::Absent, S::Untrusted] {
            assert_eq!(serde_json::to_value(s).ok(), Some(s.name().into()));
        }
    }
}
