//! A table's date/time column read as nanoseconds since the epoch (UTC), the one reading that
//! drift over time and monitoring's chunks share: date and datetime columns as stored, text
//! parsed as `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fffffffff]]` or RFC 3339.

use polars::prelude::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Error, Result};

const DAY_NS: i64 = 86_400_000_000_000;

/// Nanoseconds since the epoch of every row of column `name` of `frame` (`None` where
/// missing). `argument` names the flag that chose the column and `side` the table, for the
/// messages ("time column", "the current data").
pub fn times(
    frame: &DataFrame,
    name: &str,
    argument: &'static str,
    side: &str,
) -> Result<Vec<Option<i64>>> {
    let column = frame
        .column(name)
        .map_err(|_| Error::bad_argument(argument, format!("no column '{name}' in {side}")))?;
    let polars = |e: PolarsError| Error::Compute {
        context: "cannot read the time column",
        detail: format!("'{name}': {e}"),
    };
    match column.dtype() {
        DataType::Date => Ok(column
            .cast(&DataType::Int32)
            .map_err(polars)?
            .i32()
            .map_err(polars)?
            .iter()
            .map(|d| d.map(|d| d as i64 * DAY_NS))
            .collect()),
        DataType::Datetime(unit, _) => {
            let ns = match unit {
                TimeUnit::Nanoseconds => 1,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1_000_000,
            };
            Ok(column
                .cast(&DataType::Int64)
                .map_err(polars)?
                .i64()
                .map_err(polars)?
                .iter()
                .map(|v| v.map(|v| v.saturating_mul(ns)))
                .collect())
        }
        DataType::String => {
            let ca = column.str().map_err(polars)?;
            let mut out = Vec::with_capacity(ca.len());
            for (row, v) in ca.iter().enumerate() {
                match v {
                    None => out.push(None),
                    Some(text) => out.push(Some(parse_time(text).ok_or_else(|| {
                        Error::bad_argument(
                            argument,
                            format!(
                                "'{name}' row {} of {side}: '{text}' is not a date or time (write 2024-05-01 or 2024-05-01T12:00:00Z)",
                                row + 1
                            ),
                        )
                    })?)),
                }
            }
            Ok(out)
        }
        other => Err(Error::bad_argument(
            argument,
            format!("'{name}' in {side} is a {other} column; it must hold dates or times"),
        )),
    }
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fffffffff]]` (UTC) or RFC 3339, as ns since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos()).ok();
    }
    let (date, rest) = text.split_at_checked(10)?;
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let date = time::Date::from_calendar_date(
        y.parse().ok()?,
        time::Month::try_from(m.parse::<u8>().ok()?).ok()?,
        d.parse().ok()?,
    )
    .ok()?;
    let rest = rest.trim_start_matches(['T', ' ']);
    let mut ns = 0i64;
    if !rest.is_empty() {
        let rest = rest.strip_suffix('Z').unwrap_or(rest);
        let mut hms = rest.split(':');
        let h: i64 = hms.next()?.parse().ok()?;
        let mi: i64 = hms.next()?.parse().ok()?;
        let (s, frac) = match hms.next() {
            None => (0, 0),
            Some(s) => {
                let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
                if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let digits = if frac.is_empty() {
                    0
                } else {
                    frac.parse::<i64>().ok()?
                };
                (
                    whole.parse::<i64>().ok()?,
                    digits * 10i64.pow(9 - frac.len() as u32),
                )
            }
        };
        if hms.next().is_some()
            || !(0..24).contains(&h)
            || !(0..60).contains(&mi)
            || !(0..61).contains(&s)
        {
            return None;
        }
        ns = ((h * 60 + mi) * 60 + s) * 1_000_000_000 + frac;
    }
    let midnight = date.midnight().assume_utc().unix_timestamp() * 1_000_000_000;
    Some(midnight + ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("1970-01-02"), Some(DAY_NS));
        assert_eq!(parse_time("1970-01-01 01:00"), Some(3_600_000_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            parse_time("2018-01-01 00:08:43.152"),
            Some(1_514_764_800_000_000_000 + 523_152_000_000)
        );
        assert_eq!(parse_time("1970-01-01 00:00:00.000000007"), Some(7));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2018-01-01 25:00"), None);
        assert_eq!(parse_time("2018-01-01 10:00:00.1234567891"), None);
    }
}
