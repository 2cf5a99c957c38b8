//! `lathe monitor`: the JSON shape the issue fixes, the alert gate, and every bad input refused
//! by name. The numbers themselves are checked against NannyML in lathe-core's tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{lathe, run_error, run_json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/monitor")
}

fn data(name: &str) -> String {
    fixtures().join("data").join(name).display().to_string()
}

const COLUMNS: [&str; 4] = [
    "--score-column",
    "y_pred_proba",
    "--prediction-column",
    "y_pred",
];

fn monitor(reference: &str, analysis: &str, extra: &[&str]) -> Value {
    let mut args = vec!["monitor", reference, analysis];
    args.extend(COLUMNS);
    args.extend(extra);
    run_json(lathe(), &args)
}

fn failure(reference: &str, analysis: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["monitor", reference, analysis];
    args.extend(extra);
    run_error(lathe(), &args)
}

#[test]
fn the_json_has_the_issue_shape_and_nannymls_numbers() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let case = &expected["cases"]["car_loan_size_5000"];
    let out = monitor(
        &data("car_loan_reference.parquet"),
        &data("car_loan_analysis.parquet"),
        &[
            "--chunk-size",
            "5000",
            "--timestamp-column",
            "timestamp",
            "--features",
            "car_value,salary_range,debt_to_income_ratio,loan_length,repaid_loan_on_prev_car,size_of_downpayment,driver_tenure",
        ],
    );
    let multivariate = &expected["reconstruction"]["car_loan_size_5000"]["chunks"];
    assert_eq!(out["task"], "binary_classification");
    assert_eq!(out["chunking"]["by"], "size");
    assert_eq!(out["chunking"]["value"], 5000);
    let chunks = out["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 20);
    for (k, (ours, theirs)) in chunks
        .iter()
        .zip(case["chunks"].as_array().unwrap())
        .enumerate()
    {
        for key in [
            "key",
            "period",
            "start_index",
            "end_index",
            "start_date",
            "end_date",
        ] {
            assert_eq!(ours[key], theirs[key], "{key}");
        }
        let (m, e) = (&ours["multivariate"], &multivariate[k]);
        for (field, theirs_field) in [
            ("reconstruction_error", "value"),
            ("sampling_error", "sampling_error"),
            ("lower_threshold", "lower_threshold"),
            ("upper_threshold", "upper_threshold"),
        ] {
            let (a, b) = (
                m[field].as_f64().unwrap(),
                e[theirs_field].as_f64().unwrap(),
            );
            assert!(
                (a - b).abs() <= 1e-9 * b.abs(),
                "multivariate {field}: {a} vs {b}"
            );
        }
        assert_eq!(m["alert"], e["alert"]);
        let (m, e) = (&ours["metrics"]["f1"], &theirs["metrics"]["f1"]);
        for (field, theirs_field) in [
            ("estimated", "value"),
            ("realized", "realized"),
            ("lower_threshold", "lower_threshold"),
            ("upper_threshold", "upper_threshold"),
            ("lower_confidence", "lower_confidence_boundary"),
            ("upper_confidence", "upper_confidence_boundary"),
            ("sampling_error", "sampling_error"),
        ] {
            let (a, b) = (
                m[field].as_f64().unwrap(),
                e[theirs_field].as_f64().unwrap(),
            );
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{field}: {a} vs {b}");
        }
        assert_eq!(m["alert"], e["alert"]);
    }
    let alerts = out["alerts"].as_array().unwrap();
    assert!(
        !alerts.is_empty(),
        "the car-loan analysis drops below the thresholds"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["chunk"].is_string() && a["metric"].is_string())
    );
}

#[test]
fn fail_on_alert_exits_3_and_an_analysis_without_targets_has_no_realised_values() {
    let dir = tempfile::tempdir().unwrap();
    // The analysis without its target column.
    let csv = dir.path().join("analysis.csv");
    let mut text = String::from("y_pred_proba,y_pred\n");
    for i in 0..600 {
        // Scores pulled towards 0.5: a model far less sure than on the reference.
        let p = 0.45 + 0.1 * ((i * 37 % 100) as f64 / 100.0);
        text.push_str(&format!("{p},{}\n", u8::from(p >= 0.5)));
    }
    std::fs::write(&csv, text).unwrap();
    let reference = data("continuous_reference.parquet");
    let analysis = csv.display().to_string();
    let out = monitor(&reference, &analysis, &["--chunk-size", "100"]);
    let analysis_chunks: Vec<&Value> = out["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["period"] == "analysis")
        .collect();
    assert_eq!(analysis_chunks.len(), 6);
    for c in &analysis_chunks {
        assert_eq!(c["metrics"]["roc_auc"]["realized"], Value::Null);
        assert!(c["metrics"]["roc_auc"]["estimated"].is_f64());
    }
    assert!(!out["alerts"].as_array().unwrap().is_empty());

    let mut args = vec!["monitor", reference.as_str(), analysis.as_str()];
    args.extend(COLUMNS);
    args.extend(["--chunk-size", "100", "--fail-on-alert"]);
    let status = lathe().args(&args).output().unwrap().status;
    assert_eq!(status.code(), Some(3));
    // Without alerts the gate passes: the reference against itself.
    let mut args = vec!["monitor", reference.as_str(), reference.as_str()];
    args.extend(COLUMNS);
    args.extend(["--chunk-size", "2000", "--fail-on-alert"]);
    let status = lathe().args(&args).output().unwrap().status;
    assert_eq!(status.code(), Some(0));
}

/// One bad input: a reference and analysis CSV, the flags, and what the message must say.
struct Bad {
    what: &'static str,
    reference: String,
    analysis: String,
    flags: Vec<&'static str>,
    says: &'static [&'static str],
}

#[test]
fn every_bad_input_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let rows = |f: &dyn Fn(usize) -> String| {
        let mut t = String::from("ts,score,pred,target\n");
        for i in 0..100 {
            t.push_str(&f(i));
            t.push('\n');
        }
        t
    };
    let good = |i: usize| {
        let p = (i % 10) as f64 / 10.0 + 0.05;
        let y = u8::from((i * 7) % 10 < (p * 10.0) as usize);
        format!(
            "2024-01-{:02} 00:00,{p},{},{y}",
            i % 28 + 1,
            u8::from(p >= 0.5)
        )
    };
    let ok = write("ok.csv", rows(&good));
    let flags = vec!["--score-column", "score", "--prediction-column", "pred"];
    // No score column named: the 0/1 predictions are taken for a regressor's, and the report
    // says so.
    let taken = run_json(
        lathe(),
        &[
            "monitor",
            &ok,
            &ok,
            "--prediction-column",
            "pred",
            "--no-column-drift",
        ],
    );
    assert_eq!(taken["task"], "regression");
    assert!(
        taken["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("--score-column")),
        "{}",
        taken["warnings"]
    );
    let cases = vec![
        Bad {
            what: "a score column that does not exist",
            reference: ok.clone(),
            analysis: ok.clone(),
            flags: vec!["--score-column", "proba", "--prediction-column", "pred"],
            says: &["no column 'proba'", "score"],
        },
        Bad {
            what: "a score that is not a probability (a logit)",
            reference: write(
                "logit.csv",
                rows(&|i| format!("2024-01-01,{},1,{}", i as f64 / 10.0 - 5.0, i % 2)),
            ),
            analysis: ok.clone(),
            flags: flags.clone(),
            says: &["not a probability", "row 1"],
        },
        Bad {
            what: "a reference with one class",
            reference: write(
                "one.csv",
                rows(&|i| format!("2024-01-01,0.{},0,1", i % 9 + 1)),
            ),
            analysis: ok.clone(),
            flags: flags.clone(),
            says: &["both classes"],
        },
        Bad {
            what: "a prediction that is not 0/1",
            reference: write("pred.csv", rows(&|i| format!("2024-01-01,0.5,{},1", i % 3))),
            analysis: ok.clone(),
            flags: flags.clone(),
            says: &["'pred'", "must be 0 and 1"],
        },
        Bad {
            what: "a reference without its targets",
            reference: write("notarget.csv", "score,pred\n0.3,0\n0.7,1\n".to_owned()),
            analysis: ok.clone(),
            flags: flags.clone(),
            says: &["no column 'target'", "reference"],
        },
        Bad {
            what: "a reference row without a target",
            reference: write(
                "gap.csv",
                rows(&|i| {
                    if i == 5 {
                        "2024-01-01,0.5,1,".to_owned()
                    } else {
                        good(i)
                    }
                }),
            ),
            analysis: ok.clone(),
            flags: flags.clone(),
            says: &["row 6", "target"],
        },
        Bad {
            what: "a timestamp that does not parse",
            reference: ok.clone(),
            analysis: write(
                "badtime.csv",
                rows(&|i| {
                    if i == 3 {
                        "soon,0.5,1,1".to_owned()
                    } else {
                        good(i)
                    }
                }),
            ),
            flags: [&flags[..], &["--timestamp-column", "ts"]].concat(),
            says: &["'soon'", "row 4", "not a date"],
        },
        Bad {
            what: "a row without a timestamp",
            reference: ok.clone(),
            analysis: write(
                "notime.csv",
                rows(&|i| {
                    if i == 7 {
                        ",0.5,1,1".to_owned()
                    } else {
                        good(i)
                    }
                }),
            ),
            flags: [&flags[..], &["--timestamp-column", "ts"]].concat(),
            says: &["row 8", "'ts'"],
        },
        Bad {
            what: "more chunks than rows",
            reference: ok.clone(),
            analysis: ok.clone(),
            flags: [&flags[..], &["--chunk-number", "500"]].concat(),
            says: &["fewer than the 500 chunks"],
        },
        Bad {
            what: "a period without a timestamp column",
            reference: ok.clone(),
            analysis: ok.clone(),
            flags: [&flags[..], &["--chunk-period", "1d"]].concat(),
            says: &["--timestamp-column"],
        },
        Bad {
            what: "an ambiguous period",
            reference: ok.clone(),
            analysis: ok.clone(),
            flags: [
                &flags[..],
                &["--chunk-period", "m", "--timestamp-column", "ts"],
            ]
            .concat(),
            says: &["'m'", "ambiguous"],
        },
        Bad {
            what: "a feature that does not exist",
            reference: ok.clone(),
            analysis: ok.clone(),
            flags: [&flags[..], &["--features", "age"]].concat(),
            says: &["no column 'age'", "reference"],
        },
        Bad {
            what: "the timestamp as a feature",
            reference: ok.clone(),
            analysis: ok.clone(),
            flags: [
                &flags[..],
                &["--features", "ts", "--timestamp-column", "ts"],
            ]
            .concat(),
            says: &["'ts'", "the timestamp column"],
        },
        Bad {
            what: "a metric CBPE does not estimate",
            reference: ok.clone(),
            analysis: ok.clone(),
            flags: [&flags[..], &["--metrics", "roc_auc,mse"]].concat(),
            says: &["'mse'", "roc_auc"],
        },
    ];
    for case in cases {
        let (code, message) = failure(&case.reference, &case.analysis, &case.flags);
        assert_eq!(code, "bad_argument", "{}: {message}", case.what);
        for s in case.says {
            assert!(
                message.contains(s),
                "{}: {message:?} lacks {s:?}",
                case.what
            );
        }
    }
    // Two chunkings at once: clap refuses them before Lathe runs.
    let out = lathe()
        .args([
            "monitor",
            &ok,
            &ok,
            "--chunk-size",
            "10",
            "--chunk-number",
            "3",
        ])
        .args(&flags)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn average_precision_the_confusion_matrix_and_business_value_come_from_their_flags() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let case = &expected["cases"]["continuous_more_size_2000"];
    let (reference, analysis) = (
        data("continuous_reference.parquet"),
        data("continuous_analysis.parquet"),
    );
    let out = monitor(
        &reference,
        &analysis,
        &[
            "--chunk-size",
            "2000",
            "--no-column-drift",
            "--metrics",
            "average_precision,confusion_matrix,business_value",
            "--business-value",
            "0,-5,-20,10",
            "--business-value-per-prediction",
        ],
    );
    let names: Vec<&str> = out["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "average_precision",
            "true_positive",
            "true_negative",
            "false_positive",
            "false_negative",
            "business_value"
        ]
    );
    for (ours, theirs) in out["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["chunks"].as_array().unwrap())
    {
        for name in &names {
            let (a, e) = (
                ours["metrics"][name]["estimated"].as_f64().unwrap(),
                theirs["metrics"][name]["value"].as_f64().unwrap(),
            );
            assert!(
                (a - e).abs() <= 1e-9 * e.abs().max(1.0),
                "{name}: {a} vs {e}"
            );
        }
    }
    // The business value's values alone add it to the default metrics.
    let out = monitor(
        &reference,
        &analysis,
        &["--no-column-drift", "--business-value", "1,-2,-3,4"],
    );
    assert_eq!(out["metrics"].as_array().unwrap().len(), 7);
    assert_eq!(out["metrics"][6], "business_value");
    // Each mistake is named.
    for (extra, says) in [
        (
            vec!["--metrics", "business_value"],
            "--business-value TN,FP,FN,TP",
        ),
        (
            vec!["--business-value", "1,2,3"],
            "a square of finite numbers",
        ),
        (
            vec!["--business-value-per-prediction"],
            "give its values too",
        ),
        (
            vec!["--metrics", "confusion"],
            "confusion_matrix for its four cells",
        ),
    ] {
        let mut args: Vec<&str> = COLUMNS.to_vec();
        args.push("--no-column-drift");
        args.extend(extra.iter().copied());
        let (_, stderr) = failure(&reference, &analysis, &args);
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
    // A value that is not a number is a usage error (exit 2) naming the flag.
    let out = lathe()
        .args(["monitor", &reference, &analysis])
        .args(COLUMNS)
        .args(["--business-value", "1,2,x,4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--business-value"));
}

#[test]
fn unsorted_timestamps_are_ordered_and_few_chunks_warn() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("shuffled.csv");
    let mut text = String::from("ts,score,pred,target\n");
    for i in 0..300usize {
        let day = (i * 7919) % 300; // every day once, out of order
        let p = ((day * 31) % 97) as f64 / 100.0 + 0.01;
        let y = u8::from((day * 13) % 100 < (p * 100.0) as usize);
        let (y0, m0, d0) = (2024, 1 + day / 28 % 12, day % 28 + 1);
        text.push_str(&format!(
            "{y0}-{m0:02}-{d0:02},{p},{},{y}\n",
            u8::from(p >= 0.5)
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let path = csv.display().to_string();
    let out = run_json(
        lathe(),
        &[
            "monitor",
            &path,
            &path,
            "--score-column",
            "score",
            "--prediction-column",
            "pred",
            "--timestamp-column",
            "ts",
            "--chunk-number",
            "4",
        ],
    );
    let chunks = out["chunks"].as_array().unwrap();
    let dates: Vec<&str> = chunks
        .iter()
        .filter(|c| c["period"] == "analysis")
        .map(|c| c["start_date"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
    let warnings = out["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("fewer than 6")),
        "{warnings:?}"
    );
}

#[test]
fn an_identifier_column_is_not_a_default_feature() {
    // The car-loan tables have an `id` column (0..50,000, then 50,000..100,000): as a feature it
    // would drift by construction.
    let out = monitor(
        &data("car_loan_reference.parquet"),
        &data("car_loan_analysis.parquet"),
        &["--chunk-size", "5000", "--timestamp-column", "timestamp"],
    );
    let features: Vec<&str> = out["multivariate_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(!features.contains(&"id"), "{features:?}");
    assert!(features.contains(&"car_value") && features.contains(&"salary_range"));
    let warnings = out["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("id: every value differs")),
        "{warnings:?}"
    );
}

/// The repository's file, by its path from the root.
fn asset(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
        .display()
        .to_string()
}

#[test]
fn a_model_computes_the_outputs_the_columns_would_hold() {
    let model = asset("assets/models/breast_cancer_logreg.onnx");
    let reference = asset("assets/datasets/breast_cancer.csv");
    let analysis = asset("assets/datasets/breast_cancer_batch2.csv");
    let header = std::fs::read_to_string(&reference).unwrap();
    let features: Vec<&str> = header
        .lines()
        .next()
        .unwrap()
        .split(',')
        .filter(|c| *c != "target" && *c != "diagnosis")
        .collect();
    let features = features.join(",");
    let by_model = run_json(
        lathe(),
        &[
            "monitor",
            &model,
            &reference,
            &analysis,
            "--features",
            &features,
            "--chunk-size",
            "50",
        ],
    );
    let chunks = by_model["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 12 + 6, "569 and 284 rows by 50");
    assert_eq!(
        by_model["multivariate_features"].as_array().unwrap().len(),
        30
    );
    for c in chunks {
        let m = &c["metrics"]["roc_auc"];
        assert!(
            (0.0..=1.0).contains(&m["estimated"].as_f64().unwrap()),
            "{c}"
        );
        assert!(
            m["realized"].is_f64(),
            "both tables have their targets: {c}"
        );
    }

    // The same numbers from the model's predictions written as columns.
    let dir = tempfile::tempdir().unwrap();
    let with_outputs = |data: &str, name: &str| {
        let out = dir.path().join(format!("{name}.csv"));
        let p = lathe()
            .args([
                "model",
                "predict",
                &model,
                data,
                "--features",
                &features,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
        let predicted: Value = serde_json::from_slice(&p.stdout).unwrap();
        let outputs = predicted["outputs"].as_object().unwrap();
        let labels = outputs
            .values()
            .find(|v| v[0].is_i64() || v[0].is_string())
            .unwrap()
            .as_array()
            .unwrap()
            .clone();
        let probabilities = outputs
            .values()
            .find(|v| v[0].is_array() || v[0].is_object())
            .unwrap()
            .as_array()
            .unwrap()
            .clone();
        let targets: Vec<String> = std::fs::read_to_string(data)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let cols: Vec<&str> = header.lines().next().unwrap().split(',').collect();
                let at = cols.iter().position(|c| *c == "target").unwrap();
                l.split(',').nth(at).unwrap().to_owned()
            })
            .collect();
        let mut text = String::from("score,pred,target\n");
        for ((label, proba), target) in labels.iter().zip(&probabilities).zip(&targets) {
            let p1 = match proba {
                Value::Array(a) => a[1].as_f64().unwrap(),
                Value::Object(o) => o["1"].as_f64().unwrap(),
                _ => unreachable!(),
            };
            let label = label
                .as_i64()
                .map_or_else(|| label.as_str().unwrap().to_owned(), |v| v.to_string());
            text.push_str(&format!("{p1},{label},{target}\n"));
        }
        std::fs::write(&out, text).unwrap();
        out.display().to_string()
    };
    let ref_csv = with_outputs(&reference, "reference");
    let ana_csv = with_outputs(&analysis, "analysis");
    let by_columns = run_json(
        lathe(),
        &[
            "monitor",
            &ref_csv,
            &ana_csv,
            "--score-column",
            "score",
            "--prediction-column",
            "pred",
            "--chunk-size",
            "50",
        ],
    );
    assert_eq!(by_model["calibration"], by_columns["calibration"]);
    for (a, b) in chunks.iter().zip(by_columns["chunks"].as_array().unwrap()) {
        for metric in ["roc_auc", "f1", "accuracy"] {
            let (x, y) = (&a["metrics"][metric], &b["metrics"][metric]);
            for field in ["estimated", "realized", "sampling_error", "lower_threshold"] {
                let (x, y) = (x[field].as_f64(), y[field].as_f64());
                match (x, y) {
                    (Some(x), Some(y)) => {
                        assert!((x - y).abs() <= 1e-12, "{metric} {field}: {x} vs {y}")
                    }
                    _ => assert_eq!(x, y, "{metric} {field}"),
                }
            }
        }
    }
    // A MODEL and output columns together are refused.
    let (_, message) = run_error(
        lathe(),
        &[
            "monitor",
            &model,
            &reference,
            &analysis,
            "--features",
            &features,
            "--score-column",
            "score",
        ],
    );
    assert!(message.contains("pass one"), "{message}");
}

#[test]
fn a_bundle_monitors_production_data_as_the_project_does() {
    let (_tmp, project) = crate::demo();
    let dir = tempfile::tempdir().unwrap();
    let export = |out: &str| {
        run_json(
            lathe(),
            &[
                "--project",
                &project,
                "bundle",
                "export",
                "breast_cancer_classifier@1",
                "--eval-dataset",
                "breast_cancer@1",
                "--out",
                out,
            ],
        )
    };
    let bundle = dir.path().join("bc.tar.gz").display().to_string();
    export(&bundle);
    let production = asset("assets/datasets/breast_cancer_batch2.csv");
    let from_bundle = run_json(
        lathe(),
        &[
            "bundle",
            "monitor",
            &bundle,
            &production,
            "--chunk-size",
            "50",
        ],
    );
    let from_project = run_json(
        lathe(),
        &[
            "--project",
            &project,
            "monitor",
            "breast_cancer_classifier@1",
            "breast_cancer@1",
            &production,
            "--chunk-size",
            "50",
            // A bundle holds no reference rows to test single columns against.
            "--no-column-drift",
        ],
    );
    assert_eq!(from_bundle["column_drift"], serde_json::json!([]));
    assert_eq!(from_bundle["chunks"], from_project["chunks"]);
    assert_eq!(from_bundle["calibration"], from_project["calibration"]);
    assert_eq!(from_bundle["alerts"], from_project["alerts"]);
    assert_eq!(from_bundle["chunks"].as_array().unwrap().len(), 12 + 6);
    // Production data without its targets: estimates, no realised values.
    let header_and_rows = std::fs::read_to_string(&production).unwrap();
    let cols: Vec<&str> = header_and_rows.lines().next().unwrap().split(',').collect();
    let at = cols.iter().position(|c| *c == "target").unwrap();
    let unlabelled: String = header_and_rows
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(at);
            f.join(",") + "\n"
        })
        .collect();
    let path = dir.path().join("unlabelled.csv");
    std::fs::write(&path, unlabelled).unwrap();
    let blind = run_json(
        lathe(),
        &[
            "bundle",
            "monitor",
            &bundle,
            path.to_str().unwrap(),
            "--chunk-size",
            "50",
        ],
    );
    for (a, b) in blind["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(from_bundle["chunks"].as_array().unwrap())
    {
        assert_eq!(
            a["metrics"]["f1"]["estimated"],
            b["metrics"]["f1"]["estimated"]
        );
        if a["period"] == "analysis" {
            assert_eq!(a["metrics"]["f1"]["realized"], Value::Null);
        }
    }
    // A bundle that fails verification is refused.
    let folder = dir.path().join("bc");
    export(folder.to_str().unwrap());
    let reference = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path().join("monitoring/monitor_reference.json"))
        .find(|p| p.exists())
        .unwrap_or_else(|| folder.join("monitoring/monitor_reference.json"));
    let mut bytes = std::fs::read(&reference).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&reference, bytes).unwrap();
    let (code, message) = run_error(
        lathe(),
        &["bundle", "monitor", folder.to_str().unwrap(), &production],
    );
    assert_eq!(code, "bad_bundle", "{message}");
    assert!(message.contains("monitor_reference.json"), "{message}");
}

/// A regressor (one number per row, no labels) is monitored by DLE: its losses estimated per
/// chunk, the same as from its prediction column; a classifier's metric is refused for it.
#[test]
fn a_regressor_is_monitored_by_direct_loss_estimation() {
    let (tmp, dir) = crate::demo();
    let regressor = "diabetes_regressor@1";
    let data = asset("assets/datasets/diabetes.csv");
    let report = run_json(
        lathe(),
        &[
            "monitor",
            regressor,
            &data,
            &data,
            "--chunk-number",
            "6",
            "--no-column-drift",
            "--project",
            &dir,
        ],
    );
    assert_eq!(report["task"], "regression");
    assert_eq!(report["calibration"], Value::Null);
    let metrics: Vec<&str> = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(metrics, ["mae", "mape", "mse", "rmse", "msle", "rmsle"]);
    let first = &report["chunks"][0]["metrics"]["mae"];
    for field in ["estimated", "sampling_error", "realized", "lower_threshold"] {
        assert!(first[field].as_f64().is_some(), "{field}: {first}");
    }
    // The same from a prediction column: the model's predictions written beside the data.
    let predictions = tmp.path().join("predictions.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lathe"))
        .args([
            "model",
            "predict",
            regressor,
            &data,
            "--out",
            predictions.to_str().unwrap(),
            "--project",
            &dir,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = std::fs::read_to_string(&data).unwrap();
    let values = std::fs::read_to_string(&predictions).unwrap();
    let prediction = values.lines().next().unwrap().trim().to_owned();
    let joined: String = rows
        .lines()
        .zip(values.lines())
        .map(|(r, v)| format!("{r},{v}\n"))
        .collect();
    let predicted = tmp.path().join("predicted.csv");
    std::fs::write(&predicted, joined).unwrap();
    let features = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6";
    let from_columns = run_json(
        lathe(),
        &[
            "monitor",
            predicted.to_str().unwrap(),
            predicted.to_str().unwrap(),
            "--prediction-column",
            &prediction,
            "--features",
            features,
            "--chunk-number",
            "6",
            "--no-column-drift",
        ],
    );
    assert_eq!(from_columns["task"], "regression");
    for (a, b) in report["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(from_columns["chunks"].as_array().unwrap())
    {
        for m in metrics.iter().copied() {
            let (x, y) = (
                a["metrics"][m]["realized"].as_f64().unwrap(),
                b["metrics"][m]["realized"].as_f64().unwrap(),
            );
            assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{m}: {x} vs {y}");
        }
    }
    // A classifier's metric is not a regressor's.
    let (code, message) = run_error(
        lathe(),
        &[
            "monitor",
            regressor,
            &data,
            &data,
            "--metrics",
            "roc_auc",
            "--project",
            &dir,
        ],
    );
    assert_eq!(code, "bad_argument", "{message}");
    assert!(
        message.contains("roc_auc") && message.contains("mae"),
        "{message}"
    );
}

#[test]
fn a_multiclass_model_is_monitored_by_its_class_probabilities() {
    // A three-class logistic regression computes the outputs: multiclass CBPE.
    let multi = asset("tests/fixtures/models/logreg_multi.onnx");
    let classes = asset("tests/fixtures/models/diabetes_class.csv");
    let features = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6";
    let out = run_json(
        lathe(),
        &[
            "monitor",
            &multi,
            &classes,
            &classes,
            "--features",
            features,
            "--target",
            "target_class",
            "--chunk-number",
            "4",
        ],
    );
    assert_eq!(out["task"], "multiclass_classification");
    assert_eq!(out["classes"].as_array().unwrap().len(), 3, "{out}");
    let metrics: Vec<&str> = out["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        metrics,
        [
            "roc_auc",
            "f1",
            "precision",
            "recall",
            "specificity",
            "accuracy"
        ]
    );
    // 442 rows in four chunks of 110 and a last one of 2 (NannyML's rule), too few to judge.
    let chunks = out["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 10);
    for chunk in chunks.iter().filter(|c| c["rows"] == 110) {
        for m in &metrics {
            let v = &chunk["metrics"][m];
            assert!(v["estimated"].as_f64().unwrap().is_finite(), "{m}: {v}");
            // The analysis has its targets: the realised value is drawn beside.
            assert!(v["realized"].as_f64().unwrap().is_finite(), "{m}: {v}");
        }
    }
}

#[test]
fn a_multiclass_classifiers_columns_give_nannymls_numbers_and_bad_ones_are_refused() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let case = &expected["cases"]["credit_card_size_6000"];
    let (reference, analysis) = (
        data("credit_card_reference.parquet"),
        data("credit_card_analysis.parquet"),
    );
    let scores = "prepaid_card=y_pred_proba_prepaid_card,highstreet_card=y_pred_proba_highstreet_card,upmarket_card=y_pred_proba_upmarket_card";
    let base = [
        "monitor",
        &reference,
        &analysis,
        "--score-column",
        scores,
        "--prediction-column",
        "y_pred",
        "--target",
        "y_true",
        "--timestamp-column",
        "timestamp",
        "--chunk-size",
        "6000",
        "--no-column-drift",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--metrics",
        "accuracy,business_value",
        "--business-value",
        "4,-1,-2,-1,2,-1,-3,-1,6",
    ]);
    let out = run_json(lathe(), &args);
    assert_eq!(out["task"], "multiclass_classification");
    assert_eq!(
        out["classes"],
        serde_json::json!(["highstreet_card", "prepaid_card", "upmarket_card"])
    );
    let chunks = out["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), case["chunks"].as_array().unwrap().len());
    for (ours, theirs) in chunks.iter().zip(case["chunks"].as_array().unwrap()) {
        for m in ["accuracy", "business_value"] {
            let (a, e) = (
                ours["metrics"][m]["estimated"].as_f64().unwrap(),
                theirs["metrics"][m]["value"].as_f64().unwrap(),
            );
            assert!((a - e).abs() <= 1e-9 * e.abs(), "{m}: {a} vs NannyML {e}");
            assert_eq!(ours["metrics"][m]["alert"], theirs["metrics"][m]["alert"]);
        }
    }
    // A 2 × 2 business value for three classes; a confusion matrix of three classes; two
    // classes only; a prediction that is not one of the classes.
    for (extra, needle) in [
        (
            vec!["--business-value", "0,-10,-50,20"],
            "2 × 2 matrix but the model has 3 classes",
        ),
        (
            vec!["--metrics", "true_positive"],
            "a binary classifier's cells",
        ),
        (
            vec!["--metrics", "mae"],
            "not estimated for a multiclass classifier",
        ),
        (
            vec!["--normalize-confusion-matrix", "rows"],
            "'rows' is not a normalisation",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend(extra);
        let (code, message) = run_error(lathe(), &args);
        assert_eq!(code, "bad_argument", "{message}");
        assert!(message.contains(needle), "{message}");
    }
    // The confusion matrix, normalised by the true class, cell by cell as NannyML names them.
    let case = &expected["cases"]["softmax_cm_true_number_8"];
    let out = run_json(
        lathe(),
        &[
            "monitor",
            &data("softmax_reference.parquet"),
            &data("softmax_analysis.parquet"),
            "--score-column",
            "a=y_pred_proba_a,b=y_pred_proba_b,c=y_pred_proba_c,d=y_pred_proba_d",
            "--prediction-column",
            "y_pred",
            "--target",
            "y_true",
            "--chunk-number",
            "8",
            "--no-column-drift",
            "--metrics",
            "confusion_matrix",
            "--normalize-confusion-matrix",
            "true",
        ],
    );
    assert_eq!(out["metrics"].as_array().unwrap().len(), 16);
    assert_eq!(out["metrics"][1], "true_a_pred_b");
    for (ours, theirs) in out["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["chunks"].as_array().unwrap())
    {
        for (cell, e) in theirs["metrics"].as_object().unwrap() {
            let (a, e) = (
                ours["metrics"][cell]["estimated"].as_f64().unwrap(),
                e["value"].as_f64().unwrap(),
            );
            assert!(
                (a - e).abs() <= 1e-9 * e.abs().max(1e-3),
                "{cell}: {a} vs NannyML {e}"
            );
        }
    }
    let two = "prepaid_card=y_pred_proba_prepaid_card,highstreet_card=y_pred_proba_highstreet_card";
    let mut args = base.to_vec();
    args[4] = two;
    let (code, message) = run_error(lathe(), &args);
    assert_eq!(code, "bad_argument", "{message}");
    assert!(message.contains("three or more"), "{message}");
    let swapped = "prepaid_card=y_pred_proba_prepaid_card,highstreet_card=y_pred_proba_highstreet_card,gold_card=y_pred_proba_upmarket_card";
    let mut args = base.to_vec();
    args[4] = swapped;
    let (code, message) = run_error(lathe(), &args);
    assert_eq!(code, "bad_argument", "{message}");
    assert!(
        message.contains("\"upmarket_card\", not one of the model's classes"),
        "{message}"
    );
}

/// The demo's production log: weekly chunks of `scored_at`, labels missing in the last weeks,
/// a drop that alerts; the HTML report and the charts carry the same chunks.
#[test]
fn the_demo_production_log_alerts_and_writes_its_report_and_charts() {
    let (tmp, dir) = crate::demo();
    let html = tmp.path().join("monitor.html");
    let charts = tmp.path().join("charts");
    let report = run_json(
        lathe(),
        &[
            "monitor",
            "breast_cancer_classifier@production",
            "breast_cancer_production@1",
            "breast_cancer_production@2",
            "--timestamp-column",
            "scored_at",
            "--chunk-period",
            "1w",
            "--html",
            html.to_str().unwrap(),
            "--charts",
            charts.to_str().unwrap(),
            "--project",
            &dir,
        ],
    );
    let chunks = report["chunks"].as_array().unwrap();
    let analysis: Vec<&Value> = chunks
        .iter()
        .filter(|c| c["period"] == "analysis")
        .collect();
    assert_eq!(analysis.len(), 12, "weeks 13–24");
    assert_eq!(analysis[0]["key"], "2026-03-30/2026-04-05");
    // Weeks 21–24 have no labels: estimated, not realised.
    for (week, c) in analysis.iter().enumerate() {
        let realized = &c["metrics"]["roc_auc"]["realized"];
        assert_eq!(realized.is_null(), week >= 8, "week {}: {c}", week + 13);
    }
    // The drop: the last week's estimated accuracy is below the first's and alerts, with no
    // alert in the first analysis weeks.
    let accuracy = |c: &Value| c["metrics"]["accuracy"]["estimated"].as_f64().unwrap();
    assert!(accuracy(analysis[11]) < accuracy(analysis[0]) - 0.02);
    assert_eq!(analysis[11]["metrics"]["accuracy"]["alert"], true);
    let alerts = report["alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .all(|a| a["chunk"].as_str().unwrap() >= "2026-05-04"),
        "{alerts:?}"
    );

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains(&format!("{} alerts", alerts.len())),
        "verdict"
    );
    assert!(!page.contains("<script"), "no JavaScript");
    for metric in [
        "roc_auc",
        "f1",
        "precision",
        "recall",
        "specificity",
        "accuracy",
    ] {
        assert!(
            page.contains(&format!("id=\"{metric}\"")),
            "{metric} section"
        );
        let csv = std::fs::read_to_string(charts.join(format!("monitor_{metric}.csv"))).unwrap();
        // A header and one line per chunk, the estimate as the JSON has it.
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), chunks.len() + 1, "{metric}");
        let last = lines.last().unwrap();
        let estimate = chunks.last().unwrap()["metrics"][metric]["estimated"]
            .as_f64()
            .unwrap();
        let field: f64 = last.split(',').nth(2).unwrap().parse().unwrap();
        assert!((field - estimate).abs() <= 1e-12 * estimate.abs(), "{last}");
        assert!(charts.join(format!("monitor_{metric}.svg")).is_file());
    }
    assert!(charts.join("monitor_reconstruction_error.svg").is_file());

    // Per chunk, every feature, the score and the target are tested against the whole
    // reference; the score drifts in the shifted weeks and not in the first analysis week,
    // and the target has no score where labels are missing.
    let roles: Vec<(&str, &str)> = report["column_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["column"].as_str().unwrap(), c["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles.len(),
        32,
        "30 features, the score, the target: {roles:?}"
    );
    assert!(roles.contains(&("score", "prediction")) && roles.contains(&("target", "target")));
    assert_eq!(analysis[0]["column_drift"]["score"]["drift"], false);
    assert_eq!(analysis[11]["column_drift"]["score"]["drift"], true);
    assert!(analysis[11]["column_drift"]["target"]["score"].is_null());
    for key in ["prediction_drift", "target_drift"] {
        assert!(charts.join(format!("monitor_{key}.csv")).is_file(), "{key}");
    }
    assert!(
        page.contains("id=\"column-drift\""),
        "drifted features section"
    );

    // --no-column-drift leaves the per-chunk tests out, and nothing else changes.
    let lean = run_json(
        lathe(),
        &[
            "monitor",
            "breast_cancer_classifier@production",
            "breast_cancer_production@1",
            "breast_cancer_production@2",
            "--timestamp-column",
            "scored_at",
            "--chunk-period",
            "1w",
            "--no-column-drift",
            "--project",
            &dir,
        ],
    );
    assert_eq!(lean["column_drift"], serde_json::json!([]));
    assert_eq!(lean["alerts"], report["alerts"]);

    // A report name that is not .html is refused before any work.
    let (code, message) = run_error(
        lathe(),
        &[
            "monitor",
            "breast_cancer_classifier@production",
            "breast_cancer_production@1",
            "breast_cancer_production@2",
            "--html",
            tmp.path().join("report.txt").to_str().unwrap(),
            "--project",
            &dir,
        ],
    );
    assert_eq!(code, "bad_argument", "{message}");
    assert!(message.contains(".html"), "{message}");
}

/// A multiclass model's bundle carries its monitoring reference, and `bundle monitor` gives the
/// project's numbers without the project.
#[test]
fn a_multiclass_bundle_monitors_as_the_project_does() {
    let (_tmp, project) = crate::demo();
    let classes = asset("tests/fixtures/models/diabetes_class.csv");
    let features = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6";
    let p = project.as_str();
    run_json(lathe(), &["--project", p, "dataset", "import", &classes]);
    run_json(
        lathe(),
        &[
            "--project",
            p,
            "model",
            "register",
            &asset("tests/fixtures/models/logreg_multi.onnx"),
            "--name",
            "progression_band",
            "--dataset",
            "diabetes_class@1",
            "--target",
            "target_class",
            "--features",
            features,
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("multi.tar.gz").display().to_string();
    let exported = run_json(
        lathe(),
        &[
            "--project",
            p,
            "bundle",
            "export",
            "progression_band@1",
            "--eval-dataset",
            "diabetes_class@1",
            "--out",
            &bundle,
        ],
    );
    assert!(
        !exported
            .to_string()
            .contains("no monitoring/monitor_reference.json"),
        "{exported}"
    );
    let from_bundle = run_json(
        lathe(),
        &["bundle", "monitor", &bundle, &classes, "--chunk-size", "50"],
    );
    let from_project = run_json(
        lathe(),
        &[
            "--project",
            p,
            "monitor",
            "progression_band@1",
            "diabetes_class@1",
            &classes,
            "--chunk-size",
            "50",
            "--no-column-drift",
        ],
    );
    assert_eq!(from_bundle["task"], "multiclass_classification");
    assert_eq!(from_bundle["classes"], from_project["classes"]);
    assert_eq!(
        from_bundle["calibrated_classes"],
        from_project["calibrated_classes"]
    );
    assert_eq!(from_bundle["chunks"], from_project["chunks"]);
    assert_eq!(from_bundle["alerts"], from_project["alerts"]);
}

/// A regressor's bundle carries what DLE learns from (its evaluation rows' features and
/// predictions), so ops estimate its losses with no project: the same report as the project's,
/// chunk for chunk.
#[test]
fn a_regressor_bundle_monitors_as_the_project_does() {
    let (_tmp, project) = crate::demo();
    let p = project.as_str();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("regressor.tar.gz").display().to_string();
    let exported = run_json(
        lathe(),
        &[
            "--project",
            p,
            "bundle",
            "export",
            "diabetes_regressor@1",
            "--eval-dataset",
            "diabetes@1",
            "--out",
            &bundle,
        ],
    );
    assert!(
        !exported
            .to_string()
            .contains("no monitoring/monitor_reference.json"),
        "{exported}"
    );
    let data = asset("assets/datasets/diabetes.csv");
    let from_bundle = run_json(
        lathe(),
        &["bundle", "monitor", &bundle, &data, "--chunk-number", "5"],
    );
    let from_project = run_json(
        lathe(),
        &[
            "--project",
            p,
            "monitor",
            "diabetes_regressor@1",
            "diabetes@1",
            &data,
            "--chunk-number",
            "5",
            "--no-column-drift",
        ],
    );
    assert_eq!(from_bundle["task"], "regression");
    assert_eq!(from_bundle["metrics"], from_project["metrics"]);
    let estimated = &from_bundle["chunks"][7]["metrics"]["mae"]["estimated"];
    assert!(estimated.as_f64().unwrap() > 0.0, "{from_bundle}");
    assert_eq!(from_bundle["chunks"], from_project["chunks"]);
    assert_eq!(from_bundle["alerts"], from_project["alerts"]);
}
