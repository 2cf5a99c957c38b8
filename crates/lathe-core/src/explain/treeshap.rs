//! Interventional TreeSHAP over a parsed ONNX tree ensemble.
//!
//! For a row `x` and one background row `r`, the Shapley value of the game
//! `v(S) = f(x_S, r_¬S)` is computed exactly by walking each tree once: where `x` and `r` take
//! the same branch the walk follows it; where they part on a feature not yet seen, it follows
//! both, recording the feature as taken from `x` (set A) or from `r` (set B); a feature seen
//! before keeps its side. A leaf reached with |A| = a and |B| = b counts for every coalition
//! holding A and none of B, so it gives each feature of A `w (a−1)! b! / (a+b)!` and takes from
//! each feature of B `w a! (b−1)! / (a+b)!`. Averaged over the background rows this is shap's
//! interventional TreeExplainer (Lundberg et al. 2020), the same values as the exact explainer.
//!
//! Splits compare f32 values with f32 thresholds, exactly as the model runs.

use std::sync::Arc;

use super::{Output, OutputKind, Target};
use crate::model::trees::{Aggregate, NodeMode, PostTransform, TreeEnsemble, logistic};

/// How the explained output is read off the trees: `offset + sign · scale · Σ leaf(target)`.
pub(crate) struct TreeForm {
    pub(super) ens: Arc<TreeEnsemble>,
    /// Per node, the leaf's weight on the target (0 for branches).
    pub(super) leaf_value: Vec<f64>,
    pub(super) sign: f64,
    pub(super) scale: f64,
    pub(super) offset: f64,
    pub output: Output,
    /// `coef[a][b]` = a! b! / (a+b+1)!, the Shapley weight of a coalition.
    coef: Vec<Vec<f64>>,
}

const MAX_PATH: usize = 160;

fn softmax(v: &[f64]) -> Vec<f64> {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

impl TreeForm {
    /// The form of `target`'s output, if the model is one tree ensemble over its input
    /// matrix that sums its trees; checked against the model's own output on `probe` rows.
    pub(crate) fn detect(target: &Target, probe: &[f32]) -> Option<TreeForm> {
        let [ens] = target.model.trees() else {
            return None;
        };
        if !matches!(ens.aggregate, Aggregate::Sum | Aggregate::Average)
            || ens.n_features > target.width
        {
            return None;
        }
        let scale = if ens.aggregate == Aggregate::Average {
            1.0 / ens.roots.len() as f64
        } else {
            1.0
        };
        let width = target.width;
        let rows = probe.len() / width;
        let t_count = ens.n_targets;
        // Raw sums per row and target (with base values) in f64.
        let mut raw = vec![0.0f64; rows * t_count];
        for r in 0..rows {
            let x = &probe[r * width..(r + 1) * width];
            for &root in &ens.roots {
                let leaf = ens.leaf(root, x);
                for w in &ens.weights[leaf.true_child as usize..leaf.false_child as usize] {
                    raw[r * t_count + w.target as usize] += f64::from(w.weight) * scale;
                }
            }
        }
        let scored: Vec<bool> = (0..t_count)
            .map(|t| ens.weights.iter().any(|w| w.target as usize == t))
            .collect();
        let actual = target.eval(probe).ok()?;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
        let base = |t: usize| {
            f64::from(
                ens.base_values
                    .get(t)
                    .or(ens.base_values.first())
                    .copied()
                    .unwrap_or(0.0),
            )
        };
        // Candidate (target, sign, offset, kind) by the model's kind.
        let (tgt, sign, offset, kind) = match (&ens.classifier, target.class_index) {
            (None, None) => {
                if ens.post_transform != PostTransform::None || t_count != 1 {
                    return None;
                }
                (0, 1.0, base(0), OutputKind::Prediction)
            }
            (Some(_), Some(k)) => {
                let classes = target.classes.as_ref()?.len();
                let single: Vec<usize> = (0..t_count).filter(|&t| scored[t]).collect();
                if classes == 2 && single.len() == 1 {
                    let t = single[0];
                    let b = if ens.base_values.len() == 2 {
                        base(1)
                    } else {
                        base(0)
                    };
                    let pos: Vec<f64> = (0..rows).map(|r| raw[r * t_count + t] + b).collect();
                    let matches = |f: &dyn Fn(f64) -> f64| {
                        (0..rows).all(|r| {
                            let p1 = f(pos[r]);
                            let p = if k == 1 { p1 } else { 1.0 - p1 };
                            close(p, actual[r])
                        })
                    };
                    match ens.post_transform {
                        PostTransform::None if matches(&|s| s) => {
                            if k == 1 {
                                (t, 1.0, b, OutputKind::Probability)
                            } else {
                                (t, -1.0, 1.0 - b, OutputKind::Probability)
                            }
                        }
                        PostTransform::Logistic if matches(&|s| f64::from(logistic(s as f32))) => {
                            if k == 1 {
                                (t, 1.0, b, OutputKind::Margin)
                            } else {
                                (t, -1.0, -b, OutputKind::Margin)
                            }
                        }
                        _ => return None,
                    }
                } else if t_count == classes {
                    let with_base = |r: usize| -> Vec<f64> {
                        (0..t_count)
                            .map(|t| raw[r * t_count + t] + base(t))
                            .collect()
                    };
                    let ok = (0..rows).all(|r| {
                        let s = with_base(r);
                        let p = match ens.post_transform {
                            PostTransform::None => s[k],
                            PostTransform::Softmax => softmax(&s)[k],
                            PostTransform::Logistic => 1.0 / (1.0 + (-s[k]).exp()),
                            _ => return false,
                        };
                        close(p, actual[r])
                    });
                    if !ok {
                        return None;
                    }
                    let kind = if ens.post_transform == PostTransform::None {
                        OutputKind::Probability
                    } else {
                        OutputKind::Margin
                    };
                    (k, 1.0, base(k), kind)
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        if kind == OutputKind::Prediction {
            let ok = (0..rows).all(|r| close(raw[r * t_count] + offset, actual[r]));
            if !ok {
                return None;
            }
        }
        let mut leaf_value = vec![0.0f64; ens.nodes.len()];
        for (i, n) in ens.nodes.iter().enumerate() {
            if n.mode == NodeMode::Leaf {
                leaf_value[i] = ens.weights[n.true_child as usize..n.false_child as usize]
                    .iter()
                    .filter(|w| w.target as usize == tgt)
                    .map(|w| f64::from(w.weight))
                    .sum();
            }
        }
        let mut fact = vec![1.0f64; MAX_PATH + 2];
        for i in 1..fact.len() {
            fact[i] = fact[i - 1] * i as f64;
        }
        let coef: Vec<Vec<f64>> = (0..=MAX_PATH)
            .map(|a| {
                (0..=MAX_PATH - a)
                    .map(|b| fact[a] * fact[b] / fact[a + b + 1])
                    .collect()
            })
            .collect();
        let class = target
            .class_index
            .and_then(|k| target.classes.as_ref().map(|c| c[k].clone()));
        Some(TreeForm {
            ens: ens.clone(),
            leaf_value,
            sign,
            scale,
            offset,
            output: Output::new(kind, class.as_deref()),
            coef,
        })
    }

    /// The explained output of one row.
    pub(crate) fn value(&self, x: &[f32]) -> f64 {
        let s: f64 = self
            .ens
            .roots
            .iter()
            .map(|&root| self.leaf_value[self.ens.leaf_index(root, x)])
            .sum();
        self.offset + self.sign * self.scale * s
    }

    /// SHAP values of row `x` against background rows `bg` (each `width` wide), added into
    /// `phi`; returns nothing else: the base value is the mean of [`TreeForm::value`] over `bg`.
    pub(crate) fn shap_row(&self, x: &[f32], bg: &[f32], width: usize, phi: &mut [f64]) {
        let n_bg = bg.len() / width;
        let mut walk = Walk {
            state: vec![0u8; width],
            a: Vec::with_capacity(32),
            b: Vec::with_capacity(32),
            acc: vec![0.0f64; width],
        };
        for r in bg.chunks(width) {
            for &root in &self.ens.roots {
                self.walk(root as usize, x, r, &mut walk);
            }
        }
        let acc = walk.acc;
        let k = self.sign * self.scale / n_bg as f64;
        for (p, a) in phi.iter_mut().zip(&acc) {
            *p += a * k;
        }
    }

    fn walk(&self, i: usize, x: &[f32], r: &[f32], w: &mut Walk) {
        let n = &self.ens.nodes[i];
        if n.mode == NodeMode::Leaf {
            let v = self.leaf_value[i];
            let (a, b) = (w.a.len(), w.b.len());
            if v == 0.0 || a + b == 0 {
                return;
            }
            if a > 0 {
                let wa = v * self.coef[a - 1][b];
                for &f in &w.a {
                    w.acc[f as usize] += wa;
                }
            }
            if b > 0 {
                let wb = v * self.coef[a][b - 1];
                for &f in &w.b {
                    w.acc[f as usize] -= wb;
                }
            }
            return;
        }
        let f = n.feature as usize;
        let child = |t: bool| if t { n.true_child } else { n.false_child } as usize;
        let xt = self.ens.goes_true(i, x[f]);
        let rt = self.ens.goes_true(i, r[f]);
        if xt == rt {
            return self.walk(child(xt), x, r, w);
        }
        match w.state[f] {
            1 => self.walk(child(xt), x, r, w),
            2 => self.walk(child(rt), x, r, w),
            _ if w.a.len() + w.b.len() >= MAX_PATH => {}
            _ => {
                w.state[f] = 1;
                w.a.push(f as u32);
                self.walk(child(xt), x, r, w);
                w.a.pop();
                w.state[f] = 2;
                w.b.push(f as u32);
                self.walk(child(rt), x, r, w);
                w.b.pop();
                w.state[f] = 0;
            }
        }
    }
}

/// The walk's state: per feature 0 unseen, 1 taken from x (in `a`), 2 from r (in `b`).
struct Walk {
    state: Vec<u8>,
    a: Vec<u32>,
    b: Vec<u32>,
    acc: Vec<f64>,
}
