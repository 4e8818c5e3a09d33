//! The pure step of the stage: one event in, the HTTP request it sends out, or none when the
//! `only` conditions leave it out. Sending the request and reading the answer is `lib.rs`'s
//! business (with [`crate::response`]).

use trackway_plugin_sdk::Event;
use trackway_plugin_sdk::http::Request;

use crate::condition;
use crate::config::{Body, Config};
use crate::template::{self, Context};

/// The header that carries the event's id, so that a receiver can recognise a message it gets
/// again: delivery is at least once (an answer lost on the way back means the message is sent
/// again), and every attempt for one event carries the same key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request for `event`: the configured method, URL and headers (plus
/// [`IDEMPOTENCY_KEY`] with the event's id, unless configured), and its body.
pub fn request(config: &Config, event: &Event) -> Option<Request> {
    let context = Context::new(event);
    if !condition::selected(config.only.as_deref(), &context) {
        return None;
    }
    let body = match &config.body {
        Body::Default => template::default_body(&context),
        Body::Template(template) => template.render(&context),
    };
    let mut headers = config.headers.clone();
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(IDEMPOTENCY_KEY))
    {
        headers.push((IDEMPOTENCY_KEY.to_owned(), event.id.clone()));
    }
    Some(Request {
        method: config.method.clone(),
        url: config.url.clone(),
        headers,
        body: body.into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: &str, payload: &str) -> Event {
        Event {
            id: "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C".into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "tasks".into(),
            time: 1_700_000_000_000,
            subject: "backup-db".into(),
            attributes: Vec::new(),
            payload: payload.into(),
            parent: None,
        }
    }

    fn config(value: serde_json::Value) -> Config {
        Config::parse(&value.to_string()).expect("a valid config")
    }

    const TASK: &str = r#"{"id": 3, "name": "backup-db", "from": "OK", "to": "ERROR",
        "at": "2023-11-14T22:13:20Z", "reason": "no ack since 2023-11-12"}"#;

    #[test]
    fn the_default_request_is_a_slack_post() {
        let config = config(json!({"url": "https://hooks.slack.com/services/T/B/X"}));
        let request = request(&config, &event("task.status.changed", TASK)).expect("sent");
        assert_eq!(
            request,
            Request {
                method: "POST".into(),
                url: "https://hooks.slack.com/services/T/B/X".into(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    (IDEMPOTENCY_KEY.into(), "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C".into()),
                ],
                body:
                    br#"{"text":"Task `backup-db` is now ERROR (was OK): no ack since 2023-11-12"}"#
                        .to_vec(),
            }
        );
    }

    #[test]
    fn a_template_makes_the_body() {
        let config = config(json!({
            "url": "http://127.0.0.1:9000/hook",
            "method": "PUT",
            "headers": {"Authorization": "Bearer t", "Idempotency-Key": "mine"},
            "template": {"task": "{{payload.name}}", "status": "{{payload.to}}", "n": 1},
        }));
        let request = request(&config, &event("task.status.changed", TASK)).expect("sent");
        assert_eq!(request.method, "PUT");
        // A configured idempotency key is sent instead of the event's id.
        assert_eq!(
            request.headers,
            [
                ("Authorization".to_owned(), "Bearer t".to_owned()),
                ("Idempotency-Key".to_owned(), "mine".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]
        );
        assert_eq!(
            String::from_utf8(request.body).expect("UTF-8"),
            r#"{"n":1,"status":"ERROR","task":"backup-db"}"#
        );
    }

    #[test]
    fn only_selects_events() {
        let config = config(json!({
            "url": "https://hooks.slack.com/services/T/B/X",
            "only": [
                {"field": "payload.to", "equals": "ERROR"},
                {"field": "kind", "equals": "deployment.finished"},
            ],
        }));
        assert!(request(&config, &event("task.status.changed", TASK)).is_some());
        assert!(request(&config, &event("deployment.finished", "{}")).is_some());
        assert!(
            request(
                &config,
                &event(
                    "task.status.changed",
                    r#"{"name": "backup-db", "to": "OK"}"#
                )
            )
            .is_none()
        );
        assert!(request(&config, &event("deployment.started", "not json")).is_none());
    }
}
