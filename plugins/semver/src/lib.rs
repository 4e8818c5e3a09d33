//! `semver`: a processor that validates the SemVer 2.0 version in each event's payload and
//! classifies it against the previous version seen for the same subject.
//!
//! A valid event is replaced by itself with `semver.major`, `semver.minor`, `semver.patch`,
//! `semver.prerelease` (empty when none), `semver.bump` (`initial`, `major`, `minor`, `patch`,
//! `prerelease`, `same` or `downgrade`) and, when there was one, `semver.previous`. An event
//! without a valid version fails permanently with the reason. The last version of each subject
//! is kept in `state` under the subject (also after a downgrade: it is the last one reported), so
//! the stage needs the `state` grant.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`field`, `allow_v_prefix`).
//! - [`annotate`]: the pure per-event step (payload -> attributes).
//! - [`bump`]: the pure SemVer logic (strict parsing, classification).
//! - this file: the processor, the only code that calls the host.

pub mod annotate;
pub mod bump;
pub mod config;

/// The parsed version type, for callers of the pure modules (e.g. the host's benchmarks).
pub use semver::Version;
use trackway_plugin_sdk::{Error, Event, Processed, Processor, state};

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

    fn process(&mut self, mut event: Event) -> Processed {
        let stored = state::get(&event.subject);
        let previous = stored
            .as_deref()
            .and_then(|bytes| stored_version(&event, bytes));
        match annotate::annotate(&mut event, &self.config, previous.as_ref()) {
            Ok(version) => {
                let text = version.to_string();
                // Replays mostly bring the same version again: skip the write then.
                if stored.as_deref() != Some(text.as_bytes()) {
                    state::set(&event.subject, text.as_bytes());
                }
                Processed::Replace(vec![event])
            }
            Err(error) => Processed::Fail(error),
        }
    }
}

/// The version stored for the event's subject. Only this plugin writes it, so an unreadable one
/// means a bug or a foreign writer: say so, and treat the event as the subject's first version
/// rather than fail every event of that subject forever.
fn stored_version(event: &Event, bytes: &[u8]) -> Option<Version> {
    let version = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| Version::parse(text).ok());
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
