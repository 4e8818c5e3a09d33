//! The `ownership` stage's configuration: which payload fields a deployment must carry, where
//! its package is, which team owns which package, and the attribute the team goes in.
//! Validation collects every problem with its path; this module owns no event logic (see
//! [`crate::annotate`]).
//!
//! ```toml
//! [processors.ownership]
//! path = "../../target/wasm32-wasip2/release/plugin_ownership.wasm"
//! inputs = ["deployments"]
//!
//! [processors.ownership.config]
//! # Dotted paths into the JSON payload that every event must carry (a missing field, `null` or
//! # an empty string fails the event). Default ["environment", "package", "version"];
//! # `package_field` is always required.
//! required = ["environment", "package", "version"]
//! # Where the package name is in the payload. Default `package`.
//! package_field = "package"
//! # The team of a package that `teams` does not list. Default: none, and such an event fails,
//! # so that every deployment has an owner.
//! default_team = "unowned"
//! # The attribute that receives the team. Default `team`.
//! attribute = "team"
//!
//! # Package -> the team that owns it. Required (it may be empty with a `default_team`).
//! [processors.ownership.config.teams]
//! billing = "payments"
//! api = "platform"
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The payload fields every event must carry, in the order given, without repeats; always
    /// includes [`Config::package_field`] (added last when not listed).
    pub required: Vec<FieldPath>,
    /// Where the package name is in the payload. Default `package`.
    pub package_field: FieldPath,
    /// Package -> the team that owns it.
    pub teams: BTreeMap<String, String>,
    /// The team of a package that [`Config::teams`] does not list. Default none: such an event
    /// fails.
    pub default_team: Option<String>,
    /// The attribute set to the team. Default `team`.
    pub attribute: String,
}

/// The configuration as written, before validation: paths are plain strings here so that every
/// bad one is reported with its index, not only the first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_required")]
    required: Vec<String>,
    #[serde(default = "default_package_field")]
    package_field: String,
    teams: BTreeMap<String, String>,
    #[serde(default)]
    default_team: Option<String>,
    #[serde(default = "default_attribute")]
    attribute: String,
}

fn default_required() -> Vec<String> {
    ["environment", "package", "version"]
        .map(String::from)
        .to_vec()
}

fn default_package_field() -> String {
    "package".to_string()
}

fn default_attribute() -> String {
    "team".to_string()
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();

        let mut required: Vec<FieldPath> = Vec::new();
        for (index, text) in raw.required.iter().enumerate() {
            let path = format!("required[{index}]");
            match FieldPath::parse(text) {
                Ok(field) if required.contains(&field) => {
                    problems.push(path, format!("`{field}` is listed twice"));
                }
                Ok(field) => required.push(field),
                Err(message) => problems.push(path, message),
            }
        }
        let package_field = match FieldPath::parse(&raw.package_field) {
            Ok(field) => field,
            Err(message) => {
                problems.push("package_field", message);
                FieldPath::default()
            }
        };
        if !required.contains(&package_field) {
            required.push(package_field.clone());
        }

        if raw.teams.is_empty() && raw.default_team.is_none() {
            problems.push(
                "teams",
                "must map at least one package to its team, or set `default_team`",
            );
        }
        for (package, team) in &raw.teams {
            if package.trim().is_empty() {
                problems.push("teams", "has an empty package name");
            } else if team.trim().is_empty() {
                problems.push(format!("teams.{package}"), "must not be empty");
            }
        }
        if raw
            .default_team
            .as_deref()
            .is_some_and(|team| team.trim().is_empty())
        {
            problems.push(
                "default_team",
                "must not be empty: remove it to reject packages without a team",
            );
        }
        if raw.attribute.is_empty() || raw.attribute.contains(char::is_whitespace) {
            problems.push(
                "attribute",
                "must be a non-empty name without spaces, such as `team`",
            );
        }

        problems.finish(Config {
            required,
            package_field,
            teams: raw.teams,
            default_team: raw.default_team,
            attribute: raw.attribute,
        })
    }

    /// The team that owns `package`: its entry in [`Config::teams`], else
    /// [`Config::default_team`].
    pub fn team_of(&self, package: &str) -> Option<&str> {
        self.teams
            .get(package)
            .or(self.default_team.as_ref())
            .map(String::as_str)
    }
}

/// A dotted path of object keys into a JSON payload, e.g. `version` or `app.version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
}

impl FieldPath {
    /// Parse `text`; the error says why it is not a path.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("must not be empty: give a dotted path such as `version`".to_string());
        }
        if text.split('.').any(str::is_empty) {
            return Err(format!(
                "`{text}` has an empty segment: give a dotted path such as `app.version`"
            ));
        }
        Ok(FieldPath {
            text: text.to_string(),
        })
    }

    /// The value at this path in `payload`, if there is one.
    pub fn lookup<'a>(&self, payload: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        self.text
            .split('.')
            .try_fold(payload, |value, key| value.as_object()?.get(key))
    }
}

impl Default for FieldPath {
    fn default() -> Self {
        FieldPath::parse("package").expect("`package` is a valid path")
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    fn problems(json: &str) -> Vec<ConfigProblem> {
        config::expect_problems(Config::parse(json))
    }

    fn paths(json: &str) -> Vec<String> {
        config::expect_paths(Config::parse(json))
    }

    fn field(text: &str) -> FieldPath {
        FieldPath::parse(text).expect("a valid path")
    }

    #[test]
    fn defaults_need_only_teams() {
        let config = Config::parse(r#"{"teams": {"billing": "payments"}}"#).expect("valid");
        assert_eq!(
            config,
            Config {
                required: vec![field("environment"), field("package"), field("version")],
                package_field: field("package"),
                teams: [("billing".to_string(), "payments".to_string())].into(),
                default_team: None,
                attribute: "team".into(),
            }
        );
        assert_eq!(config.team_of("billing"), Some("payments"));
        assert_eq!(config.team_of("ledger"), None);
    }

    #[test]
    fn the_package_field_is_always_required() {
        let config =
            Config::parse(r#"{"required": ["version"], "package_field": "app.name", "teams": {}, "default_team": "ops"}"#)
                .expect("valid");
        assert_eq!(config.required, [field("version"), field("app.name")]);
        assert_eq!(config.team_of("anything"), Some("ops"));

        let listed = Config::parse(r#"{"required": ["package", "version"], "teams": {"a": "b"}}"#)
            .expect("valid");
        assert_eq!(listed.required, [field("package"), field("version")]);
    }

    #[test]
    fn rejects_bad_configs_with_every_path() {
        assert_eq!(
            paths(
                r#"{"required": ["version", "", "app..name", "version"], "package_field": ".x",
                    "teams": {"billing": " ", "": "ops"}, "default_team": "", "attribute": "a b"}"#
            ),
            [
                "required[1]",
                "required[2]",
                "required[3]",
                "package_field",
                "teams",
                "teams.billing",
                "default_team",
                "attribute",
            ]
        );
        assert_eq!(
            problems(r#"{"teams": {}}"#),
            [ConfigProblem {
                path: "teams".into(),
                message: "must map at least one package to its team, or set `default_team`".into(),
            }]
        );
        assert_eq!(
            problems(r#"{"required": ["version", "version"], "teams": {"a": "b"}}"#)[0].message,
            "`version` is listed twice"
        );
    }

    #[test]
    fn serde_errors_carry_their_path() {
        assert_eq!(paths("{}"), ["teams"]);
        assert_eq!(paths(r#"{"teams": {"a": 1}}"#), ["teams.a"]);
        assert_eq!(paths(r#"{"teams": {}, "required": [3]}"#), ["required[0]"]);
        assert_eq!(paths(r#"{"teams": {}, "team": "a"}"#), ["team"]);
    }

    #[test]
    fn field_paths_look_into_objects() {
        let payload = json!({"app": {"name": "billing", "tags": ["a"]}, "version": "1.0.0"});
        assert_eq!(field("version").lookup(&payload), Some(&json!("1.0.0")));
        assert_eq!(field("app.name").lookup(&payload), Some(&json!("billing")));
        assert_eq!(field("app.tags.0").lookup(&payload), None);
        assert_eq!(field("app.name.first").lookup(&payload), None);
        assert_eq!(field("missing").lookup(&payload), None);
        assert_eq!(field("a.b").to_string(), "a.b");
    }
}
