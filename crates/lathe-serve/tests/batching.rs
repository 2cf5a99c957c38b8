//! The batching queue in-process: a request carried over to the next batch (it did not fit
//! in `max_batch`) is answered without waiting for new traffic. Before the fix, a worker
//! holding a carried request waited for the queue's lock, which the other worker held while it
//! waited for new requests: the last request of a burst hung until the next one arrived
//! (seen as a 17-minute stall in tests/bench/serve.sh at 64 × 100-row requests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use lathe_core::model::Model;
use lathe_core::serve::{ModelParts, Served};

fn served() -> Served {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/models/breast_cancer_logreg.onnx");
    let model = Model::load(&std::fs::read(&path).unwrap(), "logreg").unwrap();
    Served::model(ModelParts {
        model,
        reference: path.display().to_string(),
        features: (0..30).map(|j| format!("f{j}")).collect(),
    })
}

#[test]
fn a_request_carried_to_the_next_batch_is_answered_in_a_quiet_queue() {
    let options = lathe_serve::Options {
        port: 0,
        grpc_port: None,
        threads: 2,
        max_batch: 150,
        ..Default::default()
    };
    let server = lathe_serve::Server::start(served(), options, None).unwrap();
    let url = server.status.infer_url.clone();
    let rows: Vec<Vec<f64>> = (0..100)
        .map(|i| (0..30).map(|j| f64::from(i * 30 + j) / 100.0).collect())
        .collect();
    let body = serde_json::json!({
        "inputs": [{"name": "input", "datatype": "FP64", "shape": [100, 30], "data": rows}]
    })
    .to_string();
    lathe_testkit::block_on(async move {
        let client = reqwest::Client::new();
        for round in 0..20 {
            let requests = (0..2).map(|_| {
                client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
            });
            let answers = tokio::time::timeout(
                Duration::from_secs(10),
                futures_util::future::join_all(requests),
            )
            .await
            .unwrap_or_else(|_| panic!("round {round}: a request was not answered in 10 s"));
            for a in answers {
                assert_eq!(a.unwrap().status().as_u16(), 200);
            }
        }
    });
    server.stop().unwrap();
}
