//! A table as the profile reads it: one column at a time. A frame already in memory hands out
//! its columns; a Parquet file is read column by column (only that column's pages), so the
//! profile of a file or of an import holds one column's values at a time instead of the table.

use std::path::Path;

use polars::prelude::*;

use super::stream::ParquetTable;
use crate::{Error, Result};

/// The widest table read a column at a time: each read walks the file's metadata (parsed once,
/// in [`ParquetTable`]), which grows with the columns, so for wide tables (the 10,000-column
/// corpus case) reading the whole table once was faster by far, and such tables are short.
pub const MAX_READ_ONE_BY_ONE: usize = 512;

#[derive(Debug)]
pub enum Columns<'a> {
    Frame(&'a DataFrame),
    Parquet(ParquetTable),
}

impl Columns<'_> {
    /// The Parquet file at `path`: its schema and row count are read now, its values on demand.
    pub fn parquet(path: &Path) -> Result<Columns<'static>> {
        Ok(Columns::Parquet(ParquetTable::open(path)?))
    }

    pub fn width(&self) -> usize {
        match self {
            Columns::Frame(frame) => frame.width(),
            Columns::Parquet(table) => table.names.len(),
        }
    }

    pub fn height(&self) -> usize {
        match self {
            Columns::Frame(frame) => frame.height(),
            Columns::Parquet(table) => table.rows,
        }
    }

    /// Column `i` (0-based), read now for a Parquet file.
    pub fn column(&self, i: usize) -> Result<Column> {
        match self {
            Columns::Frame(frame) => Ok(frame.columns()[i].clone()),
            Columns::Parquet(table) => {
                let frame = table.read(&[i], 0, table.rows)?;
                frame
                    .columns()
                    .first()
                    .cloned()
                    .ok_or_else(|| Error::BadInput {
                        path: table.path.clone(),
                        detail: "parquet file could not be read: no column".into(),
                    })
            }
        }
    }
}
