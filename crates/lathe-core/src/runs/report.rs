//! `lathe runs report`: a comparison of runs as one self-contained HTML page — the run table,
//! the params that differ, a chart per metric (decimated as the desktop draws them), the
//! params' importance and parallel coordinates — that opens anywhere without Lathe or a
//! network.

use std::fmt::Write as _;

use base64::Engine as _;

use super::chart::{LineOptions, line_chart, parallel_chart};
use super::compare::compare;
use super::importance::{ImportanceRequest, importance};
use crate::chart::Figure;
use crate::display::statistic;
use crate::report::{esc, head, inline};
use crate::{Error, Project, Result};

/// What a report shows.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The metrics charted, in this order (empty: every metric the runs logged, by name, at
    /// most [`MAX_CHARTS`]).
    pub metrics: Vec<String>,
    /// The metric importance and parallel coordinates read (default: the first charted).
    pub target: Option<String>,
    /// Whether a lower or a higher target is better (default: told from its name, as
    /// `runs importance` does; importance is left out, and said, when it cannot be).
    pub direction: Option<super::importance::MetricDirection>,
}

/// Charts drawn when no metric is named: beyond this a page is a wall of charts.
pub const MAX_CHARTS: usize = 12;

/// A chart whose SVG would be larger than this is embedded as a PNG instead: 1,000 runs of
/// 10,000 steps decimate to ~3,000 points each, ~40 MB as vector paths but ~200 KB as pixels.
const SVG_AT_MOST: usize = 1 << 20;

/// A written report.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub html: String,
    pub runs: usize,
    /// The metrics charted.
    pub charts: Vec<String>,
    /// Sections left out and why (no differing params, too few runs for importance…).
    pub notes: Vec<String>,
}

/// The report of `runs` (Lathe's ids, in the order shown).
pub fn report(project: &Project, runs: &[i64], options: &ReportOptions) -> Result<RunReport> {
    if runs.is_empty() {
        return Err(Error::bad_argument(
            "runs",
            "name at least one run to report on (or --filter)",
        ));
    }
    let cmp = compare(project, runs)?;
    let metrics: Vec<String> = if options.metrics.is_empty() {
        cmp.metrics.keys().take(MAX_CHARTS).cloned().collect()
    } else {
        for m in &options.metrics {
            if !cmp.metrics.contains_key(m) {
                return Err(Error::bad_argument(
                    "metric",
                    format!(
                        "none of these runs logged {m:?}; they logged: {}",
                        cmp.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        options.metrics.clone()
    };
    let mut notes = Vec::new();
    if options.metrics.is_empty() && cmp.metrics.len() > MAX_CHARTS {
        notes.push(format!(
            "{} of {} metrics charted (name others with --metric)",
            MAX_CHARTS,
            cmp.metrics.len()
        ));
    }
    let target = options.target.clone().or_else(|| metrics.first().cloned());

    let n = cmp.runs.len();
    let title = format!("Lathe: {n} run{} compared", if n == 1 { "" } else { "s" });
    let mut html = head(&title);
    let _ = write!(
        html,
        "<h1>{}</h1><p class=\"muted\">Project {} · written by Lathe {} · one file, no network needed</p>",
        esc(&title),
        esc(&project.name()?),
        env!("CARGO_PKG_VERSION")
    );

    // The runs, with each charted metric's latest value.
    let latest = |key: &str, run: i64| {
        cmp.metrics
            .get(key)
            .and_then(|ms| ms.iter().find(|m| m.run == run))
            .map_or_else(|| "–".to_owned(), |m| statistic(m.stat.last.0))
    };
    html.push_str("<h2>Runs</h2><div class=\"scroll\"><table><tr><th>ID</th><th>Run</th><th>Name</th><th>Experiment</th><th>Status</th>");
    for m in &metrics {
        let _ = write!(html, "<th>{}</th>", esc(m));
    }
    html.push_str("</tr>");
    for r in &cmp.runs {
        let _ = write!(
            html,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            r.id,
            esc(&r.source_run_id),
            esc(r.name.as_deref().unwrap_or("")),
            esc(&r.experiment),
            esc(&r.status)
        );
        for m in &metrics {
            let _ = write!(html, "<td class=\"n\">{}</td>", esc(&latest(m, r.id)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></div>");

    // Params: one row per run, a column per param that differs; the shared ones listed.
    html.push_str("<h2>Params that differ</h2>");
    if cmp.params.differing.is_empty() {
        html.push_str("<p class=\"muted\">These runs share every param.</p>");
    } else {
        html.push_str("<div class=\"scroll\"><table><tr><th>ID</th><th>Name</th>");
        for k in cmp.params.differing.keys() {
            let _ = write!(html, "<th>{}</th>", esc(k));
        }
        html.push_str("</tr>");
        for r in &cmp.runs {
            let _ = write!(
                html,
                "<tr><td class=\"n\">{}</td><td>{}</td>",
                r.id,
                esc(r.name.as_deref().unwrap_or(&r.source_run_id))
            );
            for values in cmp.params.differing.values() {
                let v = values.get(&r.id.to_string()).cloned().flatten();
                let _ = write!(html, "<td>{}</td>", esc(v.as_deref().unwrap_or("–")));
            }
            html.push_str("</tr>");
        }
        html.push_str("</table></div>");
    }
    if !cmp.params.same.is_empty() {
        let _ = write!(
            html,
            "<details><summary>{} params every run shares</summary><table>",
            cmp.params.same.len()
        );
        for (k, v) in &cmp.params.same {
            let _ = write!(html, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v));
        }
        html.push_str("</table></details>");
    }

    // A chart per metric, as the desktop draws it.
    html.push_str("<h2>Metrics</h2>");
    for m in &metrics {
        let chart = line_chart(
            project,
            runs,
            &LineOptions {
                metric: m.clone(),
                ..LineOptions::default()
            },
        )?;
        let _ = write!(
            html,
            "<figure>{}<figcaption class=\"muted\">{}: {} points, {} drawn</figcaption></figure>",
            embed(&chart, m, Some(chart.points_drawn))?,
            esc(m),
            crate::display::count(chart.points_in),
            crate::display::count(chart.points_drawn)
        );
    }

    // Importance, and the runs across their params.
    if let Some(target) = &target {
        html.push_str("<h2>Which params matter</h2>");
        let mut request = ImportanceRequest::new(target);
        request.runs = runs.to_vec();
        request.direction = options.direction;
        match importance(project, &request) {
            Ok(found) => {
                let _ = write!(
                    html,
                    "<p class=\"muted\">PED-ANOVA importance for {} ({}) over {} runs, with Pearson's r</p>\
                     <table style=\"width:auto;min-width:520px\"><tr><th>Param</th><th>Importance</th><th></th><th>Correlation</th></tr>",
                    esc(&found.metric),
                    found.direction.text(),
                    found.runs_used
                );
                for p in &found.importances {
                    let _ = write!(
                        html,
                        "<tr><td>{}</td><td class=\"n\">{:.3}</td><td><div style=\"background:#4a7bd0;height:10px;width:{:.0}px\"></div></td><td class=\"n\">{}</td></tr>",
                        esc(&p.param),
                        p.importance,
                        (p.importance * 240.0).clamp(0.0, 240.0),
                        p.correlation
                            .map_or_else(|| "–".to_owned(), |r| format!("{r:+.3}"))
                    );
                }
                html.push_str("</table>");
                for note in &found.notes {
                    let _ = write!(
                        html,
                        "<p class=\"muted\" style=\"font-size:13px\">{}</p>",
                        esc(note)
                    );
                }
            }
            Err(e) => {
                let note = format!("importance left out: {e}");
                let _ = write!(html, "<p class=\"muted\">{}</p>", esc(&note));
                notes.push(note);
            }
        }
        html.push_str("<h2>Parallel coordinates</h2>");
        match parallel_chart(project, runs, &[], target) {
            Ok(plot) => html.push_str(&embed(&plot, "parallel coordinates", None)?),
            Err(e) => {
                let note = format!("parallel coordinates left out: {e}");
                let _ = write!(html, "<p class=\"muted\">{}</p>", esc(&note));
                notes.push(note);
            }
        }
    }
    html.push_str("</body></html>\n");
    Ok(RunReport {
        html,
        runs: n,
        charts: metrics,
        notes,
    })
}

/// Writes the report of `runs` to `path` (an `.html` file, refused before anything is built
/// otherwise).
pub fn write(
    project: &Project,
    runs: &[i64],
    options: &ReportOptions,
    path: &std::path::Path,
) -> Result<RunReport> {
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
    {
        return Err(Error::bad_argument(
            "out",
            format!("{}: a report is an .html file", path.display()),
        ));
    }
    let report = report(project, runs, options)?;
    std::fs::write(path, &report.html)
        .map_err(|e| Error::write("write the runs report", path, e))?;
    Ok(report)
}

/// A figure inline: its SVG, or a PNG when the SVG would be too large to carry. `points`:
/// how many points it draws, when known — past [`SVG_AT_MOST`] at the ~15 bytes a point of
/// plotters' paths the SVG is not drawn at all (1,000 runs × 10,000 steps: 3 million points,
/// ~45 MB of SVG drawn only to be thrown away).
fn embed(figure: &impl Figure, what: &str, points: Option<u64>) -> Result<String> {
    if points.is_none_or(|n| n.saturating_mul(15) <= SVG_AT_MOST as u64) {
        let svg = figure.svg()?;
        if svg.len() <= SVG_AT_MOST {
            return Ok(inline(svg));
        }
    }
    let png = figure.png()?;
    Ok(format!(
        "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
        esc(what),
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}
