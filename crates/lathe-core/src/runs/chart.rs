//! Run charts: metric histories of many runs overlaid at full fidelity.
//!
//! Nothing is sampled away: a history is decimated per pixel column of the plot, keeping the
//! first, smallest, largest and last point of each column (M4, Jugel et al. 2014), which draws
//! exactly the same pixels as the full line — no spike is ever hidden and there is no point cap.
//! Zooming (an `x_range`) decimates again over the points in range, from the stored history.
//! NaN and infinite values are gaps in the line (and counted in the CSV).

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use super::compare::param_diff;
use super::load::{load, load_in_order};
use super::query::{self, Column};
use super::record::RunRecord;
use super::{Point, history};
use crate::chart::{
    FAMILY, Figure, TEXT, axis_number, draw_error, frame_csv, series_legend, short, tick_number,
};
use crate::{Error, Project, Result};

/// What the x axis shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    Step,
    /// Wall-clock time (UTC).
    Time,
    /// Seconds since the run's first point.
    Relative,
}

impl XAxis {
    pub fn parse(text: &str) -> Result<XAxis> {
        Ok(match text {
            "step" => XAxis::Step,
            "time" | "wall" => XAxis::Time,
            "relative" => XAxis::Relative,
            other => {
                return Err(Error::BadArgument {
                    argument: "x axis",
                    detail: format!("{other:?}; use step, time or relative"),
                });
            }
        })
    }
}

/// The band drawn around a group's mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Band {
    /// From the smallest to the largest value of any run.
    #[default]
    MinMax,
    /// The mean ± the sample standard deviation of the runs' values.
    Std,
    /// The mean ± Student's t (0.975, runs − 1) × the standard error: a 95 % confidence band.
    Ci95,
}

impl Band {
    pub fn parse(text: &str) -> Result<Band> {
        match text {
            "minmax" => Ok(Band::MinMax),
            "std" => Ok(Band::Std),
            "ci95" => Ok(Band::Ci95),
            other => Err(Error::BadArgument {
                argument: "band",
                detail: format!("{other:?}; use std, ci95 or minmax"),
            }),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Band::MinMax => "min–max",
            Band::Std => "± std",
            Band::Ci95 => "95% CI",
        }
    }

    /// The band's ends from a column's run values (their mean given); `None` when one run
    /// cannot make a spread.
    fn ends(self, values: &[f64], mean: f64, low: f64, high: f64) -> Option<(f64, f64)> {
        if self == Band::MinMax {
            return Some((low, high));
        }
        let n = values.len();
        if n < 2 {
            return None;
        }
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        let std = var.sqrt();
        let half = match self {
            Band::Std => std,
            _ => {
                use statrs::distribution::{ContinuousCDF, StudentsT};
                let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
                    .map(|d| d.inverse_cdf(0.975))
                    .unwrap_or(f64::NAN);
                t * std / (n as f64).sqrt()
            }
        };
        Some((mean - half, mean + half))
    }
}

/// A grouped chart's CSV row: group, x, mean, min, max, the band's ends, runs.
type GroupRow = (String, f64, f64, f64, f64, Option<(f64, f64)>, u64);

/// How to draw a metric's histories.
#[derive(Debug, Clone)]
pub struct LineOptions {
    pub metric: String,
    pub x: XAxis,
    /// EMA smoothing weight in [0, 1) (TensorBoard's, debiased); the raw line stays, faint.
    pub smooth: Option<f64>,
    /// Group runs by a param or tag: each group's mean with a band (`band`).
    pub group_by: Option<String>,
    /// The band around a group's mean.
    pub band: Band,
    /// Only this x range (a zoom), decimated anew from the stored points.
    pub x_range: Option<(f64, f64)>,
    pub size: (u32, u32),
}

impl Default for LineOptions {
    fn default() -> Self {
        LineOptions {
            metric: String::new(),
            x: XAxis::Step,
            smooth: None,
            group_by: None,
            band: Band::MinMax,
            x_range: None,
            size: (900, 480),
        }
    }
}

/// One drawn line (a run, or a group's mean) and its faint raw line when smoothed.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    label: String,
    /// Decimated points to draw; `NaN` y separates segments.
    points: Vec<(f64, f64)>,
    raw: Option<Vec<(f64, f64)>>,
    /// min–max band of a group: (x, low, high) per pixel column.
    band: Vec<(f64, f64, f64)>,
}

/// A chart of run histories, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct RunChart {
    pub title: String,
    x_label: String,
    x: XAxis,
    x_range: (f64, f64),
    y_range: (f64, f64),
    lines: Vec<Line>,
    size: (u32, u32),
    /// The CSV: the full-fidelity data behind the chart.
    data: DataFrame,
    /// How many points the chart stands for, and how many it draws.
    pub points_in: u64,
    pub points_drawn: u64,
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The plot area's width in pixels for a chart of `width` (the y labels and margins taken off).
fn plot_width(width: u32) -> usize {
    width.saturating_sub(PLOT_LEFT + PLOT_RIGHT_MARGIN).max(50) as usize
}

/// M4 decimation of `points` (sorted by x) into `columns` pixel columns over `range`: per column
/// the first, smallest, largest and last point, in x order. Non-finite y values become one
/// `NaN` gap marker.
pub fn m4(points: &[(f64, f64)], range: (f64, f64), columns: usize) -> Vec<(f64, f64)> {
    let (lo, hi) = range;
    let span = if hi > lo { hi - lo } else { 1.0 };
    let column = |x: f64| {
        (((x - lo) / span) * columns as f64)
            .floor()
            .clamp(0.0, columns as f64 - 1.0) as usize
    };
    let mut out = Vec::with_capacity(points.len().min(columns * 4 + 16));
    let mut i = 0;
    while i < points.len() {
        let (x, y) = points[i];
        if !y.is_finite() {
            if out.last().is_some_and(|p: &(f64, f64)| !p.1.is_nan()) {
                out.push((x, f64::NAN));
            }
            i += 1;
            continue;
        }
        let c = column(x);
        let start = i;
        let (mut min_i, mut max_i) = (i, i);
        let mut end = i;
        while end < points.len() && points[end].1.is_finite() && column(points[end].0) == c {
            if points[end].1 < points[min_i].1 {
                min_i = end;
            }
            if points[end].1 > points[max_i].1 {
                max_i = end;
            }
            end += 1;
        }
        let last = end - 1;
        let mut keep = [start, min_i, max_i, last];
        keep.sort_unstable();
        let mut previous = usize::MAX;
        for k in keep {
            if k != previous {
                out.push(points[k]);
                previous = k;
            }
        }
        i = end;
    }
    out
}

/// TensorBoard's debiased exponential moving average; non-finite values pass through unsmoothed.
pub fn ema(values: &[f64], weight: f64) -> Vec<f64> {
    let mut last = 0.0;
    let mut n = 0i32;
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return v;
            }
            last = last * weight + (1.0 - weight) * v;
            n += 1;
            let debias = 1.0 - weight.powi(n);
            if debias > 0.0 { last / debias } else { v }
        })
        .collect()
}

fn x_of(p: &Point, axis: XAxis, t0: i64) -> f64 {
    match axis {
        XAxis::Step => p.step as f64,
        XAxis::Time => p.timestamp as f64,
        XAxis::Relative => (p.timestamp - t0) as f64 / 1000.0,
    }
}

/// A run's id, its points sorted by x, and their (x, y).
type RunSeries = (i64, Vec<Point>, Vec<(f64, f64)>);

/// The history chart of `metric` for `runs`.
pub fn line_chart(project: &Project, runs: &[i64], options: &LineOptions) -> Result<RunChart> {
    if runs.is_empty() {
        return Err(Error::BadArgument {
            argument: "runs",
            detail: "a chart needs at least one run".to_owned(),
        });
    }
    if let Some(w) = options.smooth
        && !(0.0..1.0).contains(&w)
    {
        return Err(Error::BadArgument {
            argument: "smoothing",
            detail: format!(
                "{w}: the EMA weight is at least 0 and below 1 (0.6 is a common choice)"
            ),
        });
    }
    let records = load(project, true, Some(runs))?;
    let label_of = |id: i64| {
        records
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone().unwrap_or_else(|| r.source_run_id.clone()))
            .unwrap_or_else(|| id.to_string())
    };
    let group_key = options
        .group_by
        .as_deref()
        .map(super::group::GroupKey::parse)
        .transpose()?;

    // Every run's points as (x, y), sorted by x (stable: logging order within an x).
    let mut series: Vec<RunSeries> = Vec::new();
    let mut missing = Vec::new();
    for &id in runs {
        let points = match history(project, id, &options.metric) {
            Ok(p) => p,
            Err(Error::NotFound { .. }) => {
                missing.push(label_of(id));
                continue;
            }
            Err(e) => return Err(e),
        };
        let t0 = points.iter().map(|p| p.timestamp).min().unwrap_or(0);
        let mut xy: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (x_of(p, options.x, t0), p.value))
            .collect();
        let mut order: Vec<usize> = (0..xy.len()).collect();
        order.sort_by(|&a, &b| xy[a].0.total_cmp(&xy[b].0));
        let sorted_points: Vec<Point> = order.iter().map(|&i| points[i]).collect();
        xy = order.iter().map(|&i| xy[i]).collect();
        series.push((id, sorted_points, xy));
    }
    if series.is_empty() {
        return Err(Error::NotFound {
            what: format!("none of the runs logged the metric {:?}", options.metric),
        });
    }
    let points_in: u64 = series.iter().map(|s| s.2.len() as u64).sum();
    let finite_x = series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
    let (data_lo, data_hi) = finite_x.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let (lo, hi) = options.x_range.unwrap_or((data_lo, data_hi));
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let columns = plot_width(options.size.0);
    // Points in range, with one neighbour on each side so lines run to the plot's edges.
    let in_range = |xy: &[(f64, f64)]| -> Vec<(f64, f64)> {
        let a = xy.partition_point(|p| p.0 < lo).saturating_sub(1);
        let b = (xy.partition_point(|p| p.0 <= hi) + 1).min(xy.len());
        xy[a..b].to_vec()
    };

    let mut lines = Vec::new();
    if let Some(key) = &group_key {
        // Per group and pixel column: the mean of each run's mean in the column, and the band
        // from the smallest to the largest value of any run in it.
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (id, _, _)) in series.iter().enumerate() {
            let record = records.iter().find(|r| r.id == *id);
            let value = match (record, key) {
                // A number as the axis shows it (`0.001`, not `0.0010000000000000002`).
                (Some(r), super::group::GroupKey::Column(column)) => match query::cell(r, column) {
                    query::Cell::Number(x) => axis_number(x),
                    query::Cell::Text(t) => t,
                    query::Cell::Missing => "(none)".to_owned(),
                },
                (Some(r), key) => key.value(r).unwrap_or_else(|| "(none)".to_owned()),
                (None, _) => "(none)".to_owned(),
            };
            groups.entry(value).or_default().push(i);
        }
        let span = hi - lo;
        // The grouped CSV: one row per group and pixel column (group, x, mean, min, max, std,
        // the band's ends, runs).
        let mut rows: Vec<GroupRow> = Vec::new();
        for (value, members) in groups {
            let mut cells: BTreeMap<usize, (Vec<f64>, f64, f64)> = BTreeMap::new();
            for &m in &members {
                let mut per_run: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
                for &(x, y) in &in_range(&series[m].2) {
                    if !y.is_finite() || x < lo || x > hi {
                        continue;
                    }
                    let c = (((x - lo) / span) * columns as f64)
                        .floor()
                        .clamp(0.0, columns as f64 - 1.0) as usize;
                    let e = per_run.entry(c).or_insert((0.0, 0));
                    e.0 += y;
                    e.1 += 1;
                    let cell =
                        cells
                            .entry(c)
                            .or_insert((Vec::new(), f64::INFINITY, f64::NEG_INFINITY));
                    cell.1 = cell.1.min(y);
                    cell.2 = cell.2.max(y);
                }
                for (c, (sum, n)) in per_run {
                    if let Some(cell) = cells.get_mut(&c) {
                        cell.0.push(sum / n as f64);
                    }
                }
            }
            let label = match members.len() {
                1 => format!("{value} (1 run)"),
                n => format!("{value} ({n} runs)"),
            };
            let mut points = Vec::new();
            let mut band = Vec::new();
            for (c, (means, low, high)) in &cells {
                let x = lo + (*c as f64 + 0.5) / columns as f64 * span;
                let mean = means.iter().sum::<f64>() / means.len() as f64;
                points.push((x, mean));
                let ends = options.band.ends(means, mean, *low, *high);
                if let Some((a, b)) = ends {
                    band.push((x, a, b));
                }
                rows.push((
                    label.clone(),
                    x,
                    mean,
                    *low,
                    *high,
                    ends,
                    means.len() as u64,
                ));
            }
            let raw = options.smooth.map(|_| points.clone());
            if let Some(w) = options.smooth {
                let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
                points = points
                    .iter()
                    .zip(ema(&ys, w))
                    .map(|(p, s)| (p.0, s))
                    .collect();
            }
            lines.push(Line {
                label,
                points,
                raw,
                band,
            });
        }
        let data = df!(
            "group" => rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
            "x" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "mean" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "min" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            "max" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            "band_low" => rows.iter().map(|r| r.5.map(|e| e.0)).collect::<Vec<_>>(),
            "band_high" => rows.iter().map(|r| r.5.map(|e| e.1)).collect::<Vec<_>>(),
            "runs" => rows.iter().map(|r| r.6).collect::<Vec<_>>(),
        )
        .map_err(|e| Error::Compute {
            context: "cannot build the chart data",
            detail: e.to_string(),
        })?;
        return finish(options, lines, data, (lo, hi), points_in, missing);
    }

    // The CSV: every point of every run.
    let mut csv_series: Vec<String> = Vec::new();
    let mut csv_step: Vec<i64> = Vec::new();
    let mut csv_time: Vec<i64> = Vec::new();
    let mut csv_x: Vec<f64> = Vec::new();
    let mut csv_value: Vec<f64> = Vec::new();
    let mut csv_smoothed: Vec<Option<f64>> = Vec::new();
    for (id, points, xy) in &series {
        let label = label_of(*id);
        let smoothed = options
            .smooth
            .map(|w| ema(&xy.iter().map(|p| p.1).collect::<Vec<_>>(), w));
        for (i, p) in points.iter().enumerate() {
            csv_series.push(label.clone());
            csv_step.push(p.step);
            csv_time.push(p.timestamp);
            csv_x.push(xy[i].0);
            csv_value.push(p.value);
            csv_smoothed.push(smoothed.as_ref().map(|s| s[i]));
        }
        let (drawn, raw) = match &smoothed {
            Some(s) => {
                let sm: Vec<(f64, f64)> = xy.iter().zip(s).map(|(p, v)| (p.0, *v)).collect();
                (
                    m4(&in_range(&sm), (lo, hi), columns),
                    Some(m4(&in_range(xy), (lo, hi), columns)),
                )
            }
            None => (m4(&in_range(xy), (lo, hi), columns), None),
        };
        lines.push(Line {
            label,
            points: drawn,
            raw,
            band: Vec::new(),
        });
    }
    let mut columns_csv = vec![
        Column_::new("run".into(), &csv_series),
        Column_::new("step".into(), &csv_step),
        Column_::new("timestamp".into(), &csv_time),
        Column_::new("x".into(), &csv_x),
        Column_::new("value".into(), &csv_value),
    ];
    if options.smooth.is_some() {
        columns_csv.push(Column_::new("smoothed".into(), &csv_smoothed));
    }
    let data = DataFrame::new_infer_height(columns_csv).map_err(|e| Error::Compute {
        context: "cannot build the chart data",
        detail: e.to_string(),
    })?;
    finish(options, lines, data, (lo, hi), points_in, missing)
}

use polars::prelude::Column as Column_;

fn finish(
    options: &LineOptions,
    lines: Vec<Line>,
    data: DataFrame,
    x_range: (f64, f64),
    points_in: u64,
    missing: Vec<String>,
) -> Result<RunChart> {
    let mut y_lo = f64::INFINITY;
    let mut y_hi = f64::NEG_INFINITY;
    let mut seen = |x: f64, y: f64| {
        if y.is_finite() && x >= x_range.0 && x <= x_range.1 {
            y_lo = y_lo.min(y);
            y_hi = y_hi.max(y);
        }
    };
    for l in &lines {
        for &(x, y) in l.points.iter().chain(l.raw.iter().flatten()) {
            seen(x, y);
        }
        for &(x, a, b) in &l.band {
            seen(x, a);
            seen(x, b);
        }
    }
    if !y_lo.is_finite() {
        (y_lo, y_hi) = (0.0, 1.0);
    }
    let pad = if y_hi > y_lo {
        (y_hi - y_lo) * 0.05
    } else {
        0.5
    };
    let points_drawn = lines
        .iter()
        .map(|l| (l.points.len() + l.raw.as_ref().map_or(0, Vec::len)) as u64)
        .sum();
    let mut title = options.metric.clone();
    if let Some(g) = &options.group_by {
        // Runs' points are averaged per pixel column: a common grid when their steps differ.
        title.push_str(&format!(
            " by {g}, mean with {} band (runs averaged per column)",
            options.band.describe()
        ));
    }
    if let Some(w) = options.smooth {
        title.push_str(&format!(" (EMA {w})"));
    }
    if !missing.is_empty() {
        title.push_str(&format!(
            " — not logged by {}",
            short(&missing.join(", "), 40)
        ));
    }
    Ok(RunChart {
        title,
        x_label: match options.x {
            XAxis::Step => "step".to_owned(),
            XAxis::Time => "time (UTC)".to_owned(),
            XAxis::Relative => "seconds since the run's first point".to_owned(),
        },
        x: options.x,
        x_range,
        y_range: (y_lo - pad, y_hi + pad),
        lines,
        size: options.size,
        data,
        points_in,
        points_drawn,
    })
}

fn time_label(ms: f64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) else {
        return axis_number(ms);
    };
    let fmt = time::macros::format_description!("[month]-[day] [hour]:[minute]:[second]");
    t.format(&fmt).unwrap_or_default()
}

/// Left and right margins of the plot area in pixels: `margin` + the y label area, and `margin`.
const PLOT_LEFT: u32 = 14 + 62;
const PLOT_RIGHT_MARGIN: u32 = 14;

impl RunChart {
    /// The x range drawn (data units), for a front end that maps a drag to a zoom.
    pub fn x_range(&self) -> (f64, f64) {
        self.x_range
    }

    /// The plot area's left and right edges in pixels: x = `x_range.0` at the left edge.
    pub fn plot_pixels(&self) -> (u32, u32) {
        (PLOT_LEFT, self.size.0.saturating_sub(PLOT_RIGHT_MARGIN))
    }
}

impl Figure for RunChart {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn csv(&self) -> Result<String> {
        frame_csv(self.data.clone())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 17).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let mut chart = ChartBuilder::on(root)
            .caption(short(&self.title, 90), caption)
            .margin(PLOT_RIGHT_MARGIN)
            .x_label_area_size(40)
            .y_label_area_size(PLOT_LEFT - PLOT_RIGHT_MARGIN)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_error)?;
        debug_assert_eq!(
            chart.plotting_area().get_pixel_range().0,
            PLOT_LEFT as i32..(self.size.0 - PLOT_RIGHT_MARGIN) as i32,
            "plot_pixels() must say where the plot is"
        );
        let x_axis = self.x;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&|v| match x_axis {
                XAxis::Time => time_label(*v),
                _ => tick_number(*v, x0, x1),
            })
            .y_label_formatter(&|v| tick_number(*v, y0, y1))
            .light_line_style(RGBColor(0xee, 0xf1, 0xf5))
            .bold_line_style(RGBColor(0xdb, 0xe2, 0xea))
            .label_style(label.clone())
            .axis_desc_style(label.clone())
            .draw()
            .map_err(draw_error)?;
        let clip = |p: &(f64, f64)| (p.0, p.1);
        for (i, line) in self.lines.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            if !line.band.is_empty() {
                let mut polygon: Vec<(f64, f64)> = line.band.iter().map(|b| (b.0, b.2)).collect();
                polygon.extend(line.band.iter().rev().map(|b| (b.0, b.1)));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        polygon,
                        colour.mix(0.18).filled(),
                    )))
                    .map_err(draw_error)?;
            }
            if let Some(raw) = &line.raw {
                for segment in raw.split(|p| p.1.is_nan()) {
                    chart
                        .draw_series(LineSeries::new(
                            segment.iter().map(clip),
                            colour.mix(0.25).stroke_width(1),
                        ))
                        .map_err(draw_error)?;
                }
            }
            let mut first = true;
            for segment in line.points.split(|p| p.1.is_nan()) {
                if segment.is_empty() {
                    continue;
                }
                if segment.len() == 1 {
                    // A lone point between gaps is still a value: a dot.
                    chart
                        .draw_series(std::iter::once(Circle::new(segment[0], 3, colour.filled())))
                        .map_err(draw_error)?;
                }
                let series = chart
                    .draw_series(LineSeries::new(
                        segment.iter().map(clip),
                        colour.stroke_width(2),
                    ))
                    .map_err(draw_error)?;
                if first && self.lines.len() <= 12 {
                    series.label(short(&line.label, 32)).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                    });
                    first = false;
                }
            }
        }
        if self.lines.len() <= 12 {
            series_legend(&mut chart, label)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m4_keeps_every_extreme_of_every_pixel_column() {
        // 100,000 points of noise with one spike: 100 columns keep at most 400 points, the
        // spike among them, and each column's min and max.
        let points: Vec<(f64, f64)> = (0..100_000)
            .map(|i| {
                (
                    i as f64,
                    ((i * 7919) % 1000) as f64 / 1000.0 + if i == 54_321 { 50.0 } else { 0.0 },
                )
            })
            .collect();
        let kept = m4(&points, (0.0, 99_999.0), 100);
        assert!(kept.len() <= 400, "{}", kept.len());
        assert!(
            kept.contains(&(54_321.0, points[54_321].1)),
            "the spike survives"
        );
        for c in 0..100 {
            let in_column: Vec<f64> = points
                .iter()
                .filter(|p| ((p.0 / 99_999.0) * 100.0).floor().min(99.0) as usize == c)
                .map(|p| p.1)
                .collect();
            let kept_column: Vec<f64> = kept
                .iter()
                .filter(|p| ((p.0 / 99_999.0) * 100.0).floor().min(99.0) as usize == c)
                .map(|p| p.1)
                .collect();
            let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
            assert_eq!(max(&in_column), max(&kept_column), "column {c}");
            assert_eq!(min(&in_column), min(&kept_column), "column {c}");
        }
        // Few points: all kept. Non-finite values: one gap.
        let few = [
            (0.0, 1.0),
            (1.0, f64::NAN),
            (2.0, f64::INFINITY),
            (3.0, 2.0),
        ];
        let kept = m4(&few, (0.0, 3.0), 100);
        assert_eq!(kept.len(), 3);
        assert!(kept[1].1.is_nan());
    }

    #[test]
    fn ema_is_tensorboards_debiased_average() {
        let s = ema(&[1.0, 2.0, f64::NAN, 3.0], 0.5);
        assert_eq!(s[0], 1.0);
        // (0.5*0.5 + 0.5*2) / (1 - 0.25) = 1.25 / 0.75
        assert!((s[1] - 1.25 / 0.75).abs() < 1e-12);
        assert!(s[2].is_nan());
        assert!((s[3] - (1.25 * 0.5 + 1.5) / 0.875).abs() < 1e-12);
    }
}

/// A run's position on a param axis: numbers where every value is one, else categories in
/// sorted order.
struct Axis {
    name: String,
    /// Per run, the position (NaN when the run lacks the value).
    values: Vec<f64>,
    /// Category names by position, for a categorical axis.
    categories: Option<Vec<String>>,
}

fn axis_of(name: &str, values: &[Option<String>]) -> Axis {
    let numbers: Option<Vec<f64>> = values
        .iter()
        .map(|v| match v {
            None => Some(f64::NAN),
            Some(s) => s.parse::<f64>().ok(),
        })
        .collect();
    match numbers {
        Some(values) => Axis {
            name: name.to_owned(),
            values,
            categories: None,
        },
        None => {
            let mut categories: Vec<String> = values.iter().flatten().cloned().collect();
            categories.sort();
            categories.dedup();
            let values = values
                .iter()
                .map(|v| {
                    v.as_ref()
                        .and_then(|s| categories.iter().position(|c| c == s))
                        .map_or(f64::NAN, |p| p as f64)
                })
                .collect();
            Axis {
                name: name.to_owned(),
                values,
                categories: Some(categories),
            }
        }
    }
}

fn finite_range(values: &[f64]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Compared runs drawn as a whole: a param against a metric, or parallel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct RunsPlot {
    pub title: String,
    kind: PlotKind,
    runs: Vec<String>,
    /// The axes: for a scatter x (a param) then y (the metric); for parallel coordinates the
    /// params then the metric, each a value per run.
    axes: Vec<(String, Vec<f64>, Option<Vec<String>>)>,
    size: (u32, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlotKind {
    Scatter,
    Parallel,
}

/// The metric value (last, or `.min` / `.max`) of each run, NaN where missing.
fn metric_axis(records: &[RunRecord], metric: &str) -> Result<(String, Vec<f64>)> {
    let Column::Metric(key, agg) = query::parse_column(&format!("metrics.{metric}"))? else {
        unreachable!("a metrics. key parses as a metric")
    };
    let values: Vec<f64> = records
        .iter()
        .map(
            |r| match query::cell(r, &Column::Metric(key.clone(), agg)) {
                query::Cell::Number(x) => x,
                _ => f64::NAN,
            },
        )
        .collect();
    if values.iter().all(|v| v.is_nan()) {
        return Err(Error::NotFound {
            what: format!("none of the runs logged the metric {key:?}"),
        });
    }
    Ok((metric.to_owned(), values))
}

fn label(r: &RunRecord) -> String {
    r.name
        .clone()
        .unwrap_or_else(|| r.source_run_id.chars().take(8).collect())
}

/// A param of the runs (x) against a metric (y; `loss`, `loss.min`, `loss.max`).
pub fn scatter_chart(
    project: &Project,
    runs: &[i64],
    param: &str,
    metric: &str,
) -> Result<RunsPlot> {
    let records = load_in_order(project, runs)?;
    let values: Vec<Option<String>> = records
        .iter()
        .map(|r| r.params.get(param).cloned())
        .collect();
    if values.iter().all(Option::is_none) {
        return Err(Error::NotFound {
            what: format!("none of the runs has the param {param:?}"),
        });
    }
    let x = axis_of(param, &values);
    let (y_name, y) = metric_axis(&records, metric)?;
    Ok(RunsPlot {
        title: format!("{metric} against {param}"),
        kind: PlotKind::Scatter,
        runs: records.iter().map(label).collect(),
        axes: vec![(x.name, x.values, x.categories), (y_name, y, None)],
        size: (900, 420),
    })
}

/// Parallel coordinates: one axis per param (default: the params that differ between the runs)
/// and a last one for the metric; each run a line, coloured by the metric.
pub fn parallel_chart(
    project: &Project,
    runs: &[i64],
    params: &[String],
    metric: &str,
) -> Result<RunsPlot> {
    let records = load_in_order(project, runs)?;
    let params: Vec<String> = if params.is_empty() {
        param_diff(&records).differing.into_keys().collect()
    } else {
        params.to_vec()
    };
    if params.is_empty() {
        return Err(Error::BadArgument {
            argument: "params",
            detail: "the runs share every param: name the params to draw with --params".to_owned(),
        });
    }
    let mut axes = Vec::new();
    for p in &params {
        let values: Vec<Option<String>> =
            records.iter().map(|r| r.params.get(p).cloned()).collect();
        let a = axis_of(p, &values);
        axes.push((a.name, a.values, a.categories));
    }
    let (m, values) = metric_axis(&records, metric)?;
    axes.push((m, values, None));
    Ok(RunsPlot {
        title: format!("{metric} by {}", params.join(", ")),
        kind: PlotKind::Parallel,
        runs: records.iter().map(label).collect(),
        axes,
        size: (900, 420),
    })
}

/// A colour from blue (low) to red (high) for t in [0, 1].
fn ramp(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    RGBColor(mix(0x25, 0xc0), mix(0x63, 0x39), mix(0xa8, 0x2b))
}

impl RunsPlot {
    /// The axis value of a run as text, as drawn.
    fn value_text(axis: &(String, Vec<f64>, Option<Vec<String>>), run: usize) -> String {
        let v = axis.1[run];
        match (&axis.2, v.is_nan()) {
            (_, true) => String::new(),
            (Some(c), false) => c[v as usize].clone(),
            (None, false) => v.to_string(),
        }
    }
}

impl Figure for RunsPlot {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn csv(&self) -> Result<String> {
        let mut columns = vec![Column_::new("run".into(), &self.runs)];
        for axis in &self.axes {
            let values: Vec<String> = (0..self.runs.len())
                .map(|i| Self::value_text(axis, i))
                .collect();
            columns.push(Column_::new(axis.0.as_str().into(), values));
        }
        let frame = DataFrame::new_infer_height(columns).map_err(|e| Error::Compute {
            context: "cannot build the chart data",
            detail: e.to_string(),
        })?;
        frame_csv(frame)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 17).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        let small = (FAMILY, 11).into_font().color(&TEXT);
        let metric = &self.axes[self.axes.len() - 1].1;
        let (m_lo, m_hi) = finite_range(metric);
        let colour_of = |i: usize| ramp((metric[i] - m_lo) / (m_hi - m_lo));
        match self.kind {
            PlotKind::Scatter => {
                let (xa, ya) = (&self.axes[0], &self.axes[1]);
                let (x0, x1) = finite_range(&xa.1);
                let (y0, y1) = finite_range(&ya.1);
                let (px, py) = ((x1 - x0) * 0.08, (y1 - y0) * 0.08);
                let categories = xa.2.clone();
                let mut chart = ChartBuilder::on(root)
                    .caption(short(&self.title, 90), caption)
                    .margin(PLOT_RIGHT_MARGIN)
                    .x_label_area_size(40)
                    .y_label_area_size(PLOT_LEFT - PLOT_RIGHT_MARGIN)
                    .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
                    .map_err(draw_error)?;
                chart
                    .configure_mesh()
                    .x_desc(xa.0.as_str())
                    .y_desc(ya.0.as_str())
                    .x_labels(categories.as_ref().map_or(8, |c| c.len().max(2)))
                    .x_label_formatter(&|v| match &categories {
                        Some(c) if (v - v.round()).abs() < 1e-9 && *v >= 0.0 => {
                            c.get(v.round() as usize).cloned().unwrap_or_default()
                        }
                        Some(_) => String::new(),
                        None => tick_number(*v, x0 - px, x1 + px),
                    })
                    .y_label_formatter(&|v| tick_number(*v, y0 - py, y1 + py))
                    .light_line_style(RGBColor(0xee, 0xf1, 0xf5))
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                let show_names = self.runs.len() <= 30;
                for i in 0..self.runs.len() {
                    let (x, y) = (xa.1[i], ya.1[i]);
                    if !x.is_finite() || !y.is_finite() {
                        continue;
                    }
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (x, y),
                            5,
                            colour_of(i).filled(),
                        )))
                        .map_err(draw_error)?;
                    if show_names {
                        let name = short(&self.runs[i], 18);
                        chart
                            .draw_series(std::iter::once(
                                EmptyElement::at((x, y)) + Text::new(name, (8, -14), small.clone()),
                            ))
                            .map_err(draw_error)?;
                    }
                }
            }
            PlotKind::Parallel => {
                let (w, h) = self.size;
                let area = root
                    .titled(&short(&self.title, 90), caption)
                    .map_err(draw_error)?;
                let n = self.axes.len();
                let (left, right, top, bottom) = (70i32, w as i32 - 70, 30i32, h as i32 - 80);
                let x_of = |k: usize| {
                    left + ((right - left) as f64 * k as f64 / (n.max(2) - 1) as f64) as i32
                };
                let ranges: Vec<(f64, f64)> =
                    self.axes.iter().map(|a| finite_range(&a.1)).collect();
                let y_of = |k: usize, v: f64| {
                    let (lo, hi) = ranges[k];
                    bottom - ((bottom - top) as f64 * (v - lo) / (hi - lo)) as i32
                };
                for i in 0..self.runs.len() {
                    let points: Vec<(i32, i32)> = (0..n)
                        .filter(|&k| self.axes[k].1[i].is_finite())
                        .map(|k| (x_of(k), y_of(k, self.axes[k].1[i])))
                        .collect();
                    area.draw(&PathElement::new(
                        points,
                        colour_of(i).mix(0.8).stroke_width(2),
                    ))
                    .map_err(draw_error)?;
                }
                for (k, axis) in self.axes.iter().enumerate() {
                    let x = x_of(k);
                    area.draw(&PathElement::new(
                        vec![(x, top), (x, bottom)],
                        TEXT.stroke_width(1),
                    ))
                    .map_err(draw_error)?;
                    let (lo, hi) = ranges[k];
                    let (lo_text, hi_text) = match &axis.2 {
                        Some(c) => (
                            c.first().cloned().unwrap_or_default(),
                            c.last().cloned().unwrap_or_default(),
                        ),
                        None => (axis_number(lo), axis_number(hi)),
                    };
                    if let Some(c) = &axis.2 {
                        for (p, name) in c.iter().enumerate() {
                            area.draw(&Text::new(
                                short(name, 12),
                                (x + 4, y_of(k, p as f64) - 6),
                                small.clone(),
                            ))
                            .map_err(draw_error)?;
                        }
                    } else {
                        area.draw(&Text::new(hi_text, (x + 4, top - 2), small.clone()))
                            .map_err(draw_error)?;
                        area.draw(&Text::new(lo_text, (x + 4, bottom - 12), small.clone()))
                            .map_err(draw_error)?;
                    }
                    area.draw(&Text::new(
                        short(&axis.0, 18),
                        (x - 30, bottom + 14),
                        label.clone(),
                    ))
                    .map_err(draw_error)?;
                }
            }
        }
        Ok(())
    }
}
