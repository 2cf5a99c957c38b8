//! MLflow registered model versions whose artifact is an ONNX file become versions of Lathe's
//! model registry, with the run as lineage and the aliases carried over. Other flavours stay
//! listed and are never loaded (nothing is unpickled).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::params;
use yaml_rust2::YamlLoader;

use super::Skipped;
use crate::job::Job;
use crate::model::registry::{self, RegisterOptions};
use crate::{Error, Project, Result};

/// What adopting a source's ONNX versions did.
#[derive(Debug, Default)]
pub(crate) struct Adopted {
    /// Lathe model versions created by this import.
    pub new: u64,
    pub skipped: Vec<Skipped>,
}

/// One MLflow version with an ONNX artifact, as the import stored it.
struct Pending {
    model_id: i64,
    name: String,
    version: i64,
    run_id: Option<String>,
    onnx_path: String,
}

/// The feature names of an MLflow model's column signature (the `MLmodel` beside the ONNX
/// file), when every input is a named numeric column.
pub(crate) fn signature_features(mlmodel: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(mlmodel).ok()?;
    let doc = YamlLoader::load_from_str(&text).ok()?.into_iter().next()?;
    let inputs = doc["signature"]["inputs"].as_str()?;
    let columns: Vec<serde_json::Value> = serde_json::from_str(inputs).ok()?;
    const NUMERIC: [&str; 6] = ["float", "double", "integer", "long", "boolean", "number"];
    columns
        .iter()
        .map(|c| {
            let numeric = c["type"].as_str().is_some_and(|t| NUMERIC.contains(&t));
            c["name"]
                .as_str()
                .filter(|n| numeric && !n.is_empty())
                .map(str::to_owned)
        })
        .collect::<Option<Vec<_>>>()
        .filter(|names| !names.is_empty())
}

/// Registers every not yet adopted ONNX version of the source at `path` in Lathe's registry
/// and carries its aliases over. A version that cannot be registered (an op no runtime has, a
/// feature order nobody states) is skipped with the reason.
/// For a source whose ONNX files are not local (a tracking server): makes a version's
/// `onnx_path` a local file in the folder it is given, and returns it.
pub(crate) type Fetch<'a> = &'a dyn Fn(&str, &Path) -> Result<PathBuf>;

/// `fetch`: see [`Fetch`].
pub(crate) fn adopt(
    project: &Project,
    path: &Path,
    fetch: Option<Fetch<'_>>,
    job: &Job,
) -> Result<Adopted> {
    let db = |e| Error::db(project.root(), e);
    let source = path.display().to_string();
    let pending: Vec<Pending> = project
        .conn()
        .prepare(
            "SELECT m.id, m.name, v.version, v.source_run_id, v.onnx_path
             FROM source_model_versions v JOIN source_models m ON m.id = v.model_id
             JOIN run_sources s ON s.id = m.source_id
             WHERE s.path = ?1 AND v.onnx_path IS NOT NULL AND v.model_version_id IS NULL
             ORDER BY m.name, v.version",
        )
        .and_then(|mut stmt| {
            stmt.query_map([&source], |r| {
                Ok(Pending {
                    model_id: r.get(0)?,
                    name: r.get(1)?,
                    version: r.get(2)?,
                    run_id: r.get(3)?,
                    onnx_path: r.get(4)?,
                })
            })?
            .collect()
        })
        .map_err(db)?;
    let mut adopted = Adopted::default();
    for p in pending {
        job.cancel.check()?;
        let item = format!("registered model {} version {}", p.name, p.version);
        // A remote file is downloaded into a folder removed when this version is done.
        let scratch = match fetch {
            Some(_) => Some(tempfile::tempdir().map_err(|e| {
                Error::write("create a temporary folder", &std::env::temp_dir(), e)
            })?),
            None => None,
        };
        // Lathe's id of the version's run in this source (`#ID` is never a source's run id).
        let run: Option<i64> = match &p.run_id {
            Some(run_id) => project
                .conn()
                .query_row(
                    "SELECT r.id FROM runs r JOIN experiments e ON e.id = r.experiment_id
                     JOIN run_sources s ON s.id = e.source_id
                     WHERE s.path = ?1 AND r.source_run_id = ?2",
                    params![source, run_id],
                    |r| r.get(0),
                )
                .ok(),
            None => None,
        };
        let local = match (fetch, &scratch) {
            (Some(fetch), Some(dir)) => fetch(&p.onnx_path, dir.path()),
            _ => Ok(PathBuf::from(&p.onnx_path)),
        };
        let registered = local.and_then(|onnx| {
            let options = RegisterOptions {
                name: p.name.clone(),
                run_id: run,
                features: onnx
                    .parent()
                    .and_then(|d| signature_features(&d.join("MLmodel"))),
                ..RegisterOptions::default()
            };
            registry::register(project, &onnx, &options, job)
        });
        let registered = match registered {
            Ok(r) => r,
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(e) => {
                adopted.skipped.push(Skipped {
                    item,
                    reason: format!("not registered in Lathe: {e}"),
                });
                continue;
            }
        };
        adopted.new += u64::from(registered.new);
        project
            .conn()
            .execute(
                "UPDATE source_model_versions SET model_version_id = ?1 WHERE model_id = ?2 AND version = ?3",
                params![registered.model.id, p.model_id, p.version],
            )
            .map_err(db)?;
    }
    carry_aliases(project, &source, &mut adopted)?;
    Ok(adopted)
}

/// Points each MLflow alias of the source at the Lathe version its MLflow version became (an
/// alias MLflow moved is moved in Lathe on the next import).
fn carry_aliases(project: &Project, source: &str, adopted: &mut Adopted) -> Result<()> {
    let db = |e| Error::db(project.root(), e);
    let versions: Vec<(String, String, i64, i64)> = project
        .conn()
        .prepare(
            "SELECT m.name, m.aliases, v.version, v.model_version_id
             FROM source_model_versions v JOIN source_models m ON m.id = v.model_id
             JOIN run_sources s ON s.id = m.source_id
             WHERE s.path = ?1 AND v.model_version_id IS NOT NULL
             ORDER BY m.name, v.version",
        )
        .and_then(|mut stmt| {
            stmt.query_map([source], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
        })
        .map_err(db)?;
    for (name, aliases, version, lathe_id) in versions {
        let aliases: BTreeMap<String, i64> = serde_json::from_str(&aliases).unwrap_or_default();
        for (alias, _) in aliases.iter().filter(|(_, v)| **v == version) {
            if registry::resolve(project, &format!("{name}@{alias}")).ok() == Some(lathe_id) {
                continue;
            }
            let reference = registry::load_version(project, lathe_id)?.reference();
            if let Err(e) = registry::set_alias(project, &reference, alias) {
                adopted.skipped.push(Skipped {
                    item: format!("alias {alias} of registered model {name}"),
                    reason: format!("not carried over to Lathe: {e}"),
                });
            }
        }
    }
    Ok(())
}
