//! The `semver` stage's configuration: where the version is, how it is validated, and which
//! versions pass (a Keel-style `policy`, a Flux-style `range`) and what happens to the others.
//! Validation collects every problem with its path; this module owns no event logic.
//!
//! ```toml
//! # Version gate for production: SemVer only, minor and patch upgrades of 1.x and 2.x.
//! [processors.semver]
//! plugin = "semver"
//! inputs = ["api"]
//! grants = ["state"]             # the last version of each subject is kept in `state`
//!
//! [processors.semver.config]
//! # Dotted path into the JSON payload; a segment of digits indexes an array. Default `version`.
//! field = "app.version"
//! # `strict` (default): SemVer 2.0. `svt`: the Stack Versions Tracker's rule
//! # `^[0-9]+\.[0-9]+\.[0-9]+[+0-9A-Za-z-]*$`, for teams migrating from it.
//! mode = "strict"
//! # Accept (and strip) one leading `v`, as in `v1.2.3`. Default false.
//! allow_v_prefix = true
//! # Keel-style, against the subject's previous version: `all`, `major`, `minor`, `patch`,
//! # `force`, `never`, `glob:<pattern>` or `regexp:<pattern>`. Default: none.
//! policy = "minor"
//! # With `policy`: require the pre-release to stay the same (Keel's `matchPreRelease`).
//! # Default false.
//! match_prerelease = false
//! # Flux-style constraint on the version alone (spaces AND, `||` OR). Default: none.
//! range = ">=1.0.0 <3.0.0"
//! # For a version the policy or the range rejects: `drop` (default) the event, `fail` it
//! # (permanent error, dead-lettered), or `annotate` it (`semver.policy = "rejected"`).
//! on_reject = "annotate"
//! ```
//!
//! Or as an inline table: `config = { policy = "patch", on_reject = "fail" }`.

use std::fmt;

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

use crate::policy::{Policy, Range};

/// The validated configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Where the version is in the payload. Default `version`.
    pub field: FieldPath,
    /// Accept (and strip) one leading `v`, as in `v1.2.3`. Default `false`: SemVer has no prefix.
    pub allow_v_prefix: bool,
    /// How a version is validated. Default [`Mode::Strict`].
    pub mode: Mode,
    /// The Keel-style policy (with its `match_prerelease`), judged against the subject's previous
    /// version. Default none.
    pub policy: Option<Policy>,
    /// The Flux-style range, judged on the version alone. Default none.
    pub range: Option<Range>,
    /// What happens to a version that `policy` or `range` rejects. Default [`OnReject::Drop`].
    pub on_reject: OnReject,
}

/// How the stage validates a version (`mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// `strict`: SemVer 2.0 (`1.2.3-rc.1` yes; `01.2.3`, `1.2` and, unless `allow_v_prefix`,
    /// `v1.2.3` no).
    #[default]
    Strict,
    /// `svt`: what the Stack Versions Tracker accepted (see [`crate::svt`]); a version that
    /// is not SemVer passes, classified by its lenient reading and marked `semver.coerced`.
    Svt,
}

impl Mode {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Strict => "strict",
            Mode::Svt => "svt",
        }
    }

    fn parse(text: &str) -> Result<Mode, String> {
        match text {
            "strict" => Ok(Mode::Strict),
            "svt" => Ok(Mode::Svt),
            other => Err(format!(
                "unknown mode `{other}`: expected `strict` or `svt`"
            )),
        }
    }
}

/// What happens to an event whose version the `policy` or the `range` rejects (`on_reject`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnReject {
    /// `drop`: the event does not leave the stage.
    #[default]
    Drop,
    /// `fail`: a permanent error naming the policy or range (the host dead-letters the event).
    Fail,
    /// `annotate`: the event passes with `semver.policy = "rejected"` and the reason in
    /// `semver.policy_reason`.
    Annotate,
}

impl OnReject {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            OnReject::Drop => "drop",
            OnReject::Fail => "fail",
            OnReject::Annotate => "annotate",
        }
    }

    fn parse(text: &str) -> Result<OnReject, String> {
        match text {
            "drop" => Ok(OnReject::Drop),
            "fail" => Ok(OnReject::Fail),
            "annotate" => Ok(OnReject::Annotate),
            other => Err(format!(
                "unknown `on_reject` `{other}`: expected `drop`, `fail` or `annotate`"
            )),
        }
    }
}

/// The configuration as written, before validation. `mode`, `policy`, `range` and `on_reject`
/// are plain strings here so that every bad value is reported, not only the first serde meets.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_field")]
    field: String,
    #[serde(default)]
    allow_v_prefix: bool,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    range: Option<String>,
    #[serde(default)]
    match_prerelease: Option<bool>,
    #[serde(default)]
    on_reject: Option<String>,
}

/// `result`'s value, or `None` after recording its error at `path`.
fn checked<T>(problems: &mut Problems, path: &str, result: Result<T, String>) -> Option<T> {
    result.map_err(|message| problems.push(path, message)).ok()
}

fn default_field() -> String {
    "version".to_string()
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        let field = checked(&mut problems, "field", FieldPath::parse(&raw.field));
        let mode = raw
            .mode
            .as_deref()
            .and_then(|mode| checked(&mut problems, "mode", Mode::parse(mode)));
        let policy = raw
            .policy
            .as_deref()
            .and_then(|policy| checked(&mut problems, "policy", Policy::parse(policy)));
        let range = raw
            .range
            .as_deref()
            .and_then(|range| checked(&mut problems, "range", Range::parse(range)));
        let on_reject = raw
            .on_reject
            .as_deref()
            .and_then(|on_reject| checked(&mut problems, "on_reject", OnReject::parse(on_reject)));
        // Options that would do nothing are mistakes worth saying (a `match_prerelease` meant for
        // a range, say), like unknown keys.
        if raw.match_prerelease.is_some() && raw.policy.is_none() {
            problems.push(
                "match_prerelease",
                "applies only to a `policy` (Keel's `matchPreRelease`): set `policy` or remove it; \
                 a `range` admits pre-releases where it names one, e.g. `>=1.2.0-0`",
            );
        }
        if raw.on_reject.is_some() && raw.policy.is_none() && raw.range.is_none() {
            problems.push(
                "on_reject",
                "applies only with a `policy` or a `range`: set one or remove it",
            );
        }
        problems.finish(Config {
            field: field.unwrap_or_default(),
            allow_v_prefix: raw.allow_v_prefix,
            mode: mode.unwrap_or_default(),
            policy: policy
                .map(|policy| policy.with_match_prerelease(raw.match_prerelease == Some(true))),
            range,
            on_reject: on_reject.unwrap_or_default(),
        })
    }

    /// Whether a `policy` or a `range` decides which versions pass.
    pub fn gates(&self) -> bool {
        self.policy.is_some() || self.range.is_some()
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

    /// The segments of the path, in order.
    pub(crate) fn segments(&self) -> &[String] {
        &self.segments
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
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    fn problems(json: &str) -> Vec<ConfigProblem> {
        config::expect_problems(Config::parse(json))
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
        assert!(!config.gates());

        // The module's TOML example, as the host hands it over.
        let config = Config::parse(
            r#"{"field": "app.version", "mode": "strict", "allow_v_prefix": true,
                "policy": "minor", "match_prerelease": false, "range": ">=1.0.0 <3.0.0",
                "on_reject": "annotate"}"#,
        )
        .expect("valid config");
        assert_eq!(config.mode, Mode::Strict);
        let policy = config.policy.as_ref().expect("a policy");
        assert_eq!(policy.as_str(), "minor");
        assert!(!policy.match_prerelease());
        assert_eq!(
            config.range.as_ref().map(Range::as_str),
            Some(">=1.0.0 <3.0.0")
        );
        assert_eq!(config.on_reject, OnReject::Annotate);
        assert!(config.gates());

        let config = Config::parse(
            r#"{"mode": "svt", "policy": "glob:5.*", "match_prerelease": true, "on_reject": "fail"}"#,
        )
        .expect("valid config");
        assert_eq!(config.mode, Mode::Svt);
        assert!(config.policy.as_ref().is_some_and(Policy::match_prerelease));
        assert_eq!(config.range, None);
        assert_eq!(config.on_reject, OnReject::Fail);

        let config = Config::parse(r#"{"range": "^1.2 || ^2.0.0-0", "on_reject": "drop"}"#)
            .expect("valid config");
        assert_eq!(config.policy, None);
        assert_eq!(config.on_reject, OnReject::Drop);
        for (mode, text) in [(Mode::Strict, "strict"), (Mode::Svt, "svt")] {
            assert_eq!(mode.as_str(), text);
        }
        for (on_reject, text) in [
            (OnReject::Drop, "drop"),
            (OnReject::Fail, "fail"),
            (OnReject::Annotate, "annotate"),
        ] {
            assert_eq!(on_reject.as_str(), text);
        }
    }

    #[test]
    fn reports_every_problem_at_once() {
        let problems = problems(
            r#"{"field": "", "mode": "loose", "policy": "latest", "range": ">= bar",
                "on_reject": "explode"}"#,
        );
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["field", "mode", "policy", "range", "on_reject"]);
        assert_eq!(
            problems[1].message,
            "unknown mode `loose`: expected `strict` or `svt`"
        );
        assert!(
            problems[2]
                .message
                .starts_with("unknown policy `latest`: expected `all`, `major`"),
            "{}",
            problems[2].message
        );
        assert_eq!(
            problems[3].message,
            "`>= bar`: after `>=`, expected a version such as `1.2.3`, `1.x` or `*` at `bar`: \
             expected a number, `x`, `X` or `*`"
        );
        assert_eq!(
            problems[4].message,
            "unknown `on_reject` `explode`: expected `drop`, `fail` or `annotate`"
        );
    }

    #[test]
    fn rejects_bad_policies_and_ranges() {
        let cases: &[(&str, &str, &str)] = &[
            (
                r#"{"policy": ""}"#,
                "policy",
                "must not be empty: expected `all`",
            ),
            (r#"{"policy": "Patch"}"#, "policy", "unknown policy `Patch`"),
            (
                r#"{"policy": "glob:"}"#,
                "policy",
                "`glob:` needs a pattern",
            ),
            (
                r#"{"policy": "regexp:^1.(4"}"#,
                "policy",
                "invalid regular expression `^1.(4`: ",
            ),
            (
                r#"{"policy": "regexp:"}"#,
                "policy",
                "`regexp:` needs a pattern",
            ),
            (
                r#"{"policy": 3}"#,
                "policy",
                "invalid type: integer `3`, expected a string",
            ),
            (r#"{"range": ""}"#, "range", "must not be empty"),
            (
                r#"{"range": "^1.2 ||"}"#,
                "range",
                "`^1.2 ||` has an empty alternative",
            ),
            (
                r#"{"range": "~> 1.x.y"}"#,
                "range",
                "`~> 1.x.y`: after `~>`, expected a version",
            ),
            (
                r#"{"range": "1.2.3.4"}"#,
                "range",
                "`1.2.3.4`: unexpected `.`",
            ),
            (
                r#"{"range": ["^1"]}"#,
                "range",
                "invalid type: sequence, expected a string",
            ),
            (r#"{"mode": "SVT"}"#, "mode", "unknown mode `SVT`"),
            (
                r#"{"mode": true}"#,
                "mode",
                "invalid type: boolean `true`, expected a string",
            ),
            (
                r#"{"match_prerelease": true}"#,
                "match_prerelease",
                "applies only to a `policy`",
            ),
            (
                r#"{"range": "^1", "match_prerelease": false}"#,
                "match_prerelease",
                "applies only to a `policy`",
            ),
            (
                r#"{"match_prerelease": "yes"}"#,
                "match_prerelease",
                "invalid type: string",
            ),
            (
                r#"{"on_reject": "fail"}"#,
                "on_reject",
                "applies only with a `policy` or a `range`",
            ),
            (
                r#"{"policy": "patch", "on_reject": "Drop"}"#,
                "on_reject",
                "unknown `on_reject` `Drop`",
            ),
            (
                r#"{"policy": "patch", "on_rejects": "drop"}"#,
                "on_rejects",
                "unknown field",
            ),
        ];
        for &(json, path, message) in cases {
            let problems = problems(json);
            assert_eq!(problems.len(), 1, "{json}: {problems:?}");
            assert_eq!(problems[0].path, path, "{json}");
            assert!(
                problems[0].message.starts_with(message),
                "{json}: {}",
                problems[0].message
            );
        }
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
}
