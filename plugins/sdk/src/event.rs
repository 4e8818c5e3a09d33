//! Helpers on [`Event`]: its JSON payload and its attributes.
//!
//! Payloads are JSON text on the wire; parsing them is up to the plugin, and a payload that is
//! not what the plugin needs is a permanent error naming the problem, never a panic.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Event};

impl Event {
    /// The payload parsed as a JSON value; a payload that is not JSON is a permanent error.
    pub fn payload_json(&self) -> Result<serde_json::Value, Error> {
        self.payload_as()
    }

    /// The payload deserialized into `T`; a payload that does not fit `T` is a permanent error
    /// naming the offending path, e.g. ``payload of event `01J...` is invalid at `app.version`:
    /// invalid type: integer `3`, expected a string``.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        // Tracking the path costs an allocation per map key on every event, and is needed only
        // for the message: parse plainly, and again with the path only once that failed.
        serde_json::from_str(&self.payload).map_err(|_| self.payload_error::<T>())
    }

    /// Why the payload does not deserialize into `T`, with the path of the offending value.
    fn payload_error<T: DeserializeOwned>(&self) -> Error {
        let mut deserializer = serde_json::Deserializer::from_str(&self.payload);
        match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Err(error) => {
                let path = crate::config::path_text(error.path());
                self.invalid_payload(&path, error.into_inner())
            }
            Ok(_) => match deserializer.end() {
                Err(error) => self.invalid_payload("", error),
                Ok(()) => Error::permanent(format!("payload of event `{}` is invalid", self.id)),
            },
        }
    }

    fn invalid_payload(&self, path: &str, reason: serde_json::Error) -> Error {
        let at = match path {
            "" => String::new(),
            path => format!(" at `{path}`"),
        };
        Error::permanent(format!(
            "payload of event `{}` is invalid{at}: {reason}",
            self.id
        ))
    }

    /// Replace the payload with `value` serialized as JSON.
    pub fn set_payload_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.payload = serde_json::to_string(value).map_err(|error| {
            Error::permanent(format!(
                "cannot serialize the payload of event `{}`: {error}",
                self.id
            ))
        })?;
        Ok(())
    }

    /// The value of attribute `name`, if set (the first one, should the list repeat a name).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Set attribute `name` to `value`, replacing any previous value (and any repeats of `name`);
    /// a new attribute goes last.
    pub fn set_attribute(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self.attributes.iter().position(|(key, _)| *key == name) {
            Some(first) => {
                self.attributes[first].1 = value;
                let mut index = 0;
                self.attributes.retain(|(key, _)| {
                    let keep = index <= first || *key != name;
                    index += 1;
                    keep
                });
            }
            None => self.attributes.push((name, value)),
        }
    }

    /// Remove attribute `name` (every occurrence) and return its first value.
    pub fn remove_attribute(&mut self, name: &str) -> Option<String> {
        let first = self
            .attributes
            .iter()
            .position(|(key, _)| key == name)
            .map(|index| self.attributes[index].1.clone());
        self.attributes.retain(|(key, _)| key != name);
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(payload: &str) -> Event {
        Event {
            id: "01J0000000000000000000000A".into(),
            org: "acme".into(),
            kind: "deployment.started".into(),
            source: "api".into(),
            time: 1_700_000_000_000,
            subject: "prod/web".into(),
            attributes: vec![("env".into(), "prod".into())],
            payload: payload.into(),
            parent: None,
        }
    }

    #[test]
    fn payload_json_parses_or_names_the_event() {
        let value = event(r#"{"version": "1.2.3"}"#)
            .payload_json()
            .expect("valid JSON");
        assert_eq!(value["version"], "1.2.3");

        let error = event("{not json").payload_json().expect_err("invalid JSON");
        let Error::Permanent(message) = error else {
            panic!("expected a permanent error, got {error:?}");
        };
        assert!(
            message.starts_with("payload of event `01J0000000000000000000000A` is invalid: "),
            "{message}"
        );
        assert!(event("{} trailing").payload_json().is_err());
    }

    #[test]
    fn payload_as_names_the_path() {
        #[derive(serde::Deserialize, Debug)]
        #[expect(dead_code, reason = "only the error matters here")]
        struct Payload {
            app: App,
        }
        #[derive(serde::Deserialize, Debug)]
        #[expect(dead_code, reason = "only the error matters here")]
        struct App {
            version: String,
        }
        let error = event(r#"{"app": {"version": 3}}"#)
            .payload_as::<Payload>()
            .expect_err("wrong type");
        assert!(
            error
                .message()
                .contains("is invalid at `app.version`: invalid type"),
            "{error:?}"
        );
    }

    #[test]
    fn set_payload_json_round_trips() {
        let mut event = event("{}");
        event
            .set_payload_json(&serde_json::json!({"a": 1}))
            .expect("serializable");
        assert_eq!(event.payload, r#"{"a":1}"#);
    }

    #[test]
    fn attributes_get_set_remove() {
        let mut event = event("{}");
        assert_eq!(event.attribute("env"), Some("prod"));
        assert_eq!(event.attribute("missing"), None);

        event.set_attribute("team", "core");
        event.set_attribute("env", "staging");
        assert_eq!(
            event.attributes,
            vec![
                ("env".to_string(), "staging".to_string()),
                ("team".to_string(), "core".to_string()),
            ]
        );

        event.attributes.push(("env".into(), "dup".into()));
        event.set_attribute("env", "prod");
        assert_eq!(event.attributes.len(), 2);
        assert_eq!(event.attribute("env"), Some("prod"));

        assert_eq!(event.remove_attribute("env"), Some("prod".to_string()));
        assert_eq!(event.remove_attribute("env"), None);
        assert_eq!(event.attributes, vec![("team".into(), "core".into())]);
    }
}
