//! `lathe dataset …`: import, list, show, rows, diff, chart.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use lathe_core::api::Input;
use lathe_core::chart;
use lathe_core::dataset::browse::{Browser, RowsPage, RowsQuery, SortKey, TableSource};
use lathe_core::dataset::chart::{self as profile_chart, Kind};
use lathe_core::dataset::compare::{self, Comparison};
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::dataset::{Format, Profile, ReadOptions};
use lathe_core::job::{Job, Progress};

use crate::{open_project, print, progress_bar, with_progress};

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Import FILE (CSV, TSV, Parquet, NDJSON, JSON, Arrow IPC; a path, or an s3://, gs://,
    /// az:// or https:// URL) as a new version of a dataset.
    Import {
        file: String,
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
        /// Memory for reading and profiling the table (e.g. 512MiB, 2GiB); a larger table is
        /// streamed from disk in that much. Default: a quarter of RAM, at most 2GiB.
        #[arg(long, value_parser = parse_memory_limit, value_name = "SIZE")]
        memory_limit: Option<MemoryLimit>,
    },
    /// List the project's datasets with their latest version.
    List,
    /// Show the profile of NAME (latest version) or NAME@VERSION, or of a file path (without a project; nothing is stored).
    Show {
        dataset: String,
        /// Memory for profiling a file (e.g. 512MiB, 2GiB); a larger table is streamed from
        /// disk in that much. Default: a quarter of RAM, at most 2GiB.
        #[arg(long, value_parser = parse_memory_limit, value_name = "SIZE")]
        memory_limit: Option<MemoryLimit>,
    },
    /// Page through the rows of NAME, NAME@VERSION or a file, sorted and filtered.
    Rows {
        dataset: String,
        /// Skip this many rows (after filtering and sorting).
        #[arg(long, default_value_t = 0, value_name = "N")]
        offset: u64,
        /// Show at most N rows.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: u64,
        /// Sort by COLUMN, ascending, or COLUMN:desc (missing values last).
        #[arg(long, value_name = "COLUMN[:desc]")]
        sort: Option<String>,
        /// Keep the rows matching EXPR, e.g. "age >= 30 and (city = 'Oslo' or city is null)"; see
        /// docs/cli.md for the syntax.
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
        /// Show only these columns, comma-separated, in this order.
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        columns: Vec<String>,
        /// Print CSV with a header line (all rows with --limit large enough).
        #[arg(long)]
        csv: bool,
    },
    /// Compare two versions or datasets (NAME, NAME@VERSION or file paths): schema, statistics, alerts.
    Diff {
        a: String,
        b: String,
        /// Also list the statistics that did not change.
        #[arg(long)]
        all: bool,
    },
    /// Draw a chart: a column's histogram or top values, or the dataset's missing values or
    /// correlation heatmap, as SVG, PNG, or its data as CSV (by the --out extension).
    Chart {
        dataset: String,
        /// The column, for histogram and top-values charts.
        column: Option<String>,
        /// histogram, top-values, missing, pearson or spearman; default: a numeric column's
        /// histogram, another column's top values.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<Kind>,
        /// FILE.svg, FILE.png or FILE.csv.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    Kind::parse(text).map_err(|e| e.to_string())
}

/// The profile of a stored `NAME[@VERSION]`, or of a file path (nothing is stored then).
/// A profile of `reference`: a file's, computed now, or a stored version's.
fn profile_of(
    reference: &str,
    options: &ReadOptions,
    project_dir: Option<&Path>,
) -> anyhow::Result<Profile> {
    let mut project = None;
    let bar = progress_bar();
    // LATHE_STAGE_TIMES=1 prints when each stage starts (what the benchmarks read).
    let times = std::env::var_os("LATHE_STAGE_TIMES").is_some();
    let started = std::time::Instant::now();
    let last = std::sync::Mutex::new(String::new());
    let report = |p: Progress| {
        if times {
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            if *last != p.stage {
                eprintln!("[{:8.1} s] {}", started.elapsed().as_secs_f64(), p.stage);
                last.clone_from(&p.stage);
            }
        }
        bar.set_message(p.stage);
        bar.set_length(p.total.unwrap_or(0));
        bar.set_position(p.done);
    };
    let job = Job::new(&report, crate::signals::token());
    let profile = Input::data(reference).profile(options, &job, || {
        crate::project_on_demand(&mut project, project_dir)
    });
    bar.finish_and_clear();
    if times {
        eprintln!("[{:8.1} s] done", started.elapsed().as_secs_f64());
    }
    Ok(profile?)
}

fn table_of(reference: &str, project_dir: Option<&Path>) -> anyhow::Result<TableSource> {
    let mut project = None;
    Ok(Input::data(reference).table(|| crate::project_on_demand(&mut project, project_dir))?)
}

fn parse_format(text: &str) -> Result<Format, String> {
    Format::parse(text)
        .ok_or_else(|| format!("unknown format '{text}'; use one of {}", Format::NAMES))
}

pub(crate) fn parse_memory_limit(text: &str) -> Result<MemoryLimit, String> {
    MemoryLimit::parse(text)
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

pub fn run(command: DatasetCommand, project_dir: Option<&Path>, json: bool) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Import {
            file,
            name,
            format,
            delimiter,
            null_values,
            no_header,
            memory_limit,
        } => {
            let options = ReadOptions {
                format,
                delimiter,
                has_header: no_header.then_some(false),
                null_values,
                memory_limit,
            };
            let project = open_project(project_dir)?;
            let outcome = with_progress(|job| {
                if lathe_core::remote::is_url(&file) {
                    lathe_core::dataset::import_url(&project, &file, name.as_deref(), &options, job)
                } else {
                    let path = Path::new(&file);
                    lathe_core::dataset::import(&project, path, name.as_deref(), &options, job)
                }
            })?;
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
        DatasetCommand::Show {
            dataset,
            memory_limit,
        } => {
            let options = ReadOptions {
                memory_limit,
                ..ReadOptions::default()
            };
            let profile = profile_of(&dataset, &options, project_dir)?;
            print(json, &profile, || profile_text(&profile))
        }
        DatasetCommand::Rows {
            dataset,
            offset,
            limit,
            sort,
            filter,
            columns,
            csv,
        } => {
            let source = table_of(&dataset, project_dir)?;
            let query = RowsQuery {
                offset,
                limit,
                sort: sort.as_deref().map(SortKey::parse),
                filter,
                columns: (!columns.is_empty()).then_some(columns),
            };
            let mut page = Browser::new().page(&source, &query)?;
            if csv && !json {
                let mut out = std::io::stdout().lock();
                return Ok(page.write_csv(&mut out)?);
            }
            let report = page.report();
            print(json, &report, || rows_text(&report))
        }
        DatasetCommand::Diff { a, b, all } => {
            let diff = compare::compare(
                &profile_of(&a, &ReadOptions::default(), project_dir)?,
                &profile_of(&b, &ReadOptions::default(), project_dir)?,
            );
            print(json, &diff, || diff_text(&diff, all))
        }
        DatasetCommand::Chart {
            dataset,
            column,
            kind,
            out,
        } => {
            let profile = profile_of(&dataset, &ReadOptions::default(), project_dir)?;
            let chart = chart::export(&out, || {
                profile_chart::chart(&profile, kind, column.as_deref())
            })?;
            let written = serde_json::json!({ "chart": chart.kind.name(), "title": chart.title, "out": out.display().to_string() });
            print(json, &written, || {
                format!("Wrote {} ({})", out.display(), chart.title)
            })
        }
    }
}

fn cell_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn rows_text(page: &RowsPage) -> String {
    const WIDEST: usize = 30;
    let fit = |s: String| -> String {
        if s.chars().count() > WIDEST {
            let mut t: String = s.chars().take(WIDEST - 1).collect();
            t.push('…');
            t
        } else {
            s
        }
    };
    let header: Vec<String> = page.columns.iter().map(|c| fit(c.name.clone())).collect();
    let cells: Vec<Vec<String>> = page
        .rows
        .iter()
        .map(|r| r.iter().map(|v| fit(cell_text(v))).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String]| {
        row.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(&header);
    for row in &cells {
        out.push('\n');
        out.push_str(&line(row));
    }
    let shown = page.rows.len() as u64;
    let filtered = if page.matching_rows == page.total_rows {
        String::new()
    } else {
        format!(" matching (of {} rows)", page.total_rows)
    };
    out.push_str(&if shown == 0 {
        format!(
            "\n(no rows at offset {}; {} rows{filtered})",
            page.offset, page.matching_rows
        )
    } else {
        format!(
            "\n(rows {}–{} of {}{filtered})",
            page.offset + 1,
            page.offset + shown,
            page.matching_rows
        )
    });
    if let Some(sample) = page.sample {
        out.push_str(&format!(
            "\n(a sample: the Spark table's first {sample} rows by LIMIT, sorted and filtered here; the table stays on the cluster)"
        ));
    }
    out
}

/// A whole number without decimals, else six; `signed` adds the sign.
fn diff_text(diff: &Comparison, all: bool) -> String {
    let name = |s: &compare::Side| {
        format!(
            "{}{} ({} rows × {} columns, {} duplicate rows)",
            s.dataset,
            s.version.map(|v| format!("@{v}")).unwrap_or_default(),
            s.rows,
            s.columns,
            s.duplicate_rows
        )
    };
    let mut out = format!("A: {}\nB: {}\n", name(&diff.a), name(&diff.b));
    let schema = &diff.schema;
    if schema.added.is_empty() && schema.removed.is_empty() && schema.retyped.is_empty() {
        out.push_str("\nSchema: unchanged\n");
    } else {
        out.push_str("\nSchema:\n");
        for c in &schema.added {
            out.push_str(&format!("  + {} ({})\n", c.name, c.dtype));
        }
        for c in &schema.removed {
            out.push_str(&format!("  - {} ({})\n", c.name, c.dtype));
        }
        for c in &schema.retyped {
            out.push_str(&format!("  ~ {}: {} -> {}\n", c.name, c.from, c.to));
        }
    }
    // The desktop's comparison shows the same text (api::shown_statistic).
    let mut table = String::new();
    for column in &diff.columns {
        for s in &column.statistics {
            let t = lathe_core::api::shown_statistic(s);
            if !all && !t.changed {
                continue;
            }
            table.push_str(&format!(
                "\n{:<24} {:<11} {:>16} {:>16}  {}",
                column.name, s.statistic, t.a, t.b, t.change
            ));
        }
    }
    if table.is_empty() {
        out.push_str("\nStatistics: no shared column changed\n");
    } else {
        out.push_str(&format!(
            "\n{:<24} {:<11} {:>16} {:>16}  CHANGE{table}\n",
            "COLUMN", "STATISTIC", "A", "B"
        ));
    }
    let alerts = |list: &[lathe_core::dataset::alerts::Alert]| {
        list.iter()
            .map(|a| {
                if a.columns.is_empty() {
                    a.kind.clone()
                } else {
                    format!("{} ({})", a.kind, a.columns.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !diff.alerts_added.is_empty() {
        out.push_str(&format!("\nNew alerts: {}\n", alerts(&diff.alerts_added)));
    }
    if !diff.alerts_removed.is_empty() {
        out.push_str(&format!(
            "Resolved alerts: {}\n",
            alerts(&diff.alerts_removed)
        ));
    }
    out.trim_end().to_owned()
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
    // The desktop's profile shows the same text (api::ProfileView).
    let shown = lathe_core::api::shown_columns(profile);
    let clip = |s: &str| -> String { s.chars().take(12).collect() };
    for (c, t) in profile.columns.iter().zip(&shown) {
        out.push_str(&format!(
            "\n{:<28} {:<8} {:>8} {:>7} {:>8} {:>12} {:>12} {:>12} {:>12}",
            c.name,
            c.dtype,
            t.count,
            c.nulls,
            t.distinct,
            t.mean,
            t.std,
            clip(&t.min),
            clip(&t.max)
        ));
    }
    out
}
