//! The text tests of the column expectations, with the semantics of the functions Great
//! Expectations' pandas engine calls: Python's `str(float)`, `json.loads`,
//! `datetime.strptime`, and SQL's `LIKE` (which GX evaluates only in a database).

use std::borrow::Cow;

use regex::Regex;

/// Python's `str(x)` of a float (`repr`): the shortest digits that round-trip, in scientific
/// notation when the exponent is below -4 or at least 16 (`1e-05`, `1e+16`), else positional
/// with at least one decimal (`100.0`).
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-7".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let e_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{e_sign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, frac) = digits.split_at(point as usize);
        format!("{whole}.{frac}")
    };
    format!("{sign}{text}")
}

/// Whether Python's `json.loads` accepts `text`: JSON with surrounding whitespace, plus the
/// `NaN`, `Infinity` and `-Infinity` constants Python's decoder allows.
pub fn json_parseable(text: &str) -> bool {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return true;
    }
    // Python's constants, replaced by `null` outside strings, then tried again.
    if !(text.contains("NaN") || text.contains("Infinity")) {
        return false;
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let constant = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|k| rest.starts_with(k));
        match constant {
            Some(k) => {
                out.push_str("null");
                rest = &rest[k.len()..];
            }
            None => {
                in_string = c == '"';
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    serde_json::from_str::<serde::de::IgnoredAny>(&out).is_ok()
}

/// A SQL `LIKE` pattern (`%` any run, `_` one character; no escape character), matched
/// case-sensitively as PostgreSQL and the SQL standard do.
#[derive(Debug, Clone)]
pub struct Like(Regex);

impl Like {
    pub fn new(pattern: &str) -> Result<Like, String> {
        let mut re = String::from("(?s)^");
        for c in pattern.chars() {
            match c {
                '%' => re.push_str(".*"),
                '_' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        Regex::new(&re)
            .map(Like)
            .map_err(|e| format!("the LIKE pattern {pattern:?} cannot be used: {e}"))
    }

    pub fn matches(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

/// `datetime.strptime(value, format)` of Python 3's `_strptime`: the format becomes a regular
/// expression (whitespace matches any run of whitespace, letters match in any case), the whole
/// value must match it, and the fields must make a real date (the 29th of February only in a
/// leap year; the year 1900 when none is given).
#[derive(Debug, Clone)]
pub struct Strptime(Regex);

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn names(full: &[&str], abbreviated: bool) -> String {
    let mut all: Vec<String> = full
        .iter()
        .map(|n| {
            if abbreviated {
                n[..3].to_owned()
            } else {
                (*n).to_owned()
            }
        })
        .collect();
    // Python sorts by length, longest first, so the alternation prefers the longest name.
    all.sort_by_key(|n| std::cmp::Reverse(n.len()));
    all.join("|")
}

impl Strptime {
    /// The format as a matcher; an error names a directive Python's `strptime` does not know
    /// (or that depends on the locale, which Lathe does not reproduce).
    pub fn new(format: &str) -> Result<Strptime, String> {
        let mut re = String::from("(?i)^");
        let mut chars = format.chars().peekable();
        let mut seen: Vec<char> = Vec::new();
        while let Some(c) = chars.next() {
            if c == '%' {
                let Some(d) = chars.next() else {
                    return Err("the format ends with a lone '%'".into());
                };
                let body: Cow<str> = match d {
                    'd' => r"3[01]|[12]\d|0[1-9]|[1-9]| [1-9]".into(),
                    'f' => r"[0-9]{1,6}".into(),
                    'H' => r"2[0-3]|[0-1]\d|\d".into(),
                    'I' => r"1[0-2]|0[1-9]|[1-9]| [1-9]".into(),
                    'G' => r"\d\d\d\d".into(),
                    'j' => {
                        r"36[0-6]|3[0-5]\d|[12]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9]".into()
                    }
                    'm' => r"1[0-2]|0[1-9]|[1-9]".into(),
                    'M' => r"[0-5]\d|\d".into(),
                    'S' => r"6[0-1]|[0-5]\d|\d".into(),
                    'U' | 'W' => r"5[0-3]|[0-4]\d|\d".into(),
                    'w' => r"[0-6]".into(),
                    'u' => r"[1-7]".into(),
                    'V' => r"5[0-3]|0[1-9]|[1-4]\d|\d".into(),
                    'y' => r"\d\d".into(),
                    'Y' => r"\d\d\d\d".into(),
                    'z' => r"[+-]\d\d:?[0-5]\d(?::?[0-5]\d(?:\.\d{1,6})?)?|(?-i:Z)".into(),
                    'B' => names(&MONTHS, false).into(),
                    'b' | 'h' => names(&MONTHS, true).into(),
                    'A' => names(&DAYS, false).into(),
                    'a' => names(&DAYS, true).into(),
                    'p' => "am|pm".into(),
                    'Z' => "utc|gmt".into(),
                    '%' => {
                        re.push('%');
                        continue;
                    }
                    other => {
                        return Err(format!(
                            "the directive %{other} is not supported (locale-dependent or unknown to Python's strptime)"
                        ));
                    }
                };
                if seen.contains(&d) && d != '%' {
                    return Err(format!(
                        "the directive %{d} appears twice (Python's strptime refuses it too)"
                    ));
                }
                seen.push(d);
                let group = match d {
                    'h' => 'b',
                    d => d,
                };
                re.push_str(&format!("(?P<{}>{body})", group_name(group)));
            } else if c.is_whitespace() {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                re.push_str(r"\s+");
            } else {
                re.push_str(&regex::escape(&c.to_string()));
            }
        }
        re.push('$');
        Regex::new(&re)
            .map(Strptime)
            .map_err(|e| format!("cannot use the format: {e}"))
    }

    /// Whether `value` parses with the format into a valid date and time.
    pub fn matches(&self, value: &str) -> bool {
        let Some(caps) = self.0.captures(value) else {
            return false;
        };
        let num = |name: char| -> Option<i64> {
            caps.name(group_name(name))
                .and_then(|m| m.as_str().trim().parse().ok())
        };
        let year = match (num('Y'), num('y')) {
            (Some(y), _) => y,
            (None, Some(y)) if y <= 68 => 2000 + y,
            (None, Some(y)) => 1900 + y,
            (None, None) => num('G').unwrap_or(1900),
        };
        let month = if let Some(m) = num('m') {
            m
        } else if let Some(name) = caps.name(group_name('B')).or(caps.name(group_name('b'))) {
            let lower = name.as_str().to_lowercase();
            MONTHS
                .iter()
                .position(|m| m.starts_with(&lower[..3]))
                .map_or(1, |i| i as i64 + 1)
        } else {
            1
        };
        let day = num('d').unwrap_or(1);
        if let Some(s) = num('S')
            && s > 59
        {
            return false; // datetime() refuses the leap seconds the pattern lets through
        }
        if let Some(j) = num('j') {
            let leap = is_leap(year);
            if j > if leap { 366 } else { 365 } && num('m').is_none() {
                return false;
            }
            return true;
        }
        (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
    }
}

fn group_name(directive: char) -> &'static str {
    match directive {
        'd' => "d",
        'f' => "f",
        'H' => "H",
        'I' => "I",
        'G' => "G",
        'j' => "j",
        'm' => "m",
        'M' => "M",
        'S' => "S",
        'U' => "U",
        'W' => "W",
        'w' => "w",
        'u' => "u",
        'V' => "V",
        'y' => "y",
        'Y' => "Y",
        'z' => "z",
        'B' => "B",
        'b' => "b",
        'A' => "A",
        'a' => "a",
        'p' => "p",
        'Z' => "Z",
        _ => "other",
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whether `dateutil.parser.parse` reads `value` as a date or time (through `dtparse`, a port
/// of dateutil's parser).
pub fn dateutil_parseable(value: &str) -> bool {
    std::panic::catch_unwind(|| dtparse::parse(value).is_ok()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_prints_them() {
        for (x, want) in [
            (1.0, "1.0"),
            (10.9, "10.9"),
            (-1.1, "-1.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (4.8598, "4.8598"),
            (103.67, "103.67"),
            (100.0, "100.0"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(py_float(x), want, "{x}");
        }
    }

    #[test]
    fn json_is_parsed_as_python_parses_it() {
        for (text, want) in [
            ("1", true),
            (" {\"a\": [1, 2]} ", true),
            ("NaN", true),
            ("[1, -Infinity]", true),
            ("\"NaN\"", true),
            ("ok", false),
            ("{'a': 1}", false),
            ("", false),
            ("[1,]", false),
        ] {
            assert_eq!(json_parseable(text), want, "{text}");
        }
    }

    #[test]
    fn like_is_sql_like() {
        assert!(Like::new("user1%").unwrap().matches("user17@example.org"));
        assert!(!Like::new("user1%").unwrap().matches("User17"));
        assert!(Like::new("plan-_").unwrap().matches("plan-3"));
        assert!(!Like::new("plan-_").unwrap().matches("plan-33"));
        assert!(Like::new("a.b%").unwrap().matches("a.bc"));
        assert!(!Like::new("a.b%").unwrap().matches("axbc"));
    }

    #[test]
    fn strptime_is_pythons() {
        let ymd = Strptime::new("%Y-%m-%d").unwrap();
        assert!(ymd.matches("2012-01-01"));
        assert!(ymd.matches("2012-1-1"));
        assert!(!ymd.matches("2012-02-30"));
        assert!(ymd.matches("2012-02-29"));
        assert!(!ymd.matches("2013-02-29"));
        assert!(!ymd.matches("2012-01-01 "));
        assert!(Strptime::new("%d %B %Y").unwrap().matches("3   march 2020"));
        assert!(Strptime::new("%H:%M:%S").unwrap().matches("23:59:59"));
        assert!(!Strptime::new("%H:%M:%S").unwrap().matches("23:59:60"));
        assert!(!Strptime::new("%Y").unwrap().matches("1970-01-01"));
        assert!(Strptime::new("%c").is_err());
    }
}
