//! `redis-logstash`: a sink that appends one JSON document per event to a Redis list, the
//! transport Logstash's `redis` input reads (`data_type => "list"`, `codec => json`): the
//! deployment-tracker seed's Logstash output.
//!
//! A batch goes out as one `RPUSH` of every document, all of them or none: the list keeps the
//! events' order, and a failed push leaves nothing behind that the retry would push twice. When
//! the push fails, every event of the batch gets that error: retryable while the server is down,
//! so the host backs off and delivers the batch again. An event whose payload is not a JSON
//! object fails permanently on its own; the rest of its batch is still pushed. The stage needs a
//! `redis` grant naming the configured server, checked in `init`.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`host`, `port`, `db`, `index`, `key`,
//!   `additional_fields`).
//! - [`document`]: the pure mapping from an event to its Logstash document.
//! - this file: the sink, the only code that calls the host.

pub mod config;
pub mod document;

use serde_json::{Map, Value};
use trackway_plugin_sdk::{Error, Event, Sink, redis};

use crate::config::Config;

/// The `redis-logstash` sink.
pub struct RedisLogstash {
    /// The granted server, as the host normalised it.
    target: String,
    key: String,
    index: String,
    additional_fields: Map<String, Value>,
}

impl Sink for RedisLogstash {
    fn init(config: &str) -> Result<Self, Error> {
        let config = Config::parse(config)?;
        // `host`, `port` and `db` make the target; `host` is the option people get wrong.
        let target = redis::resolve(Some(&config.target))
            .map_err(|error| Error::invalid_config("host", error.message()))?;
        Ok(RedisLogstash {
            target,
            key: config.key,
            index: config.index,
            additional_fields: config.additional_fields,
        })
    }

    fn deliver(&mut self, event: Event) -> Result<(), Error> {
        let document = document::to_json(&event, &self.index, &self.additional_fields)?;
        redis::rpush(Some(&self.target), &self.key, &[document]).map(drop)
    }

    fn deliver_batch(&mut self, events: Vec<Event>) -> Vec<Result<(), Error>> {
        let mut results = Vec::with_capacity(events.len());
        let mut documents = Vec::with_capacity(events.len());
        for event in &events {
            match document::to_json(event, &self.index, &self.additional_fields) {
                Ok(document) => {
                    documents.push(document);
                    results.push(Ok(()));
                }
                Err(error) => results.push(Err(error)),
            }
        }
        if documents.is_empty() {
            return results;
        }
        if let Err(error) = redis::rpush(Some(&self.target), &self.key, &documents) {
            // Nothing was pushed: every event that had a document failed with the push.
            for result in results.iter_mut().filter(|result| result.is_ok()) {
                *result = Err(error.clone());
            }
        }
        results
    }
}

trackway_plugin_sdk::export_sink!(RedisLogstash);
