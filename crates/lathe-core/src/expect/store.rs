//! Check results kept in the project (`checks`, migration 12), listed by `lathe check list`
//! and shown per dataset version.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::Validation;
use crate::audit::{self, NewAuditEntry};
use crate::dataset::browse::TableSource;
use crate::project::Project;
use crate::{Error, Result};

/// One stored run of a suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredCheck {
    pub id: i64,
    pub created_at: String,
    pub suite: String,
    /// The table as named: `NAME@VERSION`, a file or a URL.
    pub data: String,
    pub success: bool,
    pub evaluated: u32,
    pub successful: u32,
}

/// Stores a validation of `source` (none: a policy of model rules only) with an audit entry, in one transaction; returns its id.
pub fn save(
    project: &Project,
    source: Option<&TableSource>,
    validation: &Validation,
) -> Result<i64> {
    let root = project.root();
    let db = |e| Error::db(root, e);
    let json = serde_json::to_string(validation).map_err(|e| Error::Compute {
        context: "cannot store the check result",
        detail: e.to_string(),
    })?;
    let (data, version_id) = match source {
        None => ("—".to_owned(), None),
        Some(TableSource::Stored {
            dataset, version, ..
        }) => {
            let stored = crate::dataset::resolve(project, &format!("{dataset}@{version}"))?;
            (format!("{dataset}@{version}"), Some(stored.id))
        }
        Some(TableSource::File { path, .. }) => (path.display().to_string(), None),
        Some(TableSource::Remote { url, .. }) => (url.clone(), None),
        Some(TableSource::Spark { shown, .. }) => (shown.clone(), None),
    };
    let s = &validation.statistics;
    let tx = project.conn().unchecked_transaction().map_err(db)?;
    tx.execute(
        "INSERT INTO checks (created_at, suite, data, dataset_version_id, success, evaluated, successful, result)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            audit::now(),
            validation.suite_name,
            data,
            version_id,
            validation.success,
            s.evaluated_expectations,
            s.successful_expectations,
            json
        ],
    )
    .map_err(db)?;
    let id = tx.last_insert_rowid();
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "check.run",
            target: &format!("{} on {data}", validation.suite_name),
            details: serde_json::json!({
                "id": id, "success": validation.success,
                "evaluated": s.evaluated_expectations, "successful": s.successful_expectations,
            }),
        },
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(id)
}

/// The stored runs, newest first; of one dataset (every version) when `dataset` is given.
pub fn list(project: &Project, dataset: Option<&str>) -> Result<Vec<StoredCheck>> {
    let db = |e| Error::db(project.root(), e);
    let mut stmt = project
        .conn()
        .prepare(
            "SELECT c.id, c.created_at, c.suite, c.data, c.success, c.evaluated, c.successful
             FROM checks c
             LEFT JOIN dataset_versions v ON v.id = c.dataset_version_id
             LEFT JOIN datasets d ON d.id = v.dataset_id
             WHERE ?1 IS NULL OR d.name = ?1
             ORDER BY c.id DESC",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![dataset], |r| {
            Ok(StoredCheck {
                id: r.get(0)?,
                created_at: r.get(1)?,
                suite: r.get(2)?,
                data: r.get(3)?,
                success: r.get(4)?,
                evaluated: r.get(5)?,
                successful: r.get(6)?,
            })
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
}

/// A stored run's whole result.
pub fn load(project: &Project, id: i64) -> Result<Validation> {
    let db = |e| Error::db(project.root(), e);
    let json: Option<String> = project
        .conn()
        .query_row("SELECT result FROM checks WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(db(e)),
        })?;
    let json = json.ok_or_else(|| Error::NotFound {
        what: format!("no check result {id} in this project; see `lathe check list`"),
    })?;
    serde_json::from_str(&json).map_err(|e| Error::Compute {
        context: "cannot read the stored check result",
        detail: e.to_string(),
    })
}
