//! The version inventory, org-scoped: environments, the apps of an environment, one app across
//! environments, an app's history in an environment, and the diff of two environments.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use trackway_store::Ulid;
use trackway_store::inventory::{Current, Entry};

use super::AppState;
use super::error::ApiError;
use super::history::{Page, next_link};
use crate::auth::{Caller, Read};

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(environments, apps, history, app, diff),
    tags((name = "inventory", description = "The version inventory of an org: the current version of every app in every environment, their histories, and the diff of two environments."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/orgs/{org}/environments", get(environments))
        .route("/v1/orgs/{org}/environments/{env}/apps", get(apps))
        .route(
            "/v1/orgs/{org}/environments/{env}/apps/{app}/history",
            get(history),
        )
        .route("/v1/orgs/{org}/apps/{app}", get(app))
        .route("/v1/orgs/{org}/diff", get(diff))
}

/// RFC 3339 (UTC, always three digits of milliseconds: `2026-11-20T12:00:00.000Z`, as the
/// `tolerance` plugin writes its times) of `ms` since the epoch.
pub fn rfc3339(ms: u64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    let nanos = u32::try_from((ms % 1000) * 1_000_000).unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.replace_nanosecond(nanos).unwrap_or(t))
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_default()
}

fn fields(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| json!({}))
}

fn current_json(current: &Current) -> Value {
    json!({
        "version": current.version,
        "time": rfc3339(current.time_ms),
        "reporter": current.reporter,
        "fields": fields(&current.fields),
    })
}

fn entry_json(event_id: Ulid, entry: &Entry) -> Value {
    json!({
        "version": entry.version,
        "time": rfc3339(entry.time_ms),
        "reporter": entry.reporter,
        "fields": fields(&entry.fields),
        "bump": entry.bump,
        "redeploy": entry.redeploy,
        "event_id": event_id.to_string(),
    })
}

/// Run a store query off the async workers.
async fn query<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&trackway_store::Store) -> trackway_store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    Ok(tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(ApiError::internal)??)
}

/// The org's environments, by name, with their number of apps.
///
/// Needs a key of the org (any scope; none for an open org).
#[utoipa::path(
    get, path = "/v1/orgs/{org}/environments", tag = "inventory",
    params(("org" = String, Path, description = "The org")),
    responses(
        (status = 200, description = "`{\"environments\": [{\"name\", \"apps\": count}]}`"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
    )
)]
async fn environments(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
) -> Result<impl IntoResponse, ApiError> {
    let envs = query(&state, move |s| s.environments(&org)).await?;
    let items: Vec<_> = envs
        .into_iter()
        .map(|(name, apps)| json!({ "name": name, "apps": apps }))
        .collect();
    Ok(Json(json!({ "environments": items })))
}

/// The apps of `env` with their current versions, by app name.
pub async fn apps_of(
    state: &Arc<AppState>,
    org: String,
    env: String,
) -> Result<Vec<(String, Current)>, ApiError> {
    query(state, move |s| s.apps(&org, &env)).await
}

/// The apps of an environment with their current versions.
///
/// Needs a key of the org (any scope; none for an open org).
#[utoipa::path(
    get, path = "/v1/orgs/{org}/environments/{env}/apps", tag = "inventory",
    params(("org" = String, Path, description = "The org"), ("env" = String, Path, description = "The environment")),
    responses(
        (status = 200, description = "`{\"environment\", \"apps\": [{\"app\", \"version\", \"time\", \"reporter\", \"fields\"}]}`; no apps for an unknown environment"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
    )
)]
async fn apps(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    // `_org`, not `_`: `#[utoipa::path]` (axum_extras) needs a name for each field of a tuple.
    Path((_org, env)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let apps = apps_of(&state, org, env.clone()).await?;
    let items: Vec<_> = apps
        .iter()
        .map(|(app, current)| {
            let mut item = current_json(current);
            item["app"] = app.clone().into();
            item
        })
        .collect();
    Ok(Json(json!({ "environment": env, "apps": items })))
}

/// One app's current version in every environment it was reported in.
///
/// Needs a key of the org (any scope; none for an open org).
#[utoipa::path(
    get, path = "/v1/orgs/{org}/apps/{app}", tag = "inventory",
    params(("org" = String, Path, description = "The org"), ("app" = String, Path, description = "The app")),
    responses(
        (status = 200, description = "`{\"app\", \"environments\": [{\"environment\", \"version\", \"time\", \"reporter\", \"fields\"}]}`"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "Unknown org (or the key belongs to another org), or no version of the app was reported"),
    )
)]
async fn app(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path((_org, app)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let name = app.clone();
    let envs = query(&state, move |s| s.app_everywhere(&org, &name)).await?;
    if envs.is_empty() {
        return Err(ApiError::not_found(format!(
            "no version of app `{app}` was reported"
        )));
    }
    let items: Vec<_> = envs
        .iter()
        .map(|(env, current)| {
            let mut item = current_json(current);
            item["environment"] = env.clone().into();
            item
        })
        .collect();
    Ok(Json(json!({ "app": app, "environments": items })))
}

/// The versions of an app in an environment, newest first, paged.
///
/// Needs a key of the org (any scope; none for an open org). Each entry has its `bump` (when
/// classified) and `redeploy` (the version was already the current one).
#[utoipa::path(
    get, path = "/v1/orgs/{org}/environments/{env}/apps/{app}/history", tag = "inventory",
    params(
        ("org" = String, Path, description = "The org"),
        ("env" = String, Path, description = "The environment"),
        ("app" = String, Path, description = "The app"),
        Page,
    ),
    responses(
        (status = 200, description = "`{\"environment\", \"app\", \"items\": [{\"version\", \"time\", \"reporter\", \"fields\", \"bump\", \"redeploy\", \"event_id\"}], \"next\": id or null}`; when there is a next page, `Link` has it (`rel=\"next\"`)"),
        (status = 422, description = "`limit` out of range or not an integer, or `before` not an event id"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
    )
)]
async fn history(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path((_org, env, app)): Path<(String, String, String)>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(page) = page?;
    let limit = page.limit()?;
    let before = page.before()?;
    let (e, a) = (env.clone(), app.clone());
    let result = query(&state, move |s| s.app_history(&org, &e, &a, before, limit)).await?;
    let headers = next_link(limit, result.next_before);
    let items: Vec<_> = result
        .items
        .iter()
        .map(|(id, e)| entry_json(*id, e))
        .collect();
    Ok((
        headers,
        Json(json!({
            "environment": env,
            "app": app,
            "items": items,
            "next": result.next_before.map(|n| n.to_string()),
        })),
    ))
}

/// `?from=&to=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DiffQuery {
    /// The environment compared from.
    from: String,
    /// The environment compared to.
    to: String,
}

/// The difference of two environments: apps whose versions differ, and apps in only one.
///
/// Needs a key of the org (any scope; none for an open org).
#[utoipa::path(
    get, path = "/v1/orgs/{org}/diff", tag = "inventory",
    params(("org" = String, Path, description = "The org"), DiffQuery),
    responses(
        (status = 200, description = "`{\"from\", \"to\", \"different\": [{\"app\", \"from\", \"to\"}], \"only_in_from\": [{\"app\", \"version\"}], \"only_in_to\": [...]}`"),
        (status = 400, description = "`from` or `to` is missing"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "Unknown org, or the key belongs to another org"),
    )
)]
async fn diff(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    q: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q.map_err(|_| {
        ApiError::bad_request("query parameters `from` and `to` (environments) are required")
    })?;
    let from: BTreeMap<String, Current> = apps_of(&state, org.clone(), q.from.clone())
        .await?
        .into_iter()
        .collect();
    let to: BTreeMap<String, Current> = apps_of(&state, org, q.to.clone())
        .await?
        .into_iter()
        .collect();
    let mut differ = Vec::new();
    let mut only_from = Vec::new();
    for (app, a) in &from {
        match to.get(app) {
            Some(b) if b.version != a.version => {
                differ.push(json!({ "app": app, "from": a.version, "to": b.version }));
            }
            Some(_) => {}
            None => only_from.push(json!({ "app": app, "version": a.version })),
        }
    }
    let only_to: Vec<_> = to
        .iter()
        .filter(|(app, _)| !from.contains_key(*app))
        .map(|(app, b)| json!({ "app": app, "version": b.version }))
        .collect();
    Ok(Json(json!({
        "from": q.from,
        "to": q.to,
        "different": differ,
        "only_in_from": only_from,
        "only_in_to": only_to,
    })))
}
