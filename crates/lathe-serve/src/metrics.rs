//! `/metrics`: what Prometheus scrapes, in the OpenMetrics text format.
//!
//! - `lathe_requests_total{protocol, code}`: answered requests by protocol (`v2`, `grpc`,
//!   `invocations`) and status (`200`, `400`, `503`, ...);
//! - `lathe_request_duration_seconds{protocol}`: latency from the body read to the answer;
//! - `lathe_rows_total`: rows predicted; `lathe_batch_rows`: rows per predicted batch;
//! - `lathe_queue_depth`: requests waiting for a worker;
//! - `lathe_feature_drift_score{feature, method}`, `lathe_feature_drifted`: each input's drift
//!   over the recent window against the bundle's reference profile;
//! - `lathe_prediction_drift_score{output, method}`, `lathe_prediction_drifted`: the model's
//!   outputs (`score`, `prediction`) over the same window against its outputs on the
//!   evaluation data.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub protocol: &'static str,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabels {
    pub protocol: &'static str,
}

/// Every series the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<ProtocolLabels, Histogram>,
    pub rows: Counter,
    pub batch_rows: Histogram,
    pub queue_depth: Gauge<i64, std::sync::atomic::AtomicI64>,
    pub drift_score: Family<crate::drift::FeatureLabels, Gauge<f64, AtomicU64>>,
    pub drifted: Family<crate::drift::FeatureLabels, Gauge>,
    pub prediction_drift_score: Family<crate::drift::OutputLabels, Gauge<f64, AtomicU64>>,
    pub prediction_drifted: Family<crate::drift::OutputLabels, Gauge>,
    pub window_rows: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("lathe");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Answered requests by protocol and status code",
            requests.clone(),
        );
        // 50 µs to ~26 s.
        let latency = Family::<ProtocolLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.00005, 2.0, 20))
        });
        registry.register_with_unit(
            "request_duration",
            "Time from a request's body to its answer",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let rows = Counter::default();
        registry.register("rows", "Rows predicted", rows.clone());
        let batch_rows = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        registry.register("batch_rows", "Rows per predicted batch", batch_rows.clone());
        let queue_depth = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        registry.register(
            "queue_depth",
            "Requests waiting for a worker",
            queue_depth.clone(),
        );
        let drift_score = Family::<crate::drift::FeatureLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "feature_drift_score",
            "Each input's drift score over the recent window against the bundle's reference profile (the p-value or distance of its method)",
            drift_score.clone(),
        );
        let drifted = Family::<crate::drift::FeatureLabels, Gauge>::default();
        registry.register(
            "feature_drifted",
            "1 when the input drifted over the recent window by its method's rule",
            drifted.clone(),
        );
        let prediction_drift_score =
            Family::<crate::drift::OutputLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "prediction_drift_score",
            "The model's outputs' drift score over the recent window against its outputs on the evaluation data (score: the positive or predicted class's probability; prediction: the class or value)",
            prediction_drift_score.clone(),
        );
        let prediction_drifted = Family::<crate::drift::OutputLabels, Gauge>::default();
        registry.register(
            "prediction_drifted",
            "1 when the output drifted over the recent window by its method's rule",
            prediction_drifted.clone(),
        );
        let window_rows = Gauge::default();
        registry.register(
            "drift_window_rows",
            "Recent rows the drift series are computed on",
            window_rows.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            rows,
            batch_rows,
            queue_depth,
            drift_score,
            drifted,
            prediction_drift_score,
            prediction_drifted,
            window_rows,
        }
    }

    /// Counts an answered request.
    pub fn answered(&self, protocol: &'static str, code: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { protocol, code })
            .inc();
        self.latency
            .get_or_create(&ProtocolLabels { protocol })
            .observe(seconds);
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
