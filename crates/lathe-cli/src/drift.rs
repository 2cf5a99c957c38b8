//! `lathe drift`: compare a current dataset with a reference, per column and overall; gate CI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use lathe_core::api::{DriftRequest, Input};
use lathe_core::dataset::browse::TableSource;
use lathe_core::display;
use lathe_core::drift::{self, DriftOptions, DriftReport};
use lathe_core::{Error, Project};

use crate::{open_project, print, with_progress};

/// Exit code when `--fail-on-drift` is given and the dataset drifted.
pub const DRIFT_EXIT: u8 = 3;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DriftArgs {
    #[command(subcommand)]
    command: Option<DriftCommand>,
    /// The reference: a dataset (`NAME[@VERSION]`) or a file (CSV, TSV, Parquet, NDJSON, JSON, Arrow).
    reference: Option<String>,
    /// The current data: a dataset or a file.
    current: Option<String>,
    /// Only these columns (comma-separated). Default: every column both sides have.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    columns: Option<Vec<String>>,
    /// One method for every column: ks, chi2, z, wasserstein, jensen_shannon, psi, kl_divergence.
    /// Default: the one Evidently's DataDriftPreset picks per column.
    #[arg(long, value_name = "M")]
    method: Option<String>,
    /// A column's own method and, optionally, threshold: COLUMN=METHOD or COLUMN=METHOD:THRESHOLD.
    /// Repeat for more columns.
    #[arg(long = "column-method", value_name = "COL=M[:T]")]
    column_method: Vec<String>,
    /// The threshold for every column (default: 0.05 for p-values, 0.1 for distances).
    #[arg(long, value_name = "T")]
    threshold: Option<f64>,
    /// The dataset drifts when at least this share of the columns drift.
    #[arg(long, value_name = "S", default_value_t = lathe_core::drift::DEFAULT_DRIFT_SHARE)]
    drift_share: f64,
    /// Drift over time: the current data's date/time column.
    #[arg(long, value_name = "C")]
    time_column: Option<String>,
    /// Window for drift over time: 12h, 1d, 7d, 2w, or a number of rows (1000rows).
    #[arg(long, value_name = "W")]
    window: Option<String>,
    /// Memory for the tables' values (e.g. 512MiB, 2GiB); larger tables are compared a
    /// column at a time from disk. Default: a quarter of RAM, at most 2GiB.
    #[arg(long, value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Write the self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write every chart (SVG) with its data (CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Exit with code 3 when the dataset drifted (for CI pipelines).
    #[arg(long)]
    fail_on_drift: bool,
}

#[derive(Debug, Subcommand)]
enum DriftCommand {
    /// The drift results stored in the project, newest first.
    List,
    /// A stored result, optionally written as HTML.
    Show {
        id: i64,
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
}

fn usage(detail: impl Into<String>) -> Error {
    Error::BadArgument {
        argument: "drift arguments",
        detail: detail.into(),
    }
}

/// The flags as the one drift request the desktop sends too (defaults and parsing in the core).
fn options_of(args: &DriftArgs) -> Result<DriftOptions, Error> {
    DriftRequest {
        columns: args.columns.clone(),
        method: args.method.clone(),
        threshold: args.threshold,
        drift_share: Some(args.drift_share),
        time_column: args.time_column.clone(),
        window: args.window.clone(),
        column_methods: args.column_method.clone(),
        memory_limit: args.memory_limit.clone(),
    }
    .into_options()
}

/// The table a dataset argument names ([`Input::data`]'s rule); the project is opened on
/// first need. Shared by `drift`, `model` and `explain`.
pub(crate) fn source(
    text: &str,
    project: &mut Option<Project>,
    dir: Option<&Path>,
) -> anyhow::Result<TableSource> {
    Ok(Input::data(text).table(|| crate::project_on_demand(project, dir))?)
}

pub fn run(args: DriftArgs, project_dir: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        Some(DriftCommand::List) => {
            let project = open_project(project_dir)?;
            let stored = drift::list(&project)?;
            print(json, &stored, || {
                if stored.is_empty() {
                    return "No drift results yet: run `lathe drift REFERENCE CURRENT` in this project.".into();
                }
                stored
                    .iter()
                    .map(|s| {
                        format!(
                            "{:>4}  {}  {} → {}  {}/{} columns drifted  {}",
                            s.id,
                            s.created_at,
                            s.reference,
                            s.current,
                            s.drifted_columns,
                            s.columns,
                            if s.dataset_drift { "DRIFT" } else { "no drift" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(DriftCommand::Show { id, html }) => {
            let project = open_project(project_dir)?;
            let report = drift::load(&project, *id)?;
            if let Some(path) = html {
                write_html(&report, path)?;
            }
            print(json, &report, || text(&report))?;
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let (Some(reference), Some(current)) = (&args.reference, &args.current) else {
        return Err(usage("give a REFERENCE and a CURRENT dataset or file, e.g. `lathe drift train.csv today.csv`").into());
    };
    let options = options_of(&args)?;
    if let Some(path) = &args.html {
        check_html(path)?;
    }
    let mut project: Option<Project> = None;
    let ref_source = source(reference, &mut project, project_dir)?;
    let cur_source = source(current, &mut project, project_dir)?;
    // Plain files need no project, but a run inside one is stored there.
    if project.is_none() {
        project = match open_project(project_dir) {
            Ok(p) => Some(p),
            Err(Error::NoProjectFound { .. }) if project_dir.is_none() => None,
            Err(e) => return Err(e.into()),
        };
    }
    let report = with_progress(|job| drift::compare(&ref_source, &cur_source, &options, job))?;
    if let Some(project) = &project {
        drift::save(project, &report)?;
    }
    if let Some(path) = &args.html {
        write_html(&report, path)?;
    }
    if let Some(dir) = &args.charts {
        write_charts(&report, dir)?;
    }
    print(json, &report, || text(&report))?;
    Ok(if args.fail_on_drift && report.dataset_drift {
        ExitCode::from(DRIFT_EXIT)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn check_html(path: &Path) -> Result<(), Error> {
    let ok = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    if ok {
        Ok(())
    } else {
        Err(Error::BadArgument {
            argument: "--html",
            detail: format!("{}: the report's name must end in .html", path.display()),
        })
    }
}

fn write_html(report: &DriftReport, path: &Path) -> anyhow::Result<()> {
    check_html(path)?;
    Ok(drift::html::write(report, path)?)
}

/// A file name made from a column name.
fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "column".into() } else { s }
}

fn write_charts(report: &DriftReport, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create the chart folder",
        path: dir.to_path_buf(),
        source,
    })?;
    let save =
        |figure: &dyn Fn(&Path) -> lathe_core::Result<()>, stem: &str| -> anyhow::Result<()> {
            figure(&dir.join(format!("{stem}.svg")))?;
            figure(&dir.join(format!("{stem}.csv")))?;
            Ok(())
        };
    let scores = drift::chart::scores(report);
    save(&|p| lathe_core::chart::write(&scores, p), "scores")?;
    if report.windows.is_some() {
        let over_time = drift::chart::over_time(report, None)?;
        save(&|p| lathe_core::chart::write(&over_time, p), "over_time")?;
    }
    for c in &report.columns {
        let figure = drift::chart::distribution(report, &c.name)?;
        save(
            &|p| lathe_core::chart::write(&figure, p),
            &format!("column_{}", file_stem(&c.name)),
        )?;
    }
    Ok(())
}

pub(crate) fn text(report: &DriftReport) -> String {
    let mut out = vec![format!(
        "{}: {} of {} columns drifted ({:.0}%, threshold {:.0}%)  —  reference {} ({} rows), current {} ({} rows)",
        if report.dataset_drift {
            "DATASET DRIFT"
        } else {
            "No dataset drift"
        },
        report.drifted_columns,
        report.columns.len(),
        report.share_drifted * 100.0,
        report.drift_share * 100.0,
        report.reference,
        report.reference.rows,
        report.current,
        report.current.rows,
    )];
    if !report.columns.is_empty() {
        let width = report
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(6)
            .clamp(6, 32);
        out.push(String::new());
        out.push(format!(
            "{:<width$}  {:<11}  {:<14}  {:>10}  {:>9}  {:<8}  effect",
            "column", "kind", "method", "score", "threshold", "drift"
        ));
        for c in &report.columns {
            out.push(format!(
                "{:<width$}  {:<11}  {:<14}  {:>10}  {:>9}  {:<8}  {}",
                c.name,
                if c.kind == drift::Kind::Numeric {
                    "numeric"
                } else {
                    "categorical"
                },
                c.method.name(),
                display::number(c.score),
                display::number(c.threshold),
                if c.drifted { "DRIFT" } else { "-" },
                c.effect.text
            ));
        }
    }
    for s in &report.skipped {
        out.push(format!("not tested: {}: {}", s.name, s.reason));
    }
    for n in &report.schema.only_in_reference {
        out.push(format!("schema drift: '{n}' is only in the reference"));
    }
    for n in &report.schema.only_in_current {
        out.push(format!("schema drift: '{n}' is only in the current data"));
    }
    if let Some(w) = &report.windows {
        out.push(String::new());
        out.push(format!("Drift per {} window ({}):", w.window, w.summary));
        for win in &w.windows {
            out.push(format!(
                "  {}  {:>6} rows  {:>5.1}% drifted  {}",
                win.start,
                win.rows,
                win.share_drifted * 100.0,
                win.drifted.join(", ")
            ));
        }
    }
    out.join("\n")
}
