//! lathe-core's integration tests: one binary, one module per capability.

// A test fails by panicking: unwrap/expect on a fixture is the clearest way to say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browse;
mod bundle;
mod chart;
mod check;
mod corpus;
mod dataset;
mod drift;
mod explain;
mod importance;
mod layers;
mod limits;
mod migrations;
mod models;
mod monitor;
mod objects;
mod project;
mod runs;
mod support;
mod tensorboard;
mod wandb;
