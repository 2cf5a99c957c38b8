//! Objects named by URL — `s3://`, `gs://`, `az://` (`abfs[s]://`) and `http(s)://` — read
//! through the `object_store` crate, with credentials from the standard places and errors that
//! name the URL and say what to do, never a secret.
//!
//! A remote table is downloaded by ranges (`CHUNK` bytes, `PARALLEL` at a time, each one
//! conditional on the ETag the first answer gave, so an object replaced mid-read is an error,
//! not a mix) into a temporary file that is hashed as it is written; the caller reads that file
//! as it would a local one, and the file is removed when the caller drops it.
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
use std::sync::Arc;
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
    std::fs::create_dir_all(dir).map_err(|e| Error::write("create a temporary folder", dir, e))?;
    let name = file_name(text);
    let suffix = name
        .rfind('.')
        .map(|i| name[i..].to_owned())
        .unwrap_or_default();
    let temp = tempfile::Builder::new()
        .prefix("download-")
        .suffix(&suffix)
        .tempfile_in(dir)
        .map_err(|e| Error::write("create a temporary file", dir, e))?;
    run(async move {
        let (mut file, path) = temp.into_parts();
        let meta = target.head().await?;
        let size = meta.size;
        let ranges: Vec<Range<u64>> = (0..size.div_ceil(CHUNK))
            .map(|i| i * CHUNK..((i + 1) * CHUNK).min(size))
            .collect();
        let etag = meta.e_tag.clone();
        let store = Arc::clone(&target.store);
        let location = target.path.clone();
        let mut chunks = futures_util::stream::iter(ranges)
            .map(|range| {
                let (store, location, etag) = (Arc::clone(&store), location.clone(), etag.clone());
                async move {
                    let options = GetOptions {
                        range: Some(GetRange::Bounded(range)),
                        if_match: etag,
                        ..GetOptions::default()
                    };
                    store.get_opts(&location, options).await?.bytes().await
                }
            })
            .buffered(PARALLEL);
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        job.progress("downloading", 0, Some(size));
        while let Some(chunk) = chunks.next().await {
            job.cancel.check()?;
            let chunk = chunk.map_err(|e| target.error(e))?;
            hasher.update(&chunk);
            file.write_all(&chunk)
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
                "check the bucket's name (and AWS_ENDPOINT_URL for an S3-compatible store)"
            }
            Failure::NotFound => "check the object's key: nothing is stored under it",
            Failure::Network => {
                "check the network and the endpoint (AWS_ENDPOINT_URL for an S3-compatible store), then try again"
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
        E::NotFound { .. } if has("NoSuchBucket") => Failure::NoSuchBucket,
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
