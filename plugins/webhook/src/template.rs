//! The pure body of a notification: `{{path}}` placeholders, the configured template they fill,
//! and the default Slack message. Owns what a path may name and how a value renders as text;
//! choosing which events to send is [`crate::condition`]'s business, sending them `lib.rs`'s.
//!
//! A path names one value of the event:
//!
//! | path | value |
//! | --- | --- |
//! | `kind`, `subject`, `id`, `source` | the event's own |
//! | `time` | the event's time, RFC 3339 UTC with milliseconds (`2023-11-14T22:13:20.000Z`) |
//! | `payload` | the whole payload, as its JSON text |
//! | `payload.<field>[.<field>...]` | a payload value; a field of digits also indexes an array (`payload.servers.0.hostname`) |
//! | `attributes.<name>` | an attribute (the rest of the path is the name, dots included: `attributes.semver.bump`) |
//!
//! A value renders as text: a string as is, a number or boolean as written, an array or object
//! as its compact JSON, and a missing value (absent, `null`, a payload that is not JSON) as
//! nothing at all, so a template never fails an event.
//!
//! A template is any JSON value (a TOML table in the config). Placeholders are replaced in its
//! string values only (not in keys, and a value stays a string: `"{{payload.count}}"` becomes
//! `"3"`), and the result is serialized as JSON afterwards: a substituted quote, backslash or
//! line break is escaped by the serializer, so no value can break the body or add a field.

use std::cell::OnceCell;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use trackway_plugin_sdk::Event;
use trackway_plugin_sdk::config::Problems;

/// What a path may be, for messages.
const PATHS: &str = "`kind`, `subject`, `id`, `time`, `source`, `payload`, `payload.<field>` or `attributes.<name>`";

/// One value of an event that a placeholder or a condition names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    /// The event kind.
    Kind,
    /// The event subject.
    Subject,
    /// The event id.
    Id,
    /// The event time, RFC 3339.
    Time,
    /// The event source.
    Source,
    /// The payload (no fields: all of it, as JSON text), or a value inside it.
    Payload(Vec<String>),
    /// An attribute, by name.
    Attribute(String),
}

impl Path {
    /// Parse `text` (surrounding white space ignored); the error says what a path may be.
    pub fn parse(text: &str) -> Result<Path, String> {
        let text = text.trim();
        let path = match text {
            "kind" => Path::Kind,
            "subject" => Path::Subject,
            "id" => Path::Id,
            "time" => Path::Time,
            "source" => Path::Source,
            "payload" => Path::Payload(Vec::new()),
            _ => {
                if let Some(fields) = text.strip_prefix("payload.") {
                    let fields: Vec<String> = fields.split('.').map(str::to_owned).collect();
                    if fields.iter().any(String::is_empty) {
                        return Err(format!("`{text}` has an empty field name"));
                    }
                    Path::Payload(fields)
                } else if let Some(name) = text.strip_prefix("attributes.")
                    && !name.is_empty()
                {
                    Path::Attribute(name.to_owned())
                } else {
                    return Err(format!("unknown path `{text}`: expected {PATHS}"));
                }
            }
        };
        Ok(path)
    }
}

/// One event as templates and conditions see it: its payload is parsed once, on first use.
pub struct Context<'a> {
    event: &'a Event,
    payload: OnceCell<Option<Value>>,
}

impl<'a> Context<'a> {
    /// The context of `event`.
    pub fn new(event: &'a Event) -> Self {
        Context {
            event,
            payload: OnceCell::new(),
        }
    }

    /// The event.
    pub fn event(&self) -> &'a Event {
        self.event
    }

    /// The payload as JSON; `None` when it is not JSON.
    fn payload(&self) -> Option<&Value> {
        self.payload
            .get_or_init(|| serde_json::from_str(&self.event.payload).ok())
            .as_ref()
    }

    /// The payload field `name` as text, if it has a non-empty value.
    pub fn field(&self, name: &str) -> Option<String> {
        let text = text(self.payload()?.get(name)?);
        (!text.is_empty()).then_some(text)
    }

    /// The value `path` names, as text; empty when missing.
    pub fn render(&self, path: &Path) -> String {
        let event = self.event;
        match path {
            Path::Kind => event.kind.clone(),
            Path::Subject => event.subject.clone(),
            Path::Id => event.id.clone(),
            Path::Source => event.source.clone(),
            Path::Time => rfc3339(event.time).unwrap_or_default(),
            Path::Payload(fields) if fields.is_empty() => event.payload.clone(),
            Path::Payload(fields) => {
                let mut value = self.payload();
                for field in fields {
                    value = value.and_then(|value| match value {
                        Value::Object(map) => map.get(field),
                        Value::Array(items) => field.parse().ok().and_then(|i: usize| items.get(i)),
                        _ => None,
                    });
                }
                value.map(text).unwrap_or_default()
            }
            Path::Attribute(name) => event.attribute(name).unwrap_or_default().to_owned(),
        }
    }
}

/// `value` as text: a string as is, `null` as nothing, anything else as its JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `ms` since the epoch as RFC 3339 UTC with milliseconds.
fn rfc3339(ms: u64) -> Option<String> {
    let time = DateTime::<Utc>::from_timestamp_millis(i64::try_from(ms).ok()?)?;
    Some(time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A configured template, its string values parsed into literal text and placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A string value with placeholders.
    Text(Vec<Piece>),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
    /// A number, boolean or `null`, or a string without placeholders: copied as is.
    Fixed(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Placeholder(Path),
}

impl Template {
    /// Parse `value`, pushing every bad placeholder to `problems` at its path under `at`
    /// (`template.blocks[0].text`).
    pub fn parse(value: &Value, at: &str, problems: &mut Problems) -> Template {
        Template {
            root: node(value, at, problems),
        }
    }

    /// The body for `context`, as JSON text.
    pub fn render(&self, context: &Context<'_>) -> String {
        render(&self.root, context).to_string()
    }
}

fn node(value: &Value, at: &str, problems: &mut Problems) -> Node {
    match value {
        Value::String(text) => match pieces(text) {
            Ok(pieces) if pieces.iter().all(|p| matches!(p, Piece::Literal(_))) => {
                Node::Fixed(value.clone())
            }
            Ok(pieces) => Node::Text(pieces),
            Err(message) => {
                problems.push(at, message);
                Node::Fixed(value.clone())
            }
        },
        Value::Array(items) => Node::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| node(item, &format!("{at}[{index}]"), problems))
                .collect(),
        ),
        Value::Object(map) => Node::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), node(item, &format!("{at}.{key}"), problems)))
                .collect(),
        ),
        other => Node::Fixed(other.clone()),
    }
}

/// `text` split into literal text and `{{path}}` placeholders.
fn pieces(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            pieces.push(Piece::Literal(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("`{{{{` without a closing `}}}}` in `{text}`"));
        };
        let path = Path::parse(&after[..end])
            .map_err(|message| format!("placeholder `{{{{{}}}}}`: {message}", &after[..end]))?;
        pieces.push(Piece::Placeholder(path));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.to_owned()));
    }
    Ok(pieces)
}

fn render(node: &Node, context: &Context<'_>) -> Value {
    match node {
        Node::Text(pieces) => {
            let mut text = String::new();
            for piece in pieces {
                match piece {
                    Piece::Literal(literal) => text.push_str(literal),
                    Piece::Placeholder(path) => text.push_str(&context.render(path)),
                }
            }
            Value::String(text)
        }
        Node::Array(items) => {
            Value::Array(items.iter().map(|item| render(item, context)).collect())
        }
        Node::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| (key.clone(), render(item, context)))
                .collect::<Map<_, _>>(),
        ),
        Node::Fixed(value) => value.clone(),
    }
}

/// The default body, a Slack incoming-webhook message: `{"text": "<one line per kind>"}`.
pub fn default_body(context: &Context<'_>) -> String {
    let mut body = Map::new();
    body.insert("text".into(), Value::String(default_text(context)));
    Value::Object(body).to_string()
}

/// The sentence of the default message. Values are escaped for Slack (`&`, `<`, `>`), which
/// would otherwise read `<http://x|y>` in a value as a link; a missing part is left out.
pub fn default_text(context: &Context<'_>) -> String {
    let event = context.event();
    let field = |name: &str| context.field(name).map(|value| slack_escape(&value));
    let deployment = || field("deployment_id").unwrap_or_else(|| slack_escape(&event.subject));
    // ` of <package> <version> to <environment>`, each part only when known.
    let target = || {
        let mut text = String::new();
        if let Some(package) = field("package") {
            text.push_str(" of ");
            text.push_str(&package);
            if let Some(version) = field("version") {
                text.push(' ');
                text.push_str(&version);
            }
        }
        if let Some(environment) = field("environment") {
            text.push_str(" to ");
            text.push_str(&environment);
        }
        text
    };
    let hostname = || field("hostname").unwrap_or_else(|| "unknown".to_owned());
    match event.kind.as_str() {
        "task.status.changed" => {
            let name = field("name").unwrap_or_else(|| slack_escape(&event.subject));
            let to = field("to").unwrap_or_else(|| "unknown".to_owned());
            let mut text = format!("Task `{name}` is now {to}");
            if let Some(from) = field("from") {
                text.push_str(&format!(" (was {from})"));
            }
            if let Some(reason) = field("reason") {
                text.push_str(&format!(": {reason}"));
            }
            text
        }
        "deployment.started" => format!("Deployment {}{} started", deployment(), target()),
        "deployment.finished" => format!(
            "Deployment {}{}: {}",
            deployment(),
            target(),
            field("result").unwrap_or_else(|| "finished".to_owned())
        ),
        "deployment.log" => {
            let severity = field("severity")
                .map(|severity| format!(" [{severity}]"))
                .unwrap_or_default();
            match field("message") {
                Some(message) => format!("Deployment {}{severity}: {message}", deployment()),
                None => format!("Deployment {}{severity} logged", deployment()),
            }
        }
        "server.started" => format!(
            "Server {} of deployment {} started",
            hostname(),
            deployment()
        ),
        "server.finished" => format!(
            "Server {} of deployment {}: {}",
            hostname(),
            deployment(),
            field("result").unwrap_or_else(|| "finished".to_owned())
        ),
        _ => match event.subject.as_str() {
            "" => slack_escape(&event.kind),
            subject => format!("{} {}", slack_escape(&event.kind), slack_escape(subject)),
        },
    }
}

/// `text` with the three characters Slack's message format reserves escaped.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    const ID: &str = "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C";

    fn event(kind: &str, subject: &str, payload: &str) -> Event {
        Event {
            id: ID.into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "api".into(),
            time: 1_700_000_000_123,
            subject: subject.into(),
            attributes: vec![
                ("semver.bump".into(), "minor".into()),
                ("env".into(), "prod".into()),
            ],
            payload: payload.into(),
            parent: None,
        }
    }

    fn template(value: Value) -> Template {
        let mut problems = Problems::new();
        let template = Template::parse(&value, "template", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        template
    }

    fn problems(value: Value) -> Vec<ConfigProblem> {
        let mut problems = Problems::new();
        Template::parse(&value, "template", &mut problems);
        trackway_plugin_sdk::config::expect_problems(problems.into_result())
    }

    #[test]
    fn paths() {
        let cases = [
            ("kind", Ok(Path::Kind)),
            (" subject ", Ok(Path::Subject)),
            ("id", Ok(Path::Id)),
            ("time", Ok(Path::Time)),
            ("source", Ok(Path::Source)),
            ("payload", Ok(Path::Payload(Vec::new()))),
            (
                "payload.a.0.b",
                Ok(Path::Payload(vec!["a".into(), "0".into(), "b".into()])),
            ),
            (
                "attributes.semver.bump",
                Ok(Path::Attribute("semver.bump".into())),
            ),
            (
                "payload..a",
                Err("`payload..a` has an empty field name".to_owned()),
            ),
            (
                "payload.",
                Err("`payload.` has an empty field name".to_owned()),
            ),
            (
                "attributes.",
                Err(format!("unknown path `attributes.`: expected {PATHS}")),
            ),
            ("org", Err(format!("unknown path `org`: expected {PATHS}"))),
            ("", Err(format!("unknown path ``: expected {PATHS}"))),
        ];
        for (text, expected) in cases {
            assert_eq!(Path::parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn renders_every_path() {
        let event = event(
            "deployment.finished",
            "dep-42",
            r#"{"package": "api", "count": 3, "ok": true, "none": null, "ratio": 0.5,
                "servers": [{"hostname": "web-1"}], "meta": {"k": "v"}}"#,
        );
        let context = Context::new(&event);
        let cases = [
            ("kind", "deployment.finished"),
            ("subject", "dep-42"),
            ("id", ID),
            ("source", "api"),
            ("time", "2023-11-14T22:13:20.123Z"),
            ("payload.package", "api"),
            ("payload.count", "3"),
            ("payload.ok", "true"),
            ("payload.ratio", "0.5"),
            ("payload.none", ""),
            ("payload.missing", ""),
            ("payload.package.deeper", ""),
            ("payload.servers.0.hostname", "web-1"),
            ("payload.servers.1.hostname", ""),
            ("payload.servers.x", ""),
            ("payload.meta", r#"{"k":"v"}"#),
            ("attributes.semver.bump", "minor"),
            ("attributes.env", "prod"),
            ("attributes.missing", ""),
        ];
        for (path, expected) in cases {
            let path = Path::parse(path).expect("a valid path");
            assert_eq!(context.render(&path), expected, "{path:?}");
        }
        assert_eq!(context.render(&Path::Payload(Vec::new())), event.payload);
    }

    #[test]
    fn a_payload_that_is_not_json_renders_empty() {
        let event = event("x", "s", "not json");
        let context = Context::new(&event);
        assert_eq!(
            context.render(&Path::parse("payload.a").expect("valid")),
            ""
        );
        assert_eq!(context.render(&Path::Payload(Vec::new())), "not json");
    }

    #[test]
    fn renders_templates_into_json() {
        let template = template(json!({
            "text": "{{kind}} of {{ payload.package }}: {{payload.count}} servers",
            "blocks": [{"type": "section", "text": "at {{time}}"}, "{{attributes.env}}", 7],
            "fixed": "no placeholders",
            "count": 1,
            "flag": false,
            "nothing": null,
            "{{kind}}": "keys are not templates",
        }));
        let event = event(
            "deployment.finished",
            "dep-42",
            r#"{"package": "api", "count": 3}"#,
        );
        let body: Value =
            serde_json::from_str(&template.render(&Context::new(&event))).expect("JSON");
        assert_eq!(
            body,
            json!({
                "text": "deployment.finished of api: 3 servers",
                "blocks": [{"type": "section", "text": "at 2023-11-14T22:13:20.123Z"}, "prod", 7],
                "fixed": "no placeholders",
                "count": 1,
                "flag": false,
                "nothing": null,
                "{{kind}}": "keys are not templates",
            })
        );
    }

    #[test]
    fn substituted_values_cannot_break_the_json() {
        let template = template(json!({"text": "said {{payload.message}}"}));
        let event = event(
            "deployment.log",
            "dep-42",
            r#"{"message": "he said \"hi\"\nthen left\\ \u0001 \"}, \"x\": \"y"}"#,
        );
        let body = template.render(&Context::new(&event));
        assert_eq!(
            body,
            r#"{"text":"said he said \"hi\"\nthen left\\ \u0001 \"}, \"x\": \"y"}"#
        );
        let parsed: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(parsed.as_object().map(Map::len), Some(1));
        assert_eq!(
            parsed["text"],
            "said he said \"hi\"\nthen left\\ \u{1} \"}, \"x\": \"y"
        );
    }

    #[test]
    fn a_string_template_is_a_json_string() {
        let template = template(json!("{{subject}} \"done\""));
        let event = event("x", "dep-42", "{}");
        assert_eq!(
            template.render(&Context::new(&event)),
            r#""dep-42 \"done\"""#
        );
    }

    #[test]
    fn reports_every_bad_placeholder_with_its_path() {
        let problems = problems(json!({
            "text": "{{org}}",
            "blocks": [{"text": "ok {{kind}}"}, {"text": "{{payload..x}}"}],
            "open": "{{kind",
        }));
        let got: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.path.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "template.blocks[1].text",
                    "placeholder `{{payload..x}}`: `payload..x` has an empty field name"
                ),
                ("template.open", "`{{` without a closing `}}` in `{{kind`"),
                (
                    "template.text",
                    "placeholder `{{org}}`: unknown path `org`: expected `kind`, `subject`, \
                     `id`, `time`, `source`, `payload`, `payload.<field>` or `attributes.<name>`"
                ),
            ]
        );
    }

    #[test]
    fn single_braces_are_text() {
        assert_eq!(
            pieces("{a} }} {b}"),
            Ok(vec![Piece::Literal("{a} }} {b}".into())])
        );
        assert_eq!(
            pieces("{{kind}}{{id}}"),
            Ok(vec![
                Piece::Placeholder(Path::Kind),
                Piece::Placeholder(Path::Id)
            ])
        );
    }

    #[test]
    fn default_messages() {
        let cases = [
            (
                "task.status.changed",
                "backup-db",
                r#"{"id": 3, "name": "backup-db", "from": "OK", "to": "ERROR",
                    "at": "2023-11-14T22:13:20Z", "reason": "no ack in the last 2 days"}"#,
                "Task `backup-db` is now ERROR (was OK): no ack in the last 2 days",
            ),
            (
                "task.status.changed",
                "backup-db",
                r#"{"id": 3, "name": "backup-db", "from": null, "to": "INSUFFICIENT",
                    "at": "2023-11-14T22:13:20Z", "reason": null}"#,
                "Task `backup-db` is now INSUFFICIENT",
            ),
            (
                "deployment.finished",
                "dep-42",
                r#"{"deployment_id": "dep-42", "package": "api", "version": "2.1.0",
                    "environment": "prod", "result": "success", "elapsed_seconds": 12}"#,
                "Deployment dep-42 of api 2.1.0 to prod: success",
            ),
            (
                "deployment.finished",
                "dep-42",
                r#"{"result": "failure", "environment": "prod"}"#,
                "Deployment dep-42 to prod: failure",
            ),
            (
                "deployment.finished",
                "dep-42",
                "{}",
                "Deployment dep-42: finished",
            ),
            (
                "deployment.started",
                "dep-42",
                r#"{"deployment_id": "dep-42", "package": "api", "environment": "prod"}"#,
                "Deployment dep-42 of api to prod started",
            ),
            (
                "deployment.log",
                "dep-42",
                r#"{"message": "phase 1 done", "severity": "info"}"#,
                "Deployment dep-42 [info]: phase 1 done",
            ),
            (
                "deployment.log",
                "dep-42",
                r#"{"severity": "warn"}"#,
                "Deployment dep-42 [warn] logged",
            ),
            (
                "server.started",
                "dep-42",
                r#"{"hostname": "web-1"}"#,
                "Server web-1 of deployment dep-42 started",
            ),
            (
                "server.finished",
                "dep-42",
                r#"{"hostname": "web-1", "result": "success"}"#,
                "Server web-1 of deployment dep-42: success",
            ),
            (
                "image.digest.changed",
                "registry/app",
                "not json",
                "image.digest.changed registry/app",
            ),
            ("ping", "", "{}", "ping"),
            (
                "deployment.finished",
                "dep-42",
                r#"{"package": "<http://evil|click> & co", "result": "success"}"#,
                "Deployment dep-42 of &lt;http://evil|click&gt; &amp; co: success",
            ),
        ];
        for (kind, subject, payload, expected) in cases {
            let event = event(kind, subject, payload);
            assert_eq!(default_text(&Context::new(&event)), expected, "{payload}");
        }
    }

    #[test]
    fn the_default_body_is_slack_json() {
        let event = event(
            "deployment.log",
            "dep-42",
            r#"{"message": "line 1\nline \"2\""}"#,
        );
        assert_eq!(
            default_body(&Context::new(&event)),
            r#"{"text":"Deployment dep-42: line 1\nline \"2\""}"#
        );
    }
}
