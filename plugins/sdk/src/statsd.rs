//! statsd over UDP to the servers granted to the stage (capability `statsd`).
//!
//! `grants = [{ statsd = "127.0.0.1:8125" }]`. Names are dot-separated segments; use
//! [`segment`] for a segment built from data (an environment, a package name), so that a dot or
//! a character statsd reserves inside it cannot split or break the name.

use crate::Error;
use crate::bindings::host::trackway::plugin::statsd as host;
pub use crate::bindings::host::trackway::plugin::statsd::{Metric, MetricKind};

/// The granted server `target` names (`host:port`), or the only one granted; see
/// [`crate::redis::resolve`].
pub fn resolve(target: Option<&str>) -> Result<String, Error> {
    host::resolve(target)
}

/// Send `metrics`, packed into as few datagrams as fit. An invalid name is a permanent error and
/// nothing is sent.
pub fn send(target: Option<&str>, metrics: &[Metric]) -> Result<(), Error> {
    host::send(target, metrics)
}

impl Metric {
    /// `name:value|c`.
    pub fn counter(name: impl Into<String>, value: f64) -> Self {
        Self {
            name: name.into(),
            kind: MetricKind::Counter,
            value,
        }
    }

    /// `name:value|ms`.
    pub fn timer(name: impl Into<String>, value_ms: f64) -> Self {
        Self {
            name: name.into(),
            kind: MetricKind::Timer,
            value: value_ms,
        }
    }

    /// `name:value|g`.
    pub fn gauge(name: impl Into<String>, value: f64) -> Self {
        Self {
            name: name.into(),
            kind: MetricKind::Gauge,
            value,
        }
    }
}

/// `text` as one segment of a metric name: every `.` becomes `_` (all of them: the
/// deployment-tracker seed replaced only the first), as do the characters the statsd line format
/// reserves (`:`, `|`, `@`) and white space; an empty text becomes `unknown`, so a name never has
/// an empty segment.
pub fn segment(text: &str) -> String {
    if text.is_empty() {
        return "unknown".to_owned();
    }
    text.chars()
        .map(|c| match c {
            '.' | ':' | '|' | '@' | '/' => '_',
            c if c.is_whitespace() || c.is_control() => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_escape_every_dot_and_reserved_character() {
        assert_eq!(segment("my.package.name"), "my_package_name");
        assert_eq!(segment("a:b|c@d e"), "a_b_c_d_e");
        assert_eq!(segment(""), "unknown");
        assert_eq!(segment("prod"), "prod");
    }
}
