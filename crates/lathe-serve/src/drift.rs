//! Live drift in `/metrics`: workers add the rows they predicted to a window; a scrape tests
//! the window against the bundle's reference profile (at most once per `every`) and sets the
//! drift series from the report.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lathe_core::bundle::ReferenceProfile;
use lathe_core::drift::DriftOptions;
use lathe_core::serve::window::Window;
use prometheus_client::encoding::EncodeLabelSet;

use crate::metrics::Metrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureLabels {
    pub feature: String,
    pub method: String,
}

/// The window and when it was last tested.
#[derive(Debug)]
pub struct LiveDrift {
    reference: ReferenceProfile,
    source: String,
    window: Mutex<Window>,
    tested: Mutex<Option<(Instant, u64)>>,
    every: Duration,
}

impl LiveDrift {
    pub fn new(
        reference: ReferenceProfile,
        source: String,
        features: Vec<String>,
        rows: usize,
    ) -> LiveDrift {
        LiveDrift {
            reference,
            source,
            window: Mutex::new(Window::new(features, rows)),
            tested: Mutex::new(None),
            every: Duration::from_secs(1),
        }
    }

    /// Adds predicted rows.
    pub fn push(&self, values: &[f64]) {
        if let Ok(mut w) = self.window.lock() {
            w.push(values);
        }
    }

    /// Tests the window when rows came since the last test (and `every` passed), setting
    /// the series. A window the test refuses (too few rows for a method) leaves them as
    /// they were and says why in the log.
    pub fn update(&self, metrics: &Metrics) {
        let Ok(mut tested) = self.tested.lock() else {
            return;
        };
        let window = match self.window.lock() {
            Ok(w) => w.clone(),
            Err(_) => return,
        };
        let fresh = match *tested {
            Some((at, seen)) => seen != window.seen && at.elapsed() >= self.every,
            None => !window.is_empty(),
        };
        if !fresh {
            return;
        }
        *tested = Some((Instant::now(), window.seen));
        metrics.window_rows.set(window.len() as i64);
        match window.drift(&self.reference, &self.source, &DriftOptions::default()) {
            Ok(report) => {
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
            Err(e) => eprintln!("live drift: {e}"),
        }
    }
}
