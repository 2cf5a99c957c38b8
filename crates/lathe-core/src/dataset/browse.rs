//! Paged rows of a dataset version (or a file), with sort, filter and column selection.
//!
//! A stored version is a Parquet object, so a page reads only what it needs: an unsorted,
//! unfiltered page reads just its rows of the chosen columns; a sorted or filtered one first
//! reads the sort and filter columns, orders the matching row numbers, and then reads the
//! chosen columns over the smallest row range that holds the page. The ordered row numbers of
//! the last query are kept in a [`Browser`], so paging through a sorted 10-million-row table
//! sorts it once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::filter::{self, column_list};
use super::read::{self, Format, ReadOptions};
use super::stream::{self, MemoryLimit, ParquetTable};
use crate::job::Job;
use crate::project::Project;
use crate::remote::Partial;
use crate::{Error, Result};

/// The most rows one page may hold (`--csv` export is not paged by the app, so it is high).
pub const MAX_LIMIT: u64 = 10_000_000;
/// The rows a Spark table's rows view holds: its first rows by `LIMIT`, paged, sorted and
/// filtered here; the table itself stays on the cluster.
pub const SPARK_SAMPLE_ROWS: usize = 10_000;

/// A sort key: `COLUMN` or `COLUMN:desc` (`:asc` is the default).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortKey {
    pub column: String,
    pub descending: bool,
}

impl SortKey {
    pub fn parse(text: &str) -> SortKey {
        match text.rsplit_once(':') {
            Some((column, dir)) if dir.eq_ignore_ascii_case("desc") => SortKey {
                column: column.to_owned(),
                descending: true,
            },
            Some((column, dir)) if dir.eq_ignore_ascii_case("asc") => SortKey {
                column: column.to_owned(),
                descending: false,
            },
            _ => SortKey {
                column: text.to_owned(),
                descending: false,
            },
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsQuery {
    pub offset: u64,
    pub limit: u64,
    pub sort: Option<SortKey>,
    pub filter: Option<String>,
    /// `None`: every column, in the table's order.
    pub columns: Option<Vec<String>>,
}

/// Where the rows come from.
#[derive(Debug, Clone)]
pub enum TableSource {
    /// A stored version: its Parquet object.
    Stored {
        dataset: String,
        version: i64,
        parquet: PathBuf,
        /// The project's folder for temporary files (`objects/tmp`).
        spill: PathBuf,
    },
    /// A file read whole, without a project.
    File { path: PathBuf, options: ReadOptions },
    /// An object named by URL, read from a partial local copy (removed when the last clone of
    /// this source is dropped): a Parquet object's footer and then only the column chunks each
    /// read decodes are fetched; an object of any other format is fetched whole before it is
    /// read.
    Remote {
        /// The URL without credentials.
        url: String,
        copy: Arc<Partial>,
        options: ReadOptions,
    },
    /// A table on a Spark cluster (`sc://…`): its statistics are computed there
    /// ([`super::spark`]); its rows are never read here.
    Spark {
        /// The address without credentials.
        shown: String,
        /// The address as given (it may hold a token).
        url: String,
    },
}

impl TableSource {
    /// The stored version `NAME[@VERSION]` (latest by default).
    pub fn stored(project: &Project, reference: &str) -> Result<TableSource> {
        let version = super::resolve(project, reference)?;
        let parquet = project.objects().path_of(&version.object_sha256);
        Ok(TableSource::Stored {
            dataset: version.dataset,
            version: version.version,
            parquet,
            spill: project.objects().dir().join("tmp"),
        })
    }

    /// Where whole-table work on this source spills: the project's `objects/tmp` for a stored
    /// version (created when missing), the system's temporary folder otherwise.
    pub fn spill_folder(&self) -> Result<PathBuf> {
        match self {
            TableSource::Stored { spill, .. } => {
                std::fs::create_dir_all(spill)
                    .map_err(|e| Error::write("create the spill folder", spill, e))?;
                Ok(spill.clone())
            }
            _ => Ok(std::env::temp_dir()),
        }
    }

    /// The table as Parquet read by columns and row ranges rather than whole, when it is
    /// Parquet (a stored version, a Parquet file, a Parquet object named by URL).
    pub fn parquet_table(&self) -> Result<Option<ParquetTable>> {
        Ok(match self {
            TableSource::Stored { parquet, .. } => Some(ParquetTable::open(parquet)?),
            TableSource::File { path, options } => {
                if read::table_format(path, options)? == Format::Parquet {
                    Some(ParquetTable::open(path)?)
                } else {
                    None
                }
            }
            TableSource::Remote { url, copy, options } => {
                if remote_format(url, copy, options)? == Format::Parquet {
                    Some(ParquetTable::open_remote(copy.clone()).map_err(|e| e.naming(url))?)
                } else {
                    None
                }
            }
            TableSource::Spark { .. } => None,
        })
    }

    /// Whether the table can be read whole and worked on in memory within `limit`.
    pub fn fits(&self, limit: MemoryLimit) -> Result<bool> {
        if let Some(table) = self.parquet_table()? {
            return Ok(limit.fits(table.rows, table.names.len()));
        }
        match self {
            TableSource::File { path, options } => {
                stream::fits_whole(path, read::table_format(path, options)?, limit)
            }
            TableSource::Remote { url, copy, options } => stream::fits_whole(
                copy.path(),
                read::table_format(copy.path(), options)?,
                limit,
            )
            .map_err(|e| e.naming(url)),
            // Nothing of it is held here.
            TableSource::Spark { .. } => Ok(true),
            TableSource::Stored { .. } => unreachable!("a stored version is Parquet"),
        }
    }

    /// The table as a Parquet file to read in slices of rows: a stored version's object, a
    /// Parquet file or object itself, anything else copied into a temporary Parquet file in
    /// `spill` (a CSV a chunk at a time, within `limit`), deleted with the returned value.
    pub fn sliced(&self, limit: MemoryLimit, spill: &Path, job: &Job) -> Result<SlicedTable> {
        if let Some(table) = self.parquet_table()? {
            return Ok(SlicedTable { table, _copy: None });
        }
        let (path, options, shown) = match self {
            TableSource::File { path, options } => (path.as_path(), options, None),
            TableSource::Remote { url, copy, options } => {
                (copy.path(), options, Some(url.as_str()))
            }
            TableSource::Spark { shown, .. } => return Err(rows_stay_on_the_cluster(shown)),
            TableSource::Stored { .. } => unreachable!("a stored version is Parquet"),
        };
        let name = |e: Error| match shown {
            Some(url) => e.naming(url),
            None => e,
        };
        // Not Parquet: that was answered above.
        let format = read::table_format(path, options).map_err(name)?;
        let copy = tempfile::Builder::new()
            .prefix("lathe-table-")
            .suffix(".parquet")
            .tempfile_in(spill)
            .map_err(|e| Error::write("create a temporary file", spill, e))?;
        match format {
            Format::Csv | Format::Tsv => {
                stream::convert::to_parquet(path, format, options, copy.as_file(), limit, job)
                    .map_err(name)?;
            }
            // The other formats are read whole anyway (they fit, or they could not be read).
            _ => {
                let mut frame = self.read_whole()?;
                ParquetWriter::new(copy.as_file())
                    .finish(&mut frame)
                    .map_err(|e| {
                        Error::write(
                            "write a temporary Parquet copy",
                            copy.path(),
                            std::io::Error::other(e),
                        )
                    })?;
            }
        }
        Ok(SlicedTable {
            table: ParquetTable::open(copy.path()).map_err(name)?,
            _copy: Some(copy),
        })
    }

    /// The whole table (only `columns` when given; of a Parquet object named by URL, only
    /// they are fetched).
    pub fn frame(&self, columns: Option<Vec<String>>) -> Result<DataFrame> {
        match self {
            TableSource::Stored { parquet, .. } => read_parquet(parquet, columns, None),
            TableSource::Remote { url, copy, options }
                if remote_format(url, copy, options)? == Format::Parquet =>
            {
                ParquetTable::open_remote(copy.clone())
                    .and_then(|table| table.read_whole(columns))
                    .map_err(|e| e.naming(url))
            }
            TableSource::File { .. } | TableSource::Remote { .. } | TableSource::Spark { .. } => {
                let frame = self.read_whole()?;
                match columns {
                    Some(names) => frame.select(names).map_err(polars_err),
                    None => Ok(frame),
                }
            }
        }
    }

    /// The whole table, or only the columns `names` when it is Parquet and holds all of them
    /// (a wide table is read, or fetched, a few columns at a time). When a name is missing
    /// the whole table is read, so the error that follows lists every column.
    pub fn frame_of(&self, names: &[&str]) -> Result<DataFrame> {
        if let Some(table) = self.parquet_table()?
            && names.iter().all(|n| table.names.iter().any(|c| c == n))
        {
            let mut wanted: Vec<String> = Vec::with_capacity(names.len());
            for n in names {
                if !wanted.iter().any(|w| w == n) {
                    wanted.push((*n).to_owned());
                }
            }
            return table.read_whole(Some(wanted));
        }
        self.frame(None)
    }

    /// The first `rows` rows: only their row groups of a Parquet file, a Spark table's by
    /// `LIMIT`, else the table read whole and cut.
    pub fn head(&self, rows: usize) -> Result<DataFrame> {
        if let TableSource::Spark { url, .. } = self {
            return super::spark::head(url, rows, &Job::silent());
        }
        if let Some(table) = self.parquet_table()? {
            let columns: Vec<usize> = (0..table.names.len()).collect();
            return table.read(&columns, 0, rows.min(table.rows));
        }
        Ok(self.read_whole()?.head(Some(rows)))
    }

    /// The dataset name and version (none for a plain file).
    pub fn label(&self) -> (String, Option<i64>) {
        match self {
            TableSource::Stored {
                dataset, version, ..
            } => (dataset.clone(), Some(*version)),
            TableSource::File { path, .. } => (super::default_name(path), None),
            TableSource::Remote { url, .. } => (super::url_name(url), None),
            TableSource::Spark { shown, .. } => (shown.clone(), None),
        }
    }

    /// A file's or a URL's table, read whole; errors name the URL, not its local copy.
    fn read_whole(&self) -> Result<DataFrame> {
        match self {
            TableSource::File { path, options } => Ok(super::read::read_table(path, options)?.0),
            TableSource::Remote { url, copy, options } => {
                copy.complete(&Job::silent())?;
                super::read::read_table(copy.path(), options)
                    .map(|(frame, _)| frame)
                    .map_err(|e| e.naming(url))
            }
            TableSource::Stored { parquet, .. } => read_parquet(parquet, None, None),
            TableSource::Spark { shown, .. } => Err(rows_stay_on_the_cluster(shown)),
        }
    }
}

/// The format of a URL's object, told from the options or its name. An object of any format
/// but Parquet is fetched whole first: it is read whole.
fn remote_format(url: &str, copy: &Partial, options: &ReadOptions) -> Result<Format> {
    if options.format.or_else(|| Format::from_path(copy.path())) != Some(Format::Parquet) {
        copy.complete(&Job::silent())?;
    }
    read::table_format(copy.path(), options).map_err(|e| e.naming(url))
}

/// What asking for a Spark table's rows says: Lathe computes on the cluster, it does not pull
/// the table.
fn rows_stay_on_the_cluster(shown: &str) -> Error {
    Error::BadArgument {
        argument: "dataset",
        detail: format!(
            "{shown} is a table on a Spark cluster: its profile (`lathe dataset show`) and drift (`lathe drift`) are computed there, and `lathe dataset rows` shows a sample of its first rows, but the table is not read into Lathe; import a copy of the file to evaluate models on it"
        ),
    }
}

/// A table read in slices ([`TableSource::sliced`]), with the temporary copy it reads from.
#[derive(Debug)]
pub struct SlicedTable {
    pub table: ParquetTable,
    _copy: Option<tempfile::NamedTempFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnType {
    pub name: String,
    pub dtype: String,
}

/// What `lathe dataset rows --json` prints and the app's table shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RowsPage {
    pub dataset: String,
    pub version: Option<i64>,
    /// Rows in the table.
    pub total_rows: u64,
    /// Rows that pass the filter (all rows without one).
    pub matching_rows: u64,
    pub offset: u64,
    /// A table on a Spark cluster: the rows are its first [`SPARK_SAMPLE_ROWS`] by `LIMIT`
    /// (this many, fewer when the table is smaller), and `total_rows` and `matching_rows`
    /// count within them.
    pub sample: Option<u64>,
    pub columns: Vec<ColumnType>,
    /// One array per row, values in `columns` order: numbers, text, booleans, `null`; dates
    /// and times as ISO text; NaN and infinities as the text "NaN", "inf", "-inf".
    #[cfg_attr(
        feature = "ts",
        ts(type = "Array<Array<number | string | boolean | null>>")
    )]
    pub rows: Vec<Vec<Value>>,
}

/// A page as a frame (for CSV output) with its counts.
#[derive(Debug)]
pub struct Page {
    pub dataset: String,
    pub version: Option<i64>,
    pub total_rows: u64,
    pub matching_rows: u64,
    pub offset: u64,
    /// See [`RowsPage::sample`].
    pub sample: Option<u64>,
    pub frame: DataFrame,
}

impl Page {
    pub fn report(&self) -> RowsPage {
        let columns = self.frame.columns();
        RowsPage {
            dataset: self.dataset.clone(),
            version: self.version,
            total_rows: self.total_rows,
            matching_rows: self.matching_rows,
            offset: self.offset,
            sample: self.sample,
            columns: columns
                .iter()
                .map(|c| ColumnType {
                    name: c.name().to_string(),
                    dtype: c.dtype().to_string(),
                })
                .collect(),
            rows: (0..self.frame.height())
                .map(|i| {
                    columns
                        .iter()
                        .map(|c| c.get(i).map_or(Value::Null, json_cell))
                        .collect()
                })
                .collect(),
        }
    }

    /// Writes the page as CSV with a header line.
    pub fn write_csv(&mut self, out: &mut impl std::io::Write) -> Result<()> {
        CsvWriter::new(out)
            .include_header(true)
            .finish(&mut self.frame)
            .map_err(|e| Error::Compute {
                context: "cannot write the rows as CSV",
                detail: e.to_string(),
            })
    }
}

fn json_cell(value: AnyValue) -> Value {
    let float = |f: f64| {
        serde_json::Number::from_f64(f).map_or_else(
            || {
                Value::from(if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "inf"
                } else {
                    "-inf"
                })
            },
            Value::Number,
        )
    };
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::from(b),
        AnyValue::String(s) => Value::from(s),
        AnyValue::StringOwned(s) => Value::from(s.as_str()),
        AnyValue::Int8(v) => Value::from(v),
        AnyValue::Int16(v) => Value::from(v),
        AnyValue::Int32(v) => Value::from(v),
        AnyValue::Int64(v) => Value::from(v),
        AnyValue::UInt8(v) => Value::from(v),
        AnyValue::UInt16(v) => Value::from(v),
        AnyValue::UInt32(v) => Value::from(v),
        AnyValue::UInt64(v) => Value::from(v),
        AnyValue::Float32(v) => float(f64::from(v)),
        AnyValue::Float64(v) => float(v),
        other => Value::from(other.to_string()),
    }
}

/// The ordered row numbers of one (table, filter, sort), kept between pages.
#[derive(Debug)]
struct Ordering {
    key: (PathBuf, Option<String>, Option<SortKey>),
    /// The matching rows in display order: all of them, or (sorted tables) the first
    /// [`SORTED_PREFIX`] or more until a page beyond them is asked for.
    rows: IdxCa,
    /// How many rows match the filter.
    matching: u64,
}

/// Serves pages, remembering the row order of the last sorted or filtered query so that the
/// next page of it costs only the read of its rows.
#[derive(Debug, Default)]
pub struct Browser {
    last: Mutex<Option<Arc<Ordering>>>,
    /// The last Spark table paged, by its address as given, with its sample of rows.
    sample: Mutex<Option<(String, DataFrame)>>,
}

fn polars_err(e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot read the rows",
        detail: e.to_string(),
    }
}

fn bad(argument: &'static str, detail: String) -> Error {
    Error::BadArgument { argument, detail }
}

/// Reads the named columns (all when `None`) of a Parquet file, optionally only a row range.
fn read_parquet(
    path: &Path,
    columns: Option<Vec<String>>,
    slice: Option<(usize, usize)>,
) -> Result<DataFrame> {
    let file = File::open(path).map_err(|e| Error::io("read the dataset", path, e))?;
    ParquetReader::new(file)
        .with_columns(columns)
        .with_slice(slice)
        .finish()
        .map_err(polars_err)
}

impl Browser {
    pub fn new() -> Browser {
        Browser::default()
    }

    /// One page of `source` for `query`.
    pub fn page(&self, source: &TableSource, query: &RowsQuery) -> Result<Page> {
        if query.limit > MAX_LIMIT {
            return Err(bad(
                "limit",
                format!(
                    "{} is more than the most rows a page holds, {MAX_LIMIT}",
                    query.limit
                ),
            ));
        }
        let filter = query.filter.as_deref().map(filter::parse).transpose()?;
        let (dataset, version) = source.label();
        let table = source.parquet_table()?;
        let (frame_all, names, total_rows) = match &table {
            Some(table) => (None, table.names.clone(), table.rows as u64),
            None => {
                let frame = match source {
                    TableSource::Spark { url, .. } => self.spark_sample(url)?,
                    _ => source.read_whole()?,
                };
                let names = frame
                    .get_column_names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                let rows = frame.height() as u64;
                (Some(frame), names, rows)
            }
        };
        let known = |column: &str, argument: &'static str| {
            if names.iter().any(|n| n == column) {
                Ok(())
            } else {
                Err(bad(
                    argument,
                    format!(
                        "no column named '{column}'; the columns are {}",
                        column_list(&names)
                    ),
                ))
            }
        };
        let output: Vec<String> = match &query.columns {
            Some(columns) if !columns.is_empty() => {
                for c in columns {
                    known(c, "columns")?;
                }
                columns.clone()
            }
            _ => names.clone(),
        };
        if let Some(sort) = &query.sort {
            known(&sort.column, "sort")?;
        }
        let read = |columns: Vec<String>, slice: Option<(usize, usize)>| -> Result<DataFrame> {
            match (&frame_all, &table) {
                (Some(frame), _) => {
                    let selected = frame.select(columns).map_err(polars_err)?;
                    Ok(match slice {
                        Some((start, len)) => selected.slice(start as i64, len),
                        None => selected,
                    })
                }
                // Stretches of rows from the table opened once for the page: only the row
                // groups that hold them (a whole-file read maps every row group's chunks).
                (None, Some(table)) => match slice {
                    Some((start, len)) => table
                        .read(&table.indexes(&columns), start, len)?
                        .select(columns)
                        .map_err(polars_err),
                    None => table.read_whole(Some(columns)),
                },
                (None, None) => unreachable!("a source is a frame or a Parquet file"),
            }
        };

        let offset = query.offset;
        let limit = query.limit;
        let (matching_rows, frame) = if filter.is_none() && query.sort.is_none() {
            let start = offset.min(total_rows);
            let len = limit.min(total_rows - start);
            let frame = read(output.clone(), Some((start as usize, len as usize)))?;
            (total_rows, frame)
        } else {
            let end = offset.saturating_add(limit);
            let ordering = self.ordering(
                source,
                query,
                filter.as_ref(),
                (total_rows, end),
                table.as_ref(),
                &read,
            )?;
            let matching = ordering.matching;
            let start = offset.min(matching);
            let len = limit.min(matching - start);
            let page = ordering.rows.slice(start as i64, len as usize);
            if let Some(table) = &table {
                table.prefetch_rows(
                    &table.indexes(&output),
                    page.into_no_null_iter().map(|r| r as usize),
                )?;
            }
            let frame = read_rows(&read, &output, &page)?;
            (matching, frame)
        };
        Ok(Page {
            dataset,
            version,
            total_rows,
            matching_rows,
            offset,
            sample: matches!(source, TableSource::Spark { .. }).then_some(total_rows),
            frame,
        })
    }

    /// The rows view's sample of the Spark table `url`: read once, then kept for the next pages
    /// of the same table.
    fn spark_sample(&self, url: &str) -> Result<DataFrame> {
        if let Ok(kept) = self.sample.lock()
            && let Some((at, frame)) = kept.as_ref()
            && at == url
        {
            return Ok(frame.clone());
        }
        let frame = super::spark::head(url, SPARK_SAMPLE_ROWS, &Job::silent())?;
        if let Ok(mut kept) = self.sample.lock() {
            *kept = Some((url.to_owned(), frame.clone()));
        }
        Ok(frame)
    }

    /// The matching row numbers in display order, from the cache when the query repeats.
    fn ordering(
        &self,
        source: &TableSource,
        query: &RowsQuery,
        filter: Option<&filter::Expr>,
        (total_rows, end): (u64, u64),
        parquet: Option<&ParquetTable>,
        read: &dyn Fn(Vec<String>, Option<(usize, usize)>) -> Result<DataFrame>,
    ) -> Result<Arc<Ordering>> {
        let identity = match source {
            TableSource::Stored { parquet, .. } => Some(parquet.clone()),
            // A file may change between pages: it is not cached.
            TableSource::File { .. } | TableSource::Remote { .. } | TableSource::Spark { .. } => {
                None
            }
        };
        let key = (
            identity.clone().unwrap_or_default(),
            query.filter.clone(),
            query.sort.clone(),
        );
        if identity.is_some()
            && let Ok(last) = self.last.lock()
            && let Some(hit) = last.as_ref().filter(|o| {
                o.key == key && (o.rows.len() as u64 >= end || o.rows.len() as u64 == o.matching)
            })
        {
            return Ok(hit.clone());
        }
        let mut needed: Vec<String> = filter.map(|f| f.columns()).unwrap_or_default();
        if let Some(sort) = &query.sort
            && !needed.contains(&sort.column)
        {
            needed.push(sort.column.clone());
        }
        // The first pages of a Parquet table: one pass over slices of the key columns, the
        // first rows kept in a bounded heap (memory for a page, not for the table).
        if let Some(table) = parquet
            && end <= SORTED_PREFIX
        {
            let (rows, matching) = first_rows(
                table,
                &needed,
                filter,
                query.sort.as_ref(),
                SORTED_PREFIX as usize,
            )?;
            return Ok(self.remember(identity.is_some(), key, rows, matching));
        }
        let keys = read(needed, None)?;
        let mut rows: IdxCa = match filter {
            Some(expr) => {
                let mask = expr.evaluate(&keys)?;
                mask.iter()
                    .enumerate()
                    .filter(|(_, keep)| keep.unwrap_or(false))
                    .map(|(i, _)| i as IdxSize)
                    .collect_ca(PlSmallStr::EMPTY)
            }
            None => (0..total_rows as IdxSize).collect_ca(PlSmallStr::EMPTY),
        };
        let matching = rows.len() as u64;
        if let Some(sort) = &query.sort {
            let column = keys
                .column(&sort.column)
                .map_err(polars_err)?
                .as_materialized_series();
            let values = if filter.is_some() {
                column.take(&rows).map_err(polars_err)?
            } else {
                column.clone()
            };
            // The first pages of a sort need only its first rows: select them in O(n).
            let wanted = if end <= SORTED_PREFIX {
                SORTED_PREFIX
            } else {
                u64::MAX
            };
            let order = sort_positions(&values, sort.descending, wanted)?;
            let positions: IdxCa = order
                .into_iter()
                .map(|p| p as IdxSize)
                .collect_ca(PlSmallStr::EMPTY);
            rows = rows.take(&positions).map_err(polars_err)?;
        }
        Ok(self.remember(identity.is_some(), key, rows, matching))
    }

    /// An ordering, kept for the next page when its table cannot change (`cached`).
    fn remember(
        &self,
        cached: bool,
        key: (PathBuf, Option<String>, Option<SortKey>),
        rows: IdxCa,
        matching: u64,
    ) -> Arc<Ordering> {
        let ordering = Arc::new(Ordering {
            key,
            rows,
            matching,
        });
        if cached && let Ok(mut last) = self.last.lock() {
            *last = Some(ordering.clone());
        }
        ordering
    }
}

/// Reads the rows `page` names (in that order) of the `output` columns: only the stretches of
/// rows that hold them (a Parquet slice read skips the rest), then picks them in order.
fn read_rows(
    read: &dyn Fn(Vec<String>, Option<(usize, usize)>) -> Result<DataFrame>,
    output: &[String],
    page: &IdxCa,
) -> Result<DataFrame> {
    let mut wanted: Vec<IdxSize> = page.into_no_null_iter().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut stretches: Vec<(IdxSize, IdxSize)> = Vec::new();
    for &r in &wanted {
        match stretches.last_mut() {
            Some((start, len)) if r - (*start + *len) < STRETCH_GAP => *len = r - *start + 1,
            _ => stretches.push((r, 1)),
        }
    }
    if stretches.is_empty() {
        return read(output.to_vec(), Some((0, 0)));
    }
    // Each stretch's first row and where it starts in `combined`.
    let mut starts = Vec::with_capacity(stretches.len());
    let mut combined: Option<DataFrame> = None;
    for &(start, len) in &stretches {
        let part = read(output.to_vec(), Some((start as usize, len as usize)))?;
        starts.push((start, combined.as_ref().map_or(0, |c| c.height())));
        match combined.as_mut() {
            Some(c) => {
                c.vstack_mut(&part).map_err(polars_err)?;
            }
            None => combined = Some(part),
        }
    }
    let combined = combined.unwrap_or_default();
    let local: IdxCa = page
        .into_no_null_iter()
        .map(|r| {
            let at = starts.partition_point(|(start, _)| *start <= r) - 1;
            let (start, base) = starts[at];
            (base as IdxSize) + (r - start)
        })
        .collect_ca(PlSmallStr::EMPTY);
    combined.take(&local).map_err(polars_err)
}

/// A sort key in a form that orders as the column's values do ([`sort_positions`]'s rules):
/// numbers and dates as order-preserving integers, text as text; `None` is missing.
enum Keys {
    Ordered(Vec<Option<u64>>),
    Text(Vec<Option<String>>),
}

fn slice_keys(values: &Series) -> Result<Keys> {
    let dtype = values.dtype();
    if dtype.is_float() {
        let floats = values.cast(&DataType::Float64).map_err(polars_err)?;
        let ca = floats.f64().map_err(polars_err)?;
        return Ok(Keys::Ordered(
            ca.iter()
                .map(|v| v.filter(|x| !x.is_nan()).map(stream::sorter::ordered))
                .collect(),
        ));
    }
    if dtype.is_integer() || dtype.is_temporal() || dtype == &DataType::Boolean {
        let physical = values.to_physical_repr();
        if physical.dtype() == &DataType::UInt64 {
            return Ok(Keys::Ordered(
                physical.u64().map_err(polars_err)?.iter().collect(),
            ));
        }
        let ints = physical.cast(&DataType::Int64).map_err(polars_err)?;
        let ca = ints.i64().map_err(polars_err)?;
        return Ok(Keys::Ordered(
            ca.iter()
                .map(|v| v.map(|x| (x as u64) ^ (1 << 63)))
                .collect(),
        ));
    }
    let text = values.cast(&DataType::String).map_err(polars_err)?;
    let ca = text.str().map_err(polars_err)?;
    Ok(Keys::Text(
        ca.iter().map(|v| v.map(str::to_owned)).collect(),
    ))
}

/// The `wanted` best (key, row) pairs seen, best first by key then row: a max-heap of the
/// worst kept.
struct Best<K: Ord> {
    heap: std::collections::BinaryHeap<(K, u64)>,
    wanted: usize,
}

impl<K: Ord> Best<K> {
    fn new(wanted: usize) -> Best<K> {
        Best {
            heap: Default::default(),
            wanted,
        }
    }

    fn push(&mut self, key: K, row: u64) {
        if self.heap.len() < self.wanted {
            self.heap.push((key, row));
        } else if let Some(worst) = self.heap.peek()
            && (&key, row) < (&worst.0, worst.1)
        {
            self.heap.pop();
            self.heap.push((key, row));
        }
    }

    /// The best of both: (key, row) pairs are distinct and totally ordered, so the result does
    /// not depend on which slices each side saw.
    fn merge(mut self, other: Best<K>) -> Best<K> {
        for (key, row) in other.heap {
            self.push(key, row);
        }
        self
    }

    fn rows(self) -> Vec<u64> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }
}

/// What a pass over some consecutive slices of a table found for [`first_rows`].
struct Scan {
    ordered: Best<u64>,
    text: Best<String>,
    text_desc: Best<std::cmp::Reverse<String>>,
    /// Rows in row order: every match when unsorted, the missing keys when sorted.
    in_order: Vec<u64>,
    matching: u64,
}

impl Scan {
    fn new(wanted: usize) -> Scan {
        Scan {
            ordered: Best::new(wanted),
            text: Best::new(wanted),
            text_desc: Best::new(wanted),
            in_order: Vec::new(),
            matching: 0,
        }
    }

    /// `self` then `later` (the slices after `self`'s).
    fn then(self, later: Scan) -> Scan {
        let wanted = self.ordered.wanted;
        let mut in_order = self.in_order;
        in_order.extend(later.in_order);
        in_order.truncate(wanted);
        Scan {
            ordered: self.ordered.merge(later.ordered),
            text: self.text.merge(later.text),
            text_desc: self.text_desc.merge(later.text_desc),
            in_order,
            matching: self.matching + later.matching,
        }
    }
}

/// The first `wanted` matching rows of a Parquet table in display order (sorted stably,
/// missing keys last in either direction, as [`sort_positions`]; else in row order) and how
/// many rows match, reading only the `needed` columns a slice at a time, slices on every core
/// (100M rows sorted by a number: the pass was 0.9 s of a 2.2 s first page on one).
fn first_rows(
    table: &ParquetTable,
    needed: &[String],
    filter: Option<&filter::Expr>,
    sort: Option<&SortKey>,
    wanted: usize,
) -> Result<(IdxCa, u64)> {
    first_rows_within(table, needed, filter, sort, wanted, 64 << 20)
}

/// [`first_rows`], reading slices of about `share` bytes.
fn first_rows_within(
    table: &ParquetTable,
    needed: &[String],
    filter: Option<&filter::Expr>,
    sort: Option<&SortKey>,
    wanted: usize,
    share: usize,
) -> Result<(IdxCa, u64)> {
    use rayon::prelude::*;
    let columns = table.indexes(needed);
    let descending = sort.is_some_and(|s| s.descending);
    table.prefetch(&columns, &crate::job::CancelToken::new())?;
    let step = table.slice_rows(&columns, share);
    let offsets: Vec<usize> = (0..table.rows).step_by(step.max(1)).collect();
    let scan_slice = |mut scan: Scan, offset: usize| -> Result<Scan> {
        // A column at a time: each decoded on this thread (two columns read together on
        // polars' pool peaked at 1.7 GB for 100M rows, one at a time at ~0.3 GB).
        let len = step.min(table.rows - offset);
        let parts: Vec<Column> = columns
            .iter()
            .map(|&c| Ok(table.read(&[c], offset, len)?.columns()[0].clone()))
            .collect::<Result<_>>()?;
        let slice = DataFrame::new(len, parts).map_err(polars_err)?;
        let mask = filter.map(|f| f.evaluate(&slice)).transpose()?;
        let keep = |i: usize| mask.as_ref().is_none_or(|m| m.get(i).unwrap_or(false));
        let keys = match sort {
            Some(s) => Some(slice_keys(
                slice
                    .column(&s.column)
                    .map_err(polars_err)?
                    .as_materialized_series(),
            )?),
            None => None,
        };
        for i in 0..slice.height() {
            if !keep(i) {
                continue;
            }
            scan.matching += 1;
            let row = (offset + i) as u64;
            let missing = match &keys {
                None => true,
                Some(Keys::Ordered(k)) => match k[i] {
                    Some(v) => {
                        scan.ordered.push(if descending { !v } else { v }, row);
                        false
                    }
                    None => true,
                },
                Some(Keys::Text(k)) => match &k[i] {
                    Some(v) if descending => {
                        scan.text_desc.push(std::cmp::Reverse(v.clone()), row);
                        false
                    }
                    Some(v) => {
                        scan.text.push(v.clone(), row);
                        false
                    }
                    None => true,
                },
            };
            if missing && scan.in_order.len() < wanted {
                scan.in_order.push(row);
            }
        }
        Ok(scan)
    };
    // Folds keep their slices' order and reduce joins neighbours in order, so `in_order`
    // stays in row order.
    let scan = offsets
        .into_par_iter()
        .try_fold(|| Scan::new(wanted), scan_slice)
        .try_reduce(|| Scan::new(wanted), |a, b| Ok(a.then(b)))?;
    let mut rows = scan.ordered.rows();
    rows.extend(scan.text.rows());
    rows.extend(scan.text_desc.rows());
    rows.extend(scan.in_order);
    rows.truncate(wanted);
    Ok((
        rows.into_iter()
            .map(|r| r as IdxSize)
            .collect_ca(PlSmallStr::EMPTY),
        scan.matching,
    ))
}

/// Page rows closer than this are read as one stretch.
const STRETCH_GAP: IdxSize = 4096;

/// How many sorted rows the first pages compute; scrolling past them sorts everything.
const SORTED_PREFIX: u64 = 10_000;

/// The first `wanted` positions of `values` in stable sort order (all when `wanted` covers
/// them), missing values (null, NaN) last in either direction, as pandas' `sort_values(kind=
/// "stable", na_position="last")`.
fn sort_positions(values: &Series, descending: bool, wanted: u64) -> Result<Vec<usize>> {
    let dtype = values.dtype();
    if dtype.is_float() {
        let floats = values.cast(&DataType::Float64).map_err(polars_err)?;
        let keys: Vec<Option<f64>> = floats
            .f64()
            .map_err(polars_err)?
            .iter()
            .map(|v| v.filter(|x| !x.is_nan()))
            .collect();
        Ok(stable_prefix(&keys, descending, wanted, f64::total_cmp))
    } else if dtype.is_integer() || dtype.is_temporal() || dtype == &DataType::Boolean {
        let physical = values.to_physical_repr();
        if physical.dtype() == &DataType::UInt64 {
            let keys: Vec<Option<u64>> = physical.u64().map_err(polars_err)?.iter().collect();
            return Ok(stable_prefix(&keys, descending, wanted, u64::cmp));
        }
        let ints = physical.cast(&DataType::Int64).map_err(polars_err)?;
        let keys: Vec<Option<i64>> = ints.i64().map_err(polars_err)?.iter().collect();
        Ok(stable_prefix(&keys, descending, wanted, i64::cmp))
    } else {
        let text = values.cast(&DataType::String).map_err(polars_err)?;
        let keys: Vec<Option<&str>> = text.str().map_err(polars_err)?.iter().collect();
        Ok(stable_prefix(
            &keys,
            descending,
            wanted,
            |a: &&str, b: &&str| a.cmp(b),
        ))
    }
}

/// The positions of `keys` in stable sorted order (missing last), only the first `wanted`
/// when fewer than all: a selection finds the `wanted`-th key, the keys before it (and ties,
/// in row order) are the only ones sorted.
fn stable_prefix<T: Copy>(
    keys: &[Option<T>],
    descending: bool,
    wanted: u64,
    compare: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
) -> Vec<usize> {
    use std::cmp::Ordering::{Equal, Less};
    let cmp = |a: &T, b: &T| {
        let o = compare(a, b);
        if descending { o.reverse() } else { o }
    };
    let present: Vec<usize> = (0..keys.len()).filter(|&i| keys[i].is_some()).collect();
    let key = |i: usize| keys[i].unwrap_or_else(|| unreachable!("present rows have keys"));
    let wanted = usize::try_from(wanted).unwrap_or(usize::MAX);
    let mut chosen = if wanted < present.len() {
        let mut values: Vec<T> = present.iter().map(|&i| key(i)).collect();
        let (_, &mut pivot, _) = values.select_nth_unstable_by(wanted - 1, &cmp);
        drop(values);
        let before = present
            .iter()
            .filter(|&&i| cmp(&key(i), &pivot) == Less)
            .count();
        let mut ties = wanted - before;
        let mut chosen = Vec::with_capacity(wanted);
        for &i in &present {
            match cmp(&key(i), &pivot) {
                Less => chosen.push(i),
                Equal if ties > 0 => {
                    chosen.push(i);
                    ties -= 1;
                }
                _ => {}
            }
        }
        chosen
    } else {
        present
    };
    // A stable sort: ties keep row order.
    chosen.sort_by(|&a, &b| cmp(&key(a), &key(b)));
    if chosen.len() < wanted {
        let room = wanted - chosen.len();
        chosen.extend((0..keys.len()).filter(|&i| keys[i].is_none()).take(room));
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_rows_from_slices_on_every_core_equal_one_pass() {
        // 20,000 rows read in slices of 1,024 (20 slices over two threads) against one
        // slice: the same rows in the same order and the same count, for sorts by a number
        // and by text both ways (ties, missing keys past the first slice), a filter alone (the
        // first matches in row order), and a filter with a sort.
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.parquet");
        let n = 20_000usize;
        let mut frame = df!(
            "v" => (0..n).map(|i| (i % 13 != 4).then_some(((i * 7919) % 501) as f64)).collect::<Vec<_>>(),
            "s" => (0..n).map(|i| (i % 11 != 2).then(|| format!("k{}", (i * 31) % 97))).collect::<Vec<_>>(),
        )
        .unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut frame)
            .unwrap();
        let table = ParquetTable::open(&path).unwrap();
        let expr = filter::parse("v >= 250").unwrap();
        let sorts = [None, Some("v"), Some("v:desc"), Some("s"), Some("s:desc")];
        let mut compared = 0;
        for sort in sorts.map(|s| s.map(SortKey::parse)) {
            for filter in [None, Some(&expr)] {
                if sort.is_none() && filter.is_none() {
                    continue;
                }
                let mut needed: Vec<String> = filter.map(|f| f.columns()).unwrap_or_default();
                if let Some(s) = &sort
                    && !needed.contains(&s.column)
                {
                    needed.push(s.column.clone());
                }
                for wanted in [300, 10_000] {
                    let run = |share| {
                        let (rows, matching) = first_rows_within(
                            &table,
                            &needed,
                            filter,
                            sort.as_ref(),
                            wanted,
                            share,
                        )
                        .unwrap();
                        (rows.into_no_null_iter().collect::<Vec<_>>(), matching)
                    };
                    let (one, many) = (run(1 << 30), run(1));
                    assert_eq!(one, many, "{sort:?} {:?} {wanted}", filter.is_some());
                    assert_eq!(one.0.len(), wanted.min(one.1 as usize));
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 18);
    }

    #[test]
    fn a_prefix_is_the_start_of_the_full_stable_sort() {
        // Many ties, missing values, both directions, every prefix length.
        let keys: Vec<Option<i64>> = (0..200)
            .map(|i| (i % 7 != 3).then_some((i * 37 % 11) as i64))
            .collect();
        for descending in [false, true] {
            let full = stable_prefix(&keys, descending, u64::MAX, i64::cmp);
            assert_eq!(full.len(), keys.len());
            let mut expected: Vec<usize> = (0..keys.len()).collect();
            expected.sort_by(|&a, &b| match (keys[a], keys[b]) {
                (Some(x), Some(y)) if descending => y.cmp(&x),
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
            assert_eq!(full, expected);
            for wanted in 1..=keys.len() {
                let prefix = stable_prefix(&keys, descending, wanted as u64, i64::cmp);
                assert_eq!(prefix, expected[..wanted], "{wanted} {descending}");
            }
        }
    }

    /// The rows view of a Spark table is a sample of its first rows, fetched by `LIMIT` once
    /// and then paged, sorted and filtered here; the same rows a local read of the file gives.
    #[test]
    fn the_rows_of_a_spark_table_are_a_sample_of_its_first_rows() {
        use std::fs::File;

        use polars::prelude::ParquetWriter;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("rows.parquet");
        let mut frame = crate::dataset::stream::profile::tests::table(25_000);
        ParquetWriter::new(File::create(&path).unwrap_or_else(|e| panic!("{e}")))
            .finish(&mut frame)
            .unwrap_or_else(|e| panic!("{e}"));
        let url = format!(
            "{}/?path={}",
            lathe_testkit::spark::shared().url,
            path.display()
        );
        let spark = TableSource::Spark {
            shown: url.clone(),
            url,
        };
        let local = TableSource::File {
            path: path.clone(),
            options: Default::default(),
        };
        let query = |offset, sort: Option<&str>, filter: Option<&str>| RowsQuery {
            offset,
            limit: 40,
            sort: sort.map(SortKey::parse),
            filter: filter.map(str::to_owned),
            columns: None,
        };
        let browser = Browser::new();
        let first = browser
            .page(&spark, &query(0, None, None))
            .unwrap_or_else(|e| panic!("{e}"));
        let n = SPARK_SAMPLE_ROWS as u64;
        assert_eq!(
            (first.sample, first.total_rows, first.matching_rows),
            (Some(n), n, n)
        );
        let expected = Browser::new()
            .page(&local, &query(0, None, None))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.report().rows, expected.report().rows);
        assert_eq!(first.report().columns, expected.report().columns);
        // Sorted and filtered within the sample: the local file's first rows, sorted and
        // filtered alike.
        let head = dir.path().join("head.parquet");
        ParquetWriter::new(File::create(&head).unwrap_or_else(|e| panic!("{e}")))
            .finish(&mut frame.head(Some(SPARK_SAMPLE_ROWS)))
            .unwrap_or_else(|e| panic!("{e}"));
        let head = TableSource::File {
            path: head,
            options: Default::default(),
        };
        let q = query(80, Some("counts:desc"), Some("country = 'SE'"));
        let (a, b) = (
            browser.page(&spark, &q).unwrap_or_else(|e| panic!("{e}")),
            Browser::new()
                .page(&head, &q)
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(
            a.matching_rows > 1_000 && a.matching_rows < n,
            "{}",
            a.matching_rows
        );
        assert_eq!(a.matching_rows, b.matching_rows);
        assert_eq!(a.report().rows, b.report().rows);
        // `head` for the first rows is the same LIMIT.
        assert_eq!(spark.head(5).unwrap_or_else(|e| panic!("{e}")).height(), 5);
    }

    #[test]
    fn a_parquet_object_is_read_by_the_ranges_each_read_needs() {
        // 200,000 rows × 12 columns in 10 row groups on a real S3 server: each page, sort and
        // column read equals the local file's, fetching only the footer and the chunks it
        // decodes; completing the copy makes it the object, byte for byte; an object
        // replaced between two reads is an error, not a mix.
        let server = lathe_testkit::s3::shared();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.parquet");
        let n = 200_000usize;
        let mut columns: Vec<Column> = (0..10u64)
            .map(|c| {
                Column::new(
                    format!("x{c}").into(),
                    (0..n as u64)
                        .map(|i| {
                            // splitmix64: values that do not compress, so chunks keep their size.
                            let mut z = (i + c * 1_000_003).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                            (z ^ (z >> 31)) as f64 / u64::MAX as f64
                        })
                        .collect::<Vec<f64>>(),
                )
            })
            .collect();
        columns.push(Column::new(
            "s".into(),
            (0..n)
                .map(|i| format!("k{}", (i * 31) % 997))
                .collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            "m".into(),
            (0..n)
                .map(|i| (i % 7 != 3).then_some(i as i64 % 1_000))
                .collect::<Vec<_>>(),
        ));
        let mut frame = DataFrame::new(n, columns).unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .with_row_group_size(Some(20_000))
            .finish(&mut frame)
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let size = bytes.len() as u64;
        let key = "partial/wide.parquet";
        server.put(key, &bytes).unwrap();
        let url = format!("s3://{}/{key}", lathe_testkit::s3::BUCKET);
        let copy = Arc::new(Partial::open_in(server.store(), key, &url, dir.path()).unwrap());
        assert_eq!(copy.fetched(), 0);
        let remote = TableSource::Remote {
            url: url.clone(),
            copy: copy.clone(),
            options: ReadOptions::default(),
        };
        let local = TableSource::File {
            path: path.clone(),
            options: ReadOptions::default(),
        };
        let browser = Browser::new();
        let page = |source: &TableSource, offset, sort: Option<&str>, columns: Option<&[&str]>| {
            let query = RowsQuery {
                offset,
                limit: 50,
                sort: sort.map(SortKey::parse),
                filter: None,
                columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
            };
            browser.page(source, &query).unwrap().frame
        };

        let first = page(&remote, 0, None, Some(&["x0", "x3"]));
        assert_eq!(first, page(&local, 0, None, Some(&["x0", "x3"])));
        let after_first = copy.fetched();
        assert!(
            after_first < size / 10,
            "the first page of two columns fetched {after_first} of {size} bytes"
        );
        let later = page(&remote, 150_000, None, None);
        assert_eq!(later, page(&local, 150_000, None, None));
        assert!(copy.fetched() < size / 4, "{} of {size}", copy.fetched());

        let sorted = page(&remote, 0, Some("x7:desc"), Some(&["s", "m"]));
        assert_eq!(sorted, page(&local, 0, Some("x7:desc"), Some(&["s", "m"])));
        assert!(copy.fetched() < size / 2, "{} of {size}", copy.fetched());
        assert_eq!(
            remote.frame(Some(vec!["m".into()])).unwrap(),
            local.frame(Some(vec!["m".into()])).unwrap()
        );

        // What evaluation and fairness read: only the columns they name (once each).
        let before = copy.fetched();
        assert_eq!(
            remote.frame_of(&["x9", "x9"]).unwrap(),
            local.frame(Some(vec!["x9".into()])).unwrap()
        );
        assert!(copy.fetched() - before < size / 8, "one column of twelve");

        copy.complete(&Job::silent()).unwrap();
        assert_eq!(copy.fetched(), size);
        assert!(
            std::fs::read(copy.path()).unwrap() == bytes,
            "the copy is the object"
        );
        assert_eq!(remote.frame(None).unwrap(), frame);

        // Replaced after it was opened: the next fetch is refused on the ETag.
        let copy = Arc::new(Partial::open_in(server.store(), key, &url, dir.path()).unwrap());
        let replaced = TableSource::Remote {
            url: url.clone(),
            copy,
            options: ReadOptions::default(),
        };
        server.put(key, &bytes[..bytes.len() / 2]).unwrap();
        let e = browser
            .page(
                &replaced,
                &RowsQuery {
                    offset: 0,
                    limit: 5,
                    sort: None,
                    filter: None,
                    columns: None,
                },
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&url) && e.contains("changed"),
            "the replaced object's error: {e}"
        );
    }
}
