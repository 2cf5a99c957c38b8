//! The profile of a Parquet table larger than its memory budget, with the in-memory profile's
//! numbers ([`crate::dataset::profile`]): every statistic is exact, and each is computed with
//! the same arithmetic in the same order, so the two agree to the last bit except the
//! imbalance and uniformity of text columns (summed in another order: ~1e-15).
//!
//! Per column, within its share of the budget:
//! 1. a pass over the column in row order: counts, the sum (for the mean), extremes, and every
//!    present value with its row into an external sort ([`super::sorter`]);
//! 2. the merged sorted values: quantiles, distinct values and the most frequent ones, the
//!    histogram, and (for the correlations) the rows in value order, written to a file;
//! 3. a second pass in row order: the central moments (standard deviation, skewness) and the
//!    bins of the uniformity test.
//!
//! Text columns are counted in a hash table while it fits the share, else sorted as well.
//! Pearson's r is one pass over the numeric columns in row order. Spearman's rho re-ranks
//! each pair's pairwise-complete rows from each column's run spans by row: one pass per column
//! finds the values every partner with missing values drops from it (from the partners'
//! missing-row bitmaps), then one pass per pair sums the ranks. Duplicate rows: a hash per row, sorted; only rows whose hash repeats are read back and
//! compared value by value.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use serde_json::Value;

use super::sorter::{Keyed, Sorter, from_ordered, ordered};
use super::{MemoryLimit, ParquetTable, read_at};
use crate::dataset::columns::Columns;
use crate::dataset::profile::{
    self, ColumnFacts, ColumnProfile, Correlations, CountsBuilder, Lengths, Matrix, Neumaier,
    Profile, Runs, polars_err,
};
use crate::dataset::{alerts, duplicates};
use crate::job::{CancelToken, Job};
use crate::numeric::stats::{self, Bins, Pearson, SpearmanSums};
use crate::{Error, Result};

/// Rows are numbered in 31 bits in the value-order files (the 32nd marks a new value).
const MAX_ROWS: usize = (1 << 31) - 1;

/// Profiles `table` within `limit`, spilling into `spill` (a folder that exists).
pub fn profile_parquet(
    dataset: &str,
    version: Option<i64>,
    table: &ParquetTable,
    limit: MemoryLimit,
    spill: &Path,
    job: &Job,
) -> Result<Profile> {
    if table.rows > MAX_ROWS {
        return Err(Error::BadInput {
            path: table.path.clone(),
            detail: format!(
                "it has {} rows; a table over its memory limit can have at most {MAX_ROWS} rows; raise --memory-limit or split the table",
                table.rows
            ),
        });
    }
    // The data being worked on gets half the limit: the allocator keeps freed pages for a
    // while (measured: about half the bytes churned), and the pages of the file read count
    // too, so the process stays within the limit plus its fixed overhead.
    let limit = MemoryLimit(limit.0 / 2);
    let width = table.names.len();
    let threads = rayon::current_num_threads().max(1);
    let share = limit.bytes() / threads;
    let total = width as u64 + 2;
    // The first MAX_CORRELATION_COLUMNS numeric columns keep their value order.
    let mut correlated = Vec::new();
    for (i, dtype) in table.dtypes.iter().enumerate() {
        if dtype.is_primitive_numeric() && correlated.len() < profile::MAX_CORRELATION_COLUMNS {
            correlated.push(i);
        }
    }
    let mut columns = Vec::with_capacity(width);
    let mut facts = Vec::with_capacity(width);
    let mut orders: Vec<Order> = Vec::with_capacity(correlated.len());
    let indexes: Vec<usize> = (0..width).collect();
    for (b, chunk) in indexes.chunks(threads).enumerate() {
        job.cancel.check()?;
        job.progress("profiling columns", (b * threads) as u64, Some(total));
        let profiled: Vec<_> = chunk
            .par_iter()
            .map(|&i| {
                if table.dtypes[i].is_primitive_numeric() {
                    numeric_column(table, i, share, spill, correlated.contains(&i), &job.cancel)
                } else {
                    text_column(table, i, share, spill, &job.cancel).map(|(p, f)| (p, f, None))
                }
            })
            .collect::<Result<_>>()?;
        for (column, fact, order) in profiled {
            columns.push(column);
            facts.push(fact);
            orders.extend(order);
        }
    }
    job.cancel.check()?;
    let names: Vec<String> = correlated.iter().map(|&i| table.names[i].clone()).collect();
    let correlations = correlations(table, &correlated, names, &orders, limit, spill, job)?;
    drop(orders);
    job.cancel.check()?;
    job.progress("finding duplicate rows", width as u64 + 1, Some(total));
    let duplicate_rows = duplicate_rows(table, limit.bytes(), spill, &job.cancel)?;
    Ok(Profile {
        dataset: dataset.to_owned(),
        version,
        rows: table.rows as u64,
        duplicate_rows,
        columns,
        correlations,
        alerts: Vec::new(),
    }
    .with_alerts(&facts))
}

/// What Spearman's rho needs of a column: for every row, the run of equal values its value
/// belongs to in the column's ascending order, as positions `start..end` among the present
/// values ([`MISSING`] where the value is missing), in a file by row; and how many values are
/// present.
#[derive(Debug)]
struct Order {
    spans: File,
    /// Where the value is missing, a bit per row (bit `r % 64` of word `r / 64`), when any is.
    missing: Option<File>,
    present: u64,
    /// Runs of equal values among the present ones (their distinct values).
    runs: u64,
}

/// The span of a missing value.
const MISSING: u64 = u64::MAX;

fn floats(slice: &DataFrame) -> Result<Float64Chunked> {
    let series = slice.columns()[0].as_materialized_series();
    Ok(series
        .cast(&DataType::Float64)
        .map_err(polars_err)?
        .f64()
        .map_err(polars_err)?
        .clone())
}

fn spill_file(spill: &Path) -> Result<File> {
    tempfile::tempfile_in(spill)
        .map_err(|e| Error::write("create a file in the spill folder", spill, e))
}

fn numeric_column(
    table: &ParquetTable,
    i: usize,
    share: usize,
    spill: &Path,
    keep_order: bool,
    cancel: &CancelToken,
) -> Result<(ColumnProfile, ColumnFacts, Option<Order>)> {
    let dtype = &table.dtypes[i];
    let integral = dtype.is_integer();
    let rows = table.rows;
    let mut out = ColumnProfile::empty(&table.names[i], dtype);
    let mut facts = ColumnFacts {
        numeric: true,
        ..ColumnFacts::default()
    };
    // Pass 1, in row order. Half the share for the sort, a quarter for each slice read.
    let mut sorter = Sorter::<Keyed>::new(spill, share / 2);
    let mut sum = Neumaier::default();
    let (mut zeros, mut below_finite) = (0u64, 0u64);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    table.for_each_slice(&[i], share, cancel, |offset, slice| {
        for (k, v) in floats(slice)?.iter().enumerate() {
            let Some(v) = v.filter(|v| !v.is_nan()) else {
                continue;
            };
            let row = offset + k;
            out.count += 1;
            sum.add(v);
            if v == 0.0 {
                zeros += 1;
            }
            if v.is_infinite() {
                facts.infinite += 1;
                if v < 0.0 {
                    below_finite += 1;
                }
            } else {
                lo = lo.min(v);
                hi = hi.max(v);
            }
            sorter.push(Keyed {
                key: ordered(v),
                row: row as u32,
            })?;
        }
        Ok(())
    })?;
    let n = out.count;
    out.nulls = rows as u64 - n;
    let finite_n = n - facts.infinite;

    // Pass 2: the sorted values.
    let mut wanted: BTreeMap<u64, f64> = BTreeMap::new();
    if n > 0 {
        for p in profile::QUANTILES {
            let (below, above, _) = stats::quantile_positions(n as usize, p);
            wanted.extend([(below as u64, f64::NAN), (above as u64, f64::NAN)]);
        }
    }
    if finite_n > 0 {
        for p in [0.25, 0.75] {
            let (below, above, _) = stats::quantile_positions(finite_n as usize, p);
            wanted.extend([
                (below_finite + below as u64, f64::NAN),
                (below_finite + above as u64, f64::NAN),
            ]);
        }
    }
    let mut counts = CountsBuilder::new(n);
    let mut few_runs: Vec<(f64, u64)> = Vec::new();
    let mut bins = Bins::new(lo, hi, stats::MAX_BINS);
    let mut add_run = |(value, count, start): (f64, u64, u64), counts: &mut CountsBuilder| {
        let value = if value == 0.0 { 0.0 } else { value };
        counts.add(count, start, || profile::number(value, integral));
        if value.is_finite() && few_runs.len() <= stats::MAX_BINS {
            few_runs.push((value, count));
        }
    };
    let mut order_out = match keep_order {
        true => Some(BufWriter::with_capacity(1 << 16, spill_file(spill)?)),
        false => None,
    };
    let write_error = |e| Error::write("write a column's value order", spill, e);
    let (mut min, mut max) = (f64::NAN, f64::NAN);
    let mut runs = Runs::new();
    let mut sorted = sorter.finish()?;
    let mut position = 0u64;
    let mut run_count = 0u64;
    while let Some(record) = sorted.next_record()? {
        let v = from_ordered(record.key);
        if position == 0 {
            min = v;
        }
        max = v;
        if let Some(slot) = wanted.get_mut(&position) {
            *slot = v;
        }
        if let Some(b) = bins.as_mut().filter(|_| v.is_finite()) {
            b.add(v, 1);
        }
        let ended = runs.push(v, position);
        let starts = position == 0 || ended.is_some();
        run_count += u64::from(starts);
        if let Some(run) = ended {
            add_run(run, &mut counts);
        }
        if let Some(w) = &mut order_out {
            let entry = record.row | (u32::from(starts) << 31);
            w.write_all(&entry.to_le_bytes()).map_err(write_error)?;
        }
        position += 1;
    }
    drop(sorted);
    if let Some(run) = runs.finish() {
        add_run(run, &mut counts);
    }
    let counts = counts.finish();
    (out.distinct, out.top_values) = (counts.distinct, counts.top);
    facts.imbalance = counts.imbalance;
    if finite_n > 0 {
        out.histogram = if out.distinct as usize >= stats::MAX_BINS {
            bins.map(Bins::finish)
        } else {
            Bins::new(lo, hi, (out.distinct as usize).max(1)).map(|mut b| {
                for &(v, count) in &few_runs {
                    b.add(v, count);
                }
                b.finish()
            })
        };
    }
    if n > 0 {
        out.zeros = Some(zeros);
        let q = |p: f64| {
            let (below, above, t) = stats::quantile_positions(n as usize, p);
            stats::interpolate(wanted[&(below as u64)], wanted[&(above as u64)], t)
        };
        profile::order_statistics(min, max, q, &mut out);
    }

    // Pass 3, in row order: central moments, and the bins of the uniformity test.
    let mean = sum.total() / n.max(1) as f64;
    let mut auto = None;
    if out.distinct > alerts::LOW_CATEGORICAL_THRESHOLD && finite_n > 0 {
        let q = |p: f64| {
            let (below, above, t) = stats::quantile_positions(finite_n as usize, p);
            let at = |k: usize| wanted[&(below_finite + k as u64)];
            stats::interpolate(at(below), at(above), t)
        };
        let count = stats::auto_bins_of(
            finite_n as usize,
            lo,
            hi,
            q(0.25),
            q(0.75),
            integral && out.nulls == 0,
        );
        auto = Bins::new(lo, hi, count);
    }
    let (mut m2, mut m3) = (Neumaier::default(), Neumaier::default());
    if n > 0 {
        table.for_each_slice(&[i], share, cancel, |_, slice| {
            for v in floats(slice)?.iter().flatten().filter(|v| !v.is_nan()) {
                m2.add((v - mean).powi(2));
                m3.add((v - mean).powi(3));
                if let Some(b) = auto.as_mut().filter(|_| v.is_finite()) {
                    b.add(v, 1);
                }
            }
            Ok(())
        })?;
        profile::moments(n, mean, m2.total(), m3.total(), &mut out);
    }
    facts.uniform_p = if out.distinct <= alerts::LOW_CATEGORICAL_THRESHOLD {
        counts.uniform_p
    } else {
        auto.and_then(|b| stats::chi_squared_uniform_p(&b.finish().counts))
    };
    if integral {
        out.min = out.min.take().map(|v| profile::integral_json(&v));
        out.max = out.max.take().map(|v| profile::integral_json(&v));
    }
    let order = match order_out {
        Some(w) => {
            let file = w.into_inner().map_err(|e| write_error(e.into_error()))?;
            // A slab of spans takes 8 bytes a row: half the share's worth of rows.
            let (spans, missing) =
                spans_by_row(&file, rows, (share / 16).max(1 << 10), out.nulls > 0, spill)?;
            Some(Order {
                spans,
                missing,
                present: n,
                runs: run_count,
            })
        }
        None => None,
    };
    Ok((out, facts, order))
}

/// What a text column's pass gathers besides its value counts.
#[derive(Default)]
struct TextPass {
    count: u64,
    min: Option<String>,
    max: Option<String>,
    sample: Vec<String>,
    length_sum: Neumaier,
    lengths: BTreeMap<u64, u64>,
}

impl TextPass {
    fn see(&mut self, v: &str, lengths: bool) {
        self.count += 1;
        if self.min.as_deref().is_none_or(|m| v < m) {
            self.min = Some(v.to_owned());
        }
        if self.max.as_deref().is_none_or(|m| v > m) {
            self.max = Some(v.to_owned());
        }
        if self.sample.len() < alerts::PII_SAMPLE {
            self.sample.push(v.to_owned());
        }
        if lengths {
            let len = v.chars().count() as u64;
            self.length_sum.add(len as f64);
            *self.lengths.entry(len).or_insert(0) += 1;
        }
    }
}

/// Value counts of a text column in a hash table, or `None` when the table outgrew `share`.
fn text_column(
    table: &ParquetTable,
    i: usize,
    share: usize,
    spill: &Path,
    cancel: &CancelToken,
) -> Result<(ColumnProfile, ColumnFacts)> {
    let dtype = &table.dtypes[i];
    let lengths = *dtype == DataType::String;
    let text_of = |slice: &DataFrame| -> Result<StringChunked> {
        let series = slice.columns()[0].as_materialized_series();
        Ok(series
            .cast(&DataType::String)
            .map_err(polars_err)?
            .str()
            .map_err(polars_err)?
            .clone())
    };
    // First try: a hash table of the distinct values (most text columns are categories).
    let mut pass = TextPass::default();
    let mut map: HashMap<Box<str>, (u64, u64)> = HashMap::new();
    let mut map_bytes = 0usize;
    let mut overflow = false;
    table.for_each_slice(&[i], share, cancel, |_, slice| {
        for v in text_of(slice)?.iter().flatten() {
            let index = pass.count;
            pass.see(v, lengths);
            if overflow {
                continue;
            }
            match map.get_mut(v) {
                Some(entry) => entry.0 += 1,
                None => {
                    map_bytes += v.len().next_multiple_of(16) + 48;
                    map.insert(v.into(), (1, index));
                    if map_bytes * 2 > share {
                        overflow = true;
                        map = HashMap::new();
                    }
                }
            }
        }
        Ok(())
    })?;
    let counts = if !overflow {
        let mut counts = CountsBuilder::new(pass.count);
        for (v, (count, first)) in map {
            counts.add(count, first, || Value::from(&*v));
        }
        counts.finish()
    } else {
        // Too many distinct values: sort them.
        let mut counts = CountsBuilder::new(pass.count);
        let mut sorted = table.sorted_text(i, share, spill, cancel)?;
        let mut run: Option<(Box<str>, u64, u64)> = None;
        while let Some(t) = sorted.next_record()? {
            match &mut run {
                Some((v, count, _)) if **v == *t.value => *count += 1,
                _ => {
                    if let Some((v, count, first)) = run.replace((t.value, 1, t.index)) {
                        counts.add(count, first, || Value::from(&*v));
                    }
                }
            }
        }
        if let Some((v, count, first)) = run {
            counts.add(count, first, || Value::from(&*v));
        }
        counts.finish()
    };
    let mut out = ColumnProfile::empty(&table.names[i], dtype);
    out.count = pass.count;
    out.nulls = table.rows as u64 - pass.count;
    out.min = pass.min.map(Value::from);
    out.max = pass.max.map(Value::from);
    (out.distinct, out.top_values) = (counts.distinct, counts.top);
    let facts = ColumnFacts {
        imbalance: counts.imbalance,
        uniform_p: counts.uniform_p,
        pii: alerts::pii_like(pass.sample.iter().map(String::as_str)),
        ..ColumnFacts::default()
    };
    if lengths && pass.count > 0 {
        let at = |k: u64| {
            let mut seen = 0;
            for (&len, &count) in &pass.lengths {
                seen += count;
                if k < seen {
                    return len as f64;
                }
            }
            f64::NAN
        };
        let (below, above, t) = stats::quantile_positions(pass.count as usize, 0.5);
        out.lengths = Some(Lengths {
            min: pass.lengths.keys().next().copied().unwrap_or(0),
            max: pass.lengths.keys().next_back().copied().unwrap_or(0),
            mean: pass.length_sum.total() / pass.count as f64,
            median: stats::interpolate(at(below as u64), at(above as u64), t),
        });
    }
    Ok((out, facts))
}

/// Entries of a value-order file read at a time (tests use small blocks, so that runs of equal
/// values cross them and outgrow them).
#[cfg(not(test))]
const BLOCK: usize = 1 << 18;
#[cfg(test)]
const BLOCK: usize = 1 << 8;

/// The row of a value-order entry.
fn row_of(entry: u32) -> usize {
    (entry & !(1 << 31)) as usize
}

/// Reads the `u32`s at entry `offset` of `file` into `out` (as many as there are); how many.
fn read_u32s(file: &File, offset: u64, out: &mut [u32], spill: &Path) -> Result<usize> {
    let mut bytes = vec![0u8; out.len() * 4];
    let read = read_at(file, &mut bytes, offset * 4)
        .map_err(|e| Error::io("read a column's value order", spill, e))?;
    for (o, b) in out.iter_mut().zip(bytes[..read - read % 4].chunks_exact(4)) {
        *o = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Ok(read / 4)
}

/// Calls `f` with the entries `from..to` of a value-order file, a block at a time.
fn for_entries(
    file: &File,
    from: u64,
    to: u64,
    spill: &Path,
    mut f: impl FnMut(&[u32]),
) -> Result<()> {
    let mut buf = vec![0u32; BLOCK];
    let mut at = from;
    while at < to {
        let want = ((to - at) as usize).min(BLOCK);
        let got = read_u32s(file, at, &mut buf[..want], spill)?;
        if got == 0 {
            break;
        }
        f(&buf[..got]);
        at += got as u64;
    }
    Ok(())
}

/// Calls `f(entries, start, end)` for every run of equal values of a value-order file, a
/// block of its entries at a time (a run longer than a block comes in several calls), with the
/// run's positions `start..end`. A run that outgrows the block is measured first, then read
/// again.
fn for_runs(order: &File, spill: &Path, mut f: impl FnMut(&[u32], u64, u64)) -> Result<()> {
    let mut buf = vec![0u32; BLOCK];
    // Entries buf[..len] are the file's entries from position `base`.
    let (mut base, mut len) = (0u64, read_u32s(order, 0, &mut buf, spill)?);
    let mut i = 0;
    while i < len {
        let mut j = i + 1;
        while j < len && buf[j] >> 31 == 0 {
            j += 1;
        }
        if j == len && len == BLOCK {
            if i > 0 {
                // The run may go on: move it to the front and read on.
                buf.copy_within(i..len, 0);
                base += i as u64;
                let kept = len - i;
                len = kept + read_u32s(order, base + kept as u64, &mut buf[kept..], spill)?;
                i = 0;
                continue;
            }
            // A run longer than a block: find its end, then read it again.
            let from = base;
            let mut to = base;
            'scan: loop {
                let got = read_u32s(order, to, &mut buf, spill)?;
                if got == 0 {
                    break;
                }
                for (k, &e) in buf[..got].iter().enumerate() {
                    if to + k as u64 > from && e >> 31 == 1 {
                        to += k as u64;
                        break 'scan;
                    }
                }
                to += got as u64;
            }
            for_entries(order, from, to, spill, |entries| f(entries, from, to))?;
            base = to;
            len = read_u32s(order, base, &mut buf, spill)?;
            i = 0;
            continue;
        }
        f(&buf[i..j], base + i as u64, base + j as u64);
        i = j;
        if i == len && len == BLOCK {
            base += len as u64;
            len = read_u32s(order, base, &mut buf, spill)?;
            i = 0;
        }
    }
    Ok(())
}

/// The run spans of a column by row (see [`Order`]), from its value-order file, written a slab
/// of `slab` rows at a time (each slab reads the value order once); and, when `missing`, the
/// bitmap of the rows whose value is missing.
fn spans_by_row(
    order: &File,
    rows: usize,
    slab: usize,
    missing: bool,
    spill: &Path,
) -> Result<(File, Option<File>)> {
    let write_error = |e| Error::write("write a column's ranks", spill, e);
    // Slabs of whole bitmap words.
    let slab = (slab / 64).max(1) * 64;
    let mut out = BufWriter::with_capacity(1 << 16, spill_file(spill)?);
    let mut bitmap = match missing {
        true => Some(BufWriter::with_capacity(1 << 16, spill_file(spill)?)),
        false => None,
    };
    let mut spans = Vec::new();
    let mut start = 0;
    while start < rows {
        let len = slab.min(rows - start);
        spans.clear();
        spans.resize(len, MISSING);
        for_runs(order, spill, |entries, from, to| {
            for &e in entries {
                let r = row_of(e);
                if r >= start && r < start + len {
                    spans[r - start] = from | (to << 32);
                }
            }
        })?;
        for s in &spans {
            out.write_all(&s.to_le_bytes()).map_err(write_error)?;
        }
        if let Some(b) = &mut bitmap {
            for word in spans.chunks(64) {
                let w = word
                    .iter()
                    .enumerate()
                    .fold(0u64, |w, (k, &s)| w | (u64::from(s == MISSING) << k));
                b.write_all(&w.to_le_bytes()).map_err(write_error)?;
            }
        }
        start += len;
    }
    let file = |w: BufWriter<File>| w.into_inner().map_err(|e| write_error(e.into_error()));
    Ok((file(out)?, bitmap.map(file).transpose()?))
}

/// Rows the Spearman passes read at a time: whole bitmap words (tests use small blocks, so
/// that a table takes several).
#[cfg(not(test))]
const ROWS: usize = 1 << 16;
#[cfg(test)]
const ROWS: usize = 1 << 7;

/// Reads `out.len()` little-endian `u64`s from word `at` of `file`, all of them.
fn read_words(file: &File, at: usize, out: &mut [u64], spill: &Path) -> Result<()> {
    let mut bytes = vec![0u8; out.len() * 8];
    let read = read_at(file, &mut bytes, at as u64 * 8)
        .map_err(|e| Error::io("read a column's ranks", spill, e))?;
    if read != bytes.len() {
        return Err(Error::io(
            "read a column's ranks",
            spill,
            std::io::ErrorKind::UnexpectedEof.into(),
        ));
    }
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        *o = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }
    Ok(())
}

/// Writes `words` to a new file in the spill folder.
fn write_words(words: &[u64], spill: &Path) -> Result<File> {
    let mut out = BufWriter::with_capacity(1 << 16, spill_file(spill)?);
    let write_error = |e| Error::write("write a column's dropped ranks", spill, e);
    for w in words {
        out.write_all(&w.to_le_bytes()).map_err(write_error)?;
    }
    out.into_inner().map_err(|e| write_error(e.into_error()))
}

/// Calls `f(x spans, y spans)` for consecutive blocks of rows of two columns.
fn for_span_blocks(
    x: &Order,
    y: &Order,
    rows: usize,
    spill: &Path,
    mut f: impl FnMut(&[u64], &[u64]),
) -> Result<()> {
    let (mut a, mut b) = (vec![0u64; ROWS], vec![0u64; ROWS]);
    let mut start = 0;
    while start < rows {
        let len = ROWS.min(rows - start);
        read_words(&x.spans, start, &mut a[..len], spill)?;
        read_words(&y.spans, start, &mut b[..len], spill)?;
        f(&a[..len], &b[..len]);
        start += len;
    }
    Ok(())
}

/// The values of a column that a pair drops (present here, missing in the other column), being
/// gathered: a bit per position in the column's value order. The `k` dropped values of a run
/// starting at `s` take the positions `s..s + k`, all inside the run, so that every count
/// before a run boundary is right.
struct DropBits {
    bits: Vec<u64>,
    /// The next free position of the runs whose start is taken.
    next: HashMap<u32, u32>,
    count: u64,
}

impl DropBits {
    fn new(positions: u64) -> DropBits {
        DropBits {
            bits: vec![0; positions as usize / 64 + 1],
            next: HashMap::new(),
            count: 0,
        }
    }

    /// A dropped value of the run starting at `start`.
    fn add(&mut self, start: u32) {
        let taken = |bits: &[u64], p: u32| bits[p as usize / 64] >> (p % 64) & 1 == 1;
        let mut p = start;
        if taken(&self.bits, p) {
            let next = self.next.entry(start).or_insert(start + 1);
            p = *next;
            *next += 1;
        }
        self.bits[p as usize / 64] |= 1 << (p % 64);
        self.count += 1;
    }
}

/// A pair's dropped values of one column, spilled (see [`DropBits`]).
struct Drops {
    bits: File,
    count: u64,
}

/// For each column `x` (by index in `orders`), and each other column `y` with missing values,
/// the values of `x` in the rows where `y` is missing and `x` is not: the values Spearman's rho
/// of the pair drops from `x` (`None` where there are none). Each column's spans are read once
/// for every batch of partners whose bits fit `share`; the partners' missing bitmaps beside
/// them.
fn dropped_values(
    orders: &[Order],
    rows: usize,
    share: usize,
    spill: &Path,
    cancel: &CancelToken,
) -> Result<Vec<Vec<Option<Drops>>>> {
    (0..orders.len())
        .into_par_iter()
        .map(|i| {
            let x = &orders[i];
            let mut out: Vec<Option<Drops>> = orders.iter().map(|_| None).collect();
            let partners: Vec<usize> = (0..orders.len())
                .filter(|&j| j != i && orders[j].missing.is_some())
                .collect();
            if x.present == 0 || partners.is_empty() {
                return Ok(out);
            }
            let bytes = (x.present as usize / 64 + 1) * 8;
            let (mut spans, mut xm, mut ym) = (
                vec![0u64; ROWS],
                vec![0u64; ROWS / 64],
                vec![0u64; ROWS / 64],
            );
            for batch in partners.chunks((share / bytes).max(1)) {
                let mut built: Vec<DropBits> =
                    batch.iter().map(|_| DropBits::new(x.present)).collect();
                let mut start = 0;
                while start < rows {
                    cancel.check()?;
                    let len = ROWS.min(rows - start);
                    let words = len.div_ceil(64);
                    read_words(&x.spans, start, &mut spans[..len], spill)?;
                    match &x.missing {
                        Some(m) => read_words(m, start / 64, &mut xm[..words], spill)?,
                        None => xm.fill(0),
                    }
                    for (drops, &j) in built.iter_mut().zip(batch) {
                        if let Some(m) = &orders[j].missing {
                            read_words(m, start / 64, &mut ym[..words], spill)?;
                        }
                        for (w, (&ymw, &xmw)) in ym[..words].iter().zip(&xm).enumerate() {
                            let mut m = ymw & !xmw;
                            while m != 0 {
                                let r = w * 64 + m.trailing_zeros() as usize;
                                drops.add((spans[r] & 0xffff_ffff) as u32);
                                m &= m - 1;
                            }
                        }
                    }
                    start += len;
                }
                for (drops, &j) in built.into_iter().zip(batch) {
                    if drops.count > 0 {
                        out[j] = Some(Drops {
                            bits: write_words(&drops.bits, spill)?,
                            count: drops.count,
                        });
                    }
                }
            }
            Ok(out)
        })
        .collect()
}

/// How many of a column's present values, at positions in its value order, are among those
/// dropped for a pair: a bit per position and a count per 64 positions, so that
/// [`Dropped::before`] is two reads. (Measured at 100M rows: a cache-line layout and a sparse
/// one with 2-byte offsets were both slower.)
struct Dropped {
    bits: Vec<u64>,
    counts: Vec<u32>,
}

impl Dropped {
    /// The spilled bits of a column with `positions` present values.
    fn load(drops: &Drops, positions: u64, spill: &Path) -> Result<Dropped> {
        let mut bits = vec![0u64; positions as usize / 64 + 1];
        read_words(&drops.bits, 0, &mut bits, spill)?;
        let mut counts = Vec::with_capacity(bits.len());
        let mut total = 0u32;
        for w in &bits {
            counts.push(total);
            total += w.count_ones();
        }
        Ok(Dropped { bits, counts })
    }

    /// Dropped values at positions below `p`.
    fn before(&self, p: u64) -> u64 {
        let (w, b) = ((p / 64) as usize, p % 64);
        u64::from(self.counts[w]) + u64::from((self.bits[w] & ((1u64 << b) - 1)).count_ones())
    }
}

/// The doubled average rank of a value whose run spans `span`, among the values not dropped.
fn doubled_rank(span: u64, dropped: Option<&Dropped>) -> u32 {
    let (start, end) = (span & 0xffff_ffff, span >> 32);
    let (start, end) = match dropped {
        // A run of one value not dropped: nothing dropped inside it.
        Some(d) if end == start + 1 => {
            let before = d.before(start);
            (start - before, end - before)
        }
        Some(d) => (start - d.before(start), end - d.before(end)),
        None => (start, end),
    };
    // 2·start + (end − start) + 1: twice the mean of the 1-based positions start+1 ..= end.
    (start + end + 1) as u32
}

/// Spearman's rho of two columns over the rows where both are present, given the values each
/// drops (see [`dropped_values`]): the same doubled ranks and the same sums, in the same row
/// order, as the in-memory coefficient. A column's rank among the pair's rows is its own rank
/// less the values the pair drops before it.
fn spearman(
    x: (&Order, Option<&Drops>),
    y: (&Order, Option<&Drops>),
    rows: usize,
    spill: &Path,
) -> Result<Option<f64>> {
    // The pair's rows: x's present ones less those where y is missing.
    let n = x.0.present - x.1.map_or(0, |d| d.count);
    if n < 1 {
        return Ok(None);
    }
    let load = |(order, drops): (&Order, Option<&Drops>)| {
        drops
            .map(|d| Dropped::load(d, order.present, spill))
            .transpose()
    };
    let (dx, dy) = (load(x)?, load(y)?);
    let mut sums = SpearmanSums::new(n);
    for_span_blocks(x.0, y.0, rows, spill, |a, b| {
        for (&sx, &sy) in a.iter().zip(b) {
            if sx != MISSING && sy != MISSING {
                sums.add(doubled_rank(sx, dx.as_ref()), doubled_rank(sy, dy.as_ref()));
            }
        }
    })?;
    Ok(sums.finish())
}

/// Spearman's rho of a column with itself, without a pass: the sums of the same ranks are
/// equal (sxy = sxx = syy, the same operations), and √(sxx·sxx) rounds to sxx exactly in
/// binary floating point, so the in-memory coefficient is exactly 1 when the ranks vary (two
/// or more distinct values) and missing otherwise.
fn diagonal(x: &Order) -> Option<f64> {
    (x.present > 0 && x.runs >= 2).then_some(1.0)
}

fn correlations(
    table: &ParquetTable,
    correlated: &[usize],
    names: Vec<String>,
    orders: &[Order],
    limit: MemoryLimit,
    spill: &Path,
    job: &Job,
) -> Result<Correlations> {
    let cancel = &job.cancel;
    let k = correlated.len();
    let stage = |name: &str, done: usize| job.progress(name, done as u64, Some(2));
    let pairs: Vec<(usize, usize)> = (0..k).flat_map(|i| (i..k).map(move |j| (i, j))).collect();
    // Spearman first, while the run spans just written are still in the page cache: pairs
    // in parallel.
    stage("rank correlations", 0);
    let share = limit.bytes() / rayon::current_num_threads().max(1);
    let drops = dropped_values(orders, table.rows, share, spill, cancel)?;
    let rho: Vec<Option<f64>> = pairs
        .par_iter()
        .map(|&(i, j)| {
            cancel.check()?;
            if i == j {
                return Ok(diagonal(&orders[i]));
            }
            spearman(
                (&orders[i], drops[i][j].as_ref()),
                (&orders[j], drops[j][i].as_ref()),
                table.rows,
                spill,
            )
        })
        .collect::<Result<_>>()?;
    // Pearson: one pass in row order, every pair updated slice by slice.
    stage("linear correlations", 1);
    let mut pearson = vec![Pearson::default(); pairs.len()];
    if k > 0 {
        table.for_each_slice(correlated, limit.bytes() / 2, cancel, |_, slice| {
            let values: Vec<Vec<f64>> = (0..k)
                .map(|c| {
                    let series = slice.columns()[c].as_materialized_series();
                    let floats = series.cast(&DataType::Float64).map_err(polars_err)?;
                    Ok(floats
                        .f64()
                        .map_err(polars_err)?
                        .iter()
                        .map(|v| v.unwrap_or(f64::NAN))
                        .collect())
                })
                .collect::<Result<_>>()?;
            // Three pairs at a time (see Pearson::add_pairs).
            pearson
                .par_chunks_mut(3)
                .zip(pairs.par_chunks(3))
                .for_each(|(accs, pairs)| {
                    let columns: Vec<(&[f64], &[f64])> = pairs
                        .iter()
                        .map(|&(i, j)| (&values[i][..], &values[j][..]))
                        .collect();
                    Pearson::add_pairs(accs, &columns);
                });
            Ok(())
        })?;
    }
    let mut p = vec![vec![None; k]; k];
    let mut s = vec![vec![None; k]; k];
    for (n, &(i, j)) in pairs.iter().enumerate() {
        let r = pearson[n].finish();
        (p[i][j], p[j][i]) = (r, r);
        (s[i][j], s[j][i]) = (rho[n], rho[n]);
    }
    Ok(Correlations {
        pearson: Matrix {
            columns: names.clone(),
            values: p,
        },
        spearman: Matrix {
            columns: names,
            values: s,
        },
    })
}

/// Rows equal to an earlier row. Every row's hash (the in-memory count's hash) is sorted;
/// rows whose hash is unique cannot be duplicates. The rows whose hash repeats are read back
/// and counted exactly by the in-memory count, which compares their values.
fn duplicate_rows(
    table: &ParquetTable,
    share: usize,
    spill: &Path,
    cancel: &CancelToken,
) -> Result<u64> {
    let width = table.names.len();
    // Half the share for the sort; the other half for a slab of rows: its hashes (8 bytes a
    // row), one column of it read (~8) and its keys (16), with room to spare.
    let mut sorter = Sorter::<Keyed>::new(spill, share / 2);
    let slab = (share / 2 / 48).max(1 << 12);
    let mut start = 0;
    while start < table.rows {
        cancel.check()?;
        let len = slab.min(table.rows - start);
        let mut hashes = vec![duplicates::SEED; len];
        for c in 0..width {
            let slice = table.read(&[c], start, len)?;
            duplicates::mix_column(&slice.columns()[0], &mut hashes)?;
        }
        for (k, h) in hashes.into_iter().enumerate() {
            sorter.push(Keyed {
                key: h,
                row: (start + k) as u32,
            })?;
        }
        start += len;
    }
    // Rows in a group of equal hashes, in row order.
    let mut candidates: Vec<u32> = Vec::new();
    let mut sorted = sorter.finish()?;
    let mut group: Vec<u32> = Vec::new();
    let mut current = None;
    while let Some(r) = sorted.next_record()? {
        if current != Some(r.key) {
            if group.len() > 1 {
                candidates.extend(&group);
            }
            group.clear();
            current = Some(r.key);
        }
        group.push(r.row);
    }
    if group.len() > 1 {
        candidates.extend(&group);
    }
    drop(sorted);
    if candidates.is_empty() {
        return Ok(0);
    }
    radsort::sort(&mut candidates);
    // Those rows' values, a column at a time, into a small table.
    let mut gathered: Vec<Column> = Vec::with_capacity(width);
    for c in 0..width {
        let mut parts: Option<Series> = None;
        table.for_each_slice(&[c], share, cancel, |offset, slice| {
            let from = candidates.partition_point(|&r| (r as usize) < offset);
            let to = candidates.partition_point(|&r| (r as usize) < offset + slice.height());
            let idx: Vec<IdxSize> = candidates[from..to]
                .iter()
                .map(|&r| (r as usize - offset) as IdxSize)
                .collect();
            let taken = slice.columns()[0]
                .as_materialized_series()
                .take(&IdxCa::from_vec(PlSmallStr::EMPTY, idx))
                .map_err(polars_err)?;
            match &mut parts {
                Some(p) => {
                    p.append(&taken).map_err(polars_err)?;
                }
                None => parts = Some(taken),
            }
            Ok(())
        })?;
        if let Some(p) = parts {
            gathered.push(p.into());
        }
    }
    let frame = DataFrame::new(candidates.len(), gathered).map_err(polars_err)?;
    duplicates::duplicate_rows(&Columns::Frame(&frame))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A table with every case the profile distinguishes: nulls, NaN, ±inf, -0.0, ties, a
    /// constant, integers, low- and high-cardinality text, booleans, duplicate rows.
    pub(crate) fn table(rows: usize) -> DataFrame {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut normal = Vec::new();
        let mut ties = Vec::new();
        let mut counts = Vec::new();
        let mut special = Vec::new();
        let mut country = Vec::new();
        let mut id = Vec::new();
        let mut flag = Vec::new();
        for r in 0..rows {
            let u = next();
            normal.push((u % 7 != 0).then(|| (u >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0));
            ties.push((u % 5 != 1).then_some(((u >> 20) % 9) as f64 - 4.0));
            counts.push(((u >> 30) % 1000) as i64);
            special.push(match u % 11 {
                0 => Some(f64::INFINITY),
                1 => Some(f64::NEG_INFINITY),
                2 => Some(f64::NAN),
                3 => Some(-0.0),
                4 => None,
                _ => Some(((u >> 8) % 50) as f64),
            });
            country.push(["SE", "NO", "DK", "FI", "IS"][((u >> 40) % 5) as usize]);
            id.push((u % 13 != 0).then(|| format!("c{}", (u >> 24) % (rows as u64 / 2))));
            flag.push(r % 3 == 0);
        }
        // Exact duplicates of earlier rows at the end.
        for v in [&mut normal, &mut ties] {
            for k in 0..rows / 50 {
                v[rows - 1 - k] = v[k];
            }
        }
        for k in 0..rows / 50 {
            counts[rows - 1 - k] = counts[k];
            special[rows - 1 - k] = special[k];
            country[rows - 1 - k] = country[k];
            id[rows - 1 - k] = id[k].clone();
            flag[rows - 1 - k] = flag[k];
        }
        df!(
            "normal" => normal,
            "ties" => ties,
            "counts" => counts,
            "special" => special,
            "constant" => vec![Some(1.5f64); rows],
            "country" => country,
            "id" => id,
            "flag" => flag,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Numbers equal to the last bit, except where `loose` says the order of a sum differs.
    fn same(a: &Value, b: &Value, path: &str, loose: bool) {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) if loose => {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                assert!(
                    (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                    "{path}: {x} vs {y}"
                );
            }
            (Value::Object(x), Value::Object(y)) => {
                assert_eq!(x.len(), y.len(), "{path}");
                for (k, v) in x {
                    let loose = loose || k == "value";
                    same(v, &y[k], &format!("{path}.{k}"), loose);
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}");
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    same(v, w, &format!("{path}[{i}]"), loose);
                }
            }
            _ => assert_eq!(a, b, "{path}"),
        }
    }

    #[test]
    fn the_streamed_profile_equals_the_in_memory_one() {
        for rows in [60_000, 3] {
            equal_profiles(rows);
        }
    }

    fn equal_profiles(rows: usize) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("t.parquet");
        let mut frame = table(rows);
        let file = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        ParquetWriter::new(file)
            .with_row_group_size(Some(7_000))
            .finish(&mut frame)
            .unwrap_or_else(|e| panic!("{e}"));
        let expected =
            profile::profile("t", None, &frame, &Job::silent()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            expected.duplicate_rows >= rows as u64 / 50,
            "{}",
            expected.duplicate_rows
        );
        let table = ParquetTable::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let spill = dir.path().join("spill");
        std::fs::create_dir(&spill).unwrap_or_else(|e| panic!("{e}"));
        // 512 KiB: every column's sort spills runs, Spearman works in two slabs, the text
        // column of ids outgrows its hash table.
        let streamed = profile_parquet(
            "t",
            None,
            &table,
            MemoryLimit(1 << 19),
            &spill,
            &Job::silent(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // Numeric columns and both correlation matrices: the same bits (Debug prints the
        // shortest text that reads back as the same float; NaN != NaN for `==`).
        for (a, b) in expected.columns.iter().zip(&streamed.columns).take(5) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        assert_eq!(
            format!("{:?}", expected.correlations),
            format!("{:?}", streamed.correlations)
        );
        assert_eq!(expected.duplicate_rows, streamed.duplicate_rows);
        let (a, b) = (
            serde_json::to_value(&expected).unwrap_or_default(),
            serde_json::to_value(&streamed).unwrap_or_default(),
        );
        same(&a, &b, "profile", false);
        // Nothing is left in the spill folder.
        assert_eq!(std::fs::read_dir(&spill).map(|d| d.count()).ok(), Some(0));
    }
}
