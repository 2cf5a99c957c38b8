//! Exporting a model version as a bundle: every file in memory, the manifest, `SHA256SUMS` and
//! the signature, then one write (a deterministic tar.gz, or a folder).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::*;
use crate::chart::Figure;
use crate::dataset::stream::MemoryLimit;
use crate::dataset::{self, StoredVersion, browse::TableSource};
use crate::drift::{DriftOptions, DriftReport, SideInfo};
use crate::explain::{self, Explanation};
use crate::fairness::Fairness;
use crate::job::Job;
use crate::model::eval::{Evaluation, SourceInput, evaluate_source};
use crate::model::registry::{self};
use crate::project::Project;
use crate::{Error, Result};

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
    /// A private key file (PKCS#8 PEM): Ed25519 signs `SHA256SUMS` (`SHA256SUMS.sig`), ECDSA
    /// P-256 every file (`model.sig`, an OpenSSF model signature).
    pub sign_key: Option<PathBuf>,
    /// Memory for the data (default: the machine's, [`MemoryLimit::for_this_machine`]): larger
    /// datasets are evaluated, profiled and tested for drift a slice at a time.
    pub memory_limit: Option<MemoryLimit>,
    /// The data expectations ops run on production data (`lathe bundle check`), carried as a
    /// GX suite (`checks/expectations.json`).
    pub checks: Option<crate::expect::Suite>,
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
    /// The size as people read it ([`crate::display::bytes`]).
    #[serde(default)]
    pub size: String,
    pub files: u64,
    /// The signing key's fingerprint.
    pub signed_by: Option<String>,
    /// What the bundle lacks, and why (no evaluation dataset, say).
    pub notes: Vec<String>,
}

pub(super) fn dataset_ref(v: &StoredVersion) -> DatasetRef {
    DatasetRef {
        name: v.dataset.clone(),
        version: v.version,
        sha256: v.object_sha256.clone(),
    }
}

pub(super) fn svg(chart: &impl Figure) -> Result<Vec<u8>> {
    Ok(chart.svg()?.into_bytes())
}

/// The monitoring reference of a model on its evaluation data: its outputs, targets, the
/// reconstruction of its features and, for a regressor, the features DLE learns from ([`crate::monitor::Reference`]), as JSON.
fn monitor_reference(
    model: &crate::model::Model,
    features: &[String],
    target: &str,
    source: &TableSource,
) -> Result<Vec<u8>> {
    let mut names: Vec<&str> = features.iter().map(String::as_str).collect();
    names.push(target);
    let frame = source.frame_of(&names)?;
    let reference = crate::monitor::Reference::learn(
        &frame,
        &crate::monitor::Columns {
            target: target.to_owned(),
            ..crate::monitor::Columns::default()
        },
        features,
        Some(crate::monitor::ModelInput { model, features }),
    )?;
    serde_json::to_vec(&reference).map_err(|e| Error::Compute {
        context: "cannot write the monitoring reference",
        detail: e.to_string(),
    })
}

/// Exports a registered model version as a bundle (see the module documentation).
pub fn export(project: &Project, options: &ExportOptions, job: &Job) -> Result<Exported> {
    let version = registry::show(project, &options.model)?;
    let archive = is_archive_path(&options.out);
    let key = options
        .sign_key
        .as_deref()
        .map(sign::read_private)
        .transpose()?;
    // The same export already recorded at this path, its file unchanged, is that export: it
    // is returned and nothing is written. Another bundle the project recorded there is refused
    // at once. Any other existing file is compared once the bundle is made: the same bytes are
    // an export stopped before it was recorded, which completes now; other bytes are refused
    // (see `archive::write_archive`, `archive::write_dir`).
    if options.out.exists() {
        let signer = key.as_ref().map(|k| k.public().fingerprint());
        if let Some(done) = store::already_exported(project, &version, options, signer.as_deref())?
        {
            return Ok(done);
        }
        if store::recorded(project, &options.out)? {
            return Err(if archive {
                archive::exists(&options.out)
            } else {
                archive::not_empty(&options.out)
            });
        }
    }
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
    // Each dataset is opened once (the reference defaults to the training data); tables over
    // the memory limit are read in slices by each step.
    job.progress("opening the data", 0, None);
    let limit = options
        .memory_limit
        .unwrap_or_else(MemoryLimit::for_this_machine);
    let source_of =
        |v: &StoredVersion| TableSource::stored(project, &format!("{}@{}", v.dataset, v.version));
    let eval_source = eval.as_ref().map(source_of).transpose()?;
    let reference_source = reference.as_ref().map(source_of).transpose()?;
    let example = eval_source
        .as_ref()
        .or(reference_source.as_ref())
        .map(|source| source.head(descriptors::EXAMPLE_ROWS))
        .transpose()?;
    match &example {
        Some(frame) => {
            files.insert(
                "model/input_example.json".into(),
                descriptors::input_example(frame, &version.features)?,
            );
        }
        None => notes.push("no dataset to take an input example from".into()),
    }
    let feature_types = descriptors::feature_types(example.as_ref(), &version.features);
    files.insert(
        "MLmodel".into(),
        descriptors::mlmodel(
            &version,
            "model/",
            descriptors::Pyfunc::Columns,
            &feature_types,
        )
        .into_bytes(),
    );
    files.insert(
        "model/MLmodel".into(),
        descriptors::mlmodel(&version, "", descriptors::Pyfunc::Tensors, &[]).into_bytes(),
    );
    files.insert(
        descriptors::PYFUNC_ADAPTER_PATH.into(),
        descriptors::PYFUNC_ADAPTER.as_bytes().to_vec(),
    );
    files.insert(
        format!("triton/{triton}/config.pbtxt"),
        descriptors::triton_config(&version).into_bytes(),
    );
    files.insert(
        "kserve.yaml".into(),
        descriptors::kserve_yaml(&version, &root).into_bytes(),
    );
    files.insert(
        "deploy/Dockerfile".into(),
        descriptors::dockerfile(&version).into_bytes(),
    );
    files.insert(
        "deploy/kubernetes.yaml".into(),
        descriptors::kubernetes_yaml(&version).into_bytes(),
    );
    files.insert(
        "deploy/kserve.yaml".into(),
        descriptors::kserve_container_yaml(&version).into_bytes(),
    );
    job.cancel.check()?;

    // Evaluation, explanation and fairness on the evaluation dataset.
    let mut evaluation: Option<Evaluation> = None;
    let mut explanation: Option<Explanation> = None;
    let mut fairness: Option<Fairness> = None;
    if let (Some(ev), Some(source)) = (&eval, &eval_source) {
        let data_ref = format!("{}@{}", ev.dataset, ev.version);
        job.progress("evaluating", 0, None);
        match &version.target {
            Some(target) => {
                let e = evaluate_source(
                    &model,
                    &SourceInput {
                        model_name: version.reference(),
                        data_name: data_ref.clone(),
                        source,
                        features: &version.features,
                        target,
                        task: Some(version.task),
                        limit,
                    },
                    job,
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
                job.progress("learning the monitoring reference", 0, None);
                match monitor_reference(&model, &version.features, target, source) {
                    Ok(bytes) => {
                        files.insert(MONITOR.into(), bytes);
                    }
                    Err(e) => notes.push(format!(
                        "no {MONITOR} (performance estimation without labels): {e}"
                    )),
                }
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
            nsamples: None,
            l1_reg: None,
        };
        let stored = explain::store::explain_stored(
            project,
            &version.reference(),
            &data_ref,
            None,
            &request,
            Some(limit),
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
                Some(limit),
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
        for c in crate::fairness::chart::charts(f) {
            files.insert(format!("charts/{}.svg", c.file), svg(&c.chart)?);
        }
    }

    // The monitoring profile, and the evaluation data's drift from it.
    let mut drift: Option<DriftReport> = None;
    match (&reference, &reference_source) {
        (Some(r), Some(reference_source)) => {
            let current = eval
                .as_ref()
                .filter(|ev| ev.id != r.id)
                .zip(eval_source.as_ref());
            let mut sources = vec![reference_source];
            sources.extend(current.map(|(_, source)| source));
            let drift_options = DriftOptions {
                memory_limit: Some(limit),
                ..DriftOptions::default()
            };
            let opened = crate::drift::open_tables(&sources, &drift_options, job)?;
            let table = opened[0].table();
            job.progress("profiling the reference", 0, None);
            let mut columns = version.features.clone();
            if let Some(t) = version
                .target
                .as_ref()
                .filter(|t| table.schema().iter().any(|(name, _)| name == *t))
            {
                columns.push(t.clone());
            }
            let p = profile::build(
                table,
                &columns,
                &format!("{}@{}", r.dataset, r.version),
                &r.object_sha256,
            )?;
            files.insert(PROFILE.into(), descriptors::json_bytes(&p)?);
            if let (Some((ev, _)), Some(cur)) = (current, opened.get(1)) {
                job.progress("testing drift", 0, None);
                let side = |v: &StoredVersion, t: &dyn crate::drift::Table| SideInfo {
                    name: v.dataset.clone(),
                    version: Some(v.version),
                    rows: t.rows() as u64,
                };
                let d = crate::drift::compare_tables(
                    (side(r, table), table),
                    (side(ev, cur.table()), cur.table()),
                    &DriftOptions {
                        columns: Some(columns.clone()),
                        ..drift_options
                    },
                    job,
                    None,
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
    if let Some(suite) = &options.checks {
        files.insert(
            super::CHECKS.into(),
            descriptors::json_bytes(&suite.to_gx())?,
        );
    }
    files.insert(format!("triton/{triton}/1/model.onnx"), model_bytes.clone());
    files.insert("model/model.onnx".into(), model_bytes);
    let metrics = evaluation
        .as_ref()
        .map(|e| e.metrics.clone())
        .unwrap_or_default();
    files.insert(
        sbom::SBOM.into(),
        sbom::sbom(&sbom::SbomInput {
            version: &version,
            signature: model.signature(),
            lineage: &lineage,
            metrics: &metrics,
            card: &options.card,
        })?,
    );

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
        Some(k) => {
            let public = k.public();
            let (signed_file, signature_file) = match k {
                sign::PrivateKey::Ed25519(_) => (SUMS, SUMS_SIG),
                sign::PrivateKey::P256(_) => ("*", oms::SIGNATURE),
            };
            Some(SignatureInfo {
                algorithm: public.algorithm().into(),
                signed_file: signed_file.into(),
                signature_file: signature_file.into(),
                public_key: public.pem()?,
                fingerprint: public.fingerprint(),
            })
        }
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
        metrics,
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
    let sums_sha = sha_hex(sums.as_bytes());
    match &key {
        Some(sign::PrivateKey::Ed25519(k)) => {
            files.insert(SUMS_SIG.into(), sign::sign(k, sums.as_bytes()).to_vec());
            files.insert(SUMS.into(), sums.into_bytes());
        }
        // Over every file, SHA256SUMS included.
        Some(sign::PrivateKey::P256(k)) => {
            files.insert(SUMS.into(), sums.into_bytes());
            let signature = oms::sign(k, &root, &files)?;
            files.insert(oms::SIGNATURE.into(), signature);
        }
        None => {
            files.insert(SUMS.into(), sums.into_bytes());
        }
    }
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
        size: crate::display::bytes(size_bytes),
        files: files.len() as u64,
        signed_by: signature.map(|s| s.fingerprint),
        notes,
    };
    store::record(project, &version, &exported, options)?;
    Ok(exported)
}
