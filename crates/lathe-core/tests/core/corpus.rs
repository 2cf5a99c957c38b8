//! The malformed-input corpus (`tests/corpus/datasets/`, written by
//! `tests/corpus/make_dataset_corpus.py`): every input either fails with a clear error that
//! names the file and changes nothing in the project, or imports with the behaviour stated here.

use std::path::{Path, PathBuf};

use lathe_core::Project;
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::dataset::{self, ReadOptions};
use lathe_core::job::Job;

use crate::support::{import, new_project, tree};

enum Expect {
    /// Fails with `bad_input`; the message holds the file name and this text.
    Error(&'static str),
    /// Imports with these rows and (column name, dtype) pairs.
    Imports(u64, &'static [(&'static str, &'static str)]),
}
use Expect::{Error, Imports};

const CASES: &[(&str, Expect)] = &[
    ("empty.csv", Error("the file is empty")),
    ("only_newlines.csv", Error("no data (only blank lines")),
    ("blank.ndjson", Error("no data (only blank lines")),
    (
        "ragged_more_fields.csv",
        Error("line 3 has 3 fields but the header has 2"),
    ),
    ("invalid_utf8.csv", Error("not UTF-8 text")),
    ("latin1.csv", Error("convert it to UTF-8")),
    ("binary_named.csv", Error("not UTF-8 text")),
    ("gzip_named.csv", Error("not UTF-8 text")),
    (
        "unterminated_quote.csv",
        Error("a quoted field is never closed"),
    ),
    ("no_extension", Error("pass --format")),
    ("spreadsheet.xlsx", Error("cannot tell its format")),
    ("a_folder.csv", Error("it is not a file")),
    ("truncated.parquet", Error("parquet file could not be read")),
    (
        "text_named.parquet",
        Error("parquet file could not be read"),
    ),
    ("truncated.arrow", Error("ipc file could not be read")),
    ("broken_line.ndjson", Error("ndjson file could not be read")),
    ("broken.json", Error("json file could not be read")),
    ("scalar.json", Error("json file could not be read")),
    // Stated behaviours:
    // a header alone is a table with no rows, its columns text;
    (
        "header_only.csv",
        Imports(0, &[("id", "str"), ("name", "str"), ("score", "str")]),
    ),
    // missing trailing fields are missing values;
    (
        "ragged_fewer_fields.csv",
        Imports(2, &[("a", "i64"), ("b", "i64"), ("c", "i64")]),
    ),
    // a repeated column name gets a suffix, an empty one a position name;
    (
        "duplicate_columns.csv",
        Imports(1, &[("a", "i64"), ("a_duplicated_0", "i64"), ("b", "i64")]),
    ),
    (
        "empty_header_name.csv",
        Imports(1, &[("column_1", "i64"), ("b", "i64")]),
    ),
    // a column whose values turn to text late in the file is text (types are inferred from
    // every row, not the first hundred);
    ("type_change.csv", Imports(501, &[("x", "str")])),
    // decimal commas are not numbers unless converted first;
    (
        "decimal_comma.csv",
        Imports(2, &[("price", "str"), ("qty", "i64")]),
    ),
    // a byte-order mark is dropped, CRLF and newlines inside quotes are read as such;
    (
        "bom.csv",
        Imports(3, &[("id", "i64"), ("name", "str"), ("score", "f64")]),
    ),
    (
        "crlf_quoted_newline.csv",
        Imports(2, &[("id", "i64"), ("note", "str")]),
    ),
    // a NUL byte inside a field is kept in the text;
    ("nul_bytes.csv", Imports(1, &[("a", "i64"), ("b", "str")])),
    // NDJSON values of mixed types make a text column; a single JSON object is one row.
    ("mixed_types.ndjson", Imports(3, &[("a", "str")])),
    (
        "object_not_array.json",
        Imports(1, &[("a", "i64"), ("b", "i64")]),
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/datasets")
}

/// Nothing in the project but what `new_project` made: no dataset, no object, no file.
fn assert_untouched(project: &Project, before: &[(PathBuf, u64)], what: &str) {
    let info = project.info().unwrap();
    assert_eq!(
        (
            info.counts["datasets"],
            info.counts["dataset_versions"],
            info.counts["objects"]
        ),
        (0, 0, 0),
        "{what}"
    );
    let objects: Vec<_> = tree(&project.root().join("objects"));
    assert!(objects.is_empty(), "{what} left {objects:?}");
    let files: Vec<_> = tree(project.root())
        .into_iter()
        .filter(|(p, _)| !p.starts_with("lathe.sqlite"))
        .collect();
    let before: Vec<_> = before
        .iter()
        .filter(|(p, _)| !p.starts_with("lathe.sqlite"))
        .cloned()
        .collect();
    assert_eq!(files, before, "{what}");
}

fn check(path: &Path, expect: &Expect) {
    check_with(path, expect, &ReadOptions::default());
}

fn check_with(path: &Path, expect: &Expect, options: &ReadOptions) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    let before = tree(tmp.path());
    let result = dataset::import(&project, path, Some("corpus"), options, &Job::silent());
    match (expect, result) {
        (Error(needle), Err(err)) => {
            let message = err.to_string();
            assert_eq!(err.code(), "bad_input", "{name}: {message}");
            assert!(
                message.contains(&name),
                "{name}: the message must name the file: {message}"
            );
            assert!(
                message.contains(needle),
                "{name}: {message:?} lacks {needle:?}"
            );
            assert!(
                !message.contains("Consider setting") && !message.contains("infer_schema_length"),
                "{name}: polars' Python advice leaked: {message}"
            );
            assert_untouched(&project, &before, &name);
        }
        (Error(needle), Ok(outcome)) => {
            panic!("{name}: expected an error with {needle:?}, imported {outcome:?}")
        }
        (Imports(rows, columns), Ok(outcome)) => {
            let profile = dataset::stored_profile(&project, "corpus").unwrap();
            assert_eq!(outcome.rows, *rows, "{name} rows");
            let shape: Vec<_> = profile
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.dtype.as_str()))
                .collect();
            assert_eq!(shape, *columns, "{name} columns");
        }
        (Imports(..), Err(err)) => panic!("{name}: expected an import, got {err}"),
    }
}

#[test]
fn every_corpus_input_gives_a_clear_error_or_its_stated_import() {
    let dir = corpus();
    for (file, expect) in CASES {
        check(&dir.join(file), expect);
    }
    // Every file in the corpus has a case (a new file without one fails here).
    let listed: std::collections::BTreeSet<_> = CASES.iter().map(|(f, _)| f.to_string()).collect();
    let present: std::collections::BTreeSet<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, present);
    assert!(CASES.len() >= 25);
}

/// The same corpus imported over the smallest memory limit, so that every CSV and Parquet
/// file takes the streamed path (converted a chunk at a time, profiled from slices): the same
/// errors, the same imports, nothing left in the project.
#[test]
fn the_corpus_over_its_memory_limit_gives_the_same_errors_and_imports() {
    let dir = corpus();
    let options = ReadOptions {
        memory_limit: Some(MemoryLimit::MIN),
        ..ReadOptions::default()
    };
    for (file, expect) in CASES {
        check_with(&dir.join(file), expect, &options);
    }
}

/// Bad input past the first chunk of a streamed CSV (1 MiB chunks at 16 MiB): a ragged row
/// and an unclosed quote near the end of a 3 MB file are clear errors that change nothing.
#[test]
fn a_streamed_csv_broken_past_its_first_chunk_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let options = ReadOptions {
        memory_limit: Some(MemoryLimit::MIN),
        ..ReadOptions::default()
    };
    let body: String = (0..200_000).map(|i| format!("{i},{}\n", i % 7)).collect();
    for (name, tail, needle) in [
        ("late_ragged.csv", "1,2,3\n", "fields"),
        (
            "late_quote.csv",
            "5,\"never closed\n6,7\n",
            "quoted field is never closed",
        ),
    ] {
        let path = tmp.path().join(name);
        std::fs::write(&path, format!("a,b\n{body}{tail}")).unwrap();
        check_with(&path, &Error(needle), &options);
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    check(&corpus().join("does_not_exist.csv"), &Error("No such file"));
}

#[test]
fn a_100_mb_field_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("huge_field.csv");
    let mut text = String::from("id,blob\n1,");
    text.push_str(&"x".repeat(100 << 20));
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    check(&path, &Imports(1, &[("id", "i64"), ("blob", "str")]));
}

#[test]
fn ten_thousand_columns_import() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("wide.csv");
    let header: Vec<_> = (0..10_000).map(|i| format!("c{i}")).collect();
    let row: Vec<_> = (0..10_000).map(|i| (i % 7).to_string()).collect();
    std::fs::write(
        &path,
        format!(
            "{}\n{}\n{}\n",
            header.join(","),
            row.join(","),
            row.join(",")
        ),
    )
    .unwrap();
    let project = new_project(tmp.path().join("p").as_path());
    let outcome = import(&project, &path, None);
    assert_eq!((outcome.rows, outcome.columns), (2, 10_000));
    let profile = dataset::stored_profile(&project, "wide").unwrap();
    assert_eq!(profile.duplicate_rows, 1);
    assert_eq!(
        profile.correlations.pearson.columns.len(),
        dataset::profile::MAX_CORRELATION_COLUMNS
    );
}

/// Drift over the smallest memory limit, so that both tables are read in slices (a CSV copied
/// to a temporary Parquet file first): every malformed input, on either side, is the clear
/// error its import gives, naming the file.
#[test]
fn drift_over_its_memory_limit_names_each_malformed_table() {
    use lathe_core::dataset::browse::TableSource;
    use lathe_core::drift::{self, DriftOptions};
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.csv");
    let body: String = (0..5_000).map(|i| format!("{i},{}\n", i % 7)).collect();
    std::fs::write(&good, format!("a,b\n{body}")).unwrap();
    let file = |path: &Path| TableSource::File {
        path: path.to_path_buf(),
        options: ReadOptions::default(),
    };
    let options = DriftOptions {
        memory_limit: Some(MemoryLimit::MIN),
        ..DriftOptions::default()
    };
    let dir = corpus();
    let mut tried = 0;
    for (name, expect) in CASES {
        let Error(needle) = expect else { continue };
        let bad = dir.join(name);
        for (reference, current) in [(file(&good), file(&bad)), (file(&bad), file(&good))] {
            let err =
                drift::compare(&reference, &current, &options, &Job::silent()).expect_err(name);
            let message = err.to_string();
            assert_eq!(err.code(), "bad_input", "{name}: {message}");
            assert!(message.contains(name), "{name}: not named: {message}");
            assert!(
                message.contains(needle),
                "{name}: {message:?} lacks {needle:?}"
            );
        }
        tried += 1;
    }
    assert!(tried >= 15, "{tried} malformed inputs");
}
