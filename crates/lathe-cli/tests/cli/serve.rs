//! `lathe serve` as ops run it: the real binary on 127.0.0.1 (free ports), driven over REST,
//! gRPC and `/invocations`; every answer equal to `lathe model predict`'s, bad requests
//! refused with their input and row, overload answered 503, SIGTERM draining, and live drift
//! flagging the columns `lathe bundle check-drift` flags on the same rows.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{check, demo, file, json as lathe_json, path_str};

const MODEL: &str = "breast_cancer_classifier";

/// A `lathe serve` process, killed when dropped (a failing test leaves nothing running).
struct Serving {
    child: Child,
    http: String,
    grpc: Option<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lathe serve ARGS --port 0 --grpc-port 0 --json` and reads the addresses it prints.
fn serve(args: &[&str]) -> Serving {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lathe"))
        .env_remove("LATHE_PROJECT")
        .arg("serve")
        .args(args)
        .args(["--port", "0", "--grpc-port", "0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
        panic!("lathe serve did not start ({e}): {line}{err}")
    });
    Serving {
        child,
        http: started["http"].as_str().unwrap().to_owned(),
        grpc: started["grpc"].as_str().map(|g| format!("http://{g}")),
    }
}

/// An answer: status, `Retry-After`, body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn post_async(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Answer {
    let r = client
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    Answer {
        status,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn post(url: &str, body: &Value) -> Answer {
    post_raw(url, body.to_string().into_bytes(), "application/json")
}

fn post_raw(url: &str, body: Vec<u8>, content_type: &str) -> Answer {
    let url = url.to_owned();
    let content_type = content_type.to_owned();
    lathe_testkit::block_on(async move {
        post_async(&reqwest::Client::new(), &url, body, &content_type).await
    })
}

fn get(url: &str) -> (u16, String) {
    let url = url.to_owned();
    lathe_testkit::block_on(async move {
        let r = reqwest::get(&url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// The demo's breast-cancer table: its feature names and rows.
fn table(relative: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(file(relative)).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .take(30)
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split(',').take(30).map(|v| v.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

/// A demo project with the production model exported as a bundle.
fn bundle() -> (tempfile::TempDir, String, String) {
    let (tmp, project) = demo();
    let out = tmp.path().join("bc.tar.gz");
    lathe_json(&[
        "--project",
        &project,
        "bundle",
        "export",
        &format!("{MODEL}@production"),
        "--out",
        path_str(&out),
        "--eval-dataset",
        "breast_cancer@2",
    ]);
    let out = path_str(&out).to_owned();
    (tmp, project, out)
}

/// `{"inputs": [the feature matrix]}` of `rows`.
fn v2_matrix(rows: &[Vec<f64>]) -> Value {
    json!({
        "id": "req-1",
        "inputs": [{
            "name": "input", "datatype": "FP64", "shape": [rows.len(), 30],
            "data": rows,
        }]
    })
}

#[test]
fn a_bundle_answers_over_rest_grpc_and_invocations_as_model_predict_does() {
    let (_tmp, project, bundle) = bundle();
    let data = file("assets/datasets/breast_cancer.csv");
    let expected = lathe_json(&[
        "--project",
        &project,
        "model",
        "predict",
        &format!("{MODEL}@production"),
        &data,
    ]);
    let want_label = &expected["outputs"]["label"];
    let want_proba = &expected["outputs"]["probabilities"];
    let flat_proba: Vec<Value> = want_proba
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().clone())
        .collect();
    let (features, rows) = table("assets/datasets/breast_cancer.csv");
    let server = serve(&[&bundle, "--metrics"]);
    let infer = format!("{}/v2/models/{MODEL}/infer", server.http);

    // v2 REST: the feature matrix, and one tensor per feature.
    let a = post(&infer, &v2_matrix(&rows));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["model_name"], MODEL);
    assert_eq!(a.body["model_version"], "1");
    assert_eq!(a.body["id"], "req-1");
    assert_eq!(a.body["outputs"][0]["name"], "label");
    assert_eq!(a.body["outputs"][0]["datatype"], "INT64");
    assert_eq!(a.body["outputs"][0]["data"], *want_label);
    assert_eq!(a.body["outputs"][1]["shape"], json!([rows.len(), 2]));
    assert_eq!(
        a.body["outputs"][1]["data"],
        Value::Array(flat_proba.clone())
    );
    let columns: Vec<Value> = features
        .iter()
        .enumerate()
        .map(|(j, f)| {
            json!({"name": f, "datatype": "FP32", "shape": [rows.len()],
                   "data": rows.iter().map(|r| r[j]).collect::<Vec<_>>()})
        })
        .collect();
    let a = post(
        &format!("{}/v2/models/{MODEL}/versions/1/infer", server.http),
        &json!({"inputs": columns, "outputs": [{"name": "probabilities"}]}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(
        a.body["outputs"][0]["data"],
        Value::Array(flat_proba.clone())
    );

    // /invocations, in each of MLflow's formats.
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            Value::Object(
                features
                    .iter()
                    .cloned()
                    .zip(r.iter().map(|&v| json!(v)))
                    .collect(),
            )
        })
        .collect();
    let csv = std::iter::once(features.join(","))
        .chain(rows.iter().map(|r| {
            r.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        }))
        .collect::<Vec<_>>()
        .join("\n");
    let invocations = format!("{}/invocations", server.http);
    let answers = [
        post(
            &invocations,
            &json!({"dataframe_split": {"columns": features, "data": rows}}),
        ),
        post(&invocations, &json!({"dataframe_records": records})),
        post(&invocations, &json!({"instances": rows})),
        post(&invocations, &json!({"inputs": records})),
        post_raw(&invocations, csv.into_bytes(), "text/csv"),
    ];
    for a in answers {
        assert_eq!(a.status, 200, "{}", a.body);
        let predictions = a.body["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), rows.len());
        for (i, p) in predictions.iter().enumerate() {
            assert_eq!(p["label"], want_label[i]);
            assert_eq!(p["probabilities"], want_proba[i]);
        }
    }

    // gRPC, with typed contents and with raw bytes (as tritonclient sends them).
    let grpc = server.grpc.clone().unwrap();
    let values: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    let (typed, raw) = lathe_testkit::block_on(async move {
        use lathe_serve::pb;
        let channel = tonic::transport::Channel::from_shared(grpc)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client =
            pb::grpc_inference_service_client::GrpcInferenceServiceClient::new(channel);
        assert!(
            client
                .server_live(pb::ServerLiveRequest {})
                .await
                .unwrap()
                .into_inner()
                .live
        );
        let meta = client
            .model_metadata(pb::ModelMetadataRequest {
                name: MODEL.into(),
                version: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(meta.inputs[0].shape, [-1, 30]);
        let input = |contents| pb::model_infer_request::InferInputTensor {
            name: "input".into(),
            datatype: "FP32".into(),
            shape: vec![(values.len() / 30) as i64, 30],
            parameters: Default::default(),
            contents,
        };
        let typed = client
            .model_infer(pb::ModelInferRequest {
                model_name: MODEL.into(),
                inputs: vec![input(Some(pb::InferTensorContents {
                    fp32_contents: values.clone(),
                    ..Default::default()
                }))],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let raw = client
            .model_infer(pb::ModelInferRequest {
                model_name: MODEL.into(),
                inputs: vec![input(None)],
                raw_input_contents: vec![values.iter().flat_map(|v| v.to_le_bytes()).collect()],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        (typed, raw)
    });
    let labels: Vec<i64> = want_label
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let proba: Vec<f32> = flat_proba
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let contents = typed.outputs[1].contents.as_ref().unwrap();
    assert_eq!(
        typed.outputs[0].contents.as_ref().unwrap().int64_contents,
        labels
    );
    assert_eq!(contents.fp32_contents, proba);
    let raw_proba: Vec<f32> = raw.raw_output_contents[1]
        .chunks_exact(4)
        .map(|w| f32::from_le_bytes(w.try_into().unwrap()))
        .collect();
    assert_eq!(raw_proba, proba);

    // Batched: each row on its own request, many at once; every answer is its row's.
    let batches_before = metric(
        &get(&format!("{}/metrics", server.http)).1,
        "lathe_batch_rows_count",
    );
    let url = infer.clone();
    let n = rows.len();
    let singles = lathe_testkit::block_on(async move {
        let client = reqwest::Client::new();
        let requests = rows.iter().map(|r| {
            post_async(
                &client,
                &url,
                v2_matrix(std::slice::from_ref(r)).to_string().into_bytes(),
                "application/json",
            )
        });
        futures_util::future::join_all(requests).await
    });
    for (i, a) in singles.iter().enumerate() {
        assert_eq!(a.status, 200);
        assert_eq!(a.body["outputs"][0]["data"][0], want_label[i]);
        assert_eq!(a.body["outputs"][1]["data"], want_proba[i]);
    }
    let (status, metrics) = get(&format!("{}/metrics", server.http));
    assert_eq!(status, 200);
    let batches = metric(&metrics, "lathe_batch_rows_count") - batches_before;
    assert!(
        batches < n as f64,
        "{n} concurrent requests were predicted in {batches} batches: none were batched"
    );
}

#[test]
fn tritonclient_gets_model_predicts_answers_over_rest_and_grpc() {
    let python = std::env::var_os("LATHE_TRITONCLIENT_PYTHON").expect(
        "tritonclient is not installed: run scripts/test.sh (it installs it), or set LATHE_TRITONCLIENT_PYTHON to the python of a virtual environment with tritonclient[http,grpc]",
    );
    let (_tmp, project, bundle) = bundle();
    let data = file("assets/datasets/breast_cancer.csv");
    let expected = lathe_json(&[
        "--project",
        &project,
        "model",
        "predict",
        &format!("{MODEL}@production"),
        &data,
    ]);
    let (_, rows) = table("assets/datasets/breast_cancer.csv");
    let server = serve(&[&bundle]);
    let job = json!({
        "http": server.http.trim_start_matches("http://"),
        "grpc": server.grpc.as_deref().unwrap().trim_start_matches("http://"),
        "model": MODEL,
        "rows": rows,
    });
    let mut client = std::process::Command::new(python)
        .arg(file("crates/lathe-cli/tests/clients/tritonclient_infer.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut client.stdin.take().unwrap(),
        job.to_string().as_bytes(),
    )
    .unwrap();
    let out = client.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The labels come back as numpy int64 turned to float by the script; the probabilities
    // as float32 widened to float64, exactly as `lathe model predict` prints them.
    let labels: Vec<Value> = expected["outputs"]["label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| json!(v.as_i64().unwrap() as f64))
        .collect();
    for way in ["http_binary", "http_json", "http_default", "grpc"] {
        assert_eq!(got[way]["label"], Value::Array(labels.clone()), "{way}");
        assert_eq!(
            got[way]["probabilities"], expected["outputs"]["probabilities"],
            "{way}"
        );
    }
    assert_eq!(got["http_metadata"]["inputs"][0]["shape"], json!([-1, 30]));
    assert_eq!(got["grpc_metadata"]["outputs"][1]["name"], "probabilities");
    for (way, status) in [
        ("http_error", "400"),
        ("grpc_error", "StatusCode.INVALID_ARGUMENT"),
    ] {
        assert_eq!(got[way]["status"], status, "{way}: {}", got[way]);
        let message = got[way]["message"].as_str().unwrap();
        assert!(
            message.contains("shape [569, 29] does not match the model's [-1, 30]"),
            "{way}: {message}"
        );
    }
}

#[test]
fn the_request_log_is_a_table_drift_and_import_read() {
    let (tmp, project, bundle) = bundle();
    let logs = tmp.path().join("logs");
    let batch2 = file("assets/datasets/breast_cancer_batch2.csv");
    let (features, rows) = table("assets/datasets/breast_cancer_batch2.csv");
    let mut server = serve(&[
        &bundle,
        "--log-requests",
        path_str(&logs),
        "--max-batch",
        "64",
    ]);
    let invocations = format!("{}/invocations", server.http);
    for chunk in rows.chunks(37) {
        let a = post(
            &invocations,
            &json!({"dataframe_split": {"columns": features, "data": chunk}}),
        );
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let pid = server.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    let files: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one finished file, no partial one: {files:?}"
    );
    assert!(
        files[0].starts_with("requests-") && files[0].ends_with(".parquet"),
        "{files:?}"
    );
    let log = path_str(&logs.join(&files[0])).to_owned();

    // The log is the rows served: check-drift on it equals check-drift on the table sent.
    let sent = lathe_json(&["bundle", "check-drift", &bundle, &batch2]);
    let logged = lathe_json(&["bundle", "check-drift", &bundle, &log]);
    for c in logged["columns"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let same = sent["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap();
        assert_eq!(c["drifted"], same["drifted"], "{name}");
        assert_eq!(c["score"], same["score"], "{name}");
    }
    assert_eq!(logged["columns"].as_array().unwrap().len(), features.len());
    let imported = lathe_json(&[
        "--project",
        &project,
        "dataset",
        "import",
        &log,
        "--name",
        "served",
    ]);
    assert_eq!(imported["rows"], rows.len());
    // timestamp, the 30 features, label, probabilities_0 and probabilities_1.
    assert_eq!(imported["columns"], 34);
    let drift = lathe_json(&["--project", &project, "drift", &batch2, "served@1"]);
    assert_eq!(drift["drifted_columns"], 0, "the log holds the rows sent");
}

#[test]
fn the_deployment_files_validate_and_the_image_runs_what_serves() {
    let python = std::env::var_os("LATHE_KUBERNETES_VALIDATE_PYTHON").expect(
        "kubernetes-validate is not installed: run scripts/test.sh (it installs it), or set LATHE_KUBERNETES_VALIDATE_PYTHON to the python of a virtual environment with kubernetes-validate",
    );
    let (tmp, project, archive) = bundle();
    let folder = tmp.path().join("folder");
    lathe_json(&[
        "--project",
        &project,
        "bundle",
        "export",
        &format!("{MODEL}@production"),
        "--out",
        path_str(&folder),
    ]);
    let verified = lathe_json(&["bundle", "verify", path_str(&folder)]);
    for f in [
        "deploy/Dockerfile",
        "deploy/kubernetes.yaml",
        "deploy/kserve.yaml",
    ] {
        assert!(
            verified["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["path"] == f && c["status"] == "ok"),
            "{f} is listed and verified: {verified}"
        );
    }
    let checked = std::process::Command::new(python)
        .arg(file("crates/lathe-cli/tests/clients/validate_deploy.py"))
        .arg(&folder)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        said.contains("Deployment, Service, InferenceService predictor"),
        "{said}"
    );

    // The image's command, run here: the binary on the archive, ports free instead of 8080.
    let dockerfile = std::fs::read_to_string(folder.join("deploy/Dockerfile")).unwrap();
    let entry = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .unwrap();
    let command: Vec<String> = serde_json::from_str(entry).unwrap();
    assert_eq!(
        command[..3],
        ["/usr/local/bin/lathe", "serve", "/srv/bundle.tar.gz"]
    );
    let args: Vec<String> = command[3..]
        .iter()
        .map(|a| match a.as_str() {
            "0.0.0.0" => "127.0.0.1".to_owned(),
            "8080" | "8081" => "0".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let kubernetes = std::fs::read_to_string(folder.join("deploy/kubernetes.yaml")).unwrap();
    for probe in ["/v2/health/live", "/v2/health/ready"] {
        assert!(kubernetes.contains(&format!("path: {probe}")), "{probe}");
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lathe"))
        .arg("serve")
        .arg(&archive)
        .args(&args)
        .arg("--json")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Serving {
        child,
        http: serde_json::from_str::<Value>(&line).unwrap()["http"]
            .as_str()
            .unwrap()
            .to_owned(),
        grpc: None,
    };
    let (status, _) = get(&format!("{}/v2/health/ready", server.http));
    assert_eq!(status, 200);
    let (status, metrics) = get(&format!("{}/metrics", server.http));
    assert_eq!(
        status, 200,
        "the image serves /metrics for the scrape annotations"
    );
    assert!(metrics.contains("lathe_rows_total 0"), "{metrics}");
}

/// A sample's value in the exposition text.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {series} in {text}"))
}

#[test]
fn bad_requests_are_refused_with_their_input_and_row() {
    let (_tmp, _project, bundle) = bundle();
    let server = serve(&[&bundle, "--max-body-bytes", "100000"]);
    let infer = format!("{}/v2/models/{MODEL}/infer", server.http);
    let invocations = format!("{}/invocations", server.http);
    let (features, rows) = table("assets/datasets/breast_cancer.csv");
    let mut nan_row = rows[..3].to_vec();
    nan_row[2][4] = f64::NAN;
    let mut record = serde_json::Map::new();
    for (f, v) in features.iter().zip(&rows[0]) {
        record.insert(f.clone(), json!(v));
    }
    let mut text_cell = record.clone();
    text_cell.insert("mean area".into(), json!("large"));
    // What, where, body, content type, status, what the message says.
    type Case<'a> = (&'a str, &'a str, Vec<u8>, &'a str, u16, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        ("not JSON", &infer, b"{inputs".to_vec(), "application/json", 400, vec!["not valid JSON"]),
        ("no inputs", &infer, b"{}".to_vec(), "application/json", 400, vec!["no \"inputs\""]),
        (
            "wrong tensor name",
            &infer,
            json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 30], "data": rows[0]}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["input 'x' is not one of the model's", "send 'input'"],
        ),
        (
            "wrong shape",
            &infer,
            json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 29], "data": &rows[0][..29]}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["input 'input'", "[1, 29]", "[-1, 30]"],
        ),
        (
            "data shorter than the shape",
            &infer,
            json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 30], "data": rows[0]}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["needs 60 values", "has 30"],
        ),
        (
            "a shape that would allocate the world",
            &infer,
            json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [i64::MAX, 30], "data": rows[0]}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["too large"],
        ),
        (
            "wrong dtype",
            &infer,
            json!({"inputs": [{"name": "input", "datatype": "BYTES", "shape": [1, 30], "data": vec!["a"; 30]}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["input 'input'", "BYTES is not a number type"],
        ),
        (
            "a value that is not of its dtype",
            &infer,
            json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 2], "data": [1, "x"]}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["input 'input'", "value 2", "not a number"],
        ),
        (
            "unknown output",
            &infer,
            json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 30], "data": rows[0]}], "outputs": [{"name": "margin"}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["output 'margin'", "label, probabilities"],
        ),
        (
            "NaN in a CSV row",
            &invocations,
            format!(
                "{}\n{}",
                features.join(","),
                nan_row.iter().map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")).collect::<Vec<_>>().join("\n")
            ).into_bytes(),
            "text/csv",
            400,
            vec!["row 3", "'mean smoothness'", "NaN"],
        ),
        (
            "null in a record",
            &invocations,
            json!({"dataframe_records": [record.clone(), {"mean radius": null}]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["row 2"],
        ),
        (
            "text in a record",
            &invocations,
            json!({"dataframe_records": [record.clone(), text_cell]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["row 2", "\"large\"", "'mean area'", "not a number"],
        ),
        (
            "a missing column",
            &invocations,
            json!({"dataframe_split": {"columns": &features[1..], "data": [&rows[0][1..]]}}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["no 'mean radius'"],
        ),
        (
            "two formats at once",
            &invocations,
            json!({"instances": [rows[0].clone()], "inputs": [rows[0].clone()]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["exactly one of", "instances and inputs"],
        ),
        (
            "a row of the wrong width",
            &invocations,
            json!({"instances": [rows[0].clone(), &rows[1][..5]]}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["row 2", "30 values"],
        ),
        (
            "no rows",
            &invocations,
            json!({"instances": []}).to_string().into_bytes(),
            "application/json",
            400,
            vec!["no rows"],
        ),
        (
            "a body over --max-body-bytes",
            &invocations,
            json!({"instances": vec![rows[0].clone(); 1000]}).to_string().into_bytes(),
            "application/json",
            413,
            vec!["larger than this server takes (100000 bytes"],
        ),
    ];
    for (what, url, body, content_type, status, needles) in cases {
        let a = post_raw(url, body, content_type);
        assert_eq!(a.status, status, "{what}: {}", a.body);
        let message = a.body["error"]
            .as_str()
            .or_else(|| a.body["message"].as_str())
            .unwrap_or_else(|| panic!("{what}: no message in {}", a.body));
        for needle in needles {
            assert!(
                message.contains(needle),
                "{what}: {message:?} lacks {needle:?}"
            );
        }
    }
    let (status, body) = get(&format!("{}/v2/models/other", server.http));
    assert_eq!(status, 404);
    assert!(
        body.contains("this server serves 'breast_cancer_classifier' version 1"),
        "{body}"
    );
    let (status, _) = get(&format!("{}/v2/health/ready", server.http));
    assert_eq!(status, 200, "the server lives on after every bad request");
}

#[test]
fn a_tampered_or_wrongly_signed_bundle_is_not_served() {
    let (tmp, project, _) = bundle();
    let key = tmp.path().join("ops.key");
    let other = tmp.path().join("other.key");
    lathe_json(&["key", "new", "--out", path_str(&key)]);
    lathe_json(&["key", "new", "--out", path_str(&other)]);
    let folder = tmp.path().join("signed");
    lathe_json(&[
        "--project",
        &project,
        "bundle",
        "export",
        &format!("{MODEL}@production"),
        "--out",
        path_str(&folder),
        "--sign",
        path_str(&key),
    ]);
    let other_pub = format!("{}.pub", path_str(&other));
    check(
        &[
            "serve",
            path_str(&folder),
            "--key",
            &other_pub,
            "--port",
            "0",
            "--grpc-port",
            "0",
        ],
        "bad_bundle",
        &[
            "fails verification, so it is not served",
            "not by the trusted key",
        ],
    );
    let model = folder.join("model/model.onnx");
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&model, bytes).unwrap();
    check(
        &[
            "serve",
            path_str(&folder),
            "--port",
            "0",
            "--grpc-port",
            "0",
        ],
        "bad_bundle",
        &[
            "fails verification, so it is not served",
            "model/model.onnx",
        ],
    );
}

#[test]
fn a_full_queue_answers_503_and_sigterm_drains() {
    let (_tmp, _project, bundle) = bundle();
    let (_, rows) = table("assets/datasets/breast_cancer.csv");
    // One worker that gathers a batch for 2 s: the first requests wait in the queue, which
    // holds 2; the rest are refused at once.
    let server = serve(&[
        &bundle,
        "--threads",
        "1",
        "--max-queue",
        "2",
        "--max-batch",
        "100000",
        "--batch-wait-ms",
        "2000",
    ]);
    let url = format!("{}/v2/models/{MODEL}/infer", server.http);
    let body = v2_matrix(&rows[..1]).to_string().into_bytes();
    let (u, b) = (url.clone(), body.clone());
    let answers = lathe_testkit::block_on(async move {
        let client = reqwest::Client::new();
        let requests = (0..24).map(|_| post_async(&client, &u, b.clone(), "application/json"));
        futures_util::future::join_all(requests).await
    });
    let status: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        status.iter().filter(|&&s| s == 200).count(),
        2,
        "{status:?}"
    );
    assert_eq!(
        status.iter().filter(|&&s| s == 503).count(),
        22,
        "{status:?}"
    );
    for a in answers.iter().filter(|a| a.status == 503) {
        assert_eq!(a.retry_after.as_deref(), Some("1"));
        assert!(
            a.body["error"].as_str().unwrap().contains("--max-queue"),
            "{}",
            a.body
        );
    }

    // SIGTERM while two requests wait for their batch: both are answered, then the server
    // exits 0.
    let mut server = server;
    let pid = server.child.id().to_string();
    let in_flight = std::thread::spawn(move || {
        lathe_testkit::block_on(async move {
            let client = reqwest::Client::new();
            let requests =
                (0..2).map(|_| post_async(&client, &url, body.clone(), "application/json"));
            futures_util::future::join_all(requests).await
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let answers = in_flight.join().unwrap();
    let status: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(status, [200, 200], "in-flight requests are answered");
    let exit = server.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "SIGTERM ends the server with 0");
}

#[test]
fn live_drift_flags_the_columns_check_drift_flags() {
    let (_tmp, _project, bundle) = bundle();
    let batch2 = file("assets/datasets/breast_cancer_batch2.csv");
    let report = lathe_json(&["bundle", "check-drift", &bundle, &batch2]);
    let (features, rows) = table("assets/datasets/breast_cancer_batch2.csv");
    let server = serve(&[&bundle, "--metrics", "--drift-window", "1000"]);
    let invocations = format!("{}/invocations", server.http);
    for chunk in rows.chunks(50) {
        let a = post(
            &invocations,
            &json!({"dataframe_split": {"columns": features, "data": chunk}}),
        );
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let (_, metrics) = get(&format!("{}/metrics", server.http));
    assert_eq!(
        metric(&metrics, "lathe_drift_window_rows"),
        rows.len() as f64
    );
    let mut flagged = 0;
    for c in report["columns"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        if !features.iter().any(|f| f == name) {
            continue;
        }
        let series = format!(
            "lathe_feature_drifted{{feature=\"{name}\",method=\"{}\"}}",
            c["method"].as_str().unwrap()
        );
        let drifted = metric(&metrics, &series);
        assert_eq!(drifted == 1.0, c["drifted"].as_bool().unwrap(), "{name}");
        let score = metric(
            &metrics,
            &series.replace("lathe_feature_drifted", "lathe_feature_drift_score"),
        );
        let want = c["score"].as_f64().unwrap();
        assert!(
            (score - want).abs() <= 1e-12 * want.abs().max(1e-300),
            "{name}: {score} vs {want}"
        );
        flagged += usize::from(drifted == 1.0);
    }
    assert!(
        flagged > 0 && flagged < features.len(),
        "a mix: {flagged} of {} drifted",
        features.len()
    );
    // The model's outputs on the evaluation data are the reference of its live outputs: the
    // same rows (the bundle's evaluation dataset is this batch) give the same outputs, so
    // nothing drifts; a skewed stream (only the rows of one class) drifts both.
    for output in ["score", "prediction"] {
        assert_eq!(
            output_drift(&metrics, output),
            (false, output == "prediction"),
            "{output} on the evaluation rows themselves\n{metrics}"
        );
    }
    drop(server);
    let targets: Vec<f64> = std::fs::read_to_string(&batch2)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(30).unwrap().parse().unwrap())
        .collect();
    let malignant: Vec<&Vec<f64>> = rows
        .iter()
        .zip(&targets)
        .filter(|(_, t)| **t == 0.0)
        .map(|(r, _)| r)
        .collect();
    assert!(malignant.len() >= 50, "{} rows of class 0", malignant.len());
    let server = serve(&[&bundle, "--metrics"]);
    let invocations = format!("{}/invocations", server.http);
    let a = post(
        &invocations,
        &json!({"dataframe_split": {"columns": features, "data": malignant}}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let (_, metrics) = get(&format!("{}/metrics", server.http));
    for output in ["score", "prediction"] {
        assert!(
            output_drift(&metrics, output).0,
            "{output} of one class only\n{metrics}"
        );
    }
}

/// Whether the output drifted, and whether its score is a p-value of 1 (identical counts),
/// from `lathe_prediction_drifted` and `lathe_prediction_drift_score`.
fn output_drift(metrics: &str, output: &str) -> (bool, bool) {
    let line = |name: &str| -> f64 {
        let prefix = format!("{name}{{output=\"{output}\",");
        metrics
            .lines()
            .find(|l| l.starts_with(&prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no {prefix} series in\n{metrics}"))
            .parse()
            .unwrap()
    };
    (
        line("lathe_prediction_drifted") == 1.0,
        line("lathe_prediction_drift_score") == 1.0,
    )
}
