//! The learner behind direct loss estimation (DLE): gradient-boosted regression trees with
//! LightGBM's default recipe, which NannyML's DLE trains (`LGBMRegressor()`): 100 trees of at
//! most 31 leaves grown leaf-wise (the leaf whose best split gains most is split next), a
//! learning rate of 0.1, at least 20 rows in a leaf, squared loss started from the mean, and
//! split search over at most 255 bins per feature (equal-count bins of its values). A text
//! column is a categorical feature: with up to four categories one category is split from the
//! rest (LightGBM's one-vs-rest), with more the categories are ordered by their mean gradient
//! (smoothed by 10 rows, LightGBM's `cat_smooth`) and split at the best prefix.
//!
//! It is not LightGBM's code: the trees differ in their details (LightGBM's bin boundaries, its
//! handling of missing values, which here always go with the larger values or the other
//! categories), so DLE's estimates are judged by how close they come to the realised metric,
//! beside NannyML's (`docs/monitor.md`), not bit for bit.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// LightGBM's defaults.
const TREES: usize = 100;
const LEAVES: usize = 31;
const LEARNING_RATE: f64 = 0.1;
const MIN_LEAF_ROWS: usize = 20;
const MAX_BINS: usize = 255;
const MAX_ONE_VS_REST: usize = 4;
const CAT_SMOOTH: f64 = 10.0;
/// LightGBM's `min_data_per_group`: a category split leaves at least this many rows per side.
const MIN_CATEGORY_ROWS: usize = 100;

/// One feature's values for training and prediction: numbers (NaN when missing; `null` in
/// JSON) or category codes (`None` when missing or not seen in training).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    Numbers(#[serde(with = "nan_as_null")] Vec<f64>),
    Categories { codes: Vec<Option<u32>>, count: u32 },
}

/// Numbers with NaN written as JSON's `null` and read back (serde_json cannot read the `null`
/// it writes for a NaN into an `f64`).
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|v| (!v.is_nan()).then_some(*v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let values = Vec::<Option<f64>>::deserialize(d)?;
        Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Numbers(v) => v.len(),
            Column::Categories { codes, .. } => codes.len(),
        }
    }
}

/// How a feature is cut into bins: upper bounds of number bins (a value goes to the first
/// bound at or above it; NaN to a last bin of its own), or one bin per category (and one for
/// missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Binning {
    Numbers { bounds: Vec<f64> },
    Categories { count: u32 },
}

impl Binning {
    fn of(column: &Column) -> Binning {
        match column {
            Column::Numbers(v) => {
                let mut sorted: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                sorted.sort_by(f64::total_cmp);
                let mut distinct: Vec<(f64, usize)> = Vec::new();
                for x in sorted {
                    match distinct.last_mut() {
                        Some((last, n)) if *last == x => *n += 1,
                        _ => distinct.push((x, 1)),
                    }
                }
                let bounds = if distinct.len() <= MAX_BINS {
                    // One bin per value, bounded halfway to the next.
                    distinct
                        .windows(2)
                        .map(|w| (w[0].0 + w[1].0) / 2.0)
                        .chain(std::iter::once(f64::INFINITY))
                        .collect()
                } else {
                    // Equal counts: close a bin once it holds its share of the rows.
                    let total: usize = distinct.iter().map(|d| d.1).sum();
                    let per_bin = total as f64 / MAX_BINS as f64;
                    let mut bounds = Vec::with_capacity(MAX_BINS);
                    let mut filled = 0usize;
                    for (i, w) in distinct.windows(2).enumerate() {
                        filled += distinct[i].1;
                        if filled as f64 >= per_bin * (bounds.len() + 1) as f64
                            && bounds.len() + 1 < MAX_BINS
                        {
                            bounds.push((w[0].0 + w[1].0) / 2.0);
                        }
                    }
                    bounds.push(f64::INFINITY);
                    bounds
                };
                Binning::Numbers { bounds }
            }
            Column::Categories { count, .. } => Binning::Categories { count: *count },
        }
    }

    /// Bins, the missing one last.
    fn bins(&self) -> usize {
        match self {
            Binning::Numbers { bounds } => bounds.len() + 1,
            Binning::Categories { count } => *count as usize + 1,
        }
    }

    fn bin_all(&self, column: &Column) -> Vec<u16> {
        let missing = (self.bins() - 1) as u16;
        match (self, column) {
            (Binning::Numbers { bounds }, Column::Numbers(v)) => v
                .iter()
                .map(|&x| {
                    if x.is_nan() {
                        missing
                    } else {
                        bounds.partition_point(|&b| b < x) as u16
                    }
                })
                .collect(),
            (Binning::Categories { count }, Column::Categories { codes, .. }) => codes
                .iter()
                .map(|c| match c {
                    Some(c) if *c < *count => *c as u16,
                    _ => missing,
                })
                .collect(),
            _ => vec![missing; column.len()],
        }
    }
}

/// Where a split sends a row: to the left when its bin is in `left`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Rule {
    /// Numbers at or below `threshold` (NaN goes right).
    AtMost { threshold: f64, bin: u16 },
    /// These categories (missing and unseen ones go right).
    In { categories: Vec<u32> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Node {
    Split {
        feature: usize,
        rule: Rule,
        left: usize,
        right: usize,
    },
    Leaf(f64),
}

/// A fitted model: the starting value and the trees (their leaves already shrunk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gbdt {
    init: f64,
    binnings: Vec<Binning>,
    trees: Vec<Vec<Node>>,
}

/// A leaf being grown: its rows, gradient sum, and its best split when found.
struct Growing {
    rows: Vec<u32>,
    gradient: f64,
    best: Option<Candidate>,
    node: usize,
}

#[derive(Debug, Clone)]
struct Candidate {
    gain: f64,
    feature: usize,
    rule: Rule,
}

impl Rule {
    /// Whether a row in `bin` goes left (the same side as its value: a number at or below the
    /// threshold is in a bin at or below the threshold's).
    fn left_bin(&self, bin: u16) -> bool {
        match self {
            Rule::AtMost { bin: b, .. } => bin <= *b,
            Rule::In { categories } => categories.contains(&u32::from(bin)),
        }
    }
}

impl Gbdt {
    /// Fits `target` from `features` (every column as long as `target`).
    pub fn fit(features: &[Column], target: &[f64]) -> Gbdt {
        let n = target.len();
        let binnings: Vec<Binning> = features.iter().map(Binning::of).collect();
        let binned: Vec<Vec<u16>> = binnings
            .iter()
            .zip(features)
            .map(|(b, c)| b.bin_all(c))
            .collect();
        let init = if n == 0 {
            0.0
        } else {
            crate::numeric::pairwise_sum(target) / n as f64
        };
        let mut prediction = vec![init; n];
        let mut trees = Vec::with_capacity(TREES);
        for _ in 0..TREES {
            let gradient: Vec<f64> = prediction.iter().zip(target).map(|(p, y)| p - y).collect();
            let tree = grow(&binnings, &binned, &gradient);
            // Update the predictions through the tree's bins (the same path as the values).
            for (i, p) in prediction.iter_mut().enumerate() {
                *p += leaf_of_binned(&tree, &binned, i);
            }
            let stop = tree.len() == 1;
            trees.push(tree);
            if stop {
                break;
            }
        }
        Gbdt {
            init,
            binnings,
            trees,
        }
    }

    /// The prediction for every row of `features` (columns as given to [`Gbdt::fit`]).
    pub fn predict(&self, features: &[Column]) -> Vec<f64> {
        let n = features.first().map_or(0, Column::len);
        (0..n)
            .into_par_iter()
            .map(|i| {
                self.init
                    + self
                        .trees
                        .iter()
                        .map(|t| leaf_of_row(t, features, i))
                        .sum::<f64>()
            })
            .collect()
    }
}

/// The leaf value a row reaches, `left(feature, rule)` saying where it goes at each split.
fn walk(tree: &[Node], left: impl Fn(usize, &Rule) -> bool) -> f64 {
    let mut at = 0;
    loop {
        match &tree[at] {
            Node::Leaf(v) => return *v,
            Node::Split {
                feature,
                rule,
                left: l,
                right,
            } => at = if left(*feature, rule) { *l } else { *right },
        }
    }
}

/// A training row, by its bins.
fn leaf_of_binned(tree: &[Node], binned: &[Vec<u16>], row: usize) -> f64 {
    walk(tree, |feature, rule| rule.left_bin(binned[feature][row]))
}

/// A row by its values.
fn leaf_of_row(tree: &[Node], features: &[Column], row: usize) -> f64 {
    walk(tree, |feature, rule| match (rule, &features[feature]) {
        (Rule::AtMost { threshold, .. }, Column::Numbers(v)) => v[row] <= *threshold,
        (Rule::In { categories }, Column::Categories { codes, .. }) => {
            codes[row].is_some_and(|c| categories.contains(&c))
        }
        _ => false,
    })
}

/// One tree grown leaf-wise on the gradients of the squared loss (hessians 1).
fn grow(binnings: &[Binning], binned: &[Vec<u16>], gradient: &[f64]) -> Vec<Node> {
    let rows: Vec<u32> = (0..gradient.len() as u32).collect();
    let total = crate::numeric::pairwise_sum(gradient);
    let mut nodes = vec![Node::Leaf(0.0)];
    let mut leaves = vec![Growing {
        best: best_split(binnings, binned, gradient, &rows, total),
        rows,
        gradient: total,
        node: 0,
    }];
    while leaves.len() < LEAVES {
        let Some((at, _)) = leaves
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.best.as_ref().map(|b| (i, b.gain)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            break;
        };
        let leaf = leaves.swap_remove(at);
        let Some(split) = leaf.best else { break };
        let column = &binned[split.feature];
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = leaf
            .rows
            .iter()
            .partition(|&&r| split.rule.left_bin(column[r as usize]));
        let left_gradient: f64 = left_rows.iter().map(|&r| gradient[r as usize]).sum();
        let right_gradient = leaf.gradient - left_gradient;
        let (left, right) = (nodes.len(), nodes.len() + 1);
        nodes.push(Node::Leaf(0.0));
        nodes.push(Node::Leaf(0.0));
        nodes[leaf.node] = Node::Split {
            feature: split.feature,
            rule: split.rule,
            left,
            right,
        };
        for (rows, g, node) in [
            (left_rows, left_gradient, left),
            (right_rows, right_gradient, right),
        ] {
            leaves.push(Growing {
                best: best_split(binnings, binned, gradient, &rows, g),
                rows,
                gradient: g,
                node,
            });
        }
    }
    for leaf in &leaves {
        let value = if leaf.rows.is_empty() {
            0.0
        } else {
            -LEARNING_RATE * leaf.gradient / leaf.rows.len() as f64
        };
        nodes[leaf.node] = Node::Leaf(value);
    }
    nodes
}

/// The split of `rows` that gains most (squared loss, no regularisation, at least 20 rows a
/// side), if any gains.
fn best_split(
    binnings: &[Binning],
    binned: &[Vec<u16>],
    gradient: &[f64],
    rows: &[u32],
    total: f64,
) -> Option<Candidate> {
    let n = rows.len();
    if n < 2 * MIN_LEAF_ROWS {
        return None;
    }
    let parent = total * total / n as f64;
    binnings
        .par_iter()
        .enumerate()
        .filter_map(|(feature, binning)| {
            let bins = binning.bins();
            let mut sums = vec![0.0f64; bins];
            let mut counts = vec![0usize; bins];
            let column = &binned[feature];
            for &r in rows {
                let b = column[r as usize] as usize;
                sums[b] += gradient[r as usize];
                counts[b] += 1;
            }
            let gain = |g: f64, c: usize| {
                let (rg, rc) = (total - g, n - c);
                g * g / c as f64 + rg * rg / rc as f64 - parent
            };
            let mut best: Option<Candidate> = None;
            let mut consider = |g: f64, c: usize, min: usize, make: &dyn Fn() -> Rule| {
                if c < min || n - c < min {
                    return;
                }
                let value = gain(g, c);
                if value > 1e-12 * parent.abs().max(1.0)
                    && best.as_ref().is_none_or(|b| value > b.gain)
                {
                    best = Some(Candidate {
                        gain: value,
                        feature,
                        rule: make(),
                    });
                }
            };
            match binning {
                Binning::Numbers { bounds } => {
                    let (mut g, mut c) = (0.0, 0usize);
                    // The missing bin (last) always goes right.
                    for b in 0..bins.saturating_sub(2) {
                        g += sums[b];
                        c += counts[b];
                        let threshold = bounds[b];
                        consider(g, c, MIN_LEAF_ROWS, &|| Rule::AtMost {
                            threshold,
                            bin: b as u16,
                        });
                    }
                }
                Binning::Categories { count } => {
                    let count = *count as usize;
                    let seen: Vec<usize> = (0..count).filter(|&k| counts[k] > 0).collect();
                    if seen.len() <= MAX_ONE_VS_REST {
                        for &k in &seen {
                            consider(sums[k], counts[k], MIN_LEAF_ROWS, &|| Rule::In {
                                categories: vec![k as u32],
                            });
                        }
                    } else {
                        let mut order = seen;
                        order.sort_by(|&a, &b| {
                            let ma = sums[a] / (counts[a] as f64 + CAT_SMOOTH);
                            let mb = sums[b] / (counts[b] as f64 + CAT_SMOOTH);
                            ma.total_cmp(&mb).then(a.cmp(&b))
                        });
                        let (mut g, mut c) = (0.0, 0usize);
                        for (i, &k) in order.iter().enumerate().take(order.len() - 1) {
                            g += sums[k];
                            c += counts[k];
                            let prefix = &order[..=i];
                            consider(g, c, MIN_CATEGORY_ROWS.max(MIN_LEAF_ROWS), &|| Rule::In {
                                categories: prefix.iter().map(|&k| k as u32).collect(),
                            });
                        }
                    }
                }
            }
            best
        })
        .max_by(|a, b| a.gain.total_cmp(&b.gain).then(b.feature.cmp(&a.feature)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_step_and_a_category() {
        // y = 10 where x > 0.5, plus 5 for category 2. x takes 200 values, so each has a bin of
        // its own (with more than 255 the bin holding 0.5 would mix both sides of the step).
        let n = 2000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 200) as f64 / 200.0).collect();
        let codes: Vec<Option<u32>> = (0..n).map(|i| Some((i % 3) as u32)).collect();
        let y: Vec<f64> = x
            .iter()
            .zip(&codes)
            .map(|(x, c)| {
                f64::from(u8::from(*x > 0.5)) * 10.0 + if *c == Some(2) { 5.0 } else { 0.0 }
            })
            .collect();
        let features = vec![Column::Numbers(x), Column::Categories { codes, count: 3 }];
        let model = Gbdt::fit(&features, &y);
        let p = model.predict(&features);
        let worst = p
            .iter()
            .zip(&y)
            .map(|(p, y)| (p - y).abs())
            .fold(0.0f64, f64::max);
        assert!(worst < 0.01, "largest error {worst}");
        // A constant target needs no tree.
        let flat = Gbdt::fit(&features, &vec![3.0; n]);
        assert!(
            flat.predict(&features)
                .iter()
                .all(|p| (p - 3.0).abs() < 1e-12)
        );
    }

    /// A bundle carries DLE's columns as JSON: missing numbers (NaN) come back missing, every
    /// other value bit for bit.
    #[test]
    fn columns_survive_json_with_their_missing_values() {
        let columns = vec![
            Column::Numbers(vec![0.1 + 0.2, f64::NAN, -1e-300, 12345.678]),
            Column::Categories {
                codes: vec![Some(1), None, Some(0), Some(1)],
                count: 2,
            },
        ];
        let json = serde_json::to_string(&columns).unwrap();
        let back: Vec<Column> = serde_json::from_str(&json).unwrap();
        let Column::Numbers(v) = &back[0] else {
            panic!("{json}")
        };
        let Column::Numbers(w) = &columns[0] else {
            unreachable!()
        };
        assert!(v[1].is_nan(), "{json}");
        for i in [0, 2, 3] {
            assert_eq!(v[i].to_bits(), w[i].to_bits(), "{json}");
        }
        assert_eq!(back[1], columns[1]);
    }
}
