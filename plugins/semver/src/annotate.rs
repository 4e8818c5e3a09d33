//! The pure per-event step of the `semver` stage: find the version in an event's payload,
//! validate it and write the `semver.*` attributes. The previous version comes in as an argument
//! and the new one goes out as the result, so the host's `state` stays in `lib.rs` and this runs
//! natively in unit tests and benchmarks.

use semver::Version;
use trackway_plugin_sdk::{Error, Event};

use crate::bump;
use crate::config::Config;

/// Annotate `event` with the version found at `config.field`, classified against `previous`:
/// `semver.major`, `semver.minor`, `semver.patch`, `semver.prerelease` (empty when none),
/// `semver.bump` (see [`Bump`](bump::Bump)) and, when there is a previous version, `semver.previous`.
/// Returns the version, to remember for the subject. A payload that is not JSON, a missing or
/// non-string field, or an invalid version is a permanent error saying which.
pub fn annotate(
    event: &mut Event,
    config: &Config,
    previous: Option<&Version>,
) -> Result<Version, Error> {
    let version = version_of(event, config)?;
    let bump = bump::classify(previous, &version);
    event.set_attribute("semver.major", version.major.to_string());
    event.set_attribute("semver.minor", version.minor.to_string());
    event.set_attribute("semver.patch", version.patch.to_string());
    event.set_attribute("semver.prerelease", version.pre.as_str());
    event.set_attribute("semver.bump", bump.as_str());
    match previous {
        Some(previous) => event.set_attribute("semver.previous", previous.to_string()),
        // A replayed or reprocessed event may carry a stale one.
        None => {
            event.remove_attribute("semver.previous");
        }
    }
    Ok(version)
}

/// The version at `config.field` of the event's payload.
fn version_of(event: &Event, config: &Config) -> Result<Version, Error> {
    let payload = event.payload_json()?;
    let field = &config.field;
    let text = match field.lookup(&payload) {
        None | Some(serde_json::Value::Null) => {
            return Err(Error::permanent(format!(
                "payload field `{field}` is missing"
            )));
        }
        Some(serde_json::Value::String(text)) => text,
        Some(other) => {
            return Err(Error::permanent(format!(
                "payload field `{field}` is not a string but {}",
                kind_of(other)
            )));
        }
    };
    bump::parse(text, config.allow_v_prefix).map_err(|reason| {
        Error::permanent(format!(
            "payload field `{field}` holds `{text}`, which is not a valid SemVer 2.0 version: {reason}"
        ))
    })
}

/// "a number", "an object", ... for error messages.
fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FieldPath;

    fn event(payload: &str) -> Event {
        Event {
            id: "01J0000000000000000000000A".into(),
            org: "acme".into(),
            kind: "release.published".into(),
            source: "api".into(),
            time: 1_700_000_000_000,
            subject: "web".into(),
            attributes: vec![("env".into(), "prod".into())],
            payload: payload.into(),
            parent: None,
        }
    }

    fn config(field: &str, allow_v_prefix: bool) -> Config {
        Config {
            field: FieldPath::parse(field).expect("valid path"),
            allow_v_prefix,
        }
    }

    fn attributes(event: &Event) -> Vec<(&str, &str)> {
        event
            .attributes
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn annotates_an_initial_version() {
        let mut event = event(r#"{"version": "1.2.3-rc.1+sha.abc"}"#);
        let version = annotate(&mut event, &Config::default(), None).expect("valid version");
        assert_eq!(version.to_string(), "1.2.3-rc.1+sha.abc");
        assert_eq!(
            attributes(&event),
            [
                ("env", "prod"),
                ("semver.major", "1"),
                ("semver.minor", "2"),
                ("semver.patch", "3"),
                ("semver.prerelease", "rc.1"),
                ("semver.bump", "initial"),
            ]
        );
    }

    #[test]
    fn annotates_against_the_previous_version() {
        let previous = Version::parse("1.2.3").expect("valid");
        let mut event = event(r#"{"app": {"version": "v2.0.0"}}"#);
        annotate(&mut event, &config("app.version", true), Some(&previous)).expect("valid");
        assert_eq!(event.attribute("semver.bump"), Some("major"));
        assert_eq!(event.attribute("semver.previous"), Some("1.2.3"));
        assert_eq!(event.attribute("semver.prerelease"), Some(""));

        // Annotating again (a replay) replaces rather than repeats.
        let same = Version::parse("2.0.0").expect("valid");
        annotate(&mut event, &config("app.version", true), Some(&same)).expect("valid");
        assert_eq!(event.attribute("semver.bump"), Some("same"));
        assert_eq!(event.attributes.len(), 7);
        annotate(&mut event, &config("app.version", true), None).expect("valid");
        assert_eq!(event.attribute("semver.previous"), None);
    }

    #[test]
    fn failures_name_the_problem() {
        let cases: &[(&str, &str, &str)] = &[
            (r#"{}"#, "version", "payload field `version` is missing"),
            (
                r#"{"version": null}"#,
                "version",
                "payload field `version` is missing",
            ),
            (
                r#"{"app": 3}"#,
                "app.version",
                "payload field `app.version` is missing",
            ),
            (
                r#"{"version": 3}"#,
                "version",
                "payload field `version` is not a string but a number",
            ),
            (
                r#"{"version": "01.2.3"}"#,
                "version",
                "payload field `version` holds `01.2.3`, which is not a valid SemVer 2.0 version: invalid leading zero in major version number",
            ),
            (
                r#"{"version": "1.2"}"#,
                "version",
                "payload field `version` holds `1.2`, which is not a valid SemVer 2.0 version: unexpected end of input while parsing minor version number",
            ),
            (
                r#"{"version": "v1.2.3"}"#,
                "version",
                "payload field `version` holds `v1.2.3`, which is not a valid SemVer 2.0 version: a `v` prefix is not part of SemVer (set `allow_v_prefix = true` to accept it)",
            ),
            (
                "not json",
                "version",
                "payload of event `01J0000000000000000000000A` is invalid: expected ident at line 1 column 2",
            ),
        ];
        for &(payload, field, message) in cases {
            let mut event = event(payload);
            let before = event.clone();
            let error = annotate(&mut event, &config(field, false), None).expect_err(payload);
            assert_eq!(error, Error::permanent(message), "{payload}");
            assert_eq!(event, before, "a failed event is left as it was");
        }
    }
}
