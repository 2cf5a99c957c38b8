//! Profiles of tables that are not stored in the project — a table on a Spark cluster, a file,
//! an object named by URL — computed on request and kept for the session, so a front end can
//! show the profile and then draw its charts by the same text, as it does for stored versions.

use std::collections::HashMap;
use std::sync::Mutex;

use super::input::Input;
use super::requests::ChartRequest;
use super::views::ProfileView;
use crate::dataset::{Profile, ReadOptions};
use crate::job::Job;
use crate::{Error, Project, Result};

/// The profiles computed so far, by the text that named their table.
#[derive(Debug, Default)]
pub struct Sources {
    profiles: Mutex<HashMap<String, Profile>>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Computes the profile of the table `source` names (`sc://…`, a URL or a file; a stored
    /// `NAME@VERSION` is read back) and keeps it for [`Sources::chart`].
    pub fn profile(&self, project: &Project, source: &str, job: &Job) -> Result<ProfileView> {
        let input = Input::data(source.trim());
        let profile = input.profile(&ReadOptions::default(), job, || Ok(project))?;
        if input.is_file() {
            self.lock()?
                .insert(source.trim().to_owned(), profile.clone());
        }
        Ok(ProfileView::new(profile))
    }

    /// The chart `request` asks for: of a profile computed here when its reference is one, else
    /// of the stored version it names.
    pub fn chart(
        &self,
        request: &ChartRequest,
        project: &Project,
    ) -> Result<crate::dataset::chart::Chart> {
        let kept = self.lock()?.get(request.reference.trim()).cloned();
        match kept {
            Some(profile) => request.chart_of(&profile),
            None => request.chart(project),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Profile>>> {
        self.profiles.lock().map_err(|_| Error::Compute {
            context: "cannot read the profiles computed this session",
            detail: "an earlier failure poisoned them; restart Lathe".into(),
        })
    }
}
