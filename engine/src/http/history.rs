//! `GET /v1/orgs/{org}/history/{stream}`: history streams, newest first, paged.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use trackway_store::Event;

use super::AppState;
use super::error::ApiError;
use crate::auth::{Caller, Read};

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/orgs/{org}/history/{stream}", get(list))
}

/// Default page size.
const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
struct Page {
    limit: Option<usize>,
    /// The id of the last entry of the previous page (its `next`).
    before: Option<String>,
}

/// The JSON form of an event, as every read route shows it.
pub fn event_json(event: &Event) -> serde_json::Value {
    let payload: serde_json::Value = serde_json::from_str(&event.payload)
        .unwrap_or(serde_json::Value::String(event.payload.clone()));
    let attributes: serde_json::Map<String, serde_json::Value> = event
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    json!({
        "id": event.id.to_string(),
        "org": event.org,
        "kind": event.kind,
        "source": event.source,
        "time": event.time_ms,
        "subject": event.subject,
        "attributes": attributes,
        "payload": payload,
        "parent": event.parent.map(|p| p.to_string()),
    })
}

async fn list(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path((_, stream)): Path<(String, String)>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let before = page
        .before
        .as_deref()
        .map(|b| {
            trackway_store::Ulid::from_string(b).map_err(|_| {
                ApiError::bad_request(format!(
                    "`before` must be the `next` of the previous page, not `{b}`"
                ))
            })
        })
        .transpose()?;
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || store.history(&org, &stream, before, limit))
        .await
        .map_err(ApiError::internal)??;
    let mut headers = HeaderMap::new();
    if let Some(next) = result.next_before
        && let Ok(link) =
            HeaderValue::from_str(&format!("<?limit={limit}&before={next}>; rel=\"next\""))
    {
        headers.insert(header::LINK, link);
    }
    let items: Vec<_> = result.items.iter().map(event_json).collect();
    Ok((
        headers,
        Json(json!({ "items": items, "next": result.next_before.map(|n| n.to_string()) })),
    ))
}
