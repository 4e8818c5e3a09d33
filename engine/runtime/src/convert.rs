//! Conversions between the store's [`Event`] and the WIT `event` record.

use trackway_store::{Event, Ulid};

use crate::bindings::types;

/// The WIT form of `event`.
pub fn event_to_wit(event: &Event) -> types::Event {
    types::Event {
        id: event.id.to_string(),
        org: event.org.clone(),
        kind: event.kind.clone(),
        source: event.source.clone(),
        time: event.time_ms,
        subject: event.subject.clone(),
        attributes: event.attributes.clone(),
        payload: event.payload.clone(),
        parent: event.parent.map(|p| p.to_string()),
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
