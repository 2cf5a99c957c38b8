//! The demo project: what `lathe demo DIR` and the desktop app's "Create demo project" make, so
//! a new user has something real to look at. Each capability adds its part of the demo here as it
//! lands, from the public data shipped in `assets/` (sources and licences in `assets/README.md`).
//!
//! The data are compiled into the binary, so the demo works wherever Lathe is installed. They
//! are written into the project's `demo-data/` folder and imported from there, as a user's own
//! files would be.

use std::path::Path;

use crate::audit::NewAuditEntry;
use crate::dataset::{self, ReadOptions};
use crate::job::Job;
use crate::project::{OpenOptions, Project};
use crate::{Error, Result};

pub const DEMO_NAME: &str = "Lathe demo";

/// The demo's datasets: name, file name, contents (see `assets/README.md`).
const DATASETS: &[(&str, &str, &[u8])] = &[
    (
        "breast_cancer",
        "breast_cancer.csv",
        include_bytes!("../../../assets/datasets/breast_cancer.csv"),
    ),
    // Version 2 of breast_cancer: a later batch that drifted (the odd rows, with the first 16
    // features moved by half a standard deviation and 60 labels flipped), for the Drift view.
    (
        "breast_cancer",
        "breast_cancer_batch2.csv",
        include_bytes!("../../../assets/datasets/breast_cancer_batch2.csv"),
    ),
    (
        "diabetes",
        "diabetes.csv",
        include_bytes!("../../../assets/datasets/diabetes.csv"),
    ),
    // The production classifier's log, for the Monitoring view (tests/fixtures/
    // make_demo_production.py): weeks 1–12 after deployment with every label (the reference)…
    (
        "breast_cancer_production",
        "breast_cancer_production_1.parquet",
        include_bytes!("../../../assets/datasets/breast_cancer_production_1.parquet"),
    ),
    // …and weeks 13–24, whose later weeks drift between the classes, so that performance
    // drops, and whose last four weeks have no labels yet.
    (
        "breast_cancer_production",
        "breast_cancer_production_2.parquet",
        include_bytes!("../../../assets/datasets/breast_cancer_production_2.parquet"),
    ),
    // diabetes with an age band and a binary outcome: the Fairness view's data.
    (
        "diabetes_risk",
        "diabetes_risk.csv",
        include_bytes!("../../../assets/datasets/diabetes_risk.csv"),
    ),
];

/// The ten baseline variables, the features of the diabetes risk classifier.
const DIABETES_FEATURES: &[&str] = &[
    "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
];

/// The demo's run history: an MLflow SQLite store written by the real mlflow client while
/// training scikit-learn models on the demo datasets (`tests/fixtures/make_demo_runs.py`).
const RUNS: &[u8] = include_bytes!("../../../assets/runs/mlflow.db");

/// The demo's models, trained with scikit-learn on the datasets above and exported by skl2onnx
/// (`tests/fixtures/models_reference.py`, `tests/fixtures/explain_reference.py`): name, file,
/// bytes, training dataset, target, features (default: the dataset's numeric columns).
type DemoModel = (
    &'static str,
    &'static str,
    &'static [u8],
    &'static str,
    &'static str,
    Option<&'static [&'static str]>,
);
const MODELS: &[DemoModel] = &[
    (
        "breast_cancer_classifier",
        "breast_cancer_logreg.onnx",
        include_bytes!("../../../assets/models/breast_cancer_logreg.onnx"),
        "breast_cancer@1",
        "target",
        None,
    ),
    (
        "breast_cancer_classifier",
        "breast_cancer_forest.onnx",
        include_bytes!("../../../assets/models/breast_cancer_forest.onnx"),
        "breast_cancer@1",
        "target",
        None,
    ),
    (
        "diabetes_regressor",
        "diabetes_boosting.onnx",
        include_bytes!("../../../assets/models/diabetes_boosting.onnx"),
        "diabetes@1",
        "target",
        None,
    ),
    (
        "diabetes_risk_classifier",
        "diabetes_risk_logreg.onnx",
        include_bytes!("../../../assets/models/diabetes_risk_logreg.onnx"),
        "diabetes_risk@1",
        "high_progression",
        Some(DIABETES_FEATURES),
    ),
];

/// Creates the demo project in `root`.
pub fn create(root: &Path, options: OpenOptions, job: &Job) -> Result<Project> {
    job.cancel.check()?;
    job.progress("creating project", 0, None);
    let project = Project::create(root, Some(DEMO_NAME), options)?;
    let data_dir = project.root().join("demo-data");
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| Error::write("create the demo data folder", &data_dir, e))?;
    for (name, file, bytes) in DATASETS {
        let path = data_dir.join(file);
        std::fs::write(&path, bytes).map_err(|e| Error::write("write demo data", &path, e))?;
        dataset::import(&project, &path, Some(name), &ReadOptions::default(), job)?;
    }
    let runs = data_dir.join("mlflow.db");
    std::fs::write(&runs, RUNS).map_err(|e| Error::write("write demo data", &runs, e))?;
    let imported = crate::runs::import(&project, &runs, job)?;
    for (name, file, bytes, training, target, features) in MODELS {
        let path = data_dir.join(file);
        std::fs::write(&path, bytes).map_err(|e| Error::write("write demo data", &path, e))?;
        let options = crate::model::registry::RegisterOptions {
            name: (*name).to_owned(),
            dataset: Some((*training).to_owned()),
            target: Some((*target).to_owned()),
            features: features.map(|f| f.iter().map(|s| (*s).to_owned()).collect()),
            ..Default::default()
        };
        crate::model::registry::register(&project, &path, &options, job)?;
    }
    // The logistic regression is what runs in production; the forest is the challenger.
    crate::model::registry::set_alias(&project, "breast_cancer_classifier@1", "production")?;
    project.record(&NewAuditEntry {
        action: "demo.create",
        target: DEMO_NAME,
        details: serde_json::json!({
            "lathe_version": crate::LATHE_VERSION,
            "datasets": DATASETS.iter().map(|(_, file, _)| *file).collect::<Vec<_>>(),
            "runs": imported.runs_new,
            "models": MODELS.iter().map(|m| m.1).collect::<Vec<_>>(),
        }),
    })?;
    Ok(project)
}
