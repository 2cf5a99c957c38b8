//! What a running server's `/metrics` says, read back for a live panel (the desktop's "Serve
//! locally", `lathe-viewer --metrics URL`): totals, latency percentiles from the histogram,
//! the queue, and the live drift of each feature and of the model's outputs, drifted first.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A server started from a front end: where it listens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServeStatus {
    /// `NAME@VERSION`.
    pub model: String,
    pub source: String,
    /// `http://127.0.0.1:PORT`.
    pub http: String,
    /// `127.0.0.1:PORT`.
    pub grpc: Option<String>,
    /// The inference URL a client posts to.
    pub infer_url: String,
    pub metrics_url: String,
    /// Whether the bundle has a reference profile, so live drift is computed.
    pub live_drift: bool,
    /// Whether it has a monitoring reference, so the drift of the model's outputs is too.
    pub prediction_drift: bool,
}

/// A local server and its latest scrape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServeLive {
    pub status: ServeStatus,
    pub metrics: LiveMetrics,
}

/// One feature's live drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveFeature {
    pub feature: String,
    pub method: String,
    pub score: f64,
    pub drifted: bool,
    /// The score as every front end prints it.
    pub score_text: String,
}

/// Requests answered with one status code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CodeCount {
    pub code: u16,
    pub count: u64,
}

/// A scrape of `/metrics`, summed over protocols.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveMetrics {
    pub url: String,
    pub requests: u64,
    /// Requests answered with anything but 200.
    pub errors: u64,
    pub codes: Vec<CodeCount>,
    pub rows: u64,
    /// Latency percentiles in milliseconds, interpolated in the histogram's buckets as
    /// Prometheus' `histogram_quantile` does (none before the first request).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// `p50 0.21 ms · p99 1.6 ms`, or `no requests yet`.
    pub latency_text: String,
    pub queue_depth: i64,
    pub window_rows: u64,
    /// Drifted first, then by name.
    pub features: Vec<LiveFeature>,
    /// Inputs drifted.
    pub drifted: usize,
    /// The model's outputs (`score`, `prediction`), drifted first.
    pub outputs: Vec<LiveFeature>,
}

/// One sample of the exposition text.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the samples of Prometheus' text format (comments skipped).
fn samples(text: &str) -> std::result::Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || format!("line {}: {line:?} is not a sample", i + 1);
        let (name, labels, rest) = match line.find(['{', ' ']) {
            Some(at) if line.as_bytes()[at] == b'{' => {
                let close = line[at..].find('}').ok_or_else(bad)? + at;
                (
                    &line[..at],
                    parse_labels(&line[at + 1..close]).ok_or_else(bad)?,
                    &line[close + 1..],
                )
            }
            Some(at) => (&line[..at], Vec::new(), &line[at..]),
            None => return Err(bad()),
        };
        let value = rest.split_whitespace().next().ok_or_else(bad)?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| bad())?,
        };
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(out)
}

fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        chars.next()?; // '='
        if chars.next()? != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.push((key.trim().to_owned(), value));
    }
}

/// The `q` quantile of a cumulative histogram (`(upper bound, count)` sorted by bound), by
/// linear interpolation inside the bucket that holds it.
fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(lower.0);
            }
            let inside = count - lower.1;
            let share = if inside > 0.0 {
                (rank - lower.1) / inside
            } else {
                0.0
            };
            return Some(lower.0 + (bound - lower.0) * share);
        }
        lower = (bound, count);
    }
    None
}

/// Summarises a scrape of `url`.
pub fn parse(url: &str, text: &str) -> Result<LiveMetrics> {
    let all = samples(text).map_err(|detail| Error::Compute {
        context: "cannot read the server's metrics",
        detail: format!("{url}: {detail}"),
    })?;
    if !all.iter().any(|s| s.name.starts_with("lathe_")) {
        return Err(Error::BadArgument {
            argument: "metrics",
            detail: format!(
                "{url} has no lathe_ series: is it a `lathe serve --metrics` endpoint?"
            ),
        });
    }
    let sum = |name: &str| -> f64 { all.iter().filter(|s| s.name == name).map(|s| s.value).sum() };
    let mut codes: Vec<CodeCount> = Vec::new();
    for s in all.iter().filter(|s| s.name == "lathe_requests_total") {
        let code = s.label("code").and_then(|c| c.parse().ok()).unwrap_or(0);
        match codes.iter_mut().find(|c| c.code == code) {
            Some(c) => c.count += s.value as u64,
            None => codes.push(CodeCount {
                code,
                count: s.value as u64,
            }),
        }
    }
    codes.sort_by_key(|c| c.code);
    let requests: u64 = codes.iter().map(|c| c.count).sum();
    let errors = codes
        .iter()
        .filter(|c| c.code != 200)
        .map(|c| c.count)
        .sum();
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for s in all
        .iter()
        .filter(|s| s.name == "lathe_request_duration_seconds_bucket")
    {
        let Some(le) = s.label("le").and_then(|l| match l {
            "+Inf" => Some(f64::INFINITY),
            l => l.parse().ok(),
        }) else {
            continue;
        };
        match buckets.iter_mut().find(|(b, _)| *b == le) {
            Some(b) => b.1 += s.value,
            None => buckets.push((le, s.value)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ms = |q: f64| quantile(&buckets, q).map(|s| s * 1e3);
    let (p50_ms, p99_ms) = (ms(0.5), ms(0.99));
    let latency_text = match (p50_ms, p99_ms) {
        (Some(a), Some(b)) => format!(
            "p50 {} ms · p99 {} ms",
            crate::display::number(a),
            crate::display::number(b)
        ),
        _ => "no requests yet".to_owned(),
    };
    let features = drift_series(&all, "feature");
    let outputs = drift_series(&all, "prediction");
    Ok(LiveMetrics {
        url: url.to_owned(),
        requests,
        errors,
        codes,
        rows: sum("lathe_rows_total") as u64,
        p50_ms,
        p99_ms,
        latency_text,
        queue_depth: sum("lathe_queue_depth") as i64,
        window_rows: sum("lathe_drift_window_rows") as u64,
        drifted: features.iter().filter(|f| f.drifted).count(),
        features,
        outputs,
    })
}

/// The drift series `lathe_{what}_drift_score` and `lathe_{what}_drifted`, labelled by
/// `feature` (inputs) or `output` (predictions): drifted first, then by name.
fn drift_series(all: &[Sample], what: &str) -> Vec<LiveFeature> {
    let (score, flag) = (
        format!("lathe_{what}_drift_score"),
        format!("lathe_{what}_drifted"),
    );
    let key = if what == "feature" {
        "feature"
    } else {
        "output"
    };
    let mut out: Vec<LiveFeature> = all
        .iter()
        .filter(|s| s.name == score)
        .map(|s| {
            let feature = s.label(key).unwrap_or_default().to_owned();
            let method = s.label("method").unwrap_or_default().to_owned();
            let drifted = all
                .iter()
                .any(|d| d.name == flag && d.label(key) == Some(&feature) && d.value == 1.0);
            LiveFeature {
                score_text: crate::display::number(s.value),
                feature,
                method,
                score: s.value,
                drifted,
            }
        })
        .collect();
    out.sort_by(|a, b| b.drifted.cmp(&a.drifted).then(a.feature.cmp(&b.feature)));
    out
}

/// Reads and summarises a server's `/metrics` (a URL ending in `/metrics`, or the server's
/// address).
pub fn scrape(url: &str) -> Result<LiveMetrics> {
    let url = if url.trim_end_matches('/').ends_with("/metrics") {
        url.to_owned()
    } else {
        format!("{}/metrics", url.trim_end_matches('/'))
    };
    let fetched = url.clone();
    let text = crate::remote::run(async move {
        let unreachable = |e: reqwest::Error| Error::BadArgument {
            argument: "metrics",
            detail: format!("cannot read {fetched}: {e}; is the server running?"),
        };
        let response = reqwest::Client::new()
            .get(&fetched)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(Error::BadArgument {
                argument: "metrics",
                detail: format!(
                    "{fetched} answered {}; start the server with --metrics",
                    response.status()
                ),
            });
        }
        response.text().await.map_err(unreachable)
    })?;
    parse(&url, &text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_scrape_reads_back_totals_percentiles_and_drift() {
        let text = r#"# HELP lathe_requests Answered requests.
# TYPE lathe_requests counter
lathe_requests_total{protocol="v2",code="200"} 90
lathe_requests_total{protocol="invocations",code="200"} 8
lathe_requests_total{protocol="v2",code="400"} 2
lathe_request_duration_seconds_bucket{le="0.001",protocol="v2"} 50
lathe_request_duration_seconds_bucket{le="0.002",protocol="v2"} 92
lathe_request_duration_seconds_bucket{le="+Inf",protocol="v2"} 92
lathe_request_duration_seconds_bucket{le="0.001",protocol="invocations"} 0
lathe_request_duration_seconds_bucket{le="0.002",protocol="invocations"} 8
lathe_request_duration_seconds_bucket{le="+Inf",protocol="invocations"} 8
lathe_rows_total 1234
lathe_queue_depth 3
lathe_drift_window_rows 1000
lathe_feature_drift_score{feature="b \"x\"",method="ks"} 0.5
lathe_feature_drift_score{feature="a",method="wasserstein"} 0.25
lathe_feature_drifted{feature="b \"x\"",method="ks"} 0
lathe_feature_drifted{feature="a",method="wasserstein"} 1
# EOF
"#;
        let m = parse("http://x/metrics", text).unwrap();
        assert_eq!(
            (m.requests, m.errors, m.rows, m.queue_depth),
            (100, 2, 1234, 3)
        );
        assert_eq!(
            m.codes,
            [
                CodeCount {
                    code: 200,
                    count: 98
                },
                CodeCount {
                    code: 400,
                    count: 2
                }
            ]
        );
        // 100 requests: 50 within 1 ms, 100 within 2 ms; the median is the 50th: 1 ms.
        assert!((m.p50_ms.unwrap() - 1.0).abs() < 1e-12);
        assert!((m.p99_ms.unwrap() - 1.98).abs() < 1e-12);
        assert_eq!(m.features[0].feature, "a");
        assert!(m.features[0].drifted);
        assert_eq!(m.features[1].feature, "b \"x\"");
        assert_eq!(m.drifted, 1);
        assert!(
            parse("u", "up 1\n")
                .unwrap_err()
                .to_string()
                .contains("no lathe_ series")
        );
        assert!(parse("u", "lathe_x{a=\"1\" 2\n").is_err());
    }
}
