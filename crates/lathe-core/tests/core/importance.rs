//! Hyperparameter importance equals Optuna's PED-ANOVA evaluator on studies Optuna optimised
//! (tests/fixtures/importance_reference.py: the same trials, with the domains Lathe infers).

use lathe_core::job::Job;
use lathe_core::runs::importance::{
    self, ImportanceMethod as Method, ImportanceRequest, MetricDirection as Direction,
};
use serde_json::Value as Json;

use crate::support::{new_project, repo};

/// A fixture study: Optuna's expected results, and a project holding its trials as runs.
fn study(name: &str) -> (Json, tempfile::TempDir, lathe_core::Project) {
    let dir = repo().join("tests/fixtures/importance");
    let expected: Json = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    lathe_core::runs::import(&project, &dir.join(format!("{name}.jsonl")), &Job::silent()).unwrap();
    (expected, tmp, project)
}

#[test]
fn ped_anova_equals_optunas_evaluator() {
    let (mut compared, mut worst) = (0, 0.0f64);
    for name in ["mixed", "tpe_max"] {
        let (expected, _tmp, project) = study(name);
        let metric = expected["metric"].as_str().unwrap();
        let log: Vec<String> = expected["log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        for setting in expected["results"].as_array().unwrap() {
            let mut request = ImportanceRequest::new(metric);
            request.target_quantile = setting["target_quantile"].as_f64().unwrap();
            request.region_quantile = setting["region_quantile"].as_f64().unwrap();
            request.log_params = log.clone();
            // The direction is told from the metric's name (loss, accuracy).
            let found = importance::importance(&project, &request).unwrap();
            let direction = match expected["direction"].as_str().unwrap() {
                "minimize" => Direction::Minimize,
                _ => Direction::Maximize,
            };
            assert_eq!(found.direction, direction);
            assert_eq!(found.runs_used, expected["runs"].as_u64().unwrap());
            let want = setting["importances"].as_object().unwrap();
            assert_eq!(found.importances.len(), want.len(), "{name}");
            for p in &found.importances {
                let w = want[&p.param].as_f64().unwrap();
                assert!(
                    (p.importance - w).abs() <= 1e-9,
                    "{name} {setting}: {} is {} where Optuna gives {w}",
                    p.param,
                    p.importance
                );
                compared += 1;
                worst = worst.max((p.importance - w).abs());
            }
            // Most important first.
            assert!(
                found
                    .importances
                    .windows(2)
                    .all(|w| w[0].importance >= w[1].importance)
            );
        }
    }
    assert_eq!(compared, 4 * 5 + 4 * 4);
    eprintln!("{compared} importances, the largest difference from Optuna's {worst:e}");
}

/// fANOVA: Optuna's `FanovaImportanceEvaluator(seed=0)` on the same trials. The forest is
/// scikit-learn's (the same bootstraps, float32 features, split search and stopping rules) but
/// for which of two equally good splits is taken, so the importances agree closely, not
/// bitwise: the test holds them to 0.02 (the issue asks 0.05; Optuna's own seeds 0-4 spread
/// them by up to 0.023) and the ranking of the top three to Optuna's.
#[test]
fn fanova_matches_optunas_evaluator_with_seed_0() {
    let mut worst = 0.0f64;
    for name in ["mixed", "tpe_max"] {
        let (expected, _tmp, project) = study(name);
        let mut request = ImportanceRequest::new(expected["metric"].as_str().unwrap());
        request.method = Method::Fanova;
        let found = importance::importance(&project, &request).unwrap();
        let want = expected["fanova"]["seed0"].as_object().unwrap();
        // Optuna assesses only the params every trial holds (momentum is conditional).
        let names: Vec<&str> = found.importances.iter().map(|p| p.param.as_str()).collect();
        let mut want_ranked: Vec<(&String, f64)> =
            want.iter().map(|(k, v)| (k, v.as_f64().unwrap())).collect();
        want_ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(names.len(), want.len(), "{name}: {names:?}");
        assert_eq!(
            names[..3],
            want_ranked[..3]
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()[..],
            "{name}: the top three"
        );
        for p in &found.importances {
            let w = want[&p.param].as_f64().unwrap();
            eprintln!("{name} {}: {} vs Optuna {w}", p.param, p.importance);
            worst = worst.max((p.importance - w).abs());
        }
        if name == "mixed" {
            assert!(
                found
                    .notes
                    .iter()
                    .any(|n| n.contains("momentum is held by")),
                "{:?}",
                found.notes
            );
        }
    }
    eprintln!("fANOVA: the largest difference from Optuna's (seed 0) {worst:e}");
    assert!(worst <= 0.02, "{worst}");
}

#[test]
fn conditional_params_correlations_and_clear_errors() {
    let dir = repo().join("tests/fixtures/importance");
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    lathe_core::runs::import(&project, &dir.join("mixed.jsonl"), &Job::silent()).unwrap();
    let found = importance::importance(&project, &ImportanceRequest::new("loss")).unwrap();
    let by = |name: &str| {
        found
            .importances
            .iter()
            .find(|p| p.param == name)
            .unwrap()
            .clone()
    };
    // momentum is only logged with sgd: said, and counted over the runs holding it.
    assert!(by("momentum").runs < found.runs_used);
    assert!(
        found
            .notes
            .iter()
            .any(|n| n.starts_with("momentum is held by"))
    );
    assert_eq!(by("lr").scale, "log");
    assert_eq!(by("layers").scale, "integer");
    assert_eq!(by("optimizer").scale, "categorical");
    assert_eq!(by("optimizer").correlation, None);
    // A numeric param has a correlation (Pearson's r with the metric).
    let r = by("layers").correlation.unwrap();
    assert!(r > -1.0 && r < 1.0);
    // The correlation method ranks by |r|.
    let mut request = ImportanceRequest::new("loss");
    request.method = Method::Correlation;
    let by_r = importance::importance(&project, &request).unwrap();
    let top = &by_r.importances[0];
    assert!(
        by_r.importances
            .iter()
            .all(|p| p.correlation.unwrap_or(0.0).abs() <= top.correlation.unwrap().abs() + 1e-12)
    );
    // Errors name the input and the fix.
    let err = importance::importance(&project, &ImportanceRequest::new("val_metric")).unwrap_err();
    assert!(
        err.to_string()
            .contains("no run logs the metric \"val_metric\""),
        "{err}"
    );
    assert!(err.to_string().contains("loss"), "{err}");
    let tmp2 = tempfile::tempdir().unwrap();
    let other = new_project(tmp2.path());
    std::fs::write(
        tmp2.path().join("r.jsonl"),
        "{\"event\": \"start\", \"run\": \"a\", \"params\": {\"k\": 1}}\n\
         {\"event\": \"metric\", \"run\": \"a\", \"key\": \"throughput\", \"value\": 3}\n",
    )
    .unwrap();
    lathe_core::runs::import(&other, &tmp2.path().join("r.jsonl"), &Job::silent()).unwrap();
    let err = importance::importance(&other, &ImportanceRequest::new("throughput")).unwrap_err();
    assert!(err.to_string().contains("--direction maximize"), "{err}");
    let mut bad = ImportanceRequest::new("loss");
    bad.target_quantile = 0.5;
    bad.region_quantile = 0.4;
    assert!(importance::importance(&project, &bad).is_err());
    assert_eq!("fanova".parse::<Method>().unwrap(), Method::Fanova);
    assert!(
        "shap"
            .parse::<Method>()
            .unwrap_err()
            .to_string()
            .contains("expected ped-anova, fanova or correlation")
    );
}
