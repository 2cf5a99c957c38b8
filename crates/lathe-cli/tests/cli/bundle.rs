//! `lathe bundle export|verify|inspect|check-drift|list` and `lathe key new`: JSON shapes,
//! exit codes (verify 0 only when everything holds; check-drift 3 on drift with
//! --fail-on-drift) and clear errors.

use crate::{check, demo, file, json, keys, lathe, path_str};

#[test]
fn export_verify_inspect_and_check_drift() {
    let (tmp, p) = demo();
    let key = tmp.path().join("ops.key");
    let made = json(&["key", "new", "--out", path_str(&key)]);
    assert_eq!(keys(&made), ["fingerprint", "private_key", "public_key"]);
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
