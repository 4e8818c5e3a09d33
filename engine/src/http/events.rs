//! `POST /v1/orgs/{org}/events`: the generic event ingest.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::error::{ApiError, RawBody, parse};
use crate::auth::{Caller, Write};
use crate::ingest::{self, EventInput, MAX_EVENTS_PER_REQUEST, MAX_IDEMPOTENCY_KEY_LEN};

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create),
    components(schemas(EventInput)),
    tags((name = "events", description = "The generic event ingest: events of any kind, appended to the org's log and routed to its pipelines."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/orgs/{org}/events", post(create))
}

/// The `Idempotency-Key` header, checked.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "header `Idempotency-Key` must be 1-{MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
            ))
        })?;
    Ok(Some(key.to_owned()))
}

/// Accept one event (an object) or several (an array); `202` with their ids once durable.
///
/// Needs a key of the org with scope `write` (none for an open org). A retry with the same
/// `Idempotency-Key` and body, or whose events all carry client ids already appended, is
/// answered with the first request's ids and appends nothing.
#[utoipa::path(
    post, path = "/v1/orgs/{org}/events", tag = "events", operation_id = "create_events",
    params(
        ("org" = String, Path, description = "The org"),
        ("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; a retry with the same key and body appends nothing"),
    ),
    request_body(content = Vec<EventInput>, description = "One event object, or an array of 1 to 1000 of them"),
    responses(
        (status = 202, description = "Durable: `{\"ids\": [...]}`, the event ids in request order", headers(("Idempotent-Replayed" = String, description = "`true` when the request repeated an earlier one and appended nothing"))),
        (status = 400, description = "Empty body, invalid JSON (with its line and column), or an invalid `Idempotency-Key`"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is `read`"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
        (status = 409, description = "A client-chosen `id` is in use by another org"),
        (status = 413, description = "The body is over the size limit, or the array holds more than 1000 events"),
        (status = 422, description = "A field is missing or wrong (the message names it, e.g. `[2].kind`), the array is empty, or the `Idempotency-Key` was used with another body"),
    )
)]
async fn create(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let now = crate::executor::pipeline::now_ms();
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let inputs = if is_array {
        let items: Vec<EventInput> = parse(&body)?;
        if items.is_empty() {
            return Err(ApiError::invalid("the array holds no event"));
        }
        if items.len() > MAX_EVENTS_PER_REQUEST {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "{} events in one request; the limit is {MAX_EVENTS_PER_REQUEST}",
                    items.len()
                ),
            ));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| item.into_new_event(&org, &format!("[{i}]"), now))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![parse::<EventInput>(&body)?.into_new_event(&org, "", now)?]
    };
    let appended = ingest::submit(
        &state.store,
        &state.metrics,
        &org,
        key.as_deref(),
        &body,
        inputs,
    )
    .await?;
    let ids: Vec<String> = appended.ids.iter().map(ToString::to_string).collect();
    let mut headers = HeaderMap::new();
    if appended.replayed {
        headers.insert(
            "idempotent-replayed",
            "true".parse().expect("a valid header value"),
        );
    }
    Ok((StatusCode::ACCEPTED, headers, Json(json!({ "ids": ids }))))
}
