//! Monitoring charts, drawn by the one chart engine ([`crate::chart::Figure`]): per metric,
//! the estimate of every chunk (reference chunks, then analysis chunks past a divider) with
//! its confidence band, the realised value where targets are known, the alert thresholds,
//! and the alerting chunks marked; the same for the multivariate reconstruction error.

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;
use serde::Serialize;

use super::{MonitorReport, Side};
use crate::Result;
use crate::chart::{
    ACCENT, FAMILY, Figure, GRID, NamedChart, TEXT, axis_number, data_error, draw_error, frame_csv,
    range, short,
};
use crate::display::number;

const REALIZED: RGBColor = RGBColor(0xe0, 0x7b, 0x24);
const ALERT: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const DIVIDER: RGBColor = RGBColor(0x8a, 0x97, 0xa8);
const ANALYSIS: RGBColor = RGBColor(0xf4, 0xf6, 0xf9);
/// The key's width, right of the plot.
const LEGEND_WIDTH: u32 = 150;

/// One quantity over the chunks: what is estimated (or measured, for the reconstruction
/// error), its band, the realised value and the thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct OverChunks {
    pub title: String,
    /// What a tab calls it: `ROC AUC`, `Prediction drift`, `Multivariate drift`.
    pub label: String,
    /// What the estimate is: `estimated` or `reconstruction error`.
    pub series: String,
    pub keys: Vec<String>,
    /// The index of the first analysis chunk.
    pub first_analysis: usize,
    pub estimated: Vec<Option<f64>>,
    pub lower_confidence: Vec<Option<f64>>,
    pub upper_confidence: Vec<Option<f64>>,
    /// Empty when nothing is realised (the reconstruction error).
    pub realized: Vec<Option<f64>>,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
    pub alert: Vec<bool>,
}

/// The report's charts: one per metric (key and file its name), `prediction_drift` and
/// `target_drift` when the report tested the score and the target per chunk, then
/// `reconstruction_error` when it has a multivariate drift.
pub fn charts(report: &MonitorReport) -> Vec<NamedChart<OverChunks>> {
    let keys: Vec<String> = report.chunks.iter().map(|c| c.key.clone()).collect();
    let first_analysis = report
        .chunks
        .iter()
        .position(|c| c.period == Side::Analysis)
        .unwrap_or(report.chunks.len());
    let mut out = Vec::new();
    for name in &report.metrics {
        let name = name.as_str();
        let label = report.metric_label(name);
        let values: Vec<_> = report
            .chunks
            .iter()
            .map(|c| c.metrics.get(name).copied())
            .collect();
        let pick = |f: fn(&super::MetricShown) -> Option<f64>| -> Vec<Option<f64>> {
            values.iter().map(|m| m.as_ref().and_then(f)).collect()
        };
        let first = values.iter().flatten().next();
        out.push(NamedChart::new(
            name,
            format!("monitor_{name}"),
            OverChunks {
                title: format!("{label} ({})", report.estimator_shown()),
                label: label.clone(),
                series: "estimated".to_owned(),
                keys: keys.clone(),
                first_analysis,
                estimated: pick(|m| m.estimated),
                lower_confidence: pick(|m| m.lower_confidence),
                upper_confidence: pick(|m| m.upper_confidence),
                realized: pick(|m| m.realized),
                lower_threshold: first.and_then(|m| m.lower_threshold),
                upper_threshold: first.and_then(|m| m.upper_threshold),
                alert: values
                    .iter()
                    .zip(&report.chunks)
                    .map(|(m, c)| c.period == Side::Analysis && m.is_some_and(|m| m.alert))
                    .collect(),
            },
        ));
    }
    for c in &report.column_drift {
        let (key, what) = match c.role {
            super::Role::Prediction => ("prediction_drift", "Prediction drift"),
            super::Role::Target => ("target_drift", "Target drift"),
            super::Role::Feature => continue,
        };
        let cells: Vec<Option<&super::ColumnChunk>> = report
            .chunks
            .iter()
            .map(|chunk| chunk.column_drift.get(&c.column))
            .collect();
        let (lower, upper) = if c.method.is_test() {
            (Some(c.threshold), None)
        } else {
            (None, Some(c.threshold))
        };
        out.push(NamedChart::new(
            key,
            format!("monitor_{key}"),
            OverChunks {
                title: format!("{what} ('{}', {})", c.column, c.method.score_label()),
                label: what.to_owned(),
                series: if c.method.is_test() {
                    "p-value"
                } else {
                    "distance"
                }
                .to_owned(),
                keys: keys.clone(),
                first_analysis,
                estimated: cells.iter().map(|m| m.and_then(|m| m.score)).collect(),
                lower_confidence: vec![None; cells.len()],
                upper_confidence: vec![None; cells.len()],
                realized: Vec::new(),
                lower_threshold: lower,
                upper_threshold: upper,
                alert: cells
                    .iter()
                    .zip(&report.chunks)
                    .map(|(m, chunk)| chunk.period == Side::Analysis && m.is_some_and(|m| m.drift))
                    .collect(),
            },
        ));
    }
    if report.components.is_some() {
        let errors: Vec<_> = report.chunks.iter().map(|c| c.multivariate).collect();
        let pick = |f: fn(&super::ChunkError) -> Option<f64>| -> Vec<Option<f64>> {
            errors.iter().map(|m| m.as_ref().and_then(f)).collect()
        };
        let first = errors.iter().flatten().next();
        out.push(NamedChart::new(
            "reconstruction_error",
            "monitor_reconstruction_error",
            OverChunks {
                title: "Multivariate drift (data reconstruction error)".to_owned(),
                label: "Multivariate drift".to_owned(),
                series: "reconstruction error".to_owned(),
                keys,
                first_analysis,
                estimated: pick(|m| m.reconstruction_error),
                lower_confidence: pick(|m| m.lower_confidence),
                upper_confidence: pick(|m| m.upper_confidence),
                realized: Vec::new(),
                lower_threshold: first.and_then(|m| m.lower_threshold),
                upper_threshold: first.and_then(|m| m.upper_threshold),
                alert: errors
                    .iter()
                    .zip(&report.chunks)
                    .map(|(m, c)| c.period == Side::Analysis && m.is_some_and(|m| m.alert))
                    .collect(),
            },
        ));
    }
    out
}

/// One analysis chunk of a chart as a table shows it: the value, its band, the realised value
/// and the thresholds as text ([`number`]), `–` where none applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorRow"))]
pub struct Row {
    pub chunk: String,
    pub rows: usize,
    /// `2018-01-01 … 2018-01-07` when chunked by time, else empty.
    pub dates: String,
    pub value: String,
    pub band: String,
    pub realized: String,
    pub thresholds: String,
    pub alert: bool,
    /// The features that drifted in this chunk, the furthest past its threshold first.
    pub drifted_features: Vec<String>,
}

fn shown(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), number)
}

impl OverChunks {
    /// The analysis chunks of `report` (the report this chart was drawn from) as rows.
    pub fn analysis_rows(&self, report: &MonitorReport) -> Vec<Row> {
        report
            .chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.period == Side::Analysis)
            .map(|(i, c)| Row {
                chunk: c.key.clone(),
                rows: c.rows,
                dates: match (&c.start_date, &c.end_date) {
                    (Some(a), Some(b)) => {
                        format!("{} … {}", &a[..a.len().min(10)], &b[..b.len().min(10)])
                    }
                    _ => String::new(),
                },
                value: shown(self.estimated[i]),
                band: match (self.lower_confidence[i], self.upper_confidence[i]) {
                    (None, None) => "–".to_owned(),
                    (a, b) => format!("{} – {}", shown(a), shown(b)),
                },
                realized: shown(self.realized.get(i).copied().flatten()),
                thresholds: match (self.lower_threshold, self.upper_threshold) {
                    (Some(lo), None) => format!("≥ {}", number(lo)),
                    (None, Some(hi)) => format!("≤ {}", number(hi)),
                    (lo, hi) => format!("{} – {}", shown(lo), shown(hi)),
                },
                alert: self.alert[i],
                drifted_features: drifted_features(report, c),
            })
            .collect()
    }
}

/// How far past its threshold a drifted column is (above 1; larger is further), for ordering.
fn past(c: &super::ColumnDriftShown, score: f64) -> f64 {
    if c.method.is_test() {
        c.threshold / score.max(f64::MIN_POSITIVE)
    } else {
        score / c.threshold
    }
}

/// The features that drifted in `chunk`, the furthest past its threshold first.
fn drifted_features(report: &MonitorReport, chunk: &super::ChunkShown) -> Vec<String> {
    column_rows(report, chunk)
        .into_iter()
        .filter(|r| r.drifted && r.role == super::Role::Feature)
        .map(|r| r.column)
        .collect()
}

/// One column's drift in one chunk, as the chunk's details show it: the method and what its
/// score is, the score and the threshold as text (`–` where the chunk has no values).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "MonitorColumnRow"))]
pub struct ColumnRow {
    pub column: String,
    pub role: super::Role,
    pub method: String,
    pub score: String,
    pub threshold: String,
    pub drifted: bool,
}

/// Every column tested for drift in `chunk`: the drifted ones first, the furthest past its
/// threshold first, then the others in the report's order (features, prediction, target).
pub fn column_rows(report: &MonitorReport, chunk: &super::ChunkShown) -> Vec<ColumnRow> {
    let mut rows: Vec<(Option<f64>, ColumnRow)> = report
        .column_drift
        .iter()
        .map(|c| {
            let cell = chunk.column_drift.get(&c.column);
            let score = cell.and_then(|cell| cell.score);
            let drifted = cell.is_some_and(|cell| cell.drift) && score.is_some();
            let row = ColumnRow {
                column: c.column.clone(),
                role: c.role,
                method: c.method.score_label().to_owned(),
                score: shown(score),
                threshold: format!("{} {}", c.method.drift_sign(), number(c.threshold)),
                drifted,
            };
            (score.filter(|_| drifted).map(|s| past(c, s)), row)
        })
        .collect();
    // Stable: the undrifted keep the report's order.
    rows.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.1.column.cmp(&b.1.column)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    rows.into_iter().map(|(_, r)| r).collect()
}

/// `(x, value)` for the chunks that have one.
fn points(values: &[Option<f64>]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i as f64, v)))
        .collect()
}

impl Figure for OverChunks {
    fn size(&self) -> (u32, u32) {
        (880, 330)
    }

    fn csv(&self) -> Result<String> {
        let n = self.keys.len();
        let period: Vec<&str> = (0..n)
            .map(|i| {
                if i < self.first_analysis {
                    "reference"
                } else {
                    "analysis"
                }
            })
            .collect();
        let realized = if self.realized.is_empty() {
            vec![None; n]
        } else {
            self.realized.clone()
        };
        let columns = vec![
            Column::new("chunk".into(), &self.keys),
            Column::new("period".into(), &period),
            Column::new(self.series.replace(' ', "_").into(), &self.estimated),
            Column::new("lower_confidence".into(), &self.lower_confidence),
            Column::new("upper_confidence".into(), &self.upper_confidence),
            Column::new("realized".into(), &realized),
            Column::new("lower_threshold".into(), vec![self.lower_threshold; n]),
            Column::new("upper_threshold".into(), vec![self.upper_threshold; n]),
            Column::new("alert".into(), &self.alert),
        ];
        frame_csv(DataFrame::new_infer_height(columns).map_err(data_error)?)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 16).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        let n = self.keys.len().max(1);
        let all = self
            .estimated
            .iter()
            .chain(&self.lower_confidence)
            .chain(&self.upper_confidence)
            .chain(&self.realized)
            .flatten()
            .copied()
            .chain(self.lower_threshold)
            .chain(self.upper_threshold);
        let (lo, hi) = range(all, false);
        let keys = &self.keys;
        // A period's key is `start/end`: its start names it on the axis.
        let x_label = |v: &f64| {
            let i = v.round() as usize;
            if (v - v.round()).abs() < 1e-9 && i < keys.len() {
                short(keys[i].split('/').next().unwrap_or_default(), 14)
            } else {
                String::new()
            }
        };
        // As many labels as fit side by side (about 7 px a character at 12 px, plus a gap):
        // size keys such as `[990000:999999]` are long.
        let longest = keys
            .iter()
            .map(|k| {
                short(k.split('/').next().unwrap_or_default(), 14)
                    .chars()
                    .count()
            })
            .max()
            .unwrap_or(1);
        let axis_width = (self.size().0 - LEGEND_WIDTH) as usize - 100;
        let fitting = (axis_width / (longest * 7 + 16)).max(2);
        let x_range = -0.5f64..n as f64 - 0.5;
        let (plot, legend) = root.split_horizontally(self.size().0 - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, caption)
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.clone(), lo..hi)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(10).min(fitting))
            .x_label_formatter(&x_label)
            .y_label_formatter(&|v| axis_number(*v))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(label.clone())
            .axis_desc_style(label.clone())
            .draw()
            .map_err(draw_error)?;
        // The analysis period on a tinted background, behind everything.
        if self.first_analysis < self.keys.len() {
            let x = self.first_analysis as f64 - 0.5;
            chart
                .draw_series([Rectangle::new(
                    [(x, lo), (n as f64 - 0.5, hi)],
                    ANALYSIS.filled(),
                )])
                .map_err(draw_error)?;
            chart
                .draw_series([PathElement::new(
                    vec![(x, lo), (x, hi)],
                    DIVIDER.stroke_width(1),
                )])
                .map_err(draw_error)?;
        }
        // The confidence band: a polygon along the upper bounds and back along the lower.
        let band: Vec<(f64, f64)> = {
            let upper = points(&self.upper_confidence);
            let lower = points(&self.lower_confidence);
            upper.into_iter().chain(lower.into_iter().rev()).collect()
        };
        if band.len() > 2 {
            chart
                .draw_series([Polygon::new(band, ACCENT.mix(0.14).filled())])
                .map_err(draw_error)?;
        }
        for t in [self.lower_threshold, self.upper_threshold]
            .into_iter()
            .flatten()
            .filter(|t| t.is_finite())
        {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x_range.start, t), (x_range.end, t)],
                    6,
                    4,
                    ALERT.stroke_width(1),
                ))
                .map_err(draw_error)?;
        }
        let estimated = points(&self.estimated);
        chart
            .draw_series(LineSeries::new(estimated.clone(), ACCENT.stroke_width(2)))
            .map_err(draw_error)?;
        chart
            .draw_series(
                estimated
                    .iter()
                    .map(|&p| Circle::new(p, 3, ACCENT.filled())),
            )
            .map_err(draw_error)?;
        let realized = points(&self.realized);
        if !realized.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(
                    realized.clone(),
                    5,
                    3,
                    REALIZED.stroke_width(2),
                ))
                .map_err(draw_error)?;
            chart
                .draw_series(
                    realized
                        .iter()
                        .map(|&p| Circle::new(p, 3, REALIZED.filled())),
                )
                .map_err(draw_error)?;
        }
        let alerts: Vec<(f64, f64)> = estimated
            .iter()
            .copied()
            .filter(|(x, _)| self.alert.get(*x as usize).copied().unwrap_or(false))
            .collect();
        if !alerts.is_empty() {
            chart
                .draw_series(
                    alerts
                        .iter()
                        .map(|&p| Circle::new(p, 6, ALERT.stroke_width(2))),
                )
                .map_err(draw_error)?;
        }
        self.legend(&legend, !realized.is_empty(), !alerts.is_empty())
    }
}

impl OverChunks {
    /// The key, right of the plot so that it never hides a chunk.
    fn legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        realized: bool,
        alerts: bool,
    ) -> Result<()> {
        let font = (FAMILY, 12).into_font().color(&TEXT);
        let mut y = 48;
        let mut entry = |text: &str, sample: &dyn Fn(i32) -> Result<()>| -> Result<()> {
            sample(y)?;
            area.draw(&Text::new(text.to_owned(), (34, y - 7), font.clone()))
                .map_err(draw_error)?;
            y += 22;
            Ok(())
        };
        let line = |colour: RGBColor, dashed: bool| {
            move |y: i32| -> Result<()> {
                if dashed {
                    for x in [6, 18] {
                        area.draw(&PathElement::new(
                            vec![(x, y), (x + 8, y)],
                            colour.stroke_width(2),
                        ))
                        .map_err(draw_error)?;
                    }
                    Ok(())
                } else {
                    area.draw(&PathElement::new(
                        vec![(6, y), (26, y)],
                        colour.stroke_width(2),
                    ))
                    .map_err(draw_error)
                }
            }
        };
        entry(&self.series, &line(ACCENT, false))?;
        if realized {
            entry("realised", &line(REALIZED, true))?;
        }
        let banded = self.upper_confidence.iter().any(Option::is_some);
        if banded {
            entry("confidence band", &|y| {
                area.draw(&Rectangle::new(
                    [(6, y - 6), (26, y + 6)],
                    ACCENT.mix(0.14).filled(),
                ))
                .map_err(draw_error)
            })?;
        }
        entry(
            if self.lower_threshold.is_some() && self.upper_threshold.is_some() {
                "thresholds"
            } else {
                "threshold"
            },
            &line(ALERT, true),
        )?;
        if alerts {
            entry("alert", &|y| {
                area.draw(&Circle::new((16, y), 6, ALERT.stroke_width(2)))
                    .map_err(draw_error)
            })?;
        }
        if self.first_analysis < self.keys.len() {
            entry("analysis period", &|y| {
                area.draw(&Rectangle::new(
                    [(6, y - 6), (26, y + 6)],
                    ANALYSIS.filled(),
                ))
                .map_err(draw_error)?;
                area.draw(&Rectangle::new(
                    [(6, y - 6), (26, y + 6)],
                    DIVIDER.stroke_width(1),
                ))
                .map_err(draw_error)
            })?;
        }
        Ok(())
    }
}
