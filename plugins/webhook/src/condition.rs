//! Which events the stage sends: the `only` conditions. Owns their matching; what a path names
//! and how its value renders is [`crate::template`]'s.
//!
//! A condition `{ field = "<path>", equals = "<text>" }` holds when the value at `path`, rendered
//! as a template would render it, is exactly `text`: a number compares as written (`equals =
//! "3"`), a missing value as the empty text (`equals = ""` holds when the field is absent). An
//! event is sent when any condition holds; a stage without `only` sends every event.

use crate::template::{Context, Path};

/// One `only` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The value compared.
    pub path: Path,
    /// What it must be.
    pub equals: String,
}

impl Condition {
    /// Whether the condition holds for `context`'s event.
    pub fn holds(&self, context: &Context<'_>) -> bool {
        context.render(&self.path) == self.equals
    }
}

/// Whether an event is sent: `only` is `None` (send everything) or any condition holds.
pub fn selected(only: Option<&[Condition]>, context: &Context<'_>) -> bool {
    only.is_none_or(|conditions| conditions.iter().any(|condition| condition.holds(context)))
}

#[cfg(test)]
mod tests {
    use trackway_plugin_sdk::Event;

    use super::*;

    fn event(kind: &str, payload: &str) -> Event {
        Event {
            id: "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C".into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "tasks".into(),
            time: 1_700_000_000_000,
            subject: "backup-db".into(),
            attributes: vec![("env".into(), "prod".into())],
            payload: payload.into(),
            parent: None,
        }
    }

    fn condition(path: &str, equals: &str) -> Condition {
        Condition {
            path: Path::parse(path).expect("a valid path"),
            equals: equals.into(),
        }
    }

    #[test]
    fn any_condition_selects() {
        let only = [
            condition("payload.to", "ERROR"),
            condition("kind", "deployment.finished"),
        ];
        let cases = [
            ("task.status.changed", r#"{"to": "ERROR"}"#, true),
            ("task.status.changed", r#"{"to": "OK"}"#, false),
            ("deployment.finished", r#"{"result": "success"}"#, true),
            ("deployment.started", "{}", false),
            ("task.status.changed", "not json", false),
        ];
        for (kind, payload, expected) in cases {
            let event = event(kind, payload);
            assert_eq!(
                selected(Some(&only), &Context::new(&event)),
                expected,
                "{kind} {payload}"
            );
        }
    }

    #[test]
    fn no_only_selects_everything() {
        let event = event("anything", "not json");
        assert!(selected(None, &Context::new(&event)));
        assert!(!selected(Some(&[]), &Context::new(&event)));
    }

    #[test]
    fn values_compare_as_rendered_text() {
        let event = event(
            "x",
            r#"{"count": 3, "ok": true, "none": null, "name": "Backup"}"#,
        );
        let context = Context::new(&event);
        let cases = [
            ("payload.count", "3", true),
            ("payload.ok", "true", true),
            ("payload.none", "", true),
            ("payload.absent", "", true),
            ("payload.name", "backup", false),
            ("payload.name", "Backup", true),
            ("attributes.env", "prod", true),
            ("attributes.team", "", true),
            ("subject", "backup-db", true),
            ("source", "tasks", true),
        ];
        for (path, equals, expected) in cases {
            assert_eq!(
                condition(path, equals).holds(&context),
                expected,
                "{path} == {equals:?}"
            );
        }
    }
}
