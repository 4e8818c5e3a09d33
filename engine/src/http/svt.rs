//! The Stack Versions Tracker routes, kept compatible so existing Jenkins/GitLab jobs work
//! unchanged: `POST /create` (creates or updates the app's current version in an environment)
//! and `GET /list/<env>` / `GET /list?env=<env>`. They act on the org of the API key (or on the
//! `default` org when it is open and no key is sent).
//!
//! `/create` validates the report against the org's `versions` pipeline before accepting it
//! (a dry run of its processors: a version the `semver` stage rejects is a 400 with the
//! stage's reason), commits a `version.reported` event, and answers once the inventory shows
//! it, so a `/list` right after a `/create` sees the new version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use trackway_store::{Event, NewEvent, Ulid};

use super::AppState;
use super::error::{ApiError, RawBody};
use super::inventory::{apps_of, rfc3339};
use crate::auth::{Caller, Read, Write};
use crate::ingest;

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list_query, list),
    tags((name = "svt", description = "The Stack Versions Tracker routes: report the version of an app in an environment, list an environment's versions. They act on the org of the API key (or the open `default` org)."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/create", post(create))
        .route("/list", get(list_query))
        .route("/list/{env}", get(list))
}

/// The pipeline whose processors validate reports.
const PIPELINE: &str = "versions";
/// The most fields one report may have (env, name, version and extras such as url).
const MAX_FIELDS: usize = 20;
/// How long `/create` waits for the inventory to show an accepted report before answering
/// anyway (the report is durable; it shows up as soon as the pipeline catches up).
const VISIBLE_WITHIN: Duration = Duration::from_secs(5);

/// Locks that make the `/create` calls for one app in one environment take turns (an app
/// hashes to one of 64 stripes), so that of two concurrent first reports exactly
/// one answers "Creation successful": each looks up whether the app exists, commits, and waits
/// until the inventory shows its report, under the lock.
pub struct CreateLocks([tokio::sync::Mutex<()>; CreateLocks::STRIPES]);

impl CreateLocks {
    const STRIPES: usize = 64;

    fn of(&self, org: &str, env: &str, app: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one((org, env, app));
        &self.0[(hash % Self::STRIPES as u64) as usize]
    }
}

impl Default for CreateLocks {
    fn default() -> Self {
        Self(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_report", message)
}

/// The report as a JSON object, from a JSON body or an HTML form (`env=dev&name=...`).
fn report_fields(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(
            "empty body: send a JSON object with `env`, `name` and `version`",
        ));
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
        // `curl -d '{...}'` labels JSON as a form: trust the body.
        && body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{');
    if form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| bad(format!("invalid form body: {e}")))?;
        return Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect());
    }
    match super::error::parse::<Value>(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(bad(
            "the body must be a JSON object with `env`, `name` and `version`",
        )),
    }
}

/// Check the shape of a report; returns (env, name, version).
fn check(fields: &Map<String, Value>) -> Result<(String, String, String), ApiError> {
    if fields.len() > MAX_FIELDS {
        return Err(bad(format!(
            "too many fields: {} (at most {MAX_FIELDS})",
            fields.len()
        )));
    }
    if let Some((key, _)) = fields.iter().find(|(_, v)| !v.is_string()) {
        return Err(bad(format!("field `{key}` must be a string")));
    }
    let required = |key: &str| -> Result<String, ApiError> {
        match fields.get(key).and_then(Value::as_str) {
            None => Err(bad(format!("field `{key}` is required"))),
            Some(v) if v.trim().is_empty() => Err(bad(format!("field `{key}` must not be empty"))),
            Some(v) => Ok(v.to_owned()),
        }
    };
    let (env, name, version) = (required("env")?, required("name")?, required("version")?);
    if env.contains('/') || env.len() > 128 {
        return Err(bad(
            "field `env` must be at most 128 characters, without `/`",
        ));
    }
    if name.len() > 256 {
        return Err(bad("field `name` must be at most 256 characters"));
    }
    if version.len() > 128 {
        return Err(bad("field `version` must be at most 128 characters"));
    }
    Ok((env, name, version))
}

/// Report the version of an app in an environment.
///
/// Creates or updates the app's current version there. Needs a key with scope `write`, acting on
/// its org (none when the `default` org is open). The report is checked by a dry run of the
/// org's `versions` pipeline, and the answer waits (up to 5 s) until the inventory shows it.
#[utoipa::path(
    post, path = "/create", tag = "svt", operation_id = "create_version",
    request_body(
        content(
            (Object = "application/json"),
            (Object = "application/x-www-form-urlencoded"),
        ),
        description = "An object of string fields: `env` (at most 128 characters, no `/`), `name` (at most 256), `version` (at most 128), all required and non-empty, and up to 17 more (e.g. `url`), kept with the version. A form body (`env=dev&name=api&version=1.0.0`) is read the same way; a form-labelled body starting with `{` is read as JSON."
    ),
    responses(
        (status = 200, description = "`Creation successful` (a new app in the environment) or `Update successful`", body = String, content_type = "text/plain"),
        (status = 400, description = "Invalid JSON or form, or an invalid report (empty, not an object, a field missing, empty, too long or not a string, more than 20 fields, or a version the `versions` pipeline refused), the message saying which"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is `read`"),
        (status = 404, description = "The key's org no longer exists"),
        (status = 413, description = "The body is over the size limit"),
    )
)]
async fn create(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let fields = report_fields(&headers, &body)?;
    let (env, name, _) = check(&fields)?;
    let now = crate::executor::pipeline::now_ms();
    let event = Event {
        id: Ulid::nil(),
        org: org.clone(),
        kind: "version.reported".into(),
        source: "api".into(),
        time_ms: now,
        subject: format!("{env}/{name}"),
        attributes: vec![("reporter".into(), "svt".into())],
        payload: Value::Object(fields).to_string(),
        parent: None,
    };
    if let Some(gate) = state.gates.get(&(org.clone(), PIPELINE.to_owned())) {
        gate.lock()
            .await
            .check(&event)
            .await
            .map_err(|reason| bad(format!("field `version`: {reason}")))?;
    }
    let _turn = state.svt_creates.of(&org, &env, &name).lock().await;
    let existed = {
        let (env, name) = (env.clone(), name.clone());
        let (store, org) = (state.store.clone(), org.clone());
        tokio::task::spawn_blocking(move || store.current(&org, &env, &name))
            .await
            .map_err(ApiError::internal)??
            .is_some()
    };
    let appended = ingest::submit(
        &state.store,
        &state.metrics,
        &org,
        None,
        b"",
        vec![NewEvent { id: None, event }],
    )
    .await?;
    let id = appended.ids[0];
    let started = Instant::now();
    while started.elapsed() < VISIBLE_WITHIN {
        let (store, org, env, name) = (state.store.clone(), org.clone(), env.clone(), name.clone());
        let visible =
            tokio::task::spawn_blocking(move || store.inventory_has(&org, &env, &name, id))
                .await
                .map_err(ApiError::internal)??;
        if visible {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(if existed {
        "Update successful"
    } else {
        "Creation successful"
    })
}

/// `?env=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EnvQuery {
    /// The environment.
    // Required, but an `Option` so that a missing `env` gets the SVT's error, not axum's.
    #[param(required = true)]
    env: Option<String>,
}

/// The current versions of an environment named in the query.
///
/// Needs a key, acting on its org (none when the `default` org is open).
#[utoipa::path(
    get, path = "/list", tag = "svt",
    params(EnvQuery),
    responses(
        (status = 200, description = "An array of the environment's apps: `env`, `name`, `version`, `date` (of the report) and the report's other fields; empty for an unknown environment"),
        (status = 400, description = "`env` is missing or empty (or given twice: axum's plain-text answer)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "The key's org no longer exists"),
    )
)]
async fn list_query(
    State(state): State<Arc<AppState>>,
    caller: Read,
    q: Result<Query<EnvQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q?;
    let env = q
        .env
        .filter(|e| !e.is_empty())
        .ok_or_else(|| bad("query parameter `env` is required"))?;
    list(State(state), caller, Path(env)).await
}

/// The current versions of an environment.
///
/// Needs a key, acting on its org (none when the `default` org is open).
#[utoipa::path(
    get, path = "/list/{env}", tag = "svt", operation_id = "list_versions",
    params(("env" = String, Path, description = "The environment")),
    responses(
        (status = 200, description = "An array of the environment's apps: `env`, `name`, `version`, `date` (of the report) and the report's other fields; empty for an unknown environment"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "The key's org no longer exists"),
    )
)]
async fn list(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path(env): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let apps = apps_of(&state, org, env.clone()).await?;
    Ok(Json(
        apps.into_iter()
            .map(|(name, current)| {
                let mut item: Map<String, Value> =
                    serde_json::from_str(&current.fields).unwrap_or_default();
                item.insert("env".into(), json!(env));
                item.insert("name".into(), json!(name));
                item.insert("version".into(), json!(current.version));
                item.insert("date".into(), json!(rfc3339(current.time_ms)));
                Value::Object(item)
            })
            .collect(),
    ))
}
