//! Logging into the host's structured log (always available, no grant needed).
//!
//! The host tags every line with org, pipeline and stage. Use the macros, which format like
//! `format!`: `trackway_plugin_sdk::info!("skipped {count} events")`. Do not log per event at
//! `info` or above: a busy pipeline would flood the host's log.

use crate::bindings::host::trackway::plugin::log as host;
pub use crate::bindings::host::trackway::plugin::log::Level;

/// Write one log line at `level`.
pub fn log(level: Level, message: &str) {
    host::log(level, message);
}

/// Log at `trace` level, formatting like `format!`.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Trace, &::std::format!($($arg)+))
    };
}

/// Log at `debug` level, formatting like `format!`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Log at `info` level, formatting like `format!`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)+))
    };
}

/// Log at `warn` level, formatting like `format!`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Log at `error` level, formatting like `format!`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)+))
    };
}
