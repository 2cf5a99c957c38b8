//! `lathe bundle export|verify|inspect|check-drift|list` and `lathe key new`: JSON shapes,
//! exit codes (verify 0 only when everything holds; check-drift 3 on drift with
//! --fail-on-drift) and clear errors.

use crate::{check, demo, file, json, keys, lathe, path_str};

#[test]
fn export_verify_inspect_and_check_drift() {
    let (tmp, p) = demo();
    let key = tmp.path().join("ops.key");
    let made = json(&["key", "new", "--out", path_str(&key)]);
    assert_eq!(
        keys(&made),
        ["fingerprint", "key_type", "private_key", "public_key"]
    );
    assert_eq!(made["key_type"], "ed25519");
    assert!(made["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
    check(
        &["key", "new", "--out", path_str(&key)],
        "bad_argument",
        &["never overwrites"],
    );

    let card = tmp.path().join("card.yaml");
    std::fs::write(
        &card,
        "intended_use: Screening support for clinicians, not diagnosis.\nlicense: apache-2.0\n",
    )
    .unwrap();
    let out = tmp.path().join("bc.tar.gz");
    let exported = json(&[
        "--project",
        &p,
        "bundle",
        "export",
        "breast_cancer_classifier@production",
        "--out",
        path_str(&out),
        "--eval-dataset",
        "breast_cancer@2",
        "--card",
        path_str(&card),
        "--sign",
        path_str(&key),
    ]);
    assert_eq!(
        keys(&exported),
        [
            "files",
            "format",
            "model",
            "notes",
            "path",
            "sha256",
            "signed_by",
            // The size as every front end shows it (added with the one bytes formatter).
            "size",
            "size_bytes"
        ]
    );
    assert_eq!(exported["model"], "breast_cancer_classifier@1");
    assert_eq!(
        exported["size"],
        lathe_core::display::bytes(exported["size_bytes"].as_u64().unwrap())
    );
    assert_eq!(exported["signed_by"], made["fingerprint"]);

    let public = made["public_key"].as_str().unwrap();
    let v = json(&["bundle", "verify", path_str(&out), "--key", public]);
    assert_eq!(
        keys(&v),
        ["files", "model", "ok", "path", "problems", "signature"]
    );
    assert_eq!(v["ok"], true);
    assert_eq!(v["signature"]["status"], "valid");
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "ok")
    );

    let i = json(&["bundle", "inspect", path_str(&out)]);
    assert_eq!(i["manifest"]["model"]["name"], "breast_cancer_classifier");
    assert!(
        i["card"]
            .as_str()
            .unwrap()
            .contains("Screening support for clinicians")
    );
    assert!(
        i["card"]
            .as_str()
            .unwrap()
            .starts_with("---\nlicense: 'apache-2.0'")
    );
    assert!(
        i["charts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "charts/shap_beeswarm.svg")
    );

    // The second batch drifted from the training data: exit code 3 with --fail-on-drift.
    let batch = file("assets/datasets/breast_cancer_batch2.csv");
    let drifted = lathe()
        .args([
            "bundle",
            "check-drift",
            path_str(&out),
            &batch,
            "--fail-on-drift",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(drifted.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&drifted.stdout).unwrap();
    assert_eq!(report["dataset_drift"], true);
    let drift_keys = keys(&report);
    let raw = json(&["--project", &p, "drift", "breast_cancer@1", &batch]);
    assert_eq!(drift_keys, keys(&raw), "the same JSON shape as lathe drift");
    let same = lathe()
        .args([
            "bundle",
            "check-drift",
            path_str(&out),
            &file("assets/datasets/breast_cancer.csv"),
            "--fail-on-drift",
        ])
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0));

    let list = json(&["--project", &p, "bundle", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["sha256"], exported["sha256"]);
    let log = json(&["--project", &p, "log"]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "bundle.export")
    );

    // Tampered: exit 1, the file named in the JSON.
    let dir = tmp.path().join("folder");
    json(&[
        "--project",
        &p,
        "bundle",
        "export",
        "diabetes_regressor",
        "--out",
        path_str(&dir),
    ]);
    let card_path = dir.join("MODEL_CARD.md");
    let mut text = std::fs::read_to_string(&card_path).unwrap();
    text.push_str("\nAlso great for loans.\n");
    std::fs::write(&card_path, text).unwrap();
    let out = lathe()
        .args(["bundle", "verify", path_str(&dir), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let bad: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "ok")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(bad, ["MODEL_CARD.md"]);
}

#[test]
fn bad_bundle_inputs_are_refused() {
    let (tmp, p) = demo();
    // Every hostile archive: exit 1 with a bad_bundle error, for verify, inspect and check-drift.
    let data = file("assets/datasets/diabetes.csv");
    for entry in std::fs::read_dir(crate::repo().join("tests/corpus/bundles")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".tar.gz") || name == "listed_absent.tar.gz" {
            continue;
        }
        let bundle = path_str(&path);
        for args in [
            vec!["bundle", "verify", bundle],
            vec!["bundle", "inspect", bundle],
            vec!["bundle", "check-drift", bundle, &data],
        ] {
            let out = lathe().args(&args).arg("--json").output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(body["error"]["code"], "bad_bundle", "{args:?}");
        }
    }
    let listed = lathe()
        .args([
            "bundle",
            "verify",
            &file("tests/corpus/bundles/listed_absent.tar.gz"),
        ])
        .output()
        .unwrap();
    assert_eq!(listed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("missing    model/model.onnx"));
    check(
        &[
            "bundle",
            "verify",
            &file("tests/corpus/bundles/dotdot.tar.gz"),
        ],
        "bad_bundle",
        &["'..'"],
    );
    check(
        &[
            "bundle",
            "inspect",
            &file("tests/corpus/bundles/bomb.tar.gz"),
        ],
        "bad_bundle",
        &["decompression bomb"],
    );
    check(
        &["bundle", "verify", &file("assets/datasets/diabetes.csv")],
        "bad_bundle",
        &["not a bundle"],
    );
    check(
        &[
            "--project",
            &p,
            "bundle",
            "export",
            "no_such_model",
            "--out",
            path_str(&tmp.path().join("x.tar.gz")),
        ],
        "not_found",
        &["no_such_model"],
    );
    let card = tmp.path().join("card.yaml");
    std::fs::write(&card, "intended_uses: typo\n").unwrap();
    check(
        &[
            "--project",
            &p,
            "bundle",
            "export",
            "diabetes_regressor",
            "--out",
            path_str(&tmp.path().join("y.tar.gz")),
            "--card",
            path_str(&card),
        ],
        "bad_input",
        &["unknown key 'intended_uses'", "intended_use"],
    );
    let not_key = tmp.path().join("not.key");
    std::fs::write(&not_key, "hello").unwrap();
    check(
        &[
            "--project",
            &p,
            "bundle",
            "export",
            "diabetes_regressor",
            "--out",
            path_str(&tmp.path().join("z.tar.gz")),
            "--sign",
            path_str(&not_key),
        ],
        "bad_input",
        &["PKCS#8", "lathe key new"],
    );
    assert!(!tmp.path().join("y.tar.gz").exists() && !tmp.path().join("z.tar.gz").exists());
    assert_eq!(
        json(&["--project", &p, "bundle", "list"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

/// `model_signing` (PyPI model-signing, the OpenSSF reference) on a bundle folder: its exit
/// status and what it printed.
fn model_signing(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let program = std::env::var_os("LATHE_MODEL_SIGNING").expect(
        "model-signing is not installed: run scripts/test.sh (it installs it), or set LATHE_MODEL_SIGNING to a model_signing executable",
    );
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .expect("run model_signing");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Copies a bundle folder.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `lathe bundle verify DIR --key KEY --json`: ok, and the signature's status.
fn lathe_verify(dir: &std::path::Path, key: Option<&std::path::Path>) -> (bool, String) {
    let mut cmd = lathe();
    cmd.args(["bundle", "verify", path_str(dir), "--json"]);
    if let Some(k) = key {
        cmd.args(["--key", path_str(k)]);
    }
    let out = cmd.output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.success(), v["ok"] == true, "{v}");
    (
        v["ok"] == true,
        v["signature"]["status"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn model_signing_and_lathe_verify_each_others_signatures() {
    use std::ffi::OsStr;
    let (tmp, p) = demo();
    let key = tmp.path().join("oms.key");
    let made = json(&[
        "key",
        "new",
        "--out",
        path_str(&key),
        "--type",
        "ecdsa-p256",
    ]);
    assert_eq!(made["key_type"], "ecdsa-p256");
    let public = tmp.path().join("oms.key.pub");
    let export = |out: &std::path::Path, sign: bool| {
        let mut args = vec![
            "--project",
            &p,
            "bundle",
            "export",
            "breast_cancer_classifier@production",
            "--out",
            path_str(out),
        ];
        if sign {
            args.extend(["--sign", path_str(&key)]);
        }
        json(&args);
    };
    let verify_with_reference = |dir: &std::path::Path| {
        model_signing(&[
            OsStr::new("verify"),
            OsStr::new("key"),
            dir.as_os_str(),
            OsStr::new("--signature"),
            dir.join("model.sig").as_os_str(),
            OsStr::new("--public_key"),
            public.as_os_str(),
        ])
    };

    // Lathe signs; the reference verifies, and so does Lathe.
    let signed = tmp.path().join("signed");
    export(&signed, true);
    let (ok, said) = verify_with_reference(&signed);
    assert!(ok, "model_signing refused Lathe's signature: {said}");
    assert_eq!(lathe_verify(&signed, Some(&public)), (true, "valid".into()));

    // Tampering with a file, the manifest or the signature: both refuse.
    let flip = |dir: &std::path::Path, rel: &str| {
        let target = dir.join(rel);
        let mut bytes = std::fs::read(&target).unwrap();
        if rel == "model.sig" {
            // A byte of the signature itself, so the file still reads as JSON.
            let mut sig: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut raw = b64
                .decode(
                    sig["dsseEnvelope"]["signatures"][0]["sig"]
                        .as_str()
                        .unwrap(),
                )
                .unwrap();
            let last = raw.len() - 1;
            raw[last] ^= 0x01;
            sig["dsseEnvelope"]["signatures"][0]["sig"] = b64.encode(raw).into();
            bytes = serde_json::to_vec(&sig).unwrap();
        } else {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
        }
        std::fs::write(&target, bytes).unwrap();
    };
    for rel in ["model/model.onnx", "manifest.json", "model.sig"] {
        let copy = tmp
            .path()
            .join(format!("tampered-{}", rel.replace('/', "-")));
        copy_folder(&signed, &copy);
        flip(&copy, rel);
        let (ok, said) = verify_with_reference(&copy);
        assert!(!ok, "model_signing missed a change to {rel}: {said}");
        assert!(!lathe_verify(&copy, Some(&public)).0, "lathe missed {rel}");
    }

    // The reference signs an unsigned bundle with Lathe's key; Lathe verifies it with the
    // public key, refuses it without one (the bundle does not name its signer) and after
    // tampering.
    let theirs = tmp.path().join("theirs");
    export(&theirs, false);
    let (ok, said) = model_signing(&[
        OsStr::new("sign"),
        OsStr::new("key"),
        theirs.as_os_str(),
        OsStr::new("--private_key"),
        key.as_os_str(),
        OsStr::new("--signature"),
        theirs.join("model.sig").as_os_str(),
    ]);
    assert!(ok, "model_signing sign: {said}");
    assert_eq!(lathe_verify(&theirs, Some(&public)), (true, "valid".into()));
    assert_eq!(lathe_verify(&theirs, None), (false, "untrusted".into()));
    flip(&theirs, "model/model.onnx");
    assert!(!lathe_verify(&theirs, Some(&public)).0);
}

#[test]
fn the_sbom_is_cyclonedx_1_6_and_names_the_model_and_data_by_hash() {
    let python = std::env::var_os("LATHE_CYCLONEDX_PYTHON").expect(
        "cyclonedx-python-lib is not installed: run scripts/test.sh (it installs it), or set LATHE_CYCLONEDX_PYTHON to the python of a virtual environment with cyclonedx-python-lib[json-validation]",
    );
    let (tmp, p) = demo();
    let card = tmp.path().join("card.yaml");
    std::fs::write(
        &card,
        "intended_use: Screening support for clinicians, not diagnosis.\nlicense: apache-2.0\n",
    )
    .unwrap();
    let dir = tmp.path().join("bc");
    json(&[
        "--project",
        &p,
        "bundle",
        "export",
        "breast_cancer_classifier@production",
        "--out",
        path_str(&dir),
        "--eval-dataset",
        "breast_cancer@2",
        "--card",
        path_str(&card),
    ]);
    let sbom_path = dir.join("sbom.cdx.json");
    let out = std::process::Command::new(python)
        .arg(file("crates/lathe-cli/tests/clients/validate_cyclonedx.py"))
        .arg(&sbom_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sbom.cdx.json fails the CycloneDX 1.6 schema: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sbom_path).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let model = &sbom["metadata"]["component"];
    assert_eq!(model["type"], "machine-learning-model");
    assert_eq!(model["hashes"][0]["content"], manifest["model"]["sha256"]);
    // The ONNX file in the bundle is the one hashed.
    let onnx = std::fs::read(dir.join("model/model.onnx")).unwrap();
    use sha2::Digest as _;
    assert_eq!(
        model["hashes"][0]["content"],
        hex_string(&sha2::Sha256::digest(&onnx))
    );
    assert_eq!(
        model["modelCard"]["considerations"]["useCases"][0],
        "Screening support for clinicians, not diagnosis."
    );
    assert_eq!(model["licenses"][0]["license"]["name"], "apache-2.0");
    let metrics = model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
        .as_array()
        .unwrap();
    assert!(
        metrics.iter().any(|m| m["type"] == "roc_auc"),
        "{metrics:?}"
    );
    let data: Vec<&serde_json::Value> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "data")
        .collect();
    let evaluation = data
        .iter()
        .find(|c| c["bom-ref"] == "dataset:evaluation")
        .expect("the evaluation dataset");
    assert_eq!(
        evaluation["hashes"][0]["content"],
        manifest["lineage"]["evaluation_dataset"]["sha256"]
    );
    assert!(
        sbom["metadata"]["tools"]["components"][0]["name"] == "lathe"
            && sbom["metadata"]["tools"]["components"][0]["version"] == manifest["lathe_version"]
    );
    // Listed and verified like every other file.
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "sbom.cdx.json")
    );
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An unknown key type is refused by name, with the types there are, and writes no key.
#[test]
fn key_new_refuses_an_unknown_type() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("k.key");
    check(
        &["key", "new", "--out", path_str(&key), "--type", "rsa-4096"],
        "bad_argument",
        &["'rsa-4096' is not a key type", "ed25519", "ecdsa-p256"],
    );
    assert!(!key.exists() && !tmp.path().join("k.key.pub").exists());
}
