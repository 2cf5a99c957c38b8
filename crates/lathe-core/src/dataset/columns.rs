//! A table as the profile reads it: one column at a time. A frame already in memory hands out
//! its columns; a Parquet file is read column by column (only that column's pages), so the
//! profile of a file or of an import holds one column's values at a time instead of the table.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::{Error, Result};

/// The widest table read a column at a time: each read parses the file's metadata, which
/// grows with the columns, so for wide tables (the 10,000-column corpus case) reading the whole
/// table once is faster by far, and such tables are short.
pub const MAX_READ_ONE_BY_ONE: usize = 512;

#[derive(Debug)]
pub enum Columns<'a> {
    Frame(&'a DataFrame),
    Parquet {
        path: PathBuf,
        names: Vec<String>,
        rows: usize,
    },
}

fn unreadable(path: &Path, e: &PolarsError) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        detail: format!("parquet file could not be read: {e}"),
    }
}

impl Columns<'_> {
    /// The Parquet file at `path`: its schema and row count are read now, its values on demand.
    pub fn parquet(path: &Path) -> Result<Columns<'static>> {
        let file = File::open(path).map_err(|e| Error::BadInput {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let mut reader = ParquetReader::new(file);
        let schema = reader.schema().map_err(|e| unreadable(path, &e))?;
        let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        if names.is_empty() {
            return Err(Error::BadInput {
                path: path.to_path_buf(),
                detail: "it has no columns".into(),
            });
        }
        let rows = reader.num_rows().map_err(|e| unreadable(path, &e))?;
        Ok(Columns::Parquet {
            path: path.to_path_buf(),
            names,
            rows,
        })
    }

    pub fn width(&self) -> usize {
        match self {
            Columns::Frame(frame) => frame.width(),
            Columns::Parquet { names, .. } => names.len(),
        }
    }

    pub fn height(&self) -> usize {
        match self {
            Columns::Frame(frame) => frame.height(),
            Columns::Parquet { rows, .. } => *rows,
        }
    }

    /// Column `i` (0-based), read now for a Parquet file.
    pub fn column(&self, i: usize) -> Result<Column> {
        match self {
            Columns::Frame(frame) => Ok(frame.columns()[i].clone()),
            Columns::Parquet { path, names, .. } => {
                let file = File::open(path).map_err(|e| Error::io("read the table", path, e))?;
                let frame = ParquetReader::new(file)
                    .with_columns(Some(vec![names[i].clone()]))
                    .finish()
                    .map_err(|e| unreadable(path, &e))?;
                frame
                    .columns()
                    .first()
                    .cloned()
                    .ok_or_else(|| unreadable(path, &PolarsError::NoData("no column".into())))
            }
        }
    }
}
