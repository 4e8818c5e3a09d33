//! [`Capability`]: the host interfaces a stage may be granted with `grants = [...]`, and
//! [`Grants`], what a stage was granted.
//!
//! Deny by default: a plugin gets only the host interfaces its stage lists, and a capability that
//! reaches outside (`redis`, `statsd`, `sql`, `http`) only the targets listed with it:
//!
//! ```toml
//! grants = ["state", { redis = "redis://127.0.0.1:6379" }, { http = ["hooks.slack.com"] }]
//! ```
//!
//! This module owns the names and the shape of targets; the runtime owns what each one does.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::UnknownCapability;

/// What a stage was granted: each capability with its targets (empty for the capabilities that
/// take none). Example: `grants = ["history", { statsd = "127.0.0.1:8125" }]`.
pub type Grants = BTreeMap<Capability, Vec<String>>;

/// A host capability a stage can be granted.
///
/// Example: `grants = ["state", "history"]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// `state`: a key-value store private to the stage (per org, per pipeline, per stage).
    State,
    /// `history`: append to the named history streams of the org.
    History,
    /// `inventory`: record version reports in the org's version inventory.
    Inventory,
    /// `redis`: RPUSH and PUBLISH on the granted servers, e.g.
    /// `{ redis = "redis://127.0.0.1:6379" }` (`rediss://` for TLS, `/<db>` to pick a database).
    Redis,
    /// `statsd`: counters, timers and gauges over UDP to the granted servers, e.g.
    /// `{ statsd = "127.0.0.1:8125" }`.
    Statsd,
    /// `sql`: parameterised statements on the granted databases, e.g.
    /// `{ sql = "sqlite://deployments.db" }` (a file under the data directory) or
    /// `{ sql = "postgres://trackway@db.internal:5432/deployments" }`.
    Sql,
    /// `http`: outbound requests to the granted hosts, e.g.
    /// `{ http = ["hooks.slack.com", "127.0.0.1:9000"] }` (no port: the scheme's default only).
    Http,
}

impl Capability {
    /// Every capability, in the order they are listed in error messages.
    pub const ALL: &'static [Capability] = &[
        Capability::State,
        Capability::History,
        Capability::Inventory,
        Capability::Redis,
        Capability::Statsd,
        Capability::Sql,
        Capability::Http,
    ];

    /// The name used in `grants = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::State => "state",
            Capability::History => "history",
            Capability::Inventory => "inventory",
            Capability::Redis => "redis",
            Capability::Statsd => "statsd",
            Capability::Sql => "sql",
            Capability::Http => "http",
        }
    }

    /// Whether the capability reaches outside the host, and so is granted with its targets
    /// (`{ redis = "redis://..." }`) rather than by name alone.
    pub fn takes_targets(self) -> bool {
        matches!(
            self,
            Capability::Redis | Capability::Statsd | Capability::Sql | Capability::Http
        )
    }

    /// An example grant, for messages: `"state"` or `{ redis = "redis://127.0.0.1:6379" }`.
    pub fn example(self) -> &'static str {
        match self {
            Capability::State => "\"state\"",
            Capability::History => "\"history\"",
            Capability::Inventory => "\"inventory\"",
            Capability::Redis => "{ redis = \"redis://127.0.0.1:6379\" }",
            Capability::Statsd => "{ statsd = \"127.0.0.1:8125\" }",
            Capability::Sql => "{ sql = \"sqlite://deployments.db\" }",
            Capability::Http => "{ http = [\"hooks.slack.com\"] }",
        }
    }

    /// Why `target` is not a valid target of this capability, if it is not. Checks the shape
    /// only; whether the server answers is the runtime's business.
    pub fn check_target(self, target: &str) -> Result<(), String> {
        let host_port = |text: &str| -> Result<(), String> {
            let (host, port) = text
                .rsplit_once(':')
                .ok_or_else(|| format!("`{text}` needs a port: `host:port`"))?;
            if host.is_empty() || host.contains('/') {
                return Err(format!("`{text}` is not `host:port`"));
            }
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .map(|_| ())
                .ok_or_else(|| format!("port `{port}` of `{text}` is not a port number"))
        };
        match self {
            Capability::State | Capability::History | Capability::Inventory => {
                Err(format!("`{self}` takes no targets"))
            }
            Capability::Redis => {
                let rest = target
                    .strip_prefix("redis://")
                    .or_else(|| target.strip_prefix("rediss://"))
                    .ok_or_else(|| {
                        format!("`{target}` must start with `redis://` or `rediss://`")
                    })?;
                let authority = rest.split('/').next().unwrap_or_default();
                let authority = authority.rsplit('@').next().unwrap_or_default();
                if authority.is_empty() {
                    return Err(format!("`{target}` names no host"));
                }
                Ok(())
            }
            Capability::Statsd => host_port(target),
            Capability::Sql => {
                if let Some(path) = target.strip_prefix("sqlite://") {
                    if path.is_empty() {
                        return Err(format!("`{target}` names no file"));
                    }
                    Ok(())
                } else if target.starts_with("postgres://") || target.starts_with("postgresql://") {
                    Ok(())
                } else {
                    Err(format!(
                        "`{target}` must start with `sqlite://` or `postgres://`"
                    ))
                }
            }
            Capability::Http => {
                if target.contains("://") || target.contains('/') || target.is_empty() {
                    return Err(format!(
                        "`{target}` must be a host or `host:port`, without scheme or path"
                    ));
                }
                if target.contains(':') {
                    host_port(target)
                } else {
                    Ok(())
                }
            }
        }
    }
}

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(name: &str) -> Result<Self, UnknownCapability> {
        Capability::ALL
            .iter()
            .copied()
            .find(|capability| capability.as_str() == name)
            .ok_or_else(|| UnknownCapability(name.to_owned()))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &capability in Capability::ALL {
            assert_eq!(capability.as_str().parse::<Capability>(), Ok(capability));
            assert_eq!(
                serde_json::to_string(&capability).unwrap(),
                format!("\"{capability}\"")
            );
        }
    }

    #[test]
    fn targets_are_checked_by_shape() {
        assert!(
            Capability::Redis
                .check_target("redis://127.0.0.1:6379/2")
                .is_ok()
        );
        assert!(Capability::Redis.check_target("127.0.0.1:6379").is_err());
        assert!(Capability::Statsd.check_target("localhost:8125").is_ok());
        assert!(Capability::Statsd.check_target("localhost").is_err());
        assert!(Capability::Statsd.check_target("localhost:0").is_err());
        assert!(Capability::Sql.check_target("sqlite://x.db").is_ok());
        assert!(
            Capability::Sql
                .check_target("postgres://u@h:5432/d")
                .is_ok()
        );
        assert!(Capability::Sql.check_target("mysql://h/d").is_err());
        assert!(Capability::Http.check_target("hooks.slack.com").is_ok());
        assert!(Capability::Http.check_target("127.0.0.1:9000").is_ok());
        assert!(
            Capability::Http
                .check_target("https://hooks.slack.com")
                .is_err()
        );
        assert!(Capability::State.check_target("x").is_err());
        assert!(Capability::Http.takes_targets() && !Capability::State.takes_targets());
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert_eq!(
            "nats".parse::<Capability>().unwrap_err().to_string(),
            "unknown capability `nats`"
        );
        assert!("State".parse::<Capability>().is_err());
    }
}
