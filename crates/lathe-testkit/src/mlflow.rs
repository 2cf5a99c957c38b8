//! A real MLflow tracking server (`mlflow server`, SQLite backend, artifacts served by the
//! server), started on 127.0.0.1 on a free port in a session of its own, and stopped with its
//! workers (the whole process group) when the test process exits, however it exits.
//! `scripts/test.sh` installs mlflow into a virtual environment outside the clone and passes
//! its `bin` folder as `LATHE_MLFLOW_BIN`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

/// A running `mlflow server`; the watchdog stops it when this test process ends.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:PORT` (`https://` with [`Server::start_with_tls`])
    pub url: String,
    /// The SQLite database behind it.
    pub db: PathBuf,
    /// With authentication ([`Server::start_with_basic_auth`]): the admin's user name and
    /// password, which [`Server::python`] logs in with.
    pub admin: Option<(String, String)>,
    /// Over TLS ([`Server::start_with_tls`]): the authority that signed its certificate.
    pub tls: Option<crate::Authority>,
    _watchdog: Child,
    dir: tempfile::TempDir,
}

/// The folder holding `mlflow` and the `python` that has the mlflow client.
pub fn bin() -> PathBuf {
    std::env::var_os("LATHE_MLFLOW_BIN")
        .map(PathBuf::from)
        .expect("mlflow is not installed: run scripts/test.sh (it installs it), or set LATHE_MLFLOW_BIN to the bin folder of a virtual environment with mlflow")
}

impl Server {
    /// Starts a server with an empty store.
    pub fn start() -> Server {
        Server::start_as(false, false)
    }

    /// Starts a server with an empty store behind MLflow's own basic authentication
    /// (`--app-name basic-auth`): an admin ([`Server::admin`]), and no permission on anything
    /// for any other user until granted.
    pub fn start_with_basic_auth() -> Server {
        Server::start_as(true, false)
    }

    /// Starts a server with an empty store that answers over TLS only (uvicorn's own TLS),
    /// with a certificate signed by an authority of the test's own ([`Server::tls`]).
    pub fn start_with_tls() -> Server {
        Server::start_as(false, true)
    }

    fn start_as(auth: bool, tls: bool) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let tls = tls.then(|| crate::authority(dir.path()));
        let admin = auth.then(|| ("admin".to_owned(), "admin-password-1234".to_owned()));
        let config = dir.path().join("basic_auth.ini");
        if let Some((user, password)) = &admin {
            std::fs::write(
                &config,
                format!(
                    "[mlflow]\ndefault_permission = NO_PERMISSIONS\ndatabase_uri = sqlite:///{}\n\
                     admin_username = {user}\nadmin_password = {password}\n\
                     authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
                    dir.path().join("basic_auth.db").display()
                ),
            )
            .unwrap();
        }
        let db = dir.path().join("mlflow.db");
        let artifacts = dir.path().join("artifacts");
        let port = crate::free_port();
        // The shell starts mlflow as the leader of a new process group, waits for this
        // process to end, then stops the group (mlflow's workers linger after SIGTERM).
        let script = format!(
            r#"setsid "$0" server --backend-store-uri "sqlite:///$1" --artifacts-destination "$2" \
                 --host 127.0.0.1 --port {port} --workers 1 {app} {uvicorn} >"$3" 2>&1 &
               w=$!
               echo $w > "$4/pid"
               while kill -0 {parent} 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 0.2; done
               kill -TERM -$w 2>/dev/null
               for _ in $(seq 30); do kill -0 -$w 2>/dev/null || break; sleep 0.1; done
               kill -KILL -$w 2>/dev/null; wait $w; rm -rf "$4""#,
            parent = std::process::id(),
            app = if auth { "--app-name basic-auth" } else { "" },
            uvicorn = match &tls {
                Some(t) => format!(
                    "--uvicorn-opts '--ssl-keyfile={} --ssl-certfile={}'",
                    t.key.display(),
                    t.cert.display()
                ),
                None => String::new(),
            },
        );
        let mut watchdog = Process::new("sh");
        if auth {
            watchdog
                .env("MLFLOW_AUTH_CONFIG_PATH", &config)
                .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "lathe-tests-only");
        }
        let watchdog = watchdog
            .arg("-c")
            .arg(script)
            .arg(bin().join("mlflow"))
            .arg(&db)
            .arg(&artifacts)
            .arg(dir.path().join("mlflow.log"))
            .arg(dir.path())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            url: format!(
                "{}://127.0.0.1:{port}",
                if tls.is_some() { "https" } else { "http" }
            ),
            db,
            admin,
            tls,
            _watchdog: watchdog,
            dir,
        };
        server.wait_ready(port);
        server
    }

    /// Stops the server's processes (SIGSTOP to its group): it accepts connections and
    /// answers nothing, as a server that hangs does, until [`Server::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = std::fs::read_to_string(self.dir.path().join("pid")).unwrap();
        let status = Process::new("kill")
            .args([signal, "--", &format!("-{}", pid.trim())])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} the server's group");
    }

    /// Until `/health` answers.
    fn wait_ready(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let health = match &self.tls {
                Some(tls) => get_tls(&self.url, &tls.ca),
                None => get(port, "/health"),
            };
            if health.is_some_and(|body| body.contains("OK")) {
                return;
            }
            let log =
                std::fs::read_to_string(self.dir.path().join("mlflow.log")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "mlflow server did not answer /health in 120 s:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Runs `script` (a Python file) with the mlflow client's Python, the server's URL as
    /// `MLFLOW_TRACKING_URI` (and the admin's credentials when it has authentication), and
    /// `args`; panics with its output when it fails.
    pub fn python(&self, script: &Path, args: &[&str]) {
        let mut python = Process::new(bin().join("python"));
        python
            .arg(script)
            .args(args)
            .env("MLFLOW_TRACKING_URI", &self.url);
        if let Some(tls) = &self.tls {
            python.env("MLFLOW_TRACKING_SERVER_CERT_PATH", &tls.ca);
        }
        if let Some((user, password)) = &self.admin {
            python
                .env("MLFLOW_TRACKING_USERNAME", user)
                .env("MLFLOW_TRACKING_PASSWORD", password);
        }
        let out = python.output().unwrap();
        assert!(
            out.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The body of a plain `GET` (HTTP/1.0), or `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.starts_with("HTTP/1.").then_some(text)
}

/// The body of `GET URL/health` over TLS, trusting `ca`, or `None` when nothing answers.
fn get_tls(url: &str, ca: &Path) -> Option<String> {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).ok()?).ok()?;
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    let url = format!("{url}/health");
    crate::block_on(async move { client.get(url).send().await.ok()?.text().await.ok() })
}
