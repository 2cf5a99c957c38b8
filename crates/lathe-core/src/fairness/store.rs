//! Fairness reports kept in the project (`fairness_reports`), one per model version, dataset
//! version, target and sensitive columns (the latest replaces the earlier one).

use rusqlite::{OptionalExtension, params};

use super::{Fairness, Predictions, assess_source};
use crate::audit::{self, NewAuditEntry};
use crate::dataset::stream::MemoryLimit;
use crate::dataset::{self, browse::TableSource};
use crate::job::Job;
use crate::model::registry;
use crate::project::Project;
use crate::{Error, Result};

/// Assesses registered `model_ref` on stored `data_ref` and keeps the report. The data are
/// read whole when they fit in `limit` (default [`MemoryLimit::for_this_machine`]), else a
/// slice of rows at a time ([`assess_source`]).
pub fn fairness_stored(
    project: &Project,
    model_ref: &str,
    data_ref: &str,
    target: Option<&str>,
    sensitive: &[String],
    limit: Option<MemoryLimit>,
    job: &Job,
) -> Result<Fairness> {
    let version = registry::show(project, model_ref)?;
    let target = version.target_or(target)?;
    let data = dataset::resolve(project, data_ref)?;
    let model = registry::load_model(project, &version)?;
    let report = assess_source(
        &TableSource::stored(project, data_ref)?,
        &format!("{}@{}", data.dataset, data.version),
        &Predictions::Model {
            model: &model,
            name: version.reference(),
            features: &version.features,
        },
        &target,
        sensitive,
        None,
        limit.unwrap_or_else(MemoryLimit::for_this_machine),
        job,
    )?;
    job.cancel.check()?;
    let db = |e| Error::db(project.root(), e);
    let settings = serde_json::json!({ "target": target, "sensitive": sensitive }).to_string();
    let json = serde_json::to_string(&report).map_err(|e| Error::Compute {
        context: "cannot store the fairness report",
        detail: e.to_string(),
    })?;
    let tx = project.conn().unchecked_transaction().map_err(db)?;
    tx.execute(
        "INSERT INTO fairness_reports (model_version_id, dataset_version_id, settings, report, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (model_version_id, dataset_version_id, settings)
         DO UPDATE SET report = excluded.report, created_at = excluded.created_at",
        params![version.id, data.id, settings, json, audit::now()],
    )
    .map_err(db)?;
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "model.fairness",
            target: &format!("{} on {}", report.predictions, report.data),
            details: serde_json::json!({
                "target": target,
                "sensitive": sensitive,
                "flagged": report.by_sensitive.iter()
                    .filter(|(_, r)| !r.flagged.is_empty())
                    .map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            }),
        },
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(report)
}

/// The newest stored report of a model version, on any dataset.
pub fn latest_stored(project: &Project, model_version_id: i64) -> Result<Option<Fairness>> {
    let json: Option<String> = project
        .conn()
        .query_row(
            "SELECT report FROM fairness_reports WHERE model_version_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
            [model_version_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| Error::db(project.root(), e))?;
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| Error::Corrupt {
            path: project.root().to_path_buf(),
            detail: format!("stored fairness report: {e}"),
        })
    })
    .transpose()
}
