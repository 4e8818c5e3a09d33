//! The `inventory` stage's configuration: which event kinds it reports, and under which
//! reporter name. Validation collects every problem with its path; this module owns no event
//! logic (see [`crate::report`]).
//!
//! ```toml
//! # In a sink stage:
//! [sinks.inventory]
//! plugin = "inventory"
//! inputs = ["semver"]
//! grants = ["inventory"]
//!
//! [sinks.inventory.config]
//! # Which of the two kinds to report: `version.reported`, `deployment.finished`. Default both;
//! # any other kind is always ignored.
//! kinds = ["version.reported"]
//! # The reporter name given to every report, instead of the event's `reporter` attribute or
//! # source (`version.reported`) or `deployments` (`deployment.finished`). Default: none.
//! reporter = "svt"
//! ```
//!
//! Every option is optional: `config = {}` reports both kinds under their own reporter names.

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The kinds reported, without repeats. Default [`Kind::ALL`].
    pub kinds: Vec<Kind>,
    /// The reporter name of every report, overriding the one the event implies. Default none.
    pub reporter: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            kinds: Kind::ALL.to_vec(),
            reporter: None,
        }
    }
}

/// An event kind the stage knows how to turn into a version report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `version.reported`: a version report as such (the SVT-compatible `POST /create`, the
    /// generic event route).
    VersionReported,
    /// `deployment.finished`: the end of a deployment from the deployment-tracker API.
    DeploymentFinished,
}

impl Kind {
    /// Every kind, in the order messages list them.
    pub const ALL: [Kind; 2] = [Kind::VersionReported, Kind::DeploymentFinished];

    /// The event kind, as in an event and in `kinds`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::VersionReported => "version.reported",
            Kind::DeploymentFinished => "deployment.finished",
        }
    }

    /// The kind named `text`, if the stage knows it.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        let mut kinds = Vec::new();
        match raw.kinds {
            None => kinds = Kind::ALL.to_vec(),
            Some(names) if names.is_empty() => problems.push(
                "kinds",
                "must name at least one kind (`version.reported`, `deployment.finished`): \
                 remove it to report both",
            ),
            Some(names) => {
                for (index, name) in names.iter().enumerate() {
                    match Kind::parse(name) {
                        Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                        Some(_) => {}
                        None => problems.push(
                            format!("kinds[{index}]"),
                            format!(
                                "unknown kind `{name}`: expected `version.reported` or \
                                 `deployment.finished`"
                            ),
                        ),
                    }
                }
            }
        }
        if raw
            .reporter
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            problems.push(
                "reporter",
                "must not be empty: remove it to keep the event's own",
            );
        }
        problems.finish(Config {
            kinds,
            reporter: raw.reporter,
        })
    }

    /// Whether events of `kind` are reported.
    pub fn accepts(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// The configuration as written, before validation: `kinds` holds plain strings so that every
/// unknown one is reported with its index, not only the first serde meets.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    kinds: Option<Vec<String>>,
    #[serde(default)]
    reporter: Option<String>,
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
    fn defaults_report_both_kinds() {
        for json in ["", "{}"] {
            assert_eq!(Config::parse(json), Ok(Config::default()), "{json:?}");
        }
        let config = Config::default();
        assert!(config.accepts(Kind::VersionReported));
        assert!(config.accepts(Kind::DeploymentFinished));
    }

    #[test]
    fn parses_kinds_and_reporter() {
        assert_eq!(
            Config::parse(r#"{"kinds": ["deployment.finished"], "reporter": "svt"}"#),
            Ok(Config {
                kinds: vec![Kind::DeploymentFinished],
                reporter: Some("svt".into()),
            })
        );
        let repeated = Config::parse(
            r#"{"kinds": ["version.reported", "deployment.finished", "version.reported"]}"#,
        )
        .expect("valid");
        assert_eq!(repeated.kinds, Kind::ALL.to_vec());
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("version.*"), None);
    }

    #[test]
    fn rejects_bad_configs_with_paths() {
        assert_eq!(
            problems(r#"{"kinds": ["version.reported", "deployment.started"]}"#),
            vec![ConfigProblem {
                path: "kinds[1]".into(),
                message: "unknown kind `deployment.started`: expected `version.reported` or \
                          `deployment.finished`"
                    .into(),
            }]
        );
        assert_eq!(
            paths(r#"{"kinds": ["a", "version.reported", "b"], "reporter": " "}"#),
            ["kinds[0]", "kinds[2]", "reporter"]
        );
        assert_eq!(paths(r#"{"kinds": []}"#), ["kinds"]);
        assert_eq!(paths(r#"{"kinds": "version.reported"}"#), ["kinds"]);
        assert_eq!(paths(r#"{"kinds": [1]}"#), ["kinds[0]"]);
        assert_eq!(paths(r#"{"reporter": 3}"#), ["reporter"]);
        assert_eq!(paths(r#"{"reporters": "svt"}"#), ["reporters"]);
    }
}
