//! The stage's private key-value store (capability `state`).
//!
//! Values are bytes, persisted in the host's database per pipeline stage. Writes made during a
//! call become durable together with that call's outputs and are discarded if the call fails or
//! traps, so a plugin never has to undo its own writes. A plugin that calls any function here
//! imports `trackway:plugin/state`, and the host loads it only into a stage granted `state`.
//!
//! In a processor, the SDK remembers what the instance read and wrote while the host says the
//! state is still what the instance left it as (`state-kept` in `wit/plugin.wit`): a key read
//! before is answered from memory, and the writes of a batch go back to the host with its
//! results, instead of one host call each. Sinks and sources call the host every time.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use foldhash::fast::FixedState;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::host::trackway::plugin::state as host;

/// The bytes stored under `key`, if any.
pub fn get(key: &str) -> Option<Vec<u8>> {
    MEMORY.with_borrow_mut(|memory| {
        if !memory.in_batch {
            return host::get(key);
        }
        if let Some(value) = memory.values.get(key) {
            return value.clone();
        }
        let value = host::get(key);
        memory.remember(key, value.as_deref());
        value
    })
}

/// Store `value` under `key`, replacing any previous value.
pub fn set(key: &str, value: &[u8]) {
    write(key, Some(value));
}

/// Remove `key`; removing a missing key is not an error.
pub fn delete(key: &str) {
    write(key, None);
}

fn write(key: &str, value: Option<&[u8]>) {
    #[cfg(feature = "processor")]
    if MEMORY.with_borrow_mut(|memory| memory.write(key, value)) {
        return;
    }
    match value {
        Some(value) => host::set(key, value),
        None => host::delete(key),
    }
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

/// The most bytes (keys, values and a per-entry estimate of the map's own) [`Memory`] keeps
/// before it starts over: half the smallest memory cap a stage may have (1 MiB), and the
/// versions of ~5,000 subjects for `semver`. A stage with more keys reads some of them from the
/// host again, which keeps a larger cache of its own.
const MEMORY_BYTES: usize = 512 * 1024;
/// The map's own bytes per entry, roughly (two `String`/`Vec` headers, hash and control bytes).
const ENTRY_OVERHEAD: usize = 64;

thread_local! {
    static MEMORY: RefCell<Memory> = RefCell::new(Memory::default());
}

/// What a processor instance knows of its state: the values it read or wrote (`None`: absent),
/// valid while the host passes `state-kept`, and the writes of the running batch.
struct Memory {
    /// Whether a `process-packed` call is running (the only time the memory is used).
    in_batch: bool,
    /// Hashed with foldhash, seeded from the host's randomness: SipHash, the default, costs
    /// several times as much per short key, and is looked up twice per event in `semver`.
    values: HashMap<String, Option<Vec<u8>>, FixedState>,
    /// What `values` holds, counted as [`MEMORY_BYTES`] counts it.
    bytes: usize,
    /// The running batch's writes, in the order made, encoded for its answer as they are made.
    #[cfg(feature = "processor")]
    writes: crate::packed::Writes,
}

impl Default for Memory {
    fn default() -> Self {
        let seed = RandomState::new().hash_one(0);
        Self {
            in_batch: false,
            values: HashMap::with_hasher(FixedState::with_seed(seed)),
            bytes: 0,
            #[cfg(feature = "processor")]
            writes: crate::packed::Writes::default(),
        }
    }
}

impl Memory {
    /// Start a batch: forget everything unless the state is what this instance left it as.
    #[cfg(feature = "processor")]
    fn begin(&mut self, state_kept: bool) {
        if !state_kept {
            self.values.clear();
            self.bytes = 0;
        }
        self.in_batch = true;
    }

    /// End the batch: its writes, for the host.
    #[cfg(feature = "processor")]
    fn end(&mut self) -> crate::packed::Writes {
        self.in_batch = false;
        std::mem::take(&mut self.writes)
    }

    /// Take a write if a batch is running (it goes to the host with the answer); false if not
    /// (it goes to the host now).
    #[cfg(feature = "processor")]
    fn write(&mut self, key: &str, value: Option<&[u8]>) -> bool {
        if self.in_batch {
            self.remember(key, value);
            self.writes.push(key, value);
        }
        self.in_batch
    }

    /// Note that `key` holds `value`, within [`MEMORY_BYTES`].
    fn remember(&mut self, key: &str, value: Option<&[u8]>) {
        let size = |value: Option<&[u8]>| value.map_or(0, <[u8]>::len);
        if let Some(known) = self.values.get_mut(key) {
            self.bytes = self.bytes - size(known.as_deref()) + size(value);
            match (known.as_mut(), value) {
                // Rewriting a key (the usual case) reuses its buffer.
                (Some(known), Some(value)) => {
                    known.clear();
                    known.extend_from_slice(value);
                }
                (_, value) => *known = value.map(<[u8]>::to_vec),
            }
            return;
        }
        let added = key.len() + size(value) + ENTRY_OVERHEAD;
        if self.bytes + added > MEMORY_BYTES {
            self.values.clear();
            self.bytes = 0;
        }
        self.bytes += added;
        self.values
            .insert(key.to_owned(), value.map(<[u8]>::to_vec));
    }
}

/// Start a `process-packed` call (see [`Memory::begin`]).
#[cfg(feature = "processor")]
pub(crate) fn begin_batch(state_kept: bool) {
    MEMORY.with_borrow_mut(|memory| memory.begin(state_kept));
}

/// End a `process-packed` call: the writes it made, for its answer.
#[cfg(feature = "processor")]
pub(crate) fn end_batch() -> crate::packed::Writes {
    MEMORY.with_borrow_mut(Memory::end)
}

#[cfg(all(test, feature = "processor"))]
mod tests {
    use super::*;
    use crate::bindings::host::trackway::plugin::types::PackedAnswer;

    fn known<'a>(memory: &'a Memory, key: &str) -> Option<Option<&'a [u8]>> {
        memory.values.get(key).map(Option::as_deref)
    }

    #[test]
    fn a_batch_remembers_its_writes_and_hands_them_over_in_order() {
        let mut memory = Memory::default();
        memory.begin(false);
        memory.remember("read", Some(b"1.0.0"));
        memory.write("a", Some(b"1"));
        memory.write("a", Some(b"22"));
        memory.write("read", None);
        assert_eq!(known(&memory, "a"), Some(Some(&b"22"[..])));
        assert_eq!(known(&memory, "read"), Some(None));
        assert_eq!(known(&memory, "never"), None);
        let expected = PackedAnswer {
            results: Vec::new(),
            state: vec![
                ("a".into(), Some(b"1".to_vec())),
                ("a".into(), Some(b"22".to_vec())),
                ("read".into(), None),
            ],
        };
        assert_eq!(
            crate::packed::encode_answer(&[], &memory.end()),
            postcard::to_allocvec(&expected).expect("encodes")
        );
        assert!(!memory.in_batch);
        assert_eq!(
            memory.bytes,
            "a".len() + 2 + "read".len() + 2 * ENTRY_OVERHEAD
        );

        // The next batch starts with no writes, and keeps the values only if the state was kept.
        memory.begin(true);
        assert_eq!(known(&memory, "a"), Some(Some(&b"22"[..])));
        assert_eq!(memory.end(), crate::packed::Writes::default());
        memory.begin(false);
        assert_eq!(known(&memory, "a"), None);
        assert_eq!(memory.bytes, 0);
    }

    #[test]
    fn the_memory_starts_over_when_full() {
        let mut memory = Memory::default();
        memory.begin(true);
        let value = [0; 1000];
        let fits = MEMORY_BYTES / (1000 + 4 + ENTRY_OVERHEAD);
        for i in 0..fits {
            memory.remember(&format!("{i:04}"), Some(&value));
        }
        assert_eq!(memory.values.len(), fits);
        memory.remember("next", Some(&value));
        assert_eq!(memory.values.len(), 1);
        assert_eq!(
            known(&memory, "next").map(|v| v.map(<[u8]>::len)),
            Some(Some(1000))
        );
        assert_eq!(memory.bytes, 1000 + 4 + ENTRY_OVERHEAD);
    }
}
