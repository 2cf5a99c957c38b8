//! `expect`: Great Expectations' suites run by Lathe give GX's validation results
//! (tests/fixtures/checks_reference.py: GX 1.24.1's pandas engine; LIKE on its SQL engine).

use std::path::{Path, PathBuf};

use lathe_core::ErrorCode;
use lathe_core::dataset::read::{ReadOptions, read_table};
use lathe_core::expect::{self, Suite, Validation};
use lathe_core::job::Job;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/checks").join(name)
}

fn table(name: &str) -> PathBuf {
    let data = root()
        .join("tests/fixtures/data")
        .join(format!("{name}.csv"));
    if data.exists() {
        data
    } else {
        root().join("assets/datasets").join(format!("{name}.csv"))
    }
}

fn run(table_name: &str, suite_file: &str) -> Validation {
    let path = fixture(suite_file);
    let suite = Suite::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    let (frame, _) = read_table(&table(table_name), &ReadOptions::default()).unwrap();
    expect::validate(&frame, &suite, &path, &Job::silent()).unwrap()
}

/// Numbers compare by value (GX's 990.0 and Lathe's 990.0; an integer and the same float);
/// everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The same values in any order (GX lists a Python set's members in hash order).
fn same_set(a: &Value, b: &Value) -> bool {
    let (Value::Array(x), Value::Array(y)) = (a, b) else {
        return same(a, b);
    };
    x.len() == y.len() && x.iter().all(|p| y.iter().any(|q| same(p, q)))
}

/// Every difference between Lathe's validation and GX's, one line each.
fn differences(ours: &Validation, gx: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let results = gx["results"].as_array().unwrap();
    assert_eq!(
        ours.results.len(),
        results.len(),
        "one result per expectation"
    );
    for (i, (mine, theirs)) in ours.results.iter().zip(results).enumerate() {
        let kind = theirs["expectation_config"]["type"].as_str().unwrap();
        assert_eq!(mine.expectation_type, kind, "results in the suite's order");
        let label = format!(
            "#{} {kind} {}",
            i + 1,
            theirs["expectation_config"]["kwargs"]
        );
        if Value::Bool(mine.success) != theirs["success"] {
            out.push(format!(
                "{label}: success {} vs GX {}",
                mine.success, theirs["success"]
            ));
        }
        let my_result = serde_json::to_value(&mine.result).unwrap();
        let (Value::Object(mr), Value::Object(tr)) = (&my_result, &theirs["result"]) else {
            panic!("results are objects");
        };
        let mut my_keys: Vec<&String> = mr.keys().collect();
        let mut their_keys: Vec<&String> = tr.keys().collect();
        my_keys.sort();
        their_keys.sort();
        if my_keys != their_keys {
            out.push(format!("{label}: fields {my_keys:?} vs GX {their_keys:?}"));
        }
        let unordered = kind.starts_with("expect_column_distinct_values");
        for (key, theirs) in tr {
            let Some(mine) = mr.get(key) else { continue };
            let ok = if unordered || key == "details" && kind.contains("columns_to_match_set") {
                same_set(mine, theirs)
            } else {
                same(mine, theirs)
            };
            if !ok {
                out.push(format!("{label}: {key} {mine} vs GX {theirs}"));
            }
        }
    }
    let stats = serde_json::to_value(&ours.statistics).unwrap();
    for key in [
        "evaluated_expectations",
        "successful_expectations",
        "unsuccessful_expectations",
    ] {
        if stats[key] != gx["statistics"][key] {
            out.push(format!(
                "statistics.{key}: {} vs GX {}",
                stats[key], gx["statistics"][key]
            ));
        }
    }
    if Value::Bool(ours.success) != gx["success"] {
        out.push("overall success differs".into());
    }
    out
}

fn check_parity(table_name: &str, suite: &str, result: &str) {
    let ours = run(table_name, suite);
    let gx: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(result)).unwrap()).unwrap();
    let diffs = differences(&ours, &gx);
    assert!(
        diffs.is_empty(),
        "{} difference(s) from GX on {table_name}:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn people_suite_equals_gx() {
    check_parity("people", "people.suite.json", "people.result.json");
}

#[test]
fn a_gx_0_18_suite_runs_unchanged() {
    check_parity("people", "people.suite_018.json", "people.result.json");
}

#[test]
fn cars_suite_equals_gx() {
    check_parity("cars", "cars.suite.json", "cars.result.json");
}

#[test]
fn seattle_weather_suite_equals_gx() {
    check_parity(
        "seattle_weather",
        "seattle_weather.suite.json",
        "seattle_weather.result.json",
    );
}

#[test]
fn diabetes_risk_suite_equals_gx() {
    check_parity(
        "diabetes_risk",
        "diabetes_risk.suite.json",
        "diabetes_risk.result.json",
    );
}

#[test]
fn like_patterns_equal_gx_sql_engine() {
    check_parity("people", "like.suite.json", "like.result.json");
}

#[test]
fn the_suites_cover_every_supported_expectation() {
    let mut seen = std::collections::BTreeSet::new();
    for name in ["people", "cars", "seattle_weather", "diabetes_risk", "like"] {
        let path = fixture(&format!("{name}.suite.json"));
        let suite = Suite::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
        seen.extend(suite.expectations.into_iter().map(|e| e.expectation_type));
    }
    let missing: Vec<&&str> = expect::SUPPORTED
        .iter()
        .filter(|k| !seen.contains(**k))
        .collect();
    assert!(
        missing.is_empty(),
        "not in any GX fixture suite: {missing:?}"
    );
    assert!(expect::SUPPORTED.len() >= 35);
}

fn plan_error(suite_json: &str) -> String {
    let path = Path::new("bad.json");
    let (frame, _) = read_table(&table("people"), &ReadOptions::default()).unwrap();
    let err = Suite::parse(suite_json, path)
        .and_then(|suite| expect::validate(&frame, &suite, path, &Job::silent()))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadPolicy, "{err}");
    err.to_string()
}

#[test]
fn bad_suites_are_clear_errors() {
    let e = plan_error("{\"name\": \"s\",\n \"expectations\": [\n  {\"type\": }]}");
    assert!(e.contains("line 3"), "{e}");
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_values_to_be_dinosaurs", "kwargs": {"column": "id"}}, {"type": "expect_column_kl_divergence_to_be_less_than"}]}"#,
    );
    assert!(
        e.contains("expect_column_values_to_be_dinosaurs")
            && e.contains("expect_column_kl_divergence_to_be_less_than"),
        "{e}"
    );
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "age"}}]}"#,
    );
    assert!(
        e.contains("no column \"age\"") && e.contains("email"),
        "{e}"
    );
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_values_to_be_between", "kwargs": {"column": "income", "min_value": "ten"}}]}"#,
    );
    assert!(e.contains("income") && e.contains("texts"), "{e}");
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_mean_to_be_between", "kwargs": {"column": "income", "min_valu": 3}}]}"#,
    );
    assert!(e.contains("min_valu"), "{e}");
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "country", "value_set": "SE"}}]}"#,
    );
    assert!(e.contains("value_set") && e.contains("list"), "{e}");
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_values_to_match_regex", "kwargs": {"column": "email", "regex": "(?<=a)b"}}]}"#,
    );
    assert!(e.contains("look-around"), "{e}");
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_values_to_match_strftime_format", "kwargs": {"column": "income", "strftime_format": "%Y"}}]}"#,
    );
    assert!(e.contains("int64") && e.contains("text"), "{e}");
    let e = plan_error(r#"[1, 2]"#);
    assert!(e.contains("expectations"), "{e}");
    let e = plan_error(
        r#"{"expectations": [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id", "mostly": 2}}]}"#,
    );
    assert!(e.contains("mostly"), "{e}");
}

/// Every malformed policy or suite of `tests/corpus/checks/` is a `bad_policy` error naming
/// its file, before or while it is planned against a table; the one valid seed reads.
#[test]
fn the_malformed_corpus_gives_clear_errors() {
    let dir = root().join("tests/corpus/checks");
    let (frame, _) = read_table(&table("cars"), &ReadOptions::default()).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = lathe_core::check::Policy::read(&path).and_then(|policy| {
            for suite in &policy.suites {
                expect::validate(&frame, suite, &path, &Job::silent())?;
            }
            Ok(policy)
        });
        if name == "valid_seed.yaml" {
            outcome.unwrap();
            continue;
        }
        seen += 1;
        let err = outcome.expect_err(&name);
        assert_eq!(err.code(), ErrorCode::BadPolicy, "{name}: {err}");
        assert!(err.to_string().contains(&name), "{name}: {err}");
    }
    assert!(seen >= 14, "{seen} malformed inputs");
}
