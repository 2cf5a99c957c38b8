//! `lathe check`: run a policy or a Great Expectations suite on a table; gate CI (exit 3 on a
//! failure).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use lathe_core::Error;
use lathe_core::api::CheckRequest;
use lathe_core::expect::{self, Validation, report};

use crate::{open_project, print, with_progress};

/// Exit code when an expectation fails (the drift gate's code).
pub const CHECK_EXIT: u8 = 3;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CheckArgs {
    #[command(subcommand)]
    command: Option<CheckCommand>,
    /// The policy (`lathe-checks.yaml`: expectations with model, fairness, drift and alert
    /// rules) or a Great Expectations suite JSON (GX 1.x or 0.18).
    policy: Option<PathBuf>,
    /// The table the expectations run on (overrides the policy's `data`): a dataset
    /// (`NAME[@VERSION]`), a file (CSV, TSV, Parquet, NDJSON, JSON, Arrow) or a URL.
    #[arg(long, value_name = "TABLE")]
    data: Option<String>,
    /// Write the result as JUnit XML (one testcase per expectation) for CI systems.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum CheckCommand {
    /// The check results stored in the project, newest first.
    List {
        /// Only the results on this dataset (any version).
        #[arg(long, value_name = "NAME")]
        dataset: Option<String>,
    },
    /// A stored result.
    Show { id: i64 },
}

fn usage(detail: impl Into<String>) -> Error {
    Error::BadArgument {
        argument: "check arguments",
        detail: detail.into(),
    }
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        action: "write the check report",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(())
}

pub fn run(args: CheckArgs, project_dir: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        Some(CheckCommand::List { dataset }) => {
            let project = open_project(project_dir)?;
            let stored = expect::list(&project, dataset.as_deref())?;
            print(json, &stored, || {
                if stored.is_empty() {
                    return "No check results yet: run `lathe check SUITE --data NAME` in this project.".into();
                }
                stored
                    .iter()
                    .map(|s| {
                        format!(
                            "{:>4}  {}  {}  on {}  {}/{} passed  {}",
                            s.id,
                            s.created_at,
                            s.suite,
                            s.data,
                            s.successful,
                            s.evaluated,
                            if s.success { "PASSED" } else { "FAILED" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(CheckCommand::Show { id }) => {
            let project = open_project(project_dir)?;
            let validation = expect::load(&project, *id)?;
            print(json, &validation, || text(&validation))?;
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let Some(policy) = &args.policy else {
        return Err(usage(
            "give a policy or a GX suite, e.g. `lathe check lathe-checks.yaml` or `lathe check suite.json --data train.csv`",
        )
        .into());
    };
    if let Some(path) = &args.html {
        crate::drift::check_html(path)?;
    }
    let request = CheckRequest {
        policy: policy.to_string_lossy().into_owned(),
        text: None,
        data: args.data.clone(),
    };
    // Plain files need no project, but a run inside one is stored there.
    let project = match open_project(project_dir) {
        Ok(p) => Some(p),
        Err(Error::NoProjectFound { .. }) if project_dir.is_none() => None,
        Err(e) => return Err(e.into()),
    };
    let outcome = with_progress(|job| request.run(project.as_ref(), job))?;
    let validation = outcome.validation;
    if let Some(project) = &project {
        expect::save(project, outcome.data.as_ref(), &validation)?;
    }
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| "the policy's tables".to_owned());
    write_outputs(
        &validation,
        &data,
        args.junit.as_deref(),
        args.markdown.as_deref(),
        args.html.as_deref(),
    )?;
    print(json, &validation, || text(&validation))?;
    Ok(if validation.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHECK_EXIT)
    })
}

/// Writes the JUnit XML, Markdown and HTML forms of a result where asked (shared with
/// `lathe bundle check`).
pub(crate) fn write_outputs(
    validation: &Validation,
    data: &str,
    junit: Option<&Path>,
    markdown: Option<&Path>,
    html: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = junit {
        let now = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        write_file(path, &report::junit(validation, &now))?;
    }
    if let Some(path) = markdown {
        write_file(path, &report::markdown(validation))?;
    }
    if let Some(path) = html {
        write_file(path, &report::html(validation, data))?;
    }
    Ok(())
}

pub(crate) fn text(v: &Validation) -> String {
    let s = &v.statistics;
    let mut out = vec![format!(
        "{}: {} — {} of {} expectations passed",
        if v.success { "PASSED" } else { "FAILED" },
        v.suite_name,
        s.successful_expectations,
        s.evaluated_expectations
    )];
    for (i, r) in v.results.iter().enumerate() {
        out.push(format!(
            "{:>4}  {:<4}  {}  {}",
            i + 1,
            if r.success { "ok" } else { "FAIL" },
            r.expectation_type,
            report::finding(r)
        ));
    }
    out.join("\n")
}
