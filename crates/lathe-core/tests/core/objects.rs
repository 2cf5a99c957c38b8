use std::io::{self, Read};

use lathe_core::job::{CancelToken, Job};

use crate::support::{new_project, tree};

const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

fn object_rows(project: &lathe_core::Project) -> i64 {
    project
        .conn()
        .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))
        .unwrap()
}

fn temp_files(project: &lathe_core::Project) -> usize {
    std::fs::read_dir(project.objects().dir().join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn objects_are_addressed_by_sha256_and_deduplicated() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let first = project
        .put_object(&mut &b"abc"[..], "text/plain", Some(3), &Job::silent())
        .unwrap();
    assert_eq!(first.sha256, ABC_SHA256);
    assert!(first.newly_written);
    let path = tmp.path().join("objects/ba").join(&ABC_SHA256[2..]);
    assert_eq!(std::fs::read(&path).unwrap(), b"abc");
    assert!(
        std::fs::metadata(&path).unwrap().permissions().readonly(),
        "objects are immutable"
    );

    let second = project
        .put_object(&mut &b"abc"[..], "text/plain", None, &Job::silent())
        .unwrap();
    assert_eq!(second.sha256, first.sha256);
    assert!(!second.newly_written);
    assert_eq!(object_rows(&project), 1);
    let info = project.info().unwrap();
    assert_eq!((info.counts["objects"], info.object_store_bytes), (1, 3));
    let files: Vec<_> = tree(&tmp.path().join("objects"))
        .into_iter()
        .filter(|(p, _)| !p.starts_with("tmp"))
        .collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn large_objects_stream_with_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let reports = std::sync::Mutex::new(Vec::new());
    let report = |p: lathe_core::job::Progress| reports.lock().unwrap().push(p.done);
    let stored = project
        .put_object(
            &mut &data[..],
            "application/octet-stream",
            Some(5_000_000),
            &Job::new(&report, CancelToken::new()),
        )
        .unwrap();
    assert_eq!(stored.size_bytes, 5_000_000);
    let done = reports.into_inner().unwrap();
    assert!(
        done.len() >= 5,
        "progress is reported while streaming: {done:?}"
    );
    assert_eq!(done.last(), Some(&5_000_000));
    assert!(done.windows(2).all(|w| w[0] <= w[1]));
}

/// A source that fails part-way, as a disk error or a killed network mount would.
struct FailingReader {
    left: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("device went away"));
        }
        let n = buf.len().min(self.left);
        buf[..n].fill(7);
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn a_write_interrupted_before_the_rename_leaves_no_object_and_no_row() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let before = tree(&tmp.path().join("objects"));
    let err = project
        .put_object(
            &mut FailingReader { left: 3 << 20 },
            "text/csv",
            None,
            &Job::silent(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "io");
    assert!(err.to_string().contains("device went away"), "{err}");
    assert_eq!(object_rows(&project), 0);
    assert_eq!(temp_files(&project), 0, "the temporary file is removed");
    assert_eq!(tree(&tmp.path().join("objects")), before);
}

#[test]
fn a_cancelled_write_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let cancel = CancelToken::new();
    let trigger = cancel.clone();
    let report = move |_p: lathe_core::job::Progress| trigger.cancel();
    let data = vec![1u8; 4 << 20];
    let err = project
        .put_object(&mut &data[..], "text/csv", None, &Job::new(&report, cancel))
        .unwrap_err();
    assert_eq!(err.code(), "cancelled");
    assert_eq!(object_rows(&project), 0);
    assert_eq!(temp_files(&project), 0);
}

#[test]
fn a_file_renamed_in_but_never_registered_is_adopted() {
    // A process killed between the rename and the row leaves an unregistered object.
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let path = project.objects().path_of(ABC_SHA256);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"abc").unwrap();
    assert_eq!(
        project.info().unwrap().counts["objects"],
        0,
        "only registered objects count"
    );
    let stored = project
        .put_object(&mut &b"abc"[..], "text/plain", None, &Job::silent())
        .unwrap();
    assert!(!stored.newly_written);
    assert_eq!(object_rows(&project), 1);
}

#[test]
fn temporary_files_no_writer_holds_are_removed_on_open_and_held_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    drop(new_project(tmp.path()));
    let tmp_dir = tmp.path().join("objects/tmp");
    std::fs::create_dir_all(&tmp_dir).unwrap();
    let left = tmp_dir.join("write-killed.tmp");
    let held = tmp_dir.join("write-under-way.tmp");
    std::fs::write(&left, b"half").unwrap();
    std::fs::write(&held, b"in progress").unwrap();
    // A writer in another process holds its file's lock until it renames it; one that was
    // killed holds nothing (the lock dies with the process), however recent its file.
    let writer = std::fs::File::open(&held).unwrap();
    writer.lock().unwrap();
    drop(lathe_core::Project::open(tmp.path()).unwrap());
    assert!(!left.exists(), "left by a killed process: removed");
    assert!(held.exists(), "a write under way: kept");
    drop(writer);
    drop(lathe_core::Project::open(tmp.path()).unwrap());
    assert!(!held.exists(), "once its writer is gone: removed");
}
