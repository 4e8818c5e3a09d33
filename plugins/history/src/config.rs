//! The `history` stage's configuration: which stream the events go to.
//!
//! ```toml
//! # In a sink stage:
//! plugin = "history"
//! grants = ["history"]
//! # Stream name, `[a-z0-9][a-z0-9._-]{0,127}`; `{kind}` stands for the event's kind. Required.
//! config = { stream = "deploys-{kind}" }
//! ```

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

/// The longest stream name the host serves.
const MAX_STREAM_LEN: usize = 128;

/// What a stream name must look like, for messages.
const STREAM_PATTERN: &str = "[a-z0-9][a-z0-9._-]{0,127}";

/// The placeholder replaced by the event's kind.
const KIND_PLACEHOLDER: &str = "{kind}";

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where events go.
    pub stream: Stream,
}

/// The configuration as written, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    stream: String,
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        let stream = Stream::parse(&raw.stream).unwrap_or_else(|message| {
            problems.push("stream", message);
            Stream::Fixed(String::new())
        });
        problems.finish(Config { stream })
    }
}

/// A stream name, or a template for one per event kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// Every event goes to this stream.
    Fixed(String),
    /// Each event goes to this template with `{kind}` replaced by its kind.
    PerKind(String),
}

impl Stream {
    /// Parse a `stream` value; the error says why it is rejected.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.contains(KIND_PLACEHOLDER) {
            return match is_stream_name(text) {
                true => Ok(Stream::Fixed(text.to_string())),
                false => Err(format!("`{text}` must match `{STREAM_PATTERN}`")),
            };
        }
        // Check the template with the shortest kind in its place; the full name is checked
        // again per event, since the kind decides its length and characters.
        let sample = text.replace(KIND_PLACEHOLDER, "k");
        if !is_stream_name(&sample) {
            return Err(format!(
                "`{text}` must match `{STREAM_PATTERN}` once `{KIND_PLACEHOLDER}` is replaced by the event kind"
            ));
        }
        Ok(Stream::PerKind(text.to_string()))
    }

    /// The stream for an event of `kind`; a kind that makes the name invalid (too long,
    /// upper-case letters) is a permanent error.
    pub fn resolve(&self, kind: &str) -> Result<String, Error> {
        match self {
            Stream::Fixed(name) => Ok(name.clone()),
            Stream::PerKind(template) => {
                let name = template.replace(KIND_PLACEHOLDER, kind);
                match is_stream_name(&name) {
                    true => Ok(name),
                    false => Err(Error::permanent(format!(
                        "stream `{name}` for event kind `{kind}` does not match `{STREAM_PATTERN}`"
                    ))),
                }
            }
        }
    }
}

/// Whether `name` matches `[a-z0-9][a-z0-9._-]{0,127}`.
fn is_stream_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
    first_ok
        && name.len() <= MAX_STREAM_LEN
        && bytes.all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'.' | b'_' | b'-')
        })
}

#[cfg(test)]
mod tests {
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    fn problems(json: &str) -> Vec<ConfigProblem> {
        config::expect_problems(Config::parse(json))
    }

    #[test]
    fn stream_names() {
        let long = "a".repeat(MAX_STREAM_LEN);
        let too_long = "a".repeat(MAX_STREAM_LEN + 1);
        let cases: &[(&str, bool)] = &[
            ("deploys", true),
            ("0", true),
            ("prod.deploys_v2-eu", true),
            (&long, true),
            ("", false),
            (&too_long, false),
            ("-deploys", false),
            (".deploys", false),
            ("Deploys", false),
            ("de ploys", false),
            ("de/ploys", false),
            ("déploys", false),
        ];
        for &(name, valid) in cases {
            assert_eq!(is_stream_name(name), valid, "{name:?}");
        }
    }

    #[test]
    fn parses_fixed_and_per_kind_streams() {
        assert_eq!(
            Config::parse(r#"{"stream": "deploys"}"#),
            Ok(Config {
                stream: Stream::Fixed("deploys".into())
            })
        );
        assert_eq!(
            Config::parse(r#"{"stream": "{kind}"}"#),
            Ok(Config {
                stream: Stream::PerKind("{kind}".into())
            })
        );
    }

    #[test]
    fn rejects_bad_configs_with_paths() {
        assert_eq!(
            problems("{}"),
            vec![ConfigProblem {
                path: "stream".into(),
                message: "missing field `stream`".into(),
            }]
        );
        assert_eq!(
            problems(r#"{"stream": "Deploys"}"#),
            vec![ConfigProblem {
                path: "stream".into(),
                message: "`Deploys` must match `[a-z0-9][a-z0-9._-]{0,127}`".into(),
            }]
        );
        assert_eq!(problems(r#"{"stream": "x-{other}"}"#)[0].path, "stream");
        assert_eq!(problems(r#"{"stream": "-{kind}"}"#)[0].path, "stream");
        assert_eq!(problems(r#"{"stream": 1}"#)[0].path, "stream");
        let unknown = problems(r#"{"stream": "deploys", "streams": "x"}"#);
        assert_eq!(unknown[0].path, "streams");
    }

    #[test]
    fn resolves_per_event() {
        let fixed = Stream::parse("deploys").expect("valid");
        assert_eq!(fixed.resolve("anything"), Ok("deploys".to_string()));

        let per_kind = Stream::parse("history-{kind}").expect("valid");
        assert_eq!(
            per_kind.resolve("deployment.started"),
            Ok("history-deployment.started".to_string())
        );
        assert_eq!(
            per_kind.resolve("Deployment"),
            Err(Error::permanent(
                "stream `history-Deployment` for event kind `Deployment` does not match `[a-z0-9][a-z0-9._-]{0,127}`"
            ))
        );
        assert!(per_kind.resolve(&"k".repeat(MAX_STREAM_LEN)).is_err());
    }
}
