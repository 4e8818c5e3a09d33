//! `cloudwatch`: "M out of N" periods, evaluated the way Amazon CloudWatch evaluates a metric
//! alarm, including its treatment of missing data.
//!
//! Source: the CloudWatch user guide, "Configuring how CloudWatch alarms treat missing data" and
//! "How alarm state is evaluated when data is missing" (its two example tables are the tests
//! below), and the AWS knowledge-center note "Why did my CloudWatch alarm send me a notification
//! after a single breached data point?".
//!
//! Periods. A period lasts `period_seconds`; when that is a whole number of days, periods start at
//! local midnights of the task's time zone (a 23- or 25-hour DST day is still one day), otherwise
//! they are aligned to the Unix epoch. Only complete periods are evaluated: the one in progress at
//! `at` is not. A period is `ok` when it holds a successful ack, `breaching` when it holds only
//! failed ones (`ok = false`), and missing when it holds none.
//!
//! Evaluation range. Like CloudWatch, the rule looks at more periods than N: the last N + 2 (the
//! guide's example fetches 5 data points for N = 3), shortened to what the host guarantees to
//! send (N periods plus one day): N + 1 for daily periods, N for periods longer than a day.
//! Periods that started before the task was created and hold no ack do not exist for it: they
//! are neither missing nor breaching, so a new task is not alarmed by the days before it.
//!
//! Then, as the guide says:
//!
//! 1. at least N periods in the range hold data: the N most recent of them are evaluated (missing
//!    periods are skipped, `treat_missing_data` plays no part); ALARM (`ERROR`) when at least M
//!    are breaching, else `OK`;
//! 2. fewer than N hold data: every real datapoint is evaluated, and missing periods fill the
//!    remaining places (as few as possible) according to `treat_missing_data`:
//!    - `breaching`: they count as breaching; `notBreaching`: they count as ok;
//!    - `missing` (the default): they are not evaluated. M breaching datapoints alarm; with no
//!      datapoint at all the status is `INSUFFICIENT`; with any ok datapoint it is `OK`; with
//!      only breaching ones (fewer than M) it is `ERROR` when the oldest of them is at least M
//!      periods old (the guide's `X - - - -` row, the knowledge-center note), else
//!      `INSUFFICIENT` (`- - - - X`);
//!    - `ignore`: as `missing`, except that where `missing` falls back on the age rule or on
//!      `INSUFFICIENT`, the status stays what it was (`previous_status`; `INSUFFICIENT` if none).
//!
//! A task younger than N periods may have too few periods to fill: then `ERROR` still needs M
//! breaching datapoints, `OK` needs the absent periods to be unable to reach M even if they were
//! all breaching, and anything between is `INSUFFICIENT` (`isReady` is false until the last N
//! periods all exist for the task).
//!
//! `count` is the number of evaluated datapoints that are not breaching, `expected` is
//! N - M + 1 (the fewest non-breaching datapoints that keep the alarm off).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Ack, Outcome, Status, day_start, plural};

/// How periods without any ack are treated, with CloudWatch's names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// Not evaluated (CloudWatch's default).
    #[default]
    Missing,
    /// Counted as breaching.
    Breaching,
    /// Counted as within the threshold.
    NotBreaching,
    /// Keep the previous status when missing data would decide.
    Ignore,
}

impl TreatMissingData {
    /// The wire name, e.g. `notBreaching`.
    pub fn as_str(self) -> &'static str {
        match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::NotBreaching => "notBreaching",
            TreatMissingData::Ignore => "ignore",
        }
    }
}

/// An "M out of N" rule over periods of `period_seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudWatch {
    /// Length of a period, at least 1 second.
    pub period_seconds: u32,
    /// N: how many periods are evaluated, at least 1.
    pub evaluation_periods: u32,
    /// M: how many breaching periods raise the alarm, 1..=N.
    pub datapoints_to_alarm: u32,
    /// What missing periods mean.
    pub treat_missing_data: TreatMissingData,
    /// The zone whose midnights start whole-day periods.
    pub tz: Tz,
}

/// What one period holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datapoint {
    Ok,
    Breaching,
    Missing,
}

/// How periods fall on the time line.
enum Grid {
    /// Periods of `days` local calendar days, starting at local midnights.
    Days { days: i64, tz: Tz },
    /// Periods of this many seconds, aligned to the Unix epoch.
    Seconds(i64),
}

/// The first day of the local calendar count (so k-day periods start on fixed dates).
const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");

impl Grid {
    fn new(rule: &CloudWatch) -> Self {
        let seconds = i64::from(rule.period_seconds.max(1));
        if seconds % 86_400 == 0 {
            Grid::Days {
                days: seconds / 86_400,
                tz: rule.tz,
            }
        } else {
            Grid::Seconds(seconds)
        }
    }

    /// The index of the period holding `t`.
    fn index_of(&self, t: DateTime<Utc>) -> i64 {
        match self {
            Grid::Days { days, tz } => {
                let date = t.with_timezone(tz).date_naive();
                (date - EPOCH).num_days().div_euclid(*days)
            }
            Grid::Seconds(seconds) => t.timestamp().div_euclid(*seconds),
        }
    }

    /// When period `index` starts.
    fn start_of(&self, index: i64) -> DateTime<Utc> {
        match self {
            Grid::Days { days, tz } => {
                let date = EPOCH
                    .checked_add_signed(TimeDelta::days(index * days))
                    .expect("periods of RFC 3339 times are far from chrono's limits");
                day_start(tz, date)
            }
            Grid::Seconds(seconds) => DateTime::from_timestamp(index * seconds, 0)
                .expect("periods of RFC 3339 times are far from chrono's limits"),
        }
    }
}

/// How many periods beyond N the range looks back: CloudWatch's example looks 2 back, and the
/// host sends N periods plus one day, so whole days limit it.
fn extra_periods(period_seconds: u32) -> usize {
    (86_400 / period_seconds.max(1)).min(2) as usize
}

/// `1-day periods in Europe/Paris`, `5-minute periods`.
fn describe_periods(rule: &CloudWatch) -> String {
    let p = rule.period_seconds;
    let (n, unit) = if p.is_multiple_of(86_400) {
        (p / 86_400, "day")
    } else if p.is_multiple_of(3_600) {
        (p / 3_600, "hour")
    } else if p.is_multiple_of(60) {
        (p / 60, "minute")
    } else {
        (p, "second")
    };
    if unit == "day" {
        format!("{n}-{unit} periods in {}", rule.tz.name())
    } else {
        format!("{n}-{unit} periods")
    }
}

/// The periods of the evaluation range that exist for the task, oldest first, as (age,
/// datapoint): age 1 is the last complete period before `at`.
fn evaluation_range(
    rule: &CloudWatch,
    created: DateTime<Utc>,
    acks: &[Ack],
    at: DateTime<Utc>,
) -> Vec<(usize, Datapoint)> {
    let grid = Grid::new(rule);
    let range = rule.evaluation_periods.max(1) as usize + extra_periods(rule.period_seconds);
    let last = grid.index_of(at) - 1;
    let oldest = last - (range as i64 - 1);
    let mut points = vec![Datapoint::Missing; range];
    for ack in acks.iter().filter(|ack| ack.time <= at) {
        let index = grid.index_of(ack.time);
        if !(oldest..=last).contains(&index) {
            continue;
        }
        let point = &mut points[(index - oldest) as usize];
        *point = match (*point, ack.ok) {
            (_, true) | (Datapoint::Ok, false) => Datapoint::Ok,
            (_, false) => Datapoint::Breaching,
        };
    }
    (oldest..=last)
        .zip(points)
        .filter(|(index, point)| *point != Datapoint::Missing || grid.start_of(*index) >= created)
        .map(|(index, point)| ((last - index + 1) as usize, point))
        .collect()
}

/// Evaluate the rule as of `at`; `previous` is what `ignore` keeps.
pub fn evaluate(
    rule: &CloudWatch,
    created: DateTime<Utc>,
    acks: &[Ack],
    at: DateTime<Utc>,
    previous: Option<Status>,
) -> Outcome {
    let n = rule.evaluation_periods.max(1) as usize;
    let m = (rule.datapoints_to_alarm.max(1) as usize).min(n);
    let expected = (n - m + 1) as u64;
    let periods = evaluation_range(rule, created, acks, at);
    let is_ready = periods.iter().filter(|(age, _)| *age <= n).count() == n;
    let real: Vec<(usize, Datapoint)> = periods
        .iter()
        .copied()
        .filter(|(_, point)| *point != Datapoint::Missing)
        .collect();
    let breaching_in = |points: &[(usize, Datapoint)]| {
        points
            .iter()
            .filter(|(_, point)| *point == Datapoint::Breaching)
            .count()
    };
    let periods_text = describe_periods(rule);
    let alarm_at = format!("{m} raise the alarm");

    // 1. Enough real datapoints: the N most recent are evaluated, missing data plays no part.
    if real.len() >= n {
        let evaluated = &real[real.len() - n..];
        let breaching = breaching_in(evaluated);
        let status = if breaching >= m {
            Status::Error
        } else {
            Status::Ok
        };
        let oldest_age = evaluated.first().map_or(0, |(age, _)| *age);
        let looked_back = if oldest_age > n {
            format!(
                ", reaching back {} over missing ones",
                plural(oldest_age as u64, "period")
            )
        } else {
            String::new()
        };
        return Outcome {
            status,
            count: (n - breaching) as u64,
            expected,
            is_ready,
            reason: format!(
                "{breaching} of the last {} with data ({periods_text}{looked_back}) {} \
                 breaching, {alarm_at}",
                plural(n as u64, "datapoint"),
                if breaching == 1 { "is" } else { "are" }
            ),
        };
    }

    // 2. Too few: missing periods fill the remaining places, as few as possible.
    let real_breaching = breaching_in(&real);
    let real_ok = real.len() - real_breaching;
    let missing = periods.len() - real.len();
    let fill = (n - real.len()).min(missing);
    // Places that neither data nor a missing period can fill: the task is younger than N periods.
    let absent = n - real.len() - fill;
    let have = format!(
        "{} of the last {} ({periods_text}) {} data",
        real.len(),
        plural(periods.len() as u64, "period"),
        if real.len() == 1 { "has" } else { "have" }
    );
    let young = if absent > 0 {
        format!(
            "; the task has existed for only {} of the {n}",
            plural(periods.len() as u64, "period")
        )
    } else {
        String::new()
    };
    let (status, count, reason) = match rule.treat_missing_data {
        treat @ (TreatMissingData::Breaching | TreatMissingData::NotBreaching) => {
            let breaching_fill = treat == TreatMissingData::Breaching;
            let breaching = real_breaching + if breaching_fill { fill } else { 0 };
            let status = if breaching >= m {
                Status::Error
            } else if breaching + absent < m {
                Status::Ok
            } else {
                Status::Insufficient
            };
            let count = real_ok + if breaching_fill { 0 } else { fill };
            let reason = format!(
                "{have} and {} {} as {}: {breaching} breaching, {alarm_at}{young}",
                plural(fill as u64, "missing one"),
                if fill == 1 { "counts" } else { "count" },
                if breaching_fill {
                    "breaching"
                } else {
                    "not breaching"
                },
            );
            (status, count, reason)
        }
        treat @ (TreatMissingData::Missing | TreatMissingData::Ignore) => {
            let ignore = treat == TreatMissingData::Ignore;
            let kept = || {
                let status = previous.unwrap_or(Status::Insufficient);
                let kept = match previous {
                    Some(previous) => format!("the status stays {}", previous.as_str()),
                    None => "there is no previous status to keep".to_string(),
                };
                (status, kept)
            };
            let oldest_breaching = real
                .iter()
                .find(|(_, point)| *point == Datapoint::Breaching)
                .map_or(0, |(age, _)| *age);
            if real_breaching >= m {
                (
                    Status::Error,
                    real_ok,
                    format!("{have}: {real_breaching} breaching, {alarm_at}"),
                )
            } else if real.is_empty() {
                if ignore {
                    let (status, kept) = kept();
                    (
                        status,
                        0,
                        format!("{have} and missing data is ignored: {kept}"),
                    )
                } else {
                    (
                        Status::Insufficient,
                        0,
                        format!("{have}: no datapoint to evaluate"),
                    )
                }
            } else if real_ok > 0 {
                (
                    Status::Ok,
                    real_ok,
                    format!(
                        "{have}, {real_ok} not breaching and {real_breaching} breaching; \
                         missing periods are not evaluated and {alarm_at}"
                    ),
                )
            } else if ignore {
                let (status, kept) = kept();
                (
                    status,
                    0,
                    format!(
                        "{have}, all {real_breaching} breaching, fewer than {m}, and missing \
                         data is ignored: {kept}"
                    ),
                )
            } else if oldest_breaching >= m {
                (
                    Status::Error,
                    0,
                    format!(
                        "{have}, all breaching: the oldest is {} old and nothing since is \
                         ok, which CloudWatch alarms on once it is {} old",
                        plural(oldest_breaching as u64, "period"),
                        plural(m as u64, "period")
                    ),
                )
            } else {
                (
                    Status::Insufficient,
                    0,
                    format!(
                        "{have}, all breaching but fewer than {m} and the oldest only {} old: \
                         not enough data",
                        plural(oldest_breaching as u64, "period")
                    ),
                )
            }
        }
    };
    Outcome {
        status,
        count: count as u64,
        expected,
        is_ready,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::t;
    use super::*;

    const AT: &str = "2026-11-23T12:00:00Z";
    const FIVE_MINUTES: u32 = 300;

    /// Acks drawing `pattern` over the last complete periods before `at`, oldest first, as in the
    /// CloudWatch guide: `0` an ok period, `X` a breaching one, `-` a missing one.
    fn draw(pattern: &str, period_seconds: u32, at: &str) -> Vec<Ack> {
        let cells: Vec<&str> = pattern.split_whitespace().collect();
        let period = TimeDelta::seconds(i64::from(period_seconds));
        cells
            .iter()
            .enumerate()
            .filter_map(|(i, cell)| {
                let age = (cells.len() - i) as i32;
                let time = t(at) - period * age + TimeDelta::seconds(1);
                match *cell {
                    "0" => Some(Ack { time, ok: true }),
                    "X" => Some(Ack { time, ok: false }),
                    _ => None,
                }
            })
            .collect()
    }

    fn rule(n: u32, m: u32, treat: TreatMissingData) -> CloudWatch {
        CloudWatch {
            period_seconds: FIVE_MINUTES,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            treat_missing_data: treat,
            tz: Tz::UTC,
        }
    }

    /// The two tables of "How alarm state is evaluated when data is missing": 5-minute periods,
    /// CloudWatch fetching the 5 most recent datapoints. The columns are MISSING, IGNORE (with
    /// `OK` as the current state, `None` for "retain current state"), BREACHING, NOT BREACHING.
    #[test]
    fn cloudwatch_guide_tables() {
        use Status::{Error as A, Insufficient as I, Ok as O};
        let created = "2026-11-01T00:00:00Z";
        let rows: [(u32, u32, &str, [Option<Status>; 4]); 11] = [
            (3, 3, "0 - X - X", [Some(O), Some(O), Some(O), Some(O)]),
            (3, 3, "0 - - - -", [Some(O), Some(O), Some(O), Some(O)]),
            (3, 3, "- - - - -", [Some(I), None, Some(A), Some(O)]),
            (3, 3, "0 X X - X", [Some(A), Some(A), Some(A), Some(A)]),
            (3, 3, "- - - - X", [Some(I), None, Some(A), Some(O)]),
            (3, 3, "X - - - -", [Some(A), None, Some(A), Some(O)]),
            (3, 2, "0 - X - X", [Some(A), Some(A), Some(A), Some(A)]),
            (3, 2, "0 0 X 0 X", [Some(A), Some(A), Some(A), Some(A)]),
            (3, 2, "0 - X - -", [Some(O), Some(O), Some(A), Some(O)]),
            (3, 2, "- - - - 0", [Some(O), Some(O), Some(A), Some(O)]),
            (3, 2, "- - - - X", [Some(I), None, Some(A), Some(O)]),
        ];
        let treatments = [
            TreatMissingData::Missing,
            TreatMissingData::Ignore,
            TreatMissingData::Breaching,
            TreatMissingData::NotBreaching,
        ];
        for (n, m, pattern, expected) in rows {
            let acks = draw(pattern, FIVE_MINUTES, AT);
            for (treat, want) in treatments.into_iter().zip(expected) {
                // "Retain current state": whatever it was stays, including ERROR.
                for previous in [Status::Ok, Status::Error] {
                    let want = want.unwrap_or(previous);
                    let outcome =
                        evaluate(&rule(n, m, treat), t(created), &acks, t(AT), Some(previous));
                    assert_eq!(
                        outcome.status, want,
                        "{m} of {n}, `{pattern}`, {treat:?}, previously {previous:?}: {outcome:?}"
                    );
                    assert_eq!(outcome.expected, u64::from(n - m + 1));
                    assert!(outcome.is_ready);
                }
            }
        }
    }

    struct Row {
        name: &'static str,
        rule: CloudWatch,
        created: &'static str,
        acks: Vec<Ack>,
        at: &'static str,
        previous: Option<Status>,
        status: Status,
        count: u64,
        ready: bool,
    }

    fn daily(n: u32, m: u32, treat: TreatMissingData, tz: &str) -> CloudWatch {
        CloudWatch {
            period_seconds: 86_400,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            treat_missing_data: treat,
            tz: tz.parse().expect("known zone"),
        }
    }

    fn ok(time: &str) -> Ack {
        Ack {
            time: t(time),
            ok: true,
        }
    }

    fn failed(time: &str) -> Ack {
        Ack {
            time: t(time),
            ok: false,
        }
    }

    #[test]
    fn table() {
        use TreatMissingData::{Breaching, Ignore, Missing, NotBreaching};
        let created = "2026-11-01T00:00:00Z";
        let rows = vec![
            Row {
                name: "the period in progress is not evaluated",
                rule: daily(1, 1, Breaching, "UTC"),
                created,
                acks: vec![ok("2026-11-23T03:00:00Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "an ok ack beats a failed one in the same period",
                rule: daily(1, 1, Breaching, "UTC"),
                created,
                acks: vec![failed("2026-11-22T03:00:00Z"), ok("2026-11-22T04:00:00Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Ok,
                count: 1,
                ready: true,
            },
            Row {
                name: "a period holding only failed acks is breaching",
                rule: daily(3, 1, Missing, "UTC"),
                created,
                acks: vec![
                    ok("2026-11-20T03:00:00Z"),
                    failed("2026-11-21T03:00:00Z"),
                    ok("2026-11-22T03:00:00Z"),
                ],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Error,
                count: 2,
                ready: true,
            },
            Row {
                name: "days start at local midnight: 23:30 UTC is tomorrow in Paris",
                rule: daily(1, 1, Breaching, "Europe/Paris"),
                created,
                // 2026-11-23 00:30 in Paris: still in progress at 10:00 UTC.
                acks: vec![ok("2026-11-22T23:30:00Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "the same ack falls on the last complete day in UTC",
                rule: daily(1, 1, Breaching, "UTC"),
                created,
                acks: vec![ok("2026-11-22T23:30:00Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Ok,
                count: 1,
                ready: true,
            },
            Row {
                name: "a 25-hour DST day ends at 23:00 UTC (Paris, 2026-10-25)",
                rule: daily(1, 1, Breaching, "Europe/Paris"),
                created: "2026-10-01T00:00:00Z",
                // 23:30 CET on 10-25, in a day that began at 22:00 UTC on 10-24.
                acks: vec![ok("2026-10-25T22:30:00Z")],
                at: "2026-10-25T23:00:00Z",
                previous: None,
                status: Status::Ok,
                count: 1,
                ready: true,
            },
            Row {
                name: "... and is still in progress a minute before",
                rule: daily(1, 1, Breaching, "Europe/Paris"),
                created: "2026-10-01T00:00:00Z",
                acks: vec![ok("2026-10-25T22:30:00Z")],
                at: "2026-10-25T22:59:00Z",
                previous: None,
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "two-day periods start on fixed local dates",
                rule: CloudWatch {
                    period_seconds: 2 * 86_400,
                    ..daily(1, 1, Breaching, "UTC")
                },
                created,
                // 2026-11-23 is day 20780 since 1970-01-01 (even): a period begins that day,
                // so 11-21 and 11-22 form the last complete one.
                acks: vec![ok("2026-11-22T03:00:00Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Ok,
                count: 1,
                ready: true,
            },
            Row {
                name: "days before the task existed are not breaching",
                rule: daily(5, 1, Breaching, "UTC"),
                created: "2026-11-20T08:00:00Z",
                acks: vec![ok("2026-11-21T03:00:00Z"), ok("2026-11-22T03:00:00Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Insufficient,
                count: 2,
                ready: false,
            },
            Row {
                name: "a young task whose absent periods cannot reach M is OK",
                rule: daily(5, 3, Breaching, "UTC"),
                created: "2026-11-19T08:00:00Z",
                acks: vec![
                    ok("2026-11-20T03:00:00Z"),
                    ok("2026-11-21T03:00:00Z"),
                    ok("2026-11-22T03:00:00Z"),
                ],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Ok,
                count: 3,
                ready: false,
            },
            Row {
                name: "a young task already M breaching is ERROR",
                rule: daily(5, 2, NotBreaching, "UTC"),
                created: "2026-11-20T08:00:00Z",
                acks: vec![
                    failed("2026-11-21T03:00:00Z"),
                    failed("2026-11-22T03:00:00Z"),
                ],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Error,
                count: 0,
                ready: false,
            },
            Row {
                name: "ignore with nothing to keep is INSUFFICIENT",
                rule: daily(3, 1, Ignore, "UTC"),
                created,
                acks: vec![],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Insufficient,
                count: 0,
                ready: true,
            },
            Row {
                name: "ignore keeps the previous status",
                rule: daily(3, 1, Ignore, "UTC"),
                created,
                acks: vec![],
                at: "2026-11-23T10:00:00Z",
                previous: Some(Status::Error),
                status: Status::Error,
                count: 0,
                ready: true,
            },
            Row {
                name: "missing data is skipped when enough real datapoints remain in range",
                rule: daily(2, 1, Breaching, "UTC"),
                created,
                // Range: 11-20, 11-21, 11-22 (N + 1 for daily periods); 11-22 is missing.
                acks: vec![ok("2026-11-20T03:00:00Z"), ok("2026-11-21T03:00:00Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Ok,
                count: 2,
                ready: true,
            },
            Row {
                name: "acks after `at` are ignored",
                rule: daily(1, 1, NotBreaching, "UTC"),
                created,
                acks: vec![failed("2026-11-23T10:00:01Z")],
                at: "2026-11-23T10:00:00Z",
                previous: None,
                status: Status::Ok,
                count: 1,
                ready: true,
            },
        ];
        for row in rows {
            let outcome = evaluate(
                &row.rule,
                t(row.created),
                &row.acks,
                t(row.at),
                row.previous,
            );
            assert_eq!(outcome.status, row.status, "{}: {outcome:?}", row.name);
            assert_eq!(outcome.count, row.count, "{}: {outcome:?}", row.name);
            assert_eq!(outcome.is_ready, row.ready, "{}: {outcome:?}", row.name);
        }
    }

    #[test]
    fn periods_follow_the_grid() {
        let paris = daily(1, 1, TreatMissingData::Missing, "Europe/Paris");
        let grid = Grid::new(&paris);
        let index = grid.index_of(t("2026-10-25T12:00:00Z"));
        assert_eq!(grid.start_of(index), t("2026-10-24T22:00:00Z"));
        assert_eq!(grid.start_of(index + 1), t("2026-10-25T23:00:00Z"));
        let five = Grid::new(&rule(1, 1, TreatMissingData::Missing));
        let index = five.index_of(t("2026-11-23T12:04:59Z"));
        assert_eq!(five.start_of(index), t("2026-11-23T12:00:00Z"));
        assert_eq!(extra_periods(300), 2);
        assert_eq!(extra_periods(86_400), 1);
        assert_eq!(extra_periods(2 * 86_400), 0);
    }

    #[test]
    fn reasons_say_why() {
        let created = t("2026-11-01T00:00:00Z");
        let acks = draw("0 X X - X", FIVE_MINUTES, AT);
        let outcome = evaluate(
            &rule(3, 3, TreatMissingData::Missing),
            created,
            &acks,
            t(AT),
            None,
        );
        assert_eq!(
            outcome.reason,
            "3 of the last 3 datapoints with data (5-minute periods, reaching back 4 periods \
             over missing ones) are breaching, 3 raise the alarm"
        );
        let acks = draw("X - - - -", FIVE_MINUTES, AT);
        let outcome = evaluate(
            &rule(3, 3, TreatMissingData::Missing),
            created,
            &acks,
            t(AT),
            None,
        );
        assert_eq!(
            outcome.reason,
            "1 of the last 5 periods (5-minute periods) has data, all breaching: the oldest is \
             5 periods old and nothing since is ok, which CloudWatch alarms on once it is 3 \
             periods old"
        );
        let acks = draw("0 - X - -", FIVE_MINUTES, AT);
        let outcome = evaluate(
            &rule(3, 2, TreatMissingData::Breaching),
            created,
            &acks,
            t(AT),
            None,
        );
        assert_eq!(
            outcome.reason,
            "2 of the last 5 periods (5-minute periods) have data and 1 missing one counts as \
             breaching: 2 breaching, 2 raise the alarm"
        );
    }
}
