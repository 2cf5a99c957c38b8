//! `lathe bundle` (export, verify, inspect, check-drift, list) and `lathe key new`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use lathe_core::api::{Input, MonitorRequest};
use lathe_core::bundle::{self, CardText, ExportOptions, FileStatus, Inspection, Verification};
use lathe_core::dataset::ReadOptions;
use lathe_core::dataset::browse::TableSource;
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::drift::DriftOptions;

use crate::drift::DRIFT_EXIT;
use crate::{open_project, print, with_progress};

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Export a model version as a deployment bundle: FILE.tar.gz (reproducible bytes) or a
    /// folder. Carries the model, its signature, MLflow/Triton/KServe descriptors, the model
    /// card, the evaluation, SHAP charts, a monitoring reference profile and SHA256SUMS.
    Export(ExportArgs),
    /// Check a bundle: every file against SHA256SUMS and the manifest, and the signature.
    /// Exit code 0 only when all hold.
    Verify {
        /// A bundle (.tar.gz or folder).
        path: PathBuf,
        /// The signer's public key (.pub): the signature must be by this key.
        #[arg(long, value_name = "PUBFILE")]
        key: Option<PathBuf>,
    },
    /// Show a bundle's manifest, lineage, metrics, signature and verification.
    Inspect {
        path: PathBuf,
        #[arg(long, value_name = "PUBFILE")]
        key: Option<PathBuf>,
    },
    /// Test production data (CSV, Parquet, ...) for drift against the bundle's reference
    /// profile; same report and exit code 3 (with --fail-on-drift) as `lathe drift`.
    CheckDrift {
        path: PathBuf,
        /// The current data: a file, or an s3://, gs://, az:// or https:// URL.
        data: String,
        /// Only these columns (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        columns: Option<Vec<String>>,
        /// The dataset drifts when at least this share of the columns drift.
        #[arg(long, value_name = "S", default_value_t = lathe_core::drift::DEFAULT_DRIFT_SHARE)]
        drift_share: f64,
        /// Exit with code 3 when the data drifted.
        #[arg(long)]
        fail_on_drift: bool,
        /// Memory for the data's values (e.g. 512MiB, 2GiB); larger data is read a column at
        /// a time from disk. Default: a quarter of RAM, at most 2GiB.
        #[arg(long, value_parser = MemoryLimit::parse, value_name = "SIZE")]
        memory_limit: Option<MemoryLimit>,
    },
    /// Estimate the bundle's model's performance on production data without labels (CBPE)
    /// and its multivariate drift, against the monitoring reference the bundle carries; same
    /// report and exit code 3 (with --fail-on-alert) as `lathe monitor`. No project needed.
    Monitor {
        path: PathBuf,
        /// The production data: a file, or an s3://, gs://, az:// or https:// URL.
        data: String,
        /// Chunks of N rows (the rest forms a last, smaller chunk).
        #[arg(long, value_name = "N", group = "chunking")]
        chunk_size: Option<usize>,
        /// K chunks of equal size. Default: 10.
        #[arg(long, value_name = "K", group = "chunking")]
        chunk_number: Option<usize>,
        /// The metrics to estimate, as for `lathe monitor`: roc_auc, f1, precision, recall,
        /// specificity, accuracy (the default), average_precision, confusion_matrix,
        /// business_value.
        #[arg(long, value_delimiter = ',', value_name = "M,…")]
        metrics: Option<Vec<String>>,
        #[command(flatten)]
        business_value: crate::monitor::BusinessValueArgs,
        /// Write the self-contained HTML report here.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Write every chart (SVG) with its data (CSV) into this folder.
        #[arg(long, value_name = "DIR")]
        charts: Option<PathBuf>,
        /// Exit with code 3 when a chunk alerts.
        #[arg(long)]
        fail_on_alert: bool,
    },
    /// Run the data expectations the bundle carries (exported with --checks) on production
    /// data, without a project: `lathe check`'s result and outputs, exit code 3 when one fails.
    Check {
        path: PathBuf,
        /// The production data: a file, or an s3://, gs://, az:// or https:// URL.
        data: String,
        /// Write the result as JUnit XML.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write a Markdown summary.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Write the self-contained HTML report.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// The bundles exported from this project, newest first.
    List,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model version: NAME, NAME@VERSION or NAME@ALIAS.
    model: String,
    /// FILE.tar.gz, or a folder (new or empty).
    #[arg(long, value_name = "FILE|DIR")]
    out: PathBuf,
    /// A dataset to evaluate, explain (SHAP) and assess fairness on: `NAME[@VERSION]`.
    #[arg(long, value_name = "D")]
    eval_dataset: Option<String>,
    /// The monitoring reference (default: the version's training dataset).
    #[arg(long, value_name = "D")]
    reference_dataset: Option<String>,
    /// Sensitive columns of the evaluation dataset for the card's fairness breakdown.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    sensitive: Vec<String>,
    /// The model card's free-text sections as YAML (intended_use, ethical_considerations, ...).
    #[arg(long, value_name = "FILE.yaml")]
    card: Option<PathBuf>,
    /// Sign SHA256SUMS with this private key (from `lathe key new`).
    #[arg(long, value_name = "KEYFILE")]
    sign: Option<PathBuf>,
    /// Memory for the data (e.g. 512MiB, 2GiB); larger datasets are evaluated, profiled and
    /// tested for drift a slice at a time. Default: a quarter of RAM, at most 2GiB.
    #[arg(long, value_parser = MemoryLimit::parse, value_name = "SIZE")]
    memory_limit: Option<MemoryLimit>,
    /// Carry this policy's (or GX suite's) data expectations, for `lathe bundle check`.
    #[arg(long, value_name = "POLICY")]
    checks: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a key pair: FILE (private, mode 0600) and FILE.pub. Refuses to overwrite either.
    New {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// ed25519 signs SHA256SUMS (SHA256SUMS.sig); ecdsa-p256 signs every file as an
        /// OpenSSF model signature (model.sig), which PyPI model-signing verifies.
        #[arg(
            long = "type",
            default_value = "ed25519",
            value_name = "ed25519|ecdsa-p256"
        )]
        key_type: String,
    },
}

pub fn run_key(command: KeyCommand, json: bool) -> anyhow::Result<()> {
    match command {
        KeyCommand::New { out, key_type } => {
            let kind = bundle::sign::KeyType::parse(&key_type)?;
            let key = bundle::sign::new_key(&out, kind)?;
            print(json, &key, || {
                format!(
                    "{} key pair\nPrivate key: {} (keep it secret)\nPublic key:  {}\nFingerprint: {}",
                    key.key_type.name(),
                    key.private_key,
                    key.public_key,
                    key.fingerprint
                )
            })
        }
    }
}

pub fn run(
    command: BundleCommand,
    project_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        BundleCommand::Export(args) => {
            let project = open_project(project_dir)?;
            let options = ExportOptions {
                model: args.model,
                out: args.out,
                eval_dataset: args.eval_dataset,
                reference_dataset: args.reference_dataset,
                sensitive: args.sensitive,
                card: args
                    .card
                    .as_deref()
                    .map(CardText::read)
                    .transpose()?
                    .unwrap_or_default(),
                sign_key: args.sign,
                memory_limit: args.memory_limit,
                checks: args
                    .checks
                    .as_deref()
                    .map(|p| lathe_core::api::carried_checks(&p.to_string_lossy()))
                    .transpose()?,
            };
            let exported = with_progress(|job| bundle::export(&project, &options, job))?;
            print(json, &exported, || {
                let mut out = vec![
                    format!("Exported {} to {}", exported.model, exported.path),
                    format!(
                        "{} files, {} ({}), SHA-256 {}",
                        exported.files, exported.size, exported.format, exported.sha256
                    ),
                    match &exported.signed_by {
                        Some(f) => format!("Signed by {f}"),
                        None => "Not signed (pass --sign KEYFILE to sign)".into(),
                    },
                ];
                out.extend(exported.notes.iter().map(|n| format!("note: {n}")));
                out.join("\n")
            })?;
            Ok(ExitCode::SUCCESS)
        }
        BundleCommand::Verify { path, key } => {
            let key = key.as_deref().map(bundle::sign::read_public).transpose()?;
            let v = bundle::verify(&path, key.as_ref())?;
            print(json, &v, || verification_text(&v))?;
            Ok(if v.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        BundleCommand::Inspect { path, key } => {
            let key = key.as_deref().map(bundle::sign::read_public).transpose()?;
            let i = bundle::inspect(&path, key.as_ref())?;
            print(json, &i, || inspection_text(&i))?;
            Ok(ExitCode::SUCCESS)
        }
        BundleCommand::CheckDrift {
            path,
            data,
            columns,
            drift_share,
            fail_on_drift,
            memory_limit,
        } => {
            let source = data_source(data)?;
            let options = DriftOptions {
                columns,
                drift_share,
                memory_limit,
                ..DriftOptions::default()
            };
            let report = with_progress(|job| bundle::check_drift(&path, &source, &options, job))?;
            print(json, &report, || crate::drift::text(&report))?;
            Ok(if fail_on_drift && report.dataset_drift {
                ExitCode::from(DRIFT_EXIT)
            } else {
                ExitCode::SUCCESS
            })
        }
        BundleCommand::Check {
            path,
            data,
            junit,
            markdown,
            html,
        } => {
            if let Some(h) = &html {
                crate::drift::check_html(h)?;
            }
            let label = data.clone();
            let source = data_source(data)?;
            let validation = with_progress(|job| bundle::check_expectations(&path, &source, job))?;
            crate::check::write_outputs(
                &validation,
                &label,
                junit.as_deref(),
                markdown.as_deref(),
                html.as_deref(),
            )?;
            print(json, &validation, || crate::check::text(&validation))?;
            Ok(if validation.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(crate::check::CHECK_EXIT)
            })
        }
        BundleCommand::Monitor {
            path,
            data,
            chunk_size,
            chunk_number,
            metrics,
            business_value,
            html,
            charts,
            fail_on_alert,
        } => {
            if let Some(h) = &html {
                crate::drift::check_html(h)?;
            }
            let title = format!("{} on {data}", path.display());
            let source = data_source(data)?;
            let options = business_value
                .into_request(MonitorRequest {
                    // The bundle's model computes the outputs.
                    model: Some(path.display().to_string()),
                    chunk_size,
                    chunk_number,
                    metrics,
                    ..MonitorRequest::default()
                })
                .into_options()?;
            let report = with_progress(|job| bundle::monitor(&path, &source, &options, job))?;
            crate::monitor::write_outputs(&report, &title, html.as_deref(), charts.as_deref())?;
            print(json, &report, || crate::monitor::text(&report))?;
            Ok(if fail_on_alert && !report.alerts.is_empty() {
                ExitCode::from(crate::monitor::ALERT_EXIT)
            } else {
                ExitCode::SUCCESS
            })
        }
        BundleCommand::List => {
            let project = open_project(project_dir)?;
            let list = bundle::list(&project)?;
            print(json, &list, || {
                if list.is_empty() {
                    return "No bundles exported yet: run `lathe bundle export MODEL --out FILE.tar.gz`.".into();
                }
                list.iter()
                    .map(|b| {
                        format!(
                            "{:>4}  {}  {:<28} {:<7} {:>10}  {}  {}{}",
                            b.id,
                            b.created_at,
                            b.model,
                            b.format,
                            b.size,
                            &b.sha256[..12],
                            b.path,
                            if b.signed_by.is_some() {
                                "  (signed)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn verification_text(v: &Verification) -> String {
    let mut out = vec![if v.ok {
        format!(
            "OK: {} verifies ({} files)",
            v.model.as_deref().unwrap_or(&v.path),
            v.files.len()
        )
    } else {
        format!("FAILED: {} does not verify", v.path)
    }];
    for f in v.files.iter().filter(|f| f.status != FileStatus::Ok) {
        out.push(format!(
            "  {:<10} {}  {}",
            f.status.name(),
            f.path,
            f.detail.as_deref().unwrap_or("")
        ));
    }
    out.push(format!(
        "Signature: {}: {}",
        v.signature.status.name(),
        v.signature.detail
    ));
    out.join("\n")
}

fn inspection_text(i: &Inspection) -> String {
    let mut out = Vec::new();
    if let Some(m) = &i.manifest {
        out.push(format!(
            "{}@{}  ({}, target {})",
            m.model.name,
            m.model.version,
            m.model.task,
            m.model.target.as_deref().unwrap_or("none")
        ));
        out.push(format!(
            "Created {}  by Lathe {}",
            m.created, m.lathe_version
        ));
        out.push(format!(
            "Model SHA-256 {}  ({} bytes)",
            m.model.sha256, m.model.size_bytes
        ));
        out.push(format!(
            "Features ({}): {}",
            m.model.features.len(),
            m.model.features.join(", ")
        ));
        let d = |r: &Option<bundle::DatasetRef>| {
            r.as_ref()
                .map(|d| format!("{}@{} ({})", d.name, d.version, &d.sha256[..12]))
                .unwrap_or_else(|| "none".into())
        };
        out.push(format!(
            "Training data:   {}",
            d(&m.lineage.training_dataset)
        ));
        out.push(format!(
            "Evaluation data: {}",
            d(&m.lineage.evaluation_dataset)
        ));
        out.push(format!(
            "Reference data:  {}",
            d(&m.lineage.reference_dataset)
        ));
        if let Some(run) = &m.lineage.run {
            out.push(format!(
                "Run: {}{}",
                run.id,
                run.source_run_id
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ));
        }
        if !m.metrics.is_empty() {
            out.push(format!(
                "Metrics: {}",
                m.metrics
                    .iter()
                    .map(|(k, v)| format!("{k} {}", lathe_core::display::number(*v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out.push(format!("Charts: {}", i.charts.join(", ")));
    out.push(format!("Reports: {}", i.reports.join(", ")));
    if let Some(p) = &i.profile {
        out.push(format!(
            "Reference profile: {} ({} rows, {} columns)",
            p.dataset,
            p.rows,
            p.columns.len()
        ));
    }
    out.push(String::new());
    out.push(verification_text(&i.verification));
    out.join("\n")
}

/// Production data for a bundle: a file or a URL, never a record of a project.
fn data_source(data: String) -> anyhow::Result<TableSource> {
    Ok(if lathe_core::remote::is_url(&data) {
        // A URL never needs the project.
        let mut project = None;
        Input::Url(data).table(|| crate::project_on_demand(&mut project, None))?
    } else {
        TableSource::File {
            path: data.into(),
            options: ReadOptions::default(),
        }
    })
}
