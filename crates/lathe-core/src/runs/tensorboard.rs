//! TensorBoard log folders: the `events.out.tfevents.*` files TensorFlow, PyTorch's
//! `SummaryWriter` and tensorboardX write. Each folder holding event files is one run, named by
//! its path below the imported folder as TensorBoard names it (`.` for the folder itself).
//!
//! A file is a sequence of TFRecords (a little-endian `u64` length, the masked CRC-32C of those
//! 8 bytes, the data, the masked CRC-32C of the data), each an `Event` protobuf. Imported:
//! scalar summaries — `simple_value`, and rank-0 tensors of the `scalars` plugin, as TensorFlow
//! 2 writes them — as metric histories (step, wall time in milliseconds, value); the HParams
//! plugin's session start (hyperparameters as params, the group as a tag) and end (status, end
//! time). Other summaries (histograms, images, audio, text, graphs) are listed as artifacts by
//! `kind/tag` with their size, not imported. A cut or corrupted record is an error naming the
//! file and the byte offset: TensorBoard reads up to it silently, which would import a run
//! partially.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use rayon::prelude::*;

use super::{Point, Skipped, Snapshot, SourceExperiment, SourceRun};
use crate::job::Job;
use crate::{Error, Result};

/// Whether a file name is an event file, as TensorBoard decides (`tfevents` in the name).
pub(crate) fn is_event_file(name: &str) -> bool {
    name.contains("tfevents")
}

/// The folders below `root` (itself included) that hold event files, each with its event files
/// in name order (the order TensorBoard reads them in); hidden folders are not entered.
pub(crate) fn run_folders(root: &Path) -> Result<Vec<(PathBuf, Vec<PathBuf>)>> {
    let mut folders: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in super::files_below(root, usize::MAX, is_event_file)? {
        let dir = file.parent().unwrap_or(root).to_path_buf();
        folders.entry(dir).or_default().push(file);
    }
    Ok(folders.into_iter().collect())
}

/// Whether `dir` holds event files anywhere below it.
pub(crate) fn holds_event_files(dir: &Path) -> bool {
    run_folders(dir).is_ok_and(|f| !f.is_empty())
}

/// Reads a TensorBoard log folder: one experiment named after the folder, one run per folder
/// holding event files.
pub(crate) fn read(root: &Path, job: &Job) -> Result<Snapshot> {
    let folders = run_folders(root)?;
    if folders.is_empty() {
        return Err(Error::BadInput {
            path: root.to_path_buf(),
            detail: "no TensorBoard event files (events.out.tfevents.*) below this folder"
                .to_owned(),
        });
    }
    let experiment = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tensorboard".to_owned());
    let total = folders.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    job.progress("reading TensorBoard runs", 0, Some(total));
    let runs: Vec<(SourceRun, Vec<Skipped>)> = folders
        .par_iter()
        .map(|(dir, files)| {
            job.cancel.check()?;
            let run = read_run(root, dir, files, &experiment)?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("reading TensorBoard runs", n, Some(total));
            Ok(run)
        })
        .collect::<Result<_>>()?;
    let mut snapshot = Snapshot {
        experiments: vec![SourceExperiment {
            id: experiment.clone(),
            name: experiment,
            lifecycle_stage: "active".to_owned(),
            tags: BTreeMap::new(),
        }],
        ..Snapshot::default()
    };
    for (run, skipped) in runs {
        snapshot.runs.push(run);
        snapshot.skipped.extend(skipped);
    }
    Ok(snapshot)
}

/// The run's name: its folder's path below the root, `/`-separated, `.` for the root.
fn run_name(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// What one run folder's events add up to.
#[derive(Default)]
struct RunState {
    metrics: BTreeMap<String, Vec<Point>>,
    artifacts: BTreeMap<String, u64>,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    skipped: Vec<Skipped>,
    first_wall: Option<f64>,
    last_wall: Option<f64>,
    end: Option<(i32, f64)>,
    start_secs: Option<f64>,
}

fn read_run(
    root: &Path,
    dir: &Path,
    files: &[PathBuf],
    experiment: &str,
) -> Result<(SourceRun, Vec<Skipped>)> {
    let name = run_name(root, dir);
    let mut state = RunState::default();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
        for record in Records::new(&bytes) {
            let (offset, data) = record.map_err(|e| Error::BadInput {
                path: file.clone(),
                detail: e,
            })?;
            let event = Event::decode(data).map_err(|e| Error::BadInput {
                path: file.clone(),
                detail: format!(
                    "the record at byte {offset} is not a TensorBoard event ({e}): the file is \
                     damaged or not an event file"
                ),
            })?;
            state.add(&name, event);
        }
    }
    let ms = |secs: f64| (secs * 1000.0).round() as i64;
    let status = match state.end.map(|(s, _)| s) {
        Some(1) => "FINISHED",
        Some(2) => "FAILED",
        Some(3) => "RUNNING",
        _ => "UNKNOWN",
    };
    let start = state.start_secs.or(state.first_wall);
    let end = match state.end {
        Some((_, t)) if t > 0.0 => Some(t),
        _ => state.last_wall,
    };
    state
        .tags
        .insert("tensorboard.run".to_owned(), name.clone());
    let run = SourceRun {
        id: name.clone(),
        experiment_id: experiment.to_owned(),
        name: Some(name),
        status: status.to_owned(),
        lifecycle_stage: "active".to_owned(),
        start_time: start.map(ms),
        end_time: end.map(ms),
        artifact_uri: Some(dir.to_string_lossy().into_owned()),
        params: state.params,
        tags: state.tags,
        metrics: state.metrics,
        artifacts: state.artifacts,
    };
    Ok((run, state.skipped))
}

impl RunState {
    fn add(&mut self, run: &str, event: Event) {
        if event.wall_time.is_finite() && event.wall_time > 0.0 {
            self.first_wall = Some(
                self.first_wall
                    .map_or(event.wall_time, |w| w.min(event.wall_time)),
            );
            self.last_wall = Some(
                self.last_wall
                    .map_or(event.wall_time, |w| w.max(event.wall_time)),
            );
        }
        if let Some(graph) = &event.graph_def {
            *self.artifacts.entry("graph".to_owned()).or_default() += graph.len() as u64;
        }
        let Some(summary) = event.summary else {
            return;
        };
        let timestamp = (event.wall_time * 1000.0).round() as i64;
        for value in summary.value {
            let plugin = value
                .metadata
                .as_ref()
                .and_then(|m| m.plugin_data.as_ref())
                .map(|p| p.plugin_name.as_str())
                .unwrap_or("");
            if let Some(v) = value.simple_value {
                self.point(&value.tag, event.step, timestamp, f64::from(v));
                continue;
            }
            if plugin == "hparams" {
                if let Some(content) = value
                    .metadata
                    .as_ref()
                    .and_then(|m| m.plugin_data.as_ref())
                    .map(|p| p.content.as_slice())
                {
                    self.hparams(run, &value.tag, content);
                }
                continue;
            }
            let scalar_class = value.metadata.as_ref().is_some_and(|m| m.data_class == 1);
            if let Some(tensor) = &value.tensor
                && (plugin == "scalars" || scalar_class)
            {
                match tensor.scalar() {
                    Ok(v) => self.point(&value.tag, event.step, timestamp, v),
                    Err(reason) => self.skip(run, &value.tag, event.step, reason),
                }
                continue;
            }
            let (kind, size) = if let Some(h) = &value.histo {
                ("histograms", h.len())
            } else if let Some(i) = &value.image {
                ("images", i.len())
            } else if let Some(a) = &value.audio {
                ("audio", a.len())
            } else if let Some(t) = &value.tensor {
                (
                    if plugin.is_empty() { "tensors" } else { plugin },
                    t.encoded_len(),
                )
            } else {
                ("other", 0)
            };
            *self
                .artifacts
                .entry(format!("{kind}/{}", value.tag))
                .or_default() += size as u64;
        }
    }

    fn point(&mut self, tag: &str, step: i64, timestamp: i64, value: f64) {
        match self.metrics.get_mut(tag) {
            Some(points) => points.push(Point {
                step,
                timestamp,
                value,
            }),
            None => {
                self.metrics.insert(
                    tag.to_owned(),
                    vec![Point {
                        step,
                        timestamp,
                        value,
                    }],
                );
            }
        }
    }

    fn skip(&mut self, run: &str, tag: &str, step: i64, reason: String) {
        // One entry per tag: a tag that cannot be read usually cannot at any step.
        let item = format!("{run}: {tag}");
        if !self.skipped.iter().any(|s| s.item == item) {
            self.skipped.push(Skipped {
                item,
                reason: format!("{reason} (first at step {step})"),
            });
        }
    }

    fn hparams(&mut self, run: &str, tag: &str, content: &[u8]) {
        let data = match HParamsPluginData::decode(content) {
            Ok(d) => d,
            Err(e) => {
                self.skip(
                    run,
                    tag,
                    0,
                    format!("the HParams plugin data cannot be read: {e}"),
                );
                return;
            }
        };
        if let Some(start) = data.session_start_info {
            for (name, value) in start.hparams {
                if let Some(text) = value.text() {
                    self.params.insert(name, text);
                }
            }
            if !start.group_name.is_empty() {
                self.tags
                    .insert("tensorboard.group".to_owned(), start.group_name);
            }
            if start.start_time_secs > 0.0 {
                self.start_secs = Some(start.start_time_secs);
            }
        }
        if let Some(end) = data.session_end_info {
            self.end = Some((end.status, end.end_time_secs));
        }
    }
}

/// The records of a TFRecord file with their byte offsets; a cut or corrupted record ends it
/// with an error naming its offset.
struct Records<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Records<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Records {
            bytes,
            at: 0,
            failed: false,
        }
    }
}

/// TFRecord's CRC: CRC-32C, rotated right by 15 bits plus a constant.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

impl<'a> Iterator for Records<'a> {
    type Item = std::result::Result<(usize, &'a [u8]), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at == self.bytes.len() {
            return None;
        }
        let at = self.at;
        let rest = &self.bytes[at..];
        let mut fail = |detail: String| {
            self.failed = true;
            Some(Err(detail))
        };
        if rest.len() < 12 {
            return fail(format!(
                "the file ends inside the header of the record at byte {at} ({} of its 12 \
                 bytes): it was cut short, perhaps while the writer was still running",
                rest.len()
            ));
        }
        let len_bytes = &rest[..8];
        let stored = u32::from_le_bytes(array(rest, 8));
        if masked_crc(len_bytes) != stored {
            return fail(format!(
                "the record at byte {at} has a corrupted length (its CRC-32C does not match)"
            ));
        }
        let len = u64::from_le_bytes(array(rest, 0));
        let needed = len.checked_add(16).filter(|&n| n <= rest.len() as u64);
        let Some(needed) = needed else {
            return fail(format!(
                "the file ends inside the record at byte {at} ({} of its {} bytes): it was cut \
                 short, perhaps while the writer was still running",
                rest.len(),
                len.saturating_add(16)
            ));
        };
        let len = len as usize;
        let data = &rest[12..12 + len];
        let stored = u32::from_le_bytes(array(rest, 12 + len));
        if masked_crc(data) != stored {
            return fail(format!(
                "the record at byte {at} is corrupted (the CRC-32C of its {len} bytes does not \
                 match)"
            ));
        }
        self.at += needed as usize;
        Some(Ok((at, data)))
    }
}

// The messages below mirror TensorFlow's and TensorBoard's protos (Apache-2.0):
// tensorboard/compat/proto/{event,summary,tensor,tensor_shape,types}.proto and
// tensorboard/plugins/hparams/{plugin_data,api}.proto, with the field numbers they give; only
// what the import reads is declared (prost skips the rest). A `oneof` is declared as its
// separate optional fields, which reads the same bytes.

#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(bytes = "vec", optional, tag = "4")]
    graph_def: Option<Vec<u8>>,
    #[prost(message, optional, tag = "5")]
    summary: Option<Summary>,
}

#[derive(Clone, PartialEq, Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
    #[prost(bytes = "vec", optional, tag = "4")]
    image: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "5")]
    histo: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "6")]
    audio: Option<Vec<u8>>,
    #[prost(message, optional, tag = "8")]
    tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "9")]
    metadata: Option<SummaryMetadata>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    plugin_data: Option<PluginData>,
    /// `DataClass`: 1 is `DATA_CLASS_SCALAR`.
    #[prost(int32, tag = "4")]
    data_class: i32,
}

#[derive(Clone, PartialEq, Message)]
struct PluginData {
    #[prost(string, tag = "1")]
    plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    content: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShape {
    #[prost(message, repeated, tag = "2")]
    dim: Vec<Dim>,
}

#[derive(Clone, PartialEq, Message)]
struct Dim {
    #[prost(int64, tag = "1")]
    size: i64,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int32, tag = "1")]
    dtype: i32,
    #[prost(message, optional, tag = "2")]
    tensor_shape: Option<TensorShape>,
    #[prost(bytes = "vec", tag = "4")]
    tensor_content: Vec<u8>,
    #[prost(float, repeated, tag = "5")]
    float_val: Vec<f32>,
    #[prost(double, repeated, tag = "6")]
    double_val: Vec<f64>,
    #[prost(int32, repeated, tag = "7")]
    int_val: Vec<i32>,
    #[prost(int64, repeated, tag = "10")]
    int64_val: Vec<i64>,
    #[prost(bool, repeated, tag = "11")]
    bool_val: Vec<bool>,
    #[prost(int32, repeated, tag = "13")]
    half_val: Vec<i32>,
    #[prost(uint32, repeated, tag = "16")]
    uint32_val: Vec<u32>,
    #[prost(uint64, repeated, tag = "17")]
    uint64_val: Vec<u64>,
}

// TensorFlow's DataType numbers.
const DT_FLOAT: i32 = 1;
const DT_DOUBLE: i32 = 2;
const DT_INT32: i32 = 3;
const DT_UINT8: i32 = 4;
const DT_INT16: i32 = 5;
const DT_INT8: i32 = 6;
const DT_INT64: i32 = 9;
const DT_BOOL: i32 = 10;
const DT_BFLOAT16: i32 = 14;
const DT_UINT16: i32 = 17;
const DT_HALF: i32 = 19;
const DT_UINT32: i32 = 22;
const DT_UINT64: i32 = 23;

impl TensorProto {
    /// The value of a one-element tensor (a scalar summary), as `tensor_util.make_ndarray`
    /// reads it: from `tensor_content`'s little-endian bytes when present, else the typed list.
    fn scalar(&self) -> std::result::Result<f64, String> {
        let elements: i64 = self
            .tensor_shape
            .as_ref()
            .map_or(1, |s| s.dim.iter().map(|d| d.size).product());
        if elements != 1 {
            return Err(format!(
                "a scalar summary whose tensor holds {elements} values, not one"
            ));
        }
        let c = &self.tensor_content;
        let from_content = !c.is_empty();
        let first =
            |found: Option<f64>| found.ok_or_else(|| "a scalar tensor with no value".to_owned());
        let value = match self.dtype {
            DT_FLOAT if from_content => f64::from(f32::from_le_bytes(le::<4>(c)?)),
            DT_FLOAT => first(self.float_val.first().map(|&v| f64::from(v)))?,
            DT_DOUBLE if from_content => f64::from_le_bytes(le::<8>(c)?),
            DT_DOUBLE => first(self.double_val.first().copied())?,
            DT_INT32 if from_content => f64::from(i32::from_le_bytes(le::<4>(c)?)),
            DT_INT16 if from_content => f64::from(i16::from_le_bytes(le::<2>(c)?)),
            DT_INT8 if from_content => f64::from(le::<1>(c)?[0] as i8),
            DT_UINT8 if from_content => f64::from(le::<1>(c)?[0]),
            DT_UINT16 if from_content => f64::from(u16::from_le_bytes(le::<2>(c)?)),
            DT_INT32 | DT_INT16 | DT_INT8 | DT_UINT8 | DT_UINT16 => {
                first(self.int_val.first().map(|&v| f64::from(v)))?
            }
            DT_INT64 if from_content => i64::from_le_bytes(le::<8>(c)?) as f64,
            DT_INT64 => first(self.int64_val.first().map(|&v| v as f64))?,
            DT_UINT32 if from_content => f64::from(u32::from_le_bytes(le::<4>(c)?)),
            DT_UINT32 => first(self.uint32_val.first().map(|&v| f64::from(v)))?,
            DT_UINT64 if from_content => u64::from_le_bytes(le::<8>(c)?) as f64,
            DT_UINT64 => first(self.uint64_val.first().map(|&v| v as f64))?,
            DT_BOOL if from_content => f64::from(u8::from(le::<1>(c)?[0] != 0)),
            DT_BOOL => first(self.bool_val.first().map(|&v| f64::from(u8::from(v))))?,
            DT_HALF | DT_BFLOAT16 => {
                let bits = if from_content {
                    u16::from_le_bytes(le::<2>(c)?)
                } else {
                    first(self.half_val.first().map(|&v| f64::from(v)))? as u16
                };
                if self.dtype == DT_HALF {
                    half_to_f64(bits)
                } else {
                    f64::from(f32::from_bits(u32::from(bits) << 16))
                }
            }
            other => {
                return Err(format!(
                    "a scalar tensor of TensorFlow dtype {other}, not a number"
                ));
            }
        };
        Ok(value)
    }
}

/// A scalar tensor's `N` content bytes.
fn le<const N: usize>(content: &[u8]) -> std::result::Result<[u8; N], String> {
    content.try_into().map_err(|_| {
        format!(
            "a scalar tensor of {} content bytes, not {N}",
            content.len()
        )
    })
}

/// The `N` bytes at `at` (the caller has checked they are there).
fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// An IEEE 754 half-precision value.
fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + fraction / 1024.0) * 2f64.powi(e - 15),
    }
}

#[derive(Clone, PartialEq, Message)]
struct HParamsPluginData {
    #[prost(message, optional, tag = "3")]
    session_start_info: Option<SessionStartInfo>,
    #[prost(message, optional, tag = "4")]
    session_end_info: Option<SessionEndInfo>,
}

#[derive(Clone, PartialEq, Message)]
struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    hparams: BTreeMap<String, ProtoValue>,
    #[prost(string, tag = "4")]
    group_name: String,
    #[prost(double, tag = "5")]
    start_time_secs: f64,
}

#[derive(Clone, PartialEq, Message)]
struct SessionEndInfo {
    /// `Status`: 1 success, 2 failure, 3 running, 0 unknown.
    #[prost(int32, tag = "1")]
    status: i32,
    #[prost(double, tag = "2")]
    end_time_secs: f64,
}

/// `google.protobuf.Value`, the scalar kinds an hyperparameter takes.
#[derive(Clone, PartialEq, Message)]
struct ProtoValue {
    #[prost(double, optional, tag = "2")]
    number_value: Option<f64>,
    #[prost(string, optional, tag = "3")]
    string_value: Option<String>,
    #[prost(bool, optional, tag = "4")]
    bool_value: Option<bool>,
}

impl ProtoValue {
    /// A param's text: a whole number without a fraction (the HParams plugin stores integers as
    /// doubles, so 3 and 3.0 read alike), another number as Python's `repr`, `true`/`false`.
    fn text(&self) -> Option<String> {
        if let Some(n) = self.number_value {
            return Some(if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", n as i64)
            } else {
                crate::expect::text::py_float(n)
            });
        }
        if let Some(s) = &self.string_value {
            return Some(s.clone());
        }
        self.bool_value.map(|b| b.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u64).to_le_bytes().to_vec();
        out.extend(masked_crc(&out[..8]).to_le_bytes());
        out.extend(data);
        out.extend(masked_crc(data).to_le_bytes());
        out
    }

    #[test]
    fn records_are_framed_and_checked() {
        let mut file = record(b"first");
        file.extend(record(b"second"));
        let read: Vec<_> = Records::new(&file)
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(read, vec![(0, &b"first"[..]), (21, &b"second"[..])]);
        // cut inside the second record's data
        let cut = &file[..file.len() - 3];
        let err = Records::new(cut).last().unwrap().unwrap_err();
        assert!(
            err.contains("at byte 21") && err.contains("cut short"),
            "{err}"
        );
        // a flipped bit in the first record's data
        let mut bad = file.clone();
        bad[13] ^= 1;
        let err = Records::new(&bad).next().unwrap().unwrap_err();
        assert!(err.contains("at byte 0 is corrupted"), "{err}");
        // a flipped bit in the length
        let mut bad = file.clone();
        bad[21] ^= 1;
        let err = Records::new(&bad).nth(1).unwrap().unwrap_err();
        assert!(err.contains("at byte 21 has a corrupted length"), "{err}");
    }

    #[test]
    fn half_precision() {
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0xc000), -2.0);
        assert_eq!(half_to_f64(0x3555), 0.333251953125);
        assert_eq!(half_to_f64(0x0001), 2f64.powi(-24));
        assert!(half_to_f64(0x7e00).is_nan());
    }
}
