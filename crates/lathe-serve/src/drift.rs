//! Live drift in `/metrics`: workers add the rows they predicted, and the model's outputs on
//! them, to windows; a scrape tests each window against its reference (at most once per
//! `every`) and sets the drift series from the report.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lathe_core::bundle::ReferenceProfile;
use lathe_core::drift::{DriftOptions, DriftReport};
use lathe_core::model::Prediction;
use lathe_core::serve::Served;
use lathe_core::serve::window::{Predictions, Window};
use prometheus_client::encoding::EncodeLabelSet;

use crate::metrics::Metrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureLabels {
    pub feature: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutputLabels {
    pub output: String,
    pub method: String,
}

/// A window, its reference, and when it was last tested.
#[derive(Debug)]
struct Watched {
    reference: ReferenceProfile,
    window: Mutex<Window>,
    tested: Mutex<Option<(Instant, u64)>>,
}

impl Watched {
    fn new(reference: ReferenceProfile, window: Window) -> Watched {
        Watched {
            reference,
            window: Mutex::new(window),
            tested: Mutex::new(None),
        }
    }

    fn push(&self, values: &[f64]) {
        if let Ok(mut w) = self.window.lock() {
            w.push(values);
        }
    }

    /// The window's report when rows came since the last test (and `every` passed).
    fn test(&self, source: &str, every: Duration) -> Option<(usize, DriftReport)> {
        let mut tested = self.tested.lock().ok()?;
        let window = self.window.lock().ok()?.clone();
        let fresh = match *tested {
            Some((at, seen)) => seen != window.seen && at.elapsed() >= every,
            None => !window.is_empty(),
        };
        if !fresh {
            return None;
        }
        *tested = Some((Instant::now(), window.seen));
        match window.drift(&self.reference, source, &DriftOptions::default()) {
            Ok(report) => Some((window.len(), report)),
            // A window the test refuses (too few rows for a method) leaves the series as they
            // were; the log says why.
            Err(e) => {
                eprintln!("live drift: {e}");
                None
            }
        }
    }
}

/// The inputs' window and the outputs' window.
#[derive(Debug)]
pub struct LiveDrift {
    source: String,
    inputs: Option<Watched>,
    outputs: Option<(Predictions, Watched)>,
    every: Duration,
}

impl LiveDrift {
    /// Windows of `rows` rows for what `served` has references for; none when it has none.
    pub fn new(served: &Served, rows: usize) -> Option<LiveDrift> {
        let inputs = served
            .profile
            .as_ref()
            .map(|p| Watched::new(p.clone(), Window::new(served.features.clone(), rows)));
        let outputs = served.predictions.as_ref().map(|p| {
            let watched = Watched::new(p.profile.clone(), p.window(rows));
            (p.clone(), watched)
        });
        (inputs.is_some() || outputs.is_some()).then(|| LiveDrift {
            source: served.source.clone(),
            inputs,
            outputs,
            every: Duration::from_secs(1),
        })
    }

    /// Adds predicted rows.
    pub fn push(&self, values: &[f64]) {
        if let Some(w) = &self.inputs {
            w.push(values);
        }
    }

    /// Adds the model's outputs on predicted rows.
    pub fn push_outputs(&self, served: &Served, prediction: &Prediction) {
        if let Some((p, w)) = &self.outputs {
            match p.values(&served.model, prediction) {
                Ok(v) => w.push(&v),
                Err(e) => eprintln!("live prediction drift: {e}"),
            }
        }
    }

    /// Tests the windows that have new rows, setting the series.
    pub fn update(&self, metrics: &Metrics) {
        if let Some((rows, report)) = self
            .inputs
            .as_ref()
            .and_then(|w| w.test(&self.source, self.every))
        {
            metrics.window_rows.set(rows as i64);
            for c in &report.columns {
                let labels = FeatureLabels {
                    feature: c.name.clone(),
                    method: c.method.name().to_owned(),
                };
                metrics.drift_score.get_or_create(&labels).set(c.score);
                metrics
                    .drifted
                    .get_or_create(&labels)
                    .set(i64::from(c.drifted));
            }
        }
        if let Some((_, report)) = self
            .outputs
            .as_ref()
            .and_then(|(_, w)| w.test(&self.source, self.every))
        {
            for c in &report.columns {
                let labels = OutputLabels {
                    output: c.name.clone(),
                    method: c.method.name().to_owned(),
                };
                metrics
                    .prediction_drift_score
                    .get_or_create(&labels)
                    .set(c.score);
                metrics
                    .prediction_drifted
                    .get_or_create(&labels)
                    .set(i64::from(c.drifted));
            }
        }
    }
}
