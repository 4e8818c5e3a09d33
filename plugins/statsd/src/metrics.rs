//! The pure step of the stage: one event in, the statsd metrics it counts out. Owns every metric
//! name the stage sends; sending them is `lib.rs`'s business.
//!
//! Every name is `<prefix>.` followed by (`<x>` is a segment built from the payload field `x`):
//!
//! | kind | counters (value 1) | timers (ms) |
//! | --- | --- | --- |
//! | `deployment.started` | `deployments.started`, `deployments.engines.<engine>.started`, `deployments.environments.<environment>.packages.<package>.started` | |
//! | `deployment.finished` with a `result` | `deployments.<result>`, `deployments.engines.<engine>.<result>`, `deployments.environments.<environment>.packages.<package>.<result>` | with `elapsed_seconds`: `deployments.elapsed`, `deployments.environments.<environment>.packages.<package>.elapsed` |
//! | `deployment.log` | `logs.message` | |
//! | `server.started` | `servers.hostname.<hostname>.started` | |
//! | `server.finished` | with a `result`: `servers.hostname.<hostname>.<result>` | with `elapsed_seconds`: `servers.hostname.<hostname>.elapsed` |
//!
//! Any other kind, and a `deployment.finished` without a `result`, counts nothing.
//!
//! Two fixes to the deployment-tracker seed, which this table otherwise follows:
//!
//! - A segment built from data goes through [`statsd::segment`], which replaces *every* dot
//!   (and the characters statsd reserves): the seed replaced only the first, so a package
//!   `my.big.app` split the name and a missing value left an empty segment (`..`). A field
//!   that is absent, `null` or empty is the segment `unknown`.
//! - Timers are milliseconds, as the `ms` type says: the seed sent `elapsed_seconds` as is. The
//!   value is rounded to the microsecond, so that float noise (`1004.9999999999999`) does not
//!   reach the line.
//!
//! A segment field holding an array or an object, an `elapsed_seconds` that is not a
//! non-negative number, or a payload that is not a JSON object is a permanent error naming the
//! event and the field.

use serde_json::{Map, Value};
use trackway_plugin_sdk::statsd::{self, Metric};
use trackway_plugin_sdk::{Error, Event};

/// The metrics `event` counts, named under `prefix` (already without empty segments; empty for
/// none).
pub fn metrics(event: &Event, prefix: &str) -> Result<Vec<Metric>, Error> {
    let name = |parts: &[&str]| {
        let mut name = String::from(prefix);
        for part in parts {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(part);
        }
        name
    };
    let metrics = match event.kind.as_str() {
        "deployment.started" => {
            let payload = Payload::parse(event)?;
            let engine = payload.segment("engine")?;
            let environment = payload.segment("environment")?;
            let package = payload.segment("package")?;
            vec![
                Metric::counter(name(&["deployments", "started"]), 1.0),
                Metric::counter(name(&["deployments", "engines", &engine, "started"]), 1.0),
                Metric::counter(
                    name(&[
                        "deployments",
                        "environments",
                        &environment,
                        "packages",
                        &package,
                        "started",
                    ]),
                    1.0,
                ),
            ]
        }
        "deployment.finished" => {
            let payload = Payload::parse(event)?;
            let Some(result) = payload.optional_segment("result")? else {
                return Ok(Vec::new());
            };
            let engine = payload.segment("engine")?;
            let environment = payload.segment("environment")?;
            let package = payload.segment("package")?;
            let package_name = |last: &str| {
                name(&[
                    "deployments",
                    "environments",
                    &environment,
                    "packages",
                    &package,
                    last,
                ])
            };
            let mut metrics = vec![
                Metric::counter(name(&["deployments", &result]), 1.0),
                Metric::counter(name(&["deployments", "engines", &engine, &result]), 1.0),
                Metric::counter(package_name(&result), 1.0),
            ];
            if let Some(elapsed_ms) = payload.elapsed_ms()? {
                metrics.push(Metric::timer(name(&["deployments", "elapsed"]), elapsed_ms));
                metrics.push(Metric::timer(package_name("elapsed"), elapsed_ms));
            }
            metrics
        }
        "deployment.log" => vec![Metric::counter(name(&["logs", "message"]), 1.0)],
        "server.started" => {
            let payload = Payload::parse(event)?;
            let hostname = payload.segment("hostname")?;
            vec![Metric::counter(
                name(&["servers", "hostname", &hostname, "started"]),
                1.0,
            )]
        }
        "server.finished" => {
            let payload = Payload::parse(event)?;
            let hostname = payload.segment("hostname")?;
            let mut metrics = Vec::new();
            if let Some(result) = payload.optional_segment("result")? {
                metrics.push(Metric::counter(
                    name(&["servers", "hostname", &hostname, &result]),
                    1.0,
                ));
            }
            if let Some(elapsed_ms) = payload.elapsed_ms()? {
                metrics.push(Metric::timer(
                    name(&["servers", "hostname", &hostname, "elapsed"]),
                    elapsed_ms,
                ));
            }
            metrics
        }
        _ => Vec::new(),
    };
    Ok(metrics)
}

/// An event's payload, which must be a JSON object.
struct Payload<'a> {
    event: &'a Event,
    map: Map<String, Value>,
}

impl<'a> Payload<'a> {
    fn parse(event: &'a Event) -> Result<Self, Error> {
        match event.payload_json()? {
            Value::Object(map) => Ok(Payload { event, map }),
            other => Err(Error::permanent(format!(
                "payload of event `{}` must be a JSON object, got {}",
                event.id,
                type_name(&other)
            ))),
        }
    }

    /// The name segment for field `key`; `unknown` when it is absent, `null` or empty.
    fn segment(&self, key: &str) -> Result<String, Error> {
        Ok(self
            .optional_segment(key)?
            .unwrap_or_else(|| statsd::segment("")))
    }

    /// The name segment for field `key`, if it has a value: a string, or a number or boolean
    /// as written.
    fn optional_segment(&self, key: &str) -> Result<Option<String>, Error> {
        let text = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) if text.is_empty() => return Ok(None),
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            Some(Value::Bool(value)) => value.to_string(),
            Some(other) => {
                return Err(Error::permanent(format!(
                    "payload field `{key}` of event `{}` must be a string, got {}",
                    self.event.id,
                    type_name(other)
                )));
            }
        };
        Ok(Some(statsd::segment(&text)))
    }

    /// `elapsed_seconds` in milliseconds, rounded to the microsecond, if present.
    fn elapsed_ms(&self) -> Result<Option<f64>, Error> {
        let seconds = match self.map.get("elapsed_seconds") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(number)) => number.as_f64(),
            Some(_) => None,
        };
        match seconds.map(|seconds| (seconds * 1e6).round() / 1e3) {
            Some(ms) if ms >= 0.0 && ms.is_finite() => Ok(Some(ms)),
            _ => Err(Error::permanent(format!(
                "payload field `elapsed_seconds` of event `{}` must be a non-negative number of \
                 seconds, got `{}`",
                self.event.id,
                self.map
                    .get("elapsed_seconds")
                    .map(Value::to_string)
                    .unwrap_or_default()
            ))),
        }
    }
}

/// `value`'s JSON type with its article, for messages: `a number`, `an array`.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use trackway_plugin_sdk::statsd::MetricKind;

    use super::*;

    const ID: &str = "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C";

    fn event(kind: &str, payload: &str) -> Event {
        Event {
            id: ID.into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "api".into(),
            time: 1_700_000_000_000,
            subject: "dep-42".into(),
            attributes: Vec::new(),
            payload: payload.into(),
            parent: None,
        }
    }

    /// The statsd line the host sends for `metric`.
    fn line(metric: &Metric) -> String {
        let kind = match metric.kind {
            MetricKind::Counter => "c",
            MetricKind::Timer => "ms",
            MetricKind::Gauge => "g",
        };
        format!("{}:{}|{kind}", metric.name, metric.value)
    }

    struct Case {
        name: &'static str,
        kind: &'static str,
        payload: &'static str,
        prefix: &'static str,
        /// The lines, or the permanent error's message.
        expect: Result<&'static [&'static str], &'static str>,
    }

    fn case(
        name: &'static str,
        kind: &'static str,
        payload: &'static str,
        expect: Result<&'static [&'static str], &'static str>,
    ) -> Case {
        Case {
            name,
            kind,
            payload,
            prefix: "deployment-tracker",
            expect,
        }
    }

    const STARTED: &str = r#"{"deployment_id": "dep-42", "engine": "vagrant_orchestrate",
        "engine_version": "0.6.3", "environment": "dev", "package": "test", "version": "4.5.6",
        "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:13:20Z"}"#;

    fn cases() -> Vec<Case> {
        vec![
            case(
                "deployment.started",
                "deployment.started",
                STARTED,
                Ok(&[
                    "deployment-tracker.deployments.started:1|c",
                    "deployment-tracker.deployments.engines.vagrant_orchestrate.started:1|c",
                    "deployment-tracker.deployments.environments.dev.packages.test.started:1|c",
                ]),
            ),
            case(
                "deployment.started: every dot of a value is replaced, missing values are unknown",
                "deployment.started",
                r#"{"engine": "helm.v3.1", "environment": null, "package": "my.big.app"}"#,
                Ok(&[
                    "deployment-tracker.deployments.started:1|c",
                    "deployment-tracker.deployments.engines.helm_v3_1.started:1|c",
                    "deployment-tracker.deployments.environments.unknown.packages.my_big_app.started:1|c",
                ]),
            ),
            case(
                "deployment.started: reserved characters and white space",
                "deployment.started",
                r#"{"engine": "a:b|c@d", "environment": "pre prod", "package": ""}"#,
                Ok(&[
                    "deployment-tracker.deployments.started:1|c",
                    "deployment-tracker.deployments.engines.a_b_c_d.started:1|c",
                    "deployment-tracker.deployments.environments.pre_prod.packages.unknown.started:1|c",
                ]),
            ),
            case(
                "deployment.finished: counters and timers in milliseconds",
                "deployment.finished",
                r#"{"deployment_id": "dep-42", "engine": "helm", "environment": "prod",
                    "package": "api", "result": "success", "elapsed_seconds": 234}"#,
                Ok(&[
                    "deployment-tracker.deployments.success:1|c",
                    "deployment-tracker.deployments.engines.helm.success:1|c",
                    "deployment-tracker.deployments.environments.prod.packages.api.success:1|c",
                    "deployment-tracker.deployments.elapsed:234000|ms",
                    "deployment-tracker.deployments.environments.prod.packages.api.elapsed:234000|ms",
                ]),
            ),
            case(
                "deployment.finished: fractional seconds, rounded to the microsecond",
                "deployment.finished",
                r#"{"engine": "helm", "environment": "prod", "package": "api",
                    "result": "failure", "elapsed_seconds": 1.005}"#,
                Ok(&[
                    "deployment-tracker.deployments.failure:1|c",
                    "deployment-tracker.deployments.engines.helm.failure:1|c",
                    "deployment-tracker.deployments.environments.prod.packages.api.failure:1|c",
                    "deployment-tracker.deployments.elapsed:1005|ms",
                    "deployment-tracker.deployments.environments.prod.packages.api.elapsed:1005|ms",
                ]),
            ),
            case(
                "deployment.finished without elapsed_seconds: no timers",
                "deployment.finished",
                r#"{"result": "success"}"#,
                Ok(&[
                    "deployment-tracker.deployments.success:1|c",
                    "deployment-tracker.deployments.engines.unknown.success:1|c",
                    "deployment-tracker.deployments.environments.unknown.packages.unknown.success:1|c",
                ]),
            ),
            case(
                "deployment.finished with a zero elapsed_seconds",
                "deployment.finished",
                r#"{"result": "success", "elapsed_seconds": 0}"#,
                Ok(&[
                    "deployment-tracker.deployments.success:1|c",
                    "deployment-tracker.deployments.engines.unknown.success:1|c",
                    "deployment-tracker.deployments.environments.unknown.packages.unknown.success:1|c",
                    "deployment-tracker.deployments.elapsed:0|ms",
                    "deployment-tracker.deployments.environments.unknown.packages.unknown.elapsed:0|ms",
                ]),
            ),
            case(
                "deployment.finished without a result: nothing",
                "deployment.finished",
                r#"{"environment": "prod", "elapsed_seconds": 3}"#,
                Ok(&[]),
            ),
            case(
                "deployment.finished with a null result: nothing",
                "deployment.finished",
                r#"{"result": null}"#,
                Ok(&[]),
            ),
            case(
                "deployment.log",
                "deployment.log",
                r#"{"message": "Starting deployment phase 1", "severity": "info"}"#,
                Ok(&["deployment-tracker.logs.message:1|c"]),
            ),
            case(
                "server.started",
                "server.started",
                r#"{"deployment_id": "dep-42", "hostname": "web-1.example.com",
                    "ip_address": "10.0.0.5"}"#,
                Ok(&["deployment-tracker.servers.hostname.web-1_example_com.started:1|c"]),
            ),
            case(
                "server.finished with result and elapsed",
                "server.finished",
                r#"{"hostname": "web-1", "result": "success", "elapsed_seconds": 12.25}"#,
                Ok(&[
                    "deployment-tracker.servers.hostname.web-1.success:1|c",
                    "deployment-tracker.servers.hostname.web-1.elapsed:12250|ms",
                ]),
            ),
            case(
                "server.finished with elapsed only",
                "server.finished",
                r#"{"hostname": "web-1", "elapsed_seconds": 2}"#,
                Ok(&["deployment-tracker.servers.hostname.web-1.elapsed:2000|ms"]),
            ),
            case(
                "server.finished with neither",
                "server.finished",
                r#"{"hostname": "web-1"}"#,
                Ok(&[]),
            ),
            case(
                "server.started without a hostname",
                "server.started",
                "{}",
                Ok(&["deployment-tracker.servers.hostname.unknown.started:1|c"]),
            ),
            case(
                "numbers and booleans as segments",
                "server.finished",
                r#"{"hostname": 42, "result": true}"#,
                Ok(&["deployment-tracker.servers.hostname.42.true:1|c"]),
            ),
            Case {
                prefix: "",
                ..case(
                    "no prefix",
                    "deployment.log",
                    "{}",
                    Ok(&["logs.message:1|c"]),
                )
            },
            Case {
                prefix: "ops.deploys",
                ..case(
                    "a prefix keeps its own dots",
                    "server.started",
                    r#"{"hostname": "web-1"}"#,
                    Ok(&["ops.deploys.servers.hostname.web-1.started:1|c"]),
                )
            },
            case(
                "another kind",
                "task.status.changed",
                "not even json",
                Ok(&[]),
            ),
            case(
                "a segment field holding an object",
                "deployment.started",
                r#"{"engine": {"name": "helm"}}"#,
                Err(
                    "payload field `engine` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a string, got an object",
                ),
            ),
            case(
                "a negative elapsed_seconds",
                "server.finished",
                r#"{"hostname": "web-1", "elapsed_seconds": -1}"#,
                Err(
                    "payload field `elapsed_seconds` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a non-negative number of seconds, got `-1`",
                ),
            ),
            case(
                "an elapsed_seconds in a string",
                "deployment.finished",
                r#"{"result": "success", "elapsed_seconds": "234"}"#,
                Err(
                    "payload field `elapsed_seconds` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a non-negative number of seconds, got `\"234\"`",
                ),
            ),
            case(
                "an elapsed_seconds too large for milliseconds",
                "deployment.finished",
                r#"{"result": "success", "elapsed_seconds": 1e308}"#,
                Err(
                    "payload field `elapsed_seconds` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a non-negative number of seconds, got `1e+308`",
                ),
            ),
            case(
                "payload not an object",
                "server.started",
                r#""web-1""#,
                Err(
                    "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a JSON object, got a string",
                ),
            ),
            case(
                "payload not JSON",
                "deployment.started",
                "{",
                Err(
                    "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` is invalid: EOF while parsing an object at line 1 column 1",
                ),
            ),
        ]
    }

    #[test]
    fn maps_events_to_metrics() {
        for case in cases() {
            let got = metrics(&event(case.kind, case.payload), case.prefix);
            match (case.expect, got) {
                (Ok(expected), Ok(metrics)) => {
                    let lines: Vec<String> = metrics.iter().map(line).collect();
                    assert_eq!(lines, expected, "{}", case.name);
                }
                (Err(message), Err(error)) => {
                    assert_eq!(error, Error::permanent(message), "{}", case.name);
                }
                (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", case.name),
            }
        }
    }

    #[test]
    fn kinds_are_counters_and_timers() {
        let metrics = metrics(
            &event(
                "deployment.finished",
                r#"{"result": "success", "elapsed_seconds": 1}"#,
            ),
            "p",
        )
        .expect("valid");
        let kinds: Vec<MetricKind> = metrics.iter().map(|metric| metric.kind).collect();
        assert_eq!(
            kinds,
            [
                MetricKind::Counter,
                MetricKind::Counter,
                MetricKind::Counter,
                MetricKind::Timer,
                MetricKind::Timer,
            ]
        );
    }
}
