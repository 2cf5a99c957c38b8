//! Drift results kept in the project (`drift_reports`), listed by `lathe drift list`.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::DriftReport;
use crate::audit::{self, NewAuditEntry};
use crate::project::Project;
use crate::{Error, Result};

/// One line of `lathe drift list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredDrift {
    pub id: i64,
    pub created_at: String,
    pub reference: String,
    pub current: String,
    pub dataset_drift: bool,
    pub share_drifted: f64,
    pub columns: u64,
    pub drifted_columns: u64,
}

/// Stores a report with an audit entry, in one transaction. Returns its id. The same report
/// (the same data, settings and result) is stored once: run again, it returns the stored id,
/// so a run stopped after it stored its report and run again leaves one report.
pub fn save(project: &Project, report: &DriftReport) -> Result<i64> {
    let root = project.root();
    let db = |e| Error::db(root, e);
    let json = serde_json::to_string(report).map_err(|e| Error::Compute {
        context: "cannot store the drift report",
        detail: e.to_string(),
    })?;
    let (reference, current) = (report.reference.to_string(), report.current.to_string());
    let tx = project.conn().unchecked_transaction().map_err(db)?;
    let stored: Option<i64> = tx
        .query_row(
            "SELECT id FROM drift_reports WHERE reference = ?1 AND current = ?2 AND report = ?3",
            params![reference, current, json],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    if let Some(id) = stored {
        return Ok(id);
    }
    tx.execute(
        "INSERT INTO drift_reports (created_at, reference, current, dataset_drift, share_drifted, columns, drifted_columns, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            audit::now(),
            reference,
            current,
            report.dataset_drift,
            report.share_drifted,
            report.columns.len() as i64,
            report.drifted_columns as i64,
            json
        ],
    )
    .map_err(db)?;
    let id = tx.last_insert_rowid();
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "drift.run",
            target: &format!("{reference} → {current}"),
            details: serde_json::json!({
                "id": id, "dataset_drift": report.dataset_drift,
                "share_drifted": report.share_drifted, "columns": report.columns.len(),
            }),
        },
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(id)
}

/// Every stored result, newest first.
pub fn list(project: &Project) -> Result<Vec<StoredDrift>> {
    let root = project.root();
    let db = |e| Error::db(root, e);
    let mut stmt = project
        .conn()
        .prepare(
            "SELECT id, created_at, reference, current, dataset_drift, share_drifted, columns, drifted_columns
             FROM drift_reports ORDER BY id DESC",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(StoredDrift {
                id: r.get(0)?,
                created_at: r.get(1)?,
                reference: r.get(2)?,
                current: r.get(3)?,
                dataset_drift: r.get(4)?,
                share_drifted: r.get(5)?,
                columns: r.get::<_, i64>(6)? as u64,
                drifted_columns: r.get::<_, i64>(7)? as u64,
            })
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// A stored report by id.
pub fn load(project: &Project, id: i64) -> Result<DriftReport> {
    let root = project.root();
    let json: String = project
        .conn()
        .query_row(
            "SELECT report FROM drift_reports WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| Error::db(root, e))?
        .ok_or_else(|| Error::NotFound {
            what: format!("no drift result {id} in this project; see `lathe drift list`"),
        })?;
    let mut report: DriftReport = serde_json::from_str(&json).map_err(|e| Error::Corrupt {
        path: root.to_path_buf(),
        detail: format!("stored drift result {id}: {e}"),
    })?;
    // Results stored before the display fields existed get them now (the verdicts come out as
    // they were stored: the same scores and thresholds).
    report.tally();
    Ok(report)
}
