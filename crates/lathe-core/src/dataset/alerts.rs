//! Data-quality alerts, named as ydata-profiling names them, with its default thresholds:
//! - `constant` (one distinct value), `unique` (every value distinct), `empty` (no rows),
//!   `duplicates` (any duplicate row);
//! - `missing`, `zeros`, `infinite`: more than 1% of rows;
//! - `skewed`: |skewness| > 20;
//! - `high_cardinality`: a text column with more than 50 distinct values;
//! - `imbalance`: a categorical column whose normalised entropy leaves 1 − H/ln k > 0.5;
//! - `uniform`: the chi-squared test that the values are uniform gives p > 0.999 (over numpy's
//!   "auto" histogram for numbers, over the value counts for categories);
//! - `high_correlation`: |Pearson r| > 0.9;
//! - Lathe's own `pii_like`: a text column whose sampled values mostly look like e-mail
//!   addresses, phone numbers, IBANs, payment card numbers (Luhn-checked) or IP addresses.
//!
//! "Categorical", as in ydata-profiling: a text column with at most 50 distinct values, or a
//! numeric one with at most 5 (which then gets no `zeros` or `skewed` alert).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every alert kind a profile raises (the list above), for the policies that name them.
pub const KINDS: &[&str] = &[
    "constant",
    "unique",
    "empty",
    "duplicates",
    "missing",
    "zeros",
    "infinite",
    "skewed",
    "high_cardinality",
    "imbalance",
    "uniform",
    "high_correlation",
    "pii_like",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Alert {
    pub kind: String,
    pub columns: Vec<String>,
    /// The measure behind the alert: a share, a count, a coefficient, or the kind of PII.
    #[cfg_attr(feature = "ts", ts(type = "number | string | null"))]
    pub value: Value,
}

pub const SHARE_THRESHOLD: f64 = 0.01;
pub const SKEWNESS_THRESHOLD: f64 = 20.0;
pub const CARDINALITY_THRESHOLD: u64 = 50;
pub const IMBALANCE_THRESHOLD: f64 = 0.5;
pub const CORRELATION_THRESHOLD: f64 = 0.9;
/// ydata-profiling's `vars.num.low_categorical_threshold`: a numeric column with at most this
/// many distinct values is categorical for the alerts (no `zeros`, no `skewed`; `imbalance` and
/// `uniform` over its value counts).
pub const LOW_CATEGORICAL_THRESHOLD: u64 = 5;
/// ydata-profiling's `chi_squared_threshold` (numeric and categorical).
pub const UNIFORM_P_THRESHOLD: f64 = 0.999;
/// How many values of a text column are looked at for PII, and the share that must match.
pub const PII_SAMPLE: usize = 1000;
pub const PII_SHARE: f64 = 0.6;

/// The kind of personal data a value looks like, if any.
pub fn pii_kind(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if is_email(v) {
        Some("email")
    } else if v.parse::<std::net::IpAddr>().is_ok() {
        Some("ip_address")
    } else if is_iban(v) {
        Some("iban")
    } else if is_payment_card(v) {
        Some("payment_card")
    } else if is_phone(v) {
        Some("phone")
    } else {
        None
    }
}

fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    let tld = domain.rsplit('.').next().unwrap_or("");
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !v.contains(char::is_whitespace)
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_iban(v: &str) -> bool {
    let s: String = v.chars().filter(|c| *c != ' ').collect();
    let b = s.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    // ISO 13616: move the first four characters to the end, letters to numbers, mod 97 = 1.
    let mut remainder = 0u32;
    for &c in b[4..].iter().chain(&b[..4]) {
        let digits = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c.to_ascii_uppercase() - b'A') + 10
        };
        remainder = if digits >= 10 {
            (remainder * 100 + digits) % 97
        } else {
            (remainder * 10 + digits) % 97
        };
    }
    remainder == 1
}

fn is_payment_card(v: &str) -> bool {
    let digits: Vec<u32> = v
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Digits with the punctuation phone numbers are written with, and a `+` or a separator (so a
/// plain number stored as text is not taken for a phone number), but not a date.
fn is_phone(v: &str) -> bool {
    if is_date_like(v) {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    v.chars()
        .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
        && (7..=15).contains(&digits)
        && (v.starts_with('+') || v.contains([' ', '-', '(', '.']))
}

/// `2024-12-31`, `31.12.2024`, `12/31/2024`: three digit groups of 4-2-2 or 2-2-4 joined by one
/// separator.
fn is_date_like(v: &str) -> bool {
    let Some(sep) = v.chars().find(|c| "-./".contains(*c)) else {
        return false;
    };
    let parts: Vec<&str> = v.split(sep).collect();
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    parts
        .iter()
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && (lengths == [4, 2, 2] || lengths == [2, 2, 4])
}

/// The PII kind most of `values` share, when at least [`PII_SHARE`] of them do.
pub fn pii_like<'a>(values: impl Iterator<Item = &'a str>) -> Option<(&'static str, f64)> {
    let mut seen = 0usize;
    let mut kinds: Vec<(&'static str, usize)> = Vec::new();
    for v in values.take(PII_SAMPLE) {
        seen += 1;
        if let Some(kind) = pii_kind(v) {
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => kinds.push((kind, 1)),
            }
        }
    }
    let (kind, n) = kinds.into_iter().max_by_key(|(_, n)| *n)?;
    let share = n as f64 / seen as f64;
    (share >= PII_SHARE).then_some((kind, share))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_personal_data() {
        for (value, kind) in [
            ("ana.lima@example.org", Some("email")),
            ("not an @ email", None),
            ("192.168.10.4", Some("ip_address")),
            ("2001:db8::1", Some("ip_address")),
            ("GB82 WEST 1234 5698 7654 32", Some("iban")),
            ("GB82 WEST 1234 5698 7654 33", None),
            ("4111 1111 1111 1111", Some("payment_card")),
            ("4111 1111 1111 1112", None),
            ("+44 20 7946 0958", Some("phone")),
            ("(555) 010-4477", Some("phone")),
            ("12345678", None),
            ("1970-01-01", None),
            ("31.12.2024", None),
            ("12/31/2024", None),
            ("Europe", None),
        ] {
            assert_eq!(pii_kind(value), kind, "{value}");
        }
    }

    #[test]
    fn a_column_is_pii_like_when_most_values_are() {
        let emails = ["a@x.io", "b@y.io", "c@z.io", "n/a"];
        assert_eq!(
            pii_like(emails.iter().copied()).map(|(k, _)| k),
            Some("email")
        );
        let mixed = ["a@x.io", "hello", "world", "n/a"];
        assert_eq!(pii_like(mixed.iter().copied()), None);
    }
}
