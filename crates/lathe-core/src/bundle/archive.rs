//! Bundle files on disk: a deterministic `.tar.gz` (or folder) writer, and the one reader that
//! every consumer of a bundle goes through (the CLI, the desktop app, `lathe-viewer`).
//!
//! The reader trusts nothing. It reads the whole archive into memory, entry by entry, and
//! rejects before anything is returned (and so before anything could be written anywhere):
//! absolute paths, `..`, links, device files and other special entries, duplicate names,
//! non-UTF-8 names, more than one top-level folder, more than [`Limits::max_files`] entries,
//! more than [`Limits::max_bytes`] in total, and a compression ratio that only a gzip bomb has.
//! A declared size that lies shows up as a truncated archive or a broken next header.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder, read::GzDecoder};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// What the reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_files: usize,
    /// The sum of the entries' sizes.
    pub max_bytes: u64,
    /// Beyond [`Limits::ratio_after`] bytes unpacked, unpacked/packed may not exceed this.
    pub max_ratio: u64,
    pub ratio_after: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 10_000,
            max_bytes: 8 << 30,
            // ONNX weights compress about 1.1:1, text files 5–20:1; a run of zeros 1000:1.
            max_ratio: 100,
            ratio_after: 64 << 20,
        }
    }
}

/// A bundle's files, read and checked: paths relative to the bundle's root folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFiles {
    /// Where it was read from.
    pub source: PathBuf,
    /// The archive's top-level folder (`<model>-<version>`); the folder's own name for a folder.
    pub root: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl BundleFiles {
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }
}

fn hostile(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadBundle {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Checks one entry name and splits it into clean components.
fn clean_name(source: &Path, raw: &[u8]) -> Result<Vec<String>> {
    let name = std::str::from_utf8(raw).map_err(|_| {
        hostile(
            source,
            format!(
                "an entry's name is not UTF-8 ({}); bundles only hold UTF-8 names",
                String::from_utf8_lossy(raw)
            ),
        )
    })?;
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Err(hostile(
            source,
            format!("entry '{name}' has an absolute path; a bundle's entries are relative"),
        ));
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(hostile(
                    source,
                    format!("entry '{name}' climbs out of the bundle with '..'"),
                ));
            }
            p if p.contains('\\') || p.chars().any(char::is_control) => {
                return Err(hostile(
                    source,
                    format!("entry '{name}' has a backslash or control character in its name"),
                ));
            }
            p => parts.push(p.to_owned()),
        }
    }
    if parts.is_empty() {
        return Err(hostile(source, format!("entry '{name}' has an empty name")));
    }
    Ok(parts)
}

/// Counts bytes as they pass, and stops a stream that unpacks too far.
struct Metered<R> {
    inner: R,
    read: u64,
    packed: u64,
    limits: Limits,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        // Tar headers and padding count too: 512-byte blocks over the entries' sizes.
        if self.read > self.limits.max_bytes + (self.limits.max_files as u64 + 2) * 1024 {
            return Err(io::Error::other(format!(
                "it unpacks to more than {} bytes",
                self.limits.max_bytes
            )));
        }
        if self.read > self.limits.ratio_after
            && self.read > self.packed.max(1).saturating_mul(self.limits.max_ratio)
        {
            return Err(io::Error::other(format!(
                "it unpacks to more than {}× its {} packed bytes: a decompression bomb",
                self.limits.max_ratio, self.packed
            )));
        }
        Ok(n)
    }
}

/// Reads a bundle: a `.tar.gz` file or a folder.
pub fn read(path: &Path, limits: Limits) -> Result<BundleFiles> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("open the bundle", path, e))?;
    if meta.is_dir() {
        return read_dir(path, limits);
    }
    let mut file = File::open(path).map_err(|e| Error::io("open the bundle", path, e))?;
    let mut magic = [0u8; 2];
    let got = file.read(&mut magic).unwrap_or(0);
    if got < 2 || magic != [0x1f, 0x8b] {
        return Err(hostile(
            path,
            "not a bundle: expected a gzip-compressed tar archive (.tar.gz) or a bundle folder",
        ));
    }
    let file = File::open(path).map_err(|e| Error::io("open the bundle", path, e))?;
    let metered = Metered {
        inner: GzDecoder::new(io::BufReader::new(file)),
        read: 0,
        packed: meta.len(),
        limits,
    };
    let mut archive = tar::Archive::new(metered);
    let entries = archive
        .entries()
        .map_err(|e| hostile(path, format!("cannot read the archive: {e}")))?;
    let mut files = BTreeMap::new();
    let mut root: Option<String> = None;
    let mut total = 0u64;
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| {
            hostile(
                path,
                format!("the archive is corrupt or truncated after entry {index}: {e}"),
            )
        })?;
        let parts = clean_name(path, &entry.path_bytes())?;
        let name = parts.join("/");
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Directory => {
                check_root(path, &mut root, &parts)?;
                continue;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(hostile(
                    path,
                    format!("entry '{name}' is a link; bundles hold only regular files"),
                ));
            }
            other => {
                return Err(hostile(
                    path,
                    format!(
                        "entry '{name}' is a {} entry; bundles hold only regular files",
                        kind_name(other)
                    ),
                ));
            }
        }
        check_root(path, &mut root, &parts)?;
        if parts.len() < 2 {
            return Err(hostile(
                path,
                format!("entry '{name}' is outside the bundle's folder"),
            ));
        }
        if files.len() >= limits.max_files {
            return Err(hostile(
                path,
                format!("more than {} entries", limits.max_files),
            ));
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| hostile(path, format!("entry '{name}' has an unreadable size: {e}")))?;
        total = total.saturating_add(size);
        if total > limits.max_bytes {
            return Err(hostile(
                path,
                format!(
                    "entry '{name}' declares {size} bytes, beyond the {}-byte limit of a bundle",
                    limits.max_bytes
                ),
            ));
        }
        let mut data = Vec::with_capacity(size.min(64 << 20) as usize);
        (&mut entry)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| hostile(path, format!("cannot read entry '{name}': {e}")))?;
        if data.len() as u64 != size {
            return Err(hostile(
                path,
                format!(
                    "entry '{name}' declares {size} bytes but holds {}: the archive is truncated",
                    data.len()
                ),
            ));
        }
        let relative = parts[1..].join("/");
        if files.insert(relative, data).is_some() {
            return Err(hostile(
                path,
                format!("entry '{name}' appears twice; a bundle's names are unique"),
            ));
        }
    }
    // Anything after the end-of-archive blocks (a second archive, say) is not part of it.
    Ok(BundleFiles {
        source: path.to_path_buf(),
        root: root.unwrap_or_default(),
        files,
    })
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "FIFO",
        tar::EntryType::GNUSparse => "sparse file",
        tar::EntryType::XGlobalHeader => "global header",
        _ => "special",
    }
}

fn check_root(path: &Path, root: &mut Option<String>, parts: &[String]) -> Result<()> {
    match root {
        None => {
            *root = Some(parts[0].clone());
            Ok(())
        }
        Some(r) if *r == parts[0] => Ok(()),
        Some(r) => Err(hostile(
            path,
            format!(
                "entries under both '{r}/' and '{}/': a bundle has one top-level folder",
                parts[0]
            ),
        )),
    }
}

fn read_dir(dir: &Path, limits: Limits) -> Result<BundleFiles> {
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = stack.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| Error::io("read the bundle folder", &folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read the bundle folder", &folder, e))?;
            let os_name = entry.file_name();
            let name = os_name.to_str().ok_or_else(|| {
                hostile(
                    dir,
                    format!("'{}' has a name that is not UTF-8", entry.path().display()),
                )
            })?;
            let relative = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            clean_name(dir, relative.as_bytes())?;
            let meta = std::fs::symlink_metadata(entry.path())
                .map_err(|e| Error::io("read the bundle folder", &entry.path(), e))?;
            let kind = meta.file_type();
            if kind.is_symlink() {
                return Err(hostile(
                    dir,
                    format!("'{relative}' is a link; bundles hold only regular files"),
                ));
            }
            if kind.is_dir() {
                stack.push((entry.path(), relative));
                continue;
            }
            if !kind.is_file() {
                return Err(hostile(dir, format!("'{relative}' is not a regular file")));
            }
            total = total.saturating_add(meta.len());
            if files.len() >= limits.max_files || total > limits.max_bytes {
                return Err(hostile(
                    dir,
                    format!(
                        "more than {} files or {} bytes",
                        limits.max_files, limits.max_bytes
                    ),
                ));
            }
            let data = std::fs::read(entry.path())
                .map_err(|e| Error::io("read a bundle file", &entry.path(), e))?;
            files.insert(relative, data);
        }
    }
    Ok(BundleFiles {
        source: dir.to_path_buf(),
        root: dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned(),
        files,
    })
}

/// Passes writes through while hashing them.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What was written: the archive's (or `SHA256SUMS`') hash and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub sha256: String,
    pub bytes: u64,
}

/// Writes `files` under `root/` as a gzip-compressed tar: entries sorted by name, each a
/// regular file with mode 0644, owner 0:0, no user or group names and modification time
/// `mtime`; gzip without a name or time. The same files give the same bytes. Written under
/// a temporary name beside `out`, synced, then renamed. An `out` that exists is never
/// replaced: holding these very bytes (an export interrupted before it was recorded), it is
/// kept as the result; otherwise it is an error.
pub fn write_archive(
    out: &Path,
    root: &str,
    files: &BTreeMap<String, Vec<u8>>,
    mtime: u64,
    progress: &dyn Fn(u64, u64),
) -> Result<Written> {
    let folder = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(folder)
        .map_err(|e| Error::write("create the bundle file", out, e))?;
    let werr = |e: io::Error| Error::write("write the bundle file", out, e);
    let total: u64 = files.values().map(|d| d.len() as u64).sum();
    let mut done = 0u64;
    let file = tmp.as_file().try_clone().map_err(werr)?;
    let hashing = Hashing {
        inner: BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        bytes: 0,
    };
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(hashing, Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Deterministic);
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_size(data.len() as u64);
        builder
            .append_data(&mut header, format!("{root}/{name}"), data.as_slice())
            .map_err(werr)?;
        done += data.len() as u64;
        progress(done, total);
    }
    let gz = builder.into_inner().map_err(werr)?;
    let mut hashing = gz.finish().map_err(werr)?;
    hashing.flush().map_err(werr)?;
    let written = Written {
        sha256: hex::encode(hashing.hash.finalize()),
        bytes: hashing.bytes,
    };
    tmp.as_file().sync_all().map_err(werr)?;
    match tmp.persist_noclobber(out) {
        Ok(_) => Ok(written),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
            let existing = std::fs::read(out).map_err(|e| Error::io("read", out, e))?;
            if hex::encode(Sha256::digest(&existing)) == written.sha256 {
                Ok(written)
            } else {
                Err(exists(out))
            }
        }
        Err(e) => Err(Error::write("write the bundle file", out, e.error)),
    }
}

/// `out` holds something else: Lathe does not overwrite a bundle.
pub(super) fn exists(out: &Path) -> Error {
    Error::BadArgument {
        argument: "out",
        detail: format!(
            "{} exists; Lathe does not overwrite a bundle, pick a new path",
            out.display()
        ),
    }
}

/// `out` is a folder with something in it.
pub(super) fn not_empty(out: &Path) -> Error {
    Error::BadArgument {
        argument: "out",
        detail: format!(
            "{} exists and is not an empty folder; pick a new path",
            out.display()
        ),
    }
}

/// Whether the folder `out` holds exactly `files`.
fn holds_exactly(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> bool {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let path = e?.path();
            if path.is_dir() {
                walk(&path, root, out)?;
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                out.insert(
                    rel.to_string_lossy().replace('\\', "/"),
                    std::fs::read(&path)?,
                );
            }
        }
        Ok(())
    }
    let mut found = BTreeMap::new();
    walk(out, out, &mut found).is_ok() && found == *files
}

/// Writes `files` into the folder `out` (which must not exist or be empty), through a
/// temporary folder beside it renamed at the end. A folder holding exactly these files (an
/// export interrupted before it was recorded) is kept as the result.
pub fn write_dir(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty && holds_exactly(out, files) {
            return Ok(());
        }
        if !empty {
            return Err(not_empty(out));
        }
        std::fs::remove_dir(out).map_err(|e| Error::write("replace the empty folder", out, e))?;
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".lathe-bundle")
        .tempdir_in(parent)
        .map_err(|e| Error::write("create the bundle folder", out, e))?;
    for (name, data) in files {
        let path = tmp.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::write("create a folder", dir, e))?;
        }
        let mut f = File::create(&path).map_err(|e| Error::write("write a file", &path, e))?;
        f.write_all(data)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::write("write a file", &path, e))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out).map_err(|e| Error::write("create the bundle folder", out, e))?;
    Ok(())
}
