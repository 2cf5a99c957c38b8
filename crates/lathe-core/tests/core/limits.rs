//! Evaluation and SHAP over tables larger than their memory limit: read a slice of rows at a
//! time (and only the rows SHAP needs), with spilled scored rows and sort runs, they give the
//! same bits as the in-memory computation.

use std::path::{Path, PathBuf};

use lathe_core::dataset::browse::TableSource;
use lathe_core::dataset::stream::MemoryLimit;
use lathe_core::explain::importance::Scoring;
use lathe_core::explain::shap::Algorithm;
use lathe_core::explain::source::{SourceInput as ExplainSource, explain_source};
use lathe_core::explain::{ExplainInput, Explanation, Request, explain};
use lathe_core::job::Job;
use lathe_core::model::Model;
use lathe_core::model::eval::{EvalInput, SourceInput, evaluate, evaluate_source};
use polars::prelude::*;

use crate::models::{expected, jittered, load, strings};

/// 256 KiB: slices of 1,024 rows, and the scored rows and every sort run go to disk.
const TINY: MemoryLimit = MemoryLimit(256 << 10);

/// `copies` of a model's dataset, the first feature jittered so the scores take many values,
/// written as Parquet in row groups of 3,000 rows.
fn big_table(name: &str, copies: usize, dir: &Path) -> (DataFrame, TableSource) {
    let mut big = jittered(name, copies);
    let source = parquet_source(&mut big, dir.join(format!("{name}.parquet")));
    (big, source)
}

/// `frame` written to `path` as Parquet in row groups of 3,000 rows.
fn parquet_source(frame: &mut DataFrame, path: PathBuf) -> TableSource {
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .with_row_group_size(Some(3_000))
        .finish(frame)
        .unwrap();
    TableSource::File {
        path,
        options: Default::default(),
    }
}

/// `request` on `model` explained over the table in memory and over its Parquet copy within
/// `limit` (with the background, when given, the same way): both explanations.
fn in_memory_and_sliced(
    model: &Model,
    features: &[String],
    (frame, source): (&DataFrame, &TableSource),
    background: Option<(&DataFrame, &TableSource)>,
    limit: MemoryLimit,
    request: &Request,
) -> (Explanation, Explanation) {
    let memory = explain(
        &ExplainInput {
            model,
            features,
            frame,
            background: background.map(|(frame, _)| frame),
        },
        request,
        &Job::silent(),
    )
    .unwrap();
    let sliced = explain_source(
        &ExplainSource {
            model,
            features,
            data: source,
            background: background.map(|(_, source)| source),
            limit,
        },
        request,
        &Job::silent(),
    )
    .unwrap();
    (memory, sliced)
}

#[test]
fn an_evaluation_over_its_memory_limit_equals_the_in_memory_one() {
    let dir = tempfile::tempdir().unwrap();
    let expected = expected();
    for (name, copies) in [("logreg_binary", 40), ("gb_multi", 30), ("rf_reg", 40)] {
        let entry = &expected["models"][name];
        let features = strings(&entry["features"]);
        let target = entry["target"].as_str().unwrap();
        let model = load(name);
        let (frame, source) = big_table(name, copies, dir.path());
        assert!(!source.fits(TINY).unwrap());
        let memory = evaluate(
            &model,
            &EvalInput {
                model_name: name.into(),
                data_name: "d".into(),
                frame: &frame,
                features: &features,
                target,
                task: None,
            },
        )
        .unwrap();
        let sliced = evaluate_source(
            &model,
            &SourceInput {
                model_name: name.into(),
                data_name: "d".into(),
                source: &source,
                features: &features,
                target,
                task: None,
                limit: TINY,
            },
            &Job::silent(),
        )
        .unwrap();
        assert_eq!(sliced.rows as usize, frame.height());
        // (A multi-class evaluation keeps no curves.)
        assert!(
            memory.thinned || name == "gb_multi",
            "{name}: curves or points thinned"
        );
        assert_eq!(format!("{sliced:?}"), format!("{memory:?}"), "{name}");
    }

    // An error in a later slice names the row of the table, as in memory.
    let entry = &expected["models"]["rf_reg"];
    let features = strings(&entry["features"]);
    let (mut frame, _) = big_table("rf_reg", 40, dir.path());
    let name = features[3].clone();
    let mut values: Vec<Option<f64>> = frame
        .column(&name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    values[15_000] = None;
    frame
        .replace(
            &name,
            Series::new(name.as_str().into(), values).into_column(),
        )
        .unwrap();
    let source = parquet_source(&mut frame, dir.path().join("holed.parquet"));
    let model = load("rf_reg");
    let e = evaluate_source(
        &model,
        &SourceInput {
            model_name: "m".into(),
            data_name: "d".into(),
            source: &source,
            features: &features,
            target: entry["target"].as_str().unwrap(),
            task: None,
            limit: TINY,
        },
        &Job::silent(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("row 15001 has no value"), "{e}");
}

#[test]
fn shap_over_its_memory_limit_reads_only_its_rows_and_equals_the_in_memory_one() {
    let dir = tempfile::tempdir().unwrap();
    let expected = expected();
    for (name, algorithm) in [
        ("logreg_binary", Algorithm::Auto),
        ("rf_binary", Algorithm::Auto),
        ("rf_reg", Algorithm::Permutation),
    ] {
        let entry = &expected["models"][name];
        let features = strings(&entry["features"]);
        let model = load(name);
        let (frame, source) = big_table(name, 30, dir.path());
        let request = Request::Shap {
            algorithm,
            rows: Some("9000..9012".into()),
            background: 40,
            max_evals: 300,
            seed: 7,
            class: None,
            nsamples: None,
            l1_reg: None,
        };
        let (memory, sliced) =
            in_memory_and_sliced(&model, &features, (&frame, &source), None, TINY, &request);
        assert_eq!(format!("{sliced:?}"), format!("{memory:?}"), "{name}");
        // Permutation importance holds some bytes a row; over what the limit allows, it says
        // so and names the limit.
        let permutation = Request::Permutation {
            scoring: None,
            repeats: 2,
            seed: 0,
            target: entry["target"].as_str().unwrap().to_owned(),
            class: None,
        };
        let e = explain_source(
            &ExplainSource {
                model: &model,
                features: &features,
                data: &source,
                background: None,
                limit: TINY,
            },
            &permutation,
            &Job::silent(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("permutation importance holds about") && e.contains("--memory-limit"),
            "{e}"
        );
    }
}

/// Permutation importance over a 2 MiB and a 32 MiB limit (the table is read and predicted a
/// slice at a time, one permuted column held whole; features one after another, then one per
/// thread) gives scikit-learn's permutations and the in-memory scores to the bit, for each
/// scorer kind.
#[test]
fn permutation_importance_over_its_memory_limit_equals_the_in_memory_one() {
    let dir = tempfile::tempdir().unwrap();
    let expected = expected();
    for (name, scorings) in [
        ("rf_reg", vec![None, Some(Scoring::NegMeanAbsoluteError)]),
        (
            "logreg_binary",
            vec![None, Some(Scoring::RocAuc), Some(Scoring::NegLogLoss)],
        ),
    ] {
        let entry = &expected["models"][name];
        let features = strings(&entry["features"]);
        let model = load(name);
        let (frame, source) = big_table(name, 30, dir.path());
        // 2 MiB: one feature after another; 32 MiB: a feature per thread. Both over the limit.
        for (scoring, limit) in scorings
            .into_iter()
            .flat_map(|s| [(s, MemoryLimit(2 << 20)), (s, MemoryLimit(32 << 20))])
        {
            assert!(!source.fits(limit).unwrap());
            let request = Request::Permutation {
                scoring,
                repeats: 2,
                seed: 5,
                target: entry["target"].as_str().unwrap().to_owned(),
                class: None,
            };
            let (memory, sliced) =
                in_memory_and_sliced(&model, &features, (&frame, &source), None, limit, &request);
            assert_eq!(
                format!("{sliced:?}"),
                format!("{memory:?}"),
                "{name} {scoring:?} {limit:?}"
            );
        }
    }
}

/// LIME (its discretizer from external sorts and two passes over slices) and partial
/// dependence (grids from external sorts, sums a slice at a time) over a 256 KiB limit give
/// the in-memory explanation to the bit; the partial dependence keeps the ICE lines the chart
/// draws, named by row.
#[test]
fn lime_and_partial_dependence_over_their_memory_limit_equal_the_in_memory_ones() {
    let dir = tempfile::tempdir().unwrap();
    let expected = expected();
    for (name, chosen) in [
        ("rf_reg", vec!["age", "sex", "bmi"]),
        ("logreg_binary", vec![]),
    ] {
        let entry = &expected["models"][name];
        let features = strings(&entry["features"]);
        let chosen: Vec<String> = if chosen.is_empty() {
            features[..2].to_vec()
        } else {
            chosen.iter().map(|c| (*c).to_owned()).collect()
        };
        let model = load(name);
        let (frame, source) = big_table(name, 30, dir.path());
        let (bg_frame, bg_source) = {
            let mut bg = jittered(name, 12);
            let source = parquet_source(&mut bg, dir.path().join(format!("{name}_bg.parquet")));
            (bg, source)
        };
        assert!(!source.fits(TINY).unwrap() && !bg_source.fits(TINY).unwrap());
        let both = |request: &Request, background: bool| {
            in_memory_and_sliced(
                &model,
                &features,
                (&frame, &source),
                background.then_some((&bg_frame, &bg_source)),
                TINY,
                request,
            )
        };
        let lime = Request::Lime {
            rows: Some("9000..9003".into()),
            samples: 400,
            num_features: 5,
            seed: 3,
            class: None,
        };
        for background in [false, true] {
            let (memory, sliced) = both(&lime, background);
            assert_eq!(
                format!("{sliced:?}"),
                format!("{memory:?}"),
                "{name} LIME, background {background}"
            );
        }

        let pdp = Request::Pdp {
            features: Some(chosen.clone()),
            grid_resolution: 20,
            class: None,
        };
        let (Explanation::Pdp(memory), Explanation::Pdp(sliced)) = both(&pdp, false) else {
            panic!("partial dependence")
        };
        let n = frame.height();
        let every = n.div_ceil(200);
        let rows: Vec<usize> = (0..n).step_by(every).collect();
        assert_eq!(sliced.features.len(), chosen.len());
        for (s, m) in sliced.features.iter().zip(&memory.features) {
            let what = format!("{name} {}", m.name);
            assert_eq!(s.name, m.name);
            assert_eq!(
                format!("{:?}", s.grid),
                format!("{:?}", m.grid),
                "{what} grid"
            );
            assert_eq!(
                format!("{:?}", s.average),
                format!("{:?}", m.average),
                "{what} average"
            );
            assert_eq!(m.ice_rows, None);
            assert_eq!(s.ice_rows.as_ref(), Some(&rows), "{what}");
            let kept: Vec<&Vec<f64>> = rows.iter().map(|&r| &m.individual[r]).collect();
            assert_eq!(
                format!("{:?}", s.individual.iter().collect::<Vec<_>>()),
                format!("{kept:?}"),
                "{what} ICE"
            );
        }
        // "sex" has two values: its grid is those values, as in memory.
        if name == "rf_reg" {
            assert_eq!(sliced.features[1].grid.len(), 2);
        }
    }
}
