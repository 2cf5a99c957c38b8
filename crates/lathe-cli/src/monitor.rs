//! `lathe monitor`: a binary classifier's estimated performance over time (NannyML's CBPE),
//! chunk by chunk, from its scores; gate CI on an alert.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use lathe_core::Project;
use lathe_core::api::MonitorRequest;
use lathe_core::display;
use lathe_core::monitor::{self, ModelInput, MonitorReport, Role, Side};

use crate::{print, with_progress};

/// The business-value metric's values and the confusion matrix's normalisation, for `lathe
/// monitor` and `lathe bundle monitor`.
#[derive(Debug, Args)]
pub struct BusinessValueArgs {
    /// Estimate the business value: what a true negative, a false positive, a false negative
    /// and a true positive are worth (NannyML's [[TN, FP], [FN, TP]]), e.g. 0,-10,-50,20; for
    /// k classes, k × k values row by true class, column by predicted class (sorted classes).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "TN,FP,FN,TP",
        allow_hyphen_values = true
    )]
    business_value: Option<Vec<f64>>,
    /// The business value per prediction (each predicted class's cells divided by its
    /// count) rather than summed over a chunk.
    #[arg(long)]
    business_value_per_prediction: bool,
    /// Report the confusion matrix's cells normalised: by all rows (all), by the true
    /// class's rows (true) or by the predicted class's (pred); default: counts.
    #[arg(long, value_name = "all|true|pred")]
    normalize_confusion_matrix: Option<String>,
}

impl BusinessValueArgs {
    /// Fills the request's business-value and confusion-matrix fields.
    pub fn into_request(self, request: MonitorRequest) -> MonitorRequest {
        MonitorRequest {
            business_value: self.business_value,
            business_value_per_prediction: Some(self.business_value_per_prediction),
            normalize_confusion_matrix: self.normalize_confusion_matrix,
            ..request
        }
    }
}

/// Exit code when `--fail-on-alert` is given and an analysis chunk alerted (as the drift gate).
pub const ALERT_EXIT: u8 = 3;

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// MODEL REFERENCE ANALYSIS, or REFERENCE ANALYSIS. MODEL (an .onnx file, its URL, or
    /// `NAME[@VERSION|@ALIAS]`)
    /// computes the outputs from the features; without it, --score-column and
    /// --prediction-column name them. REFERENCE holds the targets; ANALYSIS may not. Each is
    /// a dataset `NAME[@VERSION]` or a file (CSV, TSV, Parquet, NDJSON, JSON, Arrow), local or
    /// by URL.
    #[arg(num_args = 2..=3, required = true, value_name = "[MODEL] REFERENCE ANALYSIS")]
    inputs: Vec<String>,
    /// The column holding the model's probability of the positive class; for a multiclass
    /// classifier, each class's column: CLASS=C,CLASS=C,… (e.g. a=proba_a,b=proba_b,c=proba_c).
    #[arg(long, value_name = "C")]
    score_column: Option<String>,
    /// The column holding the model's predicted class (0/1, or a multiclass classifier's class
    /// names); without --score-column, a regressor's prediction (its losses are estimated by
    /// DLE).
    #[arg(long, value_name = "C")]
    prediction_column: Option<String>,
    /// The target column (0/1, class names, or a regressor's number): required in the
    /// reference, used in the analysis where present. Default: a registered model's target,
    /// else `target`.
    #[arg(long, value_name = "C")]
    target: Option<String>,
    /// The date/time column: rows are ordered by it and chunk dates come from it.
    #[arg(long, value_name = "C")]
    timestamp_column: Option<String>,
    /// Chunks of N rows (the rest forms a last, smaller chunk).
    #[arg(long, value_name = "N", group = "chunking")]
    chunk_size: Option<usize>,
    /// K chunks of equal size (the rest forms one more chunk). Default: 10.
    #[arg(long, value_name = "K", group = "chunking")]
    chunk_number: Option<usize>,
    /// One chunk per calendar period of --timestamp-column: 1h, 1d, 1w, 1M, 1q, 1y.
    #[arg(long, value_name = "P", group = "chunking")]
    chunk_period: Option<String>,
    /// The metrics to estimate. A binary classifier's: roc_auc, f1, precision, recall,
    /// specificity, accuracy (the default), average_precision, confusion_matrix (its four
    /// cells: true_positive, true_negative, false_positive, false_negative) and
    /// business_value (with --business-value). A regressor's: mae, mape, mse, rmse, msle,
    /// rmsle (all by default).
    #[arg(long, value_delimiter = ',', value_name = "M,…")]
    metrics: Option<Vec<String>>,
    #[command(flatten)]
    business_value: BusinessValueArgs,
    /// The model's input columns (as for `lathe model predict`; default the registered ones),
    /// which are also the features of the multivariate drift. Without a model: the features
    /// of the multivariate drift, default every column both tables have besides the outputs,
    /// the target, the time and identifiers (integer or text columns whose values all differ).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    features: Option<Vec<String>>,
    /// Skip the per-chunk drift of each feature, the score and the target (CBPE and the
    /// multivariate drift only).
    #[arg(long)]
    no_column_drift: bool,
    /// Write the self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write every chart (SVG) with its data (CSV) into this folder: one per metric
    /// (`monitor_roc_auc`, …) and `monitor_reconstruction_error`.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Exit with code 3 when an analysis chunk's estimate leaves its thresholds (for CI).
    #[arg(long)]
    fail_on_alert: bool,
}

pub fn run(args: MonitorArgs, project_dir: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let (model, reference, analysis) = match args.inputs.as_slice() {
        [m, r, a] => (Some(m.clone()), r.clone(), a.clone()),
        [r, a] => (None, r.clone(), a.clone()),
        _ => unreachable!("clap takes two or three inputs"),
    };
    if let Some(path) = &args.html {
        crate::drift::check_html(path)?;
    }
    let mut project: Option<Project> = None;
    let loaded = model
        .as_deref()
        .map(|m| crate::model::load(m, args.features.clone(), &mut project, project_dir))
        .transpose()?;
    let options = args
        .business_value
        .into_request(MonitorRequest {
            model: model.clone(),
            score_column: args.score_column,
            prediction_column: args.prediction_column,
            target: args
                .target
                .or_else(|| loaded.as_ref().and_then(|l| l.target.clone())),
            timestamp_column: args.timestamp_column,
            chunk_size: args.chunk_size,
            chunk_number: args.chunk_number,
            chunk_period: args.chunk_period,
            metrics: args.metrics,
            features: if model.is_some() {
                None
            } else {
                args.features.clone()
            },
            column_drift: Some(!args.no_column_drift),
            ..MonitorRequest::default()
        })
        .into_options()?;
    let reference = crate::drift::source(&reference, &mut project, project_dir)?;
    let analysis = crate::drift::source(&analysis, &mut project, project_dir)?;
    let input = loaded.as_ref().map(|l| ModelInput {
        model: &l.model,
        features: &l.features,
    });
    let report =
        with_progress(|job| monitor::monitor_sources(&reference, &analysis, &options, input, job))?;
    let title = match &loaded {
        Some(l) => format!("{} on {} → {}", l.name, args.inputs[1], args.inputs[2]),
        None => format!("{} → {}", args.inputs[0], args.inputs[1]),
    };
    write_outputs(
        &report,
        &title,
        args.html.as_deref(),
        args.charts.as_deref(),
    )?;
    print(json, &report, || text(&report))?;
    Ok(if args.fail_on_alert && !report.alerts.is_empty() {
        ExitCode::from(ALERT_EXIT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the HTML report and the charts where asked (`lathe monitor` and `lathe bundle
/// monitor`).
pub(crate) fn write_outputs(
    report: &MonitorReport,
    title: &str,
    html: Option<&Path>,
    charts: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = html {
        monitor::html::write(report, title, path)?;
    }
    if let Some(dir) = charts {
        lathe_core::chart::write_named(&monitor::chart::charts(report), dir)?;
    }
    Ok(())
}

fn shown(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), display::number)
}

pub(crate) fn text(report: &MonitorReport) -> String {
    let mut out = Vec::new();
    let c = &report.chunking;
    out.push(format!(
        "Estimated performance ({}), {} reference and {} analysis chunks; {}",
        report.estimator_shown(),
        c.reference_chunks,
        c.analysis_chunks,
        report.method_shown()
    ));
    for name in &report.metrics {
        let name = name.as_str();
        out.push(String::new());
        let first = report.chunks.iter().find_map(|c| c.metrics.get(name));
        out.push(format!(
            "{}  thresholds {} – {}",
            report.metric_label(name),
            shown(first.and_then(|m| m.lower_threshold)),
            shown(first.and_then(|m| m.upper_threshold))
        ));
        for chunk in report.chunks.iter().filter(|c| c.period == Side::Analysis) {
            let m = &chunk.metrics[name];
            let when = match (&chunk.start_date, &chunk.end_date) {
                (Some(a), Some(b)) => {
                    format!("  {} … {}", &a[..a.len().min(10)], &b[..b.len().min(10)])
                }
                _ => String::new(),
            };
            out.push(format!(
                "  {:<24} estimated {} ± {}  realised {}{}{}",
                chunk.key,
                shown(m.estimated),
                shown(m.sampling_error.map(|e| 3.0 * e)),
                shown(m.realized),
                if m.alert { "  ALERT" } else { "" },
                when
            ));
        }
    }
    if let Some(k) = report.components {
        out.push(String::new());
        let first = report.chunks.iter().find_map(|c| c.multivariate);
        out.push(format!(
            "Multivariate drift (reconstruction error, {k} of {} components)  thresholds {} – {}",
            report.multivariate_features.len(),
            shown(first.and_then(|m| m.lower_threshold)),
            shown(first.and_then(|m| m.upper_threshold))
        ));
        for chunk in report.chunks.iter().filter(|c| c.period == Side::Analysis) {
            if let Some(m) = chunk.multivariate {
                out.push(format!(
                    "  {:<24} error {} ± {}{}",
                    chunk.key,
                    shown(m.reconstruction_error),
                    shown(m.sampling_error.map(|e| 3.0 * e)),
                    if m.alert { "  ALERT" } else { "" },
                ));
            }
        }
    }
    if !report.column_drift.is_empty() {
        out.push(String::new());
        let features = report
            .column_drift
            .iter()
            .filter(|c| c.role == Role::Feature)
            .count();
        out.push(format!(
            "Drift per chunk against the whole reference ({features} features, the score{})",
            if report.column_drift.iter().any(|c| c.role == Role::Target) {
                ", the target"
            } else {
                ""
            }
        ));
        let figures = monitor::chart::charts(report);
        let rows = figures
            .iter()
            .find(|f| f.key == "prediction_drift")
            .map(|f| f.chart.analysis_rows(report))
            .unwrap_or_default();
        for (chunk, row) in report
            .chunks
            .iter()
            .filter(|c| c.period == Side::Analysis)
            .zip(&rows)
        {
            let role_drift = |role: Role| {
                report
                    .column_drift
                    .iter()
                    .find(|c| c.role == role)
                    .and_then(|c| chunk.column_drift.get(&c.column))
                    .map_or("–", |d| match (d.score, d.drift) {
                        (None, _) => "–",
                        (Some(_), true) => "DRIFT",
                        (Some(_), false) => "no",
                    })
            };
            let drifted = &row.drifted_features;
            let names = if drifted.len() > 3 {
                format!("{} (+{})", drifted[..3].join(", "), drifted.len() - 3)
            } else {
                drifted.join(", ")
            };
            out.push(format!(
                "  {:<24} score {:<5}  target {:<5}  {} of {features} features{}{}",
                chunk.key,
                role_drift(Role::Prediction),
                role_drift(Role::Target),
                drifted.len(),
                if names.is_empty() { "" } else { ": " },
                names
            ));
        }
    }
    out.push(String::new());
    out.push(if report.alerts.is_empty() {
        "No alerts.".to_owned()
    } else {
        format!(
            "{} alert{}: {}",
            report.alerts.len(),
            if report.alerts.len() == 1 { "" } else { "s" },
            report
                .alerts
                .iter()
                .map(|a| format!("{} in {}", a.metric, a.chunk))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    for w in &report.warnings {
        out.push(format!("warning: {w}"));
    }
    out.join("\n")
}
