//! Whole-table work in bounded memory. A table larger than its memory budget is read from its
//! Parquet file in slices of rows (only the columns a step needs), its values are sorted by an
//! external merge sort ([`sorter`]) that spills runs into a temporary folder, and every
//! statistic is computed from those streams with the same arithmetic as in memory, so the
//! numbers are the same ([`profile`]).
//!
//! The budget covers the working set: the slices read, the sort runs, the rank slabs of the
//! correlations. The program itself (code, thread stacks, polars' pools) comes on top: that is
//! the fixed overhead the tests measure.

pub mod convert;
pub mod profile;
pub mod sorter;
pub mod spool;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::io::parquet::metadata::FileMetadata;
use polars::prelude::*;

use crate::job::Job;
use crate::remote::Partial;
use crate::{Error, Result};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// How much memory a whole-table computation may use for its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemoryLimit(pub u64);

impl MemoryLimit {
    /// The smallest budget accepted: below it the slices and sort runs get too small to be
    /// worth their overhead.
    pub const MIN: MemoryLimit = MemoryLimit(16 * MIB);

    /// The default: a quarter of the machine's memory, at most 2 GiB (a profile does not get
    /// faster with more), at least [`MemoryLimit::MIN`].
    pub fn for_this_machine() -> MemoryLimit {
        let total = total_memory().unwrap_or(8 * GIB);
        MemoryLimit((total / 4).clamp(Self::MIN.0, 2 * GIB))
    }

    /// `64MiB`, `2GiB`, `1.5G`, `500MB`, `800000000` (bytes). Binary and decimal units are both
    /// read as binary (what `free -h` and `top` show).
    pub fn parse(text: &str) -> std::result::Result<MemoryLimit, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("'{text}' is not a size; write e.g. 512MiB or 2GiB"))?;
        let scale = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => MIB,
            "g" | "gb" | "gib" => GIB,
            "t" | "tb" | "tib" => 1 << 40,
            other => {
                return Err(format!(
                    "unknown unit '{other}' in '{text}'; use MiB or GiB"
                ));
            }
        };
        let bytes = (number * scale as f64) as u64;
        if bytes < Self::MIN.0 {
            return Err(format!(
                "a memory limit of {text} is too small; give at least 16MiB"
            ));
        }
        Ok(MemoryLimit(bytes))
    }

    pub fn bytes(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }

    /// Whether reading `rows` × `columns` whole and profiling them in memory stays within the
    /// budget: the in-memory profile peaks at about 16 bytes a cell (measured on 1M and 4M
    /// rows × 25 columns: 0.65 and 1.49 GiB).
    pub fn fits(self, rows: usize, columns: usize) -> bool {
        (rows as u64)
            .saturating_mul(columns as u64)
            .saturating_mul(16)
            .saturating_add(64 * MIB)
            <= self.0
    }
}

/// Whether the table at `path` can be read whole and profiled in memory within `limit`. A
/// CSV file takes about four times its size once read and profiled (measured: 1M × 25, 163 MB
/// of CSV, peaks at 0.65 GiB); formats other than CSV and Parquet are always read whole.
pub fn fits_whole(path: &Path, format: crate::dataset::Format, limit: MemoryLimit) -> Result<bool> {
    use crate::dataset::Format;
    Ok(match format {
        Format::Parquet => {
            let table = ParquetTable::open(path)?;
            limit.fits(table.rows, table.names.len())
        }
        Format::Csv | Format::Tsv => {
            let size = std::fs::metadata(path)
                .map_err(|e| Error::io("read the table", path, e))?
                .len();
            size.saturating_mul(4).saturating_add(64 * MIB) <= limit.0
        }
        _ => true,
    })
}

/// Physical memory, from `/proc/meminfo` (Linux); `None` elsewhere.
fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A Parquet file read in slices of rows: its metadata is parsed once and shared by every
/// read. A table of an object named by URL is read from a [`Partial`] copy: each read first
/// fetches the column chunks it decodes (and only those).
#[derive(Debug, Clone)]
pub struct ParquetTable {
    pub path: PathBuf,
    remote: Option<Arc<Partial>>,
    metadata: Arc<FileMetadata>,
    pub names: Vec<String>,
    pub dtypes: Vec<DataType>,
    pub rows: usize,
    /// Estimated bytes a row of each column takes once read.
    row_bytes: Vec<usize>,
    /// The first row of each row group, then the number of rows.
    group_starts: Vec<usize>,
}

fn unreadable(path: &Path, e: &PolarsError) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        detail: format!("parquet file could not be read: {e}"),
    }
}

impl ParquetTable {
    pub fn open(path: &Path) -> Result<ParquetTable> {
        let file = File::open(path).map_err(|e| Error::BadInput {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let mut reader = ParquetReader::new(file);
        let schema = reader.schema().map_err(|e| unreadable(path, &e))?;
        let metadata = reader
            .get_metadata()
            .map_err(|e| unreadable(path, &e))?
            .clone();
        let rows = metadata.num_rows;
        let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        if names.is_empty() {
            return Err(Error::BadInput {
                path: path.to_path_buf(),
                detail: "it has no columns".into(),
            });
        }
        let dtypes: Vec<DataType> = schema
            .iter_values()
            .map(DataType::from_arrow_field)
            .collect();
        let row_bytes = names
            .iter()
            .zip(&dtypes)
            .map(|(name, dtype)| {
                let stored: i64 = metadata
                    .row_groups
                    .iter()
                    .filter_map(|rg| rg.columns_under_root_iter(name))
                    .flatten()
                    .map(|c| c.uncompressed_size())
                    .sum();
                let per_row = usize::try_from(stored).unwrap_or(0) / rows.max(1);
                // Text is held as 16-byte views plus its bytes; numbers as 8 bytes at least.
                let overhead = if dtype.is_primitive_numeric() { 8 } else { 16 };
                per_row + overhead
            })
            .collect();
        let mut group_starts = Vec::with_capacity(metadata.row_groups.len() + 1);
        let mut start = 0;
        for group in &metadata.row_groups {
            group_starts.push(start);
            start += group.num_rows();
        }
        group_starts.push(start);
        Ok(ParquetTable {
            path: path.to_path_buf(),
            remote: None,
            metadata,
            names,
            dtypes,
            rows,
            row_bytes,
            group_starts,
        })
    }

    /// The Parquet object `copy` holds: its footer is fetched now, its column chunks as reads
    /// need them.
    pub fn open_remote(copy: Arc<Partial>) -> Result<ParquetTable> {
        copy.fetch_parquet_footer(&Job::silent())?;
        let mut table = ParquetTable::open(copy.path())?;
        table.remote = Some(copy);
        Ok(table)
    }

    /// For a table read from a [`Partial`] copy: fetches the chunks of `columns` in the row
    /// groups `metadata` lists.
    fn fetch(&self, columns: &[usize], metadata: &FileMetadata) -> Result<()> {
        self.fetch_within(
            columns,
            metadata,
            0..metadata.row_groups.len(),
            &Job::silent(),
        )
    }

    /// Fetches the chunks of `columns` in the row groups `groups` of `metadata`.
    fn fetch_within(
        &self,
        columns: &[usize],
        metadata: &FileMetadata,
        groups: impl Iterator<Item = usize>,
        job: &Job,
    ) -> Result<()> {
        let Some(copy) = &self.remote else {
            return Ok(());
        };
        let ranges = groups.map(|g| &metadata.row_groups[g]).flat_map(|group| {
            columns.iter().flat_map(move |&c| {
                group
                    .columns_under_root_iter(&self.names[c])
                    .into_iter()
                    .flatten()
                    .map(|chunk| chunk.byte_range())
            })
        });
        copy.fetch(ranges, job)
    }

    /// For a table read from a [`Partial`] copy: fetches every chunk of `columns` now, in one
    /// batch of requests, before a pass over all the rows reads them a slice at a time (a
    /// fetch a slice costs a round of requests each).
    pub fn prefetch(&self, columns: &[usize], cancel: &crate::job::CancelToken) -> Result<()> {
        self.fetch_within(
            columns,
            &self.metadata,
            0..self.metadata.row_groups.len(),
            &Job::new(&|_| {}, cancel.clone()),
        )
    }

    /// For a table read from a [`Partial`] copy: fetches, in one batch, the chunks of
    /// `columns` in the row groups that hold `rows` (a page of scattered rows is then read
    /// without a round of requests per stretch).
    pub fn prefetch_rows(
        &self,
        columns: &[usize],
        rows: impl Iterator<Item = usize>,
    ) -> Result<()> {
        if self.remote.is_none() {
            return Ok(());
        }
        let groups = self.metadata.row_groups.len();
        let mut holding: Vec<usize> = rows
            .map(|r| {
                self.group_starts[..groups]
                    .partition_point(|&s| s <= r)
                    .saturating_sub(1)
            })
            .collect();
        holding.sort_unstable();
        holding.dedup();
        self.fetch_within(columns, &self.metadata, holding.into_iter(), &Job::silent())
    }

    /// The indexes of the columns named `names` that the table has, in `names`' order.
    pub fn indexes(&self, names: &[impl AsRef<str>]) -> Vec<usize> {
        names
            .iter()
            .filter_map(|n| self.names.iter().position(|c| c == n.as_ref()))
            .collect()
    }

    /// Every row of the columns named `names` (all of them when `None`), decoded on polars'
    /// threads.
    pub fn read_whole(&self, names: Option<Vec<String>>) -> Result<DataFrame> {
        let indexes: Vec<usize> = match &names {
            Some(names) => self.indexes(names),
            None => (0..self.names.len()).collect(),
        };
        self.fetch(&indexes, &self.metadata)?;
        let file =
            File::open(&self.path).map_err(|e| Error::io("read the table", &self.path, e))?;
        let mut reader = ParquetReader::new(file);
        reader.set_metadata(self.metadata.clone());
        reader
            .with_columns(names)
            .finish()
            .map_err(|e| unreadable(&self.path, &e))
    }

    /// Rows `offset..offset + len` of `columns`.
    pub fn read(&self, columns: &[usize], offset: usize, len: usize) -> Result<DataFrame> {
        let (metadata, offset) = self.metadata_for(offset, len);
        self.fetch(columns, &metadata)?;
        let file =
            File::open(&self.path).map_err(|e| Error::io("read the table", &self.path, e))?;
        let mut reader = ParquetReader::new(file);
        reader.set_metadata(metadata);
        reader
            .with_projection(Some(columns.to_vec()))
            .with_slice(Some((offset, len)))
            .read_parallel(if columns.len() == 1 {
                // Decoded on the calling thread, so what it allocates is freed and reused
                // there: decoded on polars' threads, a column read in a loop left the
                // allocator holding twice the budget (drift of 1M against 4M rows × 25
                // columns in 256 MiB: 548 MiB peak, 222 MiB this way).
                ParallelStrategy::None
            } else {
                ParallelStrategy::Auto
            })
            .finish()
            .map_err(|e| unreadable(&self.path, &e))
    }

    /// The metadata of only the row groups rows `offset..offset + len` overlap, and the
    /// offset within them. polars 0.55 walks every row group of the metadata it is given on
    /// each read, mapping (and, decoding one column, touching) column chunks outside the slice
    /// too: on a stored copy with 825 row groups, reading one column in slices peaked at
    /// over 1 GB of mapped file pages.
    fn metadata_for(&self, offset: usize, len: usize) -> (Arc<FileMetadata>, usize) {
        let groups = self.metadata.row_groups.len();
        let first = self.group_starts[..groups]
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let last = self.group_starts[..groups].partition_point(|&s| s < offset + len);
        if len == 0 || first >= last || (first == 0 && last == groups) {
            return (self.metadata.clone(), offset);
        }
        let base = &*self.metadata;
        let pruned = FileMetadata {
            version: base.version,
            num_rows: self.group_starts[last] - self.group_starts[first],
            max_row_group_height: base.max_row_group_height,
            created_by: base.created_by.clone(),
            row_groups: base.row_groups[first..last].to_vec(),
            key_value_metadata: base.key_value_metadata.clone(),
            schema_descr: base.schema_descr.clone(),
            column_orders: base.column_orders.clone(),
            footer_buf: base.footer_buf.clone(),
        };
        (Arc::new(pruned), offset - self.group_starts[first])
    }

    /// The row after the last of the row group holding row `row`.
    pub fn group_end(&self, row: usize) -> usize {
        let groups = self.group_starts.len().saturating_sub(1);
        let g = self.group_starts[..groups]
            .partition_point(|&s| s <= row)
            .saturating_sub(1);
        self.group_starts.get(g + 1).copied().unwrap_or(self.rows)
    }

    /// How many rows of `columns` to read at a time within `share` bytes (a quarter of it:
    /// the slice is converted and copied by the steps that read it).
    pub fn slice_rows(&self, columns: &[usize], share: usize) -> usize {
        (share / 4 / self.row_bytes_of(columns))
            .max(1024)
            .min(self.rows.max(1))
    }

    /// The non-null values of `column`, as text, in order: an external sort in half of
    /// `share`, spilling into `spill`; each value keeps its position among them.
    pub fn sorted_text(
        &self,
        column: usize,
        share: usize,
        spill: &Path,
        cancel: &crate::job::CancelToken,
    ) -> Result<sorter::Sorted<sorter::Text>> {
        let mut sorter = sorter::Sorter::<sorter::Text>::new(spill, share / 2);
        let mut index = 0u64;
        self.for_each_slice(&[column], share, cancel, |_, slice| {
            let series = slice.columns()[0].as_materialized_series();
            let text = series
                .cast(&DataType::String)
                .map_err(|e| unreadable(&self.path, &e))?;
            for v in text
                .str()
                .map_err(|e| unreadable(&self.path, &e))?
                .iter()
                .flatten()
            {
                sorter.push(sorter::Text {
                    value: v.into(),
                    index,
                })?;
                index += 1;
            }
            Ok(())
        })?;
        sorter.finish()
    }

    /// Bytes a row of `columns` takes once read (an estimate from the file's sizes).
    pub fn row_bytes_of(&self, columns: &[usize]) -> usize {
        columns
            .iter()
            .map(|&c| self.row_bytes[c])
            .sum::<usize>()
            .max(1)
    }

    /// Calls `f(offset, slice)` for consecutive slices of `columns` covering every row.
    pub fn for_each_slice(
        &self,
        columns: &[usize],
        share: usize,
        cancel: &crate::job::CancelToken,
        f: impl FnMut(usize, &DataFrame) -> Result<()>,
    ) -> Result<()> {
        self.for_each_rows(columns, self.slice_rows(columns, share), cancel, f)
    }

    /// Calls `f(offset, slice)` for consecutive slices of `step` rows of `columns`.
    pub fn for_each_rows(
        &self,
        columns: &[usize],
        step: usize,
        cancel: &crate::job::CancelToken,
        mut f: impl FnMut(usize, &DataFrame) -> Result<()>,
    ) -> Result<()> {
        let step = step.max(1);
        self.prefetch(columns, cancel)?;
        let mut offset = 0;
        while offset < self.rows {
            cancel.check()?;
            let len = step.min(self.rows - offset);
            let slice = self.read(columns, offset, len)?;
            f(offset, &slice)?;
            offset += len;
        }
        Ok(())
    }
}

/// Fills `buf` from `offset` as far as the file goes; the bytes read.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        #[cfg(unix)]
        let n =
            std::os::unix::fs::FileExt::read_at(file, &mut buf[filled..], offset + filled as u64)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(
            file,
            &mut buf[filled..],
            offset + filled as u64,
        )?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_read_only_their_row_groups_and_the_right_rows() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("t.parquet");
        let n = 50_000i64;
        let mut frame = df!(
            "i" => (0..n).collect::<Vec<i64>>(),
            "s" => (0..n).map(|i| format!("r{i}")).collect::<Vec<String>>()
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let file = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        ParquetWriter::new(file)
            .with_row_group_size(Some(7_000))
            .finish(&mut frame)
            .unwrap_or_else(|e| panic!("{e}"));
        let table = ParquetTable::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(table.metadata.row_groups.len() >= 7);
        for (offset, len) in [
            (0, 10),
            (6_999, 2),
            (7_000, 7_000),
            (13_500, 20_000),
            (49_990, 10),
            (0, 50_000),
            (25_000, 0),
        ] {
            let (metadata, _) = table.metadata_for(offset, len);
            if len > 0 && len < 50_000 {
                assert!(metadata.row_groups.len() < table.metadata.row_groups.len());
            }
            let read = table
                .read(&[0, 1], offset, len)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(read, frame.slice(offset as i64, len), "{offset}+{len}");
        }
    }

    #[test]
    fn memory_limits_read_as_people_write_them() {
        assert_eq!(MemoryLimit::parse("64MiB"), Ok(MemoryLimit(64 << 20)));
        assert_eq!(MemoryLimit::parse("2GiB"), Ok(MemoryLimit(2 << 30)));
        assert_eq!(MemoryLimit::parse("1.5g"), Ok(MemoryLimit(3 << 29)));
        assert_eq!(MemoryLimit::parse("500 MB"), Ok(MemoryLimit(500 << 20)));
        assert_eq!(MemoryLimit::parse("33554432"), Ok(MemoryLimit(32 << 20)));
        assert!(MemoryLimit::parse("lots").is_err());
        assert!(MemoryLimit::parse("2 parsecs").is_err());
        assert!(MemoryLimit::parse("1MiB").is_err_and(|e| e.contains("at least 16MiB")));
        let default = MemoryLimit::for_this_machine();
        assert!(default >= MemoryLimit::MIN && default.0 <= 2 << 30);
    }
}
