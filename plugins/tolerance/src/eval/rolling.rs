//! `rolling` (the default mode): the seed's rule, as 10Pines/tracker evaluates it.
//!
//! The seed (Go, `internal/logic/report.go`, `db.go` and `internal/reporter/console.go`):
//!
//! - counted jobs with `created_at > now - datapoints * 24h` (`since := now.Add(-sinceOffset)`,
//!   `Where("task_id = ? AND created_at > ?", taskID, since)`): the window is
//!   `(at - datapoints x 24h, at]`, so an ack exactly `datapoints` days old does not count;
//! - expected `datapoints - tolerance` of them (`expectedBackupCount`), OK when
//!   `Expected <= BackupCount`;
//! - was ready when `now.Unix() >= CreatedAt.Add(datapoints * 24h).Unix()`: a task exactly
//!   `datapoints` days old is ready, compared in whole seconds;
//! - printed `INSUFFICIENT_DATAPOINTS` for every task that is not ready, whatever its count
//!   (`if !taskStatus.Ready { return "INSUFFICIENT_DATAPOINTS[...]" }`), and `IsOK` was
//!   `!s.Ready || s.Expected <= s.BackupCount`: a young task never alarms.
//!
//! So a young task with enough acks is `INSUFFICIENT` here, as in the seed. Days are 24 hours,
//! not calendar days (no time zone). The seed had no failed runs: an ack with `ok = false` does
//! not count (a failed backup is no backup), and the reason says how many were left out.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Ack, Outcome, Status, human_duration, plural};

/// The seed's rule: at least `datapoints - tolerance` acks in the last `datapoints` x 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rolling {
    /// Days (of 24 hours) in the window, at least 1.
    pub datapoints: u32,
    /// How many of them may go without an ack; at most `datapoints`.
    pub tolerance: u32,
}

/// Evaluate the seed's rule as of `at`.
pub fn evaluate(
    rule: &Rolling,
    created: DateTime<Utc>,
    acks: &[Ack],
    at: DateTime<Utc>,
) -> Outcome {
    let span = TimeDelta::days(i64::from(rule.datapoints));
    let days = plural(u64::from(rule.datapoints), "day");
    let since = at - span;
    let in_window = |ack: &&Ack| ack.time > since && ack.time <= at;
    let count = acks.iter().filter(in_window).filter(|ack| ack.ok).count() as u64;
    let failed = acks.iter().filter(in_window).filter(|ack| !ack.ok).count() as u64;
    let expected = u64::from(rule.datapoints.saturating_sub(rule.tolerance));
    let is_ready = at.timestamp() >= (created + span).timestamp();

    let counted = format!(
        "{} in the last {days}, {expected} needed",
        plural(count, "ack")
    );
    let counted = match failed {
        0 => counted,
        n => format!("{counted}; {} not counted", plural(n, "failed ack")),
    };
    let (status, reason) = if !is_ready {
        let age = if at > created {
            format!("is {} old", human_duration(at - created))
        } else {
            "did not exist yet".to_string()
        };
        (
            Status::Insufficient,
            format!("the task {age} and needs {days} of history before it is judged ({counted})"),
        )
    } else if count >= expected {
        (Status::Ok, counted)
    } else {
        (Status::Error, counted)
    };
    Outcome {
        status,
        count,
        expected,
        is_ready,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{failed, oks, t};
    use super::*;

    struct Row {
        name: &'static str,
        datapoints: u32,
        tolerance: u32,
        created: &'static str,
        acks: Vec<Ack>,
        at: &'static str,
        status: Status,
        count: u64,
        ready: bool,
    }

    #[test]
    fn table() {
        let created = "2026-11-01T08:00:00Z";
        let rows = [
            Row {
                name: "five acks in five days",
                datapoints: 5,
                tolerance: 0,
                created,
                acks: oks(&[
                    "2026-11-19T03:00:00Z",
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                    "2026-11-22T03:00:00Z",
                    "2026-11-23T03:00:00Z",
                ]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Ok,
                count: 5,
                ready: true,
            },
            Row {
                name: "an ack exactly datapoints days old does not count",
                datapoints: 5,
                tolerance: 0,
                created,
                acks: oks(&[
                    "2026-11-18T10:00:00Z",
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                    "2026-11-22T03:00:00Z",
                    "2026-11-23T03:00:00Z",
                ]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 4,
                ready: true,
            },
            Row {
                name: "an ack a millisecond younger than that counts",
                datapoints: 5,
                tolerance: 0,
                created,
                acks: oks(&[
                    "2026-11-18T10:00:00.001Z",
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                    "2026-11-22T03:00:00Z",
                    "2026-11-23T03:00:00Z",
                ]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Ok,
                count: 5,
                ready: true,
            },
            Row {
                name: "an ack exactly at `at` counts",
                datapoints: 1,
                tolerance: 0,
                created,
                acks: oks(&["2026-11-23T10:00:00Z"]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Ok,
                count: 1,
                ready: true,
            },
            Row {
                name: "acks after `at` are ignored",
                datapoints: 1,
                tolerance: 0,
                created,
                acks: oks(&["2026-11-23T10:00:01Z"]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "tolerance lowers the bar (3 >= 5 - 2)",
                datapoints: 5,
                tolerance: 2,
                created,
                acks: oks(&[
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                    "2026-11-22T03:00:00Z",
                ]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Ok,
                count: 3,
                ready: true,
            },
            Row {
                name: "seed README: 3 jobs < 5 - 1",
                datapoints: 5,
                tolerance: 1,
                created,
                acks: oks(&[
                    "2026-11-19T03:00:00Z",
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                ]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 3,
                ready: true,
            },
            Row {
                name: "several acks in one day all count (the seed counts jobs, not days)",
                datapoints: 2,
                tolerance: 0,
                created,
                acks: oks(&["2026-11-23T03:00:00Z", "2026-11-23T04:00:00Z"]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Ok,
                count: 2,
                ready: true,
            },
            Row {
                name: "failed acks do not count",
                datapoints: 2,
                tolerance: 0,
                created,
                acks: vec![
                    failed("2026-11-22T03:00:00Z"),
                    Ack {
                        time: t("2026-11-23T03:00:00Z"),
                        ok: true,
                    },
                ],
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 1,
                ready: true,
            },
            Row {
                name: "a task exactly datapoints days old is ready",
                datapoints: 5,
                tolerance: 0,
                created: "2026-11-18T10:00:00Z",
                acks: oks(&[]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "a second younger is not (readiness compares whole seconds)",
                datapoints: 5,
                tolerance: 0,
                created: "2026-11-18T10:00:01Z",
                acks: oks(&[]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Insufficient,
                count: 0,
                ready: false,
            },
            Row {
                name: "Go's Unix() truncates: half a second short is still the same second",
                datapoints: 5,
                tolerance: 0,
                created: "2026-11-18T10:00:00.900Z",
                acks: oks(&[]),
                at: "2026-11-23T10:00:00.400Z",
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "a young task with enough acks is INSUFFICIENT, as in the seed",
                datapoints: 3,
                tolerance: 0,
                created: "2026-11-21T08:00:00Z",
                acks: oks(&[
                    "2026-11-21T09:00:00Z",
                    "2026-11-22T09:00:00Z",
                    "2026-11-23T09:00:00Z",
                ]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Insufficient,
                count: 3,
                ready: false,
            },
            Row {
                name: "seed README: only 3 of 5 days old",
                datapoints: 5,
                tolerance: 0,
                created: "2026-11-20T10:00:00Z",
                acks: oks(&[
                    "2026-11-21T03:00:00Z",
                    "2026-11-22T03:00:00Z",
                    "2026-11-23T03:00:00Z",
                ]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Insufficient,
                count: 3,
                ready: false,
            },
            Row {
                name: "tolerance equal to datapoints never alarms",
                datapoints: 3,
                tolerance: 3,
                created,
                acks: oks(&[]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Ok,
                count: 0,
                ready: true,
            },
        ];
        for row in rows {
            let rule = Rolling {
                datapoints: row.datapoints,
                tolerance: row.tolerance,
            };
            let outcome = evaluate(&rule, t(row.created), &row.acks, t(row.at));
            assert_eq!(outcome.status, row.status, "{}: {outcome:?}", row.name);
            assert_eq!(outcome.count, row.count, "{}: {outcome:?}", row.name);
            assert_eq!(outcome.is_ready, row.ready, "{}: {outcome:?}", row.name);
            assert_eq!(
                outcome.expected,
                u64::from(row.datapoints - row.tolerance),
                "{}",
                row.name
            );
        }
    }

    #[test]
    fn reasons_say_why() {
        let rule = Rolling {
            datapoints: 5,
            tolerance: 1,
        };
        let acks = oks(&[
            "2026-11-20T03:00:00Z",
            "2026-11-21T03:00:00Z",
            "2026-11-22T03:00:00Z",
        ]);
        let at = t("2026-11-23T10:00:00Z");
        let outcome = evaluate(&rule, t("2026-11-01T08:00:00Z"), &acks, at);
        assert_eq!(outcome.reason, "3 acks in the last 5 days, 4 needed");

        let mut with_failure = acks.clone();
        with_failure.push(failed("2026-11-23T03:00:00Z"));
        let outcome = evaluate(&rule, t("2026-11-01T08:00:00Z"), &with_failure, at);
        assert_eq!(
            outcome.reason,
            "3 acks in the last 5 days, 4 needed; 1 failed ack not counted"
        );

        let outcome = evaluate(&rule, t("2026-11-20T06:00:00Z"), &acks, at);
        assert_eq!(
            outcome.reason,
            "the task is 3 days 4 hours old and needs 5 days of history before it is judged \
             (3 acks in the last 5 days, 4 needed)"
        );
    }
}
