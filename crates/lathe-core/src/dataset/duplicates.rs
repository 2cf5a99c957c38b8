//! Duplicate rows, counted as pandas `duplicated().sum()` does (rows equal to an earlier row)
//! and as polars' `group_by` over every column did before: null equals null, NaN equals NaN,
//! -0.0 equals 0.0, a null is not a NaN.
//!
//! Each row gets a 64-bit hash of its values, column after column (8 bytes a row, where the
//! `group_by` encoded whole rows); rows that share a hash are then compared value by value with
//! the first row of their hash, so a collision never counts as a duplicate: the count is exact.

use polars::prelude::*;

use super::columns::Columns;
use crate::{Error, Result};

/// A null mixed into a row's hash (any constant: collisions are checked).
pub(crate) const NULL_KEY: u64 = 0x6a09_e667_f3bc_c909;
pub(crate) const SEED: u64 = 0x243f_6a88_85a3_08d3;

fn polars_err(e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot count duplicate rows",
        detail: e.to_string(),
    }
}

/// A column's values as compared here: numbers and booleans by their (canonical) bits, anything
/// else by its text, as the profile counts it.
enum Keys {
    Bits(Vec<Option<u64>>),
    Text(StringChunked),
}

fn canonical(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

fn keys_of(column: &Column) -> Result<Keys> {
    let series = column.as_materialized_series();
    let dtype = series.dtype();
    Ok(if dtype.is_float() {
        let floats = series.cast(&DataType::Float64).map_err(polars_err)?;
        Keys::Bits(
            floats
                .f64()
                .map_err(polars_err)?
                .iter()
                .map(|v| v.map(canonical))
                .collect(),
        )
    } else if *dtype == DataType::UInt64 {
        Keys::Bits(series.u64().map_err(polars_err)?.iter().collect())
    } else if dtype.is_integer() || *dtype == DataType::Boolean {
        let ints = series.cast(&DataType::Int64).map_err(polars_err)?;
        Keys::Bits(
            ints.i64()
                .map_err(polars_err)?
                .iter()
                .map(|v| v.map(|x| x as u64))
                .collect(),
        )
    } else {
        let text = series.cast(&DataType::String).map_err(polars_err)?;
        Keys::Text(text.str().map_err(polars_err)?.clone())
    })
}

impl Keys {
    fn same(&self, a: usize, b: usize) -> bool {
        match self {
            Keys::Bits(v) => v[a] == v[b],
            Keys::Text(t) => t.get(a) == t.get(b),
        }
    }
}

/// Mixes `key` into `hash`: a folded 128-bit multiply, so every bit of both reaches the result.
fn mix(hash: u64, key: u64) -> u64 {
    let product = u128::from(hash ^ key) * 0x9e37_79b9_7f4a_7c15_u128;
    (product as u64) ^ ((product >> 64) as u64)
}

fn text_key(hasher: &foldhash::quality::FixedState, text: Option<&str>) -> u64 {
    use std::hash::BuildHasher;
    text.map_or(NULL_KEY, |t| hasher.hash_one(t))
}

/// Mixes the values of `column` into the hashes of its rows (start each at [`SEED`]).
pub(crate) fn mix_column(column: &Column, hashes: &mut [u64]) -> Result<()> {
    let hasher = foldhash::quality::FixedState::with_seed(SEED);
    match keys_of(column)? {
        Keys::Bits(values) => {
            for (h, v) in hashes.iter_mut().zip(values) {
                *h = mix(*h, v.unwrap_or(NULL_KEY));
            }
        }
        Keys::Text(text) => {
            for (h, v) in hashes.iter_mut().zip(text.iter()) {
                *h = mix(*h, text_key(&hasher, v));
            }
        }
    }
    Ok(())
}

/// The rows of `table` equal to an earlier row, reading it a column at a time.
pub fn duplicate_rows(table: &Columns<'_>) -> Result<u64> {
    count(table, &|_, key| key)
}

/// [`duplicate_rows`] with `scramble` applied to every row hash: tests force collisions with
/// it (a constant), which must not change the count.
fn count(table: &Columns<'_>, scramble: &dyn Fn(usize, u64) -> u64) -> Result<u64> {
    let rows = table.height();
    if table.width() == 0 {
        return Ok((rows - rows.min(1)) as u64);
    }
    let mut hashes = vec![SEED; rows];
    for i in 0..table.width() {
        mix_column(&table.column(i)?, &mut hashes)?;
    }
    // Rows by hash, rows of one hash in row order (a stable sort).
    let mut by_hash: Vec<(u64, u32)> = hashes
        .into_iter()
        .enumerate()
        .map(|(row, h)| (scramble(row, h), row as u32))
        .collect();
    radsort::sort_by_key(&mut by_hash, |p| p.0);
    // Groups of rows sharing a hash: (first row, the later rows).
    let mut groups: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut start = 0;
    while start < by_hash.len() {
        let mut end = start + 1;
        while end < by_hash.len() && by_hash[end].0 == by_hash[start].0 {
            end += 1;
        }
        if end - start > 1 {
            let later = by_hash[start + 1..end].iter().map(|p| p.1).collect();
            groups.push((by_hash[start].1, later));
        }
        start = end;
    }
    drop(by_hash);
    if groups.is_empty() {
        return Ok(0);
    }
    // The common case: every later row of a group equals its first row.
    let mut whole = vec![true; groups.len()];
    for i in 0..table.width() {
        let keys = keys_of(&table.column(i)?)?;
        for (g, (first, later)) in groups.iter().enumerate() {
            if whole[g] {
                whole[g] = later
                    .iter()
                    .all(|&r| keys.same(r as usize, *first as usize));
            }
        }
    }
    let mut duplicates = 0u64;
    let mut mixed = Vec::new();
    for (g, (first, later)) in groups.into_iter().enumerate() {
        if whole[g] {
            duplicates += later.len() as u64;
        } else {
            let mut rows = vec![first];
            rows.extend(later);
            mixed.push(rows);
        }
    }
    // Hash collisions: the rows of such a group are sorted into classes of equal rows, value by
    // value; every row after the first of its class is a duplicate. Only these rows' values are
    // gathered, a column at a time.
    if mixed.is_empty() {
        return Ok(duplicates);
    }
    let involved: Vec<usize> = mixed.iter().flatten().map(|&r| r as usize).collect();
    let position: std::collections::HashMap<u32, usize> = involved
        .iter()
        .enumerate()
        .map(|(k, &r)| (r as u32, k))
        .collect();
    // values[k][c]: column c of involved row k, as text or bits.
    let mut values: Vec<Vec<Option<Result<u64, String>>>> = vec![Vec::new(); involved.len()];
    for i in 0..table.width() {
        let keys = keys_of(&table.column(i)?)?;
        for (k, &r) in involved.iter().enumerate() {
            values[k].push(match &keys {
                Keys::Bits(v) => v[r].map(Ok),
                Keys::Text(t) => t.get(r).map(|s| Err(s.to_owned())),
            });
        }
    }
    for rows in mixed {
        let mut classes: Vec<usize> = Vec::new();
        for row in rows {
            let k = position[&row];
            if classes.iter().any(|&c| values[c] == values[k]) {
                duplicates += 1;
            } else {
                classes.push(k);
            }
        }
    }
    Ok(duplicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "x" => [Some(1.0), Some(f64::NAN), Some(-0.0), None, Some(1.0), Some(f64::NAN), Some(0.0), None, Some(2.0)],
            "s" => [Some("a"), Some("b"), Some("c"), None, Some("a"), Some("b"), Some("c"), None, Some("a")],
            "i" => [1i64, 2, 3, 4, 1, 2, 3, 4, 1],
        )
        .unwrap_or_default()
    }

    #[test]
    fn counts_as_group_by_does() {
        let f = frame();
        let groups = f
            .group_by(f.get_column_names_owned())
            .map(|g| g.get_groups().len())
            .unwrap_or_default();
        assert_eq!(groups, 5, "polars' own count: 9 rows, 5 distinct");
        assert_eq!(duplicate_rows(&Columns::Frame(&f)).ok(), Some(4));
    }

    #[test]
    fn a_hash_collision_never_counts() {
        let f = frame();
        // Every row gets the same hash: the count comes from comparing values alone.
        let t = Columns::Frame(&f);
        assert_eq!(count(&t, &|_, _| 7).ok(), Some(4));
        // Half the rows share one hash, the rest another.
        assert_eq!(count(&t, &|row, _| (row % 2) as u64).ok(), Some(4));
    }

    #[test]
    fn a_null_is_not_a_nan() {
        let f = df!("x" => [None, Some(f64::NAN), None]).unwrap_or_default();
        let t = Columns::Frame(&f);
        assert_eq!(duplicate_rows(&t).ok(), Some(1));
        assert_eq!(count(&t, &|_, _| 0).ok(), Some(1));
    }
}
