//! The pure step of the stage: one event in, the version report it carries (if any) out. Owns
//! the mapping of each known kind onto a [`Report`]; calling the host is `lib.rs`'s business.
//!
//! - `version.reported` (the SVT-compatible `POST /create`, the generic event route): payload
//!   `{"env", "name", "version", ...}`, with `app` accepted for `name`; a missing `env` or app is
//!   taken from the subject `env/app` (split on the first `/`, so `prod/team/api` is app
//!   `team/api` in `prod`). Every other payload field goes into `fields` with its JSON value
//!   as sent (SVT stored whatever the caller added, such as `url`). The reporter is the
//!   `reporter` attribute, else the original event's source (the host's `trackway.origin`
//!   attribute on derived events, else the event's own `source`, e.g. `api`).
//! - `deployment.finished` (the deployment-tracker API): only `"result": "success"` is a
//!   version that runs; any other result is no report. `environment`, `package` and `version`
//!   are the report; `deployment_id`, `package_url`, `engine`, `host` and `user` go into
//!   `fields` when present. The reporter is `deployments`. A deployment without an
//!   `environment`, `package` or `version` is no report either: the deployment API requires only
//!   `deployment_id`, so such deployments are ordinary, and dead-lettering them would be noise
//!   (the subject, a deployment id, cannot stand in for them).
//! - Any other kind, or a kind the config leaves out: no report.
//!
//! Every report carries the event's time and id (the host records an id once, so replays never
//! duplicate history) and the `semver.bump` attribute when the `semver` stage set it. A config
//! `reporter` replaces the reporter of both kinds. An empty or `null` value counts as missing; a
//! `version.reported` event still missing its env, app or version, a value of the wrong JSON
//! type, or a payload that is not a JSON object is a permanent error naming the event and what
//! is wrong.

use serde_json::{Map, Value};
use trackway_plugin_sdk::inventory::Report;
use trackway_plugin_sdk::{Error, Event};

use crate::config::{Config, Kind};

/// The attribute naming the tool behind a `version.reported` event (e.g. set by the SVT route).
const REPORTER_ATTRIBUTE: &str = "reporter";
/// Set by the host on events a processor derived: the source of the original event (`api`),
/// where `source` names the processor (`versions/semver`).
const ORIGIN_ATTRIBUTE: &str = "trackway.origin";

/// The attribute the `semver` processor, earlier in the pipeline, sets to the classified bump.
const BUMP_ATTRIBUTE: &str = "semver.bump";

/// The reporter of every `deployment.finished` report.
const DEPLOYMENTS_REPORTER: &str = "deployments";

/// The only `deployment.finished` result that puts a version in place.
const SUCCESS: &str = "success";

/// Payload fields of a `version.reported` event that make the report itself; every other field
/// goes into `fields`.
const VERSION_REPORTED_KEYS: [&str; 4] = ["env", "name", "app", "version"];

/// Payload fields of a `deployment.finished` event kept in the report's `fields`; the rest
/// (timings, logs) belongs to the deployment, not to the version.
const DEPLOYMENT_FIELDS: [&str; 5] = ["deployment_id", "package_url", "engine", "host", "user"];

/// The version report `event` carries: `Ok(None)` for an event the stage ignores (another kind,
/// a kind `config` leaves out, a deployment that did not succeed or lacks its environment,
/// package or version), an error for one it cannot report.
pub fn to_report(event: &Event, config: &Config) -> Result<Option<Report>, Error> {
    let Some(kind) = Kind::parse(&event.kind).filter(|kind| config.accepts(*kind)) else {
        return Ok(None);
    };
    let payload = Payload::parse(event)?;
    match kind {
        Kind::VersionReported => version_reported(&payload, config).map(Some),
        Kind::DeploymentFinished => deployment_finished(&payload, config),
    }
}

fn version_reported(payload: &Payload<'_>, config: &Config) -> Result<Report, Error> {
    let event = payload.event;
    let (subject_env, subject_app) = match event.subject.split_once('/') {
        Some((env, app)) => (non_empty(env), non_empty(app)),
        None => (None, None),
    };
    let name = payload.string("name")?;
    let app = payload.string("app")?;
    if let (Some(name), Some(app)) = (name, app)
        && name != app
    {
        return Err(Error::permanent(format!(
            "payload fields `name` (`{name}`) and `app` (`{app}`) of event `{}` disagree",
            event.id
        )));
    }
    let required = Required {
        env: (
            payload.string("env")?.or(subject_env),
            "payload field `env` or the subject `env/app`",
        ),
        app: (
            name.or(app).or(subject_app),
            "payload field `name` or `app`, or the subject `env/app`",
        ),
        version: (payload.string("version")?, "payload field `version`"),
    };
    let fields = payload
        .map
        .iter()
        .filter(|(key, _)| !VERSION_REPORTED_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let reporter = config
        .reporter
        .as_deref()
        .or_else(|| event.attribute(REPORTER_ATTRIBUTE).and_then(non_empty))
        .or_else(|| event.attribute(ORIGIN_ATTRIBUTE).and_then(non_empty))
        .unwrap_or(&event.source);
    required.into_report(event, reporter, fields)
}

fn deployment_finished(payload: &Payload<'_>, config: &Config) -> Result<Option<Report>, Error> {
    let event = payload.event;
    match payload.string("result")? {
        Some(SUCCESS) => {}
        Some(_) => return Ok(None),
        None => {
            return Err(Error::permanent(format!(
                "payload of event `{}` has no `result`",
                event.id
            )));
        }
    }
    let required = Required {
        env: (
            payload.string("environment")?,
            "payload field `environment`",
        ),
        app: (payload.string("package")?, "payload field `package`"),
        version: (payload.string("version")?, "payload field `version`"),
    };
    if !required.is_complete() {
        return Ok(None);
    }
    let fields = DEPLOYMENT_FIELDS
        .into_iter()
        .filter_map(|key| {
            let value = payload.map.get(key).filter(|value| !value.is_null())?;
            Some((key.to_string(), value.clone()))
        })
        .collect();
    let reporter = config.reporter.as_deref().unwrap_or(DEPLOYMENTS_REPORTER);
    required.into_report(event, reporter, fields).map(Some)
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

    /// The string at `key`; absent, `null` and `""` are all `None`, another type is an error.
    fn string(&self, key: &str) -> Result<Option<&str>, Error> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(non_empty(text)),
            Some(other) => Err(Error::permanent(format!(
                "payload field `{key}` of event `{}` must be a string, got {}",
                self.event.id,
                type_name(other)
            ))),
        }
    }
}

/// The three values every report needs, each with where it is looked for (for the error).
struct Required<'a> {
    env: (Option<&'a str>, &'static str),
    app: (Option<&'a str>, &'static str),
    version: (Option<&'a str>, &'static str),
}

impl Required<'_> {
    /// Whether every value was found.
    fn is_complete(&self) -> bool {
        self.env.0.is_some() && self.app.0.is_some() && self.version.0.is_some()
    }

    /// The report, or one error naming every missing value and where it was looked for.
    fn into_report(
        self,
        event: &Event,
        reporter: &str,
        fields: Map<String, Value>,
    ) -> Result<Report, Error> {
        let (Some(env), Some(app), Some(version)) = (self.env.0, self.app.0, self.version.0) else {
            let missing: Vec<String> = [
                ("env", self.env),
                ("app", self.app),
                ("version", self.version),
            ]
            .into_iter()
            .filter(|(_, (value, _))| value.is_none())
            .map(|(name, (_, from))| format!("`{name}` ({from})"))
            .collect();
            return Err(Error::permanent(format!(
                "event `{}` (`{}`) cannot be reported: missing {}",
                event.id,
                event.kind,
                missing.join(", ")
            )));
        };
        Ok(Report {
            env: env.to_string(),
            app: app.to_string(),
            version: version.to_string(),
            time: event.time,
            reporter: reporter.to_string(),
            fields: Value::Object(fields).to_string(),
            bump: event.attribute(BUMP_ATTRIBUTE).map(str::to_string),
            event_id: event.id.clone(),
        })
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
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
    use serde_json::json;

    use super::*;

    const ID: &str = "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C";
    const TIME: u64 = 1_700_000_000_000;

    /// What one case expects.
    enum Expect {
        /// A report with these `env`, `app`, `version`, `reporter`, `fields` (JSON text, compared
        /// as a value) and `bump`; time and id are the event's.
        Report {
            env: &'static str,
            app: &'static str,
            version: &'static str,
            reporter: &'static str,
            fields: &'static str,
            bump: Option<&'static str>,
        },
        /// No report, no error.
        Ignored,
        /// A permanent error with this message.
        Fails(&'static str),
    }

    struct Case {
        name: &'static str,
        kind: &'static str,
        subject: &'static str,
        attributes: &'static [(&'static str, &'static str)],
        payload: &'static str,
        config: &'static str,
        expect: Expect,
    }

    /// A `version.reported` case with no attributes and the default config.
    fn reported(
        name: &'static str,
        subject: &'static str,
        payload: &'static str,
        expect: Expect,
    ) -> Case {
        Case {
            name,
            kind: "version.reported",
            subject,
            attributes: &[],
            payload,
            config: "{}",
            expect,
        }
    }

    /// A `deployment.finished` case with no attributes and the default config.
    fn finished(name: &'static str, payload: &'static str, expect: Expect) -> Case {
        Case {
            name,
            kind: "deployment.finished",
            subject: "dep-42",
            attributes: &[],
            payload,
            config: "{}",
            expect,
        }
    }

    fn report(
        env: &'static str,
        app: &'static str,
        version: &'static str,
        reporter: &'static str,
        fields: &'static str,
    ) -> Expect {
        Expect::Report {
            env,
            app,
            version,
            reporter,
            fields,
            bump: None,
        }
    }

    const SUCCESS_PAYLOAD: &str = r#"{"deployment_id": "dep-42", "result": "success",
        "environment": "prod", "package": "api", "version": "2.1.0",
        "package_url": "https://pkg.example.com/api-2.1.0.tgz", "engine": "helm",
        "host": "k8s-eu-1", "user": "alice", "started_at": 1699999990000, "duration_ms": 10000}"#;

    fn cases() -> Vec<Case> {
        vec![
            reported(
                "svt payload with an extra field",
                "",
                r#"{"env": "dev", "name": "billing", "version": "5.27.94", "url": "http://ci.example.com/1337"}"#,
                report(
                    "dev",
                    "billing",
                    "5.27.94",
                    "api",
                    r#"{"url": "http://ci.example.com/1337"}"#,
                ),
            ),
            reported(
                "`app` for `name`",
                "",
                r#"{"env": "prod", "app": "api", "version": "1.4.0"}"#,
                report("prod", "api", "1.4.0", "api", "{}"),
            ),
            reported(
                "`name` and `app` agreeing",
                "",
                r#"{"env": "prod", "name": "api", "app": "api", "version": "1.4.0"}"#,
                report("prod", "api", "1.4.0", "api", "{}"),
            ),
            reported(
                "env and app from the subject",
                "prod/api",
                r#"{"version": "1.4.0"}"#,
                report("prod", "api", "1.4.0", "api", "{}"),
            ),
            reported(
                "subject split on the first slash",
                "prod/team/api",
                r#"{"version": "1.4.0"}"#,
                report("prod", "team/api", "1.4.0", "api", "{}"),
            ),
            reported(
                "payload env wins, app from the subject",
                "prod/api",
                r#"{"env": "staging", "version": "1.4.0"}"#,
                report("staging", "api", "1.4.0", "api", "{}"),
            ),
            reported(
                "empty and null values fall back to the subject",
                "prod/api",
                r#"{"env": "", "name": null, "version": "1.4.0"}"#,
                report("prod", "api", "1.4.0", "api", "{}"),
            ),
            reported(
                "extra fields keep their JSON types",
                "prod/api",
                r#"{"version": "1.4.0", "url": "http://x", "build": 42, "ratio": 0.5, "ok": true,
                    "tags": ["a", 1], "meta": {"k": null}, "note": null}"#,
                report(
                    "prod",
                    "api",
                    "1.4.0",
                    "api",
                    r#"{"url": "http://x", "build": 42, "ratio": 0.5, "ok": true,
                        "tags": ["a", 1], "meta": {"k": null}, "note": null}"#,
                ),
            ),
            Case {
                attributes: &[("reporter", "svt"), ("semver.bump", "minor")],
                ..reported(
                    "reporter and bump from attributes",
                    "prod/api",
                    r#"{"version": "1.5.0"}"#,
                    Expect::Report {
                        env: "prod",
                        app: "api",
                        version: "1.5.0",
                        reporter: "svt",
                        fields: "{}",
                        bump: Some("minor"),
                    },
                )
            },
            Case {
                attributes: &[("trackway.origin", "api"), ("semver.bump", "patch")],
                ..reported(
                    "a derived event reports its origin, not the processor",
                    "prod/api",
                    r#"{"version": "1.5.1"}"#,
                    Expect::Report {
                        env: "prod",
                        app: "api",
                        version: "1.5.1",
                        reporter: "api",
                        fields: "{}",
                        bump: Some("patch"),
                    },
                )
            },
            Case {
                attributes: &[("reporter", "svt")],
                config: r#"{"reporter": "jenkins"}"#,
                ..reported(
                    "config reporter wins",
                    "prod/api",
                    r#"{"version": "1.5.0"}"#,
                    report("prod", "api", "1.5.0", "jenkins", "{}"),
                )
            },
            reported(
                "`name` and `app` disagreeing",
                "",
                r#"{"env": "prod", "name": "api", "app": "web", "version": "1.4.0"}"#,
                Expect::Fails(
                    "payload fields `name` (`api`) and `app` (`web`) of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` disagree",
                ),
            ),
            reported(
                "no env or app, subject without a slash",
                "api",
                r#"{"version": "1.4.0"}"#,
                Expect::Fails(
                    "event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` (`version.reported`) cannot be reported: \
                     missing `env` (payload field `env` or the subject `env/app`), \
                     `app` (payload field `name` or `app`, or the subject `env/app`)",
                ),
            ),
            reported(
                "no version",
                "prod/api",
                r#"{"url": "http://x"}"#,
                Expect::Fails(
                    "event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` (`version.reported`) cannot be reported: \
                     missing `version` (payload field `version`)",
                ),
            ),
            reported(
                "empty version",
                "prod/",
                r#"{"version": ""}"#,
                Expect::Fails(
                    "event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` (`version.reported`) cannot be reported: \
                     missing `app` (payload field `name` or `app`, or the subject `env/app`), \
                     `version` (payload field `version`)",
                ),
            ),
            reported(
                "non-string version",
                "prod/api",
                r#"{"version": 1.4}"#,
                Expect::Fails(
                    "payload field `version` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a string, got a number",
                ),
            ),
            reported(
                "non-string env",
                "prod/api",
                r#"{"env": ["prod"], "version": "1.4.0"}"#,
                Expect::Fails(
                    "payload field `env` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a string, got an array",
                ),
            ),
            reported(
                "payload not an object",
                "prod/api",
                r#""1.4.0""#,
                Expect::Fails(
                    "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a JSON object, got a string",
                ),
            ),
            reported(
                "payload not JSON",
                "prod/api",
                "version=1.4.0",
                Expect::Fails(
                    "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` is invalid: expected value at line 1 column 1",
                ),
            ),
            Case {
                attributes: &[("semver.bump", "major"), ("reporter", "svt")],
                ..finished(
                    "successful deployment",
                    SUCCESS_PAYLOAD,
                    Expect::Report {
                        env: "prod",
                        app: "api",
                        version: "2.1.0",
                        reporter: "deployments",
                        fields: r#"{"deployment_id": "dep-42",
                            "package_url": "https://pkg.example.com/api-2.1.0.tgz",
                            "engine": "helm", "host": "k8s-eu-1", "user": "alice"}"#,
                        bump: Some("major"),
                    },
                )
            },
            finished(
                "successful deployment, some fields absent or null",
                r#"{"deployment_id": 42, "result": "success", "environment": "prod",
                    "package": "api", "version": "2.1.0", "host": null}"#,
                report(
                    "prod",
                    "api",
                    "2.1.0",
                    "deployments",
                    r#"{"deployment_id": 42}"#,
                ),
            ),
            Case {
                config: r#"{"reporter": "ci"}"#,
                ..finished(
                    "config reporter for deployments",
                    r#"{"result": "success", "environment": "prod", "package": "api", "version": "2.1.0"}"#,
                    report("prod", "api", "2.1.0", "ci", "{}"),
                )
            },
            finished(
                "failed deployment",
                r#"{"deployment_id": "dep-42", "result": "failure", "environment": "prod",
                    "package": "api", "version": "2.1.0"}"#,
                Expect::Ignored,
            ),
            finished(
                "failed deployment without a version",
                r#"{"result": "failure"}"#,
                Expect::Ignored,
            ),
            Case {
                subject: "prod/api",
                ..finished(
                    "no environment or package: no report, subject not used",
                    r#"{"result": "success", "version": "2.1.0"}"#,
                    Expect::Ignored,
                )
            },
            finished(
                "only the required deployment id: no report",
                r#"{"deployment_id": "dep-42", "result": "success"}"#,
                Expect::Ignored,
            ),
            finished(
                "no version: no report",
                r#"{"result": "success", "environment": "prod", "package": "api"}"#,
                Expect::Ignored,
            ),
            finished(
                "empty and null values count as missing: no report",
                r#"{"result": "success", "environment": "", "package": "api", "version": null}"#,
                Expect::Ignored,
            ),
            finished(
                "a missing field does not hide a wrong type",
                r#"{"result": "success", "environment": "prod", "package": 7}"#,
                Expect::Fails(
                    "payload field `package` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a string, got a number",
                ),
            ),
            finished(
                "no result",
                r#"{"environment": "prod", "package": "api", "version": "2.1.0"}"#,
                Expect::Fails("payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` has no `result`"),
            ),
            finished(
                "non-string result",
                r#"{"result": true, "environment": "prod", "package": "api", "version": "2.1.0"}"#,
                Expect::Fails(
                    "payload field `result` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a string, got a boolean",
                ),
            ),
            finished(
                "non-string deployment version",
                r#"{"result": "success", "environment": "prod", "package": "api", "version": 2}"#,
                Expect::Fails(
                    "payload field `version` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a string, got a number",
                ),
            ),
            Case {
                kind: "deployment.started",
                ..reported(
                    "another kind",
                    "prod/api",
                    r#"{"version": "1.4.0"}"#,
                    Expect::Ignored,
                )
            },
            Case {
                kind: "version.reported.late",
                ..reported(
                    "a kind that only starts alike",
                    "prod/api",
                    "not json",
                    Expect::Ignored,
                )
            },
            Case {
                config: r#"{"kinds": ["deployment.finished"]}"#,
                ..reported(
                    "version.reported left out by the config",
                    "prod/api",
                    r#"{"version": "1.4.0"}"#,
                    Expect::Ignored,
                )
            },
            Case {
                config: r#"{"kinds": ["version.reported"]}"#,
                ..finished(
                    "deployment.finished left out by the config",
                    SUCCESS_PAYLOAD,
                    Expect::Ignored,
                )
            },
        ]
    }

    fn event(case: &Case) -> Event {
        Event {
            id: ID.into(),
            org: "acme".into(),
            kind: case.kind.into(),
            source: "api".into(),
            time: TIME,
            subject: case.subject.into(),
            attributes: case
                .attributes
                .iter()
                .map(|&(name, value)| (name.into(), value.into()))
                .collect(),
            payload: case.payload.into(),
            parent: None,
        }
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON in the test table")
    }

    #[test]
    fn maps_events_to_reports() {
        let cases = cases();
        assert!(cases.len() >= 12);
        for case in &cases {
            let config = Config::parse(case.config).expect("valid config in the test table");
            let got = to_report(&event(case), &config);
            match (&case.expect, got) {
                (
                    &Expect::Report {
                        env,
                        app,
                        version,
                        reporter,
                        fields,
                        bump,
                    },
                    Ok(Some(report)),
                ) => {
                    assert_eq!(json(&report.fields), json(fields), "{}: fields", case.name);
                    let expected = Report {
                        env: env.into(),
                        app: app.into(),
                        version: version.into(),
                        time: TIME,
                        reporter: reporter.into(),
                        fields: report.fields.clone(),
                        bump: bump.map(str::to_string),
                        event_id: ID.into(),
                    };
                    assert_eq!(report, expected, "{}", case.name);
                }
                (Expect::Ignored, Ok(None)) => {}
                (Expect::Fails(message), Err(error)) => {
                    assert_eq!(error, Error::permanent(*message), "{}", case.name);
                }
                (_, got) => panic!("{}: unexpected {got:?}", case.name),
            }
        }
    }

    #[test]
    fn fields_are_a_json_object_text() {
        let case = reported(
            "plain",
            "prod/api",
            r#"{"version": "1.0.0"}"#,
            Expect::Ignored,
        );
        let report = to_report(&event(&case), &Config::default())
            .expect("valid")
            .expect("a report");
        assert_eq!(report.fields, "{}");
        assert_eq!(json(&report.fields), json!({}));
    }
}
