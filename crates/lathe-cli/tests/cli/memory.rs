//! Bounded memory: a table larger than its memory limit is profiled, imported and compared for
//! drift within that limit plus a fixed overhead, and its numbers are the in-memory ones.
//!
//! Peak memory is the kernel's high-water mark of the `lathe` process, as GNU time reports it
//! (`%M`, the maximum resident set size). The fixed overhead is measured, not assumed: the
//! same command on a 100-row table.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{json, path_str};

const MIB: u64 = 1024;
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// A CSV of `rows` rows with the profile benchmark's mix of columns: normal and skewed
/// numbers with missing values, integer counts, a small category, and a text id with many
/// distinct values (its hash table outgrows a small budget). Deterministic.
fn write_table(path: &Path, rows: usize, seed: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "normal,skewed,count,city,id").unwrap();
    let mut x = seed;
    for _ in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let normal = if x.is_multiple_of(50) {
            String::new()
        } else {
            format!("{:.6}", 100.0 + 15.0 * (u - 0.5) * (x % 7) as f64)
        };
        let skewed = if x % 47 == 3 {
            String::new()
        } else {
            format!("{:.4}", (8.0 * u).exp())
        };
        let city = ["SE", "NO", "DK", "FI", "IS"][(x >> 40) as usize % 5];
        writeln!(
            out,
            "{normal},{skewed},{},{city},c{}",
            (x >> 20) % 40,
            (x >> 24) % (rows as u64 / 2)
        )
        .unwrap();
    }
}

/// Runs `lathe ARGS` under GNU time; its stdout as JSON, and its peak memory in KiB.
fn peak(args: &[&str]) -> (Value, u64) {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o", path_str(tmp.path())])
        .arg(assert_cmd::cargo::cargo_bin("lathe"))
        .args(args)
        .arg("--json")
        .env_remove("LATHE_PROJECT")
        .output()
        .expect("GNU time at /usr/bin/time (Debian package `time`)");
    assert!(
        out.status.success(),
        "lathe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kib = std::fs::read_to_string(tmp.path()).unwrap();
    let kib = kib.trim().lines().last().unwrap().parse().unwrap();
    (serde_json::from_slice(&out.stdout).unwrap(), kib)
}

/// The profile without what names it (a stored one has a name and a version).
fn numbers(mut profile: Value) -> Value {
    profile["dataset"] = Value::Null;
    profile["version"] = Value::Null;
    profile
}

#[test]
fn a_table_over_its_memory_limit_is_profiled_and_imported_within_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (big, small) = (tmp.path().join("big.csv"), tmp.path().join("small.csv"));
    write_table(&big, 2_000_000, SEED);
    write_table(&small, 100, SEED);
    let (big, small) = (path_str(&big), path_str(&small));
    let limit = "64MiB";
    let budget = 64 * MIB;

    let (_, overhead) = peak(&["dataset", "show", small, "--memory-limit", limit]);
    // Default limit: this table fits it, so it is read whole and profiled in memory.
    let (whole, whole_peak) = peak(&["dataset", "show", big]);
    let (streamed, streamed_peak) = peak(&["dataset", "show", big, "--memory-limit", limit]);
    let report = format!(
        "peak KiB: 100 rows {overhead}, 2M rows in memory {whole_peak}, 2M rows in {limit} {streamed_peak}"
    );
    eprintln!("{report}");
    assert_eq!(whole["rows"], 2_000_000);
    assert_eq!(streamed, whole, "the same profile, streamed");
    // Within the limit plus the fixed overhead, and 32 MiB for the allocator's cached pages.
    assert!(streamed_peak <= overhead + budget + 32 * MIB, "{report}");
    // The test can fail: in memory, the same profile takes far more.
    assert!(whole_peak > streamed_peak + 2 * budget, "{report}");

    // An import within the limit: streamed to Parquet, profiled from it, the same numbers.
    let project = tmp.path().join("project");
    json(&["init", path_str(&project)]);
    let (imported, import_peak) = peak(&[
        "dataset",
        "import",
        big,
        "--memory-limit",
        limit,
        "--project",
        path_str(&project),
    ]);
    assert!(
        import_peak <= overhead + budget + 32 * MIB,
        "import: {import_peak} KiB; {report}"
    );
    assert_eq!(imported["rows"], 2_000_000);
    let stored = json(&["dataset", "show", "big", "--project", path_str(&project)]);
    assert_eq!(numbers(stored), numbers(whole));
    // Nothing of the spill folder is left in the project.
    let tmp_dir = project.join("objects/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", tmp_dir.display());

    // Drift of two 2M-row versions within the limit: the in-memory numbers, to the bit. The
    // id column is categorical (43% of its values distinct), with more categories than 64 MiB
    // holds counted: a clear error, then the other columns.
    let other = tmp.path().join("other.csv");
    write_table(&other, 2_000_000, 0x2545_f491_4f6c_dd1d);
    let p = path_str(&project);
    json(&[
        "dataset",
        "import",
        path_str(&other),
        "--name",
        "big",
        "--project",
        p,
    ]);
    crate::check(
        &[
            "drift",
            "big@1",
            "big@2",
            "--memory-limit",
            limit,
            "--project",
            p,
        ],
        "compute",
        &[
            "column 'id' has",
            "categories",
            "raise --memory-limit",
            "--columns",
        ],
    );
    let columns = "normal,skewed,count,city";
    let (whole, whole_peak) = peak(&[
        "drift",
        "big@1",
        "big@2",
        "--columns",
        columns,
        "--project",
        p,
    ]);
    let (streamed, drift_peak) = peak(&[
        "drift",
        "big@1",
        "big@2",
        "--columns",
        columns,
        "--memory-limit",
        limit,
        "--project",
        p,
    ]);
    eprintln!("drift peak KiB: in memory {whole_peak}, in {limit} {drift_peak}");
    let tested = |report: &Value| report["columns"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(tested(&whole), 4, "{whole}");
    assert_eq!(streamed["columns"], whole["columns"]);
    assert_eq!(streamed["skipped"], whole["skipped"]);
    assert!(
        drift_peak <= overhead + budget + 32 * MIB,
        "drift: {drift_peak} KiB; {report}"
    );
    assert!(
        whole_peak > drift_peak + budget,
        "drift: in memory {whole_peak} KiB"
    );
    let left: Vec<_> = std::fs::read_dir(&tmp_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left after drift: {left:?}");
}

/// A CSV of `rows` rows of 30 float features `f0`..`f29` and a 0/1 target `y` that a
/// logistic regression scores with many distinct probabilities. Deterministic. Wide on
/// purpose: its CSV-to-Parquet copy once kept every page header of hundreds of row groups.
fn write_features(path: &Path, rows: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "{},y,g", feature_names()).unwrap();
    let mut x = SEED;
    let mut line = String::new();
    for _ in 0..rows {
        line.clear();
        let mut sum = 0.0;
        for i in 0..30 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            // Around the breast-cancer features' scales, so the model's scores spread out.
            let v = (1.0 + 40.0 * u) * [1.0, 0.1, 10.0][i % 3];
            sum += u;
            line.push_str(&format!("{v:.4},"));
        }
        let y = u8::from(sum + (x % 5) as f64 * 0.3 > 15.6);
        // A sensitive column for fairness: three groups.
        let g = ["north", "south", "west"][(x % 3) as usize];
        writeln!(out, "{line}{y},{g}").unwrap();
    }
}

/// `f0,f1,…,f29`: the features [`write_features`] writes.
fn feature_names() -> String {
    let names: Vec<String> = (0..30).map(|i| format!("f{i}")).collect();
    names.join(",")
}

#[test]
fn a_model_is_evaluated_over_its_memory_limit_within_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (big, small) = (tmp.path().join("big.csv"), tmp.path().join("small.csv"));
    write_features(&big, 500_000);
    write_features(&small, 100);
    let model = crate::file("tests/fixtures/models/logreg_binary.onnx");
    let features = feature_names();
    let eval = |data: &Path, limit: Option<&str>| {
        let mut args = vec![
            "model",
            "eval",
            &model,
            path_str(data),
            "--features",
            &features,
            "--target",
            "y",
        ];
        if let Some(limit) = limit {
            args.extend(["--memory-limit", limit]);
        }
        peak(&args)
    };
    let limit = "64MiB";
    let budget = 64 * MIB;
    let (_, overhead) = eval(&small, Some(limit));
    let (whole, whole_peak) = eval(&big, None);
    let (streamed, streamed_peak) = eval(&big, Some(limit));
    let report = format!(
        "eval peak KiB: 100 rows {overhead}, 500k rows in memory {whole_peak}, in {limit} {streamed_peak}"
    );
    eprintln!("{report}");
    assert_eq!(whole["rows"], 500_000);
    // The labels are not the model's, so the AUC is near 0.5; what is tested is that the
    // streamed run prints the same JSON.
    let auc = whole["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.0 && auc < 1.0, "{auc}");
    assert_eq!(
        streamed, whole,
        "the same evaluation, scored a slice at a time"
    );
    assert!(streamed_peak <= overhead + budget + 32 * MIB, "{report}");
    assert!(whole_peak > streamed_peak + budget, "{report}");

    // Fairness of the same predictions per group of `g`: the same report a slice at a time.
    let fairness = |data: &Path, limit: Option<&str>| {
        let mut args = vec![
            "fairness",
            &model,
            path_str(data),
            "--features",
            &features,
            "--target",
            "y",
            "--sensitive",
            "g",
        ];
        if let Some(limit) = limit {
            args.extend(["--memory-limit", limit]);
        }
        peak(&args)
    };
    let (_, overhead) = fairness(&small, Some(limit));
    let (whole, whole_peak) = fairness(&big, None);
    let (streamed, streamed_peak) = fairness(&big, Some(limit));
    let report = format!(
        "fairness peak KiB: 100 rows {overhead}, 500k rows in memory {whole_peak}, in {limit} {streamed_peak}"
    );
    eprintln!("{report}");
    assert_eq!(whole["rows"], 500_000);
    assert_eq!(
        whole["by_sensitive"]["g"]["groups"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        streamed, whole,
        "the same report, predicted a slice at a time"
    );
    assert!(streamed_peak <= overhead + budget + 32 * MIB, "{report}");
    assert!(whole_peak > streamed_peak + budget, "{report}");
}

#[test]
fn every_explanation_runs_over_its_memory_limit_within_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (big, small) = (tmp.path().join("big.csv"), tmp.path().join("small.csv"));
    write_features(&big, 300_000);
    write_features(&small, 100);
    let model = crate::file("tests/fixtures/models/logreg_binary.onnx");
    let features = feature_names();
    let limit = "64MiB";
    let budget = 64 * MIB;
    let explain = |data: &Path, method: &[&str], limit: Option<&str>| {
        let mut args = vec!["explain", &model, path_str(data), "--features", &features];
        args.extend(method);
        if let Some(limit) = limit {
            args.extend(["--memory-limit", limit]);
        }
        peak(&args)
    };

    // LIME's discretizer from every row: the same explanation, to the printed digit.
    let lime = [
        "--method",
        "lime",
        "--rows",
        "150000..150002",
        "--samples",
        "500",
    ];
    let (_, overhead) = explain(
        &small,
        &["--method", "lime", "--samples", "500"],
        Some(limit),
    );
    let (whole, whole_peak) = explain(&big, &lime, None);
    let (streamed, streamed_peak) = explain(&big, &lime, Some(limit));
    let report = format!(
        "LIME peak KiB: 100 rows {overhead}, 300k rows in memory {whole_peak}, in {limit} {streamed_peak}"
    );
    eprintln!("{report}");
    assert_eq!(whole["rows"].as_array().unwrap().len(), 2);
    assert_eq!(streamed, whole);
    assert!(streamed_peak <= overhead + budget + 32 * MIB, "{report}");
    assert!(whole_peak > streamed_peak + budget, "{report}");

    // Partial dependence: the same grids and averages; the ICE lines the chart draws.
    let pdp = [
        "--method",
        "pdp",
        "--feature",
        "f0,f2",
        "--grid-resolution",
        "6",
    ];
    let (whole, whole_peak) = explain(&big, &pdp, None);
    let (streamed, streamed_peak) = explain(&big, &pdp, Some(limit));
    let report = format!(
        "PDP peak KiB: 300k rows in memory {whole_peak}, in {limit} {streamed_peak} (overhead {overhead})"
    );
    eprintln!("{report}");
    for (s, w) in streamed["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(whole["features"].as_array().unwrap())
    {
        assert_eq!(s["grid"], w["grid"]);
        assert_eq!(s["average"], w["average"]);
        let rows: Vec<usize> = s["ice_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(rows, (0..300_000).step_by(1_500).collect::<Vec<_>>());
        let kept: Vec<&Value> = rows.iter().map(|&r| &w["individual"][r]).collect();
        assert_eq!(
            s["individual"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            kept
        );
    }
    assert!(streamed_peak <= overhead + budget + 32 * MIB, "{report}");
    assert!(whole_peak > streamed_peak + budget, "{report}");

    // Permutation importance: one permuted column held whole, the rest read a slice at a time.
    let permutation = ["--method", "permutation", "--target", "y", "--repeats", "1"];
    let (whole, whole_peak) = explain(&big, &permutation, None);
    let (streamed, streamed_peak) = explain(&big, &permutation, Some(limit));
    let report = format!(
        "permutation peak KiB: 300k rows in memory {whole_peak}, in {limit} {streamed_peak} (overhead {overhead})"
    );
    eprintln!("{report}");
    assert_eq!(whole["features"].as_array().unwrap().len(), 30);
    assert_eq!(streamed, whole);
    assert!(streamed_peak <= overhead + budget + 32 * MIB, "{report}");
    assert!(whole_peak > streamed_peak + budget, "{report}");
}
