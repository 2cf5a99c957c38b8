//! The drift report as one self-contained HTML file: no JavaScript, no external resources, no
//! raw data — the summary, the per-column table and the charts as inline SVG, readable offline
//! in any browser. Each column's chart sits in a `<details>` element, folded unless it drifted.

use std::fmt::Write as _;
use std::path::Path;

use super::{DriftReport, chart};
use crate::chart::{Figure, axis_number};
use crate::display::number;
use crate::report::{esc, head, inline};
use crate::{Error, Result};

/// The report as HTML text.
pub fn render(report: &DriftReport) -> Result<String> {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Drift: {} → {}", report.reference, report.current);
    h.push_str(&head(&title));
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
    if let Some(windows) = &report.windows {
        h.push_str("<h2>Drift over time</h2>");
        let _ = write!(
            h,
            "<p class=\"muted\" id=\"windows-summary\">{}</p>",
            esc(&windows.summary)
        );
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
