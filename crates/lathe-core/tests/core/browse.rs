//! Paged rows (`lathe dataset rows`), checked against pandas.
//!
//! `tests/fixtures/browse_reference.py` runs each query with pandas (boolean mask, stable
//! `sort_values` with missing values last, `iloc` slice) on the cars table and commits the
//! pages as `tests/fixtures/browse/cars.json`. Text and integers must match exactly, floats to a
//! relative 1e-12; the matching-row count exactly.

use lathe_core::dataset::browse::{Browser, RowsQuery, SortKey, TableSource};
use serde_json::Value;

use crate::support::{import, new_project, repo};

fn same(actual: &Value, expected: &Value) -> bool {
    match (actual.as_f64(), expected.as_f64()) {
        (Some(a), Some(e)) => a == e || ((a - e) / e).abs() <= 1e-12,
        _ => actual == expected,
    }
}

#[test]
fn pages_match_pandas_for_the_same_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let csv = repo().join("tests/fixtures/data/cars.csv");
    import(&project, &csv, None);
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/browse/cars.json")).unwrap(),
    )
    .unwrap();
    let stored = TableSource::stored(&project, "cars").unwrap();
    let file = TableSource::File {
        path: csv.clone(),
        options: Default::default(),
    };
    let browser = Browser::new();
    for case in reference["cases"].as_array().unwrap() {
        let query = RowsQuery {
            offset: case["offset"].as_u64().unwrap(),
            limit: case["limit"].as_u64().unwrap(),
            sort: case["sort"].as_str().map(SortKey::parse),
            filter: case["filter"].as_str().map(str::to_owned),
            columns: case["columns"]
                .as_array()
                .map(|c| c.iter().map(|v| v.as_str().unwrap().to_owned()).collect()),
        };
        for source in [&stored, &file] {
            // Twice: the second page of a sorted query comes from the browser's cache.
            for _ in 0..2 {
                let page = browser
                    .page(source, &query)
                    .unwrap_or_else(|e| panic!("{query:?}: {e}"))
                    .report();
                let what = format!("{query:?} on {source:?}");
                assert_eq!(page.total_rows, 406, "{what}");
                assert_eq!(
                    page.matching_rows,
                    case["matching_rows"].as_u64().unwrap(),
                    "{what}"
                );
                let names: Vec<&str> = page.columns.iter().map(|c| c.name.as_str()).collect();
                let expected_names: Vec<&str> = case["column_names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(names, expected_names, "{what}");
                let rows = case["rows"].as_array().unwrap();
                assert_eq!(page.rows.len(), rows.len(), "{what}");
                for (i, (actual, expected)) in page.rows.iter().zip(rows).enumerate() {
                    let expected = expected.as_array().unwrap();
                    assert!(
                        actual.iter().zip(expected).all(|(a, e)| same(a, e)),
                        "{what}: row {i}: {actual:?} != {expected:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn bad_queries_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    import(&project, &repo().join("assets/datasets/diabetes.csv"), None);
    let source = TableSource::stored(&project, "diabetes").unwrap();
    let browser = Browser::new();
    let error = |query: RowsQuery| {
        let err = browser.page(&source, &query).unwrap_err();
        assert_eq!(err.code(), "bad_argument", "{err}");
        err.to_string()
    };
    let message = error(RowsQuery {
        limit: 5,
        sort: Some(SortKey::parse("nope:desc")),
        ..Default::default()
    });
    assert!(
        message.contains("invalid sort: no column named 'nope'"),
        "{message}"
    );
    assert!(message.contains("'bmi'"), "{message}");
    let message = error(RowsQuery {
        limit: 5,
        columns: Some(vec!["age".into(), "BMI".into()]),
        ..Default::default()
    });
    assert!(
        message.contains("invalid columns: no column named 'BMI'"),
        "{message}"
    );
    let message = error(RowsQuery {
        limit: 5,
        filter: Some("bmi > 'x'".into()),
        ..Default::default()
    });
    assert!(message.contains("column 'bmi' is numeric"), "{message}");
    let message = error(RowsQuery {
        limit: lathe_core::dataset::browse::MAX_LIMIT + 1,
        ..Default::default()
    });
    assert!(message.contains("invalid limit"), "{message}");
    let err = TableSource::stored(&project, "diabetes@7").unwrap_err();
    assert_eq!(err.code(), "not_found");
}

#[test]
fn a_page_past_the_end_is_empty_and_sort_keys_parse() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    import(&project, &repo().join("assets/datasets/diabetes.csv"), None);
    let source = TableSource::stored(&project, "diabetes").unwrap();
    let page = Browser::new()
        .page(
            &source,
            &RowsQuery {
                offset: 1000,
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .report();
    assert_eq!((page.total_rows, page.rows.len()), (442, 0));
    assert_eq!(page.columns.len(), 11);
    assert_eq!(
        SortKey::parse("a:b:DESC"),
        SortKey {
            column: "a:b".into(),
            descending: true
        }
    );
    assert!(!SortKey::parse("time:12").descending);
    assert_eq!(SortKey::parse("time:12").column, "time:12");
}

#[test]
fn scattered_pages_of_a_larger_table_read_the_right_rows() {
    // 30,000 rows whose sort order jumps across the file, so a page's rows lie in many
    // separate stretches; with ties and missing values.
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let path = tmp.path().join("spread.csv");
    let n = 30_000u64;
    let value = |i: u64| (i * 7919) % 1000;
    let mut csv = String::from("id,v,label\n");
    for i in 0..n {
        if i % 97 == 5 {
            csv.push_str(&format!("{i},,row{i}\n"));
        } else {
            csv.push_str(&format!("{i},{},row{i}\n", value(i)));
        }
    }
    std::fs::write(&path, csv).unwrap();
    import(&project, &path, None);
    let source = TableSource::stored(&project, "spread").unwrap();
    // The expected order: v descending, ties by id, missing last.
    let mut expected: Vec<u64> = (0..n).collect();
    expected.sort_by_key(|&i| {
        let missing = i % 97 == 5;
        (
            missing,
            std::cmp::Reverse(if missing { 0 } else { value(i) }),
            i,
        )
    });
    let browser = Browser::new();
    for (offset, limit) in [(0, 50), (7, 200), (9_990, 20), (20_000, 300), (29_990, 50)] {
        let page = browser
            .page(
                &source,
                &RowsQuery {
                    offset,
                    limit,
                    sort: Some(SortKey::parse("v:desc")),
                    columns: Some(vec!["id".into(), "label".into()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .report();
        let ids: Vec<u64> = page.rows.iter().map(|r| r[0].as_u64().unwrap()).collect();
        let end = ((offset + limit) as usize).min(n as usize);
        assert_eq!(ids, expected[offset as usize..end], "offset {offset}");
        assert!(
            page.rows
                .iter()
                .all(|r| r[1].as_str().unwrap() == format!("row{}", r[0])),
            "every row's cells come from the same row"
        );
    }
}
