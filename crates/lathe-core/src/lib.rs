//! Lathe's domain, with no knowledge of any user interface.
//!
//! Everything Lathe does happens inside a [`project::Project`]: a folder holding one SQLite
//! database (`lathe.sqlite`) and a content-addressed object store (`objects/`). The front ends
//! (the `lathe` CLI, the Tauri desktop app, later the egui bundle viewer) parse input, call into
//! this crate and present what it returns; they hold no logic of their own, so the CLI and the
//! app always show the same numbers.
//!
//! Organisation: one module per capability, each owning its SQL tables, its types and its tests.
//! - [`project`]: create/open, schema migrations, the object store, project info.
//! - [`audit`]: the append-only audit log every capability writes to.
//! - [`dataset`]: import tables (CSV, TSV, Parquet, NDJSON, JSON, Arrow IPC) as versioned
//!   Parquet objects, and profile them.
//! - [`runs`]: experiment runs imported from MLflow stores and run logs; query, compare, chart.
//! - [`drift`]: data drift between a reference and a current dataset, per column and overall,
//!   over time, as charts and a self-contained HTML report.
//! - [`check`]: policies (`lathe-checks.yaml`): data expectations with model, fairness,
//!   drift and alert rules, as one gate.
//! - [`expect`]: Great Expectations' expectation suites run on a table (`lathe check`).
//! - [`explain`]: SHAP values, permutation importance, partial dependence / ICE of a model.
//! - [`fairness`]: group fairness of a classifier's predictions (Fairlearn's definitions).
//! - [`bundle`]: deployment bundles: export, sign, verify, inspect, check drift against the
//!   reference profile.
//! - [`demo`]: the demo project built from the public datasets shipped in `assets/`.
//! - [`job`]: progress reporting and cancellation for long work.
//! - [`error`]: the one error type, with a stable machine-readable code per variant.

pub mod api;
pub mod audit;
pub mod bundle;
pub mod chart;
pub mod check;
pub mod dataset;
pub mod demo;
pub mod display;
pub mod drift;
pub mod error;
pub mod expect;
pub mod explain;
pub mod fairness;
pub mod job;
pub mod model;
pub mod monitor;
pub mod numeric;
pub mod project;
pub mod remote;
pub mod report;
pub mod runs;
pub mod serve;

pub use error::{Error, ErrorCode, Result};
pub use project::Project;

/// The version of Lathe that wrote a record, stored in the project and shown by `lathe info`.
pub const LATHE_VERSION: &str = env!("CARGO_PKG_VERSION");
