//! Evaluation charts, drawn by the one chart engine ([`crate::chart::Figure`]): ROC,
//! precision–recall and calibration curves and the confusion matrix for classifiers; predicted
//! vs actual and residuals for regressors.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use super::eval::Evaluation;
use crate::chart::{
    ACCENT, FAMILY, Figure, NamedChart, TEXT, data_error, draw_error, frame_csv, short, tick_number,
};
use crate::{Error, Result};

const GRID: RGBColor = RGBColor(0xee, 0xf1, 0xf5);
const GUIDE: RGBColor = RGBColor(0x9a, 0xa5, 0xb1);

/// The charts an evaluation has, by name.
pub const CHARTS: &[&str] = &[
    "roc",
    "precision_recall",
    "calibration",
    "confusion_matrix",
    "predicted_vs_actual",
    "residuals",
];

#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// Lines (or points) over x/y ranges, with an optional dashed guide line.
    Xy {
        x_desc: &'static str,
        y_desc: &'static str,
        x_columns: [&'static str; 2],
        points: Vec<(f64, f64)>,
        scatter: bool,
        guide: Option<[(f64, f64); 2]>,
        x_range: (f64, f64),
        y_range: (f64, f64),
    },
    Confusion {
        labels: Vec<String>,
        counts: Vec<Vec<u64>>,
    },
}

/// One evaluation chart.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalChart {
    pub title: String,
    body: Body,
}

fn range(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let lo = values
        .clone()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = values
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

/// The chart `name` of an evaluation (see [`CHARTS`]).
pub fn chart(e: &Evaluation, name: &str) -> Result<EvalChart> {
    let missing = || Error::BadArgument {
        argument: "chart",
        detail: format!(
            "{name:?} is not a chart of this {} evaluation; it has: {}",
            e.task.name(),
            available(e).join(", ")
        ),
    };
    let unit = (0.0, 1.0);
    let title = |what: &str| format!("{what} — {} on {}", short(&e.model, 40), short(&e.data, 30));
    let body = match name {
        "roc" => {
            let c = e.curves.as_ref().ok_or_else(missing)?;
            Body::Xy {
                x_desc: "false positive rate",
                y_desc: "true positive rate",
                x_columns: ["fpr", "tpr"],
                points: c
                    .roc
                    .fpr
                    .iter()
                    .copied()
                    .zip(c.roc.tpr.iter().copied())
                    .collect(),
                scatter: false,
                guide: Some([(0.0, 0.0), (1.0, 1.0)]),
                x_range: unit,
                y_range: unit,
            }
        }
        "precision_recall" => {
            let c = e.curves.as_ref().ok_or_else(missing)?;
            Body::Xy {
                x_desc: "recall",
                y_desc: "precision",
                x_columns: ["recall", "precision"],
                points: c
                    .pr
                    .recall
                    .iter()
                    .copied()
                    .zip(c.pr.precision.iter().copied())
                    .collect(),
                scatter: false,
                guide: None,
                x_range: unit,
                y_range: unit,
            }
        }
        "calibration" => {
            let c = e.curves.as_ref().ok_or_else(missing)?;
            Body::Xy {
                x_desc: "mean predicted probability",
                y_desc: "fraction of positives",
                x_columns: ["prob_pred", "prob_true"],
                points: c
                    .calibration
                    .prob_pred
                    .iter()
                    .copied()
                    .zip(c.calibration.prob_true.iter().copied())
                    .collect(),
                scatter: false,
                guide: Some([(0.0, 0.0), (1.0, 1.0)]),
                x_range: unit,
                y_range: unit,
            }
        }
        "confusion_matrix" if !e.confusion_matrix.is_empty() => Body::Confusion {
            labels: e.labels.clone(),
            counts: e.confusion_matrix.clone(),
        },
        "predicted_vs_actual" => {
            let r = e.regression.as_ref().ok_or_else(missing)?;
            let (lo, hi) = range(r.actual.iter().chain(&r.predicted).copied());
            Body::Xy {
                x_desc: "actual",
                y_desc: "predicted",
                x_columns: ["actual", "predicted"],
                points: r
                    .actual
                    .iter()
                    .copied()
                    .zip(r.predicted.iter().copied())
                    .collect(),
                scatter: true,
                guide: Some([(lo, lo), (hi, hi)]),
                x_range: (lo, hi),
                y_range: (lo, hi),
            }
        }
        "residuals" => {
            let r = e.regression.as_ref().ok_or_else(missing)?;
            let res: Vec<f64> = r
                .actual
                .iter()
                .zip(&r.predicted)
                .map(|(a, p)| a - p)
                .collect();
            let x_range = range(r.predicted.iter().copied());
            let (lo, hi) = range(res.iter().copied());
            let m = lo.abs().max(hi.abs());
            Body::Xy {
                x_desc: "predicted",
                y_desc: "residual (actual − predicted)",
                x_columns: ["predicted", "residual"],
                points: r.predicted.iter().copied().zip(res).collect(),
                scatter: true,
                guide: Some([(x_range.0, 0.0), (x_range.1, 0.0)]),
                x_range,
                y_range: (-m, m),
            }
        }
        _ => return Err(missing()),
    };
    let what = match name {
        "roc" => format!(
            "ROC (AUC {:.4})",
            e.metrics.get("roc_auc").copied().unwrap_or(f64::NAN)
        ),
        "precision_recall" => "Precision–recall".to_owned(),
        "calibration" => "Calibration".to_owned(),
        "confusion_matrix" => "Confusion matrix".to_owned(),
        "predicted_vs_actual" => format!(
            "Predicted vs actual (R² {:.4})",
            e.metrics.get("r2").copied().unwrap_or(f64::NAN)
        ),
        _ => "Residuals".to_owned(),
    };
    Ok(EvalChart {
        title: title(&what),
        body,
    })
}

/// The names of the charts this evaluation has.
pub fn available(e: &Evaluation) -> Vec<&'static str> {
    CHARTS
        .iter()
        .copied()
        .filter(|n| match *n {
            "roc" | "precision_recall" | "calibration" => e.curves.is_some(),
            "confusion_matrix" => !e.confusion_matrix.is_empty(),
            _ => e.regression.is_some(),
        })
        .collect()
}

/// Every chart this evaluation has, by name (the view's key and the file's stem alike).
pub fn charts(e: &Evaluation) -> Result<Vec<NamedChart<EvalChart>>> {
    available(e)
        .into_iter()
        .map(|name| Ok(NamedChart::new(name, name, chart(e, name)?)))
        .collect()
}

/// Writes every chart of `e` into `dir` as NAME.svg with its data as NAME.csv.
pub fn write_all(e: &Evaluation, dir: &Path) -> Result<Vec<String>> {
    Ok(crate::chart::write_named(&charts(e)?, dir)?
        .into_iter()
        .map(|p| p.display().to_string())
        .collect())
}

impl Figure for EvalChart {
    fn size(&self) -> (u32, u32) {
        match &self.body {
            Body::Xy { .. } => (560, 480),
            Body::Confusion { labels, .. } => {
                let side = 200 + 60 * labels.len() as u32;
                (side.max(420), side.max(380))
            }
        }
    }

    fn csv(&self) -> Result<String> {
        let frame = match &self.body {
            Body::Xy {
                x_columns, points, ..
            } => df!(
                x_columns[0] => points.iter().map(|p| p.0).collect::<Vec<_>>(),
                x_columns[1] => points.iter().map(|p| p.1).collect::<Vec<_>>(),
            ),
            Body::Confusion { labels, counts } => {
                let mut columns = vec![Column::new("actual".into(), labels.clone())];
                for (j, l) in labels.iter().enumerate() {
                    columns.push(Column::new(
                        format!("predicted_{l}").into(),
                        counts.iter().map(|row| row[j]).collect::<Vec<_>>(),
                    ));
                }
                DataFrame::new_infer_height(columns)
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
            Body::Xy {
                x_desc,
                y_desc,
                points,
                scatter,
                guide,
                x_range,
                y_range,
                ..
            } => {
                let mut chart = ChartBuilder::on(root)
                    .caption(&self.title, caption)
                    .margin(16)
                    .x_label_area_size(40)
                    .y_label_area_size(56)
                    .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
                    .map_err(draw_error)?;
                chart
                    .configure_mesh()
                    .x_desc(*x_desc)
                    .y_desc(*y_desc)
                    .x_label_formatter(&|v| tick_number(*v, x_range.0, x_range.1))
                    .y_label_formatter(&|v| tick_number(*v, y_range.0, y_range.1))
                    .light_line_style(TRANSPARENT)
                    .bold_line_style(GRID)
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                if let Some([a, b]) = guide {
                    chart
                        .draw_series(DashedLineSeries::new(
                            vec![*a, *b],
                            6,
                            4,
                            GUIDE.stroke_width(1),
                        ))
                        .map_err(draw_error)?;
                }
                if *scatter {
                    chart
                        .draw_series(
                            points
                                .iter()
                                .map(|&p| Circle::new(p, 2, ACCENT.mix(0.55).filled())),
                        )
                        .map_err(draw_error)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(
                            points.iter().copied(),
                            ACCENT.stroke_width(2),
                        ))
                        .map_err(draw_error)?;
                    chart
                        .draw_series(points.iter().map(|&p| Circle::new(p, 2, ACCENT.filled())))
                        .map_err(draw_error)?;
                }
            }
            Body::Confusion { labels, counts } => {
                let n = labels.len().max(1);
                let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
                let mut chart = ChartBuilder::on(root)
                    .caption(&self.title, caption)
                    .margin(16)
                    .x_label_area_size(44)
                    .y_label_area_size(80)
                    .build_cartesian_2d(0f64..n as f64, 0f64..n as f64)
                    .map_err(draw_error)?;
                let name_at = |v: &f64| {
                    let i = v.floor() as usize;
                    if (v - v.floor() - 0.5).abs() < 1e-9 && i < n {
                        short(&labels[i], 12)
                    } else {
                        String::new()
                    }
                };
                let name_at_y = |v: &f64| {
                    let i = v.floor() as usize;
                    if (v - v.floor() - 0.5).abs() < 1e-9 && i < n {
                        short(&labels[n - 1 - i], 12)
                    } else {
                        String::new()
                    }
                };
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_labels(2 * n + 1)
                    .y_labels(2 * n + 1)
                    .x_label_formatter(&name_at)
                    .y_label_formatter(&name_at_y)
                    .x_desc("predicted")
                    .y_desc("actual")
                    .label_style(label.clone())
                    .axis_desc_style(label.clone())
                    .draw()
                    .map_err(draw_error)?;
                for (i, row) in counts.iter().enumerate() {
                    for (j, &c) in row.iter().enumerate() {
                        let y = (n - 1 - i) as f64;
                        let x = j as f64;
                        let share = c as f64 / max;
                        chart
                            .draw_series([Rectangle::new(
                                [(x + 0.02, y + 0.02), (x + 0.98, y + 0.98)],
                                ACCENT.mix(0.08 + 0.82 * share).filled(),
                            )])
                            .map_err(draw_error)?;
                        let colour = if share > 0.55 { WHITE } else { TEXT };
                        chart
                            .draw_series([Text::new(
                                c.to_string(),
                                (x + 0.42, y + 0.55),
                                (FAMILY, 16).into_font().color(&colour),
                            )])
                            .map_err(draw_error)?;
                    }
                }
            }
        }
        Ok(())
    }
}
