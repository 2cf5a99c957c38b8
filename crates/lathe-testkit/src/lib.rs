//! What Lathe's test suites share: the real servers they start on 127.0.0.1. A dev-dependency
//! only; nothing here ships.

// A test fails by panicking: a server that does not start is the clearest failure there is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod s3;
