//! Task evaluation, shared by the task routes and the scheduler: a task's status is what the
//! org's `tasks` pipeline (the `tolerance` plugin) computes in a dry run from the task, its acks
//! and an instant. The scheduler ([`reevaluate`]) evaluates every task at an interval and, when
//! a status changes, records it and appends one `task.status.changed` event: so a job that stops
//! reporting turns `ERROR` without any request, and notifications fire once per change.

use std::time::Duration;

use serde_json::{Map, Value, json};
use trackway_store::tasks::Task;
use trackway_store::{Event, NewEvent, Store, Ulid, WriteBatch};

use crate::executor::Gates;
use crate::executor::pipeline::now_ms;
use crate::http::inventory::rfc3339;

/// The pipeline whose processors evaluate tasks.
pub const PIPELINE: &str = "tasks";
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Why a task could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// The org has no `tasks` pipeline.
    #[error(
        "org `{0}` has no `tasks` pipeline to evaluate tasks (see pipelines/default/tasks.toml)"
    )]
    NoPipeline(String),
    /// The plugin refused the task (its settings), with its reason.
    #[error("the task cannot be evaluated: {0}")]
    Rejected(String),
    /// Reading the acks failed.
    #[error(transparent)]
    Store(#[from] trackway_store::Error),
    /// The pipeline produced no `task.evaluated` event.
    #[error("the tasks pipeline returned no `task.evaluated` event")]
    NoResult,
}

/// The JSON the `tolerance` plugin reads for `task`.
pub fn task_json(task: &Task) -> Value {
    let mut json: Map<String, Value> = serde_json::from_str(&task.settings).unwrap_or_default();
    json.insert("id".into(), task.id.into());
    json.insert("name".into(), task.name.clone().into());
    json.insert("created".into(), rfc3339(task.created_ms).into());
    json.insert("datapoints".into(), task.datapoints.into());
    json.insert("tolerance".into(), task.tolerance.into());
    Value::Object(json)
}

/// Evaluate `task` of `org` as of `at_ms`: the `task.evaluated` payload (`status`, `count`,
/// `expected`, `isReady`, `lastBackup`, `reason`, ...).
pub async fn evaluate(
    store: &Store,
    gates: &Gates,
    org: &str,
    task: &Task,
    at_ms: u64,
) -> Result<Value, EvaluationError> {
    let gate = gates
        .get(&(org.to_owned(), PIPELINE.to_owned()))
        .ok_or_else(|| EvaluationError::NoPipeline(org.to_owned()))?;
    // The plugin needs the look-back of the longest rule (datapoints or CloudWatch periods, in
    // days) plus a margin; heartbeats need the latest ack, so at least that one is sent.
    let periods = serde_json::from_str::<Value>(&task.settings)
        .ok()
        .and_then(|s| s["cloudwatch"]["evaluation_periods"].as_u64())
        .unwrap_or(0)
        .max(u64::from(task.datapoints));
    let from = at_ms.saturating_sub((periods + 2) * DAY_MS);
    let (s, o, id) = (store.clone(), org.to_owned(), task.id);
    let acks = tokio::task::spawn_blocking(move || -> trackway_store::Result<_> {
        let mut acks = s.acks(&o, id, from, at_ms)?;
        if acks.is_empty() {
            acks = s
                .acks(&o, id, 0, at_ms)?
                .into_iter()
                .last()
                .into_iter()
                .collect();
        }
        Ok(acks)
    })
    .await
    .map_err(|e| EvaluationError::Rejected(e.to_string()))??;
    let payload = json!({
        "at": rfc3339(at_ms),
        "task": task_json(task),
        "acks": acks.iter().map(|a| json!({"time": rfc3339(a.time_ms), "ok": a.ok})).collect::<Vec<_>>(),
        "previous_status": Value::Null,
    });
    let request = Event {
        id: Ulid::nil(),
        org: org.to_owned(),
        kind: "task.evaluate".into(),
        source: "api".into(),
        time_ms: at_ms,
        subject: task.name.clone(),
        attributes: Vec::new(),
        payload: payload.to_string(),
        parent: None,
    };
    let outputs = gate
        .lock()
        .await
        .run(&request)
        .await
        .map_err(EvaluationError::Rejected)?;
    outputs
        .iter()
        .find(|e| e.kind == "task.evaluated")
        .and_then(|e| serde_json::from_str(&e.payload).ok())
        .ok_or(EvaluationError::NoResult)
}

/// Evaluate every task of `org` every `interval` until shutdown; record status changes.
pub async fn reevaluate(
    store: Store,
    gates: Gates,
    org: String,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = reevaluate_once(&store, &gates, &org).await {
            tracing::error!(org, "task re-evaluation failed: {error}");
        }
        if !crate::executor::pause(&mut shutdown, interval).await {
            return;
        }
    }
}

async fn reevaluate_once(store: &Store, gates: &Gates, org: &str) -> Result<(), EvaluationError> {
    let (s, o) = (store.clone(), org.to_owned());
    let tasks = tokio::task::spawn_blocking(move || s.tasks(&o))
        .await
        .map_err(|e| EvaluationError::Rejected(e.to_string()))??;
    let now = now_ms();
    let mut write = WriteBatch::new();
    for task in tasks {
        let evaluation = match evaluate(store, gates, org, &task, now).await {
            Ok(evaluation) => evaluation,
            Err(error) => {
                tracing::warn!(org, task = task.name, "cannot evaluate task: {error}");
                continue;
            }
        };
        let Some(status) = evaluation["status"].as_str() else {
            continue;
        };
        let previous = store.task_status(org, task.id)?;
        if previous.as_deref() == Some(status) {
            continue;
        }
        write.task_status(org, task.id, status);
        let payload = json!({
            "id": task.id,
            "name": task.name,
            "from": previous,
            "to": status,
            "at": rfc3339(now),
            "reason": evaluation["reason"],
        });
        let event = Event {
            id: Ulid::nil(),
            org: org.to_owned(),
            kind: "task.status.changed".into(),
            source: "scheduler".into(),
            time_ms: now,
            subject: task.name.clone(),
            attributes: vec![("task.status".into(), status.to_owned())],
            payload: payload.to_string(),
            parent: None,
        };
        write.append(org, None, b"", vec![NewEvent { id: None, event }]);
    }
    if !write.is_empty() {
        store
            .commit(write)
            .await
            .map_err(|_| trackway_store::Error::WriterGone)??;
    }
    Ok(())
}

/// Start the scheduler for every org with a `tasks` pipeline.
pub fn start(
    store: &Store,
    gates: &Gates,
    interval: Duration,
    shutdown: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    gates
        .keys()
        .filter(|(_, pipeline)| pipeline == PIPELINE)
        .map(|(org, _)| {
            tokio::spawn(reevaluate(
                store.clone(),
                gates.clone(),
                org.clone(),
                interval,
                shutdown.clone(),
            ))
        })
        .collect()
}
