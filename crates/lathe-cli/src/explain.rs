//! `lathe explain` and `lathe fairness`.

use std::path::{Path, PathBuf};

use clap::Args;
use lathe_core::Error;
use lathe_core::Project;
use lathe_core::api::Input;
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::display;
use lathe_core::explain::importance::Scoring;
use lathe_core::explain::shap::Algorithm;
use lathe_core::explain::{self, Explanation, Request, store};
use lathe_core::fairness::{self, Fairness, Predictions};

use crate::model::{is_file, load};
use crate::{open_project, print, with_progress};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A registered model (`NAME[@VERSION|@ALIAS]`) or an .onnx file (with --features).
    model: String,
    /// A dataset (`NAME[@VERSION]`) or a file.
    data: String,
    /// shap, lime, permutation (importance) or pdp (partial dependence and ICE).
    #[arg(long, default_value = "shap")]
    method: String,
    /// SHAP algorithm: auto (linear, tree, exact for ≤ 10 features, else permutation), exact,
    /// permutation, linear, tree or kernel (shap's KernelExplainer; auto never picks it).
    #[arg(long, default_value = "auto")]
    algorithm: String,
    /// Rows to explain with SHAP or LIME, `A..B` (0-based, B excluded); default the first
    /// 1000 (SHAP) or 20 (LIME).
    #[arg(long, value_name = "A..B")]
    rows: Option<String>,
    /// Background rows for SHAP, sampled from the data (or --background-data) with the seed.
    #[arg(long, default_value_t = 100, value_name = "N")]
    background: usize,
    /// Sample SHAP's background (LIME: fit its quartiles) from this dataset or file instead
    /// of DATA.
    #[arg(long, value_name = "D|FILE")]
    background_data: Option<String>,
    /// The target column (permutation importance; default: the one given at registration).
    #[arg(long, value_name = "COL")]
    target: Option<String>,
    /// Seed of every random draw (numpy's draws: the same seed gives shap's and scikit-learn's
    /// samples and permutations).
    #[arg(long, default_value_t = 0)]
    seed: u32,
    /// The class whose probability is explained (default: the second of two, else the first).
    #[arg(long, value_name = "LABEL")]
    class: Option<String>,
    /// Model evaluations per row for permutation SHAP (shap's max_evals).
    #[arg(long, default_value_t = 500, value_name = "N")]
    max_evals: usize,
    /// Kernel SHAP: coalitions evaluated per row (default shap's 2 × features + 2048).
    #[arg(long, value_name = "N")]
    nsamples: Option<usize>,
    /// Kernel SHAP's feature selection, as shap's l1_reg: num_features(K) (default
    /// num_features(10)), aic, bic, auto or false.
    #[arg(long, value_name = "RULE")]
    l1_reg: Option<String>,
    /// LIME: samples drawn per explained row.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    samples: usize,
    /// LIME: features kept in each explanation.
    #[arg(long, default_value_t = 10, value_name = "N")]
    num_features: usize,
    /// Permutation importance scorer: accuracy, roc_auc, neg_log_loss (classifiers); r2,
    /// neg_mean_absolute_error, neg_root_mean_squared_error (regressors).
    #[arg(long)]
    scoring: Option<String>,
    /// Permutation importance repeats per feature.
    #[arg(long, default_value_t = 5, value_name = "N")]
    repeats: usize,
    /// Features for partial dependence (default: all).
    #[arg(long = "feature", value_delimiter = ',', value_name = "A,B")]
    pdp_features: Option<Vec<String>>,
    /// Grid points per feature for partial dependence.
    #[arg(long, default_value_t = 100, value_name = "N")]
    grid_resolution: usize,
    /// The model's feature columns in order (for a plain .onnx file).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    features: Option<Vec<String>>,
    /// Memory for the data (e.g. 512MiB, 2GiB; default: a quarter of RAM, at most 2GiB). Over
    /// it, SHAP reads only the rows it explains and its background; LIME, pdp and permutation
    /// work a slice of rows at a time (pdp keeps the ICE lines its chart draws).
    #[arg(long, value_parser = MemoryLimit::parse, value_name = "SIZE")]
    memory_limit: Option<MemoryLimit>,
    /// Write the charts (SVG) and their data (CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FairnessArgs {
    /// MODEL DATA, or DATA alone with --prediction-column.
    #[arg(num_args = 1..=2, required = true, value_name = "MODEL DATA")]
    args: Vec<String>,
    /// Sensitive columns; two or more also give their pairwise intersections.
    #[arg(long, value_delimiter = ',', required = true, value_name = "COL[,COL]")]
    sensitive: Vec<String>,
    /// The column with the actual outcome (default: the model's registered target).
    #[arg(long, value_name = "COL")]
    target: Option<String>,
    /// The data already hold predicted labels in this column; no model is run.
    #[arg(long, value_name = "COL")]
    prediction_column: Option<String>,
    /// The positive (selected) outcome; default the model's second class, or 1/true.
    #[arg(long, value_name = "LABEL")]
    positive: Option<String>,
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    features: Option<Vec<String>>,
    /// Memory for the data (e.g. 512MiB, 2GiB; default: a quarter of RAM, at most 2GiB). Over
    /// it, the data are read and predicted a slice of rows at a time, with the same report.
    #[arg(long, value_parser = MemoryLimit::parse, value_name = "SIZE")]
    memory_limit: Option<MemoryLimit>,
    /// Write the grouped bar chart (SVG) and its data (CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn request(a: &ExplainArgs, target: Option<String>) -> anyhow::Result<Request> {
    Ok(match a.method.as_str() {
        "shap" => Request::Shap {
            algorithm: Algorithm::parse(&a.algorithm)?,
            rows: a.rows.clone(),
            background: a.background,
            max_evals: a.max_evals,
            seed: a.seed,
            class: a.class.clone(),
            nsamples: a.nsamples,
            l1_reg: a
                .l1_reg
                .as_deref()
                .map(explain::kernel::L1Reg::parse)
                .transpose()?,
        },
        "permutation" => Request::Permutation {
            scoring: a.scoring.as_deref().map(Scoring::parse).transpose()?,
            repeats: a.repeats,
            seed: a.seed,
            target: target.ok_or_else(|| Error::BadArgument {
                argument: "target",
                detail: "permutation importance scores predictions: pass the target column with --target COL".to_owned(),
            })?,
            class: a.class.clone(),
        },
        "pdp" => Request::Pdp {
            features: a.pdp_features.clone(),
            grid_resolution: a.grid_resolution,
            class: a.class.clone(),
        },
        "lime" => Request::Lime {
            rows: a.rows.clone(),
            samples: a.samples,
            num_features: a.num_features,
            seed: a.seed,
            class: a.class.clone(),
        },
        other => {
            return Err(Error::BadArgument {
                argument: "method",
                detail: format!("{other:?} is not one of shap, lime, permutation, pdp"),
            }
            .into());
        }
    })
}

pub fn run_explain(a: ExplainArgs, dir: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let mut project = None;
    let data_is_file = Input::data(&a.data).is_file();
    let bg_is_file = a
        .background_data
        .as_deref()
        .is_some_and(|b| Input::data(b).is_file());
    let stored = !is_file(&a.model) && !data_is_file && !bg_is_file && a.features.is_none();
    let (explanation, note) = if stored {
        let p = open_project(dir)?;
        let target = a.target.clone().or_else(|| {
            lathe_core::model::registry::show(&p, &a.model)
                .ok()
                .and_then(|v| v.target)
        });
        let req = request(&a, target)?;
        let s = with_progress(|job| {
            store::explain_stored(
                &p,
                &a.model,
                &a.data,
                a.background_data.as_deref(),
                &req,
                a.memory_limit,
                job,
            )
        })?;
        let note = if s.reopened {
            format!("(stored {}; computed in {:.2} s)", s.created_at, s.seconds)
        } else {
            format!("(computed in {:.2} s, stored)", s.seconds)
        };
        (s.result, note)
    } else {
        let loaded = load(&a.model, a.features.clone(), &mut project, dir)?;
        let req = request(&a, a.target.clone().or(loaded.target.clone()))?;
        let data = crate::drift::source(&a.data, &mut project, dir)?;
        let bg = match &a.background_data {
            Some(b) => Some(crate::drift::source(b, &mut project, dir)?),
            None => None,
        };
        let start = std::time::Instant::now();
        let e = with_progress(|job| {
            explain::source::explain_source(
                &explain::source::SourceInput {
                    model: &loaded.model,
                    features: &loaded.features,
                    data: &data,
                    background: bg.as_ref(),
                    limit: a.memory_limit.unwrap_or_else(MemoryLimit::for_this_machine),
                },
                &req,
                job,
            )
        })?;
        (
            e,
            format!("(computed in {:.2} s)", start.elapsed().as_secs_f64()),
        )
    };
    if let Some(out) = &a.out {
        let written = explain::chart::write_all(&explanation, out)?;
        if !json {
            eprintln!("Wrote {} charts to {}", written.len(), out.display());
        }
    }
    print(json, &explanation, || explanation_text(&explanation, &note))
}

fn explanation_text(e: &Explanation, note: &str) -> String {
    let mut out = Vec::new();
    match e {
        Explanation::Shap(s) => {
            out.push(format!(
                "SHAP ({}) of the {}, {} rows against {} background rows {note}",
                s.algorithm_text(),
                s.output.description,
                s.rows.len(),
                s.background_rows
            ));
            out.push(format!("base value {:.6}", s.base_value));
            out.push(format!("{:<28} {:>14}", "feature", "mean |SHAP|"));
            for (name, v) in explain::chart::mean_abs(s) {
                out.push(format!("{name:<28} {v:>14.6}"));
            }
        }
        Explanation::Permutation(p) => {
            out.push(format!(
                "Permutation importance ({}, {} repeats, seed {}); baseline score {:.6} {note}",
                p.scoring.name(),
                p.repeats,
                p.seed,
                p.baseline_score
            ));
            out.push(format!("{:<28} {:>12} {:>12}", "feature", "mean", "std"));
            let mut rows: Vec<_> = p.features.iter().collect();
            rows.sort_by(|a, b| b.importance_mean.total_cmp(&a.importance_mean));
            for f in rows {
                out.push(format!(
                    "{:<28} {:>12.6} {:>12.6}",
                    f.name, f.importance_mean, f.importance_std
                ));
            }
        }
        Explanation::Lime(l) => {
            out.push(format!(
                "LIME of the {}, {} samples per row, kernel width {:.3} {note}",
                l.output.description, l.samples, l.kernel_width
            ));
            for r in &l.rows {
                out.push(format!(
                    "row {}: intercept {:.6}, local prediction {:.6}, model {:.6}, R² {:.4}",
                    r.row, r.intercept, r.local_prediction, r.model_output, r.score
                ));
                for w in r.weights.iter().take(5) {
                    out.push(format!("  {:<36} {:>12.6}", w.condition, w.weight));
                }
            }
        }
        Explanation::Pdp(d) => {
            out.push(format!(
                "Partial dependence of the {} {note}",
                d.output.description
            ));
            out.push(format!(
                "{:<28} {:>6} {:>12} {:>12} {:>12}",
                "feature", "grid", "from", "to", "PD range"
            ));
            for f in &d.features {
                let lo = f.average.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = f.average.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                out.push(format!(
                    "{:<28} {:>6} {:>12.4} {:>12.4} {:>12.6}",
                    f.name,
                    f.grid.len(),
                    f.grid.first().copied().unwrap_or(f64::NAN),
                    f.grid.last().copied().unwrap_or(f64::NAN),
                    hi - lo
                ));
            }
        }
    }
    out.join("\n")
}

/// The outcome column fairness compares predictions with.
fn need_target(target: Option<String>) -> Result<String, Error> {
    target.ok_or_else(|| Error::BadArgument {
        argument: "target",
        detail: "pass the column with the actual outcome: --target COL".to_owned(),
    })
}

pub fn run_fairness(a: FairnessArgs, dir: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let (model, data) = match (&a.prediction_column, a.args.as_slice()) {
        (Some(_), [data]) => (None, data.clone()),
        (None, [model, data]) => (Some(model.clone()), data.clone()),
        (Some(_), _) => {
            return Err(Error::BadArgument {
                argument: "prediction-column",
                detail: "with --prediction-column, give the data alone (no model)".to_owned(),
            }
            .into());
        }
        (None, _) => {
            return Err(Error::BadArgument {
                argument: "model",
                detail: "give MODEL DATA, or DATA with --prediction-column COL".to_owned(),
            }
            .into());
        }
    };
    let mut project = None;
    let limit = a.memory_limit.unwrap_or_else(MemoryLimit::for_this_machine);
    // A model file or a prediction column, on a file, a URL or a stored version.
    let assess = |predictions: &Predictions,
                  target: &str,
                  project: &mut Option<Project>|
     -> anyhow::Result<Fairness> {
        let source = crate::drift::source(&data, project, dir)?;
        Ok(with_progress(|job| {
            fairness::assess_source(
                &source,
                &data,
                predictions,
                target,
                &a.sensitive,
                a.positive.as_deref(),
                limit,
                job,
            )
        })?)
    };
    let report: Fairness = match model {
        Some(m)
            if !is_file(&m)
                && !Input::data(&data).is_file()
                && a.features.is_none()
                && a.positive.is_none() =>
        {
            let p = open_project(dir)?;
            with_progress(|job| {
                fairness::store::fairness_stored(
                    &p,
                    &m,
                    &data,
                    a.target.as_deref(),
                    &a.sensitive,
                    a.memory_limit,
                    job,
                )
            })?
        }
        Some(m) => {
            let loaded = load(&m, a.features.clone(), &mut project, dir)?;
            let target = need_target(a.target.clone().or(loaded.target.clone()))?;
            let predictions = Predictions::Model {
                model: &loaded.model,
                name: loaded.name.clone(),
                features: &loaded.features,
            };
            assess(&predictions, &target, &mut project)?
        }
        None => {
            let col = a.prediction_column.as_deref().unwrap_or_default();
            let target = need_target(a.target.clone())?;
            assess(&Predictions::Column(col), &target, &mut project)?
        }
    };
    if let Some(out) = &a.out {
        let written = fairness::chart::write_all(&report, out)?;
        if !json {
            eprintln!("Wrote {} charts to {}", written.len(), out.display());
        }
    }
    print(json, &report, || fairness_text(&report))
}

fn fairness_text(f: &Fairness) -> String {
    let mut out = vec![format!(
        "Fairness of {} on {} ({} rows; target {}, positive outcome {:?})",
        f.predictions, f.data, f.rows, f.target, f.positive_label
    )];
    let shown = lathe_core::api::shown_fairness(f);
    for (name, r) in &f.by_sensitive {
        // The core decides what is flagged; this only says so.
        let below = |ratio: &str| {
            if r.flagged.iter().any(|n| n == ratio) {
                format!(" (below {})", display::number(f.threshold))
            } else {
                String::new()
            }
        };
        let Some(s) = shown.get(name) else {
            continue;
        };
        out.push(String::new());
        out.push(format!(
            "{name}: demographic parity difference {}, ratio {}{}; equalized odds difference {}, ratio {}{}",
            s.demographic_parity_difference,
            s.demographic_parity_ratio,
            below("demographic_parity_ratio"),
            s.equalized_odds_difference,
            s.equalized_odds_ratio,
            below("equalized_odds_ratio"),
        ));
        out.push(format!(
            "  {:<24} {:>7} {:>10} {:>9} {:>7} {:>7}",
            "group", "count", "selection", "accuracy", "TPR", "FPR"
        ));
        for [group, count, selection, accuracy, tpr, fpr] in &s.groups {
            out.push(format!(
                "  {group:<24} {count:>7} {selection:>10} {accuracy:>9} {tpr:>7} {fpr:>7}"
            ));
        }
    }
    out.join("\n")
}
