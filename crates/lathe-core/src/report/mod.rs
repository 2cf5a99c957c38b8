//! The scaffolding every self-contained HTML report shares (the drift report, a bundle's
//! evaluation and explanation pages): the stylesheet, escaping, and inline SVG. No JavaScript,
//! no external resources. Each capability writes its own report's content with these.

/// The one stylesheet of Lathe's HTML reports.
pub const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#1b2430;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#5b6675}.banner{padding:14px 18px;border-radius:8px;margin:16px 0;font-size:16px}
.drift{background:#fdecea;border:1px solid #e6a39b}.ok{background:#e9f5ee;border:1px solid #9fd0b2}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;border-bottom:1px solid #e3e8ee;text-align:left;vertical-align:top}
th{background:#f4f6f9;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.yes{color:#c0392b;font-weight:600}.no{color:#2e7d4f}
details{margin:6px 0;border:1px solid #e3e8ee;border-radius:6px;padding:6px 10px}summary{cursor:pointer;font-weight:600}
svg,img{max-width:100%;height:auto}.scroll{max-height:420px;overflow:auto;border:1px solid #e3e8ee;border-radius:6px}
figure{margin:12px 0}figcaption{font-size:12px}";

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
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
pub fn inline(svg: String) -> String {
    match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    }
}

/// The opening of a report page: doctype, title and the stylesheet, up to `<body>`.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_inlines() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(inline("<?xml version=\"1.0\"?>\n<svg/>".into()), "<svg/>");
        assert!(head("a<b").contains("<title>a&lt;b</title>"));
    }
}
