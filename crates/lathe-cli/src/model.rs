//! `lathe model`: register ONNX models, alias versions, predict and evaluate.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use lathe_core::api::{Input, LoadedModel};
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::job::Job;
use lathe_core::model::eval::{self, Evaluation, SourceInput, Task};
use lathe_core::model::feature_matrix;
use lathe_core::model::registry::{self, ModelVersion, RegisterOptions};
use lathe_core::{Error, Project};

use crate::{open_project, print};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Register an ONNX file as the next version of a model.
    Register {
        file: PathBuf,
        #[arg(long)]
        name: String,
        /// The run that produced it (a run id of the source, or Lathe's id).
        #[arg(long, value_name = "RUN")]
        run: Option<String>,
        /// The training dataset, `NAME[@VERSION]`; its columns give the feature order when
        /// --features is not given.
        #[arg(long, value_name = "D[@V]")]
        dataset: Option<String>,
        /// The target column (evaluation's default).
        #[arg(long, value_name = "COL")]
        target: Option<String>,
        /// classification or regression (default: classification when the model outputs labels).
        #[arg(long)]
        task: Option<String>,
        /// The feature columns, in the model's input order.
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        features: Option<Vec<String>>,
    },
    /// Point an alias (production, staging, ...) at `NAME@VERSION`, moving it if set.
    Alias { model: String, alias: String },
    /// Every registered model with its versions and aliases.
    List,
    /// One version (NAME, `NAME@VERSION` or `NAME@ALIAS`): signature, features, lineage, evaluations.
    Show { model: String },
    /// Predict DATA (a dataset `NAME[@VERSION]` or a file) with MODEL (`NAME[@VERSION|@ALIAS]`, or
    /// an .onnx file with --features).
    Predict {
        model: String,
        data: String,
        /// The feature columns in the model's order (for a plain .onnx file).
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        features: Option<Vec<String>>,
        /// Write the predictions as CSV here.
        #[arg(long, value_name = "FILE.csv")]
        out: Option<PathBuf>,
        /// Threads to use (default: every core).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Predict N times and print the best prediction time (reading and writing excluded)
        /// on stderr: the figure tests/bench/models.sh compares with onnxruntime.
        #[arg(long, value_name = "N")]
        repeat: Option<usize>,
    },
    /// Evaluate MODEL on DATA with a target column; stored when both are in the project.
    Eval {
        model: String,
        data: String,
        /// The target column (default: the one given at registration).
        #[arg(long, value_name = "COL")]
        target: Option<String>,
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        features: Option<Vec<String>>,
        #[arg(long)]
        task: Option<String>,
        /// Write the evaluation charts (SVG) with their data (CSV) into this folder.
        #[arg(long, value_name = "DIR")]
        charts: Option<PathBuf>,
        /// Memory for the data (e.g. 512MiB, 2GiB; default: a quarter of the machine's, at most
        /// 2 GiB). Larger data are read and predicted a slice at a time, with the same numbers.
        #[arg(long, value_parser = crate::dataset::parse_memory_limit, value_name = "SIZE")]
        memory_limit: Option<MemoryLimit>,
    },
}

/// A plain `.onnx` file given as MODEL ([`Input::model`]'s rule).
pub(crate) fn is_file(model: &str) -> bool {
    Input::model(model).is_file()
}

/// The model a MODEL argument names, with its features; the project is opened on first need.
pub(crate) fn load(
    model: &str,
    features: Option<Vec<String>>,
    project: &mut Option<Project>,
    dir: Option<&Path>,
) -> anyhow::Result<LoadedModel> {
    Ok(Input::model(model).load_model(features, || crate::project_on_demand(project, dir))?)
}

pub fn run(command: ModelCommand, dir: Option<&Path>, json: bool) -> anyhow::Result<()> {
    match command {
        ModelCommand::Register {
            file,
            name,
            run,
            dataset,
            target,
            task,
            features,
        } => {
            let project = open_project(dir)?;
            let options = RegisterOptions {
                name,
                run_id: run
                    .map(|r| lathe_core::runs::resolve_run(&project, &r))
                    .transpose()?,
                dataset,
                target,
                task: task.as_deref().map(Task::parse).transpose()?,
                features,
            };
            let done =
                crate::with_progress(|job| registry::register(&project, &file, &options, job))?;
            print(json, &done, || {
                let m = &done.model;
                if done.new {
                    format!(
                        "Registered {} ({}, {} features, runs in {:?})",
                        m.reference(),
                        m.task.name(),
                        m.features.len(),
                        m.signature.runtime
                    )
                } else {
                    format!(
                        "{} already holds these bytes; nothing changed",
                        m.reference()
                    )
                }
            })
        }
        ModelCommand::Alias { model, alias } => {
            let project = open_project(dir)?;
            let v = registry::set_alias(&project, &model, &alias)?;
            print(json, &v, || {
                format!("{}@{alias} → {}", v.name, v.reference())
            })
        }
        ModelCommand::List => {
            let project = open_project(dir)?;
            let models = registry::list(&project)?;
            print(json, &models, || {
                if models.is_empty() {
                    return "No models yet: `lathe model register FILE.onnx --name NAME`.".into();
                }
                models
                    .iter()
                    .map(|m| {
                        let latest = &m.versions[0];
                        format!(
                            "{:<24} {} version(s), latest {} ({}){}",
                            m.name,
                            m.versions.len(),
                            latest.version,
                            latest.task.name(),
                            if m.aliases.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    "  aliases: {}",
                                    m.aliases
                                        .iter()
                                        .map(|(a, v)| format!("{a}→{v}"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ModelCommand::Show { model } => {
            let project = open_project(dir)?;
            let v = registry::show(&project, &model)?;
            let evaluations = registry::evaluations(&project, &v.reference())?;
            let value = serde_json::json!({ "model": v, "evaluations": evaluations });
            print(json, &value, || show_text(&v, &evaluations))
        }
        ModelCommand::Predict {
            model,
            data,
            features,
            out,
            threads,
            repeat,
        } => {
            let mut project = None;
            let loaded = load(&model, features, &mut project, dir)?;
            let frame = crate::drift::source(&data, &mut project, dir)?.frame(None)?;
            let x = feature_matrix(&frame, &loaded.features)?;
            let predict = || {
                let mut best = f64::INFINITY;
                let mut last = None;
                for _ in 0..repeat.unwrap_or(1).max(1) {
                    let start = std::time::Instant::now();
                    last = Some(loaded.model.predict(&x, loaded.features.len())?);
                    best = best.min(start.elapsed().as_secs_f64());
                }
                if repeat.is_some() {
                    eprintln!(
                        "predict: best of {} runs {:.2} ms ({} rows, {} threads)",
                        repeat.unwrap_or(1),
                        best * 1e3,
                        x.len() / loaded.features.len().max(1),
                        rayon::current_num_threads()
                    );
                }
                last.ok_or_else(|| Error::Cancelled)
            };
            let prediction = match threads {
                Some(n) => rayon::ThreadPoolBuilder::new()
                    .num_threads(n.max(1))
                    .build()?
                    .install(predict)?,
                None => predict()?,
            };
            if let Some(path) = &out {
                std::fs::write(path, prediction.to_csv())
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string(&prediction.to_json())?);
            } else if let Some(path) = &out {
                println!(
                    "Wrote {} predictions of {} to {}",
                    prediction.rows,
                    loaded.name,
                    path.display()
                );
            } else {
                print!("{}", prediction.to_csv());
            }
            Ok(())
        }
        ModelCommand::Eval {
            model,
            data,
            target,
            features,
            task,
            charts,
            memory_limit,
        } => {
            let mut project = None;
            let task = task.as_deref().map(Task::parse).transpose()?;
            let stored = !is_file(&model)
                && !Input::data(&data).is_file()
                && features.is_none()
                && task.is_none();
            let evaluation = if stored {
                let p = open_project(dir)?;
                registry::evaluate_stored(
                    &p,
                    &model,
                    &data,
                    target.as_deref(),
                    memory_limit,
                    &Job::silent(),
                )?
            } else {
                let loaded = load(&model, features, &mut project, dir)?;
                let target = target.or(loaded.target).ok_or_else(|| Error::BadArgument {
                    argument: "target",
                    detail: "pass the target column with --target COL".to_owned(),
                })?;
                let source = crate::drift::source(&data, &mut project, dir)?;
                eval::evaluate_source(
                    &loaded.model,
                    &SourceInput {
                        model_name: loaded.name,
                        data_name: data.clone(),
                        source: &source,
                        features: &loaded.features,
                        target: &target,
                        task: task.or(loaded.task),
                        limit: memory_limit.unwrap_or_else(MemoryLimit::for_this_machine),
                    },
                    &Job::silent(),
                )?
            };
            if let Some(dir) = &charts {
                lathe_core::model::chart::write_all(&evaluation, dir)?;
            }
            print(json, &evaluation, || eval_text(&evaluation))
        }
    }
}

fn show_text(v: &ModelVersion, evaluations: &[Evaluation]) -> String {
    let mut lines = vec![
        format!("{}  ({})", v.reference(), v.task.name()),
        format!("  sha256      {}", v.sha256),
        format!("  registered  {} from {}", v.registered_at, v.source_path),
        format!(
            "  runtime     {:?}; ops: {}",
            v.signature.runtime,
            v.signature.ops.join(", ")
        ),
        format!(
            "  inputs      {}",
            v.signature
                .inputs
                .iter()
                .map(|i| format!("{} {} {:?}", i.name, i.dtype, i.shape))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        format!(
            "  outputs     {}",
            v.signature
                .outputs
                .iter()
                .map(|i| format!("{} {}", i.name, i.dtype))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        format!("  features    {}", v.features.join(", ")),
    ];
    if let Some(t) = &v.target {
        lines.push(format!("  target      {t}"));
    }
    if let Some(d) = &v.dataset {
        lines.push(format!("  dataset     {d}"));
    }
    if let Some(r) = &v.run_source_id {
        lines.push(format!("  run         {r}"));
    }
    if !v.aliases.is_empty() {
        lines.push(format!("  aliases     {}", v.aliases.join(", ")));
    }
    for e in evaluations {
        lines.push(format!(
            "  evaluated on {} ({}): {}",
            e.data,
            e.target,
            e.metrics
                .iter()
                .map(|(k, v)| format!("{k} {}", lathe_core::display::number(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    lines.join("\n")
}

fn eval_text(e: &Evaluation) -> String {
    let mut lines = vec![format!(
        "{} on {} ({} rows, target {}, {})",
        e.model,
        e.data,
        e.rows,
        e.target,
        e.task.name()
    )];
    for (k, v) in lathe_core::api::shown_metrics(&e.metrics) {
        lines.push(format!("  {k:<10} {v}"));
    }
    if !e.confusion_matrix.is_empty() {
        lines.push("  confusion matrix (rows: actual, columns: predicted)".into());
        lines.push(format!(
            "    {:>10} {}",
            "",
            e.labels
                .iter()
                .map(|l| format!("{l:>8}"))
                .collect::<String>()
        ));
        for (label, row) in e.labels.iter().zip(&e.confusion_matrix) {
            lines.push(format!(
                "    {label:>10} {}",
                row.iter().map(|c| format!("{c:>8}")).collect::<String>()
            ));
        }
    }
    lines.join("\n")
}
