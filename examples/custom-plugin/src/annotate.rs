//! The pure per-event step: check the required payload fields, find the package's team, set the
//! team attribute. No host calls, so it runs (and is tested) natively as well as in wasm.

use serde_json::Value;
use trackway_plugin_sdk::{Error, Event, Processed};

use crate::config::Config;

/// What the stage does with `event`: [`Processed::Replace`] it by itself with the team attribute
/// set ([`Processed::Keep`] when it already holds that team), or [`Processed::Fail`] it with a
/// permanent error when a required field is missing or its package has no team.
pub fn process(mut event: Event, config: &Config) -> Processed {
    let team = match team(&event, config) {
        Ok(team) => team,
        Err(error) => return Processed::Fail(error),
    };
    if event.attribute(&config.attribute) == Some(team) {
        return Processed::Keep;
    }
    event.set_attribute(&config.attribute, team);
    Processed::Replace(vec![event])
}

/// The team that owns the package `event` deploys, once its payload carries every required
/// field. Errors are permanent (retrying the same event cannot help), name the event and say
/// what to change.
pub fn team<'a>(event: &Event, config: &'a Config) -> Result<&'a str, Error> {
    let payload = event.payload_json()?;
    let missing: Vec<String> = config
        .required
        .iter()
        .filter(|field| !present(field.lookup(&payload)))
        .map(|field| format!("`{field}`"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::permanent(format!(
            "payload of event `{}` lacks required field{} {}",
            event.id,
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )));
    }
    let field = &config.package_field;
    let Some(Value::String(package)) = field.lookup(&payload) else {
        return Err(Error::permanent(format!(
            "payload of event `{}` is invalid at `{field}`: expected a package name (a string)",
            event.id
        )));
    };
    config.team_of(package).ok_or_else(|| {
        Error::permanent(format!(
            "package `{package}` of event `{}` has no team: map it in `teams` or set \
             `default_team`",
            event.id
        ))
    })
}

/// Whether a field counts as given: absent, `null` and `""` do not.
fn present(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => !text.is_empty(),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(r#"{"teams": {"billing": "payments", "api": "platform"}}"#).expect("valid")
    }

    fn event(payload: &str) -> Event {
        Event {
            id: "01J0000000000000000000000A".into(),
            org: "default".into(),
            kind: "deployment.started".into(),
            source: "api".into(),
            time: 1_700_000_000_000,
            subject: "d-1".into(),
            attributes: vec![("environment".into(), "prod".into())],
            payload: payload.into(),
            parent: None,
        }
    }

    fn failure(processed: Processed) -> String {
        match processed {
            Processed::Fail(Error::Permanent(message)) => message,
            other => panic!("expected a permanent failure, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_deployment_gets_its_team() {
        let input = event(r#"{"environment": "prod", "package": "billing", "version": "1.2.0"}"#);
        let Processed::Replace(outputs) = process(input.clone(), &config()) else {
            panic!("expected the event back");
        };
        let [output] = outputs.as_slice() else {
            panic!("expected one event, got {outputs:?}");
        };
        assert_eq!(output.attribute("team"), Some("payments"));
        assert_eq!(output.attribute("environment"), Some("prod"));
        assert_eq!(
            (&output.id, &output.payload),
            (&input.id, &input.payload),
            "only the attribute changes"
        );
    }

    #[test]
    fn an_event_that_already_has_its_team_is_kept() {
        let mut input = event(r#"{"environment": "prod", "package": "api", "version": "2.0.0"}"#);
        input.set_attribute("team", "platform");
        assert_eq!(process(input.clone(), &config()), Processed::Keep);
        // A wrong team is corrected: the configured map is the authority.
        input.set_attribute("team", "someone-else");
        let Processed::Replace(outputs) = process(input, &config()) else {
            panic!("expected the event back");
        };
        assert_eq!(outputs[0].attribute("team"), Some("platform"));
    }

    #[test]
    fn missing_fields_are_all_named() {
        assert_eq!(
            failure(process(
                event(r#"{"package": "billing", "environment": "", "version": null}"#),
                &config()
            )),
            "payload of event `01J0000000000000000000000A` lacks required fields `environment`, \
             `version`"
        );
        assert_eq!(
            failure(process(
                event(r#"{"environment": "prod", "version": "1.0.0"}"#),
                &config()
            )),
            "payload of event `01J0000000000000000000000A` lacks required field `package`"
        );
        // Not an object: nothing is there.
        assert!(failure(process(event("[]"), &config())).contains("`environment`, `package`"));
    }

    #[test]
    fn an_unowned_package_fails_unless_there_is_a_default_team() {
        let payload = r#"{"environment": "prod", "package": "ledger", "version": "0.1.0"}"#;
        assert_eq!(
            failure(process(event(payload), &config())),
            "package `ledger` of event `01J0000000000000000000000A` has no team: map it in \
             `teams` or set `default_team`"
        );
        let with_default = Config::parse(
            r#"{"teams": {"billing": "payments"}, "default_team": "unowned", "attribute": "owner"}"#,
        )
        .expect("valid");
        let Processed::Replace(outputs) = process(event(payload), &with_default) else {
            panic!("expected the event back");
        };
        assert_eq!(outputs[0].attribute("owner"), Some("unowned"));
    }

    #[test]
    fn malformed_payloads_fail_without_panicking() {
        assert!(
            failure(process(event("{not json"), &config()))
                .starts_with("payload of event `01J0000000000000000000000A` is invalid")
        );
        assert_eq!(
            failure(process(
                event(r#"{"environment": "prod", "package": 7, "version": "1"}"#),
                &config()
            )),
            "payload of event `01J0000000000000000000000A` is invalid at `package`: expected a \
             package name (a string)"
        );
    }
}
