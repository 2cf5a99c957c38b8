//! A real S3-compatible server: SeaweedFS (`weed mini`), started on 127.0.0.1 with free ports
//! and stopped by pid when the test process exits, however it exits (a watchdog shell waits on
//! the process, then stops weed and removes its folder). `scripts/test.sh` installs `weed`
//! into a cache outside the clone and passes it as `LATHE_WEED`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

/// The access key of the server's one identity.
pub const KEY: &str = "lathe-test-key";
/// Its secret key.
pub const SECRET: &str = "lathe-test-secret-7f3a9c";
/// The bucket every server starts with.
pub const BUCKET: &str = "lathe-data";

/// A running `weed mini`; the watchdog stops it when this test process ends.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:PORT`, the S3 API.
    pub endpoint: String,
    /// `http://127.0.0.1:PORT`, the filer's plain HTTP server: an object `KEY` of the bucket
    /// is `{filer}/buckets/{BUCKET}/KEY`, readable without credentials, with ranges and ETags.
    pub filer: String,
    master_port: u16,
    /// The watchdog shell (its child is weed).
    _watchdog: Child,
    _dir: tempfile::TempDir,
}

fn weed() -> PathBuf {
    std::env::var_os("LATHE_WEED")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("weed"))
                    .find(|p| p.is_file())
            })
        })
        .expect("SeaweedFS's `weed` is not installed: run scripts/test.sh (it installs it), or set LATHE_WEED")
}

/// A port that is free, and whose gRPC twin (+10000, as weed takes it) is free too. Both lie
/// below the kernel's ephemeral range (32768 up), so no client's outgoing connection, and no
/// other test server on port 0, can take one between this check and weed's bind.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let low = 10_000 + port % 12_700;
        if TcpListener::bind(("127.0.0.1", low)).is_ok()
            && TcpListener::bind(("127.0.0.1", low + 10_000)).is_ok()
        {
            return low;
        }
    }
    panic!("no free port pair")
}

/// Runs `command` with `input` on its stdin for at most `limit`; kills it past that. The exit
/// status, or `None` when it could not start or ran out of time (`weed shell` waits forever
/// for a master it cannot reach).
fn run_within(command: &mut Process, input: &[u8], limit: Duration) -> Option<ExitStatus> {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let _ = child.stdin.take()?.write_all(input);
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Server {
    /// Starts a server of its own (stop it with [`Server::kill`], or let the process end).
    /// A start that does not come up (a port taken between the check and weed's bind: weed
    /// then moves to another port and the test would wait on the old one) is stopped and
    /// retried on new ports; after three, the test fails with weed's log.
    pub fn start() -> Server {
        let mut logs = Vec::new();
        for _ in 0..3 {
            match Server::try_start(Duration::from_secs(45)) {
                Ok(server) => return server,
                Err(log) => logs.push(log),
            }
        }
        panic!(
            "SeaweedFS did not come up in three tries of 45 s; its logs:\n{}",
            logs.join("\n----\n")
        )
    }

    fn try_start(limit: Duration) -> Result<Server, String> {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            serde_json::json!({"identities": [{
                "name": "lathe", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]})
            .to_string(),
        )
        .unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 5 {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let (s3, master, filer, volume, admin) = (ports[0], ports[1], ports[2], ports[3], ports[4]);
        let weed = weed();
        let log = dir.path().join("weed.log");
        // The shell starts weed, then waits for this process to end and stops weed by its pid
        // (SIGINT: it exits within seconds), so no server outlives the tests. The admin server
        // runs even with its UI off, on a fixed default port unless given one: two servers at
        // once would share it.
        let script = format!(
            r#""$0" mini -dir="$1" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port={s3} -s3.config="$2" \
               -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -admin.ui=false \
               -admin.port={admin} -master.telemetry=false \
               -master.port={master} -filer.port={filer} -volume.port={volume} >"$3" 2>&1 &
               w=$!
               while kill -0 {parent} 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 0.2; done
               kill -INT $w 2>/dev/null
               for _ in $(seq 50); do kill -0 $w 2>/dev/null || break; sleep 0.1; done
               kill -KILL $w 2>/dev/null; wait $w; rm -rf "$4""#,
            parent = std::process::id()
        );
        let watchdog = Process::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&weed)
            .arg(&data)
            .arg(&config)
            .arg(&log)
            .arg(dir.path())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server {
            endpoint: format!("http://127.0.0.1:{s3}"),
            filer: format!("http://127.0.0.1:{filer}"),
            master_port: master,
            _watchdog: watchdog,
            _dir: dir,
        };
        match server.wait_ready(limit) {
            Ok(()) => Ok(server),
            Err(why) => {
                let printed = std::fs::read_to_string(&log).unwrap_or_default();
                server.stop();
                Err(format!("{why}\n{printed}"))
            }
        }
    }

    /// Until a bucket can be created (the S3 gateway answers and the volume is up), at most
    /// `limit`. Every step is bounded: a weed that moved off a taken port, or died, is an
    /// error here, not a test that hangs.
    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self._watchdog.try_wait() {
                return Err(format!("weed exited ({status})"));
            }
            let log =
                std::fs::read_to_string(self._dir.path().join("weed.log")).unwrap_or_default();
            if let Some(line) = log.lines().find(|l| l.contains("finding alternative port")) {
                return Err(format!("a port was taken: {line}"));
            }
            let created = run_within(
                Process::new(weed())
                    .args(["shell", &format!("-master=127.0.0.1:{}", self.master_port)]),
                format!("s3.bucket.create -name {BUCKET}\n").as_bytes(),
                Duration::from_secs(15),
            );
            if created.is_some_and(|s| s.success()) && self.probe() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("SeaweedFS did not come up in {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// One put with no retries and a 5 s timeout: does the S3 gateway take an object?
    fn probe(&self) -> bool {
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(BUCKET)
            .with_access_key_id(KEY)
            .with_secret_access_key(SECRET)
            .with_region("us-east-1")
            .with_retry(RetryConfig {
                max_retries: 0,
                ..RetryConfig::default()
            })
            // The options replace the builder's own: plain HTTP is allowed in them.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(true)
                    .with_timeout(Duration::from_secs(5)),
            )
            .build()
            .unwrap();
        let location = ObjectPath::from("ready");
        crate::block_on(async move {
            store
                .put(&location, PutPayload::from_static(b"ok"))
                .await
                .is_ok()
        })
    }

    /// Stops weed now (SIGKILL to the watchdog's child) and the watchdog with it.
    fn stop(&mut self) {
        let pid = self._watchdog.id();
        let _ = Process::new("pkill")
            .args(["-KILL", "-P", &pid.to_string()])
            .status();
        let _ = self._watchdog.wait();
    }

    /// A client with the server's credentials.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_endpoint(&self.endpoint)
                .with_bucket_name(BUCKET)
                .with_access_key_id(KEY)
                .with_secret_access_key(SECRET)
                .with_region("us-east-1")
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }

    /// Stores `bytes` under `key` in [`BUCKET`].
    pub fn put(&self, key: &str, bytes: &[u8]) -> object_store::Result<()> {
        let store = self.store();
        let payload = PutPayload::from(bytes.to_vec());
        let location = ObjectPath::from(key);
        crate::block_on(async move { store.put(&location, payload).await.map(|_| ()) })
    }

    /// Uploads the file at `path` under `key`; returns its `s3://` URL.
    pub fn upload(&self, path: &Path, key: &str) -> String {
        let bytes = std::fs::read(path).unwrap();
        self.put(key, &bytes).unwrap();
        format!("s3://{BUCKET}/{key}")
    }
}

/// The process's shared server, started by the first test that asks.
pub fn shared() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(Server::start)
}

impl Server {
    /// The environment a client of this server is given: its credentials and endpoint, as a
    /// user sets them.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }

    /// Kills weed now (by the pid of the watchdog's child), as a server that dies mid-request.
    pub fn kill(mut self) {
        self.stop();
    }
}
