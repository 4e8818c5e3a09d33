//! The `statsd` stage's configuration: the statsd server and the prefix of every metric name.
//! Defaults are the deployment-tracker seed's. Validation collects every problem with its path;
//! whether the server is granted to the stage is the host's answer, asked in `init` (`lib.rs`).
//!
//! ```toml
//! [sinks.metrics]
//! plugin = "statsd"
//! inputs = ["deployments"]
//! # Must name the server below: `{host}:{port}`.
//! grants = [{ statsd = "127.0.0.1:8125" }]
//!
//! [sinks.metrics.config]
//! # The statsd server (UDP). Defaults: `127.0.0.1` and 8125.
//! host = "127.0.0.1"
//! port = 8125
//! # Put before every metric name, with a dot: `deployment-tracker.deployments.started`. Its
//! # own dots separate segments (`ops.deploys`); empty segments are dropped, so `""` (or `"."`)
//! # means no prefix. Default `deployment-tracker`.
//! prefix = "deployment-tracker"
//! ```
//!
//! Every option is optional: `config = {}` sends to `127.0.0.1:8125` under `deployment-tracker`.

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The server, as `{host}:{port}`: what the stage's grant must name.
    pub target: String,
    /// The prefix without empty segments (no leading or trailing dot); empty for none.
    pub prefix: String,
}

/// The configuration as written, with the seed's defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_host")]
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    #[serde(default = "default_prefix")]
    prefix: String,
}

fn default_host() -> String {
    "127.0.0.1".to_owned()
}

fn default_port() -> u16 {
    8125
}

fn default_prefix() -> String {
    "deployment-tracker".to_owned()
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        if raw.host.is_empty() {
            problems.push("host", "must not be empty");
        } else if raw
            .host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@'))
        {
            problems.push(
                "host",
                format!("`{}` must be a host name or an IP address", raw.host),
            );
        }
        if raw.port == 0 {
            problems.push("port", "must be between 1 and 65535");
        }
        let prefix = prefix(&raw.prefix).unwrap_or_else(|message| {
            problems.push("prefix", message);
            String::new()
        });
        problems.finish(Config {
            target: target(&raw.host, raw.port),
            prefix,
        })
    }
}

/// `{host}:{port}`, with an IPv6 address in brackets (`[::1]:8125`).
fn target(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `text` without empty segments (`.ops..deploys.` is `ops.deploys`), or why it cannot start a
/// statsd name: the line format reserves `:`, `|` and `@`, and white space ends a line.
fn prefix(text: &str) -> Result<String, String> {
    if let Some(c) = text
        .chars()
        .find(|&c| matches!(c, ':' | '|' | '@') || c.is_whitespace() || c.is_control())
    {
        let what = match c {
            ':' | '|' | '@' => format!("`{c}`"),
            _ => "white space".to_owned(),
        };
        return Err(format!(
            "`{text}` must not contain {what}: statsd reserves it"
        ));
    }
    Ok(text
        .split('.')
        .filter(|segment| !segment.is_empty())
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    fn problems(json: &str) -> Vec<ConfigProblem> {
        config::expect_problems(Config::parse(json))
    }

    fn paths(json: &str) -> Vec<String> {
        config::expect_paths(Config::parse(json))
    }

    #[test]
    fn defaults_are_the_seeds() {
        for json in ["", "{}"] {
            assert_eq!(
                Config::parse(json),
                Ok(Config {
                    target: "127.0.0.1:8125".into(),
                    prefix: "deployment-tracker".into(),
                }),
                "{json:?}"
            );
        }
    }

    #[test]
    fn parses_every_option() {
        assert_eq!(
            Config::parse(r#"{"host": "statsd.internal", "port": 9125, "prefix": "ops.deploys"}"#),
            Ok(Config {
                target: "statsd.internal:9125".into(),
                prefix: "ops.deploys".into(),
            })
        );
        assert_eq!(
            Config::parse(r#"{"host": "::1"}"#).map(|config| config.target),
            Ok("[::1]:8125".into())
        );
    }

    #[test]
    fn prefixes_lose_their_empty_segments() {
        let cases = [
            ("deployment-tracker", "deployment-tracker"),
            ("ops.deploys", "ops.deploys"),
            (".ops.deploys.", "ops.deploys"),
            ("ops..deploys", "ops.deploys"),
            ("", ""),
            ("...", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(prefix(text), Ok(expected.to_owned()), "{text:?}");
        }
    }

    #[test]
    fn rejects_bad_configs_with_paths() {
        assert_eq!(
            problems(r#"{"prefix": "ops:deploys"}"#),
            vec![ConfigProblem {
                path: "prefix".into(),
                message: "`ops:deploys` must not contain `:`: statsd reserves it".into(),
            }]
        );
        assert_eq!(
            problems(r#"{"prefix": "ops deploys"}"#)[0].message,
            "`ops deploys` must not contain white space: statsd reserves it"
        );
        assert_eq!(
            paths(r#"{"host": "", "port": 0, "prefix": "a|b"}"#),
            ["host", "port", "prefix"]
        );
        assert_eq!(paths(r#"{"host": "udp://h"}"#), ["host"]);
        assert_eq!(paths(r#"{"port": "8125"}"#), ["port"]);
        assert_eq!(paths(r#"{"prefixes": "x"}"#), ["prefixes"]);
    }
}
