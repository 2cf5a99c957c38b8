//! Hostile inputs at volume: every parser Lathe runs on what users give it, fed generated and
//! mutated inputs (proptest, seeded from the real files and the malformed corpora). For every
//! case: no panic; no allocation beyond [`CAP`] above what the process held before (a counting
//! allocator, `peak_alloc`: this test binary's only allocator, and the parsers run one at a
//! time); an error
//! names its input (the file, or the filter); and where a property is stronger, that: a changed
//! manifest, checksum list or signature never verifies.
//!
//! `LATHE_FUZZ_CASES` sets the cases per parser (default 2,000: about a minute in all in a debug
//! build); `tests/bench/fuzz.sh` runs a release build with 1,000,000 and prints each parser's
//! count, time and largest allocation. `LATHE_FUZZ_SEED` replays a run (default: a fixed seed,
//! so the test command is repeatable; the benchmark draws a new one and prints it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// The largest allocation a case may make on top of what the process held: far above what a
/// 64 KiB input needs, far below what a length field that was believed would ask for.
const CAP: usize = 256 << 20;
/// The largest input generated.
const MAX_INPUT: usize = 64 << 10;

/// Counts what is allocated, and the peak (reset before each case).
#[global_allocator]
static ALLOCATOR: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

/// One parser at a time, so the counters measure it alone.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn cases() -> u32 {
    std::env::var("LATHE_FUZZ_CASES")
        .ok()
        .map(|v| v.parse().expect("LATHE_FUZZ_CASES is a number"))
        .unwrap_or(2000)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `test` on `cases()` values of `strategy`, each under the allocation cap; panics with
/// the smallest failing input proptest finds. Prints what ran.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), String>)
where
    S::Value: std::fmt::Debug,
{
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let seed: u64 = std::env::var("LATHE_FUZZ_SEED")
        .ok()
        .map(|v| v.parse().expect("LATHE_FUZZ_SEED is a number"))
        .unwrap_or(20_261_207);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..8 + name.len().min(24)].copy_from_slice(&name.as_bytes()[..name.len().min(24)]);
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let largest = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        let before = ALLOCATOR.current_usage();
        ALLOCATOR.reset_peak_usage();
        let outcome = test(value);
        let grew = ALLOCATOR.peak_usage().saturating_sub(before);
        largest.fetch_max(grew, Ordering::Relaxed);
        if grew > CAP {
            return Err(TestCaseError::fail(format!(
                "allocated {} MiB for one input (cap {} MiB)",
                grew >> 20,
                CAP >> 20
            )));
        }
        outcome.map_err(TestCaseError::fail)
    });
    eprintln!(
        "fuzz {name}: {} cases run (of {}, with shrinking) in {:.1} s, seed {seed}, largest allocation above the baseline {:.1} MiB{}",
        ran.load(Ordering::Relaxed),
        cases(),
        started.elapsed().as_secs_f64(),
        largest.load(Ordering::Relaxed) as f64 / (1 << 20) as f64,
        if result.is_err() { ", FAILED" } else { "" }
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// One change to a byte string; positions are fractions of its length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(u32, u8),
    Set(u32, u8),
    Insert(u32, Vec<u8>),
    Delete(u32, u16),
    Truncate(u32),
    /// Copies a run of the input elsewhere (duplicated fields, repeated records).
    Repeat(u32, u32, u16),
}

/// Bytes that parsers treat specially.
fn interesting() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 1..8),
        Just(b"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just(b": ".to_vec()),
        Just(b"- ".to_vec()),
        Just(b"\t".to_vec()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<u32>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<u32>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (any::<u32>(), interesting()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<u32>(), 1u16..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        any::<u32>().prop_map(Mutation::Truncate),
        (any::<u32>(), any::<u32>(), 1u16..256).prop_map(|(a, b, n)| Mutation::Repeat(a, b, n)),
    ]
}

fn at(p: u32, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (p as u64 * len as u64 / (u32::MAX as u64 + 1)) as usize
    }
}

fn apply(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for m in mutations {
        let len = v.len();
        match m {
            Mutation::Flip(p, b) if len > 0 => v[at(*p, len)] ^= b | 1,
            Mutation::Set(p, b) if len > 0 => v[at(*p, len)] = *b,
            Mutation::Insert(p, bytes) => {
                let i = at(*p, len + 1).min(len);
                v.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete(p, n) if len > 0 => {
                let i = at(*p, len);
                let end = (i + *n as usize).min(len);
                v.drain(i..end);
            }
            Mutation::Truncate(p) => v.truncate(at(*p, len + 1)),
            Mutation::Repeat(a, b, n) if len > 0 => {
                let from = at(*a, len);
                let end = (from + *n as usize).min(len);
                let run = v[from..end].to_vec();
                let to = at(*b, len + 1).min(len);
                v.splice(to..to, run);
            }
            _ => {}
        }
    }
    v.truncate(MAX_INPUT);
    v
}

/// Mutated seeds, with now and then arbitrary bytes.
fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    assert!(!seeds.is_empty());
    let n = seeds.len();
    prop_oneof![
        9 => (0..n, vec(mutation(), 0..6)).prop_map(move |(i, m)| apply(&seeds[i], &m)),
        1 => vec(any::<u8>(), 0..2048),
    ]
}

/// The files of `dir` with one of `extensions`, at most `MAX_INPUT` bytes each.
fn seeds(dir: &str, extensions: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(repo().join(dir)).unwrap() {
        let path = e.unwrap().path();
        let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
        if path.is_file() && extensions.contains(&ext) {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.len() <= MAX_INPUT {
                out.push(bytes);
            }
        }
    }
    out
}

/// The first `n` bytes of a repository file (cut at a line end).
fn head(file: &str, n: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(repo().join(file)).unwrap();
    if bytes.len() > n {
        let cut = bytes[..n].iter().rposition(|b| *b == b'\n').unwrap_or(n);
        bytes.truncate(cut + 1);
    }
    bytes
}

/// An error that names its input.
fn names(e: &lathe_core::Error, what: &str) -> Result<(), String> {
    let text = e.to_string();
    if text.contains(what) {
        Ok(())
    } else {
        Err(format!("the error does not name {what}: {text}"))
    }
}

/// Words of the filter languages, and things that are not.
fn filter_text(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => vec(prop::sample::select(words), 0..16).prop_map(|w| w.join(" ")),
        2 => vec(prop::sample::select(words), 0..16).prop_map(|w| w.concat()),
        1 => ".{0,64}",
    ]
}

const DATASET_WORDS: &[&str] = &[
    "age",
    "bmi",
    "country",
    "\"odd name\"",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "(",
    ")",
    "is",
    "null",
    "'NO'",
    "'it''s'",
    "'",
    "42",
    "-1.5e3",
    "1e999",
    "true",
    "false",
    "in",
    ",",
    "like",
    "'%a_'",
    "between",
    "contains",
    "NaN",
    "\u{0}",
    "é",
];

const RUNS_WORDS: &[&str] = &[
    "metrics.loss",
    "params.lr",
    "tags.mlflow.runName",
    "attributes.status",
    "metrics.`a b`",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "AND",
    "or",
    "(",
    ")",
    "'FINISHED'",
    "\"x\"",
    "0.5",
    "-2",
    "1e400",
    "LIKE",
    "ILIKE",
    "'%run%'",
    "IN",
    "('a', 'b')",
    "IS",
    "NULL",
    "NOT",
    "`",
    "'",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "experiment",
    "\u{7f}",
];

#[test]
fn the_dataset_filter_language() {
    use lathe_core::dataset::filter;
    use polars::prelude::*;
    fuzz("dataset filter", filter_text(DATASET_WORDS), |text| {
        match filter::parse(&text) {
            Ok(expr) => {
                // Evaluated on a frame that has its columns, as numbers and as text: an error
                // is fine (a type clash), a panic is not.
                let columns = expr.columns();
                for text_columns in [false, true] {
                    let cols: Vec<Column> = columns
                        .iter()
                        .map(|c| {
                            if text_columns {
                                Column::new(c.as_str().into(), ["a", "NO", ""])
                            } else {
                                Column::new(c.as_str().into(), [1.0, f64::NAN, -3.0])
                            }
                        })
                        .collect();
                    let frame = DataFrame::new(3, cols).map_err(|e| e.to_string())?;
                    let _ = expr.evaluate(&frame);
                }
                Ok(())
            }
            Err(e) => names(&e, "filter"),
        }
    });
}

#[test]
fn the_run_filter_language() {
    use lathe_core::runs::filter::Filter;
    fuzz(
        "run filter",
        filter_text(RUNS_WORDS),
        |text| match Filter::parse(&text) {
            Ok(f) => {
                let _ = f.keys();
                Ok(())
            }
            Err(e) => names(&e, "run filter"),
        },
    );
}

#[test]
fn csv_sniffing_and_type_inference() {
    use lathe_core::dataset::ReadOptions;
    let mut seeds = seeds("tests/corpus/datasets", &["csv", "tsv"]);
    seeds.push(head("assets/datasets/diabetes.csv", 4096));
    seeds.push(head("assets/datasets/breast_cancer.csv", 4096));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.csv");
    fuzz("csv", inputs(seeds), |bytes| {
        std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
        match lathe_core::dataset::read::read_table(&path, &ReadOptions::default()) {
            Ok(_) => Ok(()),
            Err(e) => names(&e, "fuzz.csv"),
        }
    });
}

#[test]
fn the_onnx_decoder_and_graph_builder() {
    use lathe_core::model::Model;
    let mut seeds = seeds("assets/models", &["onnx"]);
    seeds.extend(self::seeds("tests/corpus/models", &["onnx"]));
    fuzz("onnx", inputs(seeds), |bytes| {
        match Model::load(&bytes, "fuzz.onnx") {
            Ok(model) => {
                // A graph that builds is run on zeros: a wrong shape is an error, not a panic.
                if let Some(w) = model.feature_count().filter(|w| (1..=4096).contains(w)) {
                    let _ = model.predict(&vec![0.0; 2 * w], w);
                }
                Ok(())
            }
            Err(e) => names(&e, "fuzz.onnx"),
        }
    });
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn the_bundle_archive_reader() {
    use lathe_core::bundle::archive;
    let dir = tempfile::tempdir().unwrap();
    let valid = dir.path().join("valid.tar.gz");
    let files: std::collections::BTreeMap<String, Vec<u8>> = [
        ("manifest.json", b"{\"format\": \"lathe-bundle\"}".to_vec()),
        (
            "model/model.onnx",
            std::fs::read(repo().join("assets/models/diabetes_risk_logreg.onnx")).unwrap(),
        ),
        ("SHA256SUMS", b"00  manifest.json\n".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    archive::write_archive(&valid, "m-1", &files, 0, &|_, _| {}).unwrap();
    let mut compressed = vec![std::fs::read(&valid).unwrap()];
    compressed.extend(seeds("tests/corpus/bundles", &["gz"]));
    // The tar streams inside, mutated before gzip, reach the tar reader itself.
    let tars: Vec<Vec<u8>> = compressed
        .iter()
        .filter_map(|g| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(g.as_slice()), &mut out)
                .ok()
                .map(|_| out)
        })
        .filter(|t| t.len() <= MAX_INPUT)
        .collect();
    assert!(!tars.is_empty());
    let path = dir.path().join("fuzz.tar.gz");
    let strategy = prop_oneof![inputs(compressed), inputs(tars).prop_map(|t| gzip(&t)),];
    fuzz("bundle archive", strategy, |bytes| {
        std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
        match archive::read(&path, archive::Limits::default()) {
            Ok(_) => Ok(()),
            Err(e) => names(&e, "fuzz.tar.gz"),
        }
    });
}

/// Copies a folder.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let path = e.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn meta_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            meta_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "meta.yaml") {
            out.push(path);
        }
    }
}

#[test]
fn mlflow_meta_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let mlruns = dir.path().join("mlruns");
    copy_dir(&repo().join("tests/fixtures/mlflow/mlruns"), &mlruns);
    let mut metas = Vec::new();
    meta_files(&mlruns, &mut metas);
    metas.sort();
    let originals: Vec<Vec<u8>> = metas.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let job = lathe_core::job::Job::silent();
    let n = metas.len();
    let strategy = (0..n, inputs(originals.clone()));
    fuzz("mlflow meta.yaml", strategy, |(which, bytes)| {
        std::fs::write(&metas[which], &bytes).map_err(|e| e.to_string())?;
        let outcome = lathe_core::runs::read_local(&mlruns, &job);
        std::fs::write(&metas[which], &originals[which]).map_err(|e| e.to_string())?;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) => names(&e, "mlruns"),
        }
    });
}

#[test]
fn run_logs_jsonl_and_csv() {
    let job = lathe_core::job::Job::silent();
    let dir = tempfile::tempdir().unwrap();
    for (ext, mut seeds) in [
        ("jsonl", seeds("tests/corpus/runs", &["jsonl"])),
        ("csv", seeds("tests/corpus/runs", &["csv"])),
    ] {
        seeds.push(match ext {
            "jsonl" => head("tests/fixtures/mlflow/runs.jsonl", 8192),
            _ => std::fs::read(repo().join("tests/fixtures/mlflow/search_runs.csv")).unwrap(),
        });
        let path = dir.path().join(format!("fuzz.{ext}"));
        fuzz(&format!("run log .{ext}"), inputs(seeds), |bytes| {
            std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
            match lathe_core::runs::read_local(&path, &job) {
                Ok(_) => Ok(()),
                Err(e) => names(&e, &format!("fuzz.{ext}")),
            }
        });
    }
}

#[test]
fn bundle_manifests_checksums_and_signatures() {
    use lathe_core::bundle::{self, ExportOptions, oms, sign};
    use lathe_core::job::Job;
    let tmp = tempfile::tempdir().unwrap();
    let project =
        lathe_core::demo::create(&tmp.path().join("demo"), Default::default(), &Job::silent())
            .unwrap();
    for (kind, signature) in [
        (sign::KeyType::Ed25519, "SHA256SUMS.sig"),
        (sign::KeyType::EcdsaP256, oms::SIGNATURE),
    ] {
        let key = tmp.path().join(format!("{}.key", kind.name()));
        sign::new_key(&key, kind).unwrap();
        let out = tmp.path().join(kind.name());
        bundle::export(
            &project,
            &ExportOptions {
                model: "diabetes_regressor".into(),
                out: out.clone(),
                sign_key: Some(key.clone()),
                ..Default::default()
            },
            &Job::silent(),
        )
        .unwrap();
        let files = bundle::read(&out).unwrap();
        assert!(bundle::verify_files(&files, None).ok);
        let public = sign::read_public(&key).unwrap();
        let targets = ["manifest.json", "SHA256SUMS", signature];
        let originals: Vec<Vec<u8>> = targets
            .iter()
            .map(|t| files.get(t).unwrap().to_vec())
            .collect();
        let strategy = (0..targets.len(), inputs(originals.clone()));
        fuzz(
            &format!(
                "bundle manifest, SHA256SUMS and {signature} ({})",
                kind.name()
            ),
            strategy,
            |(which, bytes)| {
                let mut changed = files.clone();
                changed
                    .files
                    .insert(targets[which].to_owned(), bytes.clone());
                if let (sign::PublicKey::P256(k), true) =
                    (&public, targets[which] == oms::SIGNATURE)
                {
                    let _ = oms::verify(&bytes, k);
                }
                for trusted in [None, Some(&public)] {
                    let v = bundle::verify_files(&changed, trusted);
                    if bytes != originals[which] && v.ok {
                        return Err(format!(
                            "a changed {} verified (trusted key given: {})",
                            targets[which],
                            trusted.is_some()
                        ));
                    }
                }
                Ok(())
            },
        );
    }
}

#[test]
fn check_policies_and_gx_suites() {
    let dir = tempfile::tempdir().unwrap();
    let (frame, _) = lathe_core::dataset::read::read_table(
        &repo().join("tests/fixtures/data/cars.csv"),
        &lathe_core::dataset::read::ReadOptions::default(),
    )
    .unwrap();
    let mut seeds = seeds("tests/corpus/checks", &["yaml", "json"]);
    seeds.extend(self::seeds("tests/fixtures/checks", &["json"]));
    for ext in ["yaml", "json"] {
        let path = dir.path().join(format!("fuzz.{ext}"));
        fuzz(
            &format!("check policy .{ext}"),
            inputs(seeds.clone()),
            |bytes| {
                std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
                let outcome = lathe_core::check::Policy::read(&path).and_then(|policy| {
                    for suite in &policy.suites {
                        lathe_core::expect::validate(
                            &frame,
                            suite,
                            &path,
                            &lathe_core::job::Job::silent(),
                        )?;
                    }
                    Ok(())
                });
                match outcome {
                    Ok(()) => Ok(()),
                    Err(e) => names(&e, &format!("fuzz.{ext}")),
                }
            },
        );
    }
}
