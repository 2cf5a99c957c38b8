//! A table written to Parquet a slice of rows at a time: how a CSV or Parquet file larger than
//! the memory budget is imported (and profiled without a project). A CSV file is cut into
//! chunks at record boundaries (a newline outside double quotes), each parsed by polars with
//! the types of the whole file and written as row groups; a Parquet file is copied slice by
//! slice.
//!
//! Column types follow the in-memory reader's rule: the type every row allows. They are
//! inferred from the first chunk; when a later chunk does not parse with them (a column that
//! turns to decimals or text further down), or a column is empty throughout the first chunk,
//! every chunk is inferred first and the types merged (integers with decimals are decimals,
//! anything else mixed is text).

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use polars::prelude::*;

use super::{MemoryLimit, ParquetTable};
use crate::dataset::read::{self, CsvDialect, Format, ReadOptions};
use crate::job::Job;
use crate::{Error, Result};

/// What was written.
#[derive(Debug)]
pub struct Written {
    pub rows: usize,
    pub schema: Schema,
}

fn write_error(e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot write the Parquet copy",
        detail: e.to_string(),
    }
}

/// Writes the table at `path` (CSV, TSV or Parquet) into `out` as zstd Parquet within `limit`.
pub fn to_parquet(
    path: &Path,
    format: Format,
    options: &ReadOptions,
    out: &File,
    limit: MemoryLimit,
    job: &Job,
) -> Result<Written> {
    match format {
        Format::Parquet => copy_parquet(path, out, MemoryLimit(limit.0 / 2), job),
        Format::Csv | Format::Tsv => {
            let dialect = CsvDialect::of(path, format, options)?;
            // A chunk is parsed into a frame of about twice its size, copied into one piece (see
            // `write_groups`), then encoded: a sixteenth of the limit each leaves room for the
            // allocator's cached pages.
            let chunk = (limit.bytes() / 16).clamp(1 << 20, 128 << 20);
            match write_csv(path, &dialect, chunk, None, out, job)? {
                Ok(written) => Ok(written),
                Err(Retry) => {
                    let schema = infer_all(path, &dialect, chunk, job)?;
                    out.set_len(0)
                        .map_err(|e| Error::write("restart the Parquet copy", path, e))?;
                    let mut rewind = out;
                    std::io::Seek::rewind(&mut rewind)
                        .map_err(|e| Error::write("restart the Parquet copy", path, e))?;
                    match write_csv(path, &dialect, chunk, Some(schema), out, job)? {
                        Ok(written) => Ok(written),
                        Err(Retry) => Err(read::bad(
                            path,
                            "its column types change within the file in a way Lathe cannot merge",
                        )),
                    }
                }
            }
        }
        other => Err(read::bad(
            path,
            format!(
                "a {} file this large is read whole; convert it to Parquet or CSV first, or raise --memory-limit",
                other.name()
            ),
        )),
    }
}

fn copy_parquet(path: &Path, out: &File, limit: MemoryLimit, job: &Job) -> Result<Written> {
    let table = ParquetTable::open(path)?;
    let all: Vec<usize> = (0..table.names.len()).collect();
    let mut writer = None;
    let mut schema = Schema::default();
    table.for_each_slice(&all, limit.bytes() / 2, &job.cancel, |offset, slice| {
        job.progress("writing parquet", offset as u64, Some(table.rows as u64));
        if writer.is_none() {
            schema = (**slice.schema()).clone();
            writer = Some(parquet_writer(out, &schema)?);
        }
        if let Some(w) = &mut writer {
            write_groups(w, slice.clone())?;
        }
        Ok(())
    })?;
    if let Some(w) = writer {
        w.finish().map_err(write_error)?;
    }
    Ok(Written {
        rows: table.rows,
        schema,
    })
}

fn parquet_writer<'a>(
    out: &'a File,
    schema: &Schema,
) -> Result<polars::io::parquet::write::BatchedWriter<&'a File>> {
    ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .batched(schema)
        .map_err(write_error)
}

/// The most rows in a row group of a copy: reading a page of rows decodes whole row groups,
/// so a page of the app's table stays quick.
const GROUP_ROWS: usize = 65_536;

/// Writes `frame` as row groups of up to [`GROUP_ROWS`] rows. The CSV parser and the slice
/// reader hand back frames of many small chunks, and the writer makes a row group of each
/// chunk and keeps every page's header until the footer: at a few hundred rows a group that
/// metadata grew with the rows (69 MB for a 500,000 × 31 table).
fn write_groups(
    writer: &mut polars::io::parquet::write::BatchedWriter<&File>,
    mut frame: DataFrame,
) -> Result<()> {
    frame.rechunk_mut_par();
    let mut offset = 0;
    while offset < frame.height() {
        let group = frame.slice(offset as i64, GROUP_ROWS);
        writer.write_batch(&group).map_err(write_error)?;
        offset += GROUP_ROWS;
    }
    Ok(())
}

/// Asks to start again with the types of every chunk.
struct Retry;

/// The file's records in chunks of about `size` bytes, each ending at a record boundary.
struct Chunks {
    input: BufReader<File>,
    carry: Vec<u8>,
    size: usize,
    done: bool,
    read: u64,
}

impl Chunks {
    fn new(path: &Path, size: usize) -> Result<Chunks> {
        let file = File::open(path).map_err(|e| Error::io("read the table", path, e))?;
        Ok(Chunks {
            input: BufReader::with_capacity(1 << 20, file),
            carry: Vec::new(),
            size,
            done: false,
            read: 0,
        })
    }

    /// The end of the last whole record in `bytes` (just after a newline outside quotes).
    fn last_boundary(bytes: &[u8]) -> Option<usize> {
        let mut quoted = false;
        let mut last = None;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'"' {
                quoted = !quoted;
            } else if b == b'\n' && !quoted {
                last = Some(i + 1);
            }
        }
        last
    }

    fn next(&mut self, path: &Path) -> Result<Option<Vec<u8>>> {
        if self.done && self.carry.is_empty() {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        loop {
            if !self.done && buf.len() < self.size {
                let want = self.size - buf.len();
                let got = (&mut self.input)
                    .take(want as u64)
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::io("read the table", path, e))?;
                self.read += got as u64;
                if got == 0 {
                    self.done = true;
                }
                continue;
            }
            if self.done {
                let blank = buf.iter().all(u8::is_ascii_whitespace);
                return Ok((!blank).then_some(buf));
            }
            match Self::last_boundary(&buf) {
                Some(end) => {
                    self.carry = buf.split_off(end);
                    return Ok(Some(buf));
                }
                // One record longer than a chunk: read on.
                None => self.size *= 2,
            }
        }
    }
}

fn parse(
    bytes: Vec<u8>,
    dialect: &CsvDialect,
    header: bool,
    schema: Option<SchemaRef>,
) -> PolarsResult<DataFrame> {
    dialect
        .options(header, None, schema)
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
}

/// Writes every chunk with `schema` (or the first chunk's types); `Err(Retry)` when those
/// types do not hold for the whole file.
fn write_csv(
    path: &Path,
    dialect: &CsvDialect,
    chunk: usize,
    schema: Option<Schema>,
    out: &File,
    job: &Job,
) -> Result<std::result::Result<Written, Retry>> {
    let total = std::fs::metadata(path).map(|m| m.len()).ok();
    let mut chunks = Chunks::new(path, chunk)?;
    let merged = schema.is_some();
    let mut schema: Option<SchemaRef> = schema.map(Arc::new);
    let mut writer = None;
    let mut rows = 0;
    let mut first = true;
    while let Some(bytes) = chunks.next(path)? {
        job.cancel.check()?;
        job.progress("converting to parquet", chunks.read, total);
        let header = first && dialect.has_header;
        let mut frame = match parse(bytes, dialect, header, schema.clone()) {
            Ok(frame) => frame,
            Err(_) if schema.is_some() && !merged => return Ok(Err(Retry)),
            Err(e) => {
                return Err(read::bad(
                    path,
                    read::csv_error(path, &e, dialect.delimiter),
                ));
            }
        };
        if first {
            if frame.width() == 0 {
                return Err(read::bad(path, "it has no columns"));
            }
            read::name_unnamed_columns(&mut frame);
            if !merged && frame.columns().iter().any(all_missing) && !chunks.done {
                return Ok(Err(Retry));
            }
            schema = Some(frame.schema().clone());
            writer = Some(parquet_writer(out, frame.schema())?);
        } else if let Some(s) = &schema {
            // Later chunks have no header line: the names come from the schema.
            let names: Vec<PlSmallStr> = s.iter_names().cloned().collect();
            frame.set_column_names(&names).map_err(write_error)?;
        }
        first = false;
        rows += frame.height();
        if let Some(w) = &mut writer {
            write_groups(w, frame)?;
        }
    }
    let (Some(w), Some(schema)) = (writer, schema) else {
        return Err(read::bad(path, "the file has no data"));
    };
    w.finish().map_err(write_error)?;
    Ok(Ok(Written {
        rows,
        schema: (*schema).clone(),
    }))
}

fn all_missing(c: &Column) -> bool {
    matches!(c.dtype(), DataType::String | DataType::Null) && c.null_count() == c.len()
}

/// The type every chunk allows for each column.
fn infer_all(path: &Path, dialect: &CsvDialect, chunk: usize, job: &Job) -> Result<Schema> {
    let total = std::fs::metadata(path).map(|m| m.len()).ok();
    let mut chunks = Chunks::new(path, chunk)?;
    let mut merged: Option<Vec<(PlSmallStr, Option<DataType>)>> = None;
    let mut first = true;
    while let Some(bytes) = chunks.next(path)? {
        job.cancel.check()?;
        job.progress("inferring column types", chunks.read, total);
        let header = first && dialect.has_header;
        let mut frame = parse(bytes, dialect, header, None)
            .map_err(|e| read::bad(path, read::csv_error(path, &e, dialect.delimiter)))?;
        if first {
            read::name_unnamed_columns(&mut frame);
        }
        first = false;
        let types: Vec<Option<DataType>> = frame
            .columns()
            .iter()
            .map(|c| (!all_missing(c)).then(|| c.dtype().clone()))
            .collect();
        match &mut merged {
            None => {
                merged = Some(
                    frame
                        .get_column_names()
                        .into_iter()
                        .cloned()
                        .zip(types)
                        .collect(),
                );
            }
            Some(m) => {
                if m.len() != types.len() {
                    return Err(read::bad(
                        path,
                        format!(
                            "some rows have {} fields where the first have {}; fix them, or pass the right --delimiter",
                            types.len(),
                            m.len()
                        ),
                    ));
                }
                for ((_, a), b) in m.iter_mut().zip(types) {
                    *a = merge(a.take(), b);
                }
            }
        }
    }
    let merged = merged.ok_or_else(|| read::bad(path, "the file has no data"))?;
    Ok(merged
        .into_iter()
        .map(|(name, t)| (name, t.unwrap_or(DataType::String)))
        .collect())
}

fn merge(a: Option<DataType>, b: Option<DataType>) -> Option<DataType> {
    match (a, b) {
        (None, t) | (t, None) => t,
        (Some(a), Some(b)) if a == b => Some(a),
        (Some(DataType::Int64), Some(DataType::Float64))
        | (Some(DataType::Float64), Some(DataType::Int64)) => Some(DataType::Float64),
        _ => Some(DataType::String),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(csv: &str, chunk: usize) -> DataFrame {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("t.csv");
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{e}"));
        let dialect = CsvDialect::of(&path, Format::Csv, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let out = tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
        let written = match write_csv(&path, &dialect, chunk, None, &out, &Job::silent()) {
            Ok(Ok(w)) => w,
            Ok(Err(Retry)) => {
                let schema = infer_all(&path, &dialect, chunk, &Job::silent())
                    .unwrap_or_else(|e| panic!("{e}"));
                out.set_len(0).unwrap_or_else(|e| panic!("{e}"));
                match write_csv(&path, &dialect, chunk, Some(schema), &out, &Job::silent()) {
                    Ok(Ok(w)) => w,
                    _ => panic!("no retry after merging"),
                }
            }
            Err(e) => panic!("{e}"),
        };
        let frame = ParquetReader::new(out)
            .finish()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(frame.height(), written.rows);
        let (whole, _) =
            read::read_table(&path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(whole.equals_missing(&frame), "{whole}\n{frame}");
        frame
    }

    #[test]
    fn chunks_end_at_records_not_inside_quotes() {
        let mut csv = String::from("id,note,x\n");
        for i in 0..2_000 {
            csv.push_str(&format!(
                "{i},\"line one\nline, two \"\"{i}\"\"\",{}.5\n",
                i % 7
            ));
        }
        let frame = convert(&csv, 1 << 10);
        assert_eq!(frame.height(), 2_000);
        assert_eq!(
            frame.column("x").map(|c| c.dtype().clone()).ok(),
            Some(DataType::Float64)
        );
    }

    #[test]
    fn a_column_that_changes_type_later_gets_the_type_every_row_allows() {
        let mut csv = String::from("a,b,c\n");
        for i in 0..3_000 {
            let b = if i == 2_500 {
                "2.5".to_owned()
            } else {
                i.to_string()
            };
            let c = if i < 2_800 {
                String::new()
            } else {
                format!("{i}")
            };
            csv.push_str(&format!("{i},{b},{c}\n"));
        }
        csv.push_str("3000,x,3000");
        let frame = convert(&csv, 1 << 10);
        let types: Vec<String> = frame.dtypes().iter().map(|t| t.to_string()).collect();
        assert_eq!(types, ["i64", "str", "i64"]);
    }

    #[test]
    fn a_chunk_is_one_row_group_of_at_most_group_rows() {
        let mut csv = String::from("a,b,c\n");
        for i in 0..40_000 {
            csv.push_str(&format!("{i},{}.25,{}\n", i % 13, i * 7));
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("t.csv");
        std::fs::write(&path, &csv).unwrap_or_else(|e| panic!("{e}"));
        let dialect = CsvDialect::of(&path, Format::Csv, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let out_path = dir.path().join("t.parquet");
        let out = File::create(&out_path).unwrap_or_else(|e| panic!("{e}"));
        let chunk = 64 << 10;
        match write_csv(&path, &dialect, chunk, None, &out, &Job::silent()) {
            Ok(Ok(w)) => assert_eq!(w.rows, 40_000),
            _ => panic!("the types hold for the whole file"),
        }
        let table = ParquetTable::open(&out_path).unwrap_or_else(|e| panic!("{e}"));
        let groups = table.group_starts.len() - 1;
        let chunks = csv.len().div_ceil(chunk);
        assert!(groups <= chunks, "{groups} row groups from {chunks} chunks");

        // One chunk of more than GROUP_ROWS rows: split, every row written once, in order.
        let mut long = String::from("a\n");
        for i in 0..(2 * GROUP_ROWS + 10) {
            long.push_str(&format!("{i}\n"));
        }
        std::fs::write(&path, &long).unwrap_or_else(|e| panic!("{e}"));
        let out = File::create(&out_path).unwrap_or_else(|e| panic!("{e}"));
        match write_csv(&path, &dialect, 16 << 20, None, &out, &Job::silent()) {
            Ok(Ok(w)) => assert_eq!(w.rows, 2 * GROUP_ROWS + 10),
            _ => panic!("the types hold for the whole file"),
        }
        let table = ParquetTable::open(&out_path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            table.group_starts,
            [0, GROUP_ROWS, 2 * GROUP_ROWS, 2 * GROUP_ROWS + 10]
        );
        let a = table
            .read(&[0], 0, table.rows)
            .unwrap_or_else(|e| panic!("{e}"));
        let a = a.columns()[0].i64().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            a.into_no_null_iter()
                .enumerate()
                .all(|(i, v)| v == i as i64)
        );
    }
}
