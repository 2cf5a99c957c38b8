//! Inspecting a verified bundle (manifest, card, profile) and checking data for drift against
//! its reference profile.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::*;
use crate::dataset::browse::TableSource;
use crate::drift::{self, DriftOptions, DriftReport, SideInfo, Table};
use crate::job::Job;
use crate::{Error, Result};

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
pub fn inspect(
    path: &Path,
    trusted: Option<&crate::bundle::sign::PublicKey>,
) -> Result<Inspection> {
    let bundle = read(path)?;
    Ok(inspect_files(&bundle, trusted))
}

/// [`inspect`] on files already read.
pub fn inspect_files(
    bundle: &BundleFiles,
    trusted: Option<&crate::bundle::sign::PublicKey>,
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
/// (the signature is not required); the report has `lathe drift`'s shape. A table over the
/// memory limit is read in slices ([`drift::open_tables`]).
pub fn check_drift(
    path: &Path,
    current: &TableSource,
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    let bundle = read(path)?;
    check_drift_source(&bundle, &verify_files(&bundle, None), current, options, job)
}

/// [`check_drift_verified`] of a source, read whole or in slices as [`drift::open_tables`]
/// decides.
pub fn check_drift_source(
    bundle: &BundleFiles,
    verification: &Verification,
    current: &TableSource,
    options: &DriftOptions,
    job: &Job,
) -> Result<DriftReport> {
    let opened = drift::open_tables(&[current], options, job)?;
    let table = opened[0].table();
    check_drift_verified(
        bundle,
        verification,
        (drift::side_info(current, table), table),
        options,
    )
}

/// [`check_drift`] on a bundle already read and a frame.
pub fn check_drift_files(
    bundle: &BundleFiles,
    current: (SideInfo, &dyn Table),
    options: &DriftOptions,
) -> Result<DriftReport> {
    check_drift_verified(bundle, &verify_files(bundle, None), current, options)
}

/// Runs the data expectations the bundle carries (`checks/expectations.json`) on `data`,
/// without a project: `lathe check`'s result. The bundle's files must verify.
pub fn check_expectations(
    path: &Path,
    data: &TableSource,
    job: &Job,
) -> Result<crate::expect::Validation> {
    let bundle = read(path)?;
    trusted_files(&bundle, &verify_files(&bundle, None))?;
    let bytes = bundle.get(super::CHECKS).ok_or_else(|| Error::BadBundle {
        path: bundle.source.clone(),
        detail: format!(
            "it has no {}: it was exported without --checks POLICY",
            super::CHECKS
        ),
    })?;
    let text = std::str::from_utf8(bytes).map_err(|e| Error::BadBundle {
        path: bundle.source.clone(),
        detail: format!("{} is not UTF-8: {e}", super::CHECKS),
    })?;
    let inside = bundle.source.join(super::CHECKS);
    let suite = crate::expect::Suite::parse(text, &inside)?;
    crate::expect::validate_source(data, &suite, &inside, job)
}

/// Refuses a bundle whose files fail verification: its references cannot be trusted.
fn trusted_files(bundle: &BundleFiles, verification: &Verification) -> Result<()> {
    let integrity: Vec<&String> = verification
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Ok && f.status != FileStatus::Invalid)
        .filter_map(|f| f.detail.as_ref())
        .collect();
    if integrity.is_empty() {
        return Ok(());
    }
    Err(Error::BadBundle {
        path: bundle.source.clone(),
        detail: format!(
            "it fails verification, so its reference cannot be trusted: {}",
            integrity
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    })
}

/// Estimates the bundle's model's performance on `data` without labels (and its multivariate
/// drift), against the monitoring reference the bundle carries: `lathe monitor`'s report, with
/// the bundle's model computing the outputs. The bundle's files must verify. `options` gives
/// the chunking and metrics; the columns are the bundle's (its target, where `data` has it).
pub fn monitor(
    path: &Path,
    data: &TableSource,
    options: &crate::monitor::MonitorOptions,
    job: &Job,
) -> Result<crate::monitor::MonitorReport> {
    job.progress("verifying the bundle", 0, None);
    let bundle = read(path)?;
    let verification = verify_files(&bundle, None);
    monitor_verified(&bundle, &verification, data, options, job)
}

/// [`monitor`] of a bundle already read, given its [`verify_files`] result (the viewer
/// verified it when it opened it).
pub fn monitor_verified(
    bundle: &BundleFiles,
    verification: &Verification,
    data: &TableSource,
    options: &crate::monitor::MonitorOptions,
    job: &Job,
) -> Result<crate::monitor::MonitorReport> {
    trusted_files(bundle, verification)?;
    let bad = |detail: String| Error::BadBundle {
        path: bundle.source.clone(),
        detail,
    };
    let manifest: Manifest = serde_json::from_slice(
        bundle
            .get(MANIFEST)
            .ok_or_else(|| bad(format!("it has no {MANIFEST}")))?,
    )
    .map_err(|e| bad(format!("{MANIFEST} cannot be read: {e}")))?;
    let reference: crate::monitor::Reference =
        serde_json::from_slice(bundle.get(MONITOR).ok_or_else(|| {
            bad(format!(
                "it has no {MONITOR}: it was exported without an evaluation dataset with the target"
            ))
        })?)
        .map_err(|e| bad(format!("{MONITOR} cannot be read: {e}")))?;
    let model_bytes = bundle
        .get("model/model.onnx")
        .ok_or_else(|| bad("it has no model/model.onnx".to_owned()))?;
    let model = crate::model::Model::load(model_bytes, &bundle.root)?;
    let features = &manifest.model.features;
    let mut options = options.clone();
    options.columns = crate::monitor::Columns {
        target: manifest.model.target.clone().unwrap_or_default(),
        ..crate::monitor::Columns::default()
    };
    options.features = None;
    job.progress("reading the data", 0, None);
    let mut names: Vec<&str> = features.iter().map(String::as_str).collect();
    if let Some(t) = &manifest.model.target {
        let has = match data.parquet_table()? {
            Some(table) => table.names.iter().any(|n| n == t),
            None => true,
        };
        if has {
            names.push(t);
        }
    }
    let frame = data.frame_of(&names)?;
    job.cancel.check()?;
    job.progress("estimating performance", 0, None);
    reference.analyse(
        &frame,
        &options,
        Some(crate::monitor::ModelInput {
            model: &model,
            features,
        }),
    )
}

/// [`check_drift_files`] given the bundle's [`verify_files`] result, for a reader that verified
/// the bundle when it opened it (the viewer) and should not hash every file again.
pub fn check_drift_verified(
    bundle: &BundleFiles,
    verification: &Verification,
    current: (SideInfo, &dyn Table),
    options: &DriftOptions,
) -> Result<DriftReport> {
    trusted_files(bundle, verification)?;
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
