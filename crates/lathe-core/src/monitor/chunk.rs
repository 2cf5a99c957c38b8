//! NannyML's chunkers: rows cut into chunks by size, by number, or by calendar period of a
//! timestamp column, with NannyML's keys, indices and dates.
//!
//! Rows are first ordered by their timestamp when there is one (a stable sort: rows with the
//! same time keep their file order, where NannyML's sort leaves their order unspecified), and
//! chunk indices count positions in that order, as NannyML's do after its `reset_index`.

use std::ops::Range;

use serde::Serialize;
use time::{Date, Duration, Month, OffsetDateTime, Weekday};

use crate::{Error, Result};

/// NannyML's `DefaultChunker`: ten chunks.
pub const DEFAULT_CHUNKS: usize = 10;
/// NannyML warns below this many chunks.
pub const FEW_CHUNKS: usize = 6;

/// How rows are cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorChunking"))]
pub enum Chunking {
    /// Chunks of this many rows; the rest forms a last, smaller chunk (NannyML's
    /// `incomplete='keep'`).
    Size(usize),
    /// This many chunks of `rows / n` rows each, the rest in one more chunk (NannyML's
    /// `CountBasedChunker`, which cuts by size `rows // n`).
    Number(usize),
    /// One chunk per calendar period of the timestamp column that holds rows.
    Period(Period),
}

impl Default for Chunking {
    fn default() -> Self {
        Chunking::Number(DEFAULT_CHUNKS)
    }
}

/// A calendar period, as pandas' `to_period` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorPeriod"))]
pub enum Period {
    Hour,
    Day,
    /// Monday to Sunday (pandas' `W`, that is `W-SUN`).
    Week,
    Month,
    Quarter,
    Year,
}

impl Period {
    /// `1h`/`h`/`hour`, `1d`/`d`/`day`, `1w`/`w`/`week`, `M`/`1M`/`month`, `q`/`quarter`,
    /// `y`/`year` (pandas' offset aliases and their names).
    pub fn parse(text: &str) -> Result<Period> {
        let t = text.trim();
        let t = t.strip_prefix('1').unwrap_or(t);
        let period = match t {
            "M" | "ME" => Some(Period::Month),
            _ => match t.to_ascii_lowercase().as_str() {
                "h" | "hour" | "hourly" => Some(Period::Hour),
                "d" | "day" | "daily" => Some(Period::Day),
                "w" | "week" | "weekly" | "w-sun" => Some(Period::Week),
                "month" | "monthly" => Some(Period::Month),
                "q" | "quarter" | "quarterly" | "qe" => Some(Period::Quarter),
                "y" | "a" | "year" | "yearly" | "ye" => Some(Period::Year),
                _ => None,
            },
        };
        period.ok_or_else(|| {
            Error::bad_argument(
                "chunk period",
                format!(
                    "'{text}': write one of 1h, 1d, 1w, 1M (a month; 'm' alone is ambiguous), 1q, 1y"
                ),
            )
        })
    }

    /// The start of the period holding `t`, and the start of the next one.
    fn bounds(self, t: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        let date = t.date();
        let midnight = |d: Date| d.midnight().assume_utc();
        let first_of = |year: i32, month: u8| {
            let (year, month) = (year + i32::from((month - 1) / 12), (month - 1) % 12 + 1);
            // Every year a time in nanoseconds can name (1677 to 2262) has a first of the month.
            Date::from_calendar_date(year, Month::January.nth_next(month - 1), 1)
                .map_or(t, midnight)
        };
        match self {
            Period::Hour => {
                let start = midnight(date) + Duration::hours(i64::from(t.hour()));
                (start, start + Duration::HOUR)
            }
            Period::Day => (midnight(date), midnight(date) + Duration::DAY),
            Period::Week => {
                let back = i64::from(date.weekday().number_days_from_monday());
                let start = midnight(date) - Duration::days(back);
                (start, start + Duration::WEEK)
            }
            Period::Month => {
                let m = u8::from(date.month());
                (first_of(date.year(), m), first_of(date.year(), m + 1))
            }
            Period::Quarter => {
                let m = (u8::from(date.month()) - 1) / 3 * 3 + 1;
                (first_of(date.year(), m), first_of(date.year(), m + 3))
            }
            Period::Year => (first_of(date.year(), 1), first_of(date.year() + 1, 1)),
        }
    }

    /// pandas' `str(Period)`: `2018-01-01 00:00`, `2018-01-01`, `2018-01-01/2018-01-07`,
    /// `2018-01`, `2018Q1`, `2018`.
    fn key(self, start: OffsetDateTime) -> String {
        let d = start.date();
        let ymd = |d: Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        match self {
            Period::Hour => format!("{} {:02}:00", ymd(d), start.hour()),
            Period::Day => ymd(d),
            Period::Week => {
                debug_assert_eq!(d.weekday(), Weekday::Monday);
                format!("{}/{}", ymd(d), ymd(d + Duration::days(6)))
            }
            Period::Month => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
            Period::Quarter => format!("{:04}Q{}", d.year(), (u8::from(d.month()) - 1) / 3 + 1),
            Period::Year => format!("{:04}", d.year()),
        }
    }
}

/// A chunk: its key, its rows (positions in time order) and its dates (ns since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub key: String,
    pub rows: Range<usize>,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
}

impl Chunk {
    /// NannyML's `start_index` and `end_index` (inclusive).
    pub fn indices(&self) -> (usize, usize) {
        (self.rows.start, self.rows.end - 1)
    }
}

/// The order that sorts rows by time (stable), or `None` when they are sorted already.
/// Refuses a row without a time, naming it.
pub fn time_order(times: &[Option<i64>], column: &str, side: &str) -> Result<Option<Vec<usize>>> {
    if let Some(row) = times.iter().position(Option::is_none) {
        return Err(Error::bad_argument(
            "timestamp column",
            format!(
                "'{column}' has no value in row {} of {side}: every row needs a time to be chunked by time; fill or drop it",
                row + 1
            ),
        ));
    }
    if times.windows(2).all(|w| w[0] <= w[1]) {
        return Ok(None);
    }
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| times[i]);
    Ok(Some(order))
}

/// Cuts `rows` rows (in time order, `times` given when there is a timestamp column) into
/// chunks. `side` names the table in messages.
pub fn split(
    chunking: Chunking,
    rows: usize,
    times: Option<&[i64]>,
    side: &str,
) -> Result<Vec<Chunk>> {
    if rows == 0 {
        return Err(Error::bad_argument(
            "data",
            format!("{side} has no rows to chunk"),
        ));
    }
    match chunking {
        Chunking::Size(size) => by_size(size, rows, times),
        Chunking::Number(n) => {
            if n == 0 {
                return Err(Error::bad_argument(
                    "chunk number",
                    "the number of chunks must be at least 1".to_owned(),
                ));
            }
            let size = rows / n;
            if size == 0 {
                return Err(Error::bad_argument(
                    "chunk number",
                    format!(
                        "{side} has {rows} rows, fewer than the {n} chunks asked for; ask for at most {rows}"
                    ),
                ));
            }
            by_size(size, rows, times)
        }
        Chunking::Period(period) => {
            let times = times.ok_or_else(|| {
                Error::bad_argument(
                    "chunk period",
                    "chunking by period needs a timestamp column (--timestamp-column)".to_owned(),
                )
            })?;
            Ok(by_period(period, times))
        }
    }
}

fn by_size(size: usize, rows: usize, times: Option<&[i64]>) -> Result<Vec<Chunk>> {
    if size == 0 {
        return Err(Error::bad_argument(
            "chunk size",
            "the chunk size must be at least 1 row".to_owned(),
        ));
    }
    let mut chunks = Vec::with_capacity(rows.div_ceil(size));
    let mut start = 0;
    while start < rows {
        let end = (start + size).min(rows);
        let (start_date, end_date) = match times {
            Some(t) => (Some(t[start]), Some(t[end - 1])),
            None => (None, None),
        };
        chunks.push(Chunk {
            key: format!("[{start}:{}]", end - 1),
            rows: start..end,
            start_date,
            end_date,
        });
        start = end;
    }
    Ok(chunks)
}

fn by_period(period: Period, times: &[i64]) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut start = 0;
    while start < times.len() {
        let at = utc(times[start]);
        let (from, to) = period.bounds(at);
        let next = nanos(to);
        let end = start + times[start..].partition_point(|&t| t < next);
        chunks.push(Chunk {
            key: period.key(from),
            rows: start..end,
            start_date: Some(nanos(from)),
            // pandas 3's Period.end_time: the next period's start less one microsecond.
            end_date: Some(next - 1_000),
        });
        start = end;
    }
    chunks
}

fn utc(ns: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// pandas' `Timestamp.isoformat()`: `2018-01-01T00:08:43.152000`, with nine digits when the
/// time has nanoseconds and none when it has no fraction.
pub fn iso(ns: i64) -> String {
    let t = utc(ns);
    let d = t.date();
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let frac = t.nanosecond();
    if !frac.is_multiple_of(1000) {
        s.push_str(&format!(".{frac:09}"));
    } else if frac != 0 {
        s.push_str(&format!(".{:06}", frac / 1000));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_keep_the_incomplete_last_chunk() {
        let c = split(Chunking::Size(4), 10, None, "t").unwrap();
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["[0:3]", "[4:7]", "[8:9]"]);
        let c = split(Chunking::Number(3), 10, None, "t").unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[3].rows, 9..10);
        assert!(split(Chunking::Number(11), 10, None, "t").is_err());
        assert!(split(Chunking::Size(0), 10, None, "t").is_err());
        assert_eq!(split(Chunking::Size(20), 10, None, "t").unwrap().len(), 1);
    }

    #[test]
    fn periods_have_pandas_keys_and_bounds() {
        // 2018-01-01 is a Monday.
        let day = 86_400 * 1_000_000_000i64;
        let t0 = 1_514_764_800 * 1_000_000_000i64;
        let times = [t0, t0 + day, t0 + 8 * day, t0 + 40 * day, t0 + 100 * day];
        let c = split(Chunking::Period(Period::Week), 5, Some(&times), "t").unwrap();
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "2018-01-01/2018-01-07",
                "2018-01-08/2018-01-14",
                "2018-02-05/2018-02-11",
                "2018-04-09/2018-04-15"
            ]
        );
        assert_eq!(iso(c[0].end_date.unwrap()), "2018-01-07T23:59:59.999999");
        let c = split(Chunking::Period(Period::Quarter), 5, Some(&times), "t").unwrap();
        assert_eq!(c[0].key, "2018Q1");
        assert_eq!(c[1].key, "2018Q2");
        assert_eq!(iso(c[1].start_date.unwrap()), "2018-04-01T00:00:00");
        assert_eq!(iso(t0 + 523_152_000_000), "2018-01-01T00:08:43.152000");
        assert!(Period::parse("m").is_err());
        assert_eq!(Period::parse("1M").unwrap(), Period::Month);
        assert_eq!(Period::parse("1d").unwrap(), Period::Day);
    }

    #[test]
    fn a_row_without_a_time_is_refused_and_unsorted_rows_are_ordered() {
        let err = time_order(&[Some(1), None], "ts", "the analysis data").unwrap_err();
        assert!(err.to_string().contains("row 2"), "{err}");
        assert_eq!(
            time_order(&[Some(1), Some(1), Some(2)], "ts", "x").unwrap(),
            None
        );
        assert_eq!(
            time_order(&[Some(3), Some(1), Some(3), Some(2)], "ts", "x").unwrap(),
            Some(vec![1, 3, 0, 2])
        );
    }
}
