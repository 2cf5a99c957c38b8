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
    Numeric(Numbers),
    /// Each category once, sorted by label, with its count.
    Categorical(Vec<(Label, u64)>),
}

/// A column's finite values in ascending order: in memory, or in a file of the spill folder
/// when they are over the memory budget, read back a block at a time as often as a statistic
/// needs (every statistic reads them through [`Numbers::iter`], so both give the same bits).
#[derive(Debug, Clone)]
pub enum Numbers {
    Memory {
        values: Vec<f64>,
        distinct: usize,
    },
    Spilled(Spilled),
    /// `len` values read off a piecewise-linear quantile function at evenly spaced ranks
    /// (a bundle's reference, rebuilt from its profile's quantiles), made as they are read.
    Quantiles {
        quantiles: std::sync::Arc<[f64]>,
        len: usize,
        distinct: usize,
    },
}

/// Sorted values written as little-endian `f64`s to an anonymous temporary file.
#[derive(Debug, Clone)]
pub struct Spilled {
    pub(crate) file: std::sync::Arc<std::fs::File>,
    pub(crate) len: usize,
    pub(crate) distinct: usize,
    pub(crate) first: f64,
    pub(crate) last: f64,
    /// The first read error, reported by [`Numbers::check`] after the statistics.
    pub(crate) error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// Values read back from a spilled file at a time.
const READ_BLOCK: usize = 8192;

impl Numbers {
    /// Sorted finite values held in memory.
    pub fn new(sorted: Vec<f64>) -> Numbers {
        let distinct = runs(sorted.iter().copied()).count();
        Numbers::Memory {
            values: sorted,
            distinct,
        }
    }

    /// `len` values read off the quantile function through `quantiles` (sorted, at least
    /// two) at ranks `i / (len − 1)`.
    pub fn from_quantiles(quantiles: Vec<f64>, len: usize) -> Numbers {
        let quantiles: std::sync::Arc<[f64]> = quantiles.into();
        let mut numbers = Numbers::Quantiles {
            quantiles,
            len,
            distinct: 0,
        };
        let counted = runs(numbers.iter()).count();
        if let Numbers::Quantiles { distinct, .. } = &mut numbers {
            *distinct = counted;
        }
        numbers
    }

    pub fn len(&self) -> usize {
        match self {
            Numbers::Memory { values, .. } => values.len(),
            Numbers::Spilled(s) => s.len,
            Numbers::Quantiles { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn distinct(&self) -> usize {
        match self {
            Numbers::Memory { distinct, .. } => *distinct,
            Numbers::Spilled(s) => s.distinct,
            Numbers::Quantiles { distinct, .. } => *distinct,
        }
    }

    pub fn first(&self) -> Option<f64> {
        match self {
            Numbers::Memory { values, .. } => values.first().copied(),
            Numbers::Spilled(s) => (s.len > 0).then_some(s.first),
            Numbers::Quantiles { .. } => self.iter().next(),
        }
    }

    pub fn last(&self) -> Option<f64> {
        match self {
            Numbers::Memory { values, .. } => values.last().copied(),
            Numbers::Spilled(s) => (s.len > 0).then_some(s.last),
            Numbers::Quantiles { quantiles, len, .. } => {
                (*len > 0).then(|| rank_value(quantiles, *len - 1, *len))
            }
        }
    }

    /// The values when they are in memory.
    pub fn as_slice(&self) -> Option<&[f64]> {
        match self {
            Numbers::Memory { values, .. } => Some(values),
            Numbers::Spilled(_) | Numbers::Quantiles { .. } => None,
        }
    }

    /// The values in ascending order.
    pub fn iter(&self) -> NumbersIter<'_> {
        match self {
            Numbers::Memory { values, .. } => NumbersIter::Memory(values.iter()),
            Numbers::Spilled(s) => NumbersIter::Spilled {
                from: s,
                offset: 0,
                block: Vec::new(),
                at: 0,
            },
            Numbers::Quantiles { quantiles, len, .. } => NumbersIter::Quantiles {
                quantiles,
                next: 0,
                len: *len,
            },
        }
    }

    /// numpy's mean (pairwise summation).
    pub fn mean(&self) -> f64 {
        match self {
            Numbers::Memory { values, .. } => crate::numeric::mean(values),
            _ => crate::numeric::pairwise_sum_of(self.len(), &mut self.iter()) / self.len() as f64,
        }
    }

    /// numpy's population standard deviation (two passes).
    pub fn std_pop(&self) -> f64 {
        match self {
            Numbers::Memory { values, .. } => crate::numeric::std_pop(values),
            _ => {
                let n = self.len();
                let mean = self.mean();
                let mut squares = self.iter().map(|v| (v - mean) * (v - mean));
                (crate::numeric::pairwise_sum_of(n, &mut squares) / n as f64).sqrt()
            }
        }
    }

    /// A read error met while iterating a spilled file, if any.
    pub fn check(&self) -> Result<()> {
        if let Numbers::Spilled(s) = self
            && let Some(e) = s.error.lock().ok().and_then(|mut e| e.take())
        {
            return Err(Error::Compute {
                context: "cannot compute drift",
                detail: format!("reading sorted values back from the spill folder: {e}"),
            });
        }
        Ok(())
    }
}

/// The value at rank `i` of `len` read off the quantile function through `quantiles`.
pub fn rank_value(quantiles: &[f64], i: usize, len: usize) -> f64 {
    let p = if len > 1 {
        i as f64 / (len - 1) as f64
    } else {
        0.0
    };
    crate::numeric::quantile_sorted(quantiles, p)
}

/// [`Numbers::iter`].
#[derive(Debug)]
pub enum NumbersIter<'a> {
    Memory(std::slice::Iter<'a, f64>),
    Quantiles {
        quantiles: &'a [f64],
        next: usize,
        len: usize,
    },
    Spilled {
        from: &'a Spilled,
        offset: u64,
        block: Vec<f64>,
        at: usize,
    },
}

impl Iterator for NumbersIter<'_> {
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        match self {
            NumbersIter::Memory(values) => values.next().copied(),
            NumbersIter::Quantiles {
                quantiles,
                next,
                len,
            } => {
                if *next == *len {
                    return None;
                }
                let v = rank_value(quantiles, *next, *len);
                *next += 1;
                Some(v)
            }
            NumbersIter::Spilled {
                from,
                offset,
                block,
                at,
            } => {
                if *at == block.len() {
                    let left = (from.len as u64 * 8).saturating_sub(*offset);
                    if left == 0 {
                        return None;
                    }
                    let mut bytes = vec![0u8; (left as usize).min(READ_BLOCK * 8)];
                    let read = crate::dataset::stream::read_at(&from.file, &mut bytes, *offset)
                        .and_then(|n| {
                            (n == bytes.len())
                                .then_some(())
                                .ok_or_else(|| std::io::ErrorKind::UnexpectedEof.into())
                        });
                    if let Err(e) = read {
                        if let Ok(mut slot) = from.error.lock() {
                            slot.get_or_insert(e.to_string());
                        }
                        return None;
                    }
                    *offset += bytes.len() as u64;
                    block.clear();
                    block.extend(
                        bytes
                            .chunks_exact(8)
                            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default())),
                    );
                    *at = 0;
                }
                let v = block[*at];
                *at += 1;
                Some(v)
            }
        }
    }
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
            Values::Numeric(v) => runs(v.iter()).map(|(x, n)| (Label::Num(x), n)).collect(),
        }
    }

    pub fn distinct(&self) -> usize {
        match &self.values {
            Values::Categorical(c) => c.len(),
            Values::Numeric(v) => v.distinct(),
        }
    }

    pub fn numbers(&self) -> Option<&Numbers> {
        match &self.values {
            Values::Numeric(v) => Some(v),
            Values::Categorical(_) => None,
        }
    }

    /// A read error met by the statistics, if any.
    pub fn check(&self) -> Result<()> {
        match &self.values {
            Values::Numeric(v) => v.check(),
            Values::Categorical(_) => Ok(()),
        }
    }
}

/// Runs of equal values in ascending order: (value, count).
pub fn runs(sorted: impl Iterator<Item = f64>) -> impl Iterator<Item = (f64, u64)> {
    let mut sorted = sorted.peekable();
    std::iter::from_fn(move || {
        let x = sorted.next()?;
        let mut count = 1;
        while sorted.next_if(|&v| v == x).is_some() {
            count += 1;
        }
        Some((x, count))
    })
}

/// Distinct values of two ascending streams together.
pub fn distinct_union(a: impl Iterator<Item = f64>, b: impl Iterator<Item = f64>) -> usize {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let mut count = 0;
    loop {
        let x = match (a.peek(), b.peek()) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while a.next_if(|&v| v == x).is_some() {}
        while b.next_if(|&v| v == x).is_some() {}
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

/// The kind Evidently infers for a column, or why it has none ([`kind_of`]).
pub fn infer_kind(column: &Column) -> std::result::Result<Kind, String> {
    let name = column.name().as_str();
    kind_of(
        column.dtype(),
        || column.len() - column.null_count(),
        || {
            column
                .drop_nulls()
                .n_unique()
                .map_err(|e| compute_err(name, e).to_string())
        },
    )
}

/// Evidently's rule, given a column's type, its number of non-null values and its number of
/// distinct non-null values (each asked only when the rule needs it; for integers, any number
/// above 10 decides alike): floats are numeric; integers are categorical with at most 10
/// distinct values, else numeric; booleans are categorical; text is categorical unless more
/// than half its values are distinct (free text, not tested).
pub fn kind_of(
    dtype: &DataType,
    non_null: impl FnOnce() -> usize,
    distinct: impl FnOnce() -> std::result::Result<usize, String>,
) -> std::result::Result<Kind, String> {
    if dtype.is_float() {
        return Ok(Kind::Numeric);
    }
    if dtype.is_integer() {
        return Ok(if distinct()? <= 10 {
            Kind::Categorical
        } else {
            Kind::Numeric
        });
    }
    match dtype {
        DataType::Boolean => Ok(Kind::Categorical),
        DataType::String => {
            let non_null = non_null();
            if non_null == 0 {
                return Err("every value is missing".into());
            }
            let distinct = distinct()?;
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
            Kind::Numeric => Values::Numeric(Numbers::new(values)),
            Kind::Categorical => Values::Categorical(
                runs(values.iter().copied())
                    .map(|(x, c)| (Label::Num(x), c))
                    .collect(),
            ),
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
            runs(a.iter().copied()).collect::<Vec<_>>(),
            vec![(1.0, 2), (2.0, 1), (5.0, 1)]
        );
        assert_eq!(distinct_union(a.iter().copied(), b.iter().copied()), 4);
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
