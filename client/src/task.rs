//! The scheduled-job types: how a task is named ([`TaskRef`]), created ([`NewTask`]) and
//! reported ([`TaskStatus`], [`TaskDetail`], [`Report`]), with the field names the server uses
//! (`isReady`, `lastBackup`, ...).
//!
//! Times are RFC 3339 strings as the server sends them (`2026-11-23T03:00:00Z`): this crate does
//! not pick a date-time library for its users. Answers are read leniently (fields this client
//! does not know are ignored, unknown statuses become [`Status::Unknown`]) so that a newer server
//! does not break an older client.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id trackway gave a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

/// The id trackway gave an ack (one run of a task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AckId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for AckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A task, by id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskRef {
    /// The id trackway gave the task when it was created.
    Id(u64),
    /// The task's name. Acking by name creates the task on its first ack (7 datapoints,
    /// tolerance 0: the seed's defaults).
    Name(String),
}

impl TaskRef {
    /// The seed CLI's rule: digits only (and small enough for a `u64`) is an id, anything else
    /// a name. `"42"` is `Id(42)`, `"nightly-backup"` and `"42b"` are names.
    pub fn parse(text: &str) -> TaskRef {
        if !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && let Ok(id) = text.parse()
        {
            return TaskRef::Id(id);
        }
        TaskRef::Name(text.to_owned())
    }
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskRef::Id(id) => write!(f, "task {id}"),
            TaskRef::Name(name) => write!(f, "task `{name}`"),
        }
    }
}

/// A task's health, as the org's `tasks` pipeline (the `tolerance` plugin) judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// The task runs as expected.
    #[serde(rename = "OK")]
    Ok,
    /// The task missed more runs than its rule tolerates.
    #[serde(rename = "ERROR")]
    Error,
    /// Not enough history to judge yet (a new task).
    #[serde(rename = "INSUFFICIENT")]
    Insufficient,
    /// A status this client does not know (from a newer server).
    #[serde(rename = "UNKNOWN", other)]
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Error => "ERROR",
            Status::Insufficient => "INSUFFICIENT",
            Status::Unknown => "UNKNOWN",
        })
    }
}

/// How a task's runs are judged; see the `tolerance` plugin's docs for each rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// At least `datapoints - tolerance` acks in the last `datapoints` days (the seed's rule;
    /// the default).
    Rolling,
    /// The same count on calendar days in the task's `timezone`.
    Daily,
    /// M out of N periods, as a CloudWatch alarm (see [`CloudWatch`]).
    CloudWatch,
    /// An ack at least every period or cron slot, plus a grace time (see [`Heartbeat`]).
    Heartbeat,
}

/// The `cloudwatch` settings of a task in [`Mode::CloudWatch`]; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CloudWatch {
    /// Length of one period in seconds; default 86400.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<u32>,
    /// N, the periods evaluated; default the task's `datapoints`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_periods: Option<u32>,
    /// M, the breaching periods that make an error (1..=N); default `tolerance + 1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    /// How periods without data count; default [`TreatMissingData::Missing`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
}

/// How a [`Mode::CloudWatch`] task counts periods without an ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// Not evaluated (CloudWatch's default).
    Missing,
    /// Counted as breaching.
    Breaching,
    /// Counted as within the threshold.
    NotBreaching,
    /// Keep the previous status when missing data would decide.
    Ignore,
}

/// The `heartbeat` settings of a task in [`Mode::Heartbeat`]; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    /// An ack is expected every this many seconds; default 86400. Not with `cron`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<u32>,
    /// Or: a five-field cron expression read in the task's `timezone`, e.g. `0 3 * * *`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// How late an ack may be; default 3600.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<u32>,
}

/// A task to create (`POST /api/tasks`). Start from [`NewTask::new`] and set what differs:
/// `NewTask { mode: Some(Mode::Daily), ..NewTask::new("db-backup", 7, 1) }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTask {
    /// 1-256 characters, unique in the org.
    pub name: String,
    /// The days (or periods) evaluated, at least 1.
    pub datapoints: u32,
    /// How many of them may miss an ack, at most `datapoints`.
    pub tolerance: u32,
    /// When the task began (RFC 3339, not in the future), to backfill a history; default now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The rule; default the pipeline's (`rolling`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// An IANA time zone (`Europe/Paris`) for calendar days and cron; default `UTC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Settings of [`Mode::CloudWatch`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<CloudWatch>,
    /// Settings of [`Mode::Heartbeat`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Heartbeat>,
}

impl NewTask {
    /// A task named `name` judged on `datapoints` days with `tolerance` misses allowed, the
    /// other settings left to their defaults.
    pub fn new(name: impl Into<String>, datapoints: u32, tolerance: u32) -> NewTask {
        NewTask {
            name: name.into(),
            datapoints,
            tolerance,
            created: None,
            mode: None,
            timezone: None,
            cloudwatch: None,
            heartbeat: None,
        }
    }
}

/// One task of `GET /api/tasks`, evaluated at the requested instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
    /// Its health.
    pub status: Status,
    /// Acks counted by the rule.
    pub count: u64,
    /// Acks the rule expects.
    pub expected: u64,
    /// Whether there is enough history to judge (`false` while `INSUFFICIENT` for lack of it).
    pub is_ready: bool,
    /// The latest ack at or before the instant (failed or not), RFC 3339; `None` if none.
    pub last_backup: Option<String>,
    /// One sentence saying why.
    #[serde(default)]
    pub reason: Option<String>,
    /// The task's `datapoints`.
    pub datapoints: u32,
    /// The task's `tolerance`.
    pub tolerance: u32,
    /// When the task began, RFC 3339.
    pub created: String,
}

/// One task with its recent acks (`GET /api/tasks/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDetail {
    /// The task and its evaluation, as in the list.
    #[serde(flatten)]
    pub task: TaskStatus,
    /// The settings given at creation (`mode`, `timezone`, `cloudwatch`, `heartbeat`), as sent.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// The latest acks at or before the instant (at most 50), newest first.
    #[serde(default)]
    pub acks: Vec<Ack>,
    /// The instant of the evaluation, RFC 3339.
    pub time: String,
}

/// One ack of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The ack's id.
    pub id: AckId,
    /// When the run happened, RFC 3339.
    pub time: String,
    /// `false` for a run reported as failed (not counted).
    pub ok: bool,
}

/// When a report asks to be delivered (by a pipeline's sink, e.g. a webhook).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Notify {
    /// Every time.
    Always,
    /// Only when some task is in `ERROR`.
    OnError,
    /// Never: the report is only answered (the server's default).
    #[default]
    Never,
}

/// The answer of `POST /api/reports`: every task of the org, evaluated now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The instant of the evaluation, RFC 3339.
    pub time: String,
    /// `ERROR` if any task is in error, else `OK`.
    pub status: Status,
    /// Every task.
    pub tasks: Vec<ReportedTask>,
}

/// One task of a [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedTask {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
    /// Its health.
    pub status: Status,
    /// Acks counted by the rule.
    pub count: u64,
    /// Acks the rule expects.
    pub expected: u64,
    /// Whether there is enough history to judge.
    pub is_ready: bool,
    /// The latest ack (failed or not), RFC 3339; `None` if none.
    pub last_backup: Option<String>,
    /// One sentence saying why.
    #[serde(default)]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn digits_are_ids_anything_else_names() {
        assert_eq!(TaskRef::parse("42"), TaskRef::Id(42));
        assert_eq!(TaskRef::parse("007"), TaskRef::Id(7));
        for name in ["nightly-backup", "42b", "-1", "4 2", " 42", "", "٤٢", "1e3"] {
            assert_eq!(TaskRef::parse(name), TaskRef::Name(name.into()), "{name:?}");
        }
        // Too large for an id: it can only be a name.
        let huge = "18446744073709551616";
        assert_eq!(TaskRef::parse(huge), TaskRef::Name(huge.into()));
        assert_eq!(
            TaskRef::parse("18446744073709551615"),
            TaskRef::Id(u64::MAX)
        );
    }

    #[test]
    fn new_tasks_send_only_what_is_set() {
        let task = NewTask {
            mode: Some(Mode::CloudWatch),
            cloudwatch: Some(CloudWatch {
                evaluation_periods: Some(5),
                treat_missing_data: Some(TreatMissingData::NotBreaching),
                ..CloudWatch::default()
            }),
            ..NewTask::new("db", 5, 1)
        };
        assert_eq!(
            serde_json::to_value(&task).unwrap(),
            json!({"name": "db", "datapoints": 5, "tolerance": 1, "mode": "cloudwatch",
                   "cloudwatch": {"evaluation_periods": 5, "treat_missing_data": "notBreaching"}})
        );
    }

    #[test]
    fn answers_are_read_with_the_servers_names_and_leniently() {
        let detail: TaskDetail = serde_json::from_value(json!({
            "id": 3, "name": "nightly", "status": "INSUFFICIENT", "count": 1, "expected": 7,
            "isReady": false, "lastBackup": "2026-11-23T03:00:00Z", "reason": "1 ack",
            "datapoints": 7, "tolerance": 0, "created": "2026-11-23T03:00:00Z",
            "settings": {}, "acks": [{"id": 9, "time": "2026-11-23T03:00:00Z", "ok": true}],
            "time": "2026-11-23T04:00:00Z", "added_later": [1, 2]
        }))
        .unwrap();
        assert_eq!(detail.task.id, TaskId(3));
        assert!(!detail.task.is_ready);
        assert_eq!(
            detail.task.last_backup.as_deref(),
            Some("2026-11-23T03:00:00Z")
        );
        assert_eq!(detail.acks[0].id, AckId(9));
        let status: Status = serde_json::from_value(json!("PAUSED")).unwrap();
        assert_eq!(status, Status::Unknown);
        assert_eq!(
            serde_json::to_value(Notify::OnError).unwrap(),
            json!("ON_ERROR")
        );
    }
}
