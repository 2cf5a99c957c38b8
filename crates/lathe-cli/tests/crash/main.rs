//! Crash consistency at volume: each writer of the project (`lathe` as a user runs it) is killed
//! with SIGKILL at seeded random moments of its run, again and again. After every kill:
//!
//! - the project opens; `PRAGMA integrity_check` is `ok` and `PRAGMA foreign_key_check` empty;
//! - every `objects` row has its file, holding bytes of that SHA-256, and no file in the store
//!   lacks its row once the writer has run again;
//! - no record points at nothing (a dataset version without its profile, a bundle row without
//!   its file);
//! - the open removed the killed writer's temporary files;
//! - running the writer again succeeds and leaves the project as one uninterrupted run does
//!   (the rows of every table but the audit log, and the objects).
//!
//! `LATHE_CRASH_KILLS` sets the kills per writer (default 20); `tests/bench/crash.sh` runs 200.
//! `LATHE_CRASH_SEED` replays a run. Also here: SIGINT and SIGTERM cancel a command cleanly
//! (130, 143), and a full disk (a nearly full 4 MiB tmpfs) fails an import and an export with a clear
//! error, leaving a consistent project.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

fn lathe_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lathe"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn file(relative: &str) -> String {
    repo().join(relative).display().to_string()
}

fn kills() -> usize {
    std::env::var("LATHE_CRASH_KILLS")
        .ok()
        .map(|v| v.parse().expect("LATHE_CRASH_KILLS is a number"))
        .unwrap_or(20)
}

fn seed() -> u64 {
    std::env::var("LATHE_CRASH_SEED")
        .ok()
        .map(|v| v.parse().expect("LATHE_CRASH_SEED is a number"))
        .unwrap_or(20_261_207)
}

/// xorshift64*: the kill moments, repeatable from the seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, name: &str) -> Rng {
        let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
        Rng(h | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `lathe ARGS` in `dir`, to completion; its exit status and output.
fn run(dir: &Path, args: &[String]) -> std::process::Output {
    Command::new(lathe_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("LATHE_PROJECT")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = run(dir, &args);
    assert!(
        out.status.success(),
        "lathe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The first column of every row `sql` returns, as text.
fn column(db: &Connection, sql: &str) -> Vec<String> {
    db.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The breast cancer table's 30 feature columns, comma-separated (the models' input order).
fn features() -> String {
    std::fs::read_to_string(repo().join("assets/datasets/breast_cancer.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .split(',')
        .take(30)
        .collect::<Vec<_>>()
        .join(",")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a finished writer leaves, to compare a run after kills with an uninterrupted one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    /// Rows per table (the audit log aside: a killed run may or may not have logged).
    rows: BTreeMap<String, i64>,
    objects: Vec<String>,
    /// Files outside the project the writer makes (a bundle, a key pair), by SHA-256 of their
    /// content; a key pair by whether it is whole.
    outputs: BTreeMap<String, String>,
}

/// The checks after a kill; returns what the project holds.
fn check_consistent(project: &Path, writer: &str, kill: usize) -> State {
    let at = format!("{writer}, kill {kill}");
    if !project.join("lathe.sqlite").exists() {
        // A writer that makes the project (none here) or a killed `init`.
        return State {
            rows: BTreeMap::new(),
            objects: Vec::new(),
            outputs: BTreeMap::new(),
        };
    }
    let opened = lathe_core::Project::open(project)
        .unwrap_or_else(|e| panic!("{at}: the project does not open: {e}"));
    drop(opened);
    let temps: Vec<_> = std::fs::read_dir(project.join("objects/tmp"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        temps.is_empty(),
        "{at}: temporary files left after an open: {temps:?}"
    );
    let db = Connection::open(project.join("lathe.sqlite")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "{at}");
    let broken: Vec<String> = column(&db, "PRAGMA foreign_key_check");
    assert!(broken.is_empty(), "{at}: foreign keys broken in {broken:?}");
    let objects: Vec<String> = column(&db, "SELECT sha256 FROM objects ORDER BY sha256");
    for sha in &objects {
        let path = project.join("objects").join(&sha[..2]).join(&sha[2..]);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{at}: object {sha} has a row but no file ({e})"));
        assert_eq!(
            hex(&Sha256::digest(&bytes)),
            *sha,
            "{at}: object {sha} is damaged"
        );
    }
    let dangling = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        dangling(
            "SELECT count(*) FROM dataset_versions v WHERE NOT EXISTS (SELECT 1 FROM dataset_profiles p WHERE p.dataset_version_id = v.id)"
        ),
        0,
        "{at}: a dataset version without its profile"
    );
    let bundles: Vec<String> = column(&db, "SELECT path FROM bundles");
    for b in bundles {
        assert!(
            Path::new(&b).exists(),
            "{at}: bundle row without its file {b}"
        );
    }
    let tables: Vec<String> = column(
        &db,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'audit_log' ORDER BY name",
    );
    let rows = tables
        .into_iter()
        .map(|t| {
            let n: i64 = db
                .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect();
    State {
        rows,
        objects,
        outputs: BTreeMap::new(),
    }
}

/// The object files on disk (after a writer's rerun every one must have its row).
fn object_files(project: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(project.join("objects")) else {
        return out;
    };
    for d in dirs.flatten() {
        let name = d.file_name().to_string_lossy().into_owned();
        if name.len() != 2 {
            continue;
        }
        for f in std::fs::read_dir(d.path()).unwrap().flatten() {
            out.push(format!("{name}{}", f.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

/// One writer: the project it starts from, the command, and what it writes outside the project.
struct Writer {
    name: &'static str,
    /// A project folder to copy for each trial (none: the writer needs no project).
    template: Option<PathBuf>,
    /// Arguments; `{p}` is the trial's project, `{w}` its work folder.
    args: Vec<String>,
    /// Files the writer makes in the work folder (`{w}/...`), compared by content.
    outputs: Vec<&'static str>,
}

impl Writer {
    fn args(&self, project: &Path, work: &Path) -> Vec<String> {
        self.args
            .iter()
            .map(|a| {
                a.replace("{p}", &project.display().to_string())
                    .replace("{w}", &work.display().to_string())
            })
            .collect()
    }

    fn trial_dirs(&self, root: &Path, name: &str) -> (PathBuf, PathBuf) {
        let work = root.join(name);
        let project = work.join("p");
        std::fs::create_dir_all(&work).unwrap();
        if let Some(t) = &self.template {
            copy_dir(t, &project);
        }
        (work, project)
    }

    fn outputs(&self, work: &Path) -> BTreeMap<String, String> {
        self.outputs
            .iter()
            .map(|o| {
                let path = work.join(o);
                let content = match std::fs::read(&path) {
                    Ok(b) if o.ends_with(".key") => {
                        // A key is random: whole and matching its public half is the result.
                        let public = std::fs::read(work.join(format!("{o}.pub"))).ok();
                        let private = lathe_core::bundle::sign::read_private(&path);
                        let pair = match (private, public) {
                            (Ok(k), Some(p)) => {
                                k.public().pem().ok().map(|pem| pem.into_bytes()) == Some(p)
                            }
                            _ => false,
                        };
                        #[cfg(unix)]
                        let mode = {
                            use std::os::unix::fs::PermissionsExt;
                            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777
                        };
                        #[cfg(not(unix))]
                        let mode = 0o600;
                        let _ = b;
                        format!("key pair whole: {pair}, mode {mode:o}")
                    }
                    Ok(b) => hex(&Sha256::digest(&b)),
                    Err(_) => "absent".to_owned(),
                };
                (o.to_string(), content)
            })
            .collect()
    }

    /// The state one uninterrupted run leaves, and how long the run took.
    fn reference(&self, root: &Path) -> (State, Duration) {
        let (work, project) = self.trial_dirs(root, "reference");
        let started = Instant::now();
        let out = run(&work, &self.args(&project, &work));
        let took = started.elapsed();
        assert!(
            out.status.success(),
            "{}: the uninterrupted run failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let mut state = check_consistent(&project, self.name, 0);
        state.outputs = self.outputs(&work);
        (state, took)
    }

    /// Kills the writer `kills()` times at random moments of its run; checks each time.
    fn survive_kills(&self, root: &Path) -> (usize, usize) {
        let (expected, took) = self.reference(root);
        let mut rng = Rng::new(seed(), self.name);
        let mut killed_while_running = 0;
        for kill in 1..=kills() {
            let (work, project) = self.trial_dirs(root, &format!("kill-{kill}"));
            let mut child = Command::new(lathe_bin())
                .args(self.args(&project, &work))
                .current_dir(&work)
                .env_remove("LATHE_PROJECT")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Anywhere in the run, its start and end included.
            std::thread::sleep(took.mul_f64(rng.unit() * 1.1));
            if child.try_wait().unwrap().is_none() {
                killed_while_running += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            check_consistent(&project, self.name, kill);
            // Again, to the end: the same result as an uninterrupted run.
            let out = run(&work, &self.args(&project, &work));
            assert!(
                out.status.success() || self.outputs.iter().any(|o| o.ends_with(".key")),
                "{}, kill {kill}: the writer does not complete after the kill: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
            let mut state = check_consistent(&project, self.name, kill);
            state.outputs = self.outputs(&work);
            assert_eq!(
                state, expected,
                "{}, kill {kill}: not what one run leaves",
                self.name
            );
            if project.exists() {
                assert_eq!(
                    object_files(&project),
                    state.objects,
                    "{}, kill {kill}: object files without rows after the rerun",
                    self.name
                );
            }
            std::fs::remove_dir_all(&work).unwrap();
        }
        eprintln!(
            "crash {}: {} kills survived ({} while it ran; an uninterrupted run takes {:.2} s)",
            self.name,
            kills(),
            killed_while_running,
            took.as_secs_f64()
        );
        (kills(), killed_while_running)
    }
}

/// A project with two dataset versions and a registered model (the other writers' inputs).
fn base_project(root: &Path) -> PathBuf {
    let p = root.join("base");
    let header = features();
    let ps = p.display().to_string();
    ok(root, &["init", &ps]);
    for f in ["breast_cancer.csv", "breast_cancer_batch2.csv"] {
        ok(
            root,
            &[
                "--project",
                &ps,
                "dataset",
                "import",
                &file(&format!("assets/datasets/{f}")),
                "--name",
                "bc",
            ],
        );
    }
    ok(
        root,
        &[
            "--project",
            &ps,
            "model",
            "register",
            &file("assets/models/breast_cancer_logreg.onnx"),
            "--name",
            "lr",
            "--target",
            "target",
            "--features",
            &header,
            "--dataset",
            "bc@1",
        ],
    );
    p
}

/// A CSV big enough that its import takes a while and its Parquet copy is large: the breast
/// cancer table 40 times, each copy's measurements scaled a little differently (repeated rows
/// would compress to nothing).
fn big_csv(root: &Path) -> String {
    let text = std::fs::read_to_string(repo().join("assets/datasets/breast_cancer.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    let body: Vec<&str> = lines.collect();
    for copy in 0..40 {
        for (i, l) in body.iter().enumerate() {
            let fields: Vec<String> = l
                .split(',')
                .enumerate()
                .map(|(j, v)| match v.parse::<f64>() {
                    Ok(x) if j < 30 => {
                        format!("{}", x * (1.0 + copy as f64 * 1e-3 + i as f64 * 1e-7))
                    }
                    _ => v.to_owned(),
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    let path = root.join("big.csv");
    std::fs::write(&path, out).unwrap();
    path.display().to_string()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn survive(writers: Vec<Writer>, root: &Path) {
    for w in writers {
        w.survive_kills(&root.join(w.name));
    }
}

#[test]
fn dataset_imports_survive_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let base = base_project(tmp.path());
    let csv = big_csv(tmp.path());
    let parquet = file("assets/datasets/breast_cancer_production_1.parquet");
    survive(
        vec![
            Writer {
                name: "dataset import (CSV)",
                template: Some(base.clone()),
                args: s(&[
                    "--project",
                    "{p}",
                    "dataset",
                    "import",
                    &csv,
                    "--name",
                    "big",
                ]),
                outputs: vec![],
            },
            Writer {
                name: "dataset import (Parquet)",
                template: Some(base),
                args: s(&[
                    "--project",
                    "{p}",
                    "dataset",
                    "import",
                    &parquet,
                    "--name",
                    "prod",
                ]),
                outputs: vec![],
            },
        ],
        tmp.path(),
    );
}

#[test]
fn run_imports_survive_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    ok(tmp.path(), &["init", &empty.display().to_string()]);
    let writers = [
        (
            "runs import (JSONL log)",
            "tests/fixtures/mlflow/runs.jsonl",
        ),
        ("runs import (CSV)", "tests/fixtures/mlflow/search_runs.csv"),
        (
            "runs import (mlruns folder)",
            "tests/fixtures/mlflow/mlruns",
        ),
        ("runs import (mlflow.db)", "tests/fixtures/mlflow/mlflow.db"),
    ]
    .into_iter()
    .map(|(name, source)| Writer {
        name,
        template: Some(empty.clone()),
        args: s(&["--project", "{p}", "runs", "import", &file(source)]),
        outputs: vec![],
    })
    .collect();
    survive(writers, tmp.path());
}

#[test]
fn model_writers_survive_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let base = base_project(tmp.path());
    let header = features();
    let forest = file("assets/models/breast_cancer_forest.onnx");
    survive(
        vec![
            Writer {
                name: "model register",
                template: Some(base.clone()),
                args: s(&[
                    "--project",
                    "{p}",
                    "model",
                    "register",
                    &forest,
                    "--name",
                    "forest",
                    "--target",
                    "target",
                    "--features",
                    &header,
                    "--dataset",
                    "bc@1",
                ]),
                outputs: vec![],
            },
            Writer {
                name: "evaluation",
                template: Some(base.clone()),
                args: s(&["--project", "{p}", "model", "eval", "lr@1", "bc@2"]),
                outputs: vec![],
            },
            Writer {
                name: "explanation",
                template: Some(base.clone()),
                args: s(&[
                    "--project",
                    "{p}",
                    "explain",
                    "lr@1",
                    "bc@2",
                    "--method",
                    "permutation",
                ]),
                outputs: vec![],
            },
            Writer {
                name: "drift",
                template: Some(base.clone()),
                args: s(&["--project", "{p}", "drift", "bc@1", "bc@2"]),
                outputs: vec![],
            },
            Writer {
                name: "bundle export",
                template: Some(base),
                args: s(&[
                    "--project",
                    "{p}",
                    "bundle",
                    "export",
                    "lr@1",
                    "--out",
                    "{w}/lr.tar.gz",
                    "--eval-dataset",
                    "bc@2",
                ]),
                outputs: vec!["lr.tar.gz"],
            },
        ],
        tmp.path(),
    );
}

#[test]
fn key_creation_survives_kills() {
    let tmp = tempfile::tempdir().unwrap();
    survive(
        vec![
            Writer {
                name: "key new (Ed25519)",
                template: None,
                args: s(&["key", "new", "--out", "{w}/ops.key"]),
                outputs: vec!["ops.key"],
            },
            Writer {
                name: "key new (ECDSA P-256)",
                template: None,
                args: s(&["key", "new", "--out", "{w}/ops.key", "--type", "ecdsa-p256"]),
                outputs: vec!["ops.key"],
            },
        ],
        tmp.path(),
    );
}

#[test]
fn a_schema_migration_of_a_project_with_data_survives_kills() {
    use lathe_core::project::migrations::{MIGRATIONS, Migration, migrate_with};
    let tmp = tempfile::tempdir().unwrap();
    // A project at schema version 1 holding data, made by the real first migration.
    let old = tmp.path().join("old");
    std::fs::create_dir_all(old.join("objects/ba")).unwrap();
    let mut conn = Connection::open(old.join("lathe.sqlite")).unwrap();
    let first: Vec<Migration> = MIGRATIONS
        .iter()
        .filter(|m| m.version <= 1)
        .map(|m| Migration {
            version: m.version,
            description: m.description,
            sql: m.sql,
        })
        .collect();
    migrate_with(&mut conn, &old, &old.join("lathe.sqlite"), &first).unwrap();
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    conn.execute_batch(&format!(
        "INSERT INTO project_meta VALUES ('name', 'legacy'), ('created_at', '2026-01-01T00:00:00.000Z');
         INSERT INTO objects VALUES ('{abc}', 3, 'text/plain', '2026-01-01T00:00:00.000Z');"
    ))
    .unwrap();
    drop(conn);
    std::fs::write(old.join("objects/ba").join(&abc[2..]), b"abc").unwrap();
    survive(
        vec![Writer {
            name: "schema migration",
            template: Some(old),
            args: s(&["--project", "{p}", "info"]),
            outputs: vec![],
        }],
        tmp.path(),
    );
}

/// A long import stopped by `signal`: the exit code, and the project as it was.
fn stop_import_with(signal: &str) -> i32 {
    let tmp = tempfile::tempdir().unwrap();
    let base = base_project(tmp.path());
    let csv = big_csv(tmp.path());
    let before = check_consistent(&base, "before", 0);
    let ps = base.display().to_string();
    let started = Instant::now();
    let child = Command::new(lathe_bin())
        .args(["--project", &ps, "dataset", "import", &csv, "--name", "big"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let after = check_consistent(&base, "after a signal", 0);
    assert_eq!(after, before, "nothing of the import is kept");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the import stopped promptly"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cancelled") || stderr.contains("stopped by a signal"),
        "{stderr}"
    );
    out.status.code().unwrap_or(-1)
}

#[test]
fn sigint_and_sigterm_cancel_cleanly() {
    assert_eq!(stop_import_with("-INT"), 130);
    assert_eq!(stop_import_with("-TERM"), 143);
}

/// Fills the file system of `dir` (with `dir/filler-N`) until `left` bytes are free.
fn fill_leaving(dir: &Path, left: u64) {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .unwrap();
    let free: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let n = std::fs::read_dir(dir).unwrap().count();
    std::fs::write(
        dir.join(format!("filler-{n}")),
        vec![0u8; free.saturating_sub(left) as usize],
    )
    .unwrap();
}

/// A 4 MiB tmpfs at `dir` (root only: CI runs as root), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "cannot mount a tmpfs at {} (the disk-full test needs root, as CI has)",
            dir.display()
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_import_and_export_clearly_and_keeps_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = big_csv(tmp.path());
    let small = tmp.path().join("small");
    let _disk = Tmpfs::mount(&small);
    let project = small.join("p");
    let ps = project.display().to_string();
    ok(tmp.path(), &["init", &ps]);
    // A dataset that fits, then one that does not.
    ok(
        tmp.path(),
        &[
            "--project",
            &ps,
            "dataset",
            "import",
            &file("assets/datasets/breast_cancer.csv"),
            "--name",
            "bc",
        ],
    );
    // A model to export later.
    ok(
        tmp.path(),
        &[
            "--project",
            &ps,
            "model",
            "register",
            &file("assets/models/breast_cancer_logreg.onnx"),
            "--name",
            "lr",
            "--target",
            "target",
            "--dataset",
            "bc@1",
            "--features",
            &features(),
        ],
    );
    // Room for SQLite's WAL and shared-memory files, not for the table's Parquet copy.
    fill_leaving(&small, 512 << 10);
    let before = check_consistent(&project, "disk full", 0);
    let out = run(
        tmp.path(),
        &s(&[
            "--project",
            &ps,
            "dataset",
            "import",
            &csv,
            "--name",
            "big",
            "--json",
        ]),
    );
    assert_eq!(out.status.code(), Some(1));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    eprintln!("onto a full disk: {message}");
    assert!(
        message.contains("No space left on device") || message.contains("disk is full"),
        "{message}"
    );
    assert_eq!(check_consistent(&project, "disk full, import", 0), before);
    // An export onto the full disk: refused clearly, nothing recorded, no partial file. The
    // bundle is made once elsewhere (which stores its evaluation and explanation), so the one
    // onto the full disk fails where it writes the archive, with room for half of it.
    std::fs::remove_file(
        std::fs::read_dir(&small)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("filler"))
            .unwrap()
            .path(),
    )
    .unwrap();
    let probe = tmp.path().join("probe.tar.gz");
    ok(
        tmp.path(),
        &[
            "--project",
            &ps,
            "bundle",
            "export",
            "lr@1",
            "--out",
            &probe.display().to_string(),
            "--eval-dataset",
            "bc@1",
        ],
    );
    let size = std::fs::metadata(&probe).unwrap().len();
    fill_leaving(&small, size / 2);
    let before = check_consistent(&project, "disk full", 0);
    let bundle = small.join("lr.tar.gz");
    let out = run(
        tmp.path(),
        &s(&[
            "--project",
            &ps,
            "bundle",
            "export",
            "lr@1",
            "--out",
            &bundle.display().to_string(),
            "--eval-dataset",
            "bc@1",
            "--json",
        ]),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    eprintln!("onto a full disk: {message}");
    assert!(
        message.contains("No space left on device") || message.contains("disk is full"),
        "{message}"
    );
    assert!(!bundle.exists(), "no partial bundle");
    let leftovers: Vec<_> = std::fs::read_dir(&small)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // What the export stored before the disk filled (an evaluation) may stay; no bundle is
    // recorded.
    let after = check_consistent(&project, "disk full, export", 0);
    assert_eq!(after.rows["bundles"], before.rows["bundles"]);
}
