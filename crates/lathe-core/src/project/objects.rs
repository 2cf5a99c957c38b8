//! The content-addressed object store: `objects/<2 hex>/<62 hex>`, named by SHA-256.
//!
//! A write streams into a temporary file under `objects/tmp/` while hashing, fsyncs it, then
//! renames it into place and fsyncs the folder. Only after that does the caller record a row. A
//! write interrupted at any point before the rename leaves no object; one interrupted after the
//! rename but before the row is committed leaves an unregistered file that the next write of the
//! same bytes adopts. Same bytes, same object: a second write costs one hash and no disk space.
//!
//! A writer holds an advisory lock (`flock`) on its temporary file until it is renamed or
//! removed; the lock dies with the process. Opening a project removes every temporary file no
//! process holds, so a killed writer's leftovers go at the next open while a write under way in
//! another process keeps its file.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::job::Job;
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct ObjectStore {
    dir: PathBuf,
}

/// The outcome of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub sha256: String,
    pub size_bytes: u64,
    /// `false` when the store already held these bytes.
    pub newly_written: bool,
}

impl ObjectStore {
    pub(crate) fn new(dir: PathBuf) -> Self {
        ObjectStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Where the object with this hash lives (whether or not it exists).
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        let (head, tail) = sha256.split_at(2.min(sha256.len()));
        self.dir.join(head).join(tail)
    }

    pub fn contains(&self, sha256: &str) -> bool {
        self.path_of(sha256).is_file()
    }

    /// Streams `reader` into the store. Reports progress in bytes against `total_bytes` when
    /// known, and stops (removing its temporary file) when the job is cancelled.
    pub fn write(
        &self,
        reader: &mut dyn Read,
        total_bytes: Option<u64>,
        job: &Job,
    ) -> Result<StoredObject> {
        let tmp_dir = self.tmp_dir();
        fs::create_dir_all(&tmp_dir)
            .map_err(|e| Error::write("create the object store", &tmp_dir, e))?;
        // NamedTempFile deletes itself on drop, so every early return below leaves nothing.
        let mut tmp = tempfile::Builder::new()
            .prefix("write-")
            .suffix(".tmp")
            .tempfile_in(&tmp_dir)
            .map_err(|e| Error::write("create a temporary object", &tmp_dir, e))?;
        // Held until the file is renamed or removed (or the process dies): see the module
        // documentation.
        tmp.as_file()
            .try_lock()
            .map_err(|e| Error::write("lock a temporary object", tmp.path(), e.into()))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size_bytes = 0u64;
        loop {
            job.cancel.check()?;
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read the input", tmp.path(), e)),
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| Error::write("write an object", tmp.path(), e))?;
            size_bytes += n as u64;
            job.progress("writing object", size_bytes, total_bytes);
        }
        let sha256 = hex::encode(hasher.finalize());
        let dest = self.path_of(&sha256);
        if dest.is_file() {
            return Ok(StoredObject {
                sha256,
                size_bytes,
                newly_written: false,
            });
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::write("sync an object", tmp.path(), e))?;
        job.cancel.check()?;
        let mut perms = tmp
            .as_file()
            .metadata()
            .map_err(|e| Error::io("stat an object", tmp.path(), e))?
            .permissions();
        perms.set_readonly(true);
        tmp.as_file()
            .set_permissions(perms)
            .map_err(|e| Error::write("protect an object", tmp.path(), e))?;
        let parent = dest.parent().unwrap_or(&self.dir).to_path_buf();
        fs::create_dir_all(&parent)
            .map_err(|e| Error::write("create the object store", &parent, e))?;
        tmp.persist(&dest)
            .map_err(|e| Error::write("store an object", &dest, e.error))?;
        sync_dir(&parent)?;
        Ok(StoredObject {
            sha256,
            size_bytes,
            newly_written: true,
        })
    }

    /// Removes the temporary files no process holds: what a killed writer left behind.
    pub(crate) fn remove_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(file) = File::open(entry.path()) else {
                continue;
            };
            // Best effort: a temp we cannot remove is harmless and retried next open.
            if file.try_lock().is_ok() {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::write("sync the object store", dir, e))
}
