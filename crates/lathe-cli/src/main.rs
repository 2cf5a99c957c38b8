//! `lathe`: every Lathe operation from the command line, for people, scripts and CI.
//!
//! Each subcommand parses its arguments, calls `lathe-core`, and prints the result as text or,
//! with `--json`, as the stable JSON documented in `docs/cli.md`. Exit codes: 0 success, 1 error,
//! 2 usage error, 3 reserved for quality gates (drift).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lathe_core::audit::{Actor, AuditEntry};
use lathe_core::dataset::{Format, Profile, ReadOptions};
use lathe_core::job::{CancelToken, Job, Progress};
use lathe_core::project::{OpenOptions, ProjectInfo};
use lathe_core::{Error, Project};
use serde::Serialize;

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
    Dataset(DatasetCommand),
}

#[derive(Debug, Subcommand)]
enum DatasetCommand {
    /// Import FILE (CSV, TSV, Parquet, NDJSON, JSON, Arrow IPC) as a new version of a dataset.
    Import {
        file: PathBuf,
        /// Dataset name; defaults to the file name without its extension.
        #[arg(long)]
        name: Option<String>,
        /// csv, tsv, parquet, ndjson, json or ipc; detected from the extension by default.
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// CSV field separator (one character, or "tab"); sniffed by default.
        #[arg(long, value_parser = parse_delimiter)]
        delimiter: Option<u8>,
        /// Extra strings to read as missing values, comma-separated (e.g. NA,n/a,-).
        #[arg(long, value_delimiter = ',')]
        null_values: Vec<String>,
        /// The CSV has no header line (detected by default).
        #[arg(long)]
        no_header: bool,
    },
    /// List the project's datasets with their latest version.
    List,
    /// Show the profile of NAME (latest version) or NAME@VERSION, or of a file path (without a project; nothing is stored).
    Show { dataset: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report_error(&err, json);
            ExitCode::from(1)
        }
    }
}

fn options() -> OpenOptions {
    OpenOptions {
        actor: Actor::current("cli"),
        ..OpenOptions::default()
    }
}

fn open_project(flag: Option<&Path>) -> Result<Project, Error> {
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

fn run(cli: Cli) -> anyhow::Result<()> {
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
        Command::Dataset(command) => dataset(command, cli.project.as_deref(), cli.json),
        Command::Log { limit } => {
            let project = open_project(cli.project.as_deref())?;
            let entries = project.audit_log(limit)?;
            print(cli.json, &entries, || log_text(&entries))
        }
    }
}

fn parse_format(text: &str) -> Result<Format, String> {
    Format::parse(text)
        .ok_or_else(|| format!("unknown format '{text}'; use one of {}", Format::NAMES))
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" => Ok(b'\t'),
        d if d.len() == 1 => Ok(d.as_bytes()[0]),
        d => Err(format!(
            "a delimiter is one ASCII character or 'tab', not '{d}'"
        )),
    }
}

/// A progress bar on stderr, shown only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<22} [{bar:30}] {percent:>3}% {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

fn dataset(command: DatasetCommand, project_dir: Option<&Path>, json: bool) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Import {
            file,
            name,
            format,
            delimiter,
            null_values,
            no_header,
        } => {
            let options = ReadOptions {
                format,
                delimiter,
                has_header: no_header.then_some(false),
                null_values,
            };
            let project = open_project(project_dir)?;
            let bar = progress_bar();
            let report = |p: Progress| {
                bar.set_message(p.stage);
                bar.set_length(p.total.unwrap_or(0));
                bar.set_position(p.done);
            };
            let outcome = lathe_core::dataset::import(
                &project,
                &file,
                name.as_deref(),
                &options,
                &Job::new(&report, CancelToken::new()),
            );
            bar.finish_and_clear();
            let outcome = outcome?;
            print(json, &outcome, || {
                let what = if outcome.new_version {
                    "Imported"
                } else {
                    "Already imported (no new version):"
                };
                format!(
                    "{what} {}@{}: {} rows × {} columns, sha256 {}",
                    outcome.dataset, outcome.version, outcome.rows, outcome.columns, outcome.sha256
                )
            })
        }
        DatasetCommand::List => {
            let list = lathe_core::dataset::list(&open_project(project_dir)?)?;
            print(json, &list, || {
                if list.is_empty() {
                    return "No datasets yet; import one with `lathe dataset import FILE`."
                        .to_owned();
                }
                let mut out = format!(
                    "{:<28} {:>8} {:>10} {:>8}  {:<8} {}",
                    "DATASET", "VERSION", "ROWS", "COLUMNS", "FORMAT", "IMPORTED"
                );
                for d in &list {
                    out.push_str(&format!(
                        "\n{:<28} {:>8} {:>10} {:>8}  {:<8} {}",
                        d.dataset, d.latest_version, d.rows, d.columns, d.format, d.imported_at
                    ));
                }
                out
            })
        }
        DatasetCommand::Show { dataset } => {
            let path = Path::new(&dataset);
            // A path that exists is a file to profile (a folder then gets a clear "not a file").
            let profile = if path.exists() {
                lathe_core::dataset::profile_file(path, &ReadOptions::default(), &Job::silent())?
            } else {
                lathe_core::dataset::stored_profile(&open_project(project_dir)?, &dataset)?
            };
            print(json, &profile, || profile_text(&profile))
        }
    }
}

fn profile_text(profile: &Profile) -> String {
    let version = profile.version.map(|v| format!("@{v}")).unwrap_or_default();
    let mut out = format!(
        "{}{version}: {} rows × {} columns, {} duplicate rows\n\n{:<28} {:<8} {:>8} {:>7} {:>8} {:>12} {:>12} {:>12} {:>12}",
        profile.dataset,
        profile.rows,
        profile.columns.len(),
        profile.duplicate_rows,
        "COLUMN",
        "TYPE",
        "COUNT",
        "NULLS",
        "DISTINCT",
        "MEAN",
        "STD",
        "MIN",
        "MAX"
    );
    let num = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_else(|| "-".into());
    let val = |v: &Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.chars().take(12).collect(),
        Some(other) => other.to_string(),
        None => "-".into(),
    };
    for c in &profile.columns {
        out.push_str(&format!(
            "\n{:<28} {:<8} {:>8} {:>7} {:>8} {:>12} {:>12} {:>12} {:>12}",
            c.name,
            c.dtype,
            c.count,
            c.nulls,
            c.distinct,
            num(c.mean),
            num(c.std),
            val(&c.min),
            val(&c.max)
        ));
    }
    out
}

fn print<T: Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(())
}

fn info_text(info: &ProjectInfo) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("Project".into(), info.name.clone()),
        ("Path".into(), info.path.clone()),
        ("Created".into(), info.created_at.clone()),
        ("Schema version".into(), info.schema_version.to_string()),
        ("Lathe".into(), info.lathe_version.clone()),
        ("Object store".into(), human_bytes(info.object_store_bytes)),
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

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Handles an error once, at the edge: a message on stderr, plus JSON on stdout for scripts.
fn report_error(err: &anyhow::Error, json: bool) {
    let code = err.downcast_ref::<Error>().map_or("error", Error::code);
    eprintln!("error: {err:#}");
    if json {
        let body = serde_json::json!({ "error": { "code": code, "message": format!("{err:#}") } });
        println!("{body}");
    }
}
