//! Progress and cancellation for long work. Core functions that take time accept a [`Job`]; the
//! CLI feeds it to a progress bar, the desktop app to a `tauri::ipc::Channel`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::{Error, Result};

/// One progress report: which stage is running and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Progress {
    /// What is being done, for a person: "writing objects", "migrating database".
    pub stage: String,
    pub done: u64,
    /// `None` when the amount of work is not known in advance.
    pub total: Option<u64>,
}

/// A flag that a front end sets to ask running work to stop. Work checks it between steps and
/// returns [`Error::Cancelled`] after undoing what it started.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// `Err(Error::Cancelled)` once cancellation was asked for.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// What a long-running core function is given: where to report progress and when to stop.
pub struct Job<'a> {
    report: &'a (dyn Fn(Progress) + Sync),
    pub cancel: CancelToken,
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl<'a> Job<'a> {
    pub fn new(report: &'a (dyn Fn(Progress) + Sync), cancel: CancelToken) -> Self {
        Job { report, cancel }
    }

    /// A job nobody watches and nobody cancels.
    pub fn silent() -> Job<'static> {
        Job {
            report: &|_| {},
            cancel: CancelToken::new(),
        }
    }

    pub fn progress(&self, stage: &str, done: u64, total: Option<u64>) {
        (self.report)(Progress {
            stage: stage.to_owned(),
            done,
            total,
        });
    }
}
