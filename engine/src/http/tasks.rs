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

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use trackway_store::tasks::Task;
use trackway_store::{Event, NewEvent, Ulid, WriteBatch};

use super::AppState;
use super::error::{ApiError, RawBody, parse};
use super::inventory::rfc3339;
use crate::auth::{Caller, Read, Write};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTask {
    name: String,
    datapoints: i64,
    tolerance: i64,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    cloudwatch: Option<Value>,
    #[serde(default)]
    heartbeat: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAck {
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    ok: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedAck {
    #[serde(rename = "taskName")]
    task_name: String,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    ok: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct At {
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
    NewEvent {
        id: None,
        event: Event {
            id: Ulid::nil(),
            org: org.to_owned(),
            kind: kind.to_owned(),
            source: "api".into(),
            time_ms,
            subject: subject.to_owned(),
            attributes: Vec::new(),
            payload: payload.to_string(),
            parent: None,
        },
    }
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

async fn ack_by_id(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    Path(id): Path<u64>,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
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

async fn list(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Query(q): Query<At>,
) -> Result<impl IntoResponse, ApiError> {
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

async fn show(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path(id): Path<u64>,
    Query(q): Query<At>,
) -> Result<impl IntoResponse, ApiError> {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportRequest {
    #[serde(default)]
    notify: Option<String>,
}

async fn report(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    Query(q): Query<At>,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
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

async fn ready() -> impl IntoResponse {
    Json(json!({ "status": "ready" }))
}
