//! Helpers shared by the core tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use lathe_core::Project;
use lathe_core::project::OpenOptions;

/// Imports `path` with default read options, as dataset `name` (default: the file's stem).
pub fn import(
    project: &Project,
    path: &Path,
    name: Option<&str>,
) -> lathe_core::dataset::ImportOutcome {
    lathe_core::dataset::import(
        project,
        path,
        name,
        &Default::default(),
        &lathe_core::job::Job::silent(),
    )
    .unwrap_or_else(|e| panic!("import {}: {e}", path.display()))
}

/// The repository's root, where `assets/` and `tests/` are.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn new_project(dir: &Path) -> Project {
    Project::create(dir, Some("test"), OpenOptions::default()).expect("create project")
}

pub use lathe_testkit::tree;

/// Copies the folder `from` (everything below it) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The bytes of the project database and its WAL, to prove that a failed open changed nothing.
pub fn db_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(dir.join("lathe.sqlite")).unwrap_or_default();
    bytes.extend(std::fs::read(dir.join("lathe.sqlite-wal")).unwrap_or_default());
    bytes
}

/// Makes `dir` refuse new entries for as long as the guard lives. Permission bits do not stop
/// root (CI runs as root), so root gets the immutable attribute instead.
pub struct Unwritable(PathBuf, bool);

impl Unwritable {
    pub fn new(dir: &Path) -> Unwritable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let mut immutable = false;
        if writable(dir) {
            immutable = Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
        }
        assert!(
            !writable(dir),
            "cannot make {} unwritable here (need chmod as a user, or chattr as root)",
            dir.display()
        );
        Unwritable(dir.to_path_buf(), immutable)
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        }
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(".write-probe");
    let ok = std::fs::write(&probe, b"x").is_ok();
    let _ = std::fs::remove_file(probe);
    ok
}

/// Imports a copy of the run source folder `source` in which the file at `broken` (relative to
/// the folder) holds `content`, into a new project, and checks the import is refused with a
/// `bad_input` error saying `says` and naming the file, and that the project is unchanged: no
/// run of the folder half-imported.
pub fn assert_refused_whole(case: &str, source: &Path, broken: &Path, content: &[u8], says: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let project_dir = tmp.path().join("project");
    std::fs::create_dir(&project_dir).unwrap();
    let project = new_project(&project_dir);
    let copy = tmp.path().join("source");
    copy_dir(source, &copy);
    let file = copy.join(broken);
    std::fs::write(&file, content).unwrap();
    let before = (tree(&project_dir), db_bytes(&project_dir));
    let err =
        lathe_core::runs::import(&project, &copy, &lathe_core::job::Job::silent()).unwrap_err();
    let text = err.to_string();
    assert_eq!(err.code(), "bad_input", "{case}: {text}");
    assert!(text.contains(says), "{case}: {text:?} should say {says:?}");
    assert!(
        text.contains(&file.canonicalize().unwrap().display().to_string()),
        "{case}: names the file: {text}"
    );
    assert!(
        before == (tree(&project_dir), db_bytes(&project_dir)),
        "{case}: the project changed"
    );
    assert!(
        lathe_core::runs::sources(&project).unwrap().is_empty(),
        "{case}"
    );
}
