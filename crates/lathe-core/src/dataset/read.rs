//! Reading a table file into a polars `DataFrame`: format detection, CSV dialect sniffing, and
//! errors that name the file and say what to do.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use polars::prelude::*;

use super::stream::MemoryLimit;
use serde::Serialize;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Tsv,
    Parquet,
    Ndjson,
    Json,
    Ipc,
}

impl Format {
    pub const NAMES: &'static str = "csv, tsv, parquet, ndjson, json, ipc";

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
            Format::Json => "json",
            Format::Ipc => "ipc",
        }
    }

    /// `--format` values; `feather`/`arrow` are Arrow IPC, `jsonl` is NDJSON.
    pub fn parse(text: &str) -> Option<Format> {
        Some(match text.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "parquet" | "pq" => Format::Parquet,
            "ndjson" | "jsonl" => Format::Ndjson,
            "json" => Format::Json,
            "ipc" | "arrow" | "feather" => Format::Ipc,
            _ => return None,
        })
    }

    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
    }
}

/// How to read a file; everything is detected when left unset.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub format: Option<Format>,
    /// CSV/TSV field separator.
    pub delimiter: Option<u8>,
    /// CSV/TSV: whether the first line names the columns.
    pub has_header: Option<bool>,
    /// CSV/TSV: strings read as null, besides empty fields.
    pub null_values: Vec<String>,
    /// The memory budget of whole-table work; [`MemoryLimit::for_this_machine`] by default.
    pub memory_limit: Option<MemoryLimit>,
}

impl ReadOptions {
    pub fn memory_limit(&self) -> MemoryLimit {
        self.memory_limit
            .unwrap_or_else(MemoryLimit::for_this_machine)
    }
}

pub(crate) fn bad(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// A readable, non-empty regular file, or a clear error.
pub fn check_file(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| bad(path, format!("{e}")))?;
    if !meta.is_file() {
        return Err(bad(path, "it is not a file"));
    }
    if meta.len() == 0 {
        return Err(bad(path, "the file is empty"));
    }
    Ok(())
}

/// The format `path` is read as (from the options, else its name), once it is known to be a
/// readable file with data.
pub fn table_format(path: &Path, options: &ReadOptions) -> Result<Format> {
    check_file(path)?;
    let format = options
        .format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| {
            bad(
                path,
                format!(
                    "cannot tell its format from the file name; pass --format (one of {})",
                    Format::NAMES
                ),
            )
        })?;
    if matches!(
        format,
        Format::Csv | Format::Tsv | Format::Ndjson | Format::Json
    ) && is_blank(path)?
    {
        return Err(bad(
            path,
            "the file has no data (only blank lines or spaces)",
        ));
    }
    Ok(format)
}

/// Reads `path` whole. Returns the frame and the format it was read as.
pub fn read_table(path: &Path, options: &ReadOptions) -> Result<(DataFrame, Format)> {
    let format = table_format(path, options)?;
    let open = || File::open(path).map_err(|e| bad(path, format!("{e}")));
    let polars = |e: PolarsError| {
        bad(
            path,
            format!(
                "{} file could not be read: {}",
                format.name(),
                polars_message(&e)
            ),
        )
    };
    let mut frame = match format {
        Format::Csv | Format::Tsv => read_csv(path, format, options)?,
        Format::Parquet => ParquetReader::new(open()?).finish().map_err(polars)?,
        Format::Ipc => IpcReader::new(open()?).finish().map_err(polars)?,
        Format::Ndjson => JsonReader::new(open()?)
            .with_json_format(JsonFormat::JsonLines)
            .finish()
            .map_err(polars)?,
        Format::Json => JsonReader::new(open()?)
            .with_json_format(JsonFormat::Json)
            .finish()
            .map_err(polars)?,
    };
    if frame.width() == 0 {
        return Err(bad(path, "it has no columns"));
    }
    name_unnamed_columns(&mut frame);
    Ok((frame, format))
}

/// polars' message without the advice meant for its Python API ("Consider setting
/// 'truncate_ragged_lines=true'", "You might want to try: increasing `infer_schema_length`"),
/// which names options Lathe users do not have.
pub(crate) fn polars_message(e: &PolarsError) -> String {
    let text = e.to_string();
    let cut = [
        "Consider setting",
        "You might want to try",
        "The current offset",
    ]
    .iter()
    .filter_map(|marker| text.find(marker))
    .min()
    .unwrap_or(text.len());
    text[..cut]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', ' '])
        .to_owned()
}

/// Whether the file holds nothing but white space (read up to its first non-blank byte).
pub(crate) fn is_blank(path: &Path) -> Result<bool> {
    let mut file = File::open(path).map_err(|e| bad(path, format!("{e}")))?;
    let mut buf = [0u8; 8192];
    loop {
        let n = file.read(&mut buf).map_err(|e| bad(path, format!("{e}")))?;
        if n == 0 {
            return Ok(true);
        }
        if buf[..n].iter().any(|b| !b.is_ascii_whitespace()) {
            return Ok(false);
        }
    }
}

/// A header cell left empty becomes `column_<n>` (1-based), so every column can be named on
/// the command line and in filters.
pub(crate) fn name_unnamed_columns(frame: &mut DataFrame) {
    let names: Vec<PlSmallStr> = frame
        .get_column_names()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if name.trim().is_empty() {
                format!("column_{}", i + 1).into()
            } else {
                (*name).clone()
            }
        })
        .collect();
    // Fails only when the new names collide with existing ones (a file that already has a
    // `column_<n>`); the original names are kept then.
    let _ = frame.set_column_names(&names);
}

/// How a CSV file is read: its delimiter, header and null strings, from the options or
/// sniffed from its first 64 KiB.
#[derive(Debug, Clone)]
pub(crate) struct CsvDialect {
    pub(crate) delimiter: u8,
    pub(crate) has_header: bool,
    nulls: Option<NullValues>,
}

impl CsvDialect {
    pub(crate) fn of(path: &Path, format: Format, options: &ReadOptions) -> Result<CsvDialect> {
        let head = read_head(path)?;
        if std::str::from_utf8(trim_partial_utf8(&head)).is_err() {
            return Err(bad(
                path,
                "it is not UTF-8 text (a binary file, or another encoding); convert it to UTF-8 first",
            ));
        }
        let delimiter = match (options.delimiter, format) {
            (Some(d), _) => d,
            (None, Format::Tsv) => b'\t',
            (None, _) => sniff_delimiter(&head),
        };
        let has_header = options
            .has_header
            .unwrap_or_else(|| first_line_is_header(&head, delimiter));
        let nulls = (!options.null_values.is_empty()).then(|| {
            NullValues::AllColumns(
                options
                    .null_values
                    .iter()
                    .map(|s| PlSmallStr::from_str(s))
                    .collect(),
            )
        });
        Ok(CsvDialect {
            delimiter,
            has_header,
            nulls,
        })
    }

    /// polars' options for this dialect: types inferred from `infer` rows (`None`: all), or
    /// the given `schema`; `header`: whether these bytes start with the header line.
    pub(crate) fn options(
        &self,
        header: bool,
        infer: Option<usize>,
        schema: Option<SchemaRef>,
    ) -> CsvReadOptions {
        CsvReadOptions::default()
            .with_has_header(header)
            .with_infer_schema_length(infer)
            .with_schema(schema)
            .map_parse_options(|o| {
                o.with_separator(self.delimiter)
                    .with_null_values(self.nulls.clone())
                    .with_quote_char(Some(b'"'))
            })
    }
}

fn read_csv(path: &Path, format: Format, options: &ReadOptions) -> Result<DataFrame> {
    let dialect = CsvDialect::of(path, format, options)?;
    let read = |infer: Option<usize>| {
        dialect
            .options(dialect.has_header, infer, None)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
    };
    // A column's type must be the one every row allows (a column that turns to text after row
    // 100 is text, not an error). Inferring it from every row costs ~40% of reading a large
    // file, so the types are first inferred from a sample; the file is read again with every
    // row inferred when the sample's types fail on a later row, or when a column was empty
    // (all null) throughout the sample, where a later value may be a number.
    let sampled = read(Some(INFER_SAMPLE_ROWS))
        .ok()
        .filter(|frame| !has_column_empty_in_sample(frame));
    match sampled {
        Some(frame) => Ok(frame),
        None => read(None).map_err(|e| bad(path, csv_error(path, &e, dialect.delimiter))),
    }
}

/// Rows the CSV reader infers column types from before reading the whole file.
const INFER_SAMPLE_ROWS: usize = 10_000;

/// Whether a text column holds no value in its first [`INFER_SAMPLE_ROWS`] rows (its type
/// was not seen in the sample).
fn has_column_empty_in_sample(frame: &DataFrame) -> bool {
    let rows = frame.height().min(INFER_SAMPLE_ROWS);
    frame.columns().iter().any(|c| {
        matches!(c.dtype(), DataType::String | DataType::Null)
            && c.slice(0, rows).null_count() == rows
            && c.null_count() < c.len()
    })
}

/// Explains a CSV read failure in the file's own terms (which line is ragged, or that a quote
/// is never closed) before polars' message.
pub(crate) fn csv_error(path: &Path, e: &PolarsError, delimiter: u8) -> String {
    let message = polars_message(e);
    let bytes = std::fs::read(path).unwrap_or_default();
    if bytes.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
        return format!(
            "a quoted field is never closed (the file has an odd number of '\"'); fix the quoting ({message})"
        );
    }
    if message.contains("found more fields") {
        let mut lines = bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty());
        if let Some((_, header)) = lines.next() {
            let expected = fields_in(header, delimiter);
            if let Some((i, line)) = lines.find(|(_, l)| fields_in(l, delimiter) > expected) {
                return format!(
                    "line {} has {} fields but the header has {expected}; fix that row, or pass the right --delimiter",
                    i + 1,
                    fields_in(line, delimiter)
                );
            }
        }
        return format!(
            "some rows have more fields than the header; fix them, or pass the right --delimiter ({message})"
        );
    }
    format!("csv file could not be read: {message}")
}

/// The first 64 KiB, for sniffing.
fn read_head(path: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1 << 16);
    File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .map_err(|e| bad(path, format!("{e}")))?;
    Ok(head)
}

/// Drops a UTF-8 sequence cut by the 64 KiB window, so only real encoding errors count.
fn trim_partial_utf8(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    }
}

/// Lines of the sample, without a trailing partial line.
fn sample_lines(head: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    if lines.len() > 1 {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .take(50)
        .collect()
}

/// Counts `delimiter` outside double quotes.
fn fields_in(line: &[u8], delimiter: u8) -> usize {
    let mut quoted = false;
    let mut count = 1;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            count += 1;
        }
    }
    count
}

/// The candidate that splits the sampled lines into the same number (> 1) of fields most
/// consistently; comma when nothing does.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let lines = sample_lines(head);
    let mut best = (b',', 0usize, 0usize);
    for candidate in [b',', b'\t', b';', b'|'] {
        let Some(first) = lines.first() else { break };
        let fields = fields_in(first, candidate);
        if fields < 2 {
            continue;
        }
        let agreeing = lines
            .iter()
            .filter(|l| fields_in(l, candidate) == fields)
            .count();
        if (agreeing, fields) > (best.1, best.2) {
            best = (candidate, agreeing, fields);
        }
    }
    best.0
}

/// A first line whose fields are all numbers is data, not a header.
pub fn first_line_is_header(head: &[u8], delimiter: u8) -> bool {
    let Some(first) = sample_lines(head).first().copied() else {
        return true;
    };
    let text = String::from_utf8_lossy(first);
    !text.split(delimiter as char).all(|f| {
        let f = f.trim().trim_matches('"');
        !f.is_empty() && f.parse::<f64>().is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_delimiter() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter(b"name|city\n\"a, b\"|x\n"), b'|');
        assert_eq!(sniff_delimiter(b"\"x,y\",z\n\"1,2\",3\n"), b',');
        assert_eq!(sniff_delimiter(b"single\n1\n"), b',');
    }

    #[test]
    fn detects_a_header() {
        assert!(first_line_is_header(b"age,income\n1,2\n", b','));
        assert!(!first_line_is_header(b"1,2.5\n3,4\n", b','));
        assert!(first_line_is_header(b"1,x\n", b','));
    }

    #[test]
    fn formats_by_name() {
        assert_eq!(Format::from_path(Path::new("a/b.TSV")), Some(Format::Tsv));
        assert_eq!(Format::from_path(Path::new("x.feather")), Some(Format::Ipc));
        assert_eq!(
            Format::from_path(Path::new("x.jsonl")),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_path(Path::new("x.xlsx")), None);
    }
}
