//! `ownership`: an example processor written outside trackway's plugin workspace. It rejects
//! deployments that do not say what they deploy where, and tags the others with the team that
//! owns their package, so that every sink after it (history, Logstash, SQL, a Slack message)
//! can say whose deployment it was.
//!
//! A passing event is replaced by itself with the `team` attribute (the name is configurable)
//! set from the stage's `teams` map, `package -> team`. An event whose payload lacks a required
//! field (default `environment`, `package` and `version`), or whose package has no team, fails
//! permanently with a message saying which: the host puts it in the dead-letter queue
//! (`GET /v1/orgs/{org}/dlq`), from which it can be replayed once the config is fixed.
//!
//! The stage keeps no state and calls no host interface, so it needs no `grants`. Which events
//! it sees is up to the pipeline (e.g. a source with `kinds = ["deployment.started"]`).
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`required`, `package_field`, `teams`, `default_team`,
//!   `attribute`) and their validation.
//! - [`annotate`]: the pure per-event step (payload -> required fields -> team -> attribute).
//! - this file: the processor and its `export_processor!`, the only code the host calls.

pub mod annotate;
pub mod config;

use trackway_plugin_sdk::{Error, Event, Processed, Processor};

use crate::config::Config;

/// The `ownership` processor.
pub struct Ownership {
    config: Config,
}

impl Processor for Ownership {
    fn init(config: &str) -> Result<Self, Error> {
        Ok(Ownership {
            config: Config::parse(config)?,
        })
    }

    fn process(&mut self, event: Event) -> Processed {
        annotate::process(event, &self.config)
    }
}

trackway_plugin_sdk::export_processor!(Ownership);
