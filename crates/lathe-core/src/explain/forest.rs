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
//! Trees that split on more than 12 features (a forest of deep trees) take a second form of
//! the same idea: a table per tree *and background row*, over only the features where `x` and
//! `r` part on the nodes the walk reaches (usually a handful), so toggling `j` touches only
//! the (tree, row) pairs whose walk parts on `j` ([`Pairs`]).
//!
//! The values are those of the exact game `v(S) = mean_r f(x_S, r_¬S)`, not TreeSHAP's path
//! algorithm: for the same model the two agree, and this path also serves the permutation
//! algorithm.

use super::Target;
use super::dense::{StepCursor, Steps, exp};
use super::treeshap::TreeForm;
use crate::model::trees::NodeMode;

/// Table entries at most per explained row (8 bytes each): over this the graph is used.
const MAX_TABLE: usize = 4 << 20;
/// Split features of one tree at most for a table (2^12 entries per background row).
const MAX_TREE_FEATURES: usize = 12;
/// Parting features of one (tree, background row) pair at most for its table; a pair that
/// parts on more is walked again from its root whenever one of its tree's features toggles.
const MAX_PAIR_FEATURES: usize = 14;
/// Table entries at most per explained row in the per-pair form (8 bytes each, 128 MiB); past
/// it, pairs are walked.
const MAX_PAIR_TABLE: usize = 16 << 20;

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
    /// Tables per (tree, background row) instead of per tree: some tree splits on too many
    /// features for a table over all of them.
    per_pair: bool,
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
        let mut per_pair = false;
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
            if feats.iter().any(|&f| f as usize >= width) {
                return None;
            }
            per_pair |= feats.len() > MAX_TREE_FEATURES;
            for (bit, &f) in feats.iter().enumerate() {
                users[f as usize].push((t, bit));
            }
            starts.push(table_len);
            table_len = table_len
                .saturating_add(1usize.checked_shl(feats.len() as u32).unwrap_or(usize::MAX));
            trees.push((root, feats));
        }
        per_pair |= table_len.saturating_mul(n_bg) > MAX_TABLE;
        if per_pair && n_bg > usize::from(u16::MAX) {
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
            per_pair,
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
        self.walk_at(x, bg, toggles, Steps::All)
    }

    /// [`Forest::walk`], giving only the values of `steps`.
    pub(crate) fn walk_at(
        &self,
        x: &[f32],
        bg: &[f32],
        toggles: &[usize],
        steps: Steps,
    ) -> Vec<f64> {
        pulp::Arch::new().dispatch(Walk {
            forest: self,
            x,
            bg,
            toggles,
            steps,
        })
    }

    #[inline(always)]
    fn walk_tables(&self, x: &[f32], bg: &[f32], toggles: &[usize], steps: Steps) -> Vec<f64> {
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
        let mut cursor = StepCursor::new(steps);
        let mut sums = Vec::with_capacity(cursor.capacity(toggles.len()));
        cursor.record(0, &mut sums, || self.mean(&sum, &mut out));
        for (step, &j) in toggles.iter().enumerate() {
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
            cursor.record(step + 1, &mut sums, || self.mean(&sum, &mut out));
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

    /// One walk from node `i` for a (tree, background row) pair: follows both branches only
    /// where `x` and `r` part (each feature's side once decided), collecting the features
    /// where they part, in the order found, and every leaf reached with its sides. Stops past
    /// [`MAX_PAIR_FEATURES`].
    fn parting(&self, i: usize, inside: usize, outside: usize, w: &mut Parting) {
        if w.feats.len() > MAX_PAIR_FEATURES {
            return;
        }
        let ens = &self.form.ens;
        let n = &ens.nodes[i];
        if n.mode == NodeMode::Leaf {
            w.leaves.push(Reached {
                inside,
                outside,
                value: self.form.leaf_value[i],
            });
            return;
        }
        let f = n.feature as usize;
        let child = |t: bool| if t { n.true_child } else { n.false_child } as usize;
        let xt = ens.goes_true(i, w.x[f]);
        let rt = ens.goes_true(i, w.r[f]);
        if xt == rt {
            return self.parting(child(xt), inside, outside, w);
        }
        let pos = match w.feats.iter().position(|&g| g == n.feature) {
            Some(p) => p,
            None => {
                w.feats.push(n.feature);
                w.feats.len() - 1
            }
        };
        if pos > MAX_PAIR_FEATURES {
            return;
        }
        let bit = 1usize << pos;
        if inside & bit != 0 {
            self.parting(child(xt), inside, outside, w);
        } else if outside & bit != 0 {
            self.parting(child(rt), inside, outside, w);
        } else {
            self.parting(child(xt), inside | bit, outside, w);
            self.parting(child(rt), inside, outside | bit, w);
        }
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
    steps: Steps<'a>,
}

impl pulp::WithSimd for Walk<'_> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<f64> {
        if self.forest.per_pair {
            return Pairs::new(self.forest, self.x, self.bg).walk(
                self.forest,
                self.toggles,
                self.steps,
            );
        }
        self.forest
            .walk_tables(self.x, self.bg, self.toggles, self.steps)
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

/// One (tree, background row) pair a feature moves.
#[derive(Clone, Copy)]
struct Entry {
    pair: u32,
    /// The feature's bit in the pair's table mask; 0: walk the pair's tree again.
    bit: u16,
    /// The background row.
    b: u16,
}

thread_local! {
    /// The tables' buffer, kept between explained rows of a thread (a new one each row was
    /// a fifth of a forest's permutation SHAP in page faults and copies).
    static VALUES: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The per-(tree, background row) tables of one explained row `x` (see the module's notes).
struct Pairs<'a> {
    x: &'a [f32],
    bg: &'a [f32],
    width: usize,
    nb: usize,
    /// Per pair (`t · nb + b`): where its table starts in `values`, or `u32::MAX` for a pair
    /// walked from its root.
    start: Vec<u32>,
    values: Vec<f64>,
    /// Per pair: its table's current mask, or its current leaf's node for a walked pair.
    state: Vec<u32>,
    /// Per feature: the pairs it moves.
    users: Vec<Vec<Entry>>,
    /// Per background row: the raw sum of its trees' current leaf values.
    sum: Vec<f64>,
}

impl<'a> Pairs<'a> {
    fn new(forest: &Forest, x: &'a [f32], bg: &'a [f32]) -> Pairs<'a> {
        let width = x.len();
        let nb = bg.len() / width;
        let trees = &forest.trees;
        let mut values = VALUES.with(|v| std::mem::take(&mut *v.borrow_mut()));
        values.clear();
        let mut p = Pairs {
            x,
            bg,
            width,
            nb,
            start: Vec::with_capacity(trees.len() * nb),
            values,
            state: vec![0; trees.len() * nb],
            users: vec![Vec::new(); width],
            sum: vec![0.0; nb],
        };
        let mut feats: Vec<u32> = Vec::with_capacity(MAX_PAIR_FEATURES + 1);
        let mut leaves: Vec<Reached> = Vec::new();
        for (t, (root, tree_feats)) in trees.iter().enumerate() {
            for (b, r) in bg.chunks(width).enumerate() {
                let pair = (t * nb + b) as u32;
                feats.clear();
                leaves.clear();
                let mut walk = Parting {
                    x,
                    r,
                    feats: &mut feats,
                    leaves: &mut leaves,
                };
                forest.parting(*root as usize, 0, 0, &mut walk);
                if feats.len() > MAX_PAIR_FEATURES
                    || p.values.len() + (1 << feats.len()) > MAX_PAIR_TABLE
                {
                    // Walked from the root whenever one of the tree's features toggles.
                    p.start.push(u32::MAX);
                    let leaf = forest.form.ens.leaf_index(*root, r);
                    p.state[pair as usize] = leaf as u32;
                    p.sum[b] += forest.form.leaf_value[leaf];
                    for &f in tree_feats {
                        p.users[f as usize].push(Entry {
                            pair,
                            bit: 0,
                            b: b as u16,
                        });
                    }
                    continue;
                }
                let at = p.values.len();
                p.start.push(at as u32);
                let all = (1usize << feats.len()) - 1;
                p.values.resize(at + all + 1, 0.0);
                let table = &mut p.values[at..];
                // Each mask reaches exactly one leaf: the masks that agree with its sides.
                for leaf in &leaves {
                    let free = all & !(leaf.inside | leaf.outside);
                    let mut sub = free;
                    loop {
                        table[leaf.inside | sub] = leaf.value;
                        if sub == 0 {
                            break;
                        }
                        sub = (sub - 1) & free;
                    }
                }
                p.sum[b] += table[0];
                for (bit, &f) in feats.iter().enumerate() {
                    p.users[f as usize].push(Entry {
                        pair,
                        bit: 1 << bit,
                        b: b as u16,
                    });
                }
            }
        }
        p
    }

    fn walk(mut self, forest: &Forest, toggles: &[usize], steps: Steps) -> Vec<f64> {
        let mut out = vec![0.0f64; self.nb];
        let mut on = vec![false; self.width];
        let mut row = vec![0.0f32; self.width];
        let mut cursor = StepCursor::new(steps);
        let mut sums = Vec::with_capacity(cursor.capacity(toggles.len()));
        cursor.record(0, &mut sums, || forest.mean(&self.sum, &mut out));
        let ens = &forest.form.ens;
        for (step, &j) in toggles.iter().enumerate() {
            on[j] = !on[j];
            for e in &self.users[j] {
                let pi = e.pair as usize;
                let b = usize::from(e.b);
                if e.bit == 0 {
                    let r = &self.bg[b * self.width..(b + 1) * self.width];
                    for (k, v) in row.iter_mut().enumerate() {
                        *v = if on[k] { self.x[k] } else { r[k] };
                    }
                    let root = forest.trees[pi / self.nb].0;
                    let leaf = ens.leaf_index(root, &row);
                    let old = self.state[pi] as usize;
                    self.state[pi] = leaf as u32;
                    self.sum[b] += forest.form.leaf_value[leaf] - forest.form.leaf_value[old];
                    continue;
                }
                let old = self.state[pi];
                let new = old ^ u32::from(e.bit);
                self.state[pi] = new;
                let at = self.start[pi] as usize;
                self.sum[b] += self.values[at + new as usize] - self.values[at + old as usize];
            }
            cursor.record(step + 1, &mut sums, || forest.mean(&self.sum, &mut out));
        }
        VALUES.with(|v| *v.borrow_mut() = std::mem::take(&mut self.values));
        sums
    }
}

/// A leaf a parting walk reached, with the sides it took (bits in the order found).
struct Reached {
    inside: usize,
    outside: usize,
    value: f64,
}

/// The state of [`Forest::parting`].
struct Parting<'a, 'b> {
    x: &'a [f32],
    r: &'a [f32],
    feats: &'b mut Vec<u32>,
    leaves: &'b mut Vec<Reached>,
}

fn apply(link: Link, score: f64) -> f64 {
    match link {
        Link::Identity => score,
        Link::Logistic => 1.0 / (1.0 + exp(-score)),
    }
}

#[cfg(test)]
mod tests {
    use super::{Forest, Link, Steps};
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
            let mut forest = Forest::detect(&target, &explained[..5 * width], bg.len() / width)
                .unwrap_or_else(|| panic!("{model}: no forest form"));
            assert_eq!(forest.link, link, "{model}");
            assert!(!forest.per_pair, "{model}: shallow trees have a table each");
            let toggles: Vec<usize> = (0..3 * width).map(|i| (i * 7) % width).collect();
            // The per-pair tables give the same steps (the form deep trees take).
            forest.per_pair = true;
            let pairs: Vec<Vec<f64>> = explained
                .chunks(width)
                .map(|row| forest.walk(row, bg, &toggles))
                .collect();
            forest.per_pair = false;
            for (row, pairs) in explained.chunks(width).zip(&pairs) {
                let tables = forest.walk(row, bg, &toggles);
                for (s, (a, b)) in pairs.iter().zip(&tables).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                        "{model} step {s}: pairs {a}, tables {b}"
                    );
                }
            }
            for row in explained.chunks(width) {
                let walked = forest.walk(row, bg, &toggles);
                // The baseline build of the loops gives the same bits as the one the CPU runs.
                let scalar = pulp::WithSimd::with_simd(
                    super::Walk {
                        forest: &forest,
                        x: row,
                        bg,
                        toggles: &toggles,
                        steps: Steps::All,
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

    /// A forest of deeper trees (more than 12 split features in some tree) takes the
    /// per-pair tables, and its walks are the model's outputs too.
    #[test]
    fn deep_forest_walks_equal_the_models_outputs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/explain/");
        let bytes = std::fs::read(format!("{path}rf_bin.onnx")).unwrap();
        let m = Model::load(&bytes, "rf_bin").unwrap();
        let (width, x) = rows("breast_cancer.csv", 2);
        let target = Target::new(&m, width, None, &x).unwrap();
        let (explained, bg) = x.split_at(10 * width);
        let forest = Forest::detect(&target, &explained[..5 * width], bg.len() / width)
            .expect("a forest form");
        assert!(
            forest.per_pair,
            "rf_bin has trees of more than 12 split features"
        );
        let toggles: Vec<usize> = (0..3 * width).map(|i| (i * 7) % width).collect();
        for row in explained.chunks(width) {
            let walked = forest.walk(row, bg, &toggles);
            let expect = graph_walk(&target, row, bg, &toggles);
            for (s, (a, b)) in walked.iter().zip(&expect).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                    "step {s}: pairs {a}, graph {b}"
                );
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
                    steps: Steps::All,
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
