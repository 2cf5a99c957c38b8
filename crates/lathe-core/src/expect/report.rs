//! A validation result as CI systems read it: JUnit XML (one testcase per expectation, a
//! failure for each unsuccessful one) and a Markdown summary for a pull-request comment.

use std::fmt::Write as _;

use serde_json::Value;

use super::{ExpectationResult, Validation};

/// The column (or columns) an expectation is about, for its name in a report.
pub fn subject(r: &ExpectationResult) -> String {
    let get = |k: &str| r.kwargs.get(k).and_then(Value::as_str);
    if let Some(c) = get("column") {
        return c.to_owned();
    }
    if let (Some(a), Some(b)) = (get("column_A"), get("column_B")) {
        return format!("{a}, {b}");
    }
    if let Some(Value::Array(list)) = r.kwargs.get("column_list") {
        return list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ");
    }
    "table".to_owned()
}

/// The arguments other than the columns, as `key=value` pairs.
pub fn arguments(r: &ExpectationResult) -> String {
    r.kwargs
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "column" | "column_A" | "column_B" | "column_list"
            )
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many unexpected values a one-line finding shows.
const EXAMPLES: usize = 5;

/// One line on what the expectation found: the observed value, or the unexpected count and
/// share with the first examples.
pub fn finding(r: &ExpectationResult) -> String {
    let o = &r.result;
    let mut parts = Vec::new();
    if let Some(v) = &o.observed_value
        && !v.is_null()
    {
        parts.push(format!("observed {}", short(v, 120)));
    }
    if let Some(n) = o.unexpected_count {
        let share = o
            .unexpected_percent
            .filter(|_| n > 0)
            .map(|p| format!(" ({p:.1}%)"))
            .unwrap_or_default();
        parts.push(format!("{} unexpected{share}", crate::display::count(n)));
    }
    if let Some(list) = &o.partial_unexpected_list
        && !list.is_empty()
    {
        let shown: Vec<String> = list.iter().take(EXAMPLES).map(|v| short(v, 40)).collect();
        let more = if list.len() > EXAMPLES { ", …" } else { "" };
        parts.push(format!("e.g. {}{more}", shown.join(", ")));
    }
    if let Some(list) = &o.partial_missing_list
        && !list.is_empty()
    {
        parts.push(format!(
            "missing {}",
            short(&Value::from(list.clone()), 120)
        ));
    }
    if let Some(d) = &o.details {
        parts.push(format!("details {}", short(d, 160)));
    }
    if parts.is_empty() {
        if r.success { "passed" } else { "failed" }.to_owned()
    } else {
        parts.join("; ")
    }
}

fn short(v: &Value, max: usize) -> String {
    let text = v.to_string();
    if text.chars().count() <= max {
        text
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows only these control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a `testsuites` with one `testsuite` (the suite) holding one `testcase` per
/// expectation, in order; an unsuccessful one carries a `failure` with what was found.
/// `timestamp` is `YYYY-MM-DDTHH:MM:SS` (UTC).
pub fn junit(v: &Validation, timestamp: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests = v.results.len();
    let failures = v.results.iter().filter(|r| !r.success).count();
    let name = xml_escape(&v.suite_name);
    // The attributes the JUnit schema (windyroad's JUnit.xsd, which Jenkins and GitLab read)
    // allows: none on `testsuites`; a timestamp without fractions or zone.
    out.push_str("<testsuites>\n");
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\" timestamp=\"{}\" hostname=\"localhost\" id=\"0\" package=\"lathe\">",
        xml_escape(timestamp)
    );
    let _ = writeln!(out, "    <properties/>");
    for (i, r) in v.results.iter().enumerate() {
        let case = format!("{:03} {} ({})", i + 1, r.expectation_type, subject(r));
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{name}\" time=\"0\"",
            xml_escape(&case)
        );
        if r.success {
            out.push_str("/>\n");
        } else {
            let message = finding(r);
            let _ = writeln!(out, ">");
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                xml_escape(&message),
                xml_escape(&r.expectation_type),
                xml_escape(&format!(
                    "{} on {} ({}): {}",
                    r.expectation_type,
                    subject(r),
                    arguments(r),
                    message
                ))
            );
            let _ = writeln!(out, "    </testcase>");
        }
    }
    out.push_str("    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n");
    out
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown summary: the verdict, the counts, then a table of the failed expectations
/// (all of them when none failed is not interesting: only the count is shown then).
pub fn markdown(v: &Validation) -> String {
    let s = &v.statistics;
    let mut out = String::new();
    let verdict = if v.success {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let _ = writeln!(
        out,
        "### Lathe check: {} {verdict}\n",
        md_cell(&v.suite_name)
    );
    let _ = writeln!(
        out,
        "{} of {} expectations passed, {} failed.\n",
        s.successful_expectations, s.evaluated_expectations, s.unsuccessful_expectations
    );
    if v.success {
        return out;
    }
    out.push_str("| # | Expectation | Column | Arguments | Found |\n|---|---|---|---|---|\n");
    for (i, r) in v.results.iter().enumerate().filter(|(_, r)| !r.success) {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} |",
            i + 1,
            r.expectation_type,
            md_cell(&subject(r)),
            md_cell(&arguments(r)),
            md_cell(&finding(r))
        );
    }
    out
}

/// The result as one self-contained HTML page (Lathe's report stylesheet, no script, no
/// external resource): the verdict, the counts, then every expectation with its arguments,
/// what it found and its unexpected examples; the failed ones first, each unfolded.
pub fn html(v: &Validation, data: &str) -> String {
    use crate::report::{esc, head};
    let s = &v.statistics;
    let title = format!("Checks: {}", v.suite_name);
    let mut h = head(&title);
    let _ = write!(
        h,
        "<h1>{}</h1><div class=\"muted\">on {} · written by Lathe {}</div>",
        esc(&title),
        esc(data),
        crate::LATHE_VERSION
    );
    let (class, verdict) = if v.success {
        ("ok", "Passed")
    } else {
        ("drift", "Failed")
    };
    let _ = write!(
        h,
        "<div class=\"banner {class}\"><b>{verdict}</b>: {} of {} expectations passed, {} failed.</div>",
        s.successful_expectations, s.evaluated_expectations, s.unsuccessful_expectations
    );
    h.push_str("<h2>Expectations</h2><table><thead><tr><th>#</th><th>expectation</th><th>column</th><th>arguments</th><th>result</th><th>found</th></tr></thead><tbody>");
    for (i, r) in v.results.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td class=\"n\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            i + 1,
            esc(&r.expectation_type),
            esc(&subject(r)),
            esc(&arguments(r)),
            if r.success { "no" } else { "yes" },
            if r.success { "passed" } else { "failed" },
            esc(&finding(r))
        );
    }
    h.push_str("</tbody></table>");
    let failed: Vec<(usize, &ExpectationResult)> = v
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.success)
        .collect();
    if !failed.is_empty() {
        h.push_str("<h2>Unexpected values of the failed expectations</h2>");
        for (i, r) in failed {
            let _ = write!(
                h,
                "<details open><summary>{} · {} ({})</summary>",
                i + 1,
                esc(&r.expectation_type),
                esc(&subject(r))
            );
            match &r.result.partial_unexpected_list {
                Some(list) if !list.is_empty() => {
                    h.push_str("<table><tbody>");
                    for value in list {
                        let _ = write!(h, "<tr><td>{}</td></tr>", esc(&value.to_string()));
                    }
                    h.push_str("</tbody></table>");
                }
                _ => {
                    let _ = write!(h, "<div class=\"muted\">{}</div>", esc(&finding(r)));
                }
            }
            h.push_str("</details>");
        }
    }
    h.push_str("</body></html>\n");
    h
}
