//! `az://` and `https://` inputs against a real Azure Blob Storage server over TLS: Microsoft's
//! emulator Azurite, started by this test binary on 127.0.0.1 (`lathe_testkit::azure`), with a
//! certificate of its own that the client trusts through `SSL_CERT_FILE`, as a user behind a
//! company CA does. The same blobs are read as `az://` URLs and as plain `https://` URLs.
//!
//! Every command over a URL must print what it prints over the local file; each failure is a
//! clear error naming the URL, with no secret in it, and leaves the project as it was.

use lathe_testkit::azure::{ACCOUNT_KEY, CONTAINER, PRIVATE, Server};
use lathe_testkit::tree;

use crate::{assert_records_url_and_etag, file, lathe, path_str, repo, run_error, run_json};

/// `lathe` with the emulator's settings in the environment, as a user of Azurite sets them.
fn az_lathe(server: &Server) -> assert_cmd::Command {
    let mut cmd = lathe();
    for (key, _) in std::env::vars() {
        if key.starts_with("AZURE_") || key.starts_with("AWS_") || key.starts_with("SSL_CERT") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(server.env()).env("HOME", "/nonexistent");
    cmd
}

/// A Parquet file written by Lathe's own import (the table the rows view pages through).
fn diabetes_parquet(dir: &std::path::Path) -> std::path::PathBuf {
    let project = dir.join("maker");
    run_json(lathe(), &["init", path_str(&project)]);
    run_json(
        lathe(),
        &[
            "--project",
            path_str(&project),
            "dataset",
            "import",
            &file("assets/datasets/diabetes.csv"),
        ],
    );
    let mut stack = vec![project.join("objects")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).is_ok_and(|b| b.starts_with(b"PAR1")) {
                let out = dir.join("../diabetes.parquet");
                std::fs::copy(&path, &out).unwrap();
                return out;
            }
        }
    }
    panic!("the stored Parquet object")
}

#[test]
fn profile_rows_drift_and_import_over_az_and_https_equal_the_local_files() {
    let s = lathe_testkit::azure::shared();
    let tmp = tempfile::tempdir().unwrap();

    let cars_az = s.upload(
        &repo().join("tests/fixtures/data/cars.csv"),
        "tables/cars.csv",
    );
    let local = run_json(
        lathe(),
        &["dataset", "show", &file("tests/fixtures/data/cars.csv")],
    );
    let mut over_az = run_json(az_lathe(s), &["dataset", "show", &cars_az]);
    let mut over_https = run_json(
        az_lathe(s),
        &["dataset", "show", &s.https_url("tables/cars.csv")],
    );
    over_az["dataset"] = local["dataset"].clone();
    over_https["dataset"] = local["dataset"].clone();
    assert_eq!(
        over_az, local,
        "the profile over az:// equals the local one"
    );
    assert_eq!(over_https, local, "the profile over https:// too");

    // Parquet is read by ranges over both schemes.
    let parquet = diabetes_parquet(tmp.path());
    let url = s.upload(&parquet, "tables/diabetes.parquet");
    let https = s.https_url("tables/diabetes.parquet");
    for query in [
        &["--limit", "9", "--offset", "400"][..],
        &["--sort", "bmi:desc", "--limit", "7", "--columns", "age,bmi"],
        &["--filter", "s5 > 0.05", "--sort", "age", "--limit", "12"],
    ] {
        let mut expected = run_json(
            lathe(),
            &[&["dataset", "rows", path_str(&parquet)][..], query].concat(),
        );
        for remote in [&url, &https] {
            let got = run_json(
                az_lathe(s),
                &[&["dataset", "rows", remote][..], query].concat(),
            );
            expected["dataset"] = got["dataset"].clone();
            assert_eq!(got, expected, "rows {query:?} over {remote}");
        }
    }

    let reference = s.upload(
        &repo().join("tests/fixtures/drift/data/bc_reference.csv"),
        "drift/bc_reference.csv",
    );
    s.upload(
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
    let remote_drift = run_json(
        az_lathe(s),
        &[
            "drift",
            &reference,
            &s.https_url("drift/bc_current_shifted.csv"),
        ],
    );
    assert_eq!(remote_drift, local_drift);
    assert_eq!(remote_drift["dataset_drift"], true);

    // An import records the URL and the ETag; the same unchanged blob makes no new version.
    let dir = tmp.path().join("p");
    run_json(lathe(), &["init", path_str(&dir)]);
    let p = path_str(&dir);
    let first = run_json(
        az_lathe(s),
        &["--project", p, "dataset", "import", &cars_az],
    );
    assert_eq!(first["new_version"], true);
    let again = run_json(
        az_lathe(s),
        &["--project", p, "dataset", "import", &cars_az],
    );
    assert_eq!(again["new_version"], false);
    let db = rusqlite::Connection::open(dir.join("lathe.sqlite")).unwrap();
    assert_records_url_and_etag(&db, &cars_az);
}

#[test]
fn each_az_and_https_failure_names_the_url_and_changes_nothing() {
    let s = lathe_testkit::azure::shared();
    let people = std::fs::read(repo().join("tests/fixtures/data/people.csv")).unwrap();
    s.put("errors/people.csv", people.clone());
    // In the private container, only a request signed with the right key reads it.
    let private = s.put_in(PRIVATE, "people.csv", people);
    let read = run_json(az_lathe(s), &["dataset", "show", &private]);
    assert_eq!(read["rows"], 201);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    run_json(lathe(), &["init", path_str(&dir)]);
    let p = path_str(&dir);
    let before = tree(&dir);
    let import = |cmd, url: &str| run_error(cmd, &["--project", p, "dataset", "import", url]);

    // A wrong account key: refused, and the key is not in the message.
    let wrong_key = ACCOUNT_KEY.replace("Eby8", "Xby8");
    let mut wrong = az_lathe(s);
    wrong.env("AZURE_STORAGE_ACCOUNT_KEY", &wrong_key);
    let (code, message) = import(wrong, &private);
    assert_eq!(code, "remote");
    assert!(message.contains(&private), "{message}");
    assert!(message.contains("access denied"), "{message}");
    assert!(!message.contains(&wrong_key), "{message}");

    let missing = format!("az://{CONTAINER}/errors/missing.csv");
    let (_, message) = import(az_lathe(s), &missing);
    assert!(message.contains("no such object"), "{message}");
    assert!(message.contains(&missing), "{message}");

    let (_, message) = import(az_lathe(s), "az://no-such-container/people.csv");
    assert!(message.contains("no such bucket"), "{message}");
    assert!(
        message.contains("az://no-such-container/people.csv"),
        "{message}"
    );

    let (_, message) = import(az_lathe(s), &s.https_url("errors/missing.csv"));
    assert!(message.contains("no such object"), "{message}");

    // A server whose certificate the client does not trust: said so, with the fix.
    let mut untrusted = az_lathe(s);
    untrusted.env_remove("SSL_CERT_FILE");
    let https = s.https_url("errors/people.csv");
    let (_, message) = import(untrusted, &https);
    assert!(message.contains(&https), "{message}");
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("SSL_CERT_FILE"), "{message}");

    assert_eq!(tree(&dir), before, "no failed import changed the project");
}
