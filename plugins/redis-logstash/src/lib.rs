//! `redis-logstash`: a sink that appends one JSON document per event to a Redis list, the
//! transport Logstash's `redis` input reads (`data_type => "list"`, `codec => json`): the
//! deployment-tracker seed's Logstash output.
//!
//! A batch goes out as one atomic push of every document, all of them or none, so the list keeps
//! the events' order. The push remembers each event id for `dedupe_seconds` (`rpush-once`): a
//! push whose answer was lost (the connection cut, a timeout) did happen, and the retry that
//! follows skips what it already appended, so every document arrives once. When the push fails,
//! every event of the batch gets that error: retryable while the server is down, so the host
//! backs off and delivers the batch again. An event whose payload is not a JSON
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
use trackway_plugin_sdk::redis::{self, KeyedValue};
use trackway_plugin_sdk::{Error, Event, Sink};

use crate::config::Config;

/// The `redis-logstash` sink.
pub struct RedisLogstash {
    /// The granted server, as the host normalised it.
    target: String,
    key: String,
    index: String,
    additional_fields: Map<String, Value>,
    dedupe_seconds: u32,
}

impl RedisLogstash {
    /// Push `documents` (with the ids of their events), once per id unless deduplication is off.
    fn push(&self, documents: Vec<KeyedValue>) -> Result<(), Error> {
        let target = Some(self.target.as_str());
        if self.dedupe_seconds == 0 {
            let values: Vec<String> = documents.into_iter().map(|d| d.value).collect();
            redis::rpush(target, &self.key, &values)
        } else {
            redis::rpush_once(target, &self.key, &documents, self.dedupe_seconds)
        }
        .map(drop)
    }
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
            dedupe_seconds: config.dedupe_seconds,
        })
    }

    fn deliver(&mut self, event: Event) -> Result<(), Error> {
        let value = document::to_json(&event, &self.index, &self.additional_fields)?;
        self.push(vec![KeyedValue {
            id: event.id,
            value,
        }])
    }

    fn deliver_batch(&mut self, events: Vec<Event>) -> Vec<Result<(), Error>> {
        let mut results = Vec::with_capacity(events.len());
        let mut documents = Vec::with_capacity(events.len());
        for event in events {
            match document::to_json(&event, &self.index, &self.additional_fields) {
                Ok(value) => {
                    documents.push(KeyedValue {
                        id: event.id,
                        value,
                    });
                    results.push(Ok(()));
                }
                Err(error) => results.push(Err(error)),
            }
        }
        if documents.is_empty() {
            return results;
        }
        if let Err(error) = self.push(documents) {
            // Nothing was pushed: every event that had a document failed with the push.
            for result in results.iter_mut().filter(|result| result.is_ok()) {
                *result = Err(error.clone());
            }
        }
        results
    }
}

trackway_plugin_sdk::export_sink!(RedisLogstash);
