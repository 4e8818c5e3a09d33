//! `POST /v1/orgs/{org}/pipelines/{pipeline}/sources/{source}/webhook`: hands the request to a
//! plugin source (world `source`, `handle-request`), appends the events it returns, and answers
//! with the plugin's status and body once they are durable.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use trackway_runtime::bindings::types::HttpRequest;
use trackway_store::WriteBatch;

use super::AppState;
use super::error::{ApiError, RawBody};
use crate::executor::apply_pending;
use crate::executor::sources::own_events;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route(
        "/v1/orgs/{org}/pipelines/{pipeline}/sources/{source}/webhook",
        any(webhook),
    )
}

async fn webhook(
    State(state): State<Arc<AppState>>,
    Path((org, pipeline, source)): Path<(String, String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    // Webhooks come from systems that hold no trackway key (GitHub, registries): the source
    // plugin authenticates them (signatures, shared secrets). Unknown targets are a 404.
    let instance = state
        .hooks
        .get(&(org.clone(), pipeline.clone(), source.clone()))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no plugin source `{source}` in pipeline `{pipeline}`"
            ))
        })?
        .clone();
    let request = HttpRequest {
        method: method.to_string(),
        path: String::new(),
        query: query.unwrap_or_default(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    };
    let mut instance = instance.lock().await;
    let context = instance.context().clone();
    let (result, pending) = instance.handle_request(request).await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "plugin_failed",
            format!("source `{source}` failed: {e}"),
        )
    })?;
    drop(instance);
    let response =
        result.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "rejected", e.to_string()))?;
    let mut write = WriteBatch::new();
    apply_pending(pending, &context, &mut write);
    let events = own_events(response.events, &org, &format!("{pipeline}/{source}"));
    let n = events.len() as u64;
    if !events.is_empty() {
        write.append(&org, None, b"", events);
    }
    state
        .store
        .commit(write)
        .await
        .map_err(|_| ApiError::internal("the store writer has stopped"))??;
    state
        .metrics
        .add(crate::metrics::INGESTED, vec![("org", org)], n);
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    Ok((status, response.body))
}
