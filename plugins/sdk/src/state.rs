//! The stage's private key-value store (capability `state`).
//!
//! Values are bytes, persisted in the host's database per pipeline stage. Writes made during a
//! call become durable together with that call's outputs and are discarded if the call fails or
//! traps, so a plugin never has to undo its own writes. A plugin that calls any function here
//! imports `trackway:plugin/state`, and the host loads it only into a stage granted `state`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::host::trackway::plugin::state as host;

/// The bytes stored under `key`, if any.
pub fn get(key: &str) -> Option<Vec<u8>> {
    host::get(key)
}

/// Store `value` under `key`, replacing any previous value.
pub fn set(key: &str, value: &[u8]) {
    host::set(key, value);
}

/// Remove `key`; removing a missing key is not an error.
pub fn delete(key: &str) {
    host::delete(key);
}

/// The JSON value stored under `key` by [`set_json`], if any. A value that does not deserialize
/// into `T` (written by an older version of the plugin, say) is a permanent error naming the key.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    get(key)
        .map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|error| {
                Error::permanent(format!(
                    "state key `{key}` holds an unreadable value: {error}"
                ))
            })
        })
        .transpose()
}

/// Store `value` as JSON under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec(value).map_err(|error| {
        Error::permanent(format!(
            "cannot serialize the value for state key `{key}`: {error}"
        ))
    })?;
    set(key, &bytes);
    Ok(())
}
