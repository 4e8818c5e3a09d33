//! `history`: a sink that appends every event it receives to a named history stream of the
//! host, served by `GET /v1/orgs/{org}/history/{stream}`.
//!
//! The stream is fixed (`stream = "deploys"`) or chosen per event kind (`stream = "{kind}"`).
//! Appends are idempotent on the event id, so replays never duplicate entries; the host's errors
//! (retryable while its store is busy) pass through unchanged. Events are appended as delivered
//! (`append-delivered`): only their ids cross back to the host, which keeps what it handed over.
//! The stage needs the `history` grant.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`stream`) and stream-name rules.
//! - this file: the sink, the only code that calls the host.

pub mod config;

use trackway_plugin_sdk::{Error, Event, Sink, history};

use crate::config::{Config, Stream};

/// The `history` sink.
pub struct History {
    stream: Stream,
}

impl Sink for History {
    fn init(config: &str) -> Result<Self, Error> {
        let Config { stream } = Config::parse(config)?;
        Ok(History { stream })
    }

    fn deliver(&mut self, event: Event) -> Result<(), Error> {
        let stream = self.stream.resolve(&event.kind)?;
        history::append_delivered(&stream, &event)
    }
}

trackway_plugin_sdk::export_sink!(History);
