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
