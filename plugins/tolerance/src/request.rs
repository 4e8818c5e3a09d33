//! The `task.evaluate` request: its JSON payload, parsed strictly into a [`Request`] that the
//! evaluation rules take as they are.
//!
//! Every object is `deny_unknown_fields`: a misspelt setting (`tolerence`) would otherwise fall
//! back silently on its default. A payload that does not fit is a permanent error naming the
//! field, in the SDK's words: ``payload of event `01J...` is invalid at `task.timezone`: ...``.
//! The bounds below keep every date computation far inside chrono's range and every loop short.

use std::fmt::Display;
use std::str::FromStr as _;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::Deserialize;
use serde::de::{self, Deserializer};
use trackway_plugin_sdk::{Error, Event};

use crate::eval::cloudwatch::{CloudWatch, TreatMissingData};
use crate::eval::daily::Daily;
use crate::eval::heartbeat::{Heartbeat, Schedule};
use crate::eval::rolling::Rolling;
use crate::eval::{Ack, Mode, Rule, Status};

/// The kind of event this plugin evaluates; every other kind passes through unchanged.
pub const EVALUATE: &str = "task.evaluate";

/// Most days a `datapoints` window may span: ten years is more than any backup policy needs, and
/// keeps the daily window's loop and the date arithmetic small.
pub const MAX_DATAPOINTS: u32 = 3_660;
/// Most CloudWatch evaluation periods: a day of minutes (CloudWatch allows fewer).
pub const MAX_EVALUATION_PERIODS: u32 = 1_440;
/// Longest period or grace time, in seconds: a leap year.
pub const MAX_PERIOD_SECONDS: u32 = 366 * 86_400;

/// The seed's defaults for a task created by its first ack (10Pines/tracker `taskDefaults`).
const DEFAULT_DATAPOINTS: u32 = 7;
/// Healthchecks' defaults: a period of one day, a grace time of one hour.
const DEFAULT_HEARTBEAT_PERIOD_SECONDS: u32 = 86_400;
const DEFAULT_GRACE_SECONDS: u32 = 3_600;
/// CloudWatch period when none is given: one day, like the other modes' datapoints.
const DEFAULT_CLOUDWATCH_PERIOD_SECONDS: u32 = 86_400;

/// A validated evaluation request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The task's name: `task.name`, else the event's subject.
    pub name: String,
    /// Evaluate as of this instant.
    pub at: DateTime<Utc>,
    /// When the task was created.
    pub created: DateTime<Utc>,
    /// The task's rule.
    pub rule: Rule,
    /// Its acks, as sent (any order; the rules ignore those after `at`).
    pub acks: Vec<Ack>,
    /// The status the host recorded last, if any.
    pub previous: Option<Status>,
}

/// The payload as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    at: Time,
    task: TaskPayload,
    acks: Vec<AckPayload>,
    #[serde(default)]
    previous_status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskPayload {
    /// The host's id, carried for its own sake; unused by the rules.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted as part of the contract, not needed to evaluate"
    )]
    id: Option<u64>,
    #[serde(default)]
    name: Option<String>,
    created: Time,
    #[serde(default = "default_datapoints")]
    datapoints: u32,
    #[serde(default)]
    tolerance: u32,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    timezone: Option<Zone>,
    #[serde(default)]
    cloudwatch: Option<CloudWatchPayload>,
    #[serde(default)]
    heartbeat: Option<HeartbeatPayload>,
}

fn default_datapoints() -> u32 {
    DEFAULT_DATAPOINTS
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CloudWatchPayload {
    #[serde(default)]
    period_seconds: Option<u32>,
    #[serde(default)]
    evaluation_periods: Option<u32>,
    #[serde(default)]
    datapoints_to_alarm: Option<u32>,
    #[serde(default)]
    treat_missing_data: TreatMissingData,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HeartbeatPayload {
    #[serde(default)]
    period_seconds: Option<u32>,
    #[serde(default)]
    cron: Option<CronText>,
    #[serde(default)]
    grace_seconds: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckPayload {
    time: Time,
    #[serde(default = "yes")]
    ok: bool,
}

fn yes() -> bool {
    true
}

/// An RFC 3339 time, e.g. `2026-11-23T10:00:00Z` or `2026-11-23T11:00:00+01:00`.
struct Time(DateTime<Utc>);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|time| Time(time.with_timezone(&Utc)))
            .map_err(|error| {
                de::Error::custom(format!("`{text}` is not an RFC 3339 time: {error}"))
            })
    }
}

/// An IANA time zone name, e.g. `Europe/Paris`.
struct Zone(Tz);

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Tz::from_str(&text).map(Zone).map_err(|_| {
            de::Error::custom(format!(
                "unknown time zone `{text}`: give an IANA name such as `Europe/Paris` or `UTC`"
            ))
        })
    }
}

/// A five-field cron expression (minute hour day-of-month month day-of-week), e.g. `0 3 * * *`.
struct CronText(Cron);

impl<'de> Deserialize<'de> for CronText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(&text)
            .map(CronText)
            .map_err(|error| {
                de::Error::custom(format!(
                    "`{text}` is not a five-field cron expression: {error}"
                ))
            })
    }
}

/// Semantic problems, each at its path, reported together.
struct Problems<'a> {
    event: &'a Event,
    found: Vec<(String, String)>,
}

impl Problems<'_> {
    fn push(&mut self, path: &str, message: impl Display) {
        self.found.push((path.to_string(), message.to_string()));
    }

    /// `value` must lie in `range`, else a problem at `path`.
    fn range(&mut self, path: &str, value: u32, range: std::ops::RangeInclusive<u32>) {
        if !range.contains(&value) {
            self.push(
                path,
                format!(
                    "must be between {} and {}, not {value}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    fn finish<T>(self, value: T) -> Result<T, Error> {
        let id = &self.event.id;
        match self.found.as_slice() {
            [] => Ok(value),
            [(path, message)] => Err(Error::permanent(format!(
                "payload of event `{id}` is invalid at `{path}`: {message}"
            ))),
            all => Err(Error::permanent(format!(
                "payload of event `{id}` is invalid: {}",
                all.iter()
                    .map(|(path, message)| format!("at `{path}`: {message}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
        }
    }
}

fn seconds(value: u32) -> TimeDelta {
    TimeDelta::seconds(i64::from(value))
}

impl Request {
    /// Parse and validate the payload of a `task.evaluate` event; `default_mode` applies when the
    /// task names no mode.
    pub fn parse(event: &Event, default_mode: Mode) -> Result<Self, Error> {
        let payload: Payload = event.payload_as()?;
        let task = payload.task;
        let mut problems = Problems {
            event,
            found: Vec::new(),
        };
        problems.range("task.datapoints", task.datapoints, 1..=MAX_DATAPOINTS);
        if task.tolerance > task.datapoints {
            problems.push(
                "task.tolerance",
                format!(
                    "must not exceed `task.datapoints` ({}), not {}",
                    task.datapoints, task.tolerance
                ),
            );
        }
        let tz = task.timezone.map_or(Tz::UTC, |zone| zone.0);
        let rule = match task.mode.unwrap_or(default_mode) {
            Mode::Rolling => Rule::Rolling(Rolling {
                datapoints: task.datapoints,
                tolerance: task.tolerance,
            }),
            Mode::Daily => Rule::Daily(Daily {
                datapoints: task.datapoints,
                tolerance: task.tolerance,
                tz,
            }),
            Mode::CloudWatch => {
                let given = task.cloudwatch.unwrap_or_default();
                let period_seconds = given
                    .period_seconds
                    .unwrap_or(DEFAULT_CLOUDWATCH_PERIOD_SECONDS);
                problems.range(
                    "task.cloudwatch.period_seconds",
                    period_seconds,
                    1..=MAX_PERIOD_SECONDS,
                );
                // Defaults follow the task's own settings: N = datapoints and M = tolerance + 1,
                // so ERROR means "more than `tolerance` of the last `datapoints` periods failed".
                let evaluation_periods = given.evaluation_periods.unwrap_or(task.datapoints);
                problems.range(
                    "task.cloudwatch.evaluation_periods",
                    evaluation_periods,
                    1..=MAX_EVALUATION_PERIODS,
                );
                let datapoints_to_alarm = given
                    .datapoints_to_alarm
                    .unwrap_or_else(|| task.tolerance.saturating_add(1).min(evaluation_periods));
                problems.range(
                    "task.cloudwatch.datapoints_to_alarm",
                    datapoints_to_alarm,
                    1..=evaluation_periods.max(1),
                );
                Rule::CloudWatch(CloudWatch {
                    period_seconds,
                    evaluation_periods,
                    datapoints_to_alarm,
                    treat_missing_data: given.treat_missing_data,
                    tz,
                })
            }
            Mode::Heartbeat => {
                let given = task.heartbeat.unwrap_or_default();
                let grace_seconds = given.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
                problems.range(
                    "task.heartbeat.grace_seconds",
                    grace_seconds,
                    0..=MAX_PERIOD_SECONDS,
                );
                let schedule = match (given.period_seconds, given.cron) {
                    (Some(_), Some(_)) => {
                        problems.push(
                            "task.heartbeat",
                            "give either `period_seconds` or `cron`, not both",
                        );
                        Schedule::Every(seconds(DEFAULT_HEARTBEAT_PERIOD_SECONDS))
                    }
                    (None, Some(CronText(cron))) => Schedule::Cron {
                        cron: Box::new(cron),
                        tz,
                    },
                    (period, None) => {
                        let period = period.unwrap_or(DEFAULT_HEARTBEAT_PERIOD_SECONDS);
                        problems.range(
                            "task.heartbeat.period_seconds",
                            period,
                            1..=MAX_PERIOD_SECONDS,
                        );
                        Schedule::Every(seconds(period))
                    }
                };
                Rule::Heartbeat(Heartbeat {
                    schedule,
                    grace: seconds(grace_seconds),
                })
            }
        };
        problems.finish(Request {
            name: task.name.unwrap_or_else(|| event.subject.clone()),
            at: payload.at.0,
            created: task.created.0,
            rule,
            acks: payload
                .acks
                .into_iter()
                .map(|ack| Ack {
                    time: ack.time.0,
                    ok: ack.ok,
                })
                .collect(),
            previous: payload.previous_status,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::eval::heartbeat::Schedule;

    fn event(payload: &Value) -> Event {
        Event {
            id: "01J0000000000000000000000A".into(),
            org: "acme".into(),
            kind: EVALUATE.into(),
            source: "api".into(),
            time: 1_795_000_000_000,
            subject: "backup-db".into(),
            attributes: Vec::new(),
            payload: payload.to_string(),
            parent: None,
        }
    }

    fn minimal() -> Value {
        json!({
            "at": "2026-11-23T10:00:00Z",
            "task": {"created": "2026-11-01T08:00:00Z"},
            "acks": [],
        })
    }

    fn with_task(task: Value) -> Value {
        let mut payload = minimal();
        for (key, value) in task.as_object().expect("an object") {
            payload["task"][key] = value.clone();
        }
        payload
    }

    fn parse(payload: &Value) -> Result<Request, Error> {
        Request::parse(&event(payload), Mode::Rolling)
    }

    fn error(payload: &Value) -> String {
        match parse(payload) {
            Err(Error::Permanent(message)) => message,
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }

    #[test]
    fn minimal_payload_gets_the_seeds_defaults() {
        let request = parse(&minimal()).expect("valid");
        assert_eq!(request.name, "backup-db");
        assert_eq!(request.previous, None);
        let Rule::Rolling(rolling) = request.rule else {
            panic!("expected rolling, got {:?}", request.rule);
        };
        assert_eq!(
            rolling,
            Rolling {
                datapoints: 7,
                tolerance: 0
            }
        );
    }

    #[test]
    fn full_payload() {
        let payload = json!({
            "at": "2026-11-23T11:00:00+01:00",
            "task": {
                "id": 12, "name": "backup-db", "created": "2026-11-01T08:00:00Z",
                "datapoints": 5, "tolerance": 1, "mode": "daily", "timezone": "Europe/Paris",
                "cloudwatch": {"period_seconds": 86400, "evaluation_periods": 5,
                               "datapoints_to_alarm": 3, "treat_missing_data": "notBreaching"},
                "heartbeat": {"cron": "0 3 * * *", "grace_seconds": 3600},
            },
            "acks": [{"time": "2026-11-22T03:01:00Z", "ok": true},
                     {"time": "2026-11-21T03:01:00Z", "ok": false},
                     {"time": "2026-11-20T03:01:00Z"}],
            "previous_status": "OK",
        });
        let request = parse(&payload).expect("valid");
        assert_eq!(request.at.to_rfc3339(), "2026-11-23T10:00:00+00:00");
        assert_eq!(request.previous, Some(Status::Ok));
        assert_eq!(
            request.acks.iter().map(|ack| ack.ok).collect::<Vec<_>>(),
            [true, false, true]
        );
        let Rule::Daily(daily) = request.rule else {
            panic!("expected daily, got {:?}", request.rule);
        };
        assert_eq!(daily.tz, chrono_tz::Europe::Paris);
        assert_eq!((daily.datapoints, daily.tolerance), (5, 1));
    }

    #[test]
    fn mode_comes_from_the_task_then_the_config() {
        let request = Request::parse(&event(&minimal()), Mode::Daily).expect("valid");
        assert_eq!(request.rule.mode(), Mode::Daily);
        let payload = with_task(json!({"mode": "rolling"}));
        let request = Request::parse(&event(&payload), Mode::Daily).expect("valid");
        assert_eq!(request.rule.mode(), Mode::Rolling);
    }

    #[test]
    fn cloudwatch_defaults_follow_datapoints_and_tolerance() {
        let payload = with_task(json!({"mode": "cloudwatch", "datapoints": 5, "tolerance": 2}));
        let Rule::CloudWatch(rule) = parse(&payload).expect("valid").rule else {
            panic!("expected cloudwatch");
        };
        assert_eq!(
            (
                rule.period_seconds,
                rule.evaluation_periods,
                rule.datapoints_to_alarm,
                rule.treat_missing_data
            ),
            (86_400, 5, 3, TreatMissingData::Missing)
        );
    }

    #[test]
    fn heartbeat_defaults_and_cron() {
        let payload = with_task(json!({"mode": "heartbeat"}));
        let Rule::Heartbeat(rule) = parse(&payload).expect("valid").rule else {
            panic!("expected heartbeat");
        };
        assert!(matches!(rule.schedule, Schedule::Every(period) if period == TimeDelta::days(1)));
        assert_eq!(rule.grace, TimeDelta::hours(1));

        let payload = with_task(json!({"mode": "heartbeat", "timezone": "Asia/Tokyo",
                                       "heartbeat": {"cron": "0 3 * * MON", "grace_seconds": 0}}));
        let Rule::Heartbeat(rule) = parse(&payload).expect("valid").rule else {
            panic!("expected heartbeat");
        };
        assert!(matches!(rule.schedule, Schedule::Cron { tz, .. } if tz == chrono_tz::Asia::Tokyo));
        assert_eq!(rule.grace, TimeDelta::zero());
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!("not json"), ""),
            (
                json!({"task": {"created": "2026-11-01T08:00:00Z"}, "acks": []}),
                "",
            ),
            (
                json!({"at": "2026-11-23T10:00:00Z", "task": {}, "acks": []}),
                "task",
            ),
            (
                json!({"at": "yesterday", "task": {"created": "2026-11-01T08:00:00Z"}, "acks": []}),
                "at",
            ),
            (
                with_task(json!({"created": "2026-11-01 08:00"})),
                "task.created",
            ),
            (with_task(json!({"datapoints": 0})), "task.datapoints"),
            (with_task(json!({"datapoints": -1})), "task.datapoints"),
            (
                with_task(json!({"datapoints": 5, "tolerance": 6})),
                "task.tolerance",
            ),
            (with_task(json!({"tolerence": 1})), "task.tolerence"),
            (with_task(json!({"mode": "weekly"})), "task.mode"),
            (
                with_task(json!({"timezone": "Mars/Olympus"})),
                "task.timezone",
            ),
            (
                with_task(json!({"mode": "cloudwatch",
                                 "cloudwatch": {"evaluation_periods": 3, "datapoints_to_alarm": 4}})),
                "task.cloudwatch.datapoints_to_alarm",
            ),
            (
                with_task(json!({"mode": "cloudwatch",
                                 "cloudwatch": {"treat_missing_data": "zero"}})),
                "task.cloudwatch.treat_missing_data",
            ),
            (
                with_task(json!({"mode": "cloudwatch", "cloudwatch": {"period_seconds": 0}})),
                "task.cloudwatch.period_seconds",
            ),
            (
                with_task(json!({"mode": "heartbeat", "heartbeat": {"cron": "every day"}})),
                "task.heartbeat.cron",
            ),
            (
                with_task(json!({"mode": "heartbeat",
                                 "heartbeat": {"cron": "0 3 * * *", "period_seconds": 60}})),
                "task.heartbeat",
            ),
            (
                with_task(json!({"mode": "heartbeat", "heartbeat": {"period_seconds": 0}})),
                "task.heartbeat.period_seconds",
            ),
            (
                json!({"at": "2026-11-23T10:00:00Z", "task": {"created": "2026-11-01T08:00:00Z"},
                       "acks": [{"time": "2026-11-22T03:01:00Z"}, {"time": 3}]}),
                "acks[1].time",
            ),
            (
                json!({"at": "2026-11-23T10:00:00Z", "task": {"created": "2026-11-01T08:00:00Z"},
                       "acks": [], "previous_status": "FINE"}),
                "previous_status",
            ),
        ];
        for (payload, path) in cases {
            let message = error(&payload);
            let prefix = "payload of event `01J0000000000000000000000A` is invalid";
            if path.is_empty() {
                // The root: serde names a missing field in the message.
                assert!(message.starts_with(&format!("{prefix}: ")), "{message}");
            } else {
                assert!(
                    message.starts_with(&format!("{prefix} at `{path}`: ")),
                    "expected `{path}`, got: {message}"
                );
            }
        }
    }

    #[test]
    fn missing_fields_are_named() {
        let message = error(&json!({"task": {"created": "2026-11-01T08:00:00Z"}, "acks": []}));
        assert!(
            message.contains("is invalid: missing field `at`"),
            "{message}"
        );
        let message = error(&json!({"at": "2026-11-23T10:00:00Z", "task": {}, "acks": []}));
        assert!(
            message.contains("at `task`: missing field `created`"),
            "{message}"
        );
    }

    #[test]
    fn several_problems_are_reported_together() {
        let message = error(&with_task(json!({"datapoints": 0, "tolerance": 2})));
        assert_eq!(
            message,
            "payload of event `01J0000000000000000000000A` is invalid: at `task.datapoints`: \
             must be between 1 and 3660, not 0; at `task.tolerance`: must not exceed \
             `task.datapoints` (0), not 2"
        );
    }
}
