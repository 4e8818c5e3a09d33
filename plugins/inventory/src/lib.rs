//! `inventory`: a sink that records version reports in the host's version inventory, which
//! answers "which version of which app runs in which environment", with every report kept as
//! history (`GET /v1/orgs/{org}/environments/...` and the SVT-compatible `/list`).
//!
//! One inventory, many inputs: `version.reported` events (the SVT-compatible `POST /create`, the
//! generic event route) and successful `deployment.finished` events (the deployment-tracker API)
//! become reports; failed deployments, deployments without an environment, package or version,
//! and every other kind are delivered without one. Put it after the `semver` processor to record
//! the bump it classified. Submits are idempotent on the event id, so replays never duplicate
//! history; the host's errors (retryable while its store is busy) pass through unchanged. The
//! stage needs the `inventory` grant.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`kinds`, `reporter`).
//! - [`report`]: the pure mapping from an event to the version report it carries.
//! - this file: the sink, the only code that calls the host.

pub mod config;
pub mod report;

use trackway_plugin_sdk::{Error, Event, Sink, inventory};

use crate::config::Config;

/// The `inventory` sink.
pub struct Inventory {
    config: Config,
}

impl Sink for Inventory {
    fn init(config: &str) -> Result<Self, Error> {
        Ok(Inventory {
            config: Config::parse(config)?,
        })
    }

    fn deliver(&mut self, event: Event) -> Result<(), Error> {
        match report::to_report(&event, &self.config)? {
            Some(report) => inventory::submit(&report),
            None => Ok(()),
        }
    }
}

trackway_plugin_sdk::export_sink!(Inventory);
