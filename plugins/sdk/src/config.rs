//! Strict parsing of the JSON `config` a plugin receives in `init`.
//!
//! The host turns a stage's `config = { ... }` TOML table into JSON text. A plugin parses it into
//! its own `#[serde(deny_unknown_fields)]` struct with [`parse`], then checks what serde cannot
//! (ranges, patterns, combinations) with a [`Problems`] collector, so that `trackway validate`
//! shows every problem at once, each with its path (`field`, `policy.range`, `targets[2].url`).
//!
//! serde stops at the first error it meets, so a config with a syntax or type error reports that
//! one problem; the semantic checks run only once the config has the right shape.

use serde::de::DeserializeOwned;

use crate::{ConfigProblem, Error};

/// Parse `json` into `T`; on failure, an [`Error::InvalidConfig`] with the path of the offending
/// value and serde's reason, e.g. path `field`, message ``invalid type: integer `3`, expected a
/// string``. An empty (or blank) text is read as `{}`, i.e. no options given.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, Error> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = path_text(error.path());
        problem(path, error.into_inner())
    })?;
    deserializer
        .end()
        .map_err(|error| problem(String::new(), error))?;
    Ok(value)
}

/// `path` as `policy.targets[2].url`: empty for the root, and cut at the first segment serde
/// could not name (a syntax error inside a map has no key yet).
pub(crate) fn path_text(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;

    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Enum { variant } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(variant);
            }
            Segment::Unknown => break,
        }
    }
    text
}

/// One problem from serde's error. A missing field is reported at the field's own path rather
/// than at its parent's, since that is where the user has to add it.
fn problem(path: String, error: serde_json::Error) -> Error {
    let message = without_position(&error);
    let path = match missing_field(&message) {
        Some(field) if path.is_empty() => field.to_string(),
        Some(field) => format!("{path}.{field}"),
        None => path,
    };
    Error::InvalidConfig(vec![ConfigProblem { path, message }])
}

/// serde_json's message without its ` at line L column C` suffix: the JSON text is the host's
/// rendering of the user's TOML, so its positions would point nowhere the user can look; the
/// path is what locates the value.
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&suffix) {
        Some(message) => message.to_string(),
        None => message,
    }
}

/// The field named by serde's ``missing field `name` `` message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Collects every semantic problem of a config, to report them together.
///
/// ```
/// use trackway_plugin_sdk::config::Problems;
///
/// let (stream, retries) = ("Bad Name", 0);
/// let mut problems = Problems::new();
/// if stream.contains(' ') {
///     problems.push("stream", "must not contain spaces");
/// }
/// if retries == 0 {
///     problems.push("retries", "must be at least 1");
/// }
/// let error = problems.into_result().expect_err("two problems");
/// assert_eq!(
///     error.message(),
///     "stream: must not contain spaces; retries: must be at least 1"
/// );
/// ```
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Problems {
    problems: Vec<ConfigProblem>,
}

impl Problems {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record that the value at `path` (e.g. `field`, `policy.range`; empty for the whole config)
    /// is rejected, and why (lowercase, e.g. ``must match `[a-z0-9][a-z0-9._-]*` ``).
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Whether no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// How many problems were recorded.
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    /// `Ok(())` when no problem was recorded, otherwise [`Error::InvalidConfig`] listing them all
    /// in the order they were pushed.
    pub fn into_result(self) -> Result<(), Error> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(self.problems))
        }
    }

    /// `Ok(value)` when no problem was recorded: the last line of an `init`, e.g.
    /// `problems.finish(Self { ... })`.
    pub fn finish<T>(self, value: T) -> Result<T, Error> {
        self.into_result().map(|()| value)
    }
}

/// The problems a config check reported: the list of its [`Error::InvalidConfig`]. For a plugin's
/// tests of its validation (`expect_problems(Config::parse(json))`); panics, naming what came
/// instead, on success or on any other error.
#[track_caller]
pub fn expect_problems<T: std::fmt::Debug>(result: Result<T, Error>) -> Vec<ConfigProblem> {
    match result {
        Err(Error::InvalidConfig(problems)) => problems,
        other => panic!("expected invalid-config, got {other:?}"),
    }
}

/// The paths of [`expect_problems`], in order.
#[track_caller]
pub fn expect_paths<T: std::fmt::Debug>(result: Result<T, Error>) -> Vec<String> {
    expect_problems(result)
        .into_iter()
        .map(|problem| problem.path)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Config {
        stream: String,
        #[serde(default)]
        policy: Policy,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Policy {
        #[serde(default)]
        retries: u32,
        #[serde(default)]
        targets: Vec<String>,
    }

    fn problems(json: &str) -> Vec<ConfigProblem> {
        expect_problems(parse::<Config>(json))
    }

    fn one(path: &str, message: &str) -> Vec<ConfigProblem> {
        vec![ConfigProblem {
            path: path.into(),
            message: message.into(),
        }]
    }

    #[test]
    fn parses_a_valid_config() {
        let config: Config =
            parse(r#"{"stream": "deploys", "policy": {"retries": 2}}"#).expect("valid config");
        assert_eq!(config.stream, "deploys");
        assert_eq!(config.policy.retries, 2);
    }

    #[test]
    fn blank_text_is_an_empty_table() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Empty {}
        assert!(parse::<Empty>("").is_ok());
        assert!(parse::<Empty>("  \n").is_ok());
        assert_eq!(problems(""), one("stream", "missing field `stream`"));
    }

    #[test]
    fn errors_carry_the_path() {
        assert_eq!(
            problems(r#"{"stream": 3}"#),
            one("stream", "invalid type: integer `3`, expected a string")
        );
        assert_eq!(
            problems(r#"{"stream": "s", "policy": {"retries": -1}}"#),
            one(
                "policy.retries",
                "invalid value: integer `-1`, expected u32"
            )
        );
        assert_eq!(
            problems(r#"{"stream": "s", "policy": {"targets": ["a", 2]}}"#),
            one(
                "policy.targets[1]",
                "invalid type: integer `2`, expected a string"
            )
        );
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let unknown = problems(r#"{"stream": "s", "strem": "t"}"#);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].path, "strem");
        assert!(
            unknown[0]
                .message
                .starts_with("unknown field `strem`, expected"),
            "{unknown:?}"
        );
        assert_eq!(problems("{}"), one("stream", "missing field `stream`"));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let syntax = problems(r#"{"stream": "#);
        assert_eq!(syntax.len(), 1);
        assert_eq!(syntax[0].path, "stream");
        let trailing = problems(r#"{"stream": "s"} x"#);
        assert_eq!(trailing, one("", "trailing characters"));
    }

    #[test]
    fn problems_collects_all() {
        let mut problems = Problems::new();
        assert!(problems.is_empty());
        problems.push("a", "first");
        problems.push("b.c", "second");
        assert_eq!(problems.len(), 2);
        assert_eq!(
            problems.clone().into_result(),
            Err(Error::InvalidConfig(vec![
                ConfigProblem {
                    path: "a".into(),
                    message: "first".into(),
                },
                ConfigProblem {
                    path: "b.c".into(),
                    message: "second".into(),
                },
            ]))
        );
        assert_eq!(Problems::new().finish(7), Ok(7));
        assert!(problems.finish(7).is_err());
    }
}
