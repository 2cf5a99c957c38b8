//! Explanations kept in the project (`explanations`): one per model version, dataset version
//! and settings, so reopening one is a read, not a recomputation.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::source::{SourceInput, explain_source};
use super::{Explanation, Request};
use crate::audit::{self, NewAuditEntry};
use crate::dataset::stream::MemoryLimit;
use crate::dataset::{self, browse::TableSource};
use crate::job::Job;
use crate::model::registry;
use crate::project::Project;
use crate::{Error, Result};

/// A stored explanation with what it explains.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredExplanation {
    pub id: i64,
    pub model: String,
    pub data: String,
    pub settings: Request,
    pub created_at: String,
    /// Seconds it took to compute.
    pub seconds: f64,
    /// Whether this call found it stored rather than computing it.
    pub reopened: bool,
    pub result: Explanation,
}

fn db(project: &Project) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::db(project.root(), e)
}

fn corrupt(project: &Project, e: serde_json::Error) -> Error {
    Error::Corrupt {
        path: project.root().to_path_buf(),
        detail: format!("stored explanation: {e}"),
    }
}

/// Explains registered `model_ref` on stored dataset `data_ref`, or reopens the stored result
/// for the same settings. `background_ref` names a stored dataset to sample SHAP's background
/// from (default: the data). Datasets over `limit` (default: the machine's) are read in
/// slices ([`explain_source`]).
pub fn explain_stored(
    project: &Project,
    model_ref: &str,
    data_ref: &str,
    background_ref: Option<&str>,
    request: &Request,
    limit: Option<MemoryLimit>,
    job: &Job,
) -> Result<StoredExplanation> {
    let version = registry::show(project, model_ref)?;
    let data = dataset::resolve(project, data_ref)?;
    let background = background_ref
        .map(|r| dataset::resolve(project, r))
        .transpose()?;
    let settings = serde_json::json!({
        "request": request,
        "background": background.as_ref().map(|b| b.id),
    })
    .to_string();
    let names = (
        version.reference(),
        format!("{}@{}", data.dataset, data.version),
    );
    let found: Option<(i64, String, String, f64)> = project
        .conn()
        .query_row(
            "SELECT id, result, created_at, seconds FROM explanations
             WHERE model_version_id = ?1 AND dataset_version_id = ?2 AND settings = ?3",
            params![version.id, data.id, settings],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db(project))?;
    if let Some((id, json, created_at, seconds)) = found {
        return Ok(StoredExplanation {
            id,
            model: names.0,
            data: names.1,
            settings: request.clone(),
            created_at,
            seconds,
            reopened: true,
            result: serde_json::from_str(&json).map_err(|e| corrupt(project, e))?,
        });
    }
    let data_source = TableSource::stored(project, data_ref)?;
    let bg_source = background_ref
        .map(|r| TableSource::stored(project, r))
        .transpose()?;
    let model = registry::load_model(project, &version)?;
    let start = std::time::Instant::now();
    let result = explain_source(
        &SourceInput {
            model: &model,
            features: &version.features,
            data: &data_source,
            background: bg_source.as_ref(),
            limit: limit.unwrap_or_else(MemoryLimit::for_this_machine),
        },
        request,
        job,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    job.cancel.check()?;
    let json = serde_json::to_string(&result).map_err(|e| corrupt(project, e))?;
    let created_at = audit::now();
    let method = match &result {
        Explanation::Shap(_) => "shap",
        Explanation::Permutation(_) => "permutation",
        Explanation::Pdp(_) => "pdp",
        Explanation::Lime(_) => "lime",
    };
    let tx = project
        .conn()
        .unchecked_transaction()
        .map_err(db(project))?;
    tx.execute(
        "INSERT INTO explanations (model_version_id, dataset_version_id, method, settings, result, seconds, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![version.id, data.id, method, settings, json, seconds, created_at],
    )
    .map_err(db(project))?;
    let id = tx.last_insert_rowid();
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "model.explain",
            target: &format!("{} on {}", names.0, names.1),
            details: serde_json::json!({ "id": id, "settings": request, "seconds": seconds }),
        },
    )
    .map_err(db(project))?;
    tx.commit().map_err(db(project))?;
    Ok(StoredExplanation {
        id,
        model: names.0,
        data: names.1,
        settings: request.clone(),
        created_at,
        seconds,
        reopened: false,
        result,
    })
}

/// The stored explanations of a model version (`NAME[@VERSION|@ALIAS]`), newest first, without
/// their results: (id, data, settings, created_at).
pub fn list(project: &Project, model_ref: &str) -> Result<Vec<(i64, String, Request, String)>> {
    let id = registry::resolve(project, model_ref)?;
    let mut stmt = project
        .conn()
        .prepare(
            "SELECT e.id, d.name || '@' || v.version, e.settings, e.created_at
             FROM explanations e JOIN dataset_versions v ON v.id = e.dataset_version_id
             JOIN datasets d ON d.id = v.dataset_id
             WHERE e.model_version_id = ?1 ORDER BY e.id DESC",
        )
        .map_err(db(project))?;
    let rows: Vec<(i64, String, String, String)> = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(|rows| rows.collect())
        .map_err(db(project))?;
    rows.into_iter()
        .map(|(id, data, settings, at)| {
            let v: serde_json::Value =
                serde_json::from_str(&settings).map_err(|e| corrupt(project, e))?;
            let request: Request =
                serde_json::from_value(v["request"].clone()).map_err(|e| corrupt(project, e))?;
            Ok((id, data, request, at))
        })
        .collect()
}
