//! `webhook`: a sink that sends one HTTP request per event to a webhook: a Slack incoming-webhook
//! message by default, or any JSON body built from a template, for the events the `only`
//! conditions select (all of them without).
//!
//! Requests go out one per event, in the batch's order. A 2xx answer delivers the event; 429 and
//! 5xx are retryable (after `Retry-After` when given), any other answer permanent (see
//! [`response`]); no connection or a timeout is the host's retryable error. After the first
//! failure of a batch, its remaining events are not sent: each gets a retryable error saying
//! so, and the host delivers them again after the failed one, so the receiver still sees the
//! events in order. Events `only` leaves out are delivered without a request. The stage needs
//! an `http` grant for the URL's host.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`url`, `method`, `headers`, `template`, `only`).
//! - [`template`]: placeholders, templates and the default Slack message.
//! - [`condition`]: the `only` conditions.
//! - [`notification`]: the pure mapping from an event to its request.
//! - [`response`]: what a status means for the event.
//! - this file: the sink, the only code that calls the host.

pub mod condition;
pub mod config;
pub mod notification;
pub mod response;
pub mod template;

use trackway_plugin_sdk::{Error, Event, Sink, http};

use crate::config::Config;

/// The `webhook` sink.
pub struct Webhook {
    config: Config,
}

impl Sink for Webhook {
    fn init(config: &str) -> Result<Self, Error> {
        Ok(Webhook {
            config: Config::parse(config)?,
        })
    }

    fn deliver(&mut self, event: Event) -> Result<(), Error> {
        match notification::request(&self.config, &event) {
            Some(request) => send(&request),
            None => Ok(()),
        }
    }

    fn deliver_batch(&mut self, events: Vec<Event>) -> Vec<Result<(), Error>> {
        let mut results = Vec::with_capacity(events.len());
        let mut failed = false;
        for event in &events {
            let result = match notification::request(&self.config, event) {
                None => Ok(()),
                Some(_) if failed => Err(Error::retryable(
                    "not attempted: an earlier event of the batch failed",
                )),
                Some(request) => send(&request),
            };
            failed |= result.is_err();
            results.push(result);
        }
        results
    }
}

/// Send `request` and classify the answer.
fn send(request: &http::Request) -> Result<(), Error> {
    let answer = http::send(request)?;
    response::outcome(answer.status, answer.header("retry-after"), &answer.body)
}

trackway_plugin_sdk::export_sink!(Webhook);
