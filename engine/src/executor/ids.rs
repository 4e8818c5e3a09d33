//! Deterministic ids for derived events: the same parent, pipeline, stage and output position
//! always give the same ULID, so re-running a batch after a crash appends nothing new and sinks
//! see the same ids again.

use sha2::{Digest, Sha256};
use trackway_store::Ulid;

/// The id of output `index` of `stage` in `pipeline` for input event `parent`. It keeps the
/// parent's timestamp (so ids still sort by time) and takes its 80 random bits from a hash.
pub fn derived(parent: Ulid, pipeline: &str, stage: &str, index: usize) -> Ulid {
    let mut hasher = Sha256::new();
    hasher.update(parent.0.to_be_bytes());
    hasher.update(pipeline.as_bytes());
    hasher.update([0]);
    hasher.update(stage.as_bytes());
    hasher.update([0]);
    hasher.update((index as u64).to_be_bytes());
    let digest = hasher.finalize();
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    Ulid::from_parts(parent.timestamp_ms(), u128::from_be_bytes(random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let parent = Ulid::new();
        assert_eq!(derived(parent, "p", "s", 0), derived(parent, "p", "s", 0));
        assert_ne!(derived(parent, "p", "s", 0), derived(parent, "p", "s", 1));
        assert_ne!(derived(parent, "p", "s", 0), derived(parent, "p", "t", 0));
        assert_ne!(derived(parent, "p", "s", 0), derived(parent, "q", "s", 0));
        assert_eq!(
            derived(parent, "p", "s", 0).timestamp_ms(),
            parent.timestamp_ms()
        );
    }
}
