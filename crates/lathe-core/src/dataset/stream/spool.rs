//! Rows of a fixed number of floats kept in the order they were pushed: in memory while they
//! fit their share, then in an anonymous temporary file of the spill folder (deleted by the
//! system when closed). A computation over them reads them back as often as it needs, always
//! in the same order, so a statistic summed in several passes gets the bits of one pass over
//! an array.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::read_at;
use crate::{Error, Result};

/// Bytes read back from the file at a time.
const READ_BLOCK: usize = 1 << 16;

#[derive(Debug)]
pub struct Spool {
    width: usize,
    rows: usize,
    share: usize,
    dir: PathBuf,
    memory: Vec<f64>,
    file: Option<BufWriter<File>>,
}

impl Spool {
    /// An empty spool of rows of `width` floats, holding about `share` bytes in memory before it
    /// moves to a file in `dir`.
    pub fn new(width: usize, share: usize, dir: &Path) -> Spool {
        Spool {
            width: width.max(1),
            rows: 0,
            share,
            dir: dir.to_path_buf(),
            memory: Vec::new(),
            file: None,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the rows went to a file.
    pub fn spilled(&self) -> bool {
        self.file.is_some()
    }

    fn spill_error(&self, e: std::io::Error) -> Error {
        Error::write("write rows to the spill folder", &self.dir, e)
    }

    /// Appends a row (`width` floats).
    pub fn push(&mut self, row: &[f64]) -> Result<()> {
        debug_assert_eq!(row.len(), self.width);
        self.rows += 1;
        if self.file.is_none() && (self.memory.len() + row.len()) * 8 > self.share {
            let file = tempfile::tempfile_in(&self.dir).map_err(|e| self.spill_error(e))?;
            let mut out = BufWriter::with_capacity(READ_BLOCK, file);
            for v in &self.memory {
                out.write_all(&v.to_le_bytes())
                    .map_err(|e| self.spill_error(e))?;
            }
            self.memory = Vec::new();
            self.file = Some(out);
        }
        match &mut self.file {
            Some(out) => {
                for v in row {
                    if let Err(e) = out.write_all(&v.to_le_bytes()) {
                        return Err(Error::write("write rows to the spill folder", &self.dir, e));
                    }
                }
            }
            None => self.memory.extend_from_slice(row),
        }
        Ok(())
    }

    /// Ends the writing: the rows can be read back from here on.
    pub fn finish(mut self) -> Result<Spooled> {
        let file = match self.file.take() {
            Some(out) => Some(out.into_inner().map_err(|e| {
                Error::write("write rows to the spill folder", &self.dir, e.into_error())
            })?),
            None => None,
        };
        Ok(Spooled {
            width: self.width,
            rows: self.rows,
            dir: self.dir,
            memory: self.memory,
            file,
        })
    }
}

/// A finished [`Spool`]: its rows, read back in order.
#[derive(Debug)]
pub struct Spooled {
    width: usize,
    rows: usize,
    dir: PathBuf,
    memory: Vec<f64>,
    file: Option<File>,
}

impl Spooled {
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Calls `f(index, row)` for every row in order.
    pub fn for_each(&self, mut f: impl FnMut(usize, &[f64]) -> Result<()>) -> Result<()> {
        let Some(file) = &self.file else {
            for (i, row) in self.memory.chunks_exact(self.width).enumerate() {
                f(i, row)?;
            }
            return Ok(());
        };
        let row_bytes = self.width * 8;
        let per_block = (READ_BLOCK / row_bytes).max(1);
        let mut bytes = vec![0u8; per_block * row_bytes];
        let mut row = vec![0f64; self.width];
        let mut index = 0;
        while index < self.rows {
            let count = per_block.min(self.rows - index);
            let want = count * row_bytes;
            let got = read_at(file, &mut bytes[..want], (index * row_bytes) as u64)
                .map_err(|e| Error::io("read rows back from the spill folder", &self.dir, e))?;
            if got < want {
                return Err(Error::io(
                    "read rows back from the spill folder",
                    &self.dir,
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
            for chunk in bytes[..want].chunks_exact(row_bytes) {
                for (v, b) in row.iter_mut().zip(chunk.chunks_exact(8)) {
                    *v = f64::from_le_bytes(b.try_into().unwrap_or_default());
                }
                f(index, &row)?;
                index += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_rows_read_back_as_they_were_pushed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for share in [usize::MAX, 1024] {
            let mut spool = Spool::new(3, share, dir.path());
            for i in 0..10_000 {
                let x = f64::from(i);
                spool
                    .push(&[x, -x, x * 0.5])
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            assert_eq!(spool.spilled(), share == 1024);
            let spooled = spool.finish().unwrap_or_else(|e| panic!("{e}"));
            let mut seen = 0;
            spooled
                .for_each(|i, row| {
                    let x = i as f64;
                    assert_eq!(row, [x, -x, x * 0.5]);
                    seen += 1;
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(seen, 10_000);
        }
    }
}
