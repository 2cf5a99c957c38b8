//! Drift over time: the current data cut into windows (of time, or of rows), each scored against
//! the whole reference with the method and threshold the full comparison chose for the column,
//! so that the windows are comparable with each other.

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::column::ColumnDrift;
use super::sample::read_sample;
use super::score::evaluate_window;
use crate::dataset::times::times;
use crate::job::Job;
use crate::{Error, Result};

/// The most windows one comparison makes.
const MAX_WINDOWS: usize = 1000;
const DAY_MS: i64 = 86_400_000;
const NS_PER_MS: i64 = 1_000_000;

/// A window: a length of time, or a number of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Millis(i64),
    Rows(usize),
}

impl Window {
    /// `1d`, `7d`, `12h`, `30m`, `1w` or `1000rows`.
    pub fn parse(text: &str) -> Result<Window> {
        let t = text.trim().to_ascii_lowercase();
        let err = || {
            Error::bad_argument(
                "window",
                format!(
                    "'{text}': write a length of time (30m, 12h, 1d, 7d, 2w) or of rows (1000rows)"
                ),
            )
        };
        if let Some(n) = t.strip_suffix("rows").or_else(|| t.strip_suffix("row")) {
            let n: usize = n.trim().parse().map_err(|_| err())?;
            return if n == 0 {
                Err(err())
            } else {
                Ok(Window::Rows(n))
            };
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (n, unit) = t.split_at(split);
        let n: i64 = n.parse().map_err(|_| err())?;
        let unit_ms = match unit.trim() {
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => DAY_MS,
            "w" => 7 * DAY_MS,
            _ => return Err(err()),
        };
        if n <= 0 {
            return Err(err());
        }
        Ok(Window::Millis(n.checked_mul(unit_ms).ok_or_else(err)?))
    }

    pub fn label(&self) -> String {
        match *self {
            Window::Rows(n) => format!("{n} rows"),
            Window::Millis(ms) if ms % (7 * DAY_MS) == 0 => format!("{}w", ms / (7 * DAY_MS)),
            Window::Millis(ms) if ms % DAY_MS == 0 => format!("{}d", ms / DAY_MS),
            Window::Millis(ms) if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
            Window::Millis(ms) => format!("{}m", ms / 60_000),
        }
    }
}

/// One window's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WindowDrift {
    /// RFC 3339 start and end (exclusive) of a time window; the first and last row of a row
    /// window (0-based, end exclusive).
    pub start: String,
    pub end: String,
    pub rows: u64,
    pub share_drifted: f64,
    pub dataset_drift: bool,
    /// Each column's score in this window (`null` when the window has no values for it).
    pub scores: BTreeMap<String, Option<f64>>,
    pub drifted: Vec<String>,
}

impl WindowDrift {
    /// The window's verdict from its scores, with each column's method and threshold: which
    /// columns drifted, their share of the columns tested in the window, and the dataset verdict.
    /// The one place a window is judged, so the what-if's threshold reaches the windows too.
    pub(crate) fn tally(&mut self, columns: &[ColumnDrift], drift_share: f64) {
        let mut tested = 0usize;
        self.drifted.clear();
        for column in columns {
            if let Some(Some(score)) = self.scores.get(&column.name) {
                tested += 1;
                if column.method.drifted(*score, column.threshold) {
                    self.drifted.push(column.name.clone());
                }
            }
        }
        self.share_drifted = if tested == 0 {
            0.0
        } else {
            self.drifted.len() as f64 / tested as f64
        };
        self.dataset_drift = tested > 0 && self.share_drifted >= drift_share;
    }
}

/// Drift over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DriftWindows"))]
pub struct Windows {
    pub time_column: Option<String>,
    pub window: String,
    /// Current rows without a time, left out.
    pub rows_without_time: u64,
    pub windows: Vec<WindowDrift>,
    /// How many windows show dataset drift, in words: `2 of 6 windows show dataset drift`.
    #[serde(default)]
    pub summary: String,
}

impl Windows {
    /// Judges every window again from its scores (see [`WindowDrift::tally`]) and words the
    /// count of drifted windows.
    pub(crate) fn tally(&mut self, columns: &[ColumnDrift], drift_share: f64) {
        for window in &mut self.windows {
            window.tally(columns, drift_share);
        }
        let drifted = self.windows.iter().filter(|w| w.dataset_drift).count();
        let n = self.windows.len();
        self.summary = format!(
            "{drifted} of {n} {} {} dataset drift",
            if n == 1 { "window" } else { "windows" },
            if drifted == 1 { "shows" } else { "show" }
        );
    }
}

fn iso(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// A window of current rows: its start and end labels and the rows' positions.
type Cut = (String, String, Vec<u32>);
/// Cuts the current rows into windows. Returns them and the count of rows without a time.
fn cut(current: &DataFrame, time_column: Option<&str>, window: &Window) -> Result<(Vec<Cut>, u64)> {
    let height = current.height();
    let (order, stamps, missing): (Vec<u32>, Vec<i64>, u64) = match time_column {
        Some(name) => {
            let t = times(current, name, "time column", "the current data")?;
            let t: Vec<Option<i64>> = t
                .iter()
                .map(|v| v.map(|ns| ns.div_euclid(NS_PER_MS)))
                .collect();
            let mut rows: Vec<(i64, u32)> = t
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (v, i as u32)))
                .collect();
            rows.sort_by_key(|&(t, i)| (t, i));
            let missing = (height - rows.len()) as u64;
            (
                rows.iter().map(|r| r.1).collect(),
                rows.iter().map(|r| r.0).collect(),
                missing,
            )
        }
        None => ((0..height as u32).collect(), Vec::new(), 0),
    };
    let mut out = Vec::new();
    match *window {
        Window::Rows(n) => {
            for (k, chunk) in order.chunks(n).enumerate() {
                let (start, end) = (k * n, k * n + chunk.len());
                let (start, end) = match stamps.get(start).zip(stamps.get(end - 1)) {
                    Some((a, b)) => (iso(*a), iso(*b)),
                    None => (format!("row {start}"), format!("row {end}")),
                };
                out.push((start, end, chunk.to_vec()));
            }
        }
        Window::Millis(width) => {
            let Some(&first) = stamps.first() else {
                return Ok((out, missing));
            };
            let origin = first.div_euclid(DAY_MS.min(width)) * DAY_MS.min(width);
            let mut i = 0;
            while i < stamps.len() {
                let k = (stamps[i] - origin).div_euclid(width);
                let (lo, hi) = (origin + k * width, origin + (k + 1) * width);
                let start = i;
                while i < stamps.len() && stamps[i] < hi {
                    i += 1;
                }
                out.push((iso(lo), iso(hi), order[start..i].to_vec()));
            }
        }
    }
    if out.len() > MAX_WINDOWS {
        return Err(Error::bad_argument(
            "window",
            format!(
                "{} windows of {}; at most {MAX_WINDOWS}: choose a longer window",
                out.len(),
                window.label()
            ),
        ));
    }
    Ok((out, missing))
}

/// Every column's score in each group of `current`'s rows (indices into it), against the whole
/// reference, with the method the whole comparison chose for the column (so that the groups
/// are comparable): per column, per group; `None` where a group has no values. Drift over
/// time's windows and monitoring's chunks are such groups. A Wasserstein distance is measured
/// against the reference prepared once ([`super::stat::WassersteinReference`]: equal to the
/// direct distance to within rounding).
pub fn scores_in_groups(
    reference: &DataFrame,
    current: &DataFrame,
    columns: &[ColumnDrift],
    groups: &[&[u32]],
    job: &Job,
) -> Result<Vec<Vec<Option<f64>>>> {
    columns
        .par_iter()
        .map(|column| {
            job.cancel.check()?;
            let r = read_sample(reference, &column.name, column.kind, None)?;
            // A Wasserstein distance against the same reference in every group: the reference
            // prepared once, so that a group costs its own rows, not the reference's.
            let prepared = match (column.method, r.numbers().and_then(|n| n.as_slice())) {
                (super::Method::Wasserstein, Some(values)) if !values.is_empty() => Some((
                    super::stat::WassersteinReference::new(values.to_vec()),
                    r.numbers().map_or(0.0, |n| n.std_pop()).max(0.001),
                )),
                _ => None,
            };
            groups
                .par_iter()
                .map(|rows| {
                    let c = read_sample(current, &column.name, column.kind, Some(rows))?;
                    Ok(match (&prepared, c.numbers().and_then(|n| n.as_slice())) {
                        (Some((reference, norm)), Some(values)) if !values.is_empty() => {
                            Some(reference.distance(values) / norm)
                        }
                        _ => evaluate_window(column, &r, &c),
                    })
                })
                .collect()
        })
        .collect()
}

pub(crate) fn over_time(
    reference: &DataFrame,
    current: &DataFrame,
    columns: &[ColumnDrift],
    time_column: Option<&str>,
    window: &Window,
    job: &Job,
) -> Result<Windows> {
    let (cuts, missing) = cut(current, time_column, window)?;
    job.progress("drift over time", 0, Some(columns.len() as u64));
    let groups: Vec<&[u32]> = cuts.iter().map(|(_, _, rows)| rows.as_slice()).collect();
    let per_column = scores_in_groups(reference, current, columns, &groups, job)?;
    let windows = cuts
        .iter()
        .enumerate()
        .map(|(w, (start, end, rows))| {
            let scores = columns
                .iter()
                .zip(&per_column)
                .map(|(column, results)| (column.name.clone(), results[w]))
                .collect();
            WindowDrift {
                start: start.clone(),
                end: end.clone(),
                rows: rows.len() as u64,
                share_drifted: 0.0,
                dataset_drift: false,
                scores,
                drifted: Vec::new(),
            }
        })
        .collect();
    // Judged with the columns when the report is tallied (`DriftReport::tallied`).
    Ok(Windows {
        time_column: time_column.map(str::to_owned),
        window: window.label(),
        rows_without_time: missing,
        windows,
        summary: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse() {
        assert_eq!(Window::parse("1d").unwrap(), Window::Millis(DAY_MS));
        assert_eq!(Window::parse("7d").unwrap().label(), "1w");
        assert_eq!(Window::parse("1000rows").unwrap(), Window::Rows(1000));
        assert!(Window::parse("soon").is_err());
        assert!(Window::parse("0d").is_err());
    }
}
