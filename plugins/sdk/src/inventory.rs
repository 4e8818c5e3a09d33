//! The version inventory kept by the host (capability `inventory`): which version of which app
//! runs in which environment, with every report kept as history.
//!
//! The inventory is served by `GET /v1/orgs/{org}/environments/...` and the SVT-compatible
//! `/list`; the host records a report in the inventory of the stage's org. A plugin that calls
//! [`submit`] imports `trackway:plugin/inventory`, and the host loads it only into a stage granted
//! `inventory`. Building a [`Report`] from an event is the plugin's business, not this module's.

use crate::Error;
use crate::bindings::host::trackway::plugin::inventory as host;

/// One version report: `env`, `app`, `version` as written, `time` (ms since the Unix epoch),
/// `reporter`, `fields` (a JSON object text, `{}` when none), `bump` (when classified) and
/// `event_id` (the event that carried it).
pub use host::Report;

/// Record `report`: it becomes the current version of its app in its environment (unless a
/// report with a later time is already current) and is appended to the app's history there; the
/// version that is already current is kept as a re-deploy. Submitting an `event_id` already
/// recorded is a no-op, so replays never duplicate entries. Errors are the host's (retryable
/// when its store is busy, permanent for a report it rejects).
pub fn submit(report: &Report) -> Result<(), Error> {
    host::submit(report)
}
