//! What a dataset or model argument names. The rule, in one place for every front end: a path
//! that exists is a file (for a model, an existing `.onnx` file); anything else names a record
//! of the project (`NAME[@VERSION]`, `NAME@ALIAS`).

use std::path::{Path, PathBuf};

use crate::dataset::ReadOptions;
use crate::dataset::browse::TableSource;
use crate::model::Model;
use crate::model::eval::Task;
use crate::model::registry;
use crate::{Error, Project, Result};

/// A file on disk, or a record stored in the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Stored(String),
}

impl Input {
    /// A dataset argument: an existing path is a file, anything else `NAME[@VERSION]`.
    pub fn data(text: &str) -> Input {
        let path = Path::new(text);
        if path.exists() {
            Input::File(path.to_path_buf())
        } else {
            Input::Stored(text.to_owned())
        }
    }

    /// A model argument: an existing `.onnx` file, anything else `NAME[@VERSION|@ALIAS]`.
    pub fn model(text: &str) -> Input {
        let path = Path::new(text);
        if path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        {
            Input::File(path.to_path_buf())
        } else {
            Input::Stored(text.to_owned())
        }
    }

    pub fn is_file(&self) -> bool {
        matches!(self, Input::File(_))
    }

    /// The table this dataset argument names; `project` is asked for only when it names a
    /// stored version.
    pub fn table<'p>(&self, project: impl FnOnce() -> Result<&'p Project>) -> Result<TableSource> {
        Ok(match self {
            Input::File(path) => TableSource::File {
                path: path.clone(),
                options: ReadOptions::default(),
            },
            Input::Stored(reference) => TableSource::stored(project()?, reference)?,
        })
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
                let what = path.display().to_string();
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
}

/// A model ready to run, with what it was registered with.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    /// The file's path, or `NAME@VERSION`.
    pub name: String,
    pub features: Vec<String>,
    pub target: Option<String>,
    pub task: Option<Task>,
}
