//! `lathe-viewer [BUNDLE] [--check DATA] [--metrics URL]`: opens a deployment bundle in a window.

use std::path::PathBuf;

use clap::Parser;
use lathe_viewer::Viewer;

#[derive(Debug, Parser)]
#[command(
    name = "lathe-viewer",
    version,
    about = "Open, verify and inspect a Lathe deployment bundle; check data for drift against it."
)]
struct Args {
    /// A bundle: FILE.tar.gz or its unpacked folder. Also: Open bundle…, or drop it.
    bundle: Option<PathBuf>,
    /// A CSV or Parquet file to check for drift against the bundle's reference profile.
    #[arg(long, value_name = "DATA")]
    check: Option<PathBuf>,
    /// A running `lathe serve --metrics`: its /metrics URL (or address), shown live beside
    /// the bundle's reference profile.
    #[arg(long, value_name = "URL")]
    metrics: Option<String>,
}

fn main() -> eframe::Result {
    let args = Args::parse();
    let mut viewer = Viewer::default();
    if let Some(path) = &args.bundle {
        viewer.open(path);
    }
    if let Some(data) = &args.check {
        viewer.check_drift(data);
    }
    if let Some(url) = &args.metrics {
        viewer.watch(url);
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Lathe bundle viewer")
            .with_inner_size([1100.0, 780.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_ui_native("lathe-viewer", options, move |ui, _frame| {
        ui.ctx().set_theme(egui::Theme::Light);
        viewer.ui(ui);
    })
}
