//! Redis on the servers granted to the stage (capability `redis`).
//!
//! The stage lists the servers it may reach: `grants = [{ redis = "redis://127.0.0.1:6379" }]`.
//! Every function takes a `target`: the server, as written in the plugin's own config, or `None`
//! for the only one granted. The host pools the connections; a server that is down is a
//! retryable error, so the host backs off and delivers again in order.

use crate::Error;
use crate::bindings::host::trackway::plugin::redis as host;
/// A value for [`rpush_once`] and the id (an event id) that makes pushing it idempotent.
pub use host::KeyedValue;

/// The granted server `target` names (normalised to `redis://host:port/db`), or the only one
/// granted. Does not connect: call it from `init` so a target that is not granted fails the
/// config, with the grants in the message.
pub fn resolve(target: Option<&str>) -> Result<String, Error> {
    host::resolve(target)
}

/// `RPUSH key values...`: all values or none; the length of the list after.
pub fn rpush(target: Option<&str>, key: &str, values: &[String]) -> Result<u64, Error> {
    host::rpush(target, key, values)
}

/// `RPUSH key value` for each item whose id was not pushed to `key` in the last
/// `window_seconds`, in order and atomically: a retry after a lost answer appends nothing twice.
/// How many were appended.
pub fn rpush_once(
    target: Option<&str>,
    key: &str,
    items: &[KeyedValue],
    window_seconds: u32,
) -> Result<u64, Error> {
    host::rpush_once(target, key, items, window_seconds)
}

/// `PUBLISH channel message`: how many subscribers received it.
pub fn publish(target: Option<&str>, channel: &str, message: &str) -> Result<u64, Error> {
    host::publish(target, channel, message)
}
