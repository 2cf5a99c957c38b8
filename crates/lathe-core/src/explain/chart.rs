//! Charts of explanations, drawn by the one chart engine ([`crate::chart::Figure`]), each with
//! its data as CSV: mean |SHAP| bars, the beeswarm, a row's waterfall, a feature's dependence
//! scatter coloured by its strongest interacting feature, permutation importance with error
//! bars, and partial dependence over ICE lines. [`charts`] is the one list of what an
//! explanation shows, for the CLI's files and the desktop's tabs alike.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use polars::prelude::*;

use super::Explanation;
use super::importance::Importance;
use super::pdp::FeatureDependence;
use super::shap::ShapValues;
use crate::chart::{
    ACCENT, FAMILY, Figure, HIGH, NamedChart, TEXT, axis_number, data_error, draw_error, frame_csv,
    range, short, slug, tick_number, write_named,
};
use crate::{Error, Result};

use crate::chart::GRID;
const LOW: RGBColor = RGBColor(0x1e, 0x88, 0xe5);
const GUIDE: RGBColor = RGBColor(0x9a, 0xa5, 0xb1);
/// Features shown at most on bar and beeswarm charts (the rest are summed in CSV only).
pub const TOP: usize = 20;
/// ICE lines drawn at most (evenly chosen rows); the CSV keeps every row.
pub const ICE_LINES: usize = 200;
/// LIME charts drawn at most: one per explained row, the first ones.
pub const LIME_CHARTS: usize = 5;

#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// Horizontal bars, top first, with optional ± error bars.
    Bars {
        x_desc: String,
        labels: Vec<String>,
        values: Vec<f64>,
        errors: Option<Vec<f64>>,
    },
    /// One row of dots per feature (top first): x = SHAP value, colour = feature value from
    /// low (0) to high (1) within the feature.
    Beeswarm {
        labels: Vec<String>,
        points: Vec<(usize, f64, f64, f64)>,
    },
    /// From the base value to the output, one step per feature (largest first).
    Waterfall {
        base: f64,
        output: f64,
        steps: Vec<(String, f64)>,
    },
    /// x = feature value, y = SHAP value, colour = another feature's value (0..1 within it).
    Scatter {
        x_desc: String,
        y_desc: String,
        color_desc: String,
        points: Vec<(f64, f64, f64, f64)>,
    },
    /// The partial dependence line over ICE lines.
    Pdp {
        x_desc: String,
        y_desc: String,
        grid: Vec<f64>,
        average: Vec<f64>,
        ice: Vec<Vec<f64>>,
        /// The data row of each ICE line.
        ice_rows: Vec<usize>,
    },
}

/// One chart of an explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainChart {
    pub title: String,
    body: Body,
}

/// Mean |SHAP| per feature, largest first.
pub fn mean_abs(s: &ShapValues) -> Vec<(String, f64)> {
    let n = s.values.len().max(1) as f64;
    let mut v: Vec<(String, f64)> = s
        .features
        .iter()
        .enumerate()
        .map(|(j, f)| {
            (
                f.clone(),
                s.values.iter().map(|r| r[j].abs()).sum::<f64>() / n,
            )
        })
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

fn order_by_mean_abs(s: &ShapValues) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..s.features.len()).collect();
    let n = s.values.len().max(1) as f64;
    let m: Vec<f64> = idx
        .iter()
        .map(|&j| s.values.iter().map(|r| r[j].abs()).sum::<f64>() / n)
        .collect();
    idx.sort_by(|&a, &b| m[b].total_cmp(&m[a]));
    idx
}

/// A value's place within a column, 0..1 (NaN when the column is constant).
fn scaled(column: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = column.to_vec();
    sorted.sort_by(f64::total_cmp);
    // shap clips the colour scale at the 5th and 95th percentiles.
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let (lo, hi) = (q(0.05), q(0.95));
    column
        .iter()
        .map(|&v| {
            if hi > lo {
                ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                f64::NAN
            }
        })
        .collect()
}

fn color(t: f64) -> RGBColor {
    if t.is_nan() {
        return GUIDE;
    }
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(mix(LOW.0, HIGH.0), mix(LOW.1, HIGH.1), mix(LOW.2, HIGH.2))
}

/// The mean |SHAP| bar chart.
pub fn shap_bar(s: &ShapValues) -> ExplainChart {
    let m = mean_abs(s);
    ExplainChart {
        title: format!("Mean |SHAP| — {}", s.output.description),
        body: Body::Bars {
            x_desc: "mean |SHAP value|".to_owned(),
            labels: m.iter().map(|(f, _)| f.clone()).collect(),
            values: m.iter().map(|(_, v)| *v).collect(),
            errors: None,
        },
    }
}

/// The beeswarm: every row's SHAP value per feature, coloured by the feature's value.
pub fn beeswarm(s: &ShapValues) -> ExplainChart {
    let order = order_by_mean_abs(s);
    let mut points = Vec::new();
    for (rank, &j) in order.iter().enumerate() {
        let col: Vec<f64> = s.data.iter().map(|r| r[j]).collect();
        let t = scaled(&col);
        for (r, row) in s.values.iter().enumerate() {
            points.push((rank, row[j], t[r], col[r]));
        }
    }
    ExplainChart {
        title: format!("SHAP values — {}", s.output.description),
        body: Body::Beeswarm {
            labels: order.iter().map(|&j| s.features[j].clone()).collect(),
            points,
        },
    }
}

/// The waterfall of explained row `row` (an index into `s.rows`).
pub fn waterfall(s: &ShapValues, row: usize) -> Result<ExplainChart> {
    let values = s.values.get(row).ok_or_else(|| Error::BadArgument {
        argument: "row",
        detail: format!("{row} is not one of the {} explained rows", s.values.len()),
    })?;
    let mut steps: Vec<(String, f64)> = s
        .features
        .iter()
        .zip(values)
        .zip(&s.data[row])
        .map(|((f, v), x)| (format!("{f} = {}", axis_number(*x)), *v))
        .collect();
    steps.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    Ok(ExplainChart {
        title: format!("Row {} — {}", s.rows[row], s.output.description),
        body: Body::Waterfall {
            base: s.base_value,
            output: s.model_output[row],
            steps,
        },
    })
}

/// shap's `approximate_interactions`: the feature whose values best track feature `j`'s SHAP
/// values within bins of rows sorted by `j` (summed |correlation| over bins).
pub fn strongest_interaction(s: &ShapValues, j: usize) -> Option<usize> {
    let n = s.values.len();
    if n < 4 || s.features.len() < 2 {
        return None;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| s.data[a][j].total_cmp(&s.data[b][j]));
    let bin = (n / 10).max(2);
    let corr = |a: &[f64], b: &[f64]| {
        let k = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / k, b.iter().sum::<f64>() / k);
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (x, y) in a.iter().zip(b) {
            sab += (x - ma) * (y - mb);
            saa += (x - ma).powi(2);
            sbb += (y - mb).powi(2);
        }
        if saa > 0.0 && sbb > 0.0 {
            (sab / (saa * sbb).sqrt()).abs()
        } else {
            0.0
        }
    };
    (0..s.features.len())
        .filter(|&k| k != j)
        .map(|k| {
            let total: f64 = idx
                .chunks(bin)
                .filter(|c| c.len() >= 2)
                .map(|c| {
                    let a: Vec<f64> = c.iter().map(|&r| s.values[r][j]).collect();
                    let b: Vec<f64> = c.iter().map(|&r| s.data[r][k]).collect();
                    corr(&a, &b)
                })
                .sum();
            (k, total)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// The dependence scatter of `feature`, coloured by its strongest interacting feature.
pub fn dependence(s: &ShapValues, feature: &str) -> Result<ExplainChart> {
    let j = s
        .features
        .iter()
        .position(|f| f == feature)
        .ok_or_else(|| Error::BadArgument {
            argument: "feature",
            detail: format!("{feature:?} is not one of the explained features"),
        })?;
    let k = strongest_interaction(s, j);
    let colour: Vec<f64> = match k {
        Some(k) => scaled(&s.data.iter().map(|r| r[k]).collect::<Vec<_>>()),
        None => vec![f64::NAN; s.values.len()],
    };
    Ok(ExplainChart {
        title: format!("SHAP dependence of {feature}"),
        body: Body::Scatter {
            x_desc: feature.to_owned(),
            y_desc: format!("SHAP value of {feature}"),
            color_desc: k.map_or_else(String::new, |k| s.features[k].clone()),
            points: (0..s.values.len())
                .map(|r| {
                    (
                        s.data[r][j],
                        s.values[r][j],
                        colour[r],
                        k.map_or(f64::NAN, |k| s.data[r][k]),
                    )
                })
                .collect(),
        },
    })
}

/// Permutation importance bars with ± one standard deviation.
pub fn importance(p: &Importance) -> ExplainChart {
    let mut rows: Vec<_> = p.features.iter().collect();
    rows.sort_by(|a, b| b.importance_mean.total_cmp(&a.importance_mean));
    ExplainChart {
        title: format!(
            "Permutation importance ({}, {} repeats)",
            p.scoring.name(),
            p.repeats
        ),
        body: Body::Bars {
            x_desc: format!("drop in {}", p.scoring.name()),
            labels: rows.iter().map(|f| f.name.clone()).collect(),
            values: rows.iter().map(|f| f.importance_mean).collect(),
            errors: Some(rows.iter().map(|f| f.importance_std).collect()),
        },
    }
}

/// The LIME weights of one explained row (an index into `l.rows`).
pub fn lime_chart(l: &super::lime::Lime, row: usize) -> Result<ExplainChart> {
    let r = l.rows.get(row).ok_or_else(|| Error::BadArgument {
        argument: "row",
        detail: format!("{row} is not one of the {} explained rows", l.rows.len()),
    })?;
    Ok(ExplainChart {
        title: format!("LIME, row {} — {}", r.row, l.output.description),
        body: Body::Bars {
            x_desc: format!("local weight (R² {:.3})", r.score),
            labels: r.weights.iter().map(|w| w.condition.clone()).collect(),
            values: r.weights.iter().map(|w| w.weight).collect(),
            errors: None,
        },
    })
}

/// Partial dependence of one feature over its ICE lines.
pub fn pdp(f: &FeatureDependence, output: &str) -> ExplainChart {
    ExplainChart {
        title: format!("Partial dependence on {}", f.name),
        body: Body::Pdp {
            x_desc: f.name.clone(),
            y_desc: output.to_owned(),
            grid: f.grid.clone(),
            average: f.average.clone(),
            ice: f.individual.clone(),
            ice_rows: f
                .ice_rows
                .clone()
                .unwrap_or_else(|| (0..f.individual.len()).collect()),
        },
    }
}

/// Which charts an explanation shows, by the same rule for every front end: SHAP's bar,
/// beeswarm, the first row's waterfall and the top feature's dependence; the importance bars;
/// a LIME chart for each of the first [`LIME_CHARTS`] rows; a PDP chart per feature.
pub fn charts(e: &Explanation) -> Result<Vec<NamedChart<ExplainChart>>> {
    let mut out = Vec::new();
    match e {
        Explanation::Shap(s) => {
            out.push(NamedChart::new("bar", "shap_bar", shap_bar(s)));
            out.push(NamedChart::new("beeswarm", "shap_beeswarm", beeswarm(s)));
            if let Some(row) = s.rows.first() {
                out.push(NamedChart::new(
                    "waterfall",
                    format!("shap_waterfall_row_{row}"),
                    waterfall(s, 0)?,
                ));
            }
            if let Some((top, _)) = mean_abs(s).first() {
                out.push(NamedChart::new(
                    "dependence",
                    format!("shap_dependence_{}", slug(top)),
                    dependence(s, top)?,
                ));
            }
        }
        Explanation::Permutation(p) => {
            out.push(NamedChart::new("importance", "importance", importance(p)));
        }
        Explanation::Lime(l) => {
            for (i, r) in l.rows.iter().enumerate().take(LIME_CHARTS) {
                out.push(NamedChart::new(
                    format!("lime:{}", r.row),
                    format!("lime_row_{}", r.row),
                    lime_chart(l, i)?,
                ));
            }
        }
        Explanation::Pdp(d) => {
            for f in &d.features {
                out.push(NamedChart::new(
                    format!("pdp:{}", f.name),
                    format!("pdp_{}", slug(&f.name)),
                    pdp(f, &d.output.description),
                ));
            }
        }
    }
    Ok(out)
}

/// One SHAP chart for a picked row (`waterfall`, by index into the explained rows) or feature
/// (`dependence`), as SVG.
pub fn shap_chart_svg(
    e: &Explanation,
    chart: &str,
    row: Option<usize>,
    feature: Option<&str>,
) -> Result<String> {
    let Explanation::Shap(s) = e else {
        return Err(Error::BadArgument {
            argument: "chart",
            detail: "only SHAP values have row and feature charts".to_owned(),
        });
    };
    match chart {
        "waterfall" => waterfall(s, row.unwrap_or(0))?.svg(),
        "dependence" => dependence(s, feature.unwrap_or_default())?.svg(),
        other => Err(Error::BadArgument {
            argument: "chart",
            detail: format!("{other:?} is not waterfall or dependence"),
        }),
    }
}

/// Writes every chart of an explanation (SVG, and CSV data) into `dir`; returns the files.
pub fn write_all(e: &Explanation, dir: &Path) -> Result<Vec<PathBuf>> {
    write_named(&charts(e)?, dir)
}

impl Figure for ExplainChart {
    fn size(&self) -> (u32, u32) {
        match &self.body {
            Body::Bars { labels, .. } => (640, 120 + 24 * labels.len().min(TOP) as u32),
            Body::Beeswarm { labels, .. } => (720, 120 + 28 * labels.len().min(TOP) as u32),
            Body::Waterfall { steps, .. } => (720, 150 + 26 * (steps.len().min(TOP) as u32 + 1)),
            _ => (640, 480),
        }
    }

    fn csv(&self) -> Result<String> {
        let frame = match &self.body {
            Body::Bars {
                labels,
                values,
                errors,
                ..
            } => {
                let mut cols = vec![
                    Column::new("feature".into(), labels.clone()),
                    Column::new("value".into(), values.clone()),
                ];
                if let Some(e) = errors {
                    cols.push(Column::new("std".into(), e.clone()));
                }
                DataFrame::new_infer_height(cols)
            }
            Body::Beeswarm { labels, points } => df!(
                "feature" => points.iter().map(|p| labels[p.0].clone()).collect::<Vec<_>>(),
                "shap_value" => points.iter().map(|p| p.1).collect::<Vec<_>>(),
                "feature_value" => points.iter().map(|p| p.3).collect::<Vec<_>>(),
            ),
            Body::Waterfall {
                base,
                output,
                steps,
            } => {
                let mut names = vec!["base value".to_owned()];
                let mut vals = vec![*base];
                for (n, v) in steps {
                    names.push(n.clone());
                    vals.push(*v);
                }
                names.push("output".to_owned());
                vals.push(*output);
                df!("step" => names, "value" => vals)
            }
            Body::Scatter {
                x_desc,
                y_desc,
                color_desc,
                points,
            } => {
                let mut cols = vec![
                    Column::new(
                        x_desc.as_str().into(),
                        points.iter().map(|p| p.0).collect::<Vec<_>>(),
                    ),
                    Column::new(
                        y_desc.as_str().into(),
                        points.iter().map(|p| p.1).collect::<Vec<_>>(),
                    ),
                ];
                if !color_desc.is_empty() {
                    cols.push(Column::new(
                        color_desc.as_str().into(),
                        points.iter().map(|p| p.3).collect::<Vec<_>>(),
                    ));
                }
                DataFrame::new_infer_height(cols)
            }
            Body::Pdp {
                x_desc,
                grid,
                average,
                ice,
                ice_rows,
                ..
            } => {
                let mut cols = vec![
                    Column::new(x_desc.as_str().into(), grid.clone()),
                    Column::new("average".into(), average.clone()),
                ];
                for (r, line) in ice_rows.iter().zip(ice) {
                    cols.push(Column::new(format!("ice_{r}").into(), line.clone()));
                }
                DataFrame::new_infer_height(cols)
            }
        }
        .map_err(data_error)?;
        frame_csv(frame)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 15).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        match &self.body {
            Body::Bars {
                x_desc,
                labels,
                values,
                errors,
            } => {
                let n = labels.len().min(TOP);
                let (lo, hi) = range(
                    values[..n].iter().zip(0..).flat_map(|(v, i)| {
                        let e = errors.as_ref().map_or(0.0, |e| e[i]);
                        [v - e, v + e]
                    }),
                    true,
                );
                let mut chart =
                    categorical(root, &self.title, x_desc.as_str(), (lo, hi), labels, n, 170)?;
                let y = |i: usize| (n - 1 - i) as f64;
                chart
                    .draw_series((0..n).map(|i| {
                        Rectangle::new(
                            [(0.0, y(i) + 0.2), (values[i], y(i) + 0.8)],
                            ACCENT.filled(),
                        )
                    }))
                    .map_err(draw_error)?;
                if let Some(e) = errors {
                    chart
                        .draw_series((0..n).map(|i| {
                            PathElement::new(
                                vec![
                                    (values[i] - e[i], y(i) + 0.5),
                                    (values[i] + e[i], y(i) + 0.5),
                                ],
                                TEXT.stroke_width(2),
                            )
                        }))
                        .map_err(draw_error)?;
                }
            }
            Body::Beeswarm { labels, points } => {
                let n = labels.len().min(TOP);
                let (lo, hi) = range(points.iter().filter(|p| p.0 < n).map(|p| p.1), true);
                let mut chart = categorical(
                    root,
                    &self.title,
                    "SHAP value (colour: feature value, blue low → red high)",
                    (lo, hi),
                    labels,
                    n,
                    170,
                )?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(0.0, 0.0), (0.0, n as f64)],
                        GUIDE.stroke_width(1),
                    )))
                    .map_err(draw_error)?;
                // Jitter rows of a feature by a hash of their order so dots do not hide each
                // other; deterministic, so the SVG is the same each time.
                chart
                    .draw_series(points.iter().enumerate().filter(|(_, p)| p.0 < n).map(
                        |(i, p)| {
                            let jitter = ((i.wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0
                                - 0.5)
                                * 0.6;
                            let y = (n - 1 - p.0) as f64 + 0.5 + jitter;
                            Circle::new((p.1, y), 2, color(p.2).mix(0.8).filled())
                        },
                    ))
                    .map_err(draw_error)?;
            }
            Body::Waterfall {
                base,
                output,
                steps,
            } => {
                let shown = steps.len().min(TOP);
                let rest: f64 = steps[shown..].iter().map(|s| s.1).sum();
                let mut bars: Vec<(String, f64)> = steps[..shown].to_vec();
                if steps.len() > shown {
                    bars.push((format!("{} other features", steps.len() - shown), rest));
                }
                let n = bars.len();
                let mut at = *base;
                let mut spans = Vec::with_capacity(n);
                // Drawn from the bottom (base) up, largest effect at the top.
                for (_, v) in bars.iter().rev() {
                    spans.push((at, at + v));
                    at += v;
                }
                spans.reverse();
                let (lo, hi) = range(
                    spans
                        .iter()
                        .flat_map(|s| [s.0, s.1])
                        .chain([*base, *output]),
                    false,
                );
                let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
                let mut chart = categorical(
                    root,
                    format!(
                        "{} (base {}, output {})",
                        self.title,
                        axis_number(*base),
                        axis_number(*output)
                    ),
                    "model output",
                    (lo, hi),
                    &labels,
                    n,
                    240,
                )?;
                for (x, style) in [(*base, GUIDE), (*output, TEXT)] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(x, 0.0), (x, n as f64)],
                            style.stroke_width(1),
                        )))
                        .map_err(draw_error)?;
                }
                chart
                    .draw_series(spans.iter().enumerate().map(|(i, &(a, b))| {
                        let y = (n - 1 - i) as f64;
                        let c = if b >= a { HIGH } else { LOW };
                        Rectangle::new([(a, y + 0.2), (b, y + 0.8)], c.filled())
                    }))
                    .map_err(draw_error)?;
                let small = (FAMILY, 11).into_font().color(&TEXT);
                chart
                    .draw_series(bars.iter().zip(&spans).enumerate().map(|(i, ((_, v), s))| {
                        let y = (n - 1 - i) as f64 + 0.75;
                        let sign = if *v >= 0.0 { "+" } else { "−" };
                        Text::new(
                            format!("{sign}{}", axis_number(v.abs())),
                            (s.0.max(s.1), y),
                            small.clone(),
                        )
                    }))
                    .map_err(draw_error)?;
            }
            Body::Scatter {
                x_desc,
                y_desc,
                color_desc,
                points,
            } => {
                let xr = range(points.iter().map(|p| p.0), false);
                let yr = range(points.iter().map(|p| p.1), true);
                let mut chart = ChartBuilder::on(root)
                    .caption(&self.title, caption)
                    .margin(16)
                    .x_label_area_size(40)
                    .y_label_area_size(60)
                    .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
                    .map_err(draw_error)?;
                let x_text = if color_desc.is_empty() {
                    x_desc.clone()
                } else {
                    format!("{x_desc} (colour: {color_desc}, blue low → red high)")
                };
                chart
                    .configure_mesh()
                    .x_desc(x_text)
                    .y_desc(y_desc.as_str())
                    .x_label_formatter(&|v| tick_number(*v, xr.0, xr.1))
                    .y_label_formatter(&|v| tick_number(*v, yr.0, yr.1))
                    .light_line_style(TRANSPARENT)
                    .bold_line_style(GRID)
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|p| Circle::new((p.0, p.1), 3, color(p.2).mix(0.8).filled())),
                    )
                    .map_err(draw_error)?;
            }
            Body::Pdp {
                x_desc,
                y_desc,
                grid,
                average,
                ice,
                ..
            } => {
                let step = ice.len().div_ceil(ICE_LINES).max(1);
                let shown: Vec<&Vec<f64>> = ice.iter().step_by(step).collect();
                let xr = range(grid.iter().copied(), false);
                let yr = range(
                    shown
                        .iter()
                        .flat_map(|l| l.iter().copied())
                        .chain(average.iter().copied()),
                    false,
                );
                let mut chart = ChartBuilder::on(root)
                    .caption(&self.title, caption)
                    .margin(16)
                    .x_label_area_size(40)
                    .y_label_area_size(64)
                    .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
                    .map_err(draw_error)?;
                chart
                    .configure_mesh()
                    .x_desc(x_desc.as_str())
                    .y_desc(short(y_desc, 48))
                    .x_label_formatter(&|v| tick_number(*v, xr.0, xr.1))
                    .y_label_formatter(&|v| tick_number(*v, yr.0, yr.1))
                    .light_line_style(TRANSPARENT)
                    .bold_line_style(GRID)
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                for line in &shown {
                    chart
                        .draw_series(LineSeries::new(
                            grid.iter().copied().zip(line.iter().copied()),
                            GUIDE.mix(0.35).stroke_width(1),
                        ))
                        .map_err(draw_error)?;
                }
                chart
                    .draw_series(LineSeries::new(
                        grid.iter().copied().zip(average.iter().copied()),
                        HIGH.stroke_width(3),
                    ))
                    .map_err(draw_error)?
                    .label("partial dependence (mean of ICE)")
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], HIGH.stroke_width(3))
                    });
                crate::chart::series_legend(&mut chart, label.clone())?;
            }
        }
        Ok(())
    }
}

/// A chart with one row per category (`labels`, the first `n` shown top first) along y and
/// numbers along x, its mesh drawn.
#[allow(clippy::too_many_arguments)]
fn categorical<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: impl AsRef<str>,
    x_desc: &str,
    (lo, hi): (f64, f64),
    labels: &[String],
    n: usize,
    label_area: u32,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let label = (FAMILY, 12).into_font().color(&TEXT);
    let mut chart = ChartBuilder::on(root)
        .caption(title.as_ref(), (FAMILY, 15).into_font().color(&TEXT))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(label_area)
        .build_cartesian_2d(lo..hi, 0f64..n as f64)
        .map_err(draw_error)?;
    let name = |v: &f64| category(labels, n, *v);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|v| tick_number(*v, lo, hi))
        .y_label_formatter(&name)
        .y_labels(2 * n + 1)
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .label_style(label.clone())
        .axis_desc_style(label)
        .draw()
        .map_err(draw_error)?;
    Ok(chart)
}

/// The label of category `i` drawn at y = n − 1 − i + 0.5 (top first).
fn category(labels: &[String], n: usize, v: f64) -> String {
    let i = v.floor();
    if (v - i - 0.5).abs() < 1e-9 && (i as usize) < n {
        short(&labels[n - 1 - i as usize], 34)
    } else {
        String::new()
    }
}
