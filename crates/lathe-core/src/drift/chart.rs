//! Drift charts, drawn by the one chart engine ([`crate::chart::Figure`]): a column's reference
//! and current distributions over the same bins, every column's score against its threshold,
//! and drift over time.

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use super::{ColumnDrift, DriftReport, Kind, Method, Windows};
use crate::chart::{
    ACCENT, FAMILY, Figure, TEXT, axis_number, data_error, draw_error, frame_csv, series_legend,
    short,
};

/// The current side of a distribution: orange against the grey reference, told apart even
/// where the bars overlap.
const CURRENT: RGBColor = RGBColor(0xe0, 0x7b, 0x24);
use crate::{Error, Result};

const REFERENCE: RGBColor = RGBColor(0x8a, 0x97, 0xa8);
const DRIFT: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const GRID: RGBColor = RGBColor(0xee, 0xf1, 0xf5);

/// A column's reference and current shares over the same bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub title: String,
    pub kind: Kind,
    pub edges: Option<Vec<f64>>,
    pub labels: Vec<String>,
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
}

/// The distribution chart of one column of a report.
pub fn distribution(report: &DriftReport, column: &str) -> Result<Distribution> {
    let c = find(report, column)?;
    let share = |counts: &[u64]| -> Vec<f64> {
        let total: u64 = counts.iter().sum();
        counts
            .iter()
            .map(|&k| k as f64 / total.max(1) as f64)
            .collect()
    };
    Ok(Distribution {
        title: format!(
            "{} — {} {} {}",
            c.name,
            c.method.score_label(),
            axis_number(c.score),
            if c.drifted { "(drift)" } else { "(no drift)" }
        ),
        kind: c.kind,
        edges: c.bins.edges.clone(),
        labels: c.bins.labels.clone(),
        reference: share(&c.bins.reference),
        current: share(&c.bins.current),
    })
}

fn find<'a>(report: &'a DriftReport, column: &str) -> Result<&'a ColumnDrift> {
    report
        .columns
        .iter()
        .find(|c| c.name == column)
        .ok_or_else(|| Error::BadArgument {
            argument: "column",
            detail: format!(
                "'{column}' was not tested; tested columns: {}",
                report
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// A bar's label, right-aligned just left of the plot at `at` (the bar's start).
fn row_label<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: String,
    at: (i32, i32),
    font: &TextStyle,
) -> Result<()> {
    let anchor = plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Right,
        plotters::style::text_anchor::VPos::Center,
    );
    root.draw(&Text::new(text, (at.0 - 8, at.1), font.clone().pos(anchor)))
        .map_err(draw_error)
}

fn legend_box<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, x: i32, y: i32) -> Result<()> {
    let font = (FAMILY, 12).into_font().color(&TEXT);
    for (i, (name, colour)) in [("reference", REFERENCE), ("current", CURRENT)]
        .into_iter()
        .enumerate()
    {
        let x = x + i as i32 * 90;
        area.draw(&Rectangle::new(
            [(x, y), (x + 12, y + 12)],
            colour.mix(0.75).filled(),
        ))
        .map_err(draw_error)?;
        area.draw(&Text::new(name, (x + 18, y), font.clone()))
            .map_err(draw_error)?;
    }
    Ok(())
}

impl Figure for Distribution {
    fn size(&self) -> (u32, u32) {
        match (&self.edges, self.kind) {
            (Some(_), _) => (720, 380),
            (None, _) => (720, 110 + 30 * self.labels.len().max(1) as u32),
        }
    }

    fn csv(&self) -> Result<String> {
        let frame = match &self.edges {
            Some(edges) => df!(
                "bin_start" => &edges[..edges.len() - 1],
                "bin_end" => &edges[1..],
                "reference_share" => &self.reference,
                "current_share" => &self.current,
            ),
            None => df!(
                "category" => &self.labels,
                "reference_share" => &self.reference,
                "current_share" => &self.current,
            ),
        }
        .map_err(data_error)?;
        frame_csv(frame)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 16).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        let top = self
            .reference
            .iter()
            .chain(&self.current)
            .copied()
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.12;
        legend_box(root, self.size().0 as i32 - 190, 8)?;
        match &self.edges {
            Some(edges) => {
                let (lo, hi) = (edges[0], edges[edges.len() - 1]);
                let mut chart = ChartBuilder::on(root)
                    .caption(short(&self.title, 80), caption)
                    .margin(14)
                    .margin_top(30)
                    .x_label_area_size(36)
                    .y_label_area_size(56)
                    .build_cartesian_2d(lo..hi, 0f64..top)
                    .map_err(draw_error)?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(8)
                    .y_desc("share of rows")
                    .x_label_formatter(&|v| axis_number(*v))
                    .y_label_formatter(&|v| format!("{}%", axis_number(v * 100.0)))
                    .light_line_style(TRANSPARENT)
                    .bold_line_style(GRID)
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                for (shares, colour, alpha) in [
                    (&self.reference, REFERENCE, 0.6),
                    (&self.current, CURRENT, 0.5),
                ] {
                    chart
                        .draw_series(shares.iter().enumerate().map(|(i, &s)| {
                            let (a, b) = (edges[i], edges[i + 1]);
                            let gap = (b - a) * 0.03;
                            Rectangle::new(
                                [(a + gap, 0.0), (b - gap, s)],
                                colour.mix(alpha).filled(),
                            )
                        }))
                        .map_err(draw_error)?;
                }
            }
            None => {
                let n = self.labels.len().max(1);
                let mut chart = ChartBuilder::on(root)
                    .caption(short(&self.title, 80), caption)
                    .margin(14)
                    .margin_top(30)
                    .x_label_area_size(36)
                    .y_label_area_size(170)
                    .build_cartesian_2d(0f64..top, 0f64..n as f64)
                    .map_err(draw_error)?;
                let names: Vec<String> = self.labels.iter().map(|l| short(l, 24)).collect();
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .y_labels(0)
                    .x_label_formatter(&|v| format!("{}%", axis_number(v * 100.0)))
                    .x_desc("share of rows")
                    .light_line_style(TRANSPARENT)
                    .bold_line_style(GRID)
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                // Row i from the top: reference above current.
                for (i, name) in names.iter().enumerate() {
                    let y = (n - 1 - i) as f64;
                    chart
                        .draw_series([
                            Rectangle::new(
                                [(0.0, y + 0.52), (self.reference[i], y + 0.9)],
                                REFERENCE.mix(0.8).filled(),
                            ),
                            Rectangle::new(
                                [(0.0, y + 0.1), (self.current[i], y + 0.48)],
                                CURRENT.mix(0.85).filled(),
                            ),
                        ])
                        .map_err(draw_error)?;
                    row_label(
                        root,
                        name.clone(),
                        chart.backend_coord(&(0.0, y + 0.5)),
                        &label,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Every tested column's score with its threshold, drifted columns first.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub title: String,
    /// (column, method, score, threshold, drifted)
    pub rows: Vec<(String, Method, f64, f64, bool)>,
}

pub fn scores(report: &DriftReport) -> Scores {
    let mut rows: Vec<(String, Method, f64, f64, bool)> = report
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.method, c.score, c.threshold, c.drifted))
        .collect();
    // How far past (or short of) its threshold each column is, on one scale for tests and
    // distances: drifted first, the strongest on top.
    let strength = |r: &(String, Method, f64, f64, bool)| {
        let (s, t) = (r.2.max(1e-300), r.3);
        if r.1.is_test() {
            (t / s).ln()
        } else {
            (s / t).ln()
        }
    };
    rows.sort_by(|a, b| strength(b).total_cmp(&strength(a)));
    Scores {
        title: format!(
            "Drift scores: {} of {} columns drifted",
            report.drifted_columns,
            report.columns.len()
        ),
        rows,
    }
}

impl Scores {
    /// Whether every column is scored by a test's p-value.
    fn all_tests(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(|r| r.1.is_test())
    }
}

impl Figure for Scores {
    fn size(&self) -> (u32, u32) {
        (720, 100 + 24 * self.rows.len().max(1) as u32)
    }

    fn csv(&self) -> Result<String> {
        let frame = df!(
            "column" => self.rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            "method" => self.rows.iter().map(|r| r.1.name()).collect::<Vec<_>>(),
            "score" => self.rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "threshold" => self.rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            "drifted" => self.rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        )
        .map_err(data_error)?;
        frame_csv(frame)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 16).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        let n = self.rows.len().max(1);
        // When every column is scored by a p-value, bars are −log10 p: a drifted column's bar
        // then reaches past its mark instead of being too short to see.
        let log_p = self.all_tests();
        let x = |v: f64| {
            if log_p { -(v.max(1e-300)).log10() } else { v }
        };
        let top = self
            .rows
            .iter()
            .flat_map(|r| [x(r.2), x(r.3)])
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.1;
        let x_desc = if log_p {
            "−log10 p-value (drift at or right of the mark)"
        } else {
            "score (p-value for tests: drift below the mark; distance: drift at or above it)"
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, caption)
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..top, 0f64..n as f64)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_label_formatter(&|v| axis_number(*v))
            .x_desc(x_desc)
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(label.clone())
            .axis_desc_style(label.clone())
            .draw()
            .map_err(draw_error)?;
        for (i, (name, method, score, threshold, drifted)) in self.rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let colour = if *drifted { DRIFT } else { ACCENT };
            let s = if score.is_finite() { x(*score) } else { 0.0 };
            let t = x(*threshold);
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y + 0.2), (s.min(top), y + 0.8)],
                    colour.mix(0.8).filled(),
                )])
                .map_err(draw_error)?;
            chart
                .draw_series([PathElement::new(
                    vec![(t, y + 0.05), (t, y + 0.95)],
                    TEXT.stroke_width(2),
                )])
                .map_err(draw_error)?;
            row_label(
                root,
                format!("{} ({})", short(name, 20), method.name()),
                chart.backend_coord(&(0.0, y + 0.5)),
                &label,
            )?;
        }
        Ok(())
    }
}

/// Drift over time: the share of drifted columns per window, and the scores of the columns
/// that drift most often.
#[derive(Debug, Clone, PartialEq)]
pub struct OverTime {
    pub title: String,
    pub starts: Vec<String>,
    pub share: Vec<f64>,
    pub drift_share: f64,
    /// (column, score per window)
    pub lines: Vec<(String, Vec<Option<f64>>)>,
    /// Every line is a p-value: drawn as −log10 p, so that drift reads upwards.
    pub log_p: bool,
}

/// At most this many columns get a line.
const MAX_LINES: usize = 8;

pub fn over_time(report: &DriftReport, columns: Option<&[String]>) -> Result<OverTime> {
    let windows: &Windows = report.windows.as_ref().ok_or_else(|| Error::BadArgument {
        argument: "chart",
        detail: "this comparison has no windows; run it with --time-column and --window".into(),
    })?;
    let mut names: Vec<&ColumnDrift> = report.columns.iter().collect();
    let drift_count = |c: &ColumnDrift| {
        windows
            .windows
            .iter()
            .filter(|w| w.drifted.contains(&c.name))
            .count()
    };
    names.sort_by_key(|c| std::cmp::Reverse(drift_count(c)));
    let chosen: Vec<&ColumnDrift> = match columns {
        Some(wanted) => wanted
            .iter()
            .map(|w| find(report, w))
            .collect::<Result<Vec<_>>>()?,
        None => names.into_iter().take(MAX_LINES).collect(),
    };
    let log_p = !chosen.is_empty() && chosen.iter().all(|c| c.method.is_test());
    Ok(OverTime {
        log_p,
        title: format!("Drift per {} window", windows.window),
        starts: windows.windows.iter().map(|w| w.start.clone()).collect(),
        share: windows.windows.iter().map(|w| w.share_drifted).collect(),
        drift_share: report.drift_share,
        lines: chosen
            .iter()
            .map(|c| {
                (
                    format!("{} ({})", c.name, c.method.name()),
                    windows
                        .windows
                        .iter()
                        .map(|w| w.scores.get(&c.name).copied().flatten())
                        .collect(),
                )
            })
            .collect(),
    })
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(0x25, 0x63, 0xa8),
    RGBColor(0xe0, 0x7b, 0x24),
    RGBColor(0x2e, 0x8b, 0x57),
    RGBColor(0x8e, 0x44, 0xad),
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0x16, 0xa0, 0x85),
    RGBColor(0x7f, 0x8c, 0x8d),
    RGBColor(0xd4, 0xac, 0x0d),
];

impl Figure for OverTime {
    fn size(&self) -> (u32, u32) {
        (760, 520)
    }

    fn csv(&self) -> Result<String> {
        let mut columns = vec![
            Column::new("window_start".into(), &self.starts),
            Column::new("share_drifted".into(), &self.share),
        ];
        for (name, values) in &self.lines {
            columns.push(Column::new(name.as_str().into(), values));
        }
        let frame = DataFrame::new_infer_height(columns).map_err(data_error)?;
        frame_csv(frame)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 16).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        let (upper, lower) = root.split_vertically(200);
        let n = self.starts.len().max(1);
        let starts = &self.starts;
        let x_label = |v: &f64| {
            let i = v.round() as usize;
            if (v - v.round()).abs() < 1e-9 && i < starts.len() {
                short(starts[i].trim_end_matches("T00:00:00Z"), 16)
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(&upper)
            .caption(&self.title, caption)
            .margin(14)
            .x_label_area_size(24)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..1.05)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(8))
            .x_label_formatter(&x_label)
            .y_desc("share drifted")
            .y_label_formatter(&|v| format!("{}%", axis_number(v * 100.0)))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(label.clone())
            .axis_desc_style(label.clone())
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(self.share.iter().enumerate().map(|(i, &s)| {
                let colour = if s >= self.drift_share { DRIFT } else { ACCENT };
                let x = i as f64;
                Rectangle::new([(x - 0.38, 0.0), (x + 0.38, s)], colour.mix(0.8).filled())
            }))
            .map_err(draw_error)?;
        chart
            .draw_series([PathElement::new(
                vec![(-0.5, self.drift_share), (n as f64 - 0.5, self.drift_share)],
                TEXT.stroke_width(1),
            )])
            .map_err(draw_error)?;
        let y = |v: f64| {
            if self.log_p {
                -(v.max(1e-300)).log10()
            } else {
                v
            }
        };
        let top = self
            .lines
            .iter()
            .flat_map(|l| l.1.iter().flatten().map(|&v| y(v)))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.1;
        let mut chart = ChartBuilder::on(&lower)
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_labels(n.min(8))
            .x_label_formatter(&x_label)
            .y_desc(if self.log_p {
                "−log10 p-value"
            } else {
                "score"
            })
            .y_label_formatter(&|v| axis_number(*v))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(label.clone())
            .axis_desc_style(label.clone())
            .draw()
            .map_err(draw_error)?;
        for (i, (name, values)) in self.lines.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(x, v)| v.filter(|v| v.is_finite()).map(|v| (x as f64, y(v))))
                .collect();
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(draw_error)?;
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(draw_error)?
                .label(short(name, 32))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        if !self.lines.is_empty() {
            series_legend(&mut chart, label)?;
        }
        Ok(())
    }
}
