//! Exported bundles, recorded in the project (`bundles`) for `lathe bundle list` and the
//! desktop app's Bundles view.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{ExportOptions, Exported};
use crate::audit::{self, NewAuditEntry};
use crate::model::registry::ModelVersion;
use crate::project::Project;
use crate::{Error, Result};

/// One exported bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BundleRecord {
    pub id: i64,
    pub model: String,
    pub path: String,
    pub format: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// The size as people read it ([`crate::display::bytes`]).
    #[serde(default)]
    pub size: String,
    pub files: u64,
    pub signed_by: Option<String>,
    pub created_at: String,
}

pub(super) fn record(
    project: &Project,
    version: &ModelVersion,
    exported: &Exported,
    options: &ExportOptions,
) -> Result<()> {
    let db = |e| Error::db(project.root(), e);
    let settings = settings(options);
    let tx = project.conn().unchecked_transaction().map_err(db)?;
    tx.execute(
        "INSERT INTO bundles (model_version_id, path, format, sha256, size_bytes, files, signed_by, settings, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            version.id,
            exported.path,
            exported.format,
            exported.sha256,
            exported.size_bytes as i64,
            exported.files as i64,
            exported.signed_by,
            settings,
            audit::now()
        ],
    )
    .map_err(db)?;
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "bundle.export",
            target: &exported.model,
            details: serde_json::json!({
                "path": exported.path,
                "sha256": exported.sha256,
                "signed_by": exported.signed_by,
            }),
        },
    )
    .map_err(db)?;
    tx.commit().map_err(db)
}

/// What the `bundles` table keeps of an export's options.
fn settings(options: &ExportOptions) -> String {
    serde_json::json!({
        "eval_dataset": options.eval_dataset,
        "reference_dataset": options.reference_dataset,
        "sensitive": options.sensitive,
        "card": options.card,
        "signed": options.sign_key.is_some(),
    })
    .to_string()
}

/// The export of `version` recorded at `options.out` with these options and this signer, when
/// the file there is still the one recorded: an export run again after it finished (or after
/// it was stopped once it had recorded) is that export, and writes nothing.
pub(super) fn already_exported(
    project: &Project,
    version: &ModelVersion,
    options: &ExportOptions,
    signed_by: Option<&str>,
) -> Result<Option<Exported>> {
    use rusqlite::OptionalExtension;
    use sha2::{Digest, Sha256};
    let path = std::fs::canonicalize(&options.out).unwrap_or_else(|_| options.out.clone());
    let found: Option<(String, String, i64, i64, Option<String>)> = project
        .conn()
        .query_row(
            "SELECT format, sha256, size_bytes, files, signed_by FROM bundles
             WHERE path = ?1 AND model_version_id = ?2 AND settings = ?3
             ORDER BY id DESC LIMIT 1",
            params![path.display().to_string(), version.id, settings(options)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(|e| Error::db(project.root(), e))?;
    let Some((format, sha256, size_bytes, files, recorded_signer)) = found else {
        return Ok(None);
    };
    if recorded_signer.as_deref() != signed_by {
        return Ok(None);
    }
    let hashed = if format == "folder" {
        path.join(super::SUMS)
    } else {
        path.clone()
    };
    let now = std::fs::read(&hashed)
        .map(|b| hex::encode(Sha256::digest(b)))
        .unwrap_or_default();
    if now != sha256 {
        return Ok(None);
    }
    Ok(Some(Exported {
        path: path.display().to_string(),
        format,
        model: version.reference(),
        sha256,
        size_bytes: size_bytes as u64,
        size: crate::display::bytes(size_bytes as u64),
        files: files as u64,
        signed_by: recorded_signer,
        notes: vec![format!(
            "{} was exported already with these settings and is unchanged: nothing was written",
            path.display()
        )],
    }))
}

/// Whether the project recorded a bundle exported to `path`.
pub(super) fn recorded(project: &Project, path: &std::path::Path) -> Result<bool> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    project
        .conn()
        .query_row(
            "SELECT count(*) FROM bundles WHERE path = ?1",
            params![path.display().to_string()],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| Error::db(project.root(), e))
}

/// Every exported bundle, newest first.
pub fn list(project: &Project) -> Result<Vec<BundleRecord>> {
    let db = |e| Error::db(project.root(), e);
    let mut stmt = project
        .conn()
        .prepare(
            "SELECT b.id, m.name || '@' || v.version, b.path, b.format, b.sha256, b.size_bytes, b.files, b.signed_by, b.created_at
             FROM bundles b JOIN model_versions v ON v.id = b.model_version_id JOIN models m ON m.id = v.model_id
             ORDER BY b.created_at DESC, b.id DESC",
        )
        .map_err(db)?;
    stmt.query_map([], |r| {
        Ok(BundleRecord {
            id: r.get(0)?,
            model: r.get(1)?,
            path: r.get(2)?,
            format: r.get(3)?,
            sha256: r.get(4)?,
            size_bytes: r.get::<_, i64>(5)? as u64,
            size: crate::display::bytes(r.get::<_, i64>(5)? as u64),
            files: r.get::<_, i64>(6)? as u64,
            signed_by: r.get(7)?,
            created_at: r.get(8)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(db)
}
