//! `lathe`: every Lathe operation from the command line, for people, scripts and CI.
//!
//! Each subcommand parses its arguments, calls `lathe-core`, and prints the result as text or,
//! with `--json`, as the stable JSON documented in `docs/cli.md`. Exit codes: 0 success, 1 error,
//! 2 usage error, 3 a quality gate failed (drift, check).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lathe_core::audit::{Actor, AuditEntry};
use lathe_core::job::Job;
use lathe_core::project::{OpenOptions, ProjectInfo};
use lathe_core::{Error, Project};
use serde::Serialize;

mod bundle;
mod check;
mod dataset;
mod drift;
mod explain;
mod model;
mod monitor;
mod runs;
mod serve;
mod signals;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "lathe",
    version,
    about = "Lathe: inspect datasets, compare runs, explain models, export bundles."
)]
struct Cli {
    /// The project folder. Default: $LATHE_PROJECT, else the current folder or its nearest
    /// parent holding a lathe.sqlite.
    #[arg(long, global = true, env = "LATHE_PROJECT", value_name = "DIR")]
    project: Option<PathBuf>,

    /// Print machine-readable JSON instead of text (errors too, as {"error": {"code", "message"}}).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new project in DIR (made if missing).
    Init {
        dir: PathBuf,
        /// Display name; defaults to the folder's name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show the project's name, schema version, record counts and object store size.
    Info,
    /// Show the audit log, newest first.
    Log {
        /// Show at most N entries.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// Create the demo project in DIR, filled from Lathe's bundled public data.
    Demo { dir: PathBuf },
    /// Import, list and profile datasets.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Import experiment runs (MLflow stores, run logs); list, compare and chart them.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Data drift of a current dataset against a reference, per column and overall; with
    /// --fail-on-drift, exit code 3 when the dataset drifted. `lathe drift list` shows stored results.
    Drift(drift::DriftArgs),
    /// Run a Great Expectations suite (GX 1.x or 0.18 JSON) on a table: each expectation's
    /// observed value, unexpected count and examples; JUnit XML and Markdown for CI; exit code
    /// 3 when any fails. `lathe check list` shows stored results.
    Check(check::CheckArgs),
    /// A binary classifier's performance estimated without labels (NannyML's CBPE), chunk by
    /// chunk, with thresholds from the reference; with --fail-on-alert, exit code 3 on an alert.
    Monitor(monitor::MonitorArgs),
    /// Register ONNX models (versions, aliases, lineage); predict and evaluate with them.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Explain a model's predictions on data: SHAP values (--method shap), permutation
    /// importance (permutation), partial dependence and ICE (pdp). Stored in the project when
    /// the model and data are; the same settings reopen the stored result.
    Explain(explain::ExplainArgs),
    /// Group fairness of a binary classifier's predictions per sensitive column (Fairlearn's
    /// definitions): selection rate, accuracy, TPR, FPR; demographic parity and equalized odds.
    Fairness(explain::FairnessArgs),
    /// Deployment bundles: export a model version with everything ops need; verify, inspect
    /// and check production data for drift against a bundle (no project needed).
    #[command(subcommand)]
    Bundle(bundle::BundleCommand),
    /// Serve a bundle (verified first) or a registered model over the Open Inference Protocol
    /// (KServe v2, REST and gRPC) and MLflow's scoring protocol, until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Keys for signing bundles: Ed25519 (SHA256SUMS.sig) or ECDSA P-256 (an OpenSSF model signature).
    #[command(subcommand)]
    Key(bundle::KeyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    if !matches!(cli.command, Command::Serve(_)) {
        signals::watch();
    }
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            report_error(&err, json);
            // Cancelled by a signal: 130 or 143, as a shell reports a command it interrupted.
            ExitCode::from(signals::exit_code().unwrap_or(1))
        }
    }
}

fn options() -> OpenOptions {
    OpenOptions {
        actor: Actor::current("cli"),
        ..OpenOptions::default()
    }
}

pub(crate) fn open_project(flag: Option<&Path>) -> Result<Project, Error> {
    let root = match flag {
        Some(dir) => dir.to_path_buf(),
        None => {
            let cwd = std::env::current_dir().map_err(|source| Error::Io {
                action: "read the current folder",
                path: PathBuf::from("."),
                source,
            })?;
            Project::discover(&cwd)?
        }
    };
    Project::open_with(&root, options())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Drift(args) => drift::run(args, cli.project.as_deref(), cli.json),
        Command::Monitor(args) => monitor::run(args, cli.project.as_deref(), cli.json),
        Command::Check(args) => check::run(args, cli.project.as_deref(), cli.json),
        Command::Bundle(command) => bundle::run(command, cli.project.as_deref(), cli.json),
        command => run_other(Cli { command, ..cli }).map(|()| ExitCode::SUCCESS),
    }
}

fn run_other(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init { dir, name } => {
            let project = Project::create(&dir, name.as_deref(), options())?;
            let info = project.info()?;
            print(cli.json, &info, || {
                format!("Created project '{}' in {}", info.name, info.path)
            })
        }
        Command::Demo { dir } => {
            let project = lathe_core::demo::create(&dir, options(), &Job::silent())?;
            let info = project.info()?;
            print(cli.json, &info, || {
                format!(
                    "Created the demo project in {}\nOpen it with: lathe-desktop {}",
                    info.path, info.path
                )
            })
        }
        Command::Info => {
            let project = open_project(cli.project.as_deref())?;
            let info = project.info()?;
            print(cli.json, &info, || info_text(&info))
        }
        Command::Dataset(command) => dataset::run(command, cli.project.as_deref(), cli.json),
        Command::Runs(command) => runs::run(command, cli.project.as_deref(), cli.json),
        Command::Model(command) => model::run(command, cli.project.as_deref(), cli.json),
        Command::Explain(args) => explain::run_explain(args, cli.project.as_deref(), cli.json),
        Command::Fairness(args) => explain::run_fairness(args, cli.project.as_deref(), cli.json),
        Command::Log { limit } => {
            let project = open_project(cli.project.as_deref())?;
            let entries = project.audit_log(limit)?;
            print(cli.json, &entries, || log_text(&entries))
        }
        Command::Key(command) => bundle::run_key(command, cli.json),
        Command::Serve(args) => serve::run(args, cli.project.as_deref(), cli.json),
        Command::Drift(_) | Command::Monitor(_) | Command::Check(_) | Command::Bundle(_) => {
            unreachable!("handled by run()")
        }
    }
}

/// The project in `slot`, opened (from `--project` or the current folder) on first need:
/// commands that take plain files need no project.
pub(crate) fn project_on_demand<'a>(
    slot: &'a mut Option<Project>,
    flag: Option<&Path>,
) -> Result<&'a Project, Error> {
    match slot {
        Some(p) => Ok(p),
        None => Ok(slot.insert(open_project(flag)?)),
    }
}

/// A progress bar on stderr, shown only when stderr is a terminal.
/// Runs `work` with a progress bar on the terminal that follows its job's stages.
pub(crate) fn with_progress<T>(work: impl FnOnce(&lathe_core::job::Job) -> T) -> T {
    let bar = progress_bar();
    let report = |p: lathe_core::job::Progress| {
        bar.set_message(p.stage);
        bar.set_length(p.total.unwrap_or(0));
        bar.set_position(p.done);
    };
    let out = work(&lathe_core::job::Job::new(&report, signals::token()));
    bar.finish_and_clear();
    out
}

pub(crate) fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<22} [{bar:30}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

pub(crate) fn print<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if !json {
        return out(&text());
    }
    // Written as it is serialised: a listing of 10,000 runs is ~8 MB of JSON, which a
    // String would hold whole and copy as it grows.
    use std::io::Write as _;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut stdout, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(stdout))
        .and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Prints a line on stdout; a closed pipe (`lathe ... | head`) ends the output quietly.
pub(crate) fn out(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn info_text(info: &ProjectInfo) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("Project".into(), info.name.clone()),
        ("Path".into(), info.path.clone()),
        ("Created".into(), info.created_at.clone()),
        ("Schema version".into(), info.schema_version.to_string()),
        ("Lathe".into(), info.lathe_version.clone()),
        ("Object store".into(), info.object_store_size.clone()),
    ];
    rows.extend(
        info.counts
            .iter()
            .map(|(kind, n)| (kind.replace('_', " "), n.to_string())),
    );
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0) + 2;
    rows.iter()
        .map(|(label, value)| format!("{label:<width$}{value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn log_text(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "The audit log is empty.".to_owned();
    }
    entries
        .iter()
        .map(|e| {
            format!(
                "{}  {:<18} {:<24} {}@{}",
                e.at, e.action, e.target, e.user, e.tool
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Handles an error once, at the edge: a message on stderr, plus JSON on stdout for scripts.
fn report_error(err: &anyhow::Error, json: bool) {
    let code = err
        .downcast_ref::<Error>()
        .map_or(lathe_core::ErrorCode::Internal, Error::code);
    eprintln!("error: {err:#}");
    if json {
        let body = serde_json::json!({ "error": { "code": code, "message": format!("{err:#}") } });
        println!("{body}");
    }
}
