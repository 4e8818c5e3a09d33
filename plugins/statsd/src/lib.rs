//! `statsd`: a sink that counts deployments, servers and log lines in statsd (counters, and
//! timers in milliseconds): the deployment-tracker seed's statsd output, with its name and unit
//! bugs fixed (see [`metrics`]).
//!
//! A batch goes out as one `statsd::send` of the metrics of all its events (the host packs them
//! into as few datagrams as fit). When sending fails, every event of the batch that did not fail
//! on its own gets that error (retryable while the server cannot be reached); an event that cannot
//! be counted (a payload that is not a JSON object, an `elapsed_seconds` that is not a
//! non-negative number) fails permanently on its own, and the rest of its batch is still sent.
//! Kinds the stage does not count are delivered without a metric. The stage needs a `statsd`
//! grant naming the configured server, checked in `init`.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`host`, `port`, `prefix`).
//! - [`metrics`]: the pure mapping from an event to its metrics, and every metric name.
//! - this file: the sink, the only code that calls the host.

pub mod config;
pub mod metrics;

use trackway_plugin_sdk::{Error, Event, Sink, statsd};

use crate::config::Config;

/// The `statsd` sink.
pub struct Statsd {
    /// The granted server, as the host names it.
    target: String,
    prefix: String,
}

impl Sink for Statsd {
    fn init(config: &str) -> Result<Self, Error> {
        let Config { target, prefix } = Config::parse(config)?;
        let target = statsd::resolve(Some(&target))
            .map_err(|error| Error::invalid_config("host", error.message()))?;
        Ok(Statsd { target, prefix })
    }

    fn deliver(&mut self, event: Event) -> Result<(), Error> {
        let metrics = metrics::metrics(&event, &self.prefix)?;
        if metrics.is_empty() {
            return Ok(());
        }
        statsd::send(Some(&self.target), &metrics)
    }

    fn deliver_batch(&mut self, events: Vec<Event>) -> Vec<Result<(), Error>> {
        let mut results = Vec::with_capacity(events.len());
        let mut batch = Vec::new();
        for event in &events {
            match metrics::metrics(event, &self.prefix) {
                Ok(metrics) => {
                    batch.extend(metrics);
                    results.push(Ok(()));
                }
                Err(error) => results.push(Err(error)),
            }
        }
        if batch.is_empty() {
            return results;
        }
        if let Err(error) = statsd::send(Some(&self.target), &batch) {
            // The host sends all or nothing of an invalid batch, and a socket error says nothing
            // about which datagrams left: every event that was not already failed gets it.
            for result in results.iter_mut().filter(|result| result.is_ok()) {
                *result = Err(error.clone());
            }
        }
        results
    }
}

trackway_plugin_sdk::export_sink!(Statsd);
