//! The REST routes: the Open Inference Protocol's (`/v2/...`), MLflow's scoring server's
//! (`/invocations`, `/ping`, `/health`) and `/metrics`. Errors are JSON: `{"error": ...}` on
//! `/v2` (the protocol's), `{"error_code", "message"}` on `/invocations` (MLflow's).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lathe_core::serve::{BadRequest, Rows, scoring, v2};
use serde_json::{Value, json};

use crate::State;
use crate::batch::Full;

pub(crate) fn router(state: Arc<State>) -> Router {
    let limit = state.options.max_body;
    let mut router = Router::new()
        .route("/v2", get(server_metadata))
        .route(
            "/v2/health/live",
            get(|| async { Json(json!({ "live": true })) }),
        )
        .route(
            "/v2/health/ready",
            get(|| async { Json(json!({ "ready": true })) }),
        )
        .route("/v2/models/{name}", get(model_metadata))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(model_metadata_version),
        )
        .route("/v2/models/{name}/ready", get(model_ready))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(model_ready_version),
        )
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(infer_version),
        )
        .route("/invocations", post(invocations))
        .route("/ping", get(|| async { StatusCode::OK }))
        .route("/health", get(|| async { StatusCode::OK }));
    if state.options.metrics {
        router = router.route("/metrics", get(metrics));
    }
    router
        .fallback(|| async {
            v2_error(
                StatusCode::NOT_FOUND,
                "no such endpoint: the server answers /v2/..., /invocations and /metrics".into(),
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0.to_string(),
        )
            .into_response()
    }
}

fn v2_error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn server_metadata() -> Json {
    Json(serde_json::to_value(v2::server_metadata()).unwrap_or_default())
}

/// The model a path names, or the 404 that says which one is served.
pub(crate) fn named(state: &State, name: &str, version: Option<&str>) -> Result<(), String> {
    let s = &state.served;
    let version_ok = version.is_none_or(|v| v == s.version);
    if name == s.name && version_ok {
        return Ok(());
    }
    Err(format!(
        "model '{name}'{} is not served here; this server serves '{}'{}",
        version.map(|v| format!(" version {v}")).unwrap_or_default(),
        s.name,
        if s.version.is_empty() {
            String::new()
        } else {
            format!(" version {}", s.version)
        }
    ))
}

async fn model_metadata(Shared(state): Shared<Arc<State>>, Path(name): Path<String>) -> Response {
    match named(&state, &name, None) {
        Ok(()) => Json(v2::model_metadata(&state.served)).into_response(),
        Err(m) => v2_error(StatusCode::NOT_FOUND, m),
    }
}

async fn model_metadata_version(
    Shared(state): Shared<Arc<State>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    match named(&state, &name, Some(&version)) {
        Ok(()) => Json(v2::model_metadata(&state.served)).into_response(),
        Err(m) => v2_error(StatusCode::NOT_FOUND, m),
    }
}

async fn model_ready(Shared(state): Shared<Arc<State>>, Path(name): Path<String>) -> Response {
    match named(&state, &name, None) {
        Ok(()) => Json(json!({ "name": name, "ready": true })).into_response(),
        Err(m) => v2_error(StatusCode::NOT_FOUND, m),
    }
}

async fn model_ready_version(
    Shared(state): Shared<Arc<State>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    match named(&state, &name, Some(&version)) {
        Ok(()) => Json(json!({ "name": name, "ready": true })).into_response(),
        Err(m) => v2_error(StatusCode::NOT_FOUND, m),
    }
}

async fn infer(
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    infer_named(state, name, None, &headers, body).await
}

async fn infer_version(
    Shared(state): Shared<Arc<State>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    infer_named(state, name, Some(version), &headers, body).await
}

async fn infer_named(
    state: Arc<State>,
    name: String,
    version: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = Instant::now();
    let answer = v2_answer(&state, &name, version.as_deref(), headers, body).await;
    let (status, response) = match answer {
        Ok((body, None)) => (
            StatusCode::OK,
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
        ),
        Ok((body, Some(length))) => (
            StatusCode::OK,
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/octet-stream"),
                    ),
                    (
                        header::HeaderName::from_static(v2::HEADER_LENGTH),
                        HeaderValue::from(length),
                    ),
                ],
                body,
            )
                .into_response(),
        ),
        Err(Refusal(status, message, retry)) => {
            let mut r = v2_error(status, message);
            if retry {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            (status, r)
        }
    };
    state
        .metrics
        .answered("v2", status.as_u16(), start.elapsed().as_secs_f64());
    response
}

/// Why a request was not answered: its status, message, and whether to retry later.
pub(crate) struct Refusal(pub StatusCode, pub String, pub bool);

impl From<BadRequest> for Refusal {
    fn from(e: BadRequest) -> Self {
        Refusal(StatusCode::BAD_REQUEST, e.0, false)
    }
}

fn body_refusal(e: BytesRejection, limit: usize) -> Refusal {
    let status = e.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "the request body is larger than this server takes ({limit} bytes, --max-body-bytes): send fewer rows per request"
        )
    } else {
        format!("cannot read the request body: {e}")
    };
    Refusal(status, message, false)
}

async fn v2_answer(
    state: &State,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Vec<u8>, Option<usize>), Refusal> {
    named(state, name, version).map_err(|m| Refusal(StatusCode::NOT_FOUND, m, false))?;
    let body = body.map_err(|e| body_refusal(e, state.options.max_body))?;
    let json_length = match headers.get(v2::HEADER_LENGTH) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|t| t.trim().parse().ok()) {
            Some(n) => Some(n),
            None => {
                return Err(Refusal(
                    StatusCode::BAD_REQUEST,
                    format!("Inference-Header-Content-Length is {v:?}, not a byte count"),
                    false,
                ));
            }
        },
    };
    let request = v2::parse_request(&body, json_length)?;
    let rows = state.served.rows(&request.inputs)?;
    let prediction = predict(state, rows).await?;
    let outputs = state.served.output_tensors(&prediction, &request.outputs)?;
    Ok(v2::response_body(&state.served, &request, &outputs))
}

/// Queues rows and waits for their prediction.
pub(crate) async fn predict(
    state: &State,
    rows: Rows,
) -> Result<lathe_core::model::Prediction, Refusal> {
    let answer = state.batcher.submit(rows).map_err(|Full| {
        Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the server is at capacity ({} requests queued, --max-queue): retry after a second",
                state.options.max_queue
            ),
            true,
        )
    })?;
    match answer.await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(message)) => Err(Refusal(StatusCode::BAD_REQUEST, message, false)),
        Err(_) => Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping".into(),
            true,
        )),
    }
}

async fn invocations(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = Instant::now();
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/csv"));
    let answer = async {
        let body = body.map_err(|e| body_refusal(e, state.options.max_body))?;
        let rows = state.served.scoring_rows(&body, csv)?;
        let prediction = predict(&state, rows).await?;
        Ok::<_, Refusal>(scoring::response_json(&prediction))
    }
    .await;
    let (status, response) = match answer {
        Ok(v) => (StatusCode::OK, Json(v).into_response()),
        Err(Refusal(status, message, retry)) => {
            let code = match status {
                StatusCode::SERVICE_UNAVAILABLE => "TEMPORARILY_UNAVAILABLE",
                StatusCode::PAYLOAD_TOO_LARGE => "RESOURCE_LIMIT_EXCEEDED",
                _ => "BAD_REQUEST",
            };
            let mut r = (
                status,
                Json(json!({ "error_code": code, "message": message })),
            )
                .into_response();
            if retry {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            (status, r)
        }
    };
    state.metrics.answered(
        "invocations",
        status.as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

async fn metrics(Shared(state): Shared<Arc<State>>) -> Response {
    if let Some(d) = &state.drift {
        let (d, m) = (d.clone(), state.metrics.clone());
        let _ = tokio::task::spawn_blocking(move || d.update(&m)).await;
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.encode(),
    )
        .into_response()
}
