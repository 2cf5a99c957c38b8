//! A column's values prepared for the drift statistics: numbers sorted with non-finite values
//! dropped, or categories with their counts.

use std::cmp::Ordering;

use polars::prelude::*;

use super::Kind;
use crate::{Error, Result};

/// A category: a number (an integer column treated as categorical, or a numeric column with few
/// values) or text. Numbers sort numerically, text by code point, as Python's `sorted` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Label {
    Num(f64),
    Text(String),
}

impl Eq for Label {}

impl Ord for Label {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Label::Num(a), Label::Num(b)) => a.total_cmp(b),
            (Label::Text(a), Label::Text(b)) => a.cmp(b),
            (Label::Num(_), Label::Text(_)) => Ordering::Less,
            (Label::Text(_), Label::Num(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Label {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Num(v) if v.fract() == 0.0 && v.abs() < 1e15 => write!(f, "{}", *v as i64),
            Label::Num(v) => write!(f, "{v}"),
            Label::Text(s) => f.write_str(s),
        }
    }
}

/// One side's values of one column.
#[derive(Debug, Clone)]
pub enum Values {
    /// Sorted, finite.
    Numeric(Vec<f64>),
    /// Each category once, sorted by label, with its count.
    Categorical(Vec<(Label, u64)>),
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub values: Values,
    /// Values kept.
    pub n: usize,
    /// Nulls, NaN and infinities dropped.
    pub dropped: u64,
}

impl Sample {
    /// The categories and their counts (a numeric sample's distinct values).
    pub fn categories(&self) -> Vec<(Label, u64)> {
        match &self.values {
            Values::Categorical(c) => c.clone(),
            Values::Numeric(v) => runs(v).map(|(x, n)| (Label::Num(x), n)).collect(),
        }
    }

    pub fn distinct(&self) -> usize {
        match &self.values {
            Values::Categorical(c) => c.len(),
            Values::Numeric(v) => runs(v).count(),
        }
    }

    pub fn numbers(&self) -> Option<&[f64]> {
        match &self.values {
            Values::Numeric(v) => Some(v),
            Values::Categorical(_) => None,
        }
    }
}

/// Runs of equal values in a sorted slice: (value, count).
pub fn runs(sorted: &[f64]) -> impl Iterator<Item = (f64, u64)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let &x = sorted.get(i)?;
        let start = i;
        while i < sorted.len() && sorted[i] == x {
            i += 1;
        }
        Some((x, (i - start) as u64))
    })
}

/// Distinct values of two sorted slices together.
pub fn distinct_union(a: &[f64], b: &[f64]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < a.len() && a[i] == x {
            i += 1;
        }
        while j < b.len() && b[j] == x {
            j += 1;
        }
        count += 1;
    }
    count
}

/// Union of two sorted category lists, with each side's count (0 where absent).
pub fn merge_categories(a: &[(Label, u64)], b: &[(Label, u64)]) -> Vec<(Label, u64, u64)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some((la, ca)), Some((lb, cb))) => match la.cmp(lb) {
                Ordering::Less => {
                    out.push((la.clone(), *ca, 0));
                    i += 1;
                }
                Ordering::Greater => {
                    out.push((lb.clone(), 0, *cb));
                    j += 1;
                }
                Ordering::Equal => {
                    out.push((la.clone(), *ca, *cb));
                    i += 1;
                    j += 1;
                }
            },
            (Some((la, ca)), None) => {
                out.push((la.clone(), *ca, 0));
                i += 1;
            }
            (None, Some((lb, cb))) => {
                out.push((lb.clone(), 0, *cb));
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// The kind Evidently infers for a column, or why it has none: floats are numeric; integers are
/// categorical with at most 10 distinct values, else numeric; booleans are categorical; text is
/// categorical unless more than half its values are distinct (free text, not tested).
pub fn infer_kind(column: &Column) -> std::result::Result<Kind, String> {
    let dtype = column.dtype();
    let name = column.name().as_str();
    if dtype.is_float() {
        return Ok(Kind::Numeric);
    }
    if dtype.is_integer() {
        let distinct = column
            .drop_nulls()
            .n_unique()
            .map_err(|e| compute_err(name, e).to_string())?;
        return Ok(if distinct <= 10 {
            Kind::Categorical
        } else {
            Kind::Numeric
        });
    }
    match dtype {
        DataType::Boolean => Ok(Kind::Categorical),
        DataType::String => {
            let non_null = column.len() - column.null_count();
            if non_null == 0 {
                return Err("every value is missing".into());
            }
            let distinct = column
                .drop_nulls()
                .n_unique()
                .map_err(|e| compute_err(name, e).to_string())?;
            if distinct as f64 > non_null as f64 * 0.5 {
                Err(format!(
                    "free text ({distinct} distinct values in {non_null}): text drift is not computed"
                ))
            } else {
                Ok(Kind::Categorical)
            }
        }
        DataType::Null => Err("every value is missing".into()),
        other => Err(format!(
            "a {other} column: drift is computed for numbers and categories"
        )),
    }
}

/// Whether a column of this type can hold values of `kind`.
pub fn fits(dtype: &DataType, kind: Kind) -> bool {
    match kind {
        Kind::Numeric => dtype.is_primitive_numeric() || dtype == &DataType::Null,
        Kind::Categorical => {
            dtype.is_primitive_numeric()
                || matches!(dtype, DataType::String | DataType::Boolean | DataType::Null)
        }
    }
}

/// Reads a column as `kind`, optionally only the rows in `rows`.
pub fn sample(column: &Column, kind: Kind, rows: Option<&[u32]>) -> Result<Sample> {
    let name = column.name().to_string();
    let err = |e| compute_err(&name, e);
    let taken;
    let column = match rows {
        Some(rows) => {
            let idx = IdxCa::from_vec("idx".into(), rows.to_vec());
            taken = column.take(&idx).map_err(err)?;
            &taken
        }
        None => column,
    };
    let total = column.len();
    let numeric_dtype = column.dtype().is_primitive_numeric() || column.dtype() == &DataType::Null;
    if numeric_dtype {
        let cast = column.cast(&DataType::Float64).map_err(err)?;
        let ca = cast.f64().map_err(err)?;
        let mut values: Vec<f64> = Vec::with_capacity(total - ca.null_count());
        match ca.cont_slice() {
            // No nulls, one chunk: the values without an Option per row.
            Ok(slice) => values.extend(slice.iter().copied().filter(|v| v.is_finite())),
            Err(_) => values.extend(ca.iter().flatten().filter(|v| v.is_finite())),
        }
        // Finite values only: an LSD radix sort on the bits orders them as `<` does.
        radsort::sort(&mut values);
        let n = values.len();
        let dropped = (total - n) as u64;
        let values = match kind {
            Kind::Numeric => Values::Numeric(values),
            Kind::Categorical => {
                Values::Categorical(runs(&values).map(|(x, c)| (Label::Num(x), c)).collect())
            }
        };
        return Ok(Sample { values, n, dropped });
    }
    if kind == Kind::Numeric {
        return Err(Error::Compute {
            context: "cannot compute drift",
            detail: format!("'{name}' is a {} column, not numeric", column.dtype()),
        });
    }
    let mut counts: PlHashMap<Label, u64> = PlHashMap::new();
    let mut n = 0usize;
    match column.dtype() {
        DataType::Boolean => {
            for v in column.bool().map_err(err)?.iter().flatten() {
                *counts.entry(Label::Text(v.to_string())).or_default() += 1;
                n += 1;
            }
        }
        _ => {
            let cast = column.cast(&DataType::String).map_err(err)?;
            let mut text: PlHashMap<&str, u64> = PlHashMap::new();
            for v in cast.str().map_err(err)?.iter().flatten() {
                *text.entry(v).or_default() += 1;
                n += 1;
            }
            counts = text
                .into_iter()
                .map(|(k, c)| (Label::Text(k.to_owned()), c))
                .collect();
        }
    }
    let mut categories: Vec<(Label, u64)> = counts.into_iter().collect();
    categories.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Sample {
        values: Values::Categorical(categories),
        n,
        dropped: (total - n) as u64,
    })
}

impl std::hash::Hash for Label {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Label::Num(v) => {
                0u8.hash(state);
                v.to_bits().hash(state);
            }
            Label::Text(s) => {
                1u8.hash(state);
                s.hash(state);
            }
        }
    }
}

pub(crate) fn compute_err(column: &str, e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot compute drift",
        detail: format!("column '{column}': {e}"),
    }
}

/// Reads one column of a frame as a sample of `kind` (used by the windows).
pub(crate) fn read_sample(
    frame: &DataFrame,
    name: &str,
    kind: Kind,
    rows: Option<&[u32]>,
) -> Result<Sample> {
    let column = frame.column(name).map_err(|e| compute_err(name, e))?;
    sample(column, kind, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_unions() {
        let a = [1.0, 1.0, 2.0, 5.0];
        let b = [2.0, 3.0, 3.0];
        assert_eq!(
            runs(&a).collect::<Vec<_>>(),
            vec![(1.0, 2), (2.0, 1), (5.0, 1)]
        );
        assert_eq!(distinct_union(&a, &b), 4);
        let x = vec![(Label::Text("a".into()), 2), (Label::Text("c".into()), 1)];
        let y = vec![(Label::Text("b".into()), 4), (Label::Text("c".into()), 3)];
        let m = merge_categories(&x, &y);
        assert_eq!(m.len(), 3);
        assert_eq!(m[2], (Label::Text("c".into()), 1, 3));
    }

    #[test]
    fn labels_print_integers_without_a_fraction() {
        assert_eq!(Label::Num(3.0).to_string(), "3");
        assert_eq!(Label::Num(2.5).to_string(), "2.5");
        assert!(Label::Num(10.0) > Label::Num(9.0));
    }
}
