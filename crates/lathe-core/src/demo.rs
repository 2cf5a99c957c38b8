//! The demo project: what `lathe demo DIR` and the desktop app's "Create demo project" make, so
//! a new user has something real to look at. Each capability adds its part of the demo here as it
//! lands, from the public data shipped in `assets/` (sources and licences in `assets/README.md`).

use std::path::Path;

use crate::Result;
use crate::audit::NewAuditEntry;
use crate::job::Job;
use crate::project::{OpenOptions, Project};

pub const DEMO_NAME: &str = "Lathe demo";

/// Creates the demo project in `root`.
pub fn create(root: &Path, options: OpenOptions, job: &Job) -> Result<Project> {
    const STEPS: u64 = 2;
    job.cancel.check()?;
    job.progress("creating project", 0, Some(STEPS));
    let project = Project::create(root, Some(DEMO_NAME), options)?;
    job.progress("recording demo contents", 1, Some(STEPS));
    project.record(&NewAuditEntry {
        action: "demo.create",
        target: DEMO_NAME,
        details: serde_json::json!({ "lathe_version": crate::LATHE_VERSION }),
    })?;
    job.progress("done", STEPS, Some(STEPS));
    Ok(project)
}
