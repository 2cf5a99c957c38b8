//! Live drift: the most recent rows a server predicted, tested against the bundle's reference
//! profile with the same methods and rules as `lathe bundle check-drift` (the same call, on a
//! table of the window's rows), so both flag the same columns on the same rows. The model's
//! outputs over the same rows ([`Predictions`]) are tested alike against its outputs on the
//! evaluation data the bundle's monitoring reference learned from.

use std::collections::VecDeque;

use polars::prelude::*;

use crate::Result;
use crate::bundle::{ReferenceProfile, profile};
use crate::drift::{DriftOptions, DriftReport, SideInfo};
use crate::model::{Model, Prediction};
use crate::monitor::{self, Reference};

/// The last `capacity` rows of features, oldest first.
#[derive(Debug, Clone)]
pub struct Window {
    features: Vec<String>,
    /// Per feature: whether it holds classes (whole numbers, tested as categories).
    classes: Vec<bool>,
    capacity: usize,
    rows: VecDeque<Box<[f64]>>,
    /// Rows seen since the server started.
    pub seen: u64,
}

impl Window {
    pub fn new(features: Vec<String>, capacity: usize) -> Window {
        Window {
            classes: vec![false; features.len()],
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

    /// The window's rows as a table, one Float64 column per feature (Int64 for classes, NaN
    /// as null).
    pub fn frame(&self) -> Result<DataFrame> {
        let columns: Vec<Column> = self
            .features
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let values = self.rows.iter().map(|r| r[j]);
                if self.classes[j] {
                    let v: Vec<Option<i64>> =
                        values.map(|x| (!x.is_nan()).then_some(x as i64)).collect();
                    Column::new(name.as_str().into(), v)
                } else {
                    Column::new(name.as_str().into(), values.collect::<Vec<f64>>())
                }
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

/// A model's outputs for live drift: the columns tested (a regressor's `prediction`; a
/// classifier's `score` — the positive class's probability, or a multiclass model's
/// probability of the class it predicts — and `prediction`, the class as a category), and
/// their reference profile, made from the model's outputs on the evaluation data that the
/// bundle's monitoring reference holds.
#[derive(Debug, Clone)]
pub struct Predictions {
    pub profile: ReferenceProfile,
    columns: Vec<String>,
    regression: bool,
}

impl Predictions {
    /// From the bundle's monitoring reference; `dataset` names the data it learned from.
    pub fn learn(reference: &Reference, dataset: &str) -> Result<Predictions> {
        let regression = reference.dle.is_some();
        let o = &reference.outputs;
        let (columns, frame) = if regression {
            (
                vec!["prediction".to_owned()],
                vec![Column::new("prediction".into(), o.score.clone())],
            )
        } else {
            let classes: Vec<Option<i64>> = o
                .prediction
                .iter()
                .map(|&x| (!x.is_nan()).then_some(x as i64))
                .collect();
            (
                vec!["score".to_owned(), "prediction".to_owned()],
                vec![
                    Column::new("score".into(), o.score.clone()),
                    Column::new("prediction".into(), classes),
                ],
            )
        };
        let frame = DataFrame::new(o.len(), frame).map_err(|e| crate::Error::Compute {
            context: "the reference of the model's outputs",
            detail: e.to_string(),
        })?;
        let profile = profile::build(
            &frame,
            &columns,
            &format!("the model's outputs on {dataset}"),
            "",
        )?;
        Ok(Predictions {
            profile,
            columns,
            regression,
        })
    }

    /// An empty window of `capacity` rows of these outputs.
    pub fn window(&self, capacity: usize) -> Window {
        let mut w = Window::new(self.columns.clone(), capacity);
        w.classes = self
            .columns
            .iter()
            .map(|c| !self.regression && c == "prediction")
            .collect();
        w
    }

    /// A prediction's rows of these outputs (row-major, as [`Window::push`] takes them).
    pub fn values(&self, model: &Model, prediction: &Prediction) -> Result<Vec<f64>> {
        let o = monitor::outputs_of(model, prediction)?;
        if self.regression {
            return Ok(o.score);
        }
        Ok(o.score
            .iter()
            .zip(&o.prediction)
            .flat_map(|(&s, &p)| [s, p])
            .collect())
    }
}
