//! What a dataset or model argument names. The rule, in one place for every front end: an
//! `sc://` address is a table on a Spark cluster, profiled there ([`crate::dataset::spark`]); a
//! URL of a store Lathe reads (`s3://`, `gs://`, `az://`, `https://`; see [`crate::remote`]) is
//! that object; a path that exists is a file (for a model, an existing `.onnx` file); anything
//! else names a record of the project (`NAME[@VERSION]`, `NAME@ALIAS`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dataset::browse::TableSource;
use crate::dataset::{Profile, ReadOptions};
use crate::job::Job;
use crate::model::Model;
use crate::model::eval::Task;
use crate::model::registry;
use crate::{Error, Project, Result, remote};

/// A file on disk, an object named by URL, a table on a Spark cluster, or a record stored in
/// the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Url(String),
    /// `sc://HOST:PORT/?table=…` or `?path=…`: computed on the cluster.
    Spark(String),
    Stored(String),
}

/// Spark Connect's scheme.
fn is_spark(text: &str) -> bool {
    text.starts_with("sc://")
}

impl Input {
    /// A dataset argument: a URL is an object, an existing path a file, anything else
    /// `NAME[@VERSION]`.
    pub fn data(text: &str) -> Input {
        let path = Path::new(text);
        if is_spark(text) {
            Input::Spark(text.to_owned())
        } else if remote::is_url(text) {
            Input::Url(text.to_owned())
        } else if path.exists() {
            Input::File(path.to_path_buf())
        } else {
            Input::Stored(text.to_owned())
        }
    }

    /// A model argument: a URL, an existing `.onnx` file, anything else
    /// `NAME[@VERSION|@ALIAS]`.
    pub fn model(text: &str) -> Input {
        let path = Path::new(text);
        if is_spark(text) {
            Input::Spark(text.to_owned())
        } else if remote::is_url(text) {
            Input::Url(text.to_owned())
        } else if path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        {
            Input::File(path.to_path_buf())
        } else {
            Input::Stored(text.to_owned())
        }
    }

    /// A file or a URL: not a record of the project (no project is needed to read it).
    pub fn is_file(&self) -> bool {
        matches!(self, Input::File(_) | Input::Url(_) | Input::Spark(_))
    }

    /// The table this dataset argument names; `project` is asked for only when it names a
    /// stored version.
    pub fn table<'p>(&self, project: impl FnOnce() -> Result<&'p Project>) -> Result<TableSource> {
        Ok(match self {
            Input::File(path) => TableSource::File {
                path: path.clone(),
                options: ReadOptions::default(),
            },
            Input::Url(url) => {
                let copy = remote::Partial::open(url, &std::env::temp_dir())?;
                TableSource::Remote {
                    url: copy.object.url.clone(),
                    copy: Arc::new(copy),
                    options: ReadOptions::default(),
                }
            }
            Input::Spark(url) => TableSource::Spark {
                shown: lathe_spark::Address::parse(url)
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| lathe_spark::redact(url)),
                url: url.clone(),
            },
            Input::Stored(reference) => TableSource::stored(project()?, reference)?,
        })
    }

    /// The table a view of the desktop app names by `reference`: a table on a Spark cluster
    /// for an `sc://` address (its rows view pages a sample of its first rows,
    /// [`crate::dataset::browse::SPARK_SAMPLE_ROWS`]; its drift is computed there), else a
    /// stored version (the app imports files and URLs first; paging one would read it again
    /// for every page).
    pub fn app_table(project: &Project, reference: &str) -> Result<TableSource> {
        match Input::data(reference) {
            spark @ Input::Spark(_) => spark.table(|| Ok(project)),
            _ => TableSource::stored(project, reference),
        }
    }

    /// This dataset argument's profile: a file's or a URL's computed now, a stored version's
    /// read back.
    pub fn profile<'p>(
        &self,
        options: &ReadOptions,
        job: &Job,
        project: impl FnOnce() -> Result<&'p Project>,
    ) -> Result<Profile> {
        match self {
            Input::File(path) => crate::dataset::profile_file(path, options, job),
            Input::Url(url) => {
                // Every byte is read, so the whole object is fetched first, without the
                // SHA-256 only an import records.
                let copy = remote::Partial::open(url, &std::env::temp_dir())?;
                copy.complete(job)?;
                let mut profile = crate::dataset::profile_file(copy.path(), options, job)
                    .map_err(|e| e.naming(&copy.object.url))?;
                profile.dataset = crate::dataset::url_name(url);
                Ok(profile)
            }
            Input::Spark(url) => crate::dataset::spark::profile(url, job),
            Input::Stored(reference) => crate::dataset::stored_profile(project()?, reference),
        }
    }

    /// The model this model argument names, with its features (`features` overrides them) and,
    /// for a stored version, its target and task; `project` is asked for only when stored.
    pub fn load_model<'p>(
        &self,
        features: Option<Vec<String>>,
        project: impl FnOnce() -> Result<&'p Project>,
    ) -> Result<LoadedModel> {
        match self {
            Input::File(path) => {
                let bytes =
                    std::fs::read(path).map_err(|e| Error::io("read the model file", path, e))?;
                Input::unregistered(bytes, path.display().to_string(), features)
            }
            Input::Url(url) => {
                let (bytes, object) = remote::read_all(url, &Job::silent())?;
                Input::unregistered(bytes, object.url, features)
            }
            Input::Spark(url) => Err(Error::BadArgument {
                argument: "model",
                detail: format!(
                    "{} is a Spark table, not a model: pass an .onnx file, its URL, or NAME@VERSION",
                    lathe_spark::redact(url)
                ),
            }),
            Input::Stored(reference) => {
                let project = project()?;
                let version = registry::show(project, reference)?;
                Ok(LoadedModel {
                    model: registry::load_model(project, &version)?,
                    name: version.reference(),
                    features: features.unwrap_or(version.features),
                    target: version.target,
                    task: Some(version.task),
                })
            }
        }
    }

    /// A model file's model (read from a path or a URL, `what` naming it), with its features.
    fn unregistered(
        bytes: Vec<u8>,
        what: String,
        features: Option<Vec<String>>,
    ) -> Result<LoadedModel> {
        let model = Model::load(&bytes, &what)?;
        let Some(features) = features.or_else(|| model.input_feature_names()) else {
            return Err(Error::BadArgument {
                argument: "features",
                detail: format!(
                    "{what} takes one input matrix; pass its feature columns in order with --features a,b,..."
                ),
            });
        };
        Ok(LoadedModel {
            model,
            name: what,
            features,
            target: None,
            task: None,
        })
    }
}

/// A model ready to run, with what it was registered with.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    /// The file's path, the URL, or `NAME@VERSION`.
    pub name: String,
    pub features: Vec<String>,
    pub target: Option<String>,
    pub task: Option<Task>,
}
