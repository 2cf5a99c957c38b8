//! Dataset import and profile, checked against pandas on real tables.
//!
//! The expected numbers come from `tests/fixtures/profile_reference.py` (pandas 2.3), committed
//! as `tests/fixtures/profiles/*.json`. Tolerance: relative error ≤ 1e-9 for means, standard
//! deviations, quantiles and skewness (or absolute ≤ 1e-12 near zero); counts, nulls, distinct
//! values, zeros, rows and duplicate rows exactly; min and max exactly.

use lathe_core::dataset;
use serde_json::Value;

use crate::support::{import, new_project, repo};

fn close(actual: f64, expected: f64) -> bool {
    let diff = (actual - expected).abs();
    diff <= 1e-12 || diff <= 1e-9 * actual.abs().max(expected.abs())
}

fn check_number(what: &str, actual: Option<f64>, expected: &Value) {
    match expected.as_f64() {
        None => assert!(
            actual.is_none(),
            "{what}: pandas has none, Lathe has {actual:?}"
        ),
        Some(e) => {
            let a = actual.unwrap_or_else(|| panic!("{what}: Lathe has none, pandas {e}"));
            assert!(close(a, e), "{what}: Lathe {a}, pandas {e}");
        }
    }
}

fn check_extreme(what: &str, actual: &Option<Value>, expected: &Value) {
    match (actual, expected) {
        (None, Value::Null) => {}
        (Some(Value::String(a)), Value::String(e)) => assert_eq!(a, e, "{what}"),
        (Some(a), e) => assert_eq!(a.as_f64(), e.as_f64(), "{what}: Lathe {a}, pandas {e}"),
        (None, e) => panic!("{what}: Lathe has none, pandas {e}"),
    }
}

#[test]
fn profiles_match_pandas_on_real_tables() {
    let dir = repo().join("tests/fixtures/profiles");
    let mut checked = 0;
    let mut correlations_checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let reference: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let source = repo().join(reference["source"].as_str().unwrap());
        let tmp = tempfile::tempdir().unwrap();
        let project = new_project(tmp.path());
        let outcome = import(&project, &source, None);
        let profile = dataset::stored_profile(&project, &outcome.dataset).unwrap();
        let name = profile.dataset.clone();
        assert_eq!(
            profile.rows,
            reference["rows"].as_u64().unwrap(),
            "{name} rows"
        );
        assert_eq!(
            profile.duplicate_rows,
            reference["duplicate_rows"].as_u64().unwrap(),
            "{name} duplicate rows"
        );
        let expected_columns = reference["columns"].as_array().unwrap();
        assert_eq!(
            profile.columns.len(),
            expected_columns.len(),
            "{name} columns"
        );
        for (column, expected) in profile.columns.iter().zip(expected_columns) {
            let what = |stat: &str| format!("{name}.{}.{stat}", column.name);
            assert_eq!(column.name, expected["name"].as_str().unwrap());
            assert_eq!(
                column.count,
                expected["count"].as_u64().unwrap(),
                "{}",
                what("count")
            );
            assert_eq!(
                column.nulls,
                expected["nulls"].as_u64().unwrap(),
                "{}",
                what("nulls")
            );
            assert_eq!(
                column.distinct,
                expected["distinct"].as_u64().unwrap(),
                "{}",
                what("distinct")
            );
            assert_eq!(
                column.zeros,
                expected["zeros"].as_u64(),
                "{}",
                what("zeros")
            );
            check_number(&what("mean"), column.mean, &expected["mean"]);
            check_number(&what("std"), column.std, &expected["std"]);
            check_number(&what("skewness"), column.skewness, &expected["skewness"]);
            check_extreme(&what("min"), &column.min, &expected["min"]);
            check_extreme(&what("max"), &column.max, &expected["max"]);
            match (&column.quantiles, expected["quantiles"].as_object()) {
                (None, None) => {}
                (Some(q), Some(e)) => {
                    for (key, value) in [
                        ("p5", q.p5),
                        ("p25", q.p25),
                        ("p50", q.p50),
                        ("p75", q.p75),
                        ("p95", q.p95),
                    ] {
                        check_number(&what(key), Some(value), &e[key]);
                    }
                }
                (q, e) => panic!("{}: Lathe {q:?}, pandas {e:?}", what("quantiles")),
            }
            match (
                &column.lengths,
                expected.get("lengths").filter(|l| !l.is_null()),
            ) {
                (None, None) => {}
                (Some(l), Some(e)) => {
                    assert_eq!(
                        (l.min, l.max),
                        (e["min"].as_u64().unwrap(), e["max"].as_u64().unwrap()),
                        "{}",
                        what("lengths")
                    );
                    check_number(&what("lengths.mean"), Some(l.mean), &e["mean"]);
                    check_number(&what("lengths.median"), Some(l.median), &e["median"]);
                }
                (l, e) => panic!("{}: Lathe {l:?}, pandas {e:?}", what("lengths")),
            }
            match (
                &column.histogram,
                expected.get("histogram").filter(|h| !h.is_null()),
            ) {
                (None, None) => {}
                (Some(h), Some(e)) => {
                    let counts: Vec<u64> = e["counts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_u64().unwrap())
                        .collect();
                    assert_eq!(h.counts, counts, "{}", what("histogram.counts"));
                    let edges = e["edges"].as_array().unwrap();
                    assert_eq!(h.edges.len(), edges.len(), "{}", what("histogram.edges"));
                    for (a, e) in h.edges.iter().zip(edges) {
                        let e = e.as_f64().unwrap();
                        assert!(
                            (a - e).abs() <= 1e-12 * e.abs().max(1.0),
                            "{}: {a} vs {e}",
                            what("histogram.edges")
                        );
                    }
                }
                (h, e) => panic!("{}: Lathe {h:?}, numpy {e:?}", what("histogram")),
            }
            checked += 1;
        }
        for method in ["pearson", "spearman"] {
            let matrix = match method {
                "pearson" => &profile.correlations.pearson,
                _ => &profile.correlations.spearman,
            };
            let expected = &reference["correlations"][method];
            let names: Vec<&str> = expected["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(matrix.columns, names, "{name} {method} columns");
            for (i, row) in expected["values"].as_array().unwrap().iter().enumerate() {
                for (j, value) in row.as_array().unwrap().iter().enumerate() {
                    check_number(
                        &format!("{name} {method}[{}][{}]", names[i], names[j]),
                        matrix.values[i][j],
                        value,
                    );
                    correlations_checked += 1;
                }
            }
        }
    }
    assert!(checked >= 50, "only {checked} columns were compared");
    assert!(
        correlations_checked >= 1000,
        "only {correlations_checked} coefficients were compared"
    );
}

#[test]
fn alerts_name_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    // Written by tests/fixtures/alerts_reference.py: 200 rows made to raise most alerts, and a
    // duplicate of the first.
    import(
        &project,
        &repo().join("tests/fixtures/data/people.csv"),
        None,
    );
    let profile = dataset::stored_profile(&project, "people").unwrap();
    let kinds = |column: &str| {
        profile
            .columns
            .iter()
            .find(|c| c.name == column)
            .unwrap()
            .alerts
            .clone()
    };
    assert_eq!(kinds("constant"), ["constant"]);
    assert_eq!(kinds("email"), ["high_cardinality", "pii_like"]);
    assert_eq!(kinds("income"), ["uniform"]);
    assert_eq!(kinds("country"), ["imbalance"]);
    assert_eq!(kinds("plan"), ["high_cardinality"]);
    assert_eq!(kinds("zeros"), ["zeros"]);
    assert_eq!(kinds("note"), ["constant", "missing"]);
    let alert = |kind: &str| profile.alerts.iter().find(|a| a.kind == kind).cloned();
    assert_eq!(alert("duplicates").unwrap().value, Value::from(1));
    assert_eq!(alert("pii_like").unwrap().value, Value::from("email"));
    let pair = ["income".to_owned(), "income_x2".to_owned()];
    let high = profile
        .alerts
        .iter()
        .find(|a| a.kind == "high_correlation" && a.columns == pair);
    assert_eq!(
        high.map(|a| a.value.clone()),
        Some(Value::from(1.0)),
        "{:?}",
        profile.alerts
    );
    assert!(alert("empty").is_none() && alert("skewed").is_none());
}

/// Lathe's alerts against ydata-profiling's on the same tables
/// (`tests/fixtures/alerts_reference.py`, ydata-profiling 4.18 defaults). Known, documented
/// differences, which the comparison leaves out:
/// - `high_correlation`: ydata-profiling flags columns by its "auto" matrix (Spearman,
///   Cramér's V, phi_k, including text columns); Lathe flags pairs of numeric columns by
///   Pearson's r. Only Lathe's flagged columns being flagged by ydata-profiling too is checked.
/// - `high_cardinality` and `pii_like`: ydata-profiling types a text column with more than 50
///   distinct values as free text and never raises `high_cardinality` on it by default; Lathe
///   does (the definition). `pii_like` is Lathe's own.
#[test]
fn alerts_agree_with_ydata_profiling() {
    let dir = repo().join("tests/fixtures/alerts");
    let mut tables = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let reference: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let project = new_project(tmp.path());
        let source = repo().join(reference["source"].as_str().unwrap());
        let outcome = import(&project, &source, None);
        let profile = dataset::stored_profile(&project, &outcome.dataset).unwrap();
        let mut lathe = std::collections::BTreeSet::new();
        let mut correlated = std::collections::BTreeSet::new();
        for alert in &profile.alerts {
            match alert.kind.as_str() {
                "high_correlation" => correlated.extend(alert.columns.iter().cloned()),
                "high_cardinality" | "pii_like" => {}
                kind => {
                    let column = alert.columns.first().cloned().unwrap_or_default();
                    lathe.insert((kind.to_owned(), column));
                }
            }
        }
        let mut ydata = std::collections::BTreeSet::new();
        let mut ydata_correlated = std::collections::BTreeSet::new();
        for pair in reference["alerts"].as_array().unwrap() {
            let kind = pair[0].as_str().unwrap().to_owned();
            let column = pair[1].as_str().unwrap().to_owned();
            if kind == "high_correlation" {
                ydata_correlated.insert(column);
            } else {
                ydata.insert((kind, column));
            }
        }
        let name = &outcome.dataset;
        assert_eq!(
            lathe, ydata,
            "{name}: Lathe's alerts (left) vs ydata-profiling's"
        );
        assert!(
            correlated.is_subset(&ydata_correlated),
            "{name}: Lathe flags {correlated:?} as highly correlated, ydata-profiling {ydata_correlated:?}"
        );
        tables += 1;
    }
    assert_eq!(tables, 5);
}

#[test]
fn importing_the_same_bytes_again_makes_no_new_version() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let csv = repo().join("assets/datasets/diabetes.csv");
    let first = import(&project, &csv, None);
    assert!(first.new_version);
    assert_eq!(
        (
            first.dataset.as_str(),
            first.version,
            first.rows,
            first.columns
        ),
        ("diabetes", 1, 442, 11)
    );
    let again = import(&project, &csv, None);
    assert!(!again.new_version);
    assert_eq!(again.version, 1);

    // Changed bytes: version 2. The same bytes under another name: a new dataset, one object.
    let changed = tmp.path().join("diabetes.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("50,1,25.0,90,180,100.0,50,4,4.5,90,100\n");
    std::fs::write(&changed, text).unwrap();
    let second = import(&project, &changed, None);
    assert_eq!(
        (second.version, second.rows, second.new_version),
        (2, 443, true)
    );
    let copy = import(&project, &csv, Some("diabetes-copy"));
    assert_eq!(copy.version, 1);
    let info = project.info().unwrap();
    assert_eq!(info.counts["datasets"], 2);
    assert_eq!(info.counts["dataset_versions"], 3);
    assert_eq!(info.counts["objects"], 2, "identical data is stored once");
    assert_eq!(
        dataset::stored_profile(&project, "diabetes@1")
            .unwrap()
            .rows,
        442
    );
    assert_eq!(
        dataset::stored_profile(&project, "diabetes").unwrap().rows,
        443
    );
    let actions: Vec<_> = project
        .audit_log(None)
        .unwrap()
        .into_iter()
        .map(|e| e.target)
        .collect();
    assert_eq!(
        actions[..3],
        ["diabetes-copy@1", "diabetes@2", "diabetes@1"]
    );
}

#[test]
fn every_format_reads_the_same_table() {
    // The same small table in each format, written by hand (CSV, TSV, NDJSON, JSON) and by
    // polars itself (Parquet, IPC) from the imported CSV.
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let files = [
        (
            "t.csv",
            "id,city,score\n1,Oslo,0.5\n2,\"Paris, FR\",1.5\n3,Lima,\n",
        ),
        (
            "t.tsv",
            "id\tcity\tscore\n1\tOslo\t0.5\n2\tParis, FR\t1.5\n3\tLima\t\n",
        ),
        (
            "t.ndjson",
            "{\"id\":1,\"city\":\"Oslo\",\"score\":0.5}\n{\"id\":2,\"city\":\"Paris, FR\",\"score\":1.5}\n{\"id\":3,\"city\":\"Lima\",\"score\":null}\n",
        ),
        (
            "t.json",
            "[{\"id\":1,\"city\":\"Oslo\",\"score\":0.5},{\"id\":2,\"city\":\"Paris, FR\",\"score\":1.5},{\"id\":3,\"city\":\"Lima\",\"score\":null}]",
        ),
        (
            "crlf.csv",
            "id,city,score\r\n1,Oslo,0.5\r\n2,\"Paris, FR\",1.5\r\n3,Lima,\r\n",
        ),
        (
            "semicolon.csv",
            "id;city;score\n1;Oslo;0.5\n2;Paris, FR;1.5\n3;Lima;\n",
        ),
    ];
    for (name, text) in files {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let outcome = import(&project, &path, Some(&name.replace('.', "_")));
        assert_eq!((outcome.rows, outcome.columns), (3, 3), "{name}");
        let profile = dataset::stored_profile(&project, &outcome.dataset).unwrap();
        let score = &profile.columns[2];
        assert_eq!(
            (score.count, score.nulls, score.mean),
            (2, 1, Some(1.0)),
            "{name}"
        );
        assert_eq!(
            profile.columns[1].max,
            Some(Value::from("Paris, FR")),
            "{name}"
        );
    }
    // Parquet and IPC: the stored Parquet copy of the CSV is itself a valid input.
    let csv = dataset::list(&project)
        .unwrap()
        .into_iter()
        .find(|d| d.dataset == "t_csv")
        .unwrap();
    assert_eq!(csv.format, "csv");
    let object: String = project
        .conn()
        .query_row("SELECT object_sha256 FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE d.name = 't_csv'", [], |r| r.get(0))
        .unwrap();
    let parquet = tmp.path().join("t.parquet");
    std::fs::copy(project.objects().path_of(&object), &parquet).unwrap();
    let outcome = import(&project, &parquet, Some("t_parquet"));
    assert_eq!((outcome.rows, outcome.columns), (3, 3));
}

#[test]
fn two_versions_compare_schema_statistics_and_alerts() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let v1 = tmp.path().join("v1.csv");
    let v2 = tmp.path().join("v2.csv");
    std::fs::write(
        &v1,
        "id,age,city,score\n1,30,Oslo,1.5\n2,40,Rome,2.5\n3,50,Oslo,3.5\n",
    )
    .unwrap();
    // age becomes text, score is gone, height is new; id and city keep their types.
    std::fs::write(
        &v2,
        "id,age,city,height\n1,thirty,Oslo,180\n2,40,,170\n3,50,Oslo,175\n4,60,Rome,190\n",
    )
    .unwrap();
    import(&project, &v1, Some("people"));
    import(&project, &v2, Some("people"));
    let a = dataset::stored_profile(&project, "people@1").unwrap();
    let b = dataset::stored_profile(&project, "people@2").unwrap();
    let diff = dataset::compare::compare(&a, &b);
    assert_eq!((diff.a.rows, diff.b.rows), (3, 4));
    assert_eq!((diff.a.version, diff.b.version), (Some(1), Some(2)));
    let names = |c: &[dataset::browse::ColumnType]| -> Vec<String> {
        c.iter()
            .map(|c| format!("{}:{}", c.name, c.dtype))
            .collect()
    };
    assert_eq!(names(&diff.schema.added), ["height:i64"]);
    assert_eq!(names(&diff.schema.removed), ["score:f64"]);
    assert_eq!(diff.schema.retyped.len(), 1);
    assert_eq!(
        (
            diff.schema.retyped[0].name.as_str(),
            diff.schema.retyped[0].from.as_str(),
            diff.schema.retyped[0].to.as_str()
        ),
        ("age", "i64", "str")
    );
    let column = |name: &str| diff.columns.iter().find(|c| c.name == name).unwrap();
    let stat = |col: &str, stat: &str| {
        column(col)
            .statistics
            .iter()
            .find(|s| s.statistic == stat)
            .cloned()
            .unwrap()
    };
    assert_eq!(diff.columns.len(), 3, "id, age and city are on both sides");
    let mean = stat("id", "mean");
    assert_eq!((mean.a.as_f64(), mean.b.as_f64()), (Some(2.0), Some(2.5)));
    assert_eq!(mean.delta, Some(0.5));
    assert_eq!(mean.relative, Some(0.25));
    let nulls = stat("city", "nulls");
    assert_eq!((nulls.a.as_u64(), nulls.b.as_u64()), (Some(0), Some(1)));
    assert!(column("city").changed && column("age").changed);
    // Statistics both sides lack (the mean of a text column) are left out.
    assert!(
        column("city")
            .statistics
            .iter()
            .all(|s| s.statistic != "mean")
    );
    let added: Vec<_> = diff.alerts_added.iter().map(|a| a.kind.as_str()).collect();
    assert!(added.contains(&"missing"), "{added:?}");

    // A profile compared with itself has no change.
    let same = dataset::compare::compare(&a, &a);
    assert!(same.columns.iter().all(|c| !c.changed));
    assert!(same.schema.added.is_empty() && same.alerts_added.is_empty());
}
