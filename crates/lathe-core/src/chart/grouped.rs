//! Grouped bars: groups along x, one bar per series in each (fairness metrics per group, and
//! any other capability's per-group comparison).

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use super::{
    ACCENT, FAMILY, Figure, GRID, HIGH, TEXT, data_error, draw_error, frame_csv, range, short,
    tick_number,
};
use crate::Result;

/// Groups along x, one bar per series in each.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedBars {
    pub title: String,
    pub y_desc: String,
    pub groups: Vec<String>,
    pub series: Vec<(String, Vec<f64>)>,
}

impl Figure for GroupedBars {
    fn size(&self) -> (u32, u32) {
        ((200 + 90 * self.groups.len() as u32).max(560), 440)
    }

    fn csv(&self) -> Result<String> {
        let mut cols = vec![Column::new("group".into(), self.groups.clone())];
        for (name, v) in &self.series {
            cols.push(Column::new(name.as_str().into(), v.clone()));
        }
        frame_csv(DataFrame::new_infer_height(cols).map_err(data_error)?)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(draw_error)?;
        let caption = (FAMILY, 15).into_font().color(&TEXT);
        let label = (FAMILY, 12).into_font().color(&TEXT);
        let (groups, series, y_desc) = (&self.groups, &self.series, &self.y_desc);

        let g = groups.len();
        let k = series.len().max(1);
        let (lo, hi) = range(series.iter().flat_map(|s| s.1.iter().copied()), true);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, caption)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..g as f64, lo..hi.max(1.0))
            .map_err(draw_error)?;
        let name = |v: &f64| {
            let i = v.floor() as usize;
            if (v - v.floor() - 0.5).abs() < 1e-9 && i < g {
                short(&groups[i], 16)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .y_desc(y_desc.as_str())
            .x_label_formatter(&name)
            .x_labels(2 * g + 1)
            .disable_x_mesh()
            .y_label_formatter(&|v| tick_number(*v, lo, hi.max(1.0)))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(label.clone())
            .axis_desc_style(label.clone())
            .draw()
            .map_err(draw_error)?;
        let palette = [
            ACCENT,
            HIGH,
            RGBColor(0x2e, 0x9e, 0x5b),
            RGBColor(0xe6, 0x9b, 0x00),
        ];
        let width = 0.8 / k as f64;
        for (s, (sname, vals)) in series.iter().enumerate() {
            let c = palette[s % palette.len()];
            chart
                .draw_series(vals.iter().enumerate().map(|(i, v)| {
                    let x0 = i as f64 + 0.1 + s as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.9, *v)], c.filled())
                }))
                .map_err(draw_error)?
                .label(sname.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
        }
        crate::chart::series_legend(&mut chart, label.clone())?;

        Ok(())
    }
}
