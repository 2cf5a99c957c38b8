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
