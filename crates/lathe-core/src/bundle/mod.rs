//! Deployment bundles: one archive that carries a model version and everything ops need to
//! serve, trust and watch it, in the formats they already use.
//!
//! Layout (under `<model>-<version>/` in the archive):
//! `manifest.json`, `model/model.onnx`, `model/signature.json`, `model/input_example.json`,
//! `MLmodel` (and `model/MLmodel`), `triton/<model>/config.pbtxt` and `triton/<model>/1/model.onnx`, `kserve.yaml`,
//! `MODEL_CARD.md`, `monitoring/reference_profile.json`, `reports/*.html`, `charts/*.svg`,
//! `SHA256SUMS` and, when signed, `SHA256SUMS.sig`.
//!
//! - [`export()`] builds it from the project's records; the same inputs give the same bytes.
//! - [`verify()`] and [`inspect`] read one through [`archive::read`], the one safe reader.
//! - [`check_drift`] tests production data against the reference profile.
//! - [`sign`]: keys and signatures; [`profile`]: the reference profile; [`card`]: the model
//!   card; [`descriptors`]: MLflow, Triton and KServe files.

pub mod archive;
pub mod card;
pub mod descriptors;
pub mod profile;
mod report;
pub mod sign;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chart::Figure;
use crate::dataset::{self, StoredVersion, browse::TableSource};
use crate::drift::{DriftOptions, DriftReport, SideInfo};
use crate::explain::{self, Explanation};
use crate::fairness::Fairness;
use crate::job::Job;
use crate::model::eval::{EvalInput, Evaluation, evaluate};
use crate::model::registry::{self, ModelVersion};
use crate::project::Project;
use crate::{Error, Result};
pub use archive::{BundleFiles, Limits};
pub use card::CardText;
pub use profile::ReferenceProfile;
pub use sign::SignatureInfo;
pub use store::{BundleRecord, list};

pub const FORMAT: &str = "lathe-bundle";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";
pub const SUMS_SIG: &str = "SHA256SUMS.sig";
pub const PROFILE: &str = "monitoring/reference_profile.json";
pub const CARD: &str = "MODEL_CARD.md";

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

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// `NAME[@VERSION|@ALIAS]`.
    pub model: String,
    /// `FILE.tar.gz`, or a folder (any other path).
    pub out: PathBuf,
    /// Evaluated, explained and (with `sensitive`) assessed for fairness in the bundle.
    pub eval_dataset: Option<String>,
    /// The monitoring reference; default: the version's training dataset.
    pub reference_dataset: Option<String>,
    /// Sensitive columns of the evaluation dataset for the card's fairness breakdown; default:
    /// the version's latest stored fairness report.
    pub sensitive: Vec<String>,
    pub card: CardText,
    /// A private key file (PKCS#8 PEM) to sign `SHA256SUMS` with.
    pub sign_key: Option<PathBuf>,
}

/// What [`export()`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Exported {
    pub path: String,
    /// `tar.gz` or `folder`.
    pub format: String,
    pub model: String,
    /// The archive's SHA-256; for a folder, its `SHA256SUMS` file's.
    pub sha256: String,
    pub size_bytes: u64,
    pub files: u64,
    /// The signing key's fingerprint.
    pub signed_by: Option<String>,
    /// What the bundle lacks, and why (no evaluation dataset, say).
    pub notes: Vec<String>,
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `out` names an archive (else a folder).
pub fn is_archive_path(out: &Path) -> bool {
    let name = out.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

fn dataset_ref(v: &StoredVersion) -> DatasetRef {
    DatasetRef {
        name: v.dataset.clone(),
        version: v.version,
        sha256: v.object_sha256.clone(),
    }
}

fn svg(chart: &impl Figure) -> Result<Vec<u8>> {
    Ok(chart.svg()?.into_bytes())
}

/// The bundle's root folder name: `<model>-<version>`.
pub fn root_name(version: &ModelVersion) -> String {
    format!("{}-{}", version.name, version.version)
}

/// Exports a registered model version as a bundle (see the module documentation).
pub fn export(project: &Project, options: &ExportOptions, job: &Job) -> Result<Exported> {
    let version = registry::show(project, &options.model)?;
    let archive = is_archive_path(&options.out);
    if options.out.exists() && archive {
        return Err(Error::BadArgument {
            argument: "out",
            detail: format!(
                "{} exists; Lathe does not overwrite a bundle, pick a new path",
                options.out.display()
            ),
        });
    }
    let key = options
        .sign_key
        .as_deref()
        .map(sign::read_private)
        .transpose()?;
    job.progress("reading the model", 0, None);
    let model_path = project.objects().path_of(&version.sha256);
    let model_bytes = std::fs::read(&model_path)
        .map_err(|e| Error::io("read the model object", &model_path, e))?;
    let model = crate::model::Model::load(&model_bytes, &version.reference())?;
    let resolve = |r: &Option<String>| {
        r.as_deref()
            .map(|r| dataset::resolve(project, r))
            .transpose()
    };
    let eval = resolve(&options.eval_dataset)?;
    let training = resolve(&version.dataset)?;
    let reference = match resolve(&options.reference_dataset)? {
        Some(r) => Some(r),
        None => training.clone(),
    };
    let mut notes = Vec::new();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let root = root_name(&version);
    let triton = descriptors::triton_name(&version);
    files.insert(
        "model/signature.json".into(),
        descriptors::signature_json(&version, &model)?,
    );
    // Each dataset is read once (the reference defaults to the training data).
    job.progress("reading the data", 0, None);
    let frame_of = |v: &StoredVersion| {
        TableSource::stored(project, &format!("{}@{}", v.dataset, v.version))?.frame(None)
    };
    let eval_frame = eval.as_ref().map(frame_of).transpose()?;
    let reference_frame = match (&reference, &eval, &eval_frame) {
        (Some(r), Some(e), Some(f)) if r.id == e.id => Some(f.clone()),
        (Some(r), _, _) => Some(frame_of(r)?),
        _ => None,
    };
    match eval_frame.as_ref().or(reference_frame.as_ref()) {
        Some(frame) => {
            files.insert(
                "model/input_example.json".into(),
                descriptors::input_example(frame, &version.features)?,
            );
        }
        None => notes.push("no dataset to take an input example from".into()),
    }
    files.insert(
        "MLmodel".into(),
        descriptors::mlmodel(&version, "model/").into_bytes(),
    );
    files.insert(
        "model/MLmodel".into(),
        descriptors::mlmodel(&version, "").into_bytes(),
    );
    files.insert(
        format!("triton/{triton}/config.pbtxt"),
        descriptors::triton_config(&version).into_bytes(),
    );
    files.insert(
        "kserve.yaml".into(),
        descriptors::kserve_yaml(&version, &root).into_bytes(),
    );
    job.cancel.check()?;

    // Evaluation, explanation and fairness on the evaluation dataset.
    let mut evaluation: Option<Evaluation> = None;
    let mut explanation: Option<Explanation> = None;
    let mut fairness: Option<Fairness> = None;
    if let (Some(ev), Some(frame)) = (&eval, &eval_frame) {
        let data_ref = format!("{}@{}", ev.dataset, ev.version);
        job.progress("evaluating", 0, None);
        match &version.target {
            Some(target) => {
                let e = evaluate(
                    &model,
                    &EvalInput {
                        model_name: version.reference(),
                        data_name: data_ref.clone(),
                        frame,
                        features: &version.features,
                        target,
                        task: Some(version.task),
                    },
                )?;
                for name in crate::model::chart::available(&e) {
                    let c = crate::model::chart::chart(&e, name)?;
                    files.insert(format!("charts/evaluation_{name}.svg"), svg(&c)?);
                }
                files.insert(
                    "reports/evaluation.html".into(),
                    report::evaluation(&e)?.into_bytes(),
                );
                evaluation = Some(e);
            }
            None => notes.push(format!(
                "{} has no target column: not evaluated",
                version.reference()
            )),
        }
        job.cancel.check()?;
        job.progress("explaining", 0, None);
        let request = explain::Request::Shap {
            algorithm: explain::shap::Algorithm::Auto,
            rows: None,
            background: 100,
            max_evals: 500,
            seed: 0,
            class: None,
        };
        let stored = explain::store::explain_stored(
            project,
            &version.reference(),
            &data_ref,
            None,
            &request,
            job,
        )?;
        if let Explanation::Shap(s) = &stored.result {
            files.insert(
                "charts/shap_bar.svg".into(),
                svg(&explain::chart::shap_bar(s))?,
            );
            files.insert(
                "charts/shap_beeswarm.svg".into(),
                svg(&explain::chart::beeswarm(s))?,
            );
            files.insert(
                "reports/explanation.html".into(),
                report::explanation(s, &stored.data)?.into_bytes(),
            );
        }
        explanation = Some(stored.result);
        job.cancel.check()?;
        if !options.sensitive.is_empty() {
            job.progress("assessing fairness", 0, None);
            fairness = Some(crate::fairness::store::fairness_stored(
                project,
                &version.reference(),
                &data_ref,
                None,
                &options.sensitive,
                job,
            )?);
        }
    } else {
        notes
            .push("no --eval-dataset: no evaluation, explanation or fairness in the bundle".into());
    }
    if fairness.is_none() && options.sensitive.is_empty() {
        fairness = crate::fairness::store::latest_stored(project, version.id)?;
    }
    if let Some(f) = &fairness {
        for (column, r) in &f.by_sensitive {
            let c = crate::fairness::chart::groups_chart(column, r);
            files.insert(
                format!("charts/fairness_{}.svg", explain::chart::slug(column)),
                svg(&c)?,
            );
        }
    }

    // The monitoring profile, and the evaluation data's drift from it.
    let mut drift: Option<DriftReport> = None;
    match (&reference, &reference_frame) {
        (Some(r), Some(frame)) => {
            job.progress("profiling the reference", 0, None);
            let mut columns = version.features.clone();
            if let Some(t) = version.target.as_ref().filter(|t| frame.column(t).is_ok()) {
                columns.push(t.clone());
            }
            let p = profile::build(
                frame,
                &columns,
                &format!("{}@{}", r.dataset, r.version),
                &r.object_sha256,
            )?;
            files.insert(PROFILE.into(), descriptors::json_bytes(&p)?);
            if let (Some(ev), Some(cur)) = (eval.as_ref().filter(|ev| ev.id != r.id), &eval_frame) {
                job.progress("testing drift", 0, None);
                let side = |v: &StoredVersion, f: &polars::prelude::DataFrame| SideInfo {
                    name: v.dataset.clone(),
                    version: Some(v.version),
                    rows: f.height() as u64,
                };
                let d = crate::drift::compare_frames(
                    (side(r, frame), frame),
                    (side(ev, cur), cur),
                    &DriftOptions {
                        columns: Some(columns.clone()),
                        ..DriftOptions::default()
                    },
                    job,
                )?;
                files.insert(
                    "reports/drift.html".into(),
                    crate::drift::html::render(&d)?.into_bytes(),
                );
                drift = Some(d);
            }
        }
        _ => notes.push(format!(
            "{} has no training dataset and no --reference-dataset was given: no monitoring profile",
            version.reference()
        )),
    }
    job.cancel.check()?;

    let lineage = Lineage {
        run: version.run_id.map(|id| RunRef {
            id,
            source_run_id: version.run_source_id.clone(),
        }),
        training_dataset: training.as_ref().map(dataset_ref),
        evaluation_dataset: eval.as_ref().map(dataset_ref),
        reference_dataset: reference.as_ref().map(dataset_ref),
    };
    files.insert(
        CARD.into(),
        card::render(&card::CardInput {
            version: &version,
            lineage: &lineage,
            evaluation: evaluation.as_ref(),
            explanation: explanation.as_ref(),
            fairness: fairness.as_ref(),
            drift: drift.as_ref(),
            text: &options.card,
        })
        .into_bytes(),
    );
    files.insert(format!("triton/{triton}/1/model.onnx"), model_bytes.clone());
    files.insert("model/model.onnx".into(), model_bytes);

    job.progress("hashing", 0, None);
    let entries: Vec<FileEntry> = files
        .iter()
        .map(|(path, data)| FileEntry {
            path: path.clone(),
            sha256: sha_hex(data),
            size: data.len() as u64,
        })
        .collect();
    let signature = match &key {
        Some(k) => Some(SignatureInfo {
            algorithm: "ed25519".into(),
            signed_file: SUMS.into(),
            signature_file: SUMS_SIG.into(),
            public_key: sign::public_pem(&k.verifying_key())?,
            fingerprint: sign::fingerprint(&k.verifying_key()),
        }),
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        model: ManifestModel {
            name: version.name.clone(),
            version: version.version,
            sha256: version.sha256.clone(),
            size_bytes: version.size_bytes,
            task: version.task.name().into(),
            target: version.target.clone(),
            features: version.features.clone(),
            registered_at: version.registered_at.clone(),
        },
        created: version.registered_at.clone(),
        lathe_version: crate::LATHE_VERSION.into(),
        lineage,
        metrics: evaluation
            .as_ref()
            .map(|e| e.metrics.clone())
            .unwrap_or_default(),
        files: entries.clone(),
        signature: signature.clone(),
    };
    let manifest_bytes = descriptors::json_bytes(&manifest)?;
    let mut sums_entries: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e.path.clone(), e.sha256.clone()))
        .collect();
    sums_entries.push((MANIFEST.into(), sha_hex(&manifest_bytes)));
    sums_entries.sort();
    let sums: String = sums_entries
        .iter()
        .map(|(path, sha)| format!("{sha}  {path}\n"))
        .collect();
    files.insert(MANIFEST.into(), manifest_bytes);
    if let Some(k) = &key {
        files.insert(SUMS_SIG.into(), sign::sign(k, sums.as_bytes()).to_vec());
    }
    let sums_sha = sha_hex(sums.as_bytes());
    files.insert(SUMS.into(), sums.into_bytes());
    job.cancel.check()?;

    job.progress("writing", 0, None);
    let (sha256, size_bytes) = if archive {
        let mtime = crate::audit::unix_seconds(&version.registered_at).unwrap_or(0);
        let written =
            archive::write_archive(&options.out, &root, &files, mtime, &|done, total| {
                job.progress("writing", done, Some(total));
            })?;
        (written.sha256, written.bytes)
    } else {
        archive::write_dir(&options.out, &files)?;
        (sums_sha, files.values().map(|d| d.len() as u64).sum())
    };
    let path = std::fs::canonicalize(&options.out).unwrap_or_else(|_| options.out.clone());
    let exported = Exported {
        path: path.display().to_string(),
        format: if archive { "tar.gz" } else { "folder" }.into(),
        model: version.reference(),
        sha256,
        size_bytes,
        files: files.len() as u64,
        signed_by: signature.map(|s| s.fingerprint),
        notes,
    };
    store::record(project, &version, &exported, options)?;
    Ok(exported)
}

/// A file's state after [`verify()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Ok,
    /// Its bytes differ from what `SHA256SUMS` (or the manifest) records.
    Mismatch,
    /// Listed, not present.
    Missing,
    /// Present, not listed.
    Extra,
    /// `SHA256SUMS` or `manifest.json` cannot be parsed.
    Unreadable,
    /// The signature file does not verify.
    Invalid,
}

impl FileStatus {
    /// The name `--json` prints (`ok`, `mismatch`, ...), for text and the viewer too.
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Mismatch => "mismatch",
            FileStatus::Missing => "missing",
            FileStatus::Extra => "extra",
            FileStatus::Unreadable => "unreadable",
            FileStatus::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileCheck {
    pub path: String,
    pub status: FileStatus,
    /// Why, when not ok.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Signed, and the signature verifies (with `--key`: by that key).
    Valid,
    /// Signed, but the signature does not verify.
    Invalid,
    /// Not signed.
    Absent,
    /// Validly signed by a key other than the one given.
    Untrusted,
}

impl SignatureStatus {
    /// The name `--json` prints (`valid`, `invalid`, `absent`, `untrusted`).
    pub fn name(self) -> &'static str {
        match self {
            SignatureStatus::Valid => "valid",
            SignatureStatus::Invalid => "invalid",
            SignatureStatus::Absent => "absent",
            SignatureStatus::Untrusted => "untrusted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignatureCheck {
    pub status: SignatureStatus,
    /// The fingerprint of the key that signed, when known.
    pub fingerprint: Option<String>,
    /// Whether the signer was checked against a key the caller trusts (`--key`).
    pub trusted_key: bool,
    pub detail: String,
}

/// What `lathe bundle verify --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verification {
    /// Every file intact, listed and (when signed or a key is given) the signature valid.
    pub ok: bool,
    pub path: String,
    /// `NAME@VERSION` from the manifest, when readable.
    pub model: Option<String>,
    pub files: Vec<FileCheck>,
    pub signature: SignatureCheck,
    /// Each problem in a sentence (empty when ok).
    pub problems: Vec<String>,
}

fn parse_sums(text: &[u8]) -> std::result::Result<BTreeMap<String, String>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "it is not UTF-8 text".to_owned())?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (sha, path) = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .ok_or_else(|| format!("line {} is not `<sha256>  <path>`", i + 1))?;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("line {} has no SHA-256 ({sha:?})", i + 1));
        }
        if out
            .insert(path.to_owned(), sha.to_ascii_lowercase())
            .is_some()
        {
            return Err(format!("'{path}' is listed twice"));
        }
    }
    Ok(out)
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

/// Checks every file against `SHA256SUMS` and the manifest, and the signature (against
/// `trusted` when given, else the key the manifest carries).
pub fn verify(path: &Path, trusted: Option<&ed25519_dalek::VerifyingKey>) -> Result<Verification> {
    let bundle = read(path)?;
    Ok(verify_files(&bundle, trusted))
}

/// [`verify()`] on files already read.
pub fn verify_files(
    bundle: &BundleFiles,
    trusted: Option<&ed25519_dalek::VerifyingKey>,
) -> Verification {
    let mut problems = Vec::new();
    let mut checks: BTreeMap<String, (FileStatus, Option<String>)> = BTreeMap::new();
    let manifest: Option<Manifest> = match bundle.get(MANIFEST).map(serde_json::from_slice) {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            let why = format!("manifest.json cannot be read: {e}");
            checks.insert(MANIFEST.into(), (FileStatus::Unreadable, Some(why.clone())));
            problems.push(why);
            None
        }
        None => None,
    };
    let sums = match bundle.get(SUMS).map(parse_sums) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            let why = format!("SHA256SUMS cannot be read: {e}");
            checks.insert(SUMS.into(), (FileStatus::Unreadable, Some(why.clone())));
            problems.push(why);
            BTreeMap::new()
        }
        None => {
            let why = "SHA256SUMS is missing".to_owned();
            checks.insert(SUMS.into(), (FileStatus::Missing, Some(why.clone())));
            problems.push(why);
            BTreeMap::new()
        }
    };
    let listed: BTreeMap<&str, &FileEntry> = manifest
        .iter()
        .flat_map(|m| m.files.iter().map(|f| (f.path.as_str(), f)))
        .collect();
    let actual: BTreeMap<&str, String> = bundle
        .files
        .iter()
        .filter(|(p, _)| *p != SUMS && *p != SUMS_SIG)
        .map(|(p, d)| (p.as_str(), sha_hex(d)))
        .collect();
    // The manifest agrees with every file it lists: independent evidence when a SHA256SUMS
    // line and a file disagree.
    let manifest_consistent = manifest.is_some()
        && listed.iter().all(|(p, f)| {
            bundle
                .get(p)
                .is_some_and(|d| d.len() as u64 == f.size && actual.get(p) == Some(&f.sha256))
        });
    let mut sums_wrong: Vec<String> = Vec::new();
    let mut paths: Vec<&str> = actual.keys().copied().collect();
    paths.extend(sums.keys().map(String::as_str));
    paths.extend(listed.keys().copied());
    paths.sort_unstable();
    paths.dedup();
    for p in paths {
        if checks.contains_key(p) {
            continue;
        }
        let have = actual.get(p);
        let in_sums = sums.get(p);
        let in_manifest = listed.get(p);
        let status = match (have, in_sums, in_manifest) {
            (None, _, _) => (
                FileStatus::Missing,
                Some(format!("'{p}' is listed but not in the bundle")),
            ),
            (Some(_), None, None) => (
                FileStatus::Extra,
                Some(format!("'{p}' is in the bundle but listed nowhere")),
            ),
            (Some(h), Some(s), m) if h != s => {
                let vouched = match m {
                    Some(f) => *h == f.sha256 && manifest_consistent,
                    None => p == MANIFEST && manifest_consistent,
                };
                if vouched && !sums.is_empty() {
                    sums_wrong.push(p.to_owned());
                    (FileStatus::Ok, None)
                } else {
                    (
                        FileStatus::Mismatch,
                        Some(format!(
                            "'{p}' does not match its SHA-256 in SHA256SUMS: it was altered"
                        )),
                    )
                }
            }
            (Some(h), s, Some(f)) if *h != f.sha256 => {
                if s.is_none() {
                    sums_wrong.push(p.to_owned());
                }
                (
                    FileStatus::Mismatch,
                    Some(format!("'{p}' does not match its SHA-256 in manifest.json")),
                )
            }
            (Some(_), None, Some(_)) => {
                sums_wrong.push(p.to_owned());
                (FileStatus::Ok, None)
            }
            (Some(_), Some(_), None) if p != MANIFEST && manifest.is_some() => (
                FileStatus::Mismatch,
                Some(format!("'{p}' is in SHA256SUMS but not in manifest.json")),
            ),
            _ => (FileStatus::Ok, None),
        };
        if let Some(why) = &status.1 {
            problems.push(why.clone());
        }
        checks.insert(p.to_owned(), status);
    }
    if !sums_wrong.is_empty() && !checks.contains_key(SUMS) {
        let why = format!(
            "SHA256SUMS disagrees with manifest.json and the files on: {}",
            sums_wrong.join(", ")
        );
        problems.push(why.clone());
        checks.insert(SUMS.into(), (FileStatus::Mismatch, Some(why)));
    }
    checks.entry(SUMS.into()).or_insert((FileStatus::Ok, None));

    let signature = check_signature(bundle, manifest.as_ref(), trusted);
    match signature.status {
        SignatureStatus::Valid => {}
        SignatureStatus::Absent if trusted.is_none() => {}
        _ => problems.push(signature.detail.clone()),
    }
    if bundle.get(SUMS_SIG).is_some() {
        let status = if signature.status == SignatureStatus::Valid {
            (FileStatus::Ok, None)
        } else {
            (FileStatus::Invalid, Some(signature.detail.clone()))
        };
        checks.insert(SUMS_SIG.into(), status);
    }
    let files: Vec<FileCheck> = checks
        .into_iter()
        .map(|(path, (status, detail))| FileCheck {
            path,
            status,
            detail,
        })
        .collect();
    Verification {
        ok: problems.is_empty(),
        path: bundle.source.display().to_string(),
        model: manifest
            .as_ref()
            .map(|m| format!("{}@{}", m.model.name, m.model.version)),
        files,
        signature,
        problems,
    }
}

fn check_signature(
    bundle: &BundleFiles,
    manifest: Option<&Manifest>,
    trusted: Option<&ed25519_dalek::VerifyingKey>,
) -> SignatureCheck {
    let declared = manifest.and_then(|m| m.signature.as_ref());
    let declared_key = declared.and_then(|s| sign::public_from_pem(&s.public_key).ok());
    let out = |status, fingerprint, detail: String| SignatureCheck {
        status,
        fingerprint,
        trusted_key: trusted.is_some(),
        detail,
    };
    let Some(sig) = bundle.get(SUMS_SIG) else {
        return match (declared, trusted) {
            (Some(_), _) => out(
                SignatureStatus::Invalid,
                declared.map(|s| s.fingerprint.clone()),
                "manifest.json says the bundle is signed, but SHA256SUMS.sig is missing".into(),
            ),
            (None, Some(_)) => out(
                SignatureStatus::Absent,
                None,
                "a trusted key was given, but the bundle is not signed".into(),
            ),
            (None, None) => out(
                SignatureStatus::Absent,
                None,
                "the bundle is not signed".into(),
            ),
        };
    };
    let sums = bundle.get(SUMS).unwrap_or_default();
    if let Some(k) = trusted {
        if sign::verify(k, sums, sig) {
            return out(
                SignatureStatus::Valid,
                Some(sign::fingerprint(k)),
                "signed by the trusted key".into(),
            );
        }
        if let Some(d) = declared_key.filter(|d| sign::verify(d, sums, sig)) {
            return out(
                SignatureStatus::Untrusted,
                Some(sign::fingerprint(&d)),
                format!(
                    "signed by {}, not by the trusted key {}",
                    sign::fingerprint(&d),
                    sign::fingerprint(k)
                ),
            );
        }
        return out(
            SignatureStatus::Invalid,
            declared.map(|s| s.fingerprint.clone()),
            format!(
                "SHA256SUMS.sig is not a valid signature of SHA256SUMS by the trusted key {}",
                sign::fingerprint(k)
            ),
        );
    }
    match declared_key {
        Some(d) if sign::verify(&d, sums, sig) => {
            if declared.is_some_and(|s| s.fingerprint != sign::fingerprint(&d)) {
                return out(
                    SignatureStatus::Invalid,
                    Some(sign::fingerprint(&d)),
                    "manifest.json's key fingerprint does not match its public key".into(),
                );
            }
            out(
                SignatureStatus::Valid,
                Some(sign::fingerprint(&d)),
                format!(
                    "signed by {} (the key in manifest.json; pass --key to pin the signer)",
                    sign::fingerprint(&d)
                ),
            )
        }
        Some(d) => out(
            SignatureStatus::Invalid,
            Some(sign::fingerprint(&d)),
            "SHA256SUMS.sig is not a valid signature of SHA256SUMS by the key in manifest.json"
                .into(),
        ),
        None => out(
            SignatureStatus::Invalid,
            None,
            "SHA256SUMS.sig is present but manifest.json names no readable public key".into(),
        ),
    }
}

/// Everything a reader of a bundle sees: what `lathe bundle inspect` and `lathe-viewer` show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Inspection {
    pub verification: Verification,
    pub manifest: Option<Manifest>,
    pub card: Option<String>,
    pub profile: Option<ReferenceProfile>,
    /// `charts/*.svg` and `reports/*.html` paths.
    pub charts: Vec<String>,
    pub reports: Vec<String>,
}

/// Reads, verifies and describes a bundle.
pub fn inspect(path: &Path, trusted: Option<&ed25519_dalek::VerifyingKey>) -> Result<Inspection> {
    let bundle = read(path)?;
    Ok(inspect_files(&bundle, trusted))
}

/// [`inspect`] on files already read.
pub fn inspect_files(
    bundle: &BundleFiles,
    trusted: Option<&ed25519_dalek::VerifyingKey>,
) -> Inspection {
    let verification = verify_files(bundle, trusted);
    let listed = |prefix: &str, ext: &str| -> Vec<String> {
        bundle
            .files
            .keys()
            .filter(|p| p.starts_with(prefix) && p.ends_with(ext))
            .cloned()
            .collect()
    };
    Inspection {
        manifest: bundle
            .get(MANIFEST)
            .and_then(|m| serde_json::from_slice(m).ok()),
        card: bundle
            .get(CARD)
            .map(|c| String::from_utf8_lossy(c).into_owned()),
        profile: bundle
            .get(PROFILE)
            .and_then(|p| serde_json::from_slice(p).ok()),
        charts: listed("charts/", ".svg"),
        reports: listed("reports/", ".html"),
        verification,
    }
}

/// Tests `current` against the bundle's reference profile. The bundle's files must verify
/// (the signature is not required); the report has `lathe drift`'s shape.
pub fn check_drift(
    path: &Path,
    current: &TableSource,
    options: &DriftOptions,
) -> Result<DriftReport> {
    let bundle = read(path)?;
    let frame = current.frame(None)?;
    let (name, version) = current.label();
    check_drift_files(
        &bundle,
        (
            SideInfo {
                name,
                version,
                rows: frame.height() as u64,
            },
            &frame,
        ),
        options,
    )
}

/// [`check_drift`] on a bundle already read and a frame.
pub fn check_drift_files(
    bundle: &BundleFiles,
    current: (SideInfo, &polars::prelude::DataFrame),
    options: &DriftOptions,
) -> Result<DriftReport> {
    check_drift_verified(bundle, &verify_files(bundle, None), current, options)
}

/// [`check_drift_files`] given the bundle's [`verify_files`] result, for a reader that verified
/// the bundle when it opened it (the viewer) and should not hash every file again.
pub fn check_drift_verified(
    bundle: &BundleFiles,
    verification: &Verification,
    current: (SideInfo, &polars::prelude::DataFrame),
    options: &DriftOptions,
) -> Result<DriftReport> {
    let integrity: Vec<&String> = verification
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Ok && f.status != FileStatus::Invalid)
        .filter_map(|f| f.detail.as_ref())
        .collect();
    if !integrity.is_empty() {
        return Err(Error::BadBundle {
            path: bundle.source.clone(),
            detail: format!(
                "it fails verification, so its reference cannot be trusted: {}",
                integrity
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }
    let bytes = bundle.get(PROFILE).ok_or_else(|| Error::BadBundle {
        path: bundle.source.clone(),
        detail: format!("it has no {PROFILE}: it was exported without a reference dataset"),
    })?;
    let p: ReferenceProfile = serde_json::from_slice(bytes).map_err(|e| Error::BadBundle {
        path: bundle.source.clone(),
        detail: format!("{PROFILE} cannot be read: {e}"),
    })?;
    let reference = SideInfo {
        name: format!("{} (reference profile of {})", p.dataset, bundle.root),
        version: None,
        rows: p.rows,
    };
    profile::check_drift(&p, reference, current, options)
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
