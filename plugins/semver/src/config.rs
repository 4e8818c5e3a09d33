//! The `semver` stage's configuration: which payload field holds the version, and whether a
//! leading `v` is accepted.
//!
//! ```toml
//! # In a processor stage:
//! plugin = "semver"
//! grants = ["state"]
//! # Dotted path into the JSON payload; a segment of digits indexes an array. Default `version`.
//! config = { field = "app.version", allow_v_prefix = true }
//! ```

use std::fmt;

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

/// The validated configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Where the version is in the payload. Default `version`.
    pub field: FieldPath,
    /// Accept (and strip) one leading `v`, as in `v1.2.3`. Default `false`: SemVer has no prefix.
    pub allow_v_prefix: bool,
}

/// The configuration as written, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_field")]
    field: String,
    #[serde(default)]
    allow_v_prefix: bool,
}

fn default_field() -> String {
    "version".to_string()
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        let field = FieldPath::parse(&raw.field).unwrap_or_else(|message| {
            problems.push("field", message);
            FieldPath::default()
        });
        problems.finish(Config {
            field,
            allow_v_prefix: raw.allow_v_prefix,
        })
    }
}

/// A dotted path into a JSON payload, e.g. `version` or `app.version`; a segment of digits also
/// indexes an array (`releases.0.version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<String>,
}

impl FieldPath {
    /// Parse `text`; the error says why it is not a path.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("must not be empty: give a dotted path such as `version`".to_string());
        }
        let segments: Vec<String> = text.split('.').map(str::to_string).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!(
                "`{text}` has an empty segment: give a dotted path such as `app.version`"
            ));
        }
        Ok(FieldPath {
            text: text.to_string(),
            segments,
        })
    }

    /// The value at this path in `payload`, if there is one.
    pub fn lookup<'a>(&self, payload: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        self.segments
            .iter()
            .try_fold(payload, |value, segment| match value {
                serde_json::Value::Object(map) => map.get(segment),
                serde_json::Value::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index)),
                _ => None,
            })
    }
}

impl Default for FieldPath {
    fn default() -> Self {
        FieldPath::parse("version").expect("`version` is a valid path")
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
        match Config::parse(json) {
            Err(Error::InvalidConfig(problems)) => problems,
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(Config::parse("{}"), Ok(Config::default()));
        assert_eq!(Config::default().field.to_string(), "version");
    }

    #[test]
    fn parses_all_fields() {
        let config = Config::parse(r#"{"field": "app.version", "allow_v_prefix": true}"#)
            .expect("valid config");
        assert_eq!(config.field.to_string(), "app.version");
        assert!(config.allow_v_prefix);
    }

    #[test]
    fn rejects_bad_configs_with_paths() {
        assert_eq!(problems(r#"{"field": ""}"#)[0].path, "field");
        assert_eq!(
            problems(r#"{"field": "app..version"}"#),
            vec![ConfigProblem {
                path: "field".into(),
                message:
                    "`app..version` has an empty segment: give a dotted path such as `app.version`"
                        .into(),
            }]
        );
        assert_eq!(problems(r#"{"field": 3}"#)[0].path, "field");
        assert_eq!(
            problems(r#"{"allow_v_prefix": "yes"}"#)[0].path,
            "allow_v_prefix"
        );
        let unknown = problems(r#"{"fields": "version"}"#);
        assert_eq!(unknown[0].path, "fields");
        assert!(unknown[0].message.starts_with("unknown field `fields`"));
    }

    #[test]
    fn lookup_follows_the_path() {
        let payload = json!({
            "version": "1.0.0",
            "app": {"version": "2.0.0"},
            "releases": [{"version": "3.0.0"}],
        });
        let at = |path: &str| {
            FieldPath::parse(path)
                .expect("valid path")
                .lookup(&payload)
                .cloned()
        };
        assert_eq!(at("version"), Some(json!("1.0.0")));
        assert_eq!(at("app.version"), Some(json!("2.0.0")));
        assert_eq!(at("releases.0.version"), Some(json!("3.0.0")));
        assert_eq!(at("releases.1.version"), None);
        assert_eq!(at("app.missing"), None);
        assert_eq!(at("version.deeper"), None);
    }
}
