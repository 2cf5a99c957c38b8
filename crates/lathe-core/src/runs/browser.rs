//! [`RunBrowser`]: the run table as a scrolling front end reads it, page after page, keeping
//! the loaded runs and the last filter's order between pages.

use super::load::*;
use super::query::*;
use super::record::*;
use crate::{Project, Result};

/// A listing that stays cheap while scrolling: keeps the lean runs (until the project's runs
/// change) and the last query's order, so each further page loads only its own runs.
#[derive(Debug, Default)]
pub struct RunBrowser {
    pub(super) cache: std::sync::Mutex<Option<Cached>>,
}

/// (experiment, filter, sort) of a cached order.
pub(super) type OrderKey = (Option<String>, Option<String>, Option<String>);

#[derive(Debug)]
pub(super) struct Cached {
    pub(super) root: std::path::PathBuf,
    pub(super) include_deleted: bool,
    /// How many runs, and the latest change: any import that changes something moves it.
    pub(super) stamp: (i64, String),
    pub(super) runs: std::sync::Arc<LeanRuns>,
    /// (experiment, filter, sort) and the order they gave.
    pub(super) order: Option<(OrderKey, std::sync::Arc<Vec<usize>>)>,
}

impl RunBrowser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn page(&self, project: &Project, query: &RunQuery) -> Result<RunsPage> {
        let keys = query_keys(query)?;
        let stamp = runs_stamp(project.conn()).map_err(db(project))?;
        let key = (
            query.experiment.clone(),
            query.filter.clone(),
            query.sort.clone(),
        );
        let mut guard = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = guard.as_ref().is_some_and(|c| {
            c.root == project.root()
                && c.include_deleted == query.include_deleted
                && c.stamp == stamp
                && c.runs.keys == keys
        });
        if !fresh {
            *guard = Some(Cached {
                root: project.root().to_path_buf(),
                include_deleted: query.include_deleted,
                runs: std::sync::Arc::new(load_lean(project, query.include_deleted, keys)?),
                stamp,
                order: None,
            });
        }
        let Some(cached) = guard.as_mut() else {
            unreachable!("the cache was filled above")
        };
        let order = match &cached.order {
            Some((k, order)) if *k == key => order.clone(),
            _ => {
                let order = std::sync::Arc::new(select(project, &cached.runs, query)?);
                cached.order = Some((key, order.clone()));
                order
            }
        };
        let runs = cached.runs.clone();
        drop(guard);
        page_of(project, &runs, &order, query)
    }
}
