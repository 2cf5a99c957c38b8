//! Quality gates: a policy file (`lathe-checks.yaml`) holding data expectations (GX suites, or
//! expectations written inline) and model, fairness, drift and profile-alert rules, run as one
//! check whose result has GX's validation shape (`expect::Validation`): each rule is one more
//! result, named `lathe_…`, with its observed value.
//!
//! A bare GX suite is a policy too (its expectations, nothing else). Reading a policy checks
//! its shape, every rule's syntax and every suite it names before anything runs; a problem is
//! a `BadPolicy` error naming the file, the line and column (for malformed YAML or JSON) or the
//! key.
//!
//! - [`rule`]: a rule's text, `roc_auc >= 0.9`.

pub mod rule;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::dataset::browse::TableSource;
use crate::dataset::stream::MemoryLimit;
use crate::drift::{self, DriftOptions, Method};
use crate::error::{Error, Result};
use crate::expect::{self, ExpectationResult, Outcome, Statistics, Suite, Validation};
use crate::fairness::{self, Predictions};
use crate::job::Job;
use crate::model::eval::{self, SourceInput};
use crate::model::registry;
use crate::project::Project;

pub use rule::Rule;

/// The keys a policy file may hold (a file with none of them but `expectations` is a GX suite).
const POLICY_KEYS: &[&str] = &[
    "version",
    "name",
    "data",
    "suites",
    "expectations",
    "model",
    "fairness",
    "drift",
    "alerts",
];

/// A policy, read and checked.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub path: PathBuf,
    /// The table the data expectations (and, by default, the other rules) run on.
    pub data: Option<String>,
    /// The GX suites named and the inline expectations, in order.
    pub suites: Vec<Suite>,
    pub model: Option<ModelRules>,
    pub fairness: Option<FairnessRules>,
    pub drift: Option<DriftRules>,
    pub alerts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ModelRules {
    /// `NAME[@VERSION|@ALIAS]` in the registry.
    pub model: String,
    /// The evaluation table (default: the policy's data).
    pub data: Option<String>,
    pub target: Option<String>,
    pub metrics: Vec<Rule>,
    /// The data must hold every feature of the model's signature, as numbers.
    pub schema: bool,
}

#[derive(Debug, Clone)]
pub struct FairnessRules {
    pub model: Option<String>,
    pub data: Option<String>,
    pub target: Option<String>,
    pub sensitive: Vec<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub struct DriftRules {
    pub reference: String,
    pub current: Option<String>,
    pub method: Option<Method>,
    pub threshold: Option<f64>,
    pub rules: Vec<Rule>,
    /// Columns that must not drift.
    pub columns: Vec<String>,
}

/// The metrics a fairness rule may name (per sensitive column).
pub const FAIRNESS_METRICS: &[&str] = &[
    "demographic_parity_ratio",
    "demographic_parity_difference",
    "equalized_odds_ratio",
    "equalized_odds_difference",
];

/// The measures a drift rule may name.
pub const DRIFT_METRICS: &[&str] = &["drift_share", "drifted_columns"];

fn bad(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadPolicy {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// YAML (a superset of the JSON a suite is) as JSON values; the error names the line and column.
fn yaml_value(text: &str) -> std::result::Result<Value, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!(
            "not valid YAML at line {}, column {}: {}",
            m.line(),
            m.col() + 1,
            e.info()
        )
    })?;
    fn convert(y: &Yaml) -> std::result::Result<Value, String> {
        Ok(match y {
            Yaml::Real(r) => r
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Yaml::Integer(i) => Value::from(*i),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Boolean(b) => Value::Bool(*b),
            Yaml::Array(a) => Value::Array(a.iter().map(convert).collect::<Result<_, _>>()?),
            Yaml::Hash(h) => {
                let mut map = Map::new();
                for (k, v) in h {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => return Err(format!("a key must be a text, not {other:?}")),
                    };
                    map.insert(key, convert(v)?);
                }
                Value::Object(map)
            }
            Yaml::Null => Value::Null,
            Yaml::Alias(_) | Yaml::BadValue => {
                return Err("aliases and unreadable values are not supported".into());
            }
        })
    }
    match docs.as_slice() {
        [] => Err("the file is empty".into()),
        [one] => convert(one),
        _ => Err("the file holds more than one YAML document".into()),
    }
}

/// A table section's keys, checked: `allowed` only.
fn section<'a>(
    value: &'a Value,
    key: &str,
    allowed: &[&str],
) -> std::result::Result<&'a Map<String, Value>, String> {
    let map = value
        .as_object()
        .ok_or_else(|| format!("\"{key}\" must be a mapping of {}", allowed.join(", ")))?;
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "\"{key}.{unknown}\" is not a key of \"{key}\" (it takes {})",
            allowed.join(", ")
        ));
    }
    Ok(map)
}

fn text(
    map: &Map<String, Value>,
    key: &str,
    within: &str,
) -> std::result::Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("\"{within}.{key}\" must be a text, not {other}")),
    }
}

fn texts(
    map: &Map<String, Value>,
    key: &str,
    within: &str,
) -> std::result::Result<Vec<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("\"{within}.{key}\" must list texts, not {v}"))
            })
            .collect(),
        Some(other) => Err(format!(
            "\"{within}.{key}\" must be a list of texts, not {other}"
        )),
    }
}

fn rules(
    map: &Map<String, Value>,
    key: &str,
    within: &str,
    names: &[&str],
) -> std::result::Result<Vec<Rule>, String> {
    texts(map, key, within)?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Rule::parse(t, names).map_err(|e| format!("\"{within}.{key}[{i}]\" ({t:?}): {e}"))
        })
        .collect()
}

impl Policy {
    /// Reads a policy (`.yaml`, `.yml`) or a GX suite (`.json`, or YAML without policy keys).
    pub fn read(path: &Path) -> Result<Policy> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "read the checks",
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            bad(
                path,
                format!(
                    "not UTF-8 text (at byte {}); save it as UTF-8",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Policy::parse(&text, path)
    }

    /// A policy from its text; `path` names it in errors and anchors the suites it names.
    pub fn parse(text: &str, path: &Path) -> Result<Policy> {
        let json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let value: Value = if json {
            serde_json::from_str(text).map_err(|e| {
                bad(
                    path,
                    format!(
                        "not valid JSON at line {}, column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                )
            })?
        } else {
            yaml_value(text).map_err(|e| bad(path, e))?
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("checks")
            .to_owned();
        let Some(top) = value.as_object() else {
            return Err(bad(
                path,
                "a policy is a mapping of name, data, suites, expectations, model, fairness, drift, alerts",
            ));
        };
        // A GX suite's keys (1.x and 0.18); anything else is a policy.
        const SUITE_KEYS: &[&str] = &[
            "name",
            "id",
            "expectations",
            "meta",
            "notes",
            "expectation_suite_name",
            "data_asset_type",
            "ge_cloud_id",
        ];
        let suite_like =
            top.contains_key("expectations") || top.contains_key("expectation_suite_name");
        if suite_like && top.keys().all(|k| SUITE_KEYS.contains(&k.as_str())) {
            let suite = Suite::from_value(&value, path)?;
            return Ok(Policy {
                name: suite.name.clone(),
                path: path.to_path_buf(),
                data: None,
                suites: vec![suite],
                model: None,
                fairness: None,
                drift: None,
                alerts: Vec::new(),
            });
        }
        Policy::from_map(top, path, stem).map_err(|e| bad(path, e))
    }

    fn from_map(
        top: &Map<String, Value>,
        path: &Path,
        stem: String,
    ) -> std::result::Result<Policy, String> {
        if let Some(unknown) = top.keys().find(|k| !POLICY_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "\"{unknown}\" is not a key of a policy (it takes {})",
                POLICY_KEYS.join(", ")
            ));
        }
        if let Some(v) = top.get("version")
            && v != &Value::from(1)
        {
            return Err(format!("\"version\" is {v}; this Lathe reads version 1"));
        }
        let name = text(top, "name", "policy")?.unwrap_or(stem);
        let data = text(top, "data", "policy")?;
        let mut suites = Vec::new();
        let base = path.parent().unwrap_or(Path::new("."));
        for file in texts(top, "suites", "policy")? {
            let at = base.join(&file);
            let body = std::fs::read_to_string(&at)
                .map_err(|e| format!("\"suites\": cannot read {}: {e}", at.display()))?;
            let suite = Suite::parse(&body, &at).map_err(|e| format!("\"suites\": {e}"))?;
            suites.push(suite);
        }
        if let Some(list) = top.get("expectations") {
            let suite = Suite::from_value(
                &serde_json::json!({ "name": name, "expectations": list }),
                path,
            )
            .map_err(|e| match e {
                Error::BadPolicy { detail, .. } => format!("\"expectations\": {detail}"),
                other => other.to_string(),
            })?;
            suites.push(suite);
        }
        let model = match top.get("model") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let m = section(v, "model", &["name", "data", "target", "metrics", "schema"])?;
                Some(ModelRules {
                    model: text(m, "name", "model")?
                        .ok_or("\"model.name\" is required (NAME[@VERSION|@ALIAS])")?,
                    data: text(m, "data", "model")?,
                    target: text(m, "target", "model")?,
                    metrics: rules(m, "metrics", "model", &[])?,
                    schema: match m.get("schema") {
                        None | Some(Value::Null) => false,
                        Some(Value::Bool(b)) => *b,
                        Some(other) => {
                            return Err(format!(
                                "\"model.schema\" must be true or false, not {other}"
                            ));
                        }
                    },
                })
            }
        };
        let fairness = match top.get("fairness") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let f = section(
                    v,
                    "fairness",
                    &["model", "data", "target", "sensitive", "rules"],
                )?;
                let sensitive = texts(f, "sensitive", "fairness")?;
                if sensitive.is_empty() {
                    return Err("\"fairness.sensitive\" names at least one column".into());
                }
                let model = text(f, "model", "fairness")?;
                if model.is_none() && top.get("model").is_none() {
                    return Err(
                        "\"fairness.model\" is required when the policy has no \"model\"".into(),
                    );
                }
                Some(FairnessRules {
                    model,
                    data: text(f, "data", "fairness")?,
                    target: text(f, "target", "fairness")?,
                    sensitive,
                    rules: rules(f, "rules", "fairness", FAIRNESS_METRICS)?,
                })
            }
        };
        let drift = match top.get("drift") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let d = section(
                    v,
                    "drift",
                    &[
                        "reference",
                        "current",
                        "method",
                        "threshold",
                        "rules",
                        "columns_must_not_drift",
                    ],
                )?;
                let method = text(d, "method", "drift")?
                    .map(|m| Method::parse(&m).map_err(|e| format!("\"drift.method\": {e}")))
                    .transpose()?;
                let threshold = match d.get("threshold") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(other) => {
                        return Err(format!("\"drift.threshold\" must be a number, not {other}"));
                    }
                };
                Some(DriftRules {
                    reference: text(d, "reference", "drift")?.ok_or(
                        "\"drift.reference\" is required (NAME[@VERSION], a file or a URL)",
                    )?,
                    current: text(d, "current", "drift")?,
                    method,
                    threshold,
                    rules: rules(d, "rules", "drift", DRIFT_METRICS)?,
                    columns: texts(d, "columns_must_not_drift", "drift")?,
                })
            }
        };
        let alerts = match top.get("alerts") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => {
                let a = section(v, "alerts", &["none_of"])?;
                let kinds = texts(a, "none_of", "alerts")?;
                if let Some(k) = kinds
                    .iter()
                    .find(|k| !crate::dataset::alerts::KINDS.contains(&k.as_str()))
                {
                    return Err(format!(
                        "\"alerts.none_of\": \"{k}\" is not an alert Lathe raises ({})",
                        crate::dataset::alerts::KINDS.join(", ")
                    ));
                }
                kinds
            }
        };
        if suites.is_empty()
            && model.is_none()
            && fairness.is_none()
            && drift.is_none()
            && alerts.is_empty()
        {
            return Err("the policy checks nothing: give suites, expectations, model, fairness, drift or alerts".into());
        }
        Ok(Policy {
            name,
            path: path.to_path_buf(),
            data,
            suites,
            model,
            fairness,
            drift,
            alerts,
        })
    }
}

impl Policy {
    /// The policy's data expectations as one suite (its suites and inline expectations in
    /// order), for a bundle to carry; `None` when it has none.
    pub fn data_suite(&self) -> Option<Suite> {
        if self.suites.is_empty() {
            return None;
        }
        Some(Suite {
            name: self.name.clone(),
            expectations: self
                .suites
                .iter()
                .flat_map(|s| s.expectations.iter().cloned())
                .collect(),
        })
    }
}

/// What the policy's rules run on, resolved by the caller (`api::CheckRequest`).
pub struct Tables<'a> {
    /// The policy's data (`--data`, else its `data`).
    pub data: Option<(&'a str, &'a TableSource)>,
    /// Resolves another table a rule names (`model.data`, `drift.reference`, …).
    pub resolve: &'a dyn Fn(&str) -> Result<TableSource>,
    pub project: Option<&'a Project>,
}

impl std::fmt::Debug for Tables<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tables")
            .field("data", &self.data.map(|(name, _)| name))
            .finish_non_exhaustive()
    }
}

fn result(kind: &str, kwargs: Value, success: bool, outcome: Outcome) -> ExpectationResult {
    ExpectationResult {
        expectation_type: kind.to_owned(),
        kwargs: match kwargs {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        success,
        result: outcome,
    }
}

fn observed(v: Value) -> Outcome {
    Outcome {
        observed_value: Some(v),
        ..Outcome::default()
    }
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Runs every part of the policy, in the file's order of sections: the data expectations,
/// then the model's metrics and schema, fairness, drift, alerts.
pub fn run(policy: &Policy, tables: &Tables, job: &Job) -> Result<Validation> {
    let need_project = |what: &str| -> Result<&Project> {
        tables.project.ok_or_else(|| Error::BadArgument {
            argument: "checks",
            detail: format!(
                "{what} names a registered model: run it inside a project (--project DIR)"
            ),
        })
    };
    let data_of = |own: &Option<String>, what: &str| -> Result<(String, TableSource)> {
        match (own, tables.data) {
            (Some(name), _) => Ok((name.clone(), (tables.resolve)(name)?)),
            (None, Some((name, source))) => Ok((name.to_owned(), source.clone())),
            (None, None) => Err(Error::BadArgument {
                argument: "checks",
                detail: format!(
                    "{what} needs a table: give --data or \"data\" in {}",
                    policy.path.display()
                ),
            }),
        }
    };
    let mut results: Vec<ExpectationResult> = Vec::new();
    if !policy.suites.is_empty() {
        let (_, source) = data_of(&None, "the expectations")?;
        for suite in &policy.suites {
            let v = expect::validate_source(&source, suite, &policy.path, job)?;
            results.extend(v.results);
        }
    }
    if let Some(m) = &policy.model {
        let project = need_project("\"model\"")?;
        let (data_name, source) = data_of(&m.data, "\"model\"")?;
        let version = registry::show(project, &m.model)?;
        if m.schema {
            let schema = source.head(0)?;
            let mut missing = Vec::new();
            let mut not_numeric = Vec::new();
            for f in &version.features {
                match schema.schema().get(f.as_str()) {
                    None => missing.push(f.clone()),
                    Some(d)
                        if !(d.is_primitive_numeric()
                            || matches!(d, polars::prelude::DataType::Boolean)) =>
                    {
                        not_numeric.push(f.clone());
                    }
                    Some(_) => {}
                }
            }
            let ok = missing.is_empty() && not_numeric.is_empty();
            let mut out = observed(Value::from(version.features.len()));
            out.details =
                Some(serde_json::json!({ "missing": missing, "not_numeric": not_numeric }));
            results.push(result(
                "lathe_model_schema_compatible",
                serde_json::json!({ "model": version.reference(), "data": data_name }),
                ok,
                out,
            ));
        }
        if !m.metrics.is_empty() {
            let target = version.target_or(m.target.as_deref())?;
            let model = registry::load_model(project, &version)?;
            let evaluation = eval::evaluate_source(
                &model,
                &SourceInput {
                    model_name: version.reference(),
                    data_name: data_name.clone(),
                    source: &source,
                    features: &version.features,
                    target: &target,
                    task: Some(version.task),
                    limit: MemoryLimit::for_this_machine(),
                },
                job,
            )?;
            for r in &m.metrics {
                let value = evaluation.metrics.get(&r.metric).copied();
                let Some(value) = value else {
                    return Err(bad(
                        &policy.path,
                        format!(
                            "\"model.metrics\": the evaluation of {} has no metric \"{}\" (it has {})",
                            version.reference(),
                            r.metric,
                            evaluation
                                .metrics
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                };
                results.push(result(
                    "lathe_model_metric",
                    serde_json::json!({ "model": version.reference(), "data": data_name, "rule": r.text() }),
                    r.holds(value),
                    observed(number(value)),
                ));
            }
        }
    }
    if let Some(f) = &policy.fairness {
        let project = need_project("\"fairness\"")?;
        let model_ref = f
            .model
            .clone()
            .or_else(|| policy.model.as_ref().map(|m| m.model.clone()))
            .unwrap_or_default();
        let (data_name, source) = data_of(&f.data, "\"fairness\"")?;
        let version = registry::show(project, &model_ref)?;
        let target = version.target_or(f.target.as_deref())?;
        let model = registry::load_model(project, &version)?;
        let report = fairness::assess_source(
            &source,
            &data_name,
            &Predictions::Model {
                model: &model,
                name: version.reference(),
                features: &version.features,
            },
            &target,
            &f.sensitive,
            None,
            MemoryLimit::for_this_machine(),
            job,
        )?;
        for column in &f.sensitive {
            let Some(s) = report.by_sensitive.get(column) else {
                continue;
            };
            for r in &f.rules {
                let value = match r.metric.as_str() {
                    "demographic_parity_ratio" => s.demographic_parity_ratio,
                    "demographic_parity_difference" => s.demographic_parity_difference,
                    "equalized_odds_ratio" => s.equalized_odds_ratio,
                    _ => s.equalized_odds_difference,
                };
                results.push(result(
                    "lathe_fairness",
                    serde_json::json!({ "model": version.reference(), "data": data_name, "sensitive": column, "rule": r.text() }),
                    r.holds(value),
                    observed(number(value)),
                ));
            }
        }
    }
    if let Some(d) = &policy.drift {
        let reference = (tables.resolve)(&d.reference)?;
        let (current_name, current) = data_of(&d.current, "\"drift\"")?;
        let options = DriftOptions {
            method: d.method,
            threshold: d.threshold,
            ..DriftOptions::default()
        };
        let report = drift::compare(&reference, &current, &options, job)?;
        for r in &d.rules {
            let value = match r.metric.as_str() {
                "drift_share" => report.share_drifted,
                _ => report.drifted_columns as f64,
            };
            results.push(result(
                "lathe_drift",
                serde_json::json!({ "reference": d.reference, "current": current_name, "rule": r.text() }),
                r.holds(value),
                observed(number(value)),
            ));
        }
        for column in &d.columns {
            let Some(c) = report.columns.iter().find(|c| &c.name == column) else {
                return Err(bad(
                    &policy.path,
                    format!(
                        "\"drift.columns_must_not_drift\": \"{column}\" was not tested (is it in both tables?)"
                    ),
                ));
            };
            let mut out = observed(number(c.score));
            out.details =
                Some(serde_json::json!({ "method": c.method.name(), "threshold": c.threshold }));
            results.push(result(
                "lathe_column_not_drifted",
                serde_json::json!({ "column": column, "reference": d.reference, "current": current_name }),
                !c.drifted,
                out,
            ));
        }
    }
    if !policy.alerts.is_empty() {
        let (data_name, source) = data_of(&None, "\"alerts\"")?;
        let profile = match &source {
            TableSource::Stored {
                dataset, version, ..
            } => crate::dataset::stored_profile(
                tables.project.ok_or_else(|| Error::Compute {
                    context: "check alerts",
                    detail: "a stored dataset without its project".into(),
                })?,
                &format!("{dataset}@{version}"),
            )?,
            TableSource::File { path, options } => {
                crate::dataset::profile_file(path, options, job)?
            }
            _ => {
                return Err(Error::BadArgument {
                    argument: "checks",
                    detail: format!(
                        "\"alerts\" profiles a stored dataset or a local file, not {data_name}"
                    ),
                });
            }
        };
        for kind in &policy.alerts {
            let columns: Vec<Value> = profile
                .alerts
                .iter()
                .filter(|a| &a.kind == kind)
                .map(|a| Value::from(a.columns.join(", ")))
                .collect();
            results.push(result(
                "lathe_no_alert",
                serde_json::json!({ "kind": kind, "data": data_name }),
                columns.is_empty(),
                observed(Value::from(columns)),
            ));
        }
    }
    let evaluated = results.len() as u32;
    let successful = results.iter().filter(|r| r.success).count() as u32;
    Ok(Validation {
        success: successful == evaluated,
        suite_name: policy.name.clone(),
        statistics: Statistics {
            evaluated_expectations: evaluated,
            successful_expectations: successful,
            unsuccessful_expectations: evaluated - successful,
            success_percent: (evaluated > 0)
                .then(|| f64::from(successful) / f64::from(evaluated) * 100.0),
        },
        results,
    })
}
