//! What Lathe's test suites share: the real servers they start on 127.0.0.1, and a snapshot of
//! a folder's files. A dev-dependency only; nothing here ships.

// A test fails by panicking: a server that does not start is the clearest failure there is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod azure;
pub mod mlflow;
pub mod s3;
pub mod spark;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};

/// Starts `program args` as the leader of a new process group, its output in `dir/server.log`
/// and its pid in `dir/pid`, under a watchdog shell that waits for this test process to end
/// (however it ends), then stops the group by that pid (SIGTERM, SIGKILL after 3 s) and
/// removes `dir`. Returns the watchdog.
pub fn watched(program: &Path, args: &[&OsStr], dir: &Path) -> Child {
    let script = format!(
        r#"d="$1"; shift
           setsid "$@" >"$d/server.log" 2>&1 &
           w=$!
           echo $w > "$d/pid"
           while kill -0 {parent} 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 0.2; done
           kill -TERM -$w 2>/dev/null
           for _ in $(seq 30); do kill -0 -$w 2>/dev/null || break; sleep 0.1; done
           kill -KILL -$w 2>/dev/null; wait $w; rm -rf "$d""#,
        parent = std::process::id()
    );
    Process::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(dir)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// A certificate authority of a test's own, made by `openssl` in a folder, and a server
/// certificate for 127.0.0.1 signed by it (webpki refuses a self-signed server certificate as a
/// CA used as an end entity): a client trusts the server by trusting `ca` alone, as a user
/// behind a company's authority does.
#[derive(Debug, Clone)]
pub struct Authority {
    /// The authority's certificate (PEM).
    pub ca: PathBuf,
    /// The server's certificate and its key (PEM).
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Makes an [`Authority`] in `dir` (valid for two days).
pub fn authority(dir: &Path) -> Authority {
    let made = Process::new("sh")
        .arg("-c")
        .arg(
            r#"set -e; cd "$0"
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lathe-test-ca \
              -addext basicConstraints=critical,CA:TRUE -keyout ca.key -out ca.pem
            openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout key.pem -out leaf.csr
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > leaf.ext
            openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
              -extfile leaf.ext -out cert.pem"#,
        )
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    Authority {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}

/// What a server started by [`watched`] in `dir` has printed so far.
pub fn server_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `work` to completion on a runtime of its own, on a thread of its own (the caller may
/// be an async test, inside a runtime already).
pub fn block_on<T: Send>(work: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(work)
            })
            .join()
            .unwrap()
    })
}

/// Every file below `dir`, relative, with its size, sorted: to prove that a failed operation
/// changed nothing in a project folder.
pub fn tree(dir: &Path) -> Vec<(PathBuf, u64)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((
                    path.strip_prefix(root).expect("below root").to_path_buf(),
                    len,
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
