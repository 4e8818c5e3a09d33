//! The dead-letter queue of an org: `GET /v1/orgs/{org}/dlq` lists what failed for good (the
//! event, the error, the attempts), `POST /v1/orgs/{org}/dlq/{id}/replay` and
//! `POST /v1/orgs/{org}/dlq/replay` (every letter, or those of `?pipeline=&stage=`) send events
//! back where they failed: a sink's letters go back to its outbox, a processor's to its
//! pipeline's replay queue, which runs them through that processor and on. Replaying needs an
//! `admin` key; `trackway dlq list|replay` calls these routes.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use trackway_store::{DeadLetter, Ulid, WriteBatch};

use super::AppState;
use super::error::ApiError;
use super::history::event_json;
use super::inventory::rfc3339;
use crate::auth::{Admin, Caller, Read};
use crate::executor::pipeline::REPLAY_STAGE;

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, replay_all, replay_one),
    tags((name = "dlq", description = "The dead-letter queue of an org: events a stage failed for good, listed and replayed where they failed."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/orgs/{org}/dlq", get(list))
        .route("/v1/orgs/{org}/dlq/replay", post(replay_all))
        .route("/v1/orgs/{org}/dlq/{id}/replay", post(replay_one))
}

/// Which letters: all, or those of one pipeline (and stage).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Filter {
    /// Only the letters of this pipeline.
    pipeline: Option<String>,
    /// Only the letters of this stage.
    stage: Option<String>,
}

impl Filter {
    fn matches(&self, letter: &DeadLetter) -> bool {
        self.pipeline.as_ref().is_none_or(|p| *p == letter.pipeline)
            && self.stage.as_ref().is_none_or(|s| *s == letter.stage)
    }
}

/// The JSON of a dead letter.
pub fn letter_json(letter: &DeadLetter) -> Value {
    json!({
        "id": letter.id.to_string(),
        "pipeline": letter.pipeline,
        "stage": letter.stage,
        "error": letter.error,
        "attempts": letter.attempts,
        "first_failed": rfc3339(letter.first_failed_ms),
        "last_failed": rfc3339(letter.last_failed_ms),
        "event": event_json(&letter.event),
    })
}

async fn letters(state: &AppState, org: &str) -> Result<Vec<DeadLetter>, ApiError> {
    let (store, org) = (state.store.clone(), org.to_owned());
    Ok(
        tokio::task::spawn_blocking(move || store.dead_letters(&org))
            .await
            .map_err(ApiError::internal)??,
    )
}

/// The org's dead letters, oldest first: each with its event, error and attempts.
///
/// Needs a key of the org (any scope; none for an open org).
#[utoipa::path(
    get, path = "/v1/orgs/{org}/dlq", tag = "dlq", operation_id = "list_dead_letters",
    params(("org" = String, Path, description = "The org"), Filter),
    responses(
        (status = 200, description = "`{\"items\": [letters]}`"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
        (status = 422, description = "A query parameter other than `pipeline` and `stage`"),
    )
)]
async fn list(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::invalid(e.body_text()))?;
    let items: Vec<Value> = letters(&state, &org)
        .await?
        .iter()
        .filter(|l| filter.matches(l))
        .map(letter_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Queue `letters` back where they failed and remove them from the queue, in one commit.
async fn replay(state: &AppState, letters: Vec<DeadLetter>) -> Result<Json<Value>, ApiError> {
    let mut write = WriteBatch::new();
    let mut replayed = Vec::new();
    for letter in letters {
        let stage = (
            letter.org.clone(),
            letter.pipeline.clone(),
            letter.stage.clone(),
        );
        if state.sinks.contains(&stage) {
            let scope = format!("{}/{}/{}", stage.0, stage.1, stage.2);
            write.outbox_push(&scope, &letter.event);
        } else if state.processors.contains(&stage) {
            let mut event = letter.event.clone();
            event
                .attributes
                .push((REPLAY_STAGE.into(), letter.stage.clone()));
            write.outbox_push(&format!("{}/{}", stage.0, stage.1), &event);
        } else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "stage_gone",
                format!(
                    "dead letter `{}` failed at stage `{}` of pipeline `{}`, which no longer exists; nothing was replayed",
                    letter.id, letter.stage, letter.pipeline
                ),
            ));
        }
        write.dlq_remove(letter.id);
        replayed.push(letter.id.to_string());
    }
    if !write.is_empty() {
        state
            .store
            .commit(write)
            .await
            .map_err(|_| ApiError::internal("the store writer has stopped"))??;
    }
    Ok(Json(json!({ "replayed": replayed })))
}

/// Replay one dead letter: queue its event back where it failed, and remove it from the queue.
///
/// Needs a key of the org with scope `admin` (none for an open org).
#[utoipa::path(
    post, path = "/v1/orgs/{org}/dlq/{id}/replay", tag = "dlq",
    params(
        ("org" = String, Path, description = "The org"),
        ("id" = String, Path, description = "The dead letter's id"),
    ),
    responses(
        (status = 202, description = "Queued: `{\"replayed\": [id]}`"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is below `admin`"),
        (status = 404, description = "Unknown org (or the key belongs to another org), or no such dead letter in the org"),
        (status = 409, description = "The stage it failed at no longer exists; nothing was replayed"),
    )
)]
async fn replay_one(
    State(state): State<Arc<AppState>>,
    Admin(Caller { org }): Admin,
    // `_org`, not `_`: `#[utoipa::path]` (axum_extras) needs a name for each field of a tuple.
    Path((_org, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let not_found = || ApiError::not_found(format!("no dead letter `{id}`"));
    let ulid = Ulid::from_string(&id).map_err(|_| not_found())?;
    let store = state.store.clone();
    let letter = tokio::task::spawn_blocking(move || store.dead_letter(ulid))
        .await
        .map_err(ApiError::internal)??
        .filter(|l| l.org == org)
        .ok_or_else(not_found)?;
    Ok((StatusCode::ACCEPTED, replay(&state, vec![letter]).await?))
}

/// Replay every dead letter of the org, or those of `pipeline` (and `stage`), in one commit.
///
/// Needs a key of the org with scope `admin` (none for an open org).
#[utoipa::path(
    post, path = "/v1/orgs/{org}/dlq/replay", tag = "dlq",
    params(("org" = String, Path, description = "The org"), Filter),
    responses(
        (status = 202, description = "Queued: `{\"replayed\": [ids]}` (empty when no letter matched)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is below `admin`"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
        (status = 409, description = "A letter failed at a stage that no longer exists; nothing was replayed"),
        (status = 422, description = "A query parameter other than `pipeline` and `stage`"),
    )
)]
async fn replay_all(
    State(state): State<Arc<AppState>>,
    Admin(Caller { org }): Admin,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::invalid(e.body_text()))?;
    let letters = letters(&state, &org)
        .await?
        .into_iter()
        .filter(|l| filter.matches(l))
        .collect();
    Ok((StatusCode::ACCEPTED, replay(&state, letters).await?))
}
