//! The evaluation rules: pure functions from a task's rule, its creation time, its acks and the
//! instant `at` to an [`Outcome`] (status, count, expected, readiness and a sentence saying why).
//!
//! Nothing here reads a clock or calls the host: `at` is injected (the host's clock, or a past
//! moment for an audit), so every rule is a table-driven unit test. Every rule ignores acks after
//! `at` and takes them in any order.
//!
//! This module owns what the modes share (statuses, acks, local-day arithmetic, wording); each
//! mode owns its own rule in its submodule:
//!
//! - [`rolling`]: the seed's rule (10Pines/tracker): acks in the last `datapoints` x 24 hours.
//! - [`daily`]: one datapoint per calendar day of the task's time zone.
//! - [`cloudwatch`]: M out of N periods, with CloudWatch's treatment of missing data.
//! - [`heartbeat`]: Healthchecks.io: the next ack is due one period (or the next cron run) after
//!   the last one, plus a grace time.

pub mod cloudwatch;
pub mod daily;
pub mod heartbeat;
pub mod rolling;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// What a task's evaluation says (the seed's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// The task runs as expected.
    #[serde(rename = "OK")]
    Ok,
    /// The task missed more runs than its rule tolerates.
    #[serde(rename = "ERROR")]
    Error,
    /// Not enough history to judge yet (a new task, or no data at all).
    #[serde(rename = "INSUFFICIENT")]
    Insufficient,
}

impl Status {
    /// `OK`, `ERROR` or `INSUFFICIENT`, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Error => "ERROR",
            Status::Insufficient => "INSUFFICIENT",
        }
    }
}

/// One ack: the job said it ran at `time`; `ok` is false when it reported a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// When the job acked.
    pub time: DateTime<Utc>,
    /// Whether the run succeeded.
    pub ok: bool,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub status: Status,
    /// What the mode counts (acks, days, non-breaching periods, fresh heartbeats).
    pub count: u64,
    /// How many of them the rule needs.
    pub expected: u64,
    /// Whether the task has enough history for the rule to apply in full.
    pub is_ready: bool,
    /// One human sentence saying why.
    pub reason: String,
}

/// How a task is evaluated; `rolling` unless the task or the stage's config says otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The seed's rule; see [`rolling`].
    #[default]
    Rolling,
    /// Calendar days; see [`daily`].
    Daily,
    /// M out of N periods; see [`cloudwatch`].
    CloudWatch,
    /// Healthchecks.io; see [`heartbeat`].
    Heartbeat,
}

impl Mode {
    /// The wire name: `rolling`, `daily`, `cloudwatch` or `heartbeat`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Rolling => "rolling",
            Mode::Daily => "daily",
            Mode::CloudWatch => "cloudwatch",
            Mode::Heartbeat => "heartbeat",
        }
    }
}

/// A task's rule: its mode and that mode's settings.
#[derive(Debug, Clone)]
pub enum Rule {
    /// See [`rolling`].
    Rolling(rolling::Rolling),
    /// See [`daily`].
    Daily(daily::Daily),
    /// See [`cloudwatch`].
    CloudWatch(cloudwatch::CloudWatch),
    /// See [`heartbeat`].
    Heartbeat(heartbeat::Heartbeat),
}

impl Rule {
    /// The mode this rule belongs to.
    pub fn mode(&self) -> Mode {
        match self {
            Rule::Rolling(_) => Mode::Rolling,
            Rule::Daily(_) => Mode::Daily,
            Rule::CloudWatch(_) => Mode::CloudWatch,
            Rule::Heartbeat(_) => Mode::Heartbeat,
        }
    }
}

/// Evaluate `rule` for a task created at `created`, as of `at`. `previous` is the last status the
/// host recorded (only `cloudwatch` with `treat_missing_data = ignore` reads it).
pub fn evaluate(
    rule: &Rule,
    created: DateTime<Utc>,
    acks: &[Ack],
    at: DateTime<Utc>,
    previous: Option<Status>,
) -> Outcome {
    match rule {
        Rule::Rolling(rule) => rolling::evaluate(rule, created, acks, at),
        Rule::Daily(rule) => daily::evaluate(rule, created, acks, at),
        Rule::CloudWatch(rule) => cloudwatch::evaluate(rule, created, acks, at, previous),
        Rule::Heartbeat(rule) => heartbeat::evaluate(rule, created, acks, at),
    }
}

/// The latest ack at or before `at`, failed or not.
pub fn last_ack(acks: &[Ack], at: DateTime<Utc>) -> Option<Ack> {
    acks.iter()
        .filter(|ack| ack.time <= at)
        .max_by_key(|ack| ack.time)
        .copied()
}

/// The first instant of local `date` in `tz`: its midnight, or the end of the gap when the clocks
/// skip midnight (some zones change at 00:00, e.g. `America/Santiago`).
pub(crate) fn day_start(tz: &Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut local = date.and_time(NaiveTime::MIN);
    // A gap is at most a few hours long; a day has 1440 minutes, and the next day's midnight
    // always exists after a gap that swallowed this one's.
    for _ in 0..=1440 {
        if let Some(start) = tz.from_local_datetime(&local).earliest() {
            return start.with_timezone(&Utc);
        }
        local += TimeDelta::minutes(1);
    }
    // Unreachable with the tz database (no gap lasts a day); stay total anyway.
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// `t` as RFC 3339 in UTC, e.g. `2026-11-23T10:00:00Z` (fractions only when present).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `1 ack`, `3 acks`.
pub(crate) fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A duration for people: `3 days 4 hours`, `2 hours 5 minutes`, `45 seconds`.
pub(crate) fn human_duration(delta: TimeDelta) -> String {
    let seconds = delta.num_seconds().unsigned_abs();
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    let parts: Vec<String> = [(days, "day"), (hours, "hour"), (minutes, "minute")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, word)| plural(n, word))
        .collect();
    if parts.is_empty() {
        plural(seconds, "second")
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers for the modes' table-driven tests.

    use chrono::{DateTime, Utc};

    use super::Ack;

    /// Parse an RFC 3339 time; panics on a typo in a test table.
    pub fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|error| panic!("bad test time `{text}`: {error}"))
            .with_timezone(&Utc)
    }

    /// Successful acks at these times.
    pub fn oks(times: &[&str]) -> Vec<Ack> {
        times
            .iter()
            .map(|time| Ack {
                time: t(time),
                ok: true,
            })
            .collect()
    }

    /// A failed ack at this time.
    pub fn failed(time: &str) -> Ack {
        Ack {
            time: t(time),
            ok: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::test_support::t;
    use super::*;

    #[test]
    fn day_start_is_local_midnight_or_the_end_of_its_gap() {
        let paris: Tz = "Europe/Paris".parse().expect("known zone");
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        assert_eq!(
            day_start(&paris, date(2026, 11, 23)),
            t("2026-11-22T23:00:00Z")
        );
        assert_eq!(
            day_start(&paris, date(2026, 7, 1)),
            t("2026-06-30T22:00:00Z")
        );
        // Chile springs forward at 00:00 (to 01:00) on the first Sunday of September.
        let santiago: Tz = "America/Santiago".parse().expect("known zone");
        assert_eq!(
            day_start(&santiago, date(2026, 9, 6)),
            t("2026-09-06T04:00:00Z")
        );
    }

    #[test]
    fn last_ack_ignores_the_future_and_the_order() {
        let acks = [
            Ack {
                time: t("2026-11-22T03:00:00Z"),
                ok: true,
            },
            Ack {
                time: t("2026-11-24T03:00:00Z"),
                ok: true,
            },
            Ack {
                time: t("2026-11-21T03:00:00Z"),
                ok: false,
            },
        ];
        assert_eq!(
            last_ack(&acks, t("2026-11-23T00:00:00Z")).map(|ack| ack.time),
            Some(t("2026-11-22T03:00:00Z"))
        );
        assert_eq!(last_ack(&acks, t("2026-11-20T00:00:00Z")), None);
    }

    #[test]
    fn wording() {
        assert_eq!(plural(1, "ack"), "1 ack");
        assert_eq!(plural(0, "ack"), "0 acks");
        assert_eq!(human_duration(TimeDelta::seconds(45)), "45 seconds");
        assert_eq!(
            human_duration(TimeDelta::hours(76) + TimeDelta::minutes(3)),
            "3 days 4 hours"
        );
        assert_eq!(human_duration(TimeDelta::minutes(125)), "2 hours 5 minutes");
        assert_eq!(
            rfc3339(t("2026-11-23T11:00:00+01:00")),
            "2026-11-23T10:00:00Z"
        );
    }
}
