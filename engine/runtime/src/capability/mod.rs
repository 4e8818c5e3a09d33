//! The capabilities that reach outside the host: `redis`, `statsd`, `sql` and `http`.
//!
//! A stage reaches only the targets its `grants` list ([`Grants`]); a call naming anything else is
//! a permanent error that names the grants. Connections are pooled per target in
//! [`Connections`], shared by every instance of the runtime, so a hundred sink instances writing
//! to one Redis hold one connection, and a target that went away is reconnected on the next call.
//!
//! Every call is bounded by the time left of the plugin call's deadline (minus a margin), so a
//! server that hangs gives the plugin a `retryable` error it can report, instead of a trap.
//! Dry-run instances (request validation) get a permanent error from calls with side effects.
//!
//! # Layout
//! - `redis`, `statsd`, `sql`, `http`: one module per capability: its pool and its host
//!   interface.

mod http;
mod redis;
mod sql;
mod statsd;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::bindings::types;

/// What a stage was granted: capability name -> targets (empty for those that take none).
pub type Grants = BTreeMap<String, Vec<String>>;

/// What is left of a call's deadline for one host call is reduced by this margin, so that the
/// plugin still has time to turn the timeout into an error result before the deadline traps it.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);
/// No single host call waits longer than this, whatever the deadline: a server that takes longer
/// is treated as down (retryable), and the sink's backoff takes over.
const MAX_CALL_WAIT: Duration = Duration::from_secs(10);

/// Pools of connections to every target any stage was granted, created on first use.
pub struct Connections {
    redis: redis::Pools,
    statsd: statsd::Sockets,
    sql: sql::Pools,
    http: http::Client,
}

impl Connections {
    /// Empty pools. SQLite files named by relative paths (`sqlite://deployments.db`) live under
    /// `data_dir` (the working directory when `None`).
    pub fn new(data_dir: Option<PathBuf>) -> Self {
        Self {
            redis: redis::Pools::default(),
            statsd: statsd::Sockets::default(),
            sql: sql::Pools::new(data_dir),
            http: http::Client::new(),
        }
    }

    /// Check that `target` of `capability` answers (Redis `PING`, SQL `SELECT 1`, a statsd
    /// datagram that no ICMP error refused) within `timeout`. `http` targets are hosts, not
    /// endpoints, and are not probed.
    pub async fn probe(
        &self,
        capability: &str,
        target: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let probe = async {
            match capability {
                "redis" => self.redis.probe(target).await,
                "statsd" => self.statsd.probe(target).await,
                "sql" => self.sql.probe(target).await,
                other => Err(format!("capability `{other}` has no targets to probe")),
            }
        };
        tokio::time::timeout(timeout, probe)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())))
    }
}

/// A target as shown to people: without the password of a URL such as
/// `redis://:secret@host:6379`, so that no log line and no read route ever shows a secret.
pub fn redact(target: &str) -> String {
    let Some((scheme, rest)) = target.split_once("://") else {
        return target.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => target.to_owned(),
    }
}

/// The granted target of `capability` that `target` names (compared after `normalise`), or the
/// only one granted when `target` is `None`.
pub(crate) fn granted<'g>(
    grants: &'g Grants,
    capability: &str,
    target: Option<&str>,
    normalise: impl Fn(&str) -> String,
) -> Result<&'g str, types::Error> {
    let targets = grants
        .get(capability)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let listed = || {
        targets
            .iter()
            .map(|t| format!("`{}`", redact(t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match target {
        None => match targets {
            [only] => Ok(only),
            [] => Err(permanent(format!(
                "capability `{capability}` is not granted to this stage"
            ))),
            _ => Err(permanent(format!(
                "this stage is granted several `{capability}` targets ({}): name one",
                listed()
            ))),
        },
        Some(wanted) => {
            let wanted_norm = normalise(wanted);
            targets
                .iter()
                .find(|t| normalise(t) == wanted_norm)
                .map(String::as_str)
                .ok_or_else(|| {
                    permanent(format!(
                        "`{capability}` target `{}` is not granted to this stage (granted: {})",
                        redact(wanted),
                        if targets.is_empty() {
                            "none".to_owned()
                        } else {
                            listed()
                        }
                    ))
                })
        }
    }
}

/// How long one host call may wait, given the plugin call's `deadline`.
pub(crate) fn budget(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(DEADLINE_MARGIN)
        .min(MAX_CALL_WAIT)
}

/// Run `io` within `budget`; running out is a retryable error saying what timed out.
pub(crate) async fn within<T>(
    budget: Duration,
    what: &str,
    io: impl Future<Output = Result<T, types::Error>>,
) -> Result<T, types::Error> {
    if budget.is_zero() {
        return Err(retryable(format!(
            "{what}: no time left before the call's deadline"
        )));
    }
    tokio::time::timeout(budget, io).await.unwrap_or_else(|_| {
        Err(retryable(format!(
            "{what}: no answer within {} ms",
            budget.as_millis()
        )))
    })
}

pub(crate) fn permanent(message: impl Into<String>) -> types::Error {
    types::Error::Permanent(message.into())
}

pub(crate) fn retryable(message: impl Into<String>) -> types::Error {
    types::Error::Retryable(types::RetryableError {
        message: message.into(),
        retry_after_ms: None,
    })
}

/// The error of a call with side effects made by a dry-run instance.
pub(crate) fn dry_run(what: &str) -> types::Error {
    permanent(format!(
        "{what} is not available while validating a request (dry run)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(capability: &str, targets: &[&str]) -> Grants {
        [(
            capability.to_owned(),
            targets.iter().map(|t| (*t).to_owned()).collect(),
        )]
        .into()
    }

    #[test]
    fn targets_resolve_only_within_the_grants() {
        let one = grants("statsd", &["127.0.0.1:8125"]);
        let same = |t: &str| t.to_owned();
        assert_eq!(
            granted(&one, "statsd", None, same).ok(),
            Some("127.0.0.1:8125")
        );
        assert_eq!(
            granted(&one, "statsd", Some("127.0.0.1:8125"), same).ok(),
            Some("127.0.0.1:8125")
        );
        let refused = granted(&one, "statsd", Some("10.0.0.1:8125"), same).unwrap_err();
        assert!(matches!(
            refused,
            types::Error::Permanent(m) if m == "`statsd` target `10.0.0.1:8125` is not granted to this stage (granted: `127.0.0.1:8125`)"
        ));
        let two = grants("statsd", &["a:1", "b:2"]);
        assert!(granted(&two, "statsd", None, same).is_err());
        assert!(granted(&Grants::new(), "redis", None, same).is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("redis://:secret@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(
            redact("postgres://user:pw@db:5432/x"),
            "postgres://user:***@db:5432/x"
        );
        assert_eq!(redact("postgres://user@db/x"), "postgres://user@db/x");
        assert_eq!(redact("127.0.0.1:8125"), "127.0.0.1:8125");
    }
}
