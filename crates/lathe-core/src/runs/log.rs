//! Lathe's run logs: a JSONL file any training script can append to, and a CSV of one row per
//! run. The formats are documented in `docs/runs.md`.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde_json::Value as Json;

use super::{Point, Skipped, Snapshot, SourceExperiment, SourceRun, parse_value};
use crate::{Error, Result};

const DEFAULT_EXPERIMENT: &str = "Default";

fn experiment(snapshot: &mut Snapshot, name: &str) -> String {
    if !snapshot.experiments.iter().any(|e| e.id == name) {
        snapshot.experiments.push(SourceExperiment {
            id: name.to_owned(),
            name: name.to_owned(),
            lifecycle_stage: "active".to_owned(),
            tags: BTreeMap::new(),
        });
    }
    name.to_owned()
}

fn strings(v: &Json, field: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    match v.get(field) {
        None | Some(Json::Null) => Ok(BTreeMap::new()),
        Some(Json::Object(map)) => Ok(map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()),
        Some(_) => Err(format!("`{field}` is not an object")),
    }
}

fn number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => parse_value(s),
        _ => None,
    }
}

fn int(v: &Json, field: &str) -> std::result::Result<Option<i64>, String> {
    match v.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("`{field}` is not an integer")),
        Some(_) => Err(format!("`{field}` is not an integer")),
    }
}

/// Reads a JSONL run log. A line that cannot be used is skipped and reported; the rest imports.
pub(crate) fn read_jsonl(path: &Path) -> Result<Snapshot> {
    let text = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let text = String::from_utf8(text).map_err(|e| Error::BadInput {
        path: path.to_path_buf(),
        detail: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    let mut snapshot = Snapshot::default();
    let mut runs: Vec<SourceRun> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines: Vec<&str> = text.split('\n').collect();
    let tail = lines.pop().unwrap_or_default();
    let mut used = 0usize;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item = format!("line {}", i + 1);
        let result = (|| -> std::result::Result<(), String> {
            let v: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
            let event = v
                .get("event")
                .and_then(Json::as_str)
                .ok_or("no \"event\" (start, metric, params, tags or end)")?;
            let run_id = match v.get("run") {
                Some(Json::String(s)) if !s.is_empty() => s.clone(),
                Some(Json::Number(n)) => n.to_string(),
                _ => return Err("no \"run\" id".to_owned()),
            };
            if event == "start" {
                if index.contains_key(&run_id) {
                    return Err(format!("run {run_id:?} was started before"));
                }
                let exp = v
                    .get("experiment")
                    .and_then(Json::as_str)
                    .unwrap_or(DEFAULT_EXPERIMENT);
                let experiment_id = experiment(&mut snapshot, exp);
                let mut tags = strings(&v, "tags")?;
                if let Some(parent) = v.get("parent").and_then(Json::as_str) {
                    tags.insert("mlflow.parentRunId".to_owned(), parent.to_owned());
                }
                let name = v.get("name").and_then(Json::as_str).map(str::to_owned);
                if let Some(n) = &name {
                    tags.entry("mlflow.runName".to_owned()).or_insert(n.clone());
                }
                index.insert(run_id.clone(), runs.len());
                runs.push(SourceRun {
                    id: run_id,
                    experiment_id,
                    name,
                    status: "RUNNING".to_owned(),
                    lifecycle_stage: "active".to_owned(),
                    start_time: int(&v, "time")?,
                    end_time: None,
                    artifact_uri: None,
                    params: strings(&v, "params")?,
                    tags,
                    metrics: BTreeMap::new(),
                    artifacts: BTreeMap::new(),
                });
                return Ok(());
            }
            let &r = index
                .get(&run_id)
                .ok_or_else(|| format!("run {run_id:?} has no start record before this line"))?;
            let run = &mut runs[r];
            match event {
                "metric" => {
                    let step = int(&v, "step")?.unwrap_or(0);
                    let timestamp = int(&v, "time")?.unwrap_or(0);
                    let mut values = Vec::new();
                    if let Some(key) = v.get("key").and_then(Json::as_str) {
                        let value = v
                            .get("value")
                            .and_then(number)
                            .ok_or("\"value\" is not a number (or \"NaN\", \"inf\", \"-inf\")")?;
                        values.push((key.to_owned(), value));
                    }
                    if let Some(Json::Object(map)) = v.get("metrics") {
                        for (k, x) in map {
                            let value =
                                number(x).ok_or_else(|| format!("metric {k:?} is not a number"))?;
                            values.push((k.clone(), value));
                        }
                    }
                    if values.is_empty() {
                        return Err(
                            "a metric record needs \"key\" and \"value\", or \"metrics\""
                                .to_owned(),
                        );
                    }
                    for (key, value) in values {
                        run.metrics.entry(key).or_default().push(Point {
                            step,
                            timestamp,
                            value,
                        });
                    }
                }
                "params" => run.params.extend(strings(&v, "params")?),
                "tags" => run.tags.extend(strings(&v, "tags")?),
                "end" => {
                    let status = v.get("status").and_then(Json::as_str).unwrap_or("FINISHED");
                    if !["FINISHED", "FAILED", "KILLED"].contains(&status) {
                        return Err(format!(
                            "end status {status:?} is not FINISHED, FAILED or KILLED"
                        ));
                    }
                    run.status = status.to_owned();
                    run.end_time = int(&v, "time")?;
                }
                other => {
                    return Err(format!(
                        "unknown event {other:?} (start, metric, params, tags, end)"
                    ));
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => used += 1,
            Err(reason) => snapshot.skipped.push(Skipped { item, reason }),
        }
    }
    if !tail.trim().is_empty() {
        snapshot.skipped.push(Skipped {
            item: format!("line {}", lines.len() + 1),
            reason: "unterminated last line left for the next import (still being written?)"
                .to_owned(),
        });
    }
    if used == 0 {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            detail: match snapshot.skipped.first() {
                Some(s) => format!("no usable run record ({}: {})", s.item, s.reason),
                None => "the log is empty".to_owned(),
            },
        });
    }
    snapshot.runs = runs;
    Ok(snapshot)
}

/// Epoch milliseconds from an integer or a date-time (`2025-11-24 16:00:00+00:00`, RFC 3339),
/// as `mlflow.search_runs(...).to_csv()` writes them.
fn millis(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(f) = text.parse::<f64>() {
        return Some(f as i64);
    }
    let iso = text.trim().replacen(' ', "T", 1);
    let iso = if iso.ends_with('Z') || iso.rfind(['+', '-']).is_some_and(|i| i > 10) {
        iso
    } else {
        format!("{iso}Z")
    };
    time::OffsetDateTime::parse(&iso, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Reads a CSV of one row per run: `run_id` (required), `experiment_id` or `experiment`,
/// `run_name` or `name`, `status`, `start_time`, `end_time`, and `params.*`, `metrics.*`,
/// `tags.*` columns. Each metric becomes one point at step 0.
pub(crate) fn read_csv(path: &Path) -> Result<Snapshot> {
    let bad = |detail: String| Error::BadInput {
        path: path.to_path_buf(),
        detail,
    };
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .map_err(|e| bad(format!("not a readable CSV: {e}")))?;
    let column = |name: &str| -> Option<Vec<Option<String>>> {
        let c = frame.column(name).ok()?;
        let s = c.str().ok()?;
        Some(s.iter().map(|v| v.map(str::to_owned)).collect())
    };
    let ids = column("run_id").ok_or_else(|| {
        bad(
            "no `run_id` column: a runs CSV has one row per run with a run_id column, \
             and params.*, metrics.*, tags.* columns"
                .to_owned(),
        )
    })?;
    let first = |names: &[&str]| names.iter().find_map(|n| column(n));
    let experiments = first(&["experiment", "experiment_id"]);
    let names = first(&["run_name", "name", "tags.mlflow.runName"]);
    let statuses = column("status");
    let starts = column("start_time");
    let ends = column("end_time");
    let artifact_uris = column("artifact_uri");
    let mut snapshot = Snapshot::default();
    let mut seen = std::collections::HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        let item = format!("row {}", i + 2);
        let Some(id) = id.clone().filter(|s| !s.is_empty()) else {
            snapshot.skipped.push(Skipped {
                item,
                reason: "empty run_id".to_owned(),
            });
            continue;
        };
        if !seen.insert(id.clone()) {
            snapshot.skipped.push(Skipped {
                item,
                reason: format!("run_id {id:?} repeats an earlier row"),
            });
            continue;
        }
        let cell = |c: &Option<Vec<Option<String>>>| {
            c.as_ref()
                .and_then(|v| v[i].clone())
                .filter(|s| !s.is_empty())
        };
        let exp = cell(&experiments).unwrap_or_else(|| DEFAULT_EXPERIMENT.to_owned());
        let experiment_id = experiment(&mut snapshot, &exp);
        let status = cell(&statuses).unwrap_or_else(|| "FINISHED".to_owned());
        let result = (|| -> std::result::Result<SourceRun, String> {
            let time = |c: &Option<Vec<Option<String>>>,
                        what: &str|
             -> std::result::Result<Option<i64>, String> {
                cell(c)
                    .map(|t| millis(&t).ok_or(format!("{what} {t:?} is not a time")))
                    .transpose()
            };
            if !["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"].contains(&status.as_str())
            {
                return Err(format!("unknown status {status:?}"));
            }
            let mut run = SourceRun {
                id: id.clone(),
                experiment_id,
                name: cell(&names),
                status: status.clone(),
                lifecycle_stage: "active".to_owned(),
                start_time: time(&starts, "start_time")?,
                end_time: time(&ends, "end_time")?,
                artifact_uri: cell(&artifact_uris),
                params: BTreeMap::new(),
                tags: BTreeMap::new(),
                metrics: BTreeMap::new(),
                artifacts: BTreeMap::new(),
            };
            for c in frame.columns() {
                let name = c.name().as_str();
                let Some(value) = c
                    .str()
                    .ok()
                    .and_then(|s| s.get(i))
                    .filter(|v| !v.is_empty())
                else {
                    continue;
                };
                if let Some(k) = name.strip_prefix("params.") {
                    run.params.insert(k.to_owned(), value.to_owned());
                } else if let Some(k) = name.strip_prefix("tags.") {
                    run.tags.insert(k.to_owned(), value.to_owned());
                } else if let Some(k) = name.strip_prefix("metrics.") {
                    let v = parse_value(value)
                        .ok_or(format!("metrics.{k} {value:?} is not a number"))?;
                    run.metrics.insert(
                        k.to_owned(),
                        vec![Point {
                            step: 0,
                            timestamp: run.end_time.or(run.start_time).unwrap_or(0),
                            value: v,
                        }],
                    );
                }
            }
            Ok(run)
        })();
        match result {
            Ok(run) => snapshot.runs.push(run),
            Err(reason) => snapshot.skipped.push(Skipped { item, reason }),
        }
    }
    if snapshot.runs.is_empty() {
        return Err(bad(match snapshot.skipped.first() {
            Some(s) => format!("no usable run row ({}: {})", s.item, s.reason),
            None => "the CSV has no rows".to_owned(),
        }));
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::millis;

    #[test]
    fn csv_times_are_milliseconds_or_datetimes() {
        assert_eq!(millis("1764000000000"), Some(1_764_000_000_000));
        assert_eq!(millis("2025-11-24 16:00:00+00:00"), Some(1_764_000_000_000));
        assert_eq!(millis("2025-11-24T16:00:00.500Z"), Some(1_764_000_000_500));
        assert_eq!(millis("2025-11-24 16:00:00"), Some(1_764_000_000_000));
        assert_eq!(millis("yesterday"), None);
    }
}
