//! The pure step of the stage: one event in, the Logstash document pushed for it out. Owns the
//! document's shape; pushing documents to Redis is `lib.rs`'s business.
//!
//! Logstash's `redis` input (`data_type => "list"`, `codec => json`) turns each list element, a
//! JSON object, into one Logstash event. A document holds, in this order, each later field
//! replacing an earlier one of the same name (the seed merged its objects the same way):
//!
//! 1. `@timestamp` (the event's time, RFC 3339 UTC with milliseconds, which Logstash reads as
//!    the event's time), `message` (below), `index` (the config's), `kind` (the event kind) and
//!    `event_id` (its ULID: the push is once per id for `dedupe_seconds`, and downstream can
//!    deduplicate past that window, e.g. Elasticsearch's `document_id => "%{event_id}"`);
//! 2. every payload field, as sent (a `deployment.log` brings its own `message` and `severity`);
//! 3. the config's `additional_fields`.
//!
//! `message` is the seed's sentence: ``Deployment Tracker recording deployment start for
//! deployment <id>`` (`deployment.started`), `... deployment end for deployment <id>`
//! (`deployment.finished`), `... server start for <hostname> in deployment <id>`
//! (`server.started`), `... server end for ...` (`server.finished`), the log's own message
//! (`deployment.log`), and `<kind> <subject>` for any other kind. The deployment id is the
//! payload's `deployment_id`, else the subject.
//!
//! A payload that is not a JSON object is a permanent error naming the event.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use trackway_plugin_sdk::{Error, Event};

/// The document for `event`, as the JSON text pushed to the list.
pub fn to_json(
    event: &Event,
    index: &str,
    additional_fields: &Map<String, Value>,
) -> Result<String, Error> {
    document(event, index, additional_fields).map(|fields| Value::Object(fields).to_string())
}

/// The document for `event`: its own fields, the payload's, then `additional_fields`.
pub fn document(
    event: &Event,
    index: &str,
    additional_fields: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let payload = match event.payload_json()? {
        Value::Object(payload) => payload,
        other => {
            return Err(Error::permanent(format!(
                "payload of event `{}` must be a JSON object, got {}",
                event.id,
                type_name(&other)
            )));
        }
    };
    let mut document = Map::new();
    document.insert("@timestamp".into(), timestamp(event)?.into());
    document.insert("message".into(), message(event, &payload).into());
    document.insert("index".into(), index.into());
    document.insert("kind".into(), event.kind.clone().into());
    document.insert("event_id".into(), event.id.clone().into());
    document.extend(payload);
    document.extend(
        additional_fields
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    Ok(document)
}

/// The event's time as Logstash's `@timestamp`: `2023-11-14T22:13:20.000Z`.
fn timestamp(event: &Event) -> Result<String, Error> {
    i64::try_from(event.time)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true))
        .ok_or_else(|| {
            Error::permanent(format!(
                "time `{}` of event `{}` is out of range",
                event.time, event.id
            ))
        })
}

/// The document's `message`: the seed's sentence for the deployment-tracker kinds.
fn message(event: &Event, payload: &Map<String, Value>) -> String {
    let deployment = || text(payload, "deployment_id").unwrap_or_else(|| event.subject.clone());
    let hostname = || text(payload, "hostname").unwrap_or_else(|| "unknown".to_owned());
    match event.kind.as_str() {
        "deployment.started" => format!(
            "Deployment Tracker recording deployment start for deployment {}",
            deployment()
        ),
        "deployment.finished" => format!(
            "Deployment Tracker recording deployment end for deployment {}",
            deployment()
        ),
        "server.started" => format!(
            "Deployment Tracker recording server start for {} in deployment {}",
            hostname(),
            deployment()
        ),
        "server.finished" => format!(
            "Deployment Tracker recording server end for {} in deployment {}",
            hostname(),
            deployment()
        ),
        "deployment.log" => match payload.get("message") {
            Some(Value::String(message)) => message.clone(),
            _ => kind_and_subject(event),
        },
        _ => kind_and_subject(event),
    }
}

fn kind_and_subject(event: &Event) -> String {
    match event.subject.as_str() {
        "" => event.kind.clone(),
        subject => format!("{} {subject}", event.kind),
    }
}

/// The payload field `key` as text: a string as is, a number as written; `None` for anything
/// else (absent, `null`, `""`), so that the sentence falls back.
fn text(payload: &Map<String, Value>, key: &str) -> Option<String> {
    match payload.get(key)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
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
    use serde_json::json;

    use super::*;

    const ID: &str = "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C";
    /// 2023-11-14T22:13:20.123Z
    const TIME: u64 = 1_700_000_000_123;
    const DEPLOYMENT: &str = "84e803f7-9562-4d95-b828-25b167aea34b";

    fn event(kind: &str, subject: &str, payload: &str) -> Event {
        Event {
            id: ID.into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "api".into(),
            time: TIME,
            subject: subject.into(),
            attributes: vec![("env".into(), "prod".into())],
            payload: payload.into(),
            parent: None,
        }
    }

    struct Case {
        name: &'static str,
        kind: &'static str,
        subject: &'static str,
        payload: &'static str,
        additional_fields: Value,
        /// The whole document, or the permanent error's message.
        expect: Result<Value, &'static str>,
    }

    fn case(
        name: &'static str,
        kind: &'static str,
        payload: &'static str,
        expect: Result<Value, &'static str>,
    ) -> Case {
        Case {
            name,
            kind,
            subject: DEPLOYMENT,
            payload,
            additional_fields: json!({}),
            expect,
        }
    }

    fn cases() -> Vec<Case> {
        vec![
            case(
                "deployment.started, the seed's example",
                "deployment.started",
                r#"{"deployment_id": "84e803f7-9562-4d95-b828-25b167aea34b",
                    "engine": "vagrant_orchestrate", "engine_version": "0.6.3",
                    "host": "localhost", "user": "cbaldauf", "environment": "dev",
                    "package": "test", "package_url": "http://mypackage.mydomain.com",
                    "version": "4.5.6", "arguments": "--strategy parallel",
                    "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:13:20Z"}"#,
                Ok(json!({
                    "@timestamp": "2023-11-14T22:13:20.123Z",
                    "message": "Deployment Tracker recording deployment start for deployment \
                                84e803f7-9562-4d95-b828-25b167aea34b",
                    "index": "deployment-tracker",
                    "kind": "deployment.started",
                    "event_id": ID,
                    "deployment_id": DEPLOYMENT,
                    "engine": "vagrant_orchestrate",
                    "engine_version": "0.6.3",
                    "host": "localhost",
                    "user": "cbaldauf",
                    "environment": "dev",
                    "package": "test",
                    "package_url": "http://mypackage.mydomain.com",
                    "version": "4.5.6",
                    "arguments": "--strategy parallel",
                    "created": "2023-11-14T22:13:20Z",
                    "updated": "2023-11-14T22:13:20Z",
                })),
            ),
            case(
                "deployment.finished keeps result and a fractional elapsed_seconds",
                "deployment.finished",
                r#"{"deployment_id": "84e803f7-9562-4d95-b828-25b167aea34b",
                    "result": "success", "elapsed_seconds": 234.5}"#,
                Ok(json!({
                    "@timestamp": "2023-11-14T22:13:20.123Z",
                    "message": "Deployment Tracker recording deployment end for deployment \
                                84e803f7-9562-4d95-b828-25b167aea34b",
                    "index": "deployment-tracker",
                    "kind": "deployment.finished",
                    "event_id": ID,
                    "deployment_id": DEPLOYMENT,
                    "result": "success",
                    "elapsed_seconds": 234.5,
                })),
            ),
            case(
                "deployment id from the subject when the payload has none",
                "deployment.finished",
                r#"{"result": "failure"}"#,
                Ok(json!({
                    "@timestamp": "2023-11-14T22:13:20.123Z",
                    "message": "Deployment Tracker recording deployment end for deployment \
                                84e803f7-9562-4d95-b828-25b167aea34b",
                    "index": "deployment-tracker",
                    "kind": "deployment.finished",
                    "event_id": ID,
                    "result": "failure",
                })),
            ),
            case(
                "server.started",
                "server.started",
                r#"{"deployment_id": "d-1", "hostname": "web-1", "ip_address": "10.0.0.5",
                    "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:13:20Z"}"#,
                Ok(json!({
                    "@timestamp": "2023-11-14T22:13:20.123Z",
                    "message": "Deployment Tracker recording server start for web-1 in deployment d-1",
                    "index": "deployment-tracker",
                    "kind": "server.started",
                    "event_id": ID,
                    "deployment_id": "d-1",
                    "hostname": "web-1",
                    "ip_address": "10.0.0.5",
                    "created": "2023-11-14T22:13:20Z",
                    "updated": "2023-11-14T22:13:20Z",
                })),
            ),
            case(
                "server.finished",
                "server.finished",
                r#"{"deployment_id": 42, "hostname": "web-1", "result": "success",
                    "elapsed_seconds": 12}"#,
                Ok(json!({
                    "@timestamp": "2023-11-14T22:13:20.123Z",
                    "message": "Deployment Tracker recording server end for web-1 in deployment 42",
                    "index": "deployment-tracker",
                    "kind": "server.finished",
                    "event_id": ID,
                    "deployment_id": 42,
                    "hostname": "web-1",
                    "result": "success",
                    "elapsed_seconds": 12,
                })),
            ),
            case(
                "deployment.log: the log's own fields, message and severity",
                "deployment.log",
                r#"{"deployment_id": "d-1", "message": "Starting deployment phase 1",
                    "severity": "info", "phase": 1, "tags": ["a"]}"#,
                Ok(json!({
                    "@timestamp": "2023-11-14T22:13:20.123Z",
                    "message": "Starting deployment phase 1",
                    "index": "deployment-tracker",
                    "kind": "deployment.log",
                    "event_id": ID,
                    "deployment_id": "d-1",
                    "severity": "info",
                    "phase": 1,
                    "tags": ["a"],
                })),
            ),
            case(
                "deployment.log whose message is not a string: the payload's value wins",
                "deployment.log",
                r#"{"message": 7}"#,
                Ok(json!({
                    "@timestamp": "2023-11-14T22:13:20.123Z",
                    "message": 7,
                    "index": "deployment-tracker",
                    "kind": "deployment.log",
                    "event_id": ID,
                })),
            ),
            Case {
                subject: "backup-db",
                ..case(
                    "another kind: kind and subject",
                    "task.status.changed",
                    r#"{"id": 3, "name": "backup-db", "from": "OK", "to": "ERROR",
                        "at": "2023-11-14T22:13:20Z", "reason": null}"#,
                    Ok(json!({
                        "@timestamp": "2023-11-14T22:13:20.123Z",
                        "message": "task.status.changed backup-db",
                        "index": "deployment-tracker",
                        "kind": "task.status.changed",
                        "event_id": ID,
                        "id": 3,
                        "name": "backup-db",
                        "from": "OK",
                        "to": "ERROR",
                        "at": "2023-11-14T22:13:20Z",
                        "reason": null,
                    })),
                )
            },
            Case {
                subject: "",
                ..case(
                    "another kind without a subject",
                    "ping",
                    "{}",
                    Ok(json!({
                        "@timestamp": "2023-11-14T22:13:20.123Z",
                        "message": "ping",
                        "index": "deployment-tracker",
                        "kind": "ping",
                        "event_id": ID,
                    })),
                )
            },
            Case {
                additional_fields: json!({"team": "platform", "severity": "audit", "tier": 1}),
                ..case(
                    "additional fields are merged last and win",
                    "deployment.log",
                    r#"{"message": "m", "severity": "info"}"#,
                    Ok(json!({
                        "@timestamp": "2023-11-14T22:13:20.123Z",
                        "message": "m",
                        "index": "deployment-tracker",
                        "kind": "deployment.log",
                        "event_id": ID,
                        "severity": "audit",
                        "team": "platform",
                        "tier": 1,
                    })),
                )
            },
            case(
                "payload fields replace the document's own",
                "custom",
                r#"{"index": "other", "@timestamp": "2020-01-01T00:00:00Z"}"#,
                Ok(json!({
                    "@timestamp": "2020-01-01T00:00:00Z",
                    "message": "custom 84e803f7-9562-4d95-b828-25b167aea34b",
                    "index": "other",
                    "kind": "custom",
                    "event_id": ID,
                })),
            ),
            case(
                "payload not an object",
                "deployment.started",
                "[1, 2]",
                Err(
                    "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a JSON object, got an array",
                ),
            ),
            case(
                "payload not JSON",
                "deployment.started",
                "deployment_id=1",
                Err(
                    "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` is invalid: expected value at line 1 column 1",
                ),
            ),
        ]
    }

    #[test]
    fn builds_documents() {
        for case in cases() {
            let Value::Object(additional) = &case.additional_fields else {
                panic!("{}: additional fields must be an object", case.name);
            };
            let got = to_json(
                &event(case.kind, case.subject, case.payload),
                "deployment-tracker",
                additional,
            );
            match (case.expect, got) {
                (Ok(expected), Ok(text)) => {
                    let got: Value = serde_json::from_str(&text).expect("the document is JSON");
                    assert_eq!(got, expected, "{}", case.name);
                }
                (Err(message), Err(error)) => {
                    assert_eq!(error, Error::permanent(message), "{}", case.name);
                }
                (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", case.name),
            }
        }
    }

    #[test]
    fn timestamps_have_milliseconds_in_utc() {
        let at = |time| {
            let mut event = event("x", "", "{}");
            event.time = time;
            timestamp(&event)
        };
        assert_eq!(at(0), Ok("1970-01-01T00:00:00.000Z".to_owned()));
        assert_eq!(
            at(1_700_000_000_000),
            Ok("2023-11-14T22:13:20.000Z".to_owned())
        );
        assert_eq!(
            at(1_700_000_000_007),
            Ok("2023-11-14T22:13:20.007Z".to_owned())
        );
        assert!(at(u64::MAX).is_err());
    }

    #[test]
    fn the_index_is_the_configs() {
        let document = document(&event("x", "s", "{}"), "deploys", &Map::new()).expect("valid");
        assert_eq!(document["index"], "deploys");
    }
}
