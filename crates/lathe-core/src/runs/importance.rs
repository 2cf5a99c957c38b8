//! Which hyperparameters matter for a metric: PED-ANOVA as Optuna's
//! `PedAnovaImportanceEvaluator` computes it (Watanabe et al., IJCAI 2023; the conditional
//! form of KDD 2026 for params some runs lack), and each param's Pearson correlation with the
//! metric, as W&B's parameter-importance panel pairs them.
//!
//! Runs carry param values, not the search space they were drawn from, so each param's domain
//! is inferred from the values: numbers (integers: an integer domain) from the smallest to the
//! largest seen, on a log scale when every value is positive and the largest is at least 100
//! times the smallest (or when asked), anything else categorical over the values seen.
//! Optuna's evaluator given the same domains gives the same importances (the parity tests).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Agg, RunQuery, RunRecord};
use crate::project::Project;
use crate::{Error, Result};

/// How the importances are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ImportanceMethod {
    /// PED-ANOVA (Optuna's default evaluator since 5.0).
    #[default]
    PedAnova,
    /// fANOVA on a random forest (Optuna's `FanovaImportanceEvaluator`, seed 0).
    Fanova,
    /// The absolute Pearson correlation of each numeric param with the metric.
    Correlation,
}

impl std::str::FromStr for ImportanceMethod {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "ped-anova" => Ok(ImportanceMethod::PedAnova),
            "correlation" => Ok(ImportanceMethod::Correlation),
            "fanova" => Ok(ImportanceMethod::Fanova),
            other => Err(Error::bad_argument(
                "--method",
                format!("{other:?}: expected ped-anova, fanova or correlation"),
            )),
        }
    }
}

/// Whether lower or higher values of the metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MetricDirection {
    Minimize,
    Maximize,
}

impl MetricDirection {
    /// What the direction means, as every front end says it.
    pub fn text(self) -> &'static str {
        match self {
            MetricDirection::Minimize => "lower is better",
            MetricDirection::Maximize => "higher is better",
        }
    }
}

impl std::str::FromStr for MetricDirection {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "minimize" => Ok(MetricDirection::Minimize),
            "maximize" => Ok(MetricDirection::Maximize),
            other => Err(Error::bad_argument(
                "--direction",
                format!("{other:?}: expected minimize or maximize"),
            )),
        }
    }
}

/// Metric names whose direction goes without saying.
fn guessed_direction(metric: &str) -> Option<MetricDirection> {
    let m = metric.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&[
        "loss",
        "error",
        "err",
        "rmse",
        "mse",
        "mae",
        "mape",
        "perplexity",
        "latency",
    ]) {
        Some(MetricDirection::Minimize)
    } else if has(&[
        "acc",
        "auc",
        "f1",
        "precision",
        "recall",
        "r2",
        "score",
        "map",
        "ndcg",
        "bleu",
        "iou",
    ]) {
        Some(MetricDirection::Maximize)
    } else {
        None
    }
}

/// What to compute.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportanceRequest {
    pub metric: String,
    /// Which value of the metric a run counts with (MLflow's latest by default).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "\"last\" | \"min\" | \"max\""))]
    pub agg: Agg,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub experiment: Option<String>,
    /// Only these runs (Lathe's ids); empty: every run the filter matches.
    #[serde(default)]
    pub runs: Vec<i64>,
    /// `None`: guessed from the metric's name (an error when it cannot be).
    #[serde(default)]
    pub direction: Option<MetricDirection>,
    #[serde(default)]
    pub method: ImportanceMethod,
    /// PED-ANOVA's γ′ (Optuna's `target_quantile`, default 0.1).
    #[serde(default = "default_target_quantile")]
    pub target_quantile: f64,
    /// PED-ANOVA's γ (Optuna's `region_quantile`, default 1.0).
    #[serde(default = "default_region_quantile")]
    pub region_quantile: f64,
    /// Params to read on a log scale whatever their values.
    #[serde(default)]
    pub log_params: Vec<String>,
}

fn default_target_quantile() -> f64 {
    0.1
}

fn default_region_quantile() -> f64 {
    1.0
}

impl ImportanceRequest {
    pub fn new(metric: &str) -> Self {
        ImportanceRequest {
            metric: metric.to_owned(),
            agg: Agg::Last,
            filter: None,
            experiment: None,
            runs: Vec::new(),
            direction: None,
            method: ImportanceMethod::PedAnova,
            target_quantile: 0.1,
            region_quantile: 1.0,
            log_params: Vec::new(),
        }
    }
}

/// One param's importance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParamImportance {
    pub param: String,
    /// Normalised: the importances sum to 1 (equal shares when every one is 0, as Optuna's
    /// `get_param_importances` gives them).
    pub importance: f64,
    /// Pearson's r of the param's values with the metric over the runs holding both; `null`
    /// for a categorical param or when either side is constant.
    pub correlation: Option<f64>,
    /// `linear`, `log`, `integer`, `log-integer` or `categorical`: the domain inferred.
    pub scale: String,
    /// How many of the runs used hold the param.
    pub runs: u64,
}

/// The `lathe runs importance --json` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HyperparameterImportance {
    pub metric: String,
    pub direction: MetricDirection,
    pub method: ImportanceMethod,
    /// Runs with a finite value of the metric.
    pub runs_used: u64,
    /// Most important first.
    pub importances: Vec<ParamImportance>,
    /// What the reader should know (too few runs, params missing from runs…).
    pub notes: Vec<String>,
}

/// A param's domain, as Optuna's distributions describe one.
#[derive(Debug, Clone, PartialEq)]
enum Domain {
    Numeric {
        low: f64,
        high: f64,
        log: bool,
        integer: bool,
    },
    Categorical {
        choices: Vec<String>,
    },
}

impl Domain {
    fn single(&self) -> bool {
        match self {
            Domain::Numeric { low, high, .. } => low == high,
            Domain::Categorical { choices } => choices.len() <= 1,
        }
    }

    fn scale(&self) -> &'static str {
        match self {
            Domain::Numeric {
                log: false,
                integer: false,
                ..
            } => "linear",
            Domain::Numeric {
                log: true,
                integer: false,
                ..
            } => "log",
            Domain::Numeric {
                log: false,
                integer: true,
                ..
            } => "integer",
            Domain::Numeric {
                log: true,
                integer: true,
                ..
            } => "log-integer",
            Domain::Categorical { .. } => "categorical",
        }
    }
}

/// A run as the computation sees it.
struct Trial<'a> {
    value: f64,
    params: &'a BTreeMap<String, String>,
}

/// Computes the importances of the params of the runs `request` selects for its metric.
pub fn importance(
    project: &Project,
    request: &ImportanceRequest,
) -> Result<HyperparameterImportance> {
    if !(0.0 < request.target_quantile
        && request.target_quantile < request.region_quantile
        && request.region_quantile <= 1.0)
    {
        return Err(Error::bad_argument(
            "--target-quantile",
            format!(
                "0 < target quantile ({}) < region quantile ({}) <= 1 must hold, as Optuna \
                 requires",
                request.target_quantile, request.region_quantile
            ),
        ));
    }
    let page = super::list(
        project,
        &RunQuery {
            experiment: request.experiment.clone(),
            filter: request.filter.clone(),
            ..RunQuery::default()
        },
    )?;
    if !page.metric_keys.contains(&request.metric) {
        return Err(Error::bad_argument(
            "--metric",
            format!(
                "no run{} logs the metric {:?}; metrics logged: {}",
                if request.filter.is_some() {
                    " matching the filter"
                } else {
                    ""
                },
                request.metric,
                if page.metric_keys.is_empty() {
                    "none".to_owned()
                } else {
                    page.metric_keys.join(", ")
                }
            ),
        ));
    }
    let direction = match request
        .direction
        .or_else(|| guessed_direction(&request.metric))
    {
        Some(d) => d,
        None => {
            return Err(Error::bad_argument(
                "--direction",
                format!(
                    "whether a lower or a higher {:?} is better cannot be told from its name: \
                     give --direction minimize or --direction maximize",
                    request.metric
                ),
            ));
        }
    };
    let chosen: BTreeSet<i64> = request.runs.iter().copied().collect();
    // Optuna assesses the params of every complete trial and uses the finite-valued ones.
    // Oldest first, as a study's trials are numbered: fANOVA's bootstrap samples rows by
    // position.
    let mut in_order: Vec<&RunRecord> = page.runs.iter().collect();
    in_order.sort_by_key(|r| (r.start_time.unwrap_or(i64::MIN), r.id));
    let with_metric: Vec<_> = in_order
        .into_iter()
        .filter(|r| chosen.is_empty() || chosen.contains(&r.id))
        .filter_map(|r| {
            let v = r.metrics.get(&request.metric)?.value(request.agg)?.0;
            Some((v, &r.params))
        })
        .collect();
    let names: BTreeSet<&String> = with_metric.iter().flat_map(|(_, p)| p.keys()).collect();
    let trials: Vec<Trial> = with_metric
        .iter()
        .filter(|(v, _)| v.is_finite())
        .map(|&(value, params)| Trial { value, params })
        .collect();
    let mut notes = Vec::new();
    let logged: BTreeSet<&str> = request.log_params.iter().map(String::as_str).collect();
    for name in &logged {
        if !names.iter().any(|n| n.as_str() == *name) {
            return Err(Error::bad_argument(
                "--log",
                format!("no run used holds the param {name:?}"),
            ));
        }
    }
    let domains: BTreeMap<&str, Domain> = names
        .iter()
        .map(|name| {
            let values = trials
                .iter()
                .filter_map(|t| t.params.get(*name).map(String::as_str));
            (name.as_str(), infer(values, logged.contains(name.as_str())))
        })
        .collect();
    // Per param: how many runs hold it, and its correlation with the metric.
    let held: BTreeMap<&str, usize> = domains
        .keys()
        .map(|n| {
            (
                *n,
                trials.iter().filter(|t| t.params.contains_key(*n)).count(),
            )
        })
        .collect();
    let correlations: BTreeMap<&str, Option<f64>> = domains
        .keys()
        .map(|n| (*n, correlation(&trials, n)))
        .collect();
    for (name, domain) in &domains {
        let held = held[name];
        if held < trials.len() && request.method == ImportanceMethod::Fanova {
            notes.push(format!(
                "{name} is held by {held} of {} runs: fANOVA, as Optuna's, assesses only the \
                 params every run holds, so it is left out",
                trials.len()
            ));
        } else if held < trials.len() {
            notes.push(format!(
                "{name} is held by {held} of {} runs: the others form their own regime, as \
                 Optuna treats a conditional param",
                trials.len()
            ));
        }
        if let Domain::Numeric { log: true, .. } = domain
            && !logged.contains(name)
        {
            notes.push(format!(
                "{name} is read on a log scale (every value positive, the largest at least 100 \
                 times the smallest)"
            ));
        }
    }
    let raw: BTreeMap<&str, f64> = match request.method {
        ImportanceMethod::PedAnova => {
            if trials.len() <= 1 {
                notes.push(
                    "too few runs with a finite value to compute importances: they are equal"
                        .to_owned(),
                );
                domains.keys().map(|n| (*n, 0.0)).collect()
            } else {
                ped_anova(
                    &trials,
                    &domains,
                    direction,
                    request.target_quantile,
                    request.region_quantile,
                )
            }
        }
        ImportanceMethod::Fanova => fanova(&trials, &domains, &mut notes),
        ImportanceMethod::Correlation => correlations
            .iter()
            .map(|(n, r)| (*n, r.map_or(0.0, f64::abs)))
            .collect(),
    };
    let total: f64 = raw.values().sum();
    let count = raw.len() as f64;
    let mut importances: Vec<ParamImportance> = raw
        .iter()
        .map(|(name, v)| ParamImportance {
            param: (*name).to_owned(),
            importance: if total == 0.0 { 1.0 / count } else { v / total },
            correlation: correlations[name],
            scale: domains[name].scale().to_owned(),
            runs: held[name] as u64,
        })
        .collect();
    importances.sort_by(|a, b| {
        b.importance
            .total_cmp(&a.importance)
            .then_with(|| a.param.cmp(&b.param))
    });
    Ok(HyperparameterImportance {
        metric: request.metric.clone(),
        direction,
        method: request.method,
        runs_used: trials.len() as u64,
        importances,
        notes,
    })
}

/// fANOVA's importances of the params every run holds (Optuna's intersection search space):
/// numbers as they are, categoricals one-hot; a param with one value has none.
fn fanova<'a>(
    trials: &[Trial],
    domains: &BTreeMap<&'a str, Domain>,
    notes: &mut Vec<String>,
) -> BTreeMap<&'a str, f64> {
    let held: Vec<(&'a str, &Domain)> = domains
        .iter()
        .filter(|(name, _)| trials.iter().all(|t| t.params.contains_key(**name)))
        .map(|(name, domain)| (*name, domain))
        .collect();
    let mut raw: BTreeMap<&str, f64> = held.iter().map(|(name, _)| (*name, 0.0)).collect();
    let varying: Vec<(&str, &Domain)> = held.into_iter().filter(|(_, d)| !d.single()).collect();
    if trials.len() <= 1 || varying.is_empty() {
        notes.push("too few runs, or no param that varies: the importances are equal".to_owned());
        return raw;
    }
    let mut space = super::fanova::Space {
        bounds: Vec::new(),
        params: Vec::new(),
    };
    for (_, domain) in &varying {
        let first = space.bounds.len();
        match domain {
            Domain::Numeric { low, high, .. } => space.bounds.push((*low, *high)),
            Domain::Categorical { choices } => {
                space.bounds.extend(choices.iter().map(|_| (0.0, 1.0)));
            }
        }
        space.params.push((first..space.bounds.len()).collect());
    }
    let x: Vec<Vec<f64>> = trials
        .iter()
        .map(|t| {
            let mut row = Vec::with_capacity(space.bounds.len());
            for (name, domain) in &varying {
                let text = t.params.get(*name).map(String::as_str).unwrap_or("");
                match domain {
                    Domain::Numeric { .. } => {
                        row.push(text.trim().parse::<f64>().unwrap_or(f64::NAN));
                    }
                    Domain::Categorical { choices } => {
                        row.extend(choices.iter().map(|c| f64::from(u8::from(c == text))));
                    }
                }
            }
            row
        })
        .collect();
    let y: Vec<f64> = trials.iter().map(|t| t.value).collect();
    match super::fanova::importances(&x, &y, &space, super::fanova::Forest::default()) {
        Some(values) => {
            for ((name, _), v) in varying.iter().zip(values) {
                raw.insert(*name, v);
            }
        }
        None => notes.push(
            "the forest found no variance in the metric over these runs: the importances are \
             equal"
                .to_owned(),
        ),
    }
    raw
}

/// A param's domain from its values (see the module's documentation).
fn infer<'a>(values: impl Iterator<Item = &'a str>, log: bool) -> Domain {
    let values: Vec<&str> = values.collect();
    let numbers: Option<Vec<f64>> = values
        .iter()
        .map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    match numbers {
        Some(numbers) if !numbers.is_empty() && (!log || numbers.iter().all(|&x| x > 0.0)) => {
            let low = numbers.iter().copied().fold(f64::INFINITY, f64::min);
            let high = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let integer = values.iter().all(|v| v.trim().parse::<i64>().is_ok());
            let log = log || (low > 0.0 && high >= 100.0 * low);
            Domain::Numeric {
                low,
                high,
                log,
                integer,
            }
        }
        _ => {
            let choices: BTreeSet<&str> = values.iter().copied().collect();
            Domain::Categorical {
                choices: choices.into_iter().map(str::to_owned).collect(),
            }
        }
    }
}

/// Pearson's r of a numeric param with the metric, over the runs holding it.
fn correlation(trials: &[Trial], name: &str) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = trials
        .iter()
        .filter_map(|t| {
            let x = t.params.get(name)?.trim().parse::<f64>().ok()?;
            x.is_finite().then_some((x, t.value))
        })
        .collect();
    if pairs.len() < 2
        || pairs.len()
            < trials
                .iter()
                .filter(|t| t.params.contains_key(name))
                .count()
    {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The trials whose loss is at most the `quantile`'s (Optuna's `_QuantileFilter`: the
/// inverted-CDF quantile, ties kept).
fn top_quantile(losses: &[f64], quantile: f64) -> Vec<bool> {
    if quantile == 1.0 {
        return vec![true; losses.len()];
    }
    let cutoff_index = ((quantile * losses.len() as f64).ceil() as usize).saturating_sub(1);
    let mut sorted = losses.to_vec();
    let (_, cutoff, _) = sorted.select_nth_unstable_by(cutoff_index, f64::total_cmp);
    let cutoff = *cutoff;
    losses.iter().map(|&l| l <= cutoff).collect()
}

/// Optuna's `PedAnovaImportanceEvaluator.evaluate` (before normalisation): n_steps 50, prior
/// weight 1, at least 2 trials a regime, evaluated on the local (region) space.
fn ped_anova<'a>(
    trials: &[Trial],
    domains: &BTreeMap<&'a str, Domain>,
    direction: MetricDirection,
    target_quantile: f64,
    region_quantile: f64,
) -> BTreeMap<&'a str, f64> {
    let sign = match direction {
        MetricDirection::Minimize => 1.0,
        MetricDirection::Maximize => -1.0,
    };
    let losses: Vec<f64> = trials.iter().map(|t| sign * t.value).collect();
    let in_target = top_quantile(&losses, target_quantile);
    let in_region = top_quantile(&losses, region_quantile);
    let target: Vec<usize> = (0..trials.len()).filter(|&i| in_target[i]).collect();
    let region: Vec<usize> = (0..trials.len()).filter(|&i| in_region[i]).collect();
    let mut out: BTreeMap<&str, f64> = domains.keys().map(|n| (*n, 0.0)).collect();
    if target.is_empty() {
        return out;
    }
    let quantile = target.len() as f64 / region.len() as f64;
    for (name, domain) in domains {
        // The regimes: the region's trials holding the param, and those without it.
        let (holding, lacking): (Vec<usize>, Vec<usize>) = region
            .iter()
            .partition(|&&i| trials[i].params.contains_key(*name));
        let mut importance = 0.0;
        for (regime, active) in [(holding, true), (lacking, false)] {
            if regime.len() < 2 || !active || domain.single() {
                continue;
            }
            let top: Vec<usize> = regime.iter().copied().filter(|&i| in_target[i]).collect();
            if top.is_empty() {
                continue;
            }
            let alpha = top.len() as f64 / target.len() as f64;
            let beta = regime.len() as f64 / region.len() as f64;
            let values = |ids: &[usize]| -> Vec<&str> {
                ids.iter()
                    .filter_map(|&i| trials[i].params.get(*name).map(String::as_str))
                    .collect()
            };
            importance +=
                alpha * alpha / beta * pearson_divergence(domain, &values(&top), &values(&regime));
        }
        out.insert(name, importance * quantile * quantile);
    }
    out
}

/// Optuna's `_compute_pearson_divergence` with `evaluate_on_local`: Σ p_local (p_top/p_local − 1)²
/// over the grid, each density a Scott's-rule Parzen estimator on the grid plus 1e-12.
fn pearson_divergence(domain: &Domain, top: &[&str], local: &[&str]) -> f64 {
    let (p_top, size) = parzen_on_grid(domain, top);
    let (p_local, _) = parzen_on_grid(domain, local);
    let mut sum = 0.0;
    for g in 0..size {
        let (t, l) = (p_top[g] + 1e-12, p_local[g] + 1e-12);
        sum += l * ((t / l - 1.0) * (t / l - 1.0));
    }
    sum
}

const N_STEPS: usize = 50;
const PRIOR_WEIGHT: f64 = 1.0;

/// Optuna's `build_parzen_estimator_on_grid` then `pdf` at every grid point.
fn parzen_on_grid(domain: &Domain, values: &[&str]) -> (Vec<f64>, usize) {
    match domain {
        Domain::Numeric {
            low,
            high,
            log,
            integer,
        } => {
            let mut n_steps = N_STEPS;
            if *integer && *log {
                let log2_size = ((high - low + 1.0).ln() / 2f64.ln()).ceil() as usize + 1;
                n_steps = n_steps.min(log2_size);
            } else if *integer {
                n_steps = n_steps.min((high - low).round() as usize + 1);
            }
            let t = |x: f64| if *log { x.ln() } else { x };
            let (lo, hi) = (t(*low), t(*high));
            let step = (hi - lo) / (n_steps as f64 - 1.0);
            let mut counts = vec![0u64; n_steps];
            for v in values {
                let x = t(v.trim().parse::<f64>().unwrap_or(f64::NAN));
                let index = ((x - lo) / step - 0.5).ceil();
                let index = if index.is_nan() { 0.0 } else { index };
                counts[(index.max(0.0) as usize).min(n_steps - 1)] += 1;
            }
            (numeric_pdf(&counts), n_steps)
        }
        Domain::Categorical { choices } => {
            let mut counts = vec![0u64; choices.len()];
            for v in values {
                if let Ok(i) = choices.binary_search_by(|c| c.as_str().cmp(v)) {
                    counts[i] += 1;
                }
            }
            (categorical_pdf(&counts), choices.len())
        }
    }
}

/// The mixture weights: the observations' counts and the prior's weight, normalised.
fn mixture_weights(weights: &[u64]) -> Vec<f64> {
    let mut w: Vec<f64> = weights.iter().map(|&c| c as f64).collect();
    if w.is_empty() {
        return vec![1.0];
    }
    w.push(PRIOR_WEIGHT);
    let total: f64 = w.iter().sum();
    w.iter().map(|x| x / total).collect()
}

/// Log-sum-exp of each grid point's weighted kernel log densities, as numpy computes it.
fn log_sum_exp(terms: &[f64]) -> f64 {
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let max = if max == f64::NEG_INFINITY { 0.0 } else { max };
    terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln() + max
}

fn categorical_pdf(counts: &[u64]) -> Vec<f64> {
    let n_choices = counts.len();
    let observations: Vec<usize> = (0..n_choices).filter(|&i| counts[i] > 0).collect();
    let weights: Vec<u64> = observations.iter().map(|&i| counts[i]).collect();
    let mix = mixture_weights(&weights);
    // One kernel per observation and the prior's: a row of choice probabilities each.
    let kernels: Vec<Vec<f64>> = if observations.is_empty() {
        vec![vec![1.0 / n_choices as f64; n_choices]]
    } else {
        let n_kernels = observations.len() + 1;
        (0..n_kernels)
            .map(|k| {
                let mut row = vec![PRIOR_WEIGHT / n_kernels as f64; n_choices];
                if let Some(&o) = observations.get(k) {
                    row[o] += 1.0;
                }
                let sum: f64 = row.iter().sum();
                let sum = if sum == 0.0 { 1.0 } else { sum };
                row.iter().map(|x| x / sum).collect()
            })
            .collect()
    };
    (0..n_choices)
        .map(|x| {
            let terms: Vec<f64> = kernels
                .iter()
                .zip(&mix)
                .map(|(row, w)| row[x].ln() + w.ln())
                .collect();
            log_sum_exp(&terms).exp()
        })
        .collect()
}

fn numeric_pdf(counts: &[u64]) -> Vec<f64> {
    let size = counts.len();
    let observations: Vec<f64> = (0..size)
        .filter(|&i| counts[i] > 0)
        .map(|i| i as f64)
        .collect();
    let weights: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    let mix = mixture_weights(&weights);
    let (low, high) = (0.0, (size - 1) as f64);
    let wsum: u64 = weights.iter().sum();
    let wf: Vec<f64> = weights.iter().map(|&w| w as f64).collect();
    let wsum_f = wsum as f64;
    let mean = observations
        .iter()
        .zip(&wf)
        .map(|(o, w)| o * w)
        .sum::<f64>()
        / wsum_f;
    let sigma = (observations
        .iter()
        .zip(&wf)
        .map(|(o, w)| (o - mean) * (o - mean) * w)
        .sum::<f64>()
        / (wsum_f - 1.0).max(1.0))
    .sqrt();
    // np.searchsorted on the cumulative weights, of wsum // 4 (left) and wsum * 3 // 4 (right).
    let mut cum = Vec::with_capacity(weights.len());
    let mut acc = 0u64;
    for w in &weights {
        acc += w;
        cum.push(acc);
    }
    let q1 = cum.partition_point(|&c| c < wsum / 4);
    let q3 = cum.partition_point(|&c| c <= wsum * 3 / 4);
    let iqr = observations[q3.min(observations.len() - 1)] - observations[q1];
    let sigma_est = 1.059 * (iqr / 1.34).min(sigma) * wsum_f.powf(-0.2);
    let sigma_min = 0.5 / 1.64;
    let mut mus = observations.clone();
    mus.push((low + high) / 2.0);
    let mut sigmas = vec![sigma_est.max(sigma_min); observations.len()];
    sigmas.push(high - low + 1.0);
    (0..size)
        .map(|x| {
            let x = x as f64;
            let terms: Vec<f64> = mus
                .iter()
                .zip(&sigmas)
                .zip(&mix)
                .map(|((mu, sigma), w)| {
                    log_gauss_mass((x - 0.5 - mu) / sigma, (x + 0.5 - mu) / sigma)
                        - log_gauss_mass((low - 0.5 - mu) / sigma, (high + 0.5 - mu) / sigma)
                        + w.ln()
                })
                .collect();
            log_sum_exp(&terms).exp()
        })
        .collect()
}

/// The standard normal CDF as Optuna's `_ndtr_single` computes it.
fn ndtr(a: f64) -> f64 {
    use libm::{erf, erfc};
    let x = a / std::f64::consts::SQRT_2;
    if x < -std::f64::consts::FRAC_1_SQRT_2 {
        0.5 * erfc(-x)
    } else if x < std::f64::consts::FRAC_1_SQRT_2 {
        0.5 + 0.5 * erf(x)
    } else {
        1.0 - 0.5 * erfc(x)
    }
}

/// Optuna's `_log_ndtr_single`: the log of the normal CDF, by an asymptotic series far left.
fn log_ndtr(a: f64) -> f64 {
    if a > 6.0 {
        return -ndtr(-a);
    }
    if a > -20.0 {
        return ndtr(a).ln();
    }
    let log_lhs = -0.5 * a * a - (-a).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
    let (mut last, mut rhs, mut numerator, mut denom_factor) = (0.0f64, 1.0f64, 1.0f64, 1.0f64);
    let denom_cons = 1.0 / (a * a);
    let mut sign = 1.0;
    let mut i = 0.0;
    while (last - rhs).abs() > f64::EPSILON {
        i += 1.0;
        last = rhs;
        sign = -sign;
        denom_factor *= denom_cons;
        numerator *= 2.0 * i - 1.0;
        rhs += sign * numerator * denom_factor;
    }
    log_lhs + rhs.ln()
}

/// Optuna's `_log_gauss_mass`: the log of the standard normal's mass on [a, b].
fn log_gauss_mass(a: f64, b: f64) -> f64 {
    let left = |a: f64, b: f64| {
        let (lb, la) = (log_ndtr(b), log_ndtr(a));
        lb + (-(la - lb).exp()).ln_1p()
    };
    if b <= 0.0 {
        left(a, b)
    } else if a > 0.0 {
        left(-b, -a)
    } else {
        (-ndtr(a) - ndtr(-b)).ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_filter_keeps_ties() {
        assert_eq!(
            top_quantile(&[3.0, 1.0, 2.0, 1.0, 5.0], 0.2),
            vec![false, true, false, true, false]
        );
        assert_eq!(top_quantile(&[3.0, 1.0, 2.0], 0.5), vec![false, true, true]);
    }

    #[test]
    fn domains_from_values() {
        let d = infer(["0.001", "0.1", "0.01"].into_iter(), false);
        assert_eq!(d.scale(), "log");
        let d = infer(["1", "8", "3"].into_iter(), false);
        assert_eq!(d.scale(), "integer");
        let d = infer(["adam", "sgd", "adam"].into_iter(), false);
        assert_eq!(
            d,
            Domain::Categorical {
                choices: vec!["adam".into(), "sgd".into()]
            }
        );
        let d = infer(["16", "512"].into_iter(), true);
        assert_eq!(d.scale(), "log-integer");
    }

    #[test]
    fn gauss_mass_is_the_normal_cdf_difference() {
        let whole = log_gauss_mass(-40.0, 40.0).exp();
        assert!((whole - 1.0).abs() < 1e-15);
        // Optuna: 0.6826894921370859
        let mass = log_gauss_mass(-1.0, 1.0).exp();
        assert!((mass - 0.682_689_492_137_085_9).abs() < 1e-15, "{mass}");
        // Optuna's _log_gauss_mass gives -316.6394080080202 (its asymptotic series far left).
        let tail = log_gauss_mass(-30.0, -25.0);
        assert!((tail - (-316.639_408_008_020_2)).abs() < 1e-12, "{tail}");
    }
}
