//! Time as the host sees it (always available, no grant needed).
//!
//! Use this rather than `std::time::SystemTime`: the host injects a fixed clock in tests, and a
//! component that reads the WASI clock imports an interface the host may not grant.

use crate::bindings::host::trackway::plugin::clock as host;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    host::now_ms()
}
