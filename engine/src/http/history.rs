//! `GET /v1/orgs/{org}/history/{stream}`: history streams, newest first, paged.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use trackway_store::{Event, Ulid};

use super::AppState;
use super::error::ApiError;
use crate::auth::{Caller, Read};

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list),
    tags((name = "history", description = "History streams: the events a pipeline's `history` sink appended to a named stream, newest first."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/orgs/{org}/history/{stream}", get(list))
}

/// Default page size.
const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
const MAX_LIMIT: usize = 1000;

/// `?limit=&before=` of the routes that page newest first by event id: history streams here,
/// an app's versions in the inventory.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// Entries per page, 1 to 1000. Default 50.
    limit: Option<usize>,
    /// The `next` of the previous page: entries older than that event id.
    before: Option<String>,
}

impl Page {
    /// The page size: `limit`, 50 by default; a 422 naming it when out of range.
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if (1..=MAX_LIMIT).contains(&limit) {
            Ok(limit)
        } else {
            Err(ApiError::invalid(format!(
                "query parameter `limit`: must be between 1 and {MAX_LIMIT}, found {limit}"
            )))
        }
    }

    /// The event id the page starts below; a 422 naming `before` when it is not one.
    pub(crate) fn before(&self) -> Result<Option<Ulid>, ApiError> {
        self.before
            .as_deref()
            .map(|b| {
                Ulid::from_string(b).map_err(|_| {
                    ApiError::invalid(format!(
                        "query parameter `before`: must be the `next` of the previous page, not `{b}`"
                    ))
                })
            })
            .transpose()
    }
}

/// The headers of a page: a `Link` to the next one, when there is one.
pub(crate) fn next_link(limit: usize, next: Option<Ulid>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(next) = next
        && let Ok(link) =
            HeaderValue::from_str(&format!("<?limit={limit}&before={next}>; rel=\"next\""))
    {
        headers.insert(header::LINK, link);
    }
    headers
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

/// A page of a history stream, newest first.
///
/// Needs a key of the org (any scope; none for an open org). A stream nothing was appended to
/// is an empty page.
#[utoipa::path(
    get, path = "/v1/orgs/{org}/history/{stream}", tag = "history", operation_id = "list_history",
    params(
        ("org" = String, Path, description = "The org"),
        ("stream" = String, Path, description = "The stream, as a `history` sink names it (e.g. `deployments`)"),
        Page,
    ),
    responses(
        (status = 200, description = "`{\"items\": [events], \"next\": id or null}`; when there is a next page, `Link` has it (`rel=\"next\"`)"),
        (status = 422, description = "`limit` out of range or not an integer, or `before` not an event id"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
    )
)]
async fn list(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    // `_org`, not `_`: `#[utoipa::path]` (axum_extras) needs a name for each field of a tuple.
    Path((_org, stream)): Path<(String, String)>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(page) = page?;
    let limit = page.limit()?;
    let before = page.before()?;
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || store.history(&org, &stream, before, limit))
        .await
        .map_err(ApiError::internal)??;
    let headers = next_link(limit, result.next_before);
    let items: Vec<_> = result.items.iter().map(event_json).collect();
    Ok((
        headers,
        Json(json!({ "items": items, "next": result.next_before.map(|n| n.to_string()) })),
    ))
}
