//! `s3://` inputs against a real S3-compatible server: SeaweedFS, started by this test binary
//! on 127.0.0.1 (`lathe_testkit::s3`).
//!
//! Every command over `s3://` must print what the same command prints over the local file;
//! each failure (no credentials, wrong key, no bucket, no object, server gone mid-read) is a
//! clear error naming the URL, with no secret in it, and leaves the project as it was.

use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use lathe_testkit::s3::{BUCKET, KEY, SECRET, Server, free_port};
use lathe_testkit::tree;
use serde_json::Value;

use crate::{assert_records_url_and_etag, file, lathe, path_str, repo, run_error, run_json};

/// `lathe` with the server's credentials in the environment, as a user sets them.
fn s3_lathe(server: &Server) -> assert_cmd::Command {
    let mut cmd = lathe();
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(server.env()).env("HOME", "/nonexistent");
    cmd
}

#[test]
fn profile_rows_drift_and_eval_over_s3_equal_the_local_files() {
    let s = lathe_testkit::s3::shared();
    let cars = s.upload(
        &repo().join("tests/fixtures/data/cars.csv"),
        "tables/cars.csv",
    );
    let local = run_json(
        lathe(),
        &["dataset", "show", &file("tests/fixtures/data/cars.csv")],
    );
    let remote = run_json(s3_lathe(s), &["dataset", "show", &cars]);
    assert_eq!(remote, local, "the profile over s3:// equals the local one");

    let rows = [
        "--sort",
        "Miles_per_Gallon:desc",
        "--filter",
        "Cylinders >= 6",
        "--limit",
        "7",
    ];
    let local_rows = run_json(
        lathe(),
        &[
            &["dataset", "rows", &file("tests/fixtures/data/cars.csv")][..],
            &rows,
        ]
        .concat(),
    );
    let remote_rows = run_json(
        s3_lathe(s),
        &[&["dataset", "rows", &cars][..], &rows].concat(),
    );
    assert_eq!(remote_rows, local_rows);

    let reference = s.upload(
        &repo().join("tests/fixtures/drift/data/bc_reference.csv"),
        "drift/bc_reference.csv",
    );
    let current = s.upload(
        &repo().join("tests/fixtures/drift/data/bc_current_shifted.csv"),
        "drift/bc_current_shifted.csv",
    );
    let local_drift = run_json(
        lathe(),
        &[
            "drift",
            &file("tests/fixtures/drift/data/bc_reference.csv"),
            &file("tests/fixtures/drift/data/bc_current_shifted.csv"),
        ],
    );
    let remote_drift = run_json(s3_lathe(s), &["drift", &reference, &current]);
    assert_eq!(remote_drift, local_drift);
    assert_eq!(remote_drift["dataset_drift"], true);

    let model = s.upload(
        &repo().join("tests/fixtures/models/rf_reg.onnx"),
        "models/rf_reg.onnx",
    );
    let data = s.upload(
        &repo().join("assets/datasets/diabetes.csv"),
        "tables/diabetes.csv",
    );
    let eval = |cmd, model: &str, data: &str| {
        run_json(
            cmd,
            &[
                "model",
                "eval",
                model,
                data,
                "--features",
                "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6",
                "--target",
                "target",
            ],
        )
    };
    let local_eval = eval(
        lathe(),
        &file("tests/fixtures/models/rf_reg.onnx"),
        &file("assets/datasets/diabetes.csv"),
    );
    let mut remote_eval = eval(s3_lathe(s), &model, &data);
    assert_eq!(remote_eval["metrics"], local_eval["metrics"]);
    remote_eval["model"] = local_eval["model"].clone();
    remote_eval["dataset"] = local_eval["dataset"].clone();
    assert_eq!(remote_eval["task"], local_eval["task"]);
}

#[test]
fn rows_and_eval_of_a_parquet_object_equal_the_local_file() {
    // A Parquet object is read by ranges (its footer, then the chunks each read decodes):
    // what the commands print must still be what they print over the same local file.
    let s = lathe_testkit::s3::shared();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    run_json(lathe(), &["init", path_str(&dir)]);
    let p = path_str(&dir);
    run_json(
        lathe(),
        &[
            "--project",
            p,
            "dataset",
            "import",
            &file("assets/datasets/diabetes.csv"),
        ],
    );
    // The stored version's object is a Parquet file written by Lathe's writer.
    let parquet = walk(&dir.join("objects"))
        .into_iter()
        .find(|f| std::fs::read(f).is_ok_and(|b| b.starts_with(b"PAR1")))
        .expect("the stored Parquet object");
    let local = tmp.path().join("diabetes.parquet");
    std::fs::copy(&parquet, &local).unwrap();
    let url = s.upload(&local, "tables/diabetes.parquet");
    let local = path_str(&local);

    // The same object over plain HTTP (the server's filer; no credentials), through
    // `object_store`'s HTTP client: ranges and ETags as over S3.
    let http = format!("{}/buckets/{BUCKET}/tables/diabetes.parquet", s.filer);
    for query in [
        &["--limit", "9", "--offset", "400"][..],
        &["--sort", "bmi:desc", "--limit", "7", "--columns", "age,bmi"],
        &["--filter", "s5 > 0.05", "--sort", "age", "--limit", "12"],
    ] {
        let remote = run_json(
            s3_lathe(s),
            &[&["dataset", "rows", &url][..], query].concat(),
        );
        let mut expected = run_json(lathe(), &[&["dataset", "rows", local][..], query].concat());
        expected["dataset"] = remote["dataset"].clone();
        assert_eq!(remote, expected, "rows {query:?}");
        let over_http = run_json(lathe(), &[&["dataset", "rows", &http][..], query].concat());
        assert_eq!(over_http, expected, "rows over http:// {query:?}");
    }
    s.upload(
        &repo().join("tests/fixtures/data/cars.csv"),
        "tables/cars_http.csv",
    );
    let profile_http = run_json(
        lathe(),
        &[
            "dataset",
            "show",
            &format!("{}/buckets/{BUCKET}/tables/cars_http.csv", s.filer),
        ],
    );
    let mut profile_local = run_json(
        lathe(),
        &["dataset", "show", &file("tests/fixtures/data/cars.csv")],
    );
    profile_local["dataset"] = profile_http["dataset"].clone();
    assert_eq!(profile_http, profile_local, "a CSV profiled over http://");

    let model = s.upload(
        &repo().join("tests/fixtures/models/rf_reg.onnx"),
        "models/rf_reg_p.onnx",
    );
    let eval = |cmd, model: &str, data: &str| {
        run_json(
            cmd,
            &[
                "model",
                "eval",
                model,
                data,
                "--features",
                "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6",
                "--target",
                "target",
            ],
        )
    };
    let remote = eval(s3_lathe(s), &model, &url);
    let expected = eval(lathe(), &file("tests/fixtures/models/rf_reg.onnx"), local);
    assert_eq!(remote["metrics"], expected["metrics"]);
    assert_eq!(remote["rows"], expected["rows"]);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn import_records_the_url_etag_and_sha_and_an_unchanged_object_makes_no_version() {
    let s = lathe_testkit::s3::shared();
    let url = s.upload(
        &repo().join("tests/fixtures/data/people.csv"),
        "import/people.csv",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    run_json(lathe(), &["init", path_str(&dir)]);
    let p = path_str(&dir);
    let first = run_json(s3_lathe(s), &["--project", p, "dataset", "import", &url]);
    assert_eq!(first["dataset"], "people");
    assert_eq!(first["new_version"], true);
    let local_sha = {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(file("tests/fixtures/data/people.csv"))
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        sha256_hex(&bytes)
    };
    assert_eq!(first["sha256"], local_sha.as_str(), "the object's SHA-256");
    let again = run_json(s3_lathe(s), &["--project", p, "dataset", "import", &url]);
    assert_eq!(again["new_version"], false);
    assert_eq!(again["version"], 1);

    // The version records the URL (no credentials) and the ETag; the audit log no secret.
    let db = rusqlite::Connection::open(dir.join("lathe.sqlite")).unwrap();
    assert_records_url_and_etag(&db, &url);
    let audit: String = db
        .query_row(
            "SELECT group_concat(details, ' ') FROM audit_log",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(audit.contains(&url));
    assert!(!audit.contains(SECRET) && !audit.contains(KEY));

    // A changed object under the same URL is a new version; the stored table equals a local
    // import of the same bytes.
    s.upload(
        &repo().join("tests/fixtures/data/cars.csv"),
        "import/people.csv",
    );
    let changed = run_json(s3_lathe(s), &["--project", p, "dataset", "import", &url]);
    assert_eq!(changed["new_version"], true);
    assert_eq!(changed["version"], 2);
    let stored = run_json(lathe(), &["--project", p, "dataset", "show", "people@2"]);
    let local = run_json(
        lathe(),
        &["dataset", "show", &file("tests/fixtures/data/cars.csv")],
    );
    assert_eq!(stored["columns"], local["columns"]);
    assert_eq!(stored["rows"], local["rows"]);
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = Process::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn each_failure_names_the_url_says_what_to_do_and_changes_nothing() {
    let s = lathe_testkit::s3::shared();
    let url = s.upload(
        &repo().join("tests/fixtures/data/people.csv"),
        "errors/people.csv",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    run_json(lathe(), &["init", path_str(&dir)]);
    let p = path_str(&dir);
    let before = tree(&dir);
    let import = |cmd, url: &str| run_error(cmd, &["--project", p, "dataset", "import", url]);

    let mut no_keys = s3_lathe(s);
    no_keys
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let (code, message) = import(no_keys, &url);
    assert_eq!(code, "remote");
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("no credentials found"), "{message}");
    assert!(message.contains("AWS_ACCESS_KEY_ID"), "{message}");

    let mut wrong = s3_lathe(s);
    wrong.env("AWS_SECRET_ACCESS_KEY", "not-the-secret-1234");
    let (code, message) = import(wrong, &url);
    assert_eq!(code, "remote");
    assert!(message.contains("access denied"), "{message}");
    assert!(!message.contains("not-the-secret-1234"), "{message}");

    let (_, message) = import(s3_lathe(s), "s3://no-such-bucket-here/people.csv");
    assert!(message.contains("no such bucket"), "{message}");
    assert!(
        message.contains("s3://no-such-bucket-here/people.csv"),
        "{message}"
    );

    let missing = format!("s3://{BUCKET}/errors/missing.csv");
    let (_, message) = import(s3_lathe(s), &missing);
    assert!(message.contains("no such object"), "{message}");
    assert!(message.contains(&missing), "{message}");

    let mut unreachable = s3_lathe(s);
    unreachable.env(
        "AWS_ENDPOINT_URL",
        format!("http://127.0.0.1:{}", free_port()),
    );
    let (_, message) = import(unreachable, &url);
    assert!(message.contains("cannot be reached"), "{message}");

    assert_eq!(tree(&dir), before, "no failed import changed the project");
}

#[test]
fn a_server_stopped_mid_read_is_a_clear_error_and_nothing_is_imported() {
    // A server of its own, stopped while the import reads a 96 MiB object.
    let s = Server::start();
    let mut csv = String::from("a,b,c\n");
    let mut i = 0u64;
    while csv.len() < 96 << 20 {
        csv.push_str(&format!("{i},{},{}\n", i * 7 % 1000, i % 13));
        i += 1;
    }
    s.put("big/table.csv", csv.as_bytes()).unwrap();
    let url = format!("s3://{BUCKET}/big/table.csv");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    run_json(lathe(), &["init", path_str(&dir)]);
    let before = tree(&dir);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("lathe"));
    for (key, value) in s3_lathe(&s).get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let child = cmd
        .args([
            "--project",
            path_str(&dir),
            "dataset",
            "import",
            &url,
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the server once the download has begun (its copy appears in the project's tmp).
    let tmp_dir = dir.join("objects/tmp");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_dir(&tmp_dir).is_ok_and(|mut d| d.next().is_some()) {
        assert!(Instant::now() < deadline, "the download never began");
        std::thread::sleep(Duration::from_millis(5));
    }
    s.kill();
    let out = child.wait_with_output().unwrap();
    let body: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if out.status.success() {
        // The whole object arrived before the server went: nothing to test on this machine.
        panic!("the 96 MiB download finished before the server stopped; {body}");
    }
    assert_eq!(body["error"]["code"], "remote", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&url), "{message}");
    assert!(
        message.contains("cannot be reached") || message.contains("read failed"),
        "{message}"
    );
    let after: Vec<_> = tree(&dir)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("objects/tmp"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.starts_with("objects/tmp"))
        .collect();
    assert_eq!(after, before, "nothing half-imported");
    assert_eq!(
        std::fs::read_dir(&tmp_dir).map(|d| d.count()).unwrap_or(0),
        0,
        "the partial download was removed"
    );
}
