//! `GET /healthz` (liveness), `GET /readyz` (pipelines loaded, store writable),
//! `GET /healthcheck` (every sink target probed, in the deployment tracker's shape) and
//! `GET /metrics` (Prometheus text).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::inventory::rfc3339;
use crate::metrics;

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(healthz, readyz, healthcheck, prometheus),
    tags((name = "health", description = "Liveness, readiness, the probes of every sink target and Prometheus metrics, for load balancers and monitoring (no API key needed)."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/healthcheck", get(healthcheck))
        .route("/metrics", get(prometheus))
}

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", tag = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`"))
)]
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the pipelines are loaded and running, and the store is writable.
#[utoipa::path(
    get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready: `status` is `ready`, with the pipeline count and the store's state"),
        (status = 503, description = "Not ready: `status` is `not_ready`; `pipelines.loaded` or `store.writable` is false (with the store's error)"),
    )
)]
async fn readyz(state: State<Arc<AppState>>) -> impl IntoResponse {
    readiness(state).await
}

/// The readiness answer, shared with the seed's `/healthz/ready`.
pub(crate) async fn readiness(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let running = state.ready.load(Ordering::Acquire);
    let store = state.store.clone();
    let writable = tokio::task::spawn_blocking(move || store.probe_writable())
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let status = if running && writable.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if status == StatusCode::OK { "ready" } else { "not_ready" },
            "pipelines": { "loaded": running, "count": state.pipelines },
            "store": { "writable": writable.is_ok(), "error": writable.err() },
        })),
    )
}

/// How long one target may take to answer a probe (the seed's Redis check waited 2 s).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A target a sink stage was granted (`redis`, `statsd` or `sql`), for `/healthcheck`.
#[derive(Debug, Clone)]
pub struct SinkTarget {
    /// The org of the stage.
    pub org: String,
    /// `org/pipeline/stage`.
    pub stage: String,
    /// The capability.
    pub capability: &'static str,
    /// The granted target, as written (with any password: never shown, see `redact`).
    pub target: String,
}

/// The seed's healthcheck: every sink target (and the store) probed concurrently.
///
/// Each test has its result and duration; `503` if any failed. Anyone may ask (load balancers
/// do), but the details of an org's targets are shown only to a key of that org (or, without a
/// key, for open orgs): the overall status covers every target either way.
#[utoipa::path(
    get, path = "/healthcheck", tag = "health",
    responses(
        (status = 200, description = "Every probe passed: `result` is `passed`, `tests` has one entry per target shown (and `store`)"),
        (status = 503, description = "A probe failed (perhaps of a target not shown): `result` is `failed`, failed tests carry their `error`"),
    )
)]
async fn healthcheck(State(state): State<Arc<AppState>>, headers: HeaderMap) -> impl IntoResponse {
    let started = Instant::now();
    let visible = state.access.visible_orgs(&headers);
    let mut targets: BTreeMap<(&'static str, String), Vec<&SinkTarget>> = BTreeMap::new();
    for target in &state.targets {
        targets
            .entry((target.capability, target.target.clone()))
            .or_default()
            .push(target);
    }
    let probes = targets.iter().map(|((capability, target), _)| async {
        let tested_at = crate::executor::pipeline::now_ms();
        let started = Instant::now();
        let result = state
            .runtime
            .connections()
            .probe(capability, target, PROBE_TIMEOUT)
            .await;
        (tested_at, started.elapsed(), result)
    });
    let store = {
        let store = state.store.clone();
        let tested_at = crate::executor::pipeline::now_ms();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || store.probe_writable())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        (tested_at, started.elapsed(), result)
    };
    let results = futures::future::join_all(probes).await;
    let mut failed = store.2.is_err();
    let mut tests = serde_json::Map::new();
    tests.insert("store".into(), test_json("store", &store, json!({})));
    for (((capability, target), stages), result) in targets.iter().zip(&results) {
        failed |= result.2.is_err();
        let shown: Vec<&str> = stages
            .iter()
            .filter(|s| visible.contains(&s.org))
            .map(|s| s.stage.as_str())
            .collect();
        if shown.is_empty() {
            continue;
        }
        let name = format!(
            "{capability} {}",
            trackway_runtime::capability::redact(target)
        );
        let extra = json!({ "capability": capability, "stages": shown });
        tests.insert(name.clone(), test_json(&name, result, extra));
    }
    let status = if failed {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(json!({
            "generated_at": rfc3339(crate::executor::pipeline::now_ms()),
            "duration_millis": millis(started.elapsed()),
            "result": if failed { "failed" } else { "passed" },
            "tests": tests,
        })),
    )
}

/// One test of `/healthcheck`, in the seed's shape (`duration_millis` a string, as it was).
fn test_json(
    name: &str,
    (tested_at, took, result): &(u64, Duration, Result<(), String>),
    extra: Value,
) -> Value {
    let mut test = json!({
        "test_name": name,
        "tested_at": rfc3339(*tested_at),
        "duration_millis": millis(*took),
        "result": if result.is_ok() { "passed" } else { "failed" },
    });
    if let Err(error) = result {
        test["error"] = error.clone().into();
    }
    if let (Some(test), Value::Object(extra)) = (test.as_object_mut(), extra) {
        test.extend(extra);
    }
    test
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// Metrics in the Prometheus text format.
///
/// The counters, and gauges of each sink's outbox lag, the dead letters and the log sequence.
#[utoipa::path(
    get, path = "/metrics", tag = "health",
    responses((status = 200, description = "The metrics, in the Prometheus text format 0.0.4", body = String, content_type = "text/plain"))
)]
async fn prometheus(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let gauges = tokio::task::spawn_blocking({
        let state = state.clone();
        move || -> Result<_, trackway_store::Error> {
            let mut gauges = Vec::new();
            for (org, pipeline, sink) in &state.sinks {
                let lag = state
                    .store
                    .outbox_len(&format!("{org}/{pipeline}/{sink}"))?;
                let labels = metrics::stage_labels(org, pipeline, sink);
                gauges.push((metrics::OUTBOX_LAG, labels, lag as f64));
            }
            gauges.push((
                metrics::DLQ_DEPTH,
                Vec::new(),
                state.store.dead_letter_count()? as f64,
            ));
            gauges.push((metrics::LOG_SEQ, Vec::new(), state.store.last_seq() as f64));
            Ok(gauges)
        }
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&gauges),
    ))
}
