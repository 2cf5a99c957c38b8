//! `lathe-viewer`: the ops team's window onto a deployment bundle.
//!
//! It opens a bundle (argument, Open dialog or drop) through `lathe_core::bundle`'s safe
//! reader, shows the verification verdict first (green, or red naming each failing file or the
//! bad signature), then the model card, the manifest (model, lineage, metrics, signature,
//! files), the bundle's charts, the reference profile per feature, and a check of a
//! CSV/Parquet file (opened or dropped): its drift against the profile and, when the bundle
//! carries a monitoring reference, its model's performance estimated without labels (`lathe
//! bundle monitor`'s report and charts). Pointed at a running `lathe serve --metrics`
//! (`--metrics URL`, or the Live server tab), it shows the server's requests, latency and each
//! feature's live drift beside the reference profile, read every two seconds. It never runs
//! code from the bundle: the model is
//! evaluated by Lathe's own ONNX runtime, only once every file verified; the reports are not
//! opened.
//!
//! [`Viewer`] holds the state and draws into any [`egui::Ui`]; `main.rs` runs it in an eframe
//! window and `tests/viewer.rs` drives it with egui_kittest by accessible labels.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use egui::{Color32, RichText};
use lathe_core::bundle::{self, BundleFiles, FileStatus, Inspection, SignatureStatus};
use lathe_core::chart::{Figure, NamedChart};
use lathe_core::dataset::browse::TableSource;
use lathe_core::drift::{DriftOptions, DriftReport, Kind};
use lathe_core::monitor::MonitorReport;
use lathe_core::monitor::chart::OverChunks;
use lathe_core::serve::live::LiveMetrics;

/// The views of an open bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Card,
    Manifest,
    Charts,
    Profile,
    Drift,
    Monitoring,
    Live,
}

impl Tab {
    const ALL: [Tab; 7] = [
        Tab::Card,
        Tab::Manifest,
        Tab::Charts,
        Tab::Profile,
        Tab::Drift,
        Tab::Monitoring,
        Tab::Live,
    ];

    fn label(self) -> &'static str {
        match self {
            Tab::Card => "Model card",
            Tab::Manifest => "Manifest",
            Tab::Charts => "Charts",
            Tab::Profile => "Reference profile",
            Tab::Drift => "Drift check",
            Tab::Monitoring => "Monitoring",
            Tab::Live => "Live server",
        }
    }
}

/// An open bundle.
#[derive(Debug)]
pub struct Opened {
    /// Shared with drift checks on worker threads (the model's bytes are not copied).
    pub files: Arc<BundleFiles>,
    pub inspection: Inspection,
}

/// The check of one data file: its drift, and its monitoring when the bundle carries a
/// monitoring reference (`None` when it does not), with the monitoring charts.
#[derive(Debug)]
pub struct DriftCheck {
    pub data: PathBuf,
    pub result: Result<DriftReport, String>,
    pub monitoring: Option<Result<MonitorReport, String>>,
    monitor_charts: Vec<NamedChart<OverChunks>>,
}

enum Work {
    Drift(DriftCheck),
}

/// A running server watched through its `/metrics`.
#[derive(Debug)]
pub struct Live {
    pub url: String,
    /// The last scrape, or why it failed.
    pub last: Option<Result<LiveMetrics, String>>,
    pending: Option<mpsc::Receiver<Result<LiveMetrics, String>>>,
    asked: Option<std::time::Instant>,
}

/// How often the Live server tab reads `/metrics`.
const LIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The viewer's state.
pub struct Viewer {
    pub bundle: Option<Opened>,
    /// Why the last bundle could not be opened.
    pub error: Option<String>,
    pub tab: Tab,
    pub drift: Option<DriftCheck>,
    pub live: Option<Live>,
    /// The URL typed in the Live server tab.
    live_url: String,
    pending: Option<(String, mpsc::Receiver<Work>)>,
    charts: BTreeMap<String, Result<egui::TextureHandle, String>>,
    fonts_ready: bool,
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("bundle", &self.bundle.as_ref().map(|b| &b.files.source))
            .field("error", &self.error)
            .field("tab", &self.tab)
            .finish_non_exhaustive()
    }
}

impl Default for Viewer {
    fn default() -> Self {
        Viewer {
            bundle: None,
            error: None,
            tab: Tab::Card,
            drift: None,
            live: None,
            live_url: "http://127.0.0.1:8080/metrics".into(),
            pending: None,
            charts: BTreeMap::new(),
            fonts_ready: false,
        }
    }
}

/// Whether a path looks like a bundle (an archive or a folder) rather than data.
pub fn is_bundle_path(path: &Path) -> bool {
    path.is_dir() || bundle::is_archive_path(path)
}

impl Viewer {
    /// Opens a bundle, replacing the one shown. A bundle that cannot be read shows its error.
    pub fn open(&mut self, path: &Path) {
        self.charts.clear();
        self.drift = None;
        match bundle::read(path) {
            Ok(files) => {
                let inspection = bundle::inspect_files(&files, None);
                self.bundle = Some(Opened {
                    files: Arc::new(files),
                    inspection,
                });
                self.error = None;
                self.tab = Tab::Card;
            }
            Err(e) => {
                self.bundle = None;
                self.error = Some(e.to_string());
            }
        }
    }

    /// Starts a drift check of `data` against the open bundle's profile, on a worker thread.
    pub fn check_drift(&mut self, data: &Path) {
        let Some(opened) = &self.bundle else {
            self.error = Some("open a bundle first, then a data file to check".into());
            return;
        };
        let files = Arc::clone(&opened.files);
        let verification = opened.inspection.verification.clone();
        let data = data.to_path_buf();
        let (send, receive) = mpsc::channel();
        let label = format!("Checking {} for drift…", file_name(&data));
        std::thread::spawn(move || {
            let source = TableSource::File {
                path: data.clone(),
                options: Default::default(),
            };
            let job = lathe_core::job::Job::silent();
            let result = bundle::check_drift_source(
                &files,
                &verification,
                &source,
                &DriftOptions::default(),
                &job,
            )
            .map_err(|e| e.to_string());
            // The bundle's model on the data, against its monitoring reference (as `lathe
            // bundle monitor` with its defaults).
            let monitoring = files.get(bundle::MONITOR).map(|_| {
                lathe_core::api::MonitorRequest {
                    model: Some(files.source.display().to_string()),
                    column_drift: Some(false),
                    ..Default::default()
                }
                .into_options()
                .and_then(|options| {
                    bundle::monitor_verified(&files, &verification, &source, &options, &job)
                })
                .map_err(|e| e.to_string())
            });
            let monitor_charts = match &monitoring {
                Some(Ok(report)) => lathe_core::monitor::chart::charts(report),
                _ => Vec::new(),
            };
            let _ = send.send(Work::Drift(DriftCheck {
                data,
                result,
                monitoring,
                monitor_charts,
            }));
        });
        self.pending = Some((label, receive));
        self.tab = Tab::Drift;
    }

    /// Watches a running server's `/metrics` (the URL, or the server's address) in the Live
    /// server tab; the first read starts at once.
    pub fn watch(&mut self, url: &str) {
        self.live_url = url.to_owned();
        self.live = Some(Live {
            url: url.to_owned(),
            last: None,
            pending: None,
            asked: None,
        });
        self.tab = Tab::Live;
        self.scrape();
    }

    /// Reads `/metrics` on a worker thread, unless a read is under way.
    fn scrape(&mut self) {
        let Some(live) = &mut self.live else { return };
        if live.pending.is_some() {
            return;
        }
        let (send, receive) = mpsc::channel();
        let url = live.url.clone();
        std::thread::spawn(move || {
            let _ = send.send(lathe_core::serve::live::scrape(&url).map_err(|e| e.to_string()));
        });
        live.pending = Some(receive);
        live.asked = Some(std::time::Instant::now());
    }

    /// Takes a finished read, and starts the next one every [`LIVE_EVERY`].
    fn poll_live(&mut self, ctx: &egui::Context) {
        let Some(live) = &mut self.live else { return };
        if let Some(receive) = &live.pending {
            match receive.try_recv() {
                Ok(result) => {
                    live.last = Some(result);
                    live.pending = None;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => live.pending = None,
            }
        }
        if live.pending.is_none() && live.asked.is_none_or(|t| t.elapsed() >= LIVE_EVERY) {
            self.scrape();
        }
        ctx.request_repaint_after(std::time::Duration::from_millis(250));
    }

    /// Blocks until the Live server tab's read in flight is done (for tests).
    pub fn finish_live(&mut self) {
        if let Some(live) = &mut self.live
            && let Some(receive) = live.pending.take()
            && let Ok(result) = receive.recv()
        {
            live.last = Some(result);
        }
    }

    /// Blocks until background work is done (for tests and scripted use).
    pub fn finish_pending(&mut self) {
        if let Some((_, receive)) = self.pending.take()
            && let Ok(work) = receive.recv()
        {
            self.take(work);
        }
    }

    fn take(&mut self, work: Work) {
        match work {
            Work::Drift(check) => {
                self.charts.retain(|k, _| !k.starts_with("monitor:"));
                self.drift = Some(check);
            }
        }
    }

    fn poll(&mut self, ctx: &egui::Context) {
        let Some((_, receive)) = &self.pending else {
            return;
        };
        match receive.try_recv() {
            Ok(work) => {
                self.pending = None;
                self.take(work);
            }
            Err(mpsc::TryRecvError::Empty) => {
                ctx.request_repaint_after(std::time::Duration::from_millis(100));
            }
            Err(mpsc::TryRecvError::Disconnected) => self.pending = None,
        }
    }

    /// Opens dropped files: a bundle opens, a data file is checked for drift.
    fn dropped(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for path in dropped {
            if is_bundle_path(&path) {
                self.open(&path);
            } else {
                self.check_drift(&path);
            }
        }
    }

    /// Draws the whole viewer.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if !self.fonts_ready {
            // The charts' DejaVu Sans as every family's fallback: reports hold arrows, dashes
            // and signs egui's own fonts lack. It takes effect from the next frame.
            let families = [egui::FontFamily::Proportional, egui::FontFamily::Monospace]
                .into_iter()
                .map(|family| egui::epaint::text::InsertFontFamily {
                    family,
                    priority: egui::epaint::text::FontPriority::Lowest,
                })
                .collect();
            ctx.add_font(egui::epaint::text::FontInsert::new(
                "DejaVu Sans",
                egui::FontData::from_static(lathe_core::chart::FONT),
                families,
            ));
            self.fonts_ready = true;
            ctx.request_repaint();
            return;
        }
        self.poll(&ctx);
        self.poll_live(&ctx);
        self.dropped(&ctx);
        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Lathe bundle viewer");
                ui.separator();
                if ui.button("Open bundle…").clicked()
                    && let Some(path) = rfd::FileDialog::new()
                        .add_filter("Lathe bundle", &["gz", "tgz"])
                        .pick_file()
                {
                    self.open(&path);
                }
                if ui.button("Open bundle folder…").clicked()
                    && let Some(path) = rfd::FileDialog::new().pick_folder()
                {
                    self.open(&path);
                }
                if self.bundle.is_some()
                    && ui.button("Check data for drift…").clicked()
                    && let Some(path) = rfd::FileDialog::new()
                        .add_filter(
                            "Data",
                            &["csv", "tsv", "parquet", "json", "ndjson", "arrow", "ipc"],
                        )
                        .pick_file()
                {
                    self.check_drift(&path);
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(error) = &self.error {
                banner(
                    ui,
                    false,
                    "Cannot open the bundle",
                    std::slice::from_ref(error),
                );
            }
            if self.bundle.is_none() {
                if self.error.is_none() {
                    ui.add_space(40.0);
                    ui.vertical_centered(|ui| {
                        ui.heading("Open a deployment bundle");
                        ui.label("Drop a .tar.gz bundle or its folder here, or use Open bundle…");
                        ui.label("Then drop a CSV or Parquet file to check it for drift.");
                    });
                }
                return;
            }
            self.verification(ui);
            ui.horizontal(|ui| {
                for tab in Tab::ALL {
                    if ui.selectable_label(self.tab == tab, tab.label()).clicked() {
                        self.tab = tab;
                    }
                }
            });
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| match self.tab {
                    Tab::Card => self.card(ui),
                    Tab::Manifest => self.manifest(ui),
                    Tab::Charts => self.charts(ui),
                    Tab::Profile => self.profile(ui),
                    Tab::Drift => self.drift_view(ui),
                    Tab::Monitoring => self.monitoring_view(ui),
                    Tab::Live => self.live_view(ui),
                });
        });
    }

    fn verification(&self, ui: &mut egui::Ui) {
        let Some(opened) = &self.bundle else { return };
        let v = &opened.inspection.verification;
        let model = v.model.clone().unwrap_or_else(|| opened.files.root.clone());
        if v.ok {
            let signature = match v.signature.status {
                SignatureStatus::Valid => format!(
                    "signed by {}",
                    v.signature.fingerprint.as_deref().unwrap_or("?")
                ),
                _ => "not signed".to_owned(),
            };
            banner(
                ui,
                true,
                &format!("Verified: {model}"),
                &[format!(
                    "All {} files match SHA256SUMS and the manifest; {signature}.",
                    v.files.len()
                )],
            );
        } else {
            let mut lines: Vec<String> = v
                .files
                .iter()
                .filter(|f| f.status != FileStatus::Ok)
                .map(|f| {
                    format!(
                        "{}: {}",
                        f.path,
                        f.detail.as_deref().unwrap_or(f.status.name())
                    )
                })
                .collect();
            if !matches!(
                v.signature.status,
                SignatureStatus::Valid | SignatureStatus::Absent
            ) {
                lines.push(format!("Signature: {}", v.signature.detail));
            }
            banner(ui, false, &format!("Verification failed: {model}"), &lines);
        }
    }

    fn card(&self, ui: &mut egui::Ui) {
        let Some(opened) = &self.bundle else { return };
        match &opened.inspection.card {
            Some(card) => markdown(ui, card),
            None => {
                ui.label("This bundle has no MODEL_CARD.md.");
            }
        }
    }

    fn manifest(&self, ui: &mut egui::Ui) {
        let Some(opened) = &self.bundle else { return };
        let Some(m) = &opened.inspection.manifest else {
            ui.label("manifest.json cannot be read.");
            return;
        };
        ui.heading("Model");
        egui::Grid::new("model").striped(true).show(ui, |ui| {
            row(ui, "Name", &m.model.name);
            row(ui, "Version", &m.model.version.to_string());
            row(ui, "Task", &m.model.task);
            row(ui, "Target", m.model.target.as_deref().unwrap_or("—"));
            row(
                ui,
                "Features",
                &format!(
                    "{}: {}",
                    m.model.features.len(),
                    m.model.features.join(", ")
                ),
            );
            row(ui, "Model SHA-256", &m.model.sha256);
            row(ui, "Size", &format!("{} bytes", m.model.size_bytes));
            row(ui, "Created", &m.created);
            row(ui, "Written by", &format!("Lathe {}", m.lathe_version));
        });
        ui.heading("Lineage");
        egui::Grid::new("lineage").striped(true).show(ui, |ui| {
            let d = |r: &Option<bundle::DatasetRef>| {
                r.as_ref()
                    .map(|d| format!("{}@{}  (SHA-256 {})", d.name, d.version, d.sha256))
                    .unwrap_or_else(|| "—".into())
            };
            row(
                ui,
                "Run",
                &m.lineage
                    .run
                    .as_ref()
                    .map(|r| format!("{} {}", r.id, r.source_run_id.as_deref().unwrap_or("")))
                    .unwrap_or_else(|| "—".into()),
            );
            row(ui, "Training data", &d(&m.lineage.training_dataset));
            row(ui, "Evaluation data", &d(&m.lineage.evaluation_dataset));
            row(ui, "Reference data", &d(&m.lineage.reference_dataset));
        });
        ui.heading("Metrics");
        if m.metrics.is_empty() {
            ui.label("No evaluation in this bundle.");
        } else {
            egui::Grid::new("metrics").striped(true).show(ui, |ui| {
                for (k, v) in &m.metrics {
                    row(ui, k, &format!("{v:.4}"));
                }
            });
        }
        ui.heading("Signature");
        let v = &opened.inspection.verification.signature;
        egui::Grid::new("signature").striped(true).show(ui, |ui| {
            row(ui, "Status", v.status.name());
            row(
                ui,
                "Key fingerprint",
                v.fingerprint.as_deref().unwrap_or("—"),
            );
            row(ui, "Detail", &v.detail);
        });
        ui.heading("Files");
        egui::Grid::new("files").striped(true).show(ui, |ui| {
            ui.strong("Path");
            ui.strong("Size");
            ui.strong("SHA-256");
            ui.strong("Check");
            ui.end_row();
            let checks: BTreeMap<&str, FileStatus> = opened
                .inspection
                .verification
                .files
                .iter()
                .map(|f| (f.path.as_str(), f.status))
                .collect();
            for f in &m.files {
                ui.label(&f.path);
                ui.label(f.size.to_string());
                ui.monospace(&f.sha256[..16]);
                let status = checks
                    .get(f.path.as_str())
                    .copied()
                    .unwrap_or(FileStatus::Ok);
                let color = if status == FileStatus::Ok { GREEN } else { RED };
                ui.label(RichText::new(status.name()).color(color));
                ui.end_row();
            }
        });
    }

    fn charts(&mut self, ui: &mut egui::Ui) {
        let Some(opened) = &self.bundle else { return };
        let paths = opened.inspection.charts.clone();
        if paths.is_empty() {
            ui.label("This bundle has no charts.");
            return;
        }
        for path in paths {
            let name = path
                .trim_start_matches("charts/")
                .trim_end_matches(".svg")
                .replace('_', " ");
            let texture = self.charts.entry(path.clone()).or_insert_with(|| {
                let svg = opened.files.get(&path).unwrap_or_default();
                rasterise(svg).map(|image| {
                    ui.ctx()
                        .load_texture(path.clone(), image, egui::TextureOptions::LINEAR)
                })
            });
            egui::CollapsingHeader::new(name)
                .default_open(true)
                .show(ui, |ui| match texture {
                    Ok(t) => {
                        ui.add(
                            egui::Image::from_texture(&*t)
                                .max_width(ui.available_width().min(900.0))
                                .fit_to_original_size(1.0),
                        );
                    }
                    Err(e) => {
                        ui.label(RichText::new(format!("cannot draw {path}: {e}")).color(RED));
                    }
                });
        }
    }

    fn profile(&self, ui: &mut egui::Ui) {
        let Some(opened) = &self.bundle else { return };
        let Some(p) = &opened.inspection.profile else {
            ui.label("This bundle has no monitoring/reference_profile.json: it was exported without a reference dataset.");
            return;
        };
        ui.label(format!(
            "Reference: {} ({} rows, SHA-256 {}). Numeric columns with many values keep 1,001 quantiles; the others exact counts.",
            p.dataset, p.rows, &p.sha256.get(..16).unwrap_or(&p.sha256)
        ));
        egui::Grid::new("profile").striped(true).show(ui, |ui| {
            for h in [
                "Column", "Kind", "Values", "Missing", "Min", "Median", "Max", "Mean", "Std",
                "Kept as",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for c in &p.columns {
                ui.label(&c.name);
                ui.label(match c.kind {
                    Kind::Numeric => "numeric",
                    Kind::Categorical => "categorical",
                });
                ui.label(c.count.to_string());
                ui.label(c.missing.to_string());
                let median = c
                    .quantiles
                    .as_ref()
                    .and_then(|q| q.get(q.len() / 2).copied());
                for v in [c.min, median, c.max, c.mean, c.std] {
                    ui.label(
                        v.map(lathe_core::display::number)
                            .unwrap_or_else(|| "—".into()),
                    );
                }
                ui.label(match (&c.values, &c.quantiles) {
                    (Some(v), _) => format!("{} exact counts", v.len()),
                    (_, Some(q)) => format!("{} quantiles", q.len()),
                    _ => "—".into(),
                });
                ui.end_row();
            }
        });
        for s in &p.skipped {
            ui.label(format!("Not profiled: {}: {}", s.name, s.reason));
        }
    }

    /// The Live server tab: a URL to watch, the server's totals, and each feature's live
    /// drift beside its reference profile.
    fn live_view(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("Server metrics");
            ui.add(egui::TextEdit::singleline(&mut self.live_url).desired_width(360.0))
                .labelled_by(label.id);
            if ui.button("Watch").clicked() {
                let url = self.live_url.clone();
                self.watch(&url);
            }
        });
        let Some(live) = &self.live else {
            ui.label("Start the bundle with `lathe serve BUNDLE --metrics`, then watch its /metrics here.");
            return;
        };
        let m = match &live.last {
            None => {
                ui.label(format!("Reading {}…", live.url));
                return;
            }
            Some(Err(e)) => {
                banner(
                    ui,
                    false,
                    "Cannot read the server's metrics",
                    std::slice::from_ref(e),
                );
                return;
            }
            Some(Ok(m)) => m,
        };
        ui.label(format!(
            "{}: {} requests ({} errors), {} rows predicted, {}, {} queued.",
            m.url, m.requests, m.errors, m.rows, m.latency_text, m.queue_depth
        ));
        if m.features.is_empty() {
            ui.label("No live drift yet: the server has predicted no rows, or its bundle has no reference profile.");
            return;
        }
        let verdict = format!(
            "{} of {} features drifted over the last {} rows served",
            m.drifted,
            m.features.len(),
            m.window_rows
        );
        ui.label(RichText::new(verdict).strong().color(if m.drifted > 0 {
            Color32::from_rgb(0xc0, 0x39, 0x2b)
        } else {
            Color32::from_rgb(0x2e, 0x7d, 0x32)
        }));
        if !m.outputs.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label("Model outputs against its outputs on the evaluation data:");
                for o in &m.outputs {
                    let text = format!(
                        "{} {} ({} {})",
                        o.feature,
                        if o.drifted { "drifted" } else { "stable" },
                        o.method,
                        o.score_text
                    );
                    if o.drifted {
                        ui.colored_label(Color32::from_rgb(0xc0, 0x39, 0x2b), text);
                    } else {
                        ui.label(text);
                    }
                }
            });
        }
        let profile = self
            .bundle
            .as_ref()
            .and_then(|b| b.inspection.profile.as_ref());
        egui::Grid::new("live").striped(true).show(ui, |ui| {
            for h in [
                "Feature",
                "Reference median",
                "Reference mean",
                "Method",
                "Live score",
                "Verdict",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for f in &m.features {
                let column = profile.and_then(|p| p.columns.iter().find(|c| c.name == f.feature));
                let median = column
                    .and_then(|c| c.quantiles.as_ref())
                    .and_then(|q| q.get(q.len() / 2).copied());
                ui.label(&f.feature);
                for v in [median, column.and_then(|c| c.mean)] {
                    ui.label(
                        v.map(lathe_core::display::number)
                            .unwrap_or_else(|| "—".into()),
                    );
                }
                ui.label(&f.method);
                ui.label(&f.score_text);
                if f.drifted {
                    ui.colored_label(Color32::from_rgb(0xc0, 0x39, 0x2b), "drifted");
                } else {
                    ui.label("stable");
                }
                ui.end_row();
            }
        });
    }

    fn monitoring_view(&mut self, ui: &mut egui::Ui) {
        if let Some((label, _)) = &self.pending {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(label);
            });
            return;
        }
        let Some(check) = &self.drift else {
            ui.label("Drop a CSV or Parquet file of production data here, or use Check data for drift…, to estimate the model's performance on it without labels.");
            return;
        };
        let report = match &check.monitoring {
            None => {
                ui.label("This bundle has no monitoring/monitor_reference.json: it was exported without an evaluation dataset holding the target.");
                return;
            }
            Some(Err(e)) => {
                banner(
                    ui,
                    false,
                    &format!("Cannot monitor {}", file_name(&check.data)),
                    std::slice::from_ref(e),
                );
                return;
            }
            Some(Ok(r)) => r,
        };
        let c = &report.chunking;
        let verdict = match report.alerts.len() {
            0 => format!("No alerts in {}", file_name(&check.data)),
            1 => format!("1 alert in {}", file_name(&check.data)),
            n => format!("{n} alerts in {}", file_name(&check.data)),
        };
        let mut lines = vec![format!(
            "Performance estimated without labels (CBPE) over {} analysis chunks, against {} reference chunks.",
            c.analysis_chunks, c.reference_chunks
        )];
        lines.extend(
            report
                .alerts
                .iter()
                .take(6)
                .map(|a| format!("{} in {}", a.metric, a.chunk)),
        );
        lines.extend(report.warnings.iter().cloned());
        banner(ui, report.alerts.is_empty(), &verdict, &lines);
        for (index, figure) in check.monitor_charts.iter().enumerate() {
            let key = format!("monitor:{}", figure.key);
            let texture = self.charts.entry(key.clone()).or_insert_with(|| {
                figure
                    .chart
                    .svg()
                    .map_err(|e| e.to_string())
                    .and_then(|svg| rasterise(svg.as_bytes()))
                    .map(|image| {
                        ui.ctx()
                            .load_texture(key.clone(), image, egui::TextureOptions::LINEAR)
                    })
            });
            let rows = figure.chart.analysis_rows(report);
            let alerts = rows.iter().filter(|r| r.alert).count();
            egui::CollapsingHeader::new(format!(
                "{}{}",
                figure.chart.title,
                if alerts > 0 {
                    format!(" — {alerts} alerting chunks")
                } else {
                    String::new()
                }
            ))
            // The first chart, and every one with an alert, open.
            .default_open(index == 0 || alerts > 0)
            .show(ui, |ui| {
                match texture {
                    Ok(t) => {
                        ui.add(
                            egui::Image::from_texture(&*t)
                                .max_width(ui.available_width().min(900.0))
                                .fit_to_original_size(1.0),
                        );
                    }
                    Err(e) => {
                        ui.label(RichText::new(format!("cannot draw the chart: {e}")).color(RED));
                    }
                }
                egui::Grid::new(format!("monitor-{}", figure.key))
                    .striped(true)
                    .show(ui, |ui| {
                        for h in [
                            "Chunk",
                            "Rows",
                            figure.chart.series.as_str(),
                            "Band",
                            "Realised",
                            "Thresholds",
                            "",
                        ] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for r in &rows {
                            ui.label(&r.chunk);
                            ui.label(r.rows.to_string());
                            ui.label(&r.value);
                            ui.label(&r.band);
                            ui.label(&r.realized);
                            ui.label(&r.thresholds);
                            if r.alert {
                                ui.label(RichText::new("ALERT").color(RED).strong());
                            } else {
                                ui.label("");
                            }
                            ui.end_row();
                        }
                    });
            });
        }
    }

    fn drift_view(&self, ui: &mut egui::Ui) {
        if let Some((label, _)) = &self.pending {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(label);
            });
            return;
        }
        let Some(check) = &self.drift else {
            ui.label("Drop a CSV or Parquet file here, or use Check data for drift…, to test it against the bundle's reference profile.");
            return;
        };
        let report = match &check.result {
            Ok(r) => r,
            Err(e) => {
                banner(
                    ui,
                    false,
                    &format!("Cannot check {}", file_name(&check.data)),
                    std::slice::from_ref(e),
                );
                return;
            }
        };
        let verdict = format!(
            "{}: {} of {} columns drifted in {} ({} rows)",
            if report.dataset_drift {
                "Dataset drift"
            } else {
                "No dataset drift"
            },
            report.drifted_columns,
            report.columns.len(),
            file_name(&check.data),
            report.current.rows
        );
        banner(
            ui,
            !report.dataset_drift,
            &verdict,
            &[format!(
                "Reference: {} ({} rows).",
                report.reference.name, report.reference.rows
            )],
        );
        egui::Grid::new("drift").striped(true).show(ui, |ui| {
            for h in ["Column", "Method", "Score", "Threshold", "Drift", "Effect"] {
                ui.strong(h);
            }
            ui.end_row();
            for c in &report.columns {
                ui.label(&c.name);
                ui.label(c.method.name()).on_hover_text(&c.method_reason);
                ui.label(lathe_core::display::number(c.score));
                ui.label(lathe_core::display::number(c.threshold));
                if c.drifted {
                    ui.label(RichText::new("DRIFT").color(RED).strong());
                } else {
                    ui.label(RichText::new("ok").color(GREEN));
                }
                ui.label(&c.effect.text);
                ui.end_row();
            }
        });
        for s in &report.skipped {
            ui.label(format!("Not tested: {}: {}", s.name, s.reason));
        }
        for n in &report.schema.only_in_reference {
            ui.label(format!("Schema drift: '{n}' is missing from the data"));
        }
    }
}

const GREEN: Color32 = Color32::from_rgb(0x2e, 0x7d, 0x4f);
const RED: Color32 = Color32::from_rgb(0xc0, 0x39, 0x2b);

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn row(ui: &mut egui::Ui, key: &str, value: &str) {
    ui.strong(key);
    ui.label(value);
    ui.end_row();
}

/// A coloured block: a title and its lines.
fn banner(ui: &mut egui::Ui, ok: bool, title: &str, lines: &[String]) {
    let (fill, stroke) = if ok {
        (Color32::from_rgb(0xe9, 0xf5, 0xee), GREEN)
    } else {
        (Color32::from_rgb(0xfd, 0xec, 0xea), RED)
    };
    egui::Frame::new()
        .fill(fill)
        .stroke(egui::Stroke::new(1.0, stroke))
        .inner_margin(10.0)
        .corner_radius(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(title).strong().size(16.0).color(stroke));
            for line in lines {
                ui.label(RichText::new(line).color(Color32::from_rgb(0x1b, 0x24, 0x30)));
            }
        });
    ui.add_space(6.0);
}

/// Draws the card's Markdown: headings, bullets, tables and paragraphs; the YAML front matter
/// folded.
pub fn markdown(ui: &mut egui::Ui, text: &str) {
    let mut body = text;
    if let Some(rest) = text.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---\n")
    {
        egui::CollapsingHeader::new("Front matter (YAML)")
            .default_open(false)
            .show(ui, |ui| {
                ui.monospace(&rest[..end]);
            });
        body = &rest[end + 5..];
    }
    let mut table: Vec<Vec<String>> = Vec::new();
    let flush = |ui: &mut egui::Ui, table: &mut Vec<Vec<String>>, n: usize| {
        if table.is_empty() {
            return;
        }
        egui::Grid::new(("card-table", n))
            .striped(true)
            .show(ui, |ui| {
                for (i, cells) in table.iter().enumerate() {
                    for c in cells {
                        if i == 0 {
                            ui.strong(c);
                        } else {
                            ui.label(c);
                        }
                    }
                    ui.end_row();
                }
            });
        table.clear();
    };
    for (n, line) in body.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('|') {
            let cells: Vec<String> = t
                .replace("\\|", "\u{1f}")
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('\u{1f}', "|"))
                .collect();
            if !cells
                .iter()
                .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
            {
                table.push(cells);
            }
            continue;
        }
        flush(ui, &mut table, n);
        let plain = |s: &str| s.replace("**", "").replace('`', "");
        if let Some(h) = t.strip_prefix("# ") {
            ui.heading(RichText::new(plain(h)).size(22.0));
        } else if let Some(h) = t.strip_prefix("## ") {
            ui.add_space(8.0);
            ui.heading(plain(h));
        } else if let Some(h) = t.strip_prefix("### ") {
            ui.add_space(4.0);
            ui.label(RichText::new(plain(h)).strong());
        } else if let Some(item) = t.strip_prefix("- ") {
            ui.label(format!("•  {}", plain(item)));
        } else if !t.is_empty() {
            ui.label(plain(t).replace('*', ""));
        }
    }
    flush(ui, &mut table, usize::MAX);
}

/// An SVG chart as an image, text drawn with the font the charts were made with.
pub fn rasterise(svg: &[u8]) -> Result<egui::ColorImage, String> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    options
        .fontdb_mut()
        .load_font_data(lathe_core::chart::FONT.to_vec());
    options.fontdb_mut().set_sans_serif_family("DejaVu Sans");
    options.font_family = "DejaVu Sans".into();
    let tree = usvg::Tree::from_data(svg, &options).map_err(|e| e.to_string())?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| "the chart has no size".to_owned())?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    Ok(egui::ColorImage::from_rgba_premultiplied(
        [size.width() as usize, size.height() as usize],
        pixmap.data(),
    ))
}
