//! The event: the one record everything in trackway is derived from, and its stored encoding.

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::{Error, Result};

/// One immutable entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id (ULID); host-assigned, client-supplied, or derived deterministically.
    pub id: Ulid,
    /// Organisation that owns the event.
    pub org: String,
    /// Dotted kind used for routing, e.g. `deployment.started`.
    pub kind: String,
    /// Where it came from: `api`, or `<pipeline>/<stage>` for events a pipeline produced.
    pub source: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// What the event is about (deployment id, `env/app`, task name).
    pub subject: String,
    /// String pairs cheap to route on.
    pub attributes: Vec<(String, String)>,
    /// The body as JSON text.
    pub payload: String,
    /// The event this one was derived from.
    pub parent: Option<Ulid>,
}

impl Event {
    /// The value of attribute `name`, if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Set attribute `name` to `value`: the first attribute of that name takes the value (and
    /// any repeats of it are removed), or the pair is added last.
    pub fn set_attribute(&mut self, name: String, value: String) {
        match self.attributes.iter().position(|(k, _)| *k == name) {
            Some(first) => {
                self.attributes[first].1 = value;
                let mut index = 0;
                self.attributes.retain(|(k, _)| {
                    index += 1;
                    index <= first + 1 || *k != name
                });
            }
            None => self.attributes.push((name, value)),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding an in-memory event into a Vec cannot fail")
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|source| Error::Decode {
            what: "event",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_reads_the_routing_fields_of_the_encoding() {
        let mut event = Event {
            id: next_id(),
            org: "acme".into(),
            kind: "deployment.started".into(),
            source: "api".into(),
            time_ms: 7,
            subject: "d".into(),
            attributes: vec![("a".into(), "b".into())],
            payload: "{}".into(),
            parent: None,
        };
        let bytes = event.encode();
        let head = EventHead::decode(&bytes).unwrap();
        assert_eq!(
            head,
            EventHead {
                org: "acme",
                kind: "deployment.started",
                source: "api",
                derived: false
            }
        );
        event.parent = Some(next_id());
        assert!(EventHead::decode(&event.encode()).unwrap().derived);
    }

    #[test]
    fn set_attribute_replaces_the_first_of_a_name_drops_its_repeats_or_adds_last() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let mut event = Event {
            id: next_id(),
            org: "acme".into(),
            kind: "k".into(),
            source: "api".into(),
            time_ms: 0,
            subject: "s".into(),
            attributes: vec![
                pair("a", "1"),
                pair("b", "2"),
                pair("a", "3"),
                pair("c", "4"),
            ],
            payload: "{}".into(),
            parent: None,
        };
        event.set_attribute("a".into(), "x".into());
        event.set_attribute("d".into(), "y".into());
        assert_eq!(
            event.attributes,
            vec![
                pair("a", "x"),
                pair("b", "2"),
                pair("c", "4"),
                pair("d", "y")
            ]
        );
    }
}

/// The fields of a stored event that routing looks at, borrowed from its encoding: deciding that
/// an event is not for a consumer then costs no allocation (a full decode is a dozen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHead<'a> {
    /// Organisation.
    pub org: &'a str,
    /// Dotted kind.
    pub kind: &'a str,
    /// Where it came from.
    pub source: &'a str,
    /// Whether it was derived from another event (a processor output).
    pub derived: bool,
}

/// [`Event`]'s encoding read with borrowed strings; the field order must stay [`Event`]'s.
#[derive(Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow)]
    _id: &'a str,
    org: &'a str,
    kind: &'a str,
    source: &'a str,
    _time_ms: u64,
    _subject: &'a str,
    _attributes: Vec<(&'a str, &'a str)>,
    _payload: &'a str,
    parent: Option<&'a str>,
}

impl<'a> EventHead<'a> {
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self> {
        let borrowed: Borrowed<'a> =
            postcard::from_bytes(bytes).map_err(|source| Error::Decode {
                what: "event",
                source,
            })?;
        Ok(EventHead {
            org: borrowed.org,
            kind: borrowed.kind,
            source: borrowed.source,
            derived: borrowed.parent.is_some(),
        })
    }
}

/// A fresh event id. Ids are monotonic within the process (a plain ULID is random within its
/// millisecond), so ids of events accepted in one millisecond still sort in acceptance order,
/// which is the order history and inventory show.
pub fn next_id() -> Ulid {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    GENERATOR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .generate()
        .unwrap_or_else(|_| Ulid::new())
}

/// An event as submitted, before the store assigns its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// A client-supplied id; when absent the event gets a fresh ULID as it is added to a
    /// [`crate::WriteBatch`].
    pub id: Option<Ulid>,
    /// The event; its `id` is set by [`crate::WriteBatch::append`].
    pub event: Event,
}

/// An event read back from the log, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Position in the log (1-based, strictly increasing).
    pub seq: u64,
    /// The event.
    pub event: Event,
}

/// An event that could not be processed or delivered, kept for inspection and replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Id of this dead letter.
    pub id: Ulid,
    /// Organisation.
    pub org: String,
    /// Pipeline of the failing stage.
    pub pipeline: String,
    /// The failing stage.
    pub stage: String,
    /// The event that failed.
    pub event: Event,
    /// The last error, as text.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When the first attempt failed (ms since epoch).
    pub first_failed_ms: u64,
    /// When the last attempt failed (ms since epoch).
    pub last_failed_ms: u64,
}

impl DeadLetter {
    pub(crate) fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding an in-memory record into a Vec cannot fail")
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|source| Error::Decode {
            what: "dead letter",
            source,
        })
    }
}
