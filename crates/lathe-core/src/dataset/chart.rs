//! Charts of a profile, each with its data as CSV: a column's histogram, a column's top values,
//! the missing values of every column, and the Pearson or Spearman correlation heatmap. They
//! are drawn from the stored profile alone (no data is read), by the one chart engine
//! ([`crate::chart`]).

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;
use serde_json::Value;

use super::Profile;
use crate::chart::{
    ACCENT, FAMILY, Figure, TEXT, axis_number, data_error, draw_error, frame_csv, short,
    tick_number,
};
use crate::{Error, Result};

const NEGATIVE: RGBColor = RGBColor(0x25, 0x63, 0xa8);
const POSITIVE: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const UNDEFINED: RGBColor = RGBColor(0xdb, 0xe2, 0xea);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Histogram,
    TopValues,
    Missing,
    Pearson,
    Spearman,
}

impl Kind {
    pub const NAMES: &'static str = "histogram, top-values, missing, pearson, spearman";

    pub fn parse(text: &str) -> Result<Kind> {
        Ok(match text {
            "histogram" => Kind::Histogram,
            "top-values" | "top_values" => Kind::TopValues,
            "missing" => Kind::Missing,
            "pearson" | "correlation" => Kind::Pearson,
            "spearman" => Kind::Spearman,
            other => {
                return Err(Error::BadArgument {
                    argument: "chart kind",
                    detail: format!("'{other}'; the kinds are {}", Kind::NAMES),
                });
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Histogram => "histogram",
            Kind::TopValues => "top-values",
            Kind::Missing => "missing",
            Kind::Pearson => "pearson",
            Kind::Spearman => "spearman",
        }
    }

    /// Whether the chart is of one column (else of the whole dataset).
    pub fn per_column(self) -> bool {
        matches!(self, Kind::Histogram | Kind::TopValues)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    Bins {
        edges: Vec<f64>,
        counts: Vec<u64>,
    },
    /// Horizontal bars, first label on top.
    Bars {
        label_header: &'static str,
        labels: Vec<String>,
        counts: Vec<u64>,
        /// The bar lengths: the counts, or shares of the rows.
        values: Vec<f64>,
        value_header: &'static str,
    },
    Matrix {
        columns: Vec<String>,
        values: Vec<Vec<Option<f64>>>,
    },
}

/// A chart ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub kind: Kind,
    pub title: String,
    x_label: String,
    data: Data,
}

fn no_chart(detail: String) -> Error {
    Error::BadArgument {
        argument: "chart",
        detail,
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(missing)".into(),
        other => other.to_string(),
    }
}

/// The chart `kind` of `profile` (of `column` for per-column kinds). Without a kind, a numeric
/// column gets its histogram and any other its top values.
pub fn chart(profile: &Profile, kind: Option<Kind>, column: Option<&str>) -> Result<Chart> {
    let version = profile.version.map(|v| format!("@{v}")).unwrap_or_default();
    let dataset = format!("{}{version}", profile.dataset);
    let find = |name: &str| {
        profile
            .columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = profile.columns.iter().map(|c| c.name.as_str()).collect();
                no_chart(format!(
                    "no column named '{name}'; the columns are {}",
                    crate::dataset::filter::column_list(&names)
                ))
            })
    };
    let kind = match (kind, column) {
        (Some(kind), _) => kind,
        (None, Some(name)) => {
            if find(name)?.histogram.is_some() {
                Kind::Histogram
            } else {
                Kind::TopValues
            }
        }
        (None, None) => {
            return Err(no_chart(format!(
                "name a column, or pick a dataset chart (missing, pearson, spearman); the kinds are {}",
                Kind::NAMES
            )));
        }
    };
    if kind.per_column() && column.is_none() {
        return Err(no_chart(format!("a {} chart needs a column", kind.name())));
    }
    Ok(match kind {
        Kind::Histogram => {
            let c = find(column.unwrap_or_default())?;
            let h = c.histogram.as_ref().ok_or_else(|| {
                no_chart(format!(
                    "column '{}' ({}) has no histogram: it is not numeric or has no values; try --kind top-values",
                    c.name, c.dtype
                ))
            })?;
            Chart {
                kind,
                title: format!("{dataset} · {} · histogram", c.name),
                x_label: c.name.clone(),
                data: Data::Bins {
                    edges: h.edges.clone(),
                    counts: h.counts.clone(),
                },
            }
        }
        Kind::TopValues => {
            let c = find(column.unwrap_or_default())?;
            let counts: Vec<u64> = c.top_values.iter().map(|t| t.count).collect();
            Chart {
                kind,
                title: format!("{dataset} · {} · most frequent values", c.name),
                x_label: "rows".into(),
                data: Data::Bars {
                    label_header: "value",
                    labels: c.top_values.iter().map(|t| value_text(&t.value)).collect(),
                    values: counts.iter().map(|&n| n as f64).collect(),
                    counts,
                    value_header: "count",
                },
            }
        }
        Kind::Missing => {
            let rows = profile.rows.max(1) as f64;
            Chart {
                kind,
                title: format!("{dataset} · missing values"),
                x_label: "share of rows missing".into(),
                data: Data::Bars {
                    label_header: "column",
                    labels: profile.columns.iter().map(|c| c.name.clone()).collect(),
                    counts: profile.columns.iter().map(|c| c.nulls).collect(),
                    values: profile
                        .columns
                        .iter()
                        .map(|c| c.nulls as f64 / rows)
                        .collect(),
                    value_header: "share",
                },
            }
        }
        Kind::Pearson | Kind::Spearman => {
            let m = if kind == Kind::Pearson {
                &profile.correlations.pearson
            } else {
                &profile.correlations.spearman
            };
            if m.columns.is_empty() {
                return Err(no_chart(format!(
                    "{dataset} has no numeric columns to correlate"
                )));
            }
            Chart {
                kind,
                title: format!("{dataset} · {} correlation", kind.name()),
                x_label: String::new(),
                data: Data::Matrix {
                    columns: m.columns.clone(),
                    values: m.values.clone(),
                },
            }
        }
    })
}

impl Figure for Chart {
    /// Bars and heatmaps grow with their labels.
    fn size(&self) -> (u32, u32) {
        match &self.data {
            Data::Bins { .. } => (640, 360),
            Data::Bars { labels, .. } => (640, 90 + 22 * labels.len().max(1) as u32),
            Data::Matrix { columns, .. } => {
                let side = (200 + 24 * columns.len() as u32).max(420);
                (side + 60, side)
            }
        }
    }

    fn csv(&self) -> Result<String> {
        let frame = match &self.data {
            Data::Bins { edges, counts } => df!(
                "bin_start" => &edges[..counts.len()],
                "bin_end" => &edges[1..],
                "count" => counts,
            ),
            Data::Bars {
                label_header,
                labels,
                counts,
                values,
                value_header,
            } => {
                let mut columns = vec![
                    Column::new((*label_header).into(), labels),
                    Column::new("count".into(), counts),
                ];
                if *value_header != "count" {
                    columns.push(Column::new((*value_header).into(), values));
                }
                DataFrame::new_infer_height(columns)
            }
            Data::Matrix { columns, values } => {
                let mut out = vec![Column::new("column".into(), columns)];
                for (j, name) in columns.iter().enumerate() {
                    let column: Vec<Option<f64>> = values.iter().map(|row| row[j]).collect();
                    out.push(Column::new(name.as_str().into(), column));
                }
                DataFrame::new_infer_height(out)
            }
        }
        .map_err(data_error)?;
        frame_csv(frame)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 17).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        match &self.data {
            Data::Bins { edges, counts } => {
                let (lo, hi) = (edges[0], edges[edges.len() - 1]);
                let top = counts.iter().copied().max().unwrap_or(0).max(1);
                let mut chart = ChartBuilder::on(root)
                    .caption(&self.title, caption)
                    .margin(14)
                    .x_label_area_size(40)
                    .y_label_area_size(56)
                    .build_cartesian_2d(lo..hi, 0u64..top + top / 10 + 1)
                    .map_err(draw_error)?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_desc(short(&self.x_label, 60))
                    .y_desc("rows")
                    .x_labels(8)
                    .x_label_formatter(&|v| tick_number(*v, lo, hi))
                    .light_line_style(TRANSPARENT)
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                chart
                    .draw_series(counts.iter().enumerate().map(|(i, &n)| {
                        let (a, b) = (edges[i], edges[i + 1]);
                        let gap = (b - a) * 0.04;
                        Rectangle::new([(a + gap, 0), (b - gap, n)], ACCENT.filled())
                    }))
                    .map_err(draw_error)?;
            }
            Data::Bars {
                labels,
                values,
                value_header,
                ..
            } => {
                let percent = &(*value_header == "share");
                let n = labels.len();
                let top = values.iter().copied().fold(0.0f64, f64::max);
                let top = if top > 0.0 { top * 1.1 } else { 1.0 };
                let mut chart = ChartBuilder::on(root)
                    .caption(&self.title, caption)
                    .margin(14)
                    .x_label_area_size(40)
                    .y_label_area_size(170)
                    // A segmented 0..m has m + 1 segments.
                    .build_cartesian_2d(0f64..top, (0..n.max(1) - 1).into_segmented())
                    .map_err(draw_error)?;
                // Bar i is drawn at row n - 1 - i so the first label is on top.
                let names: Vec<String> = labels.iter().map(|l| short(l, 24)).collect();
                let formatter = |v: &SegmentValue<usize>| match v {
                    SegmentValue::CenterOf(row) if *row < n => names[n - 1 - row].clone(),
                    _ => String::new(),
                };
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .y_labels(n.max(1))
                    .y_label_formatter(&formatter)
                    .x_label_formatter(&|v| {
                        if *percent {
                            format!("{}%", axis_number(v * 100.0))
                        } else {
                            axis_number(*v)
                        }
                    })
                    .light_line_style(TRANSPARENT)
                    .x_desc(&self.x_label)
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                chart
                    .draw_series(values.iter().enumerate().map(|(i, &v)| {
                        let row = n - 1 - i;
                        let mut bar = Rectangle::new(
                            [
                                (0.0, SegmentValue::Exact(row)),
                                (v, SegmentValue::Exact(row + 1)),
                            ],
                            ACCENT.filled(),
                        );
                        bar.set_margin(3, 3, 0, 0);
                        bar
                    }))
                    .map_err(draw_error)?;
            }
            Data::Matrix { columns, values } => {
                let k = columns.len();
                let (body, legend) = root.split_horizontally(self.size().0 - 60);
                let mut chart = ChartBuilder::on(&body)
                    .caption(&self.title, caption)
                    .margin(14)
                    .x_label_area_size(150)
                    .y_label_area_size(150)
                    .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
                    .map_err(draw_error)?;
                let names: Vec<String> = columns.iter().map(|c| short(c, 22)).collect();
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_labels(k)
                    .y_labels(k)
                    // The column names under the x axis are drawn below, rotated.
                    .x_label_formatter(&|_| String::new())
                    .y_label_formatter(&|v| match v {
                        SegmentValue::CenterOf(i) if *i < k => names[k - 1 - i].clone(),
                        _ => String::new(),
                    })
                    .y_label_style((FAMILY, 11).into_font().color(&TEXT))
                    .draw()
                    .map_err(draw_error)?;
                chart
                    .draw_series((0..k).flat_map(|i| {
                        (0..k).map(move |j| {
                            let row = k - 1 - i;
                            let mut cell = Rectangle::new(
                                [
                                    (SegmentValue::Exact(j), SegmentValue::Exact(row)),
                                    (SegmentValue::Exact(j + 1), SegmentValue::Exact(row + 1)),
                                ],
                                diverging(values[i][j]).filled(),
                            );
                            cell.set_margin(1, 1, 1, 1);
                            cell
                        })
                    }))
                    .map_err(draw_error)?;
                let rotated = (FAMILY, 11)
                    .into_font()
                    .transform(FontTransform::Rotate90)
                    .color(&TEXT);
                for (j, name) in names.iter().enumerate() {
                    let (x, y) =
                        chart.backend_coord(&(SegmentValue::CenterOf(j), SegmentValue::Exact(0)));
                    body.draw(&Text::new(name.clone(), (x + 6, y + 10), rotated.clone()))
                        .map_err(draw_error)?;
                }
                draw_legend(&legend)?;
            }
        }
        Ok(())
    }
}

/// Blue (−1) through white (0) to red (+1); grey where undefined.
fn diverging(r: Option<f64>) -> RGBColor {
    let Some(r) = r.filter(|r| r.is_finite()) else {
        return UNDEFINED;
    };
    let r = r.clamp(-1.0, 1.0);
    let end = if r < 0.0 { NEGATIVE } else { POSITIVE };
    let t = r.abs();
    let mix = |c: u8| (255.0 + (f64::from(c) - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<()> {
    let (_, height) = area.dim_in_pixel();
    let (top, bottom) = (60i32, height as i32 - 160);
    let steps = 40;
    let span = (bottom - top).max(steps);
    for s in 0..steps {
        let r = 1.0 - 2.0 * f64::from(s) / f64::from(steps - 1);
        let y0 = top + span * s / steps;
        let y1 = top + span * (s + 1) / steps;
        area.draw(&Rectangle::new(
            [(8, y0), (24, y1)],
            diverging(Some(r)).filled(),
        ))
        .map_err(draw_error)?;
    }
    let font = (FAMILY, 11).into_font().color(&TEXT);
    for (text, y) in [("+1", top), ("0", top + span / 2), ("−1", top + span)] {
        area.draw(&Text::new(text, (28, y - 6), font.clone()))
            .map_err(draw_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_kinds() {
        assert_eq!(diverging(Some(0.0)), RGBColor(255, 255, 255));
        assert_eq!(diverging(Some(1.0)), POSITIVE);
        assert_eq!(diverging(Some(-1.0)), NEGATIVE);
        assert_eq!(diverging(None), UNDEFINED);
        assert!(
            Kind::parse("pie")
                .unwrap_err()
                .to_string()
                .contains("histogram")
        );
    }
}
