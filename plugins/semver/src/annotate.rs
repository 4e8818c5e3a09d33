//! The pure per-event step of the `semver` stage: find the version in an event's payload,
//! validate it (`mode`), write the `semver.*` attributes, and let the `policy` and the `range`
//! decide whether it passes. The previous version comes in as an argument and the one to
//! remember goes out in the result, so the host's `state` stays in `lib.rs` and this runs
//! natively in unit tests and benchmarks.
//!
//! The stage owns the `semver.*` attributes: one that does not apply to an event is removed
//! (a replayed or reprocessed event may carry a stale one).

use std::borrow::Cow;

use semver::Version;
use trackway_plugin_sdk::{Error, Event, Processed};

use crate::bump::{self, Bump};
use crate::config::{Config, Mode, OnReject};
use crate::lookup;
use crate::policy::{Decision, Reading};
use crate::svt;

/// A version as the stage remembers it for a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// As reported, less an accepted leading `v`: what `state` keeps and `semver.previous`
    /// shows. For a SemVer version it is also the version's canonical text.
    pub text: String,
    /// What it is ordered by: the version itself, or its lenient reading ([`svt::coerce`]).
    pub version: Version,
    /// Whether `version` is a lenient reading of a text that is not SemVer (`svt` mode).
    pub coerced: bool,
}

impl Reported {
    /// A SemVer version, remembered as its text.
    pub fn semver(version: Version) -> Self {
        Reported {
            text: version.to_string(),
            version,
            coerced: false,
        }
    }

    /// Read a remembered text back: SemVer, or else a text of the `svt` rule read leniently.
    /// `None` for anything else (this stage never stores anything else).
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(version) = Version::parse(text) {
            // A text SemVer accepts is its version's canonical text: keep it rather than print
            // the version again (a few hundred instructions per event in wasm).
            return Some(Reported {
                text: text.to_string(),
                version,
                coerced: false,
            });
        }
        svt::coerce(text).map(|version| Reported {
            text: text.to_string(),
            version,
            coerced: true,
        })
    }
}

/// What [`process`] decided for one event.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// The answer for the host.
    pub processed: Processed,
    /// The version to remember for the event's subject, when the event carried a valid one:
    /// also when the policy rejected it, since the event reports a deployment that happened.
    pub remember: Option<Reported>,
}

/// Handle one event: annotate it (see [`annotate`]), then, when a `policy` or a `range` is
/// configured, judge its version against `previous` and set `semver.policy` (`accepted` or
/// `rejected`) and, for a rejection, `semver.policy_reason`. An accepted event passes; a rejected
/// one is dropped, failed or passed per `on_reject`. An event without a valid version fails
/// permanently with the reason.
pub fn process(mut event: Event, config: &Config, previous: Option<&Reported>) -> Outcome {
    let (
        mut attributes,
        Found {
            written,
            remembered,
        },
    ) = match classify(&event, config, previous) {
        Ok(classified) => classified,
        Err(error) => {
            return Outcome {
                processed: Processed::Fail(error),
                remember: None,
            };
        }
    };
    // What a rejection answers instead of the annotated event, if anything.
    let instead = match judge(config, previous, &written, &remembered) {
        None => None,
        Some(Decision::Accepted(_)) => {
            attributes.push(pair("semver.policy", "accepted"));
            None
        }
        Some(Decision::Rejected(reason)) => match config.on_reject {
            OnReject::Drop => Some(Processed::Replace(Vec::new())),
            OnReject::Fail => Some(Processed::Fail(Error::permanent(format!(
                "version `{written}` of subject `{}` is rejected: {reason}",
                event.subject
            )))),
            OnReject::Annotate => {
                attributes.push(pair("semver.policy", "rejected"));
                attributes.push(pair("semver.policy_reason", reason));
                None
            }
        },
    };
    drop(written);
    let processed = instead.unwrap_or_else(|| {
        set_stage_attributes(&mut event, attributes);
        Processed::Replace(vec![event])
    });
    Outcome {
        processed,
        remember: Some(remembered),
    }
}

/// The `policy` and then the `range` on the candidate (as written, as read); the first
/// rejection wins. Both order versions by the stage's own reading, the one `semver.bump` uses
/// (in `svt` mode more lenient than Keel's or Flux's), and `glob:`/`regexp:` match the version
/// as written in the payload. `None` when neither is configured.
fn judge(
    config: &Config,
    previous: Option<&Reported>,
    written: &str,
    reported: &Reported,
) -> Option<Decision> {
    if !config.gates() {
        return None;
    }
    let candidate = Reading::new(written, &reported.version);
    if let Some(policy) = &config.policy {
        let current = previous.map(|p| Reading::new(&p.text, &p.version));
        let decision = policy.accepts_reading(current, candidate);
        if !decision.is_accepted() || config.range.is_none() {
            return Some(decision);
        }
    }
    config
        .range
        .as_ref()
        .map(|range| range.accepts_reading(candidate))
}

/// Annotate `event` with the version found at `config.field`, classified against `previous`:
/// `semver.major`, `semver.minor`, `semver.patch`, `semver.prerelease` (empty when none),
/// `semver.bump` (see [`Bump`]), `semver.previous` when there is a previous version,
/// `semver.downgrade = "true"` for a [`Bump::Downgrade`], `semver.redeploy = "true"` for a
/// [`Bump::Same`] and, in `svt` mode, `semver.coerced = "true"` for a version that is not
/// SemVer. The policy plays no part (see [`process`]).
///
/// Returns the version, to remember for the subject. A payload that is not JSON, a missing or
/// non-string field, or an invalid version is a permanent error saying which; the event is then
/// left as it was.
pub fn annotate(
    event: &mut Event,
    config: &Config,
    previous: Option<&Version>,
) -> Result<Version, Error> {
    let previous = previous.cloned().map(Reported::semver);
    let (attributes, Found { remembered, .. }) = classify(event, config, previous.as_ref())?;
    set_stage_attributes(event, attributes);
    Ok(remembered.version)
}

/// The version of an event, as written in its payload and as the stage remembers it.
struct Found<'a> {
    /// As written (`glob:` and `regexp:` policies match this).
    written: Cow<'a, str>,
    remembered: Reported,
}

/// The stage's attributes for `event` (see [`annotate`]) and its version; the policy plays no
/// part.
fn classify<'a>(
    event: &'a Event,
    config: &Config,
    previous: Option<&Reported>,
) -> Result<(Vec<(String, String)>, Found<'a>), Error> {
    let found = version_of(event, config)?;
    let version = &found.remembered.version;
    let bump = bump::classify(previous.map(|p| &p.version), version);
    let mut attributes = Vec::with_capacity(9);
    attributes.push(pair("semver.major", version.major.to_string()));
    attributes.push(pair("semver.minor", version.minor.to_string()));
    attributes.push(pair("semver.patch", version.patch.to_string()));
    attributes.push(pair("semver.prerelease", version.pre.as_str()));
    attributes.push(pair("semver.bump", bump.as_str()));
    if let Some(previous) = previous {
        attributes.push(pair("semver.previous", previous.text.as_str()));
    }
    // Flags a sink can route on: present and `"true"`, or absent.
    for (name, on) in [
        ("semver.downgrade", bump == Bump::Downgrade),
        ("semver.redeploy", bump == Bump::Same),
        ("semver.coerced", found.remembered.coerced),
    ] {
        if on {
            attributes.push(pair(name, "true"));
        }
    }
    Ok((attributes, found))
}

fn pair(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// Give `event` the stage's `attributes`, last and in order, in place of every `semver.*`
/// attribute it had: the stage owns them, and a replayed or reprocessed event may carry stale
/// ones.
fn set_stage_attributes(event: &mut Event, attributes: Vec<(String, String)>) {
    event
        .attributes
        .retain(|(name, _)| !name.starts_with(crate::ATTRIBUTE_PREFIX));
    event.attributes.extend(attributes);
}

/// The version at `config.field` of the event's payload.
fn version_of<'a>(event: &'a Event, config: &Config) -> Result<Found<'a>, Error> {
    let field = &config.field;
    let text = match field.find(&event.payload) {
        Ok(lookup::Found::Text(text)) => text,
        Ok(lookup::Found::Missing) => {
            return Err(Error::permanent(format!(
                "payload field `{field}` is missing"
            )));
        }
        Ok(lookup::Found::Other(kind)) => {
            return Err(Error::permanent(format!(
                "payload field `{field}` is not a string but {kind}"
            )));
        }
        // The SDK's message names the event and the position of the syntax error.
        Err(error) => {
            return Err(event.payload_json().err().unwrap_or_else(|| {
                Error::permanent(format!(
                    "payload of event `{}` is invalid: {error}",
                    event.id
                ))
            }));
        }
    };
    let remembered = match config.mode {
        Mode::Strict => strict_version(&text, config.allow_v_prefix).map_err(|reason| {
            Error::permanent(format!(
                "payload field `{field}` holds `{text}`, which is not a valid SemVer 2.0 version: {reason}"
            ))
        })?,
        Mode::Svt => svt_version(&text, config.allow_v_prefix).map_err(|reason| {
            Error::permanent(format!("payload field `{field}` holds `{text}`, {reason}"))
        })?,
    };
    Ok(Found {
        written: text,
        remembered,
    })
}

/// `text` as SemVer 2.0 (see [`bump::parse`]), remembered as written less an accepted `v`: a
/// text SemVer accepts is its version's canonical text, so it need not be printed again.
fn strict_version(text: &str, allow_v_prefix: bool) -> Result<Reported, String> {
    let version = bump::parse(text, allow_v_prefix)?;
    let unprefixed = text.strip_prefix('v').unwrap_or(text);
    Ok(Reported {
        text: unprefixed.to_owned(),
        version,
        coerced: false,
    })
}

/// `text` under the `svt` rule: SemVer if it is, its lenient reading otherwise.
fn svt_version(text: &str, allow_v_prefix: bool) -> Result<Reported, String> {
    let unprefixed = match text.strip_prefix('v') {
        Some(rest) if allow_v_prefix => rest,
        _ => text,
    };
    if !svt::matches(unprefixed) {
        let hint = if text.starts_with('v') && !allow_v_prefix {
            " (set `allow_v_prefix = true` to accept a leading `v`)"
        } else {
            ""
        };
        return Err(format!(
            "which does not match the Stack Versions Tracker rule `{}`{hint}",
            svt::RULE
        ));
    }
    if let Ok(version) = Version::parse(unprefixed) {
        return Ok(Reported {
            text: unprefixed.to_owned(),
            version,
            coerced: false,
        });
    }
    let version = svt::coerce(unprefixed).ok_or_else(|| {
        "which matches the Stack Versions Tracker rule but has a number too large to compare"
            .to_string()
    })?;
    Ok(Reported {
        text: unprefixed.to_string(),
        version,
        coerced: true,
    })
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
            ..Config::default()
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

        // Annotating again (a replay) replaces rather than repeats; the same version again is a
        // redeploy.
        let same = Version::parse("2.0.0").expect("valid");
        annotate(&mut event, &config("app.version", true), Some(&same)).expect("valid");
        assert_eq!(event.attribute("semver.bump"), Some("same"));
        assert_eq!(event.attribute("semver.redeploy"), Some("true"));
        assert_eq!(event.attributes.len(), 8);
        annotate(&mut event, &config("app.version", true), None).expect("valid");
        assert_eq!(event.attribute("semver.previous"), None);
        assert_eq!(event.attribute("semver.redeploy"), None);
        assert_eq!(event.attributes.len(), 6);
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

    fn gate(json: &str) -> Config {
        Config::parse(json).expect("valid config")
    }

    fn remembered(text: &str) -> Reported {
        Reported::parse(text).expect("a remembered version")
    }

    /// The event `process` passed on, if it passed one.
    fn passed(outcome: &Outcome) -> Option<&Event> {
        match &outcome.processed {
            Processed::Replace(events) => events.first(),
            _ => None,
        }
    }

    #[test]
    fn flags_downgrades_and_redeploys() {
        let config = Config::default();
        // Attributes a previous pass left behind are replaced or removed.
        let mut stale = event(r#"{"version": "1.5.0"}"#);
        for name in [
            "semver.downgrade",
            "semver.redeploy",
            "semver.coerced",
            "semver.policy",
            "semver.policy_reason",
        ] {
            stale.set_attribute(name, "stale");
        }
        // version, previous, bump, semver.downgrade, semver.redeploy
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            ("1.3.9", Some("1.4.0"), "downgrade", Some("true"), None),
            ("1.4.0-rc.1", Some("1.4.0"), "downgrade", Some("true"), None),
            ("1.4.0", Some("1.4.0"), "same", None, Some("true")),
            (
                "1.4.0+build.2",
                Some("1.4.0+build.1"),
                "same",
                None,
                Some("true"),
            ),
            ("1.5.0", Some("1.4.0"), "minor", None, None),
            ("1.5.0", None, "initial", None, None),
        ];
        for &(version, previous, bump, downgrade, redeploy) in cases {
            let mut input = stale.clone();
            input.payload = format!(r#"{{"version": "{version}"}}"#);
            let previous = previous.map(remembered);
            let outcome = process(input, &config, previous.as_ref());
            let event = passed(&outcome).expect("passes");
            assert_eq!(event.attribute("semver.bump"), Some(bump), "{version}");
            assert_eq!(event.attribute("semver.downgrade"), downgrade, "{version}");
            assert_eq!(event.attribute("semver.redeploy"), redeploy, "{version}");
            assert_eq!(
                event.attribute("semver.previous"),
                previous.as_ref().map(|p| p.text.as_str())
            );
            for name in ["semver.coerced", "semver.policy", "semver.policy_reason"] {
                assert_eq!(event.attribute(name), None, "{version} {name}");
            }
            // The state keeps the version as reported, also after a downgrade.
            assert_eq!(outcome.remember.map(|r| r.text), Some(version.to_string()));
        }
    }

    #[test]
    fn svt_mode_accepts_what_svt_accepted() {
        type Expected<'a> = Result<(&'a str, &'a str, &'a str, Option<&'a str>), &'a str>;
        // version, allow_v_prefix, previous, then (semver.major.minor.patch-pre, semver.bump,
        // remembered text, semver.coerced) or the error.
        let cases: &[(&str, bool, Option<&str>, Expected)] = &[
            (
                "5.27.94",
                false,
                None,
                Ok(("5.27.94", "initial", "5.27.94", None)),
            ),
            (
                "1.2.3-rc1",
                false,
                Some("1.2.2"),
                Ok(("1.2.3-rc1", "patch", "1.2.3-rc1", None)),
            ),
            (
                "01.02.03",
                false,
                Some("1.2.2"),
                Ok(("1.2.3", "patch", "01.02.03", Some("true"))),
            ),
            (
                "1.2.3rc1",
                false,
                Some("1.2.2"),
                Ok(("1.2.3-rc1", "patch", "1.2.3rc1", Some("true"))),
            ),
            (
                "1.2.3rc1",
                false,
                Some("1.2.3"),
                Ok(("1.2.3-rc1", "downgrade", "1.2.3rc1", Some("true"))),
            ),
            (
                "1.2.3-",
                false,
                Some("1.2.3"),
                Ok(("1.2.3", "same", "1.2.3-", Some("true"))),
            ),
            (
                "1.2.3+a+b",
                false,
                None,
                Ok(("1.2.3", "initial", "1.2.3+a+b", Some("true"))),
            ),
            (
                "1.3.0",
                false,
                Some("01.02.03"),
                Ok(("1.3.0", "minor", "1.3.0", None)),
            ),
            (
                "2.0.0",
                false,
                Some("1.2.3rc1"),
                Ok(("2.0.0", "major", "2.0.0", None)),
            ),
            (
                "v1.2.3",
                true,
                None,
                Ok(("1.2.3", "initial", "1.2.3", None)),
            ),
            (
                "v01.2.3",
                true,
                None,
                Ok(("1.2.3", "initial", "01.2.3", Some("true"))),
            ),
            (
                "1.2.3-rc.1",
                false,
                None,
                Err(
                    "payload field `version` holds `1.2.3-rc.1`, which does not match the Stack Versions Tracker rule `^[0-9]+\\.[0-9]+\\.[0-9]+[+0-9A-Za-z-]*$`",
                ),
            ),
            (
                "5.27",
                false,
                None,
                Err(
                    "payload field `version` holds `5.27`, which does not match the Stack Versions Tracker rule `^[0-9]+\\.[0-9]+\\.[0-9]+[+0-9A-Za-z-]*$`",
                ),
            ),
            (
                "v1.2.3",
                false,
                None,
                Err(
                    "payload field `version` holds `v1.2.3`, which does not match the Stack Versions Tracker rule `^[0-9]+\\.[0-9]+\\.[0-9]+[+0-9A-Za-z-]*$` (set `allow_v_prefix = true` to accept a leading `v`)",
                ),
            ),
            (
                "1.2.99999999999999999999",
                false,
                None,
                Err(
                    "payload field `version` holds `1.2.99999999999999999999`, which matches the Stack Versions Tracker rule but has a number too large to compare",
                ),
            ),
        ];
        for (version, allow_v_prefix, previous, expected) in cases {
            let config = Config {
                mode: Mode::Svt,
                allow_v_prefix: *allow_v_prefix,
                ..Config::default()
            };
            let previous = previous.map(remembered);
            let input = event(&format!(r#"{{"version": "{version}"}}"#));
            let outcome = process(input, &config, previous.as_ref());
            match expected {
                Ok((semver, bump, text, coerced)) => {
                    let event = passed(&outcome).unwrap_or_else(|| panic!("{version} passes"));
                    let attribute = |name| event.attribute(name).unwrap_or_default();
                    let mut got = format!(
                        "{}.{}.{}",
                        attribute("semver.major"),
                        attribute("semver.minor"),
                        attribute("semver.patch")
                    );
                    if !attribute("semver.prerelease").is_empty() {
                        got = format!("{got}-{}", attribute("semver.prerelease"));
                    }
                    assert_eq!(got, *semver, "{version}");
                    assert_eq!(event.attribute("semver.bump"), Some(*bump), "{version}");
                    assert_eq!(event.attribute("semver.coerced"), *coerced, "{version}");
                    let remembered = outcome.remember.expect("remembered");
                    assert_eq!(remembered.text, *text, "{version}");
                    // What is remembered reads back the same.
                    assert_eq!(Reported::parse(text), Some(remembered), "{version}");
                }
                Err(message) => {
                    assert_eq!(
                        outcome.processed,
                        Processed::Fail(Error::permanent(*message))
                    );
                    assert_eq!(outcome.remember, None);
                }
            }
        }
    }

    #[test]
    fn policies_gate_per_on_reject() {
        let previous = remembered("1.4.0");
        let patch = |on_reject: &str| {
            gate(&format!(
                r#"{{"policy": "patch", "on_reject": "{on_reject}"}}"#
            ))
        };
        let reason =
            "`1.5.0` changes the minor version of `1.4.0`, which policy `patch` does not allow";

        // Accepted: passes, marked.
        let outcome = process(
            event(r#"{"version": "1.4.1"}"#),
            &patch("drop"),
            Some(&previous),
        );
        let accepted = passed(&outcome).expect("passes");
        assert_eq!(accepted.attribute("semver.policy"), Some("accepted"));
        assert_eq!(accepted.attribute("semver.policy_reason"), None);
        assert_eq!(accepted.attribute("semver.bump"), Some("patch"));

        // Rejected: dropped, failed or annotated; remembered in every case.
        let dropped = process(
            event(r#"{"version": "1.5.0"}"#),
            &patch("drop"),
            Some(&previous),
        );
        assert_eq!(dropped.processed, Processed::Replace(Vec::new()));
        assert_eq!(dropped.remember, Some(remembered("1.5.0")));
        let default = process(
            event(r#"{"version": "1.5.0"}"#),
            &gate(r#"{"policy": "patch"}"#),
            Some(&previous),
        );
        assert_eq!(default, dropped);

        let failed = process(
            event(r#"{"version": "1.5.0"}"#),
            &patch("fail"),
            Some(&previous),
        );
        assert_eq!(
            failed.processed,
            Processed::Fail(Error::permanent(format!(
                "version `1.5.0` of subject `web` is rejected: {reason}"
            )))
        );
        assert_eq!(failed.remember, Some(remembered("1.5.0")));

        let annotated = process(
            event(r#"{"version": "1.5.0"}"#),
            &patch("annotate"),
            Some(&previous),
        );
        let rejected = passed(&annotated).expect("passes");
        assert_eq!(rejected.attribute("semver.policy"), Some("rejected"));
        assert_eq!(rejected.attribute("semver.policy_reason"), Some(reason));
        assert_eq!(rejected.attribute("semver.bump"), Some("minor"));
        assert_eq!(annotated.remember, Some(remembered("1.5.0")));

        // An invalid version fails as before, whatever the policy, and is not remembered.
        let invalid = process(
            event(r#"{"version": "1.5"}"#),
            &patch("annotate"),
            Some(&previous),
        );
        assert!(matches!(invalid.processed, Processed::Fail(_)));
        assert_eq!(invalid.remember, None);
    }

    #[test]
    fn policy_and_range_combine() {
        // config (with `on_reject = "annotate"` added), previous, version, semver.policy
        let cases: &[(&str, Option<&str>, &str, Option<&str>)] = &[
            (r#""policy": "minor""#, None, "9.0.0", Some("accepted")),
            (
                r#""policy": "minor""#,
                Some("1.4.0"),
                "1.4.0",
                Some("rejected"),
            ),
            (
                r#""policy": "minor", "range": "^1.2""#,
                Some("1.4.0"),
                "1.5.0",
                Some("accepted"),
            ),
            (
                r#""policy": "minor", "range": "<1.5.0""#,
                Some("1.4.0"),
                "1.5.0",
                Some("rejected"),
            ),
            (
                r#""policy": "patch", "range": "^1""#,
                Some("1.4.0"),
                "1.5.0",
                Some("rejected"),
            ),
            (
                r#""range": "^1.2""#,
                Some("1.4.0"),
                "1.3.0",
                Some("accepted"),
            ),
            (
                r#""range": "^1.2""#,
                Some("1.4.0"),
                "1.5.0-rc.1",
                Some("rejected"),
            ),
            (
                r#""range": "^1.2.0-0""#,
                Some("1.4.0"),
                "1.5.0-rc.1",
                Some("accepted"),
            ),
            (
                r#""policy": "glob:v1.4.*", "allow_v_prefix": true"#,
                Some("1.4.0"),
                "v1.4.1",
                Some("accepted"),
            ),
            (
                r#""policy": "patch", "allow_v_prefix": true"#,
                Some("1.4.0"),
                "v1.4.1",
                Some("accepted"),
            ),
            // A coerced `svt` version: a policy reads it leniently, a range strictly.
            (
                r#""range": "*", "mode": "svt""#,
                Some("1.4.0"),
                "1.4.1rc1",
                Some("rejected"),
            ),
            (
                r#""policy": "all", "mode": "svt""#,
                Some("1.4.0"),
                "01.04.01",
                Some("accepted"),
            ),
            (
                r#""policy": "never", "range": "*""#,
                None,
                "1.0.0",
                Some("rejected"),
            ),
        ];
        for &(options, previous, version, expected) in cases {
            let config = gate(&format!(r#"{{{options}, "on_reject": "annotate"}}"#));
            let previous = previous.map(remembered);
            let outcome = process(
                event(&format!(r#"{{"version": "{version}"}}"#)),
                &config,
                previous.as_ref(),
            );
            let event = passed(&outcome).unwrap_or_else(|| panic!("{options} {version} passes"));
            assert_eq!(
                event.attribute("semver.policy"),
                expected,
                "{options} {version}"
            );
            assert_eq!(
                event.attribute("semver.policy_reason").is_some(),
                expected == Some("rejected"),
                "{options} {version}"
            );
        }
        let range_reason = process(
            event(r#"{"version": "1.5.0"}"#),
            &gate(r#"{"policy": "minor", "range": "<1.5.0", "on_reject": "annotate"}"#),
            Some(&remembered("1.4.0")),
        );
        assert_eq!(
            passed(&range_reason).and_then(|e| e.attribute("semver.policy_reason")),
            Some("`1.5.0` is outside range `<1.5.0`")
        );
    }

    #[test]
    fn remembered_versions_read_back() {
        assert_eq!(
            Reported::parse("1.2.3"),
            Some(Reported::semver(Version::new(1, 2, 3)))
        );
        for text in [
            "0.0.0",
            "1.2.3-rc.1+build.01",
            "10.20.30-alpha-1.0A+b--x.007",
            "1.2.3+ZZZ",
        ] {
            assert_eq!(
                Reported::parse(text),
                Some(Reported::semver(Version::parse(text).expect("SemVer"))),
                "{text}"
            );
        }
        let coerced = Reported::parse("01.2.3rc1").expect("svt text");
        assert!(coerced.coerced);
        assert_eq!(coerced.text, "01.2.3rc1");
        assert_eq!(coerced.version.to_string(), "1.2.3-rc1");
        for garbage in ["", "latest", "1.2", "v1.2.3", "\u{fffd}"] {
            assert_eq!(Reported::parse(garbage), None, "{garbage}");
        }
    }
}
