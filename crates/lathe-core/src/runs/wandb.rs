//! W&B run folders logged offline (`WANDB_MODE=offline`): the `wandb/` folder a training job
//! leaves, its `offline-run-*/` (and synced `run-*/`) folders each holding one `run-*.wandb`
//! record log. Read without a W&B server or account.
//!
//! A record log is wandb's variant of LevelDB's log format (wandb-core's
//! `core/pkg/leveldb/record.go`): a 7-byte header (`:W&B`, the magic `0xBEE1`, version 0),
//! then 32 KiB blocks of chunks — a 4-byte CRC-32 (IEEE, over the chunk's type byte and
//! data), a 2-byte length, a type (whole record, or its first, middle or last piece), the data
//! — with a block's last bytes zero when no chunk header fits. Each record is a `Record`
//! protobuf of wandb's internal schema (`proto/wandb/wandb_internal.proto`, vendored with
//! wandb's MIT licence; the messages below are its fields Lathe reads, by the same numbers).
//!
//! Imported: the run record (id, project as the experiment, display name, notes, tags, group,
//! job type, start time), config updates as params (nested objects as dotted keys, `_wandb`
//! left out), history rows as metric histories (every numeric key; `_step` the step,
//! `_timestamp` the wall time; nested keys dotted; NaN and ±infinity kept), summary keys the
//! history does not hold as one-point metrics at the last step, media values and saved files
//! as artifacts, and the state: exit code 0 FINISHED, another FAILED, no exit record RUNNING
//! (a job still writing, or killed). A cut or corrupted log is an error naming the file and the
//! byte offset, and nothing is imported: the whole folder is read before anything is stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use rayon::prelude::*;

use super::{Point, Skipped, Snapshot, SourceExperiment, SourceRun};
use crate::job::Job;
use crate::{Error, Result};

const BLOCK: usize = 32 * 1024;
const CHUNK_HEADER: usize = 7;

/// Whether a file name is a W&B record log.
pub(crate) fn is_log_file(name: &str) -> bool {
    name.ends_with(".wandb")
}

/// The record logs at or below `root` (a `.wandb` file, a run folder, a `wandb/` folder or a
/// folder holding one), in path order. Hidden folders and symbolic links (`latest-run`) are
/// not followed: each run is read once.
pub(crate) fn logs(root: &Path) -> Result<Vec<PathBuf>> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    super::files_below(root, 4, is_log_file)
}

/// Whether `dir` holds W&B record logs (up to four folders down).
pub(crate) fn holds_logs(dir: &Path) -> bool {
    logs(dir).is_ok_and(|l| !l.is_empty())
}

/// Reads every run below `root`: one experiment per W&B project.
pub(crate) fn read(root: &Path, job: &Job) -> Result<Snapshot> {
    let logs = logs(root)?;
    if logs.is_empty() {
        return Err(Error::BadInput {
            path: root.to_path_buf(),
            detail: "no W&B run logs (run-*.wandb) below this folder: import the wandb/ folder \
                     a run left with WANDB_MODE=offline, or one offline-run-* folder of it"
                .to_owned(),
        });
    }
    let total = logs.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    job.progress("reading W&B runs", 0, Some(total));
    let runs: Vec<(SourceRun, Vec<Skipped>)> = logs
        .par_iter()
        .map(|log| {
            job.cancel.check()?;
            let run = read_run(log)?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("reading W&B runs", n, Some(total));
            Ok(run)
        })
        .collect::<Result<_>>()?;
    let mut snapshot = Snapshot::default();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for ((run, skipped), log) in runs.into_iter().zip(&logs) {
        if let Some(first) = seen.get(&run.id) {
            snapshot.skipped.push(Skipped {
                item: log.display().to_string(),
                reason: format!(
                    "run {} was read already from {} (a resumed run logs to a new folder): \
                     only the first is imported",
                    run.id,
                    first.display()
                ),
            });
            continue;
        }
        seen.insert(run.id.clone(), log.clone());
        if !snapshot
            .experiments
            .iter()
            .any(|e| e.id == run.experiment_id)
        {
            snapshot.experiments.push(SourceExperiment {
                id: run.experiment_id.clone(),
                name: run.experiment_id.clone(),
                lifecycle_stage: "active".to_owned(),
                tags: BTreeMap::new(),
            });
        }
        snapshot.runs.push(run);
        snapshot.skipped.extend(skipped);
    }
    Ok(snapshot)
}

/// Calls `each` with every record of a record log and its byte offset; a cut, corrupted or
/// foreign file is an error saying where.
fn records(bytes: &[u8], mut each: impl FnMut(usize, &[u8])) -> std::result::Result<(), String> {
    if bytes.len() < 7 {
        return Err(format!(
            "the file is {} bytes, shorter than a W&B record log's 7-byte header: it was cut",
            bytes.len()
        ));
    }
    if &bytes[..4] != b":W&B" || u16::from_le_bytes([bytes[4], bytes[5]]) != 0xBEE1 {
        return Err(
            "not a W&B record log: it does not start with W&B's header (:W&B, 0xBEE1)".to_owned(),
        );
    }
    if bytes[6] != 0 {
        return Err(format!(
            "W&B record log version {}: Lathe reads version 0, which wandb writes today",
            bytes[6]
        ));
    }
    let cut = |start: usize| {
        format!(
            "the file ends inside the record at byte {start} (the file is {} bytes): it was cut \
             — copied while the run was writing, or its job killed before wandb flushed. \
             Nothing was imported",
            bytes.len()
        )
    };
    let mut at = 7;
    let mut pending: Option<(usize, Vec<u8>)> = None;
    while at < bytes.len() {
        let left = BLOCK - at % BLOCK;
        if left < CHUNK_HEADER {
            let end = (at + left).min(bytes.len());
            if bytes[at..end].iter().any(|&b| b != 0) {
                return Err(format!(
                    "the block's trailer at byte {at} is not zero: the file is damaged"
                ));
            }
            at = end;
            continue;
        }
        if at + CHUNK_HEADER > bytes.len() {
            return Err(cut(pending.as_ref().map_or(at, |(start, _)| *start)));
        }
        let checksum = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let length = usize::from(u16::from_le_bytes([bytes[at + 4], bytes[at + 5]]));
        let kind = bytes[at + 6];
        if checksum == 0 && length == 0 && kind == 0 {
            // Zeros where a chunk would be: the rest of the block is padding.
            if let Some((start, _)) = pending {
                return Err(format!(
                    "the record at byte {start} stops at zeros at byte {at}: the file is damaged"
                ));
            }
            at += left;
            continue;
        }
        let data_at = at + CHUNK_HEADER;
        if length > left - CHUNK_HEADER {
            return Err(format!(
                "the chunk at byte {at} says it is {length} bytes, past the end of its 32 KiB \
                 block: the file is damaged"
            ));
        }
        if data_at + length > bytes.len() {
            return Err(cut(pending.as_ref().map_or(at, |(start, _)| *start)));
        }
        let data = &bytes[data_at..data_at + length];
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[kind]);
        crc.update(data);
        if crc.finalize() != checksum {
            return Err(format!(
                "the chunk at byte {at} fails its CRC-32 check: the file is damaged. Nothing was \
                 imported"
            ));
        }
        match (kind, pending.as_ref().map(|(start, _)| *start)) {
            (1, None) => each(at, data),
            (2, None) => pending = Some((at, data.to_vec())),
            (3, Some(_)) => {
                if let Some((_, buffer)) = pending.as_mut() {
                    buffer.extend_from_slice(data);
                }
            }
            (4, Some(_)) => {
                if let Some((start, mut whole)) = pending.take() {
                    whole.extend_from_slice(data);
                    each(start, &whole);
                }
            }
            (1 | 2, Some(start)) => {
                return Err(format!(
                    "the record at byte {start} has no last piece (a new record starts at byte \
                     {at}): the file is damaged"
                ));
            }
            (3 | 4, None) => {
                return Err(format!(
                    "the chunk at byte {at} continues a record that never started: the file is \
                     damaged"
                ));
            }
            _ => {
                return Err(format!(
                    "the chunk at byte {at} has type {kind}, not one of LevelDB's four: the file \
                     is damaged"
                ));
            }
        }
        at = data_at + length;
    }
    match pending {
        Some((start, _)) => Err(cut(start)),
        None => Ok(()),
    }
}

/// What one run's records add up to.
#[derive(Default)]
struct RunState {
    run: Option<RunRecord>,
    config: BTreeMap<String, String>,
    metrics: BTreeMap<String, Vec<Point>>,
    summary: BTreeMap<String, String>,
    artifacts: BTreeMap<String, u64>,
    skipped: Vec<Skipped>,
    exit: Option<RunExitRecord>,
    last_step: i64,
    last_time: Option<i64>,
}

fn read_run(log: &Path) -> Result<(SourceRun, Vec<Skipped>)> {
    let bytes = std::fs::read(log).map_err(|e| Error::io("read", log, e))?;
    let mut state = RunState::default();
    let mut bad: Option<String> = None;
    records(&bytes, |offset, data| {
        if bad.is_some() {
            return;
        }
        match Record::decode(data) {
            Ok(record) => state.add(record),
            Err(e) => {
                bad = Some(format!(
                    "the record at byte {offset} is not a W&B record ({e}): the file is damaged"
                ))
            }
        }
    })
    .map_err(|detail| Error::BadInput {
        path: log.to_path_buf(),
        detail,
    })?;
    if let Some(detail) = bad {
        return Err(Error::BadInput {
            path: log.to_path_buf(),
            detail,
        });
    }
    let Some(run) = state.run.take() else {
        return Err(Error::BadInput {
            path: log.to_path_buf(),
            detail: "the log holds no run record (wandb writes it first): the job ended before \
                     wandb flushed its first block, so there is nothing to import"
                .to_owned(),
        });
    };
    state.finish_summary(&run.run_id);
    let folder = log.parent().unwrap_or(log);
    let mut tags = BTreeMap::new();
    let mut tag = |key: &str, value: &str| {
        if !value.is_empty() {
            tags.insert(key.to_owned(), value.to_owned());
        }
    };
    tag("wandb.project", &run.project);
    tag("wandb.entity", &run.entity);
    tag("wandb.group", &run.run_group);
    tag("wandb.job_type", &run.job_type);
    tag("wandb.sweep_id", &run.sweep_id);
    tag("wandb.tags", &run.tags.join(", "));
    tag("mlflow.note.content", &run.notes);
    tag("wandb.folder", &folder.display().to_string());
    let start = run
        .start_time
        .as_ref()
        .filter(|t| t.seconds > 0)
        .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
    let end = match (&state.exit, start) {
        (Some(exit), Some(start)) if exit.runtime > 0 => {
            Some((start + i64::from(exit.runtime) * 1000).max(state.last_time.unwrap_or(i64::MIN)))
        }
        _ => state.last_time,
    };
    let status = match &state.exit {
        Some(exit) if exit.exit_code == 0 => "FINISHED",
        Some(_) => "FAILED",
        None => "RUNNING",
    };
    let experiment = if run.project.is_empty() {
        "uncategorized".to_owned()
    } else {
        run.project.clone()
    };
    let name = if run.display_name.is_empty() {
        run.run_id.clone()
    } else {
        run.display_name.clone()
    };
    Ok((
        SourceRun {
            id: run.run_id,
            experiment_id: experiment,
            name: Some(name),
            status: status.to_owned(),
            lifecycle_stage: "active".to_owned(),
            start_time: start,
            end_time: end,
            artifact_uri: Some(folder.display().to_string()),
            params: state.config,
            tags,
            metrics: state.metrics,
            artifacts: state.artifacts,
        },
        state.skipped,
    ))
}

/// A key as W&B shows it: nested keys joined by dots.
fn key_of(key: &str, nested: &[String]) -> String {
    if nested.is_empty() {
        key.to_owned()
    } else {
        nested.join(".")
    }
}

/// A history or summary value as a number: JSON numbers, and the `NaN`, `Infinity` and
/// `-Infinity` wandb writes for the floats JSON cannot hold.
fn number(json: &str) -> Option<f64> {
    match json.trim() {
        "true" | "false" | "null" => None,
        t if t.starts_with(['"', '{', '[']) => None,
        t => super::parse_value(t),
    }
}

impl RunState {
    fn add(&mut self, record: Record) {
        let Some(kind) = record.record_type else {
            return;
        };
        match kind {
            RecordType::Run(run) => {
                if let Some(config) = &run.config {
                    self.config_update(config);
                }
                if let Some(summary) = &run.summary {
                    self.summary_update(summary);
                }
                // A resumed run's record comes again: the first names the run.
                if self.run.is_none() {
                    self.run = Some(*run);
                }
            }
            RecordType::Config(config) => self.config_update(&config),
            RecordType::Summary(summary) => self.summary_update(&summary),
            RecordType::History(history) => self.history(history),
            RecordType::Files(files) => {
                for file in files.files {
                    self.artifacts
                        .entry(format!("files/{}", file.path))
                        .or_default();
                }
            }
            RecordType::Exit(exit) => self.exit = Some(exit),
        }
    }

    fn config_update(&mut self, config: &ConfigRecord) {
        for item in &config.update {
            let key = key_of(&item.key, &item.nested_key);
            if key == "_wandb" || key.starts_with("_wandb.") {
                continue;
            }
            match serde_json::from_str::<serde_json::Value>(&item.value_json) {
                Ok(value) => flatten(&key, &value, &mut self.config),
                Err(_) => {
                    self.config.insert(key, item.value_json.clone());
                }
            }
        }
        for item in &config.remove {
            let key = key_of(&item.key, &item.nested_key);
            let prefix = format!("{key}.");
            self.config
                .retain(|k, _| k != &key && !k.starts_with(&prefix));
        }
    }

    fn summary_update(&mut self, summary: &SummaryRecord) {
        for item in &summary.update {
            self.summary
                .insert(key_of(&item.key, &item.nested_key), item.value_json.clone());
        }
        for item in &summary.remove {
            self.summary.remove(&key_of(&item.key, &item.nested_key));
        }
    }

    fn history(&mut self, history: HistoryRecord) {
        let mut step = history.step.map(|s| s.num);
        let mut time = None;
        for item in &history.item {
            match key_of(&item.key, &item.nested_key).as_str() {
                "_step" => step = number(&item.value_json).map(|s| s as i64).or(step),
                "_timestamp" => {
                    time = number(&item.value_json).map(|t| (t * 1000.0).round() as i64);
                }
                _ => {}
            }
        }
        let step = step.unwrap_or(self.last_step);
        let timestamp = time.or(self.last_time).unwrap_or(0);
        self.last_step = self.last_step.max(step);
        if time.is_some() {
            self.last_time = time.max(self.last_time);
        }
        for item in history.item {
            let key = key_of(&item.key, &item.nested_key);
            if key.starts_with('_') {
                continue;
            }
            match number(&item.value_json) {
                Some(value) => self.metrics.entry(key).or_default().push(Point {
                    step,
                    timestamp,
                    value,
                }),
                None => self.not_a_number(&key, step, &item.value_json),
            }
        }
    }

    /// A history value that is not a number: media (a JSON object with W&B's `_type`) is
    /// listed as an artifact, anything else skipped once per key with why.
    fn not_a_number(&mut self, key: &str, step: i64, json: &str) {
        let media = serde_json::from_str::<serde_json::Value>(json)
            .ok()
            .and_then(|v| v.get("_type").and_then(|t| t.as_str()).map(str::to_owned));
        if let Some(kind) = media {
            *self.artifacts.entry(format!("{kind}/{key}")).or_default() += json.len() as u64;
            return;
        }
        let item = format!("history: {key}");
        if !self.skipped.iter().any(|s| s.item == item) {
            let shown: String = json.chars().take(40).collect();
            self.skipped.push(Skipped {
                item,
                reason: format!("not a number ({shown}, first at step {step})"),
            });
        }
    }

    /// Summary keys the history does not hold become one-point metrics at the last step;
    /// one that overrides a history key's last value is said, the history being imported.
    fn finish_summary(&mut self, run: &str) {
        let summary = std::mem::take(&mut self.summary);
        for (key, json) in summary {
            if key.starts_with('_') {
                continue;
            }
            let Some(value) = number(&json) else {
                continue;
            };
            match self.metrics.get(&key).and_then(|points| points.last()) {
                None => {
                    self.metrics.insert(
                        key,
                        vec![Point {
                            step: self.last_step,
                            timestamp: self.last_time.unwrap_or(0),
                            value,
                        }],
                    );
                }
                Some(last) if last.value.to_bits() != value.to_bits() => {
                    self.skipped.push(Skipped {
                        item: format!("{run}: summary {key}"),
                        reason: format!(
                            "the summary sets {value}, the history's last value is {}: the \
                             history is imported",
                            last.value
                        ),
                    });
                }
                Some(_) => {}
            }
        }
    }
}

/// A config value as params: objects become dotted keys, strings their text, anything else
/// (numbers, booleans, lists, null) its JSON.
fn flatten(key: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(key.to_owned(), s.clone());
        }
        other => {
            out.insert(key.to_owned(), other.to_string());
        }
    }
}

// The fields of wandb's `wandb_internal.proto` (vendored in proto/wandb/) that Lathe reads, by
// the numbers that file gives them; prost skips every other field.

#[derive(Clone, PartialEq, Message)]
struct Record {
    #[prost(oneof = "RecordType", tags = "2, 3, 5, 6, 17, 18")]
    record_type: Option<RecordType>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum RecordType {
    #[prost(message, tag = "2")]
    History(HistoryRecord),
    #[prost(message, tag = "3")]
    Summary(SummaryRecord),
    #[prost(message, tag = "5")]
    Config(ConfigRecord),
    #[prost(message, tag = "6")]
    Files(FilesRecord),
    #[prost(message, tag = "17")]
    Run(Box<RunRecord>),
    #[prost(message, tag = "18")]
    Exit(RunExitRecord),
}

#[derive(Clone, PartialEq, Message)]
struct HistoryRecord {
    #[prost(message, repeated, tag = "1")]
    item: Vec<Item>,
    #[prost(message, optional, tag = "2")]
    step: Option<HistoryStep>,
}

#[derive(Clone, PartialEq, Message)]
struct HistoryStep {
    #[prost(int64, tag = "1")]
    num: i64,
}

/// `HistoryItem`, `SummaryItem` and `ConfigItem`: the same three fields.
#[derive(Clone, PartialEq, Message)]
struct Item {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, repeated, tag = "2")]
    nested_key: Vec<String>,
    #[prost(string, tag = "16")]
    value_json: String,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryRecord {
    #[prost(message, repeated, tag = "1")]
    update: Vec<Item>,
    #[prost(message, repeated, tag = "2")]
    remove: Vec<Item>,
}

#[derive(Clone, PartialEq, Message)]
struct ConfigRecord {
    #[prost(message, repeated, tag = "1")]
    update: Vec<Item>,
    #[prost(message, repeated, tag = "2")]
    remove: Vec<Item>,
}

#[derive(Clone, PartialEq, Message)]
struct FilesRecord {
    #[prost(message, repeated, tag = "1")]
    files: Vec<FilesItem>,
}

#[derive(Clone, PartialEq, Message)]
struct FilesItem {
    #[prost(string, tag = "1")]
    path: String,
}

#[derive(Clone, PartialEq, Message)]
struct RunRecord {
    #[prost(string, tag = "1")]
    run_id: String,
    #[prost(string, tag = "2")]
    entity: String,
    #[prost(string, tag = "3")]
    project: String,
    #[prost(message, optional, tag = "4")]
    config: Option<ConfigRecord>,
    #[prost(message, optional, tag = "5")]
    summary: Option<SummaryRecord>,
    #[prost(string, tag = "6")]
    run_group: String,
    #[prost(string, tag = "7")]
    job_type: String,
    #[prost(string, tag = "8")]
    display_name: String,
    #[prost(string, tag = "9")]
    notes: String,
    #[prost(string, repeated, tag = "10")]
    tags: Vec<String>,
    #[prost(string, tag = "12")]
    sweep_id: String,
    #[prost(message, optional, tag = "17")]
    start_time: Option<Timestamp>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
struct RunExitRecord {
    #[prost(int32, tag = "1")]
    exit_code: i32,
    #[prost(int32, tag = "2")]
    runtime: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record log of `records`, framed as wandb-core frames it.
    fn framed(records: &[&[u8]]) -> Vec<u8> {
        let mut out = b":W&B\xe1\xbe\x00".to_vec();
        for record in records {
            let mut rest: &[u8] = record;
            let mut first = true;
            loop {
                let left = BLOCK - out.len() % BLOCK;
                if left < CHUNK_HEADER {
                    out.extend(std::iter::repeat_n(0u8, left));
                    continue;
                }
                let room = left - CHUNK_HEADER;
                let (piece, tail) = rest.split_at(rest.len().min(room));
                let kind = match (first, tail.is_empty()) {
                    (true, true) => 1,
                    (true, false) => 2,
                    (false, false) => 3,
                    (false, true) => 4,
                };
                let mut crc = crc32fast::Hasher::new();
                crc.update(&[kind]);
                crc.update(piece);
                out.extend(crc.finalize().to_le_bytes());
                out.extend((piece.len() as u16).to_le_bytes());
                out.push(kind);
                out.extend(piece);
                rest = tail;
                first = false;
                if rest.is_empty() {
                    break;
                }
            }
        }
        out
    }

    fn read_all(bytes: &[u8]) -> std::result::Result<Vec<(usize, Vec<u8>)>, String> {
        let mut got = Vec::new();
        records(bytes, |at, data| got.push((at, data.to_vec())))?;
        Ok(got)
    }

    #[test]
    fn records_spanning_blocks_come_back_whole() {
        let big = vec![7u8; 80_000];
        let small = b"hello".to_vec();
        let bytes = framed(&[&small, &big, &small]);
        let got = read_all(&bytes).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, big);
        assert_eq!((got[0].0, got[2].1.as_slice()), (7, small.as_slice()));
    }

    #[test]
    fn a_cut_names_the_record_it_cuts() {
        let big = vec![7u8; 80_000];
        let bytes = framed(&[b"a", &big]);
        let err = read_all(&bytes[..50_000]).unwrap_err();
        assert!(err.contains("inside the record at byte 15"), "{err}");
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        let err = read_all(&flipped).unwrap_err();
        assert!(err.contains("chunk at byte 15 fails its CRC-32"), "{err}");
        let err = read_all(b"PK\x03\x04 not a log").unwrap_err();
        assert!(err.contains("not a W&B record log"), "{err}");
    }

    #[test]
    fn config_objects_become_dotted_params() {
        let mut out = BTreeMap::new();
        let value = serde_json::json!({"layers": 3, "opt": {"name": "adam"}, "ms": [1, 2]});
        flatten("model", &value, &mut out);
        assert_eq!(out["model.layers"], "3");
        assert_eq!(out["model.opt.name"], "adam");
        assert_eq!(out["model.ms"], "[1,2]");
    }
}
