//! The events an evaluation produces: always one `task.evaluated`, and a `task.status.changed`
//! when the status differs from the one the host recorded last.
//!
//! Both keep the input's subject (the task name), time and attributes, and add the attributes
//! `tolerance.status` and `tolerance.mode` so routes can filter without parsing payloads. The host
//! assigns their ids, org, source and parent.

use serde::Serialize;
use trackway_plugin_sdk::{Error, Event};

use crate::eval::{Mode, Outcome, Status, last_ack, rfc3339};
use crate::request::Request;

/// Kind of the event every evaluation produces.
pub const EVALUATED: &str = "task.evaluated";
/// Kind of the event produced when the status changed.
pub const STATUS_CHANGED: &str = "task.status.changed";

/// The `task.evaluated` payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Evaluated<'a> {
    name: &'a str,
    status: Status,
    count: u64,
    expected: u64,
    is_ready: bool,
    /// The latest ack at or before `at`, failed or not.
    last_backup: Option<String>,
    mode: Mode,
    reason: &'a str,
    at: String,
}

/// The `task.status.changed` payload.
#[derive(Debug, Serialize)]
struct StatusChanged<'a> {
    name: &'a str,
    from: Option<Status>,
    to: Status,
    at: String,
    reason: &'a str,
}

/// The events that replace `input`, evaluated as `outcome`.
pub fn events(input: &Event, request: &Request, outcome: &Outcome) -> Result<Vec<Event>, Error> {
    let at = rfc3339(request.at);
    let mode = request.rule.mode();
    let evaluated = Evaluated {
        name: &request.name,
        status: outcome.status,
        count: outcome.count,
        expected: outcome.expected,
        is_ready: outcome.is_ready,
        last_backup: last_ack(&request.acks, request.at).map(|ack| rfc3339(ack.time)),
        mode,
        reason: &outcome.reason,
        at: at.clone(),
    };
    let mut events = vec![derive(input, EVALUATED, &evaluated, outcome.status, mode)?];
    if request.previous != Some(outcome.status) {
        let changed = StatusChanged {
            name: &request.name,
            from: request.previous,
            to: outcome.status,
            at,
            reason: &outcome.reason,
        };
        events.push(derive(
            input,
            STATUS_CHANGED,
            &changed,
            outcome.status,
            mode,
        )?);
    }
    Ok(events)
}

/// A new event of `kind` about the same task as `input`.
fn derive(
    input: &Event,
    kind: &str,
    payload: &impl Serialize,
    status: Status,
    mode: Mode,
) -> Result<Event, Error> {
    let mut event = Event {
        id: input.id.clone(),
        org: input.org.clone(),
        kind: kind.to_string(),
        source: input.source.clone(),
        time: input.time,
        subject: input.subject.clone(),
        attributes: input.attributes.clone(),
        payload: String::new(),
        parent: Some(input.id.clone()),
    };
    event.set_attribute("tolerance.status", status.as_str());
    event.set_attribute("tolerance.mode", mode.as_str());
    event.set_payload_json(payload)?;
    Ok(event)
}
