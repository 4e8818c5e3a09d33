//! `tolerance`: a processor that says whether a scheduled task (a backup, a cron job) is healthy,
//! from the acks its runs sent: `OK`, `ERROR` or `INSUFFICIENT` (not enough history yet).
//!
//! The host keeps tasks and acks; this plugin owns only the evaluation rules, as pure functions
//! of the instant `at` the host injects (its clock, or a past moment for an audit). It reads no
//! clock and needs no grant.
//!
//! # Contract
//!
//! **Input**: events of kind `task.evaluate` (any other kind passes through unchanged), subject =
//! the task name, payload:
//!
//! ```json
//! {
//!   "at": "2026-11-23T10:00:00Z",
//!   "task": {
//!     "id": 12, "name": "backup-db", "created": "2026-11-01T08:00:00Z",
//!     "datapoints": 7, "tolerance": 0,
//!     "mode": "rolling",
//!     "timezone": "Europe/Paris",
//!     "cloudwatch": { "period_seconds": 86400, "evaluation_periods": 5,
//!                     "datapoints_to_alarm": 3, "treat_missing_data": "missing" },
//!     "heartbeat": { "period_seconds": 86400, "grace_seconds": 3600 }
//!   },
//!   "acks": [ { "time": "2026-11-22T03:01:00Z", "ok": true } ],
//!   "previous_status": "OK"
//! }
//! ```
//!
//! - `at`, `task.created`, `acks[].time`: RFC 3339. `acks` is required (may be empty), in any
//!   order; acks after `at` are ignored; `ok` defaults to `true`. The host sends at least the
//!   last max(`datapoints`, `evaluation_periods`) periods plus one day of acks.
//! - `task.id` (integer) and `task.name` are optional; the name defaults to the subject.
//! - `task.datapoints` 1..=3660, default 7, and `task.tolerance` 0..=`datapoints`, default 0 (the
//!   seed's defaults).
//! - `task.mode`: `rolling` | `daily` | `cloudwatch` | `heartbeat`; default the stage's
//!   `default_mode`, itself `rolling` by default.
//! - `task.timezone`: an IANA name, default `UTC`; used by `daily`, by `cloudwatch` periods of
//!   whole days and by `heartbeat.cron`.
//! - `task.cloudwatch` (read in `cloudwatch` mode, optional): `period_seconds` default 86400,
//!   `evaluation_periods` (N) default `datapoints`, `datapoints_to_alarm` (M, 1..=N) default
//!   `tolerance + 1` (at most N), `treat_missing_data` `missing` (default) | `breaching` |
//!   `notBreaching` | `ignore`.
//! - `task.heartbeat` (read in `heartbeat` mode, optional): either `period_seconds` (default
//!   86400) or `cron` (five fields, read in `timezone`), and `grace_seconds` (default 3600).
//! - `previous_status`: `OK` | `ERROR` | `INSUFFICIENT` | `null` (or absent).
//!
//! Every object rejects unknown fields. A payload that does not fit fails permanently
//! (`Processed::Fail`), naming the field: ``payload of event `01J...` is invalid at
//! `task.tolerance`: must not exceed `task.datapoints` (5), not 6``.
//!
//! **Output**: `Processed::Replace` with
//!
//! 1. one `task.evaluated` event (same subject) with payload
//!    `{"name", "status", "count", "expected", "isReady", "lastBackup", "mode", "reason", "at"}`:
//!    `lastBackup` is the latest ack at or before `at` (failed or not) in RFC 3339 UTC, or
//!    `null`; `reason` is one sentence saying why; `at` is echoed in RFC 3339 UTC;
//! 2. when `status` differs from `previous_status` (a `null` previous status included), a
//!    `task.status.changed` event with payload `{"name", "from", "to", "at", "reason"}`, `from`
//!    being the previous status or `null`.
//!
//! Both carry the input's attributes plus `tolerance.status` and `tolerance.mode`.
//!
//! # Modes
//!
//! See each module for its rule, its sources and its boundaries:
//! [`eval::rolling`] (the seed's rule, 10Pines/tracker), [`eval::daily`] (the seed README's
//! table, on calendar days), [`eval::cloudwatch`] (M out of N, CloudWatch's treatment of missing
//! data), [`eval::heartbeat`] (Healthchecks.io, periods or cron).
//!
//! # Configuration
//!
//! `{}`; optionally `default_mode` (see [`config`]).
//!
//! # Layout
//!
//! - [`config`]: the stage's options.
//! - [`request`]: the `task.evaluate` payload, parsed strictly and validated.
//! - [`eval`]: the pure evaluation rules, one module per mode.
//! - [`report`]: the `task.evaluated` and `task.status.changed` events.
//! - this file: the processor: parse, evaluate, report.

pub mod config;
pub mod eval;
pub mod report;
pub mod request;

use trackway_plugin_sdk::{Event, Processed, Processor};

use crate::config::Config;
use crate::request::Request;

/// The `tolerance` processor.
pub struct Tolerance {
    config: Config,
}

impl Processor for Tolerance {
    fn init(config: &str) -> Result<Self, trackway_plugin_sdk::Error> {
        Ok(Tolerance {
            config: Config::parse(config)?,
        })
    }

    fn process(&mut self, event: Event) -> Processed {
        if event.kind != request::EVALUATE {
            return Processed::Keep;
        }
        let request = match Request::parse(&event, self.config.default_mode) {
            Ok(request) => request,
            Err(error) => return Processed::Fail(error),
        };
        let outcome = eval::evaluate(
            &request.rule,
            request.created,
            &request.acks,
            request.at,
            request.previous,
        );
        match report::events(&event, &request, &outcome) {
            Ok(events) => Processed::Replace(events),
            Err(error) => Processed::Fail(error),
        }
    }
}

trackway_plugin_sdk::export_processor!(Tolerance);

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use trackway_plugin_sdk::Error;

    use super::*;

    fn event(kind: &str, payload: &Value) -> Event {
        Event {
            id: "01J0000000000000000000000A".into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "api".into(),
            time: 1_795_000_000_000,
            subject: "backup-db".into(),
            attributes: vec![("team".into(), "ops".into())],
            payload: payload.to_string(),
            parent: None,
        }
    }

    fn request(previous: Value) -> Value {
        json!({
            "at": "2026-11-23T10:00:00Z",
            "task": {"id": 12, "name": "backup-db", "created": "2026-11-01T08:00:00Z",
                     "datapoints": 5, "tolerance": 1},
            "acks": [
                {"time": "2026-11-19T03:01:00Z"},
                {"time": "2026-11-20T03:01:00Z", "ok": true},
                {"time": "2026-11-21T03:01:00Z"},
                {"time": "2026-11-22T03:01:00Z", "ok": false},
                {"time": "2026-11-24T03:01:00Z"},
            ],
            "previous_status": previous,
        })
    }

    fn process(config: &str, event: Event) -> Processed {
        let mut plugin = Tolerance::init(config).expect("valid config");
        plugin.process(event)
    }

    fn replaced(processed: Processed) -> Vec<Event> {
        match processed {
            Processed::Replace(events) => events,
            other => panic!("expected replace, got {other:?}"),
        }
    }

    fn payload(event: &Event) -> Value {
        serde_json::from_str(&event.payload).expect("JSON payload")
    }

    #[test]
    fn evaluates_and_reports_a_change() {
        let events = replaced(process(
            "{}",
            event(request::EVALUATE, &request(json!("OK"))),
        ));
        assert_eq!(events.len(), 2, "{events:?}");
        let (evaluated, changed) = (&events[0], &events[1]);
        assert_eq!(evaluated.kind, report::EVALUATED);
        assert_eq!(evaluated.subject, "backup-db");
        assert_eq!(
            evaluated.parent.as_deref(),
            Some("01J0000000000000000000000A")
        );
        assert_eq!(evaluated.attribute("team"), Some("ops"));
        assert_eq!(evaluated.attribute("tolerance.status"), Some("ERROR"));
        assert_eq!(evaluated.attribute("tolerance.mode"), Some("rolling"));
        assert_eq!(
            payload(evaluated),
            json!({
                "name": "backup-db",
                "status": "ERROR",
                "count": 3,
                "expected": 4,
                "isReady": true,
                "lastBackup": "2026-11-22T03:01:00Z",
                "mode": "rolling",
                "reason": "3 acks in the last 5 days, 4 needed; 1 failed ack not counted",
                "at": "2026-11-23T10:00:00Z",
            })
        );
        assert_eq!(changed.kind, report::STATUS_CHANGED);
        assert_eq!(changed.subject, "backup-db");
        assert_eq!(
            payload(changed),
            json!({
                "name": "backup-db",
                "from": "OK",
                "to": "ERROR",
                "at": "2026-11-23T10:00:00Z",
                "reason": "3 acks in the last 5 days, 4 needed; 1 failed ack not counted",
            })
        );
    }

    #[test]
    fn no_change_no_change_event() {
        let events = replaced(process(
            "{}",
            event(request::EVALUATE, &request(json!("ERROR"))),
        ));
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].kind, report::EVALUATED);
    }

    #[test]
    fn a_first_evaluation_changes_from_null() {
        for previous in [json!(null), json!("INSUFFICIENT")] {
            let events = replaced(process("{}", event(request::EVALUATE, &request(previous))));
            assert_eq!(events.len(), 2);
            let from = payload(&events[1])["from"].clone();
            assert!(from.is_null() || from == "INSUFFICIENT", "{from}");
        }
        let mut without = request(json!(null));
        without
            .as_object_mut()
            .expect("an object")
            .remove("previous_status");
        let events = replaced(process("{}", event(request::EVALUATE, &without)));
        assert_eq!(payload(&events[1])["from"], Value::Null);
    }

    #[test]
    fn the_config_picks_the_default_mode() {
        let events = replaced(process(
            r#"{"default_mode": "daily"}"#,
            event(request::EVALUATE, &request(json!("OK"))),
        ));
        let evaluated = payload(&events[0]);
        assert_eq!(evaluated["mode"], "daily");
        // 11-19, 11-20, 11-21 acked, 11-22 failed: 3 of the days 11-18..11-22, 4 needed.
        assert_eq!(evaluated["count"], 3);
        assert_eq!(evaluated["status"], "ERROR");
    }

    #[test]
    fn last_backup_is_null_without_acks() {
        let payload_in = json!({
            "at": "2026-11-23T10:00:00Z",
            "task": {"created": "2026-11-23T08:00:00Z", "mode": "heartbeat"},
            "acks": [],
        });
        let events = replaced(process("{}", event(request::EVALUATE, &payload_in)));
        let evaluated = payload(&events[0]);
        assert_eq!(evaluated["lastBackup"], Value::Null);
        assert_eq!(evaluated["status"], "INSUFFICIENT");
        assert_eq!(evaluated["isReady"], false);
        assert_eq!(evaluated["name"], "backup-db");
    }

    #[test]
    fn malformed_payloads_fail_permanently() {
        for payload_in in [
            json!("nope"),
            json!({"at": "2026-11-23T10:00:00Z", "task": {"created": "2026-11-01T08:00:00Z",
                   "timezone": "Nowhere/City"}, "acks": []}),
        ] {
            match process("{}", event(request::EVALUATE, &payload_in)) {
                Processed::Fail(Error::Permanent(message)) => {
                    assert!(message.contains("is invalid"), "{message}");
                }
                other => panic!("expected a permanent failure, got {other:?}"),
            }
        }
        let mut broken = event(request::EVALUATE, &json!({}));
        broken.payload = "{not json".into();
        assert!(matches!(
            process("{}", broken),
            Processed::Fail(Error::Permanent(_))
        ));
    }

    #[test]
    fn other_kinds_pass_through() {
        assert_eq!(
            process("{}", event("deployment.started", &json!({}))),
            Processed::Keep
        );
    }

    #[test]
    fn batches_answer_once_per_event() {
        let mut plugin = Tolerance::init("{}").expect("valid config");
        assert!(plugin.process_batch(Vec::new()).is_empty());
        let results = plugin.process_batch(vec![
            event(request::EVALUATE, &request(json!("ERROR"))),
            event(request::EVALUATE, &json!("bad")),
            event("other", &json!({})),
        ]);
        assert_eq!(results.len(), 3);
        assert!(matches!(results[0], Processed::Replace(_)));
        assert!(matches!(results[1], Processed::Fail(_)));
        assert_eq!(results[2], Processed::Keep);
    }

    #[test]
    fn rejects_bad_config() {
        assert!(matches!(
            Tolerance::init(r#"{"default_mode": "hourly"}"#),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            Tolerance::init(r#"{"extra": 1}"#),
            Err(Error::InvalidConfig(_))
        ));
    }
}
