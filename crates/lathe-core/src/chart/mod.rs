//! The one chart engine every capability draws with: the [`Figure`] trait (a size, a drawing
//! with plotters, the data as CSV → SVG, PNG or CSV), the theme (font, colours), axis numbers,
//! legends, and writing a figure to a file by its extension ([`export`], [`write()`]). Each
//! capability keeps its own charts beside its code (`dataset::chart`, `drift::chart`,
//! `runs::chart`, `model::chart`, `explain::chart`, `fairness::chart`); what two capabilities
//! share, such as the grouped bar chart, lives here.
//!
//! Text uses the DejaVu Sans font shipped in `assets/fonts`, embedded in the binary, so a chart
//! looks the same on every machine and needs no system fonts.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use crate::{Error, Result};

mod grouped;
pub use grouped::GroupedBars;

/// DejaVu Sans, the font every chart is drawn with (the viewer rasterises the SVGs with it).
pub static FONT: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
pub(crate) const FAMILY: &str = "sans-serif";

pub(crate) const ACCENT: RGBColor = RGBColor(0x25, 0x63, 0xa8);
pub(crate) const TEXT: RGBColor = RGBColor(0x1b, 0x24, 0x30);
/// The second series colour (SHAP's high values, the grouped bars' second series).
pub(crate) const HIGH: RGBColor = RGBColor(0xff, 0x0d, 0x57);
pub(crate) const GRID: RGBColor = RGBColor(0xee, 0xf1, 0xf5);

pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; parsing it cannot fail at run time if it parsed once in tests.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

pub(crate) fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::Compute {
        context: "cannot draw the chart",
        detail: e.to_string(),
    }
}

/// Shortens a label to `max` characters with an ellipsis.
pub(crate) fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// A number for an axis: short, without float noise.
pub(crate) fn axis_number(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A tick label on an axis from `lo` to `hi`: a tick that is zero but for rounding in the tick
/// arithmetic (plotters put one at -5.55e-17 on an axis from -0.5 to 0.5) reads "0".
pub(crate) fn tick_number(v: f64, lo: f64, hi: f64) -> String {
    if v.abs() <= (hi - lo).abs() * 1e-9 {
        "0".into()
    } else {
        axis_number(v)
    }
}

/// Anything Lathe draws: a profile's [`crate::dataset::chart::Chart`], a run chart. Each is drawn with plotters on any
/// backend and carries its data as CSV, so every chart can be exported with its numbers.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
    /// The figure's data as CSV with a header line.
    fn csv(&self) -> Result<String>;

    /// The figure as an SVG document.
    fn svg(&self) -> Result<String> {
        register_font();
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size()).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(draw_error)?;
        }
        Ok(out)
    }

    /// The figure as PNG bytes (for pages that embed it).
    fn png(&self) -> Result<Vec<u8>> {
        register_font();
        let (w, h) = self.size();
        let mut rgb = vec![0u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(draw_error)?;
        }
        let encode_error = |e: png::EncodingError| Error::Compute {
            context: "cannot encode the chart as PNG",
            detail: e.to_string(),
        };
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(encode_error)?;
        writer.write_image_data(&rgb).map_err(encode_error)?;
        writer.finish().map_err(encode_error)?;
        Ok(out)
    }

    /// Writes the figure as a PNG file.
    fn write_png(&self, path: &Path) -> Result<()> {
        register_font();
        let root = BitMapBackend::new(path, self.size()).into_drawing_area();
        self.draw(&root)?;
        root.present().map_err(draw_error)
    }
}

/// The legend of a chart's labelled series: top right, on a translucent box.
pub(crate) fn series_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    font: TextStyle,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xdb, 0xe2, 0xea))
        .label_font(font)
        .draw()
        .map_err(draw_error)
}

/// A chart's data that polars could not put into a frame.
pub(crate) fn data_error(e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot write the chart data",
        detail: e.to_string(),
    }
}

/// A frame as CSV text with a header line.
pub(crate) fn frame_csv(mut frame: DataFrame) -> Result<String> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf)
        .include_header(true)
        .finish(&mut frame)
        .map_err(data_error)?;
    String::from_utf8(buf).map_err(|e| Error::Compute {
        context: "cannot write the chart data",
        detail: e.to_string(),
    })
}

/// The padded range of `values` for an axis (with zero in it when `pad_zero`).
pub(crate) fn range(values: impl Iterator<Item = f64> + Clone, pad_zero: bool) -> (f64, f64) {
    let mut lo = values
        .clone()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let mut hi = values
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if pad_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let pad = ((hi - lo) * 0.06).max(1e-9);
    (lo - pad, hi + pad)
}

/// A file-name-safe form of a feature or column name.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A chart with the two names it goes by: `key`, what a view calls it (`bar`, `lime:3`), and
/// `file`, the stem of the files it is written to (`shap_bar`, `lime_row_3`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedChart<F> {
    pub key: String,
    pub file: String,
    pub chart: F,
}

impl<F: Figure> NamedChart<F> {
    pub fn new(key: impl Into<String>, file: impl Into<String>, chart: F) -> Self {
        NamedChart {
            key: key.into(),
            file: file.into(),
            chart,
        }
    }
}

/// Draws each chart as SVG, keyed as a view shows them.
pub fn svgs<F: Figure>(charts: &[NamedChart<F>]) -> Result<Vec<(String, String)>> {
    charts
        .iter()
        .map(|c| Ok((c.key.clone(), c.chart.svg()?)))
        .collect()
}

/// Writes each chart (SVG, and its data as CSV) into `dir`, creating it; returns the files.
pub fn write_named<F: Figure>(charts: &[NamedChart<F>], dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|err| Error::write("create the chart folder", dir, err))?;
    let mut written = Vec::new();
    for c in charts {
        for ext in ["svg", "csv"] {
            let path = dir.join(format!("{}.{ext}", c.file));
            write(&c.chart, &path)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Checks that `path` names a chart file Lathe writes (.svg, .png, .csv), before any work.
pub fn check_output(path: &Path) -> Result<&'static str> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("svg") => Ok("svg"),
        Some("png") => Ok("png"),
        Some("csv") => Ok("csv"),
        _ => Err(Error::BadArgument {
            argument: "output file",
            detail: format!(
                "{}: the name must end in .svg, .png or .csv (the chart's data)",
                path.display()
            ),
        }),
    }
}

/// Builds a figure with `build` and writes it to `path` (as [`write()`]), checking the file name
/// first so that a wrong extension is refused before any work. Returns the figure.
pub fn export<F: Figure>(path: &Path, build: impl FnOnce() -> Result<F>) -> Result<F> {
    check_output(path)?;
    let figure = build()?;
    write(&figure, path)?;
    Ok(figure)
}

/// Writes `chart` to `path` as SVG, PNG or CSV (its data), chosen by the extension.
pub fn write(chart: &impl Figure, path: &Path) -> Result<()> {
    let write = |bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| Error::write("write the chart", path, e))
    };
    match check_output(path)? {
        "svg" => write(chart.svg()?.as_bytes()),
        "png" => chart.write_png(path),
        _ => write(chart.csv()?.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(axis_number(2.5), "2.5");
        assert_eq!(axis_number(123456.0), "1.23e5");
        assert_eq!(axis_number(40.0), "40");
        assert_eq!(tick_number(-5.551115123125783e-17, -0.5, 0.5), "0");
        assert_eq!(tick_number(0.2, -0.5, 0.5), "0.2");
        // A tiny axis keeps its tiny ticks.
        assert_eq!(tick_number(1e-15, 0.0, 4e-15), "1.00e-15");
    }
}
