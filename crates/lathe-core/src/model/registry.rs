//! The model registry: named, versioned ONNX files in the object store, with their signature,
//! feature order, aliases, lineage (run, training dataset version) and evaluations.
//!
//! A file is checked before anything is written: it must load in one of the runtimes (an op
//! neither runs is refused by name) and its feature order must be known.

use std::path::Path;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::eval::{Evaluation, SourceInput, Task, evaluate_source};
use super::{Model, Signature};
use crate::audit::{self, NewAuditEntry};
use crate::dataset::stream::MemoryLimit;
use crate::dataset::{self, browse::TableSource};
use crate::job::Job;
use crate::project::Project;
use crate::{Error, Result};

/// How to register a file.
#[derive(Debug, Clone, Default)]
pub struct RegisterOptions {
    pub name: String,
    /// The run that made the model (its id in the project; resolve a user's `#ID` or source
    /// run id with `runs::resolve_run` first). The registry does not read runs.
    pub run_id: Option<i64>,
    /// The training dataset, `NAME[@VERSION]`.
    pub dataset: Option<String>,
    pub target: Option<String>,
    pub task: Option<Task>,
    pub features: Option<Vec<String>>,
}

/// A registered version, as `lathe model show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelVersion {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub sha256: String,
    pub size_bytes: u64,
    pub source_path: String,
    pub task: Task,
    pub target: Option<String>,
    pub features: Vec<String>,
    pub signature: Signature,
    /// Lathe's run id and the source's run id, when registered from a run.
    pub run_id: Option<i64>,
    pub run_source_id: Option<String>,
    /// The training dataset version, `NAME@VERSION`.
    pub dataset: Option<String>,
    pub aliases: Vec<String>,
    pub registered_at: String,
}

impl ModelVersion {
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The target column: `given`, else the one registered with the version.
    pub fn target_or(&self, given: Option<&str>) -> Result<String> {
        given
            .map(str::to_owned)
            .or_else(|| self.target.clone())
            .ok_or_else(|| Error::BadArgument {
                argument: "target",
                detail: format!(
                    "{} was registered without a target; pass --target COLUMN",
                    self.reference()
                ),
            })
    }
}

/// One line of `lathe model list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelSummary {
    pub name: String,
    pub versions: Vec<ModelVersion>,
    /// alias → version.
    pub aliases: Vec<(String, i64)>,
}

/// What `register` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Registered {
    pub model: ModelVersion,
    /// False when the same bytes were already this model's version.
    pub new: bool,
}

/// Checks a model name: what `NAME@VERSION` references can carry.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadArgument {
            argument: "name",
            detail: format!("{name:?}; a model name is 1–128 letters, digits, '_', '-' or '.'"),
        })
    }
}

fn db(project: &Project) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::db(project.root(), e)
}

/// Registers `path` as the next version of `options.name`.
pub fn register(
    project: &Project,
    path: &Path,
    options: &RegisterOptions,
    job: &Job,
) -> Result<Registered> {
    check_name(&options.name)?;
    job.progress("reading the model", 0, None);
    let bytes = std::fs::read(path).map_err(|e| Error::io("read the model file", path, e))?;
    let what = path.display().to_string();
    let model = Model::load(&bytes, &what)?;
    let run_id = options.run_id;
    let training = match &options.dataset {
        Some(d) => Some(dataset::resolve(project, d)?),
        None => None,
    };
    let frame = match &options.dataset {
        Some(d) => Some(TableSource::stored(project, d)?.frame(None)?),
        None => None,
    };
    if let (Some(target), Some(frame)) = (&options.target, &frame)
        && frame.column(target).is_err()
    {
        return Err(Error::BadArgument {
            argument: "target",
            detail: format!(
                "the training dataset {} has no column {target:?}",
                options.dataset.as_deref().unwrap_or_default()
            ),
        });
    }
    let features = feature_order(&model, options, frame.as_ref())?;
    let task = options.task.unwrap_or_else(|| task_of(model.signature()));
    job.cancel.check()?;
    job.progress("storing the model", 0, Some(bytes.len() as u64));
    let stored = project.put_object(
        &mut bytes.as_slice(),
        "application/onnx",
        Some(bytes.len() as u64),
        job,
    )?;
    let db = db(project);
    let tx = project.conn().unchecked_transaction().map_err(&db)?;
    let now = audit::now();
    tx.execute(
        "INSERT OR IGNORE INTO models (name, created_at) VALUES (?1, ?2)",
        params![options.name, now],
    )
    .map_err(&db)?;
    let model_id: i64 = tx
        .query_row(
            "SELECT id FROM models WHERE name = ?1",
            [&options.name],
            |r| r.get(0),
        )
        .map_err(&db)?;
    let existing: Option<i64> = tx
        .query_row(
            "SELECT version FROM model_versions WHERE model_id = ?1 AND object_sha256 = ?2",
            params![model_id, stored.sha256],
            |r| r.get(0),
        )
        .optional()
        .map_err(&db)?;
    if let Some(version) = existing {
        drop(tx);
        return Ok(Registered {
            model: show(project, &format!("{}@{version}", options.name))?,
            new: false,
        });
    }
    let version: i64 = tx
        .query_row(
            "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE model_id = ?1",
            [model_id],
            |r| r.get(0),
        )
        .map_err(&db)?;
    tx.execute(
        "INSERT INTO model_versions (model_id, version, object_sha256, size_bytes, source_path, task, target, features, signature, run_id, dataset_version_id, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            model_id,
            version,
            stored.sha256,
            bytes.len() as i64,
            what,
            task.name(),
            options.target,
            to_json(&features),
            to_json(model.signature()),
            run_id,
            training.as_ref().map(|t| t.id),
            now
        ],
    )
    .map_err(&db)?;
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "model.register",
            target: &format!("{}@{version}", options.name),
            details: serde_json::json!({
                "sha256": stored.sha256, "source": what, "task": task.name(),
                "runtime": model.signature().runtime, "features": features.len(),
                "run_id": run_id, "dataset": training.as_ref().map(|t| format!("{}@{}", t.dataset, t.version)),
            }),
        },
    )
    .map_err(&db)?;
    tx.commit().map_err(&db)?;
    Ok(Registered {
        model: show(project, &format!("{}@{version}", options.name))?,
        new: true,
    })
}

/// A registry JSON column (these types always serialise).
fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Classification when the graph outputs integer or string labels.
pub fn task_of(signature: &Signature) -> Task {
    if signature
        .outputs
        .iter()
        .any(|o| matches!(o.dtype.as_str(), "int64" | "string" | "int32"))
    {
        Task::Classification
    } else {
        Task::Regression
    }
}

/// The feature order: `--features`, else one named input per feature, else the training
/// dataset's numeric columns other than the target.
fn feature_order(
    model: &Model,
    options: &RegisterOptions,
    frame: Option<&polars::prelude::DataFrame>,
) -> Result<Vec<String>> {
    let expected = model.feature_count();
    let mismatch = |n: usize, source: &str| Error::BadArgument {
        argument: "features",
        detail: format!(
            "the model takes {} features but {source} gives {n}; pass them in the model's order with --features a,b,...",
            expected.map_or_else(|| "?".to_owned(), |e| e.to_string())
        ),
    };
    let features = if let Some(f) = &options.features {
        if f.is_empty() || f.iter().any(String::is_empty) {
            return Err(Error::BadArgument {
                argument: "features",
                detail: "an empty feature name".to_owned(),
            });
        }
        if expected.is_some_and(|e| e != f.len()) {
            return Err(mismatch(f.len(), "--features"));
        }
        f.clone()
    } else if let Some(names) = model.input_feature_names() {
        names
    } else if let Some(frame) = frame {
        let cols: Vec<String> = frame
            .columns()
            .iter()
            .filter(|c| Some(c.name().as_str()) != options.target.as_deref())
            .filter(|c| c.dtype().is_primitive_numeric() || c.dtype().is_bool())
            .map(|c| c.name().to_string())
            .collect();
        if expected.is_some_and(|e| e != cols.len()) {
            return Err(mismatch(
                cols.len(),
                "the training dataset's numeric columns (other than the target)",
            ));
        }
        cols
    } else {
        return Err(Error::BadArgument {
            argument: "features",
            detail: "the model takes one input matrix, so Lathe cannot tell its feature order; pass --features a,b,... or --dataset (the training dataset) with --target".to_owned(),
        });
    };
    if let Some(frame) = frame {
        for f in &features {
            if frame.column(f).is_err() {
                return Err(Error::BadArgument {
                    argument: "features",
                    detail: format!("the training dataset has no column {f:?}"),
                });
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = features.iter().find(|f| !seen.insert(f.as_str())) {
        return Err(Error::BadArgument {
            argument: "features",
            detail: format!("{dup:?} is listed twice"),
        });
    }
    Ok(features)
}

/// Splits `NAME[@VERSION|@ALIAS]`.
fn split_reference(reference: &str) -> (&str, Option<&str>) {
    match reference.rsplit_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (reference, None),
    }
}

/// Resolves `NAME[@VERSION|@ALIAS]` (latest version by default) to a version row id.
pub fn resolve(project: &Project, reference: &str) -> Result<i64> {
    let (name, tag) = split_reference(reference);
    let db = db(project);
    let conn = project.conn();
    let model_id: i64 = conn
        .query_row("SELECT id FROM models WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .map_err(&db)?
        .ok_or_else(|| Error::NotFound {
            what: format!("no model named {name:?} in this project; see `lathe model list`"),
        })?;
    let id: Option<i64> = match tag {
        None => conn
            .query_row(
                "SELECT id FROM model_versions WHERE model_id = ?1 ORDER BY version DESC LIMIT 1",
                [model_id],
                |r| r.get(0),
            )
            .optional(),
        Some(t) => match t.parse::<i64>() {
            Ok(v) => conn
                .query_row(
                    "SELECT id FROM model_versions WHERE model_id = ?1 AND version = ?2",
                    params![model_id, v],
                    |r| r.get(0),
                )
                .optional(),
            Err(_) => conn
                .query_row(
                    "SELECT version_id FROM model_aliases WHERE model_id = ?1 AND alias = ?2",
                    params![model_id, t],
                    |r| r.get(0),
                )
                .optional(),
        },
    }
    .map_err(&db)?;
    id.ok_or_else(|| Error::NotFound {
        what: format!(
            "model {name:?} has no version or alias {:?}; see `lathe model show {name}`",
            tag.unwrap_or("")
        ),
    })
}

pub(crate) fn load_version(project: &Project, id: i64) -> Result<ModelVersion> {
    let db = db(project);
    let conn = project.conn();
    let corrupt = |e: serde_json::Error| Error::Corrupt {
        path: project.root().to_path_buf(),
        detail: format!("stored model version {id}: {e}"),
    };
    let row = conn
        .query_row(
            "SELECT m.name, v.version, v.object_sha256, v.size_bytes, v.source_path, v.task, v.target, v.features, v.signature,
                    v.run_id, r.source_run_id, d.name || '@' || dv.version, v.registered_at, v.model_id
             FROM model_versions v JOIN models m ON m.id = v.model_id
             LEFT JOIN runs r ON r.id = v.run_id
             LEFT JOIN dataset_versions dv ON dv.id = v.dataset_version_id
             LEFT JOIN datasets d ON d.id = dv.dataset_id
             WHERE v.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    r.get::<_, Option<String>>(11)?,
                    r.get::<_, String>(12)?,
                    r.get::<_, i64>(13)?,
                ))
            },
        )
        .map_err(&db)?;
    let mut stmt = conn
        .prepare("SELECT alias FROM model_aliases WHERE version_id = ?1 ORDER BY alias")
        .map_err(&db)?;
    let aliases = stmt
        .query_map([id], |r| r.get(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
        .map_err(&db)?;
    Ok(ModelVersion {
        id,
        name: row.0,
        version: row.1,
        sha256: row.2,
        size_bytes: row.3 as u64,
        source_path: row.4,
        task: Task::parse(&row.5)?,
        target: row.6,
        features: serde_json::from_str(&row.7).map_err(corrupt)?,
        signature: serde_json::from_str(&row.8).map_err(corrupt)?,
        run_id: row.9,
        run_source_id: row.10,
        dataset: row.11,
        aliases,
        registered_at: row.12,
    })
}

/// A registered version by `NAME[@VERSION|@ALIAS]`.
pub fn show(project: &Project, reference: &str) -> Result<ModelVersion> {
    let id = resolve(project, reference)?;
    load_version(project, id)
}

/// Every model with its versions (newest first) and aliases.
pub fn list(project: &Project) -> Result<Vec<ModelSummary>> {
    let db = db(project);
    let conn = project.conn();
    let mut stmt = conn
        .prepare("SELECT id, name FROM models ORDER BY name")
        .map_err(&db)?;
    let models: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(&db)?;
    let mut out = Vec::with_capacity(models.len());
    for (model_id, name) in models {
        let mut stmt = conn
            .prepare("SELECT id FROM model_versions WHERE model_id = ?1 ORDER BY version DESC")
            .map_err(&db)?;
        let ids: Vec<i64> = stmt
            .query_map([model_id], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(&db)?;
        let versions = ids
            .into_iter()
            .map(|id| load_version(project, id))
            .collect::<Result<Vec<_>>>()?;
        let mut stmt = conn
            .prepare(
                "SELECT a.alias, v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
                 WHERE a.model_id = ?1 ORDER BY a.alias",
            )
            .map_err(&db)?;
        let aliases = stmt
            .query_map([model_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(&db)?;
        out.push(ModelSummary {
            name,
            versions,
            aliases,
        });
    }
    Ok(out)
}

/// Points `alias` of the model at `NAME@VERSION` (moving it if it pointed elsewhere).
pub fn set_alias(project: &Project, reference: &str, alias: &str) -> Result<ModelVersion> {
    let (name, tag) = split_reference(reference);
    if tag.is_none_or(|t| t.parse::<i64>().is_err()) {
        return Err(Error::BadArgument {
            argument: "model",
            detail: format!("{reference:?}; an alias points at a version: NAME@VERSION"),
        });
    }
    let valid = !alias.is_empty()
        && alias.parse::<i64>().is_err()
        && alias
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(Error::BadArgument {
            argument: "alias",
            detail: format!(
                "{alias:?}; an alias is a word of letters, digits, '_', '-', '.' (not a number)"
            ),
        });
    }
    let id = resolve(project, reference)?;
    let db = db(project);
    let tx = project.conn().unchecked_transaction().map_err(&db)?;
    let model_id: i64 = tx
        .query_row(
            "SELECT model_id FROM model_versions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .map_err(&db)?;
    tx.execute(
        "INSERT INTO model_aliases (model_id, alias, version_id, set_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id, set_at = excluded.set_at",
        params![model_id, alias, id, audit::now()],
    )
    .map_err(&db)?;
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "model.alias",
            target: &format!("{name}@{alias}"),
            details: serde_json::json!({ "version": reference }),
        },
    )
    .map_err(&db)?;
    tx.commit().map_err(&db)?;
    load_version(project, id)
}

/// The model file of a registered version, loaded.
pub fn load_model(project: &Project, version: &ModelVersion) -> Result<Model> {
    let path = project.objects().path_of(&version.sha256);
    let bytes = std::fs::read(&path).map_err(|e| Error::io("read the model object", &path, e))?;
    Model::load(&bytes, &version.reference())
}

/// Evaluates a registered version on a stored dataset version and keeps the result (replacing
/// an earlier one for the same pair and target). A version over `limit` (default: the
/// machine's, [`MemoryLimit::for_this_machine`]) is read and predicted a slice at a time.
pub fn evaluate_stored(
    project: &Project,
    model_ref: &str,
    data_ref: &str,
    target: Option<&str>,
    limit: Option<MemoryLimit>,
    job: &Job,
) -> Result<Evaluation> {
    let version = show(project, model_ref)?;
    let target = version.target_or(target)?;
    let data = dataset::resolve(project, data_ref)?;
    let model = load_model(project, &version)?;
    job.cancel.check()?;
    let evaluation = evaluate_source(
        &model,
        &SourceInput {
            model_name: version.reference(),
            data_name: format!("{}@{}", data.dataset, data.version),
            source: &TableSource::stored(project, data_ref)?,
            features: &version.features,
            target: &target,
            task: Some(version.task),
            limit: limit.unwrap_or_else(MemoryLimit::for_this_machine),
        },
        job,
    )?;
    job.cancel.check()?;
    let db = db(project);
    let tx = project.conn().unchecked_transaction().map_err(&db)?;
    tx.execute(
        "INSERT INTO model_evaluations (model_version_id, dataset_version_id, target, task, report, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (model_version_id, dataset_version_id, target)
         DO UPDATE SET task = excluded.task, report = excluded.report, created_at = excluded.created_at",
        params![
            version.id,
            data.id,
            target,
            evaluation.task.name(),
            to_json(&evaluation),
            audit::now()
        ],
    )
    .map_err(&db)?;
    audit::append(
        &tx,
        project.actor(),
        &NewAuditEntry {
            action: "model.evaluate",
            target: &format!("{} on {}", evaluation.model, evaluation.data),
            details: serde_json::json!({ "target": target, "metrics": evaluation.metrics }),
        },
    )
    .map_err(&db)?;
    tx.commit().map_err(&db)?;
    Ok(evaluation)
}

/// Stored evaluations of a version (`NAME[@VERSION|@ALIAS]`), newest first.
pub fn evaluations(project: &Project, model_ref: &str) -> Result<Vec<Evaluation>> {
    let id = resolve(project, model_ref)?;
    let db = db(project);
    let mut stmt = project
        .conn()
        .prepare("SELECT report FROM model_evaluations WHERE model_version_id = ?1 ORDER BY created_at DESC, id DESC")
        .map_err(&db)?;
    let rows: Vec<String> = stmt
        .query_map([id], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(&db)?;
    rows.iter()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| Error::Corrupt {
                path: project.root().to_path_buf(),
                detail: format!("stored evaluation: {e}"),
            })
        })
        .collect()
}
