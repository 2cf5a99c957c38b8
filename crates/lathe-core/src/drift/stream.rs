//! Drift of tables over the memory budget ([`Sliced`]). Both tables are read from Parquet in
//! slices of rows a column at a time: a numeric column's finite values go through the external merge sort of
//! [`crate::dataset::stream::sorter`] into [`Numbers`] (in memory, or a file of sorted values
//! in the spill folder when over the share), and a categorical column is counted slice by
//! slice. The columns are then planned and scored by the same code as in memory, whose
//! statistics read the sorted values through an iterator, so the numbers are the in-memory
//! ones to the bit.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::method::Kind;
use super::plan::Schema;
use super::sample::{self, Label, Numbers, Sample, Spilled, Values, compute_err};
use super::table::Table;
use crate::dataset::browse::{SlicedTable, TableSource};
use crate::dataset::stream::sorter::{Sorter, from_ordered, ordered};
use crate::dataset::stream::{MemoryLimit, ParquetTable};
use crate::job::{CancelToken, Job};
use crate::{Error, Result};

/// A table read in slices of rows of its Parquet file, a column at a time, working in a
/// share of the memory limit per thread and spilling into a folder of its own (removed when
/// it is dropped).
#[derive(Debug)]
pub struct Sliced {
    table: SlicedTable,
    share: usize,
    spill: tempfile::TempDir,
    cancel: CancelToken,
    /// Text columns counted to infer their kind, kept as their samples.
    counted: Mutex<HashMap<String, Sample>>,
}

impl Sliced {
    /// Opens `source` to be read in slices within `limit` (a CSV is first copied to Parquet).
    pub(crate) fn open(source: &TableSource, limit: MemoryLimit, job: &Job) -> Result<Sliced> {
        let base = source.spill_folder()?;
        let spill = tempfile::Builder::new()
            .prefix("lathe-spill-")
            .tempdir_in(&base)
            .map_err(|e| Error::write("create a spill folder", &base, e))?;
        let table = source.sliced(limit, spill.path(), job)?;
        // The working set is half the limit (the allocator keeps some of what it frees),
        // shared by the threads that test columns side by side.
        let threads = rayon::current_num_threads().max(1);
        Ok(Sliced {
            table,
            share: limit.bytes() / 2 / threads,
            spill,
            cancel: job.cancel.clone(),
            counted: Mutex::default(),
        })
    }

    fn parquet(&self) -> &ParquetTable {
        &self.table.table
    }
}

impl Table for Sliced {
    fn schema(&self) -> Schema {
        let t = self.parquet();
        t.names
            .iter()
            .cloned()
            .zip(t.dtypes.iter().cloned())
            .collect()
    }

    fn rows(&self) -> usize {
        self.parquet().rows
    }

    fn kind(&self, name: &str) -> Result<std::result::Result<Kind, String>> {
        self.cancel.check()?;
        let table = self.parquet();
        let (kind, counted) = infer(
            table,
            index(table, name)?,
            self.share,
            self.spill.path(),
            &self.cancel,
        )?;
        if let (Some(sample), Ok(mut cache)) = (counted, self.counted.lock()) {
            cache.insert(name.to_owned(), sample);
        }
        Ok(kind)
    }

    fn sample(&self, name: &str, kind: Kind) -> Result<Sample> {
        self.cancel.check()?;
        let cached = self.counted.lock().ok().and_then(|mut c| c.remove(name));
        match cached {
            Some(sample) if kind == Kind::Categorical => Ok(sample),
            _ => read_side(
                self.parquet(),
                name,
                kind,
                self.share,
                self.spill.path(),
                &self.cancel,
            ),
        }
    }
}

fn index(table: &ParquetTable, name: &str) -> Result<usize> {
    table
        .names
        .iter()
        .position(|n| n == name)
        .ok_or_else(|| Error::Compute {
            context: "cannot compute drift",
            detail: format!("no column '{name}' in {}", table.path.display()),
        })
}

/// The kind Evidently infers for a column ([`sample::kind_of`]), reading only what the rule
/// needs: nothing for floats and booleans, integers until an eleventh distinct value, text
/// counted whole (its counts returned, to be its sample).
fn infer(
    table: &ParquetTable,
    column: usize,
    share: usize,
    spill: &Path,
    cancel: &CancelToken,
) -> Result<(std::result::Result<Kind, String>, Option<Sample>)> {
    let dtype = &table.dtypes[column];
    let name = &table.names[column];
    if dtype.is_integer() {
        let distinct = few_distinct(table, column, share, cancel)?;
        return Ok((sample::kind_of(dtype, || 0, || Ok(distinct)), None));
    }
    if dtype != &DataType::String {
        return Ok((sample::kind_of(dtype, || table.rows, || Ok(0)), None));
    }
    Ok(match count_categories(table, column, share, cancel)? {
        Some(s) => {
            let kind = sample::kind_of(dtype, || s.n, || Ok(s.distinct()));
            let keep = kind.is_ok().then_some(s);
            (kind, keep)
        }
        None => {
            let (non_null, distinct) = count_text(table, column, share, spill, cancel)?;
            match sample::kind_of(dtype, || non_null, || Ok(distinct)) {
                Ok(_) => return Err(too_many_categories(name, Some(distinct))),
                Err(reason) => (Err(reason), None),
            }
        }
    })
}

fn too_many_categories(name: &str, distinct: Option<usize>) -> Error {
    let how_many = distinct.map(|d| format!("{d} ")).unwrap_or_default();
    Error::Compute {
        context: "cannot compute drift",
        detail: format!(
            "column '{name}' has {how_many}categories, more than the memory limit holds; raise --memory-limit, or leave it out with --columns"
        ),
    }
}

/// Distinct values of an integer column, counted up to 11 (all [`sample::kind_of`] needs).
fn few_distinct(
    table: &ParquetTable,
    column: usize,
    share: usize,
    cancel: &CancelToken,
) -> Result<usize> {
    let name = &table.names[column];
    let unsigned = table.dtypes[column] == DataType::UInt64;
    let step = table.slice_rows(&[column], share);
    let mut seen: HashSet<u64> = HashSet::new();
    let mut offset = 0;
    while offset < table.rows && seen.len() <= 10 {
        cancel.check()?;
        let len = step.min(table.rows - offset);
        let slice = table.read(&[column], offset, len)?;
        let values = &slice.columns()[0];
        let err = |e| compute_err(name, e);
        if unsigned {
            for v in values.u64().map_err(err)?.iter().flatten() {
                if seen.insert(v) && seen.len() > 10 {
                    break;
                }
            }
        } else {
            let cast = values.cast(&DataType::Int64).map_err(err)?;
            for v in cast.i64().map_err(err)?.iter().flatten() {
                if seen.insert(v as u64) && seen.len() > 10 {
                    break;
                }
            }
        }
        offset += len;
    }
    Ok(seen.len())
}

/// The categories of a column and their counts, slice by slice with the in-memory rule
/// ([`sample::sample`]); `None` when they outgrow half of `share`.
fn count_categories(
    table: &ParquetTable,
    column: usize,
    share: usize,
    cancel: &CancelToken,
) -> Result<Option<Sample>> {
    let step = table.slice_rows(&[column], share);
    let mut categories: Vec<(Label, u64)> = Vec::new();
    let mut n = 0;
    let mut offset = 0;
    while offset < table.rows {
        cancel.check()?;
        let len = step.min(table.rows - offset);
        let slice = table.read(&[column], offset, len)?;
        let part = sample::sample(&slice.columns()[0], Kind::Categorical, None)?;
        n += part.n;
        categories = sample::merge_categories(&categories, &part.categories())
            .into_iter()
            .map(|(label, a, b)| (label, a + b))
            .collect();
        let bytes: usize = categories
            .iter()
            .map(|(label, _)| match label {
                Label::Num(_) => 40,
                Label::Text(t) => 40 + t.len().next_multiple_of(16),
            })
            .sum();
        if bytes > share / 2 {
            return Ok(None);
        }
        offset += len;
    }
    Ok(Some(Sample {
        values: Values::Categorical(categories),
        n,
        dropped: (table.rows - n) as u64,
    }))
}

/// Non-null and distinct values of a text column too varied to count in memory, by an
/// external sort.
fn count_text(
    table: &ParquetTable,
    column: usize,
    share: usize,
    spill: &Path,
    cancel: &CancelToken,
) -> Result<(usize, usize)> {
    let mut sorted = table.sorted_text(column, share, spill, cancel)?;
    let (mut non_null, mut distinct) = (0usize, 0usize);
    let mut last: Option<Box<str>> = None;
    while let Some(t) = sorted.next_record()? {
        non_null += 1;
        if last.as_deref() != Some(&*t.value) {
            distinct += 1;
            last = Some(t.value);
        }
    }
    Ok((non_null, distinct))
}

/// One side's sample of a column, as [`sample::sample`] reads it in memory.
fn read_side(
    table: &ParquetTable,
    name: &str,
    kind: Kind,
    share: usize,
    spill: &Path,
    cancel: &CancelToken,
) -> Result<Sample> {
    let column = index(table, name)?;
    let dtype = &table.dtypes[column];
    match kind {
        Kind::Categorical => match count_categories(table, column, share, cancel)? {
            Some(s) => Ok(s),
            None => Err(too_many_categories(name, None)),
        },
        Kind::Numeric => {
            if !(dtype.is_primitive_numeric() || dtype == &DataType::Null) {
                return Err(Error::Compute {
                    context: "cannot compute drift",
                    detail: format!("'{name}' is a {dtype} column, not numeric"),
                });
            }
            let numbers = sorted_numbers(table, column, share, spill, cancel)?;
            let n = numbers.len();
            Ok(Sample {
                values: Values::Numeric(numbers),
                n,
                dropped: (table.rows - n) as u64,
            })
        }
    }
}

/// A numeric column's finite values in ascending order: in memory when they fit a quarter of
/// `share`, else merged from sorted runs into a file of the spill folder.
fn sorted_numbers(
    table: &ParquetTable,
    column: usize,
    share: usize,
    spill: &Path,
    cancel: &CancelToken,
) -> Result<Numbers> {
    let name = &table.names[column];
    let mut sorter: Sorter<u64> = Sorter::new(spill, share / 2);
    table.for_each_slice(&[column], share, cancel, |_, slice| {
        let err = |e| compute_err(name, e);
        let cast = slice.columns()[0].cast(&DataType::Float64).map_err(err)?;
        for v in cast.f64().map_err(err)?.iter().flatten() {
            if v.is_finite() {
                sorter.push(ordered(v))?;
            }
        }
        Ok(())
    })?;
    let spilled = sorter.spilled();
    let mut sorted = sorter.finish()?;
    if !spilled {
        let mut values = Vec::new();
        while let Some(key) = sorted.next_record()? {
            values.push(from_ordered(key));
        }
        return Ok(Numbers::new(values));
    }
    let write_err = |e| Error::write("write sorted values to the spill folder", spill, e);
    let file = tempfile::tempfile_in(spill).map_err(write_err)?;
    let mut out = BufWriter::with_capacity(1 << 16, &file);
    let (mut len, mut distinct, mut first, mut last) = (0usize, 0usize, 0.0, 0.0);
    while let Some(key) = sorted.next_record()? {
        let v = from_ordered(key);
        if len == 0 {
            first = v;
            distinct = 1;
        } else if v != last {
            distinct += 1;
        }
        last = v;
        len += 1;
        out.write_all(&v.to_le_bytes()).map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;
    drop(out);
    Ok(Numbers::Spilled(Spilled {
        file: Arc::new(file),
        len,
        distinct,
        first,
        last,
        error: Arc::default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{DriftOptions, Method, SideInfo, compare_frames, compare_tables};

    /// Every case the samples distinguish: floats with nulls, NaN, ±inf, -0.0 and ties;
    /// integers of few and of many values; categories; free text; booleans. `shift` moves
    /// the current data.
    fn table(rows: usize, seed: u64, shift: f64) -> DataFrame {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut normal, mut ties, mut special) = (Vec::new(), Vec::new(), Vec::new());
        let (mut few, mut many, mut country, mut id, mut flag) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in 0..rows {
            let u = next();
            let unit = (u >> 11) as f64 / (1u64 << 53) as f64;
            normal.push((u % 7 != 0).then_some(unit * 6.0 - 3.0 + shift));
            ties.push((u % 5 != 1).then_some(((u >> 20) % 9) as f64 - 4.0));
            special.push(match u % 11 {
                0 => Some(f64::INFINITY),
                1 => Some(f64::NEG_INFINITY),
                2 => Some(f64::NAN),
                3 => Some(-0.0),
                4 => None,
                _ => Some(((u >> 8) % 50) as f64 + shift.round()),
            });
            few.push(((u >> 30) % 4) as i64);
            many.push(((u >> 30) % 1000) as i64 + (shift * 10.0) as i64);
            let c = ((u >> 40) % 5 + (shift > 0.0 && r % 4 == 0) as u64) as usize;
            country.push(["SE", "NO", "DK", "FI", "IS", "EE"][c]);
            id.push((u % 13 != 0).then(|| format!("c{}", (u >> 24) % rows as u64)));
            flag.push((u >> 50) % 3 == 0);
        }
        df!(
            "normal" => normal, "ties" => ties, "special" => special, "few" => few,
            "many" => many, "country" => country, "id" => id, "flag" => flag
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn write(frame: &mut DataFrame, path: &Path) -> TableSource {
        let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
        ParquetWriter::new(file)
            .with_row_group_size(Some(7_000))
            .finish(frame)
            .unwrap_or_else(|e| panic!("{e}"));
        TableSource::File {
            path: path.to_path_buf(),
            options: Default::default(),
        }
    }

    fn side(rows: usize) -> SideInfo {
        SideInfo {
            name: "t".into(),
            version: None,
            rows: rows as u64,
        }
    }

    #[test]
    fn the_streamed_drift_equals_the_in_memory_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // 800 reference rows: Evidently's tests (K-S, chi-square, z); 50,000: its distances.
        for (ref_rows, cur_rows) in [(800, 1_300), (50_000, 41_000)] {
            let mut reference = table(ref_rows, 0x2545_f491_4f6c_dd1d, 0.0);
            let mut current = table(cur_rows, 0x9e37_79b9_7f4a_7c15, 0.3);
            let rsource = write(&mut reference, &dir.path().join("r.parquet"));
            let csource = write(&mut current, &dir.path().join("c.parquet"));
            let numeric = ["normal", "ties", "special", "many"];
            let mut runs = vec![DriftOptions::default()];
            for method in [
                Method::Ks,
                Method::Wasserstein,
                Method::Psi,
                Method::JensenShannon,
                Method::KlDivergence,
                Method::Chi2,
            ] {
                let mut options = DriftOptions::default();
                for name in numeric {
                    options
                        .column_methods
                        .insert(name.to_owned(), (method, None));
                }
                runs.push(options);
            }
            for options in runs {
                let memory = compare_frames(
                    (side(ref_rows), &reference),
                    (side(cur_rows), &current),
                    &options,
                    &Job::silent(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
                // 256 KiB: every numeric column is sorted in spilled runs, and the free-text
                // column outgrows its table of counts.
                let limit = MemoryLimit(256 << 10);
                let open = |source| {
                    Sliced::open(source, limit, &Job::silent()).unwrap_or_else(|e| panic!("{e}"))
                };
                let (r, c) = (open(&rsource), open(&csource));
                let spill = c.spill.path().to_path_buf();
                let streamed = compare_tables(
                    (side(ref_rows), &r),
                    (side(cur_rows), &c),
                    &options,
                    &Job::silent(),
                    None,
                )
                .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    format!("{:?}", streamed.columns),
                    format!("{:?}", memory.columns),
                    "{ref_rows} rows, {:?}",
                    options.column_methods
                );
                assert_eq!(streamed.skipped, memory.skipped);
                assert_eq!(streamed.drifted_columns, memory.drifted_columns);
                assert!(memory.columns.len() >= 6, "{:?}", memory.skipped);
                let left = std::fs::read_dir(&spill).map(|d| d.count()).unwrap_or(0);
                assert_eq!(left, 0, "no spilled file outlives its column");
                drop((r, c));
                assert!(!spill.exists(), "the spill folder is removed");
            }
        }
    }
}
