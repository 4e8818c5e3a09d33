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
//! is absent. An event without a valid version fails permanently with the reason.
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
//! - [`annotate`]: the pure per-event step (payload -> attributes -> policy decision).
//! - [`bump`]: the pure SemVer logic (strict parsing, classification).
//! - [`svt`]: the Stack Versions Tracker's version rule and its lenient reading.
//! - [`policy`]: Keel-style policies and Flux-style ranges, pure and reusable.
//! - this file: the processor, the only code that calls the host.

pub mod annotate;
pub mod bump;
pub mod config;
pub mod policy;
pub mod svt;

/// The parsed version type, for callers of the pure modules (e.g. the host's benchmarks).
pub use semver::Version;
use trackway_plugin_sdk::{Error, Event, Processed, Processor, state};

use crate::annotate::Reported;
use crate::config::Config;

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
        let previous = stored
            .as_deref()
            .and_then(|bytes| stored_version(&event, bytes));
        let subject = event.subject.clone();
        let outcome = annotate::process(event, &self.config, previous.as_ref());
        if let Some(reported) = &outcome.remember {
            // Replays mostly bring the same version again: skip the write then.
            if stored.as_deref() != Some(reported.text.as_bytes()) {
                state::set(&subject, reported.text.as_bytes());
            }
        }
        outcome.processed
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
