//! `daily`: the rule the seed's README table describes, on calendar days of the task's time zone.
//!
//! Each of the last `datapoints` local days is one datapoint, present when it holds at least one
//! successful ack; the task is OK when at least `datapoints - tolerance` days are present. A day
//! is a calendar day, so a 23- or 25-hour day (a DST change) is still one datapoint.
//!
//! Which days form the window:
//!
//! - today, still in progress, counts once it has a successful ack: the window is the
//!   `datapoints` days ending today;
//! - otherwise the window is the `datapoints` days ending yesterday: a job that runs at 03:00 is
//!   not flagged at 01:00, and a missed day is flagged once it is over (at the next local
//!   midnight).
//!
//! Readiness and precedence: the task is ready when it existed at the first instant of the
//! window's first day (it has `datapoints` whole days of history). Then:
//!
//! 1. present days >= `datapoints - tolerance` -> `OK`, even for a young task: the count is
//!    already enough;
//! 2. otherwise a task that is not ready -> `INSUFFICIENT` (the README's `X X X` row: "we'll have
//!    to wait 2 more days");
//! 3. otherwise `ERROR`.
//!
//! Failed acks (`ok = false`) do not make a day present.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{Ack, Outcome, Status, day_start, plural, rfc3339};

/// At most this many missed days are listed in a reason; the rest are counted.
const LISTED_MISSES: usize = 7;

/// One datapoint per local day: at least `datapoints - tolerance` of the last `datapoints` days
/// have an ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daily {
    /// Days in the window, at least 1.
    pub datapoints: u32,
    /// How many of them may go without an ack; at most `datapoints`.
    pub tolerance: u32,
    /// The zone whose calendar days are the datapoints.
    pub tz: Tz,
}

/// Evaluate the daily rule as of `at`.
pub fn evaluate(rule: &Daily, created: DateTime<Utc>, acks: &[Ack], at: DateTime<Utc>) -> Outcome {
    let local_day = |time: DateTime<Utc>| time.with_timezone(&rule.tz).date_naive();
    let acked: BTreeSet<NaiveDate> = acks
        .iter()
        .filter(|ack| ack.ok && ack.time <= at)
        .map(|ack| local_day(ack.time))
        .collect();
    let today = local_day(at);
    let today_counts = acked.contains(&today);
    let last = if today_counts {
        today
    } else {
        today
            .pred_opt()
            .expect("RFC 3339 dates are far from chrono's limits")
    };
    let days = rule.datapoints.max(1);
    let first = last
        .checked_sub_days(Days::new(u64::from(days - 1)))
        .expect("datapoints is bounded by request parsing, far from chrono's limits");
    let window = first.iter_days().take_while(|day| *day <= last);
    let missed: Vec<NaiveDate> = window.filter(|day| !acked.contains(day)).collect();
    let count = u64::from(days) - missed.len() as u64;
    let expected = u64::from(rule.datapoints.saturating_sub(rule.tolerance));
    let first_start = day_start(&rule.tz, first);
    let is_ready = created <= first_start;

    let span = if first == last {
        first.to_string()
    } else {
        format!("{first} to {last}")
    };
    let counted = format!(
        "{count} of the last {} ({span}, {}) {} an ack, {expected} needed",
        plural(u64::from(days), "day"),
        rule.tz.name(),
        if count == 1 || days == 1 {
            "has"
        } else {
            "have"
        }
    );
    let today_note = if today_counts || count >= expected {
        String::new()
    } else {
        format!("; today ({today}) is not over and has no ack yet")
    };
    let (status, reason) = if count >= expected {
        (Status::Ok, counted)
    } else if !is_ready {
        (
            Status::Insufficient,
            format!(
                "the task was created at {}, after {first} began, so it has fewer than {} of \
                 history: {counted}{today_note}",
                rfc3339(created),
                plural(u64::from(days), "whole day")
            ),
        )
    } else {
        let mut listed: Vec<String> = missed
            .iter()
            .take(LISTED_MISSES)
            .map(NaiveDate::to_string)
            .collect();
        if missed.len() > LISTED_MISSES {
            listed.push(format!("{} more", missed.len() - LISTED_MISSES));
        }
        (
            Status::Error,
            format!("{counted}; no ack on {}{today_note}", listed.join(", ")),
        )
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

    fn rule(datapoints: u32, tolerance: u32, tz: &str) -> Daily {
        Daily {
            datapoints,
            tolerance,
            tz: tz.parse().expect("known zone"),
        }
    }

    struct Row {
        name: &'static str,
        rule: Daily,
        created: &'static str,
        acks: Vec<Ack>,
        at: &'static str,
        status: Status,
        count: u64,
        ready: bool,
    }

    fn check(rows: Vec<Row>) {
        for row in rows {
            let outcome = evaluate(&row.rule, t(row.created), &row.acks, t(row.at));
            assert_eq!(outcome.status, row.status, "{}: {outcome:?}", row.name);
            assert_eq!(outcome.count, row.count, "{}: {outcome:?}", row.name);
            assert_eq!(outcome.is_ready, row.ready, "{}: {outcome:?}", row.name);
        }
    }

    /// The seed README's table, with `at` on the day after the last column (so the window is the
    /// five days shown, the last one being yesterday), each column a day at 03:00 UTC.
    #[test]
    fn seed_readme_table() {
        let created = "2026-11-01T00:00:00Z";
        let at = "2026-11-23T10:00:00Z";
        // Columns: 11-18 11-19 11-20 11-21 11-22.
        check(vec![
            Row {
                name: "X X X X X, 5 datapoints, tolerance 0: OK",
                rule: rule(5, 0, "UTC"),
                created,
                acks: oks(&[
                    "2026-11-18T03:00:00Z",
                    "2026-11-19T03:00:00Z",
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                    "2026-11-22T03:00:00Z",
                ]),
                at,
                status: Status::Ok,
                count: 5,
                ready: true,
            },
            Row {
                name: "_ X X X _, 5 datapoints, tolerance 2: OK",
                rule: rule(5, 2, "UTC"),
                created,
                acks: oks(&[
                    "2026-11-19T03:00:00Z",
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                ]),
                at,
                status: Status::Ok,
                count: 3,
                ready: true,
            },
            Row {
                name: "X X X (task only 3 days old), 5 datapoints, tolerance 0: INSUFFICIENT",
                rule: rule(5, 0, "UTC"),
                created: "2026-11-20T00:00:00Z",
                acks: oks(&[
                    "2026-11-20T03:00:00Z",
                    "2026-11-21T03:00:00Z",
                    "2026-11-22T03:00:00Z",
                ]),
                at,
                status: Status::Insufficient,
                count: 3,
                ready: false,
            },
            Row {
                name: "X X X _ _, 5 datapoints, tolerance 1: ERROR",
                rule: rule(5, 1, "UTC"),
                created,
                acks: oks(&[
                    "2026-11-18T03:00:00Z",
                    "2026-11-19T03:00:00Z",
                    "2026-11-20T03:00:00Z",
                ]),
                at,
                status: Status::Error,
                count: 3,
                ready: true,
            },
        ]);
    }

    #[test]
    fn table() {
        let created = "2026-11-01T00:00:00Z";
        let five_days = oks(&[
            "2026-11-18T03:00:00Z",
            "2026-11-19T03:00:00Z",
            "2026-11-20T03:00:00Z",
            "2026-11-21T03:00:00Z",
            "2026-11-22T03:00:00Z",
        ]);
        check(vec![
            Row {
                name: "today without an ack yet is not counted (the job runs later)",
                rule: rule(5, 0, "UTC"),
                created,
                acks: five_days.clone(),
                at: "2026-11-23T01:00:00Z",
                status: Status::Ok,
                count: 5,
                ready: true,
            },
            Row {
                name: "today with an ack counts, and the window ends today",
                rule: rule(5, 0, "UTC"),
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
                name: "a missed day is flagged once it is over",
                rule: rule(5, 0, "UTC"),
                created,
                acks: five_days.clone(),
                at: "2026-11-24T00:00:00Z",
                status: Status::Error,
                count: 4,
                ready: true,
            },
            Row {
                name: "several acks in one day are one datapoint",
                rule: rule(2, 0, "UTC"),
                created,
                acks: oks(&["2026-11-22T03:00:00Z", "2026-11-22T04:00:00Z"]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 1,
                ready: true,
            },
            Row {
                name: "a failed ack does not make a day present",
                rule: rule(1, 0, "UTC"),
                created,
                acks: vec![failed("2026-11-22T03:00:00Z")],
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "acks after `at` are ignored",
                rule: rule(1, 0, "UTC"),
                created,
                acks: oks(&["2026-11-23T10:00:01Z"]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "a young task whose count is already enough is OK",
                rule: rule(5, 2, "UTC"),
                created: "2026-11-20T08:00:00Z",
                acks: oks(&[
                    "2026-11-20T09:00:00Z",
                    "2026-11-21T09:00:00Z",
                    "2026-11-22T09:00:00Z",
                ]),
                at: "2026-11-23T01:00:00Z",
                status: Status::Ok,
                count: 3,
                ready: false,
            },
            Row {
                name: "created at the first day's midnight is ready",
                rule: rule(5, 0, "UTC"),
                created: "2026-11-18T00:00:00Z",
                acks: oks(&[]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "created a second later is not",
                rule: rule(5, 0, "UTC"),
                created: "2026-11-18T00:00:01Z",
                acks: oks(&[]),
                at: "2026-11-23T10:00:00Z",
                status: Status::Insufficient,
                count: 0,
                ready: false,
            },
        ]);
    }

    /// Around midnight in Paris (UTC+1 in November): 23:30 UTC is already tomorrow there.
    #[test]
    fn midnight_in_a_non_utc_zone() {
        let created = "2026-11-01T00:00:00Z";
        // Acks at 00:30 Paris time, i.e. 23:30 UTC the day before.
        let acks = oks(&[
            "2026-11-19T23:30:00Z",
            "2026-11-20T23:30:00Z",
            "2026-11-21T23:30:00Z",
        ]);
        check(vec![
            Row {
                name: "Paris: the acks fall on 11-20, 11-21 and 11-22, all in the window",
                rule: rule(3, 0, "Europe/Paris"),
                created,
                acks: acks.clone(),
                at: "2026-11-22T22:00:00Z",
                status: Status::Ok,
                count: 3,
                ready: true,
            },
            Row {
                name: "UTC: the same acks fall on 11-19, 11-20, 11-21, and 11-22 has none",
                rule: rule(3, 0, "UTC"),
                created,
                acks: acks.clone(),
                at: "2026-11-22T23:59:00Z",
                status: Status::Ok,
                count: 3,
                ready: true,
            },
            Row {
                name: "Paris: at 23:00 UTC it is already 11-23 there, 11-22 is over",
                rule: rule(3, 0, "Europe/Paris"),
                created,
                acks: oks(&["2026-11-20T12:00:00Z", "2026-11-21T12:00:00Z"]),
                at: "2026-11-22T23:00:00Z",
                status: Status::Error,
                count: 2,
                ready: true,
            },
            Row {
                name: "UTC: at the same instant 11-22 is still today, so not yet missed",
                rule: rule(3, 0, "UTC"),
                created,
                acks: oks(&[
                    "2026-11-19T12:00:00Z",
                    "2026-11-20T12:00:00Z",
                    "2026-11-21T12:00:00Z",
                ]),
                at: "2026-11-22T23:00:00Z",
                status: Status::Ok,
                count: 3,
                ready: true,
            },
        ]);
    }

    /// Paris changes to CET on 2026-10-25 (a 25-hour day) and to CEST on 2026-03-29 (23 hours).
    #[test]
    fn dst_days_are_one_datapoint_each() {
        check(vec![
            Row {
                name: "fall back: 10-25 lasts 25 hours and is one datapoint",
                rule: rule(3, 0, "Europe/Paris"),
                created: "2026-10-01T00:00:00Z",
                // 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) on 10-25 are the same day.
                acks: oks(&[
                    "2026-10-24T01:00:00Z",
                    "2026-10-25T00:30:00Z",
                    "2026-10-25T01:30:00Z",
                    "2026-10-26T02:00:00Z",
                ]),
                at: "2026-10-26T12:00:00Z",
                status: Status::Ok,
                count: 3,
                ready: true,
            },
            Row {
                name: "fall back: 23:30 UTC on 10-25 is 00:30 on 10-26 in Paris (CET)",
                rule: rule(1, 0, "Europe/Paris"),
                created: "2026-10-01T00:00:00Z",
                acks: oks(&["2026-10-25T23:30:00Z"]),
                at: "2026-10-26T22:00:00Z",
                status: Status::Ok,
                count: 1,
                ready: true,
            },
            Row {
                name: "spring forward: 03-29 lasts 23 hours and is one datapoint",
                rule: rule(3, 0, "Europe/Paris"),
                created: "2026-03-01T00:00:00Z",
                acks: oks(&[
                    "2026-03-28T02:00:00Z",
                    "2026-03-29T01:30:00Z",
                    "2026-03-30T01:00:00Z",
                ]),
                at: "2026-03-30T12:00:00Z",
                status: Status::Ok,
                count: 3,
                ready: true,
            },
            Row {
                name: "spring forward: 22:30 UTC on 03-29 is 00:30 on 03-30 in Paris (CEST)",
                rule: rule(1, 0, "Europe/Paris"),
                created: "2026-03-01T00:00:00Z",
                acks: oks(&["2026-03-29T22:30:00Z"]),
                at: "2026-03-30T21:00:00Z",
                status: Status::Ok,
                count: 1,
                ready: true,
            },
            Row {
                name: "readiness uses the local midnight of a DST day (03-29 00:00 is 23:00Z)",
                rule: rule(2, 0, "Europe/Paris"),
                created: "2026-03-28T23:00:00Z",
                acks: oks(&[]),
                at: "2026-03-31T00:00:00Z",
                status: Status::Error,
                count: 0,
                ready: true,
            },
        ]);
    }

    #[test]
    fn reasons_say_why() {
        let created = t("2026-11-01T00:00:00Z");
        let acks = oks(&[
            "2026-11-18T03:00:00Z",
            "2026-11-19T03:00:00Z",
            "2026-11-20T03:00:00Z",
        ]);
        let outcome = evaluate(
            &rule(5, 1, "UTC"),
            created,
            &acks,
            t("2026-11-23T10:00:00Z"),
        );
        assert_eq!(
            outcome.reason,
            "3 of the last 5 days (2026-11-18 to 2026-11-22, UTC) have an ack, 4 needed; \
             no ack on 2026-11-21, 2026-11-22; today (2026-11-23) is not over and has no ack yet"
        );
        let young = t("2026-11-20T00:00:00Z");
        let outcome = evaluate(&rule(5, 0, "UTC"), young, &acks, t("2026-11-23T10:00:00Z"));
        assert_eq!(
            outcome.reason,
            "the task was created at 2026-11-20T00:00:00Z, after 2026-11-18 began, so it has \
             fewer than 5 whole days of history: 3 of the last 5 days (2026-11-18 to \
             2026-11-22, UTC) have an ack, 5 needed; today (2026-11-23) is not over and has no \
             ack yet"
        );
    }
}
