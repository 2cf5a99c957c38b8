//! An MLflow tracking server as a run source, read through its REST API (`/api/2.0/mlflow/`):
//! `experiments/search`, `runs/search` (paged, deleted runs included), `metrics/get-history`
//! (paged) for every metric of every run, and the registry (`registered-models/search`,
//! `model-versions/search`). The result is the same [`Snapshot`] the `mlflow.db` reader gives,
//! written by the same store, so a server and its own backend database import to the same
//! runs.
//!
//! Requests run `PARALLEL` at a time; a 429 or 5xx answer, a timeout or a dropped connection is
//! retried `RETRIES` times with a doubling pause (MLflow's `MLFLOW_HTTP_REQUEST_MAX_RETRIES`
//! and `MLFLOW_HTTP_REQUEST_TIMEOUT` set the retries and the seconds a request may take).
//! Credentials come from the variables MLflow's client reads — `MLFLOW_TRACKING_TOKEN`
//! (bearer), `MLFLOW_TRACKING_USERNAME` and
//! `MLFLOW_TRACKING_PASSWORD` (basic) — `MLFLOW_TRACKING_SERVER_CERT_PATH` names a certificate
//! authority (PEM) to trust besides the system's, and `MLFLOW_TRACKING_INSECURE_TLS=true`
//! accepts any certificate; none of them is written into the project or shown in an error.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::store::LatestPoints;
use super::{
    Changes, Point, Snapshot, SourceExperiment, SourceModel, SourceModelVersion, SourceRun,
};
use crate::job::Job;
use crate::{Error, Result};

/// MLflow's REST API, below the server's URL.
const API: &str = "api/2.0/mlflow/";
/// The histories of one metric of up to `BULK_RUNS` runs in one answer of at most
/// `HISTORY_PAGE` points (the endpoint MLflow's own UI uses; one query on the server instead of
/// one per run).
const BULK: &str = "ajax-api/2.0/mlflow/metrics/get-history-bulk";
const BULK_RUNS: usize = 100;
/// Requests in flight at once.
const PARALLEL: usize = 8;
/// Retries of a request that failed for a reason that may pass.
const RETRIES: u32 = 4;
/// Runs per `runs/search` page (MLflow's maximum is 50,000; a page of this many is a few MB).
const RUNS_PAGE: u32 = 1_000;
/// Points per `metrics/get-history` page.
const HISTORY_PAGE: u32 = 25_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `text` names an MLflow tracking server (an `http://` or `https://` URL).
pub fn is_server(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The server's URL as Lathe records it: no credentials, no query, no trailing slash.
pub fn display_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::BadArgument {
        argument: "MLflow server URL",
        detail: format!("{url:?} is not a URL: {e}"),
    })?;
    let mut shown = parsed.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    Ok(shown.as_str().trim_end_matches('/').to_owned())
}

/// A client of one server.
struct Client {
    http: reqwest::Client,
    /// `…/`: endpoints are [`API`] or [`BULK`] paths below it.
    base: String,
    shown: String,
    auth: Auth,
    /// How long one request may take, and how many times a failure that may pass is retried:
    /// MLflow's own `MLFLOW_HTTP_REQUEST_TIMEOUT` and `MLFLOW_HTTP_REQUEST_MAX_RETRIES` when
    /// set, else [`REQUEST_TIMEOUT`] and [`RETRIES`].
    timeout: Duration,
    retries: u32,
}

/// A whole number from MLflow's variable `name`, or `default` when it is not set.
fn env_number(name: &'static str, default: u64) -> Result<u64> {
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| Error::BadArgument {
            argument: name,
            detail: format!("{text:?} is not a whole number"),
        }),
    }
}

enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

impl Client {
    fn new(url: &str) -> Result<Client> {
        let shown = display_url(url)?;
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::BadArgument {
            argument: "MLflow server URL",
            detail: e.to_string(),
        })?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let auth = if let Some(token) = env("MLFLOW_TRACKING_TOKEN") {
            Auth::Bearer(token)
        } else if let (Some(user), Some(password)) = (
            env("MLFLOW_TRACKING_USERNAME")
                .or_else(|| (!parsed.username().is_empty()).then(|| parsed.username().to_owned())),
            env("MLFLOW_TRACKING_PASSWORD").or_else(|| parsed.password().map(str::to_owned)),
        ) {
            Auth::Basic(user, password)
        } else {
            Auth::None
        };
        let insecure = env("MLFLOW_TRACKING_INSECURE_TLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let timeout = Duration::from_secs(
            env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", REQUEST_TIMEOUT.as_secs())?.max(1),
        );
        let retries = u32::try_from(env_number(
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
            u64::from(RETRIES),
        )?)
        .unwrap_or(u32::MAX);
        let mut http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .danger_accept_invalid_certs(insecure)
            .user_agent(concat!("lathe/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = env("MLFLOW_TRACKING_SERVER_CERT_PATH") {
            for authority in server_authorities(&path)? {
                http = http.add_root_certificate(authority);
            }
        }
        let http = http.build().map_err(|e| Error::Remote {
            url: shown.clone(),
            detail: format!("cannot start an HTTP client: {e}"),
        })?;
        Ok(Client {
            http,
            base: format!("{shown}/"),
            shown,
            auth,
            timeout,
            retries,
        })
    }

    /// `request` with the credentials, when there are any.
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Auth::None => request,
            Auth::Bearer(t) => request.bearer_auth(t),
            Auth::Basic(u, p) => request.basic_auth(u, Some(p)),
        }
    }

    fn error(&self, detail: impl Into<String>) -> Error {
        Error::Remote {
            url: self.shown.clone(),
            detail: detail.into(),
        }
    }

    /// A JSON request to `endpoint` (below `api/2.0/mlflow/`; `GET` with `query`, or `POST`
    /// with `body`), retried while the failure may pass.
    async fn call(
        &self,
        endpoint: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        self.request(&format!("{API}{endpoint}"), query, body, false)
            .await
            .map(Option::unwrap_or_default)
    }

    /// [`Client::call`] of any path below the server's URL; `None` for a 404 when
    /// `missing_ok` (an endpoint an older server lacks).
    async fn request(
        &self,
        endpoint: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        missing_ok: bool,
    ) -> Result<Option<Value>> {
        let url = format!("{}{endpoint}", self.base);
        let mut pause = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = match body {
                Some(b) => self.http.post(&url).json(b),
                None => self.http.get(&url).query(query),
            };
            request = self.authorized(request);
            let outcome: std::result::Result<(), String> = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await;
                    match (status.as_u16(), text) {
                        (404, _) if missing_ok => return Ok(None),
                        (200, Ok(text)) => {
                            return parse_json(&text).map(Some).map_err(|_| {
                                self.error(format!(
                                    "{endpoint} did not answer JSON: is this an MLflow tracking server? (it answered {:?})",
                                    text.chars().take(80).collect::<String>()
                                ))
                            });
                        }
                        (429 | 500..=599, _) => Err(format!("{endpoint} answered {status}")),
                        (401, _) => {
                            return Err(self.error(
                                "the server refused the credentials (401): set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
                            ));
                        }
                        (403, _) => {
                            return Err(self.error(
                                "access denied (403): the credentials have no permission to read this server's experiments",
                            ));
                        }
                        (_, text) => {
                            // MLflow answers its errors as {error_code, message}; anything else
                            // is another kind of server.
                            let text = text.unwrap_or_default();
                            return Err(self.error(match serde_json::from_str::<Value>(&text) {
                                Ok(v) if v.get("error_code").is_some() => format!(
                                    "{endpoint} answered {status}: {}",
                                    v["message"].as_str().unwrap_or("")
                                ),
                                _ => format!(
                                    "{endpoint} answered {status} and no MLflow error: is this the URL of an MLflow tracking server (without a path)?"
                                ),
                            }));
                        }
                    }
                }
                Err(e) if e.is_timeout() => Err(format!(
                    "{endpoint} did not answer within {} s (MLFLOW_HTTP_REQUEST_TIMEOUT sets how long to wait)",
                    self.timeout.as_secs()
                )),
                Err(e) if root_cause(&e).contains("invalid peer certificate") => {
                    return Err(self.error(format!(
                        "the server's TLS certificate is not trusted ({}): set MLFLOW_TRACKING_SERVER_CERT_PATH (or SSL_CERT_FILE) to the certificate (PEM) of the authority that signed it, or MLFLOW_TRACKING_INSECURE_TLS=true to accept any certificate",
                        root_cause(&e)
                    )));
                }
                Err(e) if e.is_connect() => Err(format!(
                    "cannot connect ({}): is the server running, and is the host and port right?",
                    root_cause(&e)
                )),
                Err(e) => Err(format!("{endpoint}: {}", root_cause(&e))),
            };
            if let Err(why) = outcome {
                if attempt > self.retries {
                    return Err(self.error(format!("{why} (tried {attempt} times)")));
                }
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
}

/// JSON, or the JSON Python's `json` module writes: bare `NaN`, `Infinity` and `-Infinity`
/// (the bulk endpoint answers them so) are read as the strings MLflow's REST API uses.
fn parse_json(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str(text).or_else(|e| {
        let mut out = String::with_capacity(text.len() + 64);
        let (mut in_string, mut escaped) = (false, false);
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
            if let Some(word) = ["NaN", "-Infinity", "Infinity"]
                .into_iter()
                .find(|w| rest.starts_with(w))
            {
                out.push('"');
                out.push_str(word);
                out.push('"');
                rest = &rest[word.len()..];
                continue;
            }
            in_string = c == '"';
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        serde_json::from_str(&out).map_err(|_| e)
    })
}

/// The certificates (PEM) in the file `MLFLOW_TRACKING_SERVER_CERT_PATH` names.
fn server_authorities(path: &str) -> Result<Vec<reqwest::Certificate>> {
    let bad = |detail: String| Error::BadArgument {
        argument: "MLFLOW_TRACKING_SERVER_CERT_PATH",
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read {path}: {e}")))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(found) if !found.is_empty() => Ok(found),
        _ => Err(bad(format!(
            "{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ))),
    }
}

/// The innermost error's text (reqwest's own says only "error sending request").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A metric value as MLflow's JSON writes it: a number, or `"NaN"`, `"Infinity"`,
/// `"-Infinity"`. A server on an SQL store keeps ±inf as ±f64::MAX and answers that: read back
/// as ±inf, as the `mlflow.db` reader does.
fn metric_value(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => super::parse_value(s),
        _ => None,
    }?;
    Some(if x == f64::MAX {
        f64::INFINITY
    } else if x == f64::MIN {
        f64::NEG_INFINITY
    } else {
        x
    })
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// `[{key, value}]` as a map.
fn pairs(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((text(&p["key"])?, text(&p["value"]).unwrap_or_default())))
        .collect()
}

/// Every page of a paged endpoint: `items` of each answer, following `next_page_token`.
async fn all_pages(
    client: &Client,
    endpoint: &str,
    items: &str,
    request: impl Fn(Option<&str>) -> (Vec<(&'static str, String)>, Option<Value>),
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (query, body) = request(token.as_deref());
        let page = client.call(endpoint, &query, body.as_ref()).await?;
        if let Some(list) = page[items].as_array() {
            out.extend(list.iter().cloned());
        }
        match page["next_page_token"].as_str().filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(out),
        }
    }
}

/// Reads the server at `url`: every experiment (or those named or numbered in `only`), every
/// run of them with its full metric histories, and the model registry. A metric whose latest
/// point (step and timestamp, as `runs/search` gives it) is the one `stored` holds for the run
/// is not read again: it goes into [`Snapshot::kept`]. With `changes`, only the runs that can
/// have changed since are read (see [`Changes`]); the experiments and the registry are read whole
/// either way.
pub(crate) fn read_server(
    url: &str,
    only: &[String],
    stored: &LatestPoints,
    changes: Option<&Changes>,
    job: &Job,
) -> Result<Snapshot> {
    let client = Client::new(url)?;
    crate::remote::run(async {
        job.progress("reading experiments", 0, None);
        let experiments = all_pages(&client, "experiments/search", "experiments", |token| {
            let mut body = json!({"max_results": 1000, "view_type": "ALL"});
            if let Some(t) = token {
                body["page_token"] = json!(t);
            }
            (Vec::new(), Some(body))
        })
        .await?;
        let mut snapshot = Snapshot {
            read_by: only.to_vec(),
            ..Snapshot::default()
        };
        for e in &experiments {
            let (Some(id), Some(name)) = (text(&e["experiment_id"]), text(&e["name"])) else {
                continue;
            };
            if !only.is_empty() && !only.iter().any(|o| *o == id || *o == name) {
                continue;
            }
            snapshot.experiments.push(SourceExperiment {
                id,
                name,
                lifecycle_stage: text(&e["lifecycle_stage"]).unwrap_or_else(|| "active".into()),
                tags: pairs(&e["tags"]),
            });
        }
        if let Some(missing) = only.iter().find(|o| {
            !snapshot
                .experiments
                .iter()
                .any(|e| e.id == **o || e.name == **o)
        }) {
            return Err(client.error(format!(
                "it lists no experiment named or numbered {missing:?} (it lists: {}; a server with authentication lists only the experiments the credentials may read)",
                experiments
                    .iter()
                    .filter_map(|e| text(&e["name"]))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        snapshot.experiments.sort_by(|a, b| natural(&a.id, &b.id));
        job.cancel.check()?;
        // Runs, a page of experiments at a time (runs/search takes at most 100 ids).
        job.progress("reading runs", 0, None);
        let ids: Vec<String> = snapshot.experiments.iter().map(|e| e.id.clone()).collect();
        // Every run of the experiments read whole: all of them, or with `changes` those the
        // project does not hold yet (new, restored, or newly readable with these credentials);
        // the changed runs of the others.
        let (held, whole): (Vec<String>, Vec<String>) = ids
            .into_iter()
            .partition(|id| changes.is_some_and(|c| c.experiments.contains(id)));
        let mut found = Vec::new();
        for chunk in whole.chunks(100) {
            found.extend(search_runs(&client, chunk, "ALL", None).await?);
            job.cancel.check()?;
        }
        if let Some(changes) = changes {
            found.extend(changed_runs(&client, &held, changes, job).await?);
        }
        let mut runs: Vec<(SourceRun, Vec<(String, i64)>)> = Vec::with_capacity(found.len());
        for r in &found {
            let info = &r["info"];
            let Some(id) = run_id(r) else {
                snapshot.skipped.push(super::Skipped {
                    item: "a run".into(),
                    reason: "the server sent a run without an id".into(),
                });
                continue;
            };
            // Metrics whose latest point the project already holds are kept, the rest read
            // (with their latest step, to size the batches).
            let known = stored.get(&id);
            let mut keys: Vec<(String, i64)> = Vec::new();
            for m in r["data"]["metrics"].as_array().into_iter().flatten() {
                let Some(key) = text(&m["key"]) else { continue };
                let latest = (
                    integer(&m["step"]).unwrap_or(0),
                    integer(&m["timestamp"]).unwrap_or(0),
                );
                if known.and_then(|k| k.get(&key)) == Some(&latest) {
                    snapshot.kept.entry(id.clone()).or_default().insert(key);
                } else {
                    keys.push((key, latest.0));
                }
            }
            runs.push((
                SourceRun {
                    experiment_id: text(&info["experiment_id"]).unwrap_or_default(),
                    name: text(&info["run_name"]),
                    status: text(&info["status"]).unwrap_or_default(),
                    lifecycle_stage: text(&info["lifecycle_stage"])
                        .unwrap_or_else(|| "active".into()),
                    start_time: integer(&info["start_time"]),
                    end_time: integer(&info["end_time"]),
                    artifact_uri: text(&info["artifact_uri"]),
                    params: pairs(&r["data"]["params"]),
                    tags: pairs(&r["data"]["tags"]),
                    metrics: BTreeMap::new(),
                    artifacts: BTreeMap::new(),
                    id,
                },
                keys,
            ));
        }
        // Every metric's history: runs in batches per key through the bulk endpoint, the rest
        // (a batch the server cut at its limit, a server without the endpoint) run by run.
        let total = runs.iter().map(|(_, keys)| keys.len() as u64).sum::<u64>();
        let done = std::sync::atomic::AtomicU64::new(0);
        let tick = |n: u64| {
            let n = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            job.progress("reading metric histories", n, Some(total));
        };
        let mut by_key: BTreeMap<&str, Vec<(usize, i64)>> = BTreeMap::new();
        for (i, (_, keys)) in runs.iter().enumerate() {
            for (key, step) in keys {
                by_key.entry(key).or_default().push((i, *step));
            }
        }
        let mut batches: Vec<(String, Vec<usize>)> = Vec::new();
        for (key, mut entries) in by_key {
            entries.sort_by(|a, b| runs[a.0].0.id.cmp(&runs[b.0].0.id));
            let (mut batch, mut points) = (Vec::new(), 0i64);
            for (i, step) in entries {
                // The latest step + 1 is the points of a metric logged once a step.
                let estimate = (step.max(0) + 1).min(i64::from(HISTORY_PAGE));
                if !batch.is_empty()
                    && (batch.len() == BULK_RUNS || points + estimate > i64::from(HISTORY_PAGE))
                {
                    batches.push((key.to_owned(), std::mem::take(&mut batch)));
                    points = 0;
                }
                batch.push(i);
                points += estimate;
            }
            if !batch.is_empty() {
                batches.push((key.to_owned(), batch));
            }
        }
        let runs_ref = &runs;
        let bulk: Vec<Bulk> = futures_util::stream::iter(batches)
            .map(|(key, batch)| {
                let client = &client;
                async move {
                    job.cancel.check()?;
                    bulk_histories(client, runs_ref, &key, &batch).await
                }
            })
            .buffer_unordered(PARALLEL)
            .inspect(|r| {
                if let Ok((complete, _)) = r {
                    tick(complete.len() as u64);
                }
            })
            .try_collect()
            .await?;
        let mut histories = Vec::new();
        let mut single = Vec::new();
        for (complete, rest) in bulk {
            histories.extend(complete);
            single.extend(rest);
        }
        let rest: Vec<(usize, String, Vec<Point>)> = futures_util::stream::iter(single)
            .map(|(i, key)| {
                let (client, run_id) = (&client, runs[i].0.id.clone());
                async move {
                    job.cancel.check()?;
                    let points = all_pages(client, "metrics/get-history", "metrics", |token| {
                        let mut query = vec![
                            ("run_id", run_id.clone()),
                            ("metric_key", key.clone()),
                            ("max_results", HISTORY_PAGE.to_string()),
                        ];
                        if let Some(t) = token {
                            query.push(("page_token", t.to_owned()));
                        }
                        (query, None)
                    })
                    .await?;
                    tick(1);
                    Ok::<_, Error>((i, key, points.iter().filter_map(point).collect()))
                }
            })
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
        histories.extend(rest);
        for (i, key, points) in histories {
            runs[i].0.metrics.insert(key, points);
        }
        snapshot.runs = runs.into_iter().map(|(r, _)| r).collect();
        snapshot
            .runs
            .sort_by(|a, b| natural(&a.experiment_id, &b.experiment_id).then(a.id.cmp(&b.id)));
        job.cancel.check()?;
        job.progress("reading the model registry", 0, None);
        snapshot.models = registry(&client).await?;
        Ok(snapshot)
    })
}

/// A `runs/search` run's id (`run_uuid` on older servers).
fn run_id(run: &Value) -> Option<String> {
    let info = &run["info"];
    text(&info["run_id"]).or_else(|| text(&info["run_uuid"]))
}

/// Every page of `runs/search` over `experiments` (at most 100) in `view`, with `filter`.
async fn search_runs(
    client: &Client,
    experiments: &[String],
    view: &str,
    filter: Option<&str>,
) -> Result<Vec<Value>> {
    all_pages(client, "runs/search", "runs", |token| {
        let mut body = json!({
            "experiment_ids": experiments,
            "max_results": RUNS_PAGE,
            "run_view_type": view,
        });
        if let Some(f) = filter {
            body["filter"] = json!(f);
        }
        if let Some(t) = token {
            body["page_token"] = json!(t);
        }
        (Vec::new(), Some(body))
    })
    .await
}

/// The runs of `experiments` that [`Changes`] asks for, each once: five searches per hundred
/// experiments, in parallel, and one by id for the runs that may have been restored.
async fn changed_runs(
    client: &Client,
    experiments: &[String],
    changes: &Changes,
    job: &Job<'_>,
) -> Result<Vec<Value>> {
    let since = changes.since;
    // Owned, so each query's future borrows nothing of the closure's arguments.
    let queries: Vec<(Vec<String>, bool, Option<String>)> = experiments
        .chunks(100)
        .flat_map(|chunk| {
            [
                (false, Some(format!("attributes.start_time > {since}"))),
                (false, Some(format!("attributes.end_time > {since}"))),
                (false, Some("attributes.status = 'RUNNING'".to_owned())),
                (false, Some("attributes.status = 'SCHEDULED'".to_owned())),
                // Every deleted run.
                (true, None),
            ]
            .map(|(deleted, filter)| (chunk.to_vec(), deleted, filter))
        })
        .collect();
    let mut answers: Vec<(bool, Vec<Value>)> = Vec::new();
    let mut pending = futures_util::stream::iter(queries)
        .map(
            |(chunk, deleted, filter): (Vec<String>, bool, Option<String>)| async move {
                job.cancel.check()?;
                let view = if deleted { "DELETED_ONLY" } else { "ALL" };
                let runs = search_runs(client, &chunk, view, filter.as_deref()).await?;
                Ok::<_, Error>((deleted, runs))
            },
        )
        .buffered(PARALLEL);
    while let Some(answer) = pending.next().await {
        answers.push(answer?);
    }
    drop(pending);
    let mut seen = std::collections::HashSet::new();
    let mut deleted_now = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (deleted_view, runs) in answers {
        for r in runs {
            let id = run_id(&r);
            if deleted_view && let Some(id) = &id {
                deleted_now.insert(id.clone());
            }
            // A run without an id is passed on, to be reported as skipped.
            if id.is_none_or(|id| seen.insert(id)) {
                out.push(r);
            }
        }
    }
    // Held as deleted, deleted no longer: restored (or removed for good, and then not found).
    let mut restored: Vec<&String> = changes
        .deleted
        .iter()
        .filter(|id| !deleted_now.contains(*id) && !seen.contains(*id))
        .collect();
    restored.sort();
    for ids in restored.chunks(100) {
        let list = ids
            .iter()
            .map(|id| format!("'{}'", id.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = format!("attributes.run_id IN ({list})");
        for chunk in experiments.chunks(100) {
            job.cancel.check()?;
            for r in search_runs(client, chunk, "ALL", Some(&filter)).await? {
                if run_id(&r).is_some_and(|id| seen.insert(id)) {
                    out.push(r);
                }
            }
        }
    }
    Ok(out)
}

/// Histories read (run index, key, points), and the (run index, key) left to read one by one.
type Bulk = (Vec<(usize, String, Vec<Point>)>, Vec<(usize, String)>);

/// A point of a history answer.
fn point(p: &Value) -> Option<Point> {
    Some(Point {
        value: metric_value(&p["value"])?,
        timestamp: integer(&p["timestamp"]).unwrap_or(0),
        step: integer(&p["step"]).unwrap_or(0),
    })
}

/// The histories of `key` of the runs `batch` (indexes into `runs`, in run id order) in one
/// request: the ones the answer holds whole, and the runs left to read one by one — those
/// from the last one the answer holds on when the server stopped at its limit (it answers
/// runs in id order), or all of them when the server has no bulk endpoint.
async fn bulk_histories(
    client: &Client,
    runs: &[(SourceRun, Vec<(String, i64)>)],
    key: &str,
    batch: &[usize],
) -> Result<Bulk> {
    let mut query: Vec<(&str, String)> = batch
        .iter()
        .map(|&i| ("run_id", runs[i].0.id.clone()))
        .collect();
    query.push(("metric_key", key.to_owned()));
    query.push(("max_results", HISTORY_PAGE.to_string()));
    let Some(answer) = client.request(BULK, &query, None, true).await? else {
        return Ok((
            Vec::new(),
            batch.iter().map(|&i| (i, key.to_owned())).collect(),
        ));
    };
    let list = answer["metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut by_run: std::collections::HashMap<&str, Vec<Point>> = std::collections::HashMap::new();
    for p in list {
        if let (Some(run), Some(point)) = (p["run_id"].as_str(), point(p)) {
            by_run.entry(run).or_default().push(point);
        }
    }
    // Cut at the limit: the last run the answer reaches may be partial, later ones absent.
    let cut = (list.len() >= HISTORY_PAGE as usize)
        .then(|| list.last().and_then(|p| p["run_id"].as_str()))
        .flatten();
    let (mut complete, mut rest) = (Vec::new(), Vec::new());
    for &i in batch {
        let id = runs[i].0.id.as_str();
        if cut.is_some_and(|c| id >= c) {
            rest.push((i, key.to_owned()));
        } else {
            complete.push((i, key.to_owned(), by_run.remove(id).unwrap_or_default()));
        }
    }
    Ok((complete, rest))
}

/// Numeric ids in numeric order (MLflow's experiment ids are integers as text).
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// Every file below `path` of a run's artifacts, with its size (`artifacts/list`, folders
/// listed in turn).
async fn list_artifacts(client: &Client, run_id: &str, path: &str) -> Result<Vec<(String, u64)>> {
    let mut files = Vec::new();
    let mut folders = vec![path.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = all_pages(client, "artifacts/list", "files", |token| {
            let mut query = vec![("run_id", run_id.to_owned()), ("path", folder.clone())];
            if let Some(t) = token {
                query.push(("page_token", t.to_owned()));
            }
            (query, None)
        })
        .await?;
        for e in entries {
            let Some(p) = text(&e["path"]) else { continue };
            if e["is_dir"].as_bool() == Some(true) {
                folders.push(p);
            } else {
                files.push((p, integer(&e["file_size"]).unwrap_or(0) as u64));
            }
        }
    }
    Ok(files)
}

/// A version's one `.onnx` artifact as `runs:/RUN/PATH`, when its source is a run's artifact
/// folder holding exactly one.
async fn onnx_artifact(client: &Client, source: Option<&str>) -> Result<Option<String>> {
    let Some(rest) = source.and_then(|s| s.strip_prefix("runs:/")) else {
        return Ok(None);
    };
    let (run_id, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let onnx: Vec<String> = list_artifacts(client, run_id, sub.trim_end_matches('/'))
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with(".onnx"))
        .collect();
    Ok((onnx.len() == 1).then(|| format!("runs:/{run_id}/{}", onnx[0])))
}

/// Downloads an artifact named `runs:/RUN/PATH` (as [`read_server`] names a version's ONNX
/// file) into `dir`, with the `MLmodel` beside it when there is one (it names the features);
/// returns the downloaded file.
pub(crate) fn download(
    url: &str,
    artifact: &str,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf> {
    let client = Client::new(url)?;
    let rest = artifact
        .strip_prefix("runs:/")
        .ok_or_else(|| client.error(format!("{artifact:?} is not a run's artifact")))?;
    let (run_id, path) = rest
        .split_once('/')
        .ok_or_else(|| client.error(format!("{artifact:?} names no file")))?;
    let folder = path.rsplit_once('/').map_or("", |(f, _)| f);
    let mlmodel = if folder.is_empty() {
        "MLmodel".to_owned()
    } else {
        format!("{folder}/MLmodel")
    };
    crate::remote::run(async {
        let mut out = None;
        for (wanted, required) in [(path.to_owned(), true), (mlmodel, false)] {
            let name = wanted.rsplit('/').next().unwrap_or("artifact").to_owned();
            let response = client
                .http
                .get(format!("{}/get-artifact", client.shown))
                .query(&[("run_uuid", run_id), ("path", wanted.as_str())]);
            let response = client.authorized(response).send().await.map_err(|e| {
                client.error(format!("cannot download {artifact}: {}", root_cause(&e)))
            })?;
            if !response.status().is_success() {
                if required {
                    return Err(client.error(format!(
                        "cannot download {artifact}: the server answered {}",
                        response.status()
                    )));
                }
                continue;
            }
            let bytes = response.bytes().await.map_err(|e| {
                client.error(format!("cannot download {artifact}: {}", root_cause(&e)))
            })?;
            let target = dir.join(&name);
            std::fs::write(&target, &bytes)
                .map_err(|e| Error::write("write a downloaded artifact", &target, e))?;
            if required {
                out = Some(target);
            }
        }
        out.ok_or_else(|| client.error(format!("cannot download {artifact}")))
    })
}

async fn registry(client: &Client) -> Result<Vec<SourceModel>> {
    let models = all_pages(
        client,
        "registered-models/search",
        "registered_models",
        |token| {
            let mut query = vec![("max_results", "1000".to_owned())];
            if let Some(t) = token {
                query.push(("page_token", t.to_owned()));
            }
            (query, None)
        },
    )
    .await?;
    let mut out = Vec::new();
    for m in &models {
        let Some(name) = text(&m["name"]) else {
            continue;
        };
        let versions = all_pages(client, "model-versions/search", "model_versions", |token| {
            let mut query = vec![
                ("filter", format!("name='{}'", name.replace('\'', "\\'"))),
                ("max_results", "1000".to_owned()),
            ];
            if let Some(t) = token {
                query.push(("page_token", t.to_owned()));
            }
            (query, None)
        })
        .await?;
        let mut versions: Vec<SourceModelVersion> = versions
            .iter()
            .filter_map(|v| {
                Some(SourceModelVersion {
                    version: integer(&v["version"])?,
                    run_id: text(&v["run_id"]).filter(|r| !r.is_empty()),
                    source: text(&v["source"]),
                    status: text(&v["status"]),
                    onnx_path: None,
                })
            })
            .collect();
        versions.sort_by_key(|v| v.version);
        for v in &mut versions {
            v.onnx_path = onnx_artifact(client, v.source.as_deref())
                .await?
                .map(std::path::PathBuf::from);
        }
        out.push(SourceModel {
            tags: pairs(&m["tags"]),
            aliases: m["aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| Some((text(&a["alias"])?, integer(&a["version"])?)))
                .collect(),
            versions,
            name,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_with_bare_nan_and_infinities_reads() {
        let v = parse_json(r#"{"a": [NaN, Infinity, -Infinity, 1.5], "s": "NaN \"Infinity\""}"#)
            .unwrap_or_default();
        let values: Vec<Option<f64>> = v["a"]
            .as_array()
            .into_iter()
            .flatten()
            .map(metric_value)
            .collect();
        assert!(values[0].is_some_and(f64::is_nan));
        assert_eq!(
            values[1..],
            [Some(f64::INFINITY), Some(f64::NEG_INFINITY), Some(1.5)]
        );
        assert_eq!(v["s"], "NaN \"Infinity\"");
        assert!(parse_json("{oops").is_err());
    }
}
