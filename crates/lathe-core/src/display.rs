//! How Lathe writes a number or a size for a person, in every front end: the CLI's text, the
//! HTML reports, the model card, the viewer, and (through the responses' `*_text` fields) the
//! desktop app. The one home of these rules, so that the same drift score reads the same
//! everywhere.

/// A score, statistic or metric: at most four decimals without trailing zeros (`0.0421`,
/// `0.5`, `12`), and below 0.001, where four decimals would keep at most one digit, three
/// significant digits in scientific notation (`8.95e-4`, `3.20e-7`); `—` when undefined (NaN),
/// `inf` / `-inf`.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.to_owned() }
    }
}

/// A statistic of a profile or comparison, or a logged metric value: integers in full with
/// thousands separators (`1,234`), other numbers with six significant digits (`0.123457`,
/// `1,234.57`), in scientific notation below 1e-4 or from 1e9 (`1.235e-5`); `NaN`, `inf` and
/// `-inf` by name (a logged NaN is a value worth seeing; an undefined statistic is absent).
pub fn statistic(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return grouped(&format!("{v:.0}"));
    }
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (5 - a.log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    grouped(text)
}

/// A profile value: a number as [`statistic`] writes it, text as it is, `–` when absent.
pub fn value(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "–".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), statistic),
        Some(other) => other.to_string(),
    }
}

/// A count with thousands separators: `1,234`.
pub fn count(n: u64) -> String {
    grouped(&n.to_string())
}

/// A count with its share of `total`: `8 (2.0%)`; a zero or an empty table plain.
pub fn count_with_share(n: u64, total: u64) -> String {
    if total == 0 || n == 0 {
        count(n)
    } else {
        format!("{} ({:.1}%)", count(n), n as f64 / total as f64 * 100.0)
    }
}

/// A change between two statistics: `+1,234 (+5.0%)`, `-0.5`.
pub fn change(delta: f64, relative: Option<f64>) -> String {
    let sign = if delta > 0.0 { "+" } else { "" };
    match relative {
        Some(r) => format!("{sign}{} ({sign}{:.1}%)", statistic(delta), r * 100.0),
        None => format!("{sign}{}", statistic(delta)),
    }
}

/// `1234567.5` → `1,234,567.5`: separators in the integer part of a plain number.
fn grouped(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(text.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// A duration for a caption: `0.42 s`, `12.3 s`, `2 min 5 s`; below 5 ms, `under 0.01 s`.
pub fn seconds(s: f64) -> String {
    if s < 0.005 {
        "under 0.01 s".into()
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let t = s.round() as u64;
        format!("{} min {} s", t / 60, t % 60)
    }
}

/// A size in binary units: `0 B`, `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: f64, expected: &str) {
        assert_eq!(number(v), expected, "number({v:e})");
    }

    #[test]
    fn numbers() {
        check(f64::NAN, "—");
        check(f64::INFINITY, "inf");
        check(f64::NEG_INFINITY, "-inf");
        check(0.0, "0");
        check(-0.0, "0");
        check(0.5, "0.5");
        check(0.04213, "0.0421");
        check(12.0, "12");
        check(-1.23456, "-1.2346");
        check(3.2e-7, "3.20e-7");
        check(-0.00001234, "-1.23e-5");
        check(0.001, "0.001");
        check(0.000895, "8.95e-4");
        check(0.00004999, "5.00e-5");
        check(123456.789, "123456.789");
    }

    #[test]
    fn statistics() {
        // The cases the desktop's own formatter was tested with, now the core's.
        for (v, want) in [
            (406.0, "406"),
            (1234567.0, "1,234,567"),
            (-1234.0, "-1,234"),
            (0.1234567, "0.123457"),
            (1234.5678, "1,234.57"),
            (123456.7, "123,457"),
            (23.514573, "23.5146"),
            (9.999996, "10"),
            (0.00001234, "1.234e-5"),
            (1.5e12, "1,500,000,000,000"),
            (1.5e12 + 0.5, "1.500e12"),
            (12345678901.5, "1.235e10"),
            (5140.0, "5,140"),
            (0.0, "0"),
            (-0.4570663, "-0.457066"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-inf"),
            (0.82758621, "0.827586"),
        ] {
            assert_eq!(statistic(v), want, "statistic({v:e})");
        }
        assert_eq!(value(None), "–");
        assert_eq!(value(Some(&serde_json::json!("ford"))), "ford");
        assert_eq!(value(Some(&serde_json::json!(3.25))), "3.25");
        assert_eq!(count_with_share(8, 406), "8 (2.0%)");
        assert_eq!(count_with_share(0, 406), "0");
        assert_eq!(count_with_share(3, 0), "3");
        assert_eq!(count(12345), "12,345");
        assert_eq!(change(1234.0, Some(0.05)), "+1,234 (+5.0%)");
        assert_eq!(change(-0.5, Some(-0.25)), "-0.5 (-25.0%)");
        assert_eq!(change(2.0, None), "+2");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds(0.001), "under 0.01 s");
        assert_eq!(seconds(0.42), "0.42 s");
        assert_eq!(seconds(12.34), "12.3 s");
        assert_eq!(seconds(119.6), "2 min 0 s");
        assert_eq!(seconds(125.2), "2 min 5 s");
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(bytes(3 * 1024u64.pow(5)), "3072.0 TiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(bytes(u64::MAX), "16777216.0 TiB");
    }
}
