//! Objects named by URL — `s3://`, `gs://`, `az://` (`abfs[s]://`) and `http(s)://` — read
//! through the `object_store` crate, with credentials from the standard places and errors that
//! name the URL and say what to do, never a secret.
//!
//! An object to import is downloaded by ranges (`CHUNK` bytes, `PARALLEL` at a time, each one
//! conditional on the ETag the first answer gave, so an object replaced mid-read is an error,
//! not a mix) into a temporary file that is hashed as it is written; the caller reads that file
//! as it would a local one, and the file is removed when the caller drops it.
//!
//! A table read without importing it is a [`Partial`] copy: a sparse local file of the
//! object's size into which only the byte ranges a read needs are fetched (for Parquet: the
//! footer, then the column chunks of the row groups and columns each read asks for), under the
//! same ETag condition; readers that need the whole file fetch the rest first.
//!
//! Credentials (never written anywhere by Lathe):
//! - S3: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the profile
//!   `AWS_PROFILE` (default `default`) of `~/.aws/credentials` and `~/.aws/config` (or
//!   `AWS_SHARED_CREDENTIALS_FILE`/`AWS_CONFIG_FILE`); `AWS_ENDPOINT_URL` (or the profile's
//!   `endpoint_url`) for S3-compatible stores, `AWS_REGION`; `AWS_SKIP_SIGNATURE=true` for a
//!   public bucket; a web-identity or container role when its variables are set.
//! - GCS: `GOOGLE_SERVICE_ACCOUNT` / `GOOGLE_APPLICATION_CREDENTIALS` and the other `GOOGLE_*`
//!   variables `object_store` reads.
//! - Azure: `AZURE_STORAGE_ACCOUNT_NAME` with `AZURE_STORAGE_ACCOUNT_KEY` (or a SAS, or the
//!   other `AZURE_*` variables `object_store` reads).

use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore, RetryConfig};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::job::Job;
use crate::{Error, Result};

/// Bytes per ranged read.
const CHUNK: u64 = 16 << 20;
/// Ranged reads in flight: enough to fill a fast link, at most this many chunks in memory.
const PARALLEL: usize = 4;
/// Two wanted ranges closer than this are fetched as one request: the bytes between cost less
/// than another round trip (the `parquet` crate's object-store reader joins ranges 1 MiB
/// apart too).
const GAP: u64 = 1 << 20;
/// The bytes fetched from the end of a Parquet object first: its footer, in one request for
/// most tables (a footer is a few KB a row group for 25 columns).
const FOOTER: u64 = 64 << 10;
/// A request that has not finished in this long fails (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The URL schemes Lathe reads.
pub const SCHEMES: &str = "s3://, gs://, az://, abfs://, abfss://, https://, http://";

/// Whether `text` is a URL of a store Lathe reads (rather than a path or a record's name).
pub fn is_url(text: &str) -> bool {
    scheme_of(text).is_some()
}

fn scheme_of(text: &str) -> Option<&'static str> {
    let (scheme, rest) = text.split_once("://")?;
    if rest.is_empty() {
        return None;
    }
    Some(match scheme.to_ascii_lowercase().as_str() {
        "s3" | "s3a" => "s3",
        "gs" | "gcs" => "gs",
        "az" | "azure" | "abfs" | "abfss" | "adl" => "az",
        "https" => "https",
        "http" => "http",
        _ => return None,
    })
}

/// What a URL named when it was read: what a dataset version imported from it records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteObject {
    /// The URL without credentials (no user, password or query string).
    pub url: String,
    pub etag: Option<String>,
    /// The store's version id of the object, when the bucket keeps versions.
    pub version: Option<String>,
    pub size: u64,
}

/// A downloaded object: its local copy (removed on drop), the copy's SHA-256 and what the store
/// said of it.
#[derive(Debug)]
pub struct Fetched {
    pub file: tempfile::TempPath,
    pub sha256: String,
    pub object: RemoteObject,
}

/// The URL as it may be shown and stored: no user, password or query (a presigned URL's query
/// is its credential).
pub fn display_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => text.split(['?', '#']).next().unwrap_or(text).to_owned(),
    }
}

/// The last segment of the URL's path (`s3://b/data/train.csv` → `train.csv`).
pub fn file_name(text: &str) -> String {
    let clean = display_url(text);
    clean
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The object's metadata (one HEAD request).
pub fn head(text: &str) -> Result<RemoteObject> {
    let target = Target::parse(text)?;
    run(async move {
        let meta = target.head().await?;
        Ok(RemoteObject {
            url: target.shown.clone(),
            etag: meta.e_tag,
            version: meta.version,
            size: meta.size,
        })
    })
}

/// Downloads the object at `text` into a temporary file in `dir` whose name ends like the URL's
/// (so its format can be told from it), hashing it as it is written. Honors cancel; on any
/// failure the partial file is removed.
pub fn fetch(text: &str, dir: &Path, job: &Job) -> Result<Fetched> {
    let target = Target::parse(text)?;
    let temp = temp_copy(text, dir)?;
    run(async move {
        let (mut file, path) = temp.into_parts();
        let meta = target.head().await?;
        let size = meta.size;
        let mut chunks = target.ranges(
            meta.e_tag.clone(),
            requests(std::slice::from_ref(&(0..size))),
        );
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        job.progress("downloading", 0, Some(size));
        while let Some(chunk) = chunks.next().await {
            job.cancel.check()?;
            let (_, chunk) = chunk?;
            let chunk = chunk.as_ref();
            hasher.update(chunk);
            file.write_all(chunk)
                .map_err(|e| Error::write("write the downloaded copy", &path, e))?;
            done += chunk.len() as u64;
            job.progress("downloading", done, Some(size));
        }
        if done != size {
            return Err(target.failure(
                Failure::Network,
                format!("the object ended after {done} of its {size} bytes"),
            ));
        }
        file.flush()
            .map_err(|e| Error::write("write the downloaded copy", &path, e))?;
        Ok(Fetched {
            file: path,
            sha256: hex::encode(hasher.finalize()),
            object: RemoteObject {
                url: target.shown.clone(),
                etag: meta.e_tag,
                version: meta.version,
                size,
            },
        })
    })
}

/// An object read by ranges into a sparse local file of its size: only what readers ask for is
/// fetched (each request conditional on the ETag the object had when it was opened), and the
/// file is removed when this is dropped. Shared between threads: one fetch at a time.
pub struct Partial {
    target: Target,
    /// What the store said of the object when it was opened.
    pub object: RemoteObject,
    file: std::fs::File,
    path: tempfile::TempPath,
    /// The byte ranges already in the local file: sorted, disjoint, not touching.
    present: Mutex<Vec<Range<u64>>>,
}

impl std::fmt::Debug for Partial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partial")
            .field("url", &self.object.url)
            .field("size", &self.object.size)
            .field("fetched", &self.fetched())
            .finish()
    }
}

impl Partial {
    /// Opens the object at `text` (one HEAD request) as an empty sparse file in `dir` whose name
    /// ends like the URL's, so its format can be told from it.
    pub fn open(text: &str, dir: &Path) -> Result<Partial> {
        Partial::open_target(Target::parse(text)?, text, dir)
    }

    /// The object `key` of `store`, shown as `url` (for tests: a store whose credentials are
    /// not in the environment).
    #[cfg(test)]
    pub(crate) fn open_in(
        store: Arc<dyn ObjectStore>,
        key: &str,
        url: &str,
        dir: &Path,
    ) -> Result<Partial> {
        let target = Target {
            store,
            path: ObjectPath::from(key),
            shown: url.to_owned(),
            secrets: Vec::new(),
        };
        Partial::open_target(target, url, dir)
    }

    fn open_target(target: Target, text: &str, dir: &Path) -> Result<Partial> {
        let meta = run(async { target.head().await })?;
        let temp = temp_copy(text, dir)?;
        let (file, path) = temp.into_parts();
        file.set_len(meta.size)
            .map_err(|e| Error::write("create the local copy", &path, e))?;
        Ok(Partial {
            object: RemoteObject {
                url: target.shown.clone(),
                etag: meta.e_tag,
                version: meta.version,
                size: meta.size,
            },
            target,
            file,
            path,
            present: Mutex::new(Vec::new()),
        })
    }

    /// The local copy: only the fetched ranges hold the object's bytes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many of the object's bytes are in the local copy.
    pub fn fetched(&self) -> u64 {
        self.present().iter().map(|r| r.end - r.start).sum()
    }

    fn present(&self) -> std::sync::MutexGuard<'_, Vec<Range<u64>>> {
        self.present.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the bytes of `wanted` present, fetching what is missing (ranges closer than `GAP`
    /// in one request, `CHUNK` bytes at most a request, `PARALLEL` in flight). Honors cancel.
    pub fn fetch(&self, wanted: impl IntoIterator<Item = Range<u64>>, job: &Job) -> Result<()> {
        let mut present = self.present();
        let missing = missing(&present, wanted, self.object.size);
        if missing.is_empty() {
            return Ok(());
        }
        let requests = requests(&missing);
        let total: u64 = requests.iter().map(|r| r.end - r.start).sum();
        run(async {
            let mut chunks = self.target.ranges(self.object.etag.clone(), requests);
            let mut done = 0u64;
            while let Some(chunk) = chunks.next().await {
                job.cancel.check()?;
                let (range, bytes) = chunk?;
                let bytes = bytes.as_ref();
                if bytes.len() as u64 != range.end - range.start {
                    return Err(self.target.failure(
                        Failure::Network,
                        format!(
                            "asked for bytes {}..{} of its {}, the store sent {}",
                            range.start,
                            range.end,
                            self.object.size,
                            bytes.len()
                        ),
                    ));
                }
                write_at(&self.file, bytes, range.start)
                    .map_err(|e| Error::write("write the local copy", &self.path, e))?;
                done += bytes.len() as u64;
                job.progress("downloading", done, Some(total));
            }
            Ok(())
        })?;
        for range in missing {
            insert(&mut present, range);
        }
        Ok(())
    }

    /// Fetches whatever is not present yet: afterwards the local copy is the object.
    pub fn complete(&self, job: &Job) -> Result<()> {
        self.fetch(std::iter::once(0..self.object.size), job)
    }

    /// Fetches a Parquet object's footer: its leading magic and its last `FOOTER` bytes, then,
    /// when the metadata its last 8 bytes announce is longer, the rest of it. Anything else is
    /// left for the Parquet reader to call unreadable.
    pub fn fetch_parquet_footer(&self, job: &Job) -> Result<()> {
        let size = self.object.size;
        let tail = size.min(FOOTER);
        self.fetch([0..size.min(4), size - tail..size], job)?;
        if size < 12 {
            return Ok(());
        }
        let mut end = [0u8; 8];
        read_at(&self.file, &mut end, size - 8)
            .map_err(|e| Error::io("read the local copy", &self.path, e))?;
        if &end[4..] == b"PAR1" {
            let length = u64::from(u32::from_le_bytes([end[0], end[1], end[2], end[3]])) + 8;
            if length > tail && length <= size {
                self.fetch(std::iter::once(size - length..size), job)?;
            }
        }
        Ok(())
    }
}

/// What of `wanted` (clamped to `size`) is not in `present`, as requests: sorted, ranges
/// closer than `GAP` joined (the bytes between fetched again, harmlessly).
fn missing(
    present: &[Range<u64>],
    wanted: impl IntoIterator<Item = Range<u64>>,
    size: u64,
) -> Vec<Range<u64>> {
    let mut wanted: Vec<Range<u64>> = wanted
        .into_iter()
        .map(|r| r.start.min(size)..r.end.min(size))
        .filter(|r| r.start < r.end)
        .collect();
    wanted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::new();
    for range in wanted {
        // The parts of `range` no present range covers.
        let mut start = range.start;
        for have in present
            .iter()
            .skip_while(|h| h.end <= range.start)
            .take_while(|h| h.start < range.end)
        {
            if have.start > start {
                push_joined(&mut out, start..have.start);
            }
            start = start.max(have.end);
        }
        if start < range.end {
            push_joined(&mut out, start..range.end);
        }
    }
    out
}

/// `ranges` cut into requests of `CHUNK` bytes at most.
fn requests(ranges: &[Range<u64>]) -> Vec<Range<u64>> {
    ranges
        .iter()
        .flat_map(|r| {
            (r.start..r.end)
                .step_by(CHUNK as usize)
                .map(move |s| s..(s + CHUNK).min(r.end))
        })
        .collect()
}

fn push_joined(out: &mut Vec<Range<u64>>, range: Range<u64>) {
    match out.last_mut() {
        Some(last) if range.start <= last.end.saturating_add(GAP) => {
            last.end = last.end.max(range.end);
        }
        _ => out.push(range),
    }
}

/// Adds `range` to the sorted, disjoint `present`, joining what it touches.
fn insert(present: &mut Vec<Range<u64>>, range: Range<u64>) {
    present.push(range);
    present.sort_by_key(|r| r.start);
    let mut joined: Vec<Range<u64>> = Vec::with_capacity(present.len());
    for r in present.drain(..) {
        match joined.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => joined.push(r),
        }
    }
    *present = joined;
}

fn write_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(windows)]
    {
        let mut written = 0;
        while written < bytes.len() {
            written += std::os::windows::fs::FileExt::seek_write(
                file,
                &bytes[written..],
                offset + written as u64,
            )?;
        }
        Ok(())
    }
}

fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut filled = 0;
        while filled < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[filled..],
                offset + filled as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            filled += n;
        }
        Ok(())
    }
}

/// A temporary file in `dir` whose name ends like the URL's.
fn temp_copy(text: &str, dir: &Path) -> Result<tempfile::NamedTempFile> {
    std::fs::create_dir_all(dir).map_err(|e| Error::write("create a temporary folder", dir, e))?;
    let name = file_name(text);
    let suffix = name
        .rfind('.')
        .map(|i| name[i..].to_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix("download-")
        .suffix(&suffix)
        .tempfile_in(dir)
        .map_err(|e| Error::write("create a temporary file", dir, e))
}

/// Reads the whole object into memory (for small objects: a model file).
pub fn read_all(text: &str, job: &Job) -> Result<(Vec<u8>, RemoteObject)> {
    let target = Target::parse(text)?;
    run(async move {
        let result = target
            .store
            .get_opts(&target.path, GetOptions::default())
            .await
            .map_err(|e| target.error(e))?;
        let meta = result.meta.clone();
        let mut bytes = Vec::with_capacity(meta.size as usize);
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.try_next().await.map_err(|e| target.error(e))? {
            job.cancel.check()?;
            bytes.extend_from_slice(&chunk);
        }
        Ok((
            bytes,
            RemoteObject {
                url: target.shown.clone(),
                etag: meta.e_tag,
                version: meta.version,
                size: meta.size,
            },
        ))
    })
}

/// Runs `work` on a thread of its own with a small runtime: the core is synchronous, and its
/// callers may already be inside a runtime (the desktop's blocking tasks).
pub(crate) fn run<T: Send>(work: impl std::future::Future<Output = Result<T>> + Send) -> Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Compute {
                        context: "cannot start the network runtime",
                        detail: e.to_string(),
                    })?;
                runtime.block_on(work)
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::Compute {
                    context: "cannot read the URL",
                    detail: "the download thread stopped unexpectedly".into(),
                })
            })
    })
}

/// Why reading a URL failed, each with what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    BadUrl,
    NoCredentials,
    AccessDenied,
    NoSuchBucket,
    NotFound,
    Network,
    Untrusted,
    Timeout,
    Changed,
    Other,
}

impl Failure {
    pub fn advice(self) -> &'static str {
        match self {
            Failure::BadUrl => {
                "write it as s3://BUCKET/KEY, gs://BUCKET/KEY, az://CONTAINER/PATH or https://HOST/PATH"
            }
            Failure::NoCredentials => {
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE with ~/.aws/credentials; AWS_SKIP_SIGNATURE=true for a public bucket), GOOGLE_APPLICATION_CREDENTIALS for gs://, AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY for az://"
            }
            Failure::AccessDenied => {
                "the store refused these credentials: check the access key and secret (or the profile), and that they may read this object"
            }
            Failure::NoSuchBucket => {
                "check the bucket's (or Azure container's) name, and the endpoint (AWS_ENDPOINT_URL for an S3-compatible store)"
            }
            Failure::NotFound => "check the object's key: nothing is stored under it",
            Failure::Network => {
                "check the network and the endpoint (AWS_ENDPOINT_URL for an S3-compatible store), then try again"
            }
            Failure::Untrusted => {
                "the server's TLS certificate is not signed by an authority this system trusts; if it is your organisation's own, set SSL_CERT_FILE to that authority's certificate (PEM)"
            }
            Failure::Timeout => "the store did not answer in time; check the network and try again",
            Failure::Changed => "the object was replaced while it was being read; try again",
            Failure::Other => "check the URL and the credentials, then try again",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Failure::BadUrl => "not a URL Lathe reads",
            Failure::NoCredentials => "no credentials found",
            Failure::AccessDenied => "access denied",
            Failure::NoSuchBucket => "no such bucket",
            Failure::NotFound => "no such object",
            Failure::Network => "the store cannot be reached",
            Failure::Untrusted => "the server's certificate is not trusted",
            Failure::Timeout => "timed out",
            Failure::Changed => "the object changed during the read",
            Failure::Other => "the read failed",
        }
    }
}

/// A store and the object's location in it.
struct Target {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    /// The URL without credentials, for messages and records.
    shown: String,
    /// Values that must never appear in a message (secrets from the environment or files).
    secrets: Vec<String>,
}

impl Target {
    fn parse(text: &str) -> Result<Target> {
        let shown = display_url(text);
        let bad = |detail: String| remote_error(&shown, Failure::BadUrl, detail, &[]);
        let scheme = scheme_of(text).ok_or_else(|| bad(format!("Lathe reads {SCHEMES}")))?;
        let url = url::Url::parse(text).map_err(|e| bad(e.to_string()))?;
        let key = url.path().trim_start_matches('/');
        if key.is_empty() {
            return Err(bad("the URL names no object".into()));
        }
        let path = ObjectPath::from_url_path(key).map_err(|e| bad(e.to_string()))?;
        let client = ClientOptions::new()
            .with_timeout(REQUEST_TIMEOUT)
            .with_connect_timeout(CONNECT_TIMEOUT);
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        };
        let mut secrets = Vec::new();
        let built: object_store::Result<Arc<dyn ObjectStore>> = match scheme {
            "s3" => {
                let aws = AwsSettings::load();
                secrets.extend(aws.secrets());
                if !aws.has_credentials() {
                    return Err(remote_error(
                        &shown,
                        Failure::NoCredentials,
                        String::new(),
                        &secrets,
                    ));
                }
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_url(text)
                    .with_client_options(client.with_allow_http(aws.allows_http()))
                    .with_retry(retry);
                for (key, value) in &aws.config {
                    if let Ok(key) = key.parse() {
                        builder = builder.with_config(key, value);
                    }
                }
                builder.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            }
            "gs" => object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(text)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
            "az" => {
                secrets.extend(
                    [
                        "AZURE_STORAGE_ACCOUNT_KEY",
                        "AZURE_STORAGE_SAS_KEY",
                        "AZURE_CLIENT_SECRET",
                    ]
                    .iter()
                    .filter_map(|k| std::env::var(k).ok()),
                );
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(text)
                    .with_client_options(client)
                    .with_retry(retry)
                    .build()
                    .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            }
            _ => {
                let origin = url.origin().ascii_serialization();
                object_store::http::HttpBuilder::new()
                    .with_url(origin)
                    .with_client_options(client.with_allow_http(scheme == "http"))
                    .with_retry(retry)
                    .build()
                    .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            }
        };
        let store = built.map_err(|e| {
            let failure = classify(&e);
            let failure = if failure == Failure::Other {
                Failure::NoCredentials
            } else {
                failure
            };
            remote_error(&shown, failure, e.to_string(), &secrets)
        })?;
        Ok(Target {
            store,
            path,
            shown,
            secrets,
        })
    }

    /// The object's metadata. A HEAD answer has no body, so a 404 is asked again as a one-byte
    /// GET, whose body tells a missing bucket from a missing object.
    async fn head(&self) -> Result<object_store::ObjectMeta> {
        let head = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match self.store.get_opts(&self.path, head).await {
            Ok(result) => Ok(result.meta),
            Err(object_store::Error::NotFound { .. }) => {
                let probe = GetOptions {
                    range: Some(GetRange::Bounded(0..1)),
                    ..GetOptions::default()
                };
                match self.store.get_opts(&self.path, probe).await {
                    Ok(result) => Ok(result.meta),
                    Err(e) => Err(self.error(e)),
                }
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// GETs of `ranges`, `PARALLEL` in flight, answered in order; each one conditional on
    /// `etag`, so an object replaced between them is an error, not a mix.
    fn ranges(
        &self,
        etag: Option<String>,
        ranges: Vec<Range<u64>>,
    ) -> impl futures_util::Stream<Item = Result<(Range<u64>, impl AsRef<[u8]>)>> + '_ {
        futures_util::stream::iter(ranges)
            .map(move |range| {
                let options = GetOptions {
                    range: Some(GetRange::Bounded(range.clone())),
                    if_match: etag.clone(),
                    ..GetOptions::default()
                };
                async move {
                    let got = self.store.get_opts(&self.path, options).await;
                    let bytes = match got {
                        Ok(got) => got.bytes().await,
                        Err(e) => Err(e),
                    };
                    bytes.map(|b| (range, b)).map_err(|e| self.error(e))
                }
            })
            .buffered(PARALLEL)
    }

    fn error(&self, e: object_store::Error) -> Error {
        let failure = classify(&e);
        self.failure(failure, e.to_string())
    }

    fn failure(&self, failure: Failure, detail: String) -> Error {
        remote_error(&self.shown, failure, detail, &self.secrets)
    }
}

fn classify(e: &object_store::Error) -> Failure {
    use object_store::Error as E;
    let text = format!("{e:?} {e}");
    let has = |needle: &str| text.contains(needle);
    match e {
        E::NotFound { .. } if has("NoSuchBucket") || has("ContainerNotFound") => {
            Failure::NoSuchBucket
        }
        E::NotFound { .. } => Failure::NotFound,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Failure::AccessDenied,
        E::Precondition { .. } => Failure::Changed,
        _ if has("NoSuchBucket") => Failure::NoSuchBucket,
        _ if has("NoSuchKey") => Failure::NotFound,
        _ if has("AccessDenied")
            || has("InvalidAccessKeyId")
            || has("SignatureDoesNotMatch")
            || has("403 Forbidden") =>
        {
            Failure::AccessDenied
        }
        _ if has("PreconditionFailed") || has("412 Precondition") => Failure::Changed,
        _ if has("InvalidCertificate") || has("invalid peer certificate") => Failure::Untrusted,
        _ if has("timed out") || has("TimedOut") || has("operation timed out") => Failure::Timeout,
        _ if has("onnect") || has("dns error") || has("Connection refused") => Failure::Network,
        _ if has("Missing bucket") || has("Missing") && has("account") => Failure::BadUrl,
        _ => Failure::Other,
    }
}

/// The core's error for `failure` on `url`, with `detail` cut to its first lines and every
/// secret removed.
fn remote_error(url: &str, failure: Failure, detail: String, secrets: &[String]) -> Error {
    let mut detail: String = detail
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(400)
        .collect();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        detail = detail.replace(secret.as_str(), "***");
    }
    let detail = if detail.is_empty() {
        format!("{}; {}", failure.what(), failure.advice())
    } else {
        format!("{}; {} ({detail})", failure.what(), failure.advice())
    };
    Error::Remote {
        url: url.to_owned(),
        detail,
    }
}

/// S3 settings gathered from the environment and the shared config files, as the AWS CLI reads
/// them: the environment wins over the profile.
#[derive(Debug, Default)]
struct AwsSettings {
    /// `object_store` configuration keys (`aws_access_key_id`, ...) and their values.
    config: HashMap<String, String>,
}

impl AwsSettings {
    fn load() -> AwsSettings {
        let mut config = HashMap::new();
        let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let file = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        // The config file's sections are `[profile NAME]` (but `[default]`); the credentials
        // file's are `[NAME]`.
        let config_section = if profile == "default" {
            "default".to_owned()
        } else {
            format!("profile {profile}")
        };
        for (path, section) in [
            (file("AWS_CONFIG_FILE", "config"), config_section.as_str()),
            (
                file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
                profile.as_str(),
            ),
        ] {
            let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
                continue;
            };
            for (key, value) in ini_section(&text, section) {
                let key = match key.as_str() {
                    "aws_access_key_id" | "aws_secret_access_key" | "aws_session_token" => key,
                    "region" => "aws_region".into(),
                    "endpoint_url" => "aws_endpoint".into(),
                    _ => continue,
                };
                config.insert(key, value);
            }
        }
        for (key, value) in std::env::vars() {
            if let Some(rest) = key.strip_prefix("AWS_") {
                let key = match rest {
                    "ENDPOINT_URL" | "ENDPOINT" => "aws_endpoint".to_owned(),
                    "PROFILE" | "CONFIG_FILE" | "SHARED_CREDENTIALS_FILE" => continue,
                    _ => format!("aws_{}", rest.to_ascii_lowercase()),
                };
                config.insert(key, value);
            }
        }
        AwsSettings { config }
    }

    fn has_credentials(&self) -> bool {
        let set = |k: &str| self.config.get(k).is_some_and(|v| !v.is_empty());
        (set("aws_access_key_id") && set("aws_secret_access_key"))
            || self
                .config
                .get("aws_skip_signature")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
            || set("aws_web_identity_token_file")
            || set("aws_container_credentials_relative_uri")
            || set("aws_container_credentials_full_uri")
    }

    /// An endpoint the user named with `http://` is used as named.
    fn allows_http(&self) -> bool {
        self.config
            .get("aws_endpoint")
            .is_some_and(|e| e.starts_with("http://"))
            || self
                .config
                .get("aws_allow_http")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn secrets(&self) -> Vec<String> {
        ["aws_secret_access_key", "aws_session_token"]
            .iter()
            .filter_map(|k| self.config.get(*k).cloned())
            .collect()
    }
}

/// The `key = value` lines of `[section]` in an INI text.
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside && let Some((key, value)) = line.split_once('=') {
            out.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_urls_from_paths() {
        assert!(is_url("s3://bucket/a.csv"));
        assert!(is_url("GS://b/x.parquet"));
        assert!(is_url("abfss://c@acct.dfs.core.windows.net/x.csv"));
        assert!(is_url("https://example.org/t.csv"));
        assert!(!is_url("data/train.csv"));
        assert!(!is_url("ftp://host/x"));
        assert!(!is_url("s3://"));
        assert!(!is_url("churn@2"));
    }

    #[test]
    fn shown_urls_carry_no_credentials() {
        assert_eq!(
            display_url("https://user:pw@host/x.csv?X-Amz-Signature=abc#f"),
            "https://host/x.csv"
        );
        assert_eq!(
            display_url("s3://bucket/dir/t.parquet"),
            "s3://bucket/dir/t.parquet"
        );
        assert_eq!(file_name("s3://bucket/dir/t.parquet?v=1"), "t.parquet");
    }

    #[test]
    fn reads_a_profile_of_the_shared_files() {
        let text = "[default]\naws_access_key_id = A\n[prod]\naws_access_key_id=B\n# c\nregion = eu-north-1\n";
        assert_eq!(
            ini_section(text, "prod"),
            vec![
                ("aws_access_key_id".into(), "B".into()),
                ("region".into(), "eu-north-1".into())
            ]
        );
        assert_eq!(ini_section(text, "default").len(), 1);
    }

    #[test]
    fn messages_never_hold_a_secret() {
        let e = remote_error(
            "s3://b/k",
            Failure::AccessDenied,
            "signature for key s3cr3tvalue mismatched".into(),
            &["s3cr3tvalue".into()],
        );
        let text = e.to_string();
        assert!(!text.contains("s3cr3tvalue"), "{text}");
        assert!(
            text.contains("s3://b/k") && text.contains("access denied"),
            "{text}"
        );
    }
}
