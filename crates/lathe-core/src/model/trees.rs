//! Tree ensembles (`TreeEnsembleClassifier`, `TreeEnsembleRegressor`, and ai.onnx.ml opset 5
//! `TreeEnsemble`) parsed into one flat form and evaluated as onnxruntime evaluates them.
//!
//! The form is public because explanations walk it (TreeSHAP): every tree is a run of
//! [`TreeNode`]s in [`TreeEnsemble::nodes`], starting at its entry in [`TreeEnsemble::roots`];
//! a leaf's weights are `weights[true_child..false_child]`.
//!
//! Evaluation follows onnxruntime's `TreeEnsembleCommon` (1.32): scores accumulate in f32 in
//! tree order per row (so labels decided by a sum near a threshold come out the same), base
//! values are added after aggregation, and the binary-classifier rules for a single scored class
//! (skl2onnx writes them for every binary forest and gradient boosting) are reproduced.

use std::collections::HashMap;

use rayon::prelude::*;

use super::attrs::Attrs;
use super::tensor::{Labels, Tensor, op_error};
use crate::Result;

/// How a node sends a row down: `x MODE threshold` goes to the true child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum NodeMode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    /// `x` is one of a set of values (opset 5 only).
    Member,
    Leaf,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeNode {
    /// The input column tested (unused by leaves).
    pub feature: u32,
    pub threshold: f32,
    /// Branch: the child when the test holds. Leaf: first weight index.
    pub true_child: u32,
    /// Branch: the child otherwise. Leaf: one past the last weight index.
    pub false_child: u32,
    pub mode: NodeMode,
    /// A missing value (NaN) takes the true branch.
    pub missing_tracks_true: bool,
}

/// One leaf contribution: `weight` added to target (or class index) `target`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeafWeight {
    pub target: u32,
    pub weight: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostTransform {
    None,
    Softmax,
    Logistic,
    SoftmaxZero,
    Probit,
}

impl PostTransform {
    pub fn parse(text: &str) -> Result<PostTransform> {
        Ok(match text {
            "" | "NONE" => PostTransform::None,
            "SOFTMAX" => PostTransform::Softmax,
            "LOGISTIC" => PostTransform::Logistic,
            "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
            "PROBIT" => PostTransform::Probit,
            other => {
                return Err(op_error(
                    "post_transform",
                    &format!("unknown value {other:?}"),
                ));
            }
        })
    }

    fn from_code(code: i64) -> Result<PostTransform> {
        Ok(match code {
            0 => PostTransform::None,
            1 => PostTransform::Softmax,
            2 => PostTransform::Logistic,
            3 => PostTransform::SoftmaxZero,
            4 => PostTransform::Probit,
            other => {
                return Err(op_error(
                    "TreeEnsemble",
                    &format!("unknown post_transform {other}"),
                ));
            }
        })
    }

    /// Applies the transform to one row of scores in place, as onnxruntime's `write_scores`.
    pub fn apply(self, scores: &mut [f32]) {
        match self {
            PostTransform::None => {}
            PostTransform::Logistic => scores.iter_mut().for_each(|s| *s = logistic(*s)),
            PostTransform::Probit => scores.iter_mut().for_each(|s| *s = probit(*s)),
            PostTransform::Softmax => softmax(scores, false),
            PostTransform::SoftmaxZero => softmax(scores, true),
        }
    }
}

/// onnxruntime's `ComputeLogistic`.
pub fn logistic(x: f32) -> f32 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 { 1.0 - v } else { v }
}

/// MLAS's `MlasComputeLogistic`, the rational approximation onnxruntime's LinearClassifier
/// applies to its scores (the tree ensembles use [`logistic`]): bit for bit, with its fused
/// multiply-adds done exactly in f64 (see `ops::dot_fma` for why that equals an FMA).
pub fn mlas_logistic(x: f32) -> f32 {
    // MLAS's constants, as written there (double literals rounded to f32).
    const ALPHA: [f64; 5] = [
        4.37031012579801e-11,
        1.15627324459942e-07,
        6.08574864600143e-05,
        8.51377133304701e-03,
        2.48287947061529e-01,
    ];
    const BETA: [f64; 6] = [
        6.10247389755681e-13,
        5.76102136993427e-09,
        6.29106785017040e-06,
        1.70198817374094e-03,
        1.16817656904453e-01,
        9.93151921023180e-01,
    ];
    let fma = |a: f32, b: f32, c: f32| (f64::from(a) * f64::from(b) + f64::from(c)) as f32;
    let v = x.clamp(-18.0, 18.0);
    let v2 = v * v;
    let mut p = fma(v2, ALPHA[0] as f32, ALPHA[1] as f32);
    for a in &ALPHA[2..] {
        p = fma(p, v2, *a as f32);
    }
    p *= v;
    let mut q = fma(v2, BETA[0] as f32, BETA[1] as f32);
    for b in &BETA[2..] {
        q = fma(q, v2, *b as f32);
    }
    (p / q + 0.5).clamp(0.0, 1.0)
}

/// onnxruntime's `ComputeProbit`: √2 · erfinv(2x − 1) with its closed-form erfinv approximation
/// (Winitzki's, a = 0.147), reproduced rather than replaced by an exact one.
pub fn probit(x: f32) -> f32 {
    let y = 2.0 * x - 1.0;
    let sgn = if y < 0.0 { -1.0f32 } else { 1.0 };
    let z = (1.0 - y) * (1.0 + y);
    let log = z.ln();
    let v = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147 * log;
    let v3 = -v + (v * v - v2).sqrt();
    std::f32::consts::SQRT_2 * sgn * v3.sqrt()
}

/// Softmax over a row; `zero`: onnxruntime's SOFTMAX_ZERO, which leaves zero scores at zero.
pub fn softmax(scores: &mut [f32], zero: bool) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for s in scores.iter_mut() {
        if zero && *s == 0.0 {
            continue;
        }
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        if !(zero && *s == 0.0) {
            *s /= sum;
        }
    }
}

/// What a classifier adds to the scores: its labels and onnxruntime's binary rules.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierInfo {
    pub labels: Labels,
    /// Two labels and every leaf weight on one class: the single score is the positive class's.
    pub binary_case: bool,
    pub weights_all_positive: bool,
}

/// A parsed tree ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeEnsemble {
    pub nodes: Vec<TreeNode>,
    pub roots: Vec<u32>,
    pub weights: Vec<LeafWeight>,
    /// Targets of a regressor, classes of a classifier.
    pub n_targets: usize,
    pub aggregate: Aggregate,
    pub post_transform: PostTransform,
    pub base_values: Vec<f32>,
    pub classifier: Option<ClassifierInfo>,
    /// One more than the highest feature index a node tests.
    pub n_features: usize,
    /// Sets of MEMBER nodes, by node index.
    pub members: HashMap<u32, Vec<f32>>,
    /// Every branch is `<=` with no missing-value routing: the fast loop applies.
    all_leq: bool,
}

fn bad(op: &str, detail: impl AsRef<str>) -> crate::Error {
    op_error(op, detail.as_ref())
}

/// Every per-node attribute list must have one entry per node.
fn check_lengths(op: &str, n: usize, lists: &[(&str, usize)]) -> Result<()> {
    match lists.iter().find(|(_, len)| *len != n) {
        Some((name, len)) => Err(bad(
            op,
            format!("{name} has {len} entries for {n} nodes; the file is inconsistent"),
        )),
        None => Ok(()),
    }
}

impl TreeEnsemble {
    /// `TreeEnsembleClassifier` / `TreeEnsembleRegressor` (ai.onnx.ml opsets 1–3).
    pub(crate) fn from_classic(op: &str, a: &Attrs) -> Result<TreeEnsemble> {
        let classifier = op == "TreeEnsembleClassifier";
        let tree_ids = a.ints("nodes_treeids");
        let node_ids = a.ints("nodes_nodeids");
        let features = a.ints("nodes_featureids");
        let values = a.floats_or_tensor("nodes_values", "nodes_values_as_tensor")?;
        let modes = a.strings("nodes_modes");
        let true_ids = a.ints("nodes_truenodeids");
        let false_ids = a.ints("nodes_falsenodeids");
        let missing = a.ints("nodes_missing_value_tracks_true");
        let n = tree_ids.len();
        check_lengths(
            op,
            n,
            &[
                ("nodes_nodeids", node_ids.len()),
                ("nodes_featureids", features.len()),
                ("nodes_modes", modes.len()),
                ("nodes_truenodeids", true_ids.len()),
                ("nodes_falsenodeids", false_ids.len()),
            ],
        )?;
        if !values.is_empty() && values.len() != n {
            return Err(bad(op, "nodes_values does not match the nodes"));
        }
        let prefix = if classifier { "class" } else { "target" };
        let w_tree = a.ints(&format!("{prefix}_treeids"));
        let w_node = a.ints(&format!("{prefix}_nodeids"));
        let w_id = a.ints(&format!("{prefix}_ids"));
        let w_val = a.floats_or_tensor(
            &format!("{prefix}_weights"),
            &format!("{prefix}_weights_as_tensor"),
        )?;
        if w_node.len() != w_tree.len() || w_id.len() != w_tree.len() || w_val.len() != w_tree.len()
        {
            return Err(bad(
                op,
                format!("the {prefix}_* weight lists differ in length"),
            ));
        }
        // (tree, node) -> flat index, trees in the order of their ids.
        let mut order: Vec<(i64, i64, usize)> =
            (0..n).map(|i| (tree_ids[i], node_ids[i], i)).collect();
        order.sort_unstable();
        let mut index: HashMap<(i64, i64), u32> = HashMap::with_capacity(n);
        for (k, &(t, nid, _)) in order.iter().enumerate() {
            if index.insert((t, nid), k as u32).is_some() {
                return Err(bad(op, format!("tree {t} has node {nid} twice")));
            }
        }
        let mut leaf_weights: HashMap<u32, Vec<LeafWeight>> = HashMap::new();
        for i in 0..w_tree.len() {
            let k = *index.get(&(w_tree[i], w_node[i])).ok_or_else(|| {
                bad(
                    op,
                    format!(
                        "a weight names node {} of tree {}, which does not exist",
                        w_node[i], w_tree[i]
                    ),
                )
            })?;
            leaf_weights.entry(k).or_default().push(LeafWeight {
                target: u32::try_from(w_id[i]).map_err(|_| bad(op, "negative target id"))?,
                weight: w_val[i],
            });
        }
        let mut nodes = Vec::with_capacity(n);
        let mut weights = Vec::new();
        let mut roots = Vec::new();
        let mut last_tree = None;
        for &(t, _, i) in &order {
            if last_tree != Some(t) {
                roots.push(nodes.len() as u32);
                last_tree = Some(t);
            }
            let mode = match modes[i].as_str() {
                "BRANCH_LEQ" => NodeMode::Leq,
                "BRANCH_LT" => NodeMode::Lt,
                "BRANCH_GTE" => NodeMode::Gte,
                "BRANCH_GT" => NodeMode::Gt,
                "BRANCH_EQ" => NodeMode::Eq,
                "BRANCH_NEQ" => NodeMode::Neq,
                "LEAF" => NodeMode::Leaf,
                other => return Err(bad(op, format!("unknown node mode {other:?}"))),
            };
            let k = nodes.len() as u32;
            let node = if mode == NodeMode::Leaf {
                let start = weights.len() as u32;
                if let Some(ws) = leaf_weights.remove(&k) {
                    weights.extend(ws);
                }
                TreeNode {
                    feature: 0,
                    threshold: 0.0,
                    true_child: start,
                    false_child: weights.len() as u32,
                    mode,
                    missing_tracks_true: false,
                }
            } else {
                let child = |id: i64| {
                    index.get(&(t, id)).copied().ok_or_else(|| {
                        bad(
                            op,
                            format!("tree {t} points to node {id}, which does not exist"),
                        )
                    })
                };
                TreeNode {
                    feature: u32::try_from(features[i])
                        .map_err(|_| bad(op, "negative feature id"))?,
                    threshold: values.get(i).copied().unwrap_or(0.0),
                    true_child: child(true_ids[i])?,
                    false_child: child(false_ids[i])?,
                    mode,
                    missing_tracks_true: missing.get(i).is_some_and(|&m| m != 0),
                }
            };
            nodes.push(node);
        }
        let post_transform = PostTransform::parse(&a.string("post_transform").unwrap_or_default())?;
        let base_values = a.floats_or_tensor("base_values", "base_values_as_tensor")?;
        let (n_targets, aggregate, info) = if classifier {
            let labels = a
                .labels("classlabels")?
                .ok_or_else(|| bad(op, "has neither classlabels_int64s nor classlabels_strings"))?;
            let mut ids: Vec<i64> = w_id.to_vec();
            ids.sort_unstable();
            ids.dedup();
            let info = ClassifierInfo {
                binary_case: labels.len() == 2 && ids.len() == 1,
                weights_all_positive: w_val.iter().all(|&w| w >= 0.0),
                labels,
            };
            (info.labels.len(), Aggregate::Sum, Some(info))
        } else {
            let aggregate = match a.string("aggregate_function").as_deref() {
                None | Some("SUM") => Aggregate::Sum,
                Some("AVERAGE") => Aggregate::Average,
                Some("MIN") => Aggregate::Min,
                Some("MAX") => Aggregate::Max,
                Some(other) => return Err(bad(op, format!("unknown aggregate {other:?}"))),
            };
            (
                a.int("n_targets").unwrap_or(1).max(1) as usize,
                aggregate,
                None,
            )
        };
        Self::finish(
            op,
            nodes,
            roots,
            weights,
            n_targets,
            aggregate,
            post_transform,
            base_values,
            info,
            HashMap::new(),
        )
    }

    /// ai.onnx.ml opset 5 `TreeEnsemble`.
    pub(crate) fn from_v5(a: &Attrs) -> Result<TreeEnsemble> {
        let op = "TreeEnsemble";
        let roots_in = a.ints("tree_roots");
        let features = a.ints("nodes_featureids");
        let splits = a.tensor_f32("nodes_splits")?;
        let modes = a.tensor_i64("nodes_modes")?;
        let true_ids = a.ints("nodes_truenodeids");
        let true_leaf = a.ints("nodes_trueleafs");
        let false_ids = a.ints("nodes_falsenodeids");
        let false_leaf = a.ints("nodes_falseleafs");
        let missing = a.ints("nodes_missing_value_tracks_true");
        let leaf_targets = a.ints("leaf_targetids");
        let leaf_weights = a.tensor_f32("leaf_weights")?;
        let members_flat = a.tensor_f32("membership_values").unwrap_or_default();
        let n = features.len();
        check_lengths(
            op,
            n,
            &[
                ("nodes_splits", splits.len()),
                ("nodes_modes", modes.len()),
                ("nodes_truenodeids", true_ids.len()),
                ("nodes_trueleafs", true_leaf.len()),
                ("nodes_falsenodeids", false_ids.len()),
                ("nodes_falseleafs", false_leaf.len()),
            ],
        )?;
        if leaf_targets.len() != leaf_weights.len() {
            return Err(bad(op, "leaf_targetids and leaf_weights differ in length"));
        }
        // Branches keep their indices; leaf j becomes node n + j with its one weight.
        let leaf_node = |j: i64| -> Result<u32> {
            if j < 0 || j as usize >= leaf_weights.len() {
                return Err(bad(op, format!("leaf {j} does not exist")));
            }
            Ok((n + j as usize) as u32)
        };
        let branch = |j: i64| -> Result<u32> {
            if j < 0 || j as usize >= n {
                return Err(bad(op, format!("node {j} does not exist")));
            }
            Ok(j as u32)
        };
        let mut members = HashMap::new();
        let mut member_sets = members_flat.split(|v| v.is_nan());
        let mut nodes = Vec::with_capacity(n + leaf_weights.len());
        for i in 0..n {
            let mode = match modes[i] {
                0 => NodeMode::Leq,
                1 => NodeMode::Lt,
                2 => NodeMode::Gte,
                3 => NodeMode::Gt,
                4 => NodeMode::Eq,
                5 => NodeMode::Neq,
                6 => NodeMode::Member,
                other => return Err(bad(op, format!("unknown node mode {other}"))),
            };
            if mode == NodeMode::Member {
                let set = member_sets
                    .next()
                    .ok_or_else(|| bad(op, "a MEMBER node has no membership_values"))?;
                members.insert(i as u32, set.to_vec());
            }
            let child = |id: i64, leaf: i64| if leaf != 0 { leaf_node(id) } else { branch(id) };
            nodes.push(TreeNode {
                feature: u32::try_from(features[i]).map_err(|_| bad(op, "negative feature id"))?,
                threshold: splits[i],
                true_child: child(true_ids[i], true_leaf[i])?,
                false_child: child(false_ids[i], false_leaf[i])?,
                mode,
                missing_tracks_true: missing.get(i).is_some_and(|&m| m != 0),
            });
        }
        let mut weights = Vec::with_capacity(leaf_weights.len());
        for (j, (&t, &w)) in leaf_targets.iter().zip(&leaf_weights).enumerate() {
            weights.push(LeafWeight {
                target: u32::try_from(t).map_err(|_| bad(op, "negative target id"))?,
                weight: w,
            });
            nodes.push(TreeNode {
                feature: 0,
                threshold: 0.0,
                true_child: j as u32,
                false_child: j as u32 + 1,
                mode: NodeMode::Leaf,
                missing_tracks_true: false,
            });
        }
        let roots = roots_in
            .iter()
            .map(|&r| branch(r))
            .collect::<Result<Vec<_>>>()?;
        let aggregate = match a.int("aggregate_function").unwrap_or(1) {
            0 => Aggregate::Average,
            1 => Aggregate::Sum,
            2 => Aggregate::Min,
            3 => Aggregate::Max,
            other => return Err(bad(op, format!("unknown aggregate_function {other}"))),
        };
        let post = PostTransform::from_code(a.int("post_transform").unwrap_or(0))?;
        let n_targets = a.int("n_targets").unwrap_or(1).max(1) as usize;
        Self::finish(
            op,
            nodes,
            roots,
            weights,
            n_targets,
            aggregate,
            post,
            Vec::new(),
            None,
            members,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        op: &str,
        nodes: Vec<TreeNode>,
        roots: Vec<u32>,
        weights: Vec<LeafWeight>,
        n_targets: usize,
        aggregate: Aggregate,
        post_transform: PostTransform,
        base_values: Vec<f32>,
        classifier: Option<ClassifierInfo>,
        members: HashMap<u32, Vec<f32>>,
    ) -> Result<TreeEnsemble> {
        if roots.is_empty() {
            return Err(bad(op, "has no trees"));
        }
        if weights.iter().any(|w| w.target as usize >= n_targets) {
            return Err(bad(op, format!("a leaf names a target ≥ {n_targets}")));
        }
        if !base_values.is_empty()
            && base_values.len() != n_targets
            && !(classifier.is_some() && base_values.len() == 1)
        {
            return Err(bad(
                op,
                format!("{} base_values for {n_targets} targets", base_values.len()),
            ));
        }
        // A tree must reach a leaf: children point forward-only within the node array would
        // be too strict (some writers order nodes freely), so check for cycles by depth bound.
        let n = nodes.len();
        for &r in &roots {
            let mut stack = vec![(r, 0usize)];
            while let Some((i, depth)) = stack.pop() {
                let node = nodes[i as usize];
                if depth > n {
                    return Err(bad(op, "a tree has a cycle"));
                }
                if node.mode != NodeMode::Leaf {
                    stack.push((node.true_child, depth + 1));
                    stack.push((node.false_child, depth + 1));
                }
            }
        }
        let n_features = nodes
            .iter()
            .filter(|n| n.mode != NodeMode::Leaf)
            .map(|n| n.feature as usize + 1)
            .max()
            .unwrap_or(0);
        let all_leq = nodes.iter().all(|n| {
            n.mode == NodeMode::Leaf || (n.mode == NodeMode::Leq && !n.missing_tracks_true)
        });
        Ok(TreeEnsemble {
            nodes,
            roots,
            weights,
            n_targets,
            aggregate,
            post_transform,
            base_values,
            classifier,
            n_features,
            members,
            all_leq,
        })
    }

    /// The leaf a row reaches from `root`.
    #[inline]
    pub fn leaf(&self, root: u32, x: &[f32]) -> &TreeNode {
        &self.nodes[self.leaf_index(root, x)]
    }

    /// The index in [`TreeEnsemble::nodes`] of the leaf a row reaches from `root`.
    #[inline]
    pub fn leaf_index(&self, root: u32, x: &[f32]) -> usize {
        let nodes = &self.nodes;
        let mut i = root as usize;
        if self.all_leq {
            loop {
                let n = &nodes[i];
                if n.mode == NodeMode::Leaf {
                    return i;
                }
                i = if x[n.feature as usize] <= n.threshold {
                    n.true_child
                } else {
                    n.false_child
                } as usize;
            }
        }
        loop {
            let n = &nodes[i];
            if n.mode == NodeMode::Leaf {
                return i;
            }
            i = if self.goes_true(i, x[n.feature as usize]) {
                n.true_child
            } else {
                n.false_child
            } as usize;
        }
    }

    /// Whether value `v` takes the true branch of branch node `i`.
    #[inline]
    pub fn goes_true(&self, i: usize, v: f32) -> bool {
        let n = &self.nodes[i];
        match n.mode {
            NodeMode::Leaf => false,
            _ if v.is_nan() => n.missing_tracks_true,
            NodeMode::Leq => v <= n.threshold,
            NodeMode::Lt => v < n.threshold,
            NodeMode::Gte => v >= n.threshold,
            NodeMode::Gt => v > n.threshold,
            NodeMode::Eq => v == n.threshold,
            NodeMode::Neq => v != n.threshold,
            NodeMode::Member => self
                .members
                .get(&(i as u32))
                .is_some_and(|set| set.contains(&v)),
        }
    }

    /// Raw aggregated scores of rows `x` ([rows, width]) into `out` ([rows, n_targets]), with
    /// a has-score flag per cell, before base values and transforms.
    fn accumulate(&self, x: &[f32], width: usize, out: &mut [f32], has: &mut [bool]) {
        let rows = x.len() / width.max(1);
        // Trees outer, a block of rows inner: one tree stays in cache across the block, and each
        // row still sums its trees in order.
        const BLOCK: usize = 128;
        // With plain `<=` splits, LANES rows walk a tree in lockstep: their loads overlap instead
        // of each waiting for the last. Measured by tests/bench/models.sh.
        const LANES: usize = 8;
        let nodes = &self.nodes;
        for start in (0..rows).step_by(BLOCK) {
            let end = (start + BLOCK).min(rows);
            for &root in &self.roots {
                let mut r = start;
                if self.all_leq {
                    while r + LANES <= end {
                        let mut at = [root as usize; LANES];
                        loop {
                            let mut moving = false;
                            for (k, i) in at.iter_mut().enumerate() {
                                let n = &nodes[*i];
                                if n.mode != NodeMode::Leaf {
                                    let v = x[(r + k) * width + n.feature as usize];
                                    *i = if v <= n.threshold {
                                        n.true_child
                                    } else {
                                        n.false_child
                                    } as usize;
                                    moving = true;
                                }
                            }
                            if !moving {
                                break;
                            }
                        }
                        for (k, &i) in at.iter().enumerate() {
                            self.add_leaf(&nodes[i], r + k, out, has);
                        }
                        r += LANES;
                    }
                }
                for row in r..end {
                    let leaf = self.leaf(root, &x[row * width..(row + 1) * width]);
                    self.add_leaf(leaf, row, out, has);
                }
            }
        }
    }

    /// Adds a leaf's weights to row `r`'s scores, by the aggregate function.
    #[inline]
    fn add_leaf(&self, leaf: &TreeNode, r: usize, out: &mut [f32], has: &mut [bool]) {
        let t = self.n_targets;
        for w in &self.weights[leaf.true_child as usize..leaf.false_child as usize] {
            let cell = r * t + w.target as usize;
            let (s, h) = (&mut out[cell], &mut has[cell]);
            match self.aggregate {
                Aggregate::Sum | Aggregate::Average => *s += w.weight,
                Aggregate::Min => {
                    if !*h || w.weight < *s {
                        *s = w.weight
                    }
                }
                Aggregate::Max => {
                    if !*h || w.weight > *s {
                        *s = w.weight
                    }
                }
            }
            *h = true;
        }
    }

    /// Evaluates rows of `x` ([rows, width], width ≥ n_features). Regressors return
    /// `[Y]`; classifiers `[label, scores]`.
    pub fn run(&self, op: &str, x: &Tensor) -> Result<Vec<Tensor>> {
        let width = if x.shape.len() <= 1 {
            x.len()
        } else {
            x.row_len()
        };
        let rows = if x.shape.len() <= 1 { 1 } else { x.rows() };
        if width < self.n_features {
            return Err(bad(
                op,
                format!(
                    "the trees test feature {} but rows have {width} values",
                    self.n_features - 1
                ),
            ));
        }
        let xs = x.as_f32(op)?;
        let t = self.n_targets;
        let mut scores = vec![0.0f32; rows * t];
        let mut has = vec![false; rows * t];
        // Parallel over blocks of rows when called on a big batch outside a parallel section.
        const PAR_ROWS: usize = 4096;
        if rows >= 2 * PAR_ROWS && rayon::current_thread_index().is_none() {
            scores
                .par_chunks_mut(PAR_ROWS * t)
                .zip(has.par_chunks_mut(PAR_ROWS * t))
                .zip(xs.par_chunks(PAR_ROWS * width))
                .for_each(|((s, h), xb)| self.accumulate(xb, width, s, h));
        } else {
            self.accumulate(&xs, width, &mut scores, &mut has);
        }
        let n_trees = self.roots.len() as f32;
        match &self.classifier {
            None => {
                for row in scores.chunks_mut(t) {
                    for (j, s) in row.iter_mut().enumerate() {
                        if self.aggregate == Aggregate::Average {
                            *s /= n_trees;
                        }
                        if let Some(b) = self.base_values.get(j) {
                            *s += *b;
                        }
                    }
                    self.post_transform.apply(row);
                }
                Ok(vec![Tensor::f32(vec![rows, t], scores)])
            }
            Some(info) => self.finish_classifier(info, rows, scores, has),
        }
    }

    fn finish_classifier(
        &self,
        info: &ClassifierInfo,
        rows: usize,
        mut scores: Vec<f32>,
        has: Vec<bool>,
    ) -> Result<Vec<Tensor>> {
        let c = self.n_targets;
        let mut picks = Vec::with_capacity(rows);
        if c > 2 {
            for (row, hrow) in scores.chunks_mut(c).zip(has.chunks(c)) {
                let mut best: Option<usize> = None;
                for j in 0..c {
                    if let Some(b) = self.base_values.get(j) {
                        row[j] += *b;
                    }
                    let scored = hrow[j] || !self.base_values.is_empty();
                    if scored && best.is_none_or(|k| row[j] > row[k]) {
                        best = Some(j);
                    }
                }
                picks.push(best.unwrap_or(0));
                self.post_transform.apply(row);
            }
        } else {
            for (row, hrow) in scores.chunks_mut(2).zip(has.chunks(2)) {
                let (mut s0, mut s1) = (row[0], row[1]);
                let (h0, h1) = (hrow[0], hrow[1]);
                // onnxruntime's TreeAggregatorClassifier::FinalizeScores, binary branch.
                let mut mode: i32 = -1;
                match self.base_values.len() {
                    2 if h1 => {
                        // base_values[0] unused: onnxruntime assumes both are equal.
                        s1 = self.base_values[1] + s0;
                        s0 = -s1;
                    }
                    2 => {
                        s1 += self.base_values[1];
                        s0 += self.base_values[0];
                    }
                    1 => s0 += self.base_values[0],
                    0 => mode = 3,
                    _ => {}
                }
                let single = self.base_values.len() != 2 && !h1;
                let pos = if h1 {
                    s1
                } else if h0 {
                    s0
                } else {
                    0.0
                };
                let label = if info.binary_case {
                    if info.weights_all_positive {
                        mode = if pos > 0.5 { 0 } else { 1 };
                    } else {
                        mode = if pos > 0.0 { 2 } else { 3 };
                    }
                    usize::from(pos > if info.weights_all_positive { 0.5 } else { 0.0 })
                } else {
                    usize::from(pos > 0.0)
                };
                picks.push(label);
                if single {
                    let s = s0;
                    let (a, b) = if self.post_transform == PostTransform::Probit {
                        (probit(s), 0.0)
                    } else {
                        match mode {
                            0 | 1 => (1.0 - s, s),
                            2 | 3 if self.post_transform == PostTransform::Logistic => {
                                (logistic(-s), logistic(s))
                            }
                            2 | 3 => (-s, s),
                            _ => (s, 0.0),
                        }
                    };
                    row[0] = a;
                    row[1] = b;
                } else {
                    row[0] = s0;
                    row[1] = s1;
                    self.post_transform.apply(row);
                }
            }
        }
        let labels = info.labels.pick(picks.into_iter());
        Ok(vec![
            Tensor {
                shape: vec![rows],
                data: labels,
            },
            Tensor::f32(vec![rows, c.max(2)], scores),
        ])
    }
}
