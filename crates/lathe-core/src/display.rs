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
