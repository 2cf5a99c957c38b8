//! `lathe runs …` on the MLflow fixtures: the JSON shapes of the issue, filters, compare,
//! history, charts, and errors.

use crate::{check, json, keys, lathe, path_str};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mlflow")
        .join(name);
    path.to_str().unwrap().to_owned()
}

fn project_with_runs() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path_str(tmp.path()).to_owned();
    json(&["init", &dir]);
    (tmp, dir)
}

#[test]
fn import_list_compare_history_chart() {
    let (_tmp, dir) = project_with_runs();
    let p = ["--project", dir.as_str()];
    let summary = json(&[&p[..], &["runs", "import", &fixture("mlruns")]].concat());
    for key in [
        "source",
        "experiments",
        "runs_new",
        "runs_updated",
        "metric_points",
    ] {
        assert!(summary.get(key).is_some(), "{key} in {summary}");
    }
    assert_eq!(summary["runs_new"], 7);
    assert_eq!(summary["metric_points"], 189);
    let again = json(&[&p[..], &["runs", "import", &fixture("mlruns")]].concat());
    assert_eq!(
        (again["runs_new"].as_u64(), again["metric_points"].as_u64()),
        (Some(0), Some(0))
    );

    let listed = json(
        &[
            &p[..],
            &[
                "runs",
                "list",
                "--filter",
                "params.optimizer = 'adam' and metrics.acc > 0.5",
                "--sort",
                "metrics.acc:desc",
            ],
        ]
        .concat(),
    );
    let runs = listed.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        keys(&runs[0]),
        [
            "end_time",
            "experiment",
            "id",
            "lifecycle_stage",
            "metrics",
            "name",
            "params",
            "parent",
            "parent_run_id",
            "source_run_id",
            "start_time",
            "status",
            "tags"
        ]
    );
    assert_eq!(runs[0]["name"], "adam-0.01");
    assert_eq!(runs[0]["metrics"]["acc"], 0.827586);
    assert_eq!(runs[0]["params"]["lr"], "0.01");
    assert!(runs[0]["parent"].is_i64());

    // Infinities and deleted runs.
    let unstable = json(
        &[
            &p[..],
            &["runs", "list", "--filter", "run_name = 'unstable'"],
        ]
        .concat(),
    );
    assert_eq!(unstable[0]["metrics"]["loss"], "inf");
    assert_eq!(unstable[0]["metrics"]["acc"], "-inf");
    let all = json(&[&p[..], &["runs", "list", "--include-deleted"]].concat());
    assert_eq!(all.as_array().unwrap().len(), 7);
    assert_eq!(
        json(&[&p[..], &["runs", "list"]].concat())
            .as_array()
            .unwrap()
            .len(),
        6
    );

    // Compare by the source's run ids.
    let a = runs[0]["source_run_id"].as_str().unwrap().to_owned();
    let b = runs[1]["source_run_id"].as_str().unwrap().to_owned();
    let cmp = json(&[&p[..], &["runs", "compare", &a, &b]].concat());
    assert_eq!(keys(&cmp), ["metrics", "params", "runs"]);
    assert_eq!(keys(&cmp["params"]), ["differing", "same"]);
    assert_eq!(keys(&cmp["params"]["differing"]), ["lr"]);
    let loss = cmp["metrics"]["loss"].as_array().unwrap();
    for key in ["run", "last", "min", "max", "steps"] {
        assert!(loss[0].get(key).is_some(), "{key} in {}", loss[0]);
    }
    assert_eq!(loss[0]["steps"], 20);
    let text = lathe()
        .args(p)
        .args(["runs", "compare", &a, &b])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Params that differ") && text.contains("lr"),
        "{text}"
    );

    // History: every point, as JSON and CSV.
    let history = json(&[&p[..], &["runs", "history", &a, "--metric", "val/loss"]].concat());
    assert_eq!(history["points"].as_array().unwrap().len(), 20);
    assert_eq!(keys(&history["points"][0]), ["step", "timestamp", "value"]);
    let csv = lathe()
        .args(p)
        .args(["runs", "history", &a, "--metric", "loss", "--csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.starts_with("step,timestamp,value\n0,1764000000000,1\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 21);

    // Charts, with their data.
    let out = tempfile::tempdir().unwrap();
    for (ext, extra) in [
        ("svg", vec![]),
        ("png", vec!["--smooth", "0.6"]),
        ("csv", vec!["--group-by", "params.optimizer"]),
    ] {
        let file = out.path().join(format!("loss.{ext}"));
        let written = json(
            &[
                &p[..],
                &[
                    "runs",
                    "chart",
                    &a,
                    &b,
                    "--metric",
                    "loss",
                    "--out",
                    path_str(&file),
                ],
                &extra[..],
            ]
            .concat(),
        );
        assert_eq!(written["points"], 40, "{written}");
        let bytes = std::fs::read(&file).unwrap();
        assert!(bytes.len() > 100, "{ext}");
    }

    // A param against a metric; parallel coordinates of the differing params.
    for (cmd, extra) in [
        ("scatter", vec!["--param", "lr", "--metric", "acc"]),
        ("parallel", vec!["--metric", "loss.min"]),
    ] {
        let file = out.path().join(format!("{cmd}.csv"));
        json(
            &[
                &p[..],
                &["runs", cmd, &a, &b, "--out", path_str(&file)],
                &extra[..],
            ]
            .concat(),
        );
        let csv = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            csv.lines().count(),
            3,
            "{cmd}: a header and a row per run: {csv}"
        );
    }

    let models = json(&[&p[..], &["runs", "models"]].concat());
    assert_eq!(models[0]["name"], "churn-model");
    assert_eq!(models[0]["aliases"]["champion"], 2);
    // The ONNX versions are in the model registry, the alias with them; the pickle is not.
    let versions = models[0]["versions"].as_array().unwrap();
    let registered: Vec<&serde_json::Value> =
        versions.iter().map(|v| &v["lathe_version"]).collect();
    assert_eq!(
        registered,
        [
            &serde_json::json!("churn-model@1"),
            &serde_json::json!("churn-model@2"),
            &serde_json::Value::Null
        ]
    );
    let champion = json(&[&p[..], &["model", "show", "churn-model@champion"]].concat());
    assert_eq!(champion["model"]["version"], 2);
    assert_eq!(
        champion["model"]["features"],
        serde_json::json!(["tenure", "spend", "tickets"])
    );
    let out = lathe().args(p).args(["runs", "models"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ONNX, registered as churn-model@2"), "{text}");
    assert!(text.contains("not ONNX (listed, not loaded)"), "{text}");

    let grouped = json(&[&p[..], &["runs", "list", "--group-by", "params.optimizer"]].concat());
    assert!(
        grouped
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["value"] == "sgd" && g["runs"] == 1)
    );
    // The spread of a group's runs: the sample standard deviation, none for one run.
    for g in grouped.as_array().unwrap() {
        for (key, stat) in g["metrics"].as_object().unwrap() {
            let n = stat["runs"].as_u64().unwrap();
            assert_eq!(stat["std"].is_null(), n < 2, "{key}: {stat}");
        }
    }
    let out = lathe()
        .args(p)
        .args(["runs", "list", "--group-by", "params.optimizer"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("params.optimizer = sgd (1 run)\n"), "{text}");
    assert!(
        text.contains("params.optimizer = adam (3 runs)\n"),
        "{text}"
    );
    assert!(
        text.contains("params.optimizer = (not set) (2 runs)\n"),
        "{text}"
    );
    // --metric-value applies to the groups: the one sgd run's largest loss.
    let sgd_group = |groups: &serde_json::Value| {
        groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["value"] == "sgd")
            .unwrap()
            .clone()
    };
    let largest = json(
        &[
            &p[..],
            &[
                "runs",
                "list",
                "--filter",
                "params.optimizer = 'sgd'",
                "--metric-value",
                "max",
            ],
        ]
        .concat(),
    )[0]["metrics"]["loss"]
        .clone();
    let by_max = sgd_group(&json(
        &[
            &p[..],
            &[
                "runs",
                "list",
                "--group-by",
                "params.optimizer",
                "--metric-value",
                "max",
            ],
        ]
        .concat(),
    ));
    assert_eq!(by_max["metrics"]["loss"]["mean"], largest, "{by_max}");
    assert_ne!(
        by_max["metrics"]["loss"]["mean"],
        sgd_group(&grouped)["metrics"]["loss"]["mean"],
        "the largest loss is not the last"
    );

    let info = json(&[&p[..], &["info"]].concat());
    assert_eq!(info["counts"]["runs"], 7);
}

#[test]
fn runs_errors() {
    let (_tmp, dir) = project_with_runs();
    let p = ["--project", dir.as_str()];
    check(
        &[&p[..], &["runs", "list", "--filter", "metrics.acc >"]].concat(),
        "bad_argument",
        &["run filter", "character 14"],
    );
    check(
        &[&p[..], &["runs", "list", "--sort", "colour"]].concat(),
        "bad_argument",
        &["sort key"],
    );
    check(
        &[&p[..], &["runs", "history", "nope", "--metric", "loss"]].concat(),
        "not_found",
        &["no run \"nope\""],
    );
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/runs");
    check(
        &[
            &p[..],
            &[
                "runs",
                "import",
                path_str(&corpus.join("text_named/mlflow.db")),
            ],
        ]
        .concat(),
        "bad_input",
        &["mlflow.db", "not a SQLite database"],
    );
    check(
        &[&p[..], &["runs", "list", "--experiment", "nope"]].concat(),
        "not_found",
        &["no experiment named \"nope\""],
    );
    json(&[&p[..], &["runs", "import", &fixture("mlflow.db")]].concat());
    check(
        &[
            &p[..],
            &[
                "runs",
                "chart",
                "1",
                "--metric",
                "loss",
                "--out",
                "chart.jpg",
            ],
        ]
        .concat(),
        "bad_argument",
        &[".svg, .png or .csv"],
    );
}

/// A tracking server behind MLflow's own basic authentication (a real `mlflow server
/// --app-name basic-auth`): read with MLflow's credential variables, refused by name (401)
/// without them or with a wrong password, leaving the project unchanged; a user who may read
/// one experiment imports that one, and asking for another says what the credentials list.
#[test]
fn a_server_behind_basic_auth_is_read_with_mlflows_credential_variables() {
    let server = lathe_testkit::mlflow::Server::start_with_basic_auth();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    server.python(&fixtures.join("mlflow_server_log.py"), &["first"]);
    server.python(
        &fixtures.join("mlflow_server_auth.py"),
        &["reader", "reader-password-1234", "vision"],
    );
    let (admin, admin_password) = server.admin.clone().unwrap();
    let (_tmp, dir) = project_with_runs();
    let run = |credentials: Option<(&str, &str)>, extra: &[&str]| {
        let mut cmd = lathe();
        cmd.args(["--project", &dir, "runs", "import", &server.url, "--json"])
            .args(extra)
            .env_remove("MLFLOW_TRACKING_TOKEN")
            .env_remove("MLFLOW_TRACKING_USERNAME")
            .env_remove("MLFLOW_TRACKING_PASSWORD");
        if let Some((user, password)) = credentials {
            cmd.env("MLFLOW_TRACKING_USERNAME", user)
                .env("MLFLOW_TRACKING_PASSWORD", password);
        }
        let out = cmd.output().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.success(), body)
    };
    let info = || json(&["info", "--project", &dir])["counts"].clone();
    let before = info();
    for credentials in [None, Some(("reader", "not-the-password"))] {
        let (ok, body) = run(credentials, &[]);
        assert!(!ok, "{body}");
        assert_eq!(body["error"]["code"], "remote", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("401")
                && message.contains("MLFLOW_TRACKING_USERNAME")
                && message.contains(&server.url),
            "{message}"
        );
        assert!(!message.contains("not-the-password"), "{message}");
    }
    assert_eq!(info(), before, "a refused import changes nothing");
    // The reader may read "vision" only.
    let (ok, body) = run(
        Some(("reader", "reader-password-1234")),
        &["--experiment", "churn"],
    );
    assert!(!ok, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"churn\"") && message.contains("vision") && message.contains("may read"),
        "{message}"
    );
    assert_eq!(info(), before);
    let (ok, body) = run(Some(("reader", "reader-password-1234")), &[]);
    assert!(ok, "{body}");
    assert_eq!(
        (&body["experiments"], &body["runs_new"]),
        (&1.into(), &3.into()),
        "{body}"
    );
    // The admin sees all three experiments: the two the project does not hold yet are read
    // whole (their runs started long ago), the held one by its changes.
    let (ok, body) = run(Some((&admin, &admin_password)), &[]);
    assert!(ok, "{body}");
    assert_eq!(body["runs_new"], 6, "{body}");
}

/// A tracking server over TLS (uvicorn's own, with a certificate from an authority the test
/// makes): refused by name while the authority is not trusted, without retrying, leaving the
/// project unchanged; a file that holds no certificate, or none at all, is named; read when MLflow's
/// `MLFLOW_TRACKING_SERVER_CERT_PATH` or the system's `SSL_CERT_FILE` names the authority, or
/// with `MLFLOW_TRACKING_INSECURE_TLS=true`.
#[test]
fn a_server_over_tls_is_read_once_its_authority_is_trusted() {
    let server = lathe_testkit::mlflow::Server::start_with_tls();
    let tls = server.tls.clone().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    server.python(&fixtures.join("mlflow_server_log.py"), &["first"]);
    let (_tmp, dir) = project_with_runs();
    let run = |dir: &str, env: &[(&str, &std::path::Path)]| {
        let mut cmd = lathe();
        cmd.args(["--project", dir, "runs", "import", &server.url, "--json"]);
        for var in [
            "MLFLOW_TRACKING_SERVER_CERT_PATH",
            "MLFLOW_TRACKING_INSECURE_TLS",
            "SSL_CERT_FILE",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let start = std::time::Instant::now();
        let out = cmd.output().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.success(), body, start.elapsed())
    };
    let info = || json(&["info", "--project", &dir])["counts"].clone();
    let before = info();
    let (ok, body, took) = run(&dir, &[]);
    assert!(!ok, "{body}");
    assert_eq!(body["error"]["code"], "remote", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("certificate is not trusted")
            && message.contains("UnknownIssuer")
            && message.contains("MLFLOW_TRACKING_SERVER_CERT_PATH")
            && message.contains("MLFLOW_TRACKING_INSECURE_TLS")
            && message.contains(&server.url),
        "{message}"
    );
    // Not retried: a certificate does not become trusted by waiting (the four retries'
    // pauses alone add up to 3 s).
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert_eq!(info(), before);
    let (ok, body, _) = run(&dir, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", &tls.key)]);
    assert!(!ok, "{body}");
    assert_eq!(body["error"]["code"], "bad_argument", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("MLFLOW_TRACKING_SERVER_CERT_PATH")
            && message.contains("holds no PEM certificate")
            && !message.contains("PRIVATE KEY-----\n"),
        "{message}"
    );
    assert_eq!(info(), before);
    let missing = tls.ca.with_file_name("no-such-ca.pem");
    let (ok, body, _) = run(&dir, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", &missing)]);
    assert!(!ok, "{body}");
    assert_eq!(body["error"]["code"], "bad_argument", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("MLFLOW_TRACKING_SERVER_CERT_PATH")
            && message.contains("cannot read")
            && message.contains("no-such-ca.pem"),
        "{message}"
    );
    assert_eq!(info(), before);
    let (ok, body, _) = run(&dir, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", &tls.ca)]);
    assert!(ok, "{body}");
    let imported = body["runs_new"].as_u64().unwrap();
    assert!(imported > 5, "{body}");
    // The system's variable, into another project: the same runs.
    let (_other_tmp, other) = project_with_runs();
    let (ok, body, _) = run(&other, &[("SSL_CERT_FILE", &tls.ca)]);
    assert!(ok, "{body}");
    assert_eq!(body["runs_new"].as_u64(), Some(imported), "{body}");
    // Any certificate, when told so: nothing has changed since the first import.
    let (ok, body, _) = run(
        &dir,
        &[("MLFLOW_TRACKING_INSECURE_TLS", std::path::Path::new("true"))],
    );
    assert!(ok, "{body}");
    assert_eq!(body["runs_new"], 0, "{body}");
}

/// A real server that stops answering (its processes stopped): each request gives up after
/// MLflow's `MLFLOW_HTTP_REQUEST_TIMEOUT`, is retried `MLFLOW_HTTP_REQUEST_MAX_RETRIES` times,
/// and the error says so; nothing is written. A value that is not a number is named.
#[test]
fn a_server_that_hangs_times_out_as_mlflows_variables_say() {
    let server = lathe_testkit::mlflow::Server::start();
    let (_tmp, dir) = project_with_runs();
    let info = || json(&["info", "--project", &dir])["counts"].clone();
    let before = info();
    let import = |timeout: &str| {
        lathe()
            .args(["--project", &dir, "runs", "import", &server.url, "--json"])
            .env("MLFLOW_HTTP_REQUEST_TIMEOUT", timeout)
            .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
            .output()
            .unwrap()
    };
    server.pause();
    let start = std::time::Instant::now();
    let out = import("2");
    let took = start.elapsed();
    server.resume();
    assert!(!out.status.success());
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"]["code"], "remote", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("did not answer within 2 s")
            && message.contains("MLFLOW_HTTP_REQUEST_TIMEOUT")
            && message.contains("tried 2 times"),
        "{message}"
    );
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    assert_eq!(info(), before);
    let out = import("soon");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"]["code"], "bad_argument", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MLFLOW_HTTP_REQUEST_TIMEOUT"),
        "{body}"
    );
    let out = lathe()
        .args(["--project", &dir, "runs", "import", &server.url, "--json"])
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "a few")
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"]["code"], "bad_argument", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("MLFLOW_HTTP_REQUEST_MAX_RETRIES") && message.contains("a few"),
        "{message}"
    );
    assert_eq!(info(), before);
    // Answering again, it imports.
    let out = import("30");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `lathe runs importance --json` keeps the names, most important first; a TensorBoard
/// folder imports by its path.
#[test]
fn importance_shape_and_a_tensorboard_folder() {
    let (_tmp, dir) = project_with_runs();
    let p = ["--project", dir.as_str()];
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let log = fixtures.join("importance/tpe_max.jsonl");
    json(&[&p[..], &["runs", "import", path_str(&log)]].concat());
    let found = json(
        &[
            &p[..],
            &[
                "runs",
                "importance",
                "--metric",
                "accuracy",
                "--log",
                "batch",
                "--target-quantile",
                "0.2",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        keys(&found),
        [
            "direction",
            "importances",
            "method",
            "metric",
            "notes",
            "runs_used"
        ]
    );
    assert_eq!(found["direction"], "maximize");
    assert_eq!(found["method"], "ped-anova");
    assert_eq!(found["runs_used"], 400);
    let list = found["importances"].as_array().unwrap();
    assert_eq!(
        keys(&list[0]),
        ["correlation", "importance", "param", "runs", "scale"]
    );
    let total: f64 = list.iter().map(|p| p["importance"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    assert!(
        list.windows(2)
            .all(|w| w[0]["importance"].as_f64() >= w[1]["importance"].as_f64())
    );
    let batch = list.iter().find(|p| p["param"] == "batch").unwrap();
    assert_eq!(batch["scale"], "log-integer");

    let tb = fixtures.join("tensorboard/logs");
    let summary = json(&[&p[..], &["runs", "import", path_str(&tb)]].concat());
    assert_eq!(summary["kind"], "tensorboard");
    assert_eq!(summary["runs_new"], 5);
}

/// `runs report`: one page that opens offline — no script, stylesheet link or remote
/// address — with every run, a figure per metric, the importance `runs importance` gives,
/// and parallel coordinates; charts too large as vector paths embedded as PNG.
#[test]
fn a_report_is_one_offline_page_of_the_comparison() {
    let (tmp, dir) = project_with_runs();
    let p = ["--project", dir.as_str()];
    let offline = |html: &str| {
        for remote in [
            "<script",
            "<link",
            "src=\"http",
            "href=\"http",
            "url(",
            "@import",
        ] {
            assert!(!html.contains(remote), "the page holds {remote}");
        }
    };
    // The MLflow fixture's runs, named one by one.
    json(&[&p[..], &["runs", "import", &fixture("mlruns")]].concat());
    let listed = json(&[&p[..], &["runs", "list"]].concat());
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source_run_id"].as_str().unwrap().to_owned())
        .collect();
    let out = tmp.path().join("runs.html");
    let mut args: Vec<&str> = [&p[..], &["runs", "report"]].concat();
    args.extend(ids.iter().map(String::as_str));
    args.extend([
        "--metric",
        "acc",
        "--metric",
        "loss",
        "--out",
        path_str(&out),
    ]);
    let written = json(&args);
    assert_eq!(written["runs"], ids.len());
    assert_eq!(written["charts"], serde_json::json!(["acc", "loss"]));
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written["bytes"], html.len());
    offline(&html);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for id in &ids {
        assert!(html.contains(id.as_str()), "run {id} is in the table");
    }
    assert_eq!(html.matches("<figure>").count(), 2, "a figure per metric");
    assert!(html.contains("Params that differ") && html.contains("<svg"));

    // Refusals leave nothing behind.
    let bad = tmp.path().join("runs.txt");
    let mut refused: Vec<&str> = [&p[..], &["runs", "report", ids[0].as_str(), "--out"]].concat();
    refused.push(path_str(&bad));
    check(&refused, "bad_argument", &["runs.txt", ".html"]);
    assert!(!bad.exists());
    let missing = tmp.path().join("missing.html");
    check(
        &[
            &p[..],
            &[
                "runs",
                "report",
                ids[0].as_str(),
                "--metric",
                "nope",
                "--out",
                path_str(&missing),
            ],
        ]
        .concat(),
        "bad_argument",
        &["\"nope\"", "acc"],
    );
    assert!(!missing.exists());

    // 400 runs of a study: importance as `runs importance` computes it, parallel coordinates.
    let (tmp2, dir2) = project_with_runs();
    let p2 = ["--project", dir2.as_str()];
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    json(
        &[
            &p2[..],
            &[
                "runs",
                "import",
                path_str(&fixtures.join("importance/tpe_max.jsonl")),
            ],
        ]
        .concat(),
    );
    let found = json(&[&p2[..], &["runs", "importance", "--metric", "accuracy"]].concat());
    let study = tmp2.path().join("study.html");
    let written = json(
        &[
            &p2[..],
            &[
                "runs",
                "report",
                "--filter",
                "metrics.accuracy > -1e300",
                "--out",
                path_str(&study),
            ],
        ]
        .concat(),
    );
    assert_eq!(written["runs"], 400);
    assert_eq!(written["notes"], serde_json::json!([]));
    let html = std::fs::read_to_string(&study).unwrap();
    offline(&html);
    let section = &html[html.find("Which params matter").unwrap()..];
    let parallel = section.find("Parallel coordinates").unwrap();
    for p in found["importances"].as_array().unwrap() {
        let row = format!(
            "<tr><td>{}</td><td class=\"n\">{:.3}</td>",
            p["param"].as_str().unwrap(),
            p["importance"].as_f64().unwrap()
        );
        let at = section
            .find(&row)
            .unwrap_or_else(|| panic!("{row} in the report"));
        assert!(at < parallel);
    }
    assert!(section[parallel..].contains("<svg"));

    // Many long histories: the chart is carried as a PNG, and the page stays small.
    let log = tmp2.path().join("long.jsonl");
    let mut text = String::new();
    for r in 0..150 {
        text.push_str(&format!(
            "{{\"event\": \"start\", \"run\": \"l{r}\", \"experiment\": \"long\", \"params\": {{\"lr\": {}}}}}\n",
            [0.1, 0.01, 0.001][r % 3]
        ));
        for s in 0..2_000 {
            text.push_str(&format!(
                "{{\"event\": \"metric\", \"run\": \"l{r}\", \"key\": \"loss\", \"value\": {}, \"step\": {s}, \"time\": {s}}}\n",
                1.0 / (1.0 + 0.01 * s as f64 * (1.0 + r as f64 / 50.0)) + ((s * 7919 + r * 104729) % 1000) as f64 * 1e-5
            ));
        }
    }
    std::fs::write(&log, text).unwrap();
    json(&[&p2[..], &["runs", "import", path_str(&log)]].concat());
    let long = tmp2.path().join("long.html");
    let written = json(
        &[
            &p2[..],
            &[
                "runs",
                "report",
                "--filter",
                "experiment = 'long'",
                "--direction",
                "minimize",
                "--out",
                path_str(&long),
            ],
        ]
        .concat(),
    );
    assert_eq!(written["runs"], 150);
    let html = std::fs::read_to_string(&long).unwrap();
    offline(&html);
    // base64 of the PNG signature.
    assert!(
        html.contains("src=\"data:image/png;base64,iVBORw0KGgo"),
        "the loss chart as PNG"
    );
    assert!(html.len() < 2 << 20, "{} bytes", html.len());
}
