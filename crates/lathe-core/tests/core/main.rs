//! lathe-core's integration tests: one binary, one module per capability.

mod migrations;
mod objects;
mod project;
mod support;
