//! Scheduled-job tracking, compatible with both versions of the backup tracker's API:
//! `POST /api/tasks`, `POST /api/tasks/{id}/jobs` (ack by id, the seed's `TrackJob`),
//! `POST /api/backups` (ack by name, creating the task with datapoints 7 and tolerance 0),
//! `POST /api/reports`, `GET /api/tasks`, `GET /api/tasks/{id}` and `GET /healthz/ready`.
//!
//! Tasks and acks are facts kept by the host (and appended to the log as `task.created` and
//! `task.ack`); whether a task is healthy is computed by the org's `tasks` pipeline (the
//! `tolerance` plugin) in a dry run, as of now or of the `at=` instant given, so audits ("was the
//! backup healthy on the 3rd?") and backfilled histories (`time` on acks, `created` on tasks)
//! get the same answer the live evaluation gives.

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use trackway_store::tasks::Task;
use trackway_store::{NewEvent, WriteBatch};

use super::AppState;
use super::error::{ApiError, RawBody, parse};
use super::inventory::rfc3339;
use crate::auth::{Caller, Read, Write};

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list, show, ack_by_id, ack_by_name, report, ready),
    components(schemas(NewTask, NewAck, NamedAck, ReportRequest)),
    tags((name = "tasks", description = "Scheduled-job tracking, compatible with the backup tracker: tasks, the acks of their runs, and their health as the org's `tasks` pipeline evaluates it. The routes act on the org of the API key (or the open `default` org)."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/tasks", post(create).get(list))
        .route("/api/tasks/{id}", get(show))
        .route("/api/tasks/{id}/jobs", post(ack_by_id))
        .route("/api/backups", post(ack_by_name))
        .route("/api/reports", post(report))
        .route("/healthz/ready", get(ready))
}

/// How far in the future a given time may be (clock skew between the job's host and ours).
const MAX_SKEW_MS: u64 = 5 * 60 * 1000;
/// Defaults of a task created by its first ack (`POST /api/backups`), as in the seed.
const DEFAULT_DATAPOINTS: u32 = 7;
/// Acks shown by `GET /api/tasks/{id}`.
const RECENT_ACKS: usize = 50;

fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("field `{field}`: {why}"))
}

/// Parse an RFC 3339 `field` into ms since the epoch, refusing times in the future.
fn past_time(field: &str, text: &str, now_ms: u64) -> Result<u64, ApiError> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| invalid(field, format!("`{text}` is not an RFC 3339 time ({e})")))?;
    let ms = u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| invalid(field, "is before 1970"))?;
    if ms > now_ms + MAX_SKEW_MS {
        return Err(invalid(field, format!("`{text}` is in the future")));
    }
    Ok(ms)
}

/// A task to track. The settings past `tolerance` are the `tolerance` plugin's to check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTask {
    /// 1-256 characters, unique in the org.
    name: String,
    /// The window, in periods (days of 24 hours in `rolling` mode); at least 1.
    datapoints: i64,
    /// How many periods of the window may go without a successful run; 0 to `datapoints`.
    tolerance: i64,
    /// RFC 3339, not in the future: when tracking started, for backfilled histories. Default now.
    #[serde(default)]
    created: Option<String>,
    /// `rolling`, `daily`, `cloudwatch` or `heartbeat`. Default the pipeline's (`rolling`).
    #[serde(default)]
    mode: Option<String>,
    /// An IANA time zone, for `daily`, whole-day `cloudwatch` periods and `heartbeat.cron`.
    /// Default `UTC`.
    #[serde(default)]
    timezone: Option<String>,
    /// The `cloudwatch` mode's rule: `period_seconds`, `evaluation_periods`,
    /// `datapoints_to_alarm`, `treat_missing_data`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    cloudwatch: Option<Value>,
    /// The `heartbeat` mode's rule: `period_seconds` or `cron`, and `grace_seconds`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    heartbeat: Option<Value>,
}

/// One run of a task, acknowledged by the task's id. The body may be empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewAck {
    /// RFC 3339, not in the future: when the run happened, for backfilled histories. Default now.
    #[serde(default)]
    time: Option<String>,
    /// Whether the run succeeded. Default `true`.
    #[serde(default)]
    ok: Option<bool>,
}

/// One run of a task, acknowledged by the task's name.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NamedAck {
    /// The task's name, 1-256 characters; a task of that name is created (datapoints 7,
    /// tolerance 0) if there is none.
    #[serde(rename = "taskName")]
    task_name: String,
    /// RFC 3339, not in the future: when the run happened. Default now.
    #[serde(default)]
    time: Option<String>,
    /// Whether the run succeeded. Default `true`.
    #[serde(default)]
    ok: Option<bool>,
}

/// `?at=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct At {
    /// The instant to evaluate at, RFC 3339, not in the future (an audit). Default now.
    at: Option<String>,
}

/// The evaluation instant: `at=` (RFC 3339) or now.
fn at(q: &At, now_ms: u64) -> Result<u64, ApiError> {
    q.at.as_deref()
        .map_or(Ok(now_ms), |text| past_time("at", text, now_ms))
}

fn now() -> u64 {
    crate::executor::pipeline::now_ms()
}

fn event(org: &str, kind: &str, subject: &str, time_ms: u64, payload: Value) -> NewEvent {
    crate::ingest::api_event(org, kind, subject, time_ms, payload.to_string())
}

async fn commit(
    state: &AppState,
    write: WriteBatch,
) -> Result<trackway_store::CommitOutcome, ApiError> {
    state
        .store
        .commit(write)
        .await
        .map_err(|_| ApiError::internal("the store writer has stopped"))?
        .map_err(|e| match e {
            trackway_store::Error::TaskExists(name) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("a task named `{name}` already exists"),
            ),
            trackway_store::Error::UnknownTask(id) => {
                ApiError::not_found(format!("no task with id {id}"))
            }
            other => other.into(),
        })
}

/// Evaluate `task` as of `at_ms` (see [`crate::tasks::evaluate`]), as an API error on failure.
async fn evaluate(
    state: &Arc<AppState>,
    org: &str,
    task: &Task,
    at_ms: u64,
) -> Result<Value, ApiError> {
    crate::tasks::evaluate(&state.store, &state.gates, org, task, at_ms)
        .await
        .map_err(|e| match e {
            crate::tasks::EvaluationError::NoPipeline(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_evaluator",
                e.to_string(),
            ),
            crate::tasks::EvaluationError::Rejected(_) => ApiError::invalid(e.to_string()),
            crate::tasks::EvaluationError::Store(e) => ApiError::from(e),
            crate::tasks::EvaluationError::NoResult => ApiError::internal(e),
        })
}

/// Create a task.
///
/// Needs a key with scope `write`, acting on its org (none when the `default` org is open). The
/// settings are checked by a dry run of the org's `tasks` pipeline before the task is accepted.
#[utoipa::path(
    post, path = "/api/tasks", tag = "tasks", operation_id = "create_task",
    request_body = NewTask,
    responses(
        (status = 201, description = "Created: `{\"id\": task id}`"),
        (status = 400, description = "Empty body, or invalid JSON (with its line and column)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is `read`"),
        (status = 404, description = "The key's org no longer exists"),
        (status = 409, description = "A task of that name exists"),
        (status = 413, description = "The body is over the size limit"),
        (status = 422, description = "A field is missing, unknown or wrong (the message names it), or the `tolerance` plugin refused the settings"),
        (status = 503, description = "The org has no `tasks` pipeline to evaluate tasks"),
    )
)]
async fn create(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let input: NewTask = parse(&body)?;
    let now = now();
    if input.name.trim().is_empty() || input.name.len() > 256 {
        return Err(invalid("name", "must be 1-256 characters"));
    }
    let datapoints = u32::try_from(input.datapoints)
        .ok()
        .filter(|d| *d >= 1)
        .ok_or_else(|| invalid("datapoints", "must be at least 1"))?;
    let tolerance =
        u32::try_from(input.tolerance).map_err(|_| invalid("tolerance", "must be at least 0"))?;
    if tolerance > datapoints {
        return Err(invalid(
            "tolerance",
            format!("must not exceed `datapoints` ({datapoints})"),
        ));
    }
    let created_ms = input
        .created
        .as_deref()
        .map_or(Ok(now), |t| past_time("created", t, now))?;
    let mut settings = Map::new();
    for (key, value) in [
        ("mode", input.mode.map(Value::String)),
        ("timezone", input.timezone.map(Value::String)),
        ("cloudwatch", input.cloudwatch),
        ("heartbeat", input.heartbeat),
    ] {
        if let Some(value) = value {
            settings.insert(key.into(), value);
        }
    }
    let task = Task {
        id: 0,
        name: input.name.clone(),
        datapoints,
        tolerance,
        created_ms,
        settings: Value::Object(settings).to_string(),
    };
    // The rules are the plugin's: ask it before accepting settings it would refuse later.
    evaluate(&state, &org, &task, now).await?;
    let mut write = WriteBatch::new();
    write.create_task(&org, task.clone(), false);
    let mut task_event = crate::tasks::task_json(&task);
    task_event.as_object_mut().map(|o| o.remove("id"));
    write.append(
        &org,
        None,
        b"",
        vec![event(
            &org,
            "task.created",
            &task.name,
            created_ms,
            task_event,
        )],
    );
    let outcome = commit(&state, write).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": outcome.tasks[0] }))))
}

async fn record_ack(
    state: &AppState,
    org: &str,
    task: Option<u64>,
    name: &str,
    time_ms: u64,
    ok: bool,
    mut write: WriteBatch,
) -> Result<impl IntoResponse + use<>, ApiError> {
    write.ack(org, task, time_ms, ok);
    write.append(
        org,
        None,
        b"",
        vec![event(
            org,
            "task.ack",
            name,
            time_ms,
            json!({ "task": name, "ok": ok }),
        )],
    );
    let outcome = commit(state, write).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": outcome.acks[0] }))))
}

/// Acknowledge a run of task `id` (the seed's `TrackJob`).
///
/// Needs a key with scope `write`, acting on its org (none when the `default` org is open).
#[utoipa::path(
    post, path = "/api/tasks/{id}/jobs", tag = "tasks",
    params(("id" = u64, Path, description = "The task's id")),
    request_body(content = Option<NewAck>, description = "The run; an empty body is a successful run now"),
    responses(
        (status = 201, description = "Recorded: `{\"id\": ack id}`"),
        (status = 400, description = "`id` is not an integer (axum's plain-text answer), or invalid JSON (with its line and column)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is `read`"),
        (status = 404, description = "No such task in the org (or the key's org no longer exists)"),
        (status = 413, description = "The body is over the size limit"),
        (status = 422, description = "A field is unknown or wrong, e.g. `time` in the future"),
    )
)]
async fn ack_by_id(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    id: Result<Path<u64>, PathRejection>,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let Path(id) = id?;
    let input: NewAck = if body.iter().all(u8::is_ascii_whitespace) {
        NewAck::default()
    } else {
        parse(&body)?
    };
    let now = now();
    let time_ms = input
        .time
        .as_deref()
        .map_or(Ok(now), |t| past_time("time", t, now))?;
    let (store, o) = (state.store.clone(), org.clone());
    let task = tokio::task::spawn_blocking(move || store.task(&o, id))
        .await
        .map_err(ApiError::internal)??
        .ok_or_else(|| ApiError::not_found(format!("no task with id {id}")))?;
    record_ack(
        &state,
        &org,
        Some(id),
        &task.name,
        time_ms,
        input.ok.unwrap_or(true),
        WriteBatch::new(),
    )
    .await
}

/// Acknowledge a run of the task named `taskName`, creating the task if there is none.
///
/// Needs a key with scope `write`, acting on its org (none when the `default` org is open). A
/// task created this way has datapoints 7 and tolerance 0, as in the seed.
#[utoipa::path(
    post, path = "/api/backups", tag = "tasks",
    request_body = NamedAck,
    responses(
        (status = 201, description = "Recorded: `{\"id\": ack id}`"),
        (status = 400, description = "Empty body, or invalid JSON (with its line and column)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is `read`"),
        (status = 404, description = "The key's org no longer exists"),
        (status = 413, description = "The body is over the size limit"),
        (status = 422, description = "`taskName` is missing or empty, or a field is unknown or wrong"),
    )
)]
async fn ack_by_name(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let input: NamedAck = parse(&body)?;
    if input.task_name.trim().is_empty() || input.task_name.len() > 256 {
        return Err(invalid("taskName", "must be 1-256 characters"));
    }
    let now = now();
    let time_ms = input
        .time
        .as_deref()
        .map_or(Ok(now), |t| past_time("time", t, now))?;
    let mut write = WriteBatch::new();
    let task = Task {
        id: 0,
        name: input.task_name.clone(),
        datapoints: DEFAULT_DATAPOINTS,
        tolerance: 0,
        created_ms: now.min(time_ms),
        settings: "{}".into(),
    };
    write.create_task(&org, task, true);
    record_ack(
        &state,
        &org,
        None,
        &input.task_name,
        time_ms,
        input.ok.unwrap_or(true),
        write,
    )
    .await
}

async fn tasks_of(state: &Arc<AppState>, org: &str) -> Result<Vec<Task>, ApiError> {
    let (store, o) = (state.store.clone(), org.to_owned());
    Ok(tokio::task::spawn_blocking(move || store.tasks(&o))
        .await
        .map_err(ApiError::internal)??)
}

fn summary(task: &Task, evaluation: &Value) -> Value {
    json!({
        "id": task.id,
        "name": task.name,
        "status": evaluation["status"],
        "count": evaluation["count"],
        "expected": evaluation["expected"],
        "isReady": evaluation["isReady"],
        "lastBackup": evaluation["lastBackup"],
        "reason": evaluation["reason"],
    })
}

/// Every task with its evaluation, now or at `at`.
///
/// Needs a key, acting on its org (none when the `default` org is open).
#[utoipa::path(
    get, path = "/api/tasks", tag = "tasks", operation_id = "list_tasks",
    params(At),
    responses(
        (status = 200, description = "`{\"time\", \"tasks\": [...]}`: each task's `status` (`OK`, `ERROR`, `INSUFFICIENT`), `count`, `expected`, `isReady`, `lastBackup`, `reason`, and its `datapoints`, `tolerance` and `created`"),
        (status = 400, description = "A malformed query, e.g. `at` given twice (axum's plain-text answer)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "The key's org no longer exists"),
        (status = 422, description = "`at` is not an RFC 3339 time, or is in the future; or the `tolerance` plugin refused a task"),
        (status = 503, description = "The org has no `tasks` pipeline to evaluate tasks"),
    )
)]
async fn list(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    q: Result<Query<At>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q?;
    let at_ms = at(&q, now())?;
    let mut items = Vec::new();
    for task in tasks_of(&state, &org).await? {
        let evaluation = evaluate(&state, &org, &task, at_ms).await?;
        let mut item = summary(&task, &evaluation);
        item["datapoints"] = task.datapoints.into();
        item["tolerance"] = task.tolerance.into();
        item["created"] = rfc3339(task.created_ms).into();
        items.push(item);
    }
    Ok(Json(json!({ "time": rfc3339(at_ms), "tasks": items })))
}

/// One task with its evaluation and its latest acks (up to 50), now or at `at`.
///
/// Needs a key, acting on its org (none when the `default` org is open).
#[utoipa::path(
    get, path = "/api/tasks/{id}", tag = "tasks", operation_id = "show_task",
    params(("id" = u64, Path, description = "The task's id"), At),
    responses(
        (status = 200, description = "The task, its evaluation, `settings` and `acks` (newest first)"),
        (status = 400, description = "`id` is not an integer, or a malformed query (axum's plain-text answer)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 404, description = "No such task in the org (or the key's org no longer exists)"),
        (status = 422, description = "`at` is not an RFC 3339 time, or is in the future; or the `tolerance` plugin refused the task"),
        (status = 503, description = "The org has no `tasks` pipeline to evaluate tasks"),
    )
)]
async fn show(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    id: Result<Path<u64>, PathRejection>,
    q: Result<Query<At>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q?;
    let Path(id) = id?;
    let at_ms = at(&q, now())?;
    let (store, o) = (state.store.clone(), org.clone());
    let (task, acks) = tokio::task::spawn_blocking(move || -> trackway_store::Result<_> {
        let Some(task) = store.task(&o, id)? else {
            return Ok(None);
        };
        let acks = store.acks(&o, id, 0, at_ms)?;
        Ok(Some((task, acks)))
    })
    .await
    .map_err(ApiError::internal)??
    .ok_or_else(|| ApiError::not_found(format!("no task with id {id}")))?;
    let evaluation = evaluate(&state, &org, &task, at_ms).await?;
    let mut item = summary(&task, &evaluation);
    item["datapoints"] = task.datapoints.into();
    item["tolerance"] = task.tolerance.into();
    item["created"] = rfc3339(task.created_ms).into();
    item["settings"] = serde_json::from_str(&task.settings).unwrap_or_default();
    item["acks"] = acks
        .iter()
        .rev()
        .take(RECENT_ACKS)
        .map(|a| json!({ "id": a.id, "time": rfc3339(a.time_ms), "ok": a.ok }))
        .collect();
    item["time"] = rfc3339(at_ms).into();
    Ok(Json(item))
}

/// What a report asks for. The body may be empty.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReportRequest {
    /// `ALWAYS`, `ON_ERROR` or `NEVER` (default): whether the `task.report` event asks the
    /// pipelines to notify.
    #[serde(default)]
    notify: Option<String>,
}

/// Evaluate every task, now or at `at`, and append the report as a `task.report` event.
///
/// Needs a key with scope `write`, acting on its org (none when the `default` org is open).
#[utoipa::path(
    post, path = "/api/reports", tag = "tasks",
    params(At),
    request_body(content = Option<ReportRequest>, description = "What the report asks for; an empty body is `NEVER`"),
    responses(
        (status = 200, description = "`{\"time\", \"status\": \"OK\" or \"ERROR\", \"tasks\": [...]}`"),
        (status = 400, description = "Invalid JSON (with its line and column), or a malformed query, e.g. `at` given twice (axum's plain-text answer)"),
        (status = 401, description = "No API key, or an invalid one"),
        (status = 403, description = "The key's scope is `read`"),
        (status = 404, description = "The key's org no longer exists"),
        (status = 413, description = "The body is over the size limit"),
        (status = 422, description = "`notify` is not `ALWAYS`, `ON_ERROR` or `NEVER`, a field is unknown, or `at` is wrong; or the `tolerance` plugin refused a task"),
        (status = 503, description = "The org has no `tasks` pipeline to evaluate tasks"),
    )
)]
async fn report(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    q: Result<Query<At>, QueryRejection>,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q?;
    let request: ReportRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReportRequest { notify: None }
    } else {
        parse(&body)?
    };
    let notify = request.notify.unwrap_or_else(|| "NEVER".into());
    if !["ALWAYS", "ON_ERROR", "NEVER"].contains(&notify.as_str()) {
        return Err(invalid(
            "notify",
            format!("`{notify}` is not one of ALWAYS, ON_ERROR, NEVER"),
        ));
    }
    let at_ms = at(&q, now())?;
    let mut items = Vec::new();
    let mut overall = "OK";
    for task in tasks_of(&state, &org).await? {
        let evaluation = evaluate(&state, &org, &task, at_ms).await?;
        if evaluation["status"] == "ERROR" {
            overall = "ERROR";
        }
        items.push(summary(&task, &evaluation));
    }
    let body = json!({ "time": rfc3339(at_ms), "status": overall, "tasks": items });
    // A report is an event like any other: a pipeline (a webhook sink) can deliver it; the
    // request's `notify` says whether it should.
    let wanted = notify == "ALWAYS" || (notify == "ON_ERROR" && overall == "ERROR");
    let mut write = WriteBatch::new();
    let mut payload = body.clone();
    payload["notify"] = wanted.into();
    write.append(
        &org,
        None,
        b"",
        vec![event(&org, "task.report", "report", at_ms, payload)],
    );
    commit(&state, write).await?;
    Ok(Json(body))
}

/// The seed's readiness route: the same check as `/readyz` (pipelines loaded, store
/// writable). No API key needed.
#[utoipa::path(
    get, path = "/healthz/ready", tag = "tasks",
    responses(
        (status = 200, description = "`{\"status\": \"ready\", ...}`"),
        (status = 503, description = "`{\"status\": \"not_ready\", ...}`: pipelines not loaded or store not writable"),
    )
)]
async fn ready(state: State<Arc<AppState>>) -> impl IntoResponse {
    super::health::readiness(state).await
}
