//! `GET /healthz` (liveness), `GET /readyz` (pipelines loaded, store writable) and
//! `GET /metrics` (Prometheus text).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use crate::metrics;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
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
