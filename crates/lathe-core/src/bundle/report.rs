//! The bundle's HTML reports besides drift's: the evaluation and the explanation, each one
//! self-contained page (inline SVG, no script), in the drift report's style.

use std::fmt::Write as _;

use crate::Result;
use crate::chart::Figure;
use crate::display::number;
use crate::explain::shap::ShapValues;
use crate::model::eval::Evaluation;
use crate::report::{STYLE, esc, inline};

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        esc(title)
    )
}

pub fn evaluation(e: &Evaluation) -> Result<String> {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Evaluation of {}</h1>", esc(&e.model));
    let _ = writeln!(
        b,
        "<p class=\"muted\">On {} ({} rows), target <code>{}</code>, {}.</p>",
        esc(&e.data),
        e.rows,
        esc(&e.target),
        e.task.name()
    );
    let _ = writeln!(
        b,
        "<h2>Metrics</h2><table><tr><th>Metric</th><th>Value</th></tr>"
    );
    for (name, value) in &e.metrics {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(name),
            number(*value)
        );
    }
    let _ = writeln!(b, "</table>");
    if !e.confusion_matrix.is_empty() {
        let _ = writeln!(
            b,
            "<h2>Confusion matrix</h2><table><tr><th>actual \\ predicted</th>"
        );
        for l in &e.labels {
            let _ = write!(b, "<th>{}</th>", esc(l));
        }
        let _ = writeln!(b, "</tr>");
        for (l, row) in e.labels.iter().zip(&e.confusion_matrix) {
            let _ = write!(b, "<tr><th>{}</th>", esc(l));
            for n in row {
                let _ = write!(b, "<td class=\"n\">{n}</td>");
            }
            let _ = writeln!(b, "</tr>");
        }
        let _ = writeln!(b, "</table>");
    }
    for name in crate::model::chart::available(e) {
        let c = crate::model::chart::chart(e, name)?;
        let _ = writeln!(
            b,
            "<h2>{}</h2>{}",
            esc(&name.replace('_', " ")),
            inline(c.svg()?)
        );
    }
    Ok(page(&format!("Evaluation of {}", e.model), &b))
}

pub fn explanation(s: &ShapValues, data: &str) -> Result<String> {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>SHAP values</h1>");
    let _ = writeln!(
        b,
        "<p class=\"muted\">{} rows of {data}, {} background rows, {} algorithm; explained output: {}; base value {}.</p>",
        s.rows.len(),
        s.background_rows,
        serde_json::to_value(s.algorithm)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        esc(&s.output.description),
        number(s.base_value)
    );
    let _ = writeln!(
        b,
        "<h2>Mean |SHAP| per feature</h2><table><tr><th>Feature</th><th>Mean |SHAP|</th></tr>"
    );
    for (name, value) in crate::explain::chart::mean_abs(s) {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&name),
            number(value)
        );
    }
    let _ = writeln!(b, "</table>");
    let _ = writeln!(b, "{}", inline(crate::explain::chart::shap_bar(s).svg()?));
    let _ = writeln!(
        b,
        "<h2>Beeswarm</h2>{}",
        inline(crate::explain::chart::beeswarm(s).svg()?)
    );
    Ok(page("SHAP values", &b))
}
