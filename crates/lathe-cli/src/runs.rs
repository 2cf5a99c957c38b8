//! `lathe runs …`: import, list, compare, history, chart, models.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use lathe_core::chart;
use lathe_core::runs::chart::{Band, LineOptions, XAxis, line_chart};
use lathe_core::runs::{self, Agg, RunQuery, RunRecord, Value};
use serde::Serialize;

use crate::{open_project, print, with_progress};

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Import (or re-import: only what is new is added) an MLflow `mlruns/` folder, a
    /// TensorBoard log folder (`events.out.tfevents.*` files, a run per folder), W&B runs
    /// logged offline (a `wandb/` folder, a run folder or a `.wandb` log), an `mlflow.db`, a `.jsonl` run log, a `.csv` of runs, or an MLflow tracking server by URL
    /// (`http(s)://host:port`; credentials from MLFLOW_TRACKING_TOKEN or
    /// MLFLOW_TRACKING_USERNAME/PASSWORD).
    Import {
        path: PathBuf,
        /// Of a tracking server, only this experiment (by name or id; repeat for more).
        #[arg(long = "experiment", value_name = "NAME|ID")]
        experiments: Vec<String>,
        /// Of a tracking server, read every run, not only those started, ended, unfinished or
        /// deleted since the last import: a tag set or a point logged on a finished run is seen
        /// only so (a read of changes reads every run itself when the last was over an hour ago).
        #[arg(long)]
        full: bool,
    },
    /// List runs across experiments, newest first.
    List {
        /// Only runs of this experiment (by name).
        #[arg(long, value_name = "NAME")]
        experiment: Option<String>,
        /// An MLflow filter string, plus `or`, `not`, parentheses and `~` regex
        /// (see docs/runs.md).
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
        /// KEY or KEY:desc — metrics.acc (or metrics.acc.min / .max), params.lr, tags.team,
        /// start_time, end_time, run_name, status, experiment.
        #[arg(long, value_name = "KEY")]
        sort: Option<String>,
        /// Include deleted runs (hidden by default, as in MLflow).
        #[arg(long)]
        include_deleted: bool,
        /// Which value of each metric to show: last (MLflow's), min or max.
        #[arg(long, value_name = "AGG", default_value = "last", value_parser = ["last", "min", "max"])]
        metric_value: String,
        /// Group by a param, tag or attribute, or by every param but some (`params.* except
        /// seed`: a configuration's seeds together), and print the mean, min and max of each
        /// metric (of the value --metric-value names) per group.
        #[arg(long, value_name = "KEY")]
        group_by: Option<String>,
        /// Skip the first N runs.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Show at most N runs.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Compare runs: the params that differ, and each metric's last/min/max.
    Compare {
        /// Runs by their source's id (an MLflow run id) or Lathe's id.
        #[arg(required = true, num_args = 2..)]
        runs: Vec<String>,
        /// Also list the params every run shares.
        #[arg(long)]
        all: bool,
    },
    /// Every logged point of one metric of one run.
    History {
        run: String,
        #[arg(long, value_name = "KEY")]
        metric: String,
        /// Print CSV (step,timestamp,value) instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Draw the metric histories of runs overlaid, at full fidelity.
    Chart {
        #[arg(required = true)]
        runs: Vec<String>,
        #[arg(long, value_name = "KEY")]
        metric: String,
        /// step, time (wall clock, UTC) or relative (seconds since each run's first point).
        #[arg(long, default_value = "step", value_parser = XAxis::parse)]
        x: XAxis,
        /// EMA smoothing weight in [0, 1), e.g. 0.6; the raw line stays, faint.
        #[arg(long, value_name = "A")]
        smooth: Option<f64>,
        /// Group runs by a param or tag (params.optimizer), or by every param but some
        /// (`params.* except seed`): each group's mean and a band.
        #[arg(long, value_name = "KEY")]
        group_by: Option<String>,
        /// With --group-by, the band around each group's mean: minmax (default), std (± the
        /// sample standard deviation of the runs) or ci95 (± Student's t × standard error).
        #[arg(long, value_name = "BAND", default_value = "minmax", value_parser = Band::parse)]
        band: Band,
        /// Zoom: only x from FROM to TO, decimated anew from every stored point.
        #[arg(long, num_args = 2, value_names = ["FROM", "TO"])]
        x_range: Option<Vec<f64>>,
        /// Output file: .svg, .png, or .csv (the chart's data: every point).
        #[arg(long)]
        out: PathBuf,
    },
    /// A param of the runs against a metric, one point per run.
    Scatter {
        #[arg(required = true, num_args = 2..)]
        runs: Vec<String>,
        #[arg(long, value_name = "KEY")]
        param: String,
        /// A metric key; `KEY.min` or `KEY.max` for its extremes (default: its last value).
        #[arg(long, value_name = "KEY")]
        metric: String,
        /// .svg, .png, or .csv (the values).
        #[arg(long)]
        out: PathBuf,
    },
    /// Parallel coordinates: an axis per param (default: those that differ) and the metric.
    Parallel {
        #[arg(required = true, num_args = 2..)]
        runs: Vec<String>,
        /// Params to draw, comma-separated (default: every param that differs between the runs).
        #[arg(long, value_delimiter = ',')]
        params: Vec<String>,
        #[arg(long, value_name = "KEY")]
        metric: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// One self-contained HTML page comparing runs: the run table, the params that differ, a
    /// chart per metric, the params' importance and parallel coordinates. Opens offline.
    Report {
        /// Runs by their source's id or Lathe's id (or --filter).
        #[arg(required_unless_present = "filter")]
        runs: Vec<String>,
        /// Every run matching this filter (the `runs list` language), newest first.
        #[arg(long, conflicts_with = "runs")]
        filter: Option<String>,
        /// A metric to chart (repeat for more; default: every metric, at most 12).
        #[arg(long = "metric", value_name = "KEY")]
        metrics: Vec<String>,
        /// The metric importance and parallel coordinates read (default: the first charted).
        #[arg(long, value_name = "KEY")]
        target: Option<String>,
        /// minimize or maximize: whether a lower or higher target is better (default: told
        /// from its name).
        #[arg(long)]
        direction: Option<String>,
        /// The page to write (.html).
        #[arg(long)]
        out: PathBuf,
    },
    /// Which params matter for a metric: PED-ANOVA (as Optuna's PedAnovaImportanceEvaluator),
    /// fANOVA (as its FanovaImportanceEvaluator, seed 0) or correlation, with each param's
    /// Pearson correlation beside its importance.
    Importance {
        #[arg(long, value_name = "KEY")]
        metric: String,
        /// Only the runs matching this filter (the `runs list` language).
        #[arg(long)]
        filter: Option<String>,
        #[arg(long)]
        experiment: Option<String>,
        /// ped-anova, fanova or correlation.
        #[arg(long, default_value = "ped-anova")]
        method: String,
        /// minimize or maximize (default: from the metric's name — loss, error: minimize;
        /// accuracy, auc, f1, score: maximize — else an error asks for it).
        #[arg(long)]
        direction: Option<String>,
        /// PED-ANOVA: the importance of reaching this top quantile (Optuna's default 0.1).
        #[arg(long, default_value_t = 0.1)]
        target_quantile: f64,
        /// PED-ANOVA: within the runs of this top quantile (Optuna's default 1.0: all).
        #[arg(long, default_value_t = 1.0)]
        region_quantile: f64,
        /// Read this numeric param on a log scale (repeat for more; positive values spanning
        /// 100× or more are read so anyway).
        #[arg(long = "log", value_name = "PARAM")]
        log_params: Vec<String>,
        /// Which value of the metric a run counts with: last (MLflow's), min or max.
        #[arg(long, value_name = "AGG", default_value = "last", value_parser = ["last", "min", "max"])]
        metric_value: String,
    },
    /// The registered models found in imported MLflow stores.
    Models,
}

/// A run as `lathe runs list --json` prints it: metrics as key → value.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    id: i64,
    source_run_id: &'a str,
    experiment: &'a str,
    name: Option<&'a str>,
    status: &'a str,
    lifecycle_stage: &'a str,
    start_time: Option<i64>,
    end_time: Option<i64>,
    parent: Option<i64>,
    parent_run_id: Option<&'a str>,
    params: &'a BTreeMap<String, String>,
    metrics: BTreeMap<&'a str, Option<Value>>,
    tags: &'a BTreeMap<String, String>,
}

fn metric_value(r: &RunRecord, key: &str, agg: Agg) -> Option<Value> {
    r.metrics.get(key)?.value(agg)
}

fn listed<'a>(r: &'a RunRecord, agg: Agg) -> Listed<'a> {
    Listed {
        id: r.id,
        source_run_id: &r.source_run_id,
        experiment: &r.experiment,
        name: r.name.as_deref(),
        status: &r.status,
        lifecycle_stage: &r.lifecycle_stage,
        start_time: r.start_time,
        end_time: r.end_time,
        parent: r.parent,
        parent_run_id: r.parent_run_id.as_deref(),
        params: &r.params,
        metrics: r
            .metrics
            .keys()
            .map(|k| (k.as_str(), metric_value(r, k, agg)))
            .collect(),
        tags: &r.tags,
    }
}

/// A metric value as every front end writes it ([`lathe_core::display::statistic`]); `-` when
/// the run has none.
pub(crate) fn value_text(v: Option<Value>) -> String {
    v.map_or_else(
        || "-".to_owned(),
        |Value(x)| lathe_core::display::statistic(x),
    )
}

fn time_text(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "-".to_owned() };
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) else {
        return ms.to_string();
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(&fmt).unwrap_or_default()
}

fn width(items: impl Iterator<Item = usize>, min: usize, max: usize) -> usize {
    items.fold(min, usize::max).min(max)
}

fn clip(text: &str, w: usize) -> String {
    if text.chars().count() <= w {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(w.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// `text` clipped to `w` characters (an ellipsis when cut), padded to `pad`, onto `out`.
fn clip_into(out: &mut String, text: &str, w: usize, pad: usize) {
    let mut n = 0;
    let mut chars = text.char_indices();
    let cut = loop {
        match chars.next() {
            None => break None,
            Some((at, _)) if n == w.saturating_sub(1) => {
                break chars.next().is_some().then_some(at);
            }
            Some(_) => n += 1,
        }
    };
    match cut {
        Some(at) => {
            out.push_str(&text[..at]);
            out.push('…');
            n = w;
        }
        None => {
            out.push_str(text);
            n = text.chars().count();
        }
    }
    for _ in n..pad {
        out.push(' ');
    }
}

fn list_text(page: &runs::RunsPage, agg: Agg) -> String {
    if page.runs.is_empty() {
        return if page.total == 0 {
            "No runs match. Import some with `lathe runs import PATH` (an mlruns/ folder, a TensorBoard log folder, a W&B wandb/ folder, an mlflow.db, a .jsonl or .csv).".to_owned()
        } else {
            format!("No runs on this page ({} match).", page.total)
        };
    }
    let metrics: Vec<&String> = page.metric_keys.iter().take(6).collect();
    let name_w = width(
        page.runs
            .iter()
            .map(|r| r.name.as_deref().unwrap_or("").chars().count()),
        4,
        24,
    );
    let exp_w = width(
        page.runs.iter().map(|r| r.experiment.chars().count()),
        10,
        18,
    );
    let mut out = format!(
        "{:>6}  {:<10} {:<name_w$} {:<exp_w$} {:<9} {:<16}",
        "ID", "RUN ID", "NAME", "EXPERIMENT", "STATUS", "STARTED"
    );
    for m in &metrics {
        let head = if agg == Agg::Last {
            (*m).clone()
        } else {
            format!("{m}.{agg}")
        };
        out.push_str(&format!(" {:>12}", clip(&head, 12)));
    }
    use std::fmt::Write as _;
    // Written cell by cell into one string: 10,000 rows × 12 cells are otherwise as many
    // small strings (perf: a quarter of a long listing's time).
    let mut cell = String::new();
    for r in &page.runs {
        let _ = write!(out, "\n{:>6}  ", r.id);
        clip_into(&mut out, &r.source_run_id, 10, 10);
        out.push(' ');
        clip_into(&mut out, r.name.as_deref().unwrap_or(""), name_w, name_w);
        out.push(' ');
        clip_into(&mut out, &r.experiment, exp_w, exp_w);
        let _ = write!(out, " {:<9} ", r.status);
        let _ = write!(out, "{:<16}", time_text(r.start_time));
        for m in &metrics {
            cell.clear();
            match metric_value(r, m, agg) {
                Some(Value(x)) => cell.push_str(&lathe_core::display::statistic(x)),
                None => cell.push('-'),
            }
            let _ = write!(out, " {cell:>12}");
        }
    }
    let shown = page.runs.len() as u64;
    if shown < page.total || page.metric_keys.len() > metrics.len() {
        out.push_str(&format!(
            "\n({shown} of {} runs{}; --json shows everything)",
            page.total,
            if page.metric_keys.len() > metrics.len() {
                format!(", {} of {} metrics", metrics.len(), page.metric_keys.len())
            } else {
                String::new()
            }
        ));
    }
    out
}

fn importance_text(found: &runs::importance::HyperparameterImportance) -> String {
    let method = match found.method {
        runs::importance::ImportanceMethod::PedAnova => "PED-ANOVA",
        runs::importance::ImportanceMethod::Fanova => "fANOVA",
        runs::importance::ImportanceMethod::Correlation => "|correlation|",
    };
    let direction = found.direction.text();
    let mut out = format!(
        "Importance for {} ({direction}), {method}, over {} runs\n",
        found.metric, found.runs_used
    );
    let width = found
        .importances
        .iter()
        .map(|p| p.param.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "  {:<width$}  {:>10}  {:<20}  {:>11}  scale\n",
        "param", "importance", "", "correlation"
    ));
    for p in &found.importances {
        let bar = "█".repeat((p.importance * 20.0).round() as usize);
        out.push_str(&format!(
            "  {:<width$}  {:>10}  {:<20}  {:>11}  {}\n",
            p.param,
            format!("{:.3}", p.importance),
            bar,
            p.correlation.map_or("-".to_owned(), |r| format!("{r:+.3}")),
            p.scale
        ));
    }
    for note in &found.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

fn resolve_ids(project: &lathe_core::Project, runs: &[String]) -> lathe_core::Result<Vec<i64>> {
    runs.iter().map(|r| runs::resolve_run(project, r)).collect()
}

pub fn run(command: RunsCommand, project_dir: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let project = open_project(project_dir)?;
    match command {
        RunsCommand::Import {
            path,
            experiments,
            full,
        } => {
            let read = if full {
                runs::Read::Everything
            } else {
                runs::Read::Changes
            };
            let s =
                with_progress(|job| runs::import_from(&project, &path, &experiments, read, job))?;
            print(json, &s, || {
                let mut out = format!(
                    "Imported {} ({}): {} experiments, {} new runs, {} updated, {} unchanged, {} new metric points",
                    s.source,
                    s.kind.name(),
                    s.experiments,
                    s.runs_new,
                    s.runs_updated,
                    s.runs_unchanged,
                    s.metric_points
                );
                if s.registered_models > 0 {
                    out.push_str(&format!(
                        ", {} registered models (`lathe runs models`)",
                        s.registered_models
                    ));
                }
                if s.model_versions_registered > 0 {
                    out.push_str(&format!(
                        ", {} ONNX versions added to the model registry (`lathe model list`)",
                        s.model_versions_registered
                    ));
                }
                if let Some(since) = s.since {
                    out.push_str(&format!(
                        "\nRead the runs started, ended, unfinished or deleted since {} UTC; --full reads every run",
                        time_text(Some(since))
                    ));
                }
                if !s.skipped.is_empty() {
                    out.push_str(&format!("\nSkipped {}:", s.skipped.len()));
                    for k in &s.skipped {
                        out.push_str(&format!("\n  {}: {}", k.item, k.reason));
                    }
                }
                out
            })
        }
        RunsCommand::List {
            experiment,
            filter,
            sort,
            include_deleted,
            metric_value,
            group_by,
            offset,
            limit,
        } => {
            let page = runs::list(
                &project,
                &RunQuery {
                    experiment,
                    filter,
                    sort,
                    include_deleted,
                    offset,
                    limit,
                },
            )?;
            let agg: Agg = metric_value.parse()?;
            if let Some(by) = group_by {
                let groups = runs::group(&page.runs, &by, |_| agg)?;
                return print(json, &groups, || {
                    let runs = |n: u64| format!("{n} run{}", if n == 1 { "" } else { "s" });
                    let mut out = String::new();
                    for g in &groups {
                        out.push_str(&format!(
                            "{} = {} ({})\n",
                            by,
                            g.value.as_deref().unwrap_or("(not set)"),
                            runs(g.runs)
                        ));
                        for (k, s) in &g.metrics {
                            out.push_str(&format!(
                                "  {:<24} mean {:>12} ± {:<12} min {:>12}  max {:>12}  ({})\n",
                                k,
                                value_text(Some(s.mean)),
                                value_text(s.std),
                                value_text(Some(s.min)),
                                value_text(Some(s.max)),
                                runs(s.runs)
                            ));
                        }
                    }
                    out.trim_end().to_owned()
                });
            }
            if json {
                let listed: Vec<Listed> = page.runs.iter().map(|r| listed(r, agg)).collect();
                print(json, &listed, String::new)?;
                // The process ends here: freeing thousands of runs one by one would only delay it.
                std::mem::forget(listed);
            } else {
                print(json, &(), || list_text(&page, agg))?;
            }
            std::mem::forget(page);
            Ok(())
        }
        RunsCommand::Compare { runs: ids, all } => {
            let ids = resolve_ids(&project, &ids)?;
            let cmp = runs::compare(&project, &ids)?;
            print(json, &cmp, || compare_text(&cmp, all))
        }
        RunsCommand::History { run, metric, csv } => {
            let id = runs::resolve_run(&project, &run)?;
            let points = runs::history(&project, id, &metric)?;
            if csv && !json {
                let mut out = String::from("step,timestamp,value\n");
                for p in &points {
                    out.push_str(&format!(
                        "{},{},{}\n",
                        p.step,
                        p.timestamp,
                        value_text(Some(Value(p.value)))
                    ));
                }
                print!("{out}");
                return Ok(());
            }
            #[derive(Serialize)]
            struct P {
                step: i64,
                timestamp: i64,
                value: Value,
            }
            let listed: Vec<P> = points
                .iter()
                .map(|p| P {
                    step: p.step,
                    timestamp: p.timestamp,
                    value: Value(p.value),
                })
                .collect();
            print(
                json,
                &serde_json::json!({"run": id, "metric": metric, "points": listed}),
                || {
                    let mut out = format!("{:>10}  {:<20} {:>14}", "STEP", "TIME (UTC)", metric);
                    for p in &points {
                        out.push_str(&format!(
                            "\n{:>10}  {:<20} {:>14}",
                            p.step,
                            time_text(Some(p.timestamp)),
                            value_text(Some(Value(p.value)))
                        ));
                    }
                    out
                },
            )
        }
        RunsCommand::Chart {
            runs: ids,
            metric,
            x,
            smooth,
            group_by,
            band,
            x_range,
            out,
        } => {
            let options = LineOptions {
                metric,
                x,
                smooth,
                group_by,
                band,
                x_range: x_range.map(|r| (r[0], r[1])),
                ..Default::default()
            };
            let chart = chart::export(&out, || {
                line_chart(&project, &resolve_ids(&project, &ids)?, &options)
            })?;
            let written = serde_json::json!({
                "title": chart.title, "out": out.display().to_string(),
                "points": chart.points_in, "points_drawn": chart.points_drawn,
            });
            print(json, &written, || {
                format!(
                    "Wrote {} ({}: {} points, {} drawn after per-pixel min/max decimation)",
                    out.display(),
                    chart.title,
                    chart.points_in,
                    chart.points_drawn
                )
            })
        }
        RunsCommand::Scatter {
            runs: ids,
            param,
            metric,
            out,
        } => {
            let plot = chart::export(&out, || {
                runs::chart::scatter_chart(&project, &resolve_ids(&project, &ids)?, &param, &metric)
            })?;
            let written =
                serde_json::json!({ "title": plot.title, "out": out.display().to_string() });
            print(json, &written, || {
                format!("Wrote {} ({})", out.display(), plot.title)
            })
        }
        RunsCommand::Parallel {
            runs: ids,
            params,
            metric,
            out,
        } => {
            let plot = chart::export(&out, || {
                runs::chart::parallel_chart(
                    &project,
                    &resolve_ids(&project, &ids)?,
                    &params,
                    &metric,
                )
            })?;
            let written =
                serde_json::json!({ "title": plot.title, "out": out.display().to_string() });
            print(json, &written, || {
                format!("Wrote {} ({})", out.display(), plot.title)
            })
        }
        RunsCommand::Report {
            runs: names,
            filter,
            metrics,
            target,
            direction,
            out,
        } => {
            let ids = match filter {
                Some(filter) => {
                    let page = runs::list(
                        &project,
                        &runs::RunQuery {
                            filter: Some(filter),
                            ..Default::default()
                        },
                    )?;
                    page.runs.iter().map(|r| r.id).collect()
                }
                None => resolve_ids(&project, &names)?,
            };
            let report = runs::report::write(
                &project,
                &ids,
                &runs::report::ReportOptions {
                    metrics,
                    target,
                    direction: direction.as_deref().map(str::parse).transpose()?,
                },
                &out,
            )?;
            let written = serde_json::json!({
                "out": out.display().to_string(), "runs": report.runs,
                "charts": report.charts, "bytes": report.html.len(), "notes": report.notes,
            });
            print(json, &written, || {
                let mut text = format!(
                    "Wrote {} ({} runs, {} metric charts, {})",
                    out.display(),
                    report.runs,
                    report.charts.len(),
                    lathe_core::display::bytes(report.html.len() as u64)
                );
                for note in &report.notes {
                    text.push_str(&format!("\n  note: {note}"));
                }
                text
            })
        }
        RunsCommand::Importance {
            metric,
            filter,
            experiment,
            method,
            direction,
            target_quantile,
            region_quantile,
            log_params,
            metric_value,
        } => {
            let request = runs::importance::ImportanceRequest {
                metric,
                agg: metric_value.parse()?,
                filter,
                experiment,
                runs: Vec::new(),
                direction: direction.as_deref().map(str::parse).transpose()?,
                method: method.parse()?,
                target_quantile,
                region_quantile,
                log_params,
            };
            let found = runs::importance::importance(&project, &request)?;
            print(json, &found, || importance_text(&found))
        }
        RunsCommand::Models => {
            let models = runs::registered_models(&project)?;
            print(json, &models, || {
                if models.is_empty() {
                    return "No registered models in the imported MLflow stores.".to_owned();
                }
                let mut out = String::new();
                for m in &models {
                    let aliases: Vec<String> = m
                        .aliases
                        .iter()
                        .map(|(a, v)| format!("{a} → v{v}"))
                        .collect();
                    out.push_str(&format!("{}  ({})", m.name, m.source));
                    if !aliases.is_empty() {
                        out.push_str(&format!("  aliases: {}", aliases.join(", ")));
                    }
                    for v in &m.versions {
                        out.push_str(&format!(
                            "\n  v{:<4} run {:<34} {}",
                            v.version,
                            v.run_id.as_deref().unwrap_or("-"),
                            match (&v.onnx_path, &v.lathe_version) {
                                (Some(_), Some(lathe)) => format!("ONNX, registered as {lathe}"),
                                (Some(p), None) => format!("ONNX, not registered: {p}"),
                                (None, _) => "not ONNX (listed, not loaded)".to_owned(),
                            }
                        ));
                    }
                    out.push('\n');
                }
                out.trim_end().to_owned()
            })
        }
    }
}

fn compare_text(cmp: &runs::RunComparison, all: bool) -> String {
    let names: Vec<String> = cmp
        .runs
        .iter()
        .map(|r| {
            format!(
                "{} ({})",
                r.name.as_deref().unwrap_or(&r.source_run_id),
                r.id
            )
        })
        .collect();
    let w = width(names.iter().map(|n| n.chars().count()), 12, 28);
    let key_w = width(
        cmp.params
            .differing
            .keys()
            .chain(cmp.metrics.keys())
            .map(|k| k.chars().count() + 4),
        10,
        30,
    );
    let mut out = format!("{:<key_w$}", "");
    for n in &names {
        out.push_str(&format!(" {:>w$}", clip(n, w)));
    }
    out.push_str("\nParams that differ:");
    if cmp.params.differing.is_empty() {
        out.push_str(" none");
    }
    for (k, values) in &cmp.params.differing {
        out.push_str(&format!("\n  {:<w2$}", clip(k, key_w - 2), w2 = key_w - 2));
        for r in &cmp.runs {
            let v = values.get(&r.id.to_string()).cloned().flatten();
            out.push_str(&format!(" {:>w$}", clip(v.as_deref().unwrap_or("-"), w)));
        }
    }
    if all {
        out.push_str("\nParams all runs share:");
        for (k, v) in &cmp.params.same {
            out.push_str(&format!("\n  {k} = {v}"));
        }
    } else if !cmp.params.same.is_empty() {
        out.push_str(&format!(
            "\n({} params are the same in every run; --all lists them)",
            cmp.params.same.len()
        ));
    }
    out.push_str("\nMetrics (last / min / max):");
    for (k, entries) in &cmp.metrics {
        for (label, pick) in [("last", 0), ("min", 1), ("max", 2)] {
            let head = if pick == 0 {
                k.clone()
            } else {
                format!("  {label}")
            };
            out.push_str(&format!(
                "\n  {:<w2$}",
                clip(&head, key_w - 2),
                w2 = key_w - 2
            ));
            for r in &cmp.runs {
                let e = entries.iter().find(|e| e.run == r.id);
                let v = e.and_then(|e| match pick {
                    0 => Some(e.stat.last),
                    1 => e.stat.min,
                    _ => e.stat.max,
                });
                out.push_str(&format!(" {:>w$}", value_text(v)));
            }
        }
    }
    out
}
