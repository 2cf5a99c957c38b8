//! End-to-end tests of the desktop app as a person uses it: the built `lathe-desktop` (serving
//! the bundled `ui/dist`, not a dev server) in a real window under Xvfb, driven through
//! tauri-driver and WebKitWebDriver. Screenshots go to `target/e2e/` for a person to look at.
//!
//! Needs `tauri-driver` on PATH (`cargo install tauri-driver --locked`), `WebKitWebDriver`
//! (Debian: webkit2gtk-driver) and `Xvfb`; `scripts/test.sh` installs them.

// A test fails by panicking: unwrap/expect on a fixture is the clearest way to say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bundles;
mod checks;
mod datasets;
mod drift;
mod harness;
mod models;
mod monitor;
mod projects;
mod runs;
