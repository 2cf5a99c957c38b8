//! An external merge sort: records are sorted in runs that fit the memory share they are
//! given, runs that do not fit are written to anonymous temporary files (deleted by the
//! system when closed, even after a crash), and the sorted stream is their k-way merge. A
//! column that fits its share is never written anywhere.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Buffer of each run's reader and writer.
const IO_BUFFER: usize = 1 << 16;

/// What the sorter sorts: ordered, written and read back as bytes.
pub trait Record: Ord + Sized {
    /// Bytes the record takes in memory, counted against the share.
    fn bytes(&self) -> usize;
    fn write(&self, out: &mut impl Write) -> io::Result<()>;
    /// The next record, `None` at the end of the run.
    fn read(input: &mut impl Read) -> io::Result<Option<Self>>;
    /// Sorts one run in memory. Radix sorts need as much scratch again as the run, which
    /// [`Sorter`] leaves room for.
    fn sort(run: &mut [Self]) {
        run.sort_unstable();
    }
}

/// A value (as an order-preserving key) and its row: the records of numeric columns, row
/// hashes and ranks. Ties are broken by row, so the merge gives equal keys in row order, as a
/// stable sort of the whole column would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Keyed {
    pub key: u64,
    pub row: u32,
}

impl Record for Keyed {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.key.to_le_bytes())?;
        out.write_all(&self.row.to_le_bytes())
    }
    fn read(input: &mut impl Read) -> io::Result<Option<Self>> {
        let mut b = [0u8; 12];
        if !read_or_end(input, &mut b)? {
            return Ok(None);
        }
        let (key, row) = b.split_at(8);
        Ok(Some(Keyed {
            key: u64::from_le_bytes(key.try_into().unwrap_or_default()),
            row: u32::from_le_bytes(row.try_into().unwrap_or_default()),
        }))
    }
    fn sort(run: &mut [Self]) {
        // Pushed in row order, and the radix sort is stable: (key, row) order.
        radsort::sort_by_key(run, |r| r.key);
    }
}

/// A bare key: the values of a column when their rows do not matter (drift's samples).
impl Record for u64 {
    fn bytes(&self) -> usize {
        8
    }
    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.to_le_bytes())
    }
    fn read(input: &mut impl Read) -> io::Result<Option<Self>> {
        let mut b = [0u8; 8];
        Ok(read_or_end(input, &mut b)?.then(|| u64::from_le_bytes(b)))
    }
    fn sort(run: &mut [Self]) {
        radsort::sort(run);
    }
}

/// An order-preserving key of a non-NaN float: the order of `radsort` (and of `total_cmp`).
pub fn ordered(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The float of an [`ordered`] key.
pub fn from_ordered(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// A text value and its position among the column's values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text {
    pub value: Box<str>,
    pub index: u64,
}

impl Record for Text {
    fn bytes(&self) -> usize {
        // The box, the position and the allocator's rounding of the text.
        24 + self.value.len().next_multiple_of(16)
    }
    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let len = u32::try_from(self.value.len()).map_err(io::Error::other)?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(self.value.as_bytes())?;
        out.write_all(&self.index.to_le_bytes())
    }
    fn read(input: &mut impl Read) -> io::Result<Option<Self>> {
        let mut len = [0u8; 4];
        if !read_or_end(input, &mut len)? {
            return Ok(None);
        }
        let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
        input.read_exact(&mut bytes)?;
        let mut index = [0u8; 8];
        input.read_exact(&mut index)?;
        let value = String::from_utf8(bytes).map_err(io::Error::other)?;
        Ok(Some(Text {
            value: value.into_boxed_str(),
            index: u64::from_le_bytes(index),
        }))
    }
}

/// Fills `buf`, or returns `false` at a clean end of input.
pub(crate) fn read_or_end(input: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Sorts records pushed one by one within `share` bytes of memory.
#[derive(Debug)]
pub struct Sorter<T: Record> {
    dir: PathBuf,
    share: usize,
    used: usize,
    buffer: Vec<T>,
    runs: Vec<File>,
}

fn spill_error(dir: &Path, e: io::Error) -> Error {
    Error::write("write a sorted run to the spill folder", dir, e)
}

impl<T: Record> Sorter<T> {
    /// A sorter that keeps at most about `share` bytes in memory and spills into `dir`.
    pub fn new(dir: &Path, share: usize) -> Sorter<T> {
        Sorter {
            dir: dir.to_path_buf(),
            share: share.max(1 << 16),
            used: 0,
            buffer: Vec::new(),
            runs: Vec::new(),
        }
    }

    pub fn push(&mut self, record: T) -> Result<()> {
        // Half the share for the run, half for the sort's scratch. The run's vector gets its
        // whole half at once (pages are only resident once written), so it never grows by
        // copying; it is reused run after run.
        if self.buffer.capacity() == 0 {
            self.buffer
                .reserve_exact(self.share / 2 / std::mem::size_of::<T>().max(1));
        }
        self.used += record.bytes();
        self.buffer.push(record);
        if self.used * 2 >= self.share {
            self.spill()?;
        }
        Ok(())
    }

    /// Whether any run went to disk.
    pub fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    fn spill(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        T::sort(&mut self.buffer);
        let file = tempfile::tempfile_in(&self.dir).map_err(|e| spill_error(&self.dir, e))?;
        let mut out = BufWriter::with_capacity(IO_BUFFER, file);
        for record in self.buffer.drain(..) {
            record
                .write(&mut out)
                .map_err(|e| spill_error(&self.dir, e))?;
        }
        let mut file = out
            .into_inner()
            .map_err(|e| spill_error(&self.dir, e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| spill_error(&self.dir, e))?;
        self.runs.push(file);
        self.used = 0;
        Ok(())
    }

    /// The records in order.
    pub fn finish(mut self) -> Result<Sorted<T>> {
        if self.runs.is_empty() {
            T::sort(&mut self.buffer);
            return Ok(Sorted::Memory(self.buffer.into_iter()));
        }
        self.spill()?;
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .into_iter()
            .map(|f| BufReader::with_capacity(IO_BUFFER, f))
            .collect();
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (i, reader) in readers.iter_mut().enumerate() {
            if let Some(r) = T::read(reader).map_err(|e| spill_error(&self.dir, e))? {
                heap.push(Reverse((r, i)));
            }
        }
        Ok(Sorted::Merge {
            dir: self.dir,
            readers,
            heap,
        })
    }
}

/// The sorted records, from memory or merged from the runs.
#[derive(Debug)]
pub enum Sorted<T: Record> {
    Memory(std::vec::IntoIter<T>),
    Merge {
        dir: PathBuf,
        readers: Vec<BufReader<File>>,
        heap: BinaryHeap<Reverse<(T, usize)>>,
    },
}

impl<T: Record> Sorted<T> {
    /// The next record in order; `None` after the last.
    pub fn next_record(&mut self) -> Result<Option<T>> {
        match self {
            Sorted::Memory(records) => Ok(records.next()),
            Sorted::Merge { dir, readers, heap } => {
                let Some(Reverse((record, run))) = heap.pop() else {
                    return Ok(None);
                };
                if let Some(next) = T::read(&mut readers[run])
                    .map_err(|e| Error::io("read a sorted run from the spill folder", dir, e))?
                {
                    heap.push(Reverse((next, run)));
                }
                Ok(Some(record))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<T: Record>(mut sorted: Sorted<T>) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(r) = sorted.next_record().unwrap_or(None) {
            out.push(r);
        }
        out
    }

    #[test]
    fn spilled_runs_merge_into_the_order_of_one_sort() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // A share of 64 KiB holds ~2,700 records a run: 100,000 records make ~37 runs.
        let mut sorter = Sorter::new(dir.path(), 1 << 16);
        let mut all = Vec::new();
        let mut x = 7u64;
        for row in 0..100_000u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let record = Keyed { key: x >> 54, row };
            all.push(record);
            sorter.push(record).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(sorter.spilled());
        all.sort();
        assert_eq!(
            drain(sorter.finish().unwrap_or_else(|e| panic!("{e}"))),
            all
        );
    }

    #[test]
    fn text_records_round_trip_through_disk() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut sorter = Sorter::new(dir.path(), 1 << 16);
        let words = ["pear", "", "äpple", "fig", "pear", "banana"];
        let mut all = Vec::new();
        for i in 0..20_000u64 {
            let t = Text {
                value: format!("{}-{}", words[(i % 6) as usize], i % 97).into_boxed_str(),
                index: i,
            };
            all.push(t.clone());
            sorter.push(t).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(sorter.spilled());
        all.sort();
        assert_eq!(
            drain(sorter.finish().unwrap_or_else(|e| panic!("{e}"))),
            all
        );
    }
}
