//! Live input drift: the most recent rows a server predicted, tested against the bundle's
//! reference profile with the same methods and rules as `lathe bundle check-drift` (the same
//! call, on a table of the window's rows), so both flag the same columns on the same rows.

use std::collections::VecDeque;

use polars::prelude::*;

use crate::Result;
use crate::bundle::{ReferenceProfile, profile};
use crate::drift::{DriftOptions, DriftReport, SideInfo};

/// The last `capacity` rows of features, oldest first.
#[derive(Debug, Clone)]
pub struct Window {
    features: Vec<String>,
    capacity: usize,
    rows: VecDeque<Box<[f64]>>,
    /// Rows seen since the server started.
    pub seen: u64,
}

impl Window {
    pub fn new(features: Vec<String>, capacity: usize) -> Window {
        Window {
            features,
            capacity: capacity.max(1),
            rows: VecDeque::with_capacity(capacity.clamp(1, 1 << 16)),
            seen: 0,
        }
    }

    /// Adds rows (row-major, the features' width), dropping the oldest beyond the capacity.
    pub fn push(&mut self, values: &[f64]) {
        let width = self.features.len().max(1);
        let chunks = values.chunks_exact(width);
        let n = chunks.len();
        // Only the last `capacity` rows of a large request matter.
        for row in chunks.skip(n.saturating_sub(self.capacity)) {
            if self.rows.len() == self.capacity {
                self.rows.pop_front();
            }
            self.rows.push_back(row.into());
        }
        self.seen += n as u64;
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The window's rows as a table, one Float64 column per feature.
    pub fn frame(&self) -> Result<DataFrame> {
        let columns: Vec<Column> = self
            .features
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let values: Vec<f64> = self.rows.iter().map(|r| r[j]).collect();
                Column::new(name.as_str().into(), values)
            })
            .collect();
        DataFrame::new(self.rows.len(), columns).map_err(|e| crate::Error::Compute {
            context: "the drift window",
            detail: e.to_string(),
        })
    }

    /// Tests the window against `reference`: the features it profiles, each with its default
    /// method and threshold unless `options` says otherwise.
    pub fn drift(
        &self,
        reference: &ReferenceProfile,
        source: &str,
        options: &DriftOptions,
    ) -> Result<DriftReport> {
        let frame = self.frame()?;
        let mut options = options.clone();
        options.columns = Some(
            self.features
                .iter()
                .filter(|f| reference.columns.iter().any(|c| &c.name == *f))
                .cloned()
                .collect(),
        );
        profile::check_drift(
            reference,
            SideInfo {
                name: format!("{} (reference profile of {source})", reference.dataset),
                version: None,
                rows: reference.rows,
            },
            (
                SideInfo {
                    name: format!("the last {} rows served", self.rows.len()),
                    version: None,
                    rows: self.rows.len() as u64,
                },
                &frame,
            ),
            &options,
        )
    }
}
