//! Request logging (`lathe serve --log-requests DIR`): every row a server predicts, with the
//! time its request arrived and the model's outputs, in Parquet files that `lathe drift`,
//! `lathe dataset import` and `lathe bundle check-drift` read as they read any table.
//!
//! A file is written as `.requests-<time>-<n>.parquet.partial`, a row group per flush, and
//! renamed to `requests-<time>-<n>.parquet` once its footer is written: when it holds
//! `rows_per_file` rows, when it is an hour old, or when the server stops. Readers only ever
//! see complete files; a crash loses the rows of the file being written.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;

use super::Rows;
use crate::model::Prediction;
use crate::model::tensor::Data;
use crate::{Error, Result};

/// The timestamp column of a log file (UTC, milliseconds).
pub const TIME_COLUMN: &str = "timestamp";
/// A file is closed after this long even when it has room.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// One predicted request: when it arrived, its rows, their outputs.
#[derive(Debug)]
pub struct Logged {
    pub at: SystemTime,
    pub rows: Rows,
    pub prediction: Prediction,
}

/// The log's folder and the file being written.
pub struct RequestLog {
    dir: PathBuf,
    features: Vec<String>,
    rows_per_file: usize,
    open: Option<Open>,
    written: u64,
}

struct Open {
    writer: BatchedWriter<File>,
    partial: PathBuf,
    done: PathBuf,
    rows: usize,
    opened: Instant,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("dir", &self.dir)
            .field("rows_per_file", &self.rows_per_file)
            .field("written", &self.written)
            .finish()
    }
}

impl RequestLog {
    /// Makes `dir` if missing and checks that files can be written in it.
    pub fn create(dir: &Path, features: Vec<String>, rows_per_file: usize) -> Result<RequestLog> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("make the request log folder", dir, e))?;
        let probe = dir.join(".lathe-write-check");
        std::fs::write(&probe, b"")
            .map_err(|e| Error::io("write in the request log folder", dir, e))?;
        let _ = std::fs::remove_file(&probe);
        Ok(RequestLog {
            dir: dir.to_path_buf(),
            features,
            rows_per_file: rows_per_file.max(1),
            open: None,
            written: 0,
        })
    }

    /// Rows written since the log was created.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes requests as one row group, rotating to a new file first when the current one
    /// is full or old.
    pub fn append(&mut self, requests: &[Logged]) -> Result<()> {
        if requests.is_empty() {
            return Ok(());
        }
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.rows >= self.rows_per_file || o.opened.elapsed() >= MAX_AGE)
        {
            self.close()?;
        }
        let frame = self.frame(requests)?;
        if self.open.is_none() {
            self.open = Some(self.start(&frame)?);
        }
        if let Some(open) = &mut self.open {
            open.writer
                .write_batch(&frame)
                .map_err(|e| write_error(&open.partial, e))?;
            open.rows += frame.height();
        }
        self.written += frame.height() as u64;
        Ok(())
    }

    /// Finishes the file being written (its footer, then its final name).
    pub fn close(&mut self) -> Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        open.writer
            .finish()
            .map_err(|e| write_error(&open.partial, e))?;
        drop(open.writer);
        std::fs::rename(&open.partial, &open.done)
            .map_err(|e| Error::io("name the finished request log", &open.done, e))
    }

    fn start(&self, frame: &DataFrame) -> Result<Open> {
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap_or_default();
        let mut n = 0;
        let (partial, done) = loop {
            let name = format!("requests-{stamp}-{n:04}.parquet");
            let done = self.dir.join(&name);
            let partial = self.dir.join(format!(".{name}.partial"));
            if !done.exists() && !partial.exists() {
                break (partial, done);
            }
            n += 1;
        };
        let file =
            File::create(&partial).map_err(|e| Error::io("write the request log", &partial, e))?;
        let writer = ParquetWriter::new(file)
            .batched(frame.schema())
            .map_err(|e| write_error(&partial, e))?;
        Ok(Open {
            writer,
            partial,
            done,
            rows: 0,
            opened: Instant::now(),
        })
    }

    /// The requests as a table: `timestamp`, the features, then the outputs (one column per
    /// value: `NAME`, or `NAME_0`, `NAME_1`, ... and `NAME_LABEL` for a probability map, as
    /// `lathe model predict --out` names them).
    fn frame(&self, requests: &[Logged]) -> Result<DataFrame> {
        let rows: usize = requests.iter().map(|r| r.rows.rows).sum();
        let width = self.features.len();
        let mut columns: Vec<Column> = Vec::with_capacity(1 + width + 4);
        let millis: Vec<i64> = requests
            .iter()
            .flat_map(|r| {
                let ms =
                    r.at.duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                std::iter::repeat_n(ms, r.rows.rows)
            })
            .collect();
        columns.push(
            Column::new(TIME_COLUMN.into(), millis)
                .cast(&DataType::Datetime(
                    TimeUnit::Milliseconds,
                    Some(TimeZone::UTC),
                ))
                .map_err(|e| compute(e.to_string()))?,
        );
        for (j, name) in self.features.iter().enumerate() {
            let values: Vec<f64> = requests
                .iter()
                .flat_map(|r| r.rows.values.iter().skip(j).step_by(width.max(1)).copied())
                .collect();
            columns.push(Column::new(name.as_str().into(), values));
        }
        let Some(first) = requests.first() else {
            return Err(compute("no requests".into()));
        };
        for (k, (name, t)) in first.prediction.outputs.iter().enumerate() {
            let w = if t.shape.len() <= 1 { 1 } else { t.row_len() };
            for j in 0..w {
                let column = match (&t.data, w) {
                    (Data::Map { keys, .. }, _) => format!("{name}_{}", keys.text(j)),
                    (_, 1) => name.clone(),
                    _ => format!("{name}_{j}"),
                };
                let pick = |i: usize, r: &Logged| -> Option<f64> {
                    match output(r, k) {
                        Data::F32(v) => v.get(i).map(|&x| f64::from(x)),
                        Data::F64(v) => v.get(i).copied(),
                        Data::Map { values, .. } => values.get(i).map(|&x| f64::from(x)),
                        _ => None,
                    }
                };
                let cells = || {
                    requests
                        .iter()
                        .flat_map(|r| (0..r.rows.rows).map(move |row| (r, row * w + j)))
                };
                columns.push(match &t.data {
                    Data::I64(_) => Column::new(
                        column.as_str().into(),
                        cells()
                            .map(|(r, i)| match output(r, k) {
                                Data::I64(v) => v.get(i).copied(),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    ),
                    Data::Str(_) => Column::new(
                        column.as_str().into(),
                        cells()
                            .map(|(r, i)| match output(r, k) {
                                Data::Str(v) => v.get(i).cloned(),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    ),
                    _ => Column::new(
                        column.as_str().into(),
                        cells().map(|(r, i)| pick(i, r)).collect::<Vec<_>>(),
                    ),
                });
            }
        }
        DataFrame::new(rows, columns).map_err(|e| compute(e.to_string()))
    }
}

/// Output `k` of a logged request.
fn output(r: &Logged, k: usize) -> &Data {
    &r.prediction.outputs[k].1.data
}

fn compute(detail: String) -> Error {
    Error::Compute {
        context: "the request log",
        detail,
    }
}

fn write_error(path: &Path, e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot write the request log",
        detail: format!("{}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::tensor::Tensor;

    fn request(first: f64) -> Logged {
        Logged {
            at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            rows: Rows {
                values: vec![first, 1.0, first + 1.0, 2.0],
                rows: 2,
            },
            prediction: Prediction {
                rows: 2,
                outputs: vec![
                    (
                        "label".into(),
                        Tensor::new(vec![2], Data::I64(vec![0, 1])).unwrap(),
                    ),
                    (
                        "probabilities".into(),
                        Tensor::new(vec![2, 2], Data::F32(vec![0.75, 0.25, 0.5, 0.5])).unwrap(),
                    ),
                ],
            },
        }
    }

    #[test]
    fn files_rotate_when_full_and_only_finished_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RequestLog::create(dir.path(), vec!["a".into(), "b".into()], 3).unwrap();
        log.append(&[request(10.0)]).unwrap();
        log.append(&[request(20.0)]).unwrap();
        let names = || {
            let mut n: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        assert!(names()[0].ends_with(".parquet.partial"), "{:?}", names());
        log.append(&[request(30.0)]).unwrap();
        log.close().unwrap();
        let files = names();
        assert_eq!(files.len(), 2, "{files:?}");
        let read = |name: &str| {
            let f = File::open(dir.path().join(name)).unwrap();
            ParquetReader::new(f).finish().unwrap()
        };
        let first = read(&files[0]);
        assert_eq!(first.height(), 4);
        assert_eq!(
            first
                .get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            [
                "timestamp",
                "a",
                "b",
                "label",
                "probabilities_0",
                "probabilities_1"
            ]
        );
        let a: Vec<Option<f64>> = first.column("a").unwrap().f64().unwrap().iter().collect();
        assert_eq!(a, [Some(10.0), Some(11.0), Some(20.0), Some(21.0)]);
        assert_eq!(read(&files[1]).height(), 2);
        assert_eq!(log.written(), 6);
    }
}
