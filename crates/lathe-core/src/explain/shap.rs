//! SHAP values with shap's algorithms.
//!
//! - **exact** (shap's ExactExplainer): the value of a coalition S is the mean model output over
//!   the background rows with the explained row's values on S; Shapley values from all 2^F
//!   coalitions. Chosen for ≤ 10 features.
//! - **permutation** (shap's PermutationExplainer): per row, `max_evals / (2F+1)` random
//!   permutations of the varying features, each walked forward (adding features) and back
//!   (removing them in the same order, the antithetic half). The permutations are numpy's for
//!   `np.random.seed(seed)`, drawn row after row as shap draws them, so Lathe and shap give the
//!   same values for the same seed and model outputs.
//! - **linear** (shap's LinearExplainer, interventional): `w_j (x_j − mean_j)` on the margin of a
//!   model that is affine in its inputs ([`crate::model::Model::linear_form`]).
//! - **tree**: interventional TreeSHAP over the ONNX tree ensemble (see `treeshap`).
//! - **kernel** (shap's KernelExplainer, only when asked for): a weighted linear regression
//!   over shap's coalitions, drawn with numpy's global draws for the seed (see `kernel`).
//!
//! Every algorithm satisfies `base_value + Σ values = model output` for each row; the result
//! carries the model output so this can be checked.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dense::{Dense, Steps};
use super::forest::Forest;
use super::kernel::{self, Design, L1Reg};
use super::treeshap::TreeForm;
use super::{Output, OutputKind, Target};
use crate::job::Job;
use crate::numeric::RandomState;
use crate::{Error, Result};

/// Which SHAP algorithm to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ShapAlgorithm"))]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Linear when the model is affine, tree for a tree ensemble, exact for ≤ 10 features,
    /// permutation otherwise.
    Auto,
    Exact,
    Permutation,
    Linear,
    Tree,
    /// shap's KernelExplainer; `auto` never picks it.
    Kernel,
}

impl Algorithm {
    pub fn parse(text: &str) -> Result<Algorithm> {
        Ok(match text {
            "auto" => Algorithm::Auto,
            "exact" => Algorithm::Exact,
            "permutation" => Algorithm::Permutation,
            "linear" => Algorithm::Linear,
            "tree" => Algorithm::Tree,
            "kernel" => Algorithm::Kernel,
            other => {
                return Err(Error::BadArgument {
                    argument: "algorithm",
                    detail: format!(
                        "{other:?} is not one of auto, exact, permutation, linear, tree, kernel"
                    ),
                });
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Auto => "auto",
            Algorithm::Exact => "exact",
            Algorithm::Permutation => "permutation",
            Algorithm::Linear => "linear",
            Algorithm::Tree => "tree",
            Algorithm::Kernel => "kernel",
        }
    }
}

/// The features at most for which `auto` picks the exact algorithm (shap's choice).
pub const EXACT_MAX_FEATURES: usize = 10;
/// The most features the exact algorithm accepts when asked for by name (2^F coalitions).
pub const EXACT_LIMIT: usize = 16;

/// SHAP values of some rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ShapValues {
    /// The algorithm that ran (never `auto`).
    pub algorithm: Algorithm,
    pub output: Output,
    /// The mean output over the background: what the values add to.
    pub base_value: f64,
    pub features: Vec<String>,
    /// The explained rows' indexes in the data (0-based).
    pub rows: Vec<usize>,
    /// Per row, one value per feature.
    pub values: Vec<Vec<f64>>,
    /// Per row, the feature values explained.
    pub data: Vec<Vec<f64>>,
    /// Per row, the explained output as the model computes it (= base + Σ values).
    pub model_output: Vec<f64>,
    pub background_rows: usize,
    /// Permutations per row (permutation algorithm only).
    pub permutations: Option<usize>,
    /// Coalitions per row at most (kernel algorithm only: `--nsamples`, capped at 2^M − 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub nsamples: Option<usize>,
    /// The feature selection before the regression (kernel algorithm only, shap's `l1_reg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "string"))]
    pub l1_reg: Option<L1Reg>,
}

impl ShapValues {
    /// The algorithm and its settings in words, for captions: `kernel, up to 2108 coalitions
    /// a row, l1_reg num_features(10)`.
    pub fn algorithm_text(&self) -> String {
        match (
            self.algorithm,
            self.permutations,
            self.nsamples,
            self.l1_reg,
        ) {
            (Algorithm::Kernel, _, Some(n), Some(l1)) => {
                format!("kernel, up to {n} coalitions a row, l1_reg {l1}")
            }
            (Algorithm::Permutation, Some(p), _, _) => {
                format!("permutation, {p} permutations a row")
            }
            (a, ..) => a.name().to_owned(),
        }
    }
}

/// What to explain.
#[derive(Debug)]
pub struct ShapInput<'a> {
    pub target: &'a Target<'a>,
    pub features: &'a [String],
    /// The explained rows (row-major, f32 as the model reads them) and their values as data.
    pub x: &'a [f32],
    pub x64: &'a [f64],
    pub rows: Vec<usize>,
    /// Background rows, f32.
    pub background: &'a [f32],
}

#[derive(Debug, Clone, Copy)]
pub struct ShapSettings {
    pub algorithm: Algorithm,
    /// Model evaluations per row for the permutation algorithm (shap's `max_evals`, 500).
    pub max_evals: usize,
    pub seed: u32,
    /// Coalitions per row for the kernel algorithm (`None`: shap's `2M + 2048`).
    pub nsamples: Option<usize>,
    pub l1_reg: L1Reg,
}

impl Default for ShapSettings {
    fn default() -> Self {
        ShapSettings {
            algorithm: Algorithm::Auto,
            max_evals: 500,
            seed: 0,
            nsamples: None,
            l1_reg: L1Reg::default(),
        }
    }
}

/// Computes SHAP values; progress is reported per explained row.
pub fn shap(input: &ShapInput, settings: &ShapSettings, job: &Job) -> Result<ShapValues> {
    let width = input.features.len();
    let n = input.x.len() / width.max(1);
    let n_bg = input.background.len() / width.max(1);
    if n == 0 || n_bg == 0 {
        return Err(Error::BadArgument {
            argument: if n == 0 { "rows" } else { "background" },
            detail: "no rows to work with".to_owned(),
        });
    }
    let probe_rows = n.min(32);
    let probe = &input.x[..probe_rows * width];
    let linear = || linear_form(input.target, probe);
    let tree = || TreeForm::detect(input.target, probe);
    let mut out = ShapValues {
        algorithm: settings.algorithm,
        output: input.target.output_spec.clone(),
        base_value: 0.0,
        features: input.features.to_vec(),
        rows: input.rows.clone(),
        values: Vec::new(),
        data: input.x64.chunks(width).map(<[f64]>::to_vec).collect(),
        model_output: Vec::new(),
        background_rows: n_bg,
        permutations: None,
        nsamples: None,
        l1_reg: None,
    };
    let refuse = |what: &str| Error::BadArgument {
        argument: "algorithm",
        detail: what.to_owned(),
    };
    let algorithm = match settings.algorithm {
        Algorithm::Auto => {
            if let Some(l) = linear() {
                return Ok(linear_shap(input, &l, out));
            }
            if let Some(t) = tree() {
                return tree_shap(input, &t, out, job);
            }
            if width <= EXACT_MAX_FEATURES {
                Algorithm::Exact
            } else {
                Algorithm::Permutation
            }
        }
        Algorithm::Linear => {
            let l = linear().ok_or_else(|| {
                refuse("the model is not a linear model over its inputs (a chain of Scaler and a LinearClassifier/LinearRegressor); use exact or permutation")
            })?;
            return Ok(linear_shap(input, &l, out));
        }
        Algorithm::Tree => {
            let t = tree().ok_or_else(|| {
                refuse("the model is not a single tree ensemble summing its trees over its input matrix; use exact or permutation")
            })?;
            return tree_shap(input, &t, out, job);
        }
        Algorithm::Exact if width > EXACT_LIMIT => {
            return Err(refuse(&format!(
                "exact SHAP enumerates 2^F coalitions; {width} features is too many (at most {EXACT_LIMIT}); use permutation"
            )));
        }
        a => a,
    };
    if algorithm == Algorithm::Exact
        && let Some(t) = tree().filter(|t| t.output.kind == input.target.output_spec.kind)
    {
        // A tree ensemble whose explained number is the sum of its trees (a forest's
        // probability, a regressor's prediction): interventional TreeSHAP gives the exact
        // Shapley values of this very game, without the 2^F coalitions.
        let mut exact = tree_shap(input, &t, out, job)?;
        exact.algorithm = Algorithm::Exact;
        return Ok(exact);
    }
    out.algorithm = algorithm;

    if algorithm == Algorithm::Kernel {
        return kernel_shap(input, settings, out, job);
    }
    let done = AtomicU64::new(0);
    let perms = if algorithm == Algorithm::Permutation {
        Some(permutations(input, settings)?)
    } else {
        None
    };
    let paths = fast_paths(input, probe, n_bg);
    let eval = Coalitions::new(input, &paths);
    let base = eval.base()?;
    let results: Vec<(Vec<f64>, f64)> = (0..n)
        .into_par_iter()
        .map(|r| {
            job.cancel.check()?;
            let x = &input.x[r * width..(r + 1) * width];
            let res = match &perms {
                None => exact_row(&eval, x),
                Some(p) => permutation_row(&eval, x, &p[r]),
            }?;
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            job.progress("explaining rows", d, Some(n as u64));
            Ok(res)
        })
        .collect::<Result<_>>()?;
    out.base_value = base;
    out.permutations = perms
        .as_ref()
        .map(|p| p.first().map_or(0, |rows| rows.len()));
    for (v, fx) in results {
        out.values.push(v);
        out.model_output.push(fx);
    }
    Ok(out)
}

/// Networks (and affine models) and tree ensembles run on their own fast paths; anything else
/// through the model's graph.
fn fast_paths(input: &ShapInput, probe: &[f32], n_bg: usize) -> (Option<Dense>, Option<Forest>) {
    let dense = Dense::detect(input.target, probe);
    let forest = match dense {
        Some(_) => None,
        None => Forest::detect(input.target, probe, n_bg),
    };
    (dense, forest)
}

/// Kernel SHAP: shap's coalitions per row (drawn in row order from one `RandomState`), their
/// values through the model's fastest path, shap's regression. Progress counts model
/// evaluations (coalitions × background rows).
fn kernel_shap(
    input: &ShapInput,
    settings: &ShapSettings,
    mut out: ShapValues,
    job: &Job,
) -> Result<ShapValues> {
    let width = input.features.len();
    let n_bg = input.background.len() / width;
    if settings.nsamples == Some(0) {
        return Err(Error::BadArgument {
            argument: "nsamples",
            detail: "Kernel SHAP needs at least one coalition per row (shap's default is 2 × features + 2048)".to_owned(),
        });
    }
    let probe = &input.x[..input.x.len().min(32 * width)];
    let paths = fast_paths(input, probe, n_bg);
    let eval = Coalitions::new(input, &paths);
    let base = eval.base()?;
    let varying: Vec<Vec<usize>> = input
        .x
        .chunks(width)
        .map(|x| varying(x, input.background, width))
        .collect();
    let total: u64 = varying
        .iter()
        .map(|v| (kernel::budget(v.len(), settings.nsamples) * n_bg) as u64)
        .sum();
    let mut rng = RandomState::new(settings.seed);
    let done = AtomicU64::new(0);
    // Rows a block at a time: the draws are sequential (shap's order), the work parallel, and
    // only one block's coalitions are held.
    let block = 16 * rayon::current_num_threads().max(1);
    let rows: Vec<&[f32]> = input.x.chunks(width).collect();
    let blocks: Vec<(usize, &[&[f32]])> = rows
        .chunks(block)
        .enumerate()
        .map(|(b, xs)| (b * block, xs))
        .collect();
    let draw = |start: usize, len: usize, rng: &mut RandomState| -> Vec<Option<Design>> {
        (start..start + len)
            .map(|r| {
                let m = varying[r].len();
                (m >= 2).then(|| kernel::design(m, settings.nsamples, rng))
            })
            .collect()
    };
    let explain_block = |start: usize, xs: &[&[f32]], designs: &[Option<Design>]| {
        xs.par_iter()
            .zip(designs)
            .enumerate()
            .map(|(i, (x, design))| {
                job.cancel.check()?;
                let vary = &varying[start + i];
                let fx = eval.value(x)?;
                let mut phi = vec![0.0f64; width];
                match (vary.len(), design) {
                    (0, _) => {}
                    (1, _) => phi[vary[0]] = fx - base,
                    (_, Some(d)) => {
                        let ey = eval.coalitions(x, vary, d)?;
                        let v = kernel::solve(d, &ey, fx, base, settings.l1_reg)?;
                        for (&j, p) in vary.iter().zip(v) {
                            phi[j] = p;
                        }
                        let evals = (d.filled * n_bg) as u64;
                        let now = done.fetch_add(evals, Ordering::Relaxed) + evals;
                        job.progress("model evaluations", now, Some(total));
                    }
                    (_, None) => unreachable!("a design for every row of two or more features"),
                }
                Ok((phi, fx))
            })
            .collect::<Result<Vec<(Vec<f64>, f64)>>>()
    };
    // The draws are sequential (shap's order) and the rows parallel: the next block's
    // coalitions are drawn while this block's rows are explained, and only two blocks'
    // coalitions are held.
    let mut designs = match blocks.first() {
        Some(&(start, xs)) => draw(start, xs.len(), &mut rng),
        None => Vec::new(),
    };
    for (k, &(start, xs)) in blocks.iter().enumerate() {
        job.cancel.check()?;
        let next = blocks.get(k + 1).copied();
        let (results, following) = rayon::join(
            || explain_block(start, xs, &designs),
            || next.map(|(s, n)| draw(s, n.len(), &mut rng)),
        );
        for (v, fx) in results? {
            out.values.push(v);
            out.model_output.push(fx);
        }
        designs = following.unwrap_or_default();
    }
    out.algorithm = Algorithm::Kernel;
    out.base_value = base;
    // The largest budget any row had (shap caps it at 2^M − 2 coalitions).
    out.nsamples = Some(
        varying
            .iter()
            .map(|v| kernel::budget(v.len(), settings.nsamples))
            .max()
            .unwrap_or(0),
    );
    out.l1_reg = Some(settings.l1_reg);
    Ok(out)
}

/// numpy's pairwise mean is not needed for agreement to 1e-12 at these sizes; a plain sum.
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// How coalition values are computed: the fast path of a network or a tree ensemble, or the
/// model's graph on rows mixing the explained row with each background row.
struct Coalitions<'a> {
    target: &'a Target<'a>,
    dense: Option<&'a Dense>,
    forest: Option<&'a Forest>,
    bg: &'a [f32],
    width: usize,
}

impl<'a> Coalitions<'a> {
    fn new(input: &'a ShapInput, (dense, forest): &'a (Option<Dense>, Option<Forest>)) -> Self {
        Coalitions {
            target: input.target,
            dense: dense.as_ref(),
            forest: forest.as_ref(),
            bg: input.background,
            width: input.features.len(),
        }
    }

    /// The mean output over the background rows as the coalitions compute it, so that
    /// base + Σ values = the output.
    fn base(&self) -> Result<f64> {
        let on_background = |f: &dyn Fn(&[f32]) -> f64| {
            mean(&self.bg.chunks(self.width).map(f).collect::<Vec<_>>())
        };
        Ok(match (self.dense, self.forest) {
            (Some(d), _) => on_background(&|b| d.value(b)),
            (None, Some(f)) => on_background(&|b| f.value(b)),
            (None, None) => mean(&self.target.eval_par(self.bg)?),
        })
    }

    /// The explained number of one row, by the same path as the coalitions.
    fn value(&self, x: &[f32]) -> Result<f64> {
        Ok(match (self.dense, self.forest) {
            (Some(d), _) => d.value(x),
            (None, Some(f)) => f.value(x),
            (None, None) => self.target.eval(x)?[0],
        })
    }

    /// The value of each coalition of `design` (over the features `vary`): on a fast path,
    /// one walk through the coalitions in Gray-code order, toggling the features that differ
    /// from the previous one; through the graph, blocks of rows.
    fn coalitions(&self, x: &[f32], vary: &[usize], design: &Design) -> Result<Vec<f64>> {
        let mut ey = self.coalitions_filled(x, vary, design)?;
        // shap's never-evaluated tail stays 0 (its weight is 0 too).
        ey.resize(design.len(), 0.0);
        Ok(ey)
    }

    fn coalitions_filled(&self, x: &[f32], vary: &[usize], design: &Design) -> Result<Vec<f64>> {
        let n = design.filled;
        if self.dense.is_some() || self.forest.is_some() {
            let mut order: Vec<usize> = (0..n).collect();
            let mut toggles = Vec::new();
            let mut at = Vec::with_capacity(n);
            if design.m < 64 {
                // Masks as words; the inverse Gray code of a mask is its position on the
                // Gray-code path, so sorting by it puts near coalitions together.
                let words: Vec<u64> = (0..n)
                    .map(|i| {
                        design
                            .mask(i)
                            .iter()
                            .enumerate()
                            .fold(0u64, |a, (j, &b)| a | (u64::from(b) << (design.m - 1 - j)))
                    })
                    .collect();
                let rank = |mut g: u64| {
                    let mut shift = 1;
                    while shift < 64 {
                        g ^= g >> shift;
                        shift <<= 1;
                    }
                    g
                };
                order.sort_unstable_by_key(|&i| rank(words[i]));
                let mut prev = 0u64;
                for &i in &order {
                    let mut diff = prev ^ words[i];
                    while diff != 0 {
                        let bit = diff.trailing_zeros() as usize;
                        toggles.push(vary[design.m - 1 - bit]);
                        diff &= diff - 1;
                    }
                    prev = words[i];
                    at.push(toggles.len());
                }
            } else {
                let mut on = vec![false; design.m];
                for &i in &order {
                    for (j, (&want, state)) in design.mask(i).iter().zip(on.iter_mut()).enumerate()
                    {
                        if want != *state {
                            *state = want;
                            toggles.push(vary[j]);
                        }
                    }
                    at.push(toggles.len());
                }
            }
            let steps = Steps::At(&at);
            let walked = match (self.dense, self.forest) {
                (Some(d), _) => d.walk_at(x, self.bg, &toggles, steps),
                (None, Some(f)) => f.walk_at(x, self.bg, &toggles, steps),
                (None, None) => unreachable!("a fast path"),
            };
            let mut ey = vec![0.0f64; n];
            for (&i, v) in order.iter().zip(walked) {
                ey[i] = v;
            }
            return Ok(ey);
        }
        let per_call = (16_384 / (self.bg.len() / self.width)).max(1);
        let mut ey = Vec::with_capacity(n);
        let mut masks = Vec::with_capacity(per_call);
        for chunk in (0..n).collect::<Vec<_>>().chunks(per_call) {
            masks.clear();
            for &i in chunk {
                let mut full = vec![false; self.width];
                for (&j, &b) in vary.iter().zip(design.mask(i)) {
                    full[j] = b;
                }
                masks.push(full);
            }
            ey.extend(self.values(x, &masks)?);
        }
        Ok(ey)
    }

    /// Mean output per coalition for a batch of masks: rows of the background with `x` on
    /// each mask's features.
    fn values(&self, x: &[f32], masks: &[Vec<bool>]) -> Result<Vec<f64>> {
        let (bg, width) = (self.bg, self.width);
        let n_bg = bg.len() / width;
        let mut z = Vec::with_capacity(masks.len() * bg.len());
        for m in masks {
            for b in bg.chunks(width) {
                z.extend((0..width).map(|j| if m[j] { x[j] } else { b[j] }));
            }
        }
        let out = self.target.eval(&z)?;
        Ok(out.chunks(n_bg).map(mean).collect())
    }

    /// The mean output from all-background, then after toggling each feature of `toggles` in
    /// turn (`toggles.len() + 1` values).
    fn walk(&self, x: &[f32], toggles: &[usize]) -> Result<Vec<f64>> {
        if let Some(d) = self.dense {
            return Ok(d.walk(x, self.bg, toggles));
        }
        if let Some(f) = self.forest {
            return Ok(f.walk(x, self.bg, toggles));
        }
        let mut m = vec![false; self.width];
        let mut masks = vec![m.clone()];
        for &i in toggles {
            m[i] = !m[i];
            masks.push(m.clone());
        }
        // About 16k model rows per call.
        let per_call = (16_384 / (self.bg.len() / self.width)).max(1);
        let mut out = Vec::with_capacity(masks.len());
        for chunk in masks.chunks(per_call) {
            out.extend(self.values(x, chunk)?);
        }
        Ok(out)
    }
}

fn exact_row(c: &Coalitions, x: &[f32]) -> Result<(Vec<f64>, f64)> {
    let width = c.width;
    let n_masks = 1usize << width;
    // Every coalition once, in Gray-code order: step i toggles bit trailing_zeros(i).
    let toggles: Vec<usize> = (1..n_masks).map(|i| i.trailing_zeros() as usize).collect();
    let walked = c.walk(x, &toggles)?;
    let mut v = vec![0.0f64; n_masks];
    for (i, value) in walked.into_iter().enumerate() {
        v[i ^ (i >> 1)] = value;
    }
    // Shapley weights |S|! (F−|S|−1)! / F!.
    let mut fact = vec![1.0f64; width + 1];
    for i in 1..=width {
        fact[i] = fact[i - 1] * i as f64;
    }
    let w: Vec<f64> = (0..width)
        .map(|s| fact[s] * fact[width - s - 1] / fact[width])
        .collect();
    let mut phi = vec![0.0f64; width];
    for (i, p) in phi.iter_mut().enumerate() {
        let bit = 1usize << i;
        for m in 0..n_masks {
            if m & bit == 0 {
                *p += w[m.count_ones() as usize] * (v[m | bit] - v[m]);
            }
        }
    }
    Ok((phi, v[n_masks - 1]))
}

/// shap's `varying_inputs`: features where the row is not `np.isclose` to every background row.
fn varying(x: &[f32], bg: &[f32], width: usize) -> Vec<usize> {
    (0..width)
        .filter(|&j| {
            let a = f64::from(x[j]);
            bg.chunks(width).any(|b| {
                let b = f64::from(b[j]);
                (a - b).abs() > 1e-8 + 1e-5 * b.abs()
            })
        })
        .collect()
}

/// Per explained row, its permutations of its varying features, drawn as shap draws them.
fn permutations(input: &ShapInput, settings: &ShapSettings) -> Result<Vec<Vec<Vec<usize>>>> {
    let width = input.features.len();
    let mut rng = RandomState::new(settings.seed);
    input
        .x
        .chunks(width)
        .map(|x| {
            let mut inds = varying(x, input.background, width);
            if inds.is_empty() {
                return Ok(Vec::new());
            }
            let n = settings.max_evals / (2 * inds.len() + 1);
            if n == 0 {
                return Err(Error::BadArgument {
                    argument: "max-evals",
                    detail: format!(
                        "{} model evaluations per row are too few for the permutation algorithm: it needs at least 2 × features + 1 = {}",
                        settings.max_evals,
                        2 * inds.len() + 1
                    ),
                });
            }
            Ok((0..n)
                .map(|_| {
                    rng.shuffle(&mut inds);
                    inds.clone()
                })
                .collect())
        })
        .collect()
}

fn permutation_row(c: &Coalitions, x: &[f32], perms: &[Vec<usize>]) -> Result<(Vec<f64>, f64)> {
    let mut phi = vec![0.0f64; c.width];
    if perms.is_empty() {
        let v = c.walk(x, &[])?;
        return Ok((phi, v[0]));
    }
    // One walk through every permutation: each ends where it started (every feature toggled
    // on, then off), so the fast paths build their state once per row.
    let k = perms[0].len();
    let toggles: Vec<usize> = perms
        .iter()
        .flat_map(|order| order.iter().chain(order.iter()).copied())
        .collect();
    let all = c.walk(x, &toggles)?;
    let mut fx = 0.0;
    for (p, order) in perms.iter().enumerate() {
        // None, then adding each feature in order, then removing each in the same order.
        let v = &all[p * 2 * k..=(p + 1) * 2 * k];
        for (s, &i) in order.iter().enumerate() {
            phi[i] += v[s + 1] - v[s];
            phi[i] += v[k + s] - v[k + s + 1];
        }
        fx = v[k];
    }
    let n = 2.0 * perms.len() as f64;
    phi.iter_mut().for_each(|p| *p /= n);
    Ok((phi, fx))
}

/// The affine form of the explained number: `sign · (w · x + b)` on a margin, if the model's
/// output is that margin or its logistic/softmax link (checked on the probe rows).
struct Linear {
    w: Vec<f64>,
    b: f64,
    output: Output,
}

fn linear_form(target: &Target, probe: &[f32]) -> Option<Linear> {
    let form = target.model.linear_form()?;
    let width = target.width;
    if form.width != width {
        return None;
    }
    let rows = probe.len() / width;
    let actual = target.eval(probe).ok()?;
    let score = |t: usize, x: &[f32]| -> f64 {
        form.weights[t * width..(t + 1) * width]
            .iter()
            .zip(x)
            .map(|(w, &v)| w * f64::from(v))
            .sum::<f64>()
            + form.intercepts[t]
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
    let class = target
        .class_index
        .and_then(|k| target.classes.as_ref().map(|c| c[k].clone()));
    let (t, sign) = match (target.class_index, target.classes.as_ref().map(Vec::len)) {
        (None, _) if form.targets == 1 => (0, 1.0),
        (Some(k), Some(2)) if form.targets == 1 => (0, if k == 1 { 1.0 } else { -1.0 }),
        (Some(k), Some(c)) if form.targets == c => (k, 1.0),
        _ => return None,
    };
    let margins: Vec<Vec<f64>> = probe
        .chunks(width)
        .map(|x| (0..form.targets).map(|t| score(t, x)).collect())
        .collect();
    let m = |r: usize| sign * margins[r][t];
    let identity = (0..rows).all(|r| close(m(r), actual[r]));
    let logistic = (0..rows).all(|r| close(1.0 / (1.0 + (-m(r)).exp()), actual[r]));
    let softmax = form.targets > 1
        && (0..rows).all(|r| {
            let s = &margins[r];
            let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: f64 = s.iter().map(|v| (v - mx).exp()).sum();
            close((s[t] - mx).exp() / e, actual[r])
        });
    let kind = if identity && target.class_index.is_none() {
        OutputKind::Prediction
    } else if identity || logistic || softmax {
        OutputKind::Margin
    } else {
        return None;
    };
    Some(Linear {
        w: form.weights[t * width..(t + 1) * width]
            .iter()
            .map(|w| w * sign)
            .collect(),
        b: form.intercepts[t] * sign,
        output: Output::new(kind, class.as_deref()),
    })
}

fn linear_shap(input: &ShapInput, l: &Linear, mut out: ShapValues) -> ShapValues {
    let width = l.w.len();
    let n_bg = input.background.len() / width;
    let mut means = vec![0.0f64; width];
    for b in input.background.chunks(width) {
        for (m, &v) in means.iter_mut().zip(b) {
            *m += f64::from(v);
        }
    }
    means.iter_mut().for_each(|m| *m /= n_bg as f64);
    out.algorithm = Algorithm::Linear;
    out.output = l.output.clone();
    out.base_value = l.w.iter().zip(&means).map(|(w, m)| w * m).sum::<f64>() + l.b;
    for x in input.x.chunks(width) {
        let v: Vec<f64> = (0..width)
            .map(|j| l.w[j] * (f64::from(x[j]) - means[j]))
            .collect();
        out.model_output.push(
            l.w.iter()
                .zip(x)
                .map(|(w, &v)| w * f64::from(v))
                .sum::<f64>()
                + l.b,
        );
        out.values.push(v);
    }
    out
}

fn tree_shap(
    input: &ShapInput,
    t: &TreeForm,
    mut out: ShapValues,
    job: &Job,
) -> Result<ShapValues> {
    let width = input.features.len();
    let n = input.x.len() / width;
    let bg = input.background;
    out.algorithm = Algorithm::Tree;
    out.output = t.output.clone();
    out.base_value = bg.chunks(width).map(|b| t.value(b)).sum::<f64>() / (bg.len() / width) as f64;
    let done = AtomicU64::new(0);
    let rows: Vec<(Vec<f64>, f64)> = input
        .x
        .par_chunks(width)
        .map(|x| {
            job.cancel.check()?;
            let mut phi = vec![0.0f64; width];
            t.shap_row(x, bg, width, &mut phi);
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            job.progress("explaining rows", d, Some(n as u64));
            Ok((phi, t.value(x)))
        })
        .collect::<Result<_>>()?;
    for (v, fx) in rows {
        out.values.push(v);
        out.model_output.push(fx);
    }
    Ok(out)
}
