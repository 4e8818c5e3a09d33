//! `semver`: a processor that validates the version in each event's payload, classifies it
//! against the previous version of the same subject, and lets a version policy decide whether
//! the event passes.
//!
//! A valid event is replaced by itself with `semver.major`, `semver.minor`, `semver.patch`,
//! `semver.prerelease` (empty when none), `semver.bump` (`initial`, `major`, `minor`, `patch`,
//! `prerelease`, `same` or `downgrade`), `semver.previous` when there was a previous version,
//! and the flags `semver.downgrade = "true"` (a lower version than the previous one),
//! `semver.redeploy = "true"` (the same version again) and `semver.coerced = "true"` (`svt` mode,
//! a version that is not SemVer, classified by its lenient reading); a flag that does not apply
//! is absent. An event without a valid version fails permanently with the reason. When the event
//! had no `semver.*` attribute yet, the answer is `annotate` with the new attributes only, so the
//! rest of the event does not cross back to the host.
//!
//! Validation (`mode`): `strict` SemVer 2.0, or `svt`, the rule of the Stack Versions Tracker
//! that trackway replaces (see [`svt`]), for teams migrating from it.
//!
//! Policies: with a Keel-style `policy` (judged against the previous version) and/or a
//! Flux-style `range` (judged on the version alone), see [`policy`], a passing event also gets
//! `semver.policy = "accepted"`; a rejected one is dropped, failed, or passed with
//! `semver.policy = "rejected"` and `semver.policy_reason`, per `on_reject`. Both order a
//! version as `semver.bump` does (so an `svt` version such as `1.4.2rc1` is `1.4.2-rc1` to
//! them too), and `glob:`/`regexp:` match it as written in the payload.
//!
//! The last version reported for each subject is kept in `state` under the subject, so the stage
//! needs the `state` grant. It is kept whatever the policy says, and also after a downgrade: an
//! event reports a deployment that happened, so the next one is judged against what actually ran
//! before it. (Were a rejected version not remembered, one rejected deploy would have every later
//! one judged against a version no longer running: under `patch`, after `1.2.3` -> `1.3.0`
//! (rejected), `1.3.1` would be compared with `1.2.3` and rejected too, forever.) A tracker that
//! decides what to deploy instead keeps its own running version and calls
//! [`Policy::accepts`](policy::Policy::accepts) with it.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`field`, `allow_v_prefix`, `mode`, `policy`, `range`,
//!   `match_prerelease`, `on_reject`).
//! - [`annotate`]: the pure per-event step (payload -> attributes -> policy decision); the
//!   stage's attributes replace every `semver.*` attribute of the event and come last.
//! - [`lookup`]: the version field of a JSON payload, found in one pass over its text.
//! - [`bump`]: the pure SemVer logic (strict parsing, classification).
//! - [`svt`]: the Stack Versions Tracker's version rule and its lenient reading.
//! - [`policy`]: Keel-style policies and Flux-style ranges, pure and reusable.
//! - this file: the processor, the only code that calls the host.

pub mod annotate;
pub mod bump;
pub mod config;
pub mod lookup;
pub mod policy;
pub mod svt;

use trackway_plugin_sdk::{Error, Event, Processed, Processor, state};

use crate::annotate::Reported;
use crate::config::Config;

/// The prefix of the attributes this stage owns (`semver.major`, ...).
pub const ATTRIBUTE_PREFIX: &str = "semver.";

/// The `semver` processor.
pub struct Semver {
    config: Config,
}

impl Processor for Semver {
    fn init(config: &str) -> Result<Self, Error> {
        Ok(Semver {
            config: Config::parse(config)?,
        })
    }

    fn process(&mut self, event: Event) -> Processed {
        let stored = state::get(&event.subject);
        let subject = event.subject.clone();
        let (processed, remember) = self.step(event, stored.as_deref());
        if let Some(text) = remember {
            state::set(&subject, text.as_bytes());
        }
        processed
    }
}

impl Semver {
    /// The whole per-event step, given what `state` holds for the event's subject: the answer,
    /// and the text to store for the subject when it changes. [`Processor::process`] adds only
    /// the two `state` calls; the host's benchmark runs this natively as the stage's native twin.
    pub fn step(&self, event: Event, stored: Option<&[u8]>) -> (Processed, Option<String>) {
        let previous = stored.and_then(|bytes| stored_version(&event, bytes));
        // The stage only adds `semver.*` attributes to an event that has none yet (the usual
        // case): then the answer is just those, and the rest of the event stays on the host.
        let kept = (!event
            .attributes
            .iter()
            .any(|(name, _)| name.starts_with(ATTRIBUTE_PREFIX)))
        .then_some(event.attributes.len());
        let outcome = annotate::process(event, &self.config, previous.as_ref());
        // Replays mostly bring the same version again: no write then.
        let remember = outcome
            .remember
            .filter(|reported| stored != Some(reported.text.as_bytes()))
            .map(|reported| reported.text);
        let processed = match (outcome.processed, kept) {
            (Processed::Replace(mut events), Some(kept)) if events.len() == 1 => {
                Processed::Annotate(events.pop().expect("one event").attributes.split_off(kept))
            }
            (processed, _) => processed,
        };
        (processed, remember)
    }
}

/// The version stored for the event's subject. Only this plugin writes it, so an unreadable one
/// means a bug or a foreign writer: say so, and treat the event as the subject's first version
/// rather than fail every event of that subject forever.
fn stored_version(event: &Event, bytes: &[u8]) -> Option<Reported> {
    let version = std::str::from_utf8(bytes).ok().and_then(Reported::parse);
    if version.is_none() {
        trackway_plugin_sdk::warn!(
            "state of subject `{}` holds no valid version; classifying event `{}` as initial",
            event.subject,
            event.id
        );
    }
    version
}

trackway_plugin_sdk::export_processor!(Semver);

#[cfg(test)]
mod tests {
    use super::*;

    fn event(attributes: &[(&str, &str)], version: &str) -> Event {
        Event {
            id: "01J0000000000000000000000A".into(),
            org: "acme".into(),
            kind: "version.reported".into(),
            source: "api".into(),
            time: 1,
            subject: "prod/web".into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            payload: format!(r#"{{"version": "{version}"}}"#),
            parent: None,
        }
    }

    fn names(pairs: &[(String, String)]) -> Vec<&str> {
        pairs.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn an_event_without_semver_attributes_is_answered_with_the_new_ones_only() {
        let stage = Semver::init(r#"{"field": "version"}"#).expect("valid config");
        let (processed, remember) = stage.step(event(&[("team", "core")], "1.3.0"), Some(b"1.2.9"));
        let Processed::Annotate(pairs) = processed else {
            panic!("expected annotate, got {processed:?}");
        };
        assert_eq!(
            names(&pairs),
            [
                "semver.major",
                "semver.minor",
                "semver.patch",
                "semver.prerelease",
                "semver.bump",
                "semver.previous"
            ]
        );
        assert!(pairs.contains(&("semver.bump".into(), "minor".into())));
        assert_eq!(remember.as_deref(), Some("1.3.0"));
    }

    #[test]
    fn an_event_with_a_stale_semver_attribute_is_replaced_whole_and_an_unchanged_version_not_stored()
     {
        let stage = Semver::init(r#"{"field": "version"}"#).expect("valid config");
        let input = event(&[("semver.downgrade", "true"), ("team", "core")], "1.3.0");
        let (processed, remember) = stage.step(input, Some(b"1.3.0"));
        let Processed::Replace(events) = processed else {
            panic!("expected replace, got {processed:?}");
        };
        assert_eq!(events.len(), 1);
        let attributes = &events[0].attributes;
        assert!(!names(attributes).contains(&"semver.downgrade"));
        assert!(attributes.contains(&("semver.redeploy".into(), "true".into())));
        assert!(attributes.contains(&("team".into(), "core".into())));
        assert_eq!(remember, None);
    }

    #[test]
    fn an_invalid_version_fails_and_stores_nothing() {
        let stage = Semver::init(r#"{"field": "version"}"#).expect("valid config");
        let (processed, remember) = stage.step(event(&[], "not a version"), None);
        assert!(
            matches!(processed, Processed::Fail(Error::Permanent(_))),
            "{processed:?}"
        );
        assert_eq!(remember, None);
    }
}
