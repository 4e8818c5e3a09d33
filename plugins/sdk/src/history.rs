//! Named, append-only event streams kept by the host (capability `history`).
//!
//! A stream is served by `GET /v1/orgs/{org}/history/{stream}`; the host appends to the stream
//! of the event's org. A plugin that calls [`append`] imports `trackway:plugin/history`, and the
//! host loads it only into a stage granted `history`.

use crate::bindings::host::trackway::plugin::history as host;
use crate::{Error, Event};

/// Append `event` to `stream`. Appending an event id already in the stream is a no-op, so
/// replays never duplicate entries. Errors are the host's (retryable when its store is busy).
pub fn append(stream: &str, event: &Event) -> Result<(), Error> {
    host::append(stream, event)
}

/// Append `event`, one of the events the current `Sink::deliver` or
/// `Sink::deliver_batch` call received, unchanged, to `stream`:
/// the same as [`append`], cheaper, since the host keeps the events it handed over and only the
/// id crosses back. An event that is not one of them is a permanent error: use [`append`] for an
/// event the plugin built or changed.
pub fn append_delivered(stream: &str, event: &Event) -> Result<(), Error> {
    host::append_delivered(stream, &event.id)
}
