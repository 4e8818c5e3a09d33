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

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(webhook),
    tags((name = "webhooks", description = "Webhooks of plugin sources: a request handed to a pipeline's source plugin, which turns it into events."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route(
        "/v1/orgs/{org}/pipelines/{pipeline}/sources/{source}/webhook",
        any(webhook),
    )
}

/// Hand a webhook to a plugin source.
///
/// Answered with the plugin's status and body once the events it returned are durable. No API
/// key: the source plugin authenticates the sender (signatures, shared secrets). The route takes
/// every method, documented here as `POST`: the plugin sees the method, query, headers and body
/// as sent.
#[utoipa::path(
    post, path = "/v1/orgs/{org}/pipelines/{pipeline}/sources/{source}/webhook", tag = "webhooks",
    params(
        ("org" = String, Path, description = "The org"),
        ("pipeline" = String, Path, description = "The pipeline"),
        ("source" = String, Path, description = "The source stage, a plugin source"),
    ),
    request_body(content = String, content_type = "*/*", description = "Any body: the plugin reads it"),
    responses(
        (status = 200, description = "The plugin's answer, once its events are durable: its body, and its status (200 when the one it gave is not a valid HTTP status)"),
        (status = 400, description = "The plugin rejected the request (e.g. a bad signature), with its reason"),
        (status = 404, description = "No plugin source of that name in that pipeline of that org"),
        (status = 413, description = "The body is over the size limit"),
        (status = 502, description = "The plugin failed (a trap, its deadline)"),
        (status = "default", description = "Any other status the plugin chose, with its body; its events are durable all the same"),
    )
)]
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
    // A status outside 200-599 is the plugin's mistake, not an answer HTTP clients expect.
    let status = StatusCode::from_u16(response.status)
        .ok()
        .filter(|s| (200..600).contains(&s.as_u16()))
        .unwrap_or(StatusCode::BAD_GATEWAY);
    // The WIT recommends JSON text; say so when it is, so clients parse it.
    let content_type = if serde_json::from_str::<serde::de::IgnoredAny>(&response.body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, content_type)],
        response.body,
    ))
}
