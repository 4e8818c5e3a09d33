//! `heartbeat`: Healthchecks.io's rule. Each ack says "I ran"; the next one is due one period
//! later, or at the next cron run; after that comes a grace time, and only then is the task down.
//!
//! Source: healthchecks/healthchecks `hc/api/models.py` (`Check.get_grace_start`,
//! `Check.get_status`) and cuu508/cronsim (the cron evaluator it uses):
//!
//! - simple checks: `grace_start = last_ping + timeout`; cron checks:
//!   `grace_start = next(CronSim(schedule, last_ping in tz))`, the first scheduled minute strictly
//!   after the last ping's minute;
//! - `now >= grace_start + grace` -> down, else `now >= grace_start` -> grace (still up, "late"),
//!   else up;
//! - a `fail` ping makes the check down at once;
//! - cron runs follow Debian cron across DST changes (cronsim's `fixup_tz`): a run at a fixed
//!   time that falls in the spring-forward gap happens at the first minute after the gap (02:30 ->
//!   03:00 in Paris), one in the repeated fall-back hour happens once, at its first occurrence;
//!   wildcard runs (`*/15 * * * *`) follow real time and skip the gap. `croner` implements the
//!   same rules (its README, "Daylight Saving Time (DST) Handling"), and the tests hold it to them.
//!   One difference remains: cronsim treats every schedule whose minute and hour fields do not
//!   start with `*` as fixed-time, croner only those with a single minute and a single hour; so
//!   for a schedule such as `0,30 2 * * *`, a run in the spring-forward gap is skipped rather than
//!   moved to the gap's end, and a run in the repeated hour happens twice.
//!
//! Equivalently, for cron: the task is down when some scheduled run T has `last ack < T` and
//! `T + grace <= at`, i.e. the run expected after the last ack is more than `grace` late.
//!
//! Here: `OK` while the next ack is not due, `OK` with "late" in the reason during the grace time,
//! `ERROR` from `due + grace` on (`>=`, as Healthchecks). The latest ack deciding is the latest at
//! or before `at`: if it failed (`ok = false`, Healthchecks' `/fail`), `ERROR`. Before the first
//! ack, Healthchecks keeps a check "new" forever; here the task's creation stands in for a first
//! ack, so the task is `INSUFFICIENT` until its first ack would be past its grace time, then
//! `ERROR`. `count` is 1 when the latest ack is ok and not overdue, else 0; `expected` is 1;
//! `isReady` is true once the task has an ack or its first one is overdue.

use chrono::{DateTime, DurationRound as _, SecondsFormat, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::{Ack, Outcome, Status, last_ack, rfc3339};

/// When the next ack is due after one.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// One period after the last ack (Healthchecks' "simple" checks).
    Every(TimeDelta),
    /// At the next run of a cron schedule in a time zone (Healthchecks' "cron" checks).
    Cron {
        /// The parsed five-field expression (boxed: it is large, and most tasks have none).
        cron: Box<Cron>,
        /// The zone its times are read in.
        tz: Tz,
    },
}

impl Schedule {
    /// When the ack after one at `after` is due; `None` when the schedule never runs again.
    pub fn next_due(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(period) => after.checked_add_signed(*period),
            Schedule::Cron { cron, tz } => {
                // Like cronsim: from the last ack's minute, the first run strictly after it.
                let minute = after
                    .duration_trunc(TimeDelta::minutes(1))
                    .unwrap_or(after)
                    .with_timezone(tz);
                cron.find_next_occurrence(&minute, false)
                    .ok()
                    .map(|next| next.with_timezone(&Utc))
            }
        }
    }

    /// `t` for a reason: UTC for periods, the schedule's local time for cron.
    fn show(&self, t: DateTime<Utc>) -> String {
        match self {
            Schedule::Every(_) => rfc3339(t),
            Schedule::Cron { tz, .. } => t
                .with_timezone(tz)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }
}

/// Healthchecks' rule: an ack is due at `schedule`'s next time after the last one, plus `grace`.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// When the next ack is due.
    pub schedule: Schedule,
    /// How late it may be before the task is down.
    pub grace: TimeDelta,
}

/// Evaluate the heartbeat rule as of `at`.
pub fn evaluate(
    rule: &Heartbeat,
    created: DateTime<Utc>,
    acks: &[Ack],
    at: DateTime<Utc>,
) -> Outcome {
    let show = |t: DateTime<Utc>| rule.schedule.show(t);
    let outcome = |status, count, is_ready, reason| Outcome {
        status,
        count,
        expected: 1,
        is_ready,
        reason,
    };
    let Some(last) = last_ack(acks, at) else {
        let Some(due) = rule.schedule.next_due(created) else {
            return outcome(
                Status::Insufficient,
                0,
                false,
                format!(
                    "no ack yet, and the schedule has no run after {}",
                    show(created)
                ),
            );
        };
        let deadline = due + rule.grace;
        return if at < deadline {
            outcome(
                Status::Insufficient,
                0,
                false,
                format!(
                    "no ack yet: the task is new (created at {}) and its first ack is due at \
                     {}, with grace until {}",
                    show(created),
                    show(due),
                    show(deadline)
                ),
            )
        } else {
            outcome(
                Status::Error,
                0,
                true,
                format!(
                    "no ack since the task was created at {}: the first was due at {} and the \
                     grace time ended at {}",
                    show(created),
                    show(due),
                    show(deadline)
                ),
            )
        };
    };
    if !last.ok {
        return outcome(
            Status::Error,
            0,
            true,
            format!("the last ack, at {}, reported a failure", show(last.time)),
        );
    }
    let Some(due) = rule.schedule.next_due(last.time) else {
        return outcome(
            Status::Ok,
            1,
            true,
            format!(
                "last ack at {}, and the schedule has no run after it",
                show(last.time)
            ),
        );
    };
    let deadline = due + rule.grace;
    if at < due {
        outcome(
            Status::Ok,
            1,
            true,
            format!(
                "last ack at {}, the next is due at {}",
                show(last.time),
                show(due)
            ),
        )
    } else if at < deadline {
        outcome(
            Status::Ok,
            1,
            true,
            format!(
                "late: last ack at {}, the next was due at {}; ERROR at {} unless it comes",
                show(last.time),
                show(due),
                show(deadline)
            ),
        )
    } else {
        outcome(
            Status::Error,
            0,
            true,
            format!(
                "no ack since {}: the next was due at {} and the grace time ended at {}",
                show(last.time),
                show(due),
                show(deadline)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use croner::parser::{CronParser, Seconds, Year};

    use super::super::test_support::{failed, oks, t};
    use super::*;

    fn every(period: TimeDelta, grace: TimeDelta) -> Heartbeat {
        Heartbeat {
            schedule: Schedule::Every(period),
            grace,
        }
    }

    fn cron(expression: &str, tz: &str, grace: TimeDelta) -> Heartbeat {
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .expect("valid test expression");
        Heartbeat {
            schedule: Schedule::Cron {
                cron: Box::new(cron),
                tz: tz.parse().expect("known zone"),
            },
            grace,
        }
    }

    struct Row {
        name: &'static str,
        rule: Heartbeat,
        created: &'static str,
        acks: Vec<Ack>,
        at: &'static str,
        status: Status,
        late: bool,
    }

    fn check(rows: Vec<Row>) {
        for row in rows {
            let outcome = evaluate(&row.rule, t(row.created), &row.acks, t(row.at));
            assert_eq!(outcome.status, row.status, "{}: {outcome:?}", row.name);
            assert_eq!(
                outcome.reason.starts_with("late"),
                row.late,
                "{}: {outcome:?}",
                row.name
            );
            assert_eq!(
                outcome.count,
                u64::from(outcome.status == Status::Ok),
                "{}",
                row.name
            );
        }
    }

    #[test]
    fn period_table() {
        let day = TimeDelta::days(1);
        let hour = TimeDelta::hours(1);
        let created = "2026-11-01T00:00:00Z";
        let last = oks(&["2026-11-21T10:00:00Z", "2026-11-22T10:00:00Z"]);
        let row = |name, at, status, late| Row {
            name,
            rule: every(day, hour),
            created,
            acks: last.clone(),
            at,
            status,
            late,
        };
        check(vec![
            row(
                "within the period",
                "2026-11-23T09:59:59Z",
                Status::Ok,
                false,
            ),
            row(
                "due exactly now: grace starts",
                "2026-11-23T10:00:00Z",
                Status::Ok,
                true,
            ),
            row(
                "in the grace time",
                "2026-11-23T10:59:59Z",
                Status::Ok,
                true,
            ),
            row(
                "grace over: down (>=)",
                "2026-11-23T11:00:00Z",
                Status::Error,
                false,
            ),
            row("long gone", "2026-11-30T00:00:00Z", Status::Error, false),
            Row {
                name: "no grace: down when due",
                rule: every(day, TimeDelta::zero()),
                created,
                acks: last.clone(),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                late: false,
            },
            Row {
                name: "new task before its first deadline",
                rule: every(day, hour),
                created: "2026-11-22T10:00:00Z",
                acks: vec![],
                at: "2026-11-23T10:59:59Z",
                status: Status::Insufficient,
                late: false,
            },
            Row {
                name: "new task past its first deadline",
                rule: every(day, hour),
                created: "2026-11-22T10:00:00Z",
                acks: vec![],
                at: "2026-11-23T11:00:00Z",
                status: Status::Error,
                late: false,
            },
            Row {
                name: "a failed last ack is down at once",
                rule: every(day, hour),
                created,
                acks: vec![t_ok("2026-11-22T10:00:00Z"), failed("2026-11-22T12:00:00Z")],
                at: "2026-11-22T12:00:01Z",
                status: Status::Error,
                late: false,
            },
            Row {
                name: "an ok ack after a failure recovers",
                rule: every(day, hour),
                created,
                acks: vec![failed("2026-11-22T12:00:00Z"), t_ok("2026-11-22T13:00:00Z")],
                at: "2026-11-22T14:00:00Z",
                status: Status::Ok,
                late: false,
            },
            Row {
                name: "acks after `at` and the order do not matter",
                rule: every(day, hour),
                created,
                acks: vec![
                    t_ok("2026-11-24T10:00:00Z"),
                    t_ok("2026-11-22T10:00:00Z"),
                    t_ok("2026-11-20T10:00:00Z"),
                ],
                at: "2026-11-23T10:30:00Z",
                status: Status::Ok,
                late: true,
            },
        ]);
    }

    fn t_ok(time: &str) -> Ack {
        Ack {
            time: t(time),
            ok: true,
        }
    }

    #[test]
    fn cron_table() {
        let hour = TimeDelta::hours(1);
        let half = TimeDelta::minutes(30);
        let created = "2026-01-01T00:00:00Z";
        let row = |name, rule, acks: &[&str], at, status, late| Row {
            name,
            rule,
            created,
            acks: oks(acks),
            at,
            status,
            late,
        };
        check(vec![
            row(
                "daily 03:00 UTC: acked today, fine until tomorrow's run",
                cron("0 3 * * *", "UTC", hour),
                &["2026-11-23T03:01:00Z"],
                "2026-11-24T02:59:00Z",
                Status::Ok,
                false,
            ),
            row(
                "a ping a minute early does not cover the run after it: late at 03:30",
                cron("0 3 * * *", "UTC", hour),
                &["2026-11-23T02:59:30Z"],
                "2026-11-23T03:30:00Z",
                Status::Ok,
                true,
            ),
            row(
                "daily 03:00 UTC: missed, late in the grace hour",
                cron("0 3 * * *", "UTC", hour),
                &["2026-11-22T03:01:00Z"],
                "2026-11-23T03:59:59Z",
                Status::Ok,
                true,
            ),
            row(
                "daily 03:00 UTC: missed, down after the grace hour",
                cron("0 3 * * *", "UTC", hour),
                &["2026-11-22T03:01:00Z"],
                "2026-11-23T04:00:00Z",
                Status::Error,
                false,
            ),
            row(
                "Mondays only: a Sunday without an ack is fine",
                cron("0 3 * * 1", "UTC", hour),
                // 2026-11-23 is a Monday.
                &["2026-11-16T03:00:30Z"],
                "2026-11-22T12:00:00Z",
                Status::Ok,
                false,
            ),
            row(
                "midnight in Tokyo is 15:00 UTC: due, in grace",
                cron("0 0 * * *", "Asia/Tokyo", hour),
                &["2026-11-22T15:01:00Z"],
                "2026-11-23T15:30:00Z",
                Status::Ok,
                true,
            ),
            row(
                "midnight in Tokyo: down an hour after",
                cron("0 0 * * *", "Asia/Tokyo", hour),
                &["2026-11-22T15:01:00Z"],
                "2026-11-23T16:00:00Z",
                Status::Error,
                false,
            ),
            row(
                "the same ack with a UTC midnight schedule was due at 00:00 UTC: late",
                cron("0 0 * * *", "UTC", hour),
                &["2026-11-22T15:01:00Z"],
                "2026-11-23T00:59:00Z",
                Status::Ok,
                true,
            ),
            Row {
                name: "new cron task: INSUFFICIENT until the first run's grace ends",
                rule: cron("0 3 * * *", "UTC", hour),
                created: "2026-11-20T10:00:00Z",
                acks: vec![],
                at: "2026-11-21T03:59:00Z",
                status: Status::Insufficient,
                late: false,
            },
            Row {
                name: "new cron task: then ERROR",
                rule: cron("0 3 * * *", "UTC", hour),
                created: "2026-11-20T10:00:00Z",
                acks: vec![],
                at: "2026-11-21T04:00:00Z",
                status: Status::Error,
                late: false,
            },
            // Paris springs forward on 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
            row(
                "02:30 Paris on spring-forward day runs at 03:00 CEST: not due at 00:59 UTC",
                cron("30 2 * * *", "Europe/Paris", half),
                &["2026-03-28T01:31:00Z"],
                "2026-03-29T00:59:00Z",
                Status::Ok,
                false,
            ),
            row(
                "02:30 Paris on spring-forward day: due at 01:00 UTC, in grace",
                cron("30 2 * * *", "Europe/Paris", half),
                &["2026-03-28T01:31:00Z"],
                "2026-03-29T01:29:00Z",
                Status::Ok,
                true,
            ),
            row(
                "02:30 Paris on spring-forward day: down at 01:30 UTC",
                cron("30 2 * * *", "Europe/Paris", half),
                &["2026-03-28T01:31:00Z"],
                "2026-03-29T01:30:00Z",
                Status::Error,
                false,
            ),
            // Paris falls back on 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC), so
            // 02:00-02:59 happens twice: 00:00-00:59 UTC and 01:00-01:59 UTC.
            row(
                "02:30 Paris on fall-back day runs at the first 02:30 (00:30 UTC): down at 01:00",
                cron("30 2 * * *", "Europe/Paris", half),
                &["2026-10-24T00:31:00Z"],
                "2026-10-25T01:00:00Z",
                Status::Error,
                false,
            ),
            row(
                "02:30 Paris on fall-back day runs once: acked at the first, fine at the second",
                cron("30 2 * * *", "Europe/Paris", half),
                &["2026-10-25T00:31:00Z"],
                "2026-10-25T02:00:00Z",
                Status::Ok,
                false,
            ),
            row(
                "01:30 Paris on fall-back day is not repeated (01:30 CEST = 23:30 UTC the day \
                 before); the next is 01:30 CET, 25 hours later",
                cron("30 1 * * *", "Europe/Paris", hour),
                &["2026-10-24T23:31:00Z"],
                "2026-10-26T01:29:00Z",
                Status::Ok,
                true,
            ),
            row(
                "01:30 Paris after fall-back: down at 02:30 UTC",
                cron("30 1 * * *", "Europe/Paris", hour),
                &["2026-10-24T23:31:00Z"],
                "2026-10-26T01:30:00Z",
                Status::Error,
                false,
            ),
            // New York falls back on 2026-11-01: 01:00-01:59 happens twice (EDT, then EST).
            row(
                "01:30 New York on fall-back day runs once, at 01:30 EDT (05:30 UTC): an ack \
                 just after it is fine through the second 01:30 (EST, 06:30 UTC)",
                cron("30 1 * * *", "America/New_York", half),
                &["2026-11-01T05:31:00Z"],
                "2026-11-01T07:00:00Z",
                Status::Ok,
                false,
            ),
            row(
                "01:30 New York on fall-back day: missed, down at 06:00 UTC",
                cron("30 1 * * *", "America/New_York", half),
                &["2026-10-31T05:31:00Z"],
                "2026-11-01T06:00:00Z",
                Status::Error,
                false,
            ),
            row(
                "wildcard schedules follow real time through the repeated hour",
                cron("*/15 * * * *", "Europe/Paris", TimeDelta::zero()),
                // 02:50 CEST; the next run is 02:00 CET (01:00 UTC), not 03:00.
                &["2026-10-25T00:50:00Z"],
                "2026-10-25T01:00:00Z",
                Status::Error,
                false,
            ),
        ]);
    }

    #[test]
    fn cron_runs_follow_debian_cron_across_dst() {
        let due = |expression: &str, tz: &str, after: &str| {
            cron(expression, tz, TimeDelta::zero())
                .schedule
                .next_due(t(after))
                .map(rfc3339)
        };
        // Spring forward: 02:30 does not exist on 2026-03-29 in Paris; it runs at 03:00 CEST.
        assert_eq!(
            due("30 2 * * *", "Europe/Paris", "2026-03-28T01:31:00Z").as_deref(),
            Some("2026-03-29T01:00:00Z")
        );
        // ... and the day after at 02:30 CEST again.
        assert_eq!(
            due("30 2 * * *", "Europe/Paris", "2026-03-29T01:00:00Z").as_deref(),
            Some("2026-03-30T00:30:00Z")
        );
        // Fall back: 02:30 happens twice on 2026-10-25; it runs at the first (CEST) only.
        assert_eq!(
            due("30 2 * * *", "Europe/Paris", "2026-10-24T00:31:00Z").as_deref(),
            Some("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            due("30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00Z").as_deref(),
            Some("2026-10-26T01:30:00Z")
        );
        // An ack during the second 02:xx (CET) is after that day's run: the next is tomorrow.
        assert_eq!(
            due("30 2 * * *", "Europe/Paris", "2026-10-25T01:35:00Z").as_deref(),
            Some("2026-10-26T01:30:00Z")
        );
        // Wildcard minutes run through both passes of the repeated hour.
        assert_eq!(
            due("0 * * * *", "Europe/Paris", "2026-10-25T00:10:00Z").as_deref(),
            Some("2026-10-25T01:00:00Z")
        );
        // The same minute is never due again: strictly after the ack's minute.
        assert_eq!(
            due("0 3 * * *", "UTC", "2026-11-23T03:00:59Z").as_deref(),
            Some("2026-11-24T03:00:00Z")
        );
        // A schedule that never runs.
        assert_eq!(due("0 0 30 2 *", "UTC", "2026-11-23T03:00:00Z"), None);
    }

    #[test]
    fn reasons_say_why() {
        let rule = cron("30 2 * * *", "Europe/Paris", TimeDelta::minutes(30));
        let acks = oks(&["2026-03-28T01:31:00Z"]);
        let outcome = evaluate(
            &rule,
            t("2026-01-01T00:00:00Z"),
            &acks,
            t("2026-03-29T01:10:00Z"),
        );
        assert_eq!(
            outcome.reason,
            "late: last ack at 2026-03-28T02:31:00+01:00, the next was due at \
             2026-03-29T03:00:00+02:00; ERROR at 2026-03-29T03:30:00+02:00 unless it comes"
        );
        let rule = every(TimeDelta::days(1), TimeDelta::hours(1));
        let outcome = evaluate(
            &rule,
            t("2026-11-22T10:00:00Z"),
            &[],
            t("2026-11-23T11:00:00Z"),
        );
        assert_eq!(
            outcome.reason,
            "no ack since the task was created at 2026-11-22T10:00:00Z: the first was due at \
             2026-11-23T10:00:00Z and the grace time ended at 2026-11-23T11:00:00Z"
        );
    }
}
