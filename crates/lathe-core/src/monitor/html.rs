//! The monitoring report as one self-contained HTML file, like the drift report: no
//! JavaScript, no external resources, no raw rows — the verdict, how the rows were chunked and
//! calibrated, each metric's chart over the chunks with the analysis chunks' numbers, and the
//! multivariate drift.

use std::fmt::Write as _;
use std::path::Path;

use super::{MonitorReport, chart};
use crate::chart::Figure;
use crate::report::{esc, head, inline};
use crate::{Error, Result};

/// The report as HTML text; `title` names what was monitored (`model on reference → analysis`).
pub fn render(report: &MonitorReport, title: &str) -> Result<String> {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Monitoring: {title}");
    h.push_str(&head(&title));
    let c = &report.chunking;
    let _ = write!(
        h,
        "<h1>{}</h1><div class=\"muted\">{} reference and {} analysis chunks · {} · written by Lathe {}</div>",
        esc(&title),
        c.reference_chunks,
        c.analysis_chunks,
        report.method_shown(),
        crate::LATHE_VERSION
    );
    let (class, verdict) = if report.alerts.is_empty() {
        ("ok", "No alerts".to_owned())
    } else {
        let n = report.alerts.len();
        (
            "drift",
            format!("{n} alert{}", if n == 1 { "" } else { "s" }),
        )
    };
    let _ = write!(
        h,
        "<div class=\"banner {class}\" id=\"verdict\"><b>{verdict}</b>"
    );
    if !report.alerts.is_empty() {
        let list: Vec<String> = report
            .alerts
            .iter()
            .map(|a| format!("{} in {}", a.metric, a.chunk))
            .collect();
        let _ = write!(h, ": {}", esc(&list.join(", ")));
    }
    h.push_str("</div>");
    if !report.warnings.is_empty() {
        h.push_str("<ul class=\"muted\">");
        for w in &report.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>");
    }
    for figure in chart::charts(report) {
        let f = &figure.chart;
        let _ = write!(h, "<h2 id=\"{}\">{}</h2>", esc(&figure.key), esc(&f.title));
        h.push_str(&inline(f.svg()?));
        let rows = f.analysis_rows(report);
        let _ = write!(
            h,
            "<details{}><summary>Analysis chunks</summary><table><thead><tr><th>chunk</th><th>rows</th><th>dates</th><th>{}</th><th>band</th><th>realised</th><th>thresholds</th><th>alert</th></tr></thead><tbody>",
            if rows.iter().any(|r| r.alert) {
                " open"
            } else {
                ""
            },
            esc(&f.series)
        );
        for r in rows {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td></tr>",
                esc(&r.chunk),
                r.rows,
                esc(&r.dates),
                r.value,
                r.band,
                r.realized,
                r.thresholds,
                if r.alert { "yes" } else { "no" },
                if r.alert { "alert" } else { "–" }
            );
        }
        h.push_str("</tbody></table></details>");
    }
    if let Some(prediction) = chart::charts(report)
        .into_iter()
        .find(|f| f.key == "prediction_drift")
    {
        h.push_str("<h2 id=\"column-drift\">Drifted features per analysis chunk</h2><table><thead><tr><th>chunk</th><th>drifted features (furthest past the threshold first)</th></tr></thead><tbody>");
        for r in prediction.chart.analysis_rows(report) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&r.chunk),
                if r.drifted_features.is_empty() {
                    "–".to_owned()
                } else {
                    esc(&r.drifted_features.join(", "))
                }
            );
        }
        h.push_str("</tbody></table>");
    }
    if report.components.is_some() {
        let _ = write!(
            h,
            "<p class=\"muted\">The reconstruction keeps {} principal components of {} features: {}.</p>",
            report.components.unwrap_or(0),
            report.multivariate_features.len(),
            esc(&report.multivariate_features.join(", "))
        );
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// Writes the report to `path`.
pub fn write(report: &MonitorReport, title: &str, path: &Path) -> Result<()> {
    let html = render(report, title)?;
    std::fs::write(path, html).map_err(|e| Error::write("write the HTML report", path, e))
}
