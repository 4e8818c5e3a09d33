//! Conversions between the store's [`Event`] and the WIT `event` record.

use trackway_store::{Event, Ulid};
use ulid::ULID_LEN;
use wasmtime::component::{ComponentType, Lower};

use crate::bindings::types;

/// The WIT `event` record lowered straight from a store [`Event`]: a call copies these strings
/// into the instance's memory, so building an owned [`types::Event`] first would copy every
/// string of every event once more for nothing.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct EventRef<'a> {
    id: &'a str,
    org: &'a str,
    kind: &'a str,
    source: &'a str,
    time: u64,
    subject: &'a str,
    attributes: &'a [(String, String)],
    payload: &'a str,
    parent: Option<&'a str>,
}

/// The text of an event's ids, for an [`EventRef`] to borrow.
pub(crate) struct IdText {
    id: [u8; ULID_LEN],
    parent: Option<[u8; ULID_LEN]>,
}

impl IdText {
    pub(crate) fn new(event: &Event) -> Self {
        let text = |ulid: Ulid| {
            let mut buf = [0; ULID_LEN];
            ulid.array_to_str(&mut buf);
            buf
        };
        Self {
            id: text(event.id),
            parent: event.parent.map(text),
        }
    }
}

impl<'a> From<(&'a Event, &'a IdText)> for EventRef<'a> {
    /// `event` as WIT, with its ids from `ids` (made by [`IdText::new`] from the same event).
    fn from((event, ids): (&'a Event, &'a IdText)) -> Self {
        let text =
            |buf: &'a [u8; ULID_LEN]| std::str::from_utf8(buf).expect("a ULID's text is ASCII");
        Self {
            id: text(&ids.id),
            org: &event.org,
            kind: &event.kind,
            source: &event.source,
            time: event.time_ms,
            subject: &event.subject,
            attributes: &event.attributes,
            payload: &event.payload,
            parent: ids.parent.as_ref().map(text),
        }
    }
}

/// The store form of a WIT event. Ids that are not ULIDs are replaced by nil (the executor
/// assigns ids to every event a plugin outputs anyway); a bad `parent` is an error, and so is a
/// payload that is not JSON, unless it equals `known_json` (text already known to be valid, such
/// as the payload of the input event: most processors pass it through unchanged, and checking
/// it again would cost a parse per event).
pub fn event_from_wit(event: types::Event, known_json: Option<&str>) -> Result<Event, String> {
    let parent = match event.parent {
        None => None,
        Some(p) => {
            Some(Ulid::from_string(&p).map_err(|e| format!("invalid parent id `{p}`: {e}"))?)
        }
    };
    if known_json != Some(event.payload.as_str())
        && serde_json::from_str::<serde::de::IgnoredAny>(&event.payload).is_err()
    {
        return Err(format!(
            "payload of event of kind `{}` is not valid JSON",
            event.kind
        ));
    }
    Ok(Event {
        id: Ulid::from_string(&event.id).unwrap_or(Ulid::nil()),
        org: event.org,
        kind: event.kind,
        source: event.source,
        time_ms: event.time,
        subject: event.subject,
        attributes: event.attributes,
        payload: event.payload,
        parent,
    })
}
