//! The drift report as one self-contained HTML file: no JavaScript, no external resources, no
//! raw data — the summary, the per-column table and the charts as inline SVG, readable offline
//! in any browser. Each column's chart sits in a `<details>` element, folded unless it drifted.

use std::fmt::Write as _;
use std::path::Path;

use super::{DriftReport, chart};
use crate::chart::{Figure, axis_number};
use crate::{Error, Result};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Drops the XML declaration plotters writes, so the SVG can sit inside HTML.
pub(crate) fn inline(svg: String) -> String {
    match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    }
}

pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v != 0.0 && v.abs() < 1e-4 {
        format!("{v:.3e}")
    } else {
        format!("{:.4}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#1b2430;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#5b6675}.banner{padding:14px 18px;border-radius:8px;margin:16px 0;font-size:16px}
.drift{background:#fdecea;border:1px solid #e6a39b}.ok{background:#e9f5ee;border:1px solid #9fd0b2}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;border-bottom:1px solid #e3e8ee;text-align:left;vertical-align:top}
th{background:#f4f6f9;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.yes{color:#c0392b;font-weight:600}.no{color:#2e7d4f}
details{margin:6px 0;border:1px solid #e3e8ee;border-radius:6px;padding:6px 10px}summary{cursor:pointer;font-weight:600}
svg{max-width:100%;height:auto}";

/// The report as HTML text.
pub fn render(report: &DriftReport) -> Result<String> {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Drift: {} → {}", report.reference, report.current);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><div class=\"muted\">reference {} rows · current {} rows · written by Lathe {}</div>",
        esc(&title),
        report.reference.rows,
        report.current.rows,
        crate::LATHE_VERSION
    );
    let (class, verdict) = if report.dataset_drift {
        ("drift", "Dataset drift detected")
    } else {
        ("ok", "No dataset drift")
    };
    let _ = write!(
        h,
        "<div class=\"banner {class}\"><b>{verdict}</b>: {} of {} columns drifted ({}%); the dataset drifts when at least {}% do.</div>",
        report.drifted_columns,
        report.columns.len(),
        axis_number(report.share_drifted * 100.0),
        axis_number(report.drift_share * 100.0)
    );
    if !report.columns.is_empty() {
        h.push_str("<h2>Scores</h2>");
        h.push_str(&inline(chart::scores(report).svg()?));
    }
    h.push_str("<h2>Columns</h2><table><thead><tr><th>column</th><th>kind</th><th>method</th><th>score</th><th>threshold</th><th>drift</th><th>reference n</th><th>current n</th><th>dropped (ref / cur)</th><th>effect</th></tr></thead><tbody>");
    for c in &report.columns {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td>{}</td></tr>",
            esc(&c.name),
            if c.kind == super::Kind::Numeric {
                "numeric"
            } else {
                "categorical"
            },
            esc(&c.method_reason),
            esc(c.method.score_label()),
            number(c.score),
            number(c.threshold),
            if c.drifted { "yes" } else { "no" },
            if c.drifted { "drift" } else { "no drift" },
            c.n_reference,
            c.n_current,
            c.dropped_non_finite.reference,
            c.dropped_non_finite.current,
            esc(&c.effect.text)
        );
    }
    h.push_str("</tbody></table>");
    if !report.skipped.is_empty()
        || !report.schema.only_in_reference.is_empty()
        || !report.schema.only_in_current.is_empty()
    {
        h.push_str("<h2>Not tested</h2><ul>");
        for s in &report.skipped {
            let _ = write!(h, "<li><b>{}</b>: {}</li>", esc(&s.name), esc(&s.reason));
        }
        for n in &report.schema.only_in_reference {
            let _ = write!(
                h,
                "<li><b>{}</b>: only in the reference (schema drift)</li>",
                esc(n)
            );
        }
        for n in &report.schema.only_in_current {
            let _ = write!(
                h,
                "<li><b>{}</b>: only in the current data (schema drift)</li>",
                esc(n)
            );
        }
        h.push_str("</ul>");
    }
    if report.windows.is_some() {
        h.push_str("<h2>Drift over time</h2>");
        h.push_str(&inline(chart::over_time(report, None)?.svg()?));
    }
    h.push_str("<h2>Distributions</h2>");
    for c in &report.columns {
        let figure = chart::distribution(report, &c.name)?;
        let _ = write!(
            h,
            "<details{}><summary>{} — {}</summary><p class=\"muted\">{} {} vs threshold {}; {}. {}</p>{}</details>",
            if c.drifted { " open" } else { "" },
            esc(&c.name),
            if c.drifted { "drift" } else { "no drift" },
            esc(c.method.score_label()),
            number(c.score),
            number(c.threshold),
            esc(&c.effect.text),
            esc(&c.method_reason),
            inline(figure.svg()?)
        );
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// Writes the report to `path`.
pub fn write(report: &DriftReport, path: &Path) -> Result<()> {
    let html = render(report)?;
    std::fs::write(path, html).map_err(|e| Error::write("write the HTML report", path, e))
}
