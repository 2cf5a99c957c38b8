//! Black-box SHAP's fast path for tree ensembles (gradient boosting, forests).
//!
//! Exact and permutation SHAP need the model's output on rows that take some features from
//! the explained row `x` and the rest from a background row `r`, for many coalitions S. A tree
//! reads only the features it splits on (its own set U), so for one background row its leaf
//! depends only on S ∩ U: a table of at most 2^|U| leaf values, filled by one walk that
//! follows both branches only where `x` and `r` part. The ensemble's score for a coalition is
//! then a sum of table entries, and toggling feature j changes only the trees that split on
//! j. The explained output is that score through the model's link (identity, or the logistic
//! of a binary classifier), computed in f64; the form is used only when it reproduces the
//! model's own output on probe rows (to 1e-5), as for networks.
//!
//! The values are those of the exact game `v(S) = mean_r f(x_S, r_¬S)`, not TreeSHAP's path
//! algorithm: for the same model the two agree, and this path also serves the permutation
//! algorithm.

use super::Target;
use super::dense::exp;
use super::treeshap::TreeForm;
use crate::model::trees::NodeMode;

/// Table entries at most per explained row (8 bytes each): over this the graph is used.
const MAX_TABLE: usize = 4 << 20;
/// Split features of one tree at most for a table (2^12 entries per background row).
const MAX_TREE_FEATURES: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Link {
    Identity,
    Logistic,
}

pub(crate) struct Forest {
    form: TreeForm,
    link: Link,
    /// Per tree, its root and the features it splits on (bit i of a local mask = `feats[i]`).
    trees: Vec<(u32, Vec<u32>)>,
    /// Per feature, the trees that split on it and its bit in their masks.
    users: Vec<Vec<(usize, usize)>>,
    /// Per tree, where its table starts, in units of background rows.
    starts: Vec<usize>,
    /// Σ 2^|U| over the trees.
    table_len: usize,
}

impl Forest {
    /// The fast path for `target`, if its output is a link of one tree ensemble's sum and
    /// the tables for `n_bg` background rows stay small.
    pub(crate) fn detect(target: &Target, probe: &[f32], n_bg: usize) -> Option<Forest> {
        let form = TreeForm::detect(target, probe)?;
        let ens = form.ens.clone();
        let width = target.width;
        let mut trees = Vec::with_capacity(ens.roots.len());
        let mut users = vec![Vec::new(); width];
        let mut starts = Vec::with_capacity(ens.roots.len());
        let mut table_len = 0usize;
        for (t, &root) in ens.roots.iter().enumerate() {
            let mut feats: Vec<u32> = Vec::new();
            let mut stack = vec![root as usize];
            while let Some(i) = stack.pop() {
                let n = &ens.nodes[i];
                if n.mode == NodeMode::Leaf {
                    continue;
                }
                if !feats.contains(&n.feature) {
                    feats.push(n.feature);
                }
                stack.push(n.true_child as usize);
                stack.push(n.false_child as usize);
            }
            feats.sort_unstable();
            if feats.len() > MAX_TREE_FEATURES || feats.iter().any(|&f| f as usize >= width) {
                return None;
            }
            for (bit, &f) in feats.iter().enumerate() {
                users[f as usize].push((t, bit));
            }
            starts.push(table_len);
            table_len += 1 << feats.len();
            trees.push((root, feats));
        }
        if table_len.saturating_mul(n_bg) > MAX_TABLE {
            return None;
        }
        let actual = target.eval(probe).ok()?;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
        let scores: Vec<f64> = probe.chunks(width).map(|x| form.value(x)).collect();
        let link = [Link::Identity, Link::Logistic].into_iter().find(|&link| {
            scores
                .iter()
                .zip(&actual)
                .all(|(&s, &y)| close(apply(link, s), y))
        })?;
        Some(Forest {
            form,
            link,
            trees,
            users,
            starts,
            table_len,
        })
    }

    /// The explained output of one row.
    pub(crate) fn value(&self, x: &[f32]) -> f64 {
        apply(self.link, self.form.value(x))
    }

    /// As [`super::dense::Dense::walk`]: the mean output over the background rows with every
    /// feature from the background, then after toggling each of `toggles` in turn.
    /// Compiled for SSE2 and AVX2+FMA, as [`super::dense::Dense::walk`].
    pub(crate) fn walk(&self, x: &[f32], bg: &[f32], toggles: &[usize]) -> Vec<f64> {
        pulp::Arch::new().dispatch(Walk {
            forest: self,
            x,
            bg,
            toggles,
        })
    }

    #[inline(always)]
    fn walk_tables(&self, x: &[f32], bg: &[f32], toggles: &[usize]) -> Vec<f64> {
        let width = x.len();
        let nb = bg.len() / width;
        // table[(start_t + mask) * nb + b]: tree t's leaf value for background row b with x's
        // values on the mask's features.
        let mut table = vec![0.0f64; self.table_len * nb];
        for (t, (root, feats)) in self.trees.iter().enumerate() {
            let at = self.starts[t] * nb;
            for (b, r) in bg.chunks(width).enumerate() {
                let mut fill = Fill {
                    x,
                    r,
                    feats,
                    table: &mut table[at..at + (nb << feats.len())],
                    nb,
                    b,
                };
                self.fill(*root as usize, 0, 0, &mut fill);
            }
        }
        // Raw sums of leaf values per background row, all features from the background.
        let mut sum = vec![0.0f64; nb];
        for &start in &self.starts {
            for (s, v) in sum.iter_mut().zip(&table[start * nb..(start + 1) * nb]) {
                *s += v;
            }
        }
        let mut mask = vec![0usize; self.trees.len()];
        let mut out = vec![0.0f64; nb];
        let mut sums = Vec::with_capacity(toggles.len() + 1);
        sums.push(self.mean(&sum, &mut out));
        for &j in toggles {
            for &(t, bit) in &self.users[j] {
                let (old, new) = (mask[t], mask[t] ^ (1 << bit));
                mask[t] = new;
                let base = self.starts[t];
                let was = &table[(base + old) * nb..(base + old + 1) * nb];
                let now = &table[(base + new) * nb..(base + new + 1) * nb];
                for ((s, a), b) in sum.iter_mut().zip(was).zip(now) {
                    *s += b - a;
                }
            }
            sums.push(self.mean(&sum, &mut out));
        }
        sums
    }

    /// The mean explained output over rows whose raw sums are `sum`.
    #[inline(always)]
    fn mean(&self, sum: &[f64], out: &mut [f64]) -> f64 {
        let f = &self.form;
        let k = f.sign * f.scale;
        for (o, s) in out.iter_mut().zip(sum) {
            *o = f.offset + k * s;
        }
        if self.link == Link::Logistic {
            out.iter_mut().for_each(|v| *v = 1.0 / (1.0 + exp(-*v)));
        }
        out.iter().sum::<f64>() / out.len() as f64
    }

    /// Walks the tree from node `i` with the features of `inside` (local bits) taken from x
    /// and those of `outside` from r, writing the leaf's value into every mask that agrees.
    fn fill(&self, i: usize, inside: usize, outside: usize, w: &mut Fill) {
        let ens = &self.form.ens;
        let n = &ens.nodes[i];
        if n.mode == NodeMode::Leaf {
            let v = self.form.leaf_value[i];
            let free = ((1usize << w.feats.len()) - 1) & !(inside | outside);
            // Every subset of the free bits, with the inside bits set.
            let mut sub = free;
            loop {
                w.table[(inside | sub) * w.nb + w.b] = v;
                if sub == 0 {
                    break;
                }
                sub = (sub - 1) & free;
            }
            return;
        }
        let f = n.feature as usize;
        let child = |t: bool| if t { n.true_child } else { n.false_child } as usize;
        let xt = ens.goes_true(i, w.x[f]);
        let rt = ens.goes_true(i, w.r[f]);
        if xt == rt {
            return self.fill(child(xt), inside, outside, w);
        }
        // Every split feature of the tree is in `feats` (collected from the same nodes).
        let Ok(pos) = w.feats.binary_search(&n.feature) else {
            return;
        };
        let bit = 1usize << pos;
        if inside & bit != 0 {
            self.fill(child(xt), inside, outside, w);
        } else if outside & bit != 0 {
            self.fill(child(rt), inside, outside, w);
        } else {
            self.fill(child(xt), inside | bit, outside, w);
            self.fill(child(rt), inside, outside | bit, w);
        }
    }
}

/// [`Forest::walk`] as pulp runs it (see `dense::Walk`).
struct Walk<'a> {
    forest: &'a Forest,
    x: &'a [f32],
    bg: &'a [f32],
    toggles: &'a [usize],
}

impl pulp::WithSimd for Walk<'_> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<f64> {
        self.forest.walk_tables(self.x, self.bg, self.toggles)
    }
}

struct Fill<'a> {
    x: &'a [f32],
    r: &'a [f32],
    feats: &'a [u32],
    table: &'a mut [f64],
    nb: usize,
    b: usize,
}

fn apply(link: Link, score: f64) -> f64 {
    match link {
        Link::Identity => score,
        Link::Logistic => 1.0 / (1.0 + exp(-score)),
    }
}

#[cfg(test)]
mod tests {
    use super::{Forest, Link};
    use crate::explain::Target;
    use crate::model::Model;

    /// Rows of a dataset under `assets/datasets`, the last `drop` columns left out.
    fn rows(file: &str, drop: usize) -> (usize, Vec<f32>) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/datasets/");
        let text = std::fs::read_to_string(format!("{path}{file}")).unwrap();
        let mut lines = text.lines();
        let width = lines.next().unwrap().split(',').count() - drop;
        let x = lines
            .take(60)
            .flat_map(|l| {
                l.split(',')
                    .take(width)
                    .map(|v| v.parse::<f32>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        (width, x)
    }

    /// What a walk computes, through the model's graph: after each toggle, the mean output over
    /// the background rows with `row`'s values on the toggled-on features.
    fn graph_walk(target: &Target, row: &[f32], bg: &[f32], toggles: &[usize]) -> Vec<f64> {
        let width = row.len();
        let mut on = vec![false; width];
        (0..=toggles.len())
            .map(|step| {
                if step > 0 {
                    on[toggles[step - 1]] ^= true;
                }
                let mixed: Vec<f32> = bg
                    .chunks(width)
                    .flat_map(|b| (0..width).map(|j| if on[j] { row[j] } else { b[j] }))
                    .collect();
                let out = target.eval(&mixed).unwrap();
                out.iter().sum::<f64>() / out.len() as f64
            })
            .collect()
    }

    /// The tables give the model's own outputs for every step of a walk (as the graph
    /// computes them, to f32 rounding), for a boosted classifier's logistic link and a
    /// boosted regressor.
    #[test]
    fn walks_equal_the_models_outputs() {
        for (model, data, drop, link) in [
            ("gb_bin", "breast_cancer.csv", 1, Link::Logistic),
            ("gb_reg", "diabetes.csv", 1, Link::Identity),
        ] {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/explain/");
            let bytes = std::fs::read(format!("{path}{model}.onnx")).unwrap();
            let m = Model::load(&bytes, model).unwrap();
            let (width, x) = rows(data, drop);
            let target = Target::new(&m, width, None, &x).unwrap();
            let (explained, bg) = x.split_at(10 * width);
            let forest = Forest::detect(&target, &explained[..5 * width], bg.len() / width)
                .unwrap_or_else(|| panic!("{model}: no forest form"));
            assert_eq!(forest.link, link, "{model}");
            let toggles: Vec<usize> = (0..3 * width).map(|i| (i * 7) % width).collect();
            for row in explained.chunks(width) {
                let walked = forest.walk(row, bg, &toggles);
                // The baseline build of the loops gives the same bits as the one the CPU runs.
                let scalar = pulp::WithSimd::with_simd(
                    super::Walk {
                        forest: &forest,
                        x: row,
                        bg,
                        toggles: &toggles,
                    },
                    pulp::Scalar::new(),
                );
                assert_eq!(walked, scalar, "{model}");
                let expect = graph_walk(&target, row, bg, &toggles);
                for (s, (a, b)) in walked.iter().zip(&expect).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                        "{model} step {s}: tables {a}, graph {b}"
                    );
                }
            }
        }
    }

    /// The same for a network, and for the linear pipelines run as one-layer networks (a
    /// scaled logistic regression, a linear regression): the pulp-dispatched walk equals its
    /// baseline build bit for bit and the model's own outputs to f32 rounding.
    #[test]
    fn network_walks_equal_the_models_outputs() {
        for (model, data, drop) in [
            ("mlp_reg", "diabetes.csv", 1),
            ("logreg_bin", "breast_cancer.csv", 2),
            ("linear_reg", "diabetes.csv", 1),
        ] {
            network_walk_equals_the_model(model, data, drop);
        }
    }

    fn network_walk_equals_the_model(model: &str, data: &str, drop: usize) {
        use crate::explain::dense::{Dense, Walk};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/explain/");
        let bytes = std::fs::read(format!("{path}{model}.onnx")).unwrap();
        let m = Model::load(&bytes, model).unwrap();
        let (width, x) = rows(data, drop);
        let target = Target::new(&m, width, None, &x).unwrap();
        let (explained, bg) = x.split_at(10 * width);
        let dense = Dense::detect(&target, &explained[..5 * width])
            .unwrap_or_else(|| panic!("{model}: no network form"));
        let toggles: Vec<usize> = (0..3 * width).map(|i| (i * 3) % width).collect();
        for row in explained.chunks(width) {
            let walked = dense.walk(row, bg, &toggles);
            let scalar = pulp::WithSimd::with_simd(
                Walk {
                    dense: &dense,
                    x: row,
                    bg,
                    toggles: &toggles,
                },
                pulp::Scalar::new(),
            );
            assert_eq!(walked, scalar);
            let expect = graph_walk(&target, row, bg, &toggles);
            for (step, (got, want)) in walked.iter().zip(&expect).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{model} step {step}: fast path {got}, graph {want}"
                );
            }
        }
    }
}
