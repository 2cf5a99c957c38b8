//! The recent-projects list: `recent-projects.json` in the app's config folder, newest first,
//! written atomically (temp file + rename) so a crash never leaves it half written. A missing or
//! unreadable list is treated as empty: it is a convenience, never a reason to fail.

use std::fs;
use std::path::{Path, PathBuf};

use lathe_core::project::DB_FILE;

use crate::ipc::RecentProject;

const FILE: &str = "recent-projects.json";
const MAX_ENTRIES: usize = 12;

pub fn load(config_dir: &Path) -> Vec<RecentProject> {
    let mut list: Vec<RecentProject> = fs::read(config_dir.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    for entry in &mut list {
        entry.exists = Path::new(&entry.path).join(DB_FILE).is_file();
    }
    list
}

/// Moves `path` to the top of the list.
pub fn remember(config_dir: &Path, path: &Path, name: &str) -> std::io::Result<()> {
    let path_text = path.display().to_string();
    let mut list = load(config_dir);
    list.retain(|e| e.path != path_text);
    list.insert(
        0,
        RecentProject {
            path: path_text,
            name: name.to_owned(),
            opened_at: lathe_core::audit::now(),
            exists: true,
        },
    );
    list.truncate(MAX_ENTRIES);
    fs::create_dir_all(config_dir)?;
    let tmp: PathBuf = config_dir.join(format!("{FILE}.tmp"));
    fs::write(&tmp, serde_json::to_vec_pretty(&list)?)?;
    fs::rename(tmp, config_dir.join(FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_without_duplicates_and_capped() {
        let config = tempfile::tempdir().unwrap();
        let projects = tempfile::tempdir().unwrap();
        for i in 0..15 {
            let p = projects.path().join(format!("p{i}"));
            lathe_core::Project::create(&p, None, Default::default()).unwrap();
            remember(config.path(), &p, &format!("p{i}")).unwrap();
        }
        remember(config.path(), &projects.path().join("p3"), "p3").unwrap();
        let list = load(config.path());
        assert_eq!(list.len(), MAX_ENTRIES);
        let names: Vec<_> = list.iter().take(3).map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["p3", "p14", "p13"]);
        assert!(list.iter().all(|e| e.exists));
        assert_eq!(list.iter().filter(|e| e.name == "p3").count(), 1);
    }

    #[test]
    fn moved_projects_are_flagged_and_garbage_is_empty() {
        let config = tempfile::tempdir().unwrap();
        remember(
            config.path(),
            Path::new("/nonexistent/lathe-project"),
            "gone",
        )
        .unwrap();
        assert!(!load(config.path())[0].exists);
        fs::write(config.path().join(FILE), b"{ not json").unwrap();
        assert!(load(config.path()).is_empty());
    }
}
