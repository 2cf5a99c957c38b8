//! A real Azure Blob Storage server: Microsoft's emulator Azurite (`azurite-blob`, npm), started
//! on 127.0.0.1 on a free port over TLS, with a certificate made for it by `openssl` and
//! trusted by the clients through `SSL_CERT_FILE`. It serves `az://` URLs, and the same blobs
//! as plain `https://` URLs (its container is public for reading). Stopped by pid when the
//! test process exits ([`crate::watched`]). `scripts/test.sh` installs Azurite into a cache
//! outside the clone and passes `azurite-blob` as `LATHE_AZURITE`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Azurite's one storage account, and its published key.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The container every server starts with, public for reading blobs (so that they are
/// `https://` URLs too).
pub const CONTAINER: &str = "lathe-data";
/// A second container, private: only a signed request reads it.
pub const PRIVATE: &str = "lathe-private";
const API_VERSION: &str = "2021-08-06";

/// A running Azurite; the watchdog stops it when this test process ends.
#[derive(Debug)]
pub struct Server {
    /// `https://127.0.0.1:PORT`, the blob service (path style: `/ACCOUNT/CONTAINER/BLOB`).
    pub url: String,
    /// The certificate authority (PEM) that signed the server's certificate: the only root a
    /// client needs to trust it.
    pub cert: PathBuf,
    _watchdog: Child,
    dir: tempfile::TempDir,
}

fn azurite() -> PathBuf {
    std::env::var_os("LATHE_AZURITE")
        .map(PathBuf::from)
        .expect("Azurite is not installed: run scripts/test.sh (it installs it), or set LATHE_AZURITE to azurite-blob")
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let tls = crate::authority(dir.path());
        let (cert, key) = (tls.cert, tls.key);
        let port = crate::free_port().to_string();
        let state = dir.path().join("state");
        let args: Vec<&OsStr> = vec![
            "--blobHost".as_ref(),
            "127.0.0.1".as_ref(),
            "--blobPort".as_ref(),
            port.as_ref(),
            "--cert".as_ref(),
            cert.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
            "--location".as_ref(),
            state.as_os_str(),
            "--disableTelemetry".as_ref(),
            "--silent".as_ref(),
        ];
        let watchdog = crate::watched(&azurite(), &args, dir.path());
        let server = Server {
            url: format!("https://127.0.0.1:{port}"),
            cert: tls.ca,
            _watchdog: watchdog,
            dir,
        };
        server.wait_ready();
        server
    }

    /// Until the containers are created.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let created = self
                .request(
                    "PUT",
                    &format!("/{ACCOUNT}/{CONTAINER}?restype=container"),
                    &[("x-ms-blob-public-access", "blob")],
                    Vec::new(),
                )
                .and_then(|public| {
                    let private = self.request(
                        "PUT",
                        &format!("/{ACCOUNT}/{PRIVATE}?restype=container"),
                        &[],
                        Vec::new(),
                    )?;
                    Ok(public.max(private))
                });
            match created {
                Ok(201 | 409) => return,
                outcome => assert!(
                    Instant::now() < deadline,
                    "Azurite did not come up in 60 s ({outcome:?}):\n{}",
                    crate::server_log(self.dir.path())
                ),
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Stores `bytes` as the block blob `name` of [`CONTAINER`]; returns its `az://` URL.
    pub fn put(&self, name: &str, bytes: Vec<u8>) -> String {
        self.put_in(CONTAINER, name, bytes)
    }

    /// Stores `bytes` as the block blob `name` of `container`; returns its `az://` URL.
    pub fn put_in(&self, container: &str, name: &str, bytes: Vec<u8>) -> String {
        let status = self
            .request(
                "PUT",
                &format!("/{ACCOUNT}/{container}/{name}"),
                &[("x-ms-blob-type", "BlockBlob")],
                bytes,
            )
            .unwrap();
        assert_eq!(status, 201, "Azurite's answer to putting {name}");
        format!("az://{container}/{name}")
    }

    /// Uploads the file at `path` as `name`; returns its `az://` URL.
    pub fn upload(&self, path: &Path, name: &str) -> String {
        self.put(name, std::fs::read(path).unwrap())
    }

    /// The blob `name` as a plain `https://` URL (read without credentials).
    pub fn https_url(&self, name: &str) -> String {
        format!("{}/{ACCOUNT}/{CONTAINER}/{name}", self.url)
    }

    /// The environment a client of this server is given, as a user of Azurite sets it:
    /// object_store's emulator switch and address, and the certificate to trust.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_STORAGE_USE_EMULATOR", "true".to_owned()),
            ("AZURITE_BLOB_STORAGE_URL", self.url.clone()),
            ("SSL_CERT_FILE", self.cert.display().to_string()),
        ]
    }

    /// One request signed with the account's Shared Key (the scheme every Azure SDK uses);
    /// returns the HTTP status.
    fn request(
        &self,
        verb: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::Result<u16> {
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let mut ms: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([
                ("x-ms-date".to_owned(), date),
                ("x-ms-version".to_owned(), API_VERSION.to_owned()),
            ])
            .collect();
        ms.sort();
        let url = reqwest::Url::parse(&format!("{}{path_and_query}", self.url)).unwrap();
        let mut resource = format!("/{ACCOUNT}{}", url.path());
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
            .collect();
        query.sort();
        for (k, v) in &query {
            resource.push_str(&format!("\n{k}:{v}"));
        }
        let length = if body.is_empty() {
            String::new()
        } else {
            body.len().to_string()
        };
        let content_type = "application/octet-stream";
        let canonical_headers: String = ms.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let to_sign = format!(
            "{verb}\n\n\n{length}\n\n{content_type}\n\n\n\n\n\n\n{canonical_headers}{resource}"
        );
        let key = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            &BASE64.decode(ACCOUNT_KEY).unwrap(),
        );
        let signature = BASE64.encode(ring::hmac::sign(&key, to_sign.as_bytes()));
        let certificate =
            reqwest::Certificate::from_pem(&std::fs::read(&self.cert).unwrap()).unwrap();
        crate::block_on(async move {
            let client = reqwest::Client::builder()
                .add_root_certificate(certificate)
                .timeout(Duration::from_secs(30))
                .build()?;
            let mut request = client
                .request(verb.parse().unwrap(), url)
                .header("Content-Type", content_type)
                .header("Authorization", format!("SharedKey {ACCOUNT}:{signature}"))
                .body(body);
            for (k, v) in ms {
                request = request.header(k, v);
            }
            Ok(request.send().await?.status().as_u16())
        })
    }
}

/// The process's shared server, started by the first test that asks.
pub fn shared() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(Server::start)
}
