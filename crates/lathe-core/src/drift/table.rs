//! Where a comparison reads a table's columns: a frame in memory, or a Parquet file in slices
//! (`super::stream::Sliced`) when the tables are over the memory limit. Planning and scoring
//! ask only this, so both give the same report.

use polars::prelude::*;

use super::method::Kind;
use super::plan::Schema;
use super::sample::{self, Sample, compute_err};
use crate::Result;

/// A table whose columns a comparison reads.
pub trait Table: Sync {
    /// Column names and types, in the table's order.
    fn schema(&self) -> Schema;
    fn rows(&self) -> usize;
    /// The kind Evidently infers for column `name` ([`sample::kind_of`]), or why it has none.
    fn kind(&self, name: &str) -> Result<std::result::Result<Kind, String>>;
    /// Column `name`'s values as `kind` ([`sample::sample`]).
    fn sample(&self, name: &str, kind: Kind) -> Result<Sample>;
}

impl Table for DataFrame {
    fn schema(&self) -> Schema {
        self.columns()
            .iter()
            .map(|c| (c.name().to_string(), c.dtype().clone()))
            .collect()
    }

    fn rows(&self) -> usize {
        self.height()
    }

    fn kind(&self, name: &str) -> Result<std::result::Result<Kind, String>> {
        let column = self.column(name).map_err(|e| compute_err(name, e))?;
        Ok(sample::infer_kind(column))
    }

    fn sample(&self, name: &str, kind: Kind) -> Result<Sample> {
        let column = self.column(name).map_err(|e| compute_err(name, e))?;
        sample::sample(column, kind, None)
    }
}
